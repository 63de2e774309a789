//! Rendering beyond the corpus snapshots: fragments, custom base schemas, determinism.

use std::path::Path;

use app::domain::{BaseSchema, Catalog, Config, PackageId, PackageSource};

#[path = "common/corpus.rs"]
mod common;
use common::corpus_dir;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn corpus_package(corpus: &Path, id: &str) -> PackageSource {
    let file = format!("{id}__entities.yaml");
    let text =
        std::fs::read_to_string(corpus.join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    PackageSource {
        id: PackageId::parse(id).unwrap_or_else(|e| panic!("{e}")),
        file,
        text,
    }
}

fn catalog(sources: Vec<PackageSource>, base: BaseSchema) -> Catalog {
    let catalog = Catalog::build(sources, base, &Config::default());
    assert!(
        !catalog.has_failures(),
        "{:?}",
        catalog
            .packages
            .iter()
            .map(|p| &p.errors)
            .collect::<Vec<_>>()
    );
    catalog
}

#[test]
fn a_fragment_holds_the_package_models_and_the_back_relations_it_adds() {
    let Some(corpus) =
        corpus_dir("rendering::a_fragment_holds_the_package_models_and_the_back_relations_it_adds")
    else {
        return;
    };
    let catalog = catalog(
        vec![
            corpus_package(&corpus, "audit_log"),
            corpus_package(&corpus, "media_center"),
        ],
        BaseSchema::default(),
    );
    let fragment = catalog
        .render_fragment("audit_log")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        fragment.models.starts_with("model AuditLog {\n"),
        "{}",
        fragment.models
    );
    assert!(!fragment.models.contains("MediaAsset"));
    assert_eq!(
        fragment.back_relations.get("Tenant"),
        Some(&vec!["auditLogs AuditLog[]".to_owned()])
    );
    assert_eq!(
        fragment.back_relations.get("User"),
        Some(&vec!["auditLogs AuditLog[]".to_owned()])
    );
    insta::assert_snapshot!("fragment_audit_log", fragment.to_text());
}

#[test]
fn a_fragment_of_an_unknown_package_is_an_error() {
    let Some(corpus) = corpus_dir("rendering::a_fragment_of_an_unknown_package_is_an_error") else {
        return;
    };
    let catalog = catalog(
        vec![corpus_package(&corpus, "audit_log")],
        BaseSchema::default(),
    );
    assert_eq!(
        catalog
            .render_fragment("nope")
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err("unknown package \"nope\"".to_owned())
    );
}

#[test]
fn a_custom_base_schema_is_laid_out_and_receives_back_relations() {
    let Some(corpus) =
        corpus_dir("rendering::a_custom_base_schema_is_laid_out_and_receives_back_relations")
    else {
        return;
    };
    let text = std::fs::read_to_string(Path::new(FIXTURES).join("custom_base.prisma"))
        .unwrap_or_else(|e| panic!("{e}"));
    let base = BaseSchema::parse(&text).unwrap_or_else(|e| panic!("{e}"));
    let catalog = catalog(
        vec![
            corpus_package(&corpus, "audit_log"),
            corpus_package(&corpus, "notification_center"),
        ],
        base,
    );
    let schema = catalog.render_schema().unwrap_or_else(|e| panic!("{e}"));
    insta::assert_snapshot!("custom_base_schema", schema);
}

#[test]
fn rendering_is_deterministic_whatever_the_input_order() {
    let Some(corpus) = corpus_dir("rendering::rendering_is_deterministic_whatever_the_input_order")
    else {
        return;
    };
    let ids = ["stream_cast", "audit_log", "irc_webchat", "arcade_lobby"];
    let forward = catalog(
        ids.iter().map(|id| corpus_package(&corpus, id)).collect(),
        BaseSchema::default(),
    );
    let backward = catalog(
        ids.iter()
            .rev()
            .map(|id| corpus_package(&corpus, id))
            .collect(),
        BaseSchema::default(),
    );
    let a = forward.render_schema().unwrap_or_else(|e| panic!("{e}"));
    let b = backward.render_schema().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a, b);
    assert_eq!(a, forward.render_schema().unwrap_or_else(|e| panic!("{e}")));
}

#[test]
fn a_catalog_with_errors_refuses_to_render_and_names_the_packages() {
    let Some(corpus) =
        corpus_dir("rendering::a_catalog_with_errors_refuses_to_render_and_names_the_packages")
    else {
        return;
    };
    let bad = PackageSource {
        id: PackageId::parse("bad").unwrap_or_else(|e| panic!("{e}")),
        file: "bad.yaml".to_owned(),
        text: "entities:\n  - name: A\n    fields: { id: { type: serial, primary: true } }\n"
            .to_owned(),
    };
    let catalog = Catalog::build(
        vec![bad, corpus_package(&corpus, "audit_log")],
        BaseSchema::default(),
        &Config::default(),
    );
    assert_eq!(
        catalog.render_schema().map_err(|e| e.to_string()),
        Err("packages with errors: bad".to_owned())
    );
}

#[test]
fn field_attributes_come_in_the_order_prisma_format_writes_them() {
    let yaml = "entities:
  - name: Token
    fields:
      id: { type: cuid, primary: true, generated: true }
      code: { type: string, unique: true, default: \"none\", columnName: token_code, maxLength: 40 }
      rank: { type: int, unique: true, default: 1 }
";
    let source = PackageSource {
        id: PackageId::parse("tokens").unwrap(),
        file: "tokens/seed/schema/entities.yaml".to_owned(),
        text: yaml.to_owned(),
    };
    let catalog = catalog(vec![source], BaseSchema::default());
    let fragment = catalog
        .render_fragment("tokens")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        fragment.models.contains(
            "  code String @unique @default(\"none\") @map(\"token_code\") @db.VarChar(40)\n"
        ),
        "{}",
        fragment.models
    );
    assert!(
        fragment
            .models
            .contains("  rank Int    @unique @default(1)\n"),
        "{}",
        fragment.models
    );
}

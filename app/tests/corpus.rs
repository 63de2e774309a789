//! The real-world corpus: every file parses without errors, CRLF copies checksum like their LF
//! originals, and every package (alone and all together) renders a Prisma schema that is
//! snapshotted and checked by Prisma's own parser (end2end/oracle).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use app::domain::{BaseSchema, Catalog, Config, PackageId, PackageSource};

#[path = "common/corpus.rs"]
mod common;
use common::corpus_dir;

/// Hand-written packages exercising every rendering feature the corpus does not use.
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// `(package id, display name, text)` for every `*.yaml` directly in `dir`, sorted.
fn corpus_files(dir: &Path) -> Vec<(String, String, String)> {
    let mut files: Vec<(String, String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .map(|path| {
            let file_name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let id = file_name.split("__").next().unwrap_or_default().to_owned();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            (id, file_name, text)
        })
        .collect();
    files.sort();
    files
}

fn source(id: &str, file: &str, text: &str) -> PackageSource {
    PackageSource {
        id: PackageId::parse(id).unwrap_or_else(|e| panic!("{e}")),
        file: file.to_owned(),
        text: text.to_owned(),
    }
}

fn catalog(sources: Vec<PackageSource>) -> Catalog {
    Catalog::build(sources, BaseSchema::default(), &Config::default())
}

#[track_caller]
fn assert_no_errors(catalog: &Catalog) {
    let errors: Vec<String> = catalog
        .packages
        .iter()
        .flat_map(|p| p.errors.iter().map(|e| format!("{}: {e}", e.file)))
        .collect();
    assert!(
        errors.is_empty(),
        "unexpected errors:\n{}",
        errors.join("\n")
    );
    assert!(
        catalog.conflicts.is_empty(),
        "unexpected conflicts: {:?}",
        catalog.conflicts
    );
}

/// Every schema the corpus renders: one per package, plus all packages together.
fn rendered_schemas(test: &str) -> Vec<(String, String)> {
    let mut schemas = Vec::new();
    if let Some(corpus) = corpus_dir(test) {
        schemas.extend(corpus_schemas(&corpus));
    }
    for (id, file, text) in corpus_files(Path::new(FIXTURES)) {
        let catalog = catalog(vec![source(&id, &file, &text)]);
        assert_no_errors(&catalog);
        let schema = catalog
            .render_schema()
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        schemas.push((format!("fixture_{id}"), schema));
    }
    schemas
}

/// Every schema the real corpus renders: one per package, all together, and all together
/// over a custom base schema.
fn corpus_schemas(corpus: &Path) -> Vec<(String, String)> {
    let files = corpus_files(corpus);
    let mut schemas = Vec::new();
    for (id, file, text) in &files {
        let catalog = catalog(vec![source(id, file, text)]);
        assert_no_errors(&catalog);
        let schema = catalog
            .render_schema()
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        schemas.push((id.clone(), schema));
    }
    let all = catalog(
        files
            .iter()
            .map(|(id, file, text)| source(id, file, text))
            .collect(),
    );
    assert_no_errors(&all);
    schemas.push((
        "all_packages".to_owned(),
        all.render_schema().unwrap_or_else(|e| panic!("all: {e}")),
    ));
    let custom = std::fs::read_to_string(Path::new(FIXTURES).join("custom_base.prisma"))
        .unwrap_or_else(|e| panic!("{e}"));
    let custom = BaseSchema::parse(&custom).unwrap_or_else(|e| panic!("{e}"));
    let with_custom_base = Catalog::build(
        files
            .iter()
            .map(|(id, file, text)| source(id, file, text))
            .collect(),
        custom,
        &Config::default(),
    );
    assert_no_errors(&with_custom_base);
    schemas.push((
        "all_packages_custom_base".to_owned(),
        with_custom_base
            .render_schema()
            .unwrap_or_else(|e| panic!("{e}")),
    ));
    schemas
}

#[test]
fn the_corpus_has_fifteen_packages_and_two_crlf_copies() {
    let Some(corpus) = corpus_dir("corpus::the_corpus_has_fifteen_packages_and_two_crlf_copies")
    else {
        return;
    };
    assert_eq!(corpus_files(corpus.as_path()).len(), 15);
    assert_eq!(corpus_files(&corpus.as_path().join("crlf")).len(), 2);
}

#[test]
fn every_corpus_file_parses_and_validates_without_errors() {
    let Some(corpus) = corpus_dir("corpus::every_corpus_file_parses_and_validates_without_errors")
    else {
        return;
    };
    for dir in [corpus.clone(), corpus.as_path().join("crlf")] {
        for (id, file, text) in corpus_files(&dir) {
            let catalog = catalog(vec![source(&id, &file, &text)]);
            assert_no_errors(&catalog);
            let report = catalog
                .package(&id)
                .unwrap_or_else(|| panic!("no report for {id}"));
            assert!(!report.entities.is_empty(), "{file} has no entities");
            assert!(report.checksum.is_some(), "{file} has no package checksum");
        }
    }
}

#[test]
fn all_corpus_packages_validate_together_without_errors_or_conflicts() {
    let Some(corpus) =
        corpus_dir("corpus::all_corpus_packages_validate_together_without_errors_or_conflicts")
    else {
        return;
    };
    let files = corpus_files(corpus.as_path());
    let all = catalog(
        files
            .iter()
            .map(|(id, file, text)| source(id, file, text))
            .collect(),
    );
    assert_no_errors(&all);
    assert_eq!(all.packages.len(), 15);
}

#[test]
fn crlf_copies_have_the_same_checksums_as_their_lf_originals() {
    let Some(corpus) =
        corpus_dir("corpus::crlf_copies_have_the_same_checksums_as_their_lf_originals")
    else {
        return;
    };
    let originals: BTreeMap<String, String> = corpus_files(corpus.as_path())
        .into_iter()
        .map(|(id, _, text)| (id, text))
        .collect();
    for (id, file, crlf_text) in corpus_files(&corpus.as_path().join("crlf")) {
        assert!(crlf_text.contains("\r\n"), "{file} is not CRLF");
        let lf_text = originals
            .get(&id)
            .unwrap_or_else(|| panic!("no LF original for {id}"));
        let crlf = catalog(vec![source(&id, &file, &crlf_text)]);
        let lf = catalog(vec![source(&id, &file, lf_text)]);
        let (crlf, lf) = (&crlf.packages[0], &lf.packages[0]);
        assert_eq!(crlf.entities, lf.entities, "{id}");
        assert_eq!(crlf.checksum, lf.checksum, "{id}");
    }
}

#[test]
fn the_corpus_checksums_are_stable() {
    let Some(corpus) = corpus_dir("corpus::the_corpus_checksums_are_stable") else {
        return;
    };
    let files = corpus_files(corpus.as_path());
    let all = catalog(
        files
            .iter()
            .map(|(id, file, text)| source(id, file, text))
            .collect(),
    );
    let checksums: BTreeMap<String, BTreeMap<String, String>> = all
        .packages
        .iter()
        .map(|p| {
            let mut entities: BTreeMap<String, String> = p
                .entities
                .iter()
                .map(|e| (e.name.clone(), e.checksum.clone()))
                .collect();
            entities.insert(
                "(package)".to_owned(),
                p.checksum.clone().unwrap_or_default(),
            );
            (p.package.to_string(), entities)
        })
        .collect();
    insta::assert_json_snapshot!("corpus_checksums", checksums);
}

#[test]
fn every_corpus_package_renders_the_snapshotted_prisma_schema() {
    for (name, schema) in
        rendered_schemas("corpus::every_corpus_package_renders_the_snapshotted_prisma_schema")
    {
        insta::assert_snapshot!(format!("prisma_{name}"), schema);
    }
}

/// Where `make test` finds the schemas for the oracle: `<target dir>/prisma-oracle/`.
fn oracle_output_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("prisma-oracle")
}

#[test]
fn rendered_schemas_are_written_for_the_oracle_and_prisma_accepts_them() {
    let dir = oracle_output_dir();
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        if entry.path().extension().is_some_and(|ext| ext == "prisma") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let test = "corpus::rendered_schemas_are_written_for_the_oracle_and_prisma_accepts_them";
    for (name, schema) in rendered_schemas(test) {
        let path = dir.join(format!("{name}.prisma"));
        std::fs::write(&path, schema)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    let oracle = Path::new(env!("CARGO_MANIFEST_DIR")).join("../end2end/oracle");
    let installed = oracle
        .join("node_modules/@prisma/prisma-schema-wasm")
        .is_dir();
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !(installed && node) {
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(!in_ci, "CI=true but the Prisma oracle is missing: run `npm ci` in end2end/oracle (node needed)");
        eprintln!("skipping the Prisma oracle: node or end2end/oracle/node_modules missing; `make test` runs it");
        return;
    }
    let output = Command::new("node")
        .arg(oracle.join("validate.cjs"))
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = format!(
        "{} passed, 0 failed",
        std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "prisma"))
            .count()
    );
    assert!(
        output.status.success(),
        "Prisma rejected rendered schemas:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(&expected), "{stdout}");
}

#[test]
fn a_fragment_rendered_with_its_related_packages_equals_one_rendered_with_every_package() {
    let Some(corpus) = corpus_dir("corpus::a_fragment_rendered_with_its_related_packages_equals_one_rendered_with_every_package") else {
        return;
    };
    let mut sources: Vec<PackageSource> = corpus_files(corpus.as_path())
        .iter()
        .filter(|(_, file, _)| !file.contains("crlf"))
        .map(|(id, file, text)| source(id, file, text))
        .collect();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/demo/packages");
    for entry in std::fs::read_dir(&demo).unwrap().filter_map(Result::ok) {
        let id = entry.file_name().to_string_lossy().into_owned();
        let file = entry.path().join("seed/schema/entities.yaml");
        let text = std::fs::read_to_string(&file).unwrap();
        sources.push(source(
            &format!("demo_{id}"),
            &file.display().to_string(),
            &text,
        ));
    }
    let catalog = catalog(sources);
    let mut compared = 0;
    for package in catalog.packages.iter().filter(|p| p.errors.is_empty()) {
        let id = package.package.as_str();
        let related = catalog.render_fragment_in_context(id).map(|f| f.to_text());
        let all = catalog.render_fragment_against_all(id).map(|f| f.to_text());
        assert_eq!(related.ok(), all.ok(), "package {id}");
        compared += 1;
    }
    assert!(compared >= 15, "{compared} packages compared");
}

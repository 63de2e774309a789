//! The hostile-name suite: names and values a hostile package author might write, in every
//! position that reaches Prisma or SQL, in both dialects. Every name outside the grammar is
//! refused by `check` at its own line; every value that is allowed through (defaults, enum
//! values, descriptions) is rendered, read back by Prisma's own parser, planned by Prisma's
//! engine, accepted by the plan check and applied to a real PostgreSQL database, whose catalog
//! then differs from before by exactly the declared objects.
#![cfg(feature = "ssr")]

use std::collections::BTreeSet;
use std::path::Path;

use app::domain::base_schema::BaseSchema;
use app::domain::catalog::{Catalog, PackageId, PackageSource};
use app::domain::config::Config;
use app::domain::plan_check::check_plan;
use app::domain::plan_scope::PlanScope;
use app::domain::prisma::{render_full_schema, PackageModels};
use app::engine::{Engine, EngineConfig};
use sqlx::PgPool;

mod support;
use support::database_url;

/// Strings that carry SQL, Prisma or markup syntax, or break the identifier grammar.
const SYNTAX: [&str; 40] = [
    r#"x" ON "I"("s");UPDATE schemagate.account SET role='admin';--"#,
    r#"User" CASCADE; DROP TABLE "User"; --"#,
    r#"a"b"#,
    "a'b",
    "a;b",
    "a b",
    "a-b",
    "a.b",
    "a/*b*/",
    "a--b",
    "$$x$$",
    "a$b",
    "a\nb",
    "a\tb",
    "caf\u{e9}",
    "\u{3a9}mega",
    "crab\u{1f980}",
    "1abc",
    "",
    "a)",
    "a(",
    "a,b",
    "a@b",
    "a`b",
    "a[b]",
    "a{b}",
    "a=b",
    r"a\b",
    "\"",
    "' OR 1=1 --",
    "Robert'); DROP TABLE Students;--",
    r#"U&"d\0061t\+000061""#,
    "%s%n",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    r#"x") @@map("User"#,
    "x @id",
    "x\n  evil String",
    "schemagate.account",
    "public.\"User\"",
];

/// Names that fit the characters of the grammar but that PostgreSQL, Prisma or the gate keeps.
const RESERVED: [&str; 5] = [
    "_prisma_migrations",
    "pg_catalog",
    "pg_authid",
    "schemagate",
    "schemagate_read",
];

/// A too-long name: PostgreSQL would cut it to 63 bytes.
fn too_long() -> String {
    "a".repeat(64)
}

const MAP_TEMPLATE: &str = "entities:
  - name: {ENTITY}
    renamedFrom: {EARLIER_ENTITY}
    tableName: {TABLE}
    fields:
      id: { type: cuid, primary: true }
      title: { type: string }
      userId: { type: string }
      {FIELD}: { type: string, columnName: {COLUMN}, renamedFrom: {EARLIER_FIELD} }
    indexes:
      - fields: [title]
        name: {INDEX}
    relations:
      - name: {RELATION}
        type: belongsTo
        entity: User
        field: userId
";

const LIST_TEMPLATE: &str = "entities:
  - name: {ENTITY}
    renamedFrom: {EARLIER_ENTITY}
    tableName: {TABLE}
    fields:
      - name: id
        type: String
        primary: true
      - name: title
        type: String
      - name: userId
        type: String
      - name: {FIELD}
        type: String
        columnName: {COLUMN}
        renamedFrom: {EARLIER_FIELD}
    indexes:
      - fields: [title]
        name: {INDEX}
    relations:
      - name: {RELATION}
        type: belongsTo
        target: User
        foreignKey: userId
";

/// Each position with the valid name it takes when another position is under test, and
/// whether it is a database name (where reserved names are refused too).
const POSITIONS: [(&str, &str, bool); 8] = [
    ("{ENTITY}", "Shop", false),
    ("{EARLIER_ENTITY}", "OldShop", false),
    ("{EARLIER_FIELD}", "oldLabel", false),
    ("{TABLE}", "shop_table", true),
    ("{FIELD}", "label", false),
    ("{COLUMN}", "label_text", true),
    ("{INDEX}", "shop_title_idx", true),
    ("{RELATION}", "owner", false),
];

/// A YAML double-quoted scalar holding `text` exactly.
fn yaml_quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `template` with `hostile` at `position` and the valid names everywhere else, and the line
/// the hostile name is on.
fn document(template: &str, position: &str, hostile: &str) -> (String, u64) {
    let line = template
        .lines()
        .position(|l| l.contains(position))
        .map_or(0, |i| i as u64 + 1);
    let mut text = template.to_owned();
    for (placeholder, valid, _) in POSITIONS {
        let value = if placeholder == position {
            yaml_quoted(hostile)
        } else {
            valid.to_owned()
        };
        text = text.replace(placeholder, &value);
    }
    (text, line)
}

fn check(text: &str) -> Catalog {
    let source = PackageSource {
        id: PackageId::parse("shop").unwrap(),
        file: "shop/seed/schema/entities.yaml".into(),
        text: text.to_owned(),
    };
    Catalog::build(vec![source], BaseSchema::default(), &Config::default())
}

#[test]
fn the_templates_are_valid_with_their_valid_names() {
    for template in [MAP_TEMPLATE, LIST_TEMPLATE] {
        let (text, _) = document(template, "{NONE}", "");
        let catalog = check(&text);
        assert!(
            catalog.packages[0].errors.is_empty(),
            "{:?}",
            catalog.packages[0].errors
        );
    }
}

#[test]
fn every_hostile_name_in_every_position_of_both_dialects_is_refused_at_its_line() {
    let mut cases = 0;
    let long = too_long();
    for (dialect, template) in [("map", MAP_TEMPLATE), ("list", LIST_TEMPLATE)] {
        for (position, _, db_name) in POSITIONS {
            let reserved: &[&str] = if db_name { &RESERVED } else { &[] };
            // Prisma's own names (entity, field, relation) have no length limit of their own;
            // database names do.
            let long_name: &[&str] = if db_name { &[long.as_str()] } else { &[] };
            let names = SYNTAX.iter().chain(reserved).chain(long_name).copied();
            for hostile in names {
                let (text, line) = document(template, position, hostile);
                let catalog = check(&text);
                let errors = &catalog.packages[0].errors;
                assert!(
                    errors.iter().any(|e| e.position.line == line),
                    "{dialect} {position} {hostile:?}: expected an error at line {line}, got {:?}",
                    errors.iter().map(ToString::to_string).collect::<Vec<_>>()
                );
                assert!(
                    catalog.packages[0].model.is_empty(),
                    "{dialect} {position} {hostile:?}: a refused entity must not be kept"
                );
                cases += 1;
            }
        }
    }
    assert!(cases >= 200, "only {cases} cases");
}

/// Values that pass through as text: string defaults, enum values, descriptions.
const VALUES: [&str; 16] = [
    "it's",
    r#"say "hi""#,
    r"back\slash",
    "'); DROP TABLE \"User\"; --",
    "$$; DROP TABLE \"User\"; $$",
    "line\nbreak",
    "tab\there",
    "\") @@map(\"User",
    "\" @id @default(\"x",
    "/// comment */",
    "caf\u{e9} \u{1f980}",
    "%s%n${x}",
    "<script>alert(1)</script>",
    "E'\\x41'",
    "\\\\\"\\\"",
    "-- squawk-ignore ban-drop-table",
];

fn hostile_values_package() -> String {
    let mut text = String::from(
        "entities:\n  - name: Hostile\n    description: \"'); DROP TABLE x; --\"\n    fields:\n      id: { type: cuid, primary: true }\n",
    );
    for (i, value) in VALUES.iter().enumerate() {
        text.push_str(&format!(
            "      v{i}: {{ type: string, default: {}, description: {} }}\n",
            yaml_quoted(value),
            yaml_quoted(value)
        ));
    }
    let listed: Vec<String> = VALUES.iter().map(|v| yaml_quoted(v)).collect();
    text.push_str(&format!(
        "      kind: {{ type: string, enum: [{}], default: {} }}\n",
        listed.join(", "),
        yaml_quoted(VALUES[3])
    ));
    text
}

/// Prisma's own parser, through `end2end/oracle/datamodel.cjs`: each model's name, database
/// name and fields with their database names and defaults.
fn prisma_datamodel(schema: &str, dir: &Path) -> serde_json::Value {
    let file = dir.join("hostile.prisma");
    std::fs::write(&file, schema).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../end2end/oracle/datamodel.cjs");
    let output = std::process::Command::new("node")
        .arg(&script)
        .arg(&file)
        .output()
        .expect("node runs Prisma's parser");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("datamodel JSON")
}

async fn catalog_snapshot(pool: &PgPool) -> BTreeSet<String> {
    let rows: Vec<String> = sqlx::query_scalar(
        "select 'table ' || table_name from information_schema.tables where table_schema = 'public'
         union all
         select 'column ' || table_name || '.' || column_name from information_schema.columns where table_schema = 'public'
         union all
         select 'index ' || indexname from pg_indexes where schemaname = 'public'
         union all
         select 'constraint ' || conname from pg_constraint c join pg_namespace n on n.oid = c.connamespace where n.nspname = 'public'
         union all
         select 'policy ' || tablename || '.' || policyname from pg_policies
         union all
         select 'rls ' || relname from pg_class where relrowsecurity
         union all
         select 'role ' || rolname from pg_roles
         union all
         select 'function ' || proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public'
         union all
         select 'schema ' || nspname from pg_namespace",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter().collect()
}

#[sqlx::test(migrations = false)]
async fn hostile_values_are_rendered_planned_and_applied_as_exactly_the_declared_objects(
    pool: PgPool,
) {
    let text = hostile_values_package();
    let catalog = check(&text);
    assert!(
        catalog.packages[0].errors.is_empty(),
        "{:?}",
        catalog.packages[0].errors
    );
    let entities = catalog.packages[0].model.clone();
    let base = BaseSchema::default();
    let schema = render_full_schema(
        &base,
        &[PackageModels {
            package: "shop",
            entities: &entities,
        }],
    )
    .expect("renders");

    // Prisma's parser reads back exactly the declared model, fields and defaults.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-values");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let datamodel = prisma_datamodel(&schema, &dir);
    let models = datamodel["models"].as_array().expect("models");
    let base_models: BTreeSet<String> = base.models().map(|m| m.name.clone()).collect();
    let names: BTreeSet<String> = models
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    let mut expected_models = base_models.clone();
    expected_models.insert("Hostile".into());
    assert_eq!(names, expected_models);
    let hostile = models.iter().find(|m| m["name"] == "Hostile").unwrap();
    assert!(hostile["dbName"].is_null(), "{hostile}");
    let fields: BTreeSet<String> = hostile["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    let mut declared: BTreeSet<String> = (0..VALUES.len()).map(|i| format!("v{i}")).collect();
    declared.extend(["id".to_owned(), "kind".to_owned()]);
    assert_eq!(fields, declared);
    for (i, value) in VALUES.iter().enumerate() {
        let field = hostile["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == format!("v{i}"))
            .unwrap();
        assert_eq!(field["default"], *value, "v{i}");
        assert!(field["dbName"].is_null(), "v{i}: {field}");
        assert_eq!(field["isId"], false, "v{i}");
    }

    // The base schema is applied first, as the restart job's baseline does; then Prisma's
    // engine plans the change, and the plan check accounts for every statement.
    let url = database_url(&pool).await;
    let engine = Engine::new(EngineConfig::from_env(url).expect("engine directory"));
    let base_schema = render_full_schema(&base, &[]).expect("base renders");
    let migrations = dir.join("migrations");
    std::fs::create_dir_all(&migrations).unwrap();
    std::fs::write(
        migrations.join("migration_lock.toml"),
        "provider = \"postgresql\"\n",
    )
    .unwrap();
    let write = |name: &str, sql: &str| {
        std::fs::create_dir_all(migrations.join(name)).unwrap();
        std::fs::write(migrations.join(name).join("migration.sql"), sql).unwrap();
    };
    let baseline = engine.plan(None, &base_schema).await.expect("baseline").sql;
    write("00000000000000_baseline", &baseline);
    engine
        .apply_migrations(&migrations)
        .await
        .expect("baseline");

    let plan = engine
        .plan(Some(&base_schema), &schema)
        .await
        .expect("plan")
        .sql;
    let scope = PlanScope::new(&[], &entities, &[], &base);
    let checked = check_plan(&plan, &scope);
    assert_eq!(checked.refusal(), None, "{plan}");
    assert!(!checked.statements.is_empty());

    // Applied to a real database, the catalog differs by exactly the declared objects.
    let before = catalog_snapshot(&pool).await;
    write("20260101000000_hostile", &plan);
    engine.apply_migrations(&migrations).await.expect("apply");
    let after = catalog_snapshot(&pool).await;
    let removed: BTreeSet<String> = before.difference(&after).cloned().collect();
    assert!(removed.is_empty(), "{removed:?}");
    let added: BTreeSet<String> = after.difference(&before).cloned().collect();
    let mut expected: BTreeSet<String> = declared
        .iter()
        .map(|f| format!("column Hostile.{f}"))
        .collect();
    expected.extend([
        "table Hostile".to_owned(),
        "index Hostile_pkey".to_owned(),
        "constraint Hostile_pkey".to_owned(),
    ]);
    assert_eq!(added, expected);

    // Each default arrives in the database exactly as declared.
    sqlx::query("insert into \"Hostile\" (id) values ('row')")
        .execute(&pool)
        .await
        .unwrap();
    for (i, value) in VALUES.iter().enumerate() {
        let stored: String = sqlx::query_scalar(&format!("select \"v{i}\" from \"Hostile\""))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(stored, *value, "v{i}");
    }
    let kind: String = sqlx::query_scalar("select kind from \"Hostile\"")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kind, VALUES[3]);
}

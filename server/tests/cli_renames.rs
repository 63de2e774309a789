//! Renames that keep data (`renamedFrom:`), on real PostgreSQL through Prisma's engine: the plan
//! renames tables, columns and the indexes and constraints named after them instead of dropping
//! and adding, the rows written before the change keep their values after `apply`, and the live
//! schema is what the engine expects afterwards (`db status` finds no drift).

mod apply_support;
mod support;

use apply_support::{applied, approve, engine_apply, json, scan_for, show, write_package, Sql};
use support::{run_cli, stdout_of};

fn post_v1() -> &'static str {
    "entities:
  - name: Post
    fields:
      id: { type: string, primary: true }
      tenantId: { type: string, required: true }
      title: { type: string, required: true, index: true }
      body: { type: string, required: false }
    relations:
      - name: tenant
        type: belongsTo
        entity: Tenant
        field: tenantId
"
}

fn article_v2() -> &'static str {
    "entities:
  - name: Article
    renamedFrom: Post
    fields:
      id: { type: string, primary: true }
      tenantId: { type: string, required: true }
      subject: { type: string, required: true, index: true, renamedFrom: title }
      body: { type: string, required: false }
    relations:
      - name: tenant
        type: belongsTo
        entity: Tenant
        field: tenantId
"
}

/// `apply` through the engine succeeds.
#[track_caller]
fn applies(db: &str, dir: &std::path::Path) {
    let run = engine_apply(db, dir, &[]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

/// `db status` finds the live schema to be the applied state.
#[track_caller]
fn no_drift(db: &str) {
    let status = json(&run_cli(db, &["db", "status", "--json"], ""));
    assert!(status["drift"].is_null(), "{status}");
}

/// The kinds of the change's edits (security findings about the package left out).
fn kinds(report: &serde_json::Value) -> Vec<String> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap().to_string())
        .filter(|kind| kind != "finding")
        .collect()
}

#[test]
fn an_entity_and_a_field_renamed_keep_every_row_and_leave_no_drift() {
    let (db, dir) = apply_support::platform_with_admin("renames_keep_rows");
    applied(&db, &dir, "blog", post_v1());
    let mut sql = Sql::connect(&db);
    sql.script(
        "insert into \"Tenant\" (id) values ('t1');
         insert into \"Post\" (id, \"tenantId\", title, body) values
           ('p1', 't1', 'first', 'one'), ('p2', 't1', 'second', null);",
    );

    write_package(&dir, "blog", article_v2());
    let change = scan_for(&db, &dir, "blog");
    let shown = show(&db, &change);
    assert_eq!(kinds(&shown), ["rename_entity", "rename_field"], "{shown}");
    assert_eq!(shown["risk"], "breaking", "{shown}");
    let plan = shown["plan_sql"].as_str().unwrap();
    for expected in [
        "ALTER TABLE \"Post\" RENAME TO \"Article\";",
        "ALTER TABLE \"Article\" RENAME COLUMN \"title\" TO \"subject\";",
        "ALTER INDEX \"Post_title_idx\" RENAME TO \"Article_subject_idx\";",
        "ALTER TABLE \"Article\" RENAME CONSTRAINT \"Post_pkey\" TO \"Article_pkey\";",
        "ALTER TABLE \"Article\" RENAME CONSTRAINT \"Post_tenantId_fkey\" TO \"Article_tenantId_fkey\";",
    ] {
        assert!(plan.contains(expected), "{expected} missing from:\n{plan}");
    }
    assert!(!plan.contains("DROP"), "nothing is dropped:\n{plan}");

    stdout_of(&approve(&db, &change));
    applies(&db, &dir);
    assert_eq!(
        sql.strings("select id || '=' || subject || '/' || coalesce(body, '-') from \"Article\" order by id"),
        ["p1=first/one", "p2=second/-"]
    );
    no_drift(&db);

    // Applied, the same `renamedFrom:` finds nothing to rename: a rescan plans nothing.
    let rescan = json(&run_cli(
        &db,
        &[
            "--packages",
            dir.join("packages").to_str().unwrap(),
            "scan",
            "--json",
        ],
        "",
    ));
    assert_eq!(
        rescan["created"].as_array().map(Vec::len),
        Some(0),
        "{rescan}"
    );
}

fn note_list(field: &str, renamed_from: &str, type_name: &str) -> String {
    format!(
        "entities:
  - name: Note
    fields:
      - name: id
        type: string
        primary: true
      - name: {field}
        type: {type_name}
        required: false
        unique: true{renamed_from}
"
    )
}

#[test]
fn a_field_renamed_in_the_list_dialect_keeps_its_values_and_its_unique_index() {
    let (db, dir) = apply_support::platform_with_admin("renames_list_dialect");
    applied(&db, &dir, "notes", &note_list("code", "", "string"));
    let mut sql = Sql::connect(&db);
    sql.script("insert into \"Note\" (id, code) values ('n1', 'A-1'), ('n2', null);");

    // Without renamedFrom, a drop and an add of the same type: the drop suggests the rename.
    write_package(&dir, "notes", &note_list("reference", "", "string"));
    let guessed = show(&db, &scan_for(&db, &dir, "notes"));
    let drop = guessed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "drop_field")
        .unwrap_or_else(|| panic!("no drop item: {guessed}"));
    assert!(
        drop["suggestion"]
            .as_str()
            .unwrap()
            .starts_with("looks like a rename: add `renamedFrom: code` to reference"),
        "{drop}"
    );

    write_package(
        &dir,
        "notes",
        &note_list("reference", "\n        renamedFrom: code", "string"),
    );
    let change = scan_for(&db, &dir, "notes");
    let shown = show(&db, &change);
    assert_eq!(kinds(&shown), ["rename_field"], "{shown}");
    assert!(
        shown["plan_sql"]
            .as_str()
            .unwrap()
            .contains("ALTER INDEX \"Note_code_key\" RENAME TO \"Note_reference_key\";"),
        "{shown}"
    );
    stdout_of(&approve(&db, &change));
    applies(&db, &dir);
    assert_eq!(
        sql.strings("select id || '=' || coalesce(reference, '-') from \"Note\" order by id"),
        ["n1=A-1", "n2=-"]
    );
    no_drift(&db);
}

#[test]
fn a_rename_that_also_makes_the_field_required_is_preflighted_under_its_live_name() {
    let (db, dir) = apply_support::platform_with_admin("renames_preflight");
    applied(&db, &dir, "notes", &note_list("code", "", "string"));
    let mut sql = Sql::connect(&db);
    sql.script("insert into \"Note\" (id, code) values ('n1', 'A-1'), ('n2', null);");
    let required = note_list("reference", "\n        renamedFrom: code", "string")
        .replace("required: false", "required: true");
    write_package(&dir, "notes", &required);
    let change = scan_for(&db, &dir, "notes");
    let shown = show(&db, &change);
    let facts = shown["preflight"]["facts"].as_array().unwrap();
    let not_null = facts
        .iter()
        .find(|f| f["hazard"]["kind"] == "not_null")
        .unwrap_or_else(|| panic!("no not-null fact: {shown}"));
    assert_eq!(not_null["hazard"]["column"], "code", "{not_null}");
    assert_eq!(
        (not_null["rows"].as_i64(), not_null["violating"].as_i64()),
        (Some(2), Some(1)),
        "{not_null}"
    );
    let refused = approve(&db, &change);
    assert_eq!(refused.status.code(), Some(1));
}

//! Names PostgreSQL cannot keep (entity, field and derived constraint names over 63 bytes)
//! and names Prisma reserves.

use super::*;

fn entity_named(name: &str) -> String {
    format!("entities:\n  - name: {name}\n    fields: {{ id: {{ type: cuid, primary: true }} }}\n")
}

#[test]
fn an_entity_name_longer_than_postgres_keeps_is_an_error() {
    let name = format!("A{}", "b".repeat(63));
    assert_errors(
        &entity_named(&name),
        &[&format!("entity name \"{name}\" is 64 bytes, longer than PostgreSQL's limit of 63 at {name}.name (line 2, column 5)")],
    );
}

#[test]
fn an_entity_name_whose_primary_key_name_is_too_long_is_an_error() {
    let name = format!("A{}", "b".repeat(59));
    assert_errors(
        &entity_named(&name),
        &[&format!("derived constraint name \"{name}_pkey\" is 65 bytes, longer than PostgreSQL's limit of 63 at {name}.name (line 2, column 5)")],
    );
    assert_valid(&entity_named(&format!("A{}", "b".repeat(57))));
}

#[test]
fn a_field_name_longer_than_postgres_keeps_is_an_error() {
    let field = format!("f{}", "x".repeat(63));
    assert_errors(
        &thread_with(&format!("      {field}: {{ type: string }}\n")),
        &[&format!("field name \"{field}\" is 64 bytes, longer than PostgreSQL's limit of 63 at ForumThread.fields.{field} (line 7, column 7)")],
    );
}

#[test]
fn derived_unique_index_and_foreign_key_names_are_checked() {
    let field = format!("f{}", "x".repeat(47));
    assert_errors(
        &thread_with(&format!("      {field}: {{ type: string, unique: true }}\n")),
        &[&format!("derived constraint name \"ForumThread_{field}_key\" is 64 bytes, longer than PostgreSQL's limit of 63 at ForumThread.indexes (line 7, column 7)")],
    );
}

#[test]
fn a_derived_foreign_key_name_is_checked() {
    let fk = format!("p{}Id", "x".repeat(46));
    let text = format!(
        "entities:\n  - name: ForumPost\n    fields:\n      id: {{ type: cuid, primary: true }}\n      {fk}: {{ type: string }}\n    relations:\n      - name: author\n        type: belongsTo\n        entity: User\n        field: {fk}\n"
    );
    let found = errors(&text);
    assert_eq!(
        found,
        [format!("derived constraint name \"ForumPost_{fk}_fkey\" is 64 bytes, longer than PostgreSQL's limit of 63 at ForumPost.relations.author (line 7, column 9)")]
    );
}

#[test]
fn a_named_index_needs_no_derived_name() {
    let field = format!("f{}", "x".repeat(50));
    assert_valid(&thread_with(&format!(
        "      {field}: {{ type: string }}\n    indexes:\n      - fields: [{field}]\n        name: thread_long_idx\n"
    )));
}

#[test]
fn prisma_client_is_a_reserved_entity_name() {
    assert_errors(
        &entity_named("PrismaClient"),
        &["invalid entity name \"PrismaClient\" at PrismaClient.name (line 2, column 5)"],
    );
}

/// Every error of the single package `forum`, in full: position, message and the rule.
fn full_errors(text: &str) -> Vec<String> {
    let catalog = build(vec![package("forum", text)], &Config::default());
    catalog.packages[0]
        .errors
        .iter()
        .map(ToString::to_string)
        .collect()
}

const GRAMMAR: &str =
    "database names are 1 to 63 bytes of ASCII letters, digits and _, starting with a letter or _";

#[test]
fn an_index_name_that_carries_sql_is_refused_at_its_position_naming_the_rule() {
    let name = r#"x" ON "I"("s");UPDATE schemagate.account SET role='admin';--"#;
    let text = thread_with(&format!(
        "      title: {{ type: string }}\n    indexes:\n      - fields: [title]\n        name: '{}'\n",
        name.replace('\'', "''")
    ));
    let found = full_errors(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with(&format!(
            "invalid index name {name:?} at ForumThread.indexes[0].name (line 10, column 15)"
        )),
        "{found:?}"
    );
    assert!(found[0].ends_with(GRAMMAR), "{found:?}");
}

#[test]
fn table_and_column_names_follow_the_grammar_in_both_dialects() {
    let map = "entities:\n  - name: Shop\n    tableName: 'shop\"; DROP TABLE \"User\"; --'\n    fields:\n      id: { type: cuid, primary: true }\n";
    let found = full_errors(map);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]
            .contains(r#"invalid table name "shop\"; DROP TABLE \"User\"; --" at Shop.tableName"#),
        "{found:?}"
    );
    assert!(found[0].contains("(line 3, column 16)"), "{found:?}");
    assert!(found[0].ends_with(GRAMMAR), "{found:?}");

    let list = "entities:\n  - name: Shop\n    fields:\n      - name: id\n        type: String\n        primary: true\n      - name: label\n        type: String\n        columnName: \"label text\"\n";
    let found = full_errors(list);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("invalid column name \"label text\""),
        "{found:?}"
    );
    assert!(found[0].contains("(line 9, column 21)"), "{found:?}");
}

#[test]
fn names_postgres_prisma_and_the_gate_reserve_are_refused() {
    let with_table = |table: &str| {
        format!("entities:\n  - name: Shop\n    tableName: {table}\n    fields:\n      id: {{ type: cuid, primary: true }}\n")
    };
    let rule_of = |text: &str| -> String {
        let found = full_errors(text);
        assert_eq!(found.len(), 1, "{found:?}");
        found[0].rsplit("; ").next().unwrap().to_owned()
    };
    assert_eq!(
        rule_of(&with_table("_prisma_migrations")),
        "_prisma_migrations is Prisma's record of applied migrations"
    );
    assert_eq!(
        rule_of(&with_table("pg_authid")),
        "names starting with pg_ are reserved for PostgreSQL's system objects"
    );
    assert_eq!(
        rule_of(&with_table("schemagate_account")),
        "names starting with schemagate are reserved for the gate's own schema, tables and policies"
    );
    assert_eq!(
        rule_of(&with_table("account")),
        "the registry has a table of this name"
    );
    assert_eq!(
        rule_of(&thread_with("      xmin: { type: string }\n")),
        "PostgreSQL reserves this column name for a system column"
    );
    assert_valid(&with_table("_shop_items"));
}

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

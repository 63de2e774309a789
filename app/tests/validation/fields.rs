//! Entities and their fields: field types, unknown and duplicate keys, entity names, columns,
//! primary keys, defaults, enums and the keys that apply to each type.

use super::*;

#[test]
fn a_minimal_entity_is_valid() {
    assert_valid(&thread_with(""));
}

#[test]
fn an_unknown_field_type_is_an_error_at_the_type_value() {
    assert_errors(
        &thread_with("      meta:\n        type: jsonb\n"),
        &["unknown field type \"jsonb\" at ForumThread.fields.meta.type (line 8, column 15)"],
    );
}

#[test]
fn an_unknown_field_type_says_which_types_exist() {
    let catalog = build(
        vec![package(
            "forum",
            &thread_with("      meta:\n        type: jsonb\n"),
        )],
        &Config::default(),
    );
    let error = &catalog.packages[0].errors[0];
    assert_eq!(
        error.to_string(),
        "unknown field type \"jsonb\" at ForumThread.fields.meta.type (line 8, column 15); expected one of cuid, uuid, string, int, bigint, float, boolean, json, datetime (or String, Int, BigInt, Float, Boolean, DateTime, Json)"
    );
    assert_eq!(
        (
            error.file.as_str(),
            error.position.line,
            error.position.column
        ),
        ("forum.yaml", 8, 15)
    );
    assert_eq!(error.path, "ForumThread.fields.meta.type");
    assert_eq!(error.error.code(), "unknown_field_type");
}

#[test]
fn an_unknown_type_in_the_list_dialect_is_an_error_too() {
    assert_errors(
        "entities:\n  - name: Game\n    fields:\n      - name: id\n        type: String\n        primary: true\n      - name: score\n        type: Integer\n",
        &["unknown field type \"Integer\" at Game.fields.score.type (line 8, column 15)"],
    );
}

#[test]
fn an_unknown_field_key_is_an_error_naming_the_allowed_keys() {
    let catalog = build(
        vec![package(
            "forum",
            &thread_with("      title:\n        type: string\n        requried: true\n"),
        )],
        &Config::default(),
    );
    assert_eq!(
        catalog.packages[0].errors[0].to_string(),
        "unknown key \"requried\" at ForumThread.fields.title.requried (line 9, column 9); expected one of type, required, nullable, primary, generated, unique, index, default, maxLength, enum, min, max, description, columnName, renamedFrom"
    );
}

#[test]
fn unknown_keys_at_every_level_are_errors() {
    assert_errors(
        "entitys: []\n",
        &[
            "unknown key \"entitys\" at entitys (line 1, column 1)",
            "missing key \"entities\" (line 1, column 1)",
        ],
    );
    assert_errors(
        "entities:\n  - name: A\n    colour: red\n    fields:\n      id: { type: cuid, primary: true }\n",
        &["unknown key \"colour\" at A.colour (line 3, column 5)"],
    );
    assert_errors(
        &thread_with("    relations:\n      - { name: x, type: belongsTo, entity: User, field: id, cascade: true }\n"),
        &["unknown key \"cascade\" at ForumThread.relations.x.cascade (line 8, column 62)"],
    );
    assert_errors(
        &thread_with("    acl:\n      list: [admin]\n"),
        &["unknown key \"list\" at ForumThread.acl.list (line 8, column 7)"],
    );
    assert_errors(
        &thread_with("    indexes:\n      - { fields: [id], kind: btree }\n"),
        &["unknown key \"kind\" at ForumThread.indexes[0].kind (line 8, column 25)"],
    );
}

#[test]
fn a_duplicate_field_is_an_error_in_both_dialects() {
    assert_errors(
        &thread_with("      title: { type: string }\n      title: { type: string }\n"),
        &["duplicate field \"title\" (first at line 7) at ForumThread.fields.title (line 8, column 7)"],
    );
    assert_errors(
        "entities:\n  - name: Game\n    fields:\n      - { name: id, type: String, primary: true }\n      - { name: id, type: Int }\n",
        &["duplicate field \"id\" (first at line 4) at Game.fields.id (line 5, column 17)"],
    );
}

#[test]
fn a_duplicate_entity_is_an_error() {
    assert_errors(
        "entities:\n  - name: A\n    fields: { id: { type: cuid, primary: true } }\n  - name: A\n    fields: { id: { type: cuid, primary: true } }\n",
        &["duplicate entity \"A\" (first at line 2) at A (line 4, column 5)"],
    );
}

#[test]
fn an_entity_name_must_be_pascal_case() {
    assert_errors(
        "entities:\n  - name: forum_thread\n    fields: { id: { type: cuid, primary: true } }\n",
        &["invalid entity name \"forum_thread\" at entities[0].name (line 2, column 11)"],
    );
}

#[test]
fn an_entity_may_not_take_a_prisma_type_name() {
    assert_errors(
        "entities:\n  - name: DateTime\n    fields: { id: { type: cuid, primary: true } }\n",
        &["invalid entity name \"DateTime\" at DateTime.name (line 2, column 11)"],
    );
}

#[test]
fn two_fields_may_not_share_a_column() {
    assert_errors(
        &thread_with("      title: { type: string }\n      heading: { type: string, columnName: title }\n"),
        &["invalid value \"title\" for \"columnName\" at ForumThread.fields.heading (line 8, column 7)"],
    );
}

#[test]
fn two_primary_keys_without_a_composite_declaration_are_an_error() {
    let catalog = build(
        vec![package(
            "forum",
            &thread_with("      slug:\n        type: string\n        primary: true\n"),
        )],
        &Config::default(),
    );
    assert_eq!(
        catalog.packages[0].errors[0].to_string(),
        "entity \"ForumThread\" has 2 primary keys (id, slug) but no composite declaration at ForumThread.fields.slug (line 7, column 7); declare `primaryKey: [id, slug]` on the entity for a composite key, or keep one primary field"
    );
}

#[test]
fn a_composite_primary_key_declaration_allows_several_primary_fields() {
    let text = "entities:\n  - name: Like\n    primaryKey: [postId, userId]\n    fields:\n      postId: { type: string, primary: true }\n      userId: { type: string, primary: true }\n";
    assert_valid(text);
    let text = "entities:\n  - name: Like\n    primaryKey: [postId, userId]\n    fields:\n      postId: { type: string }\n      userId: { type: string, nullable: true }\n";
    assert_errors(
        text,
        &["primary key field \"userId\" is optional at Like.fields.userId (line 6, column 7)"],
    );
}

#[test]
fn an_entity_without_a_primary_key_is_an_error() {
    assert_errors(
        "entities:\n  - name: Log\n    fields:\n      line: { type: string }\n",
        &["entity \"Log\" has no primary key at Log (line 2, column 5)"],
    );
}

#[test]
fn a_default_of_the_wrong_type_is_an_error() {
    assert_errors(
        &thread_with("      views:\n        type: int\n        default: many\n"),
        &["default \"many\" does not fit field type Int at ForumThread.fields.views.default (line 9, column 18)"],
    );
    assert_errors(
        &thread_with("      pinned:\n        type: boolean\n        default: \"true\"\n"),
        &["default \"true\" does not fit field type Boolean at ForumThread.fields.pinned.default (line 9, column 18)"],
    );
    assert_errors(
        &thread_with("      title:\n        type: string\n        default: 5\n"),
        &["default 5 does not fit field type String at ForumThread.fields.title.default (line 9, column 18)"],
    );
    assert_errors(
        &thread_with("      at:\n        type: string\n        default: now()\n"),
        &["default \"now()\" does not fit field type String at ForumThread.fields.at.default (line 9, column 18)"],
    );
}

#[test]
fn an_unknown_default_function_is_an_error() {
    assert_errors(
        &thread_with("      at:\n        type: datetime\n        default: today()\n"),
        &["unknown default function \"today()\" at ForumThread.fields.at.default (line 9, column 18)"],
    );
}

#[test]
fn an_enum_default_outside_the_list_is_an_error() {
    let catalog = build(
        vec![package("forum", &thread_with("      state:\n        type: string\n        enum: [open, closed]\n        default: archived\n"))],
        &Config::default(),
    );
    assert_eq!(
        catalog.packages[0].errors[0].to_string(),
        "default \"archived\" is not one of the enum values at ForumThread.fields.state.default (line 10, column 18); expected one of open, closed"
    );
}

#[test]
fn an_enum_value_named_like_a_default_function_is_a_literal() {
    assert_valid(&thread_with("      source:\n        type: string\n        enum: [uuid, manual]\n        default: uuid\n"));
}

#[test]
fn required_and_nullable_together_are_an_error() {
    assert_errors(
        &thread_with("      title:\n        type: string\n        required: true\n        nullable: true\n"),
        &["field \"title\" is both required and nullable at ForumThread.fields.title.nullable (line 10, column 19)"],
    );
}

#[test]
fn keys_that_do_not_apply_to_the_type_are_errors() {
    assert_errors(
        &thread_with("      views:\n        type: int\n        maxLength: 10\n"),
        &["\"maxLength\" does not apply to field type int at ForumThread.fields.views.maxLength (line 9, column 20)"],
    );
    assert_errors(
        &thread_with("      flag:\n        type: boolean\n        enum: [a]\n"),
        &["\"enum\" does not apply to field type boolean at ForumThread.fields.flag.enum (line 9, column 15)"],
    );
}

#[test]
fn generated_needs_a_type_with_a_generator() {
    assert_errors(
        &thread_with("      slug:\n        type: string\n        generated: true\n"),
        &["field type string cannot be generated at ForumThread.fields.slug.generated (line 9, column 20)"],
    );
}

#[test]
fn an_entity_may_not_redeclare_a_base_model() {
    assert_errors(
        "entities:\n  - name: User\n    fields: { id: { type: cuid, primary: true } }\n",
        &["entity \"User\" is already defined by the base schema at User (line 2, column 5)"],
    );
}

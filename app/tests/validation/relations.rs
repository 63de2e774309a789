//! Indexes and relations: the fields and entities they name, foreign keys, optionality,
//! index names across packages and relation cycles.

use super::*;

#[test]
fn an_index_naming_a_missing_field_is_an_error() {
    assert_errors(
        &thread_with("    indexes:\n      - fields: [id, titel]\n"),
        &["index names unknown field \"titel\" of entity \"ForumThread\" at ForumThread.indexes[0].fields (line 8, column 22)"],
    );
}

#[test]
fn a_relation_naming_a_missing_foreign_key_is_an_error() {
    assert_errors(
        &thread_with("    relations:\n      - name: author\n        type: belongsTo\n        entity: User\n        field: authorId\n"),
        &["relation names unknown field \"authorId\" of entity \"ForumThread\" at ForumThread.relations.author.field (line 11, column 16)"],
    );
}

#[test]
fn a_has_many_naming_a_missing_foreign_key_on_its_target_is_an_error() {
    let text = "entities:\n  - name: A\n    fields: { id: { type: cuid, primary: true } }\n    relations:\n      - { name: bs, type: hasMany, entity: B, foreignKey: aId }\n  - name: B\n    fields: { id: { type: cuid, primary: true } }\n";
    assert_errors(text, &["relation names unknown field \"aId\" of entity \"B\" at A.relations.bs (line 5, column 59)"]);
}

#[test]
fn a_relation_to_an_entity_nobody_defines_is_an_error() {
    assert_errors(
        &thread_with("      boardId: { type: string }\n    relations:\n      - { name: board, type: belongsTo, target: Board, foreignKey: boardId }\n"),
        &["relation \"board\" targets unknown entity \"Board\" at ForumThread.relations.board (line 9, column 49)"],
    );
}

#[test]
fn relations_to_base_models_and_to_other_packages_are_valid() {
    let board = "entities:\n  - name: Board\n    fields: { id: { type: cuid, primary: true } }\n";
    let thread = thread_with(
        "      boardId: { type: string }\n      userId: { type: string }\n    relations:\n      - { name: board, type: belongsTo, target: Board, foreignKey: boardId }\n      - { name: user, type: belongsTo, target: User, foreignKey: userId }\n",
    );
    let catalog = build(
        vec![package("boards", board), package("forum", &thread)],
        &Config::default(),
    );
    assert!(
        !catalog.has_failures(),
        "{:?}",
        catalog
            .packages
            .iter()
            .map(|p| &p.errors)
            .collect::<Vec<_>>()
    );
}

#[test]
fn set_null_on_a_required_foreign_key_is_an_error() {
    assert_errors(
        &thread_with("      userId: { type: string }\n    relations:\n      - { name: user, type: belongsTo, entity: User, field: userId, onDelete: SetNull }\n"),
        &["relation \"user\" uses SetNull but its foreign key \"userId\" is required at ForumThread.relations.user.onDelete (line 9, column 79)"],
    );
}

#[test]
fn relation_optionality_must_match_the_foreign_key() {
    assert_errors(
        &thread_with("      userId: { type: string }\n    relations:\n      - { name: user, type: belongsTo, entity: User, field: userId, optional: true }\n"),
        &["relation \"user\" is optional but its foreign key \"userId\" is required at ForumThread.relations.user.optional (line 9, column 79)"],
    );
}

#[test]
fn a_foreign_key_of_another_type_than_the_referenced_key_is_an_error() {
    assert_errors(
        &thread_with("      userId: { type: int }\n    relations:\n      - { name: user, type: belongsTo, entity: User, field: userId }\n"),
        &["foreign key \"userId\" is Int but references User.id of type String at ForumThread.relations.user (line 9, column 61)"],
    );
}

#[test]
fn a_relation_name_used_by_a_field_is_an_error() {
    assert_errors(
        &thread_with("      user: { type: string }\n      userId: { type: string }\n    relations:\n      - { name: user, type: belongsTo, entity: User, field: userId }\n"),
        &["relation name \"user\" is already used by a field of this entity at ForumThread.relations.user (line 10, column 9)"],
    );
}

#[test]
fn a_has_one_needs_a_unique_foreign_key() {
    let text = "entities:\n  - name: Account\n    fields: { id: { type: cuid, primary: true } }\n    relations:\n      - { name: profile, type: hasOne, entity: Profile, field: accountId }\n  - name: Profile\n    fields:\n      id: { type: cuid, primary: true }\n      accountId: { type: string }\n";
    assert_errors(text, &["hasOne relation \"profile\" needs Profile.accountId to be unique at Account.relations.profile (line 5, column 64)"]);
    assert_valid(&text.replace(
        "accountId: { type: string }",
        "accountId: { type: string, unique: true }",
    ));
}

#[test]
fn an_index_name_used_by_two_packages_is_an_error_in_the_second() {
    let a = "entities:\n  - name: A\n    fields: { id: { type: cuid, primary: true }, k: { type: string } }\n    indexes:\n      - { fields: [k], name: k_idx }\n";
    let b = "entities:\n  - name: B\n    fields: { id: { type: cuid, primary: true }, k: { type: string } }\n    indexes:\n      - { fields: [k], name: k_idx }\n";
    let catalog = build(
        vec![package("alpha", a), package("beta", b)],
        &Config::default(),
    );
    assert!(catalog.packages[0].errors.is_empty());
    assert_eq!(
        catalog.packages[1].errors.iter().map(short).collect::<Vec<_>>(),
        ["constraint name \"k_idx\" is already used by entity A (package alpha) at B.indexes (line 2, column 5)"]
    );
}

#[test]
fn relation_cycles_are_reported_but_self_relations_are_not() {
    let text = "entities:\n  - name: A\n    fields: { id: { type: cuid, primary: true }, bId: { type: string, nullable: true }, tenantId: { type: string } }\n    relations:\n      - { name: b, type: belongsTo, entity: B, field: bId }\n      - { name: tenant, type: belongsTo, entity: Tenant, field: tenantId }\n  - name: B\n    fields: { id: { type: cuid, primary: true }, aId: { type: string }, parentId: { type: string, nullable: true } }\n    relations:\n      - { name: a, type: belongsTo, entity: A, field: aId }\n      - { name: parent, type: belongsTo, entity: B, field: parentId }\n";
    let catalog = build(vec![package("forum", text)], &Config::default());
    assert!(
        catalog.packages[0].errors.is_empty(),
        "{:?}",
        catalog.packages[0].errors
    );
    let warnings: Vec<String> = catalog.packages[0].warnings.iter().map(short).collect();
    assert_eq!(
        warnings,
        ["relation cycle A -> B -> A at A (line 2, column 5)"]
    );
}

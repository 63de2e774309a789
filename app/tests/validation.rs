//! Every validation error, with its exact message, key path and position.

use std::time::{Duration, Instant};

use app::domain::{BaseSchema, Catalog, Config, Diagnostic, PackageId, PackageSource, Severity};

fn package(id: &str, text: &str) -> PackageSource {
    PackageSource {
        id: PackageId::parse(id).unwrap_or_else(|e| panic!("{e}")),
        file: format!("{id}.yaml"),
        text: text.to_owned(),
    }
}

fn build(packages: Vec<PackageSource>, config: &Config) -> Catalog {
    Catalog::build(packages, BaseSchema::default(), config)
}

/// `line:column message-without-help` of every error of the single package `forum`.
fn errors_with(text: &str, config: &Config) -> Vec<String> {
    let catalog = build(vec![package("forum", text)], config);
    catalog.packages[0].errors.iter().map(short).collect()
}

fn errors(text: &str) -> Vec<String> {
    errors_with(text, &Config::default())
}

fn short(diagnostic: &Diagnostic) -> String {
    let full = diagnostic.to_string();
    let message = full.split("; ").next().unwrap_or_default();
    message.to_owned()
}

#[track_caller]
fn assert_errors(text: &str, expected: &[&str]) {
    assert_eq!(errors(text), expected, "for input:\n{text}");
}

#[track_caller]
fn assert_valid(text: &str) {
    assert_errors(text, &[]);
}

/// A valid map-dialect entity to splice fields into.
fn thread_with(fields: &str) -> String {
    format!("entities:\n  - name: ForumThread\n    fields:\n      id:\n        type: cuid\n        primary: true\n{fields}")
}

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
        "unknown key \"requried\" at ForumThread.fields.title.requried (line 9, column 9); expected one of type, required, nullable, primary, generated, unique, index, default, maxLength, enum, min, max, description, columnName"
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
fn an_unknown_acl_role_is_an_error_naming_the_vocabulary() {
    let catalog = build(
        vec![package(
            "forum",
            &thread_with("    acl:\n      read: [public, superadmin]\n"),
        )],
        &Config::default(),
    );
    assert_eq!(
        catalog.packages[0].errors[0].to_string(),
        "unknown acl role \"superadmin\" at ForumThread.acl.read (line 8, column 22); expected one of admin, god, moderator, none, owner, public, public_if_public, public_if_shared, self, supergod, system, user"
    );
}

#[test]
fn the_role_vocabulary_is_configuration() {
    let mut config = Config::default();
    config.roles.insert("superadmin".to_owned());
    assert_eq!(
        errors_with(
            &thread_with("    acl:\n      read: [superadmin]\n"),
            &config
        ),
        Vec::<String>::new()
    );
}

/// `line:column message-without-help` of every warning of the single package `forum`.
fn warnings_with(text: &str, config: &Config) -> Vec<String> {
    let catalog = build(vec![package("forum", text)], config);
    catalog.packages[0]
        .warnings
        .iter()
        .map(short)
        .filter(|w| w.starts_with("acl "))
        .collect()
}

#[test]
fn an_owner_grant_without_an_owner_field_is_a_warning_and_the_package_stays_reviewable() {
    let text = thread_with("    acl:\n      update: [owner, admin]\n      delete: [self]\n");
    assert_valid(&text);
    assert_eq!(
        warnings_with(&text, &Config::default()),
        [
            "acl role \"owner\" on entity \"ForumThread\" cannot be tied to an owner field: it matches no row at ForumThread.acl.update (line 8, column 16)",
            "acl role \"self\" on entity \"ForumThread\" cannot be tied to an owner field: it matches no row at ForumThread.acl.delete (line 9, column 16)",
        ]
    );
    let catalog = build(vec![package("forum", &text)], &Config::default());
    assert!(!catalog.has_failures());
    assert!(catalog.render_fragment("forum").is_ok());
    let help = catalog.packages[0].warnings[0].to_string();
    assert!(
        help.contains("name the owner field in the acl (`owner: followerId`)"),
        "{help}"
    );
    assert_valid(&thread_with(
        "      authorId: { type: string }\n    acl:\n      update: [owner]\n",
    ));
}

#[test]
fn ownership_errors_turn_an_unbound_owner_grant_into_an_error() {
    let mut config = Config::default();
    config.ownership_severity = Severity::Error;
    assert_eq!(
        errors_with(&thread_with("    acl:\n      update: [owner]\n"), &config)[..1],
        ["acl role \"owner\" on entity \"ForumThread\" cannot be tied to an owner field: it matches no row at ForumThread.acl.update (line 8, column 16)"]
    );
}

#[test]
fn an_acl_may_name_its_owner_field_in_either_dialect() {
    let map = "entities:\n  - name: Follow\n    fields:\n      id: { type: cuid, primary: true }\n      followerId: { type: string }\n    acl:\n      owner: followerId\n      delete: [owner]\n";
    assert_valid(map);
    assert_eq!(
        warnings_with(
            &map.replace("      owner: followerId\n", ""),
            &Config::default()
        )
        .len(),
        1
    );
    assert_eq!(warnings_with(map, &Config::default()), Vec::<String>::new());
    let list = "entities:\n  - name: Follow\n    fields:\n      - { name: id, type: String, primary: true }\n      - { name: followerId, type: String }\n    acl:\n      owner: followerId\n      delete: [owner]\n";
    assert_valid(list);
    assert_eq!(
        warnings_with(list, &Config::default()),
        Vec::<String>::new()
    );
    assert_errors(
        &map.replace("owner: followerId", "owner: leaderId"),
        &["acl owner field \"leaderId\" is not a field of entity \"Follow\" at Follow.acl.owner (line 7, column 14)"],
    );
    // Naming the owner changes what the grant matches, so it changes the checksum.
    let named = build(vec![package("forum", map)], &Config::default());
    let unnamed = build(
        vec![package(
            "forum",
            &map.replace("      owner: followerId\n", ""),
        )],
        &Config::default(),
    );
    assert_ne!(
        named.packages[0].entities[0].checksum,
        unnamed.packages[0].entities[0].checksum
    );
}

#[test]
fn ownership_is_inherited_through_a_required_belongs_to_chain() {
    let chain = |optional: &str| {
        format!(
            "entities:\n  - name: Channel\n    fields:\n      id: {{ type: cuid, primary: true }}\n      createdBy: {{ type: string }}\n  - name: Schedule\n    fields:\n      id: {{ type: cuid, primary: true }}\n      channelId: {{ type: string{optional} }}\n    relations:\n      - {{ name: channel, type: belongsTo, entity: Channel, field: channelId }}\n    acl:\n      update: [self]\n"
        )
    };
    assert_valid(&chain(""));
    assert_eq!(
        warnings_with(&chain(""), &Config::default()),
        Vec::<String>::new()
    );
    assert_eq!(
        warnings_with(&chain(", nullable: true"), &Config::default()),
        ["acl role \"self\" on entity \"Schedule\" cannot be tied to an owner field: it matches no row at Schedule.acl.update (line 13, column 16)"],
    );
}

#[test]
fn a_belongs_to_the_user_model_is_an_owner_field() {
    assert_valid(&thread_with(
        "      writer: { type: string }\n    relations:\n      - { name: writtenBy, type: belongsTo, entity: User, field: writer }\n    acl:\n      update: [owner]\n",
    ));
}

#[test]
fn a_row_level_predicate_naming_an_unknown_field_points_into_the_predicate() {
    assert_errors(
        &thread_with("      userId: { type: string }\n    acl:\n      rowLevel: \"userId = $user.id OR isPublic = true\"\n"),
        &["rowLevel references unknown field \"isPublic\" of entity \"ForumThread\" at ForumThread.acl.rowLevel (line 9, column 39)"],
    );
}

#[test]
fn a_row_level_predicate_may_follow_relations() {
    let text = "entities:\n  - name: Calculator\n    fields:\n      id: { type: cuid, primary: true }\n      userId: { type: string }\n  - name: Result\n    fields:\n      id: { type: cuid, primary: true }\n      calculatorId: { type: string }\n    relations:\n      - { name: calculator, type: belongsTo, entity: Calculator, field: calculatorId }\n    acl:\n      rowLevel: calculator.userId = $user.id\n";
    assert_valid(text);
    assert_errors(
        &text.replace("calculator.userId", "calculator.ownerId"),
        &["rowLevel references unknown field \"ownerId\" of entity \"Calculator\" at Result.acl.rowLevel (line 13, column 28)"],
    );
    assert_errors(
        &text.replace("calculator.userId", "calc.userId"),
        &["rowLevel references unknown relation \"calc\" of entity \"Result\" at Result.acl.rowLevel (line 13, column 17)"],
    );
}

#[test]
fn a_row_level_predicate_with_an_unknown_variable_or_bad_syntax_is_an_error() {
    assert_errors(
        &thread_with("      userId: { type: string }\n    acl:\n      rowLevel: \"userId = $session.id\"\n"),
        &["rowLevel uses unknown context variable \"$session\" at ForumThread.acl.rowLevel (line 9, column 27)"],
    );
    assert_errors(
        &thread_with("      userId: { type: string }\n    acl:\n      rowLevel: \"userId == \"\n"),
        &["invalid rowLevel predicate: expected a value, found the end at ForumThread.acl.rowLevel (line 9, column 28)"],
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
fn an_entity_may_not_redeclare_a_base_model() {
    assert_errors(
        "entities:\n  - name: User\n    fields: { id: { type: cuid, primary: true } }\n",
        &["entity \"User\" is already defined by the base schema at User (line 2, column 5)"],
    );
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
fn invalid_yaml_is_reported_with_its_position() {
    assert_errors(
        "entities:\n  - name: A\n    fields: [\n",
        &["invalid yaml: unclosed bracket '[' (line 3, column 13)"],
    );
}

#[test]
fn one_bad_package_never_hides_the_others() {
    let good = "entities:\n  - name: Good\n    fields: { id: { type: cuid, primary: true } }\n";
    let bad = "entities:\n  - name: Bad\n    fields: { id: { type: cuid, primary: true }, x: { type: jsonb } }\n  - name: AlsoFine\n    fields: { id: { type: cuid, primary: true } }\n";
    let worse = "entities: [\n";
    let catalog = build(
        vec![
            package("good", good),
            package("bad", bad),
            package("worse", worse),
        ],
        &Config::default(),
    );
    let by_id = |id: &str| catalog.package(id).unwrap_or_else(|| panic!("no {id}"));
    assert!(by_id("good").errors.is_empty());
    assert!(by_id("good").checksum.is_some());
    assert_eq!(by_id("bad").errors.len(), 1);
    assert_eq!(
        by_id("bad")
            .entities
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>(),
        ["AlsoFine"]
    );
    assert_eq!(by_id("bad").checksum, None);
    assert_eq!(by_id("worse").errors.len(), 1);
    assert!(catalog.has_failures());
}

#[test]
fn errors_from_several_entities_are_all_collected() {
    let text = "entities:\n  - name: A\n    fields: { id: { type: cuid, primary: true }, x: { type: jsonb } }\n  - name: B\n    fields: { id: { type: cuid, primary: true }, y: { type: text } }\n";
    assert_errors(
        text,
        &[
            "unknown field type \"jsonb\" at A.fields.x.type (line 3, column 61)",
            "unknown field type \"text\" at B.fields.y.type (line 5, column 61)",
        ],
    );
}

#[test]
fn a_relation_to_an_entity_with_errors_does_not_cascade() {
    let text = "entities:\n  - name: A\n    fields: { id: { type: cuid, primary: true }, x: { type: jsonb } }\n  - name: B\n    fields: { id: { type: cuid, primary: true }, aId: { type: string } }\n    relations:\n      - { name: a, type: belongsTo, entity: A, field: aId }\n";
    assert_errors(
        text,
        &["unknown field type \"jsonb\" at A.fields.x.type (line 3, column 61)"],
    );
}

#[test]
fn the_same_entity_with_different_checksums_is_a_conflict_naming_every_package() {
    let one = "entities:\n  - name: Shared\n    fields: { id: { type: cuid, primary: true }, n: { type: int } }\n";
    let two = "entities:\n  - name: Shared\n    fields: { id: { type: cuid, primary: true }, n: { type: bigint } }\n";
    let catalog = build(
        vec![
            package("two", two),
            package("one", one),
            package("three", one),
        ],
        &Config::default(),
    );
    assert_eq!(catalog.conflicts.len(), 1);
    let conflict = &catalog.conflicts[0];
    assert_eq!(conflict.entity, "Shared");
    let packages: Vec<&str> = conflict
        .declarations
        .iter()
        .map(|d| d.package.as_str())
        .collect();
    assert_eq!(packages, ["one", "three", "two"]);
    assert_eq!(
        conflict.declarations[0].checksum,
        conflict.declarations[1].checksum
    );
    assert_ne!(
        conflict.declarations[0].checksum,
        conflict.declarations[2].checksum
    );
    assert!(catalog.has_failures());
    assert_eq!(
        catalog.render_schema().map_err(|e| e.to_string()),
        Err("conflicting entities: Shared".to_owned())
    );
}

#[test]
fn the_same_entity_with_equal_checksums_is_shared_and_rendered_once() {
    let one = "entities:\n  - name: Shared\n    fields: { id: { type: cuid, primary: true } }\n";
    let catalog = build(
        vec![package("one", one), package("two", one)],
        &Config::default(),
    );
    assert!(catalog.conflicts.is_empty());
    assert_eq!(catalog.shared.len(), 1);
    assert_eq!(
        catalog.shared[0]
            .packages
            .iter()
            .map(PackageId::as_str)
            .collect::<Vec<_>>(),
        ["one", "two"]
    );
    let schema = catalog.render_schema().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(schema.matches("model Shared {").count(), 1);
}

#[test]
fn entities_that_cannot_reach_the_root_are_warnings_by_default() {
    let text = "entities:\n  - name: Orphan\n    fields: { id: { type: cuid, primary: true }, tenantId: { type: string } }\n";
    let catalog = build(vec![package("forum", text)], &Config::default());
    assert!(catalog.packages[0].errors.is_empty());
    let warnings: Vec<String> = catalog.packages[0]
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        warnings,
        ["entity \"Orphan\" cannot reach the ownership root \"Tenant\" through belongsTo relations at Orphan (line 2, column 5); add a belongsTo relation to Tenant on field tenantId, or to an entity that reaches it"]
    );
    assert_eq!(catalog.packages[0].warnings[0].severity, Severity::Warning);
}

#[test]
fn ownership_findings_can_be_configured_as_errors() {
    let config = Config {
        ownership_severity: Severity::Error,
        ..Config::default()
    };
    let text = "entities:\n  - name: Orphan\n    fields: { id: { type: cuid, primary: true } }\n";
    assert_eq!(
        errors_with(text, &config),
        ["entity \"Orphan\" cannot reach the ownership root \"Tenant\" through belongsTo relations at Orphan (line 2, column 5)"]
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

#[test]
fn header_comments_checksum_null_and_crlf_line_endings_are_accepted() {
    let text = "# yaml-language-server: $schema=x\r\n# header\r\nentities:\r\n  - name: A\r\n    version: \"1.0\"\r\n    checksum: null  # auto\r\n    fields:\r\n      id:\r\n        type: cuid\r\n        primary: true\r\n";
    assert_valid(text);
}

#[test]
fn a_yaml_bomb_fails_fast_with_a_clear_error() {
    let mut text = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for level in 1..10u8 {
        let (previous, current) = (char::from(b'a' + level - 1), char::from(b'a' + level));
        let refs = vec![format!("*{previous}"); 9].join(",");
        text.push_str(&format!("{current}: &{current} [{refs}]\n"));
    }
    text.push_str("entities: []\n");
    let started = Instant::now();
    let found = errors(&text);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("yaml aliases expand to more than 10000 nodes"),
        "{found:?}"
    );
}

#[test]
fn a_twenty_megabyte_file_fails_fast_with_a_clear_error() {
    let text = format!("entities: []\n# {}\n", "x".repeat(20 * 1024 * 1024));
    let started = Instant::now();
    let found = errors(&text);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        found,
        ["file is larger than the limit of 1048576 bytes (line 2, column 1048564)"]
    );
}

#[test]
fn ten_thousand_levels_of_nesting_fail_fast_with_a_clear_error() {
    for text in [
        format!("entities: {}{}\n", "[".repeat(10_000), "]".repeat(10_000)),
        format!(
            "entities: {}1{}\n",
            "{a: ".repeat(10_000),
            "}".repeat(10_000)
        ),
    ] {
        let started = Instant::now();
        let found = errors(&text);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("yaml nesting is deeper than the limit of 20 levels"),
            "{found:?}"
        );
    }
}

#[test]
fn too_many_entities_or_fields_are_errors() {
    let mut config = Config::default();
    config.limits.max_entities = 1;
    config.limits.max_fields_per_entity = 1;
    let two = "entities:\n  - name: A\n    fields: { id: { type: cuid, primary: true } }\n  - name: B\n    fields: { id: { type: cuid, primary: true } }\n";
    assert_eq!(
        errors_with(two, &config),
        ["2 entities, more than the limit of 1 at entities (line 2, column 3)"]
    );
    assert_eq!(
        errors_with(&thread_with("      x: { type: int }\n"), &config),
        ["2 fields, more than the limit of 1 at ForumThread.fields (line 4, column 7)"]
    );
}

#[test]
fn diagnostics_serialize_to_the_check_json_shape() {
    let catalog = build(
        vec![package(
            "forum",
            &thread_with("      meta:\n        type: jsonb\n"),
        )],
        &Config::default(),
    );
    let json = serde_json::to_value(&catalog).unwrap_or_else(|e| panic!("{e}"));
    let error = &json["packages"][0]["errors"][0];
    assert_eq!(json["packages"][0]["package"], "forum");
    assert_eq!(error["file"], "forum.yaml");
    assert_eq!(error["line"], 8);
    assert_eq!(error["column"], 15);
    assert_eq!(error["path"], "ForumThread.fields.meta.type");
    assert_eq!(error["code"], "unknown_field_type");
    assert!(error["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("unknown field type \"jsonb\"")));
    assert_eq!(json["conflicts"], serde_json::json!([]));
}

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

#[test]
fn entities_null_is_an_error() {
    assert_errors(
        "entities: null\n",
        &["expected a list of entities, found null at entities (line 1, column 11)"],
    );
    assert_errors(
        "entities:\n",
        &["expected a list of entities, found null at entities (line 1, column 9)"],
    );
}

#[test]
fn yaml_tags_are_named_in_errors() {
    assert_errors(
        &thread_with("      data: { type: string, default: !!binary aGVsbG8= }\n"),
        &["yaml tag \"!!binary\" is not supported (line 7, column 38)"],
    );
    assert_errors(
        "entities: !!python/object:os.system []\n",
        &["yaml tag \"!!python/object:os.system\" is not supported (line 1, column 11)"],
    );
    assert_errors(
        &thread_with("      title: !custom { type: string }\n"),
        &["yaml tag \"!custom\" is not supported (line 7, column 14)"],
    );
}

#[test]
fn utf16_and_utf32_files_are_named() {
    let text = "entities: []\n";
    let widen = |unit: usize, big_endian: bool| -> String {
        let mut bytes = Vec::new();
        for b in text.bytes() {
            let mut unit_bytes = vec![0u8; unit];
            if big_endian {
                unit_bytes[unit - 1] = b;
            } else {
                unit_bytes[0] = b;
            }
            bytes.extend(unit_bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    };
    for (unit, big_endian, name) in [
        (2, false, "UTF-16LE"),
        (2, true, "UTF-16BE"),
        (4, false, "UTF-32LE"),
        (4, true, "UTF-32BE"),
    ] {
        assert_errors(
            &widen(unit, big_endian),
            &[&format!(
                "file is encoded as {name}, not UTF-8 (line 1, column 1)"
            )],
        );
    }
    // With a byte-order mark, as editors write them (read as UTF-8 with replacement).
    let bom_le = String::from_utf8_lossy(&[0xFF, 0xFE, b'e', 0, b'n', 0]).into_owned();
    assert_errors(
        &bom_le,
        &["file is encoded as UTF-16LE, not UTF-8 (line 1, column 1)"],
    );
    let bom_be32 = String::from_utf8_lossy(&[0, 0, 0xFE, 0xFF, 0, 0, 0, b'e']).into_owned();
    assert_errors(
        &bom_be32,
        &["file is encoded as UTF-32BE, not UTF-8 (line 1, column 1)"],
    );
}

#[test]
fn size_limits_are_reported_at_a_real_position_without_internal_text() {
    let mut config = Config::default();
    config.limits.max_nodes = 50;
    let many = format!("entities: [{}]\n", vec!["1"; 100].join(", "));
    assert_eq!(
        errors_with(&many, &config),
        ["yaml document has more than 50 nodes (line 1, column 153)"]
    );
    let mut config = Config::default();
    config.limits.max_file_bytes = 20;
    assert_eq!(
        errors_with("entities: []\n# a long comment\n", &config),
        ["file is larger than the limit of 20 bytes (line 2, column 8)"]
    );
}

#[test]
fn a_row_level_predicate_the_database_cannot_enforce_is_an_error_at_its_position() {
    assert_errors(
        &thread_with("      views: { type: int }\n    acl:\n      read: [user]\n      rowLevel: \"views >= 0 AND views = 'many'\"\n"),
        &["rowLevel cannot be enforced by the database: it compares an Int field with a string at ForumThread.acl.rowLevel (line 10, column 33)"],
    );
    assert_errors(
        &thread_with("      userId: { type: string }\n    acl:\n      rowLevel: \"userId = $user.profile.email\"\n"),
        &["rowLevel cannot be enforced by the database: the variable \"$user.profile.email\" has no setting (expected $ROOT.NAME, such as $user.id) at ForumThread.acl.rowLevel (line 9, column 27)"],
    );
}

#[test]
fn a_public_if_role_without_its_flag_field_is_an_error_at_the_role() {
    assert_errors(
        &thread_with("      shared: { type: string }\n    acl:\n      read: [admin, public_if_shared]\n"),
        &["acl role \"public_if_shared\" cannot be enforced by the database: it needs a Boolean field \"shared\" or \"isShared\" on entity \"ForumThread\" at ForumThread.acl.read (line 9, column 21)"],
    );
    assert_valid(&thread_with(
        "      isShared: { type: boolean }\n    acl:\n      read: [public_if_shared]\n",
    ));
}

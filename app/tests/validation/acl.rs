//! ACLs: the role vocabulary, owner grants and their owner fields, the ownership root, and
//! rowLevel predicates the database must be able to enforce.

use app::domain::Severity;

use super::*;

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
    let config = Config {
        ownership_severity: Severity::Error,
        ..Config::default()
    };
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
fn a_conditional_role_without_its_field_is_a_finding_never_an_error() {
    // Another name for the flag: the package scans, and the grant is a security finding.
    let text = thread_with(
        "      isPublic: { type: boolean }\n    acl:\n      read: [admin, public_if_shared]\n",
    );
    assert_valid(&text);
    assert_eq!(
        warnings_with(&text, &Config::default()),
        ["acl role \"public_if_shared\" on entity \"ForumThread\" matches no row: its condition needs a Boolean field \"shared\" or \"isShared\" on entity \"ForumThread\" at ForumThread.acl.read (line 9, column 21)"]
    );
    // Configured: the platform says which field the role reads.
    let mut config = Config::default();
    config
        .row_security
        .role_conditions
        .insert("public_if_shared".to_owned(), "isPublic".to_owned());
    assert!(warnings_with(&text, &config).is_empty());
    assert_valid(&thread_with(
        "      isShared: { type: boolean }\n    acl:\n      read: [public_if_shared]\n",
    ));
}

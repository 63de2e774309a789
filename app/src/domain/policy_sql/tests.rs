use super::*;
use crate::domain::base_schema::BaseSchema;
use crate::domain::config::RoleHierarchy;
use crate::domain::dialect::parse_entities;

fn entities(yaml: &str, config: &Config) -> Vec<Entity> {
    let parsed = parse_entities(yaml, "test.yaml", config);
    assert!(
        parsed.diagnostics.is_empty(),
        "{:?}",
        parsed
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    );
    parsed.entities
}

/// Every statement that makes a fresh table enforce the ACLs of `yaml`.
fn sql_with(yaml: &str, config: &Config) -> String {
    let base = BaseSchema::default();
    let entities = entities(yaml, config);
    let models = Models::new(&base, &entities);
    let none = Models::new(&base, []);
    let plan = policy_plan(
        PolicyState {
            entities: &[],
            models: &none,
        },
        PolicyState {
            entities: &entities,
            models: &models,
        },
        config,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(plan.before_ddl.is_empty());
    plan.after_ddl.join("\n")
}

fn sql(yaml: &str) -> String {
    sql_with(yaml, &Config::default())
}

fn error(yaml: &str) -> String {
    let config = Config::default();
    let base = BaseSchema::default();
    let entities = entities(yaml, &config);
    let models = Models::new(&base, &entities);
    entities
        .iter()
        .find_map(|e| entity_policies(e, &models, &config).err())
        .map(|e| e.to_string())
        .unwrap_or_else(|| panic!("no error for {yaml}"))
}

const MEDIA: &str = "entities:
  - name: MediaAsset
    fields:
      id: { type: cuid, primary: true }
      userId: { type: string }
      isPublic: { type: boolean }
    acl:
      create: [user]
      read: [self, public_if_public, admin]
      update: [self]
      delete: [self, admin]
      rowLevel: \"userId = $user.id OR isPublic = true\"
";

#[test]
fn identifiers_and_literals_are_quoted_so_nothing_breaks_out() {
    assert_eq!(quote_ident("Media"), "\"Media\"");
    assert_eq!(
        quote_ident("a\"; DROP TABLE x; --"),
        "\"a\"\"; DROP TABLE x; --\""
    );
    assert_eq!(quote_literal("it's"), "'it''s'");
    assert_eq!(quote_literal("$$; x"), "'$$; x'");
    assert_eq!(quote_literal("a\\'b"), "E'a\\\\''b'");
}

#[test]
fn an_acl_becomes_four_forced_policies() {
    insta::assert_snapshot!(sql(MEDIA));
}

#[test]
fn roles_become_setting_checks_and_the_hierarchy_widens_named_roles() {
    let mut config = Config::default();
    config.row_security.hierarchy = RoleHierarchy::parse(&["supergod > god > admin"]).unwrap();
    let yaml = "entities:
  - name: AuditLog
    tableName: audit_log
    fields:
      id: { type: int, primary: true, generated: true }
      message: { type: string, columnName: msg }
    acl:
      create: [system, admin]
      read: [admin, moderator]
      update: [none]
      delete: [public]
";
    insta::assert_snapshot!(sql_with(yaml, &config));
}

#[test]
fn a_path_through_a_relation_becomes_exists_and_owner_chains_follow_required_parents() {
    let yaml = "entities:
  - name: Calculator
    fields:
      id: { type: cuid, primary: true }
      userId: { type: string }
    acl:
      read: [owner]
  - name: Result
    fields:
      id: { type: cuid, primary: true }
      calculatorId: { type: string }
      score: { type: int, columnName: The_Score }
    relations:
      - { name: calculator, type: belongsTo, entity: Calculator, field: calculatorId }
    acl:
      read: [owner, user]
      update: [self]
      rowLevel: \"calculator.userId = $user.id AND score >= -1 AND score NOT IN (3, 4)\"
";
    insta::assert_snapshot!(sql(yaml));
}

#[test]
fn uncompilable_predicates_and_roles_name_the_culprit() {
    let thread = |fields: &str, acl: &str| {
        format!("entities:\n  - name: Thread\n    fields:\n      id: {{ type: cuid, primary: true }}\n{fields}    acl:\n{acl}")
    };
    assert_eq!(
        error(&thread("      views: { type: int }\n", "      rowLevel: \"views = 'many'\"\n")),
        "rowLevel of entity \"Thread\" cannot be enforced by the database: it compares an Int field with a string"
    );
    assert_eq!(
        error(&thread("      meta: { type: json }\n", "      rowLevel: \"meta = 'x'\"\n")),
        "rowLevel of entity \"Thread\" cannot be enforced by the database: a Json field can only be tested with IS NULL"
    );
    assert_eq!(
        error(&thread("      userId: { type: string }\n", "      rowLevel: \"userId = $user.profile.email\"\n")),
        "rowLevel of entity \"Thread\" cannot be enforced by the database: the variable \"$user.profile.email\" has no setting (expected $ROOT.NAME, such as $user.id)"
    );
    assert_eq!(
        error(&thread(
            "      parentId: { type: string, nullable: true }\n      userId: { type: string }\n",
            "      rowLevel: \"parent.userId = $user.id\"\n    relations:\n      - { name: parent, type: belongsTo, entity: Thread, field: parentId, optional: true }\n"
        )),
        "rowLevel of entity \"Thread\" cannot be enforced by the database: the path through \"parent\" leads back to table \"Thread\": a policy that queries its own table makes PostgreSQL fail every query with infinite recursion; compare a field of the row itself"
    );
}

/// The policies of the first entity of `yaml` under `config`.
fn policies_with(yaml: &str, config: &Config) -> EntityPolicies {
    let base = BaseSchema::default();
    let entities = entities(yaml, config);
    let models = Models::new(&base, &entities);
    entity_policies(&entities[0], &models, config)
        .unwrap()
        .unwrap()
}

#[test]
fn a_conditional_role_without_its_field_matches_no_row_and_a_configured_field_is_used() {
    let yaml = "entities:
  - name: Note
    fields:
      id: { type: cuid, primary: true }
      isPublic: { type: boolean }
    acl:
      read: [public_if_shared, admin]
";
    let missing = policies_with(yaml, &Config::default());
    assert_eq!(
        missing
            .unmatched
            .get("public_if_shared")
            .map(String::as_str),
        Some("its condition needs a Boolean field \"shared\" or \"isShared\" on entity \"Note\"")
    );
    let read = &missing.policies[&AclOp::Read].expression;
    assert!(!read.contains("isPublic"), "{read}");
    assert!(read.contains("IN ('admin')"), "{read}");

    let mut config = Config::default();
    config
        .row_security
        .role_conditions
        .insert("public_if_shared".to_owned(), "isPublic".to_owned());
    let mapped = policies_with(yaml, &config);
    assert!(mapped.unmatched.is_empty());
    assert!(mapped.policies[&AclOp::Read]
        .expression
        .contains("\"Note\".\"isPublic\" IS TRUE"));
}

#[test]
fn tenant_rows_are_scoped_directly_through_parents_and_on_the_root_except_for_platform_roles() {
    let yaml = "entities:
  - name: SmtpConfig
    fields:
      id: { type: cuid, primary: true }
      tenantId: { type: string }
      password: { type: string }
    relations:
      - { name: tenant, type: belongsTo, entity: Tenant, field: tenantId }
    acl:
      read: [admin]
  - name: SmtpLog
    fields:
      id: { type: cuid, primary: true }
      configId: { type: string }
    relations:
      - { name: config, type: belongsTo, entity: SmtpConfig, field: configId }
    acl:
      read: [public]
";
    let config = Config::default();
    let direct = policies_with(yaml, &config);
    assert_eq!(
        direct.tenant.as_deref(),
        Some("\"SmtpConfig\".\"tenantId\" = NULLIF(current_setting('app.tenant_id', true), '')")
    );
    assert_eq!(
        direct.policies[&AclOp::Read].expression,
        "(NULLIF(current_setting('app.user_id', true), '') IS NOT NULL AND current_setting('app.role', true) IN ('admin')) AND ((NULLIF(current_setting('app.user_id', true), '') IS NOT NULL AND current_setting('app.role', true) IN ('god', 'supergod')) OR \"SmtpConfig\".\"tenantId\" = NULLIF(current_setting('app.tenant_id', true), ''))"
    );
    let base = BaseSchema::default();
    let all = entities(yaml, &config);
    let models = Models::new(&base, &all);
    let log = entity_policies(&all[1], &models, &config).unwrap().unwrap();
    assert_eq!(
        log.tenant.as_deref(),
        Some("EXISTS (SELECT 1 FROM \"SmtpConfig\" sg_1 WHERE sg_1.\"id\" = \"SmtpLog\".\"configId\" AND sg_1.\"tenantId\" = NULLIF(current_setting('app.tenant_id', true), ''))")
    );
    assert!(log.policies[&AclOp::Read]
        .expression
        .starts_with("((NULLIF"));

    let loose = "entities:
  - name: Global
    fields:
      id: { type: cuid, primary: true }
    acl:
      read: [user]
";
    let global = policies_with(loose, &config);
    assert!(global.tenant.is_none());
    assert!(global
        .untenanted
        .as_deref()
        .is_some_and(|why| why.contains("every tenant shares its rows")));
}

#[test]
fn an_integer_owner_field_compares_as_text_so_no_user_id_breaks_the_query() {
    let yaml = "entities:
  - name: Ticket
    fields:
      id: { type: int, primary: true, generated: true }
      ownerId: { type: int }
    acl:
      read: [owner]
";
    let read = &policies_with(yaml, &Config::default()).policies[&AclOp::Read].expression;
    assert_eq!(
        read,
        "\"Ticket\".\"ownerId\"::text = NULLIF(current_setting('app.user_id', true), '')"
    );
}

#[test]
fn null_comparisons_become_null_tests() {
    let yaml = "entities:
  - name: Post
    fields:
      id: { type: cuid, primary: true }
      deletedAt: { type: datetime, nullable: true }
      authorId: { type: string }
    acl:
      read: [user]
      rowLevel: \"deletedAt = null AND authorId != null AND $user.role = 'editor' AND $user.tenantId != ''\"
";
    let text = sql(yaml);
    assert!(
        text.contains("USING (NULLIF(current_setting('app.user_id', true), '') IS NOT NULL AND (\"Post\".\"deletedAt\" IS NULL AND \"Post\".\"authorId\" IS NOT NULL AND NULLIF(current_setting('app.role', true), '') = 'editor' AND NULLIF(current_setting('app.user_tenant_id', true), '') <> ''))"),
        "{text}"
    );
}

fn plan_between(before: &str, after: &str) -> PolicyPlan {
    let config = Config::default();
    let base = BaseSchema::default();
    let before = entities(before, &config);
    let after = entities(after, &config);
    let before_models = Models::new(&base, &before);
    let after_models = Models::new(&base, &after);
    policy_plan(
        PolicyState {
            entities: &before,
            models: &before_models,
        },
        PolicyState {
            entities: &after,
            models: &after_models,
        },
        &config,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn an_unchanged_acl_plans_nothing_and_a_changed_one_replaces_only_its_policies() {
    assert!(plan_between(MEDIA, MEDIA).is_empty());
    let widened = MEDIA
        .replace("update: [self]", "update: [self, moderator]")
        .replace(
            "      rowLevel: \"userId = $user.id OR isPublic = true\"\n",
            "",
        );
    let plan = plan_between(MEDIA, &widened);
    insta::assert_snapshot!(format!(
        "-- before DDL\n{}\n-- after DDL\n{}",
        plan.before_ddl.join("\n"),
        plan.after_ddl.join("\n")
    ));
}

#[test]
fn a_removed_acl_drops_its_policies_and_a_removed_entity_plans_nothing() {
    let without_acl = MEDIA
        .split("    acl:")
        .next()
        .unwrap_or_default()
        .to_owned();
    let plan = plan_between(MEDIA, &without_acl);
    assert_eq!(
        plan.before_ddl,
        [
            "DROP POLICY IF EXISTS schemagate_create ON \"MediaAsset\";",
            "DROP POLICY IF EXISTS schemagate_read ON \"MediaAsset\";",
            "DROP POLICY IF EXISTS schemagate_update ON \"MediaAsset\";",
            "DROP POLICY IF EXISTS schemagate_delete ON \"MediaAsset\";",
            "ALTER TABLE \"MediaAsset\" NO FORCE ROW LEVEL SECURITY;",
            "ALTER TABLE \"MediaAsset\" DISABLE ROW LEVEL SECURITY;",
        ]
    );
    assert!(plan.after_ddl.is_empty());
    assert!(plan_between(MEDIA, "entities: []\n").is_empty());
}

#[test]
fn a_column_change_under_a_policy_recreates_it_around_the_ddl() {
    let retyped = MEDIA.replace(
        "userId: { type: string }",
        "userId: { type: string, columnName: owner }",
    );
    let plan = plan_between(MEDIA, &retyped);
    assert_eq!(plan.before_ddl.len(), 4, "{plan:?}");
    assert!(plan
        .after_ddl
        .iter()
        .any(|s| s.contains("\"MediaAsset\".\"owner\" = ")));
}

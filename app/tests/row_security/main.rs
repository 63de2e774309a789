//! Row-level security on a real PostgreSQL: tables from Prisma's own DDL (the schema engine in
//! `server/prisma-engine`), the policies of `policy_sql`, rows owned by two users, and every
//! operation run by every role of the vocabulary (plus anonymous, an owner and a non-owner)
//! as a database role that is neither the table owner nor BYPASSRLS. PostgreSQL must allow and
//! deny exactly what `acl check` (domain/access.rs) answers, on exactly the expected rows.
#![cfg(feature = "ssr")]

mod database;
mod expected;
mod probes;
#[path = "../support.rs"]
mod support;
mod world;

use std::collections::BTreeSet;

use app::domain::access::AccessDecision;
use app::domain::config::RoleHierarchy;
use app::domain::policy_sql::{policy_plan, quote_ident, Models, PolicyState};
use app::domain::{BaseSchema, Catalog, Config, Entity, PackageId, PackageSource};
use sqlx::PgPool;

use database::{apply, create_tables, drop_role, platform_role, seed};
use expected::{entity_policy, Actor};
use probes::{act, matrix};
use world::World;

#[path = "../common/corpus.rs"]
mod common;
use common::corpus_dir;

/// Users owning the seeded rows: shapes 0 and 1 belong to `u1`, 2 and 3 to `u2`.
const OWNERS: [&str; 2] = ["u1", "u2"];
const SHAPES: usize = 4;

fn owner_of(shape: usize) -> &'static str {
    OWNERS[shape / 2]
}

fn flag_of(shape: usize) -> bool {
    shape.is_multiple_of(2)
}

/// The tenant every probe acts in.
const ACTING_TENANT: &str = "t1";

/// Tenants of the seeded rows, independent of owners and flags: shapes 0 and 3 belong to `t1`,
/// 1 and 2 to `t2` (a row of tenant `t2` must never be visible or writable from `t1`, except
/// to platform-wide roles).
fn tenant_of(shape: usize) -> &'static str {
    if shape == 0 || shape == 3 {
        "t1"
    } else {
        "t2"
    }
}

fn catalog(packages: &[(&str, String)], config: &Config) -> Catalog {
    let sources = packages
        .iter()
        .map(|(id, text)| PackageSource {
            id: PackageId::parse(id).unwrap(),
            file: format!("{id}/entities.yaml"),
            text: text.clone(),
        })
        .collect();
    let catalog = Catalog::build(sources, BaseSchema::default(), config);
    for package in &catalog.packages {
        assert!(
            package.errors.is_empty(),
            "{}: {:?}",
            package.package.as_str(),
            package
                .errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        );
    }
    catalog
}

fn all_entities(catalog: &Catalog) -> Vec<Entity> {
    let mut seen = BTreeSet::new();
    catalog
        .packages
        .iter()
        .flat_map(|p| p.model.iter())
        .filter(|e| seen.insert(e.name.clone()))
        .cloned()
        .collect()
}

/// The statements that enforce every package's ACLs on fresh tables, through the plan API.
fn fresh_policies(catalog: &Catalog, entities: &[Entity], config: &Config) -> Vec<String> {
    let models = Models::new(&catalog.base, entities);
    let none = Models::new(&catalog.base, []);
    let mut statements = Vec::new();
    for package in &catalog.packages {
        let plan = policy_plan(
            PolicyState {
                entities: &[],
                models: &none,
            },
            PolicyState {
                entities: &package.model,
                models: &models,
            },
            config,
        )
        .expect("policies");
        assert!(plan.before_ddl.is_empty());
        statements.extend(plan.after_ddl);
    }
    statements
}

fn corpus_config() -> Config {
    let mut config = Config::default();
    config.row_security.hierarchy = RoleHierarchy::parse(&["supergod > god > admin"]).unwrap();
    config
}

#[sqlx::test(migrations = false)]
async fn postgres_enforces_exactly_what_acl_check_answers_for_every_corpus_entity(pool: PgPool) {
    let test =
        "row_security::postgres_enforces_exactly_what_acl_check_answers_for_every_corpus_entity";
    let Some(corpus) = corpus_dir(test) else {
        return;
    };
    let config = corpus_config();
    let mut files: Vec<(String, String)> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let id = name.split("__").next().unwrap().to_owned();
            (id, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    let packages: Vec<(&str, String)> = files
        .iter()
        .map(|(id, t)| (id.as_str(), t.clone()))
        .collect();
    let catalog = catalog(&packages, &config);
    let entities = all_entities(&catalog);
    let with_acl = entities.iter().filter(|e| e.acl.is_some()).count();
    assert!(
        with_acl >= 30,
        "the corpus has {with_acl} entities with an acl"
    );

    create_tables(&pool, &catalog.render_schema().expect("schema")).await;
    let world = World::new(&entities, &config);
    seed(&pool, &world).await;
    apply(&pool, &fresh_policies(&catalog, &entities, &config)).await;
    let role = platform_role(&pool).await;

    let mismatches = matrix(&pool, &role, &world).await;
    drop_role(&pool, &role).await;
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Names and literals that try to end an identifier, a string, a statement or a dollar quote.
const HOSTILE_ROLE: &str = "mod'; DROP TABLE sentinel; --$$";
const HOSTILE_TITLE: &str = "it's; DROP TABLE sentinel; --$$ \\ \"x\"";

const HOSTILE: &str = r#"entities:
  - name: Note
    tableName: We_ird_Note
    fields:
      id: { type: string, primary: true }
      userId: { type: string, columnName: Own_er }
      title: { type: string, columnName: _ti_tle }
      isPublic: { type: boolean }
    acl:
      create: [user]
      read: [owner, "mod'; DROP TABLE sentinel; --$$", public_if_public]
      update: [self]
      delete: ["mod'; DROP TABLE sentinel; --$$"]
      rowLevel: "title = 'it\\'s; DROP TABLE sentinel; --$$ \\\\ \"x\"' OR isPublic = true"
"#;

async fn policies_of(pool: &PgPool, table: &str) -> Vec<(String, String, Option<String>)> {
    sqlx::query_as(
        "select policyname::text, cmd, qual from pg_policies where tablename = $1 order by policyname",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = false)]
async fn hostile_names_and_literals_cannot_break_out_of_the_policies(pool: PgPool) {
    let mut config = Config::default();
    config.roles.insert(HOSTILE_ROLE.to_owned());
    let catalog = catalog(&[("notes", HOSTILE.to_owned())], &config);
    let entities = all_entities(&catalog);
    let note = entities.iter().find(|e| e.name == "Note").unwrap();
    assert_eq!(
        note.acl
            .as_ref()
            .unwrap()
            .row_level
            .as_ref()
            .unwrap()
            .predicate
            .to_string(),
        "title = 'it\\'s; DROP TABLE sentinel; --$$ \\\\ \"x\"' OR isPublic = true"
    );

    create_tables(&pool, &catalog.render_schema().expect("schema")).await;
    sqlx::raw_sql("create table sentinel (x int)")
        .execute(&pool)
        .await
        .unwrap();
    let mut world = World::new(&entities, &config);
    world.overrides.insert(
        ("Note".to_owned(), "title".to_owned()),
        vec![
            HOSTILE_TITLE.to_owned(),
            "plain".to_owned(),
            "plain".to_owned(),
            HOSTILE_TITLE.to_owned(),
        ],
    );
    seed(&pool, &world).await;
    apply(&pool, &fresh_policies(&catalog, &entities, &config)).await;

    let table = "We_ird_Note";
    let policies = policies_of(&pool, table).await;
    let names: Vec<&str> = policies.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "schemagate_create",
            "schemagate_delete",
            "schemagate_read",
            "schemagate_update"
        ]
    );
    let total: i64 = sqlx::query_scalar("select count(*) from pg_policies")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(total, 4, "no other policy was created");
    let sentinel: i64 = sqlx::query_scalar("select count(*) from sentinel")
        .fetch_one(&pool)
        .await
        .expect("the sentinel table is still there");
    assert_eq!(sentinel, 0);
    let delete = &policies[1].2.clone().unwrap_or_default();
    assert!(
        delete.contains("mod''; DROP TABLE sentinel; --$$"),
        "{delete}"
    );

    let role = platform_role(&pool).await;
    // The literal matches the seeded title exactly: the hostile role (granted read outright)
    // sees the public rows (shapes 0 and 2) and the private row titled with the literal
    // (shape 3), not the private row titled "plain" (shape 1).
    let mut tx = pool.begin().await.unwrap();
    act(
        &mut tx,
        &role,
        &Actor {
            user: Some("u3"),
            role: HOSTILE_ROLE.to_owned(),
        },
        &config,
    )
    .await
    .unwrap();
    let seen: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT id FROM {} ORDER BY id",
        quote_ident(table)
    ))
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(seen, ["Note-1", "Note-3", "Note-4"]);

    let mismatches = matrix(&pool, &role, &world).await;
    drop_role(&pool, &role).await;
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

const CALCULATORS: &str = "entities:
  - name: Calculator
    fields:
      id: { type: string, primary: true }
      userId: { type: string }
    acl:
      create: [user]
      read: [owner, admin]
      update: [owner]
      delete: [admin]
  - name: Result
    fields:
      id: { type: string, primary: true }
      calculatorId: { type: string }
      isShared: { type: boolean }
      score: { type: int, columnName: The_Score }
    relations:
      - { name: calculator, type: belongsTo, entity: Calculator, field: calculatorId }
    acl:
      create: [user]
      read: [owner, public_if_shared]
      update: [self]
      delete: [owner, admin]
      rowLevel: \"calculator.userId = $user.id OR score >= 3\"
";

#[sqlx::test(migrations = false)]
async fn an_acl_change_replaces_the_policies_and_the_matrix_holds_before_and_after(pool: PgPool) {
    let config = corpus_config();
    let before = catalog(&[("calc", CALCULATORS.to_owned())], &config);
    let before_entities = all_entities(&before);
    create_tables(&pool, &before.render_schema().expect("schema")).await;
    let world = World::new(&before_entities, &config);
    seed(&pool, &world).await;
    apply(&pool, &fresh_policies(&before, &before_entities, &config)).await;
    let role = platform_role(&pool).await;
    let mismatches = matrix(&pool, &role, &world).await;
    assert!(mismatches.is_empty(), "before:\n{}", mismatches.join("\n"));

    // A role added to read, the rowLevel removed.
    let changed = CALCULATORS
        .replace(
            "read: [owner, public_if_shared]",
            "read: [owner, public_if_shared, moderator]",
        )
        .replace(
            "      rowLevel: \"calculator.userId = $user.id OR score >= 3\"\n",
            "",
        );
    let after = catalog(&[("calc", changed)], &config);
    let after_entities = all_entities(&after);
    let before_models = Models::new(&before.base, &before_entities);
    let after_models = Models::new(&after.base, &after_entities);
    let plan = policy_plan(
        PolicyState {
            entities: &before.packages[0].model,
            models: &before_models,
        },
        PolicyState {
            entities: &after.packages[0].model,
            models: &after_models,
        },
        &config,
    )
    .expect("plan");
    assert_eq!(
        plan.before_ddl,
        [
            "DROP POLICY IF EXISTS schemagate_create ON \"Result\";",
            "DROP POLICY IF EXISTS schemagate_read ON \"Result\";",
            "DROP POLICY IF EXISTS schemagate_update ON \"Result\";",
            "DROP POLICY IF EXISTS schemagate_delete ON \"Result\";",
        ],
        "only Result changed"
    );
    assert!(plan.after_ddl.iter().all(|s| s.contains("\"Result\"")));
    // Nothing changes in Prisma's DDL: the script is the plan around an empty DDL.
    sqlx::raw_sql(&plan.around(""))
        .execute(&pool)
        .await
        .expect("the plan applies");
    let read = policies_of(&pool, "Result").await;
    let qual = read
        .iter()
        .find(|(name, _, _)| name == "schemagate_read")
        .and_then(|(_, _, qual)| qual.clone())
        .unwrap_or_default();
    assert!(
        qual.contains("moderator") && !qual.contains("The_Score"),
        "{qual}"
    );

    let world = World::new(&after_entities, &config);
    let mismatches = matrix(&pool, &role, &world).await;
    drop_role(&pool, &role).await;
    assert!(mismatches.is_empty(), "after:\n{}", mismatches.join("\n"));
}

#[test]
fn a_double_quote_in_a_table_or_column_name_never_reaches_the_policies() {
    // Prisma's own DDL does not escape `"` in mapped names: such names are refused by `check`,
    // so neither Prisma nor the policy compiler ever sees one.
    let yaml = r#"entities:
  - name: Quote
    tableName: "a\"; DROP TABLE sentinel; --"
    fields:
      id: { type: string, primary: true }
      userId: { type: string, columnName: "b\"c" }
    acl:
      read: [owner]
"#;
    let sources = vec![PackageSource {
        id: PackageId::parse("quotes").unwrap(),
        file: "quotes/entities.yaml".into(),
        text: yaml.to_owned(),
    }];
    let catalog = Catalog::build(sources, BaseSchema::default(), &Config::default());
    let errors: Vec<String> = catalog.packages[0]
        .errors
        .iter()
        .map(|e| e.error.to_string())
        .collect();
    assert_eq!(
        errors,
        [
            r#"invalid table name "a\"; DROP TABLE sentinel; --""#,
            r#"invalid column name "b\"c""#
        ]
    );
    assert!(all_entities(&catalog).is_empty());
}

/// Owner grants on entities with no owner field, no relation to the user model and no owned
/// parent: the package stays reviewable, and the grants admit no row.
const UNOWNED: &str = r#"entities:
  - name: Follow
    fields:
      id: { type: string, primary: true }
      followerId: { type: string }
      isPublic: { type: boolean }
    acl:
      create: [user]
      read: [owner, public_if_public]
      update: [self, admin]
      delete: [owner]
  - name: Named
    fields:
      id: { type: string, primary: true }
      followerId: { type: string }
    acl:
      owner: followerId
      read: [owner]
      delete: [self]
"#;

#[sqlx::test(migrations = false)]
async fn an_owner_grant_without_an_owner_fails_closed_in_postgres_and_in_acl_check(pool: PgPool) {
    let config = corpus_config();
    let catalog = catalog(&[("follows", UNOWNED.to_owned())], &config);
    let entities = all_entities(&catalog);
    let follow = entities.iter().find(|e| e.name == "Follow").unwrap();
    let world = World::new(&entities, &config);
    let policy = entity_policy(&world, follow);
    assert!(policy.unowned.is_some(), "{policy:?}");
    assert!(
        matches!(
            policy.decide_with("user", "delete", &config.row_security.hierarchy).unwrap(),
            AccessDecision::Deny { reason } if reason.contains("matches no row")
        ),
        "an owner-only grant is a deny"
    );
    let named = entities.iter().find(|e| e.name == "Named").unwrap();
    assert!(
        entity_policy(&world, named).unowned.is_none(),
        "owner: names the field"
    );

    create_tables(&pool, &catalog.render_schema().expect("schema")).await;
    seed(&pool, &world).await;
    apply(&pool, &fresh_policies(&catalog, &entities, &config)).await;
    let role = platform_role(&pool).await;
    let mismatches = matrix(&pool, &role, &world).await;
    drop_role(&pool, &role).await;
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Tenants and conditional roles: rows of two tenants under direct, parent and untied scopes,
/// conditional roles whose flag has another name (unmapped: the grant matches no row; mapped
/// with a role condition: the flag decides), and every role including the platform-wide ones.
const TENANTS: &str = r#"entities:
  - name: SmtpConfig
    fields:
      id: { type: string, primary: true }
      tenantId: { type: string }
      ownerId: { type: string }
      password: { type: string }
      isPublic: { type: boolean }
    relations:
      - { name: tenant, type: belongsTo, entity: Tenant, field: tenantId }
    acl:
      create: [admin]
      read: [admin, public_if_shared, owner]
      update: [owner]
      delete: [god]
  - name: SmtpLog
    fields:
      id: { type: string, primary: true }
      configId: { type: string }
      isVisible: { type: boolean }
    relations:
      - { name: config, type: belongsTo, entity: SmtpConfig, field: configId }
    acl:
      create: [user]
      read: [public_if_visible, moderator]
      update: [moderator]
      delete: [supergod]
"#;

#[sqlx::test(migrations = false)]
async fn tenants_stay_apart_in_postgres_and_in_acl_check_and_unknown_conditions_fail_closed(
    pool: PgPool,
) {
    let mut config = corpus_config();
    config
        .row_security
        .role_conditions
        .insert("public_if_visible".to_owned(), "isVisible".to_owned());
    config.roles.insert("public_if_visible".to_owned());
    let catalog = catalog(&[("smtp", TENANTS.to_owned())], &config);
    let warnings: Vec<String> = catalog.packages[0]
        .warnings
        .iter()
        .map(|w| w.error.code().to_owned())
        .collect();
    assert!(
        warnings.contains(&"role_condition_missing".to_owned()),
        "{warnings:?}"
    );
    let entities = all_entities(&catalog);
    let world = World::new(&entities, &config);
    let smtp = entities.iter().find(|e| e.name == "SmtpConfig").unwrap();
    let policy = entity_policy(&world, smtp);
    assert!(
        policy.unmatched.contains_key("public_if_shared"),
        "{policy:?}"
    );
    assert!(policy.tenant.is_some(), "{policy:?}");
    let log = entities.iter().find(|e| e.name == "SmtpLog").unwrap();
    let log_policy = entity_policy(&world, log);
    assert!(
        log_policy
            .tenant
            .as_deref()
            .is_some_and(|t| t.starts_with("EXISTS")),
        "{log_policy:?}"
    );
    assert_eq!(
        log_policy
            .conditions
            .get("public_if_visible")
            .map(String::as_str),
        Some("isVisible")
    );
    assert!(matches!(
        policy
            .decide_with("god", "read", &config.row_security.hierarchy)
            .unwrap(),
        AccessDecision::Allow { tenant: None, .. }
    ));
    assert!(matches!(
        policy
            .decide_with("admin", "read", &config.row_security.hierarchy)
            .unwrap(),
        AccessDecision::Allow {
            tenant: Some(_),
            ..
        }
    ));

    create_tables(&pool, &catalog.render_schema().expect("schema")).await;
    seed(&pool, &world).await;
    apply(&pool, &fresh_policies(&catalog, &entities, &config)).await;
    let role = platform_role(&pool).await;
    let mismatches = matrix(&pool, &role, &world).await;
    // Spelled out: in tenant t1 an admin reads t1's SMTP passwords only; god reads both.
    let read_as = async |who: &str| -> Vec<String> {
        let mut tx = pool.begin().await.unwrap();
        let actor = expected::Actor {
            user: Some("u1"),
            role: who.to_owned(),
        };
        act(&mut tx, &role, &actor, &config).await.unwrap();
        let tenants = sqlx::query_scalar(r#"SELECT "tenantId" FROM "SmtpConfig" ORDER BY 1"#)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        tenants
    };
    assert_eq!(read_as("admin").await, ["t1", "t1"]);
    assert_eq!(read_as("god").await, ["t1", "t1", "t2", "t2"]);
    drop_role(&pool, &role).await;
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

const INT_OWNER: &str = r#"entities:
  - name: Ticket
    fields:
      id: { type: int, primary: true }
      ownerId: { type: int }
    acl:
      read: [owner]
"#;

/// An integer owner field compared with string user ids: a user id that is no number matches
/// no row instead of failing every query on the table; a numeric one matches its rows.
#[sqlx::test(migrations = false)]
async fn an_integer_owner_field_never_breaks_a_query_with_a_string_user_id(pool: PgPool) {
    let config = corpus_config();
    let catalog = catalog(&[("tickets", INT_OWNER.to_owned())], &config);
    let entities = all_entities(&catalog);
    create_tables(&pool, &catalog.render_schema().expect("schema")).await;
    sqlx::raw_sql(r#"INSERT INTO "Ticket" (id, "ownerId") VALUES (1, 7), (2, 8)"#)
        .execute(&pool)
        .await
        .unwrap();
    apply(&pool, &fresh_policies(&catalog, &entities, &config)).await;
    let role = platform_role(&pool).await;
    let mut seen = Vec::new();
    for user in ["ckv9x2k0000", "7"] {
        let mut tx = pool.begin().await.unwrap();
        let actor = expected::Actor {
            user: Some(user),
            role: "user".to_owned(),
        };
        act(&mut tx, &role, &actor, &config).await.unwrap();
        let ids: Vec<i32> = sqlx::query_scalar(r#"SELECT id FROM "Ticket" ORDER BY id"#)
            .fetch_all(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("reading as {user}: {e}"));
        tx.rollback().await.unwrap();
        seen.push(ids);
    }
    drop_role(&pool, &role).await;
    assert_eq!(seen, [vec![], vec![1]]);
}

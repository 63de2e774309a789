//! Row-level security on a real PostgreSQL: tables from Prisma's own DDL (the schema engine in
//! `server/prisma-engine`), the policies of `policy_sql`, rows owned by two users, and every
//! operation run by every role of the vocabulary (plus anonymous, an owner and a non-owner)
//! as a database role that is neither the table owner nor BYPASSRLS. PostgreSQL must allow and
//! deny exactly what `acl check` (domain/access.rs) answers, on exactly the expected rows.
#![cfg(feature = "ssr")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use app::domain::access::{AccessDecision, EntityPolicy};
use app::domain::config::RoleHierarchy;
use app::domain::policy_sql::{
    entity_policies, policy_plan, quote_ident, quote_literal, table_name, Models, PolicyState,
};
use app::domain::predicate::{CompareOp, Operand, Predicate};
use app::domain::{
    BaseSchema, Catalog, Config, Entity, FieldType, PackageId, PackageSource, RelationKind,
};
use app::engine::{Engine, EngineConfig};
use sqlx::{Connection, PgPool};

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/corpus/metabuilder"
);

/// Users owning the seeded rows: shapes 0 and 1 belong to `u1`, 2 and 3 to `u2`.
const OWNERS: [&str; 2] = ["u1", "u2"];
const SHAPES: usize = 4;

fn owner_of(shape: usize) -> &'static str {
    OWNERS[shape / 2]
}

fn flag_of(shape: usize) -> bool {
    shape.is_multiple_of(2)
}

// ---------------------------------------------------------------------------------------------
// The database

/// The URL of the test's own database: `DATABASE_URL` with the database name of `pool`.
async fn database_url(pool: &PgPool) -> String {
    let name: String = sqlx::query_scalar("select current_database()")
        .fetch_one(pool)
        .await
        .expect("current_database");
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let authority = base.find("://").expect("a url") + 3;
    let path = authority
        + base[authority..]
            .find('/')
            .unwrap_or(base.len() - authority);
    let query = base[path..].find('?').map_or(base.len(), |q| path + q);
    format!("{}/{name}{}", &base[..path], &base[query..])
}

/// Creates the tables of `schema` with Prisma's own DDL, then removes what only gets in the
/// way of seeding arbitrary rows (foreign keys, unique indexes) and adds a probe column that
/// updates can set without reading any column.
async fn create_tables(pool: &PgPool, schema: &str) {
    let engine = Engine::new(EngineConfig::from_env(database_url(pool).await).expect("engine"));
    let plan = engine.plan(None, schema).await.expect("plan");
    engine.shutdown().await;
    sqlx::raw_sql(&plan.sql)
        .execute(pool)
        .await
        .expect("prisma ddl");
    let constraints: Vec<(String, String)> = sqlx::query_as(
        "select conrelid::regclass::text, conname from pg_constraint
         where contype in ('f', 'u') and connamespace = 'public'::regnamespace",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (table, name) in constraints {
        let sql = format!("alter table {table} drop constraint {}", quote_ident(&name));
        sqlx::raw_sql(&sql).execute(pool).await.unwrap();
    }
    let indexes: Vec<String> = sqlx::query_scalar(
        "select indexrelid::regclass::text from pg_index i join pg_class c on c.oid = i.indrelid
         where not i.indisprimary and c.relnamespace = 'public'::regnamespace",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for index in indexes {
        sqlx::raw_sql(&format!("drop index {index}"))
            .execute(pool)
            .await
            .unwrap();
    }
    let tables: Vec<String> = sqlx::query_scalar(
        "select quote_ident(tablename) from pg_tables where schemaname = 'public'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for table in tables {
        sqlx::raw_sql(&format!("alter table {table} add column sg_probe integer"))
            .execute(pool)
            .await
            .unwrap();
    }
}

/// A NOLOGIN role that is neither the owner of the tables nor BYPASSRLS, with plain DML
/// rights: what the platform connects as.
async fn platform_role(pool: &PgPool) -> String {
    let is_super: bool =
        sqlx::query_scalar("select rolsuper from pg_roles where rolname = current_user")
            .fetch_one(pool)
            .await
            .unwrap();
    assert!(
        is_super,
        "the tests set roles and read behind RLS as a superuser"
    );
    let database: String = sqlx::query_scalar("select current_database()")
        .fetch_one(pool)
        .await
        .unwrap();
    let role = format!("{database}_platform");
    let quoted = quote_ident(&role);
    sqlx::raw_sql(&format!(
        "do $do$ begin
           if not exists (select from pg_roles where rolname = {name}) then
             create role {quoted} nologin nobypassrls;
           end if;
         end $do$;
         grant usage on schema public to {quoted};
         grant select, insert, update, delete on all tables in schema public to {quoted};
         grant usage on all sequences in schema public to {quoted};",
        name = quote_literal(&role)
    ))
    .execute(pool)
    .await
    .expect("platform role");
    role
}

async fn drop_role(pool: &PgPool, role: &str) {
    let quoted = quote_ident(role);
    let _ = sqlx::raw_sql(&format!("drop owned by {quoted}; drop role {quoted}"))
        .execute(pool)
        .await;
}

// ---------------------------------------------------------------------------------------------
// Rows

/// A value of a seeded row, as Rust sees it (for the expected answer) and as SQL.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Time,
    Json,
    Null,
}

impl Val {
    fn sql(&self) -> String {
        match self {
            Self::Str(s) => quote_literal(s),
            Self::Int(i) => i.to_string(),
            Self::Float(x) => format!("{x:?}"),
            Self::Bool(b) => b.to_string(),
            Self::Time => "'2024-01-01 00:00:00'".to_owned(),
            Self::Json => "'{}'".to_owned(),
            Self::Null => "NULL".to_owned(),
        }
    }
}

/// Every entity of the schema, and how their rows are made.
struct World<'a> {
    entities: BTreeMap<String, &'a Entity>,
    config: &'a Config,
    /// child → (parent, foreign key fields on the child), from every kind of relation.
    parents: BTreeMap<String, Vec<(String, Vec<String>)>>,
    /// Literal values a test wants in a String field: (entity, field) → one value per shape.
    overrides: BTreeMap<(String, String), Vec<String>>,
}

impl<'a> World<'a> {
    fn new(entities: impl IntoIterator<Item = &'a Entity>, config: &'a Config) -> Self {
        let entities: BTreeMap<String, &Entity> =
            entities.into_iter().map(|e| (e.name.clone(), e)).collect();
        let mut parents: BTreeMap<String, Vec<(String, Vec<String>)>> = BTreeMap::new();
        for entity in entities.values() {
            for relation in &entity.relations {
                match relation.kind {
                    RelationKind::BelongsTo => parents
                        .entry(entity.name.clone())
                        .or_default()
                        .push((relation.target.clone(), relation.fields.clone())),
                    RelationKind::HasMany | RelationKind::HasOne => parents
                        .entry(relation.target.clone())
                        .or_default()
                        .push((entity.name.clone(), relation.fields.clone())),
                    RelationKind::ManyToMany => {}
                }
            }
        }
        Self {
            entities,
            config,
            parents,
            overrides: BTreeMap::new(),
        }
    }

    fn key(&self, entity: &Entity, shape: usize, fresh: bool) -> Val {
        let pk = &entity.primary_key[0];
        let number = shape as i64 + if fresh { 101 } else { 1 };
        match entity.field(pk).map(|f| f.field_type) {
            Some(FieldType::Int | FieldType::BigInt) => Val::Int(number),
            _ => Val::Str(format!("{}-{number}", entity.name)),
        }
    }

    /// The value of `field` in the row of `shape` (`fresh`: a row that is not seeded, for
    /// inserts; it differs from the seeded one in its key only).
    fn value(&self, entity: &Entity, field: &str, shape: usize, fresh: bool) -> Val {
        let Some(spec) = entity.field(field) else {
            return Val::Null;
        };
        if entity.primary_key.len() == 1 && entity.primary_key[0] == field {
            return self.key(entity, shape, fresh);
        }
        if let Some(values) = self.overrides.get(&(entity.name.clone(), field.to_owned())) {
            return Val::Str(values[shape].clone());
        }
        let named_owner = entity
            .acl
            .as_ref()
            .and_then(|acl| acl.owner.as_ref())
            .is_some_and(|owner| owner.name == field);
        if named_owner || self.config.owner_fields.iter().any(|f| f == field) {
            return Val::Str(owner_of(shape).to_owned());
        }
        for (parent, fields) in self.parents.get(&entity.name).into_iter().flatten() {
            if let Some(position) = fields.iter().position(|f| f == field) {
                if parent == &self.config.user_model {
                    return Val::Str(owner_of(shape).to_owned());
                }
                if let Some(parent) = self.entities.get(parent) {
                    if position == 0 && parent.primary_key.len() == 1 {
                        return self.key(parent, shape, false);
                    }
                }
                return Val::Str(format!("{parent}-{}", shape + 1));
            }
        }
        let text = |s: String| {
            let limit = spec.max_length.map_or(usize::MAX, |n| n as usize);
            Val::Str(s.chars().take(limit).collect())
        };
        match spec.field_type {
            FieldType::String => text(format!("{field}-{shape}")),
            FieldType::Int | FieldType::BigInt => Val::Int(shape as i64 + 1),
            FieldType::Float => Val::Float(shape as f64 + 0.5),
            FieldType::Boolean => Val::Bool(flag_of(shape)),
            FieldType::DateTime => Val::Time,
            FieldType::Json => Val::Json,
        }
    }

    fn column(entity: &Entity, field: &str) -> String {
        entity
            .field(field)
            .and_then(|f| f.column_name.clone())
            .unwrap_or_else(|| field.to_owned())
    }

    fn insert(&self, entity: &Entity, shape: usize, fresh: bool) -> String {
        let mut columns = Vec::new();
        let mut values = Vec::new();
        for field in &entity.fields {
            columns.push(quote_ident(&Self::column(entity, &field.name)));
            values.push(self.value(entity, &field.name, shape, fresh).sql());
        }
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            quote_ident(table_name(entity)),
            columns.join(", "),
            values.join(", ")
        )
    }

    /// The key of the row of `shape`, as text (what `SELECT key::text` returns).
    fn key_text(&self, entity: &Entity, shape: usize) -> String {
        match self.key(entity, shape, false) {
            Val::Int(i) => i.to_string(),
            Val::Str(s) => s,
            other => panic!("key {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The expected answer: acl check's decision, and the rows it lets through

/// Who acts: the user setting (None: anonymous) and the role `acl check` is asked about.
#[derive(Debug, Clone)]
struct Actor {
    user: Option<&'static str>,
    role: String,
}

impl Actor {
    fn name(&self) -> String {
        format!("{}({})", self.role, self.user.unwrap_or("anonymous"))
    }
}

fn actors(config: &Config) -> Vec<Actor> {
    let mut actors = vec![Actor {
        user: None,
        role: "public".to_owned(),
    }];
    for role in &config.roles {
        if role != "public" {
            actors.push(Actor {
                user: Some("u1"),
                role: role.clone(),
            });
        }
    }
    // Signed in, owning nothing.
    actors.push(Actor {
        user: Some("u3"),
        role: "user".to_owned(),
    });
    actors
}

/// The policy `acl check` decides with: the ACL, and whether its owner grants fail closed.
fn entity_policy(world: &World<'_>, entity: &Entity) -> EntityPolicy {
    let acl = entity.acl.as_ref().expect("an acl");
    let base = BaseSchema::default();
    let models = Models::new(&base, world.entities.values().copied());
    let compiled = entity_policies(entity, &models, world.config)
        .expect("policies")
        .expect("an acl");
    EntityPolicy {
        rules: acl
            .rules
            .iter()
            .map(|(op, roles)| {
                (
                    op.as_str().to_owned(),
                    roles.iter().map(|r| r.name.clone()).collect(),
                )
            })
            .collect(),
        row_level: acl.row_level.as_ref().map(|r| r.source.clone()),
        unowned: compiled.unowned,
    }
}

/// SQL's three-valued logic over the seeded rows (folds, not `try_fold`: NULL must not stop
/// an OR or an AND early).
#[allow(clippy::manual_try_fold)]
fn eval(
    world: &World<'_>,
    entity: &Entity,
    shape: usize,
    actor: &Actor,
    p: &Predicate,
) -> Option<bool> {
    let operand = |o: &Operand| -> Val {
        match o {
            Operand::Path(path) => {
                let mut current = entity;
                let (last, hops) = path.segments.split_last().expect("a path");
                for hop in hops {
                    let relation = current.relation(hop).expect("a relation");
                    current = world.entities.get(&relation.target).expect("a target");
                }
                world.value(current, last, shape, false)
            }
            Operand::Variable(segments) => match segments.join(".").as_str() {
                "user.id" => actor.user.map_or(Val::Null, |u| Val::Str(u.to_owned())),
                "user.role" => actor
                    .user
                    .map_or(Val::Null, |_| Val::Str(actor.role.clone())),
                _ => Val::Null,
            },
            Operand::Str(s) => Val::Str(s.clone()),
            Operand::Number(n) => Val::Float(n.parse().expect("a number")),
            Operand::Bool(b) => Val::Bool(*b),
            Operand::Null => Val::Null,
        }
    };
    let cmp = |l: &Val, op: CompareOp, r: &Val| -> Option<bool> {
        let ordering = match (l, r) {
            (Val::Null, _) | (_, Val::Null) => return None,
            (Val::Str(a), Val::Str(b)) => a.cmp(b),
            (Val::Bool(a), Val::Bool(b)) => a.cmp(b),
            (a, b) => {
                let number = |v: &Val| match v {
                    Val::Int(i) => *i as f64,
                    Val::Float(x) => *x,
                    other => panic!("not a number: {other:?}"),
                };
                number(a).partial_cmp(&number(b))?
            }
        };
        Some(match op {
            CompareOp::Eq => ordering.is_eq(),
            CompareOp::Ne => ordering.is_ne(),
            CompareOp::Lt => ordering.is_lt(),
            CompareOp::Le => ordering.is_le(),
            CompareOp::Gt => ordering.is_gt(),
            CompareOp::Ge => ordering.is_ge(),
        })
    };
    match p {
        Predicate::Or { parts } => parts.iter().fold(Some(false), |acc, part| {
            match (acc, eval(world, entity, shape, actor, part)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            }
        }),
        Predicate::And { parts } => parts.iter().fold(Some(true), |acc, part| {
            match (acc, eval(world, entity, shape, actor, part)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            }
        }),
        Predicate::Not { inner } => eval(world, entity, shape, actor, inner).map(|b| !b),
        Predicate::Compare { left, op, right } => {
            let (l, r) = (operand(left), operand(right));
            match (&l, &r) {
                (Val::Null, _) | (_, Val::Null)
                    if matches!(left, Operand::Null) || matches!(right, Operand::Null) =>
                {
                    let other = if matches!(left, Operand::Null) {
                        &r
                    } else {
                        &l
                    };
                    Some((*other == Val::Null) == (*op == CompareOp::Eq))
                }
                _ => cmp(&l, *op, &r),
            }
        }
        Predicate::IsNull {
            operand: o,
            negated,
        } => Some((operand(o) == Val::Null) != *negated),
        Predicate::In {
            operand: o,
            values,
            negated,
        } => {
            let tested = operand(o);
            let mut result = Some(false);
            for value in values {
                match cmp(&tested, CompareOp::Eq, &operand(value)) {
                    Some(true) => {
                        result = Some(true);
                        break;
                    }
                    None => result = None,
                    Some(false) => {}
                }
            }
            if *negated {
                result.map(|b| !b)
            } else {
                result
            }
        }
    }
}

/// Whether `actor` may do `op` on the row of `shape`, by `acl check`'s decision.
fn expected(world: &World<'_>, entity: &Entity, op: &str, actor: &Actor, shape: usize) -> bool {
    let decision = entity_policy(world, entity)
        .decide_with(&actor.role, op, &world.config.row_security.hierarchy)
        .expect("a decision");
    let row_level = || {
        entity
            .acl
            .as_ref()
            .and_then(|acl| acl.row_level.as_ref())
            .is_none_or(|r| eval(world, entity, shape, actor, &r.predicate) == Some(true))
    };
    match decision {
        AccessDecision::Deny { .. } => false,
        AccessDecision::Allow { .. } => row_level(),
        AccessDecision::Conditional { grants, .. } => {
            let admitted = grants.iter().any(|grant| match grant.as_str() {
                "self" | "owner" => actor.user == Some(owner_of(shape)),
                _ => flag_of(shape),
            });
            admitted && row_level()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The probes

async fn act(
    conn: &mut sqlx::PgConnection,
    role: &str,
    actor: &Actor,
    config: &Config,
) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(&format!("SET LOCAL ROLE {}", quote_ident(role)))
        .execute(&mut *conn)
        .await?;
    if let Some(user) = actor.user {
        sqlx::query("select set_config($1, $2, true), set_config($3, $4, true)")
            .bind(&config.row_security.user_setting)
            .bind(user)
            .bind(&config.row_security.role_setting)
            .bind(&actor.role)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Runs every operation for every actor on every entity with an ACL; returns the mismatches.
async fn matrix(pool: &PgPool, role: &str, world: &World<'_>) -> Vec<String> {
    let config = world.config;
    let mut conn = pool.acquire().await.expect("connection");
    let mut mismatches = Vec::new();
    let mut probes = 0;
    for entity in world.entities.values().filter(|e| e.acl.is_some()) {
        let table = quote_ident(table_name(entity));
        let key = quote_ident(&World::column(entity, &entity.primary_key[0]));
        let all: BTreeSet<String> = (0..SHAPES).map(|s| world.key_text(entity, s)).collect();
        for actor in actors(config) {
            let want = |op: &str| -> BTreeSet<String> {
                (0..SHAPES)
                    .filter(|s| expected(world, entity, op, &actor, *s))
                    .map(|s| world.key_text(entity, s))
                    .collect()
            };
            let mut report = |op: &str, want: BTreeSet<String>, got: BTreeSet<String>| {
                probes += 1;
                if want != got {
                    mismatches.push(format!(
                        "{} {op} by {}: acl check expects {want:?}, PostgreSQL gave {got:?}",
                        entity.name,
                        actor.name()
                    ));
                }
            };
            // read
            let mut tx = conn.begin().await.unwrap();
            act(&mut tx, role, &actor, config).await.unwrap();
            let got: BTreeSet<String> =
                sqlx::query_scalar(&format!("SELECT {key}::text FROM {table}"))
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap()
                    .into_iter()
                    .collect();
            tx.rollback().await.unwrap();
            report("read", want("read"), got);
            // update: a probe column, so the statement reads no column (no SELECT policy)
            let mut tx = conn.begin().await.unwrap();
            act(&mut tx, role, &actor, config).await.unwrap();
            let outcome = sqlx::raw_sql(&format!("UPDATE {table} SET sg_probe = 1"))
                .execute(&mut *tx)
                .await;
            let got: BTreeSet<String> = match outcome {
                Ok(_) => {
                    sqlx::raw_sql("RESET ROLE").execute(&mut *tx).await.unwrap();
                    sqlx::query_scalar(&format!(
                        "SELECT {key}::text FROM {table} WHERE sg_probe = 1"
                    ))
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap()
                    .into_iter()
                    .collect()
                }
                Err(error) => BTreeSet::from([format!("error: {error}")]),
            };
            tx.rollback().await.unwrap();
            report("update", want("update"), got);
            // delete
            let mut tx = conn.begin().await.unwrap();
            act(&mut tx, role, &actor, config).await.unwrap();
            sqlx::raw_sql(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::raw_sql("RESET ROLE").execute(&mut *tx).await.unwrap();
            let left: BTreeSet<String> =
                sqlx::query_scalar(&format!("SELECT {key}::text FROM {table}"))
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap()
                    .into_iter()
                    .collect();
            tx.rollback().await.unwrap();
            report("delete", want("delete"), &all - &left);
            // create: one new row of each shape
            let mut tx = conn.begin().await.unwrap();
            act(&mut tx, role, &actor, config).await.unwrap();
            let mut got = BTreeSet::new();
            for shape in 0..SHAPES {
                sqlx::raw_sql("SAVEPOINT probe")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                match sqlx::raw_sql(&world.insert(entity, shape, true))
                    .execute(&mut *tx)
                    .await
                {
                    Ok(_) => {
                        got.insert(world.key_text(entity, shape));
                    }
                    Err(error) => {
                        let text = error.to_string();
                        if !text.contains("row-level security") {
                            got.insert(format!("error: {text}"));
                        }
                    }
                }
                sqlx::raw_sql("ROLLBACK TO SAVEPOINT probe")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            tx.rollback().await.unwrap();
            report("create", want("create"), got);
        }
    }
    assert!(probes > 0, "no entity with an acl");
    mismatches
}

async fn seed(pool: &PgPool, world: &World<'_>) {
    for entity in world.entities.values() {
        for shape in 0..SHAPES {
            sqlx::raw_sql(&world.insert(entity, shape, false))
                .execute(pool)
                .await
                .unwrap_or_else(|e| panic!("seeding {}: {e}", entity.name));
        }
    }
}

async fn apply(pool: &PgPool, statements: &[String]) {
    for statement in statements {
        sqlx::raw_sql(statement)
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{statement}\n{e}"));
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
    let config = corpus_config();
    let mut files: Vec<(String, String)> = std::fs::read_dir(Path::new(CORPUS))
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
    tableName: "we'ird; DROP TABLE sentinel; --$$"
    fields:
      id: { type: string, primary: true }
      userId: { type: string, columnName: "own'er; --$$" }
      title: { type: string, columnName: "ti;tle$$" }
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

    let table = "we'ird; DROP TABLE sentinel; --$$";
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
      score: { type: int, columnName: \"the score\" }
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
        qual.contains("moderator") && !qual.contains("the score"),
        "{qual}"
    );

    let world = World::new(&after_entities, &config);
    let mismatches = matrix(&pool, &role, &world).await;
    drop_role(&pool, &role).await;
    assert!(mismatches.is_empty(), "after:\n{}", mismatches.join("\n"));
}

#[sqlx::test(migrations = false)]
async fn a_double_quote_in_a_table_or_column_name_stays_inside_the_identifier(pool: PgPool) {
    // Prisma's own DDL does not escape `"` in mapped names, so this table is made by hand.
    let yaml = r#"entities:
  - name: Quote
    tableName: "a\"; DROP TABLE sentinel; --"
    fields:
      id: { type: string, primary: true }
      userId: { type: string, columnName: "b\"c" }
    acl:
      read: [owner]
"#;
    let config = Config::default();
    let catalog = catalog(&[("quotes", yaml.to_owned())], &config);
    let entities = all_entities(&catalog);
    let table = "a\"; DROP TABLE sentinel; --";
    sqlx::raw_sql(&format!(
        "create table sentinel (x int); create table {} (id text primary key, {} text)",
        quote_ident(table),
        quote_ident("b\"c")
    ))
    .execute(&pool)
    .await
    .unwrap();
    apply(&pool, &fresh_policies(&catalog, &entities, &config)).await;
    assert_eq!(policies_of(&pool, table).await.len(), 4);
    let sentinel: i64 = sqlx::query_scalar("select count(*) from sentinel")
        .fetch_one(&pool)
        .await
        .expect("the sentinel table is still there");
    assert_eq!(sentinel, 0);
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

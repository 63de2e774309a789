//! The test database: the tables from Prisma's own DDL, the platform role the probes run as,
//! the seeded rows and the policy statements applied to them.

use app::domain::policy_sql::{quote_ident, quote_literal};
use app::engine::{Engine, EngineConfig};
use sqlx::PgPool;

use crate::support::database_url;
use crate::world::World;
use crate::SHAPES;

/// Creates the tables of `schema` with Prisma's own DDL, then removes what only gets in the
/// way of seeding arbitrary rows (foreign keys, unique indexes) and adds a probe column that
/// updates can set without reading any column.
pub(crate) async fn create_tables(pool: &PgPool, schema: &str) {
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
pub(crate) async fn platform_role(pool: &PgPool) -> String {
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

pub(crate) async fn drop_role(pool: &PgPool, role: &str) {
    let quoted = quote_ident(role);
    let _ = sqlx::raw_sql(&format!("drop owned by {quoted}; drop role {quoted}"))
        .execute(pool)
        .await;
}

pub(crate) async fn seed(pool: &PgPool, world: &World<'_>) {
    for entity in world.entities.values() {
        for shape in 0..SHAPES {
            sqlx::raw_sql(&world.insert(entity, shape, false))
                .execute(pool)
                .await
                .unwrap_or_else(|e| panic!("seeding {}: {e}", entity.name));
        }
    }
}

pub(crate) async fn apply(pool: &PgPool, statements: &[String]) {
    for statement in statements {
        sqlx::raw_sql(statement)
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{statement}\n{e}"));
    }
}

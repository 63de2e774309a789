//! Prisma's schema engine (`server/prisma-engine`, the real WASM engine under Node) against a
//! real PostgreSQL database, one fresh database per test: plans, Prisma 6 and 7 schemas, engine
//! errors, applying a migrations directory, drift, introspection and the shadow database.
#![cfg(feature = "ssr")]

use std::path::Path;

use app::engine::{Engine, EngineConfig, EngineError};
use sqlx::PgPool;

mod support;
use support::database_url;

const V1: &str = r#"datasource db {
  provider = "postgresql"
}

generator client {
  provider = "prisma-client"
  output   = "../generated"
}

model Author {
  id        String   @id @default(cuid())
  email     String   @unique
  nickname  String?
  createdAt DateTime @default(now())
  books     Book[]
}

model Book {
  id       Int     @id @default(autoincrement())
  title    String  @db.VarChar(200)
  isbn     String
  inPrint  Boolean @default(true)
  authorId String
  author   Author  @relation(fields: [authorId], references: [id], onDelete: Cascade)

  @@index([authorId])
  @@index([isbn])
}
"#;

/// V1 with a column added (`Author.bio`), one dropped (`Author.nickname`) and an index made
/// unique (`Book.isbn`).
fn v2() -> String {
    V1.replace("  nickname  String?\n", "  bio       String?\n")
        .replace("  @@index([isbn])", "  @@unique([isbn])")
}

/// V1 as a Prisma 6 project writes it: the connection in the datasource.
fn v1_prisma6() -> String {
    V1.replace(
        "  provider = \"postgresql\"\n}",
        "  provider          = \"postgresql\"\n  url               = env(\"DATABASE_URL\")\n  directUrl         = env(\"DIRECT_URL\")\n  shadowDatabaseUrl = env(\"SHADOW_DATABASE_URL\")\n}",
    )
    .replace("\"prisma-client\"\n  output   = \"../generated\"", "\"prisma-client-js\"")
}

async fn engine_for(pool: &PgPool) -> Engine {
    let config = EngineConfig::from_env(database_url(pool).await).expect("engine directory");
    Engine::new(config)
}

/// Writes `migrations` (`(name, sql)`) as a Prisma migrations directory.
fn write_migrations(dir: &Path, migrations: &[(&str, &str)]) {
    std::fs::write(
        dir.join("migration_lock.toml"),
        "provider = \"postgresql\"\n",
    )
    .unwrap();
    for (name, sql) in migrations {
        std::fs::create_dir_all(dir.join(name)).unwrap();
        std::fs::write(dir.join(name).join("migration.sql"), sql).unwrap();
    }
}

fn temp_dir(test: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("engine-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[track_caller]
fn assert_contains(sql: &str, expected: &str) {
    assert!(sql.contains(expected), "expected {expected:?} in:\n{sql}");
}

#[sqlx::test(migrations = false)]
async fn planning_from_empty_creates_tables_indexes_and_foreign_keys(pool: PgPool) {
    let engine = engine_for(&pool).await;
    let plan = engine.plan(None, V1).await.expect("plan");
    assert!(!plan.empty);
    for expected in [
        "CREATE TABLE \"Author\" (",
        "\"createdAt\" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,",
        "CONSTRAINT \"Author_pkey\" PRIMARY KEY (\"id\")",
        "CREATE TABLE \"Book\" (",
        "\"id\" SERIAL NOT NULL,",
        "\"title\" VARCHAR(200) NOT NULL,",
        "\"inPrint\" BOOLEAN NOT NULL DEFAULT true,",
        "CREATE UNIQUE INDEX \"Author_email_key\" ON \"Author\"(\"email\");",
        "CREATE INDEX \"Book_authorId_idx\" ON \"Book\"(\"authorId\");",
        "CREATE INDEX \"Book_isbn_idx\" ON \"Book\"(\"isbn\");",
        "ALTER TABLE \"Book\" ADD CONSTRAINT \"Book_authorId_fkey\" FOREIGN KEY (\"authorId\") \
         REFERENCES \"Author\"(\"id\") ON DELETE CASCADE ON UPDATE CASCADE;",
    ] {
        assert_contains(&plan.sql, expected);
    }
    let same = engine.plan(Some(V1), V1).await.expect("plan");
    assert!(same.empty, "{}", same.sql);
    engine.shutdown().await;
}

#[sqlx::test(migrations = false)]
async fn a_second_version_plans_alter_table_statements(pool: PgPool) {
    let engine = engine_for(&pool).await;
    let plan = engine.plan(Some(V1), &v2()).await.expect("plan");
    assert!(!plan.empty);
    assert_contains(
        &plan.sql,
        "ALTER TABLE \"Author\" DROP COLUMN \"nickname\",\nADD COLUMN     \"bio\" TEXT;",
    );
    assert_contains(&plan.sql, "DROP INDEX \"Book_isbn_idx\";");
    assert_contains(
        &plan.sql,
        "CREATE UNIQUE INDEX \"Book_isbn_key\" ON \"Book\"(\"isbn\");",
    );
    assert!(!plan.sql.contains("CREATE TABLE"), "{}", plan.sql);
}

#[sqlx::test(migrations = false)]
async fn a_prisma_6_schema_plans_the_same_as_its_prisma_7_form(pool: PgPool) {
    let engine = engine_for(&pool).await;
    let seven = engine.plan(None, V1).await.expect("plan");
    let six = engine
        .plan(None, &v1_prisma6())
        .await
        .expect("plan of the Prisma 6 form");
    assert_eq!(six, seven);
    let between = engine.plan(Some(&v1_prisma6()), V1).await.expect("plan");
    assert!(between.empty, "{}", between.sql);
}

#[sqlx::test(migrations = false)]
async fn an_invalid_schema_returns_the_engines_error(pool: PgPool) {
    let engine = engine_for(&pool).await;
    let broken = V1.replace("  title    String  @db.VarChar(200)", "  title    Strin");
    let error = engine.plan(Some(V1), &broken).await.unwrap_err();
    let EngineError::Engine {
        method,
        kind,
        code,
        message,
        ..
    } = &error
    else {
        panic!("expected the engine's error, got {error:?}");
    };
    assert_eq!(
        (method.as_str(), kind.as_str(), code.as_deref()),
        ("plan", "engine", Some("P1012"))
    );
    assert_contains(message, "Type \"Strin\" is neither a built-in type");
    assert_contains(message, "to.prisma:");
    assert!(
        error
            .to_string()
            .starts_with("the schema engine failed plan: "),
        "{error}"
    );
    // The engine is still there for the next request.
    assert!(engine.plan(None, V1).await.is_ok());
}

#[sqlx::test(migrations = false)]
async fn applying_a_migrations_directory_records_each_migration_once(pool: PgPool) {
    let engine = engine_for(&pool).await;
    let init = engine.plan(None, V1).await.expect("plan").sql;
    let second = engine.plan(Some(V1), &v2()).await.expect("plan").sql;
    let dir = temp_dir("apply");
    write_migrations(&dir, &[("20260101000000_init", &init)]);
    let applied = engine.apply_migrations(&dir).await.expect("apply");
    assert_eq!(applied, ["20260101000000_init"]);

    write_migrations(&dir, &[("20260102000000_second", &second)]);
    let applied = engine.apply_migrations(&dir).await.expect("apply");
    assert_eq!(applied, ["20260102000000_second"]);
    let again = engine.apply_migrations(&dir).await.expect("apply again");
    assert!(again.is_empty(), "{again:?}");

    let rows: Vec<(String, Option<i32>, bool)> = sqlx::query_as(
        "select migration_name, applied_steps_count, finished_at is not null
           from public._prisma_migrations order by migration_name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            ("20260101000000_init".to_owned(), Some(1), true),
            ("20260102000000_second".to_owned(), Some(1), true),
        ]
    );
    let columns: Vec<String> = sqlx::query_scalar(
        "select column_name::text from information_schema.columns
          where table_schema = 'public' and table_name = 'Author' order by column_name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(columns, ["bio", "createdAt", "email", "id"]);

    let status = engine.migration_status(Some(&dir)).await.expect("status");
    assert_eq!(status.records.len(), 2);
    assert_eq!(status.history, None);
    assert!(status.failed_migration_names.is_empty());
}

#[sqlx::test(migrations = false)]
async fn a_failed_migration_applies_nothing_and_carries_the_database_error(pool: PgPool) {
    let engine = engine_for(&pool).await;
    let dir = temp_dir("failed");
    let script = "CREATE TABLE \"Half\" (\"id\" INTEGER);\nINSERT INTO \"Nope\" VALUES (1);\n";
    write_migrations(&dir, &[("20260101000000_broken", script)]);
    let error = engine.apply_migrations(&dir).await.unwrap_err();
    let EngineError::Engine {
        database: Some(database),
        ..
    } = &error
    else {
        panic!("expected a database error, got {error:?}");
    };
    assert_eq!(database.code.as_deref(), Some("42P01"));
    assert_eq!(database.message, "relation \"Nope\" does not exist");
    let half: Option<String> = sqlx::query_scalar("select to_regclass('public.\"Half\"')::text")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(half, None, "the first statement must have been rolled back");
    let status = engine.migration_status(Some(&dir)).await.expect("status");
    assert_eq!(status.failed_migration_names, ["20260101000000_broken"]);
}

#[sqlx::test(migrations = false)]
async fn a_hand_added_column_is_drift_that_names_it(pool: PgPool) {
    let engine = engine_for(&pool).await;
    let dir = temp_dir("drift");
    let init = engine.plan(None, V1).await.expect("plan").sql;
    write_migrations(&dir, &[("20260101000000_init", &init)]);
    engine.apply_migrations(&dir).await.expect("apply");
    let clean = engine.diff_live(V1).await.expect("diff");
    assert!(clean.empty, "{clean:?}");
    assert_eq!((clean.sql.as_str(), clean.summary.as_str()), ("", ""));

    sqlx::query("alter table \"Book\" add column \"handAdded\" integer")
        .execute(&pool)
        .await
        .unwrap();
    let drift = engine.diff_live(V1).await.expect("diff");
    assert!(!drift.empty);
    assert_contains(
        &drift.sql,
        "ALTER TABLE \"Book\" DROP COLUMN \"handAdded\";",
    );
    assert_contains(&drift.summary, "[+] Added column `handAdded`");
    // Against the Prisma 6 form of the same schema: the same drift.
    assert_eq!(engine.diff_live(&v1_prisma6()).await.expect("diff"), drift);
}

#[sqlx::test(migrations = false)]
async fn introspection_and_drift_see_only_the_platform_schema(pool: PgPool) {
    sqlx::raw_sql(
        "create schema schemagate;
         create table schemagate.schema_change (id uuid primary key, note text);
         create table public.\"Author\" (id text primary key, email text not null);",
    )
    .execute(&pool)
    .await
    .unwrap();
    let engine = engine_for(&pool).await;
    let seen = engine.introspect().await.expect("introspect");
    let tables: Vec<&str> = seen.tables.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(tables, ["Author"]);
    assert_contains(&seen.schema, "model Author {");
    let only_author = "datasource db {\n  provider = \"postgresql\"\n}\n\nmodel Author {\n  id    String @id\n  email String\n}\n";
    let diff = engine.diff_live(only_author).await.expect("diff");
    assert!(
        diff.empty,
        "the registry schema must not count as drift: {diff:?}"
    );
}

#[sqlx::test(migrations = false)]
async fn planning_from_migrations_uses_a_shadow_database_that_is_dropped(pool: PgPool) {
    let engine = engine_for(&pool).await;
    let dir = temp_dir("shadow");
    let init = engine.plan(None, V1).await.expect("plan").sql;
    write_migrations(&dir, &[("20260101000000_init", &init)]);
    let plan = engine
        .plan_from_migrations(&dir, &v2())
        .await
        .expect("plan");
    assert_eq!(plan, engine.plan(Some(V1), &v2()).await.expect("plan"));
    let untouched: Option<String> =
        sqlx::query_scalar("select to_regclass('public.\"Author\"')::text")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        untouched, None,
        "the migrations must replay on the shadow database only"
    );
    let shadows: i64 = sqlx::query_scalar(
        "select count(*) from pg_database where datname like 'prisma_migrate_shadow_db_%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(shadows, 0);
}

#[sqlx::test(migrations = false)]
async fn an_unreachable_database_is_a_connection_error(pool: PgPool) {
    let url = database_url(&pool)
        .await
        .replacen("localhost", "127.0.0.1", 1);
    let url = match url.find("?host=") {
        Some(at) => format!("{}?port=1", &url[..at]),
        None => url,
    };
    let engine = Engine::new(EngineConfig::from_env(url).unwrap());
    let error = engine.version().await.unwrap_err();
    assert!(
        matches!(&error, EngineError::Engine { kind, message, .. }
            if kind == "connection" && message.contains("Can't reach database server")),
        "{error:?}"
    );
}

#[sqlx::test(migrations = false)]
async fn a_call_that_times_out_kills_the_engine_and_the_next_call_starts_a_new_one(pool: PgPool) {
    let mut config = EngineConfig::from_env(database_url(&pool).await).expect("engine directory");
    config.timeout = std::time::Duration::from_millis(1);
    let engine = Engine::new(config);
    let error = engine.version().await.unwrap_err();
    assert!(matches!(error, EngineError::Timeout { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the schema engine did not answer version within 1ms"
    );
    let dir = temp_dir("restart");
    write_migrations(&dir, &[]);
    let applied = engine
        .apply_migrations(&dir)
        .await
        .expect("a new engine applies");
    assert!(applied.is_empty());
}

#[sqlx::test(migrations = false)]
async fn a_cancelled_call_does_not_answer_the_next_one(pool: PgPool) {
    let engine = engine_for(&pool).await;
    engine.version().await.expect("the engine starts");
    // Given up on after the request is written, before the answer comes.
    let gave_up =
        tokio::time::timeout(std::time::Duration::from_millis(5), engine.plan(None, V1)).await;
    assert!(
        gave_up.is_err(),
        "the plan should not have been answered within 5 ms"
    );
    let plan = engine.plan(Some(V1), &v2()).await.expect("plan");
    assert_contains(&plan.sql, "ALTER TABLE \"Author\"");
    assert!(!plan.sql.contains("CREATE TABLE"), "{}", plan.sql);
}

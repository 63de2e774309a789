//! Connection pool and registry migrations.

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};

/// The registry's migrations, embedded at compile time from `migrations/`.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// The PostgreSQL schema the registry's tables live in (migration 0004 moves them there), so
/// they never count as platform tables when the registry and the platform share a database.
pub const REGISTRY_SCHEMA: &str = "schemagate";

/// Opens a pool to `database_url` whose connections look up names in [`REGISTRY_SCHEMA`]
/// first (then `public`, where a registry created before 0004 starts out), and brings the
/// registry up to date.
///
/// # Errors
/// Fails when the server cannot be reached or a migration fails.
pub async fn connect_and_migrate(database_url: &str) -> Result<PgPool, sqlx::Error> {
    use std::str::FromStr as _;
    let options = sqlx::postgres::PgConnectOptions::from_str(database_url)?.options([
        ("search_path", format!("{REGISTRY_SCHEMA},public")),
        // List filters are written as `$1 is null or column = $1`: a plan made for any
        // value cannot use the indexes, one made for the values given can.
        ("plan_cache_mode", "force_custom_plan".to_string()),
    ]);
    let pool = PgPoolOptions::new()
        .max_connections(10)
        // While the database is unreachable, requests are answered 503 within moments.
        .acquire_timeout(std::time::Duration::from_secs(2))
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// Fills `schema_change.declares` of changes written before it existed (migration 0009): the
/// entity names each snapshot declares. The server runs it in the background at start (readers
/// treat a missing list as unknown); a registry filled already answers with no rows.
///
/// # Errors
/// Database errors.
pub async fn fill_declares(pool: &PgPool) -> Result<(), sqlx::Error> {
    use crate::domain::dialect::parse_entities;
    let config = crate::domain::Config::default();
    loop {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "select id::text, package, yaml_snapshot from schema_change
             where declares is null limit 500",
        )
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let (ids, names): (Vec<String>, Vec<String>) = rows
            .iter()
            .map(|(id, package, yaml)| {
                let names: Vec<String> = parse_entities(yaml, package, &config)
                    .entities
                    .into_iter()
                    .map(|e| e.name)
                    .collect();
                // One text per row: arrays of arrays must be rectangular in PostgreSQL.
                (
                    id.clone(),
                    serde_json::to_string(&names).unwrap_or_default(),
                )
            })
            .unzip();
        sqlx::query(
            "update schema_change c set declares = array(select jsonb_array_elements_text(f.names::jsonb))
             from unnest($1::text[], $2::text[]) as f(id, names)
             where c.id = f.id::uuid and c.declares is null",
        )
        .bind(&ids)
        .bind(&names)
        .execute(pool)
        .await?;
    }
}

/// Whether the database answers a trivial query within two seconds (health checks must not
/// hang on an unreachable server).
pub async fn is_reachable(pool: &PgPool) -> bool {
    let probe = sqlx::query_scalar::<_, i32>("select 1").fetch_one(pool);
    matches!(
        tokio::time::timeout(std::time::Duration::from_secs(2), probe).await,
        Ok(Ok(_))
    )
}

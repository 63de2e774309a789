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
    let options = sqlx::postgres::PgConnectOptions::from_str(database_url)?
        .options([("search_path", format!("{REGISTRY_SCHEMA},public"))]);
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
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

//! What `serve` does before it listens: create the first admin on an empty registry, and scan
//! the packages so the queue reflects what is on disk.

use anyhow::Context;
use app::domain::review::Role;
use app::registry::account;
use app::registry::scan::ScanInputs;
use sqlx::PgPool;

/// The name of the account created on first start.
pub const FIRST_ADMIN: &str = "admin";

/// Creates `admin` with a random password when no account exists yet, and returns the
/// password so it can be shown once. Operators who ran `schemagate user add` first get nothing.
///
/// # Errors
/// Database and hashing errors.
pub async fn ensure_first_admin(pool: &PgPool) -> anyhow::Result<Option<String>> {
    if account::count(pool).await? > 0 {
        return Ok(None);
    }
    // 128 random bits from the database's CSPRNG, as 32 hex digits.
    let password: String = sqlx::query_scalar(
        "select replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')",
    )
    .fetch_one(pool)
    .await?;
    let password: String = password.chars().take(32).collect();
    let hash = {
        let password = password.clone();
        tokio::task::spawn_blocking(move || app::password::hash(&password))
            .await
            .context("while hashing")??
    };
    match account::create(pool, "system", FIRST_ADMIN, &hash, Role::Admin).await {
        Ok(_) => Ok(Some(password)),
        // Another server instance created it first.
        Err(account::AccountError::Exists(_)) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Starts the start-up scan of the packages directory (if one is configured) in the background,
/// as `system`.
pub fn scan_at_start(pool: &PgPool, inputs: &ScanInputs, job: &app::scan_job::ScanJob) {
    if inputs.packages_dir.is_none() {
        tracing::info!("no packages directory configured: skipping the start-up scan");
        return;
    }
    tracing::info!("start-up scan running in the background");
    job.start(pool.clone(), inputs.clone(), "system");
}

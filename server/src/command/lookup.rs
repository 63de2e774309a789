//! Turning what an operator typed (an account name, a change id prefix) into registry rows.

use anyhow::Context;
use app::registry::account::{self, Account};
use app::registry::change;
use sqlx::PgPool;

/// A lookup that failed for a reason the operator should read (exit 1), not a fault.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// The account named by `--as` (or `SCHEMAGATE_USER`).
///
/// # Errors
/// [`Refused`] when the name is missing or unknown; database errors.
pub async fn actor_account(pool: &PgPool, name: Option<&str>) -> anyhow::Result<Account> {
    let name = name.ok_or_else(|| {
        Refused("name the deciding admin with --as USER (or SCHEMAGATE_USER)".to_string())
    })?;
    account::find(pool, name)
        .await
        .context("while looking up the account")?
        .ok_or_else(|| Refused(format!("no account named \"{name}\"")).into())
}

/// The full id of the change `prefix` names.
///
/// # Errors
/// [`Refused`] for unknown, ambiguous or too short prefixes; database errors.
pub async fn change_id(pool: &PgPool, prefix: &str) -> anyhow::Result<String> {
    change::resolve_id(pool, prefix)
        .await
        .context("while looking up the change")?
        .map_err(|error| Refused(error.to_string()).into())
}

/// The base schema (read from `--base-schema`) and domain configuration that approvals render
/// the future schema with.
///
/// # Errors
/// When the base schema cannot be read or parsed.
pub fn schema_context(
    common: &crate::cli::CommonOptions,
    database: &crate::database::Database,
) -> anyhow::Result<app::registry::future::SchemaContext> {
    Ok(app::registry::future::SchemaContext {
        base: app::scanner::read_base_schema(common.base_schema.as_deref())
            .context("while reading the base schema")?,
        config: common.domain_config(),
        engine: database.engine.clone(),
    })
}

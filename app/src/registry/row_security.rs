//! The row-level-security configuration (settings, role hierarchy) that policies are compiled
//! with is registry state: the restart job compiles only with the configuration the registry
//! accepted. The first one it sees is accepted (audited); another one is accepted at once while
//! four-eyes is off, and needs two admins while it is on ([`super::guard`]), so one admin
//! cannot widen who the database admits by restarting the container with other flags.

use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

use super::audit::{self, NewEvent};
use crate::domain::config::RowSecurity;

/// Why the restart job refuses to compile policies.
#[derive(Debug, thiserror::Error)]
pub enum RowSecurityError {
    /// The configuration given differs from the accepted one while four-eyes is on.
    #[error("the row-level-security configuration given ({given}) differs from the one the registry accepted ({accepted}); four-eyes is on, so two admins accept it first: `schemagate settings row-security --as ADMIN` with the same flags, then another admin runs the same")]
    Unaccepted {
        /// The accepted configuration, in words.
        accepted: String,
        /// The given one, in words.
        given: String,
    },
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// What the check did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// The configuration was the accepted one.
    Unchanged,
    /// None was accepted yet, or four-eyes is off: it is the accepted one now (audited).
    Recorded,
}

/// The configuration's fingerprint: SHA-256 of its JSON form, hex.
#[must_use]
pub fn fingerprint(config: &RowSecurity) -> String {
    let json = serde_json::to_string(config).unwrap_or_default();
    Sha256::digest(json.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The configuration in words: `hierarchy supergod > god > admin; user app.user_id, role
/// app.role`.
#[must_use]
pub fn describe(config: &RowSecurity) -> String {
    let chains = config.hierarchy.chains();
    let hierarchy = if chains.is_empty() {
        "no role hierarchy".to_owned()
    } else {
        format!("hierarchy {}", chains.join(", "))
    };
    let variables: Vec<String> = config
        .variables
        .iter()
        .map(|(variable, setting)| format!("${variable}={setting}"))
        .collect();
    format!(
        "{hierarchy}; user {}, role {}; {}",
        config.user_setting,
        config.role_setting,
        variables.join(", ")
    )
}

/// The accepted configuration, if any.
///
/// # Errors
/// Database errors.
pub async fn accepted(pool: &PgPool) -> Result<Option<RowSecurity>, sqlx::Error> {
    let stored: Option<serde_json::Value> =
        sqlx::query_scalar("select row_security from registry_setting")
            .fetch_one(pool)
            .await?;
    Ok(stored.and_then(|value| serde_json::from_value(value).ok()))
}

/// Checks `config` against the accepted configuration before the restart job compiles with
/// it, accepting it (audited, with `actor`) when none is accepted yet or four-eyes is off.
///
/// # Errors
/// [`RowSecurityError::Unaccepted`] while four-eyes is on and `config` differs.
pub async fn enforce(
    pool: &PgPool,
    actor: &str,
    config: &RowSecurity,
) -> Result<Accepted, RowSecurityError> {
    let mut tx = pool.begin().await?;
    let (four_eyes, stored): (bool, Option<serde_json::Value>) =
        sqlx::query_as("select four_eyes, row_security from registry_setting for update")
            .fetch_one(&mut *tx)
            .await?;
    // A stored form this release cannot read counts as different: fail closed.
    let current: Option<Option<RowSecurity>> = stored
        .as_ref()
        .map(|value| serde_json::from_value(value.clone()).ok());
    match current {
        Some(Some(current)) if &current == config => return Ok(Accepted::Unchanged),
        Some(current) if four_eyes => {
            return Err(RowSecurityError::Unaccepted {
                accepted: current.map_or_else(|| "unreadable".to_owned(), |c| describe(&c)),
                given: describe(config),
            })
        }
        _ => {}
    }
    accept(&mut tx, actor, config, None).await?;
    tx.commit().await?;
    Ok(Accepted::Recorded)
}

/// Makes `config` the accepted configuration, audited as `setting.changed` (naming who asked
/// first when another admin confirmed).
pub(super) async fn accept(
    tx: &mut PgConnection,
    actor: &str,
    config: &RowSecurity,
    requested_by: Option<&str>,
) -> Result<(), sqlx::Error> {
    let new = serde_json::to_value(config).unwrap_or_default();
    let old: Option<serde_json::Value> =
        sqlx::query_scalar("select row_security from registry_setting for update")
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query("update registry_setting set row_security = $1, updated_at = now()")
        .bind(&new)
        .execute(&mut *tx)
        .await?;
    let mut details = serde_json::json!({
        "setting": "row_security",
        "old": old,
        "new": new,
        "fingerprint": fingerprint(config),
    });
    if let Some(by) = requested_by {
        details["requested_by"] = serde_json::Value::String(by.to_owned());
    }
    audit::append(
        tx,
        NewEvent {
            actor,
            action: "setting.changed",
            change_id: None,
            package: None,
            details,
        },
    )
    .await?;
    Ok(())
}

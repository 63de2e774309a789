//! Four-eyes protects itself: while it is on, turning it off, giving an account the admin role
//! (a new admin included) and changing the row-level-security configuration (role hierarchy,
//! settings) need two admins. The first admin's request is recorded and
//! audited as pending; it takes effect only when another admin, whose account existed before
//! the request, asks for the same thing. While four-eyes is off, each takes effect at once.

use sqlx::{PgConnection, PgPool, Row};
use time::OffsetDateTime;

use super::account::Account;
use super::audit::{self, NewEvent};
use crate::domain::config::RowSecurity;
use crate::domain::review::Role;

/// What four-eyes guards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guarded {
    /// Turning four-eyes off.
    FourEyesOff,
    /// Giving the account `username` the admin role.
    AdminRole {
        /// The account.
        username: String,
    },
    /// Compiling row-level security with another configuration than the accepted one.
    RowSecurity {
        /// The configuration asked for.
        config: Box<RowSecurity>,
        /// Its fingerprint: what a second admin must ask for too.
        fingerprint: String,
    },
}

impl Guarded {
    fn kind(&self) -> &'static str {
        match self {
            Guarded::FourEyesOff => "four_eyes_off",
            Guarded::AdminRole { .. } => "admin_role",
            Guarded::RowSecurity { .. } => "row_security",
        }
    }

    fn subject(&self) -> &str {
        match self {
            Guarded::FourEyesOff => "",
            Guarded::AdminRole { username } => username,
            Guarded::RowSecurity { fingerprint, .. } => fingerprint,
        }
    }

    /// Asking for `config` as the row-level-security configuration.
    #[must_use]
    pub fn row_security(config: &RowSecurity) -> Self {
        Guarded::RowSecurity {
            fingerprint: super::row_security::fingerprint(config),
            config: Box::new(config.clone()),
        }
    }

    /// In words, for messages.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Guarded::FourEyesOff => "turning four-eyes off".to_owned(),
            Guarded::AdminRole { username } => format!("making {username} an admin"),
            Guarded::RowSecurity {
                config,
                fingerprint,
            } => format!(
                "compiling row-level security with {} (configuration {})",
                super::row_security::describe(config),
                &fingerprint[..12]
            ),
        }
    }
}

/// What a request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Four-eyes is off: it took effect at once.
    Applied,
    /// Four-eyes is on: recorded as pending, until another admin asks for the same.
    Requested,
    /// Another admin had asked for it: it took effect now.
    Confirmed {
        /// Who asked first.
        requested_by: String,
    },
}

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// Only an enabled admin may ask.
    #[error("{account} may not ask for {what}: only an enabled admin may")]
    Forbidden {
        /// Who asked.
        account: String,
        /// What.
        what: String,
    },
    /// The same admin asked again.
    #[error("{what} was asked for by {by} already: four-eyes needs another admin to confirm it")]
    SameAdmin {
        /// What.
        what: String,
        /// Who asked.
        by: String,
    },
    /// An admin made after the request cannot confirm it.
    #[error("{account}'s account was created after {by} asked for {what}: four-eyes needs an admin whose account existed before the request")]
    NewerAdmin {
        /// Who tried to confirm.
        account: String,
        /// Who asked.
        by: String,
        /// What.
        what: String,
    },
    /// No such account.
    #[error("no account named \"{0}\"")]
    NotFound(String),
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

impl super::failure::Classify for GuardError {
    fn classify(self) -> super::failure::Failure {
        use super::failure::Failure;
        match self {
            GuardError::Forbidden { .. } => Failure::Forbidden("change what four-eyes guards"),
            GuardError::NotFound(name) => Failure::NotFound(format!("account \"{name}\"")),
            GuardError::SameAdmin { .. } | GuardError::NewerAdmin { .. } => {
                Failure::Conflict(self.to_string())
            }
            GuardError::Database(error) => Failure::Database(error),
        }
    }
}

/// Asks for `what` as `actor` (an enabled admin; `actor_name` is how the audit log names them,
/// `cli:<user>` from the command line). See the module's rules.
///
/// # Errors
/// [`GuardError`].
pub async fn request(
    pool: &PgPool,
    actor: &Account,
    actor_name: &str,
    what: &Guarded,
) -> Result<Outcome, GuardError> {
    if actor.disabled || actor.role != Role::Admin {
        return Err(GuardError::Forbidden {
            account: actor.username.clone(),
            what: what.describe(),
        });
    }
    let mut tx = pool.begin().await?;
    // One request at a time: the setting's row is the lock, as for approvals.
    let four_eyes: bool = sqlx::query_scalar("select four_eyes from registry_setting for update")
        .fetch_one(&mut *tx)
        .await?;
    if !four_eyes {
        take_effect(&mut tx, actor_name, what, None).await?;
        tx.commit().await?;
        return Ok(Outcome::Applied);
    }
    let open = sqlx::query(
        "select id, requested_by, requested_at from admin_request
          where kind = $1 and subject = $2 and confirmed_at is null for update",
    )
    .bind(what.kind())
    .bind(what.subject())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(open) = open else {
        sqlx::query("insert into admin_request (kind, subject, requested_by) values ($1, $2, $3)")
            .bind(what.kind())
            .bind(what.subject())
            .bind(&actor.username)
            .execute(&mut *tx)
            .await?;
        record(&mut tx, actor_name, what).await?;
        tx.commit().await?;
        return Ok(Outcome::Requested);
    };
    let (id, by, at): (i64, String, OffsetDateTime) = (
        open.try_get("id")?,
        open.try_get("requested_by")?,
        open.try_get("requested_at")?,
    );
    if by == actor.username {
        return Err(GuardError::SameAdmin {
            what: what.describe(),
            by,
        });
    }
    if actor.created_at >= at {
        return Err(GuardError::NewerAdmin {
            account: actor.username.clone(),
            by,
            what: what.describe(),
        });
    }
    sqlx::query("update admin_request set confirmed_by = $2, confirmed_at = now() where id = $1")
        .bind(id)
        .bind(&actor.username)
        .execute(&mut *tx)
        .await?;
    take_effect(&mut tx, actor_name, what, Some(&by)).await?;
    tx.commit().await?;
    Ok(Outcome::Confirmed { requested_by: by })
}

/// Makes `what` so, audited (`setting.changed` or `account.role_changed`, naming who asked
/// first when another admin confirmed).
async fn take_effect(
    tx: &mut PgConnection,
    actor_name: &str,
    what: &Guarded,
    requested_by: Option<&str>,
) -> Result<(), GuardError> {
    match what {
        Guarded::FourEyesOff => {
            sqlx::query("update registry_setting set four_eyes = false, updated_at = now()")
                .execute(&mut *tx)
                .await?;
            let mut details =
                serde_json::json!({"setting": "four_eyes", "old": "on", "new": "off"});
            if let Some(by) = requested_by {
                details["requested_by"] = serde_json::Value::String(by.to_owned());
            }
            append(tx, actor_name, "setting.changed", details).await?;
        }
        Guarded::AdminRole { username } => {
            let updated = sqlx::query(
                "update account set role = 'admin', updated_at = now(),
                     credentials_version = credentials_version + 1 where username = $1",
            )
            .bind(username)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() == 0 {
                return Err(GuardError::NotFound(username.clone()));
            }
            let mut details = serde_json::json!({"username": username, "role": "admin"});
            if let Some(by) = requested_by {
                details["requested_by"] = serde_json::Value::String(by.to_owned());
            }
            append(tx, actor_name, "account.role_changed", details).await?;
        }
        Guarded::RowSecurity { config, .. } => {
            super::row_security::accept(tx, actor_name, config, requested_by).await?;
        }
    }
    Ok(())
}

/// Audits a pending request.
async fn record(tx: &mut PgConnection, actor_name: &str, what: &Guarded) -> Result<(), GuardError> {
    let details = serde_json::json!({"request": what.kind(), "subject": what.subject()});
    append(tx, actor_name, "four_eyes.requested", details).await
}

async fn append(
    tx: &mut PgConnection,
    actor: &str,
    action: &str,
    details: serde_json::Value,
) -> Result<(), GuardError> {
    audit::append(
        tx,
        NewEvent {
            actor,
            action,
            change_id: None,
            package: None,
            details,
        },
    )
    .await?;
    Ok(())
}

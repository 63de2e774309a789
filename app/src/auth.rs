//! Who is signed in, and what they may do. Every server function calls [`require`] itself:
//! hiding a button is not authorization.

use serde::{Deserialize, Serialize};

use crate::domain::review::Role;

/// The signed-in account as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    /// Account name.
    pub username: String,
    /// Its role.
    pub role: Role,
}

#[cfg(feature = "ssr")]
pub use server::*;

#[cfg(feature = "ssr")]
mod server {
    use sqlx::PgPool;
    use time::{Duration, OffsetDateTime};
    use tower_sessions::Session;

    use crate::domain::review::Role;
    use crate::error::AppError;
    use crate::registry::account::{self, Account};
    use crate::registry::audit::{self, NewEvent};

    /// The session key holding the signed-in account's id.
    const ACCOUNT_KEY: &str = "account_id";

    /// Sign-in throttling and session settings.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct AuthSettings {
        /// Failed sign-ins for one username within `failure_window` that lock it.
        pub max_failures: i64,
        /// How far back failures count.
        pub failure_window: Duration,
        /// How long a locked username stays locked after its last failure.
        pub lockout: Duration,
    }

    impl Default for AuthSettings {
        fn default() -> Self {
            AuthSettings {
                max_failures: 5,
                failure_window: Duration::minutes(15),
                lockout: Duration::minutes(15),
            }
        }
    }

    /// The signed-in account, read fresh from the registry so that a role change or a disabled
    /// account takes effect on the next request.
    ///
    /// # Errors
    /// [`AppError::Internal`] when the session store or database fails.
    pub async fn current_account(
        session: &Session,
        pool: &PgPool,
    ) -> Result<Option<Account>, AppError> {
        let id: Option<i64> = session.get(ACCOUNT_KEY).await.map_err(session_error)?;
        let Some(id) = id else { return Ok(None) };
        Ok(account::find_by_id(pool, id).await?.filter(|a| !a.disabled))
    }

    /// The signed-in account if its role includes `role`.
    ///
    /// # Errors
    /// [`AppError::Unauthenticated`] without a valid session, [`AppError::Forbidden`] for a
    /// role below `role`.
    pub async fn require(
        session: &Session,
        pool: &PgPool,
        role: Role,
        action: &str,
    ) -> Result<Account, AppError> {
        let account = current_account(session, pool)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if account.role.allows(role) {
            Ok(account)
        } else {
            Err(AppError::Forbidden(action.to_string()))
        }
    }

    fn session_error(error: tower_sessions::session::Error) -> AppError {
        tracing::error!(error = %error, "session store error");
        AppError::Internal
    }

    /// Checks the credentials, throttles repeated failures per username, rotates the session
    /// id and stores the account in the session. Every outcome is audited, never the password.
    ///
    /// # Errors
    /// [`AppError::SignInFailed`] for any wrong credential (unknown user, wrong password,
    /// disabled account), [`AppError::Throttled`] while the username is locked.
    pub async fn sign_in(
        session: &Session,
        pool: &PgPool,
        settings: &AuthSettings,
        username: &str,
        password: String,
    ) -> Result<Account, AppError> {
        let username = username.trim().to_ascii_lowercase();
        if let Some(until) = locked_until(pool, settings, &username).await? {
            let minutes = ((until - OffsetDateTime::now_utc()).whole_seconds() + 59) / 60;
            record(
                pool,
                &username,
                "login.locked",
                serde_json::json!({"username": username}),
            )
            .await?;
            return Err(AppError::Throttled(format!(
                "too many failed sign-ins for this username: try again in {minutes} minute(s)"
            )));
        }
        let stored = account::find_with_hash(pool, &username).await?;
        // Verify a hash in every case (a dummy one for unknown names) so timing reveals nothing.
        let (account, matches) = match stored {
            Some((account, hash)) => {
                let ok =
                    tokio::task::spawn_blocking(move || crate::password::verify(&password, &hash))
                        .await
                        .map_err(|_| AppError::Internal)?;
                (Some(account), ok)
            }
            None => {
                tokio::task::spawn_blocking(move || crate::password::verify_dummy(&password))
                    .await
                    .map_err(|_| AppError::Internal)?;
                (None, false)
            }
        };
        match account {
            Some(account) if matches && !account.disabled => {
                session.cycle_id().await.map_err(session_error)?;
                session
                    .insert(ACCOUNT_KEY, account.id)
                    .await
                    .map_err(session_error)?;
                record(
                    pool,
                    &username,
                    "login.succeeded",
                    serde_json::json!({"username": username}),
                )
                .await?;
                Ok(account)
            }
            other => {
                let why = match other {
                    None => "unknown account",
                    Some(account) if account.disabled => "disabled account",
                    Some(_) => "wrong password",
                };
                record(
                    pool,
                    &username,
                    "login.failed",
                    serde_json::json!({"username": username, "why": why}),
                )
                .await?;
                Err(AppError::SignInFailed)
            }
        }
    }

    /// Ends the session: its data is deleted and the cookie no longer names a session.
    ///
    /// # Errors
    /// [`AppError::Internal`] when the session store fails.
    pub async fn sign_out(session: &Session, pool: &PgPool) -> Result<(), AppError> {
        if let Some(account) = current_account(session, pool).await? {
            record(
                pool,
                &account.username,
                "logout",
                serde_json::json!({"username": account.username}),
            )
            .await?;
        }
        session.flush().await.map_err(session_error)
    }

    async fn record(
        pool: &PgPool,
        actor: &str,
        action: &str,
        details: serde_json::Value,
    ) -> Result<(), AppError> {
        audit::append_alone(
            pool,
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

    /// When the username's lock ends, if it is locked: `max_failures` failures within the
    /// window since its last successful sign-in, and the last one less than `lockout` ago.
    async fn locked_until(
        pool: &PgPool,
        settings: &AuthSettings,
        username: &str,
    ) -> Result<Option<OffsetDateTime>, AppError> {
        let now = OffsetDateTime::now_utc();
        let (failures, last_failure): (i64, Option<OffsetDateTime>) = sqlx::query_as(
            "select count(*), max(at) from audit_event
             where action = 'login.failed' and details->>'username' = $1 and at > $2
               and at > coalesce((select max(at) from audit_event
                                  where action = 'login.succeeded' and details->>'username' = $1), '-infinity')",
        )
        .bind(username)
        .bind(now - settings.failure_window)
        .fetch_one(pool)
        .await?;
        Ok(match last_failure {
            Some(last) if failures >= settings.max_failures && last + settings.lockout > now => {
                Some(last + settings.lockout)
            }
            _ => None,
        })
    }

    /// Whether any account exists yet (the first start creates one).
    ///
    /// # Errors
    /// Database errors.
    pub async fn has_accounts(pool: &PgPool) -> Result<bool, sqlx::Error> {
        Ok(account::count(pool).await? > 0)
    }
}

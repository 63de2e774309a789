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

    /// The session key holding the account's credentials version at sign-in.
    const VERSION_KEY: &str = "credentials_version";

    /// The session key holding when the session was last extended (Unix seconds).
    const EXTENDED_KEY: &str = "extended_at";

    /// Keeps a signed-in session open while it is used. A session ends after a stretch without
    /// saves, so saving it again pushes its end back; it is saved at most once per `every`,
    /// so that reading pages does not write the session store on every request.
    ///
    /// # Errors
    /// [`AppError::Internal`] when the session store fails.
    pub async fn keep_open(session: &Session, every: Duration) -> Result<(), AppError> {
        let account: Option<i64> = session.get(ACCOUNT_KEY).await.map_err(session_error)?;
        if account.is_none() {
            return Ok(());
        }
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let extended: Option<i64> = session.get(EXTENDED_KEY).await.map_err(session_error)?;
        if extended.is_none_or(|at| now - at >= every.whole_seconds()) {
            session
                .insert(EXTENDED_KEY, now)
                .await
                .map_err(session_error)?;
        }
        Ok(())
    }

    /// Sign-in throttling and session settings.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct AuthSettings {
        /// Passwords checked for one username within `failure_window` before it is locked.
        pub max_failures: i64,
        /// How far back failures count.
        pub failure_window: Duration,
        /// How long a locked username stays locked after its window filled up.
        pub lockout: Duration,
        /// Sign-in attempts from one client address per window (any usernames).
        pub max_client_attempts: i64,
    }

    impl Default for AuthSettings {
        fn default() -> Self {
            AuthSettings {
                max_failures: 5,
                failure_window: Duration::minutes(15),
                lockout: Duration::minutes(15),
                max_client_attempts: 30,
            }
        }
    }

    /// Most password verifications running at once. Each argon2 verification holds 19 MiB,
    /// so this bounds the memory sign-in can take whatever the number of attempts.
    pub const MAX_CONCURRENT_VERIFICATIONS: usize = 4;

    /// How long an attempt waits for a verification slot before it is answered 429.
    const VERIFICATION_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

    /// Longest username kept in the audit log; longer submitted names are cut and marked.
    pub const MAX_AUDITED_USERNAME: usize = 64;

    static VERIFICATIONS: tokio::sync::Semaphore =
        tokio::sync::Semaphore::const_new(MAX_CONCURRENT_VERIFICATIONS);

    /// Runs a password check on the blocking pool, at most [`MAX_CONCURRENT_VERIFICATIONS`] at
    /// once; `None` when no slot frees up in time (the caller answers 429 without hashing).
    async fn verify_bounded<F>(check: F) -> Result<Option<bool>, AppError>
    where
        F: FnOnce() -> bool + Send + 'static,
    {
        let Ok(Ok(permit)) = tokio::time::timeout(VERIFICATION_WAIT, VERIFICATIONS.acquire()).await
        else {
            return Ok(None);
        };
        let result = tokio::task::spawn_blocking(check)
            .await
            .map_err(|_| AppError::Internal);
        drop(permit);
        result.map(Some)
    }

    /// A submitted username as it may be stored: at most [`MAX_AUDITED_USERNAME`] characters,
    /// control characters dropped; `true` when something was cut.
    #[must_use]
    pub fn audited_username(username: &str) -> (String, bool) {
        let clean: String = username.chars().filter(|c| !c.is_control()).collect();
        let cut = clean.chars().count() > MAX_AUDITED_USERNAME || clean.len() != username.len();
        (clean.chars().take(MAX_AUDITED_USERNAME).collect(), cut)
    }

    /// Reserves one attempt for `key` in one statement: the count of attempts in the current
    /// window after this one. A window older than `window` starts over.
    async fn reserve(
        pool: &PgPool,
        key: &str,
        window: Duration,
    ) -> Result<(i64, OffsetDateTime), AppError> {
        let (attempts, window_start): (i32, OffsetDateTime) = sqlx::query_as(
            "insert into sign_in_throttle as t (key, window_start, attempts)
             values ($1, now(), 1)
             on conflict (key) do update set
                 window_start = case when t.window_start < now() - $2 then now() else t.window_start end,
                 attempts = case when t.window_start < now() - $2 then 1 else t.attempts + 1 end
             returning attempts, window_start",
        )
        .bind(key)
        .bind(window)
        .fetch_one(pool)
        .await?;
        Ok((i64::from(attempts), window_start))
    }

    async fn release(pool: &PgPool, key: &str) -> Result<(), AppError> {
        sqlx::query("delete from sign_in_throttle where key = $1")
            .bind(key)
            .execute(pool)
            .await?;
        Ok(())
    }

    /// The signed-in account, read fresh from the registry. A session signed in before the
    /// account's credentials changed (password, role, disabling), or of a disabled or deleted
    /// account, is ended here: the request is signed out, and stays so after re-enabling.
    ///
    /// # Errors
    /// [`AppError::Internal`] when the session store or database fails.
    pub async fn current_account(
        session: &Session,
        pool: &PgPool,
    ) -> Result<Option<Account>, AppError> {
        let id: Option<i64> = session.get(ACCOUNT_KEY).await.map_err(session_error)?;
        let Some(id) = id else { return Ok(None) };
        let version: Option<i64> = session.get(VERSION_KEY).await.map_err(session_error)?;
        let account = account::find_by_id(pool, id).await?;
        match account {
            Some(account) if !account.disabled && version == Some(account.credentials_version) => {
                Ok(Some(account))
            }
            _ => {
                session.flush().await.map_err(session_error)?;
                Ok(None)
            }
        }
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
        sign_in_from(session, pool, settings, username, password, None).await
    }

    /// As [`sign_in`], also limiting attempts per client address (`client`).
    ///
    /// At most `max_failures` passwords are ever checked for one username per window, even
    /// under concurrent attempts: each attempt reserves its slot in one SQL statement before
    /// any hashing; a success clears the username's count. At most
    /// [`MAX_CONCURRENT_VERIFICATIONS`] hashes run at once; attempts past that wait briefly and
    /// are then answered 429 without hashing.
    ///
    /// # Errors
    /// [`AppError::SignInFailed`] for any wrong credential, [`AppError::Throttled`] while the
    /// username or client is locked or the server is busy verifying other attempts.
    pub async fn sign_in_from(
        session: &Session,
        pool: &PgPool,
        settings: &AuthSettings,
        username: &str,
        password: String,
        client: Option<&str>,
    ) -> Result<Account, AppError> {
        let username = username.trim().to_ascii_lowercase();
        let (audited, truncated) = audited_username(&username);
        let details = |extra: serde_json::Value| {
            let mut details = serde_json::json!({"username": audited});
            if truncated {
                details["username_truncated"] = serde_json::Value::Bool(true);
            }
            if let (Some(map), serde_json::Value::Object(more)) = (details.as_object_mut(), extra) {
                map.extend(more);
            }
            details
        };
        if let Some(client) = client {
            let key = format!("client:{client}");
            let (attempts, _) = reserve(pool, &key, settings.failure_window).await?;
            if attempts > settings.max_client_attempts {
                record(
                    pool,
                    &audited,
                    "login.locked",
                    details(serde_json::json!({"why": "client"})),
                )
                .await?;
                return Err(AppError::Throttled(
                    "too many sign-in attempts from this address: try again later".to_owned(),
                ));
            }
        }
        let key = format!("user:{audited}");
        let window = settings.failure_window.max(settings.lockout);
        let (attempts, window_start) = reserve(pool, &key, window).await?;
        if attempts > settings.max_failures {
            let until = window_start + window;
            let minutes = ((until - OffsetDateTime::now_utc()).whole_seconds() + 59) / 60;
            record(
                pool,
                &audited,
                "login.locked",
                details(serde_json::json!({})),
            )
            .await?;
            return Err(AppError::Throttled(format!(
                "too many failed sign-ins for this username: try again in {} minute(s)",
                minutes.max(1)
            )));
        }
        let stored = if account::is_valid_username(&username) {
            account::find_with_hash(pool, &username).await?
        } else {
            None
        };
        // Verify a hash in every case (a dummy one for unknown names) so timing reveals nothing.
        let (account, verified) = match stored {
            Some((account, hash)) => {
                let verified =
                    verify_bounded(move || crate::password::verify(&password, &hash)).await?;
                (Some(account), verified)
            }
            None => {
                let verified = verify_bounded(move || {
                    crate::password::verify_dummy(&password);
                    false
                })
                .await?;
                (None, verified)
            }
        };
        let Some(matches) = verified else {
            // Nothing was checked: give the slot back.
            sqlx::query(
                "update sign_in_throttle set attempts = greatest(attempts - 1, 0) where key = $1",
            )
            .bind(&key)
            .execute(pool)
            .await?;
            return Err(AppError::Throttled(
                "the server is busy checking other sign-ins: try again in a few seconds".to_owned(),
            ));
        };
        match account {
            Some(account) if matches && !account.disabled => {
                session.cycle_id().await.map_err(session_error)?;
                session
                    .insert(ACCOUNT_KEY, account.id)
                    .await
                    .map_err(session_error)?;
                session
                    .insert(VERSION_KEY, account.credentials_version)
                    .await
                    .map_err(session_error)?;
                release(pool, &key).await?;
                record(
                    pool,
                    &audited,
                    "login.succeeded",
                    details(serde_json::json!({})),
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
                    &audited,
                    "login.failed",
                    details(serde_json::json!({"why": why})),
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

    /// Whether any account exists yet (the first start creates one).
    ///
    /// # Errors
    /// Database errors.
    pub async fn has_accounts(pool: &PgPool) -> Result<bool, sqlx::Error> {
        Ok(account::count(pool).await? > 0)
    }
}

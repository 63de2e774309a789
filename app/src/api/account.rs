//! Server functions for the accounts page. Admins only; every change is audited by the
//! registry with the signed-in admin as actor. An admin can neither disable nor demote their
//! own account, so there is always an admin left who can undo a mistake.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::context;
use crate::error::AppError;

/// An account as the accounts page shows it (never the hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRow {
    /// Sign-in name.
    pub username: String,
    /// `admin`, `reviewer` or `viewer`.
    pub role: String,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// The signed-in admin's own account.
    pub is_self: bool,
}

#[cfg(feature = "ssr")]
fn parse_role(role: &str) -> Result<crate::domain::review::Role, AppError> {
    role.trim().parse().map_err(|_| {
        AppError::Invalid(format!(
            "unknown role \"{}\": expected admin, reviewer or viewer",
            role.trim()
        ))
    })
}

/// Every account, by name: `POST /api/list_accounts`. Admins only.
///
/// # Errors
/// 401, 403.
#[server(prefix = "/api", endpoint = "list_accounts")]
pub async fn list_accounts() -> Result<Vec<AccountRow>, AppError> {
    use crate::domain::review::Role;
    context::finish(async {
        let (pool, me) = context::signed_in(Role::Admin, "manage accounts").await?;
        let accounts = crate::registry::account::list(&pool).await?;
        Ok(accounts
            .into_iter()
            .map(|a| AccountRow {
                is_self: a.id == me.id,
                created_at: a
                    .created_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                username: a.username,
                role: a.role.as_str().to_string(),
                disabled: a.disabled,
            })
            .collect())
    })
    .await
}

/// Creates an account: `POST /api/create_account` with `username`, `role` and `password`.
/// Admins only. The username is trimmed and lowercased (sign-in does the same).
///
/// # Errors
/// 401, 403; 400 for an invalid username, unknown role or short password; 409 when the name
/// is taken.
#[server(prefix = "/api", endpoint = "create_account")]
pub async fn create_account(
    username: String,
    role: String,
    password: String,
) -> Result<String, AppError> {
    use crate::domain::review::Role;
    context::finish(async {
        let (pool, me) = context::signed_in(Role::Admin, "manage accounts").await?;
        let username = username.trim().to_ascii_lowercase();
        let role = parse_role(&role)?;
        if !crate::registry::account::is_valid_username(&username) {
            return Err(crate::registry::account::AccountError::InvalidUsername(username).into());
        }
        let hash = tokio::task::spawn_blocking(move || crate::password::hash(&password))
            .await
            .map_err(|error| {
                tracing::error!(%error, "password hashing task failed");
                AppError::Internal
            })?
            .map_err(|error| match error {
                crate::password::PasswordError::TooShort => AppError::Invalid(error.to_string()),
                crate::password::PasswordError::Hashing => {
                    tracing::error!("password hashing failed");
                    AppError::Internal
                }
            })?;
        // Under four-eyes a new admin starts as a viewer; the admin role needs a second admin.
        let four_eyes = crate::registry::setting::load(&pool).await?.four_eyes;
        let first_role = if role == Role::Admin && four_eyes { Role::Viewer } else { role };
        let account = crate::registry::account::create(&pool, &me.username, &username, &hash, first_role).await?;
        tracing::info!(account.username = %account.username, account.role = %account.role, actor = %me.username, "account created");
        let created = format!("account {} created as {}", account.username, account.role);
        if first_role == role {
            return Ok(created);
        }
        let what = crate::registry::guard::Guarded::AdminRole { username: account.username.clone() };
        let outcome = crate::registry::guard::request(&pool, &me, &me.username, &what).await?;
        Ok(format!("{created}; {}", guarded_message(&outcome, "it is now an admin", &what)))
    })
    .await
}

/// Changes an account's role: `POST /api/set_account_role` with `username` and `role`.
/// Admins only; an admin cannot change their own role.
///
/// # Errors
/// 401, 403; 400 for an unknown role or the admin's own account; 404 for an unknown account.
#[server(prefix = "/api", endpoint = "set_account_role")]
pub async fn set_account_role(username: String, role: String) -> Result<String, AppError> {
    use crate::domain::review::Role;
    context::finish(async {
        let (pool, me) = context::signed_in(Role::Admin, "manage accounts").await?;
        let role = parse_role(&role)?;
        let username = username.trim().to_string();
        if username == me.username && role != me.role {
            return Err(AppError::Invalid(
                "you cannot change your own role: another admin has to do it, so that an admin always remains".to_string(),
            ));
        }
        if role == Role::Admin {
            let what = crate::registry::guard::Guarded::AdminRole { username: username.clone() };
            let outcome = crate::registry::guard::request(&pool, &me, &me.username, &what).await?;
            return Ok(guarded_message(&outcome, &format!("{username} is now admin"), &what));
        }
        let account = crate::registry::account::set_role(&pool, &me.username, &username, role).await?;
        Ok(format!("{} is now {}", account.username, account.role))
    })
    .await
}

/// Disables an account: `POST /api/disable_account` with `username`. It can no longer sign in,
/// and its sessions end on their next request. Admins only; an admin cannot disable themselves.
///
/// # Errors
/// 401, 403; 400 for the admin's own account; 404 for an unknown account.
#[server(prefix = "/api", endpoint = "disable_account")]
pub async fn disable_account(username: String) -> Result<String, AppError> {
    use crate::domain::review::Role;
    context::finish(async {
        let (pool, me) = context::signed_in(Role::Admin, "manage accounts").await?;
        let username = username.trim().to_string();
        if username == me.username {
            return Err(AppError::Invalid(
                "you cannot disable your own account: another admin has to do it".to_string(),
            ));
        }
        let account = crate::registry::account::disable(&pool, &me.username, &username).await?;
        Ok(format!("{} is disabled", account.username))
    })
    .await
}

/// Enables a disabled account again: `POST /api/enable_account` with `username`. Admins only.
///
/// # Errors
/// 401, 403; 404 for an unknown account.
#[server(prefix = "/api", endpoint = "enable_account")]
pub async fn enable_account(username: String) -> Result<String, AppError> {
    use crate::domain::review::Role;
    context::finish(async {
        let (pool, me) = context::signed_in(Role::Admin, "manage accounts").await?;
        let username = username.trim().to_string();
        let account = crate::registry::account::enable(&pool, &me.username, &username).await?;
        Ok(format!("{} is enabled", account.username))
    })
    .await
}

/// The registry's settings as the accounts page shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsView {
    /// Destructive, breaking and security changes need two admins.
    pub four_eyes: bool,
}

/// The registry's settings: `POST /api/registry_settings`. Admins only.
///
/// # Errors
/// 401, 403.
#[server(prefix = "/api", endpoint = "registry_settings")]
pub async fn registry_settings() -> Result<SettingsView, AppError> {
    use crate::domain::review::Role;
    context::finish(async {
        let (pool, _) = context::signed_in(Role::Admin, "change registry settings").await?;
        let settings = crate::registry::setting::load(&pool).await?;
        Ok(SettingsView {
            four_eyes: settings.four_eyes,
        })
    })
    .await
}

/// What a request four-eyes guards did, in words: `done` when it took effect.
#[cfg(feature = "ssr")]
fn guarded_message(
    outcome: &crate::registry::guard::Outcome,
    done: &str,
    what: &crate::registry::guard::Guarded,
) -> String {
    use crate::registry::guard::Outcome;
    match outcome {
        Outcome::Applied => done.to_owned(),
        Outcome::Requested => format!(
            "{} is requested: four-eyes is on, so another admin has to ask for it too",
            what.describe()
        ),
        Outcome::Confirmed { requested_by } => {
            format!("{done} (asked for by {requested_by}, confirmed now)")
        }
    }
}

/// Turns four-eyes on or off for every server and command line: `POST /api/set_four_eyes` with
/// `four_eyes` (`on` or `off`). Admins only; audited as `setting.changed` with the old and new
/// value. A form post from a page goes back to it.
///
/// # Errors
/// 401, 403; 400 for a value other than `on` or `off`.
#[server(prefix = "/api", endpoint = "set_four_eyes")]
pub async fn set_four_eyes(four_eyes: String) -> Result<String, AppError> {
    use crate::domain::review::Role;
    use crate::registry::setting::{self, on_off};
    context::finish(async {
        let (pool, me) = context::signed_in(Role::Admin, "change registry settings").await?;
        let on = match four_eyes.trim() {
            "on" => true,
            "off" => false,
            other => {
                return Err(AppError::Invalid(format!(
                    "unknown four-eyes value \"{other}\": expected on or off"
                )))
            }
        };
        if on {
            let change = setting::turn_on_four_eyes(&pool, &me.username).await?;
            tracing::info!(setting.four_eyes = on, actor = %me.username, changed = change.changed(), "four-eyes set");
            return Ok(format!("four-eyes is {}", on_off(change.new)));
        }
        let what = crate::registry::guard::Guarded::FourEyesOff;
        let outcome = crate::registry::guard::request(&pool, &me, &me.username, &what).await?;
        Ok(guarded_message(&outcome, "four-eyes is off", &what))
    })
    .await
}

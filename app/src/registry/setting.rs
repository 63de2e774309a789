//! Registry settings: rules that belong to the registry, not to a process. Every server and
//! command line reads them from the database inside the transaction they apply to, so a
//! process started without some flag cannot bypass them. Every change is audited.

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool, Row};

use super::audit::{self, NewEvent};

/// The registry's settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Four-eyes: destructive, breaking and security changes need the approvals of two admins
    /// (the second neither the first approver nor the change's author).
    pub four_eyes: bool,
}

/// What changing a setting did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingChange {
    /// The value before.
    pub old: bool,
    /// The value now.
    pub new: bool,
}

impl SettingChange {
    /// Whether the value changed (an unchanged value writes no audit event).
    #[must_use]
    pub fn changed(self) -> bool {
        self.old != self.new
    }
}

/// `on` or `off`.
#[must_use]
pub fn on_off(value: bool) -> &'static str {
    if value {
        "on"
    } else {
        "off"
    }
}

/// The settings as of now.
///
/// # Errors
/// Database errors.
pub async fn load(pool: &PgPool) -> Result<Settings, sqlx::Error> {
    let four_eyes = sqlx::query_scalar("select four_eyes from registry_setting")
        .fetch_one(pool)
        .await?;
    Ok(Settings { four_eyes })
}

/// Whether four-eyes is on, read inside the caller's transaction. The row is share-locked, so
/// a concurrent change of the setting waits for this transaction to end: an approval never
/// commits under a rule that was changed while it ran.
///
/// # Errors
/// Database errors.
pub async fn four_eyes(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!("select four_eyes from schemagate.registry_setting for share")
        .fetch_one(conn)
        .await
}

/// Turns four-eyes on as `actor` (an admin's name, or `cli:<user>`), audited as
/// `setting.changed` with the old and new value. Callers check that the actor may. Turning it
/// off goes through [`super::guard::request`]: while it is on, that needs two admins.
///
/// # Errors
/// Database errors.
pub async fn turn_on_four_eyes(pool: &PgPool, actor: &str) -> Result<SettingChange, sqlx::Error> {
    let on = true;
    let mut tx = pool.begin().await?;
    let row = sqlx::query("select four_eyes from registry_setting for update")
        .fetch_one(&mut *tx)
        .await?;
    let change = SettingChange {
        old: row.try_get("four_eyes")?,
        new: on,
    };
    if !change.changed() {
        return Ok(change);
    }
    sqlx::query("update registry_setting set four_eyes = $1, updated_at = now()")
        .bind(on)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        NewEvent {
            actor,
            action: "setting.changed",
            change_id: None,
            package: None,
            // Strings only: audit details are hashed as stored.
            details: serde_json::json!({
                "setting": "four_eyes",
                "old": on_off(change.old),
                "new": on_off(change.new),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(change)
}

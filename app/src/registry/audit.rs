//! The audit log: append-only (the database refuses UPDATE, DELETE and TRUNCATE) and
//! hash-chained, so an edited, deleted or reordered event is detectable even by someone who
//! bypassed the trigger. Events are sealed with a key kept outside the database ([`seal`]), so
//! a chain rewritten with recomputed hashes is detectable too, and the head can be anchored
//! outside the database, so deleted newest events are detectable as well.

pub mod seal;
mod verify;

pub use verify::{
    anchor, check_anchor, registry_identity, verify, verify_cached, verify_events,
    verify_events_from, verify_with, ChainProblem, Checkpoint, Verification,
};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool, Row};
use time::OffsetDateTime;

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Serializes appenders so that each event links to the one before it. A transaction-level
/// advisory lock: released at commit or rollback, and safe behind transaction poolers.
const CHAIN_LOCK: i64 = 0x5343_4845_4d41_0001;

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// Who acted: an account name, `system`, or `cli:<user>`.
    pub actor: &'a str,
    /// What happened, dotted: `change.approved`, `account.created`, `scan`.
    pub action: &'a str,
    /// The schema change concerned, if any.
    pub change_id: Option<&'a str>,
    /// The package concerned, if any.
    pub package: Option<&'a str>,
    /// Anything else worth keeping (never secrets). Integers and strings only, so that the
    /// encoding that is hashed survives the trip through `jsonb` unchanged.
    pub details: serde_json::Value,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the chain, from 1 without gaps.
    pub seq: i64,
    /// When it happened (microsecond precision, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who acted.
    pub actor: String,
    /// What happened.
    pub action: String,
    /// The schema change concerned.
    pub change_id: Option<String>,
    /// The package concerned.
    pub package: Option<String>,
    /// Further details.
    pub details: serde_json::Value,
    /// Hash of the previous event.
    pub prev_hash: String,
    /// Hash of this event's canonical encoding and `prev_hash`.
    pub hash: String,
    /// The seal: HMAC of `seq` and `hash` under the audit key (none for events written
    /// without a key).
    #[serde(default)]
    pub mac: Option<String>,
}

impl AuditEvent {
    /// The hash this event must carry, computed from its content and `prev_hash`.
    pub fn expected_hash(&self) -> String {
        chain_hash(
            &self.prev_hash,
            self.seq,
            self.at,
            &self.actor,
            &self.action,
            self.change_id.as_deref(),
            self.package.as_deref(),
            &self.details,
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn chain_hash(
    prev_hash: &str,
    seq: i64,
    at: OffsetDateTime,
    actor: &str,
    action: &str,
    change_id: Option<&str>,
    package: Option<&str>,
    details: &serde_json::Value,
) -> String {
    let micros = at.unix_timestamp_nanos() / 1_000;
    // serde_json's maps are ordered by key, so this encoding is canonical.
    let encoded = serde_json::json!([
        prev_hash,
        seq,
        micros.to_string(),
        actor,
        action,
        change_id,
        package,
        details
    ]);
    let digest = Sha256::digest(encoded.to_string().as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The action of the event that registers an audit key: from it on, every event must be sealed.
pub const KEY_REGISTERED: &str = "audit.key_registered";

/// The action of the event that rotates the audit key (`from` → `to`): sealed with the old key,
/// and every later event with the new one.
pub const KEY_ROTATED: &str = "audit.key_rotated";

/// Appends `event` inside the caller's transaction, sealed with the installed key (if any).
///
/// # Errors
/// Database errors.
pub async fn append(
    conn: &mut PgConnection,
    event: NewEvent<'_>,
) -> Result<AuditEvent, sqlx::Error> {
    append_sealed(conn, event, seal::installed().as_deref()).await
}

/// Appends `event`, sealed with `key` (if any).
async fn append_sealed(
    conn: &mut PgConnection,
    event: NewEvent<'_>,
    key: Option<&seal::AuditKey>,
) -> Result<AuditEvent, sqlx::Error> {
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(CHAIN_LOCK)
        .execute(&mut *conn)
        .await?;
    let last: Option<(i64, String)> =
        sqlx::query_as("select seq, hash from audit_event order by seq desc limit 1")
            .fetch_optional(&mut *conn)
            .await?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS_HASH.to_string()),
    };
    // Read under the chain lock: a rotation committed before this event seals it with the new key.
    let rotated;
    let key = match key {
        Some(key) => {
            let registered: Option<String> =
                sqlx::query_scalar("select fingerprint from audit_key")
                    .fetch_optional(&mut *conn)
                    .await?;
            match registered {
                Some(registered) if registered != key.fingerprint() => {
                    rotated = rotated_key(key, &registered)?;
                    Some(&rotated)
                }
                _ => Some(key),
            }
        }
        None => None,
    };
    let now = OffsetDateTime::now_utc();
    // PostgreSQL keeps microseconds; hash exactly what is stored.
    let at = now
        .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now);
    let mut stored = AuditEvent {
        seq,
        at,
        actor: event.actor.to_string(),
        action: event.action.to_string(),
        change_id: event.change_id.map(str::to_string),
        package: event.package.map(str::to_string),
        details: event.details,
        prev_hash,
        hash: String::new(),
        mac: None,
    };
    stored.hash = stored.expected_hash();
    stored.mac = key.map(|key| key.event_mac(stored.seq, &stored.hash));
    sqlx::query(
        "insert into audit_event (seq, at, actor, action, change_id, package, details, prev_hash, hash, mac)
         values ($1, $2, $3, $4, $5::uuid, $6, $7, $8, $9, $10)",
    )
    .bind(stored.seq)
    .bind(stored.at)
    .bind(&stored.actor)
    .bind(&stored.action)
    .bind(&stored.change_id)
    .bind(&stored.package)
    .bind(&stored.details)
    .bind(&stored.prev_hash)
    .bind(&stored.hash)
    .bind(&stored.mac)
    .execute(&mut *conn)
    .await?;
    Ok(stored)
}

/// The key another process rotated this one into: read again from the key file they share and
/// installed, when its current key is the one the registry names now.
fn rotated_key(key: &seal::AuditKey, registered: &str) -> Result<seal::AuditKey, sqlx::Error> {
    match key.reread() {
        Ok(Some(fresh)) if fresh.fingerprint() == registered => {
            tracing::info!(key = %registered, "the audit key was rotated: sealing with the new key");
            seal::install(fresh.clone());
            Ok(fresh)
        }
        _ => Err(sqlx::Error::Configuration(
            format!(
                "the registry's audit key was rotated to {registered}, but {} holds another: give this process the rotated key file",
                key.source
            )
            .into(),
        )),
    }
}

/// Appends `event` in a transaction of its own.
///
/// # Errors
/// Database errors.
pub async fn append_alone(pool: &PgPool, event: NewEvent<'_>) -> Result<AuditEvent, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let stored = append(&mut tx, event).await?;
    tx.commit().await?;
    Ok(stored)
}

/// Which events to list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Only this actor.
    pub actor: Option<String>,
    /// Only actions starting with this (`change.` matches every change event).
    pub action: Option<String>,
    /// Only this package.
    pub package: Option<String>,
    /// Only this change.
    pub change_id: Option<String>,
    /// Only events at or after this time.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub since: Option<OffsetDateTime>,
    /// Only events before this time.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub until: Option<OffsetDateTime>,
    /// At most this many (newest first); none means all, oldest first.
    pub limit: Option<i64>,
    /// Skip this many first (for pages of a limited, newest-first list).
    #[serde(default)]
    pub offset: Option<i64>,
}

const SELECT_EVENT: &str = "select seq, at, actor, action, change_id::text as change_id, package,
    details, prev_hash, hash, mac from audit_event";

fn from_row(row: &sqlx::postgres::PgRow) -> Result<AuditEvent, sqlx::Error> {
    Ok(AuditEvent {
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        change_id: row.try_get("change_id")?,
        package: row.try_get("package")?,
        details: row.try_get("details")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
        mac: row.try_get("mac")?,
    })
}

/// Events matching `filter`: newest first when limited, otherwise the whole chain in order.
///
/// # Errors
/// Database errors.
pub async fn list(pool: &PgPool, filter: &AuditFilter) -> Result<Vec<AuditEvent>, sqlx::Error> {
    let order = if filter.limit.is_some() {
        "desc"
    } else {
        "asc"
    };
    let sql = format!(
        "{SELECT_EVENT}
         where ($1::text is null or actor = $1)
           and ($2::text is null or action like $2 || '%')
           and ($3::text is null or package = $3)
           and ($4::uuid is null or change_id = $4::uuid)
           and ($5::timestamptz is null or at >= $5)
           and ($6::timestamptz is null or at < $6)
         order by seq {order}
         limit $7 offset $8"
    );
    let rows = sqlx::query(&sql)
        .bind(&filter.actor)
        .bind(&filter.action)
        .bind(&filter.package)
        .bind(&filter.change_id)
        .bind(filter.since)
        .bind(filter.until)
        .bind(filter.limit.unwrap_or(i64::MAX))
        .bind(filter.offset.unwrap_or(0).max(0))
        .fetch_all(pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// How many events match `filter` (its limit and offset ignored).
///
/// # Errors
/// Database errors.
pub async fn count(pool: &PgPool, filter: &AuditFilter) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from audit_event
         where ($1::text is null or actor = $1)
           and ($2::text is null or action like $2 || '%')
           and ($3::text is null or package = $3)
           and ($4::uuid is null or change_id = $4::uuid)
           and ($5::timestamptz is null or at >= $5)
           and ($6::timestamptz is null or at < $6)",
    )
    .bind(&filter.actor)
    .bind(&filter.action)
    .bind(&filter.package)
    .bind(&filter.change_id)
    .bind(filter.since)
    .bind(filter.until)
    .fetch_one(pool)
    .await
}

/// `events` as RFC 4180 CSV with a header row (CRLF line ends; `details` as compact JSON).
pub fn to_csv(events: &[AuditEvent]) -> String {
    fn field(value: &str) -> String {
        if value.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", value.replace('"', "\"\""))
        } else {
            value.to_string()
        }
    }
    let mut out =
        String::from("seq,at,actor,action,change_id,package,details,prev_hash,hash,mac\r\n");
    for event in events {
        let at = event
            .at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let row = [
            event.seq.to_string(),
            at,
            event.actor.clone(),
            event.action.clone(),
            event.change_id.clone().unwrap_or_default(),
            event.package.clone().unwrap_or_default(),
            event.details.to_string(),
            event.prev_hash.clone(),
            event.hash.clone(),
            event.mac.clone().unwrap_or_default(),
        ];
        out.push_str(
            &row.iter()
                .map(|value| field(value))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    out
}

/// Why the audit key does not fit the registry.
#[derive(Debug, thiserror::Error)]
pub enum KeyRegistrationError {
    /// The registry's events are sealed with another key.
    #[error("the audit log of this registry is sealed with another key (fingerprint {registered}); the key from {origin} has fingerprint {ours}: give every schemagate process of this registry the same audit key")]
    Mismatch {
        /// The registered key's fingerprint.
        registered: String,
        /// This key's fingerprint.
        ours: String,
        /// Where this key came from.
        origin: String,
    },
    /// The registry's events are sealed, but this process has no key.
    #[error("the audit log of this registry is sealed (key fingerprint {registered}) but no audit key is configured: set SCHEMAGATE_AUDIT_KEY_FILE to the key file the other processes use")]
    Missing {
        /// The registered key's fingerprint.
        registered: String,
    },
    /// No key is registered yet, so there is none to rotate.
    #[error("no audit key is registered for this registry yet: start schemagate once with its key before rotating it")]
    NothingToRotate,
    /// The database failed.
    #[error("database error while checking the audit key")]
    Database(#[from] sqlx::Error),
}

/// Rotates the registry's audit key from `key` to `next`, as `actor`: one event
/// (`audit.key_rotated`, from and to fingerprints) sealed with `key`, after which every event is
/// sealed with `next`. The caller puts `next`'s key file in place once this returns.
///
/// # Errors
/// [`KeyRegistrationError::Mismatch`] when `key` is not the registered key,
/// [`KeyRegistrationError::NothingToRotate`] when none is registered; database errors.
pub async fn rotate_key(
    pool: &PgPool,
    actor: &str,
    key: &seal::AuditKey,
    next: &seal::AuditKey,
) -> Result<AuditEvent, KeyRegistrationError> {
    let mut tx = pool.begin().await?;
    let registered: Option<String> =
        sqlx::query_scalar("select fingerprint from audit_key for update")
            .fetch_optional(&mut *tx)
            .await?;
    match registered {
        Some(registered) if registered == key.fingerprint() => {}
        Some(registered) => {
            return Err(KeyRegistrationError::Mismatch {
                registered,
                ours: key.fingerprint(),
                origin: key.source.clone(),
            })
        }
        None => return Err(KeyRegistrationError::NothingToRotate),
    }
    let event = NewEvent {
        actor,
        action: KEY_ROTATED,
        change_id: None,
        package: None,
        details: serde_json::json!({"from": key.fingerprint(), "to": next.fingerprint()}),
    };
    let stored = append_sealed(&mut tx, event, Some(key)).await?;
    sqlx::query("update audit_key set fingerprint = $1, registered_at = now()")
        .bind(next.fingerprint())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(stored)
}

/// Records `key`'s fingerprint as the registry's audit key on first use, and refuses a key (or
/// no key) that differs from the one recorded. This guards against configuration mistakes
/// (two servers with different keys); it is not what makes the seals trustworthy.
///
/// # Errors
/// [`KeyRegistrationError`].
pub async fn register_key(
    pool: &PgPool,
    key: Option<&seal::AuditKey>,
) -> Result<(), KeyRegistrationError> {
    if let Some(key) = key {
        let mut tx = pool.begin().await?;
        sqlx::query("insert into audit_key (fingerprint) values ($1) on conflict do nothing")
            .bind(key.fingerprint())
            .execute(&mut *tx)
            .await?;
        let registered: Option<(String, bool)> =
            sqlx::query_as("select fingerprint, registration_recorded from audit_key for update")
                .fetch_optional(&mut *tx)
                .await?;
        // Written once: a start after the event was removed does not write it again (the log
        // then fails verification, as it should).
        if let Some((fingerprint, false)) = &registered {
            if *fingerprint == key.fingerprint() {
                let event = NewEvent {
                    actor: "system",
                    action: KEY_REGISTERED,
                    change_id: None,
                    package: None,
                    details: serde_json::json!({"fingerprint": key.fingerprint()}),
                };
                append_sealed(&mut tx, event, Some(key)).await?;
                sqlx::query("update audit_key set registration_recorded = true")
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
    }
    let registered: Option<String> = sqlx::query_scalar("select fingerprint from audit_key")
        .fetch_optional(pool)
        .await?;
    match (registered, key) {
        (Some(registered), Some(key)) if registered != key.fingerprint() => {
            Err(KeyRegistrationError::Mismatch {
                registered,
                ours: key.fingerprint(),
                origin: key.source.clone(),
            })
        }
        (Some(registered), None) => Err(KeyRegistrationError::Missing { registered }),
        _ => Ok(()),
    }
}

//! The audit log: append-only (the database refuses UPDATE, DELETE and TRUNCATE) and
//! hash-chained, so an edited, deleted or reordered event is detectable even by someone who
//! bypassed the trigger.

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

/// Appends `event` inside the caller's transaction.
///
/// # Errors
/// Database errors.
pub async fn append(
    conn: &mut PgConnection,
    event: NewEvent<'_>,
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
    };
    stored.hash = stored.expected_hash();
    sqlx::query(
        "insert into audit_event (seq, at, actor, action, change_id, package, details, prev_hash, hash)
         values ($1, $2, $3, $4, $5::uuid, $6, $7, $8, $9)",
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
    .execute(&mut *conn)
    .await?;
    Ok(stored)
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
    details, prev_hash, hash from audit_event";

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
           and ($4::text is null or change_id::text = $4)
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
           and ($4::text is null or change_id::text = $4)
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
    let mut out = String::from("seq,at,actor,action,change_id,package,details,prev_hash,hash\r\n");
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

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// How many events were checked.
    pub events: i64,
    /// The first problem, if any.
    pub problem: Option<ChainProblem>,
}

/// A break in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ChainProblem {
    /// An event's content no longer matches its hash (it was edited).
    #[error("event {seq} was altered: its content does not match its hash")]
    Altered {
        /// The event.
        seq: i64,
    },
    /// An event does not link to the one before it (one was deleted, inserted or reordered).
    #[error("event {seq} does not follow event {previous}: the chain is broken (deleted, inserted or reordered events)")]
    Broken {
        /// The event.
        seq: i64,
        /// The event before it in the table.
        previous: i64,
    },
    /// Sequence numbers skip (events deleted).
    #[error("event {expected} is missing (found {found} next)")]
    Missing {
        /// The sequence number that should come next.
        expected: i64,
        /// The one found instead.
        found: i64,
    },
}

/// Walks the whole chain and reports the first event that does not check out.
///
/// # Errors
/// Database errors.
pub async fn verify(pool: &PgPool) -> Result<Verification, sqlx::Error> {
    let events = list(pool, &AuditFilter::default()).await?;
    Ok(verify_events(&events))
}

/// Checks a chain held in memory, oldest first.
pub fn verify_events(events: &[AuditEvent]) -> Verification {
    let mut previous: Option<&AuditEvent> = None;
    for event in events {
        let expected_seq = previous.map_or(1, |p| p.seq + 1);
        let expected_prev = previous.map_or(GENESIS_HASH, |p| p.hash.as_str());
        let problem = if event.seq != expected_seq {
            Some(ChainProblem::Missing {
                expected: expected_seq,
                found: event.seq,
            })
        } else if event.expected_hash() != event.hash {
            Some(ChainProblem::Altered { seq: event.seq })
        } else if event.prev_hash != expected_prev {
            Some(ChainProblem::Broken {
                seq: event.seq,
                previous: previous.map_or(0, |p| p.seq),
            })
        } else {
            None
        };
        if problem.is_some() {
            return Verification {
                events: events.len() as i64,
                problem,
            };
        }
        previous = Some(event);
    }
    Verification {
        events: events.len() as i64,
        problem: None,
    }
}

//! The audit log: append-only (the database refuses UPDATE, DELETE and TRUNCATE) and
//! hash-chained, so an edited, deleted or reordered event is detectable even by someone who
//! bypassed the trigger. Events are sealed with a key kept outside the database ([`seal`]), so
//! a chain rewritten with recomputed hashes is detectable too, and the head can be anchored
//! outside the database, so deleted newest events are detectable as well.

pub mod seal;

use std::collections::HashMap;
use std::sync::Mutex;

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

/// A verified position in the chain: the event at `seq` had `hash` (and, when `sealed`, a seal
/// that matched the key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The event's position (0: before the first event).
    pub seq: i64,
    /// Its hash ([`GENESIS_HASH`] at position 0).
    pub hash: String,
    /// Whether sealing had begun by then (a later unsealed event is then a problem).
    pub sealed: bool,
}

impl Checkpoint {
    /// The position before the first event.
    pub fn genesis() -> Checkpoint {
        Checkpoint {
            seq: 0,
            hash: GENESIS_HASH.to_string(),
            sealed: false,
        }
    }
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// How many events the chain holds (the newest event's position).
    pub events: i64,
    /// How many events this verification read and checked (fewer when it went on from a
    /// checkpoint).
    pub checked: i64,
    /// Whether seals were checked (an audit key was available).
    pub sealed: bool,
    /// Events at the start of the chain written before sealing began (a newer sealed event
    /// vouches for them through the hash chain).
    pub unsealed_prefix: i64,
    /// The newest event verified (where a later verification may go on from).
    pub head: Checkpoint,
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
    /// An event's seal does not match the audit key.
    #[error("event {seq} carries a seal that does not match the audit key: it was written or rewritten without the key")]
    Forged {
        /// The event.
        seq: i64,
    },
    /// An event without a seal after sealed events.
    #[error("event {seq} carries no seal although earlier events do: it was written or rewritten without the audit key")]
    Unsealed {
        /// The event.
        seq: i64,
    },
    /// The chain ends before an event that was seen earlier (anchored or verified).
    #[error("the log ends at event {last} but event {expected} existed (anchored or verified before): events were deleted from its end")]
    Truncated {
        /// The event that existed.
        expected: i64,
        /// The newest event now.
        last: i64,
    },
    /// An event no longer has the hash it had when anchored or verified.
    #[error("event {seq} no longer has the hash it had when anchored or verified: the log was rewritten")]
    Diverged {
        /// The event.
        seq: i64,
    },
    /// The event registering the audit key lost its seal.
    #[error("event {seq} registers the audit key but carries no seal: the log was rewritten without the key")]
    RegistrationUnsealed {
        /// The event.
        seq: i64,
    },
    /// Sealing began with a key whose registration the log no longer holds.
    #[error("no event registers the audit key {key}: the log's history was rewritten (its key registration removed or its seals stripped)")]
    Unregistered {
        /// The key's fingerprint.
        key: String,
    },
    /// The anchor's own seal does not match the audit key.
    #[error("the anchor was not written with this audit key (key {anchor_key}, this key {key}) or was altered")]
    AnchorForged {
        /// The fingerprint the anchor names.
        anchor_key: String,
        /// This key's fingerprint.
        key: String,
    },
}

/// Walks events in order from a checkpoint.
struct Walker<'a> {
    key: Option<&'a seal::AuditKey>,
    head: Checkpoint,
    checked: i64,
    unsealed_prefix: i64,
    /// Whether the event registering `key` was seen.
    registered: bool,
    /// Whether the walk started at the first event (else at a verified checkpoint).
    from_genesis: bool,
}

impl Walker<'_> {
    fn step(&mut self, event: &AuditEvent) -> Result<(), ChainProblem> {
        let expected_seq = self.head.seq + 1;
        if event.seq != expected_seq {
            return Err(ChainProblem::Missing {
                expected: expected_seq,
                found: event.seq,
            });
        }
        if event.expected_hash() != event.hash {
            return Err(ChainProblem::Altered { seq: event.seq });
        }
        if event.prev_hash != self.head.hash {
            return Err(ChainProblem::Broken {
                seq: event.seq,
                previous: self.head.seq,
            });
        }
        let mut sealed = self.head.sealed;
        if let Some(key) = self.key {
            let registers_key = event.action == KEY_REGISTERED
                && event.details["fingerprint"].as_str() == Some(key.fingerprint().as_str());
            if registers_key {
                // The registration itself is sealed: it cannot be stripped or moved.
                if event.mac.is_none() {
                    return Err(ChainProblem::RegistrationUnsealed { seq: event.seq });
                }
                self.registered = true;
            }
            match &event.mac {
                Some(mac) if key.event_mac_matches(event.seq, &event.hash, mac) => sealed = true,
                Some(_) => return Err(ChainProblem::Forged { seq: event.seq }),
                None if self.head.sealed => return Err(ChainProblem::Unsealed { seq: event.seq }),
                None => self.unsealed_prefix += 1,
            }
        }
        self.checked += 1;
        self.head = Checkpoint {
            seq: event.seq,
            hash: event.hash.clone(),
            sealed,
        };
        Ok(())
    }

    fn finish(self, events: i64, mut problem: Option<ChainProblem>) -> Verification {
        // Walked from the first event with a key: the key's registration must be there.
        if let (None, Some(key), true) = (&problem, self.key, self.from_genesis) {
            if !self.registered {
                problem = Some(ChainProblem::Unregistered {
                    key: key.fingerprint(),
                });
            }
        }
        Verification {
            events,
            checked: self.checked,
            sealed: self.key.is_some(),
            unsealed_prefix: self.unsealed_prefix,
            head: self.head,
            problem,
        }
    }
}

/// Checks a chain held in memory, oldest first, from `start` (the position before `events`),
/// checking seals when `key` is given.
pub fn verify_events_from(
    events: &[AuditEvent],
    key: Option<&seal::AuditKey>,
    start: Checkpoint,
) -> Verification {
    let from_genesis = start.seq == 0;
    let mut walker = Walker {
        key,
        head: start,
        checked: 0,
        unsealed_prefix: 0,
        registered: false,
        from_genesis,
    };
    let total = events
        .last()
        .map_or(walker.head.seq, |e| e.seq.max(walker.head.seq));
    for event in events {
        if let Err(problem) = walker.step(event) {
            return walker.finish(total, Some(problem));
        }
    }
    // An unsealed newest event means sealing has not begun (no key when it was written): only
    // acceptable while no event is sealed at all.
    walker.finish(total, None)
}

/// Checks a whole chain held in memory, oldest first (seals when `key` is given).
pub fn verify_events(events: &[AuditEvent], key: Option<&seal::AuditKey>) -> Verification {
    verify_events_from(events, key, Checkpoint::genesis())
}

/// Walks the whole chain, checking seals with the installed key (if any), and reports the
/// first event that does not check out.
///
/// # Errors
/// Database errors.
pub async fn verify(pool: &PgPool) -> Result<Verification, sqlx::Error> {
    let key = seal::installed();
    verify_with(pool, key.as_deref(), None).await
}

/// Verifies the chain with `key`: from `start` when given (after checking that the event there
/// still has the hash it had), otherwise from the first event.
///
/// # Errors
/// Database errors.
pub async fn verify_with(
    pool: &PgPool,
    key: Option<&seal::AuditKey>,
    start: Option<&Checkpoint>,
) -> Result<Verification, sqlx::Error> {
    let start = match start {
        Some(checkpoint) if checkpoint.seq > 0 => {
            if let Some(problem) = check_position(pool, checkpoint.seq, &checkpoint.hash).await? {
                let events = last_seq(pool).await?;
                return Ok(Verification {
                    events,
                    checked: 0,
                    sealed: key.is_some(),
                    unsealed_prefix: 0,
                    head: checkpoint.clone(),
                    problem: Some(problem),
                });
            }
            checkpoint.clone()
        }
        _ => Checkpoint::genesis(),
    };
    let rows = sqlx::query(&format!("{SELECT_EVENT} where seq > $1 order by seq"))
        .bind(start.seq)
        .fetch_all(pool)
        .await?;
    let events = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(verify_events_from(&events, key, start))
}

async fn last_seq(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select coalesce(max(seq), 0) from audit_event")
        .fetch_one(pool)
        .await
}

/// Whether the event at `seq` still exists with `hash` and content that matches it: `None`
/// when it does.
async fn check_position(
    pool: &PgPool,
    seq: i64,
    hash: &str,
) -> Result<Option<ChainProblem>, sqlx::Error> {
    if seq <= 0 {
        return Ok(None);
    }
    let row = sqlx::query(&format!("{SELECT_EVENT} where seq = $1"))
        .bind(seq)
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else {
        return Ok(Some(ChainProblem::Truncated {
            expected: seq,
            last: last_seq(pool).await?,
        }));
    };
    let event = from_row(&row)?;
    Ok(if event.hash != hash {
        Some(ChainProblem::Diverged { seq })
    } else if event.expected_hash() != event.hash {
        Some(ChainProblem::Altered { seq })
    } else {
        None
    })
}

/// The chain's newest event as an anchor sealed with `key` (position 0 for an empty chain).
///
/// # Errors
/// Database errors.
pub async fn anchor(pool: &PgPool, key: &seal::AuditKey) -> Result<seal::Anchor, sqlx::Error> {
    let head: Option<(i64, String)> =
        sqlx::query_as("select seq, hash from audit_event order by seq desc limit 1")
            .fetch_optional(pool)
            .await?;
    let (seq, hash) = head.unwrap_or((0, GENESIS_HASH.to_string()));
    Ok(key.anchor(seq, &hash, OffsetDateTime::now_utc()))
}

/// Whether the chain still reaches `anchor` unchanged: its seal matches `key`, and the event it
/// names exists with the hash it names. `None` when it does.
///
/// # Errors
/// Database errors.
pub async fn check_anchor(
    pool: &PgPool,
    key: &seal::AuditKey,
    anchor: &seal::Anchor,
) -> Result<Option<ChainProblem>, sqlx::Error> {
    if !key.anchor_matches(anchor) {
        return Ok(Some(ChainProblem::AnchorForged {
            anchor_key: anchor.key.clone(),
            key: key.fingerprint(),
        }));
    }
    check_position(pool, anchor.seq, &anchor.hash).await
}

/// The position up to which each database's chain was verified by this process (for the audit
/// page): keyed by server and database.
static VERIFIED: Mutex<Option<HashMap<String, Checkpoint>>> = Mutex::new(None);

/// Verifies the chain incrementally for the audit page: from the position this process last
/// verified (after checking that the event there still has its hash, so rewrites and deleted
/// newest events since then are caught), with the installed key.
///
/// # Errors
/// Database errors.
pub async fn verify_cached(pool: &PgPool) -> Result<Verification, sqlx::Error> {
    let options = pool.connect_options();
    let identity = format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    );
    let start = VERIFIED
        .lock()
        .ok()
        .and_then(|cache| cache.as_ref()?.get(&identity).cloned());
    let key = seal::installed();
    let verification = verify_with(pool, key.as_deref(), start.as_ref()).await?;
    if verification.problem.is_none() {
        if let Ok(mut cache) = VERIFIED.lock() {
            cache
                .get_or_insert_with(HashMap::new)
                .insert(identity, verification.head.clone());
        }
    }
    Ok(verification)
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
    /// The database failed.
    #[error("database error while checking the audit key")]
    Database(#[from] sqlx::Error),
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

//! Verifying the chain: each event's hash, its link to the one before, and its seal under the
//! key in effect at its position (the registered key, then each rotation's new key), from the
//! first event or from a verified checkpoint; and anchors of the chain's head.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use time::OffsetDateTime;

use super::{from_row, seal, AuditEvent, GENESIS_HASH, KEY_REGISTERED, KEY_ROTATED, SELECT_EVENT};

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
    /// An event sealed with a key the verifier does not hold.
    #[error("event {seq} is sealed with the audit key {key}, which the key file given does not hold: verify with the key file that holds every key (a rotation keeps the retired keys in it)")]
    UnknownKey {
        /// The event.
        seq: i64,
        /// The fingerprint of the key in effect there.
        key: String,
    },
    /// A rotation that does not start from the key in effect.
    #[error("event {seq} rotates the audit key from {from}, but {in_effect} was in effect: the log was rewritten")]
    RotationMismatch {
        /// The event.
        seq: i64,
        /// The key it claims to retire.
        from: String,
        /// The key in effect.
        in_effect: String,
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
    /// The verifier's key, with the keys it retired.
    key: Option<&'a seal::AuditKey>,
    /// The fingerprint of the key that seals events at the walk's position.
    in_effect: String,
    head: Checkpoint,
    checked: i64,
    unsealed_prefix: i64,
    /// Whether the event registering the first key was seen.
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
        let sealed = match self.key {
            Some(keyring) => self.check_seal(keyring, event)?,
            None => self.head.sealed,
        };
        self.checked += 1;
        self.head = Checkpoint {
            seq: event.seq,
            hash: event.hash.clone(),
            sealed,
        };
        Ok(())
    }

    /// Checks `event`'s seal with the key in effect; whether sealing has begun after it.
    fn check_seal(
        &mut self,
        keyring: &seal::AuditKey,
        event: &AuditEvent,
    ) -> Result<bool, ChainProblem> {
        let fingerprint = |name: &str| event.details[name].as_str().unwrap_or_default().to_owned();
        let registers_key =
            event.action == KEY_REGISTERED && fingerprint("fingerprint") == self.in_effect;
        let rotates_key = event.action == KEY_ROTATED;
        // Registrations and rotations are sealed themselves: they cannot be stripped or moved.
        if (registers_key || rotates_key) && event.mac.is_none() {
            return Err(ChainProblem::RegistrationUnsealed { seq: event.seq });
        }
        self.registered |= registers_key;
        let mut sealed = self.head.sealed;
        match &event.mac {
            Some(mac) => {
                let Some(key) = keyring.find(&self.in_effect) else {
                    return Err(ChainProblem::UnknownKey {
                        seq: event.seq,
                        key: self.in_effect.clone(),
                    });
                };
                if !key.event_mac_matches(event.seq, &event.hash, mac) {
                    return Err(ChainProblem::Forged { seq: event.seq });
                }
                sealed = true;
            }
            None if self.head.sealed => return Err(ChainProblem::Unsealed { seq: event.seq }),
            None => self.unsealed_prefix += 1,
        }
        if rotates_key {
            if fingerprint("from") != self.in_effect {
                return Err(ChainProblem::RotationMismatch {
                    seq: event.seq,
                    from: fingerprint("from"),
                    in_effect: self.in_effect.clone(),
                });
            }
            self.in_effect = fingerprint("to");
        }
        Ok(sealed)
    }

    fn finish(self, events: i64, mut problem: Option<ChainProblem>) -> Verification {
        // Walked from the first event with a key: the first key's registration must be there.
        if let (None, Some(_), true) = (&problem, self.key, self.from_genesis) {
            if !self.registered {
                problem = Some(ChainProblem::Unregistered {
                    key: self.in_effect.clone(),
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

/// The key in effect before the first of `events`: the key the first rotation among them
/// retires, else the key the first registration among them registers, else `key` itself.
fn key_in_effect_before(events: &[AuditEvent], key: &seal::AuditKey) -> String {
    events
        .iter()
        .find_map(|event| match event.action.as_str() {
            KEY_ROTATED => event.details["from"].as_str(),
            KEY_REGISTERED => event.details["fingerprint"].as_str(),
            _ => None,
        })
        .map_or_else(|| key.fingerprint(), str::to_owned)
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
        in_effect: key.map_or_else(String::new, |key| key_in_effect_before(events, key)),
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

/// Which registry `pool` reaches (`host:port/database`): what verified heads are kept under.
#[must_use]
pub fn registry_identity(pool: &PgPool) -> String {
    let options = pool.connect_options();
    format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    )
}

/// Verifies the chain incrementally for the audit page: from the position this process last
/// verified (after checking that the event there still has its hash, so rewrites and deleted
/// newest events since then are caught), with the installed key.
///
/// # Errors
/// Database errors.
pub async fn verify_cached(pool: &PgPool) -> Result<Verification, sqlx::Error> {
    let identity = registry_identity(pool);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A key file holding `lines` (retired keys first), read back.
    fn keyring(name: &str, lines: &[&str]) -> seal::AuditKey {
        let dir = std::env::temp_dir().join(format!("schemagate-keyring-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, lines.join("\n")).unwrap();
        seal::AuditKey::load_or_create(&path).unwrap()
    }

    const A: &str = "aa00000000000000000000000000000000000000000000000000000000000000";
    const B: &str = "bb00000000000000000000000000000000000000000000000000000000000000";
    const C: &str = "cc00000000000000000000000000000000000000000000000000000000000000";

    /// Appends an event to `chain`, sealed with `key` when given.
    fn push(
        chain: &mut Vec<AuditEvent>,
        action: &str,
        details: serde_json::Value,
        key: Option<&seal::AuditKey>,
    ) {
        let mut event = AuditEvent {
            seq: chain.len() as i64 + 1,
            at: OffsetDateTime::UNIX_EPOCH,
            actor: "system".to_owned(),
            action: action.to_owned(),
            change_id: None,
            package: None,
            details,
            prev_hash: chain
                .last()
                .map_or_else(|| GENESIS_HASH.to_owned(), |e| e.hash.clone()),
            hash: String::new(),
            mac: None,
        };
        event.hash = event.expected_hash();
        event.mac = key.map(|key| key.event_mac(event.seq, &event.hash));
        chain.push(event);
    }

    /// Re-chains from the first event, keeping each event's seal, as a writer without keys can.
    fn rechain(chain: &mut [AuditEvent]) {
        for i in 0..chain.len() {
            chain[i].seq = i as i64 + 1;
            chain[i].prev_hash = if i == 0 {
                GENESIS_HASH.to_owned()
            } else {
                chain[i - 1].hash.clone()
            };
            chain[i].hash = chain[i].expected_hash();
        }
    }

    #[test]
    fn a_rotation_hands_sealing_to_the_new_key_and_cannot_be_forged_removed_or_skipped() {
        let (a, b) = (keyring("a", &[A]), keyring("b", &[B]));
        let both = keyring("ab", &[A, B]);
        let mut chain = Vec::new();
        let registration = serde_json::json!({"fingerprint": a.fingerprint()});
        push(&mut chain, KEY_REGISTERED, registration, Some(&a));
        push(&mut chain, "test.event", serde_json::json!({}), Some(&a));
        let rotation = serde_json::json!({"from": a.fingerprint(), "to": b.fingerprint()});
        push(&mut chain, KEY_ROTATED, rotation, Some(&a));
        push(&mut chain, "test.event", serde_json::json!({}), Some(&b));
        assert_eq!(verify_events(&chain, Some(&both)).problem, None);
        // From a checkpoint after the rotation, the new key alone checks what follows.
        let head = verify_events(&chain[..3], Some(&both)).head;
        assert_eq!(
            verify_events_from(&chain[3..], Some(&b), head).problem,
            None
        );

        // Without the retired key, the events it sealed cannot be checked.
        assert_eq!(
            verify_events(&chain, Some(&b)).problem,
            Some(ChainProblem::UnknownKey {
                seq: 1,
                key: a.fingerprint()
            })
        );
        // An event sealed with the old key after the rotation does not match.
        let mut stale = chain.clone();
        stale.pop();
        push(&mut stale, "test.event", serde_json::json!({}), Some(&a));
        assert_eq!(
            verify_events(&stale, Some(&both)).problem,
            Some(ChainProblem::Forged { seq: 4 })
        );
        // The rotation removed and the rest re-chained: the new key's seal no longer matches.
        let mut removed = chain.clone();
        removed.remove(2);
        rechain(&mut removed);
        assert_eq!(
            verify_events(&removed, Some(&both)).problem,
            Some(ChainProblem::Forged { seq: 3 })
        );
        // A rotation to a key of one's own, sealed with that key: not the key in effect.
        let c = keyring("c", &[C]);
        let mut forged = chain[..2].to_vec();
        let own = serde_json::json!({"from": a.fingerprint(), "to": c.fingerprint()});
        push(&mut forged, KEY_ROTATED, own, Some(&c));
        assert_eq!(
            verify_events(&forged, Some(&keyring("ac", &[A, C]))).problem,
            Some(ChainProblem::Forged { seq: 3 })
        );
        // A rotation sealed by the key in effect must retire that key.
        let mut skipped = chain[..2].to_vec();
        let wrong = serde_json::json!({"from": c.fingerprint(), "to": b.fingerprint()});
        push(&mut skipped, KEY_ROTATED, wrong, Some(&a));
        assert_eq!(
            verify_events(&skipped, Some(&both)).problem,
            Some(ChainProblem::RotationMismatch {
                seq: 3,
                from: c.fingerprint(),
                in_effect: a.fingerprint()
            })
        );
    }
}

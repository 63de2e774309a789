//! The apply lease: one row in `apply_lease` that names the runner of `schemagate apply`.
//!
//! It lives in a table, not in a session-level advisory lock, so it works behind transaction
//! poolers (PgBouncer, RDS Proxy) where consecutive statements may use different server
//! connections. The holder keeps it alive with heartbeats; a holder that crashed stops beating
//! and its lease expires, after which the next runner takes it over. Every state change the job
//! makes first *fences* on the lease inside its own transaction (the row is locked and
//! extended, or the transaction is refused), so a runner that lost its lease cannot record
//! anything.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool, Row};
use time::OffsetDateTime;

/// The name of the restart job's lease row.
pub const LEASE_NAME: &str = "apply";

/// How long a lease lives without a heartbeat, unless configured otherwise.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(30);

/// Who holds the lease, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseHolder {
    /// The holder: `<host> pid <pid> run <token>`.
    pub holder: String,
    /// When it took the lease.
    #[serde(with = "time::serde::rfc3339")]
    pub acquired_at: OffsetDateTime,
    /// Its last heartbeat.
    #[serde(with = "time::serde::rfc3339")]
    pub heartbeat_at: OffsetDateTime,
    /// When the lease lapses without another heartbeat.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A lease this process holds.
#[derive(Debug, Clone)]
pub struct Lease {
    holder: String,
    ttl: Duration,
    /// The holder whose expired lease was taken over, if any.
    pub took_over_from: Option<String>,
    validity: Validity,
}

/// How long this process may still act on its lease: shared by every clone of a [`Lease`], and
/// updated by each successful heartbeat or fence. Work that must never overlap another
/// runner's (the migrate command) is stopped when [`Validity::expired`] says so: before the
/// lease could lapse in the database and be taken over.
#[derive(Debug, Clone)]
pub struct Validity {
    /// When the newest confirmed extension was sent (the lease lives `ttl` from a moment
    /// after it).
    confirmed: Arc<Mutex<Instant>>,
    /// Set when a heartbeat found the lease taken over.
    lost: Arc<AtomicBool>,
    ttl: Duration,
}

impl Validity {
    fn new(ttl: Duration, since: Instant) -> Validity {
        Validity {
            confirmed: Arc::new(Mutex::new(since)),
            lost: Arc::new(AtomicBool::new(false)),
            ttl,
        }
    }

    fn confirm(&self, sent: Instant) {
        if let Ok(mut confirmed) = self.confirmed.lock() {
            *confirmed = (*confirmed).max(sent);
        }
    }

    fn lose(&self) {
        self.lost.store(true, Ordering::SeqCst);
    }

    /// Whether work under the lease must stop now: it was taken over, or no extension was
    /// confirmed for five sixths of its lifetime (two heartbeats in a row failed), so it may
    /// lapse before the next one lands.
    pub fn expired(&self) -> bool {
        if self.lost.load(Ordering::SeqCst) {
            return true;
        }
        let confirmed = self
            .confirmed
            .lock()
            .map(|c| *c)
            .unwrap_or_else(|_| Instant::now());
        confirmed.elapsed() >= self.ttl * 5 / 6
    }
}

/// Why the lease could not be had, or was lost.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Another runner holds a live lease.
    #[error("the apply lease is held by {} (since {}, expires {})", .0.holder, rfc3339(.0.acquired_at), rfc3339(.0.expires_at))]
    Held(LeaseHolder),
    /// Another runner took the lease over after it expired (a heartbeat came too late).
    #[error("lost the apply lease{}", .now_held_by.as_ref().map_or(String::new(), |h| format!(" to {h}")))]
    Lost {
        /// Who holds it now, if anyone.
        now_held_by: Option<String>,
    },
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

fn seconds(ttl: Duration) -> f64 {
    ttl.as_secs_f64().max(0.001)
}

impl Lease {
    /// Takes the lease for `label` (`<host> pid <pid>`; a random run token is appended) when it
    /// is free or expired.
    ///
    /// # Errors
    /// [`LeaseError::Held`] naming the live holder; database errors.
    pub async fn acquire(pool: &PgPool, label: &str, ttl: Duration) -> Result<Lease, LeaseError> {
        loop {
            let sent = Instant::now();
            let row = sqlx::query(
                "with previous as (select holder, expires_at from apply_lease where name = $1)
                 insert into apply_lease as lease (name, holder, acquired_at, heartbeat_at, expires_at)
                 values ($1, $2 || ' run ' || left(gen_random_uuid()::text, 8), now(), now(),
                         now() + make_interval(secs => $3))
                 on conflict (name) do update
                     set holder = excluded.holder, acquired_at = excluded.acquired_at,
                         heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at
                     where lease.expires_at <= now()
                 returning holder, (select holder from previous) as previous",
            )
            .bind(LEASE_NAME)
            .bind(label)
            .bind(seconds(ttl))
            .fetch_optional(pool)
            .await?;
            if let Some(row) = row {
                let holder: String = row.try_get("holder")?;
                let previous: Option<String> = row.try_get("previous")?;
                return Ok(Lease {
                    holder,
                    ttl,
                    took_over_from: previous,
                    validity: Validity::new(ttl, sent),
                });
            }
            // Held: say by whom. The row may have been released in between; then try again.
            if let Some(current) = current_holder(pool).await? {
                return Err(LeaseError::Held(current));
            }
        }
    }

    /// Like [`Lease::acquire`], polling until `wait` has passed while another runner holds it.
    ///
    /// # Errors
    /// [`LeaseError::Held`] naming the holder when `wait` runs out; database errors.
    pub async fn acquire_waiting(
        pool: &PgPool,
        label: &str,
        ttl: Duration,
        wait: Duration,
    ) -> Result<Lease, LeaseError> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut announced = false;
        loop {
            match Lease::acquire(pool, label, ttl).await {
                Err(LeaseError::Held(holder)) if tokio::time::Instant::now() < deadline => {
                    if !announced {
                        tracing::info!(lease.holder = %holder.holder, "waiting for the apply lease");
                        announced = true;
                    }
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    tokio::time::sleep(left.min(Duration::from_millis(200))).await;
                }
                other => return other,
            }
        }
    }

    /// The holder string stored in the lease row.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// How long the lease lives without a heartbeat.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How long this process may still act on the lease (see [`Validity`]).
    pub fn validity(&self) -> &Validity {
        &self.validity
    }

    /// Extends the lease; `false` when it is no longer ours.
    ///
    /// # Errors
    /// Database errors.
    pub async fn heartbeat(&self, pool: &PgPool) -> Result<bool, sqlx::Error> {
        let sent = Instant::now();
        let updated = sqlx::query(
            "update apply_lease set heartbeat_at = now(), expires_at = now() + make_interval(secs => $3)
             where name = $1 and holder = $2",
        )
        .bind(LEASE_NAME)
        .bind(&self.holder)
        .bind(seconds(self.ttl))
        .execute(pool)
        .await?;
        if updated.rows_affected() == 1 {
            self.validity.confirm(sent);
            Ok(true)
        } else {
            self.validity.lose();
            Ok(false)
        }
    }

    /// Inside the caller's transaction: locks the lease row and extends it, or refuses when it
    /// is no longer ours. Call it first in every transaction that records progress.
    ///
    /// # Errors
    /// [`LeaseError::Lost`]; database errors.
    pub async fn fence(&self, conn: &mut PgConnection) -> Result<(), LeaseError> {
        // A fence commits later with its transaction; it is not counted as a confirmation.
        let updated = sqlx::query(
            "update apply_lease set heartbeat_at = now(), expires_at = now() + make_interval(secs => $3)
             where name = $1 and holder = $2",
        )
        .bind(LEASE_NAME)
        .bind(&self.holder)
        .bind(seconds(self.ttl))
        .execute(&mut *conn)
        .await?;
        if updated.rows_affected() == 1 {
            return Ok(());
        }
        let now_held_by: Option<String> =
            sqlx::query_scalar("select holder from apply_lease where name = $1")
                .bind(LEASE_NAME)
                .fetch_optional(&mut *conn)
                .await?;
        Err(LeaseError::Lost { now_held_by })
    }

    /// Gives the lease up (only if it is still ours).
    ///
    /// # Errors
    /// Database errors.
    pub async fn release(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        sqlx::query("delete from apply_lease where name = $1 and holder = $2")
            .bind(LEASE_NAME)
            .bind(&self.holder)
            .execute(pool)
            .await?;
        Ok(())
    }
}

/// The live or expired holder of the lease, if a row exists.
///
/// # Errors
/// Database errors.
pub async fn current_holder(pool: &PgPool) -> Result<Option<LeaseHolder>, sqlx::Error> {
    let row = sqlx::query(
        "select holder, acquired_at, heartbeat_at, expires_at from apply_lease where name = $1",
    )
    .bind(LEASE_NAME)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(LeaseHolder {
            holder: row.try_get("holder")?,
            acquired_at: row.try_get("acquired_at")?,
            heartbeat_at: row.try_get("heartbeat_at")?,
            expires_at: row.try_get("expires_at")?,
        })
    })
    .transpose()
}

//! Migrations never wait forever: every migration the restart job writes starts with the gate's
//! own `SET LOCAL lock_timeout` and `statement_timeout`, and a migration that gave up waiting
//! for a lock (SQLSTATE 55P03) is tried again a few times, after a growing pause.
//!
//! The prefix is the gate's, not the package's: it is added to the migration file only, never
//! to the approved plan, so the plan check (which refuses `SET` in a plan) never sees it and
//! the approved SQL's hash stays what the reviewers approved. `SET LOCAL` lasts for the
//! migration's one transaction, so nothing leaks into the connection it ran on.

use std::time::Duration;

use crate::engine::EngineError;

/// PostgreSQL's SQLSTATE for `canceling statement due to lock timeout`.
pub const LOCK_NOT_AVAILABLE: &str = "55P03";

/// The marker line that opens the gate's prefix in a migration file.
const PREFIX_MARKER: &str =
    "-- schemagate: timeouts of this migration (not part of the approved plan)";

/// How long a migration may wait for a lock and run a statement, and how a lock timeout is
/// retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationTimeouts {
    /// `lock_timeout`: how long one statement waits for a table lock before giving up.
    pub lock: Duration,
    /// `statement_timeout`: how long one statement may run.
    pub statement: Duration,
    /// How many times a migration that hit the lock timeout is tried again.
    pub lock_retries: u32,
    /// The pause before the first retry; each later one doubles it.
    pub retry_backoff: Duration,
}

/// 5 s for a lock: long enough for ordinary short transactions to finish, short enough that
/// the queries queued behind the migration's lock request wait no longer than that.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// 5 minutes per statement: half the migrate command's default 600 s, so PostgreSQL cancels
/// (and rolls the migration back) well before the command would be killed.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(300);
/// Three retries: four attempts in all.
pub const DEFAULT_LOCK_RETRIES: u32 = 3;
/// 5 s, then 10 s, then 20 s.
pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_secs(5);

impl Default for MigrationTimeouts {
    fn default() -> Self {
        Self {
            lock: DEFAULT_LOCK_TIMEOUT,
            statement: DEFAULT_STATEMENT_TIMEOUT,
            lock_retries: DEFAULT_LOCK_RETRIES,
            retry_backoff: DEFAULT_RETRY_BACKOFF,
        }
    }
}

impl MigrationTimeouts {
    /// The gate's prefix: two `SET LOCAL` statements, in milliseconds.
    #[must_use]
    pub fn prefix(&self) -> String {
        format!(
            "{PREFIX_MARKER}\nSET LOCAL lock_timeout = '{}ms';\nSET LOCAL statement_timeout = '{}ms';\n\n",
            self.lock.as_millis(),
            self.statement.as_millis()
        )
    }

    /// The migration file for `approved`: the gate's prefix, then the approved SQL unaltered.
    #[must_use]
    pub fn migration_script(&self, approved: &str) -> String {
        format!("{}{approved}", self.prefix())
    }

    /// The pause before retry `retry` (from 1): the backoff, doubled for each earlier retry.
    #[must_use]
    pub fn pause_before(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(16);
        self.retry_backoff.saturating_mul(1 << doublings)
    }
}

/// The approved SQL of a migration file the job wrote: the file without the gate's prefix.
#[must_use]
pub fn approved_part(script: &str) -> &str {
    if !script.starts_with(PREFIX_MARKER) {
        return script;
    }
    script.split_once("\n\n").map_or("", |(_, rest)| rest)
}

/// Whether the engine's failure is PostgreSQL's lock timeout.
#[must_use]
pub fn engine_lock_timeout(error: &EngineError) -> bool {
    matches!(error, EngineError::Engine { database: Some(db), .. }
        if db.code.as_deref() == Some(LOCK_NOT_AVAILABLE))
}

/// Whether a migrate command's output reports PostgreSQL's lock timeout: Prisma prints the
/// SQLSTATE (`Database error code: 55P03`), `psql` the message.
#[must_use]
pub fn output_lock_timeout(output: &str) -> bool {
    output.contains(LOCK_NOT_AVAILABLE)
        || output.contains("canceling statement due to lock timeout")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_sets_both_timeouts_locally_and_the_approved_sql_follows_unaltered() {
        let timeouts = MigrationTimeouts {
            lock: Duration::from_millis(1500),
            statement: Duration::from_secs(60),
            ..MigrationTimeouts::default()
        };
        let approved = "-- AlterTable\nALTER TABLE \"A\" ADD COLUMN \"b\" TEXT;\n";
        let script = timeouts.migration_script(approved);
        assert_eq!(
            script,
            format!("{PREFIX_MARKER}\nSET LOCAL lock_timeout = '1500ms';\nSET LOCAL statement_timeout = '60000ms';\n\n{approved}")
        );
        assert_eq!(approved_part(&script), approved);
        assert_eq!(approved_part(approved), approved);
    }

    #[test]
    fn each_retry_waits_twice_as_long_as_the_one_before() {
        let timeouts = MigrationTimeouts {
            retry_backoff: Duration::from_secs(2),
            ..MigrationTimeouts::default()
        };
        let pauses: Vec<u64> = (1..=4)
            .map(|r| timeouts.pause_before(r).as_secs())
            .collect();
        assert_eq!(pauses, [2, 4, 8, 16]);
    }

    #[test]
    fn a_lock_timeout_is_told_by_its_sqlstate_and_nothing_else_is_taken_for_one() {
        let failed = |code: &str| EngineError::Engine {
            method: "applyMigrations".into(),
            kind: "database".into(),
            code: Some("P3018".into()),
            message: "migration failed".into(),
            database: Some(Box::new(crate::engine::DatabaseError {
                code: Some(code.into()),
                message: "canceling statement".into(),
                detail: None,
                position: None,
            })),
        };
        assert!(engine_lock_timeout(&failed("55P03")));
        assert!(!engine_lock_timeout(&failed("57014")));
        assert!(output_lock_timeout("Database error code: 55P03"));
        assert!(!output_lock_timeout("Database error code: 23502"));
    }
}

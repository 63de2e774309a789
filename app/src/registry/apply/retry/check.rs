//! Whether a failed change, sent back to the restart job as it is, can succeed: the change page
//! offers Retry only then, and the retry itself refuses the same cases.

use sqlx::PgConnection;

use super::super::super::change::SchemaChange;
use super::super::super::future::{self, SchemaContext};
use crate::domain::preflight::PreflightReport;

/// Why retrying a failed change as it is would fail again, and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryBlocker {
    /// Why the restart job would fail it again (or could not take it up).
    pub why: String,
    /// What cures it instead.
    pub instead: String,
}

impl RetryBlocker {
    fn new(why: impl Into<String>, instead: impl Into<String>) -> Self {
        Self {
            why: why.into(),
            instead: instead.into(),
        }
    }
}

/// What to do about a failed change that a retry can cure, by its failure reason.
#[must_use]
pub fn next_step(reason: Option<&str>) -> &'static str {
    match reason {
        Some("migrate") => "Read what the database said, fix its cause on the platform database (the rows or the objects it names), then retry.",
        Some("timeout") => "The migration ran out of time or waited too long for a lock: find what held it (pg_locks, pg_stat_activity), then retry.",
        Some("drift") => "Bring the platform database back to the applied state (the log shows the SQL that would), then retry.",
        Some("engine") => "Prisma's schema engine failed: once it runs again, retry.",
        Some("preflight") => "Preflight no longer finds rows that would make the plan fail: retry.",
        Some("plan_changed") => "Retry plans it again over what is applied and approved now: the first Retry only shows the new SQL for review; once reviewed, Retry again sends it back with that SQL.",
        _ => "Fix the cause, then retry.",
    }
}

/// Failures that no retry of the same change can cure: the restart job checks them the same way
/// every time.
fn permanent(reason: Option<&str>) -> Option<RetryBlocker> {
    let new_change = "change the package so that a scan queues a new change, and review that one";
    let (why, instead) = match reason? {
        "integrity" => (
            "its stored content or SQL no longer matches what was approved, and the restart job checks that every time",
            new_change,
        ),
        "plan_refused" => (
            "the plan check refuses its approved SQL, and would refuse it again",
            "fix the package so that its plan touches only its own objects; a scan queues the new content as a new change",
        ),
        _ => return None,
    };
    Some(RetryBlocker::new(why, instead))
}

/// Why failed change `change` cannot succeed if sent back as it is, or `None` when it can:
/// a failure no retry cures, a package applied at other content than the change was made
/// against, a dependency that is not applied or approved, preflight rows still there (when
/// `preflight` is known), a re-planned plan under four-eyes, or a future schema that does not
/// validate.
///
/// # Errors
/// Database errors.
pub async fn retry_blocker(
    conn: &mut PgConnection,
    change: &SchemaChange,
    context: &SchemaContext,
    preflight: Option<&PreflightReport>,
) -> Result<Option<RetryBlocker>, sqlx::Error> {
    if let Some(blocker) = permanent(change.failure_reason.as_deref()) {
        return Ok(Some(blocker));
    }
    let applied: Option<String> =
        sqlx::query_scalar("select checksum from applied_package where package = $1")
            .bind(&change.package)
            .fetch_optional(&mut *conn)
            .await?;
    if applied != change.base_checksum {
        return Ok(Some(RetryBlocker::new(
            format!(
                "{} is applied at other content than the change was made against",
                change.package
            ),
            "change the package so that a scan queues a change against what is applied",
        )));
    }
    let unmet: Vec<String> = future::dependencies(conn, change, context)
        .await?
        .into_iter()
        .filter(|d| !d.state.is_satisfied())
        .map(|d| d.describe())
        .collect();
    if !unmet.is_empty() {
        return Ok(Some(RetryBlocker::new(
            format!("it needs what is neither applied nor approved: {}", unmet.join("; ")),
            "retry or approve those changes first; this one can be retried once they are applied or approved",
        )));
    }
    if let Some(blocker) = four_eyes_blocker(conn, change).await? {
        return Ok(Some(blocker));
    }
    if let Some(why) = preflight.and_then(PreflightReport::refusal) {
        let first = why.lines().next().unwrap_or_default().to_string();
        return Ok(Some(RetryBlocker::new(
            format!("preflight against the live database still finds rows that would make the plan fail: {first}"),
            "fix those rows (the SQL plan shows them), then look at the change again",
        )));
    }
    if let Err(problem) = future::check_approval(conn, change, context).await? {
        let first = problem.problems.first().cloned().unwrap_or_default();
        return Ok(Some(RetryBlocker::new(
            format!("the schema the restart job would write with it does not validate: {first}"),
            "fix what that names (in this package or the one it relates to), then retry",
        )));
    }
    Ok(None)
}

/// Under four-eyes, a destructive, breaking or security change whose plan moved since its
/// approval goes back only with a plan two admins approve: a new change.
async fn four_eyes_blocker(
    conn: &mut PgConnection,
    change: &SchemaChange,
) -> Result<Option<RetryBlocker>, sqlx::Error> {
    let moved =
        change.risk.needs_confirmation() && change.plan_sha256 != change.approved_plan_sha256;
    if moved && super::super::super::setting::four_eyes(conn).await? {
        return Ok(Some(RetryBlocker::new(
            "its SQL plan changed since it was approved, and four-eyes needs two admins to approve a plan",
            "change the package so that a scan queues a new change",
        )));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_and_refused_plans_are_never_retried() {
        for reason in ["integrity", "plan_refused"] {
            assert!(permanent(Some(reason)).is_some(), "{reason}");
        }
        for reason in [
            "migrate",
            "timeout",
            "drift",
            "engine",
            "preflight",
            "plan_changed",
            "render",
        ] {
            assert!(permanent(Some(reason)).is_none(), "{reason}");
        }
        assert!(permanent(None).is_none());
    }
}

//! Schema changes in the registry: reading them, and deciding them. Each decision is one
//! transaction that locks the row, asks the domain whether the transition is legal, guards the
//! expected state in SQL, and appends its audit event.

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool, Row};
use time::OffsetDateTime;

use crate::domain::change::{ChangeItem, Risk};
use crate::domain::review::{ChangeEvent, ChangeStatus, IllegalTransition};

mod comment;
mod decide;
mod list;
mod summary;

pub use comment::{comment, target as comment_target, CommentError, MAX_COMMENT_CHARS};
pub(crate) use decide::locked_change;
pub use decide::{authority_problem, decide, decide_pinned, decide_reviewed, Reviewed};
pub use list::{count, counts, list, ChangeFilter};
pub use summary::{
    last_rejected, list_summaries, open_by_package, open_conflicted, open_of, ChangeSummary,
};

/// The shortest id prefix accepted in place of a full id.
pub const MIN_PREFIX_LEN: usize = 8;

/// An entity this change declares that another package declares differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeConflict {
    /// The entity.
    pub entity: String,
    /// Every declaring package with its checksum of the entity.
    pub declarations: Vec<ConflictDeclaration>,
    /// How the first two declarations differ, aspect by aspect (first = left).
    #[serde(default)]
    pub differences: Vec<crate::domain::comparison::Difference>,
}

/// One package's declaration of a conflicted entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictDeclaration {
    /// The package.
    pub package: String,
    /// Its checksum of the entity.
    pub checksum: String,
    /// Its definition as the checksum sees it, one key per line, for diffing declarations.
    #[serde(default)]
    pub definition: String,
    /// Whether this declaration is what the database has now (applied).
    #[serde(default)]
    pub matches_applied: bool,
}

/// A schema change as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaChange {
    /// Change id (a UUID).
    pub id: String,
    /// The package.
    pub package: String,
    /// `upsert` (new or changed content) or `drop` (the package is gone).
    pub kind: String,
    /// Where it is in its life.
    pub status: ChangeStatus,
    /// Its riskiest item's class.
    pub risk: Risk,
    /// The package's applied checksum when the change was made (none: never applied).
    pub base_checksum: Option<String>,
    /// The checksum of the content to apply; approvals are pinned to it.
    pub target_checksum: String,
    /// The `entities.yaml` as scanned.
    pub yaml_snapshot: String,
    /// The package's Prisma fragment as applied.
    pub fragment_before: String,
    /// The package's Prisma fragment after this change.
    pub fragment_after: String,
    /// SHA-256 of `fragment_after`.
    pub fragment_sha256: String,
    /// Entity-level items.
    pub items: Vec<ChangeItem>,
    /// Conflicts touching this package's entities (refreshed by every scan).
    pub conflicts: Vec<ChangeConflict>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last state change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Who scanned it in.
    pub created_by: String,
    /// When it was approved or rejected.
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    /// Who approved or rejected it.
    pub decided_by: Option<String>,
    /// The approval note or rejection reason.
    pub note: Option<String>,
    /// Position in approval order (the restart job's order).
    pub approval_seq: Option<i64>,
    /// When it was applied.
    #[serde(with = "time::serde::rfc3339::option")]
    pub applied_at: Option<OffsetDateTime>,
    /// Output of the migrate command.
    pub apply_log: Option<String>,
    /// Why applying failed.
    pub failure_reason: Option<String>,
    /// The change of the same package this one replaced, if any.
    pub supersedes: Option<String>,
    /// The SQL Prisma's schema engine planned for it (none: not planned, or unplannable).
    #[serde(default)]
    pub plan_sql: Option<String>,
    /// Why it cannot be planned: the engine's (or rendering's) error. It cannot be approved.
    #[serde(default)]
    pub plan_error: Option<String>,
    /// SHA-256 of `plan_sql`; approvals are pinned to it.
    #[serde(default)]
    pub plan_sha256: Option<String>,
    /// The `plan_sha256` the approving admin saw; the restart job applies only that SQL.
    #[serde(default)]
    pub approved_plan_sha256: Option<String>,
    /// The statements of `plan_sql` the plan check refused (then `plan_error` says why).
    #[serde(default)]
    pub plan_refusals: Vec<crate::domain::sql_plan::StatementRefusal>,
}

pub(crate) const SELECT_CHANGE: &str = "select id::text as id, package, kind, status, risk,
    base_checksum, target_checksum, yaml_snapshot, fragment_before, fragment_after,
    fragment_sha256, items, conflicts, created_at, updated_at, created_by, decided_at,
    decided_by, note, approval_seq, applied_at, apply_log, failure_reason,
    supersedes::text as supersedes, plan_sql, plan_error, plan_sha256, approved_plan_sha256,
    plan_refusals
    from schema_change";

fn decode<T: std::str::FromStr>(row: &sqlx::postgres::PgRow, column: &str) -> Result<T, sqlx::Error>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = row.try_get(column)?;
    text.parse()
        .map_err(|error| sqlx::Error::Decode(Box::new(error)))
}

fn json<T: serde::de::DeserializeOwned>(
    row: &sqlx::postgres::PgRow,
    column: &str,
) -> Result<T, sqlx::Error> {
    let value: serde_json::Value = row.try_get(column)?;
    serde_json::from_value(value).map_err(|error| sqlx::Error::Decode(Box::new(error)))
}

pub(crate) fn from_row(row: &sqlx::postgres::PgRow) -> Result<SchemaChange, sqlx::Error> {
    Ok(SchemaChange {
        id: row.try_get("id")?,
        package: row.try_get("package")?,
        kind: row.try_get("kind")?,
        status: decode(row, "status")?,
        risk: decode(row, "risk")?,
        base_checksum: row.try_get("base_checksum")?,
        target_checksum: row.try_get("target_checksum")?,
        yaml_snapshot: row.try_get("yaml_snapshot")?,
        fragment_before: row.try_get("fragment_before")?,
        fragment_after: row.try_get("fragment_after")?,
        fragment_sha256: row.try_get("fragment_sha256")?,
        items: json(row, "items")?,
        conflicts: json(row, "conflicts")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        created_by: row.try_get("created_by")?,
        decided_at: row.try_get("decided_at")?,
        decided_by: row.try_get("decided_by")?,
        note: row.try_get("note")?,
        approval_seq: row.try_get("approval_seq")?,
        applied_at: row.try_get("applied_at")?,
        apply_log: row.try_get("apply_log")?,
        failure_reason: row.try_get("failure_reason")?,
        supersedes: row.try_get("supersedes")?,
        plan_sql: row.try_get("plan_sql")?,
        plan_error: row.try_get("plan_error")?,
        plan_sha256: row.try_get("plan_sha256")?,
        approved_plan_sha256: row.try_get("approved_plan_sha256")?,
        plan_refusals: json(row, "plan_refusals")?,
    })
}

/// Why a change could not be found from what the caller typed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// Too short to be a safe prefix.
    #[error("change id prefix \"{0}\" is too short: give at least {MIN_PREFIX_LEN} characters")]
    TooShort(String),
    /// Nothing matches.
    #[error("no change matches \"{0}\"")]
    NotFound(String),
    /// Several match.
    #[error("change id prefix \"{prefix}\" is ambiguous: it matches {}", ids.join(", "))]
    Ambiguous {
        /// What was typed.
        prefix: String,
        /// The matching ids.
        ids: Vec<String>,
    },
}

/// The full id of the change whose id is `prefix` or starts with it.
///
/// # Errors
/// [`LookupError`] inside `Ok(Err(..))`; database errors outside.
pub async fn resolve_id(
    pool: &PgPool,
    prefix: &str,
) -> Result<Result<String, LookupError>, sqlx::Error> {
    let prefix = prefix.trim().to_ascii_lowercase();
    if prefix.len() < MIN_PREFIX_LEN {
        return Ok(Err(LookupError::TooShort(prefix)));
    }
    if !prefix.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Ok(Err(LookupError::NotFound(prefix)));
    }
    // A whole id is looked up by the key; a prefix needs a scan of the ids.
    let whole = prefix.len() == 36
        && prefix.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    let ids: Vec<String> = if whole {
        sqlx::query_scalar("select id::text from schema_change where id = $1::uuid")
            .bind(&prefix)
            .fetch_all(pool)
            .await?
    } else {
        sqlx::query_scalar(
            "select id::text from schema_change where id::text like $1 || '%' order by id limit 5",
        )
        .bind(&prefix)
        .fetch_all(pool)
        .await?
    };
    Ok(match ids.len() {
        0 => Err(LookupError::NotFound(prefix)),
        1 => Ok(ids.into_iter().next().unwrap_or_default()),
        _ => Err(LookupError::Ambiguous { prefix, ids }),
    })
}

/// One change by full id.
///
/// # Errors
/// Database errors.
pub async fn get(pool: &PgPool, id: &str) -> Result<Option<SchemaChange>, sqlx::Error> {
    let row = sqlx::query(&format!("{SELECT_CHANGE} where id = $1::uuid"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The YAML of the content `change` was made against (what was live then), if any.
///
/// # Errors
/// Database errors.
pub async fn base_yaml(
    pool: &PgPool,
    change: &SchemaChange,
) -> Result<Option<String>, sqlx::Error> {
    let Some(base) = &change.base_checksum else {
        return Ok(None);
    };
    sqlx::query_scalar(
        "select yaml_snapshot from schema_change
         where package = $1 and target_checksum = $2 and status = 'applied'
         order by applied_at desc nulls last limit 1",
    )
    .bind(&change.package)
    .bind(base)
    .fetch_optional(pool)
    .await
}

/// An admin's decision on a pending change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Approve, with an optional note.
    Approve {
        /// Stored with the decision.
        note: Option<String>,
    },
    /// Reject, with a reason.
    Reject {
        /// Why; required.
        reason: String,
    },
}

impl Decision {
    fn event(&self) -> ChangeEvent {
        match self {
            Decision::Approve { .. } => ChangeEvent::Approve,
            Decision::Reject { .. } => ChangeEvent::Reject,
        }
    }

    fn note(&self) -> Option<&str> {
        match self {
            Decision::Approve { note } => note.as_deref(),
            Decision::Reject { reason } => Some(reason),
        }
    }
}

/// Why a decision on a change (approve, reject, or send a failed one back) was refused.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// The account may not do this (role or disabled).
    #[error("{account} may not {action}: {why}")]
    Forbidden {
        /// Who tried.
        account: String,
        /// What (`decide changes`, `retry changes`).
        action: &'static str,
        /// Why not.
        why: String,
    },
    /// No such change.
    #[error("no change {0}")]
    NotFound(String),
    /// The change is not pending (decided meanwhile, superseded, applied...).
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    /// The caller saw other content than the change now has.
    #[error("stale view: the change now targets {current}, not {seen}; reload and review again")]
    Stale {
        /// What the caller saw.
        seen: String,
        /// What the change targets now.
        current: String,
    },
    /// The change touches an entity that packages define differently.
    #[error("cannot approve: {0} is defined differently by several packages; resolve the conflict first")]
    Conflicted(String),
    /// The schema the restart job would write with this change does not validate or render.
    #[error(transparent)]
    Future(#[from] super::future::FutureProblem),
    /// The change's SQL plan is unplannable, changed, or not what the caller saw.
    #[error(transparent)]
    Plan(#[from] super::plan::PlanRefusal),
    /// A rejection needs a reason.
    #[error("a rejection needs a reason")]
    MissingReason,
    /// Reviewers requested changes, and the approval did not confirm overriding them.
    #[error("changes were requested by {}: type the package name \"{package}\" to approve anyway", by.join(", "))]
    ChangesRequested {
        /// The change's package (what to type).
        package: String,
        /// Who requested changes.
        by: Vec<String>,
    },
    /// Four-eyes: this admin may not give the second approval.
    #[error("cannot approve {package} alone: {why}")]
    FourEyes {
        /// The change's package.
        package: String,
        /// Why this admin may not give it.
        why: String,
    },
    /// A failed change cannot go back: the package has newer content.
    #[error("cannot retry: package {package} has newer content, in change {newer}; review that one instead")]
    Superseded {
        /// The package.
        package: String,
        /// The newer change's id.
        newer: String,
    },
    /// Four-eyes is on and a failed change would go back with a plan no two admins approved.
    #[error("cannot retry {package}: its SQL plan changed since it was approved, and four-eyes needs two admins to approve a plan; change the package to queue a new change")]
    PlanMovedUnderFourEyes {
        /// The package.
        package: String,
    },
    /// Sent back as it is, the failed change would fail again.
    #[error("cannot retry {package}: {why}; {instead}")]
    RetryCannotSucceed {
        /// The package.
        package: String,
        /// Why it would fail again.
        why: String,
        /// What to do instead.
        instead: String,
    },
    /// Preflight found rows in the live platform database that would make the plan fail.
    #[error("cannot approve {package}: preflight against the live database found rows that would make the plan fail:\n{why}")]
    Preflight {
        /// The change's package.
        package: String,
        /// Each failing statement with its numbers and the way forward.
        why: String,
    },
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

impl super::failure::Classify for DecideError {
    fn classify(self) -> super::failure::Failure {
        use super::failure::Failure;
        match self {
            DecideError::Forbidden { action, .. } => Failure::Forbidden(action),
            DecideError::NotFound(id) => Failure::NotFound(format!("change {id}")),
            DecideError::MissingReason | DecideError::ChangesRequested { .. } => {
                Failure::Invalid(self.to_string())
            }
            DecideError::Database(error) => Failure::Database(error),
            DecideError::Illegal(_)
            | DecideError::Stale { .. }
            | DecideError::Conflicted(_)
            | DecideError::Future(_)
            | DecideError::Plan(_)
            | DecideError::FourEyes { .. }
            | DecideError::Preflight { .. }
            | DecideError::Superseded { .. }
            | DecideError::PlanMovedUnderFourEyes { .. }
            | DecideError::RetryCannotSucceed { .. } => Failure::Conflict(self.to_string()),
        }
    }
}

impl super::failure::Classify for LookupError {
    fn classify(self) -> super::failure::Failure {
        match self {
            LookupError::NotFound(prefix) => {
                super::failure::Failure::NotFound(format!("change {prefix}"))
            }
            other => super::failure::Failure::Invalid(other.to_string()),
        }
    }
}

/// Change `id` as it stands now, read again inside the caller's transaction after a state change.
///
/// # Errors
/// Database errors (a change that is gone among them).
pub(crate) async fn reread(conn: &mut PgConnection, id: &str) -> Result<SchemaChange, sqlx::Error> {
    let row = sqlx::query(&format!("{SELECT_CHANGE} where id = $1::uuid"))
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    from_row(&row)
}

//! Review state across revisions: when newer content supersedes a change, each account's latest
//! verdict goes with it. Requested changes keep counting until the reviewer approves the new
//! revision or the verdict is dismissed (by the reviewer, or by an admin with a reason);
//! approvals as reviewer arrive stale, shown but not counted.

use sqlx::{PgConnection, PgPool};

use super::super::account::Account;
use super::super::audit::{self, NewEvent};
use super::super::change::{self, SELECT_CHANGE};
use crate::domain::review::{ChangeStatus, Role};

/// Carries each account's latest verdict on change `from` to change `to`, which supersedes it,
/// inside the scan's transaction: requested changes as they are, approvals as stale. Returns how
/// many verdicts were carried.
///
/// # Errors
/// Database errors.
pub async fn carry_over(conn: &mut PgConnection, from: &str, to: &str) -> Result<u64, sqlx::Error> {
    let carried = sqlx::query(
        "insert into review_verdict (change_id, account_id, verdict, comment, created_at, carried_from, stale)
         select $2::uuid, account_id, verdict, comment, created_at, coalesce(carried_from, change_id),
                verdict = 'approve'
         from (select distinct on (account_id) * from review_verdict
                where change_id = $1::uuid order by account_id, id desc) latest
         where verdict <> 'dismissed'
         order by id",
    )
    .bind(from)
    .bind(to)
    .execute(&mut *conn)
    .await?;
    Ok(carried.rows_affected())
}

/// Why a dismissal was refused.
#[derive(Debug, thiserror::Error)]
pub enum DismissError {
    /// The account may not dismiss this verdict.
    #[error("{account} may not dismiss {reviewer}'s verdict: {why}")]
    Forbidden {
        /// Who tried.
        account: String,
        /// Whose verdict.
        reviewer: String,
        /// Why not.
        why: String,
    },
    /// An admin dismissing another account's verdict must say why.
    #[error("dismissing {0}'s requested changes needs a reason")]
    MissingReason(String),
    /// No such change.
    #[error("no change {0}")]
    NotFound(String),
    /// The change no longer waits for a decision.
    #[error("cannot dismiss a verdict on a change that is {0}: verdicts are dismissed while it is pending")]
    NotPending(ChangeStatus),
    /// The reviewer's latest verdict does not request changes.
    #[error("{reviewer} requests no changes on {package}: nothing to dismiss")]
    Nothing {
        /// Whose verdict.
        reviewer: String,
        /// The change's package.
        package: String,
    },
    /// The comment is too long.
    #[error("a reason has at most {} characters", change::MAX_COMMENT_CHARS)]
    TooLong,
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

impl super::super::failure::Classify for DismissError {
    fn classify(self) -> super::super::failure::Failure {
        use super::super::failure::Failure;
        match self {
            DismissError::Forbidden { .. } => Failure::Forbidden("dismiss verdicts"),
            DismissError::NotFound(id) => Failure::NotFound(format!("change {id}")),
            DismissError::MissingReason(_) | DismissError::TooLong => {
                Failure::Invalid(self.to_string())
            }
            DismissError::NotPending(_) | DismissError::Nothing { .. } => {
                Failure::Conflict(self.to_string())
            }
            DismissError::Database(error) => Failure::Database(error),
        }
    }
}

/// Whether `by` may dismiss `reviewer`'s verdict: the reviewer themself, or an admin.
fn dismiss_problem(by: &Account, reviewer: &str) -> Option<String> {
    if by.disabled {
        Some("the account is disabled".to_string())
    } else if by.role.allows(Role::Admin)
        || (by.username == reviewer && by.role.allows(Role::Reviewer))
    {
        None
    } else {
        Some("only the reviewer or an admin can".to_string())
    }
}

/// Dismisses `reviewer`'s requested changes on the pending change `id`: the reviewer withdraws
/// them, or an admin overrides them with `reason`. Audited as `change.review_dismissed`.
///
/// # Errors
/// [`DismissError`].
pub async fn dismiss(
    pool: &PgPool,
    by: &Account,
    id: &str,
    reviewer: &str,
    reason: &str,
) -> Result<(), DismissError> {
    if let Some(why) = dismiss_problem(by, reviewer) {
        return Err(DismissError::Forbidden {
            account: by.username.clone(),
            reviewer: reviewer.to_string(),
            why,
        });
    }
    let reason = reason.trim();
    if reason.chars().count() > change::MAX_COMMENT_CHARS {
        return Err(DismissError::TooLong);
    }
    if by.username != reviewer && reason.is_empty() {
        return Err(DismissError::MissingReason(reviewer.to_string()));
    }
    let mut tx = pool.begin().await?;
    // Like a verdict: an approval under way either sees the dismissal or finds the change decided.
    let row = sqlx::query(&format!("{SELECT_CHANGE} where id = $1::uuid for share"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| DismissError::NotFound(id.to_string()))?;
    let target = change::from_row(&row)?;
    if target.status != ChangeStatus::Pending {
        return Err(DismissError::NotPending(target.status));
    }
    let requesting = super::requesting_changes(&mut tx, &target.id).await?;
    if !requesting.iter().any(|name| name == reviewer) {
        return Err(DismissError::Nothing {
            reviewer: reviewer.to_string(),
            package: target.package,
        });
    }
    sqlx::query(
        "insert into review_verdict (change_id, account_id, verdict, comment, dismissed_by)
         select $1::uuid, id, 'dismissed', $3, $4 from account where username = $2",
    )
    .bind(&target.id)
    .bind(reviewer)
    .bind((!reason.is_empty()).then_some(reason))
    .bind(by.id)
    .execute(&mut *tx)
    .await?;
    let mut details = serde_json::json!({"reviewer": reviewer});
    if !reason.is_empty() {
        details["note"] = serde_json::Value::String(reason.to_string());
    }
    audit::append(
        &mut tx,
        NewEvent {
            actor: &by.username,
            action: "change.review_dismissed",
            change_id: Some(&target.id),
            package: Some(&target.package),
            details,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

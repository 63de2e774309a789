//! Reviews that carry weight: reviewers' verdicts on pending changes, and the first of the two
//! admin approvals that four-eyes asks of destructive, breaking and security changes.
//!
//! A verdict is advice, not a decision, but requested changes must be overridden explicitly: a
//! change has changes requested while any account's latest verdict on it is `request_changes`,
//! and approving it then needs the typed confirmation (see [`super::change::Reviewed`]).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool, Row};
use time::OffsetDateTime;

mod carry;

pub use carry::{carry_over, dismiss, DismissError};

use super::account::Account;
use super::audit::{self, NewEvent};
use super::change::{self, SchemaChange, MAX_COMMENT_CHARS, SELECT_CHANGE};
use crate::domain::review::{ChangeStatus, Role, Verdict};

/// One account's latest verdict on a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewVerdict {
    /// Who gave it.
    pub reviewer: String,
    /// What they said.
    pub verdict: Verdict,
    /// Why (always present when changes are requested).
    pub comment: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The earlier change the verdict was given on, when newer content carried it here.
    #[serde(default)]
    pub carried_from: Option<String>,
    /// An approval given on an earlier revision: shown, but the new revision is not approved.
    #[serde(default)]
    pub stale: bool,
}

/// Why a verdict was refused.
#[derive(Debug, thiserror::Error)]
pub enum VerdictError {
    /// The account may not review (role or disabled).
    #[error("{account} may not review changes: {why}")]
    Forbidden {
        /// Who tried.
        account: String,
        /// Why not.
        why: String,
    },
    /// No such change.
    #[error("no change {0}")]
    NotFound(String),
    /// The change no longer waits for a decision.
    #[error("cannot review a change that is {0}: verdicts are taken while it is pending")]
    NotPending(ChangeStatus),
    /// Requesting changes without saying which.
    #[error("requesting changes needs a comment that says what should change")]
    MissingComment,
    /// The comment is too long.
    #[error("a review comment has at most {MAX_COMMENT_CHARS} characters")]
    TooLong,
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

impl super::failure::Classify for VerdictError {
    fn classify(self) -> super::failure::Failure {
        use super::failure::Failure;
        match self {
            VerdictError::Forbidden { .. } => Failure::Forbidden("review changes"),
            VerdictError::NotFound(id) => Failure::NotFound(format!("change {id}")),
            VerdictError::NotPending(_) => Failure::Conflict(self.to_string()),
            VerdictError::MissingComment | VerdictError::TooLong => {
                Failure::Invalid(self.to_string())
            }
            VerdictError::Database(error) => Failure::Database(error),
        }
    }
}

/// Records `account`'s `verdict` on the pending change `id`, with its audit event.
///
/// # Errors
/// [`VerdictError`].
pub async fn record(
    pool: &PgPool,
    account: &Account,
    id: &str,
    verdict: Verdict,
    comment: &str,
) -> Result<ReviewVerdict, VerdictError> {
    if account.disabled || !account.role.allows(Role::Reviewer) {
        let why = if account.disabled {
            "the account is disabled".to_string()
        } else {
            format!("the {} role only reads", account.role)
        };
        return Err(VerdictError::Forbidden {
            account: account.username.clone(),
            why,
        });
    }
    let comment = comment.trim();
    if comment.chars().count() > MAX_COMMENT_CHARS {
        return Err(VerdictError::TooLong);
    }
    if verdict == Verdict::RequestChanges && comment.is_empty() {
        return Err(VerdictError::MissingComment);
    }
    let comment = (!comment.is_empty()).then_some(comment);
    let mut tx = pool.begin().await?;
    // A share lock: verdicts do not wait for each other, but an approval (which locks the row
    // for update) either sees this verdict or makes it find the change decided.
    let row = sqlx::query(&format!("{SELECT_CHANGE} where id = $1::uuid for share"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| VerdictError::NotFound(id.to_string()))?;
    let target = change::from_row(&row)?;
    if target.status != ChangeStatus::Pending {
        return Err(VerdictError::NotPending(target.status));
    }
    let at: OffsetDateTime = sqlx::query_scalar(
        "insert into review_verdict (change_id, account_id, verdict, comment)
         values ($1::uuid, $2, $3, $4) returning created_at",
    )
    .bind(&target.id)
    .bind(account.id)
    .bind(verdict.as_str())
    .bind(comment)
    .fetch_one(&mut *tx)
    .await?;
    let action = match verdict {
        Verdict::Approve => "change.review_approved",
        Verdict::RequestChanges => "change.changes_requested",
    };
    let mut details = serde_json::json!({"verdict": verdict.as_str()});
    if let Some(comment) = comment {
        details["note"] = serde_json::Value::String(comment.to_string());
    }
    audit::append(
        &mut tx,
        NewEvent {
            actor: &account.username,
            action,
            change_id: Some(&target.id),
            package: Some(&target.package),
            details,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(ReviewVerdict {
        reviewer: account.username.clone(),
        verdict,
        comment: comment.map(str::to_string),
        at,
        carried_from: None,
        stale: false,
    })
}

/// Each account's latest verdict on change `id`, oldest first.
///
/// # Errors
/// Database errors.
pub async fn latest(conn: &mut PgConnection, id: &str) -> Result<Vec<ReviewVerdict>, sqlx::Error> {
    // A dismissed verdict leaves the account with none.
    let rows = sqlx::query(
        "select * from (
             select distinct on (v.account_id) a.username, v.verdict, v.comment, v.created_at,
                    v.carried_from::text as carried_from, v.stale
             from review_verdict v join account a on a.id = v.account_id
             where v.change_id = $1::uuid
             order by v.account_id, v.id desc
         ) latest where verdict <> 'dismissed' order by created_at",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let verdict: String = row.try_get("verdict")?;
            Ok(ReviewVerdict {
                reviewer: row.try_get("username")?,
                verdict: verdict
                    .parse()
                    .map_err(|error| sqlx::Error::Decode(Box::new(error)))?,
                comment: row.try_get("comment")?,
                at: row.try_get("created_at")?,
                carried_from: row.try_get("carried_from")?,
                stale: row.try_get("stale")?,
            })
        })
        .collect()
}

/// The accounts whose latest verdict on change `id` requests changes, in name order.
///
/// # Errors
/// Database errors.
pub async fn requesting_changes(
    conn: &mut PgConnection,
    id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let mut names: Vec<String> = latest(conn, id)
        .await?
        .into_iter()
        .filter(|v| v.verdict == Verdict::RequestChanges)
        .map(|v| v.reviewer)
        .collect();
    names.sort();
    Ok(names)
}

/// Of the changes `ids`, those with changes requested.
///
/// # Errors
/// Database errors.
pub async fn with_changes_requested(
    pool: &PgPool,
    ids: &[String],
) -> Result<BTreeSet<String>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(BTreeSet::new());
    }
    let rows: Vec<String> = sqlx::query_scalar(
        "select distinct change_id::text from (
             select distinct on (change_id, account_id) change_id, verdict
             from review_verdict where change_id::text = any($1)
             order by change_id, account_id, id desc
         ) latest where verdict = 'request_changes'",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// The admins who gave the first approval of `change` at its current SQL plan, oldest first.
///
/// # Errors
/// Database errors.
pub async fn admin_approvals(
    conn: &mut PgConnection,
    change: &SchemaChange,
) -> Result<Vec<(String, OffsetDateTime)>, sqlx::Error> {
    sqlx::query_as(
        "select a.username, p.created_at from admin_approval p join account a on a.id = p.account_id
         where p.change_id = $1::uuid and p.plan_sha256 is not distinct from $2
         order by p.created_at",
    )
    .bind(&change.id)
    .bind(&change.plan_sha256)
    .fetch_all(&mut *conn)
    .await
}

/// Records `account`'s approval of `change` as the first of two, with its audit event, inside
/// the caller's transaction (which holds the change's row lock).
///
/// # Errors
/// Database errors.
pub(crate) async fn record_first_approval(
    conn: &mut PgConnection,
    change: &SchemaChange,
    account: &Account,
    note: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into admin_approval (change_id, account_id, plan_sha256, note)
         values ($1::uuid, $2, $3, $4)
         on conflict (change_id, account_id)
         do update set plan_sha256 = $3, note = $4, created_at = now()",
    )
    .bind(&change.id)
    .bind(account.id)
    .bind(&change.plan_sha256)
    .bind(note)
    .execute(&mut *conn)
    .await?;
    let mut details = serde_json::json!({
        "target_checksum": change.target_checksum,
        "risk": change.risk.as_str(),
        "approvals": 1,
        "required": 2,
    });
    if let Some(plan) = &change.plan_sha256 {
        details["plan_sha256"] = serde_json::Value::String(plan.clone());
    }
    if let Some(note) = note {
        details["note"] = serde_json::Value::String(note.to_string());
    }
    audit::append(
        conn,
        NewEvent {
            actor: &account.username,
            action: "change.first_approval",
            change_id: Some(&change.id),
            package: Some(&change.package),
            details,
        },
    )
    .await?;
    Ok(())
}

/// Why withdrawing a first approval was refused.
#[derive(Debug, thiserror::Error)]
pub enum WithdrawError {
    /// The account may not decide changes (role or disabled).
    #[error("{account} may not withdraw approvals: {why}")]
    Forbidden {
        /// Who tried.
        account: String,
        /// Why not.
        why: String,
    },
    /// No such change.
    #[error("no change {0}")]
    NotFound(String),
    /// The change was decided meanwhile: the approval counted, or no longer matters.
    #[error("cannot withdraw an approval of a change that is {0}: only a pending change's first approval can be withdrawn")]
    NotPending(ChangeStatus),
    /// The account gave no first approval of this change.
    #[error("{account} gave no first approval of {package} to withdraw")]
    NoApproval {
        /// Who tried.
        account: String,
        /// The change's package.
        package: String,
    },
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

impl super::failure::Classify for WithdrawError {
    fn classify(self) -> super::failure::Failure {
        use super::failure::Failure;
        match self {
            WithdrawError::Forbidden { .. } => Failure::Forbidden("withdraw approvals"),
            WithdrawError::NotFound(id) => Failure::NotFound(format!("change {id}")),
            WithdrawError::NotPending(_) | WithdrawError::NoApproval { .. } => {
                Failure::Conflict(self.to_string())
            }
            WithdrawError::Database(error) => Failure::Database(error),
        }
    }
}

/// Withdraws `account`'s first approval of the pending change `id` (four-eyes), with its audit
/// event (`change.first_approval_withdrawn`): the change again needs two admins.
///
/// # Errors
/// [`WithdrawError`].
pub async fn withdraw_first_approval(
    pool: &PgPool,
    account: &Account,
    id: &str,
) -> Result<SchemaChange, WithdrawError> {
    if let Some(why) = super::change::authority_problem(account) {
        return Err(WithdrawError::Forbidden {
            account: account.username.clone(),
            why,
        });
    }
    let mut tx = pool.begin().await?;
    // Locked like a decision, so that a second approval under way either counts this first
    // approval or finds it gone.
    let row = sqlx::query(&format!("{SELECT_CHANGE} where id = $1::uuid for update"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| WithdrawError::NotFound(id.to_string()))?;
    let target = change::from_row(&row)?;
    if target.status != ChangeStatus::Pending {
        return Err(WithdrawError::NotPending(target.status));
    }
    let removed =
        sqlx::query("delete from admin_approval where change_id = $1::uuid and account_id = $2")
            .bind(&target.id)
            .bind(account.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if removed == 0 {
        return Err(WithdrawError::NoApproval {
            account: account.username.clone(),
            package: target.package,
        });
    }
    audit::append(
        &mut tx,
        NewEvent {
            actor: &account.username,
            action: "change.first_approval_withdrawn",
            change_id: Some(&target.id),
            package: Some(&target.package),
            details: serde_json::json!({"target_checksum": target.target_checksum}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(target)
}

/// The oldest pending change after `id` (by creation, then id), or else the oldest pending
/// change other than `id`: where a reviewer goes next. `(id, package)`.
///
/// # Errors
/// Database errors.
pub async fn next_pending(
    pool: &PgPool,
    id: &str,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "select c.id::text, c.package from schema_change c
         left join schema_change here on here.id = $1::uuid
         where c.status = 'pending' and c.id <> $1::uuid
         order by (here.id is not null and (c.created_at, c.id) > (here.created_at, here.id)) desc,
                  c.created_at, c.id
         limit 1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// [`next_pending`] for `account`, skipping the changes it cannot decide now: conflicted ones,
/// ones whose SQL plan is refused, and ones it already gave the first of two approvals of. `(id,
/// package)`.
///
/// # Errors
/// Database errors.
pub async fn next_decidable(
    pool: &PgPool,
    id: &str,
    account: &Account,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "select c.id::text, c.package from schema_change c
         left join schema_change here on here.id = $1::uuid
         where c.status = 'pending' and c.id <> $1::uuid
           and jsonb_array_length(c.conflicts) = 0
           and not (c.plan_sql is not null and c.plan_error is not null)
           and not exists (select 1 from admin_approval p
                            where p.change_id = c.id and p.account_id = $2)
         order by (here.id is not null and (c.created_at, c.id) > (here.created_at, here.id)) desc,
                  c.created_at, c.id
         limit 1",
    )
    .bind(id)
    .bind(account.id)
    .fetch_optional(pool)
    .await
}

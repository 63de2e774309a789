//! Sending a failed change back to the restart job (`schemagate retry`, `POST /api/retry_change`).

use sqlx::{PgConnection, PgPool};

use super::super::account::Account;
use super::super::audit::{self, NewEvent};
use super::super::change::DecideError;
use super::super::change::{authority_problem, locked_change, reread, SchemaChange};
use super::super::violates;
use crate::domain::review::{ChangeEvent, ChangeStatus, IllegalTransition};

mod check;

pub use check::{next_step, retry_blocker, RetryBlocker};

/// Sends failed change `id` back to the restart job, as `account` (an admin): `failed →
/// approved` with a fresh place at the end of the approval order, audited (`change.retried`).
/// Under four-eyes, a destructive, breaking or security change whose plan changed since its
/// approval is refused. So is a change that would fail again as it is ([`retry_blocker`]; with
/// a platform engine, preflight is checked afresh first): it says what to do instead.
///
/// # Errors
/// [`DecideError`]; refusals for lack of authority or because the retry cannot succeed are
/// audited (`change.retry_refused`).
pub async fn retry(
    pool: &PgPool,
    context: &super::super::future::SchemaContext,
    account: &Account,
    id: &str,
) -> Result<SchemaChange, DecideError> {
    refuse_without_authority(pool, account, id).await?;
    let preflight = fresh_preflight(pool, context, id).await?;
    let mut tx = pool.begin().await?;
    let change = locked_change(&mut tx, id).await?;
    refuse_superseded(&mut tx, &change).await?;
    let next = change.status.next(ChangeEvent::Retry)?;
    refuse_new_plan_under_four_eyes(&mut tx, &change).await?;
    if let Some(blocker) = retry_blocker(&mut tx, &change, context, preflight.as_ref()).await? {
        drop(tx);
        return Err(refuse_blocked(pool, account, &change, blocker).await?);
    }
    if let Err((refusal, store)) =
        super::super::plan::check_plan(&mut tx, &change, context, None).await?
    {
        drop(tx);
        if let Some(planned) = store {
            super::super::plan::store(&mut *pool.acquire().await?, &change, &planned).await?;
        }
        return Err(refusal.into());
    }
    approve_again(&mut tx, &change, next).await?;
    let details = serde_json::json!({
        "previous_reason": change.failure_reason.clone().unwrap_or_default(),
        "target_checksum": change.target_checksum,
    });
    audit::append(
        &mut tx,
        NewEvent {
            actor: &account.username,
            action: "change.retried",
            change_id: Some(&change.id),
            package: Some(&change.package),
            details,
        },
    )
    .await?;
    let retried = reread(&mut tx, &change.id).await?;
    tx.commit().await?;
    Ok(retried)
}

/// Refuses (and audits the refusal) when `account` may not send changes back.
async fn refuse_without_authority(
    pool: &PgPool,
    account: &Account,
    id: &str,
) -> Result<(), DecideError> {
    let Some(why) = authority_problem(account) else {
        return Ok(());
    };
    audit::append_alone(
        pool,
        NewEvent {
            actor: &account.username,
            action: "change.retry_refused",
            change_id: Some(id),
            package: None,
            details: serde_json::json!({"why": why}),
        },
    )
    .await?;
    Err(DecideError::Forbidden {
        action: "retry changes",
        account: account.username.clone(),
        why,
    })
}

/// With a platform engine, the preflight facts of failed change `id`'s plan, checked now.
async fn fresh_preflight(
    pool: &PgPool,
    context: &super::super::future::SchemaContext,
    id: &str,
) -> Result<Option<crate::domain::preflight::PreflightReport>, DecideError> {
    let Some(engine) = &context.engine else {
        return Ok(None);
    };
    let change = match super::super::change::get(pool, id).await? {
        Some(change) if change.status == ChangeStatus::Failed && change.plan_sql.is_some() => {
            change
        }
        _ => return Ok(None),
    };
    let report =
        super::super::preflight::current(pool, &engine.database, &change, &context.config, None)
            .await?;
    Ok(Some(report))
}

/// The refusal of a retry that cannot succeed, audited (`change.retry_refused`).
async fn refuse_blocked(
    pool: &PgPool,
    account: &Account,
    change: &SchemaChange,
    blocker: RetryBlocker,
) -> Result<DecideError, DecideError> {
    let refusal = DecideError::RetryCannotSucceed {
        package: change.package.clone(),
        why: blocker.why,
        instead: blocker.instead,
    };
    audit::append_alone(
        pool,
        NewEvent {
            actor: &account.username,
            action: "change.retry_refused",
            change_id: Some(&change.id),
            package: Some(&change.package),
            details: serde_json::json!({"why": refusal.to_string()}),
        },
    )
    .await?;
    Ok(refusal)
}

/// Refuses a superseded change that a newer one replaced: that one is what to apply.
async fn refuse_superseded(
    conn: &mut PgConnection,
    change: &SchemaChange,
) -> Result<(), DecideError> {
    if change.status == ChangeStatus::Superseded {
        if let Some(newer) = newer_change(conn, change).await? {
            return Err(DecideError::Superseded {
                package: change.package.clone(),
                newer,
            });
        }
    }
    Ok(())
}

/// Sending back the approved plan is no new approval; a re-planned one would be, and one
/// admin alone may not give it under four-eyes (the registry's setting, as for approvals).
async fn refuse_new_plan_under_four_eyes(
    conn: &mut PgConnection,
    change: &SchemaChange,
) -> Result<(), DecideError> {
    if change.risk.needs_confirmation()
        && change.plan_sha256 != change.approved_plan_sha256
        && super::super::setting::four_eyes(conn).await?
    {
        return Err(DecideError::PlanMovedUnderFourEyes {
            package: change.package.clone(),
        });
    }
    Ok(())
}

/// `failed → approved` with a fresh place at the end of the approval order and its current
/// plan pinned as the approved one; a race with another open change of the package is refused.
async fn approve_again(
    conn: &mut PgConnection,
    change: &SchemaChange,
    next: ChangeStatus,
) -> Result<(), DecideError> {
    let updated = sqlx::query(
        "update schema_change set status = $2, approval_seq = nextval('schema_change_approval_seq'),
             approved_plan_sha256 = plan_sha256, failure_reason = null, updated_at = now()
         where id = $1::uuid and status = $3",
    )
    .bind(&change.id)
    .bind(next.as_str())
    .bind(change.status.as_str())
    .execute(&mut *conn)
    .await
    .map_err(|error| {
        if violates(&error, "schema_change_one_open_per_package") {
            DecideError::Superseded {
                package: change.package.clone(),
                newer: "(open)".to_string(),
            }
        } else {
            DecideError::Database(error)
        }
    })?;
    if updated.rows_affected() != 1 {
        return Err(DecideError::Illegal(IllegalTransition {
            from: change.status,
            event: ChangeEvent::Retry,
        }));
    }
    Ok(())
}

/// The change that replaced `change` (made for newer content of its package), if any.
///
/// # Errors
/// Database errors.
pub async fn newer_change(
    conn: &mut PgConnection,
    change: &SchemaChange,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select id::text from schema_change where supersedes = $1::uuid order by created_at desc limit 1",
    )
    .bind(&change.id)
    .fetch_optional(&mut *conn)
    .await
}

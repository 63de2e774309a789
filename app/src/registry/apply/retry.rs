//! Sending a failed change back to the restart job (`schemagate retry`, `POST /api/retry_change`).

use sqlx::{PgConnection, PgPool};

use super::super::account::Account;
use super::super::audit::{self, NewEvent};
use super::super::change::DecideError;
use super::super::change::{authority_problem, locked_change, reread, SchemaChange};
use super::super::violates;
use crate::domain::review::{ChangeEvent, ChangeStatus, IllegalTransition};

/// Sends failed change `id` back to the restart job, as `account` (an admin): `failed →
/// approved` with a fresh place at the end of the approval order, audited (`change.retried`).
/// Under four-eyes, a destructive, breaking or security change whose plan changed since its
/// approval is refused.
///
/// # Errors
/// [`DecideError`]; refusals for lack of authority are audited (`change.retry_refused`).
pub async fn retry(
    pool: &PgPool,
    context: &super::super::future::SchemaContext,
    account: &Account,
    id: &str,
) -> Result<SchemaChange, DecideError> {
    refuse_without_authority(pool, account, id).await?;
    let mut tx = pool.begin().await?;
    let change = locked_change(&mut tx, id).await?;
    refuse_superseded(&mut tx, &change).await?;
    let next = change.status.next(ChangeEvent::Retry)?;
    super::super::future::check_approval(&mut tx, &change, context).await??;
    if let Err((refusal, store)) =
        super::super::plan::check_plan(&mut tx, &change, context, None).await?
    {
        drop(tx);
        if let Some(planned) = store {
            super::super::plan::store(&mut *pool.acquire().await?, &change, &planned).await?;
        }
        return Err(refusal.into());
    }
    refuse_new_plan_under_four_eyes(&mut tx, &change).await?;
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

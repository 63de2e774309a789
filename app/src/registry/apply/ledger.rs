//! The registry's record of one change's application: the fenced, audited state changes
//! (`applying`, `applied` with the package's new applied state, `failed`), the audit events of
//! a run, and the report of a change that moved on meanwhile.

use sqlx::{PgConnection, PgPool};

use super::super::audit::{self, NewEvent};
use super::super::change::SchemaChange;
use super::super::scan::sha256_hex;
use super::{acl_json, entities_json, outcome_of, ApplyError, Failure, Lease, Step, ACTOR};
use crate::domain::model::Entity;
use crate::domain::review::{ChangeEvent, ChangeStatus};

/// The change is no longer approved or applying: report it and move on.
pub(super) async fn moved(pool: &PgPool, change: &SchemaChange) -> Result<Step, ApplyError> {
    let now = super::super::change::get(pool, &change.id)
        .await?
        .map_or("gone".to_string(), |c| c.status.to_string());
    tracing::info!(change.status = %now, "the change moved on while the job looked at it; skipped");
    let mut outcome = outcome_of(change);
    outcome.reason = Some(format!("it became {now} while the job looked at it"));
    Ok(Step::Moved(outcome))
}

/// Appends an audit event in a transaction fenced on the lease.
pub(super) async fn record(
    pool: &PgPool,
    lease: &Lease,
    change_id: Option<&str>,
    package: Option<&str>,
    action: &str,
    details: serde_json::Value,
) -> Result<(), ApplyError> {
    let mut tx = pool.begin().await?;
    lease.fence(&mut tx).await?;
    audit::append(
        &mut tx,
        NewEvent {
            actor: ACTOR,
            action,
            change_id,
            package,
            details,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// `approved|applying → applying`, audited. `false` when the change moved on meanwhile.
pub(super) async fn start(
    pool: &PgPool,
    lease: &Lease,
    change: &SchemaChange,
) -> Result<bool, ApplyError> {
    let next = change.status.next(ChangeEvent::StartApply)?;
    let mut tx = pool.begin().await?;
    lease.fence(&mut tx).await?;
    let updated = sqlx::query("update schema_change set status = $2, updated_at = now() where id = $1::uuid and status = $3")
        .bind(&change.id)
        .bind(next.as_str())
        .bind(change.status.as_str())
        .execute(&mut *tx)
        .await?;
    if updated.rows_affected() != 1 {
        return Ok(false);
    }
    let details = serde_json::json!({
        "from": change.status.as_str(),
        "holder": lease.holder(),
        "target_checksum": change.target_checksum,
    });
    audit::append(
        &mut tx,
        NewEvent {
            actor: ACTOR,
            action: "change.applying",
            change_id: Some(&change.id),
            package: Some(&change.package),
            details,
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(from = change.status.as_str(), "marked applying");
    Ok(true)
}

/// What a change leaves applied: its entities, and the row-level-security configuration its
/// policies were compiled with (what PostgreSQL enforces until the package is applied again).
#[derive(Clone, Copy)]
pub(super) struct Applied<'a> {
    pub(super) entities: &'a [Entity],
    pub(super) row_security: &'a crate::domain::config::RowSecurity,
}

/// `applying → applied` with the package's new applied state, audited.
pub(super) async fn finish(
    pool: &PgPool,
    lease: &Lease,
    change: &SchemaChange,
    applied: Applied<'_>,
    log: &str,
    duration_ms: Option<u64>,
    schema: &str,
) -> Result<(), ApplyError> {
    let next = ChangeStatus::Applying.next(ChangeEvent::FinishApply)?;
    let mut tx = pool.begin().await?;
    lease.fence(&mut tx).await?;
    let updated = sqlx::query(
        "update schema_change set status = $2, applied_at = now(), apply_log = $3, failure_reason = null, updated_at = now()
         where id = $1::uuid and status = 'applying'",
    )
    .bind(&change.id)
    .bind(next.as_str())
    .bind(log)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        // Only this run may move an applying change on, and it holds the lease: a bug.
        return Err(ApplyError::Stuck(change.id.clone()));
    }
    update_applied_package(&mut tx, change, applied).await?;
    let mut details = serde_json::json!({
        "holder": lease.holder(),
        "kind": change.kind,
        "target_checksum": change.target_checksum,
        "schema_sha256": sha256_hex(schema),
    });
    if let Some(ms) = duration_ms {
        details["duration_ms"] = ms.into();
    }
    audit::append(
        &mut tx,
        NewEvent {
            actor: ACTOR,
            action: "change.applied",
            change_id: Some(&change.id),
            package: Some(&change.package),
            details,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn update_applied_package(
    conn: &mut PgConnection,
    change: &SchemaChange,
    applied: Applied<'_>,
) -> Result<(), sqlx::Error> {
    let entities = applied.entities;
    if change.kind == "drop" {
        sqlx::query("delete from applied_package where package = $1")
            .bind(&change.package)
            .execute(&mut *conn)
            .await?;
        return Ok(());
    }
    sqlx::query(
        "insert into applied_package (package, checksum, yaml_snapshot, fragment, entities, acl, change_id, applied_at, row_security)
         values ($1, $2, $3, $4, $5, $6, $7::uuid, now(), $8)
         on conflict (package) do update set checksum = excluded.checksum, yaml_snapshot = excluded.yaml_snapshot,
             fragment = excluded.fragment, entities = excluded.entities, acl = excluded.acl,
             change_id = excluded.change_id, applied_at = excluded.applied_at,
             row_security = excluded.row_security",
    )
    .bind(&change.package)
    .bind(&change.target_checksum)
    .bind(&change.yaml_snapshot)
    .bind(&change.fragment_after)
    .bind(entities_json(entities))
    .bind(acl_json(entities))
    .bind(&change.id)
    .bind(serde_json::to_value(applied.row_security).unwrap_or_default())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `approved|applying → failed` with the reason and log, audited.
pub(super) async fn fail(
    pool: &PgPool,
    lease: &Lease,
    change: &SchemaChange,
    failure: Failure,
) -> Result<Step, ApplyError> {
    // A resumed change was applying; one that failed before starting is still approved.
    let current =
        sqlx::query_scalar::<_, String>("select status from schema_change where id = $1::uuid")
            .bind(&change.id)
            .fetch_optional(pool)
            .await?
            .and_then(|s| s.parse::<ChangeStatus>().ok());
    let Some(current) = current else {
        return moved(pool, change).await;
    };
    let Ok(next) = current.next(ChangeEvent::FailApply) else {
        return moved(pool, change).await;
    };
    let mut tx = pool.begin().await?;
    lease.fence(&mut tx).await?;
    let updated = sqlx::query(
        "update schema_change set status = $2, failure_reason = $3, apply_log = $4, updated_at = now()
         where id = $1::uuid and status = $5",
    )
    .bind(&change.id)
    .bind(next.as_str())
    .bind(failure.reason)
    .bind(&failure.log)
    .bind(current.as_str())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        drop(tx);
        return moved(pool, change).await;
    }
    let details = serde_json::json!({
        "holder": lease.holder(),
        "reason": failure.reason,
        "detail": failure.detail,
        "target_checksum": change.target_checksum,
    });
    audit::append(
        &mut tx,
        NewEvent {
            actor: ACTOR,
            action: "change.failed",
            change_id: Some(&change.id),
            package: Some(&change.package),
            details,
        },
    )
    .await?;
    tx.commit().await?;
    tracing::error!(
        failure.reason = failure.reason,
        "change failed: {}",
        failure.detail
    );
    let mut outcome = outcome_of(change);
    outcome.reason = Some(failure.reason.to_string());
    outcome.detail = Some(failure.detail);
    Ok(Step::Failed(outcome))
}

//! Deciding a change: approve or reject, with every check an approval makes (authority, stale
//! view, conflicts, requested changes, the future schema, the SQL plan, four-eyes), in one
//! transaction with its audit event.

use sqlx::{PgConnection, PgPool};

use super::super::account::Account;
use super::super::audit::{self, NewEvent};
use super::super::future::{check_approval, SchemaContext};
use super::{from_row, reread, ChangeConflict, DecideError, Decision, SchemaChange, SELECT_CHANGE};
use crate::domain::review::{ChangeStatus, IllegalTransition, Role};

/// Approvals serialize on this transaction-level advisory lock, so that two approvals never
/// check the future schema without seeing each other.
const APPROVAL_LOCK: i64 = 0x5343_4845_4d41_0003;

/// What the deciding admin saw and confirmed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reviewed<'a> {
    /// The target checksum reviewed; another current target is refused as stale.
    pub target: Option<&'a str>,
    /// The SHA-256 of the SQL plan reviewed; another current plan is refused as stale.
    pub plan: Option<&'a str>,
    /// The admin confirmed approving although reviewers requested changes.
    pub despite_requested_changes: bool,
}

/// Records `decision` on change `id` by `account`. `seen_target` is the target checksum the
/// admin reviewed; a different current target is refused as stale. An approval is refused
/// unless the schema the restart job would write with it (applied + approved + this change)
/// validates and renders. Exactly one of any number of concurrent decisions on a change
/// succeeds.
///
/// # Errors
/// [`DecideError`]; refusals for lack of authority are audited.
pub async fn decide(
    pool: &PgPool,
    context: &SchemaContext,
    account: &Account,
    id: &str,
    seen_target: Option<&str>,
    decision: &Decision,
) -> Result<SchemaChange, DecideError> {
    decide_pinned(pool, context, account, id, seen_target, None, decision).await
}

/// [`decide`], with `seen_plan`: the SHA-256 of the SQL plan the admin reviewed (a different
/// current plan is refused as stale). With an engine in `context`, an approval plans the change
/// again over the future state; a plan that differs from the one the change carries (or a
/// change that cannot be planned) is refused, and the change is given the new plan (or error)
/// for the next look.
///
/// # Errors
/// [`DecideError`]; refusals for lack of authority are audited.
pub async fn decide_pinned(
    pool: &PgPool,
    context: &SchemaContext,
    account: &Account,
    id: &str,
    seen_target: Option<&str>,
    seen_plan: Option<&str>,
    decision: &Decision,
) -> Result<SchemaChange, DecideError> {
    let reviewed = Reviewed {
        target: seen_target,
        plan: seen_plan,
        despite_requested_changes: false,
    };
    decide_reviewed(pool, context, account, id, reviewed, decision).await
}

/// [`decide_pinned`], with everything the admin saw and confirmed in `reviewed`. An approval
/// of a change with changes requested (see [`super::verdict`]) is refused unless
/// `reviewed.despite_requested_changes`. With four-eyes on (a registry setting, see
/// [`super::setting`]), a destructive, breaking or
/// security change needs two admins: the first approval is recorded and the change stays
/// pending (the returned change says so); the second must come from another admin who did not
/// make the change. Those refusals are audited.
///
/// # Errors
/// [`DecideError`].
pub async fn decide_reviewed(
    pool: &PgPool,
    context: &SchemaContext,
    account: &Account,
    id: &str,
    reviewed: Reviewed<'_>,
    decision: &Decision,
) -> Result<SchemaChange, DecideError> {
    let result = match preflight_problem(pool, context, account, id, decision).await {
        Ok(()) => decide_inner(pool, context, account, id, reviewed, decision).await,
        Err(refusal) => Err(refusal),
    };
    if let Err(
        error @ (DecideError::ChangesRequested { .. }
        | DecideError::FourEyes { .. }
        | DecideError::Preflight { .. }),
    ) = &result
    {
        audit_refusal(pool, account, id, decision, &error.to_string()).await?;
    }
    result
}

/// Before an approval, the change's plan is checked against the live platform database (always
/// afresh, outside the approval's transaction): rows that would make a statement fail refuse
/// it, with the numbers and the expand/contract way forward. Without an engine (no platform
/// database) there is nothing to check.
async fn preflight_problem(
    pool: &PgPool,
    context: &SchemaContext,
    account: &Account,
    id: &str,
    decision: &Decision,
) -> Result<(), DecideError> {
    let (Decision::Approve { .. }, Some(engine)) = (decision, &context.engine) else {
        return Ok(());
    };
    if authority_problem(account).is_some() {
        return Ok(());
    }
    let Some(change) = super::get(pool, id).await? else {
        return Ok(());
    };
    if change.plan_sql.is_none() {
        return Ok(());
    }
    let report =
        super::super::preflight::current(pool, &engine.database, &change, &context.config, None)
            .await?;
    match report.refusal() {
        Some(why) => Err(DecideError::Preflight {
            package: change.package,
            why,
        }),
        None => Ok(()),
    }
}

/// Records that `account` was refused `decision` on change `id`, and why.
async fn audit_refusal(
    pool: &PgPool,
    account: &Account,
    id: &str,
    decision: &Decision,
    why: &str,
) -> Result<(), sqlx::Error> {
    audit::append_alone(
        pool,
        NewEvent {
            actor: &account.username,
            action: "change.decision_refused",
            change_id: Some(id),
            package: None,
            details: serde_json::json!({"attempted": decision.event().as_str(), "why": why}),
        },
    )
    .await
    .map(drop)
}

async fn decide_inner(
    pool: &PgPool,
    context: &SchemaContext,
    account: &Account,
    id: &str,
    reviewed: Reviewed<'_>,
    decision: &Decision,
) -> Result<SchemaChange, DecideError> {
    refuse_before_reading(pool, account, id, decision).await?;
    let approval = matches!(decision, Decision::Approve { .. });
    let mut tx = pool.begin().await?;
    let change = lock_change(&mut tx, id, approval).await?;
    let next = change.status.next(decision.event())?;
    if let Some(seen) = reviewed.target {
        if seen != change.target_checksum {
            return Err(DecideError::Stale {
                seen: seen.to_string(),
                current: change.target_checksum,
            });
        }
    }
    if approval {
        if let Err((refusal, replanned)) =
            approval_problem(&mut tx, &change, context, reviewed).await?
        {
            drop(tx);
            // The new plan is kept although the approval is refused: the admin reviews it next.
            if let Some(planned) = replanned {
                super::super::plan::store(&mut *pool.acquire().await?, &change, &planned).await?;
            }
            return Err(refusal);
        }
    }
    let mut first_approval_by = None;
    if approval {
        match four_eyes(&mut tx, &change, account, context).await? {
            FourEyes::NotCovered => {}
            FourEyes::First => {
                super::super::verdict::record_first_approval(
                    &mut tx,
                    &change,
                    account,
                    decision.note(),
                )
                .await?;
                tx.commit().await?;
                return Ok(change);
            }
            FourEyes::Second(first) => first_approval_by = Some(first),
        }
    }
    let updated = transition(
        &mut tx,
        &change,
        next,
        decision,
        &account.username,
        first_approval_by,
    )
    .await?;
    if !approval {
        release_conflicts(&mut tx, &change).await?;
    }
    tx.commit().await?;
    Ok(updated)
}

/// Refusals that need no look at the change: an account without authority (audited), a
/// rejection without a reason.
async fn refuse_before_reading(
    pool: &PgPool,
    account: &Account,
    id: &str,
    decision: &Decision,
) -> Result<(), DecideError> {
    if let Some(why) = authority_problem(account) {
        audit_refusal(pool, account, id, decision, &why).await?;
        return Err(DecideError::Forbidden {
            action: "decide changes",
            account: account.username.clone(),
            why,
        });
    }
    if let Decision::Reject { reason } = decision {
        if reason.trim().is_empty() {
            return Err(DecideError::MissingReason);
        }
    }
    Ok(())
}

/// The change, locked for this transaction; an approval first takes the approvals' lock, so
/// that no two approvals check the future schema without seeing each other.
async fn lock_change(
    tx: &mut PgConnection,
    id: &str,
    approval: bool,
) -> Result<SchemaChange, DecideError> {
    if approval {
        sqlx::query("select pg_advisory_xact_lock($1)")
            .bind(APPROVAL_LOCK)
            .execute(&mut *tx)
            .await?;
    }
    locked_change(tx, id).await
}

/// Change `id`, locked until the transaction ends so that nobody else moves it meanwhile.
pub(crate) async fn locked_change(
    conn: &mut PgConnection,
    id: &str,
) -> Result<SchemaChange, DecideError> {
    let row = sqlx::query(&format!("{SELECT_CHANGE} where id = $1::uuid for update"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| DecideError::NotFound(id.to_string()))?;
    Ok(from_row(&row)?)
}

/// Why `change` cannot be approved now: a conflict, requested changes not confirmed, a future
/// schema that does not hold, or a plan refused or moved (then with the new plan to keep).
async fn approval_problem(
    tx: &mut PgConnection,
    change: &SchemaChange,
    context: &SchemaContext,
    reviewed: Reviewed<'_>,
) -> Result<Result<(), (DecideError, Option<super::super::plan::Planned>)>, DecideError> {
    if let Some(conflict) = change.conflicts.first() {
        return Ok(Err((
            DecideError::Conflicted(conflict.entity.clone()),
            None,
        )));
    }
    let by = super::super::verdict::requesting_changes(&mut *tx, &change.id).await?;
    if !by.is_empty() && !reviewed.despite_requested_changes {
        let refusal = DecideError::ChangesRequested {
            package: change.package.clone(),
            by,
        };
        return Ok(Err((refusal, None)));
    }
    if let Err(problem) = check_approval(&mut *tx, change, context).await? {
        return Ok(Err((problem.into(), None)));
    }
    Ok(
        super::super::plan::check_plan(&mut *tx, change, context, reviewed.plan)
            .await?
            .map(|_| ())
            .map_err(|(refusal, replanned)| (refusal.into(), replanned)),
    )
}

/// Where an approval stands under four-eyes.
enum FourEyes {
    /// Four-eyes is off, or the change's risk does not need two admins.
    NotCovered,
    /// No admin approved it yet: this approval is the first.
    First,
    /// The second approval, after these admins' first ones.
    Second(Vec<String>),
}

/// Four-eyes is the registry's setting, read in this transaction: every process agrees. The
/// second admin must be neither the first approver nor the author (the package's declared
/// owner, if it names one), and must have had an account before the change existed.
async fn four_eyes(
    tx: &mut PgConnection,
    change: &SchemaChange,
    account: &Account,
    context: &SchemaContext,
) -> Result<FourEyes, DecideError> {
    if !change.risk.needs_confirmation() || !super::super::setting::four_eyes(&mut *tx).await? {
        return Ok(FourEyes::NotCovered);
    }
    // First approvals count only at the plan just checked (a re-plan voids them).
    let first: Vec<String> = super::super::verdict::admin_approvals(&mut *tx, change)
        .await?
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    if first.is_empty() {
        return Ok(FourEyes::First);
    }
    let author = crate::domain::dialect::declared_owner(&change.yaml_snapshot, &context.config);
    crate::domain::review::second_approval_problem(&account.username, author.as_deref(), &first)
        .and_then(|()| {
            crate::domain::review::newer_admin_problem(
                &account.username,
                account.created_at,
                change.created_at,
            )
        })
        .map_err(|why| DecideError::FourEyes {
            package: change.package.clone(),
            why,
        })?;
    Ok(FourEyes::Second(first))
}

/// Why `account` may not decide, if it may not.
pub fn authority_problem(account: &Account) -> Option<String> {
    if account.disabled {
        Some("the account is disabled".to_string())
    } else if !account.role.allows(Role::Admin) {
        Some(format!(
            "the {} role cannot approve or reject; only admins can",
            account.role
        ))
    } else {
        None
    }
}

/// A rejected declaration no longer conflicts: drop it from other open changes' conflicts
/// (a conflict left with one declaration is gone).
async fn release_conflicts(
    conn: &mut PgConnection,
    rejected: &SchemaChange,
) -> Result<(), sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{SELECT_CHANGE} where status in ('pending', 'approved') and package <> $1
           and conflicts @> jsonb_build_array(jsonb_build_object('declarations',
               jsonb_build_array(jsonb_build_object('package', $1::text))))
         for update"
    ))
    .bind(&rejected.package)
    .fetch_all(&mut *conn)
    .await?;
    for row in &rows {
        let change = from_row(row)?;
        let conflicts: Vec<ChangeConflict> = change
            .conflicts
            .into_iter()
            .filter_map(|mut conflict| {
                conflict
                    .declarations
                    .retain(|d| d.package != rejected.package);
                let distinct: std::collections::BTreeSet<&str> = conflict
                    .declarations
                    .iter()
                    .map(|d| d.checksum.as_str())
                    .collect();
                (distinct.len() > 1).then(|| {
                    conflict.differences.clear();
                    conflict
                })
            })
            .collect();
        sqlx::query("update schema_change set conflicts = $2 where id = $1::uuid")
            .bind(&change.id)
            .bind(serde_json::to_value(&conflicts).unwrap_or_default())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn transition(
    conn: &mut PgConnection,
    change: &SchemaChange,
    next: ChangeStatus,
    decision: &Decision,
    actor: &str,
    first_approval_by: Option<Vec<String>>,
) -> Result<SchemaChange, DecideError> {
    let approval = matches!(decision, Decision::Approve { .. });
    let row = sqlx::query(
        "update schema_change set status = $2, decided_at = now(), decided_by = $3, note = $4,
             approval_seq = case when $5 then nextval('schema_change_approval_seq') else approval_seq end,
             approved_plan_sha256 = case when $5 then plan_sha256 else approved_plan_sha256 end,
             updated_at = now()
         where id = $1::uuid and status = $6
         returning id",
    )
    .bind(&change.id)
    .bind(next.as_str())
    .bind(actor)
    .bind(decision.note())
    .bind(approval)
    .bind(change.status.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if row.is_none() {
        return Err(DecideError::Illegal(IllegalTransition {
            from: next,
            event: decision.event(),
        }));
    }
    let action = if approval {
        "change.approved"
    } else {
        "change.rejected"
    };
    let mut details = serde_json::json!({"target_checksum": change.target_checksum, "risk": change.risk.as_str()});
    if let (true, Some(plan)) = (approval, &change.plan_sha256) {
        details["plan_sha256"] = serde_json::Value::String(plan.clone());
    }
    if let Some(note) = decision.note() {
        details["note"] = serde_json::Value::String(note.to_string());
    }
    if let Some(first) = first_approval_by {
        details["first_approval_by"] = serde_json::json!(first);
    }
    audit::append(
        conn,
        NewEvent {
            actor,
            action,
            change_id: Some(&change.id),
            package: Some(&change.package),
            details,
        },
    )
    .await?;
    Ok(reread(conn, &change.id).await?)
}

//! Approving every routine pending change at once (`approve --all`, and the web app's bulk
//! approval): no destructive, breaking, security or conflicted change, none with changes
//! requested, none of a package whose entity a package with validation errors declares
//! differently (the caller knows the packages on disk), dependencies satisfied, approved in dependency order so that a chain of routine
//! changes goes through in one sitting.
//! Each approval is its own decision, checked and audited like any other.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

use super::account::Account;
use super::change::{self, authority_problem, ChangeFilter, DecideError, Decision, SchemaChange};
use super::future::{self, DependencyState, SchemaContext};
use crate::domain::dependency::{declared, dependency_order, foreign_targets, WorkItem};
use crate::domain::dialect::parse_entities;
use crate::domain::review::ChangeStatus;

/// What a bulk approval would take, before it is confirmed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BulkPlan {
    /// Changes it would approve, in the order it would approve them.
    pub take: Vec<SchemaChange>,
    /// `(change, why it is left out)`.
    pub skipped: Vec<(SchemaChange, String)>,
}

/// What a bulk approval did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BulkApproval {
    /// Changes approved.
    pub approved: Vec<SchemaChange>,
    /// `(change, why it was left out)`.
    pub skipped: Vec<(SchemaChange, String)>,
}

/// Packages whose changes a bulk approval leaves out whatever else they are, with why: those
/// whose entities a package with validation errors on disk declares differently.
pub type LeftOut = BTreeMap<String, String>;

/// What to leave out of a bulk approval for the packages of `catalog` (the packages on disk):
/// each package with an entity a package with validation errors declares differently.
#[must_use]
pub fn left_out_on_disk(catalog: &crate::domain::Catalog) -> LeftOut {
    catalog
        .packages
        .iter()
        .filter(|p| p.errors.is_empty())
        .filter_map(|p| {
            let found = catalog.broken_conflicts(p.package.as_str());
            let first = found.first()?;
            Some((
                p.package.to_string(),
                format!(
                    "conflict with a package that has errors: {}",
                    first.describe()
                ),
            ))
        })
        .collect()
}

/// The pending changes a bulk approval would take, in dependency order, and the ones it leaves
/// for a decision of their own.
///
/// # Errors
/// Database errors.
pub async fn plan(pool: &PgPool, context: &SchemaContext) -> Result<BulkPlan, sqlx::Error> {
    plan_leaving_out(pool, context, &LeftOut::new()).await
}

/// As [`plan`], leaving out the changes of the packages in `left_out` too.
///
/// # Errors
/// Database errors.
pub async fn plan_leaving_out(
    pool: &PgPool,
    context: &SchemaContext,
    left_out: &LeftOut,
) -> Result<BulkPlan, sqlx::Error> {
    let pending = change::list(
        pool,
        &ChangeFilter {
            status: Some(ChangeStatus::Pending),
            ..ChangeFilter::default()
        },
    )
    .await?;
    let mut plan = BulkPlan::default();
    let mut routine = Vec::new();
    let mut conn = pool.acquire().await?;
    // Oldest first: the tie-break order of the approvals.
    for change in pending.into_iter().rev() {
        if let Some(why) = left_out.get(&change.package) {
            plan.skipped.push((change, why.clone()));
            continue;
        }
        match why_not_routine(&mut conn, &change).await? {
            Some(why) => plan.skipped.push((change, why)),
            None => routine.push(change),
        }
    }
    let mut needs = Vec::with_capacity(routine.len());
    for change in &routine {
        needs.push(future::dependencies(&mut conn, change, context).await?);
    }
    leave_out_unmet_dependencies(&mut routine, needs, &mut plan.skipped);
    plan.take = in_dependency_order(routine, context);
    Ok(plan)
}

/// Why `change` needs a decision of its own (changes requested, an unplannable or refused
/// plan, a risk that needs confirming, a conflict), or `None` when it is routine.
async fn why_not_routine(
    conn: &mut PgConnection,
    change: &SchemaChange,
) -> Result<Option<String>, sqlx::Error> {
    let requested = super::verdict::requesting_changes(conn, &change.id).await?;
    Ok(if !requested.is_empty() {
        Some(format!("changes requested by {}", requested.join(", ")))
    } else if let Some(error) = &change.plan_error {
        Some(if change.plan_sql.is_some() {
            format!("its SQL plan is refused: {error}")
        } else {
            format!("its SQL cannot be planned: {error}")
        })
    } else if change.risk.needs_confirmation() {
        Some(format!(
            "{} risk needs a decision of its own",
            change.risk.label()
        ))
    } else {
        change
            .conflicts
            .first()
            .map(|conflict| format!("conflict on {}", conflict.entity))
    })
}

/// Leaves out of `routine` (into `skipped`), until nothing changes, whatever needs something
/// neither applied, approved nor taken in this batch; `needs` holds each change's dependencies.
fn leave_out_unmet_dependencies(
    routine: &mut Vec<SchemaChange>,
    mut needs: Vec<Vec<future::Dependency>>,
    skipped: &mut Vec<(SchemaChange, String)>,
) {
    loop {
        let taken: BTreeSet<&str> = routine.iter().map(|c| c.id.as_str()).collect();
        let blocked = needs.iter().position(|deps| {
            deps.iter().any(|d| {
                !d.state.is_satisfied()
                    && (d.state != DependencyState::Pending
                        || !d.change_id.as_deref().is_some_and(|id| taken.contains(id)))
            })
        });
        let Some(index) = blocked else { break };
        let deps = needs.remove(index);
        let change = routine.remove(index);
        let why: Vec<String> = deps
            .iter()
            .filter(|d| !d.state.is_satisfied())
            .map(future::Dependency::describe)
            .collect();
        skipped.push((
            change,
            format!("depends on what is not approved: {}", why.join("; ")),
        ));
    }
}

/// `routine` reordered so that a change comes after the changes whose entities it needs.
fn in_dependency_order(routine: Vec<SchemaChange>, context: &SchemaContext) -> Vec<SchemaChange> {
    let items: Vec<WorkItem> = routine
        .iter()
        .map(|c| {
            let entities = parse_entities(&c.yaml_snapshot, &c.package, &context.config).entities;
            WorkItem {
                package: c.package.clone(),
                declares: declared(&entities),
                needs: foreign_targets(&entities, &context.base),
            }
        })
        .collect();
    let (order, _) = dependency_order(&items);
    let mut slots: Vec<Option<SchemaChange>> = routine.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Approves what [`plan`] takes, as `account`. With `confirmed` (change id → the target
/// checksum the admin saw in the list), only those changes, at those checksums.
///
/// # Errors
/// Database errors and [`DecideError::Forbidden`].
pub async fn approve_all(
    pool: &PgPool,
    context: &SchemaContext,
    account: &Account,
    note: Option<String>,
    confirmed: Option<&BTreeMap<String, String>>,
) -> Result<BulkApproval, DecideError> {
    approve_all_leaving_out(pool, context, account, note, confirmed, &LeftOut::new()).await
}

/// As [`approve_all`], leaving out the changes of the packages in `left_out` too.
///
/// # Errors
/// Database errors and [`DecideError::Forbidden`].
pub async fn approve_all_leaving_out(
    pool: &PgPool,
    context: &SchemaContext,
    account: &Account,
    note: Option<String>,
    confirmed: Option<&BTreeMap<String, String>>,
    left_out: &LeftOut,
) -> Result<BulkApproval, DecideError> {
    if let Some(why) = authority_problem(account) {
        return Err(DecideError::Forbidden {
            action: "decide changes",
            account: account.username.clone(),
            why,
        });
    }
    let plan = plan_leaving_out(pool, context, left_out).await?;
    let mut outcome = BulkApproval {
        approved: Vec::new(),
        skipped: plan.skipped,
    };
    for change in plan.take {
        let seen = match confirmed {
            None => Some(change.target_checksum.clone()),
            Some(list) => list.get(&change.id).cloned(),
        };
        let Some(seen) = seen else {
            outcome
                .skipped
                .push((change, "not in the list that was confirmed".to_string()));
            continue;
        };
        let decision = Decision::Approve { note: note.clone() };
        match change::decide(pool, context, account, &change.id, Some(&seen), &decision).await {
            Ok(approved) => outcome.approved.push(approved),
            Err(DecideError::Database(error)) => return Err(DecideError::Database(error)),
            Err(forbidden @ DecideError::Forbidden { .. }) => return Err(forbidden),
            Err(other) => outcome.skipped.push((change, other.to_string())),
        }
    }
    Ok(outcome)
}

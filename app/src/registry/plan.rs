//! A change's SQL plan: what Prisma's schema engine plans from the schema the restart job would
//! leave before the change (applied plus approved) to the schema with it, wrapped in the
//! row-level-security statements of the package's ACLs ([`policies_for`]). Planned at scan time for new changes, checked again at
//! approval (the plan an admin approves is pinned by its SHA-256), and re-planned by the
//! restart job against the live database.

use std::collections::BTreeMap;

use sqlx::{PgConnection, PgPool};

use super::apply::{parse_snapshot, parse_state, render_entities};
use super::change::SchemaChange;
use super::future::{future_state_on, SchemaContext};
use super::scan::sha256_hex;
use crate::domain::change::overall_risk;
use crate::domain::model::Entity;
use crate::domain::plan_check::{self, sql_risk};
use crate::domain::plan_scope::PlanScope;
use crate::domain::policy_sql::{policy_plan, Models, PolicyPlan, PolicyState};
use crate::domain::rename::{self, Renames};
use crate::domain::sql_plan::StatementRefusal;
use crate::engine::{EngineError, Plan};
use crate::platform::PlatformEngine;

/// What Prisma writes for a plan with nothing to do.
pub const EMPTY_PLAN: &str = "-- This is an empty migration.\n";

/// A change's plan, or why it has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// The SQL; every statement is accounted for.
    Sql(String),
    /// SQL with statements the plan check refuses: it is kept to be shown, and can never be
    /// approved or applied.
    Refused {
        /// The SQL.
        sql: String,
        /// The refused statements.
        refusals: Vec<StatementRefusal>,
        /// Why, in words.
        reason: String,
    },
    /// The schema engine (or rendering) refused: the change cannot be applied as it is.
    Unplannable(String),
}

impl Planned {
    /// The SQL, refused or not.
    #[must_use]
    pub fn sql(&self) -> Option<&str> {
        match self {
            Planned::Sql(sql) | Planned::Refused { sql, .. } => Some(sql),
            Planned::Unplannable(_) => None,
        }
    }
}

/// `change`'s package on both sides of the change, and every other package of `state`.
struct Sides {
    /// The package's entities in `state` (none when it was never applied or approved).
    before_own: Vec<Entity>,
    /// Its entities with the change (none for a drop).
    after_own: Vec<Entity>,
    /// Every other package's entities.
    others: BTreeMap<String, Vec<Entity>>,
}

impl Sides {
    fn of(
        state: &BTreeMap<String, String>,
        change: &SchemaChange,
        context: &SchemaContext,
    ) -> Result<Sides, String> {
        let mut others = parse_state(state, &context.config).map_err(|e| e.to_string())?;
        let before_own = others.remove(&change.package).unwrap_or_default();
        let after_own = if change.kind == "drop" {
            Vec::new()
        } else {
            parse_snapshot(&change.package, &change.yaml_snapshot, &context.config)?
        };
        Ok(Sides {
            before_own,
            after_own,
            others,
        })
    }

    fn other_entities(&self) -> Vec<&Entity> {
        self.others.values().flatten().collect()
    }
}

/// What `change` may touch: its own tables before (in `state`) and after, and what its
/// relations target.
///
/// # Errors
/// The snapshot or the state cannot be read, as text.
pub fn scope_for(
    state: &BTreeMap<String, String>,
    change: &SchemaChange,
    context: &SchemaContext,
) -> Result<PlanScope, String> {
    let sides = Sides::of(state, change, context)?;
    Ok(PlanScope::new(
        &sides.before_own,
        &sides.after_own,
        &sides.other_entities(),
        &context.base,
    ))
}

/// `sql` checked statement by statement against `change`'s scope: [`Planned::Sql`] when every
/// statement is accounted for, else [`Planned::Refused`].
///
/// # Errors
/// The scope cannot be built, as text.
pub fn checked(
    sql: String,
    state: &BTreeMap<String, String>,
    change: &SchemaChange,
    context: &SchemaContext,
) -> Result<Planned, String> {
    let scope = scope_for(state, change, context)?;
    let check = plan_check::check_plan(&sql, &scope);
    Ok(match check.refusal() {
        None => Planned::Sql(sql),
        Some(reason) => Planned::Refused {
            refusals: check.refused_statements(),
            reason: format!("the plan is refused: {reason}"),
            sql,
        },
    })
}

/// The two schemas a change's plan goes between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanSchemas {
    /// Applied plus approved, without this change.
    pub before: String,
    /// The same with this change.
    pub after: String,
    /// The renames the change declares, and `before` with them done; `None` when it renames
    /// nothing.
    pub renamed: Option<(Renames, String)>,
}

impl PlanSchemas {
    /// Prisma's part of the plan: the engine's script from `before` to `after`; with renames,
    /// the renames in place (tables, columns, then the indexes and constraints named after
    /// them, as the engine names them) and the engine's script from the renamed state.
    ///
    /// # Errors
    /// The engine's.
    pub async fn prisma_script(&self, engine: &PlatformEngine) -> Result<Plan, EngineError> {
        let Some((renames, renamed)) = &self.renamed else {
            return engine.plan(Some(&self.before), &self.after).await;
        };
        let before_names = engine.plan(None, &self.before).await?;
        let renamed_names = engine.plan(None, renamed).await?;
        let mut statements = rename::statements(renames);
        statements.extend(rename::constraint_renames(
            &before_names.sql,
            &renamed_names.sql,
            renames,
        ));
        let rest = engine.plan(Some(renamed), &self.after).await?;
        let mut sql = format!("-- Renames (renamedFrom)\n{}\n", statements.join("\n"));
        if !rest.empty {
            sql.push('\n');
            sql.push_str(rest.sql.trim_start());
        }
        Ok(Plan {
            empty: statements.is_empty() && rest.empty,
            sql,
        })
    }
}

/// The schemas before and after `change` over `state` (package → YAML).
///
/// # Errors
/// The rendering problem, as text.
pub fn schemas_for(
    state: &BTreeMap<String, String>,
    change: &SchemaChange,
    context: &SchemaContext,
) -> Result<PlanSchemas, String> {
    let mut packages = parse_state(state, &context.config).map_err(|e| e.to_string())?;
    let before = render_entities(&context.base, &packages).map_err(|e| e.to_string())?;
    let before_own = packages.get(&change.package).cloned().unwrap_or_default();
    let after_own = if change.kind == "drop" {
        Vec::new()
    } else {
        parse_snapshot(&change.package, &change.yaml_snapshot, &context.config)?
    };
    let renames = rename::renames(&before_own, &after_own);
    let renamed = if renames.is_empty() {
        None
    } else {
        let own = rename::renamed_state(&before_own, &renames, &after_own);
        packages.insert(change.package.clone(), own);
        let schema = render_entities(&context.base, &packages)
            .map_err(|e| format!("the schema with the renames done does not render: {e}"))?;
        Some((renames, schema))
    };
    if change.kind == "drop" {
        packages.remove(&change.package);
    } else {
        packages.insert(change.package.clone(), after_own);
    }
    let after = render_entities(&context.base, &packages)
        .map_err(|e| format!("the schema with this change does not render: {e}"))?;
    Ok(PlanSchemas {
        before,
        after,
        renamed,
    })
}

/// The row-level-security statements that take `change`'s package from its policies in
/// `state` to those of the change: dropped before Prisma's DDL, created after it.
///
/// # Errors
/// An ACL of the change that cannot be compiled into a policy, as text.
pub fn policies_for(
    state: &BTreeMap<String, String>,
    change: &SchemaChange,
    context: &SchemaContext,
) -> Result<PolicyPlan, String> {
    let sides = Sides::of(state, change, context)?;
    let (before_own, after_own, others) =
        (&sides.before_own, &sides.after_own, sides.other_entities());
    // Each package's own entities first: its declaration wins where names repeat.
    let before_models = Models::new(
        &context.base,
        before_own.iter().chain(others.iter().copied()),
    );
    let after_models = Models::new(
        &context.base,
        after_own.iter().chain(others.iter().copied()),
    );
    policy_plan(
        PolicyState {
            entities: before_own,
            models: &before_models,
        },
        PolicyState {
            entities: after_own,
            models: &after_models,
        },
        &context.config,
    )
    .map_err(|error| format!("the access rules cannot be enforced by row-level security: {error}"))
}

/// The whole plan: the policies' drops, Prisma's script, the policies' creation. A plan with
/// nothing to do is [`EMPTY_PLAN`].
#[must_use]
pub fn full_plan(prisma_sql: &str, empty: bool, policies: &PolicyPlan) -> String {
    let prisma = if empty { "" } else { prisma_sql.trim() };
    if prisma.is_empty() && policies.is_empty() {
        return EMPTY_PLAN.to_string();
    }
    let mut parts: Vec<String> = policies.before_ddl.clone();
    if !prisma.is_empty() {
        parts.push(prisma.to_string());
    }
    parts.extend(policies.after_ddl.iter().cloned());
    let mut sql = parts.join("\n\n");
    sql.push('\n');
    sql
}

/// Plans `change` over the registry state `state` (package → YAML, without the change).
///
/// # Errors
/// Engine failures that are not the change's fault (unreachable database, no engine).
pub async fn plan_over(
    engine: &PlatformEngine,
    state: &BTreeMap<String, String>,
    change: &SchemaChange,
    context: &SchemaContext,
) -> Result<Planned, EngineError> {
    let schemas = match schemas_for(state, change, context) {
        Ok(schemas) => schemas,
        Err(problem) => return Ok(Planned::Unplannable(problem)),
    };
    let policies = match policies_for(state, change, context) {
        Ok(policies) => policies,
        Err(problem) => return Ok(Planned::Unplannable(problem)),
    };
    match schemas.prisma_script(engine).await {
        Ok(plan) => {
            let sql = full_plan(&plan.sql, plan.empty, &policies);
            Ok(checked(sql, state, change, context).unwrap_or_else(Planned::Unplannable))
        }
        Err(EngineError::Engine { kind, message, .. }) if kind == "engine" => {
            Ok(Planned::Unplannable(message))
        }
        Err(error) => Err(error),
    }
}

/// Plans `change` over what the registry will hold once everything approved is applied (read
/// on `conn`, inside the caller's transaction).
///
/// # Errors
/// Database errors outside; engine infrastructure failures inside.
pub async fn plan_change(
    conn: &mut PgConnection,
    engine: &PlatformEngine,
    change: &SchemaChange,
    context: &SchemaContext,
) -> Result<Result<Planned, EngineError>, sqlx::Error> {
    // The change is pending (or failed): the state holds its package as applied, if at all.
    let state = future_state_on(conn, context).await?.state;
    Ok(plan_over(engine, &state, change, context).await)
}

/// Stores `planned` as `change`'s plan (`plan_sql` + `plan_sha256`, or `plan_error`, or
/// both with the refused statements), and the change's risk: the highest of its items' risk and
/// its SQL's ([`sql_risk`]).
///
/// # Errors
/// Database errors.
pub async fn store(
    conn: &mut PgConnection,
    change: &SchemaChange,
    planned: &Planned,
) -> Result<(), sqlx::Error> {
    let (error, refusals) = match planned {
        Planned::Sql(_) => (None, Vec::new()),
        Planned::Refused {
            reason, refusals, ..
        } => (Some(reason.as_str()), refusals.clone()),
        Planned::Unplannable(error) => (Some(error.as_str()), Vec::new()),
    };
    let sql = planned.sql();
    let items_risk = overall_risk(&change.items);
    let risk = sql.map_or(items_risk, |sql| items_risk.max(sql_risk(sql)));
    sqlx::query(
        "update schema_change set plan_sql = $2, plan_error = $3, plan_sha256 = $4, planned_at = now(),
             plan_refusals = $5, risk = $6
         where id = $1::uuid",
    )
    .bind(&change.id)
    .bind(sql)
    .bind(error)
    .bind(sql.map(sha256_hex))
    .bind(serde_json::to_value(&refusals).unwrap_or_default())
    .bind(risk.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The pending changes that carry no SQL: never planned (the engine or the database was down),
/// or unplannable when last tried (a dependency not yet approved, say). Each scan tries again.
///
/// # Errors
/// Database errors.
pub async fn unplanned_pending(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select id::text from schema_change where status = 'pending' and plan_sql is null
          order by created_at",
    )
    .fetch_all(pool)
    .await
}

/// Resumes planning that was interrupted for `change` (a pending change that carries neither
/// SQL nor the engine's error: the engine or the database was down when it was scanned), so
/// that whoever looks at it sees its SQL. Returns the change as it now stands; when the engine
/// still cannot plan, the failure is logged and the change is returned unchanged.
///
/// # Errors
/// Database errors.
pub async fn resume_interrupted(
    pool: &PgPool,
    engine: &PlatformEngine,
    change: SchemaChange,
    context: &SchemaContext,
) -> Result<SchemaChange, sqlx::Error> {
    let interrupted = change.status == crate::domain::review::ChangeStatus::Pending
        && change.plan_sql.is_none()
        && change.plan_error.is_none();
    if !interrupted {
        return Ok(change);
    }
    let mut conn = pool.acquire().await?;
    match plan_change(&mut conn, engine, &change, context).await? {
        Ok(planned) => {
            store(&mut conn, &change, &planned).await?;
            tracing::info!(change.id = %change.id, package.id = %change.package, "resumed the change's interrupted planning");
            Ok(super::change::get(pool, &change.id)
                .await?
                .unwrap_or(change))
        }
        Err(error) => {
            tracing::warn!(change.id = %change.id, "cannot plan the change's SQL now: {error}");
            Ok(change)
        }
    }
}

/// Plans the changes `ids` (new ones from a scan), one after the other in one engine process.
/// A change the engine cannot plan is stored with the engine's error; when the engine itself
/// fails (no database, no program), the rest stay unplanned and the failure is logged: their
/// approval plans them.
///
/// # Errors
/// Database errors.
pub async fn plan_new(
    pool: &PgPool,
    engine: &PlatformEngine,
    ids: &[String],
    context: &SchemaContext,
) -> Result<usize, sqlx::Error> {
    let mut planned = 0;
    let mut conn = pool.acquire().await?;
    // Read once for the whole batch: planning changes nothing it holds, and an approval
    // checks its change's plan against the state of its own moment.
    let state = future_state_on(&mut conn, context).await?.state;
    for id in ids {
        let Some(change) = super::change::get(pool, id).await? else {
            continue;
        };
        if change.plan_sql.is_some() {
            continue;
        }
        let started = std::time::Instant::now();
        match plan_over(engine, &state, &change, context).await {
            Ok(result) => {
                store(&mut conn, &change, &result).await?;
                planned += 1;
                tracing::info!(
                    change.id = %change.id,
                    package.id = %change.package,
                    plan.ms = started.elapsed().as_millis() as u64,
                    plan.ok = matches!(result, Planned::Sql(_)),
                    plan.refused = matches!(result, Planned::Refused { .. }),
                    "planned the change's SQL"
                );
            }
            Err(error) => {
                tracing::warn!(change.id = %change.id, "cannot plan the change's SQL now: {error}");
                break;
            }
        }
    }
    Ok(planned)
}

/// Checks the stored plan of every pending change again (parsing only, no engine), so that a
/// plan altered in the registry, or planned before today's check, carries today's verdict and
/// risk. Returns how many changes were updated.
///
/// # Errors
/// Database errors.
pub async fn recheck_pending(pool: &PgPool, context: &SchemaContext) -> Result<usize, sqlx::Error> {
    let select = format!(
        "{} where status = 'pending' and plan_sql is not null",
        super::change::SELECT_CHANGE
    );
    let pending: Vec<SchemaChange> = sqlx::query(&select)
        .fetch_all(pool)
        .await?
        .iter()
        .map(super::change::from_row)
        .collect::<Result<_, _>>()?;
    if pending.is_empty() {
        return Ok(0);
    }
    let mut conn = pool.acquire().await?;
    let state = future_state_on(&mut conn, context).await?.state;
    let mut updated = 0;
    for change in pending {
        let Some(sql) = change.plan_sql.clone() else {
            continue;
        };
        let risk = overall_risk(&change.items).max(sql_risk(&sql));
        let Ok(verdict) = checked(sql, &state, &change, context) else {
            continue;
        };
        let same = match &verdict {
            Planned::Sql(_) => change.plan_error.is_none(),
            Planned::Refused { reason, .. } => {
                change.plan_error.as_deref() == Some(reason.as_str())
            }
            Planned::Unplannable(_) => true,
        };
        if !same || risk != change.risk {
            store(&mut conn, &change, &verdict).await?;
            updated += 1;
            if let Planned::Refused { reason, .. } = &verdict {
                tracing::warn!(change.id = %change.id, package.id = %change.package, "a stored plan is refused: {reason}");
            }
        }
    }
    Ok(updated)
}

/// Why an approval (or retry) refuses a change's plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanRefusal {
    /// The schema engine cannot plan the change's SQL.
    #[error("cannot approve {package}: its SQL cannot be planned: {error}")]
    Unplannable {
        /// The package.
        package: String,
        /// The engine's error.
        error: String,
    },
    /// Planned now, the SQL differs from the SQL the change carried (or it carried none).
    #[error("the SQL plan of {package} changed since it was shown (the applied or approved state moved on); the change now carries the new plan: review it and decide again")]
    Changed {
        /// The package.
        package: String,
    },
    /// The caller approved another plan than the change carries.
    #[error(
        "stale view: the change's SQL plan is now {current}, not {seen}; reload and review again"
    )]
    Stale {
        /// The plan hash the caller saw.
        seen: String,
        /// The change's plan hash.
        current: String,
    },
    /// The plan check refuses statements of the plan: no confirmation can approve it.
    #[error("cannot approve {package}: {reason}")]
    Refused {
        /// The package.
        package: String,
        /// Which statements, and why.
        reason: String,
    },
    /// The schema engine is unavailable: nothing can be planned now.
    #[error("cannot plan the change's SQL now: {0}")]
    Engine(String),
}

/// What an approval of `change` pins: the plan hash it approves, or why it is refused plus the
/// plan to store once the caller's transaction is rolled back.
///
/// # Errors
/// Database errors outside.
pub async fn check_plan(
    conn: &mut PgConnection,
    change: &SchemaChange,
    context: &SchemaContext,
    seen_plan: Option<&str>,
) -> Result<Result<Option<String>, (PlanRefusal, Option<Planned>)>, sqlx::Error> {
    let package = change.package.clone();
    if let Some(engine) = &context.engine {
        let planned = match plan_change(conn, engine, change, context).await? {
            Ok(planned) => planned,
            Err(error) => return Ok(Err((PlanRefusal::Engine(error.to_string()), None))),
        };
        match &planned {
            Planned::Refused { reason, .. } => {
                let store_it = change.plan_error.as_deref() != Some(reason.as_str());
                let refusal = PlanRefusal::Refused {
                    package,
                    reason: reason.clone(),
                };
                return Ok(Err((refusal, store_it.then_some(planned))));
            }
            Planned::Unplannable(error) => {
                let store_it = change.plan_error.as_deref() != Some(error.as_str());
                let refusal = PlanRefusal::Unplannable {
                    package,
                    error: error.clone(),
                };
                return Ok(Err((refusal, store_it.then_some(planned))));
            }
            Planned::Sql(sql) => {
                if change.plan_sha256.as_deref() != Some(sha256_hex(sql).as_str()) {
                    return Ok(Err((PlanRefusal::Changed { package }, Some(planned))));
                }
            }
        }
    } else if let Some(error) = &change.plan_error {
        // Without an engine (registry-only callers), the stored verdict still binds: a refused
        // or unplannable plan is never approved. An approval of a change without a plan cannot
        // be applied: the restart job plans it against the live database and refuses it.
        let refusal = if change.plan_sql.is_some() {
            PlanRefusal::Refused {
                package,
                reason: error.clone(),
            }
        } else {
            PlanRefusal::Unplannable {
                package,
                error: error.clone(),
            }
        };
        return Ok(Err((refusal, None)));
    }
    if let Some(seen) = seen_plan.filter(|s| !s.is_empty()) {
        if change.plan_sha256.as_deref() != Some(seen) {
            return Ok(Err((
                PlanRefusal::Stale {
                    seen: seen.to_string(),
                    current: change.plan_sha256.clone().unwrap_or_else(|| "none".into()),
                },
                None,
            )));
        }
    }
    Ok(Ok(change.plan_sha256.clone()))
}

//! The changes list and the change page built from the registry: the list's filter from the
//! page's parameters, a page of rows, and every part of a change a reviewer reads.

use super::{
    event_view, AclRow, ChangeDetail, ChangeList, ChangeRow, EventView, Lineage, PER_PAGE,
};
use crate::api::review::ReviewState;
use crate::domain::model::Entity;
use crate::domain::review::{ChangeStatus, Role};
use crate::error::AppError;
use crate::registry::account::Account;
use crate::registry::change::{self, ChangeFilter, ChangeSummary, SchemaChange};

/// The list's filter: `status` is `open` (the default), `history`, `all` or one state, `risk`
/// one risk class, `package` a part of a package name, `q` free text; blank ones select all.
pub(super) fn change_filter(
    status: Option<String>,
    risk: Option<String>,
    package: Option<String>,
    q: Option<String>,
) -> Result<ChangeFilter, AppError> {
    let nonempty = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let (single, statuses, pending_first) = status_selection(nonempty(status).as_deref())?;
    Ok(ChangeFilter {
        status: single,
        statuses,
        pending_first,
        risk: nonempty(risk)
            .map(|s| s.parse())
            .transpose()
            .map_err(|e: crate::domain::change::UnknownRisk| AppError::Invalid(e.to_string()))?,
        package_contains: nonempty(package),
        search: nonempty(q),
        ..ChangeFilter::default()
    })
}

/// The states a `status` parameter selects: one state, or several, and whether pending
/// changes come first.
fn status_selection(
    status: Option<&str>,
) -> Result<(Option<ChangeStatus>, Vec<ChangeStatus>, bool), AppError> {
    // "open" (the default), "history", "all", or one state.
    Ok(match status {
        None | Some("open") => (
            None,
            ChangeStatus::ALL
                .into_iter()
                .filter(|s| s.is_open())
                .collect(),
            true,
        ),
        Some("history") => (
            None,
            ChangeStatus::ALL
                .into_iter()
                .filter(|s| !s.is_open())
                .collect(),
            false,
        ),
        Some("all") => (None, Vec::new(), true),
        Some(one) => (
            Some(
                one.parse()
                    .map_err(|e: crate::domain::review::UnknownStatus| {
                        AppError::Invalid(e.to_string())
                    })?,
            ),
            Vec::new(),
            false,
        ),
    })
}

/// Page `page` (from 1) of the changes `filter` selects; `schema` gives what rendering needs,
/// read only when the page shows an approved change (to tell whether it is held back).
pub(super) async fn change_page(
    pool: &sqlx::PgPool,
    mut filter: ChangeFilter,
    page: Option<i64>,
    schema: impl FnOnce() -> Result<crate::registry::future::SchemaContext, AppError>,
) -> Result<ChangeList, AppError> {
    let total = change::count(pool, &filter).await?;
    // A page past the end (a stale link, a hand-typed number) shows the last page.
    let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    let page = page.unwrap_or(1).clamp(1, pages);
    filter.limit = Some(PER_PAGE);
    filter.offset = Some((page - 1) * PER_PAGE);
    let changes = change::list_summaries(pool, &filter).await?;
    let ids: Vec<String> = changes.iter().map(|c| c.id.clone()).collect();
    let requested = crate::registry::verdict::with_changes_requested(pool, &ids).await?;
    let queued = changes
        .iter()
        .any(|c| matches!(c.status, ChangeStatus::Approved | ChangeStatus::Applying));
    let mut held = if queued {
        let mut conn = pool.acquire().await?;
        crate::registry::future::held_back(&mut conn, &schema()?).await?
    } else {
        std::collections::BTreeMap::new()
    };
    let rows = changes
        .into_iter()
        .map(|c| {
            let changes_requested = requested.contains(&c.id);
            let held_back = held.remove(&c.id).map(|h| (h.headline(), h.reason()));
            ChangeRow {
                held_back,
                ..change_row(c, changes_requested)
            }
        })
        .collect();
    Ok(ChangeList {
        rows,
        total,
        page,
        per_page: PER_PAGE,
    })
}

/// A change's row in the list.
fn change_row(c: ChangeSummary, changes_requested: bool) -> ChangeRow {
    ChangeRow {
        changes_requested,
        held_back: None,
        broken_conflicts: Vec::new(),
        items: c.items,
        findings: c.findings,
        conflicts: c.conflicts,
        created_at: rfc3339(c.created_at),
        id: c.id,
        package: c.package,
        kind: c.kind,
        status: c.status.as_str().to_string(),
        risk: c.risk.as_str().to_string(),
    }
}

/// Marks each open change of `rows` whose package's entity a package with validation errors on
/// disk declares differently. Nothing is marked when the packages on disk cannot be read.
pub(super) async fn mark_broken_conflicts(
    rows: &mut [ChangeRow],
    inputs: crate::registry::scan::ScanInputs,
) -> Result<(), AppError> {
    let open = |row: &ChangeRow| row.status == "pending" || row.status == "approved";
    if !rows.iter().any(open) {
        return Ok(());
    }
    let Some(catalog) = crate::api::broken::disk_catalog_if_readable(inputs).await? else {
        return Ok(());
    };
    for row in rows.iter_mut().filter(|row| open(row)) {
        row.broken_conflicts = catalog.broken_conflicts(&row.package);
    }
    Ok(())
}

/// `t` as RFC 3339, as pages show times.
fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Change `id`, or the one change whose id starts with it.
pub(super) async fn find_change(pool: &sqlx::PgPool, id: &str) -> Result<SchemaChange, AppError> {
    let not_found = || AppError::NotFound(format!("change {id}"));
    let full_id = change::resolve_id(pool, id)
        .await?
        .map_err(|_| not_found())?;
    change::get(pool, &full_id).await?.ok_or_else(not_found)
}

/// The preflight facts of `c`'s plan: for a change still to be applied, checked again on the
/// platform database when older than the configured age; for one applied or failed, as kept.
pub(super) async fn preflight(
    pool: &sqlx::PgPool,
    c: &SchemaChange,
    schema: &crate::registry::future::SchemaContext,
    config: &crate::domain::config::Config,
) -> Result<Option<crate::domain::preflight::PreflightReport>, AppError> {
    use crate::domain::review::ChangeStatus;
    use crate::registry::preflight;
    let max_age = preflight::settings().max_age;
    // A failed change is checked again too: whether Retry can succeed depends on it.
    let to_apply = matches!(
        c.status,
        ChangeStatus::Pending | ChangeStatus::Approved | ChangeStatus::Failed
    );
    Ok(match (&c.plan_sql, &schema.engine) {
        (Some(_), Some(engine)) if to_apply => {
            Some(preflight::current(pool, &engine.database, c, config, Some(max_age)).await?)
        }
        _ => preflight::load(pool, &c.id, max_age)
            .await?
            .map(|(report, _)| report),
    })
}

/// What a failed change's page says to do next.
#[derive(Debug, Default)]
pub(super) struct FailureNext {
    /// What to do before retrying, when a retry can cure it.
    pub next: Option<String>,
    /// Why a retry as it is would fail again, and what to do instead.
    pub retry_blocked: Option<String>,
}

/// For failed change `c`: whether a retry can cure it (see
/// [`crate::registry::apply::retry_blocker`]), and what to do either way.
pub(super) async fn failure_next(
    pool: &sqlx::PgPool,
    c: &SchemaChange,
    schema: &crate::registry::future::SchemaContext,
    preflight: Option<&crate::domain::preflight::PreflightReport>,
) -> Result<FailureNext, AppError> {
    use crate::registry::apply::{next_step, retry_blocker};
    if c.status != ChangeStatus::Failed {
        return Ok(FailureNext::default());
    }
    let mut conn = pool.acquire().await?;
    Ok(
        match retry_blocker(&mut conn, c, schema, preflight).await? {
            Some(blocker) => FailureNext {
                next: None,
                retry_blocked: Some(format!(
                    "Retrying it as it is would fail again: {}. Instead, {}.",
                    blocker.why, blocker.instead
                )),
            },
            None => FailureNext {
                next: Some(next_step(c.failure_reason.as_deref()).to_string()),
                retry_blocked: None,
            },
        },
    )
}

/// What the change page shows besides the change's own fields.
pub(super) struct Gathered {
    /// The package's entities as applied.
    before: Vec<Entity>,
    /// Its entities with the change.
    after: Vec<Entity>,
    /// Audit events about the change, oldest first.
    timeline: Vec<EventView>,
    /// The reviews, as the viewer sees them.
    review: ReviewState,
    /// Dependencies, the changes before and after it, earlier comments.
    lineage: Lineage,
}

/// Reads from the registry what the change page shows of `c` to `viewer`.
pub(super) async fn gather(
    pool: &sqlx::PgPool,
    c: &SchemaChange,
    viewer: &Account,
    schema: &crate::registry::future::SchemaContext,
    config: &crate::domain::config::Config,
) -> Result<Gathered, AppError> {
    use crate::domain::dialect::parse_entities;
    use crate::registry::audit::{self, AuditFilter};
    let before_yaml = change::base_yaml(pool, c).await?.unwrap_or_default();
    let before = parse_entities(&before_yaml, "applied", config).entities;
    let after = parse_entities(&c.yaml_snapshot, "proposed", config).entities;
    let timeline = audit::list(
        pool,
        &AuditFilter {
            change_id: Some(c.id.clone()),
            ..AuditFilter::default()
        },
    )
    .await?
    .into_iter()
    .map(event_view)
    .collect();
    let review = crate::api::review::review_state(pool, c, viewer, config).await?;
    let lineage = crate::api::lineage::lineage(pool, c, schema).await?;
    Ok(Gathered {
        before,
        after,
        timeline,
        review,
        lineage,
    })
}

/// The change page of `c` as `viewer` sees it: what they may do depends on their role.
pub(super) fn change_detail(c: SchemaChange, viewer: &Account, gathered: Gathered) -> ChangeDetail {
    let Gathered {
        before,
        after,
        timeline,
        review,
        lineage,
    } = gathered;
    let is_admin = viewer.role.allows(Role::Admin);
    let plan = c
        .plan_sql
        .as_deref()
        .map(|sql| crate::domain::sql_plan::annotate(sql, &c.items, &after, &c.plan_refusals))
        .unwrap_or_default();
    ChangeDetail {
        row: ChangeRow {
            id: c.id.clone(),
            package: c.package.clone(),
            kind: c.kind.clone(),
            status: c.status.as_str().to_string(),
            risk: c.risk.as_str().to_string(),
            items: c.items.len(),
            findings: c
                .items
                .iter()
                .filter(|item| item.kind == crate::domain::change::ItemKind::Finding)
                .count(),
            conflicts: c.conflicts.iter().map(|x| x.entity.clone()).collect(),
            created_at: rfc3339(c.created_at),
            changes_requested: !review.changes_requested_by.is_empty(),
            // The page says it in full (the lineage's `held_back`).
            held_back: None,
            broken_conflicts: Vec::new(),
        },
        base_checksum: c.base_checksum.clone(),
        target_checksum: c.target_checksum.clone(),
        created_by: c.created_by.clone(),
        decided: c.decided_by.clone().map(|by| {
            (
                by,
                c.decided_at.map(rfc3339).unwrap_or_default(),
                c.note.clone(),
            )
        }),
        applied_at: c.applied_at.map(rfc3339),
        apply_log: c.apply_log.clone(),
        failure_reason: c.failure_reason.clone(),
        diff: crate::domain::text_diff::diff_hunks(&c.fragment_before, &c.fragment_after, 3),
        acl: acl_rows(&before, &after),
        yaml: c.yaml_snapshot.clone(),
        conflicts: c
            .conflicts
            .iter()
            .map(crate::api::lineage::conflict_view)
            .collect(),
        lineage,
        plan,
        plan_error: c.plan_error.clone(),
        plan_sha256: c.plan_sha256.clone(),
        plan_refused: c.plan_sql.is_some() && c.plan_error.is_some(),
        timeline,
        can_decide: is_admin && c.status == ChangeStatus::Pending,
        can_retry: is_admin && c.status == ChangeStatus::Failed,
        failure_next: None,
        retry_blocked: None,
        can_comment: viewer.role.allows(Role::Reviewer),
        needs_confirmation: c.risk.needs_confirmation() || !review.changes_requested_by.is_empty(),
        review,
        items: c.items,
        preflight: None,
    }
}

/// Each entity's access rule for each operation, before and after the change, where either
/// has one.
fn acl_rows(
    before: &[crate::domain::model::Entity],
    after: &[crate::domain::model::Entity],
) -> Vec<AclRow> {
    use crate::domain::model::{AclOp, Entity};
    use std::collections::BTreeSet;
    let rule = |entity: Option<&Entity>, op: Option<AclOp>| -> String {
        let Some(acl) = entity.and_then(|e| e.acl.as_ref()) else {
            return String::new();
        };
        match op {
            Some(op) => acl
                .rules
                .get(&op)
                .map(|roles| {
                    roles
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
            None => acl
                .row_level
                .as_ref()
                .map(|r| r.source.clone())
                .unwrap_or_default(),
        }
    };
    let names: BTreeSet<&str> = before
        .iter()
        .chain(after)
        .map(|e| e.name.as_str())
        .collect();
    let mut rows = Vec::new();
    for name in names {
        let old = before.iter().find(|e| e.name == name);
        let new = after.iter().find(|e| e.name == name);
        let ops = AclOp::ALL
            .into_iter()
            .map(|op| (op.as_str(), Some(op)))
            .chain([("rowLevel", None)]);
        for (label, op) in ops {
            let (b, a) = (rule(old, op), rule(new, op));
            if !b.is_empty() || !a.is_empty() {
                rows.push(AclRow {
                    entity: name.to_string(),
                    op: label.to_string(),
                    before: b,
                    after: a,
                });
            }
        }
    }
    rows
}

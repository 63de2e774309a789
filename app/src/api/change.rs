//! Reading and deciding schema changes.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
mod view;

#[cfg(feature = "ssr")]
use super::context;
pub use super::lineage::{ConflictView, DependencyView, Lineage, SinceReview};
use crate::domain::change::ChangeItem;
use crate::domain::text_diff::Hunk;
use crate::error::AppError;

/// How many schema changes are in each state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCounts {
    /// `(status, count)` in lifecycle order, every state present.
    pub counts: Vec<(String, i64)>,
}

/// An audit event as pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    /// Chain position.
    pub seq: i64,
    /// RFC 3339 time.
    pub at: String,
    /// Who acted.
    pub actor: String,
    /// What happened.
    pub action: String,
    /// The change, if any.
    pub change_id: Option<String>,
    /// The package, if any.
    pub package: Option<String>,
    /// Details as compact JSON.
    pub details: String,
    /// A note or reason from the details, if any.
    pub note: Option<String>,
    /// What a comment is on: an item or a statement of the change (`item-3`, `statement-7`).
    #[serde(default)]
    pub on: Option<String>,
}

/// What the dashboard shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardView {
    /// `(status, count)` in lifecycle order.
    pub counts: Vec<(String, i64)>,
    /// Open changes blocked by a conflict: `(change id, package, entity)`.
    pub conflicts: Vec<(String, String, String)>,
    /// The last scan.
    pub last_scan: Option<EventView>,
    /// The last run of the restart job.
    pub last_apply: Option<EventView>,
    /// Whether the viewer may run a scan.
    pub can_scan: bool,
    /// The server's running or last scan.
    pub scan: super::scanning::ScanState,
    /// When the server read these figures (RFC 3339).
    pub as_of: String,
}

/// One row of the changes list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRow {
    /// Change id.
    pub id: String,
    /// Package.
    pub package: String,
    /// `upsert` or `drop`.
    pub kind: String,
    /// State.
    pub status: String,
    /// Risk class.
    pub risk: String,
    /// How many items.
    pub items: usize,
    /// How many of the items are findings (access rules, tenants).
    #[serde(default)]
    pub findings: usize,
    /// Conflicted entities.
    pub conflicts: Vec<String>,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// A reviewer's latest verdict on it requests changes.
    #[serde(default)]
    pub changes_requested: bool,
    /// An approved change that cannot apply: `(headline, full reason)`, such as
    /// `held back: billing failed`.
    #[serde(default)]
    pub held_back: Option<(String, String)>,
    /// For an open change: its package's entities that a package with validation errors on
    /// disk declares differently (a conflict as soon as that package is fixed).
    #[serde(default)]
    pub broken_conflicts: Vec<crate::domain::broken_conflict::BrokenConflict>,
}

/// A page of the changes list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeList {
    /// The rows.
    pub rows: Vec<ChangeRow>,
    /// Rows matching the filter in all.
    pub total: i64,
    /// This page (from 1).
    pub page: i64,
    /// Rows per page.
    pub per_page: i64,
}

/// Rows per page of the changes list.
pub const PER_PAGE: i64 = 25;

/// The registry's change counts per state. Any signed-in role may read them.
///
/// # Errors
/// [`AppError::Unauthenticated`] without a session; [`AppError::Internal`] when the database fails.
#[server(prefix = "/api", endpoint = "status_counts")]
pub async fn status_counts() -> Result<ChangeCounts, AppError> {
    use crate::domain::review::Role;
    context::finish(async {
        let (pool, _) = context::signed_in(Role::Viewer, "read the registry").await?;
        let counts = crate::registry::change::counts(&pool).await?;
        Ok(ChangeCounts {
            counts: counts
                .into_iter()
                .map(|(s, n)| (s.as_str().to_string(), n))
                .collect(),
        })
    })
    .await
}

#[cfg(feature = "ssr")]
pub(crate) fn event_view(event: crate::registry::audit::AuditEvent) -> EventView {
    let note = ["note", "reason", "why"].iter().find_map(|key| {
        event
            .details
            .get(*key)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    });
    EventView {
        seq: event.seq,
        at: event
            .at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        actor: event.actor,
        action: event.action,
        change_id: event.change_id,
        package: event.package,
        on: event
            .details
            .get("on")
            .and_then(|v| v.as_str())
            .filter(|on| crate::registry::change::comment_target(on).is_some())
            .map(str::to_string),
        details: event.details.to_string(),
        note,
    }
}

/// The dashboard: counts, conflicts, last scan and apply.
///
/// # Errors
/// 401 without a session.
#[server(prefix = "/api", endpoint = "dashboard")]
pub async fn dashboard() -> Result<DashboardView, AppError> {
    use crate::domain::review::Role;
    use crate::registry::audit::{self, AuditFilter};
    use crate::registry::change;
    context::finish(async {
        let job = context::services()?.scan_job;
        let (pool, account) = context::signed_in(Role::Viewer, "read the registry").await?;
        let counts = change::counts(&pool).await?;
        let mut conflicts = Vec::new();
        for c in change::open_conflicted(&pool).await? {
            for entity in c.conflicts {
                conflicts.push((c.id.clone(), c.package.clone(), entity));
            }
        }
        let last = |action: &str| AuditFilter {
            action: Some(action.to_string()),
            limit: Some(1),
            ..AuditFilter::default()
        };
        let last_scan = audit::list(&pool, &last("scan"))
            .await?
            .into_iter()
            .next()
            .map(event_view);
        let last_apply = audit::list(&pool, &last("apply."))
            .await?
            .into_iter()
            .next()
            .map(event_view);
        Ok(DashboardView {
            counts: counts
                .into_iter()
                .map(|(s, n)| (s.as_str().to_string(), n))
                .collect(),
            conflicts,
            last_scan,
            last_apply,
            can_scan: account.role.allows(Role::Admin),
            scan: job.status(),
            as_of: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        })
    })
    .await
}

/// One page of changes, filtered by state, risk, package (a part of its name) and free text.
/// `status` is `open` (the default: pending, approved, applying; pending first), `history`
/// (applied, failed, rejected, superseded), `all`, or one state. A page past the last one
/// answers the last page.
///
/// # Errors
/// 401 without a session; 400 for an unknown state or risk.
#[server(prefix = "/api", endpoint = "list_changes")]
pub async fn list_changes(
    #[server(default)] status: Option<String>,
    #[server(default)] risk: Option<String>,
    #[server(default)] package: Option<String>,
    #[server(default)] q: Option<String>,
    #[server(default)] page: Option<i64>,
) -> Result<ChangeList, AppError> {
    use crate::domain::review::Role;
    context::finish(async {
        let (pool, _) = context::signed_in(Role::Viewer, "read the registry").await?;
        let filter = view::change_filter(status, risk, package, q)?;
        let inputs = context::services()?.scan_inputs;
        let mut list = view::change_page(&pool, filter, page, || schema_context(&inputs)).await?;
        view::mark_broken_conflicts(&mut list.rows, inputs).await?;
        Ok(list)
    })
    .await
}

/// One entity's access rule for one operation, before and after the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclRow {
    /// The entity.
    pub entity: String,
    /// `create`, `read`, `update`, `delete` or `rowLevel`.
    pub op: String,
    /// Roles (or the predicate) before; empty when none.
    pub before: String,
    /// Roles (or the predicate) after.
    pub after: String,
}

/// Everything the change page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeDetail {
    /// The change's row fields.
    pub row: ChangeRow,
    /// Applied checksum it was made against.
    pub base_checksum: Option<String>,
    /// Checksum of the content to apply.
    pub target_checksum: String,
    /// Who scanned it in.
    pub created_by: String,
    /// Who decided it, when, and the note or reason.
    pub decided: Option<(String, String, Option<String>)>,
    /// When it was applied.
    pub applied_at: Option<String>,
    /// Migrate command output.
    pub apply_log: Option<String>,
    /// Why applying failed.
    pub failure_reason: Option<String>,
    /// The items.
    pub items: Vec<ChangeItem>,
    /// The fragment diff (before → after).
    pub diff: Vec<Hunk>,
    /// Access rules before and after.
    pub acl: Vec<AclRow>,
    /// The YAML as scanned.
    pub yaml: String,
    /// Conflicts blocking approval.
    pub conflicts: Vec<ConflictView>,
    /// Audit events about this change, oldest first.
    pub timeline: Vec<EventView>,
    /// The viewer may approve or reject it now.
    pub can_decide: bool,
    /// The viewer may send it back to the restart job: an admin, on a failed change that a
    /// retry as it is can cure.
    pub can_retry: bool,
    /// For a failed change a retry can cure: what to do before retrying.
    #[serde(default)]
    pub failure_next: Option<String>,
    /// For a failed change a retry cannot cure: why it would fail again, and what to do instead.
    #[serde(default)]
    pub retry_blocked: Option<String>,
    /// The viewer may comment (reviewers and admins).
    pub can_comment: bool,
    /// Approving needs the package name typed.
    pub needs_confirmation: bool,
    /// Dependencies, the changes before and after this one, earlier comments.
    pub lineage: Lineage,
    /// The SQL plan, statement by statement with its lock, rewrite and items.
    pub plan: Vec<crate::domain::sql_plan::PlannedStatement>,
    /// Why the schema engine could not plan it (then it cannot be approved).
    pub plan_error: Option<String>,
    /// SHA-256 of the plan: the approval form pins it.
    pub plan_sha256: Option<String>,
    /// The plan check refuses statements of the plan: nobody can approve it.
    #[serde(default)]
    pub plan_refused: bool,
    /// Reviews: each account's latest verdict, and the admin approvals so far.
    #[serde(default)]
    pub review: super::review::ReviewState,
    /// What the plan's statements would meet in the live platform database.
    #[serde(default)]
    pub preflight: Option<crate::domain::preflight::PreflightReport>,
}

/// One change with everything a reviewer needs.
///
/// # Errors
/// 401 without a session, 404 for an unknown id.
#[server(prefix = "/api", endpoint = "get_change")]
pub async fn get_change(id: String) -> Result<ChangeDetail, AppError> {
    use crate::domain::review::Role;
    context::finish(async {
        let inputs = context::services()?.scan_inputs;
        let config = inputs.config.clone();
        let (pool, account) = context::signed_in(Role::Viewer, "read the registry").await?;
        let schema = schema_context(&inputs)?;
        let c = view::find_change(&pool, &id).await?;
        // Planning a scan could not finish resumes when someone looks at the change.
        let engine = context::services()?.engine;
        let c = crate::registry::plan::resume_interrupted(&pool, &engine, c, &schema).await?;
        let gathered = view::gather(&pool, &c, &account, &schema, &config).await?;
        let preflight = view::preflight(&pool, &c, &schema, &config).await?;
        let failure = view::failure_next(&pool, &c, &schema, preflight.as_ref()).await?;
        let mut detail = view::change_detail(c, &account, gathered);
        view::mark_broken_conflicts(std::slice::from_mut(&mut detail.row), inputs).await?;
        detail.preflight = preflight;
        detail.can_retry &= failure.retry_blocked.is_none();
        detail.failure_next = failure.next;
        detail.retry_blocked = failure.retry_blocked;
        Ok(detail)
    })
    .await
}

/// Approves a pending change: `POST /api/approve_change` with `id`, `target_checksum` (the one
/// the admin reviewed), `plan_sha256` (the SQL plan the admin reviewed), `note`, and `confirm`
/// (the package name, required when the change is destructive, breaking or
/// security-relevant, or when reviewers requested changes). Admins only. With four-eyes on, the
/// first admin approval of a destructive, breaking or security change is recorded and the
/// change stays pending; the second must come from another admin who did not make it. A form
/// post from a page is sent to the change's page with a confirmation (`?decided=`).
///
/// # Errors
/// 401, 403, 404, 409 (stale view, decided meanwhile, conflicted, four-eyes), 400 (missing
/// confirmation).
#[server(prefix = "/api", endpoint = "approve_change")]
pub async fn approve_change(
    id: String,
    target_checksum: String,
    #[server(default)] note: Option<String>,
    #[server(default)] confirm: Option<String>,
    #[server(default)] plan_sha256: Option<String>,
) -> Result<(), AppError> {
    use crate::domain::review::{ChangeStatus, Role};
    use crate::registry::change::{self, Decision, Reviewed};
    let page = format!("/changes/{id}");
    let work = async {
        let inputs = context::services()?.scan_inputs;
        let (pool, account) = context::signed_in(Role::Admin, "approve changes").await?;
        let schema = schema_context(&inputs)?;
        let existing = change::get(&pool, &id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("change {id}")))?;
        let confirmed = confirm.as_deref().map(str::trim) == Some(existing.package.as_str());
        if existing.risk.needs_confirmation() && !confirmed {
            return Err(AppError::Invalid(format!(
                "this change is {}: type the package name \"{}\" to confirm",
                existing.risk.label(),
                existing.package
            )));
        }
        let note = note.filter(|n| !n.trim().is_empty());
        let reviewed = Reviewed {
            target: Some(&target_checksum),
            plan: plan_sha256.as_deref().filter(|sha| !sha.is_empty()),
            despite_requested_changes: confirmed,
        };
        let decided = change::decide_reviewed(
            &pool,
            &schema,
            &account,
            &id,
            reviewed,
            &Decision::Approve { note },
        )
        .await?;
        Ok(decided.status == ChangeStatus::Pending)
    };
    context::finish_then(work, |first_of_two| {
        let outcome = if *first_of_two {
            "first_approval"
        } else {
            "approved"
        };
        Some(format!("{page}?decided={outcome}"))
    })
    .await
    .map(|_| ())
}

/// Rejects a pending change: `POST /api/reject_change` with `id`, `target_checksum` and
/// `reason`. Admins only.
///
/// # Errors
/// 401, 403, 404, 409 (stale view or decided meanwhile), 400 (no reason).
#[server(prefix = "/api", endpoint = "reject_change")]
pub async fn reject_change(
    id: String,
    target_checksum: String,
    reason: String,
) -> Result<(), AppError> {
    use crate::domain::review::Role;
    use crate::registry::change::{self, Decision};
    let page = format!("/changes/{id}?decided=rejected");
    let work = async {
        let inputs = context::services()?.scan_inputs;
        let (pool, account) = context::signed_in(Role::Admin, "reject changes").await?;
        change::decide(
            &pool,
            &schema_context(&inputs)?,
            &account,
            &id,
            Some(&target_checksum),
            &Decision::Reject { reason },
        )
        .await?;
        Ok(())
    };
    context::finish_then(work, |_| Some(page)).await
}

/// The base schema and configuration approvals render with; the base schema is read from disk.
#[cfg(feature = "ssr")]
pub(crate) fn schema_context(
    inputs: &crate::registry::scan::ScanInputs,
) -> Result<crate::registry::future::SchemaContext, AppError> {
    inputs.schema_context().map_err(|error| {
        tracing::error!("cannot read the base schema: {error}");
        AppError::Internal
    })
}

/// Plans a pending change's SQL now, as an explicit step (reading a change only resumes
/// planning that was interrupted, never retries one the engine refused):
/// `POST /api/plan_change` with `id`. For a change whose planning was interrupted or that could
/// not be planned before its dependencies were approved. Admins only.
///
/// # Errors
/// 401, 403, 404, 409 (not pending, or already planned), 503-like 500 when the engine fails.
#[server(prefix = "/api", endpoint = "plan_change")]
pub async fn plan_change(id: String) -> Result<(), AppError> {
    use crate::domain::review::{ChangeStatus, Role};
    use crate::registry::change;
    context::finish(async {
        let services = context::services()?;
        let schema = schema_context(&services.scan_inputs)?;
        let (pool, _) = context::signed_in(Role::Admin, "plan changes").await?;
        let not_found = || AppError::NotFound(format!("change {id}"));
        let c = change::get(&pool, &id).await?.ok_or_else(not_found)?;
        if c.status != ChangeStatus::Pending || c.plan_sql.is_some() {
            return Err(AppError::Conflict(format!(
                "change {id} is {} and {}: nothing to plan",
                c.status.as_str(),
                if c.plan_sql.is_some() {
                    "planned"
                } else {
                    "not planned"
                }
            )));
        }
        let mut conn = pool.acquire().await?;
        let planned = crate::registry::plan::plan_change(&mut conn, &services.engine, &c, &schema)
            .await?
            .map_err(|error| {
                tracing::warn!(change.id = %c.id, "cannot plan the change's SQL now: {error}");
                AppError::Conflict(format!("cannot plan the change's SQL now: {error}"))
            })?;
        crate::registry::plan::store(&mut conn, &c, &planned).await?;
        Ok(())
    })
    .await
}

/// Sends a failed change back to the restart job: `POST /api/retry_change` with `id`. Admins
/// only. A change that would fail again as it is (a refused or changed plan, an integrity
/// failure, a dependency neither applied nor approved, preflight rows still there, a package
/// applied at other content) is refused with what to do instead.
///
/// # Errors
/// 401, 403, 404, 409 (not failed, replaced by a newer change, or it cannot succeed).
#[server(prefix = "/api", endpoint = "retry_change")]
pub async fn retry_change(id: String) -> Result<(), AppError> {
    use crate::domain::review::Role;
    use crate::registry::apply;
    context::finish(async {
        let inputs = context::services()?.scan_inputs;
        let (pool, account) = context::signed_in(Role::Admin, "retry changes").await?;
        apply::retry(&pool, &schema_context(&inputs)?, &account, &id).await?;
        Ok(())
    })
    .await
}

/// Comments on a change: `POST /api/comment_change` with `id`, `text` and optionally `on` (an
/// item or statement of the change: `item-3`, `statement-7`). Reviewers and admins.
///
/// # Errors
/// 401, 403 (viewers), 404, 400 (empty or too long, or no such item or statement).
#[server(prefix = "/api", endpoint = "comment_change")]
pub async fn comment_change(
    id: String,
    text: String,
    #[server(default)] on: Option<String>,
) -> Result<(), AppError> {
    use crate::domain::review::Role;
    use crate::registry::change;
    context::finish(async {
        let (pool, account) = context::signed_in(Role::Reviewer, "comment on changes").await?;
        Ok(change::comment(&pool, &account, &id, &text, on.as_deref()).await?)
    })
    .await
}

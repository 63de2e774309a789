//! Reviews that carry weight: reviewers' verdicts, four-eyes approvals, and where to go after a
//! decision.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::context;
use crate::error::AppError;

/// One account's latest verdict, as the change page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictView {
    /// Who.
    pub reviewer: String,
    /// `approve` or `request_changes`.
    pub verdict: String,
    /// In words: "approved as reviewer", "changes requested".
    pub label: String,
    /// What they said.
    pub comment: Option<String>,
    /// RFC 3339 time.
    pub at: String,
    /// The earlier change the verdict was given on, when newer content carried it here.
    #[serde(default)]
    pub carried_from: Option<String>,
    /// An approval of an earlier revision: shown, not counted.
    #[serde(default)]
    pub stale: bool,
    /// The viewer may dismiss these requested changes (the reviewer, or an admin with a reason).
    #[serde(default)]
    pub can_dismiss: bool,
}

/// Where a change stands in review.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewState {
    /// Each account's latest verdict, oldest first.
    pub verdicts: Vec<VerdictView>,
    /// Accounts whose latest verdict requests changes: approving needs the typed confirmation.
    pub changes_requested_by: Vec<String>,
    /// The viewer may give a verdict now (reviewers and admins, on a pending change).
    pub can_review: bool,
    /// Admin approvals recorded so far toward four-eyes: `(admin, RFC 3339 time)`.
    pub admin_approvals: Vec<(String, String)>,
    /// Admin approvals the change needs: 2 under four-eyes for destructive, breaking and
    /// security changes, else 1.
    pub approvals_required: usize,
    /// Why the viewer cannot give the approval still missing, if they cannot.
    pub approval_problem: Option<String>,
    /// The package's declared owner (the `owner:` of its `entities.yaml`): the change's author.
    #[serde(default)]
    pub author: Option<String>,
    /// The viewer gave the first of two admin approvals and may withdraw it.
    #[serde(default)]
    pub can_withdraw: bool,
}

#[cfg(feature = "ssr")]
fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The review state of `change` as `viewer` sees it.
#[cfg(feature = "ssr")]
pub(crate) async fn review_state(
    pool: &sqlx::PgPool,
    change: &crate::registry::change::SchemaChange,
    viewer: &crate::registry::account::Account,
    config: &crate::domain::config::Config,
) -> Result<ReviewState, AppError> {
    use crate::domain::review::{
        newer_admin_problem, second_approval_problem, ChangeStatus, Role, Verdict,
    };
    use crate::registry::verdict;
    let mut conn = pool.acquire().await?;
    let latest = verdict::latest(&mut conn, &change.id).await?;
    let mut changes_requested_by: Vec<String> = latest
        .iter()
        .filter(|v| v.verdict == Verdict::RequestChanges)
        .map(|v| v.reviewer.clone())
        .collect();
    changes_requested_by.sort();
    let pending = change.status == ChangeStatus::Pending;
    let four_eyes =
        change.risk.needs_confirmation() && crate::registry::setting::four_eyes(&mut conn).await?;
    let admin_approvals: Vec<(String, String)> = if four_eyes && pending {
        verdict::admin_approvals(&mut conn, change)
            .await?
            .into_iter()
            .map(|(name, at)| (name, rfc3339(at)))
            .collect()
    } else {
        Vec::new()
    };
    let first: Vec<String> = admin_approvals.iter().map(|(n, _)| n.clone()).collect();
    let author = crate::domain::dialect::declared_owner(&change.yaml_snapshot, config);
    let can_withdraw = viewer.role.allows(Role::Admin) && first.contains(&viewer.username);
    let approval_problem = (!first.is_empty())
        .then(|| {
            second_approval_problem(&viewer.username, author.as_deref(), &first)
                .and_then(|()| {
                    newer_admin_problem(&viewer.username, viewer.created_at, change.created_at)
                })
                .err()
        })
        .flatten();
    Ok(ReviewState {
        verdicts: latest
            .into_iter()
            .map(|v| {
                let requesting = v.verdict == Verdict::RequestChanges;
                let own = v.reviewer == viewer.username;
                let may = !viewer.disabled
                    && (viewer.role.allows(Role::Admin)
                        || (own && viewer.role.allows(Role::Reviewer)));
                VerdictView {
                    label: if v.stale {
                        "approved an earlier revision (stale)".to_string()
                    } else {
                        v.verdict.label().to_string()
                    },
                    can_dismiss: pending && requesting && may,
                    reviewer: v.reviewer,
                    verdict: v.verdict.as_str().to_string(),
                    comment: v.comment,
                    at: rfc3339(v.at),
                    carried_from: v.carried_from,
                    stale: v.stale,
                }
            })
            .collect(),
        changes_requested_by,
        can_review: pending && !viewer.disabled && viewer.role.allows(Role::Reviewer),
        admin_approvals,
        approvals_required: if four_eyes { 2 } else { 1 },
        approval_problem,
        author,
        can_withdraw: can_withdraw && !viewer.disabled,
    })
}

/// A reviewer's verdict on a pending change: `POST /api/review_change` with `id`, `verdict`
/// (`approve` or `request_changes`) and `text` (required to request changes). Reviewers and
/// admins; a verdict is advice, not a decision, but requested changes make an admin's approval
/// need the typed confirmation.
///
/// # Errors
/// 401, 403 (viewers), 404, 400 (unknown verdict, no comment to request changes, too long), 409
/// (the change is no longer pending).
#[server(prefix = "/api", endpoint = "review_change")]
pub async fn review_change(
    id: String,
    verdict: String,
    #[server(default)] text: Option<String>,
) -> Result<(), AppError> {
    use crate::domain::review::{Role, Verdict};
    use crate::registry::verdict;
    context::finish(async {
        let (pool, account) = context::signed_in(Role::Reviewer, "review changes").await?;
        let verdict: Verdict = verdict
            .trim()
            .parse()
            .map_err(|e: crate::domain::review::UnknownVerdict| AppError::Invalid(e.to_string()))?;
        verdict::record(
            &pool,
            &account,
            &id,
            verdict,
            text.as_deref().unwrap_or_default(),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Dismisses a reviewer's requested changes on a pending change: `POST /api/dismiss_verdict`
/// with `id`, `reviewer` and `reason` (required unless the reviewer dismisses their own). The
/// reviewer, or an admin. A form post from a page is sent back to the change's page.
///
/// # Errors
/// 401, 403 (viewers; reviewers dismissing another's verdict), 404, 400 (an admin without a
/// reason), 409 (not pending, or nothing requested).
#[server(prefix = "/api", endpoint = "dismiss_verdict")]
pub async fn dismiss_verdict(
    id: String,
    reviewer: String,
    #[server(default)] reason: Option<String>,
) -> Result<(), AppError> {
    use crate::domain::review::Role;
    let page = format!("/changes/{id}");
    let work = async {
        let (pool, account) = context::signed_in(Role::Reviewer, "dismiss verdicts").await?;
        let reason = reason.unwrap_or_default();
        crate::registry::verdict::dismiss(&pool, &account, &id, reviewer.trim(), &reason).await?;
        Ok(())
    };
    context::finish_then(work, |_| Some(page)).await
}

/// Withdraws the viewer's first of two admin approvals of a pending change (four-eyes):
/// `POST /api/withdraw_approval` with `id`. Admins only. A form post from a page is sent back
/// to the change's page.
///
/// # Errors
/// 401, 403, 404, 409 (the change is no longer pending, or the viewer gave no first approval).
#[server(prefix = "/api", endpoint = "withdraw_approval")]
pub async fn withdraw_approval(id: String) -> Result<(), AppError> {
    use crate::domain::review::Role;
    let page = format!("/changes/{id}");
    let work = async {
        let (pool, account) = context::signed_in(Role::Admin, "withdraw approvals").await?;
        crate::registry::verdict::withdraw_first_approval(&pool, &account, &id).await?;
        Ok(())
    };
    context::finish_then(work, |_| Some(page)).await
}

/// The pending change to look at after deciding change `id`: the oldest one created after it,
/// else the oldest one left; for an admin, only one they can decide now (not conflicted, no
/// refused plan, not already approved by them as the first of two). `(id, package)`; none when
/// nothing is left.
///
/// # Errors
/// 401 without a session.
#[server(prefix = "/api", endpoint = "next_pending_change")]
pub async fn next_pending_change(id: String) -> Result<Option<(String, String)>, AppError> {
    use crate::domain::review::Role;
    context::finish(async {
        let (pool, account) = context::signed_in(Role::Viewer, "read the registry").await?;
        // Admins go to a change they can decide; others to the next one to read.
        if account.role.allows(Role::Admin) {
            Ok(crate::registry::verdict::next_decidable(&pool, &id, &account).await?)
        } else {
            Ok(crate::registry::verdict::next_pending(&pool, &id).await?)
        }
    })
    .await
}

//! Bulk approval: the list of routine pending changes first, then one confirmation that
//! approves each of them (each its own audited decision).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::context;
use crate::error::AppError;

/// One change in the bulk list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkRow {
    /// Change id.
    pub id: String,
    /// Package.
    pub package: String,
    /// Risk class.
    pub risk: String,
    /// The checksum the admin sees (the approval is pinned to it).
    pub target_checksum: String,
    /// How many items.
    pub items: usize,
    /// Why it is left out, for skipped changes.
    pub why: Option<String>,
}

/// What a bulk approval would take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkPlanView {
    /// Changes it would approve, in order.
    pub take: Vec<BulkRow>,
    /// Changes left for a decision of their own.
    pub skipped: Vec<BulkRow>,
    /// The viewer may confirm.
    pub can_approve: bool,
}

/// What a confirmed bulk approval did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkResult {
    /// Approved.
    pub approved: Vec<BulkRow>,
    /// Left out (with why).
    pub skipped: Vec<BulkRow>,
}

#[cfg(feature = "ssr")]
fn bulk_row(change: &crate::registry::change::SchemaChange, why: Option<String>) -> BulkRow {
    BulkRow {
        id: change.id.clone(),
        package: change.package.clone(),
        risk: change.risk.as_str().to_string(),
        target_checksum: change.target_checksum.clone(),
        items: change.items.len(),
        why,
    }
}

/// The routine pending changes a bulk approval would take, in dependency order, and the ones
/// it leaves out with why. Any signed-in role may look.
///
/// # Errors
/// 401 without a session.
#[server(prefix = "/api", endpoint = "bulk_plan")]
pub async fn bulk_plan() -> Result<BulkPlanView, AppError> {
    use crate::domain::review::Role;
    context::finish(async {
        let inputs = context::services()?.scan_inputs;
        let (pool, account) = context::signed_in(Role::Viewer, "read the registry").await?;
        let schema = super::change::schema_context(&inputs)?;
        let left_out = left_out_on_disk(inputs).await?;
        let plan = crate::registry::bulk::plan_leaving_out(&pool, &schema, &left_out).await?;
        Ok(BulkPlanView {
            take: plan.take.iter().map(|c| bulk_row(c, None)).collect(),
            skipped: plan
                .skipped
                .iter()
                .map(|(c, why)| bulk_row(c, Some(why.clone())))
                .collect(),
            can_approve: account.role.allows(Role::Admin),
        })
    })
    .await
}

/// Approves the listed changes: `POST /api/approve_all_changes` with `selection` (the list the
/// admin confirmed: `id=target_checksum` pairs separated by commas) and an optional `note`.
/// Each approval is checked and audited on its own; changes whose content moved on are left
/// out. Admins only.
///
/// # Errors
/// 401, 403, 400 for a malformed selection.
#[server(prefix = "/api", endpoint = "approve_all_changes")]
pub async fn approve_all_changes(
    selection: String,
    #[server(default)] note: Option<String>,
) -> Result<BulkResult, AppError> {
    use crate::domain::review::Role;
    context::finish(async {
        let inputs = context::services()?.scan_inputs;
        let (pool, account) = context::signed_in(Role::Admin, "approve changes").await?;
        let schema = super::change::schema_context(&inputs)?;
        let confirmed = parse_selection(&selection)?;
        let note = note.filter(|n| !n.trim().is_empty());
        let left_out = left_out_on_disk(inputs).await?;
        let outcome = crate::registry::bulk::approve_all_leaving_out(
            &pool,
            &schema,
            &account,
            note,
            Some(&confirmed),
            &left_out,
        )
        .await?;
        Ok(BulkResult {
            approved: outcome.approved.iter().map(|c| bulk_row(c, None)).collect(),
            skipped: outcome
                .skipped
                .iter()
                .filter(|(c, _)| confirmed.contains_key(&c.id))
                .map(|(c, why)| bulk_row(c, Some(why.clone())))
                .collect(),
        })
    })
    .await
}

/// The packages a bulk approval leaves out for a conflict with a package that has validation
/// errors on disk (none when the packages on disk cannot be read).
#[cfg(feature = "ssr")]
async fn left_out_on_disk(
    inputs: crate::registry::scan::ScanInputs,
) -> Result<crate::registry::bulk::LeftOut, AppError> {
    Ok(super::broken::disk_catalog_if_readable(inputs)
        .await?
        .map(|disk| crate::registry::bulk::left_out_on_disk(&disk))
        .unwrap_or_default())
}

/// `id=checksum,id=checksum` → map.
#[cfg(feature = "ssr")]
fn parse_selection(
    selection: &str,
) -> Result<std::collections::BTreeMap<String, String>, AppError> {
    selection
        .split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            pair.split_once('=')
                .map(|(id, checksum)| (id.trim().to_string(), checksum.trim().to_string()))
                .ok_or_else(|| {
                    AppError::Invalid(format!("selection entry \"{pair}\" is not id=checksum"))
                })
        })
        .collect()
}

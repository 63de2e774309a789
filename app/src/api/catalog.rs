//! Server functions for the catalog pages: the packages on disk (read through the server's
//! [`ScanInputs`](crate::registry::scan::ScanInputs)) next to what the registry has applied
//! and queued, and every entity with who declares it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::context;
use crate::error::AppError;

/// A located problem in a package's schema file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueView {
    /// The file.
    pub file: String,
    /// 1-based line (0: unknown).
    pub line: u64,
    /// 1-based column (0: unknown).
    pub column: u64,
    /// The message: problem, key path and help.
    pub message: String,
}

impl IssueView {
    /// `file:line:column` (or just the file when the position is unknown).
    pub fn location(&self) -> String {
        if self.line > 0 {
            format!("{}:{}:{}", self.file, self.line, self.column)
        } else {
            self.file.clone()
        }
    }
}

/// How an entity stands among the packages on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Declared by one package.
    Single,
    /// Declared identically by several packages.
    Shared,
    /// Declared differently by several packages: blocks approval.
    Conflict,
}

impl Standing {
    /// `single`, `shared` or `conflict`.
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Single => "single",
            Standing::Shared => "shared",
            Standing::Conflict => "conflict",
        }
    }
}

/// An entity of a package with its checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityCell {
    /// Entity name.
    pub name: String,
    /// `v1:` checksum.
    pub checksum: String,
    /// Shared with or conflicting with another package (on-disk packages only).
    pub standing: Standing,
}

/// A schema change as the catalog pages link to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRef {
    /// Change id.
    pub id: String,
    /// Its state.
    pub status: String,
    /// `upsert` or `drop`.
    pub kind: String,
    /// The checksum it would apply.
    pub target_checksum: String,
}

/// Where a package stands, from its files on disk to what is live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageState {
    /// The content on disk is live.
    Applied,
    /// The content on disk is queued for review (or approved, or being applied).
    Queued,
    /// The content on disk was rejected and stays rejected until it changes.
    Rejected,
    /// The content on disk differs from the registry: a scan would queue it.
    Unscanned,
    /// The package on disk has errors: it cannot be queued.
    Errors,
    /// Live or queued, but no longer on disk.
    Removed,
    /// The packages on disk could not be read, so how it compares is unknown.
    Unknown,
}

impl PackageState {
    /// A stable key (CSS class and `data-state`).
    pub fn as_str(self) -> &'static str {
        match self {
            PackageState::Applied => "applied",
            PackageState::Queued => "queued",
            PackageState::Rejected => "rejected",
            PackageState::Unscanned => "unscanned",
            PackageState::Errors => "errors",
            PackageState::Removed => "removed",
            PackageState::Unknown => "unknown",
        }
    }

    /// The state in a few words.
    pub fn label(self) -> &'static str {
        match self {
            PackageState::Applied => "applied: up to date",
            PackageState::Queued => "change queued",
            PackageState::Rejected => "rejected",
            PackageState::Unscanned => "not scanned yet",
            PackageState::Errors => "has errors",
            PackageState::Removed => "removed from disk",
            PackageState::Unknown => "disk not read",
        }
    }

    /// Every state, in the order the filter lists them.
    pub const ALL: [PackageState; 6] = [
        PackageState::Applied,
        PackageState::Queued,
        PackageState::Unscanned,
        PackageState::Rejected,
        PackageState::Errors,
        PackageState::Removed,
    ];
}

/// One package: on disk, in the registry, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageView {
    /// Package id.
    pub package: String,
    /// Its schema file on disk; none when the package is only in the registry.
    pub file: Option<String>,
    /// The package checksum on disk (none while it has errors or is not on disk).
    pub checksum: Option<String>,
    /// Its entities: on disk, or as applied when it is gone from disk.
    pub entities: Vec<EntityCell>,
    /// The applied checksum and the change that applied it.
    pub applied: Option<(String, String)>,
    /// The open change (pending, approved or applying).
    pub open: Option<ChangeRef>,
    /// The rejected change matching the content on disk, if that is why nothing is queued.
    pub rejected: Option<ChangeRef>,
    /// Where it stands.
    pub state: PackageState,
    /// What to do next or why, in one sentence.
    pub note: String,
    /// Errors (each fails the package).
    pub errors: Vec<IssueView>,
    /// The errors grouped by cause, with the lines around each and the fix.
    pub causes: Vec<crate::domain::diagnostic_report::Cause>,
    /// Warnings.
    pub warnings: Vec<IssueView>,
    /// The Prisma fragment of the package within the schema of every healthy package.
    pub preview: Option<String>,
    /// Why there is no preview.
    pub preview_problem: Option<String>,
}

/// The packages page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackagesView {
    /// The packages directory, as configured.
    pub packages_dir: Option<String>,
    /// Why the packages on disk could not be read (the registry's packages are still listed).
    pub problem: Option<String>,
    /// The packages of this page matching the filter, by id.
    pub packages: Vec<PackageView>,
    /// How many packages there are before filtering.
    pub total: usize,
    /// How many match the filter.
    pub matching: usize,
    /// This page (from 1, corrected into range).
    pub page: i64,
    /// Rows per page.
    pub per_page: i64,
}

/// Packages or entities per page.
pub const CATALOG_PER_PAGE: i64 = 25;

/// How many pages `matching` rows fill (at least one).
pub fn page_count(matching: usize) -> i64 {
    matching.div_ceil(CATALOG_PER_PAGE as usize).max(1) as i64
}

/// `page` (from 1) corrected into the pages `matching` rows fill, and the row range it shows.
pub fn page_range(page: Option<i64>, matching: usize) -> (i64, std::ops::Range<usize>) {
    let per_page = CATALOG_PER_PAGE as usize;
    let pages = matching.div_ceil(per_page).max(1) as i64;
    let page = page.unwrap_or(1).clamp(1, pages);
    let start = (page as usize - 1) * per_page;
    (page, start..(start + per_page).min(matching))
}

/// One package's declaration of an entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclarationView {
    /// The package.
    pub package: String,
    /// Its checksum of the entity.
    pub checksum: String,
    /// The package's open change, if any.
    pub change: Option<ChangeRef>,
}

/// An entity on disk and who declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityView {
    /// Entity name.
    pub name: String,
    /// Single, shared or conflict.
    pub standing: Standing,
    /// Every declaring package, by id.
    pub declarations: Vec<DeclarationView>,
}

/// The entities page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntitiesView {
    /// Why the packages on disk could not be read.
    pub problem: Option<String>,
    /// The entities of this page matching the filter, by name.
    pub entities: Vec<EntityView>,
    /// Entities in all, before filtering.
    pub total: usize,
    /// How many match the filter.
    pub matching: usize,
    /// This page (from 1, corrected into range).
    pub page: i64,
    /// Entities in conflict, before filtering.
    pub conflicts: usize,
    /// Shared entities, before filtering.
    pub shared: usize,
}

/// Where the server reads packages from. Call it before the first `.await`: a server function
/// run during server-side rendering may lose its reactive owner (and so its context) later.
#[cfg(feature = "ssr")]
pub(crate) fn scan_inputs() -> Result<crate::registry::scan::ScanInputs, AppError> {
    Ok(context::services()?.scan_inputs)
}

/// Every package on disk and in the registry, by id, filtered by a text in its id or entity
/// names (`q`) and by state. Any signed-in role.
///
/// # Errors
/// 401 without a session; 400 for an unknown state.
#[server(prefix = "/api", endpoint = "list_packages")]
pub async fn list_packages(
    #[server(default)] q: Option<String>,
    #[server(default)] state: Option<String>,
    #[server(default)] page: Option<i64>,
) -> Result<PackagesView, AppError> {
    use crate::domain::review::Role;
    use crate::registry::catalog_view::{self, PackageQuery};
    let inputs = scan_inputs()?;
    context::finish(async {
        let (pool, _) = context::signed_in(Role::Viewer, "read the catalog").await?;
        let query = PackageQuery::parse(q, state.as_deref(), page)?;
        let (packages_dir, disk) = super::disk::disk_catalog(inputs).await?;
        Ok(catalog_view::packages(&pool, packages_dir, disk, &query).await?)
    })
    .await
}

/// Every entity declared on disk, by name, with its declaring packages, their checksums and
/// open changes; filtered by a text in its name (`q`) and by standing (`show`: `conflict`,
/// `shared`, `single`). Any signed-in role.
///
/// # Errors
/// 401 without a session; 400 for an unknown standing.
#[server(prefix = "/api", endpoint = "list_entities")]
pub async fn list_entities(
    #[server(default)] q: Option<String>,
    #[server(default)] show: Option<String>,
    #[server(default)] page: Option<i64>,
) -> Result<EntitiesView, AppError> {
    use crate::domain::review::Role;
    use crate::registry::catalog_view::{self, EntityQuery};
    let inputs = scan_inputs()?;
    context::finish(async {
        let (pool, _) = context::signed_in(Role::Viewer, "read the catalog").await?;
        let query = EntityQuery::parse(q, show.as_deref(), page)?;
        let (_, disk) = super::disk::disk_catalog(inputs).await?;
        Ok(catalog_view::entities(&pool, disk, &query).await?)
    })
    .await
}

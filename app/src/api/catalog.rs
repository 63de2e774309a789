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

#[cfg(feature = "ssr")]
fn change_ref(c: &crate::registry::change::ChangeSummary) -> ChangeRef {
    ChangeRef {
        id: c.id.clone(),
        status: c.status.as_str().to_string(),
        kind: c.kind.clone(),
        target_checksum: c.target_checksum.clone(),
    }
}

#[cfg(feature = "ssr")]
fn issue(d: &crate::domain::Diagnostic) -> IssueView {
    // The position is shown as `file:line:column`, so the message leaves it out.
    let mut message = d.error.to_string();
    if !d.path.is_empty() {
        message.push_str(&format!(" at {}", d.path));
    }
    if let Some(help) = d.error.help() {
        message.push_str(&format!("; {help}"));
    }
    IssueView {
        file: d.file.clone(),
        line: d.position.line,
        column: d.position.column,
        message,
    }
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
    use std::collections::BTreeSet;

    use crate::domain::review::Role;
    use crate::registry::change;
    let inputs = scan_inputs()?;
    context::finish(async {
        let (pool, _) = context::signed_in(Role::Viewer, "read the catalog").await?;
        let state_filter = match state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(
                PackageState::ALL
                    .into_iter()
                    .find(|x| x.as_str() == s)
                    .ok_or_else(|| AppError::Invalid(format!("unknown package state \"{s}\"")))?,
            ),
        };
        let q = q.map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty());

        let (packages_dir, catalog) = super::disk::disk_catalog(inputs).await?;
        let (catalog, problem) = match catalog {
            Ok(catalog) => (Some(catalog), None),
            Err(problem) => (None, Some(problem)),
        };
        let applied =
            crate::registry::apply::applied_summaries(&mut *pool.acquire().await?).await?;
        let open = change::open_by_package(&pool).await?;
        let report = |id: &str| catalog.as_ref().and_then(|c| c.package(id));

        let mut ids: BTreeSet<&str> = applied.keys().map(String::as_str).collect();
        ids.extend(open.keys().map(String::as_str));
        if let Some(catalog) = &catalog {
            ids.extend(catalog.packages.iter().map(|p| p.package.as_str()));
        }
        let total = ids.len();
        // The text filter needs names only: it runs before anything is built.
        let hit = |id: &str| {
            let Some(q) = q.as_deref() else { return true };
            let named = |name: &str| name.to_lowercase().contains(q);
            named(id)
                || match (report(id), applied.get(id)) {
                    (Some(r), _) => r.entities.iter().any(|e| named(&e.name)),
                    (None, Some(a)) => a.entities.iter().any(|(name, _)| named(name)),
                    (None, None) => false,
                }
        };
        let ids: Vec<&str> = ids.into_iter().filter(|id| hit(id)).collect();

        // Content that is neither live nor queued may be rejected: one query asks for all.
        let unsettled: Vec<String> = ids
            .iter()
            .filter(|id| settled_state(report(id), applied.get(**id), open.get(**id)).is_none())
            .map(|id| id.to_string())
            .collect();
        let rejected = change::last_rejected(&pool, &unsettled).await?;
        let states: Vec<(&str, PackageState, Option<&change::ChangeSummary>)> = ids
            .into_iter()
            .map(|id| {
                let (applied_here, open_here) = (applied.get(id), open.get(id));
                let state = match (
                    catalog.is_some(),
                    settled_state(report(id), applied_here, open_here),
                ) {
                    (false, _) => PackageState::Unknown,
                    (true, Some(state)) => state,
                    (true, None) => {
                        let on_disk = report(id)
                            .and_then(|r| r.checksum.as_deref())
                            .unwrap_or_default();
                        match rejected.get(id).filter(|c| c.target_checksum == on_disk) {
                            Some(c) => return (id, PackageState::Rejected, Some(c)),
                            None => PackageState::Unscanned,
                        }
                    }
                };
                (id, state, None)
            })
            .filter(|(_, state, _)| state_filter.is_none_or(|s| s == *state))
            .collect();

        let matching = states.len();
        let (page, range) = page_range(page, matching);
        let mut packages = Vec::new();
        for (id, state, rejected) in &states[range] {
            let (report, applied_here, open_here) = (report(id), applied.get(*id), open.get(*id));
            let entities: Vec<EntityCell> = match (report, applied_here) {
                (Some(report), _) => report
                    .entities
                    .iter()
                    .map(|e| EntityCell {
                        name: e.name.clone(),
                        checksum: e.checksum.clone(),
                        standing: catalog
                            .as_ref()
                            .map_or(Standing::Single, |c| c.standing(&e.name)),
                    })
                    .collect(),
                (None, Some(a)) => a
                    .entities
                    .iter()
                    .map(|(name, checksum)| EntityCell {
                        name: name.clone(),
                        checksum: checksum.clone(),
                        standing: Standing::Single,
                    })
                    .collect(),
                (None, None) => Vec::new(),
            };
            let (preview, preview_problem) = match (report, &catalog) {
                (Some(r), Some(catalog)) if r.errors.is_empty() => match catalog.preview(id) {
                    Ok(preview) => (Some(preview), None),
                    Err(error) => (
                        None,
                        Some(format!("cannot render the Prisma fragment: {error}")),
                    ),
                },
                (Some(_), _) => (
                    None,
                    Some("fix the errors to see the Prisma preview".to_string()),
                ),
                (None, _) => (None, Some("not on disk".to_string())),
            };
            let causes = match (report, &catalog) {
                // Grouped by cause, with the lines around each.
                (Some(r), Some(catalog)) if !r.errors.is_empty() => {
                    crate::domain::diagnostic_report::causes(
                        &r.errors,
                        catalog.broken_sources.get(*id).map(String::as_str),
                    )
                }
                _ => Vec::new(),
            };
            packages.push(PackageView {
                package: id.to_string(),
                file: report.map(|r| r.file.clone()),
                checksum: report.and_then(|r| r.checksum.clone()),
                entities,
                applied: applied_here.map(|a| (a.checksum.clone(), a.change_id.clone())),
                open: open_here.map(change_ref),
                rejected: rejected.map(change_ref),
                state: *state,
                note: state_note(*state, report, open_here),
                errors: report
                    .map(|r| r.errors.iter().map(issue).collect())
                    .unwrap_or_default(),
                causes,
                warnings: report
                    .map(|r| r.warnings.iter().map(issue).collect())
                    .unwrap_or_default(),
                preview,
                preview_problem,
            });
        }
        // Files relative to the packages directory read better than absolute paths.
        if let Some(dir) = &packages_dir {
            let prefix = format!("{}/", dir.trim_end_matches('/'));
            let shorten = |file: &mut String| {
                if let Some(rest) = file.strip_prefix(&prefix) {
                    *file = rest.to_string();
                }
            };
            for p in &mut packages {
                if let Some(file) = p.file.as_mut() {
                    shorten(file);
                }
                p.errors
                    .iter_mut()
                    .chain(p.warnings.iter_mut())
                    .for_each(|i| shorten(&mut i.file));
            }
        }
        Ok(PackagesView {
            packages_dir,
            problem,
            packages,
            total,
            matching,
            page,
            per_page: CATALOG_PER_PAGE,
        })
    })
    .await
}

/// Where a package stands when its files, live content and open change tell it alone; `None`
/// when only its rejected changes can tell (rejected, or not scanned yet).
#[cfg(feature = "ssr")]
fn settled_state(
    report: Option<&crate::domain::PackageReport>,
    applied: Option<&crate::registry::apply::AppliedSummary>,
    open: Option<&crate::registry::change::ChangeSummary>,
) -> Option<PackageState> {
    let Some(report) = report else {
        return Some(PackageState::Removed);
    };
    if !report.errors.is_empty() {
        return Some(PackageState::Errors);
    }
    let on_disk = report.checksum.as_deref().unwrap_or_default();
    if applied.is_some_and(|a| a.checksum == on_disk) {
        Some(PackageState::Applied)
    } else if open.is_some_and(|c| c.target_checksum == on_disk) {
        Some(PackageState::Queued)
    } else {
        None
    }
}

/// What to do next about a package in `state`, or why it is there, in one sentence.
#[cfg(feature = "ssr")]
fn state_note(
    state: PackageState,
    report: Option<&crate::domain::PackageReport>,
    open: Option<&crate::registry::change::ChangeSummary>,
) -> String {
    use crate::domain::review::ChangeStatus;
    match state {
        PackageState::Unknown => "the packages on disk could not be read".to_string(),
        PackageState::Removed => match open {
            Some(c) if c.kind == "drop" => {
                "a drop change is queued: approving it removes the package's tables".to_string()
            }
            Some(_) => {
                "queued, but gone from disk: the next scan supersedes the change".to_string()
            }
            None => "live but gone from disk: the next scan queues a drop change".to_string(),
        },
        PackageState::Errors => format!(
            "{} error(s): fix them and scan again; the registry keeps its current state meanwhile",
            report.map_or(0, |r| r.errors.len())
        ),
        PackageState::Applied => "the content on disk is live".to_string(),
        PackageState::Queued => match open.map(|c| c.status) {
            Some(ChangeStatus::Approved) => "approved: the restart job applies it next",
            Some(ChangeStatus::Applying) => "the restart job is applying it",
            _ => "waiting for an admin's review",
        }
        .to_string(),
        PackageState::Rejected => {
            "this content was rejected: it stays rejected until it changes".to_string()
        }
        PackageState::Unscanned if open.is_some() => {
            "the content on disk differs from the queued change: the next scan supersedes it"
                .to_string()
        }
        PackageState::Unscanned => {
            "the content on disk differs from the registry: the next scan queues it".to_string()
        }
    }
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
    let inputs = scan_inputs()?;
    context::finish(async {
        let (pool, _) = context::signed_in(Role::Viewer, "read the catalog").await?;
        let show = match show
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "all")
        {
            None => None,
            Some(s) => Some(
                [Standing::Conflict, Standing::Shared, Standing::Single]
                    .into_iter()
                    .find(|x| x.as_str() == s)
                    .ok_or_else(|| AppError::Invalid(format!("unknown entity standing \"{s}\"")))?,
            ),
        };
        let q = q.map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty());
        let (_, catalog) = super::disk::disk_catalog(inputs).await?;
        let catalog = match catalog {
            Ok(catalog) => catalog,
            Err(problem) => {
                return Ok(EntitiesView {
                    problem: Some(problem),
                    entities: Vec::new(),
                    total: 0,
                    matching: 0,
                    page: 1,
                    conflicts: 0,
                    shared: 0,
                });
            }
        };
        let matches = |e: &&super::disk::IndexedEntity| {
            show.is_none_or(|s| e.standing == s)
                && q.as_ref()
                    .is_none_or(|q| e.name.to_lowercase().contains(q.as_str()))
        };
        let matching = catalog.entities.iter().filter(matches).count();
        let (page, range) = page_range(page, matching);
        let shown: Vec<&super::disk::IndexedEntity> = catalog
            .entities
            .iter()
            .filter(matches)
            .skip(range.start)
            .take(range.len())
            .collect();
        // Open changes are looked up for the page's declaring packages only.
        let mut open = std::collections::BTreeMap::new();
        for e in &shown {
            for (package, _) in &e.declarations {
                open.entry(package.clone()).or_insert(None);
            }
        }
        let packages: Vec<String> = open.keys().cloned().collect();
        for c in crate::registry::change::open_of(&pool, &packages).await? {
            open.insert(c.package.clone(), Some(change_ref(&c)));
        }
        let entities = shown
            .into_iter()
            .map(|e| EntityView {
                name: e.name.clone(),
                standing: e.standing,
                declarations: e
                    .declarations
                    .iter()
                    .map(|(package, checksum)| DeclarationView {
                        package: package.clone(),
                        checksum: checksum.clone(),
                        change: open.get(package).cloned().flatten(),
                    })
                    .collect(),
            })
            .collect();
        let count = |s: Standing| catalog.entities.iter().filter(|e| e.standing == s).count();
        let (total, conflicts, shared) = (
            catalog.entities.len(),
            count(Standing::Conflict),
            count(Standing::Shared),
        );
        Ok(EntitiesView {
            problem: None,
            entities,
            total,
            matching,
            page,
            conflicts,
            shared,
        })
    })
    .await
}

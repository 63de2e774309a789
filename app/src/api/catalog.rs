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
pub(crate) fn scan_inputs() -> crate::registry::scan::ScanInputs {
    use_context::<crate::registry::scan::ScanInputs>().unwrap_or_default()
}

/// The packages on disk as read: the catalog, and the text of each package with errors (for
/// the excerpts around them).
#[cfg(feature = "ssr")]
#[derive(Debug)]
pub(crate) struct DiskCatalog {
    /// Every package parsed, validated and checksummed.
    pub catalog: crate::domain::Catalog,
    /// The schema file's text of each package with errors, by package id.
    pub broken_sources: std::collections::BTreeMap<String, String>,
}

#[cfg(feature = "ssr")]
impl std::ops::Deref for DiskCatalog {
    type Target = crate::domain::Catalog;

    fn deref(&self) -> &crate::domain::Catalog {
        &self.catalog
    }
}

#[cfg(feature = "ssr")]
impl DiskCatalog {
    /// Reads the base schema and every package of `packages_dir` and builds the catalog.
    fn read(
        packages_dir: &std::path::Path,
        base_schema: Option<&std::path::Path>,
        config: &crate::domain::Config,
    ) -> Result<Self, crate::scanner::ScanError> {
        let base = crate::scanner::read_base_schema(base_schema)?;
        let disk = crate::scanner::read_packages(packages_dir, config.limits.max_file_bytes)?;
        let mut texts: std::collections::BTreeMap<String, String> = disk
            .sources
            .iter()
            .map(|s| (s.id.to_string(), s.text.clone()))
            .collect();
        let catalog =
            crate::domain::Catalog::build_with_problems(disk.sources, disk.problems, base, config);
        texts.retain(|id, _| catalog.package(id).is_some_and(|p| !p.errors.is_empty()));
        Ok(Self {
            catalog,
            broken_sources: texts,
        })
    }
}

/// The last catalog read from disk, with the key (directory and file fingerprint) it was read
/// under.
#[cfg(feature = "ssr")]
type CachedCatalog = Option<(String, std::sync::Arc<DiskCatalog>)>;

#[cfg(feature = "ssr")]
static DISK_CATALOG: std::sync::Mutex<CachedCatalog> = std::sync::Mutex::new(None);

/// Held while the catalog is read: concurrent requests wait for one read instead of each
/// reading (and holding) a catalog of their own.
#[cfg(feature = "ssr")]
static DISK_CATALOG_READ: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The cached catalog, if it was read under `key`.
#[cfg(feature = "ssr")]
fn cached_catalog(key: &str) -> Option<std::sync::Arc<DiskCatalog>> {
    let cache = DISK_CATALOG.lock().ok()?;
    cache
        .as_ref()
        .filter(|(k, _)| k == key)
        .map(|(_, c)| c.clone())
}

/// The packages on disk as a catalog, or why they could not be read. Reading and checking run
/// on a blocking thread, and only when a file changed since the last read (their sizes and
/// modification times tell): pages reuse the catalog otherwise, and one read serves every
/// request waiting for it.
#[cfg(feature = "ssr")]
pub(crate) async fn disk_catalog(
    inputs: crate::registry::scan::ScanInputs,
) -> Result<(Option<String>, Result<std::sync::Arc<DiskCatalog>, String>), AppError> {
    let dir = inputs
        .packages_dir
        .as_ref()
        .map(|d| d.display().to_string());
    let Some(packages_dir) = inputs.packages_dir.clone() else {
        return Ok((
            dir,
            Err(
                "no packages directory is configured (--packages or SCHEMAGATE_PACKAGES)"
                    .to_string(),
            ),
        ));
    };
    let (base_schema, config) = (inputs.base_schema.clone(), inputs.config.clone());
    let catalog = tokio::task::spawn_blocking(move || {
        let key = format!(
            "{}#{}",
            packages_dir.display(),
            crate::scanner::fingerprint(&packages_dir, base_schema.as_deref())
        );
        if let Some(catalog) = cached_catalog(&key) {
            return Ok(catalog);
        }
        let _reading = DISK_CATALOG_READ.lock();
        // Another request may have read it while this one waited.
        if let Some(catalog) = cached_catalog(&key) {
            return Ok(catalog);
        }
        let catalog = std::sync::Arc::new(
            DiskCatalog::read(&packages_dir, base_schema.as_deref(), &config)
                .map_err(|error| error.to_string())?,
        );
        if let Ok(mut cache) = DISK_CATALOG.lock() {
            *cache = Some((key, catalog.clone()));
        }
        Ok(catalog)
    })
    .await
    .map_err(|error| {
        tracing::error!(%error, "reading the packages failed");
        AppError::Internal
    })?;
    Ok((dir, catalog))
}

/// Open changes (pending, approved, applying) by package.
#[cfg(feature = "ssr")]
async fn open_changes(
    pool: &sqlx::PgPool,
) -> Result<std::collections::BTreeMap<String, ChangeRef>, AppError> {
    use crate::domain::review::ChangeStatus;
    use crate::registry::change::{self, ChangeFilter};
    let mut open = std::collections::BTreeMap::new();
    for status in [
        ChangeStatus::Pending,
        ChangeStatus::Approved,
        ChangeStatus::Applying,
    ] {
        for c in change::list(
            pool,
            &ChangeFilter {
                status: Some(status),
                ..ChangeFilter::default()
            },
        )
        .await?
        {
            open.insert(c.package.clone(), change_ref(&c));
        }
    }
    Ok(open)
}

#[cfg(feature = "ssr")]
fn change_ref(c: &crate::registry::change::SchemaChange) -> ChangeRef {
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

/// Standing of every entity name declared on disk.
#[cfg(feature = "ssr")]
fn standings(catalog: &crate::domain::Catalog) -> std::collections::BTreeMap<String, Standing> {
    let mut standing = std::collections::BTreeMap::new();
    for p in &catalog.packages {
        for e in &p.entities {
            standing.entry(e.name.clone()).or_insert(Standing::Single);
        }
    }
    for s in &catalog.shared {
        standing.insert(s.entity.clone(), Standing::Shared);
    }
    for c in &catalog.conflicts {
        standing.insert(c.entity.clone(), Standing::Conflict);
    }
    standing
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

    use crate::domain::review::{ChangeStatus, Role};
    use crate::registry::change::{self, ChangeFilter};
    let inputs = scan_inputs();
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

        let (packages_dir, catalog) = disk_catalog(inputs).await?;
        let (catalog, problem) = match catalog {
            Ok(catalog) => (Some(catalog), None),
            Err(problem) => (None, Some(problem)),
        };
        let applied = crate::registry::apply::applied_packages(&mut *pool.acquire().await?).await?;
        let open = open_changes(&pool).await?;
        let standing = catalog.as_deref().map(|c| standings(c)).unwrap_or_default();
        let config = crate::domain::Config::default();

        let mut ids: BTreeSet<String> = applied.keys().cloned().collect();
        ids.extend(open.keys().cloned());
        if let Some(catalog) = &catalog {
            ids.extend(catalog.packages.iter().map(|p| p.package.to_string()));
        }

        let mut packages = Vec::new();
        for id in &ids {
            let report = catalog.as_ref().and_then(|c| c.package(id));
            let applied_here = applied.get(id);
            let open_here = open.get(id).cloned();
            let entities: Vec<EntityCell> = match (report, applied_here) {
                (Some(report), _) => report
                    .entities
                    .iter()
                    .map(|e| EntityCell {
                        name: e.name.clone(),
                        checksum: e.checksum.clone(),
                        standing: standing.get(&e.name).copied().unwrap_or(Standing::Single),
                    })
                    .collect(),
                (None, Some(a)) => crate::domain::parse_entities(&a.yaml_snapshot, id, &config)
                    .entities
                    .iter()
                    .map(|e| EntityCell { name: e.name.clone(), checksum: crate::domain::entity_checksum(e), standing: Standing::Single })
                    .collect(),
                (None, None) => Vec::new(),
            };
            if let Some(q) = &q {
                let hit = id.to_lowercase().contains(q.as_str()) || entities.iter().any(|e| e.name.to_lowercase().contains(q.as_str()));
                if !hit {
                    continue;
                }
            }
            let checksum = report.and_then(|r| r.checksum.clone());
            let mut rejected = None;
            let (state, note) = match report {
                None if catalog.is_none() => (PackageState::Unknown, "the packages on disk could not be read".to_string()),
                None => match &open_here {
                    Some(c) if c.kind == "drop" => (PackageState::Removed, "a drop change is queued: approving it removes the package's tables".to_string()),
                    Some(_) => (PackageState::Removed, "queued, but gone from disk: the next scan supersedes the change".to_string()),
                    None => (PackageState::Removed, "live but gone from disk: the next scan queues a drop change".to_string()),
                },
                Some(r) if !r.errors.is_empty() => (
                    PackageState::Errors,
                    format!("{} error(s): fix them and scan again; the registry keeps its current state meanwhile", r.errors.len()),
                ),
                Some(_) => {
                    let on_disk = checksum.clone().unwrap_or_default();
                    if applied_here.is_some_and(|a| a.checksum == on_disk) {
                        (PackageState::Applied, "the content on disk is live".to_string())
                    } else if let Some(c) = open_here.as_ref().filter(|c| c.target_checksum == on_disk) {
                        let note = match c.status.as_str() {
                            "approved" => "approved: the restart job applies it next",
                            "applying" => "the restart job is applying it",
                            _ => "waiting for an admin's review",
                        };
                        (PackageState::Queued, note.to_string())
                    } else {
                        let last_rejected = change::list(
                            &pool,
                            &ChangeFilter { status: Some(ChangeStatus::Rejected), package: Some(id.clone()), limit: Some(1), ..ChangeFilter::default() },
                        )
                        .await?
                        .into_iter()
                        .next()
                        .filter(|c| c.target_checksum == on_disk);
                        match last_rejected {
                            Some(c) => {
                                rejected = Some(change_ref(&c));
                                (PackageState::Rejected, "this content was rejected: it stays rejected until it changes".to_string())
                            }
                            None if open_here.is_some() => (
                                PackageState::Unscanned,
                                "the content on disk differs from the queued change: the next scan supersedes it".to_string(),
                            ),
                            None => (PackageState::Unscanned, "the content on disk differs from the registry: the next scan queues it".to_string()),
                        }
                    }
                }
            };
            if state_filter.is_some_and(|s| s != state) {
                continue;
            }
            // Rendered below, for the page's packages only.
            let (preview, preview_problem) = match report {
                Some(r) if r.errors.is_empty() => (None, None),
                Some(_) => (None, Some("fix the errors to see the Prisma preview".to_string())),
                None => (None, Some("not on disk".to_string())),
            };
            packages.push(PackageView {
                package: id.clone(),
                file: report.map(|r| r.file.clone()),
                checksum,
                entities,
                applied: applied_here.map(|a| (a.checksum.clone(), a.change_id.clone())),
                open: open_here,
                rejected,
                state,
                note,
                errors: report.map(|r| r.errors.iter().map(issue).collect()).unwrap_or_default(),
                causes: Vec::new(),
                warnings: report.map(|r| r.warnings.iter().map(issue).collect()).unwrap_or_default(),
                preview,
                preview_problem,
            });
        }
        let matching = packages.len();
        let (page, range) = page_range(page, matching);
        let mut packages: Vec<PackageView> = packages.drain(range).collect();
        if let Some(catalog) = &catalog {
            // Grouped by cause, for the page's broken packages only.
            for p in packages.iter_mut().filter(|p| !p.errors.is_empty()) {
                if let Some(report) = catalog.package(&p.package) {
                    let source = catalog.broken_sources.get(&p.package).map(String::as_str);
                    p.causes = crate::domain::diagnostic_report::causes(&report.errors, source);
                }
            }
            for p in packages.iter_mut().filter(|p| p.preview_problem.is_none()) {
                match catalog.render_fragment_in_context(&p.package) {
                    Ok(fragment) => p.preview = Some(fragment.to_text()),
                    Err(error) => {
                        p.preview_problem = Some(format!("cannot render the Prisma fragment: {error}"))
                    }
                }
            }
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
                p.errors.iter_mut().chain(p.warnings.iter_mut()).for_each(|i| shorten(&mut i.file));
            }
        }
        Ok(PackagesView {
            packages_dir,
            problem,
            packages,
            total: ids.len(),
            matching,
            page,
            per_page: CATALOG_PER_PAGE,
        })
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
    use std::collections::BTreeMap;

    use crate::domain::review::Role;
    let inputs = scan_inputs();
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
        let (_, catalog) = disk_catalog(inputs).await?;
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
        let open = open_changes(&pool).await?;
        let standing = standings(&catalog);
        let mut declarations: BTreeMap<String, Vec<DeclarationView>> = BTreeMap::new();
        for p in &catalog.packages {
            for e in &p.entities {
                declarations
                    .entry(e.name.clone())
                    .or_default()
                    .push(DeclarationView {
                        package: p.package.to_string(),
                        checksum: e.checksum.clone(),
                        change: open.get(p.package.as_str()).cloned(),
                    });
            }
        }
        let total = declarations.len();
        let count = |s: Standing| standing.values().filter(|x| **x == s).count();
        let (conflicts, shared) = (count(Standing::Conflict), count(Standing::Shared));
        let mut entities: Vec<EntityView> = declarations
            .into_iter()
            .map(|(name, declarations)| EntityView {
                standing: standing.get(&name).copied().unwrap_or(Standing::Single),
                name,
                declarations,
            })
            .filter(|e| show.is_none_or(|s| e.standing == s))
            .filter(|e| {
                q.as_ref()
                    .is_none_or(|q| e.name.to_lowercase().contains(q.as_str()))
            })
            .collect();
        let matching = entities.len();
        let (page, range) = page_range(page, matching);
        let entities = entities.drain(range).collect();
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

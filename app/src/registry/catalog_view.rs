//! The catalog pages' rows: every package on disk and in the registry with where it stands,
//! and every entity on disk with who declares it; filtered and paged as the pages ask.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::PgPool;

use super::apply::AppliedSummary;
use super::change::{self, ChangeSummary};
use super::failure::Failure;
use crate::api::catalog::{
    page_range, ChangeRef, DeclarationView, EntitiesView, EntityCell, EntityView, IssueView,
    PackageState, PackageView, PackagesView, Standing, CATALOG_PER_PAGE,
};
use crate::api::disk::{DiskCatalog, IndexedEntity};
use crate::domain::diagnostic_report::Cause;
use crate::domain::PackageReport;

/// The packages on disk as read, or why they could not be read.
pub(crate) type DiskRead = Result<std::sync::Arc<DiskCatalog>, String>;

/// What the packages page asks for.
#[derive(Debug, Clone)]
pub struct PackageQuery {
    /// A text in the package's id or entity names, lowercase.
    text: Option<String>,
    /// Only packages in this state.
    state: Option<PackageState>,
    /// The page (from 1).
    page: Option<i64>,
}

impl PackageQuery {
    /// The query of the page's parameters; blank ones ask for everything.
    ///
    /// # Errors
    /// [`Failure::Invalid`] for an unknown state.
    pub fn parse(
        q: Option<String>,
        state: Option<&str>,
        page: Option<i64>,
    ) -> Result<PackageQuery, Failure> {
        let state = match state.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(
                PackageState::ALL
                    .into_iter()
                    .find(|x| x.as_str() == s)
                    .ok_or_else(|| Failure::Invalid(format!("unknown package state \"{s}\"")))?,
            ),
        };
        Ok(PackageQuery {
            text: lowercase_text(q),
            state,
            page,
        })
    }
}

/// What the entities page asks for.
#[derive(Debug, Clone)]
pub struct EntityQuery {
    /// A text in the entity's name, lowercase.
    text: Option<String>,
    /// Only entities of this standing.
    standing: Option<Standing>,
    /// The page (from 1).
    page: Option<i64>,
}

impl EntityQuery {
    /// The query of the page's parameters; blank ones (and `show=all`) ask for everything.
    ///
    /// # Errors
    /// [`Failure::Invalid`] for an unknown standing.
    pub fn parse(
        q: Option<String>,
        show: Option<&str>,
        page: Option<i64>,
    ) -> Result<EntityQuery, Failure> {
        let standing = match show.map(str::trim).filter(|s| !s.is_empty() && *s != "all") {
            None => None,
            Some(s) => Some(
                [Standing::Conflict, Standing::Shared, Standing::Single]
                    .into_iter()
                    .find(|x| x.as_str() == s)
                    .ok_or_else(|| Failure::Invalid(format!("unknown entity standing \"{s}\"")))?,
            ),
        };
        Ok(EntityQuery {
            text: lowercase_text(q),
            standing,
            page,
        })
    }
}

/// The search text as it is matched: trimmed and lowercase; none when blank.
fn lowercase_text(q: Option<String>) -> Option<String> {
    q.map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty())
}

/// The packages page: every package on disk (`disk`, read from `packages_dir`) and in the
/// registry, by id, matching `query`.
///
/// # Errors
/// Database errors.
pub(crate) async fn packages(
    pool: &PgPool,
    packages_dir: Option<String>,
    disk: DiskRead,
    query: &PackageQuery,
) -> Result<PackagesView, sqlx::Error> {
    let (catalog, problem) = match disk {
        Ok(catalog) => (Some(catalog), None),
        Err(problem) => (None, Some(problem)),
    };
    let applied = super::apply::applied_summaries(&mut *pool.acquire().await?).await?;
    let open = change::open_by_package(pool).await?;
    let known = Known {
        catalog: catalog.as_deref(),
        applied: &applied,
        open: &open,
    };
    let ids = known.ids();
    let total = ids.len();
    // The text filter needs names only: it runs before anything is built.
    let ids: Vec<&str> = ids
        .into_iter()
        .filter(|id| known.names_match(id, query.text.as_deref()))
        .collect();
    // Content that is neither live nor queued may be rejected: one query asks for all.
    let unsettled: Vec<String> = ids
        .iter()
        .filter(|id| known.settled_state(id).is_none())
        .map(|id| id.to_string())
        .collect();
    let rejected = change::last_rejected(pool, &unsettled).await?;
    let states: Vec<(&str, PackageState, Option<&ChangeSummary>)> = ids
        .into_iter()
        .map(|id| known.state(id, &rejected))
        .filter(|(_, state, _)| query.state.is_none_or(|s| s == *state))
        .collect();
    let matching = states.len();
    let (page, range) = page_range(query.page, matching);
    let mut packages: Vec<PackageView> = states[range]
        .iter()
        .map(|(id, state, rejected)| known.view(id, *state, *rejected))
        .collect();
    if let Some(dir) = &packages_dir {
        shorten_files(&mut packages, dir);
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
}

/// What is known of every package: its files on disk (when they could be read), its live
/// content and its open change.
struct Known<'a> {
    catalog: Option<&'a DiskCatalog>,
    applied: &'a BTreeMap<String, AppliedSummary>,
    open: &'a BTreeMap<String, ChangeSummary>,
}

impl<'a> Known<'a> {
    /// Package `id` on disk.
    fn report(&self, id: &str) -> Option<&'a PackageReport> {
        self.catalog.and_then(|c| c.package(id))
    }

    /// Every package id, live, queued or on disk.
    fn ids(&self) -> BTreeSet<&'a str> {
        let mut ids: BTreeSet<&str> = self.applied.keys().map(String::as_str).collect();
        ids.extend(self.open.keys().map(String::as_str));
        if let Some(catalog) = self.catalog {
            ids.extend(catalog.packages.iter().map(|p| p.package.as_str()));
        }
        ids
    }

    /// Whether `text` is in package `id`'s id or one of its entity names (on disk, or live
    /// when it is gone from disk); no text matches every package.
    fn names_match(&self, id: &str, text: Option<&str>) -> bool {
        let Some(q) = text else { return true };
        let named = |name: &str| name.to_lowercase().contains(q);
        named(id)
            || match (self.report(id), self.applied.get(id)) {
                (Some(r), _) => r.entities.iter().any(|e| named(&e.name)),
                (None, Some(a)) => a.entities.iter().any(|(name, _)| named(name)),
                (None, None) => false,
            }
    }

    /// Where package `id` stands when its files, live content and open change tell it alone.
    fn settled_state(&self, id: &str) -> Option<PackageState> {
        settled_state(self.report(id), self.applied.get(id), self.open.get(id))
    }

    /// Where package `id` stands, with the rejected change (of `rejected`, by package) that
    /// matches its content on disk when that is why.
    fn state<'r>(
        &self,
        id: &'r str,
        rejected: &'r BTreeMap<String, ChangeSummary>,
    ) -> (&'r str, PackageState, Option<&'r ChangeSummary>) {
        let state = match (self.catalog.is_some(), self.settled_state(id)) {
            (false, _) => PackageState::Unknown,
            (true, Some(state)) => state,
            (true, None) => {
                let on_disk = self
                    .report(id)
                    .and_then(|r| r.checksum.as_deref())
                    .unwrap_or_default();
                match rejected.get(id).filter(|c| c.target_checksum == on_disk) {
                    Some(c) => return (id, PackageState::Rejected, Some(c)),
                    None => PackageState::Unscanned,
                }
            }
        };
        (id, state, None)
    }

    /// Package `id`'s row.
    fn view(&self, id: &str, state: PackageState, rejected: Option<&ChangeSummary>) -> PackageView {
        let (report, applied, open) = (self.report(id), self.applied.get(id), self.open.get(id));
        let (preview, preview_problem) = self.preview(id, report);
        PackageView {
            package: id.to_string(),
            file: report.map(|r| r.file.clone()),
            checksum: report.and_then(|r| r.checksum.clone()),
            entities: self.entity_cells(report, applied),
            applied: applied.map(|a| (a.checksum.clone(), a.change_id.clone())),
            open: open.map(change_ref),
            rejected: rejected.map(change_ref),
            state,
            note: state_note(state, report, open),
            errors: report
                .map(|r| r.errors.iter().map(issue).collect())
                .unwrap_or_default(),
            causes: self.causes(id, report),
            warnings: report
                .map(|r| r.warnings.iter().map(issue).collect())
                .unwrap_or_default(),
            preview,
            preview_problem,
        }
    }

    /// A package's entities: on disk with their standing there, or as applied when it is
    /// gone from disk.
    fn entity_cells(
        &self,
        report: Option<&PackageReport>,
        applied: Option<&AppliedSummary>,
    ) -> Vec<EntityCell> {
        match (report, applied) {
            (Some(report), _) => report
                .entities
                .iter()
                .map(|e| EntityCell {
                    name: e.name.clone(),
                    checksum: e.checksum.clone(),
                    standing: self
                        .catalog
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
        }
    }

    /// Package `id`'s Prisma preview, or why there is none.
    fn preview(
        &self,
        id: &str,
        report: Option<&PackageReport>,
    ) -> (Option<String>, Option<String>) {
        match (report, self.catalog) {
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
        }
    }

    /// Package `id`'s errors grouped by cause, with the lines around each.
    fn causes(&self, id: &str, report: Option<&PackageReport>) -> Vec<Cause> {
        match (report, self.catalog) {
            (Some(r), Some(catalog)) if !r.errors.is_empty() => {
                crate::domain::diagnostic_report::causes(
                    &r.errors,
                    catalog.broken_sources.get(id).map(String::as_str),
                )
            }
            _ => Vec::new(),
        }
    }
}

/// Files relative to the packages directory `dir` read better than absolute paths.
fn shorten_files(packages: &mut [PackageView], dir: &str) {
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    let shorten = |file: &mut String| {
        if let Some(rest) = file.strip_prefix(&prefix) {
            *file = rest.to_string();
        }
    };
    for p in packages {
        if let Some(file) = p.file.as_mut() {
            shorten(file);
        }
        p.errors
            .iter_mut()
            .chain(p.warnings.iter_mut())
            .for_each(|i| shorten(&mut i.file));
    }
}

/// The entities page: every entity declared on disk (`disk`), by name, matching `query`,
/// with its declaring packages, their checksums and open changes.
///
/// # Errors
/// Database errors.
pub(crate) async fn entities(
    pool: &PgPool,
    disk: DiskRead,
    query: &EntityQuery,
) -> Result<EntitiesView, sqlx::Error> {
    let catalog = match disk {
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
    let matches = |e: &&IndexedEntity| {
        query.standing.is_none_or(|s| e.standing == s)
            && query
                .text
                .as_ref()
                .is_none_or(|q| e.name.to_lowercase().contains(q.as_str()))
    };
    let matching = catalog.entities.iter().filter(matches).count();
    let (page, range) = page_range(query.page, matching);
    let shown: Vec<&IndexedEntity> = catalog
        .entities
        .iter()
        .filter(matches)
        .skip(range.start)
        .take(range.len())
        .collect();
    let open = open_changes_declaring(pool, &shown).await?;
    let entities = shown.into_iter().map(|e| entity_view(e, &open)).collect();
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
}

/// The open change of each package declaring one of `shown` (none when it has none): looked
/// up for the page's declaring packages only.
async fn open_changes_declaring(
    pool: &PgPool,
    shown: &[&IndexedEntity],
) -> Result<BTreeMap<String, Option<ChangeRef>>, sqlx::Error> {
    let mut open = BTreeMap::new();
    for e in shown {
        for (package, _) in &e.declarations {
            open.entry(package.clone()).or_insert(None);
        }
    }
    let packages: Vec<String> = open.keys().cloned().collect();
    for c in change::open_of(pool, &packages).await? {
        open.insert(c.package.clone(), Some(change_ref(&c)));
    }
    Ok(open)
}

/// Entity `e`'s row, with each declaring package's open change of `open`.
fn entity_view(e: &IndexedEntity, open: &BTreeMap<String, Option<ChangeRef>>) -> EntityView {
    EntityView {
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
    }
}

/// A change as the catalog pages link to it.
fn change_ref(c: &ChangeSummary) -> ChangeRef {
    ChangeRef {
        id: c.id.clone(),
        status: c.status.as_str().to_string(),
        kind: c.kind.clone(),
        target_checksum: c.target_checksum.clone(),
    }
}

/// A diagnostic as the packages page lists it.
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

/// Where a package stands when its files, live content and open change tell it alone; `None`
/// when only its rejected changes can tell (rejected, or not scanned yet).
fn settled_state(
    report: Option<&PackageReport>,
    applied: Option<&AppliedSummary>,
    open: Option<&ChangeSummary>,
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
fn state_note(
    state: PackageState,
    report: Option<&PackageReport>,
    open: Option<&ChangeSummary>,
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

//! Packages whose files fail validation: no change can be queued for them, so the dashboard and
//! the queue list them with their errors grouped by cause, the lines around each, and the fix.
//! Read from the cached disk catalog (the same one the Packages page uses), so they are what is
//! on disk now, not what the last scan saw.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::context;
use crate::domain::diagnostic_report::Cause;
use crate::error::AppError;

/// Broken packages listed when the caller names no limit.
pub const DEFAULT_LIMIT: usize = 5;
/// The most broken packages one answer lists.
pub const MAX_LIMIT: usize = 50;
/// Causes listed per package; the package's entry on the Packages page has them all.
pub const CAUSES_PER_PACKAGE: usize = 5;

/// One package that fails validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenPackage {
    /// Package id (or, for a directory that is not a valid package id, its name).
    pub package: String,
    /// Its schema file, relative to the packages directory.
    pub file: String,
    /// Its entry on the Packages page; none for a directory that is not a package.
    pub link: Option<String>,
    /// Errors in all.
    pub errors: usize,
    /// Its errors by cause, in file order (at most [`CAUSES_PER_PACKAGE`]).
    pub causes: Vec<Cause>,
    /// Causes left out.
    pub more_causes: usize,
}

/// The broken packages on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenPackagesView {
    /// The first of them, by id.
    pub packages: Vec<BrokenPackage>,
    /// How many there are in all.
    pub total: usize,
    /// Why the packages on disk could not be read (then nothing is listed).
    pub problem: Option<String>,
}

/// Where a package's entry on the Packages page is.
pub fn package_link(package: &str) -> String {
    format!("/packages?q={package}#pkg-{package}")
}

/// `file` relative to `packages_dir`, when it lies inside it.
#[cfg(feature = "ssr")]
pub(crate) fn relative_file(file: &str, packages_dir: Option<&str>) -> String {
    packages_dir
        .map(|dir| format!("{}/", dir.trim_end_matches('/')))
        .and_then(|prefix| file.strip_prefix(&prefix).map(str::to_string))
        .unwrap_or_else(|| file.to_string())
}

/// The packages on disk as pages read them, or `None` when there are none to read (no packages
/// directory, or it cannot be read: the pages say so elsewhere).
///
/// # Errors
/// [`AppError::Internal`] when reading fails unexpectedly.
#[cfg(feature = "ssr")]
pub(crate) async fn disk_catalog_if_readable(
    inputs: crate::registry::scan::ScanInputs,
) -> Result<Option<std::sync::Arc<super::disk::DiskCatalog>>, AppError> {
    let (_, disk) = super::disk::disk_catalog(inputs).await?;
    Ok(disk.ok())
}

/// Every package on disk whose schema file has errors (and every directory that cannot be read
/// as a package), by id: the first `limit` ([`DEFAULT_LIMIT`], at most [`MAX_LIMIT`]) with
/// their causes, and how many there are. Any signed-in role.
///
/// # Errors
/// 401 without a session; 400 for a limit of 0.
#[server(prefix = "/api", endpoint = "broken_packages")]
pub async fn broken_packages(
    #[server(default)] limit: Option<usize>,
) -> Result<BrokenPackagesView, AppError> {
    use crate::domain::diagnostic_report::causes;
    use crate::domain::review::Role;
    let inputs = super::catalog::scan_inputs()?;
    context::finish(async {
        context::signed_in(Role::Viewer, "read the catalog").await?;
        let limit = match limit {
            Some(0) => return Err(AppError::Invalid("limit must be at least 1".to_string())),
            Some(n) => n.min(MAX_LIMIT),
            None => DEFAULT_LIMIT,
        };
        let (packages_dir, disk) = super::disk::disk_catalog(inputs).await?;
        let disk = match disk {
            Ok(disk) => disk,
            Err(problem) => {
                return Ok(BrokenPackagesView {
                    problem: Some(problem),
                    ..BrokenPackagesView::default()
                })
            }
        };
        let dir = packages_dir.as_deref();
        let broken: Vec<&crate::domain::PackageReport> = disk
            .packages
            .iter()
            .filter(|p| !p.errors.is_empty())
            .collect();
        let total = broken.len() + disk.errors.len();
        let mut packages: Vec<BrokenPackage> = broken
            .into_iter()
            .take(limit)
            .map(|report| {
                let id = report.package.to_string();
                let source = disk.broken_sources.get(&id).map(String::as_str);
                let mut all = causes(&report.errors, source);
                let more_causes = all.len().saturating_sub(CAUSES_PER_PACKAGE);
                all.truncate(CAUSES_PER_PACKAGE);
                BrokenPackage {
                    file: relative_file(&report.file, dir),
                    link: Some(package_link(&id)),
                    errors: report.errors.len(),
                    causes: all,
                    more_causes,
                    package: id,
                }
            })
            .collect();
        // Directories that are not packages at all, after the packages.
        let room = limit.saturating_sub(packages.len());
        packages.extend(disk.errors.iter().take(room).map(|problem| BrokenPackage {
            package: problem.package.clone(),
            file: relative_file(&problem.file, dir),
            link: None,
            errors: 1,
            causes: vec![Cause {
                code: "invalid_package".to_string(),
                message: problem.message.clone(),
                fix: None,
                count: 1,
                places: Vec::new(),
                excerpt: None,
            }],
            more_causes: 0,
        }));
        Ok(BrokenPackagesView {
            packages,
            total,
            problem: None,
        })
    })
    .await
}

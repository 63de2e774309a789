//! The packages on disk as pages read them: parsed and checked once per change of the files,
//! with the indexes the catalog pages filter and page through, shared by every request.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::catalog::Standing;
use crate::error::AppError;
use crate::registry::scan::ScanInputs;

/// One entity name on disk and who declares it.
#[derive(Debug)]
pub(crate) struct IndexedEntity {
    /// The entity.
    pub name: String,
    /// Single, shared or conflict.
    pub standing: Standing,
    /// `(package, checksum)` of each declaring package, by package.
    pub declarations: Vec<(String, String)>,
}

/// The packages on disk as read: the catalog, the text of each package with errors (for the
/// excerpts around them), and the entity index.
#[derive(Debug)]
pub(crate) struct DiskCatalog {
    /// Every package parsed, validated and checksummed.
    pub catalog: crate::domain::Catalog,
    /// The schema file's text of each package with errors, by package id.
    pub broken_sources: BTreeMap<String, String>,
    /// Every entity name declared on disk, by name.
    pub entities: Vec<IndexedEntity>,
    /// Prisma previews rendered so far, by package: each is rendered once per read.
    previews: Mutex<std::collections::HashMap<String, Result<String, String>>>,
}

impl std::ops::Deref for DiskCatalog {
    type Target = crate::domain::Catalog;

    fn deref(&self) -> &crate::domain::Catalog {
        &self.catalog
    }
}

impl DiskCatalog {
    /// Reads the base schema and every package of `packages_dir` and builds the catalog.
    fn read(
        packages_dir: &Path,
        base_schema: Option<&Path>,
        config: &crate::domain::Config,
    ) -> Result<Self, crate::scanner::ScanError> {
        let base = crate::scanner::read_base_schema(base_schema)?;
        let disk = crate::scanner::read_packages(packages_dir, config.limits.max_file_bytes)?;
        let mut texts: BTreeMap<String, String> = disk
            .sources
            .iter()
            .map(|s| (s.id.to_string(), s.text.clone()))
            .collect();
        let catalog =
            crate::domain::Catalog::build_with_problems(disk.sources, disk.problems, base, config);
        texts.retain(|id, _| catalog.package(id).is_some_and(|p| !p.errors.is_empty()));
        Ok(Self {
            previews: Mutex::default(),
            entities: index_entities(&catalog),
            catalog,
            broken_sources: texts,
        })
    }

    /// Package `id`'s Prisma fragment within the schema of the packages it relates to, or why it
    /// cannot be rendered.
    pub fn preview(&self, id: &str) -> Result<String, String> {
        if let Some(preview) = self.previews.lock().ok().and_then(|p| p.get(id).cloned()) {
            return preview;
        }
        let preview = self
            .catalog
            .render_fragment_in_context(id)
            .map(|fragment| fragment.to_text())
            .map_err(|error| error.to_string());
        if let Ok(mut previews) = self.previews.lock() {
            previews.insert(id.to_string(), preview.clone());
        }
        preview
    }

    /// The standing of an entity name declared on disk (single when unknown).
    pub fn standing(&self, name: &str) -> Standing {
        self.entities
            .binary_search_by(|e| e.name.as_str().cmp(name))
            .map_or(Standing::Single, |i| self.entities[i].standing)
    }
}

/// Every entity name of `catalog` with its standing and declarations, by name.
fn index_entities(catalog: &crate::domain::Catalog) -> Vec<IndexedEntity> {
    let mut declarations: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    for p in &catalog.packages {
        for e in &p.entities {
            declarations
                .entry(e.name.as_str())
                .or_default()
                .push((p.package.to_string(), e.checksum.clone()));
        }
    }
    let mut standing: BTreeMap<&str, Standing> = BTreeMap::new();
    for s in &catalog.shared {
        standing.insert(s.entity.as_str(), Standing::Shared);
    }
    for c in &catalog.conflicts {
        standing.insert(c.entity.as_str(), Standing::Conflict);
    }
    declarations
        .into_iter()
        .map(|(name, mut declarations)| {
            declarations.sort();
            IndexedEntity {
                standing: standing.get(name).copied().unwrap_or(Standing::Single),
                name: name.to_string(),
                declarations,
            }
        })
        .collect()
}

/// The last catalog read from disk, with the key (directory and file fingerprint) it was read
/// under.
type CachedCatalog = Option<(Arc<str>, Arc<DiskCatalog>)>;

static DISK_CATALOG: Mutex<CachedCatalog> = Mutex::new(None);

/// The cached catalog, if it was read under `key`.
fn cached_catalog(key: &str) -> Option<Arc<DiskCatalog>> {
    let cache = DISK_CATALOG.lock().ok()?;
    cache
        .as_ref()
        .filter(|(k, _)| &**k == key)
        .map(|(_, c)| c.clone())
}

/// Held while the catalog is read: concurrent requests wait for one read instead of each
/// reading (and holding) a catalog of their own.
static DISK_CATALOG_READ: Mutex<()> = Mutex::new(());

/// A look at the files pages read: of which directory (and base schema), when it began, the
/// sizes and modification times seen, and a hash of them.
#[derive(Debug, Clone)]
struct Fingerprint {
    identity: String,
    taken_at: Instant,
    key: Arc<str>,
    hash: u64,
}

/// The last fingerprint taken. Held only to read or replace it, never while files are looked
/// at, so that requests content with a recent one never wait for a new one.
static LAST_FINGERPRINT: Mutex<Option<Fingerprint>> = Mutex::new(None);

/// Held while a fingerprint is taken: requests needing a newer one wait for it and share it.
static TAKING_FINGERPRINT: Mutex<()> = Mutex::new(());

/// The last fingerprint of `identity` if it began no earlier than `not_before`.
fn recent_fingerprint(identity: &str, not_before: Instant) -> Option<Fingerprint> {
    LAST_FINGERPRINT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_ref()
        .filter(|f| f.identity == identity && f.taken_at >= not_before)
        .cloned()
}

fn identity_of(packages_dir: &Path, base_schema: Option<&Path>) -> String {
    format!(
        "{}#{}",
        packages_dir.display(),
        base_schema
            .map(|b| b.display().to_string())
            .unwrap_or_default()
    )
}

/// The fingerprint of `packages_dir` and `base_schema` as they are now, taken no earlier than
/// `not_before`. Requests asking at once share one taking: a fingerprint begun after a request
/// arrived saw every file as it was when the request arrived, or later.
fn fingerprint(
    packages_dir: &Path,
    base_schema: Option<&Path>,
    not_before: Instant,
) -> Fingerprint {
    let identity = identity_of(packages_dir, base_schema);
    let _taking = TAKING_FINGERPRINT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    recent_fingerprint(&identity, not_before)
        .unwrap_or_else(|| take_fingerprint(identity, packages_dir, base_schema))
}

/// Looks at the files now and records what it saw as the last fingerprint.
fn take_fingerprint(
    identity: String,
    packages_dir: &Path,
    base_schema: Option<&Path>,
) -> Fingerprint {
    use std::hash::{Hash, Hasher};
    let taken_at = Instant::now();
    let key: Arc<str> = format!(
        "{}#{}",
        packages_dir.display(),
        crate::scanner::fingerprint(packages_dir, base_schema)
    )
    .into();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    let taken = Fingerprint {
        identity,
        taken_at,
        key,
        hash: hasher.finish(),
    };
    let mut last = LAST_FINGERPRINT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if last.as_ref().is_none_or(|l| l.taken_at <= taken_at) {
        *last = Some(taken.clone());
    }
    taken
}

/// The packages on disk as a catalog, or why they could not be read. Reading and checking run
/// on a blocking thread, and only when a file changed since the last read (their sizes and
/// modification times tell): pages reuse the catalog otherwise, and one read serves every
/// request waiting for it.
pub(crate) async fn disk_catalog(
    inputs: ScanInputs,
) -> Result<(Option<String>, Result<Arc<DiskCatalog>, String>), AppError> {
    let asked_at = Instant::now();
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
        let key = fingerprint(&packages_dir, base_schema.as_deref(), asked_at).key;
        if let Some(catalog) = cached_catalog(&key) {
            return Ok(catalog);
        }
        let _reading = DISK_CATALOG_READ.lock();
        // Another request may have read it while this one waited.
        if let Some(catalog) = cached_catalog(&key) {
            return Ok(catalog);
        }
        let catalog = Arc::new(
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

/// What the pages read from disk (the packages and the base schema), as a number that changes
/// whenever a file there changes, taken no earlier than `asked_at - lag`; `None` without a
/// packages directory. A fingerprint older than half the lag is taken again in the background,
/// so that under steady requests none waits for the files to be looked at.
pub async fn disk_state(
    inputs: &ScanInputs,
    asked_at: Instant,
    lag: std::time::Duration,
) -> Option<u64> {
    let packages_dir = inputs.packages_dir.clone()?;
    let base_schema = inputs.base_schema.clone();
    let identity = identity_of(&packages_dir, base_schema.as_deref());
    let not_before = asked_at.checked_sub(lag).unwrap_or(asked_at);
    if let Some(recent) = recent_fingerprint(&identity, not_before) {
        let renew_after = asked_at.checked_sub(lag / 2).unwrap_or(asked_at);
        if recent.taken_at < renew_after {
            tokio::task::spawn_blocking(move || {
                // One renewal at a time; a request already taking one renews it.
                if let Ok(_taking) = TAKING_FINGERPRINT.try_lock() {
                    if recent_fingerprint(&identity, renew_after).is_none() {
                        take_fingerprint(identity, &packages_dir, base_schema.as_deref());
                    }
                }
            });
        }
        return Some(recent.hash);
    }
    tokio::task::spawn_blocking(move || {
        fingerprint(&packages_dir, base_schema.as_deref(), not_before).hash
    })
    .await
    .ok()
}

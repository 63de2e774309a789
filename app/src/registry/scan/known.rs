//! What the registry holds when a scan starts: the applied packages, the open changes (locked
//! against other writers), the rejected content, and the failed changes not replaced since.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{PgConnection, Row};

use crate::domain::catalog::Catalog;

/// A package's live state.
pub(super) struct Applied {
    pub(super) checksum: String,
    pub(super) yaml: String,
    pub(super) fragment: String,
    /// `(entity, checksum)` of what is live.
    pub(super) entities: Vec<(String, String)>,
}

/// A package's latest change that failed to apply and was not replaced since.
pub(super) struct Failed {
    pub(super) id: String,
    pub(super) target: String,
}

/// A package's change that is pending, approved or being applied.
pub(super) struct Open {
    pub(super) id: String,
    pub(super) status: String,
    pub(super) target: String,
}

/// What the registry already holds for one package.
pub(super) struct Known<'a> {
    pub(super) current: Option<&'a Applied>,
    pub(super) open: Option<&'a Open>,
    pub(super) failed: Option<&'a Failed>,
    pub(super) rejected: &'a BTreeSet<(String, String)>,
}

/// What the registry holds for every package, by package.
pub(super) struct RegistryState {
    pub(super) applied: BTreeMap<String, Applied>,
    pub(super) open: BTreeMap<String, Open>,
    /// `(package, target checksum)` of every rejected change.
    pub(super) rejected: BTreeSet<(String, String)>,
    pub(super) failed: BTreeMap<String, Failed>,
}

impl RegistryState {
    /// Reads it inside the scan's transaction, locking the open changes.
    pub(super) async fn load(conn: &mut PgConnection) -> Result<RegistryState, sqlx::Error> {
        let applied = load_applied(conn).await?;
        let open = load_open(conn).await?;
        let rejected: BTreeSet<(String, String)> = sqlx::query_as(
            "select package, target_checksum from schema_change where status = 'rejected'",
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
        let failed = load_failed(conn).await?;
        Ok(RegistryState {
            applied,
            open,
            rejected,
            failed,
        })
    }

    /// What it holds for package `id`.
    pub(super) fn known(&self, id: &str) -> Known<'_> {
        Known {
            current: self.applied.get(id),
            open: self.open.get(id),
            failed: self.failed.get(id),
            rejected: &self.rejected,
        }
    }

    /// The packages of `catalog` whose declarations will not reach the database, so do not
    /// conflict: content that was rejected, that failed to apply, or that does not validate.
    pub(super) fn inactive(&self, catalog: &Catalog) -> BTreeSet<String> {
        catalog
            .packages
            .iter()
            .filter(|p| match (&p.checksum, p.errors.is_empty()) {
                (Some(target), true) => {
                    self.rejected
                        .contains(&(p.package.to_string(), target.clone()))
                        || self
                            .failed
                            .get(p.package.as_str())
                            .is_some_and(|f| &f.target == target)
                }
                _ => true,
            })
            .map(|p| p.package.to_string())
            .collect()
    }

    /// `(entity, checksum)` of every live entity.
    pub(super) fn live_entities(&self) -> BTreeSet<(String, String)> {
        self.applied
            .values()
            .flat_map(|a| a.entities.iter().cloned())
            .collect()
    }
}

/// Per package, its newest change if that one failed (a failed change older than the
/// package's newest change was already replaced).
async fn load_failed(conn: &mut PgConnection) -> Result<BTreeMap<String, Failed>, sqlx::Error> {
    let rows = sqlx::query(
        "select distinct on (package) package, id::text as id, status, target_checksum
         from schema_change order by package, created_at desc, id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut failed = BTreeMap::new();
    for row in &rows {
        let status: String = row.try_get("status")?;
        if status == "failed" {
            failed.insert(
                row.try_get("package")?,
                Failed {
                    id: row.try_get("id")?,
                    target: row.try_get("target_checksum")?,
                },
            );
        }
    }
    Ok(failed)
}

/// Every applied package's live state.
async fn load_applied(conn: &mut PgConnection) -> Result<BTreeMap<String, Applied>, sqlx::Error> {
    let rows = sqlx::query(
        "select package, checksum, yaml_snapshot, fragment, entities from applied_package",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("package")?,
                Applied {
                    checksum: row.try_get("checksum")?,
                    yaml: row.try_get("yaml_snapshot")?,
                    fragment: row.try_get("fragment")?,
                    entities: row
                        .try_get::<serde_json::Value, _>("entities")?
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|e| {
                            Some((
                                e.get("name")?.as_str()?.to_string(),
                                e.get("checksum")?.as_str()?.to_string(),
                            ))
                        })
                        .collect(),
                },
            ))
        })
        .collect()
}

/// Every package's open change.
async fn load_open(conn: &mut PgConnection) -> Result<BTreeMap<String, Open>, sqlx::Error> {
    let rows = sqlx::query(
        "select package, id::text as id, status, target_checksum from schema_change
         where status in ('pending', 'approved', 'applying') for update",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("package")?,
                Open {
                    id: row.try_get("id")?,
                    status: row.try_get("status")?,
                    target: row.try_get("target_checksum")?,
                },
            ))
        })
        .collect()
}

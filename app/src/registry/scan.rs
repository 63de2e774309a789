//! Syncing the packages on disk into the registry. Content-addressed and idempotent: the same
//! content never queues twice, a rejected checksum stays rejected until the content changes,
//! newer content supersedes an open change, and a removed package yields a drop change. One
//! transaction: a scan is recorded whole or not at all.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool, Row};

mod inputs;

pub use inputs::{ScanInputError, ScanInputs};

use super::audit::{self, NewEvent};
use super::change::{ChangeConflict, ConflictDeclaration};
use crate::domain::base_schema::BaseSchema;
use crate::domain::catalog::{Catalog, PackageProblem, PackageSource};
use crate::domain::change::{
    diff_entities, finding_items, overall_risk, ChangeItem, ItemKind, Risk,
};
use crate::domain::checksum::package_checksum;
use crate::domain::comparison::compare;
use crate::domain::config::Config;
use crate::domain::dialect::parse_entities;

/// Scans serialize on this transaction-level advisory lock.
const SCAN_LOCK: i64 = 0x5343_4845_4d41_0002;

/// One package's line in a scan report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanEntry {
    /// The package.
    pub package: String,
    /// The change concerned (created, superseded, or the open/rejected one that matched).
    pub change: Option<String>,
    /// The content's checksum.
    pub checksum: String,
    /// Its risk, for created changes.
    pub risk: Option<Risk>,
    /// Why, in a few words.
    pub note: String,
}

/// A package that could not be scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanProblem {
    /// The package.
    pub package: String,
    /// The file.
    pub file: String,
    /// The problems, one line each (`file:line:column: path: message`).
    pub messages: Vec<String>,
}

/// What a scan did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReport {
    /// New changes for new or changed content.
    pub created: Vec<ScanEntry>,
    /// Open changes replaced by newer content (or whose package vanished).
    pub superseded: Vec<ScanEntry>,
    /// Packages whose content is applied or already queued.
    pub unchanged: Vec<ScanEntry>,
    /// New drop changes for packages removed from disk.
    pub drops: Vec<ScanEntry>,
    /// Content that was rejected before and stays rejected.
    pub rejected: Vec<ScanEntry>,
    /// Content whose change failed to apply: it stays with that change (retry it), and is
    /// not queued again.
    #[serde(default)]
    pub failed: Vec<ScanEntry>,
    /// Packages left alone because the restart job is applying them.
    pub deferred: Vec<ScanEntry>,
    /// Packages with validation errors (skipped; their open changes are left alone).
    pub errors: Vec<ScanProblem>,
    /// How many packages' fragments were rendered: one per new change, none for unchanged
    /// content.
    #[serde(default)]
    pub rendered: usize,
    /// How many entities those renderings covered (each package's own and its neighbours').
    #[serde(default)]
    pub rendered_entities: usize,
}

struct Applied {
    checksum: String,
    yaml: String,
    fragment: String,
    /// `(entity, checksum)` of what is live.
    entities: Vec<(String, String)>,
}

/// A package's latest change that failed to apply and was not replaced since.
struct Failed {
    id: String,
    target: String,
}

struct Open {
    id: String,
    status: String,
    target: String,
}

/// Compares the packages on disk (`sources`, rendered against `base`) with the registry and
/// records the differences, as `actor`.
///
/// # Errors
/// Database errors; nothing is written then.
pub async fn scan(
    pool: &PgPool,
    actor: &str,
    sources: Vec<PackageSource>,
    base: BaseSchema,
    config: &Config,
) -> Result<ScanReport, sqlx::Error> {
    scan_with_problems(pool, actor, sources, Vec::new(), base, config).await
}

/// As [`scan`], with the package directories that could not be read: each is reported in
/// `errors`, and one with a valid id keeps its place (no drop is queued for it).
///
/// # Errors
/// Database errors; nothing is written then.
pub async fn scan_with_problems(
    pool: &PgPool,
    actor: &str,
    sources: Vec<PackageSource>,
    problems: Vec<PackageProblem>,
    base: BaseSchema,
    config: &Config,
) -> Result<ScanReport, sqlx::Error> {
    let (catalog, yaml) = build_catalog(sources, problems, base, config);
    record(pool, actor, &catalog, &yaml, config).await
}

/// The catalog of `sources` and each package's YAML by id: the CPU-bound half of a scan, for a
/// blocking thread.
#[must_use]
pub fn build_catalog(
    sources: Vec<PackageSource>,
    problems: Vec<PackageProblem>,
    base: BaseSchema,
    config: &Config,
) -> (Catalog, BTreeMap<String, String>) {
    let yaml: BTreeMap<String, String> = sources
        .iter()
        .map(|s| (s.id.to_string(), s.text.clone()))
        .collect();
    (
        Catalog::build_with_problems(sources, problems, base, config),
        yaml,
    )
}

/// Records what `catalog` (with each package's `yaml`) changes in the registry, as `actor`.
///
/// # Errors
/// Database errors; nothing is written then.
pub async fn record(
    pool: &PgPool,
    actor: &str,
    catalog: &Catalog,
    yaml: &BTreeMap<String, String>,
    config: &Config,
) -> Result<ScanReport, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(SCAN_LOCK)
        .execute(&mut *tx)
        .await?;
    let applied = load_applied(&mut tx).await?;
    let open = load_open(&mut tx).await?;
    let rejected: BTreeSet<(String, String)> = sqlx::query_as(
        "select package, target_checksum from schema_change where status = 'rejected'",
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let failed = load_failed(&mut tx).await?;

    // Declarations that will not reach the database do not conflict: content that was
    // rejected, that failed to apply, or that does not validate.
    let inactive: BTreeSet<String> = catalog
        .packages
        .iter()
        .filter(|p| match (&p.checksum, p.errors.is_empty()) {
            (Some(target), true) => {
                rejected.contains(&(p.package.to_string(), target.clone()))
                    || failed
                        .get(p.package.as_str())
                        .is_some_and(|f| &f.target == target)
            }
            _ => true,
        })
        .map(|p| p.package.to_string())
        .collect();
    let live_entities: BTreeSet<(String, String)> = applied
        .values()
        .flat_map(|a| a.entities.iter().cloned())
        .collect();

    let mut report = ScanReport::default();
    report
        .errors
        .extend(catalog.errors.iter().map(|problem| ScanProblem {
            package: problem.package.clone(),
            file: problem.file.clone(),
            messages: vec![problem.message.clone()],
        }));
    let on_disk: BTreeSet<&str> = catalog
        .packages
        .iter()
        .map(|p| p.package.as_str())
        .collect();

    for package in &catalog.packages {
        let id = package.package.as_str();
        let Some(target) = package
            .checksum
            .clone()
            .filter(|_| package.errors.is_empty())
        else {
            report.errors.push(ScanProblem {
                package: id.to_string(),
                file: package.file.clone(),
                messages: package.errors.iter().map(ToString::to_string).collect(),
            });
            continue;
        };
        let conflicts = conflicts_of(catalog, id, &inactive, &live_entities);
        let current = applied.get(id);
        let known = Known {
            current,
            open: open.get(id),
            failed: failed.get(id),
            rejected: &rejected,
        };
        let Some(replaces) =
            settle(&mut tx, actor, id, &target, known, &conflicts, &mut report).await?
        else {
            continue;
        };
        // Only new content is rendered and diffed: a rescan of unchanged packages renders none.
        let fragment = match catalog.render_fragment_counted(id) {
            Ok((fragment, entities)) => {
                report.rendered_entities += entities;
                fragment.to_text()
            }
            Err(error) => {
                let message = format!("cannot render the Prisma fragment: {error}");
                report.errors.push(ScanProblem {
                    package: id.to_string(),
                    file: package.file.clone(),
                    messages: vec![message],
                });
                continue;
            }
        };
        report.rendered += 1;
        let before = current
            .map(|a| parse_entities(&a.yaml, &package.file, config).entities)
            .unwrap_or_default();
        let proposal = Proposal {
            package: id,
            kind: "upsert",
            target: &target,
            yaml: yaml.get(id).map(String::as_str).unwrap_or_default(),
            fragment_after: &fragment,
            items: items_or_generic(
                [
                    diff_entities(&before, &package.model),
                    finding_items(&package.warnings),
                ]
                .concat(),
                id,
            ),
            conflicts,
            declares: package.model.iter().map(|e| e.name.clone()).collect(),
        };
        create_change(&mut tx, actor, current, replaces, proposal, &mut report).await?;
    }

    // Packages that are live but gone from disk: their tables would be dropped.
    let drop_target = package_checksum(std::iter::empty());
    for (id, current) in &applied {
        if on_disk.contains(id.as_str()) || current.checksum == drop_target {
            continue;
        }
        let known = Known {
            current: Some(current),
            open: open.get(id.as_str()),
            failed: failed.get(id.as_str()),
            rejected: &rejected,
        };
        let Some(replaces) =
            settle(&mut tx, actor, id, &drop_target, known, &[], &mut report).await?
        else {
            continue;
        };
        let before = parse_entities(&current.yaml, id, config).entities;
        let proposal = Proposal {
            package: id,
            kind: "drop",
            target: &drop_target,
            yaml: "",
            fragment_after: "",
            items: diff_entities(&before, &[]),
            conflicts: Vec::new(),
            declares: Vec::new(),
        };
        create_change(
            &mut tx,
            actor,
            Some(current),
            replaces,
            proposal,
            &mut report,
        )
        .await?;
    }

    // Open changes of packages that are neither on disk nor live have nothing left to do.
    for (id, change) in &open {
        if !on_disk.contains(id.as_str())
            && !applied.contains_key(id)
            && change.status != "applying"
        {
            supersede(
                &mut tx,
                actor,
                &change.id,
                &change.status,
                id,
                "the package is gone from disk",
            )
            .await?;
            report.superseded.push(entry(
                id,
                Some(&change.id),
                &change.target,
                None,
                "package removed before it was applied",
            ));
        }
    }

    let details = serde_json::json!({
        "created": report.created.len(),
        "superseded": report.superseded.len(),
        "unchanged": report.unchanged.len(),
        "drops": report.drops.len(),
        "rejected": report.rejected.len(),
        "failed": report.failed.len(),
        "errors": report.errors.len(),
    });
    audit::append(
        &mut tx,
        NewEvent {
            actor,
            action: "scan",
            change_id: None,
            package: None,
            details,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

/// A change the scan may create.
struct Proposal<'a> {
    package: &'a str,
    kind: &'a str,
    target: &'a str,
    yaml: &'a str,
    fragment_after: &'a str,
    items: Vec<ChangeItem>,
    conflicts: Vec<ChangeConflict>,
    /// The entity names `yaml` declares.
    declares: Vec<String>,
}

/// What the registry already holds for one package.
struct Known<'a> {
    current: Option<&'a Applied>,
    open: Option<&'a Open>,
    failed: Option<&'a Failed>,
    rejected: &'a BTreeSet<(String, String)>,
}

/// Settles package `id`'s content `target` against what the registry knows: an open change
/// for the same content stays (its conflicts refreshed), one for other content is superseded,
/// and applied, rejected or failed content is reported as such. `Some(replaces)` when a new
/// change must be created, with the change it replaces, if any.
async fn settle<'k>(
    conn: &mut PgConnection,
    actor: &str,
    id: &str,
    target: &str,
    known: Known<'k>,
    conflicts: &[ChangeConflict],
    report: &mut ScanReport,
) -> Result<Option<Option<&'k str>>, sqlx::Error> {
    let Known {
        current,
        open,
        failed,
        rejected,
    } = known;
    // The change this one replaces, for the reviewer's "changes since the last review".
    let mut replaces: Option<&str> = None;
    let live = current.is_some_and(|a| a.checksum == target);
    if let Some(open) = open {
        if open.status == "applying" {
            report.deferred.push(entry(
                id,
                Some(&open.id),
                target,
                None,
                "the restart job is applying a change",
            ));
            return Ok(None);
        }
        if open.target == target {
            refresh_conflicts(conn, &open.id, conflicts).await?;
            report.unchanged.push(entry(
                id,
                Some(&open.id),
                target,
                None,
                &format!("already {}", open.status),
            ));
            return Ok(None);
        }
        // The content moved on: the open change (and any approval of it) no longer holds.
        let why = if live {
            "the content went back to what is applied"
        } else {
            "newer content was scanned"
        };
        supersede(conn, actor, &open.id, &open.status, id, why).await?;
        report
            .superseded
            .push(entry(id, Some(&open.id), &open.target, None, why));
        replaces = Some(&open.id);
    }
    if let Some(failed) = failed {
        if failed.target == target {
            report.failed.push(entry(
                id,
                Some(&failed.id),
                target,
                None,
                "this content failed to apply; retry that change, or change the package",
            ));
            return Ok(None);
        }
        // New content: the failed change has its way forward in the new one.
        let why = "newer content was scanned after it failed";
        supersede(conn, actor, &failed.id, "failed", id, why).await?;
        report
            .superseded
            .push(entry(id, Some(&failed.id), &failed.target, None, why));
        replaces = replaces.or(Some(&failed.id));
    }
    if live {
        report
            .unchanged
            .push(entry(id, None, target, None, "applied"));
        return Ok(None);
    }
    if rejected.contains(&(id.to_string(), target.to_string())) {
        report.rejected.push(entry(
            id,
            None,
            target,
            None,
            "this content was rejected; change it to queue again",
        ));
        return Ok(None);
    }
    Ok(Some(replaces))
}

/// Queues `proposal` as a new pending change (replacing `replaces`), audited.
async fn create_change(
    conn: &mut PgConnection,
    actor: &str,
    current: Option<&Applied>,
    replaces: Option<&str>,
    proposal: Proposal<'_>,
    report: &mut ScanReport,
) -> Result<(), sqlx::Error> {
    let id = proposal.package;
    let target = proposal.target;
    let risk = overall_risk(&proposal.items);
    let fragment_sha256 = sha256_hex(proposal.fragment_after);
    let created: String = sqlx::query_scalar(
        "insert into schema_change (package, kind, status, risk, base_checksum, target_checksum,
             yaml_snapshot, fragment_before, fragment_after, fragment_sha256, items, conflicts, created_by,
             supersedes, declares)
         values ($1, $2, 'pending', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::uuid, $14)
         returning id::text",
    )
    .bind(id)
    .bind(proposal.kind)
    .bind(risk.as_str())
    .bind(current.map(|a| a.checksum.as_str()))
    .bind(target)
    .bind(proposal.yaml)
    .bind(current.map_or("", |a| a.fragment.as_str()))
    .bind(proposal.fragment_after)
    .bind(&fragment_sha256)
    .bind(serde_json::to_value(&proposal.items).unwrap_or_default())
    .bind(serde_json::to_value(&proposal.conflicts).unwrap_or_default())
    .bind(actor)
    .bind(replaces)
    .bind(&proposal.declares)
    .fetch_one(&mut *conn)
    .await?;
    audit::append(
        conn,
        NewEvent {
            actor,
            action: "change.created",
            change_id: Some(&created),
            package: Some(id),
            details: serde_json::json!({
                "kind": proposal.kind,
                "target_checksum": target,
                "risk": risk.as_str(),
                "items": proposal.items.len(),
                "supersedes": replaces,
            }),
        },
    )
    .await?;
    let line = entry(
        id,
        Some(&created),
        target,
        Some(risk),
        &format!("{} item(s)", proposal.items.len()),
    );
    if proposal.kind == "drop" {
        report.drops.push(line);
    } else {
        report.created.push(line);
    }
    Ok(())
}

/// Supersedes change `id`, which the scan saw in state `was` (pending, approved or failed),
/// audited; a change that moved on meanwhile is left alone.
async fn supersede(
    conn: &mut PgConnection,
    actor: &str,
    id: &str,
    was: &str,
    package: &str,
    why: &str,
) -> Result<(), sqlx::Error> {
    let updated = sqlx::query(
        "update schema_change set status = 'superseded', updated_at = now()
         where id = $1::uuid and status = $2 and status in ('pending', 'approved', 'failed')",
    )
    .bind(id)
    .bind(was)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 1 {
        audit::append(
            conn,
            NewEvent {
                actor,
                action: "change.superseded",
                change_id: Some(id),
                package: Some(package),
                details: serde_json::json!({"was": was, "why": why}),
            },
        )
        .await?;
    }
    Ok(())
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

async fn refresh_conflicts(
    conn: &mut PgConnection,
    id: &str,
    conflicts: &[ChangeConflict],
) -> Result<(), sqlx::Error> {
    sqlx::query("update schema_change set conflicts = $2 where id = $1::uuid and conflicts <> $2")
        .bind(id)
        .bind(serde_json::to_value(conflicts).unwrap_or_default())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

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

fn entry(
    package: &str,
    change: Option<&str>,
    checksum: &str,
    risk: Option<Risk>,
    note: &str,
) -> ScanEntry {
    ScanEntry {
        package: package.to_string(),
        change: change.map(str::to_string),
        checksum: checksum.to_string(),
        risk,
        note: note.to_string(),
    }
}

/// The conflicts `package`'s entities are in, counting only declarations that may reach the
/// database (`inactive` packages' declarations do not), each compared aspect by aspect.
fn conflicts_of(
    catalog: &Catalog,
    package: &str,
    inactive: &BTreeSet<String>,
    live: &BTreeSet<(String, String)>,
) -> Vec<ChangeConflict> {
    let declaration_of = |owner: &str, entity: &str| {
        catalog
            .package(owner)
            .and_then(|p| p.model.iter().find(|e| e.name == entity))
    };
    catalog
        .conflicts
        .iter()
        .filter(|c| c.declarations.iter().any(|d| d.package.as_str() == package))
        .filter_map(|c| {
            // This package's declaration first: the conflict panel reads "package says ...".
            let mut declarations: Vec<_> = c
                .declarations
                .iter()
                .filter(|d| !inactive.contains(d.package.as_str()))
                .collect();
            declarations.sort_by_key(|d| d.package.as_str() != package);
            let distinct: BTreeSet<&str> =
                declarations.iter().map(|d| d.checksum.as_str()).collect();
            if distinct.len() < 2 || declarations.first()?.package.as_str() != package {
                return None;
            }
            let differences = match (
                declaration_of(declarations[0].package.as_str(), &c.entity),
                declaration_of(declarations[1].package.as_str(), &c.entity),
            ) {
                (Some(left), Some(right)) => compare(left, right),
                _ => Vec::new(),
            };
            Some(ChangeConflict {
                entity: c.entity.clone(),
                differences,
                declarations: declarations
                    .iter()
                    .map(|d| ConflictDeclaration {
                        package: d.package.to_string(),
                        checksum: d.checksum.clone(),
                        definition: declaration_of(d.package.as_str(), &c.entity)
                            .map(readable_definition)
                            .unwrap_or_default(),
                        matches_applied: live.contains(&(c.entity.clone(), d.checksum.clone())),
                    })
                    .collect(),
            })
        })
        .collect()
}

/// The entity's canonical encoding (what its checksum covers), laid out one key per line so
/// that two declarations can be diffed.
fn readable_definition(entity: &crate::domain::model::Entity) -> String {
    let encoded = crate::domain::checksum::canonical_encoding(entity);
    serde_json::from_str::<serde_json::Value>(&encoded)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or(encoded)
}

/// A changed checksum always gets at least one item, even for edits the item rules do not name.
fn items_or_generic(items: Vec<ChangeItem>, package: &str) -> Vec<ChangeItem> {
    if !items.is_empty() {
        return items;
    }
    vec![ChangeItem {
        entity: String::new(),
        kind: ItemKind::AlterField,
        path: package.to_string(),
        summary: "structural change".to_string(),
        risk: Risk::Hygiene,
        reason: "the checksum changed without a field, index, relation or ACL difference"
            .to_string(),
        advice: None,
    }]
}

/// Lowercase hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

//! Syncing the packages on disk into the registry. Content-addressed and idempotent: the same
//! content never queues twice, a rejected checksum stays rejected until the content changes,
//! newer content supersedes an open change, and a removed package yields a drop change. One
//! transaction: a scan is recorded whole or not at all.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

mod conflict;
mod inputs;
mod known;

pub use inputs::{ScanInputError, ScanInputs};

use super::audit::{self, NewEvent};
use super::change::ChangeConflict;
use crate::domain::base_schema::BaseSchema;
use crate::domain::catalog::{Catalog, PackageProblem, PackageReport, PackageSource};
use crate::domain::change::{
    diff_entities, finding_items, overall_risk, ChangeItem, ItemKind, Risk,
};
use crate::domain::checksum::package_checksum;
use crate::domain::config::Config;
use crate::domain::dialect::parse_entities;
use conflict::conflicts_of;
use known::{Applied, Failed, Known, Open, RegistryState};

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
    let registry = RegistryState::load(&mut tx).await?;
    let scan = Scan {
        actor,
        catalog,
        yaml,
        config,
        inactive: registry.inactive(catalog),
        live_entities: registry.live_entities(),
        on_disk: catalog
            .packages
            .iter()
            .map(|p| p.package.as_str())
            .collect(),
        registry,
    };
    let mut report = ScanReport::default();
    report
        .errors
        .extend(catalog.errors.iter().map(|problem| ScanProblem {
            package: problem.package.clone(),
            file: problem.file.clone(),
            messages: vec![problem.message.clone()],
        }));
    for package in &catalog.packages {
        scan.record_package(&mut tx, package, &mut report).await?;
    }
    scan.record_drops(&mut tx, &mut report).await?;
    scan.supersede_vanished(&mut tx, &mut report).await?;
    audit_scan(&mut tx, actor, &report).await?;
    tx.commit().await?;
    Ok(report)
}

/// One scan: what it compares (the catalog on disk and each package's YAML) and what the
/// registry held when it started.
struct Scan<'a> {
    actor: &'a str,
    catalog: &'a Catalog,
    yaml: &'a BTreeMap<String, String>,
    config: &'a Config,
    registry: RegistryState,
    /// Packages whose declarations will not reach the database, so do not conflict.
    inactive: BTreeSet<String>,
    /// `(entity, checksum)` of every live entity.
    live_entities: BTreeSet<(String, String)>,
    /// The packages found on disk, valid or not.
    on_disk: BTreeSet<&'a str>,
}

impl<'a> Scan<'a> {
    /// Records one package on disk: its problems, or its content settled against the registry
    /// and, when that content is new, a change for it.
    async fn record_package(
        &self,
        conn: &mut PgConnection,
        package: &PackageReport,
        report: &mut ScanReport,
    ) -> Result<(), sqlx::Error> {
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
            return Ok(());
        };
        let conflicts = conflicts_of(self.catalog, id, &self.inactive, &self.live_entities);
        let known = self.registry.known(id);
        let current = known.current;
        let Some(replaces) =
            settle(conn, self.actor, id, &target, known, &conflicts, report).await?
        else {
            return Ok(());
        };
        // Only new content is rendered and diffed: a rescan of unchanged packages renders none.
        let Some(fragment) = self.render_fragment(package, report) else {
            return Ok(());
        };
        let before = current
            .map(|a| parse_entities(&a.yaml, &package.file, self.config).entities)
            .unwrap_or_default();
        let proposal = Proposal {
            package: id,
            kind: "upsert",
            target: &target,
            yaml: self.yaml.get(id).map(String::as_str).unwrap_or_default(),
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
        create_change(conn, self.actor, current, replaces, proposal, report).await
    }

    /// The package's Prisma fragment, counted in the report; `None`, with the problem
    /// reported, when it does not render.
    fn render_fragment(&self, package: &PackageReport, report: &mut ScanReport) -> Option<String> {
        match self
            .catalog
            .render_fragment_counted(package.package.as_str())
        {
            Ok((fragment, entities)) => {
                report.rendered_entities += entities;
                report.rendered += 1;
                Some(fragment.to_text())
            }
            Err(error) => {
                let message = format!("cannot render the Prisma fragment: {error}");
                report.errors.push(ScanProblem {
                    package: package.package.to_string(),
                    file: package.file.clone(),
                    messages: vec![message],
                });
                None
            }
        }
    }

    /// Packages that are live but gone from disk: their tables would be dropped, so each gets
    /// a drop change.
    async fn record_drops(
        &self,
        conn: &mut PgConnection,
        report: &mut ScanReport,
    ) -> Result<(), sqlx::Error> {
        let drop_target = package_checksum(std::iter::empty());
        for (id, current) in &self.registry.applied {
            if self.on_disk.contains(id.as_str()) || current.checksum == drop_target {
                continue;
            }
            let known = self.registry.known(id);
            let Some(replaces) =
                settle(conn, self.actor, id, &drop_target, known, &[], report).await?
            else {
                continue;
            };
            let before = parse_entities(&current.yaml, id, self.config).entities;
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
            create_change(conn, self.actor, Some(current), replaces, proposal, report).await?;
        }
        Ok(())
    }

    /// Open changes of packages that are neither on disk nor live have nothing left to do:
    /// they are superseded (unless being applied).
    async fn supersede_vanished(
        &self,
        conn: &mut PgConnection,
        report: &mut ScanReport,
    ) -> Result<(), sqlx::Error> {
        for (id, change) in &self.registry.open {
            if !self.on_disk.contains(id.as_str())
                && !self.registry.applied.contains_key(id)
                && change.status != "applying"
            {
                supersede(
                    conn,
                    self.actor,
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
        Ok(())
    }
}

/// Audits the scan with how many packages went each way.
async fn audit_scan(
    conn: &mut PgConnection,
    actor: &str,
    report: &ScanReport,
) -> Result<(), sqlx::Error> {
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
        conn,
        NewEvent {
            actor,
            action: "scan",
            change_id: None,
            package: None,
            details,
        },
    )
    .await?;
    Ok(())
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
        if keeps_open_change(conn, id, target, open, conflicts, report).await? {
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
        if !supersedes_failed_change(conn, actor, id, target, failed, report).await? {
            return Ok(None);
        }
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

/// Whether `open` stays as package `id`'s change for content `target`: while the restart job
/// applies it (the package is deferred), or when it is for that same content (its conflicts
/// refreshed).
async fn keeps_open_change(
    conn: &mut PgConnection,
    id: &str,
    target: &str,
    open: &Open,
    conflicts: &[ChangeConflict],
    report: &mut ScanReport,
) -> Result<bool, sqlx::Error> {
    if open.status == "applying" {
        report.deferred.push(entry(
            id,
            Some(&open.id),
            target,
            None,
            "the restart job is applying a change",
        ));
        return Ok(true);
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
        return Ok(true);
    }
    Ok(false)
}

/// Whether package `id`'s failed change gives way to content `target`: new content
/// supersedes it (the new change is its way forward); the same content stays with it, to be
/// retried.
async fn supersedes_failed_change(
    conn: &mut PgConnection,
    actor: &str,
    id: &str,
    target: &str,
    failed: &Failed,
    report: &mut ScanReport,
) -> Result<bool, sqlx::Error> {
    if failed.target == target {
        report.failed.push(entry(
            id,
            Some(&failed.id),
            target,
            None,
            "this content failed to apply; retry that change, or change the package",
        ));
        return Ok(false);
    }
    let why = "newer content was scanned after it failed";
    supersede(conn, actor, &failed.id, "failed", id, why).await?;
    report
        .superseded
        .push(entry(id, Some(&failed.id), &failed.target, None, why));
    Ok(true)
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
    // Review state persists across revisions: verdicts go with the content they reviewed.
    let carried = match replaces {
        Some(previous) => super::verdict::carry_over(conn, previous, &created).await?,
        None => 0,
    };
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
                "verdicts_carried": carried,
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
        suggestion: None,
    }]
}

/// Lowercase hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

//! The restart job (`schemagate apply`): applies approved schema changes, exactly once, even
//! when killed at any point.
//!
//! A run takes the apply [`lease`](Lease), then takes changes one at a time: first one a killed
//! run left `applying`, then the approved ones in dependency order. For each it verifies that the
//! stored content is what was reviewed (else `failed`, reason `integrity`) and that the
//! package's applied state is the change's base (else `failed`, reason `drift`), renders the
//! full schema (applied state plus this change; else `failed`, reason `render`), marks it
//! `applying`, writes the schema atomically, runs the migrate command, and records `applied`
//! (with the package's new applied state) or `failed` (reason `migrate` or `timeout`, with the
//! command's output). Changes run in dependency order (a package whose relations target
//! another package's entities comes after it; approval order breaks ties), and a failure
//! holds back only the changes that depend on it: they stay approved for the next run.
//!
//! Crash safety: each state change is one transaction together with its audit event, guarded
//! by the expected state in SQL and fenced on the lease. A run killed before `applied` was
//! committed leaves the change `applying`; the next run writes the schema again and re-runs
//! the migrate command, which must be idempotent (`prisma migrate deploy` is). A change is
//! recorded `applied` at most once because only `applying → applied` can record it.
//!
//! At the end of every run the schema file is made to match the applied state, so that a fresh
//! container gets it and a failed change's models do not linger in it.

mod lease;
mod ledger;
mod migrate;
mod migration;
mod retry;
mod state;
mod timeouts;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;

pub use lease::{
    current_holder, Lease, LeaseError, LeaseHolder, Validity, DEFAULT_LEASE_TTL, LEASE_NAME,
};
pub use migrate::{MigrateEnd, MigrateOutcome, LOG_LIMIT};
pub use migration::migration_name;
pub use retry::{newer_change, next_step, retry, retry_blocker, RetryBlocker};
pub use state::{
    acl_json, applied_packages, applied_summaries, checksum_of, desired_state, desired_state_on,
    entities_json, parse_snapshot, parse_state, queued_changes, render_desired, render_entities,
    verify_integrity, AppliedPackage, AppliedSummary, IntegrityError, StateError,
};
pub use timeouts::{
    approved_part, MigrationTimeouts, DEFAULT_LOCK_RETRIES, DEFAULT_LOCK_TIMEOUT,
    DEFAULT_RETRY_BACKOFF, DEFAULT_STATEMENT_TIMEOUT,
};

use super::change::SchemaChange;
use crate::domain::base_schema::BaseSchema;
use crate::domain::config::Config;
use crate::domain::dependency::{declared, dependency_order, foreign_targets, WorkItem};
use crate::domain::dialect::parse_entities;
use crate::domain::model::Entity;
use crate::domain::review::{ChangeEvent, ChangeStatus, IllegalTransition};
use ledger::{fail, finish, moved, record, start, Applied};

/// The audit actor of the restart job (the holder is in each event's details).
pub const ACTOR: &str = "system";

/// The default time limit of the migrate command.
pub const DEFAULT_MIGRATE_TIMEOUT: Duration = Duration::from_secs(600);

/// How a run is configured.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Where the merged Prisma schema is written.
    pub schema_out: PathBuf,
    /// Run through `sh -c` after the schema is written; none: write the schema only.
    pub migrate_cmd: Option<String>,
    /// Kill the migrate command after this long.
    pub migrate_timeout: Duration,
    /// How long to wait for another runner's lease.
    pub wait: Duration,
    /// How long the lease lives without a heartbeat (heartbeats come every third of it).
    pub lease_ttl: Duration,
    /// Who runs: `<host> pid <pid>` (a run token is appended).
    pub runner: String,
    /// The base schema everything renders against.
    pub base: BaseSchema,
    /// The domain configuration the changes were scanned with.
    pub config: Config,
    /// Copy the migrate command's output to stderr as it comes.
    pub echo_output: bool,
    /// The platform database's schema engine. With it, each change is checked for drift and
    /// re-planned against the live database, and its approved SQL is applied as a Prisma
    /// migration; without it, only the schema file is written and the migrate command run.
    pub platform: Option<std::sync::Arc<crate::platform::PlatformEngine>>,
    /// The Prisma migrations directory the changes' migrations are written to.
    pub migrations_dir: PathBuf,
    /// The lock and statement timeouts every migration sets, and how a lock timeout is retried.
    pub timeouts: MigrationTimeouts,
}

impl ApplyOptions {
    /// Options with the defaults: no migrate command, 600 s timeout, no waiting, 30 s lease.
    pub fn new(schema_out: impl Into<PathBuf>, runner: impl Into<String>) -> ApplyOptions {
        let schema_out: PathBuf = schema_out.into();
        ApplyOptions {
            migrations_dir: default_migrations_dir(&schema_out),
            platform: None,
            schema_out,
            migrate_cmd: None,
            migrate_timeout: DEFAULT_MIGRATE_TIMEOUT,
            wait: Duration::ZERO,
            lease_ttl: DEFAULT_LEASE_TTL,
            runner: runner.into(),
            base: BaseSchema::default(),
            config: Config::default(),
            echo_output: false,
            timeouts: MigrationTimeouts::default(),
        }
    }
}

/// `migrations` beside `schema_out`, where Prisma looks for a schema's migrations.
#[must_use]
pub fn default_migrations_dir(schema_out: &Path) -> PathBuf {
    schema_out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("migrations")
}

/// A file that shows `dir` is not a Prisma migrations directory (Prisma keeps each migration in
/// a directory of its own, beside `migration_lock.toml`): an `.sql` file at its top level, as a
/// repository's own SQL migrations have. None when `dir` is missing or looks like Prisma's.
#[must_use]
pub fn foreign_migration_file(dir: &Path) -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    names.sort();
    names.into_iter().next()
}

/// One change's line in the run's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeOutcome {
    /// The change.
    pub id: String,
    /// Its package.
    pub package: String,
    /// `upsert` or `drop`.
    pub kind: String,
    /// The approved target checksum.
    pub target_checksum: String,
    /// Whether a killed run had left it `applying`.
    pub resumed: bool,
    /// Failed: `integrity`, `drift`, `render`, `migrate` or `timeout`; skipped: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Failed: what exactly went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// How long the migrate command ran, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// What a run did (`schemagate apply --json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    /// The lease holder of this run.
    pub holder: String,
    /// The holder whose expired lease this run took over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub took_over_from: Option<String>,
    /// Where the schema was written.
    pub schema_out: String,
    /// Whether the schema file's content differs from what it was before the run.
    pub schema_updated: bool,
    /// Changes applied, in order.
    pub applied: Vec<ChangeOutcome>,
    /// Changes that failed.
    pub failed: Vec<ChangeOutcome>,
    /// Approved changes that depend on a failed (or held back) one: they stay approved for a
    /// later run; `reason` names the dependency.
    #[serde(default)]
    pub held_back: Vec<ChangeOutcome>,
    /// Changes that moved on while the run looked at them (superseded by a scan).
    pub skipped: Vec<ChangeOutcome>,
    /// The baseline migration applied to an empty platform database (the applied state's
    /// tables, the base schema's at first), if this run applied one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
}

impl ApplyReport {
    /// Whether no change failed.
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Why a run stopped short (a change failing is not an error: it is in the report).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The lease is held by another runner, or was lost to one.
    #[error(transparent)]
    Lease(#[from] LeaseError),
    /// The schema file cannot be written.
    #[error("cannot write the schema to {}: {source}", path.display())]
    WriteSchema {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `sh` cannot be started.
    #[error("cannot run the migrate command through sh: {0}")]
    Spawn(std::io::Error),
    /// The applied state itself does not render (a changed base schema, say).
    #[error("the applied state cannot be rendered: {0}")]
    AppliedState(StateError),
    /// The empty platform database could not be given the applied state's tables.
    #[error("cannot apply the baseline migration to the empty platform database: {0}")]
    Baseline(String),
    /// The registry holds a change in a state the job cannot move on from.
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    /// The row-level-security configuration is not the accepted one (four-eyes is on).
    #[error(transparent)]
    RowSecurity(#[from] super::row_security::RowSecurityError),
    /// A change this run was applying was moved on by someone else (a bug: it holds the lease).
    #[error("change {0} was no longer applying when the run recorded it applied")]
    Stuck(String),
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// Runs the restart job: takes the lease (waiting up to `options.wait`), applies what is
/// queued, brings the schema file in line with the applied state, and gives the lease back.
///
/// # Errors
/// [`ApplyError::Lease`] when another runner holds the lease (or took it over); I/O and
/// database errors. A change that fails is reported in the [`ApplyReport`], not as an error.
pub async fn run(pool: &PgPool, options: &ApplyOptions) -> Result<ApplyReport, ApplyError> {
    let lease =
        Lease::acquire_waiting(pool, &options.runner, options.lease_ttl, options.wait).await?;
    match &lease.took_over_from {
        Some(previous) => {
            tracing::warn!(lease.holder = %lease.holder(), lease.previous = %previous, "took over an expired apply lease")
        }
        None => tracing::info!(lease.holder = %lease.holder(), "acquired the apply lease"),
    }
    let heartbeat = spawn_heartbeat(pool.clone(), lease.clone());
    let outcome = run_holding(pool, options, &lease).await;
    heartbeat.abort();
    if let Err(error) = lease.release(pool).await {
        tracing::warn!(lease.holder = %lease.holder(), "could not release the apply lease (it will expire): {error}");
    }
    outcome
}

/// Extends the lease every third of its lifetime until aborted.
fn spawn_heartbeat(pool: PgPool, lease: Lease) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let period = lease.ttl() / 3;
        loop {
            tokio::time::sleep(period).await;
            match lease.heartbeat(&pool).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::error!(lease.holder = %lease.holder(), "the apply lease was taken over; stopping heartbeats");
                    return;
                }
                Err(error) => {
                    tracing::warn!(lease.holder = %lease.holder(), "apply lease heartbeat failed: {error}")
                }
            }
        }
    })
}

async fn run_holding(
    pool: &PgPool,
    options: &ApplyOptions,
    lease: &Lease,
) -> Result<ApplyReport, ApplyError> {
    let mut report = ApplyReport {
        holder: lease.holder().to_string(),
        took_over_from: lease.took_over_from.clone(),
        schema_out: options.schema_out.display().to_string(),
        ..ApplyReport::default()
    };
    // Policies are compiled only with the configuration the registry accepted.
    super::row_security::enforce(pool, ACTOR, &options.config.row_security).await?;
    // Fails early (exit 2, no change touched) when the schema file cannot be written, and gives
    // a fresh container the applied schema even when nothing is queued.
    let before = std::fs::read_to_string(&options.schema_out).ok();
    write_applied_schema(pool, options).await?;
    if let Some(engine) = &options.platform {
        report.baseline = apply_baseline(pool, options, lease, engine).await?;
    }
    let queued = queued_changes(&mut *pool.acquire().await?).await?;
    record(
        pool,
        lease,
        None,
        None,
        "apply.started",
        serde_json::json!({"holder": lease.holder(), "queued": queued.len()}),
    )
    .await?;
    apply_queued(pool, options, lease, &queued, &mut report).await?;
    write_applied_schema(pool, options).await?;
    report.schema_updated = std::fs::read_to_string(&options.schema_out).ok() != before;
    record_finished(pool, lease, &report).await?;
    Ok(report)
}

/// Gives an empty platform database the applied state's tables, so that the first change meets
/// what the base schema declares; the baseline's name when it applied one, audited.
async fn apply_baseline(
    pool: &PgPool,
    options: &ApplyOptions,
    lease: &Lease,
    engine: &crate::platform::PlatformEngine,
) -> Result<Option<String>, ApplyError> {
    let applied_schema = render_applied(pool, options).await?;
    let baseline = migration::ensure_baseline(engine, &options.migrations_dir, &applied_schema)
        .await?
        .map_err(ApplyError::Baseline)?;
    if let Some(baseline) = &baseline {
        tracing::info!(migration = %baseline, "applied the baseline to the empty platform database");
        record(
            pool,
            lease,
            None,
            None,
            "apply.baseline",
            serde_json::json!({"holder": lease.holder(), "migration": baseline}),
        )
        .await?;
    }
    Ok(baseline)
}

/// Applies `queued` into `report`: dependencies first, approval order otherwise; a failure
/// holds back only what needs it.
async fn apply_queued(
    pool: &PgPool,
    options: &ApplyOptions,
    lease: &Lease,
    queued: &[SchemaChange],
    report: &mut ApplyReport,
) -> Result<(), ApplyError> {
    let (order, depends_on) = apply_order(queued, options);
    // Changes behind a failure of an earlier run (or a rejection) wait, and say why.
    let stranded = {
        let mut conn = pool.acquire().await?;
        super::future::held_back_among(&mut conn, queued, &options.base, &options.config).await?
    };
    // Per position of a change that did not apply, why not (for the changes it holds back).
    let mut blocked: BTreeMap<usize, String> = BTreeMap::new();
    for index in order {
        let change = &queued[index];
        let waiting = stranded
            .get(&change.id)
            .filter(|_| change.status != ChangeStatus::Applying);
        if let Some(held) = waiting {
            let mut outcome = outcome_of(change);
            outcome.reason = Some(format!("{}; it stays approved", held.reason()));
            tracing::warn!(change.id = %change.id, package.id = %change.package, "{}", outcome.reason.as_deref().unwrap_or_default());
            report.held_back.push(outcome);
            blocked.insert(index, "is held back".to_string());
            continue;
        }
        let blocker = depends_on[index]
            .iter()
            .find(|(dependency, _)| blocked.contains_key(*dependency));
        if let Some((dependency, entity)) = blocker {
            let outcome = held_back(change, &queued[*dependency], entity, &blocked[dependency]);
            report.held_back.push(outcome);
            blocked.insert(index, "is held back".to_string());
            continue;
        }
        match apply_one(pool, options, lease, change).await? {
            Step::Applied(outcome) => report.applied.push(outcome),
            Step::Moved(outcome) => report.skipped.push(outcome),
            Step::Failed(outcome) => {
                let reason = outcome.reason.clone().unwrap_or_default();
                blocked.insert(index, format!("failed ({reason})"));
                report.failed.push(outcome);
            }
        }
    }
    Ok(())
}

/// The outcome of `change`, held back because it needs `entity` from `other`, which did not
/// apply (`why`): it stays approved for a later run.
fn held_back(
    change: &SchemaChange,
    other: &SchemaChange,
    entity: &str,
    why: &str,
) -> ChangeOutcome {
    let mut outcome = outcome_of(change);
    outcome.reason = Some(format!(
        "held back: it needs {entity} from {} (change {}), which {why}; it stays approved",
        other.package,
        short_id(&other.id),
    ));
    tracing::warn!(change.id = %change.id, package.id = %change.package, "{}", outcome.reason.as_deref().unwrap_or_default());
    outcome
}

/// Audits the end of the run with its counts.
async fn record_finished(
    pool: &PgPool,
    lease: &Lease,
    report: &ApplyReport,
) -> Result<(), ApplyError> {
    record(
        pool,
        lease,
        None,
        None,
        "apply.finished",
        serde_json::json!({
            "holder": lease.holder(),
            "applied": report.applied.len(),
            "failed": report.failed.len(),
            "held_back": report.held_back.len(),
            "skipped": report.skipped.len(),
            "outcome": if report.succeeded() { "ok" } else { "failed" },
        }),
    )
    .await
}

/// The order to apply `queued` in (positions), and per position the positions it depends on
/// with the entity that ties them. A change left `applying` by a killed run stays first.
fn apply_order(
    queued: &[SchemaChange],
    options: &ApplyOptions,
) -> (Vec<usize>, Vec<BTreeMap<usize, String>>) {
    let items: Vec<WorkItem> = queued
        .iter()
        .map(|change| {
            let entities = if change.kind == "drop" {
                Vec::new()
            } else {
                parse_entities(&change.yaml_snapshot, &change.package, &options.config).entities
            };
            WorkItem {
                package: change.package.clone(),
                declares: declared(&entities),
                needs: foreign_targets(&entities, &options.base),
            }
        })
        .collect();
    let (mut order, depends_on) = dependency_order(&items);
    if let Some(resumed) = queued
        .iter()
        .position(|c| c.status == ChangeStatus::Applying)
    {
        order.retain(|&i| i != resumed);
        order.insert(0, resumed);
    }
    (order, depends_on)
}

fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// What happened to one change.
enum Step {
    Applied(ChangeOutcome),
    Failed(ChangeOutcome),
    /// It changed state under us (a scan superseded it): not ours to apply any more.
    Moved(ChangeOutcome),
}

fn outcome_of(change: &SchemaChange) -> ChangeOutcome {
    ChangeOutcome {
        id: change.id.clone(),
        package: change.package.clone(),
        kind: change.kind.clone(),
        target_checksum: change.target_checksum.clone(),
        resumed: change.status == ChangeStatus::Applying,
        reason: None,
        detail: None,
        duration_ms: None,
    }
}

/// A reason a change failed, with the details for its log.
struct Failure {
    reason: &'static str,
    detail: String,
    log: String,
}

impl Failure {
    fn plain(reason: &'static str, detail: String) -> Failure {
        Failure {
            reason,
            log: detail.clone(),
            detail,
        }
    }
}

async fn apply_one(
    pool: &PgPool,
    options: &ApplyOptions,
    lease: &Lease,
    change: &SchemaChange,
) -> Result<Step, ApplyError> {
    use tracing::Instrument as _;
    let span = tracing::info_span!("apply", change.id = %change.id, package.id = %change.package);
    apply_change(pool, options, lease, change)
        .instrument(span)
        .await
}

async fn apply_change(
    pool: &PgPool,
    options: &ApplyOptions,
    lease: &Lease,
    change: &SchemaChange,
) -> Result<Step, ApplyError> {
    // Legality first: only approved or (resumed) applying changes are taken up.
    change.status.next(ChangeEvent::StartApply)?;

    let entities = match verify_integrity(change, &options.config) {
        Ok(entities) => entities,
        Err(problem) => {
            return fail(
                pool,
                lease,
                change,
                Failure::plain("integrity", problem.to_string()),
            )
            .await
        }
    };
    let applied = applied_packages(&mut *pool.acquire().await?).await?;
    if let Err(failure) = check_base(&applied, change) {
        return fail(pool, lease, change, failure).await;
    }
    let (applied_state, others) = split_applied(applied, &change.package);
    let schema = match render_with_change(options, change, &entities, &others) {
        Ok(schema) => schema,
        Err(failure) => return fail(pool, lease, change, failure).await,
    };

    if let Some(engine) = &options.platform {
        let applied_schema = parse_state(&applied_state, &options.config)
            .and_then(|packages| render_entities(&options.base, &packages))
            .map_err(ApplyError::AppliedState)?;
        let schemas = migration::Schemas {
            applied_state: &applied_state,
            applied: &applied_schema,
            target: &schema,
        };
        return migration::apply_on_platform(
            pool, options, lease, change, engine, &entities, schemas,
        )
        .await;
    }
    apply_with_command(pool, options, lease, change, &entities, &schema).await
}

/// The change must have been reviewed against its package's applied state, else it is drift.
fn check_base(
    applied: &BTreeMap<String, AppliedPackage>,
    change: &SchemaChange,
) -> Result<(), Failure> {
    let live = applied.get(&change.package).map(|p| p.checksum.clone());
    if live == change.base_checksum {
        return Ok(());
    }
    let detail = format!(
        "package {} is applied at {}, but the change was reviewed against {}; scan again to review the difference",
        change.package,
        live.as_deref().unwrap_or("nothing (never applied)"),
        change.base_checksum.as_deref().unwrap_or("nothing (never applied)"),
    );
    Err(Failure::plain("drift", detail))
}

/// The applied state (package → YAML), and the same without `package`, which the change
/// replaces.
fn split_applied(
    mut applied: BTreeMap<String, AppliedPackage>,
    package: &str,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let applied_state: BTreeMap<String, String> = applied
        .values()
        .map(|p| (p.package.clone(), p.yaml_snapshot.clone()))
        .collect();
    applied.remove(package);
    let others: BTreeMap<String, String> = applied
        .into_values()
        .map(|p| (p.package, p.yaml_snapshot))
        .collect();
    (applied_state, others)
}

/// The full schema once the change is applied: the `others` packages plus the change's
/// `entities` (none for a drop); a change that does not render fails with `render`.
fn render_with_change(
    options: &ApplyOptions,
    change: &SchemaChange,
    entities: &[Entity],
    others: &BTreeMap<String, String>,
) -> Result<String, Failure> {
    parse_state(others, &options.config)
        .and_then(|mut packages| {
            if change.kind != "drop" {
                packages.insert(change.package.clone(), entities.to_vec());
            }
            render_entities(&options.base, &packages)
        })
        .map_err(|problem| {
            let detail = format!("the schema with this change does not render: {problem}");
            Failure::plain("render", detail)
        })
}

/// Without a platform engine: writes the schema, runs the migrate command if one is
/// configured, and records the change applied, or failed when the command fails.
async fn apply_with_command(
    pool: &PgPool,
    options: &ApplyOptions,
    lease: &Lease,
    change: &SchemaChange,
    entities: &[Entity],
    schema: &str,
) -> Result<Step, ApplyError> {
    if !start(pool, lease, change).await? {
        return moved(pool, change).await;
    }
    tracing::info!(schema.out = %options.schema_out.display(), "writing the schema");
    write_atomically(&options.schema_out, schema).map_err(|source| ApplyError::WriteSchema {
        path: options.schema_out.clone(),
        source,
    })?;

    let mut outcome = outcome_of(change);
    let log = match &options.migrate_cmd {
        None => format!(
            "no migrate command configured; wrote {}",
            options.schema_out.display()
        ),
        Some(command) => match run_migrate_command(options, lease, change, command).await? {
            Ok(ran) => {
                outcome.duration_ms = Some(ran.duration_ms);
                ran.log
            }
            Err(failure) => return fail(pool, lease, change, failure).await,
        },
    };
    finish(
        pool,
        lease,
        change,
        Applied {
            entities,
            row_security: &options.config.row_security,
        },
        &log,
        outcome.duration_ms,
        schema,
    )
    .await?;
    tracing::info!("applied");
    Ok(Step::Applied(outcome))
}

/// A migrate command that succeeded: its log and how long it ran.
struct CommandRan {
    log: String,
    duration_ms: u64,
}

/// Runs the migrate command on the written schema; why the change fails when it does not
/// succeed (`timeout` or `migrate`, with its output).
async fn run_migrate_command(
    options: &ApplyOptions,
    lease: &Lease,
    change: &SchemaChange,
    command: &str,
) -> Result<Result<CommandRan, Failure>, ApplyError> {
    // The command line itself is neither logged nor stored: it may carry credentials.
    tracing::info!(
        migrate.timeout_s = options.migrate_timeout.as_secs(),
        "running the migrate command"
    );
    let schema_path = absolute(&options.schema_out);
    let spec = migrate::MigrateCommand {
        command,
        schema: &schema_path,
        change_id: &change.id,
        package: &change.package,
        timeout: options.migrate_timeout,
        echo: options.echo_output,
        migrations_dir: None,
        migration: None,
        lease: Some(lease.validity().clone()),
    };
    let result = migrate::run(&spec).await.map_err(ApplyError::Spawn)?;
    let status = result.describe(options.migrate_timeout);
    let log = format!(
        "{}{}migrate command: {status} after {} ms\n",
        result.output,
        newline_if_missing(&result.output),
        result.duration.as_millis()
    );
    if !result.succeeded() {
        let reason = if result.end == MigrateEnd::TimedOut {
            "timeout"
        } else {
            "migrate"
        };
        return Ok(Err(Failure {
            reason,
            detail: format!("the migrate command failed: {status}"),
            log,
        }));
    }
    Ok(Ok(CommandRan {
        log,
        duration_ms: u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX),
    }))
}

fn newline_if_missing(text: &str) -> &'static str {
    if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The applied state's full schema.
async fn render_applied(pool: &PgPool, options: &ApplyOptions) -> Result<String, ApplyError> {
    let applied: BTreeMap<String, String> = applied_packages(&mut *pool.acquire().await?)
        .await?
        .into_values()
        .map(|p| (p.package, p.yaml_snapshot))
        .collect();
    parse_state(&applied, &options.config)
        .and_then(|packages| render_entities(&options.base, &packages))
        .map_err(ApplyError::AppliedState)
}

/// Makes the schema file match the applied state (left alone when it already does).
async fn write_applied_schema(pool: &PgPool, options: &ApplyOptions) -> Result<(), ApplyError> {
    let schema = render_applied(pool, options).await?;
    if std::fs::read_to_string(&options.schema_out).is_ok_and(|current| current == schema) {
        return Ok(());
    }
    write_atomically(&options.schema_out, &schema).map_err(|source| ApplyError::WriteSchema {
        path: options.schema_out.clone(),
        source,
    })
}

/// Writes `text` to `path` through a temporary file beside it (see
/// [`crate::file_io::write_replacing`]): readers and a crash see the old file or the new one, and
/// only a regular file, or nothing, is replaced.
///
/// # Errors
/// I/O errors, and a `path` that is not a regular file.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    crate::file_io::write_replacing(path, text.as_bytes())
}

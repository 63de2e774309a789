//! The restart job's work on the platform database, per change: the drift check against the
//! applied state, re-planning against the live database (the SQL must be the approved SQL),
//! writing the change's Prisma migration (`<dir>/<UTC YYYYMMDDHHMMSS>_<package>_<id8>/
//! migration.sql` plus `migration_lock.toml`) and applying it as `prisma migrate deploy` does,
//! or through the platform's own migrate command.
//!
//! Exactly once: the migration's name is fixed per change (its approval time, package and id),
//! so a run killed anywhere finds it again in `_prisma_migrations`: finished means it ran (only
//! the registry's record is missing); unfinished means the script (one transaction) left nothing
//! behind, so it is marked rolled back and runs again.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use sqlx::PgPool;

use super::{
    fail, finish, moved, outcome_of, record, start, timeouts, write_atomically, Applied,
    ApplyError, ApplyOptions, ChangeOutcome, Failure, Step,
};
use crate::domain::model::Entity;
use crate::engine::EngineError;
use crate::platform::{migration_state, write_migration, MigrationState, PlatformEngine};
use crate::registry::apply::lease::Lease;
use crate::registry::change::SchemaChange;
use crate::registry::future::SchemaContext;
use crate::registry::plan::{checked, full_plan, policies_for, schemas_for, PlanSchemas, Planned};
use crate::registry::scan::sha256_hex;

/// The migration directory name of `change`: `<UTC YYYYMMDDHHMMSS of its approval>_<package>_<id8>`.
#[must_use]
pub fn migration_name(change: &SchemaChange) -> String {
    let at = change
        .decided_at
        .unwrap_or(change.created_at)
        .to_offset(time::UtcOffset::UTC);
    let stamp = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    let package: String = change
        .package
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{stamp}_{package}_{}",
        change.id.get(..8).unwrap_or(&change.id)
    )
}

/// What the platform steps need besides the change.
pub(super) struct Schemas<'a> {
    /// Every applied package, package → YAML.
    pub applied_state: &'a BTreeMap<String, String>,
    /// The applied state rendered.
    pub applied: &'a str,
    /// The applied state with this change, rendered.
    pub target: &'a str,
}

/// Runs the change through the platform database; `Step` as for the rest of the job.
pub(super) async fn apply_on_platform(
    pool: &PgPool,
    options: &ApplyOptions,
    lease: &Lease,
    change: &SchemaChange,
    engine: &PlatformEngine,
    entities: &[Entity],
    schemas: Schemas<'_>,
) -> Result<Step, ApplyError> {
    let run = PlatformRun {
        pool,
        options,
        lease,
        change,
        engine,
        entities,
        schemas,
        name: migration_name(change),
    };
    let records = engine.database.migration_records().await?;
    let mut log = String::new();
    match migration_state(&records, &run.name) {
        MigrationState::Unfinished => {
            if let Some(step) = run.settle_unfinished(&mut log).await? {
                return Ok(step);
            }
        }
        MigrationState::Applied => {
            let name = &run.name;
            return run.record_applied(
                format!("migration {name} was already applied (recorded in _prisma_migrations); recording the change applied\n")).await;
        }
        MigrationState::NotRun => {}
    }
    let approved = match run.checked_approved_sql().await {
        Ok(approved) => approved,
        Err(failure) => return run.fail(failure).await,
    };

    // (d) the migration, applied by the engine or the platform's command.
    if !start(pool, lease, change).await? {
        return moved(pool, change).await;
    }
    let started = Instant::now();
    let mut outcome = outcome_of(change);
    let mut retry = 0;
    loop {
        run.write_schema_and_migration(approved)?;
        let attempt_started = Instant::now();
        let result = run.migrate().await?;
        let recorded = migration_state(&engine.database.migration_records().await?, &run.name);
        match (result, recorded) {
            (Ok(output), MigrationState::Applied) => {
                outcome.duration_ms =
                    Some(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
                return run.record_migrated(log, &output, started, outcome).await;
            }
            (Err(failed), recorded)
                if failed.lock_timeout && retry < options.timeouts.lock_retries =>
            {
                retry += 1;
                let waited = attempt_started.elapsed();
                if !run
                    .wait_out_lock(retry, waited, &failed.output, recorded, &mut log)
                    .await?
                {
                    return run
                        .record_migration_failed(log, Err(failed), recorded)
                        .await;
                }
            }
            (result, recorded) => return run.record_migration_failed(log, result, recorded).await,
        }
    }
}

/// A migration that did not succeed: its output, and whether PostgreSQL gave up waiting for a
/// lock (SQLSTATE 55P03), which is worth trying again.
struct MigrateFailure {
    output: String,
    lock_timeout: bool,
}

/// One change's run through the platform database: what every step of it needs.
struct PlatformRun<'a> {
    pool: &'a PgPool,
    options: &'a ApplyOptions,
    lease: &'a Lease,
    change: &'a SchemaChange,
    engine: &'a PlatformEngine,
    entities: &'a [Entity],
    schemas: Schemas<'a>,
    /// The change's migration, fixed per change so that a killed run finds it again.
    name: String,
}

impl<'a> PlatformRun<'a> {
    /// Records the change failed for `failure`.
    async fn fail(&self, failure: Failure) -> Result<Step, ApplyError> {
        fail(self.pool, self.lease, self.change, failure).await
    }

    /// Settles a migration a killed run left unfinished: `None` when it left nothing behind (it
    /// is marked rolled back and runs again), else the change recorded applied or failed.
    async fn settle_unfinished(&self, log: &mut String) -> Result<Option<Step>, ApplyError> {
        let name = &self.name;
        // One transaction per script: the live schema tells whether it took effect.
        let step = match (
            engine_call(self.engine.diff_live(self.schemas.applied).await),
            engine_call(self.engine.diff_live(self.schemas.target).await),
        ) {
            (Ok(before), _) if before.empty => {
                self.engine.database.mark_rolled_back(name).await?;
                log.push_str(&format!(
                    "migration {name} had started but not finished, and left nothing behind: marked rolled back, applying it again\n"
                ));
                return Ok(None);
            }
            (_, Ok(after)) if after.empty => {
                // Left unfinished, the row would make Prisma refuse every later migration.
                if let Err(failure) =
                    resolve_applied(self.engine, self.options, self.change, name).await
                {
                    return self.fail(failure).await.map(Some);
                }
                self.record_applied(
                    format!("migration {name} took effect but was not recorded finished; the live schema matches the change, so it is recorded applied in _prisma_migrations (prisma migrate resolve --applied)\n")).await
            }
            (Err(failure), _) | (_, Err(failure)) => self.fail(failure).await,
            _ => {
                let detail = format!("migration {name} is recorded unfinished in _prisma_migrations and the live schema matches neither the state before it nor after it; resolve it by hand (prisma migrate resolve)");
                self.fail(Failure::plain("drift", detail)).await
            }
        };
        step.map(Some)
    }

    /// Records the change applied for a migration that already took effect, with `log`.
    async fn record_applied(&self, log: String) -> Result<Step, ApplyError> {
        let change = self.change;
        if change.status == crate::domain::review::ChangeStatus::Approved
            && !start(self.pool, self.lease, change).await?
        {
            return moved(self.pool, change).await;
        }
        let target = self.schemas.target;
        write_atomically(&self.options.schema_out, target).map_err(|source| {
            ApplyError::WriteSchema {
                path: self.options.schema_out.clone(),
                source,
            }
        })?;
        finish(
            self.pool,
            self.lease,
            change,
            Applied {
                entities: self.entities,
                row_security: &self.options.config.row_security,
            },
            &log,
            None,
            target,
        )
        .await?;
        tracing::info!(migration = %self.name, "recorded applied");
        Ok(Step::Applied(outcome_of(change)))
    }

    /// The approved SQL, once the live database is found where the review left it: nothing
    /// runs on a drifted database, nor SQL other than what was approved and still passes the
    /// plan check.
    async fn checked_approved_sql(&self) -> Result<&'a str, Failure> {
        self.check_no_drift().await?;
        let approved = self.approved_sql()?;
        let context = SchemaContext {
            base: self.options.base.clone(),
            config: self.options.config.clone(),
            engine: None,
        };
        self.check_replans_to(approved, &context).await?;
        self.check_plan_accepts(approved, &context)?;
        self.check_preflight(approved).await?;
        Ok(approved)
    }

    /// (c) preflight, right before anything runs: rows written since the approval that would
    /// make a statement fail fail the change with the numbers, and nothing runs.
    async fn check_preflight(&self, approved: &str) -> Result<(), Failure> {
        use crate::registry::preflight;
        let declared = preflight::declared(self.pool, self.change, &self.options.config)
            .await
            .unwrap_or_default();
        let report = preflight::run(&self.engine.database, approved, declared).await;
        if let Err(error) = preflight::store(self.pool, &self.change.id, &report).await {
            tracing::warn!("cannot keep the preflight facts with the change: {error}");
        }
        let Some(why) = report.refusal() else {
            return Ok(());
        };
        let detail = format!(
            "preflight against the live database no longer holds; nothing was run: {}",
            first_line(&why)
        );
        let facts: Vec<String> = report.facts.iter().map(|f| f.summary()).collect();
        let log = format!(
            "preflight against the live database, right before applying (nothing was run):\n{why}\n\nevery fact checked:\n{}\n",
            facts.join("\n")
        );
        Err(Failure {
            reason: "preflight",
            detail,
            log,
        })
    }

    /// (a) drift: the live schema must be the applied state.
    async fn check_no_drift(&self) -> Result<(), Failure> {
        let drift = engine_call(self.engine.diff_live(self.schemas.applied).await)?;
        if drift.empty {
            return Ok(());
        }
        let detail = format!(
            "the platform database does not match the applied state: {}",
            first_line(&drift.summary)
        );
        let log = format!(
            "drift between the live platform database and the applied state:\n{}\n\nSQL that would bring the live database back to the applied state:\n{}\n",
            drift.summary.trim_end(),
            drift.sql.trim_end()
        );
        Err(Failure {
            reason: "drift",
            detail,
            log,
        })
    }

    /// (b) the approved SQL, unaltered since its approval pinned it.
    fn approved_sql(&self) -> Result<&'a str, Failure> {
        let Some(approved) = self.change.plan_sql.as_deref() else {
            let detail =
                "the change carries no approved SQL plan; review it again (its approval plans it)"
                    .to_string();
            return Err(Failure::plain("plan_changed", detail));
        };
        if let Some(pinned) = &self.change.approved_plan_sha256 {
            if &sha256_hex(approved) != pinned {
                let detail = format!(
                    "the stored SQL hashes to {}, not to the approved {pinned}",
                    sha256_hex(approved)
                );
                return Err(Failure::plain("integrity", detail));
            }
        }
        Ok(approved)
    }

    /// (b) the SQL against the live database must be the approved SQL.
    async fn check_replans_to(
        &self,
        approved: &str,
        context: &SchemaContext,
    ) -> Result<(), Failure> {
        let policies =
            policies_for(self.schemas.applied_state, self.change, context).unwrap_or_default();
        let replanned = match schemas_for(self.schemas.applied_state, self.change, context) {
            // Renames are planned from the applied schema, which the drift check has just
            // found to be the live one: the engine cannot see a rename in a live database.
            Ok(
                planned @ PlanSchemas {
                    renamed: Some(_), ..
                },
            ) => {
                let plan = engine_call(planned.prisma_script(self.engine).await)?;
                full_plan(&plan.sql, plan.empty, &policies)
            }
            _ => {
                let live = engine_call(self.engine.diff_live(self.schemas.target).await)?;
                full_plan(&live.sql, live.empty, &policies)
            }
        };
        if normalized(&replanned) == normalized(approved) {
            return Ok(());
        }
        let detail = "the SQL planned against the live database differs from the approved SQL; scan and review again".to_string();
        let log = format!(
            "approved SQL:\n{}\n\nSQL planned now:\n{}\n",
            approved.trim_end(),
            replanned.trim_end()
        );
        Err(Failure {
            reason: "plan_changed",
            detail,
            log,
        })
    }

    /// (c) every statement accounted for, checked again here: nothing runs that the plan check
    /// refuses, whatever the registry's rows say.
    fn check_plan_accepts(&self, approved: &str, context: &SchemaContext) -> Result<(), Failure> {
        let refusal = match checked(
            approved.to_string(),
            self.schemas.applied_state,
            self.change,
            context,
        ) {
            Ok(Planned::Sql(_)) => None,
            Ok(Planned::Refused { reason, .. }) => Some(reason),
            Ok(Planned::Unplannable(reason)) | Err(reason) => Some(reason),
        };
        let Some(detail) = refusal else {
            return Ok(());
        };
        let log = format!("approved SQL:\n{}\n\n{detail}\n", approved.trim_end());
        Err(Failure {
            reason: "plan_refused",
            detail,
            log,
        })
    }

    /// Writes the target schema and the change's migration, which the engine or the platform's
    /// command reads.
    fn write_schema_and_migration(&self, approved: &str) -> Result<(), ApplyError> {
        let options = self.options;
        write_atomically(&options.schema_out, self.schemas.target).map_err(|source| {
            ApplyError::WriteSchema {
                path: options.schema_out.clone(),
                source,
            }
        })?;
        let script = options.timeouts.migration_script(approved);
        write_migration(&options.migrations_dir, &self.name, &script).map_err(|source| {
            ApplyError::WriteSchema {
                path: options.migrations_dir.join(&self.name),
                source,
            }
        })?;
        Ok(())
    }

    /// Applies the migrations directory through the schema engine, or the platform's own
    /// command when one is configured: `Ok(output)` when it succeeded, the failure otherwise.
    async fn migrate(&self) -> Result<Result<String, MigrateFailure>, ApplyError> {
        let options = self.options;
        Ok(match &options.migrate_cmd {
            None => match self.engine.apply_migrations(&options.migrations_dir).await {
                Ok(applied) => Ok(format!(
                    "applied {} through the schema engine\n",
                    applied.join(", ")
                )),
                Err(error) => Err(MigrateFailure {
                    output: describe(&error),
                    lock_timeout: timeouts::engine_lock_timeout(&error),
                }),
            },
            Some(command) => run_command(options, self.lease, self.change, command, &self.name)
                .await?
                .map_err(|output| MigrateFailure {
                    lock_timeout: timeouts::output_lock_timeout(&output),
                    output,
                }),
        })
    }

    /// After attempt `retry` gave up waiting for a lock: makes the migration runnable again,
    /// reports the wait (change log, audit, log line) and pauses. `false` when the failed
    /// attempt left something behind, so it must not run again.
    async fn wait_out_lock(
        &self,
        retry: u32,
        waited: std::time::Duration,
        output: &str,
        recorded: MigrationState,
        log: &mut String,
    ) -> Result<bool, ApplyError> {
        let mut settled = String::new();
        if !self.make_runnable_again(recorded, &mut settled).await? {
            log.push_str(&settled);
            return Ok(false);
        }
        let timeouts = &self.options.timeouts;
        let pause = timeouts.pause_before(retry);
        let line = format!(
            "attempt {retry} of {}: migration {} gave up waiting for a lock after {} ms (lock_timeout {} ms, SQLSTATE 55P03: {}); nothing of it took effect; trying again in {} s",
            timeouts.lock_retries + 1,
            self.name,
            waited.as_millis(),
            timeouts.lock.as_millis(),
            lock_message(output),
            pause.as_secs_f64()
        );
        tracing::warn!(migration = %self.name, attempt = retry, "{line}");
        log.push_str(&line);
        log.push('\n');
        let details = serde_json::json!({
            "holder": self.lease.holder(),
            "migration": self.name,
            "attempt": retry,
            "waited_ms": u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
            "lock_timeout_ms": u64::try_from(timeouts.lock.as_millis()).unwrap_or(u64::MAX),
            "retry_in_ms": u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
        });
        record(
            self.pool,
            self.lease,
            Some(&self.change.id),
            Some(&self.change.package),
            "change.lock_wait",
            details,
        )
        .await?;
        tokio::time::sleep(pause).await;
        Ok(true)
    }

    /// Records the change applied once its migration ran and is recorded finished.
    async fn record_migrated(
        &self,
        mut log: String,
        output: &str,
        started: Instant,
        outcome: ChangeOutcome,
    ) -> Result<Step, ApplyError> {
        let name = &self.name;
        log.push_str(output);
        log.push_str(&format!(
            "migration {name} applied in {} ms\n",
            started.elapsed().as_millis()
        ));
        finish(
            self.pool,
            self.lease,
            self.change,
            Applied {
                entities: self.entities,
                row_security: &self.options.config.row_security,
            },
            &log,
            outcome.duration_ms,
            self.schemas.target,
        )
        .await?;
        tracing::info!(migration = %name, "applied");
        Ok(Step::Applied(outcome))
    }

    /// Records the change failed when its migration failed or is not recorded finished.
    async fn record_migration_failed(
        &self,
        mut log: String,
        result: Result<String, MigrateFailure>,
        recorded: MigrationState,
    ) -> Result<Step, ApplyError> {
        let name = &self.name;
        let (output, detail) = match result {
            Ok(output) => {
                // Exit 0 is no failure of the command: say what is missing instead.
                let missing = unrecorded(name, &self.options.migrations_dir);
                (format!("{output}{missing}\n"), missing)
            }
            Err(failed) if failed.lock_timeout => {
                let detail = format!("migration {name} failed: {}", first_line(&failed.output));
                let output = format!(
                    "{}gave up after {} attempts, each waiting {} ms for a lock (lock_timeout); find the session holding it (pg_locks, pg_stat_activity) and retry the change\n",
                    failed.output,
                    self.options.timeouts.lock_retries + 1,
                    self.options.timeouts.lock.as_millis()
                );
                (output, detail)
            }
            Err(failed) => {
                let detail = format!("migration {name} failed: {}", first_line(&failed.output));
                (failed.output, detail)
            }
        };
        log.push_str(&output);
        self.make_runnable_again(recorded, &mut log).await?;
        self.fail(Failure {
            reason: "migrate",
            detail,
            log,
        })
        .await
    }

    /// (d) a failed script left nothing behind (one transaction): make it runnable again, so a
    /// retry applies it afresh; otherwise it is left for a human to resolve.
    async fn make_runnable_again(
        &self,
        recorded: MigrationState,
        log: &mut String,
    ) -> Result<bool, ApplyError> {
        let name = &self.name;
        let clean = self
            .engine
            .diff_live(self.schemas.applied)
            .await
            .is_ok_and(|d| d.empty);
        if clean {
            if recorded == MigrationState::Unfinished {
                self.engine.database.mark_rolled_back(name).await?;
            }
            let _ = std::fs::remove_dir_all(self.options.migrations_dir.join(name));
            log.push_str(&format!("nothing of {name} was left behind; it is marked rolled back and runs again on retry\n"));
        } else {
            log.push_str(&format!("the live schema no longer matches the applied state: {name} is left as _prisma_migrations records it; resolve it by hand\n"));
        }
        Ok(clean)
    }
}

/// Records `name` finished in `_prisma_migrations` for a script that took effect without
/// being recorded, writing its directory again first if it is gone (the engine reads it).
async fn resolve_applied(
    engine: &PlatformEngine,
    options: &ApplyOptions,
    change: &SchemaChange,
    name: &str,
) -> Result<(), Failure> {
    if let Some(sql) = change.plan_sql.as_deref() {
        let script = options.timeouts.migration_script(sql);
        write_migration(&options.migrations_dir, name, &script).map_err(|error| {
            Failure::plain(
                "migrate",
                format!("cannot write migration {name} again: {error}"),
            )
        })?;
    }
    engine_call(
        engine
            .mark_migration_applied(&options.migrations_dir, name)
            .await,
    )
}

/// The platform's own migrate command on the migrations directory: `Ok(Ok(output))` when it
/// exited 0, `Ok(Err(output))` otherwise.
async fn run_command(
    options: &ApplyOptions,
    lease: &Lease,
    change: &SchemaChange,
    command: &str,
    name: &str,
) -> Result<Result<String, String>, ApplyError> {
    let schema_path =
        std::path::absolute(&options.schema_out).unwrap_or_else(|_| options.schema_out.clone());
    let migrations = std::path::absolute(&options.migrations_dir)
        .unwrap_or_else(|_| options.migrations_dir.clone());
    let spec = super::migrate::MigrateCommand {
        command,
        schema: &schema_path,
        change_id: &change.id,
        package: &change.package,
        timeout: options.migrate_timeout,
        echo: options.echo_output,
        migrations_dir: Some(&migrations),
        migration: Some(name),
        lease: Some(lease.validity().clone()),
    };
    let result = super::migrate::run(&spec)
        .await
        .map_err(ApplyError::Spawn)?;
    let status = result.describe(options.migrate_timeout);
    let text = format!(
        "{}{}migrate command: {status} after {} ms\n",
        result.output,
        if result.output.is_empty() || result.output.ends_with('\n') {
            ""
        } else {
            "\n"
        },
        result.duration.as_millis()
    );
    Ok(if result.succeeded() {
        Ok(text)
    } else {
        Err(text)
    })
}

/// Applies the baseline when the platform database is empty: the applied state's schema (the
/// base schema's models at first) as migration `00000000000000_baseline`, so that the first
/// change meets the tables the base schema declares. Returns what it did, if anything.
///
/// # Errors
/// I/O and database errors; the engine's refusal as text inside.
pub(super) async fn ensure_baseline(
    engine: &PlatformEngine,
    migrations_dir: &Path,
    applied_schema: &str,
) -> Result<Result<Option<String>, String>, ApplyError> {
    const NAME: &str = "00000000000000_baseline";
    let records = engine.database.migration_records().await?;
    let state = migration_state(&records, NAME);
    if state == MigrationState::Applied || records.iter().any(|r| r.finished_at.is_some()) {
        return Ok(Ok(None));
    }
    let tables = match engine.introspect().await {
        Ok(found) => found.tables,
        Err(error) => return Ok(Err(describe(&error))),
    };
    // Tables under an unfinished baseline: a run killed after its script committed, before it
    // was recorded finished. Left so, the row would make Prisma refuse every later migration.
    let took_effect = !tables.is_empty();
    if took_effect && state == MigrationState::NotRun {
        return Ok(Ok(None));
    }
    if took_effect {
        match engine.diff_live(applied_schema).await {
            Ok(live) if live.empty => {}
            Ok(_) => return Ok(Ok(None)),
            Err(error) => return Ok(Err(describe(&error))),
        }
    } else if state == MigrationState::Unfinished {
        engine.database.mark_rolled_back(NAME).await?;
    }
    let plan = match engine.plan(None, applied_schema).await {
        Ok(plan) => plan,
        Err(error) => return Ok(Err(describe(&error))),
    };
    write_migration(
        migrations_dir,
        NAME,
        &full_plan(&plan.sql, plan.empty, &Default::default()),
    )
    .map_err(|source| ApplyError::WriteSchema {
        path: migrations_dir.join(NAME),
        source,
    })?;
    let summary = format!(
        "{NAME} ({} statements, sha256 {})",
        plan.sql.matches(";\n").count(),
        &sha256_hex(&plan.sql)[..12]
    );
    let done = if took_effect {
        engine
            .mark_migration_applied(migrations_dir, NAME)
            .await
            .map(|()| format!("{summary}, which had taken effect unrecorded: recorded applied"))
    } else {
        engine
            .apply_migrations(migrations_dir)
            .await
            .map(|_| summary)
    };
    Ok(done.map(Some).map_err(|error| describe(&error)))
}

fn engine_call<T>(result: Result<T, EngineError>) -> Result<T, Failure> {
    result.map_err(|error| Failure::plain("engine", describe(&error)))
}

/// The engine's error with PostgreSQL's own, when a script failed.
fn describe(error: &EngineError) -> String {
    match error {
        EngineError::Engine {
            message,
            database: Some(db),
            code,
            ..
        } => format!(
            "{message}{}\nPostgreSQL error {}: {}{}",
            code.as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default(),
            db.code.as_deref().unwrap_or("?"),
            db.message,
            db.detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ),
        other => other.to_string(),
    }
}

/// PostgreSQL's words for the lock timeout in a failed attempt's output, else its first line.
fn lock_message(output: &str) -> String {
    output
        .lines()
        .map(str::trim)
        .find(|l| l.contains("lock timeout") || l.contains(timeouts::LOCK_NOT_AVAILABLE))
        .map_or_else(|| first_line(output), str::to_string)
}

/// Why a migrate command that exited 0 did not apply migration `name`: what is missing, and
/// what the command is expected to do.
fn unrecorded(name: &str, migrations_dir: &Path) -> String {
    format!(
        "migration {name} was not applied: the migrate command exited 0, but _prisma_migrations has no finished row for {name}; the command must apply the migrations in {} (given as SCHEMAGATE_MIGRATIONS_DIR, with the schema as SCHEMAGATE_SCHEMA), as `prisma migrate deploy --schema \"$SCHEMAGATE_SCHEMA\"` does",
        migrations_dir.display()
    )
}

fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

fn normalized(sql: &str) -> String {
    sql.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sql_compares_without_trailing_whitespace() {
        assert_eq!(
            super::normalized("A;  \n\nB;\n\n"),
            super::normalized("A;\n\nB;")
        );
    }
}

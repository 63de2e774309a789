//! `schemagate apply [--json]`: the restart job, run by the container entrypoint before the
//! platform starts. Exit 0: everything approved is applied (or nothing was queued); 1: a change
//! failed (the changes that depend on it are held back and stay approved; the others were
//! applied); 2: usage or environment error; 3: another runner holds the apply lease (the
//! message names it).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use app::registry::apply::{
    self, ApplyError, ApplyOptions, ApplyReport, ChangeOutcome, LeaseError, MigrationTimeouts,
};

use crate::cli::{ApplyArgs, CommonOptions};
use crate::database::Database;

/// Exit code when another runner holds the apply lease.
pub const EXIT_LEASE_HELD: u8 = 3;

/// Where the schema file and the Prisma migrations go: by default under the data directory
/// (created if missing), never into the current directory, where a repository's own
/// `migrations/` may be. A migrations directory implied by `--schema-out` that holds SQL files
/// of its own is refused.
///
/// # Errors
/// The data directory cannot be created; the implied migrations directory is not Prisma's.
fn output_paths(
    common: &CommonOptions,
    args: &ApplyArgs,
) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf)> {
    let schema_out = match &args.schema_out {
        Some(path) => path.clone(),
        None => {
            let dir = common.data_dir.join("platform");
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("while creating {}", dir.display()))?;
            dir.join("schema.prisma")
        }
    };
    if let Some(dir) = &args.migrations_dir {
        return Ok((schema_out, dir.clone()));
    }
    let migrations = apply::default_migrations_dir(&schema_out);
    if let Some(file) = apply::foreign_migration_file(&migrations) {
        anyhow::bail!(
            "refusing to write Prisma migrations into {}: it holds {file}, which is no Prisma migration (a repository's own migrations?); pass --migrations-dir (or SCHEMAGATE_MIGRATIONS_DIR) to say where they go",
            migrations.display()
        );
    }
    Ok((schema_out, migrations))
}

/// Runs the restart job and reports what it did.
///
/// # Errors
/// An unreadable base schema, an unreachable database, an unwritable schema file.
pub async fn run(common: &CommonOptions, args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let base = app::scanner::read_base_schema(common.base_schema.as_deref())
        .context("while reading the base schema")?;
    let timeouts = migration_timeouts(args)?;
    let (schema_out, migrations_dir) = output_paths(common, args)?;
    let database = Database::open(common).await?;
    let options = ApplyOptions {
        timeouts,
        migrations_dir,
        platform: Some(database.require_engine()?),
        schema_out,
        migrate_cmd: args
            .migrate_cmd
            .clone()
            .filter(|command| !command.trim().is_empty()),
        migrate_timeout: Duration::from_secs(args.migrate_timeout),
        wait: Duration::from_secs(args.wait),
        lease_ttl: Duration::from_secs(args.lease_ttl),
        runner: runner_label(),
        base,
        config: common.domain_config(),
        echo_output: true,
    };
    let outcome = apply::run(&database.pool, &options).await;
    database.close().await;
    match outcome {
        Ok(report) => {
            print_report(&report, args.json)?;
            Ok(if report.succeeded() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Err(ApplyError::Lease(held @ LeaseError::Held(_))) => {
            tracing::warn!("{held}");
            eprintln!("error: {held}; pass --wait SECONDS to wait for it");
            Ok(ExitCode::from(EXIT_LEASE_HELD))
        }
        Err(ApplyError::Lease(lost @ LeaseError::Lost { .. })) => {
            tracing::error!("{lost}");
            eprintln!("error: {lost}; that runner finishes the job");
            Ok(ExitCode::from(EXIT_LEASE_HELD))
        }
        Err(error) => Err(anyhow::Error::new(error).context("while applying approved changes")),
    }
}

/// The migrations' timeouts, refused when a statement could outlast the migrate command (it
/// would be killed before PostgreSQL cancels the statement cleanly).
fn migration_timeouts(args: &ApplyArgs) -> anyhow::Result<MigrationTimeouts> {
    if args.statement_timeout >= Duration::from_secs(args.migrate_timeout) {
        anyhow::bail!(
            "--statement-timeout ({} s) must be shorter than --migrate-timeout ({} s)",
            args.statement_timeout.as_secs_f64(),
            args.migrate_timeout
        );
    }
    Ok(MigrationTimeouts {
        lock: args.lock_timeout,
        statement: args.statement_timeout,
        lock_retries: args.lock_retries,
        retry_backoff: args.lock_retry_backoff,
    })
}

/// `<host> pid <pid>`: who runs, as shown to a second runner.
fn runner_label() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string());
    format!("{host} pid {}", std::process::id())
}

fn print_report(report: &ApplyReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    let short = |outcome: &ChangeOutcome| outcome.id.chars().take(8).collect::<String>();
    for outcome in &report.applied {
        let resumed = if outcome.resumed { ", resumed" } else { "" };
        let duration = outcome
            .duration_ms
            .map_or(String::new(), |ms| format!(", {ms} ms"));
        println!(
            "applied  {} {} ({}{duration}{resumed})",
            short(outcome),
            outcome.package,
            outcome.kind
        );
    }
    for outcome in &report.failed {
        println!(
            "failed   {} {}: {}: {} (schemagate show {} has the log)",
            short(outcome),
            outcome.package,
            outcome.reason.as_deref().unwrap_or("unknown"),
            outcome.detail.as_deref().unwrap_or(""),
            short(outcome),
        );
    }
    for outcome in &report.held_back {
        println!(
            "held     {} {}: {}",
            short(outcome),
            outcome.package,
            outcome.reason.as_deref().unwrap_or("")
        );
    }
    for outcome in &report.skipped {
        println!(
            "skipped  {} {}: {}",
            short(outcome),
            outcome.package,
            outcome.reason.as_deref().unwrap_or("")
        );
    }
    let schema = if report.schema_updated {
        "written"
    } else {
        "up to date"
    };
    if let Some(baseline) = &report.baseline {
        println!("baseline {baseline} applied to the empty platform database");
    }
    if report.applied.is_empty()
        && report.failed.is_empty()
        && report.held_back.is_empty()
        && report.skipped.is_empty()
    {
        println!("nothing to apply; {} is {schema}", report.schema_out);
    } else {
        println!(
            "{} applied, {} failed, {} held back, {} skipped; {} is {schema}",
            report.applied.len(),
            report.failed.len(),
            report.held_back.len(),
            report.skipped.len(),
            report.schema_out
        );
    }
    Ok(())
}

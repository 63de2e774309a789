//! `schemagate db`: the platform database (`status`, `deploy`) and the embedded cluster
//! (`run -- COMMAND`, which the test suite uses to get a private PostgreSQL server from the
//! same code the product runs).

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{CommonOptions, DbCommand};
use crate::database::Database;
use crate::embedded::EmbeddedCluster;

/// Runs a `db` subcommand.
///
/// # Errors
/// Fails when the cluster cannot start, the command cannot be spawned, or the platform
/// database cannot be read.
pub async fn run(common: &CommonOptions, command: DbCommand) -> anyhow::Result<ExitCode> {
    match command {
        DbCommand::Run { command } => run_command(common, &command).await,
        DbCommand::Status(flag) => status(common, flag.json).await,
        DbCommand::Deploy { dir } => deploy(common, &dir).await,
    }
}

async fn run_command(common: &CommonOptions, command: &[String]) -> anyhow::Result<ExitCode> {
    let data_dir = common.data_dir.clone();
    let cluster = tokio::task::spawn_blocking(move || EmbeddedCluster::start(&data_dir))
        .await
        .context("while starting the embedded PostgreSQL cluster")??;
    let (program, args) = command.split_first().context("no command given")?;
    let status = tokio::process::Command::new(program)
        .args(args)
        .env("DATABASE_URL", cluster.url())
        .status()
        .await
        .with_context(|| format!("while running {program}"))?;
    drop(cluster);
    Ok(ExitCode::from(
        status.code().map_or(1, |code| code.clamp(0, 255) as u8),
    ))
}

/// `db status [--json]`: exit 0 when the live schema matches the applied state, 1 on drift.
async fn status(common: &CommonOptions, json: bool) -> anyhow::Result<ExitCode> {
    let database = Database::open(common).await?;
    let engine = database.require_engine()?;
    let base = app::scanner::read_base_schema(common.base_schema.as_deref())
        .context("while reading the base schema")?;
    let status =
        app::registry::platform::status(&database.pool, &engine, &base, &common.domain_config())
            .await
            .context("while reading the platform database")?;
    database.close().await;
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        println!("platform database schema \"{}\"", status.schema);
        println!("\ntables ({}):", status.tables.len());
        for table in &status.tables {
            println!("  {}", table.table);
        }
        println!("\nmigrations ({}):", status.migrations.len());
        for record in &status.migrations {
            let state = match (&record.finished_at, &record.rolled_back_at) {
                (Some(at), _) => format!("applied {at}"),
                (None, Some(at)) => format!("rolled back {at}"),
                (None, None) => "unfinished".to_string(),
            };
            println!("  {:<60} {state}", record.name);
        }
        match (&status.drift, &status.error) {
            (_, Some(error)) => println!("\ndrift: unknown ({error})"),
            (None, None) if status.awaiting_baseline => println!(
                "\nnot migrated yet: the database is empty; the restart job's next run applies the baseline (the applied state's tables)"
            ),
            (Some(drift), None) => println!(
                "\ndrift: the live schema differs from the applied state:\n{}",
                drift.summary.trim_end()
            ),
            (None, None) => println!("\nno drift: the live schema matches the applied state"),
        }
    }
    Ok(if status.drift.is_none() && status.error.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `db deploy DIR`: the migrations of DIR not yet recorded in `_prisma_migrations`, applied.
async fn deploy(common: &CommonOptions, dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    let database = Database::open(common).await?;
    let engine = database.require_engine()?;
    let outcome = engine.apply_migrations(dir).await;
    database.close().await;
    match outcome {
        Ok(applied) if applied.is_empty() => println!("no pending migrations in {}", dir.display()),
        Ok(applied) => {
            for name in applied {
                println!("applied {name}");
            }
        }
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}

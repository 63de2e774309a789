//! `schemagate db run -- COMMAND`: runs a command against the embedded cluster. The test suite
//! uses it to get a private PostgreSQL server from the same code the product runs.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{CommonOptions, DbCommand};
use crate::embedded::EmbeddedCluster;

/// Starts the cluster, runs the command with `DATABASE_URL` set, stops the cluster, and exits
/// with the command's code.
///
/// # Errors
/// Fails when the cluster cannot start or the command cannot be spawned.
pub async fn run(common: &CommonOptions, command: DbCommand) -> anyhow::Result<ExitCode> {
    let DbCommand::Run { command } = command;
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

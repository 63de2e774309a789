//! Dispatch: one module per subcommand.

mod acl;
mod apply;
mod approve;
mod audit;
mod check;
mod db;
mod generate;
mod list;
mod lookup;
mod preview;
mod reject;
mod retry;
mod scan;
mod serve;
mod settings;
mod show;
mod status;
mod user;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Exit code for usage or environment errors.
pub const EXIT_USAGE: u8 = 2;

/// A registry refusal on the command line, printed after `prefix`; the exit code is the one
/// its classification gives. A failed database is an error of the run (exit 2 through `main`).
///
/// # Errors
/// The database's failure.
pub fn refused<E: app::registry::failure::Classify>(
    prefix: &str,
    error: E,
) -> anyhow::Result<ExitCode> {
    let message = error.to_string();
    match error.classify() {
        app::registry::failure::Failure::Database(error) => Err(error.into()),
        failure => {
            eprintln!("{prefix}{message}");
            Ok(ExitCode::from(failure.exit_code()))
        }
    }
}

/// The message of a registry refusal, for a command that lists several.
///
/// # Errors
/// The database's failure, as an error of the run.
pub fn refusal_message<E: app::registry::failure::Classify>(error: E) -> anyhow::Result<String> {
    let message = error.to_string();
    match error.classify() {
        app::registry::failure::Failure::Database(error) => Err(error.into()),
        _ => Ok(message),
    }
}

/// Runs the chosen subcommand (default `serve`) and turns its outcome into an exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let common = cli.common;
    app::registry::preflight::configure(common.preflight_settings());
    let outcome = match cli.command {
        None => serve::run(&common, &crate::cli::ServeArgs::from_env()).await,
        Some(Command::Serve(args)) => serve::run(&common, &args).await,
        Some(Command::Db(command)) => db::run(&common, command).await,
        Some(Command::User(command)) => user::run(&common, command).await,
        Some(Command::Audit(command)) => audit::run(&common, command).await,
        Some(Command::Settings(args)) => settings::run(&common, &args).await,
        Some(Command::Check(args)) => check::run(&common, &args),
        Some(Command::Preview { package }) => preview::run(&common, &package),
        Some(Command::Generate(args)) => generate::run(&common, &args).await,
        Some(Command::Scan(args)) => scan::run(&common, &args).await,
        Some(Command::Acl(command)) => acl::run(&common, command).await,
        Some(Command::List(args)) => list::run(&common, &args).await,
        Some(Command::Show(args)) => show::run(&common, &args).await,
        Some(Command::Approve(args)) => approve::run(&common, &args).await,
        Some(Command::Reject(args)) => reject::run(&common, &args).await,
        Some(Command::Status(args)) => status::run(&common, &args).await,
        Some(Command::Apply(args)) => apply::run(&common, &args).await,
        Some(Command::Retry(args)) => retry::run(&common, &args).await,
    };
    match outcome {
        Ok(code) => code,
        Err(error) if error.is::<lookup::Refused>() => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

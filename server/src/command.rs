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

/// Runs the chosen subcommand (default `serve`) and turns its outcome into an exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let common = cli.common;
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

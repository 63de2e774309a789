//! `schemagate`: the web server (default), the CLI, and the restart job, in one binary.

mod cli;
mod command;
mod database;
mod embedded;
mod first_run;
mod logging;
mod startup;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than glibc's allocator: `check` allocates on every core at once, where glibc's
/// per-thread arenas spent a fifth of the time growing and trimming heaps. It also hands each
/// large block (password hashing takes 19 MiB per sign-in) back to the system soon after it is
/// freed, so RSS stays flat under a sign-in flood.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    database::take_audit_key_from_environment();
    let cli = cli::Cli::parse();
    logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(command::run(cli))
}

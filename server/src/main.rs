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

fn main() -> ExitCode {
    return_large_allocations();
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

/// Password hashing allocates 19 MiB per verification on the blocking pool's threads. glibc
/// raises its mmap threshold after such a block is freed, so later ones come from per-thread
/// arenas and are never returned: RSS grew to gigabytes under a sign-in flood. A fixed threshold
/// keeps every large block mmapped, returned to the system as soon as it is freed.
fn return_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
    }
}

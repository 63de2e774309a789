//! `schemagate`: the web server (default), the CLI, and the restart job, in one binary.

mod cli;
mod command;
mod database;
mod embedded;
mod first_run;
mod help;
mod logging;
mod page_cache;
mod startup;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than glibc's allocator: `check` allocates on every core at once, where glibc's
/// per-thread arenas spent a fifth of the time growing and trimming heaps.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's option enum.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Password hashing takes 19 MiB per sign-in. With mimalloc's default 10 ms purge delay, freed
/// blocks were kept after a sign-in flood (RSS stayed at 143 MiB instead of 60); purging at once
/// hands them back to the system as soon as they are freed. Only the long-running server wants
/// that: in `check`, purged pages were faulted in and zeroed again a moment later, a quarter of
/// its time.
fn return_freed_memory_at_once() {
    // SAFETY: sets one tuning option before any other thread starts.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}

fn main() -> ExitCode {
    database::take_audit_key_from_environment();
    let cli = cli::Cli::parse();
    if cli.serves() {
        return_freed_memory_at_once();
    }
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

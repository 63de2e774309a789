//! `schemagate scan [--json]`: sync the packages on disk into the registry.

use std::process::ExitCode;

use app::registry::scan::{ScanEntry, ScanInputs, ScanReport};

use crate::cli::{CommonOptions, JsonFlag};
use crate::command::user::cli_actor;
use crate::database::Database;

/// Records new, superseded and dropped changes; exit 1 when a package had errors (the others
/// are still recorded).
///
/// # Errors
/// Unreadable packages or base schema; database errors.
pub async fn run(common: &CommonOptions, args: &JsonFlag) -> anyhow::Result<ExitCode> {
    let packages_dir = Some(common.packages_dir()?.to_path_buf());
    let database = Database::open(common).await?;
    let inputs = ScanInputs {
        packages_dir,
        base_schema: common.base_schema.clone(),
        config: common.domain_config(),
        engine: database.engine.clone(),
    };
    let report = inputs.scan(&database.pool, &cli_actor()).await;
    let report = report?;
    database.close().await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_text(report: &ScanReport) {
    let section = |title: &str, entries: &[ScanEntry]| {
        for entry in entries {
            let id = entry
                .change
                .as_deref()
                .map_or(String::new(), |id| format!(" {}", &id[..8.min(id.len())]));
            let risk = entry
                .risk
                .map_or(String::new(), |risk| format!(" [{risk}]"));
            println!("{title:<10} {}{id}{risk}: {}", entry.package, entry.note);
        }
    };
    section("created", &report.created);
    section("drop", &report.drops);
    section("superseded", &report.superseded);
    section("unchanged", &report.unchanged);
    section("rejected", &report.rejected);
    section("deferred", &report.deferred);
    for problem in &report.errors {
        println!(
            "error      {}: {} problem(s)",
            problem.package,
            problem.messages.len()
        );
        for message in &problem.messages {
            println!("  {message}");
        }
    }
}

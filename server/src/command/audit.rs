//! `schemagate audit list|verify|export`.

use std::process::ExitCode;

use anyhow::bail;
use app::registry::audit::{self, AuditEvent, AuditFilter};

use crate::cli::{AuditCommand, CommonOptions};
use crate::database::Database;

/// Runs one `audit` subcommand. `verify` exits 1 when the chain is broken.
///
/// # Errors
/// Database errors and an unknown export format.
pub async fn run(common: &CommonOptions, command: AuditCommand) -> anyhow::Result<ExitCode> {
    if let AuditCommand::Export { format } = &command {
        if format != "csv" && format != "json" {
            bail!("unknown export format \"{format}\": expected csv or json");
        }
    }
    let database = Database::open(common).await?;
    let pool = &database.pool;
    let code = match command {
        AuditCommand::List { json } => {
            let events = audit::list(pool, &AuditFilter::default()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&events)?);
            } else {
                for event in &events {
                    println!("{}", one_line(event));
                }
            }
            ExitCode::SUCCESS
        }
        AuditCommand::Verify => {
            let verification = audit::verify(pool).await?;
            match verification.problem {
                None => {
                    println!("audit log intact: {} events verified", verification.events);
                    ExitCode::SUCCESS
                }
                Some(problem) => {
                    println!("audit log TAMPERED: {problem}");
                    ExitCode::from(1)
                }
            }
        }
        AuditCommand::Export { format } => {
            let events = audit::list(pool, &AuditFilter::default()).await?;
            if format == "json" {
                println!("{}", serde_json::to_string_pretty(&events)?);
            } else {
                print!("{}", audit::to_csv(&events));
            }
            ExitCode::SUCCESS
        }
    };
    database.close().await;
    Ok(code)
}

fn one_line(event: &AuditEvent) -> String {
    let at = event
        .at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    format!(
        "{:>6} {at} {:<16} {:<24} {} {} {}",
        event.seq,
        event.actor,
        event.action,
        event.package.as_deref().unwrap_or("-"),
        event.change_id.as_deref().unwrap_or("-"),
        event.details
    )
}

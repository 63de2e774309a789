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
                print!("{}", to_csv(&events));
            }
            ExitCode::SUCCESS
        }
    };
    database.close().await;
    Ok(code)
}

fn one_line(event: &AuditEvent) -> String {
    let at = event.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
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

/// RFC 4180 CSV with a header row.
pub fn to_csv(events: &[AuditEvent]) -> String {
    fn field(value: &str) -> String {
        if value.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", value.replace('"', "\"\""))
        } else {
            value.to_string()
        }
    }
    let mut out = String::from("seq,at,actor,action,change_id,package,details,prev_hash,hash\r\n");
    for event in events {
        let at = event.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let row = [
            event.seq.to_string(),
            at,
            event.actor.clone(),
            event.action.clone(),
            event.change_id.clone().unwrap_or_default(),
            event.package.clone().unwrap_or_default(),
            event.details.to_string(),
            event.prev_hash.clone(),
            event.hash.clone(),
        ];
        out.push_str(&row.iter().map(|value| field(value)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

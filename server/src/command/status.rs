//! `schemagate status [--json]`: counts per state, last scan, last apply.

use std::process::ExitCode;

use app::registry::audit::{self, AuditFilter};
use app::registry::change;

use crate::cli::{CommonOptions, JsonFlag};
use crate::database::Database;

/// Prints the registry's state.
///
/// # Errors
/// Database errors.
pub async fn run(common: &CommonOptions, args: &JsonFlag) -> anyhow::Result<ExitCode> {
    let database = Database::open(common).await?;
    let pool = &database.pool;
    let counts = change::counts(pool).await?;
    let last = |action: &str| AuditFilter {
        action: Some(action.to_string()),
        limit: Some(1),
        ..AuditFilter::default()
    };
    let last_scan = audit::list(pool, &last("scan")).await?.into_iter().next();
    let last_apply = audit::list(pool, &last("apply.")).await?.into_iter().next();
    database.close().await;
    if args.json {
        let counts: serde_json::Map<String, serde_json::Value> = counts
            .iter()
            .map(|(status, n)| (status.as_str().to_string(), (*n).into()))
            .collect();
        let value =
            serde_json::json!({"counts": counts, "last_scan": last_scan, "last_apply": last_apply});
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        for (status, n) in &counts {
            println!("{:<11} {n}", status.as_str());
        }
        let when = |event: &Option<audit::AuditEvent>| {
            event.as_ref().map_or("never".to_string(), |e| {
                format!(
                    "{} by {}",
                    e.at.format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default(),
                    e.actor
                )
            })
        };
        println!("last scan   {}", when(&last_scan));
        println!("last apply  {}", when(&last_apply));
    }
    Ok(ExitCode::SUCCESS)
}

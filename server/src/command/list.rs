//! `schemagate list [--status S] [--json]`.

use std::process::ExitCode;

use app::domain::review::ChangeStatus;
use app::registry::change::{self, ChangeFilter};

use crate::cli::{CommonOptions, ListArgs};
use crate::database::Database;

/// Prints the changes, newest first.
///
/// # Errors
/// An unknown status; database errors.
pub async fn run(common: &CommonOptions, args: &ListArgs) -> anyhow::Result<ExitCode> {
    let status = args
        .status
        .as_deref()
        .map(str::parse::<ChangeStatus>)
        .transpose()?;
    let database = Database::open(common).await?;
    let changes = change::list(
        &database.pool,
        &ChangeFilter {
            status,
            ..ChangeFilter::default()
        },
    )
    .await?;
    database.close().await;
    if args.json {
        let rows: Vec<serde_json::Value> = changes
            .iter()
            .map(|c| {
                serde_json::json!({
                    "id": c.id,
                    "package": c.package,
                    "kind": c.kind,
                    "status": c.status,
                    "risk": c.risk,
                    "base_checksum": c.base_checksum,
                    "target_checksum": c.target_checksum,
                    "items": c.items.len(),
                    "conflicts": c.conflicts.iter().map(|x| x.entity.as_str()).collect::<Vec<_>>(),
                    "created_at": c.created_at.format(&time::format_description::well_known::Rfc3339).ok(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if changes.is_empty() {
        println!("no changes");
    } else {
        println!(
            "{:<10} {:<24} {:<11} {:<15} {:>5}  target",
            "id", "package", "status", "risk", "items"
        );
        for c in &changes {
            let conflict = if c.conflicts.is_empty() {
                ""
            } else {
                "  CONFLICT"
            };
            println!(
                "{:<10} {:<24} {:<11} {:<15} {:>5}  {}{conflict}",
                &c.id[..8],
                c.package,
                c.status.as_str(),
                c.risk.as_str(),
                c.items.len(),
                short(&c.target_checksum),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `v1:` and the first 12 hex digits.
pub fn short(checksum: &str) -> &str {
    checksum.get(..15).unwrap_or(checksum)
}

//! `schemagate show CHANGE [--json]`: one change with its items, conflicts and diff.

use std::process::ExitCode;

use anyhow::Context;
use app::domain::text_diff::unified_diff;
use app::registry::change;

use crate::cli::{CommonOptions, ShowArgs};
use crate::command::lookup;
use crate::database::Database;

/// Prints the change.
///
/// # Errors
/// Unknown change (exit 1 via [`lookup::Refused`]); database errors.
pub async fn run(common: &CommonOptions, args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let database = Database::open(common).await?;
    let id = lookup::change_id(&database.pool, &args.change).await?;
    let change = change::get(&database.pool, &id)
        .await?
        .context("the change vanished")?;
    database.close().await;
    let diff = unified_diff(
        &change.fragment_before,
        &change.fragment_after,
        "applied",
        "proposed",
    );
    if args.json {
        let mut value = serde_json::to_value(&change)?;
        value["diff"] = serde_json::Value::String(diff);
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("change   {}", change.id);
    println!("package  {} ({})", change.package, change.kind);
    println!("status   {}", change.status);
    println!("risk     {}", change.risk);
    println!(
        "base     {}",
        change.base_checksum.as_deref().unwrap_or("(never applied)")
    );
    println!("target   {}", change.target_checksum);
    if let (Some(by), Some(note)) = (&change.decided_by, &change.note) {
        println!("decided  by {by}: {note}");
    }
    println!("\nitems:");
    for item in &change.items {
        println!(
            "  [{}] {}: {} ({})",
            item.risk, item.path, item.summary, item.reason
        );
        if let Some(advice) = &item.advice {
            println!("      advice: {advice}");
        }
    }
    if !change.conflicts.is_empty() {
        println!("\nconflicts (approval blocked):");
        for conflict in &change.conflicts {
            println!("  {}", conflict.entity);
            for declaration in &conflict.declarations {
                println!("    {:<24} {}", declaration.package, declaration.checksum);
            }
        }
    }
    if !diff.is_empty() {
        println!("\n{diff}");
    }
    Ok(ExitCode::SUCCESS)
}

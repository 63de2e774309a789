//! `schemagate show CHANGE [--json]`: one change with its items, dependencies, conflicts and
//! diff.

use std::process::ExitCode;

use anyhow::Context;
use app::domain::text_diff::unified_diff;
use app::registry::{change, future};

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
    let context = lookup::schema_context(common)?;
    let mut conn = database.pool.acquire().await?;
    let dependencies = future::dependencies(&mut conn, &change, &context).await?;
    let superseded_by = app::registry::apply::newer_change(&mut conn, &change).await?;
    drop(conn);
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
        value["dependencies"] = serde_json::to_value(&dependencies)?;
        value["superseded_by"] = serde_json::to_value(&superseded_by)?;
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
    if let Some(previous) = &change.supersedes {
        println!("replaces {previous}");
    }
    if let Some(newer) = &superseded_by {
        println!("replaced by {newer} (review that one)");
    }
    if !dependencies.is_empty() {
        println!("\ndepends on:");
        for dependency in &dependencies {
            let mark = if dependency.state.is_satisfied() {
                "ok"
            } else {
                "waiting"
            };
            println!("  [{mark}] {}", dependency.describe());
        }
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
                let applied = if declaration.matches_applied {
                    " (applied)"
                } else {
                    ""
                };
                println!(
                    "    {:<24} {}{applied}",
                    declaration.package, declaration.checksum
                );
            }
            if let [left, right, ..] = conflict.declarations.as_slice() {
                for d in &conflict.differences {
                    println!(
                        "    {} {}: {} says {}, {} says {}",
                        d.aspect, d.subject, left.package, d.left, right.package, d.right
                    );
                }
            }
        }
    }
    if !diff.is_empty() {
        println!("\n{diff}");
    }
    Ok(ExitCode::SUCCESS)
}

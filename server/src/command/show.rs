//! `schemagate show CHANGE [--json]`: one change with its items, dependencies, conflicts and
//! diff.

use std::process::ExitCode;

use anyhow::Context;
use app::domain::preflight::PreflightReport;
use app::domain::review::ChangeStatus;
use app::domain::sql_plan::PlannedStatement;
use app::domain::text_diff::unified_diff;
use app::registry::change::{self, SchemaChange};
use app::registry::future;

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
    let context = lookup::schema_context(common, &database)?;
    let mut conn = database.pool.acquire().await?;
    let dependencies = future::dependencies(&mut conn, &change, &context).await?;
    let superseded_by = app::registry::apply::newer_change(&mut conn, &change).await?;
    let held_back = future::held_back(&mut conn, &context)
        .await?
        .remove(&change.id)
        .map(|held| held.reason());
    drop(conn);
    let preflight = preflight(&database, &change, &common.domain_config()).await?;
    database.close().await;
    if args.sql {
        return Ok(print_sql(&change));
    }
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
        value["held_back"] = serde_json::to_value(&held_back)?;
        value["plan"] = serde_json::to_value(statements(&change, common))?;
        value["preflight"] = serde_json::to_value(&preflight)?;
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_summary(&change, superseded_by.as_deref());
    if let Some(why) = &held_back {
        println!("\n{why}");
    }
    print_dependencies(&dependencies);
    print_items(&change);
    print_conflicts(&change);
    if !diff.is_empty() {
        println!("\n{diff}");
    }
    print_plan(&change, common, preflight.as_ref());
    Ok(ExitCode::SUCCESS)
}

/// The preflight facts of the change's plan: for a change still to be applied, checked again
/// when older than `--preflight-max-age`; for one applied or failed, as last kept.
async fn preflight(
    database: &Database,
    change: &SchemaChange,
    config: &app::domain::Config,
) -> anyhow::Result<Option<PreflightReport>> {
    let max_age = app::registry::preflight::settings().max_age;
    let to_apply = matches!(
        change.status,
        ChangeStatus::Pending | ChangeStatus::Approved
    );
    match (&change.plan_sql, &database.engine) {
        (Some(_), Some(engine)) if to_apply => Ok(Some(
            app::registry::preflight::current(
                &database.pool,
                &engine.database,
                change,
                config,
                Some(max_age),
            )
            .await?,
        )),
        _ => Ok(
            app::registry::preflight::load(&database.pool, &change.id, max_age)
                .await?
                .map(|(report, _)| report),
        ),
    }
}

/// `show --sql`: the change's SQL alone, for piping; exit 1 when it has none.
fn print_sql(change: &SchemaChange) -> ExitCode {
    match (&change.plan_sql, &change.plan_error) {
        (Some(sql), _) => {
            print!("{sql}");
            ExitCode::SUCCESS
        }
        (None, Some(error)) => {
            eprintln!(
                "error: change {} has no SQL: the schema engine cannot plan it: {error}",
                change.id
            );
            ExitCode::from(1)
        }
        (None, None) => {
            eprintln!(
                "error: change {} has not been planned yet (approving it plans it)",
                change.id
            );
            ExitCode::from(1)
        }
    }
}

/// The change's identity, state, checksums, decision and the changes it replaces or that
/// replaced it.
fn print_summary(change: &SchemaChange, superseded_by: Option<&str>) {
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
    if let Some(newer) = superseded_by {
        println!("replaced by {newer} (review that one)");
    }
}

/// What the change needs from other packages, and whether each is there yet.
fn print_dependencies(dependencies: &[future::Dependency]) {
    if dependencies.is_empty() {
        return;
    }
    println!("\ndepends on:");
    for dependency in dependencies {
        let mark = if dependency.state.is_satisfied() {
            "ok"
        } else {
            "waiting"
        };
        println!("  [{mark}] {}", dependency.describe());
    }
}

/// The change's items with their risk, reason, suggestion and advice.
fn print_items(change: &SchemaChange) {
    println!("\nitems:");
    for item in &change.items {
        println!(
            "  [{}] {}: {} ({})",
            item.risk, item.path, item.summary, item.reason
        );
        if let Some(hint) = &item.suggestion {
            println!("      suggestion: {hint}");
        }
        if let Some(advice) = &item.advice {
            println!("      advice: {advice}");
        }
    }
}

/// The conflicts that block approval: who declares each entity how, and how they differ.
fn print_conflicts(change: &SchemaChange) {
    if change.conflicts.is_empty() {
        return;
    }
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

/// The SQL plan statement by statement, or why there is none.
fn print_plan(change: &SchemaChange, common: &CommonOptions, preflight: Option<&PreflightReport>) {
    match (&change.plan_sql, &change.plan_error) {
        (Some(_), refused) => {
            println!(
                "\nSQL plan (sha256 {}):",
                change.plan_sha256.as_deref().unwrap_or("?")
            );
            if let Some(reason) = refused {
                println!("REFUSED, cannot be approved: {reason}");
            }
            if let Some(report) = preflight {
                println!(
                    "preflight: checked on the {} database at {} in {} ms",
                    report.source, report.checked_at, report.duration_ms
                );
                for fact in report.of_statement(0) {
                    println!("preflight: {}", fact.summary());
                }
                if let Some(refusal) = report.refusal() {
                    println!("PREFLIGHT FAILS, cannot be approved:\n{refusal}");
                }
            }
            for (number, statement) in statements(change, common).into_iter().enumerate() {
                print_statement(number + 1, &statement);
                for fact in preflight
                    .into_iter()
                    .flat_map(|r| r.of_statement(number + 1))
                {
                    println!("  -- preflight: {}", fact.summary());
                }
            }
        }
        (None, Some(error)) => {
            println!("\nSQL plan: cannot be planned (approval refused): {error}")
        }
        (None, None) => println!("\nSQL plan: not planned yet"),
    }
}

/// Statement `number` of the plan: its kind, lock and items, what refuses or notes it, and
/// its SQL.
fn print_statement(number: usize, statement: &PlannedStatement) {
    let rewrite = if statement.rewrites {
        ", rewrites the table"
    } else {
        ""
    };
    let items = if statement.items.is_empty() {
        String::new()
    } else {
        format!(" [{}]", statement.items.join(", "))
    };
    let lock = if statement.new_table {
        "new table".to_string()
    } else {
        format!("lock {}", statement.lock.as_str())
    };
    println!(
        "\n  -- {number}. {}: {lock}{rewrite}{items}",
        statement.kind
    );
    if let Some(refusal) = &statement.refusal {
        println!("  -- REFUSED: {refusal}");
    }
    if let Some(note) = &statement.note {
        println!("  -- {note}");
    }
    for finding in &statement.findings {
        println!("  -- squawk {}: {}", finding.rule, finding.message);
    }
    for line in statement.sql.lines() {
        println!("  {line}");
    }
}

/// The change's SQL plan, statement by statement, with locks and the items they implement.
fn statements(change: &SchemaChange, common: &CommonOptions) -> Vec<PlannedStatement> {
    let entities = app::domain::parse_entities(
        &change.yaml_snapshot,
        &change.package,
        &common.domain_config(),
    )
    .entities;
    change
        .plan_sql
        .as_deref()
        .map(|sql| {
            app::domain::sql_plan::annotate(sql, &change.items, &entities, &change.plan_refusals)
        })
        .unwrap_or_default()
}

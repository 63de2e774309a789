//! `schemagate check [--json]`: parse and validate every package, no database needed.

use std::io::Write as _;
use std::process::ExitCode;

use app::domain::Catalog;

use crate::cli::{CommonOptions, JsonFlag};

/// Prints each package's entities with checksums, its errors and warnings, and the conflicts;
/// exit 1 when any package has errors or any entity is in conflict.
///
/// # Errors
/// A missing packages directory or unreadable base schema.
pub fn run(common: &CommonOptions, args: &JsonFlag) -> anyhow::Result<ExitCode> {
    let catalog = app::scanner::scan_dir(
        common.packages_dir()?,
        common.base_schema.as_deref(),
        &common.domain_config(),
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&catalog)?);
    } else {
        print_text(&catalog)?;
    }
    let code = if catalog.has_failures() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    // The process ends here: freeing thousands of entities one allocation at a time would only
    // delay the exit.
    std::mem::forget(catalog);
    Ok(code)
}

fn print_text(catalog: &Catalog) -> std::io::Result<()> {
    // One write per screenful, not per line: 2,000 packages print about 10,000 lines.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for package in &catalog.packages {
        let state = if package.errors.is_empty() {
            "ok"
        } else {
            "FAILED"
        };
        writeln!(
            out,
            "{} {} ({} entities) {}",
            package.package,
            state,
            package.entities.len(),
            package.checksum.as_deref().unwrap_or("")
        )?;
        for entity in &package.entities {
            writeln!(out, "  {:<32} {}", entity.name, entity.checksum)?;
        }
        for error in &package.errors {
            writeln!(out, "  error: {error}")?;
        }
        for warning in &package.warnings {
            writeln!(out, "  warning: {warning}")?;
        }
    }
    for problem in &catalog.errors {
        writeln!(out, "{} FAILED: {}", problem.package, problem.message)?;
    }
    for conflict in &catalog.conflicts {
        writeln!(
            out,
            "conflict: {} is declared differently by:",
            conflict.entity
        )?;
        for declaration in &conflict.declarations {
            writeln!(
                out,
                "  {:<24} {}",
                declaration.package, declaration.checksum
            )?;
        }
    }
    let failed = catalog
        .packages
        .iter()
        .filter(|p| !p.errors.is_empty())
        .count()
        + catalog.errors.len();
    writeln!(
        out,
        "{} packages, {} with errors, {} conflicts",
        catalog.packages.len() + catalog.errors.len(),
        failed,
        catalog.conflicts.len()
    )?;
    out.flush()
}

//! `schemagate generate [--out FILE] [--from-packages]`: the full merged Prisma schema. By
//! default the registry's applied and approved state (the text `schemagate apply` leaves behind
//! once it applied everything approved); with `--from-packages`, the packages on disk (no
//! database needed).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use app::registry::apply;

use crate::cli::{CommonOptions, GenerateArgs};
use crate::database::Database;

/// Renders the schema and prints it or writes it atomically; exit 1 while packages have
/// errors or conflicts (they are named).
///
/// # Errors
/// Unreadable inputs, an unreachable registry, an unwritable output.
pub async fn run(common: &CommonOptions, args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let config = common.domain_config();
    let rendered = if args.from_packages {
        let catalog = app::scanner::scan_dir(
            common.packages_dir()?,
            common.base_schema.as_deref(),
            &config,
        )?;
        catalog.render_schema().map_err(|error| error.to_string())
    } else {
        let base = app::scanner::read_base_schema(common.base_schema.as_deref())
            .context("while reading the base schema")?;
        let database = Database::open(common).await?;
        let rendered = apply::render_desired(&database.pool, &base, &config)
            .await
            .context("while reading the applied and approved state")?;
        database.close().await;
        rendered.map_err(|error| error.to_string())
    };
    let schema = match rendered {
        Ok(schema) => schema,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::from(1));
        }
    };
    match &args.out {
        Some(path) => write_atomically(path, &schema)?,
        None => print!("{schema}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `text` to a temporary file beside `path`, syncs it, and renames it over `path`, so
/// readers see the old file or the new one, never half of one.
///
/// # Errors
/// I/O errors, with the path.
pub fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    apply::write_atomically(path, text).with_context(|| format!("while writing {}", path.display()))
}

//! `schemagate generate [--out FILE] [--from-packages]`: the full merged Prisma schema.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use app::domain::Config;

use crate::cli::{CommonOptions, GenerateArgs};

/// Renders the schema and prints it or writes it atomically; exit 1 while packages have
/// errors or conflicts (they are named).
///
/// # Errors
/// Unreadable inputs, an unwritable output.
pub async fn run(common: &CommonOptions, args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    if !args.from_packages {
        bail!("rendering the registry's applied and approved state needs the restart job; pass --from-packages");
    }
    let catalog = app::scanner::scan_dir(common.packages_dir()?, common.base_schema.as_deref(), &Config::default())?;
    let schema = match catalog.render_schema() {
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
    use std::io::Write as _;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().context("the output path has no file name")?;
    let temp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let mut file = std::fs::File::create(&temp).with_context(|| format!("while creating {}", temp.display()))?;
    file.write_all(text.as_bytes()).with_context(|| format!("while writing {}", temp.display()))?;
    file.sync_all().with_context(|| format!("while syncing {}", temp.display()))?;
    std::fs::rename(&temp, path).with_context(|| format!("while replacing {}", path.display()))?;
    Ok(())
}

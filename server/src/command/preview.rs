//! `schemagate preview PACKAGE`: one package rendered as Prisma, no database needed.

use std::process::ExitCode;

use anyhow::bail;

use crate::cli::CommonOptions;

/// Prints the package's Prisma models and the relation lines it adds to other models; exit 1
/// when the package has errors.
///
/// # Errors
/// Unknown package, unreadable files.
pub fn run(common: &CommonOptions, package: &str) -> anyhow::Result<ExitCode> {
    let catalog = app::scanner::scan_dir(
        common.packages_dir()?,
        common.base_schema.as_deref(),
        &common.domain_config(),
    )?;
    let Some(report) = catalog.package(package) else {
        bail!(
            "no package \"{package}\" in {}",
            common.packages_dir()?.display()
        );
    };
    if !report.errors.is_empty() {
        for error in &report.errors {
            eprintln!("error: {error}");
        }
        return Ok(ExitCode::from(1));
    }
    match catalog.render_fragment_in_context(package) {
        Ok(fragment) => {
            print!("{}", fragment.to_text());
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("error: {error}");
            Ok(ExitCode::from(1))
        }
    }
}

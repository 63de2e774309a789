//! Reading packages from disk: `DIR/<package>/seed/schema/entities.yaml` plus the base schema.
//!
//! The only I/O around the domain's catalog; `std::fs` only. Every package directory with a
//! schema file becomes a [`PackageSource`]; the domain then parses, validates and checksums
//! them all, so one bad package never hides the others.

use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::domain::{
    BaseSchema, BaseSchemaError, Catalog, Config, PackageId, PackageIdError, PackageSource,
};

/// Where a package keeps its schema, relative to the package directory.
pub const SCHEMA_FILE: &str = "seed/schema/entities.yaml";

/// Why the packages or the base schema could not be read (an environment problem, exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The packages directory does not exist.
    #[error("packages directory {} does not exist", path.display())]
    PackagesDirMissing {
        /// The directory.
        path: PathBuf,
    },
    /// The packages path is not a directory.
    #[error("packages path {} is not a directory", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// A package directory whose name is not a valid package id.
    #[error("package directory {} has an invalid name: {source}", path.display())]
    InvalidPackageId {
        /// The directory.
        path: PathBuf,
        /// The rule it breaks.
        source: PackageIdError,
    },
    /// A directory or file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// What was read.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The base schema is not a Prisma schema this tool can merge into.
    #[error("invalid base schema {}: {source}", path.display())]
    InvalidBaseSchema {
        /// The base schema file.
        path: PathBuf,
        /// What is wrong.
        source: BaseSchemaError,
    },
    /// No package with this id on disk.
    #[error("no package \"{id}\" in {}", dir.display())]
    UnknownPackage {
        /// The requested id.
        id: String,
        /// The packages directory.
        dir: PathBuf,
    },
}

fn read_error(path: &Path) -> impl FnOnce(std::io::Error) -> ScanError + '_ {
    move |source| ScanError::Read {
        path: path.to_owned(),
        source,
    }
}

/// Reads every package of `packages_dir`, sorted by id. Entries starting with `.` and
/// directories without a schema file are skipped; files larger than `max_file_bytes` are read
/// only up to the limit, which the domain then reports as an error of that package.
///
/// # Errors
/// [`ScanError`] when the directory is missing or unreadable, a package directory has an
/// invalid name, or a schema file cannot be read.
pub fn read_packages(
    packages_dir: &Path,
    max_file_bytes: u64,
) -> Result<Vec<PackageSource>, ScanError> {
    if !packages_dir.exists() {
        return Err(ScanError::PackagesDirMissing {
            path: packages_dir.to_owned(),
        });
    }
    if !packages_dir.is_dir() {
        return Err(ScanError::NotADirectory {
            path: packages_dir.to_owned(),
        });
    }
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(packages_dir).map_err(read_error(packages_dir))? {
        let entry = entry.map_err(read_error(packages_dir))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !path.is_dir() {
            continue;
        }
        let schema = path.join(SCHEMA_FILE);
        if !schema.is_file() {
            continue;
        }
        let id = PackageId::parse(&name).map_err(|source| ScanError::InvalidPackageId {
            path: path.clone(),
            source,
        })?;
        let text = read_bounded(&schema, max_file_bytes)?;
        sources.push(PackageSource {
            id,
            file: schema.display().to_string(),
            text,
        });
    }
    sources.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(sources)
}

/// Reads at most `limit + 1` bytes: enough for the domain to see the file is too large,
/// without loading a huge file into memory.
fn read_bounded(path: &Path, limit: u64) -> Result<String, ScanError> {
    let file = File::open(path).map_err(read_error(path))?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(read_error(path))?;
    // Invalid UTF-8 becomes U+FFFD and then fails validation at the offending name or value.
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    })
}

/// Reads and parses the base schema at `path`, or the built-in default when `None`.
///
/// # Errors
/// [`ScanError::Read`] or [`ScanError::InvalidBaseSchema`].
pub fn read_base_schema(path: Option<&Path>) -> Result<BaseSchema, ScanError> {
    let Some(path) = path else {
        return Ok(BaseSchema::default());
    };
    let text = std::fs::read_to_string(path).map_err(read_error(path))?;
    BaseSchema::parse(&text).map_err(|source| ScanError::InvalidBaseSchema {
        path: path.to_owned(),
        source,
    })
}

/// Reads every package and the base schema, and builds the catalog: per package its entities
/// with checksums, package checksum, errors and warnings; conflicts; shared entities. Render
/// the merged schema with [`Catalog::render_schema`].
///
/// # Errors
/// [`ScanError`] for environment problems; problems inside packages are in the catalog.
pub fn scan_dir(
    packages_dir: &Path,
    base_schema_path: Option<&Path>,
    config: &Config,
) -> Result<Catalog, ScanError> {
    let base = read_base_schema(base_schema_path)?;
    let sources = read_packages(packages_dir, config.limits.max_file_bytes)?;
    Ok(Catalog::build(sources, base, config))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let path = std::env::temp_dir()
                .join(format!("schemagate-scanner-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("{e}"));
            Self(path)
        }

        fn package(&self, id: &str, text: &str) {
            let dir = self.0.join(id).join("seed/schema");
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(dir.join("entities.yaml"), text).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const VALID: &str =
        "entities:\n  - name: Thing\n    fields: { id: { type: cuid, primary: true } }\n";

    #[test]
    fn a_packages_directory_is_scanned_into_a_catalog() {
        let dir = TempDir::new("ok");
        dir.package("beta", VALID.replace("Thing", "Other").as_str());
        dir.package("alpha", VALID);
        std::fs::create_dir_all(dir.0.join("no_schema")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(dir.0.join(".git")).unwrap_or_else(|e| panic!("{e}"));
        let catalog = scan_dir(&dir.0, None, &Config::default()).unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<&str> = catalog
            .packages
            .iter()
            .map(|p| p.package.as_str())
            .collect();
        assert_eq!(ids, ["alpha", "beta"]);
        assert!(!catalog.has_failures());
        let schema = catalog.render_schema().unwrap_or_else(|e| panic!("{e}"));
        assert!(schema.contains("model Thing {") && schema.contains("model Other {"));
    }

    #[test]
    fn a_missing_directory_is_an_environment_error() {
        let error = scan_dir(
            Path::new("/nonexistent/schemagate/packages"),
            None,
            &Config::default(),
        );
        assert_eq!(
            error.map(|_| ()).map_err(|e| e.to_string()),
            Err("packages directory /nonexistent/schemagate/packages does not exist".to_owned())
        );
    }

    #[test]
    fn an_invalid_package_directory_name_is_an_error() {
        let dir = TempDir::new("bad-name");
        dir.package("Bad Name", VALID);
        let error = scan_dir(&dir.0, None, &Config::default())
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(
            error
                .as_ref()
                .is_err_and(|e| e.contains("has an invalid name")),
            "{error:?}"
        );
    }

    #[test]
    fn an_oversized_file_is_an_error_of_its_package_only() {
        let dir = TempDir::new("big");
        dir.package("big", &format!("{VALID}# {}\n", "x".repeat(4096)));
        dir.package("small", VALID.replace("Thing", "Small").as_str());
        let mut config = Config::default();
        config.limits.max_file_bytes = 1024;
        let catalog = scan_dir(&dir.0, None, &config).unwrap_or_else(|e| panic!("{e}"));
        let big = catalog.package("big").unwrap_or_else(|| panic!("no big"));
        assert_eq!(big.errors.len(), 1);
        assert_eq!(big.errors[0].error.code(), "file_too_large");
        assert!(catalog
            .package("small")
            .is_some_and(|p| p.errors.is_empty()));
    }

    #[test]
    fn a_base_schema_file_is_read_and_validated() {
        let dir = TempDir::new("base");
        let path = dir.0.join("base.prisma");
        std::fs::write(&path, "model Tenant {\n  id String @id\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let error = read_base_schema(Some(&path))
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(
            error.as_ref().is_err_and(|e| e.contains("is never closed")),
            "{error:?}"
        );
    }
}

//! Reading packages from disk: `DIR/<package>/seed/schema/entities.yaml` plus the base schema.
//!
//! The only I/O around the domain's catalog; `std::fs` only. Every package directory with a
//! schema file becomes a [`PackageSource`]; the domain then parses, validates and checksums
//! them all, so one bad package never hides the others.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::domain::{
    BaseSchema, BaseSchemaError, Catalog, Config, PackageId, PackageProblem, PackageSource,
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

/// What the packages directory holds: the packages that could be read, and the package
/// directories that could not (each reported on its own, never stopping the others).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackagesOnDisk {
    /// Readable packages, sorted by id.
    pub sources: Vec<PackageSource>,
    /// Unreadable or irregular schema files, symlinks out of the directory, invalid names.
    pub problems: Vec<PackageProblem>,
}

/// Reads every package of `packages_dir`, sorted by id. Entries starting with `.` and
/// directories without a schema file are skipped; files larger than `max_file_bytes` are read
/// only up to the limit, which the domain then reports as an error of that package.
///
/// A package directory with a schema entry that cannot be read (permission denied, a dangling
/// symlink, a symlink loop, a FIFO, a directory, a device, or a symlink leading out of the
/// packages directory) or whose name is not a package id becomes a [`PackageProblem`] of that
/// package alone: it still counts as present, so it is never taken for a removed package.
///
/// # Errors
/// [`ScanError`] only when the packages directory itself is missing or unreadable.
pub fn read_packages(
    packages_dir: &Path,
    max_file_bytes: u64,
) -> Result<PackagesOnDisk, ScanError> {
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
    let root = std::fs::canonicalize(packages_dir).map_err(read_error(packages_dir))?;
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(packages_dir).map_err(read_error(packages_dir))? {
        let entry = entry.map_err(read_error(packages_dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            entries.push((entry.path(), name));
        }
    }
    // Each package is located and read on its own: spread the system calls over every core.
    let read: Vec<Option<Result<PackageSource, PackageProblem>>> = entries
        .par_iter()
        .map(|(path, name)| read_package(&root, path, name, max_file_bytes))
        .collect();
    let mut disk = PackagesOnDisk::default();
    for outcome in read.into_iter().flatten() {
        match outcome {
            Ok(source) => disk.sources.push(source),
            Err(problem) => disk.problems.push(problem),
        }
    }
    disk.sources.sort_by(|a, b| a.id.cmp(&b.id));
    disk.problems.sort_by(|a, b| a.package.cmp(&b.package));
    Ok(disk)
}

/// The schema of the package in directory `path` (named `name`), a problem with it, or `None`
/// when the directory holds no schema at all.
fn read_package(
    root: &Path,
    path: &Path,
    name: &str,
    max_file_bytes: u64,
) -> Option<Result<PackageSource, PackageProblem>> {
    let schema = path.join(SCHEMA_FILE);
    let file = schema.display().to_string();
    let problem = |message: String| PackageProblem::new(name, file.clone(), message);
    let located = match locate_schema(root, path) {
        Ok(Some(located)) => located,
        Ok(None) => return None,
        Err(message) => return Some(Err(problem(message))),
    };
    let id = match PackageId::parse(name) {
        Ok(id) => id,
        Err(error) => {
            let message = format!("the directory is not a valid package id: {error}");
            return Some(Err(PackageProblem::new(
                name,
                path.display().to_string(),
                message,
            )));
        }
    };
    Some(match read_regular_bounded(&located, max_file_bytes) {
        Ok(text) => Ok(PackageSource { id, file, text }),
        Err(message) => Err(problem(message)),
    })
}

/// Finds `package_dir/seed/schema/entities.yaml` without leaving `root`: `Ok(None)` when the
/// directory holds no schema entry at all (not a package), `Ok(path)` for the schema file's
/// real path inside `root`, `Err(why)` when the entry exists but cannot be used.
fn locate_schema(root: &Path, package_dir: &Path) -> Result<Option<PathBuf>, String> {
    let mut current = package_dir.to_path_buf();
    let mut through_symlink = false;
    let components = std::iter::once(None).chain(Path::new(SCHEMA_FILE).iter().map(Some));
    for component in components {
        if let Some(component) = component {
            current.push(component);
        }
        // Worded only when something is wrong: most packages never need it.
        let what = || {
            current
                .strip_prefix(package_dir)
                .ok()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(
                    || "the package directory".to_owned(),
                    |p| p.display().to_string(),
                )
        };
        let metadata = match std::fs::symlink_metadata(&current) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(format!("cannot read {}: {}", what(), io_reason(&error))),
        };
        if metadata.file_type().is_symlink() {
            through_symlink = true;
            let target = match std::fs::canonicalize(&current) {
                Ok(target) => target,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    return Err(format!("{} is a dangling symlink", what()));
                }
                Err(error) if error.raw_os_error() == Some(ELOOP) => {
                    return Err(format!("{} is a symlink loop", what()));
                }
                Err(error) => {
                    return Err(format!("cannot resolve {}: {}", what(), io_reason(&error)))
                }
            };
            if !target.starts_with(root) {
                return Err(format!(
                    "{} is a symlink that leads out of the packages directory",
                    what()
                ));
            }
        } else if component.is_none() && !metadata.is_dir() {
            // A plain file next to the packages: not a package.
            return Ok(None);
        }
    }
    if !through_symlink {
        // No component is a symlink: the path inside the canonical root is already the real one.
        let name = package_dir.file_name().unwrap_or_default();
        return Ok(Some(root.join(name).join(SCHEMA_FILE)));
    }
    let real = std::fs::canonicalize(&current)
        .map_err(|error| format!("cannot resolve {SCHEMA_FILE}: {}", io_reason(&error)))?;
    if !real.starts_with(root) {
        return Err(format!("{SCHEMA_FILE} leads out of the packages directory"));
    }
    Ok(Some(real))
}

/// `ELOOP` on Linux and the BSDs alike ("too many levels of symbolic links").
#[cfg(target_os = "linux")]
const ELOOP: i32 = 40;
#[cfg(not(target_os = "linux"))]
const ELOOP: i32 = 62;

/// What a file is, when it is not a regular file.
fn kind_of(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_symlink() {
        "a symlink"
    } else {
        "not a file"
    }
}

/// An I/O error in lowercase words, without the `(os error N)` suffix.
fn io_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).to_owned();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// Opens `path` (already resolved, so the last component is no symlink) without blocking and
/// without following a symlink swapped in meanwhile, checks it is a regular file, and reads at
/// most `limit + 1` bytes: enough for the domain to see the file is too large, without loading
/// a huge file into memory.
fn read_regular_bounded(path: &Path, limit: u64) -> Result<String, String> {
    use std::os::unix::fs::OpenOptionsExt as _;
    // O_NONBLOCK: opening a FIFO must not wait for a writer. O_NOFOLLOW: no symlink swap.
    #[cfg(target_os = "linux")]
    const FLAGS: i32 = 0o4000 | 0o400000;
    #[cfg(not(target_os = "linux"))]
    const FLAGS: i32 = 0x0004 | 0x0100;
    let metadata = std::fs::metadata(path)
        .map_err(|error| format!("cannot read {SCHEMA_FILE}: {}", io_reason(&error)))?;
    if !metadata.is_file() {
        return Err(format!(
            "{SCHEMA_FILE} is {}, not a regular file",
            kind_of(metadata.file_type())
        ));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(FLAGS)
        .open(path)
        .map_err(|error| format!("cannot open {SCHEMA_FILE}: {}", io_reason(&error)))?;
    let metadata = file
        .metadata()
        .map_err(|error| format!("cannot read {SCHEMA_FILE}: {}", io_reason(&error)))?;
    if !metadata.is_file() {
        return Err(format!(
            "{SCHEMA_FILE} is {}, not a regular file",
            kind_of(metadata.file_type())
        ));
    }
    // Sized from the file's length, so reading it never reallocates.
    let expected = usize::try_from(metadata.len().min(limit)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(expected.saturating_add(1));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot read {SCHEMA_FILE}: {}", io_reason(&error)))?;
    Ok(decode(bytes))
}

/// UTF-8 text as is. UTF-16 and UTF-32 (recognized by their byte-order mark or their zero
/// bytes) are left undecoded for the domain to name; other invalid UTF-8 becomes U+FFFD and
/// then fails validation at the offending name or value.
fn decode(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    }
}

/// Reads and parses the base schema at `path`, or the built-in default when `None`.
///
/// # Errors
/// [`ScanError::Read`] or [`ScanError::InvalidBaseSchema`].
pub fn read_base_schema(path: Option<&Path>) -> Result<BaseSchema, ScanError> {
    let Some(path) = path else {
        return Ok(BaseSchema::default());
    };
    let text = crate::file_io::read_text(path, crate::file_io::MAX_READ_BYTES)
        .map_err(read_error(path))?;
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
/// [`ScanError`] for environment problems; problems of single packages are in the catalog.
pub fn scan_dir(
    packages_dir: &Path,
    base_schema_path: Option<&Path>,
    config: &Config,
) -> Result<Catalog, ScanError> {
    let base = read_base_schema(base_schema_path)?;
    let disk = read_packages(packages_dir, config.limits.max_file_bytes)?;
    Ok(Catalog::build_with_problems(
        disk.sources,
        disk.problems,
        base,
        config,
    ))
}

/// A cheap fingerprint of what [`scan_dir`] would read: each package directory's schema file
/// size and modification time, and the base schema's. Equal fingerprints mean an unchanged
/// catalog, so pages can reuse the last one instead of parsing every file again.
#[must_use]
pub fn fingerprint(packages_dir: &Path, base_schema_path: Option<&Path>) -> String {
    use std::fmt::Write as _;
    let stamp = |path: &Path| match std::fs::metadata(path) {
        Ok(meta) => {
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}:{modified}", meta.len())
        }
        Err(error) => format!("{:?}", error.kind()),
    };
    let mut out = String::new();
    let _ = write!(out, "{}|", stamp(packages_dir));
    if let Some(base) = base_schema_path {
        let _ = write!(out, "base {}|", stamp(base));
    }
    let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(packages_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for name in names {
        let file = packages_dir.join(&name).join(SCHEMA_FILE);
        let _ = write!(out, "{}={}|", name.to_string_lossy(), stamp(&file));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SchemaError;

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
    fn an_invalid_package_directory_name_is_an_error_of_that_directory_only() {
        let dir = TempDir::new("bad-name");
        dir.package("Bad Name", VALID);
        dir.package("good", VALID);
        let catalog = scan_dir(&dir.0, None, &Config::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(catalog.errors.len(), 1);
        assert_eq!(catalog.errors[0].package, "Bad Name");
        assert_eq!(
            catalog.errors[0].message,
            "the directory is not a valid package id: package id \"Bad Name\" must be lowercase letters, digits, _ and -, starting with a letter or digit"
        );
        assert!(catalog.package("good").is_some_and(|p| p.errors.is_empty()));
        assert!(catalog.has_failures());
    }

    /// `(package, message)` of every unreadable package of `dir`; `good` must still be fine.
    fn unreadable(dir: &TempDir) -> Vec<(String, String)> {
        let catalog = scan_dir(&dir.0, None, &Config::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(catalog
            .package("good")
            .is_some_and(|p| p.errors.is_empty() && p.checksum.is_some()));
        catalog
            .packages
            .iter()
            .filter(|p| p.package.as_str() != "good")
            .map(|p| {
                assert_eq!(p.errors.len(), 1, "{p:?}");
                assert_eq!(p.errors[0].error.code(), "unreadable_file");
                let SchemaError::UnreadableFile { reason } = &p.errors[0].error else {
                    panic!("{p:?}")
                };
                (p.package.to_string(), reason.clone())
            })
            .collect()
    }

    fn schema_dir(dir: &TempDir, id: &str) -> PathBuf {
        let path = dir.0.join(id).join("seed/schema");
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("{e}"));
        path
    }

    #[test]
    fn a_schema_file_that_is_not_a_regular_file_is_an_error_of_its_package() {
        use std::os::unix::fs::symlink;
        let dir = TempDir::new("irregular");
        dir.package("good", VALID);
        symlink(
            "/nonexistent/entities.yaml",
            schema_dir(&dir, "dangling").join("entities.yaml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let looped = schema_dir(&dir, "looped");
        symlink(looped.join("entities.yaml"), looped.join("entities.yaml"))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(schema_dir(&dir, "directory").join("entities.yaml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let fifo = schema_dir(&dir, "fifo").join("entities.yaml");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(status.success());
        symlink(
            "/dev/zero",
            schema_dir(&dir, "device").join("entities.yaml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let outside = TempDir::new("irregular-outside");
        outside.package("elsewhere", VALID);
        symlink(outside.0.join("elsewhere"), dir.0.join("escaped"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            unreadable(&dir),
            [
                ("dangling", "seed/schema/entities.yaml is a dangling symlink"),
                ("device", "seed/schema/entities.yaml is a symlink that leads out of the packages directory"),
                ("directory", "seed/schema/entities.yaml is a directory, not a regular file"),
                ("escaped", "the package directory is a symlink that leads out of the packages directory"),
                ("fifo", "seed/schema/entities.yaml is a FIFO, not a regular file"),
                ("looped", "seed/schema/entities.yaml is a symlink loop"),
            ]
            .map(|(p, m)| (p.to_owned(), m.to_owned()))
        );
    }

    #[test]
    fn a_symlink_inside_the_packages_directory_is_followed() {
        use std::os::unix::fs::symlink;
        let dir = TempDir::new("inside-link");
        dir.package("good", VALID);
        let shared = dir.0.join(".shared.yaml");
        std::fs::write(&shared, VALID.replace("Thing", "Linked")).unwrap_or_else(|e| panic!("{e}"));
        symlink(&shared, schema_dir(&dir, "linked").join("entities.yaml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let catalog = scan_dir(&dir.0, None, &Config::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(catalog
            .package("linked")
            .is_some_and(|p| p.errors.is_empty()));
    }

    #[test]
    fn an_unreadable_schema_file_is_an_error_of_its_package() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = TempDir::new("unreadable");
        dir.package("good", VALID);
        dir.package("locked", VALID);
        let seed = dir.0.join("locked/seed");
        std::fs::set_permissions(&seed, std::fs::Permissions::from_mode(0o000))
            .unwrap_or_else(|e| panic!("{e}"));
        // root reads through any permission; the check only means something for other users.
        let readable_anyway = std::fs::read_dir(&seed).is_ok();
        let found = if readable_anyway {
            None
        } else {
            Some(unreadable(&dir))
        };
        std::fs::set_permissions(&seed, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
        if let Some(found) = found {
            assert_eq!(
                found,
                [(
                    "locked".to_owned(),
                    "cannot read seed/schema: permission denied".to_owned()
                )]
            );
        }
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

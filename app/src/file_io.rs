//! Reading and writing the files Schemagate is pointed at (base schema, audit key and anchor,
//! schema and migration output) so that a path can neither exhaust memory, hang the process
//! nor replace what is not a plain file: reads take regular files only, up to a bound, without
//! waiting on a FIFO; writes go through a temporary file beside the target and replace only a
//! regular file (or nothing), and leftover temporary files of earlier runs are removed.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// The largest file read from a path Schemagate is given (base schema, key, anchor): 16 MiB.
pub const MAX_READ_BYTES: u64 = 16 * 1024 * 1024;

/// The mark temporary files carry: `.<name>.schemagate-tmp-<pid>`.
const TEMP_MARK: &str = ".schemagate-tmp-";

fn invalid(path: &Path, why: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("{}: {why}", path.display()),
    )
}

/// Reads `path` as UTF-8 text: a regular file of at most `limit` bytes. A FIFO, a device or a
/// directory is refused at once, without reading or waiting.
///
/// # Errors
/// I/O errors, and `InvalidInput` for what is not a regular file, is larger than `limit` or is
/// not UTF-8.
pub fn read_text(path: &Path, limit: u64) -> std::io::Result<String> {
    // O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(invalid(path, "not a regular file"));
    }
    if metadata.len() > limit {
        return Err(invalid(
            path,
            &format!("{} bytes, more than the {limit} allowed", metadata.len()),
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    // The file may grow while it is read: never read past the bound.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(invalid(
            path,
            &format!("more than the {limit} bytes allowed"),
        ));
    }
    String::from_utf8(bytes).map_err(|_| invalid(path, "not UTF-8 text"))
}

/// Writes `bytes` to `path` through a temporary file in the same directory, synced and renamed
/// over it, so a reader (or a crash) sees the old file or the new one, never half of one. Only
/// a regular file, or nothing, is replaced: a device, a FIFO, a directory or a symbolic link
/// at `path` is refused. Temporary files an interrupted run left beside `path` are removed.
///
/// # Errors
/// I/O errors, and `InvalidInput` when `path` is not a regular file or has no file name.
pub fn write_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    stage(path, bytes, 0o644)?.commit()
}

/// A file written beside its target and not yet renamed over it: [`Staged::commit`] puts it in
/// place; dropped uncommitted, it is removed. For writes that must wait for something else to
/// succeed first (a rotated audit key, once the registry records it).
#[derive(Debug)]
pub struct Staged {
    temp: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl Staged {
    /// Renames the staged file over the target.
    ///
    /// # Errors
    /// I/O errors; the staged file is then kept, and the error names it (a later write of the
    /// same target removes it).
    pub fn commit(mut self) -> std::io::Result<()> {
        // Kept on failure: it may hold what exists nowhere else (a rotated key).
        self.committed = true;
        if let Err(error) = std::fs::rename(&self.temp, &self.path) {
            return Err(std::io::Error::new(
                error.kind(),
                format!(
                    "{}: kept in {}: {error}",
                    self.path.display(),
                    self.temp.display()
                ),
            ));
        }
        if let Some(dir) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if let Ok(dir) = std::fs::File::open(dir) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` (file mode `mode`) to a temporary file beside `path`, synced, to be renamed
/// over `path` by [`Staged::commit`]. Refuses, as [`write_replacing`] does, when `path` is
/// anything but a regular file or nothing.
///
/// # Errors
/// I/O errors, and `InvalidInput` when `path` is not a regular file or has no file name.
pub fn stage(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<Staged> {
    let name = path
        .file_name()
        .ok_or_else(|| invalid(path, "the path has no file name"))?
        .to_string_lossy()
        .into_owned();
    match std::fs::symlink_metadata(path) {
        Ok(existing) if !existing.file_type().is_file() => {
            return Err(invalid(
                path,
                "exists and is not a regular file: refusing to replace it",
            ));
        }
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    remove_leftovers(dir, &name);
    let staged = Staged {
        temp: dir.join(format!(".{name}{TEMP_MARK}{}", std::process::id())),
        path: path.to_path_buf(),
        committed: false,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&staged.temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(staged)
}

/// Removes the temporary files of `name` an earlier, interrupted run left in `dir`.
fn remove_leftovers(dir: &Path, name: &str) {
    let prefix = format!(".{name}{TEMP_MARK}");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let leftovers: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .collect();
    for leftover in leftovers {
        let _ = std::fs::remove_file(leftover);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(test: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("schemagate-file-io-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn devices_fifos_and_directories_are_refused_at_once_and_large_files_are_bounded() {
        let error = read_text(Path::new("/dev/zero"), MAX_READ_BYTES).unwrap_err();
        assert!(
            error.to_string().ends_with("/dev/zero: not a regular file"),
            "{error}"
        );
        let dir = scratch("read");
        let fifo = dir.join("fifo");
        let c_path = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).unwrap();
        // SAFETY: a valid, NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let error = read_text(&fifo, MAX_READ_BYTES).unwrap_err();
        assert!(
            error.to_string().ends_with("fifo: not a regular file"),
            "{error}"
        );
        assert!(read_text(&dir, MAX_READ_BYTES).is_err());
        let big = dir.join("big");
        std::fs::write(&big, vec![b'a'; 2048]).unwrap();
        let error = read_text(&big, 1024).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("2048 bytes, more than the 1024 allowed"),
            "{error}"
        );
        assert_eq!(read_text(&big, 4096).unwrap().len(), 2048);
    }

    #[test]
    fn only_a_regular_file_or_nothing_is_replaced_and_leftovers_are_removed() {
        let error = write_replacing(Path::new("/dev/full"), b"x").unwrap_err();
        assert!(
            error.to_string().contains("is not a regular file"),
            "{error}"
        );
        assert!(!std::fs::metadata("/dev/full")
            .unwrap()
            .file_type()
            .is_file());
        let dir = scratch("write");
        let link = dir.join("link");
        std::os::unix::fs::symlink("/etc/hostname", &link).unwrap();
        assert!(write_replacing(&link, b"x").is_err());
        let target = dir.join("schema.prisma");
        let leftover = dir.join(".schema.prisma.schemagate-tmp-1");
        std::fs::write(&leftover, "half").unwrap();
        write_replacing(&target, b"first").unwrap();
        write_replacing(&target, b"second").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "second");
        assert!(!leftover.exists());
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.contains("schemagate-tmp")),
            "{names:?}"
        );
    }
}

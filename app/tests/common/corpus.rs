//! Where the real corpus is, for the tests and benches that read it (included with `#[path]`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The real corpus: `SCHEMAGATE_CORPUS` (relative to the repository root), else
/// `../shared/corpus/metabuilder` beside the repository. When it is absent, `None`: `test` is
/// recorded in `target/corpus-skipped.txt`, which `make test` prints, and the caller returns
/// without checking anything. Under `CI=true` a missing corpus fails instead.
#[allow(dead_code)]
pub fn corpus_dir(test: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = match std::env::var_os("SCHEMAGATE_CORPUS") {
        Some(dir) => root.join(dir),
        None => root.join("../shared/corpus/metabuilder"),
    };
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").map_or(true, |ci| ci != "true"),
        "the real corpus is required under CI=true, and {} is not a directory: set SCHEMAGATE_CORPUS",
        dir.display()
    );
    let line = format!("{test}: no corpus at {}", dir.display());
    eprintln!("not run: {line}");
    let _ = std::fs::create_dir_all(root.join("target"));
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(root.join("target/corpus-skipped.txt"))
    {
        let _ = writeln!(file, "{line}");
    }
    None
}

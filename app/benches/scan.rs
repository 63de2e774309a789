//! Throughput of the offline pipeline: the corpus replicated to 2,000 packages (entity and
//! index names renamed per copy so nothing conflicts) and written to a temporary directory,
//! then read + parse + validate + checksum (`Catalog::build`) and render the merged Prisma
//! schema, against reading and SHA-256 hashing the same files, both as the yardstick
//! `xargs cat … | sha256sum` does it and in this process. Prints entities per second and the
//! ratios (medians of several runs).
//!
//! Run: `cargo bench -p app --bench scan` (release profile).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use app::domain::{parse_entities, BaseSchema, Catalog, Config, PackageId, PackageSource};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

/// The allocator the `schemagate` binary uses, so the figures are the ones `check` gets.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../tests/common/corpus.rs"]
mod common;

/// The real corpus (`SCHEMAGATE_CORPUS`); without it there is nothing to measure.
fn corpus_path() -> std::path::PathBuf {
    common::corpus_dir("bench scan").unwrap_or_else(|| std::process::exit(0))
}
const PACKAGES: usize = 2_000;
const RUNS: usize = 7;

/// Replaces whole identifier tokens: entity names get a per-copy suffix, and so do index names
/// (constraint names are global in the database).
fn rename(text: &str, entities: &BTreeSet<String>, copy: usize) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        if entities.contains(token.as_str()) {
            out.push_str(&format!("{token}C{copy}"));
        } else if token.ends_with("_idx") {
            out.push_str(&format!("{token}_{copy}"));
        } else {
            out.push_str(token);
        }
        token.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            token.push(c);
        } else {
            flush(&mut token, &mut out);
            out.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

fn main() {
    let config = Config::default();
    let mut originals: Vec<(String, String, BTreeSet<String>)> = std::fs::read_dir(corpus_path())
        .unwrap_or_else(|e| panic!("cannot read the corpus: {e}"))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
            let stem = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let id = stem.split("__").next().unwrap_or_default().to_owned();
            let names = parse_entities(&text, &stem, &config)
                .entities
                .into_iter()
                .map(|e| e.name)
                .collect();
            (id, text, names)
        })
        .collect();
    originals.sort();

    let directory = std::env::temp_dir().join(format!("schemagate-bench-{}", std::process::id()));
    let files: Vec<(PackageId, PathBuf)> = (0..PACKAGES)
        .map(|n| {
            let (id, text, names) = &originals[n % originals.len()];
            let copy = n / originals.len();
            let id = PackageId::parse(&format!("{id}-{copy}")).unwrap_or_else(|e| panic!("{e}"));
            let schema = directory
                .join(id.as_str())
                .join("seed/schema/entities.yaml");
            std::fs::create_dir_all(schema.parent().unwrap_or(&directory))
                .and_then(|()| std::fs::write(&schema, rename(text, names, copy)))
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", schema.display()));
            (id, schema)
        })
        .collect();
    let bytes: u64 = files
        .iter()
        .map(|(_, path)| std::fs::metadata(path).map_or(0, |m| m.len()))
        .sum();

    // The yardstick: every file read and hashed in turn by `cat … | sha256sum`.
    let listing = directory.join("files.txt");
    let names: Vec<String> = files.iter().map(|(_, p)| p.display().to_string()).collect();
    std::fs::write(&listing, names.join("\n") + "\n")
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", listing.display()));
    let cat_and_hash = median(|| {
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("xargs cat < '{}' | sha256sum", listing.display()))
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot run sh: {e}"));
        assert!(status.success(), "cat | sha256sum failed");
    });
    // The same work without starting processes or piping: the least it can cost here.
    let read_and_hash = median(|| {
        let mut hasher = Sha256::new();
        for (_, path) in &files {
            hasher.update(std::fs::read(path).unwrap_or_else(|e| panic!("{e}")));
        }
        hasher.finalize()
    });

    // What `check` does: read every package (on every core), then build the catalog.
    let read_sources = || -> Vec<PackageSource> {
        files
            .par_iter()
            .map(|(id, path)| PackageSource {
                id: id.clone(),
                file: path.display().to_string(),
                text: std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}")),
            })
            .collect()
    };
    let build = || Catalog::build(read_sources(), BaseSchema::default(), &config);
    let built = median(build);
    let catalog = build();
    let entities: usize = catalog.packages.iter().map(|p| p.entities.len()).sum();
    let errors: usize = catalog.packages.iter().map(|p| p.errors.len()).sum();
    assert_eq!(errors, 0, "the replicated corpus must be valid");
    assert!(catalog.conflicts.is_empty());

    let rendered = median(|| catalog.render_schema().unwrap_or_else(|e| panic!("{e}")));
    let schema = catalog.render_schema().unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&directory);

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let per_second = |seconds: f64| {
        if seconds > 0.0 {
            entities as f64 / seconds
        } else {
            f64::INFINITY
        }
    };
    let ratio = |d: Duration, to: Duration| d.as_secs_f64() / to.as_secs_f64().max(f64::EPSILON);
    println!(
        "packages:  {PACKAGES} ({:.1} MiB of YAML), medians of {RUNS} runs",
        bytes as f64 / (1024.0 * 1024.0)
    );
    println!("entities:  {entities}");
    println!(
        "xargs cat | sha256sum (the yardstick): {:>7.1} ms",
        ms(cat_and_hash)
    );
    println!(
        "read + SHA-256 in this process:        {:>7.1} ms",
        ms(read_and_hash)
    );
    for (what, time) in [
        ("read + parse + validate + checksum", built),
        ("render merged schema", rendered),
        ("total", built + rendered),
    ] {
        println!(
            "{what:<38} {:>7.1} ms  ({:.0} entities/s; {:.1}× the yardstick, {:.1}× in-process)",
            ms(time),
            per_second(time.as_secs_f64()),
            ratio(time, cat_and_hash),
            ratio(time, read_and_hash)
        );
    }
    println!(
        "merged schema: {:.1} MiB",
        schema.len() as f64 / (1024.0 * 1024.0)
    );
}

/// The median wall time of [`RUNS`] runs of `run`, after one run that warms the caches. What the
/// runs return is kept until all are timed: `check` never frees its catalog, so no run should
/// spend its time collecting what the one before it freed.
fn median<T>(mut run: impl FnMut() -> T) -> Duration {
    drop(run());
    let mut kept = Vec::with_capacity(RUNS);
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            kept.push(run());
            started.elapsed()
        })
        .collect();
    drop(kept);
    times.sort();
    times[RUNS / 2]
}

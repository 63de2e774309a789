//! Throughput of the offline pipeline: the corpus replicated to 2,000 packages (entity and
//! index names renamed per copy so nothing conflicts), then parse + validate + checksum
//! (`Catalog::build`) and render the merged Prisma schema. Prints entities per second.
//!
//! Run: `cargo bench -p app --bench scan` (release profile).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use app::domain::{parse_entities, BaseSchema, Catalog, Config, PackageId, PackageSource};

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/corpus/metabuilder"
);
const PACKAGES: usize = 2_000;

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
    let mut originals: Vec<(String, String, BTreeSet<String>)> =
        std::fs::read_dir(Path::new(CORPUS))
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

    let sources: Vec<PackageSource> = (0..PACKAGES)
        .map(|n| {
            let (id, text, names) = &originals[n % originals.len()];
            let copy = n / originals.len();
            PackageSource {
                id: PackageId::parse(&format!("{id}-{copy}")).unwrap_or_else(|e| panic!("{e}")),
                file: format!("{id}-{copy}/seed/schema/entities.yaml"),
                text: rename(text, names, copy),
            }
        })
        .collect();
    let bytes: usize = sources.iter().map(|s| s.text.len()).sum();

    let started = Instant::now();
    let catalog = Catalog::build(sources, BaseSchema::default(), &config);
    let built = started.elapsed();
    let entities: usize = catalog.packages.iter().map(|p| p.entities.len()).sum();
    let errors: usize = catalog.packages.iter().map(|p| p.errors.len()).sum();
    assert_eq!(errors, 0, "the replicated corpus must be valid");
    assert!(catalog.conflicts.is_empty());

    let render_started = Instant::now();
    let schema = catalog.render_schema().unwrap_or_else(|e| panic!("{e}"));
    let rendered = render_started.elapsed();
    let total = started.elapsed();

    let per_second = |count: usize, seconds: f64| {
        if seconds > 0.0 {
            count as f64 / seconds
        } else {
            f64::INFINITY
        }
    };
    println!(
        "packages:  {PACKAGES} ({:.1} MiB of YAML)",
        bytes as f64 / (1024.0 * 1024.0)
    );
    println!("entities:  {entities}");
    println!(
        "parse + validate + checksum: {:>8.1} ms  ({:.0} entities/s)",
        built.as_secs_f64() * 1e3,
        per_second(entities, built.as_secs_f64())
    );
    println!(
        "render merged schema:        {:>8.1} ms  ({:.0} entities/s, {:.1} MiB)",
        rendered.as_secs_f64() * 1e3,
        per_second(entities, rendered.as_secs_f64()),
        schema.len() as f64 / (1024.0 * 1024.0)
    );
    println!(
        "total:                       {:>8.1} ms  ({:.0} entities/s)",
        total.as_secs_f64() * 1e3,
        per_second(entities, total.as_secs_f64())
    );
}

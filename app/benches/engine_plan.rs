//! Planning speed of Prisma's schema engine: the SQL of every corpus package, in one engine
//! process. Each package is planned twice:
//! - alone: from the base schema to the base schema plus that package;
//! - in sequence: from the schema of all packages before it (in name order) to that schema plus
//!   it, the way the restart job meets them, so later plans start from a bigger schema.
//!
//! The first call (engine start, database connection) and the first round (the engine's code
//! still warming up) are reported on their own; `ROUNDS` (default 5) sets the number of rounds. Needs a
//! PostgreSQL server in `DATABASE_URL` (plans never write to it) and the engine's npm packages:
//! `make engine-deps`, then
//! `target/debug/schemagate --data-dir target/test-db db run -- cargo bench -p app --features ssr --bench engine_plan`
//! (`--profile dev` reuses the test build; the time is spent in the engine either way).

use std::time::{Duration, Instant};

use app::domain::{BaseSchema, Catalog, Config, PackageId, PackageSource};
use app::engine::{Engine, EngineConfig};

#[path = "../tests/common/corpus.rs"]
mod common;

/// The real corpus (`SCHEMAGATE_CORPUS`); without it there is nothing to measure.
fn corpus_path() -> std::path::PathBuf {
    common::corpus_dir("bench engine_plan").unwrap_or_else(|| std::process::exit(0))
}

fn corpus() -> Vec<PackageSource> {
    let mut sources: Vec<PackageSource> = std::fs::read_dir(corpus_path())
        .unwrap_or_else(|e| panic!("cannot read the corpus: {e}"))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .map(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let id = name
                .split("__")
                .next()
                .unwrap_or_default()
                .replace('_', "-");
            PackageSource {
                id: PackageId::parse(&id).unwrap_or_else(|e| panic!("{e}")),
                file: format!("{id}/seed/schema/entities.yaml"),
                text: std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}")),
            }
        })
        .collect();
    sources.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    sources
}

fn render(sources: &[PackageSource]) -> String {
    let catalog = Catalog::build(sources.to_vec(), BaseSchema::default(), &Config::default());
    catalog
        .render_schema()
        .unwrap_or_else(|e| panic!("the corpus must render: {e}"))
}

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
    let total: Duration = times.iter().sum();
    println!(
        "{label:<12} {:>3} plans  median {:>6.1} ms  p95 {:>6.1} ms  max {:>6.1} ms  total {:>7.1} ms",
        times.len(),
        ms(at(0.5)),
        ms(at(0.95)),
        ms(times[times.len() - 1]),
        ms(total)
    );
}

/// Plans every package alone and in sequence; returns the time of each plan.
async fn plan_round(
    engine: &Engine,
    sources: &[PackageSource],
    base: &str,
) -> (Vec<Duration>, Vec<Duration>) {
    let (mut alone, mut in_sequence) = (Vec::new(), Vec::new());
    for (n, source) in sources.iter().enumerate() {
        let to = render(std::slice::from_ref(source));
        let started = Instant::now();
        let plan = engine
            .plan(Some(base), &to)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        alone.push(started.elapsed());
        assert!(!plan.empty, "{} plans nothing", source.id.as_str());

        let (before, after) = (render(&sources[..n]), render(&sources[..=n]));
        let started = Instant::now();
        let plan = engine
            .plan(Some(&before), &after)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        in_sequence.push(started.elapsed());
        assert!(
            !plan.empty,
            "{} plans nothing after the others",
            source.id.as_str()
        );
    }
    (alone, in_sequence)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL (run under `schemagate db run`)");
    let engine = Engine::new(EngineConfig::from_env(url).expect("the engine directory"));
    let sources = corpus();
    let base = render(&[]);

    let started = Instant::now();
    let version = engine.version().await.expect("the engine starts");
    println!(
        "engine {} on {}",
        version.engine,
        version.database.split(" on ").next().unwrap_or_default()
    );
    println!(
        "first call (start + connect): {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );

    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let (mut alone, mut in_sequence) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let (round_alone, round_in_sequence) = plan_round(&engine, &sources, &base).await;
        if round == 0 {
            println!(
                "{} packages; first round (engine warming up):",
                sources.len()
            );
            report("alone", round_alone);
            report("in sequence", round_in_sequence);
        } else {
            alone.extend(round_alone);
            in_sequence.extend(round_in_sequence);
        }
    }
    if rounds > 1 {
        println!("next {} rounds:", rounds - 1);
        report("alone", alone);
        report("in sequence", in_sequence);
    }

    let everything = render(&sources);
    let started = Instant::now();
    let plan = engine
        .plan(None, &everything)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "whole corpus from an empty database: {:.1} ms ({} statements)",
        started.elapsed().as_secs_f64() * 1e3,
        plan.sql.matches(";\n").count()
    );
    engine.shutdown().await;
}

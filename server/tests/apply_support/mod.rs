//! Helpers for the restart job's tests on the platform database: packages written to a work
//! directory, scanned and approved through the CLI, `apply` through the built-in engine, and a
//! blocking SQL handle on the test database (the platform database of these tests).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use crate::support::{fresh_database, fresh_dir, run_cli, stdout_of};

/// Writes package `id`'s `entities.yaml` into `dir/packages`.
pub fn write_package(dir: &Path, id: &str, yaml: &str) {
    let schema = dir.join("packages").join(id).join("seed/schema");
    std::fs::create_dir_all(&schema).unwrap();
    std::fs::write(schema.join("entities.yaml"), yaml).unwrap();
}

/// A fresh database with admin `alice` and a work directory.
pub fn platform_with_admin(name: &str) -> (String, PathBuf) {
    let db = fresh_database(name);
    let dir = fresh_dir(name);
    stdout_of(&run_cli(
        &db,
        &["user", "add", "alice", "--role", "admin"],
        "long enough\n",
    ));
    (db, dir)
}

/// One JSON document on stdout of a run that succeeded.
#[track_caller]
pub fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout_of(output)).expect("one JSON document on stdout")
}

/// Scans the work directory's packages; the id of the change created for `package`.
#[track_caller]
pub fn scan_for(db: &str, dir: &Path, package: &str) -> String {
    let packages = dir.join("packages");
    let scan = json(&run_cli(
        db,
        &["--packages", packages.to_str().unwrap(), "scan", "--json"],
        "",
    ));
    created(&scan, package)
}

/// The change a scan report (`scan --json`) created for `package`.
#[track_caller]
pub fn created(report: &serde_json::Value, package: &str) -> String {
    report["created"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["package"] == package)
        .unwrap_or_else(|| panic!("no change for {package}: {report}"))["change"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `approve ID --as alice` (typed confirmations answered from the change's own words).
pub fn approve(db: &str, id: &str) -> std::process::Output {
    run_cli(db, &["approve", id, "--as", "alice"], "")
}

/// `apply` through the built-in engine, the schema written into `dir`, with `extra` flags.
pub fn engine_apply(db: &str, dir: &Path, extra: &[&str]) -> std::process::Output {
    let schema_out = dir.join("schema.prisma");
    let mut args = vec![
        "apply",
        "--schema-out",
        schema_out.to_str().unwrap(),
        "--json",
    ];
    args.extend(extra);
    run_cli(db, &args, "")
}

/// Writes `yaml` as package `id`, scans, approves and applies it; the change's id.
#[track_caller]
pub fn applied(db: &str, dir: &Path, id: &str, yaml: &str) -> String {
    write_package(dir, id, yaml);
    let change = scan_for(db, dir, id);
    stdout_of(&approve(db, &change));
    let run = engine_apply(db, dir, &[]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    change
}

/// `show ID --json`.
pub fn show(db: &str, id: &str) -> serde_json::Value {
    json(&run_cli(db, &["show", id, "--json"], ""))
}

/// A blocking handle on one connection to the test database.
pub struct Sql {
    runtime: tokio::runtime::Runtime,
    conn: sqlx::PgConnection,
}

impl Sql {
    /// Connects to `url`.
    pub fn connect(url: &str) -> Sql {
        use sqlx::Connection;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let conn = runtime
            .block_on(sqlx::PgConnection::connect(url))
            .expect("connect to the test database");
        Sql { runtime, conn }
    }

    /// Runs `sql`, which may hold several statements.
    pub fn script(&mut self, sql: &str) {
        self.runtime
            .block_on(sqlx::raw_sql(sql).execute(&mut self.conn))
            .expect(sql);
    }

    /// The first column of every row, as text.
    pub fn strings(&mut self, sql: &str) -> Vec<String> {
        self.runtime
            .block_on(sqlx::query_scalar(sql).fetch_all(&mut self.conn))
            .expect(sql)
    }

    /// One bigint.
    pub fn count(&mut self, sql: &str) -> i64 {
        self.runtime
            .block_on(sqlx::query_scalar(sql).fetch_one(&mut self.conn))
            .expect(sql)
    }
}

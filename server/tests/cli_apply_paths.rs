//! Where `schemagate apply` writes: by default under the data directory, never into the
//! current directory's `migrations/` (a repository's own SQL migrations); a migrations
//! directory implied by `--schema-out` that holds SQL files is refused; and a migrate command
//! that exits 0 without recording its migration fails saying what is missing.

mod support;

use std::path::{Path, PathBuf};

use support::{fresh_database, fresh_dir, run_cli, schemagate, stdout_of};

const FORUM: &str = "entities:
  - name: ForumThread
    fields:
      id: { type: cuid, primary: true, generated: true }
      title: { type: string, required: true }
";

/// A database with admin `alice` and package forum scanned and approved; the database and the
/// change's id.
fn approved(name: &str, dir: &Path) -> (String, String) {
    let db = fresh_database(name);
    let schema = dir.join("packages/forum/seed/schema");
    std::fs::create_dir_all(&schema).unwrap();
    std::fs::write(schema.join("entities.yaml"), FORUM).unwrap();
    stdout_of(&run_cli(
        &db,
        &["user", "add", "alice", "--role", "admin"],
        "long enough\n",
    ));
    let packages = dir.join("packages");
    let scan: serde_json::Value = serde_json::from_str(&stdout_of(&run_cli(
        &db,
        &["--packages", packages.to_str().unwrap(), "scan", "--json"],
        "",
    )))
    .unwrap();
    let id = scan["created"][0]["change"].as_str().unwrap().to_string();
    stdout_of(&run_cli(&db, &["approve", &id, "--as", "alice"], ""));
    (db, id)
}

/// A repository root: `migrations/` with the repository's own SQL migrations.
fn repository(dir: &Path) -> PathBuf {
    let migrations = dir.join("migrations");
    std::fs::create_dir_all(&migrations).unwrap();
    std::fs::write(
        migrations.join("0001_init.sql"),
        "create table t (id int);\n",
    )
    .unwrap();
    migrations
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `apply` run inside `cwd` with the environment `run_cli` gives.
fn apply_in(cwd: &Path, db: &str, args: &[&str]) -> std::process::Output {
    schemagate()
        .current_dir(cwd)
        .env("DATABASE_URL", db)
        .env("SCHEMAGATE_PLATFORM_DATABASE_URL", db)
        .env_remove("SCHEMAGATE_SCHEMA_OUT")
        .env_remove("SCHEMAGATE_MIGRATIONS_DIR")
        .env_remove("SCHEMAGATE_DATA_DIR")
        .arg("apply")
        .args(args)
        .output()
        .expect("run schemagate apply")
}

#[test]
fn apply_run_from_a_repository_root_leaves_its_migrations_alone() {
    let dir = fresh_dir("apply_paths_default");
    let (db, id) = approved("apply_paths_default", &dir);
    let migrations = repository(&dir);

    let out = apply_in(&dir, &db, &["--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(report["applied"][0]["id"], id.as_str(), "{report}");

    assert_eq!(listing(&migrations), ["0001_init.sql"]);
    assert!(!dir.join("schema.prisma").exists());
    let platform = dir.join(".schemagate/platform");
    assert!(std::fs::read_to_string(platform.join("schema.prisma"))
        .unwrap()
        .contains("model ForumThread {"));
    assert!(
        listing(&platform.join("migrations"))
            .iter()
            .any(|name| name.ends_with("_forum") || name.contains("forum")),
        "{:?}",
        listing(&platform.join("migrations"))
    );
}

#[test]
fn a_schema_file_beside_sql_migrations_is_refused_before_anything_is_touched() {
    let dir = fresh_dir("apply_paths_refused");
    let (db, id) = approved("apply_paths_refused", &dir);
    let migrations = repository(&dir);

    let out = apply_in(&dir, &db, &["--schema-out", "schema.prisma"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refusing to write Prisma migrations into ./migrations: it holds 0001_init.sql, which is no Prisma migration"),
        "{stderr}"
    );
    assert!(stderr.contains("pass --migrations-dir"), "{stderr}");
    assert_eq!(listing(&migrations), ["0001_init.sql"]);
    assert!(!dir.join("schema.prisma").exists());
    let shown: serde_json::Value =
        serde_json::from_str(&stdout_of(&run_cli(&db, &["show", &id, "--json"], ""))).unwrap();
    assert_eq!(shown["status"], "approved");

    // Said where they go, the run goes ahead.
    let elsewhere = dir.join("prisma-migrations");
    let out = apply_in(
        &dir,
        &db,
        &[
            "--schema-out",
            "schema.prisma",
            "--migrations-dir",
            elsewhere.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(listing(&migrations), ["0001_init.sql"]);
}

#[test]
fn a_migrate_command_that_exits_0_without_recording_its_migration_says_what_is_missing() {
    let dir = fresh_dir("apply_paths_unrecorded");
    let (db, id) = approved("apply_paths_unrecorded", &dir);
    let out = apply_in(&dir, &db, &["--migrate-cmd", "true", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let detail = report["failed"][0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("was not applied: the migrate command exited 0, but _prisma_migrations has no finished row for ")
            && detail.contains("prisma migrate deploy"),
        "{report}"
    );
    assert!(!detail.contains("exit status 0"), "{detail}");
    let shown: serde_json::Value =
        serde_json::from_str(&stdout_of(&run_cli(&db, &["show", &id, "--json"], ""))).unwrap();
    assert_eq!(shown["status"], "failed");
    assert!(
        shown["apply_log"]
            .as_str()
            .unwrap_or_default()
            .contains("_prisma_migrations has no finished row"),
        "{shown}"
    );
}

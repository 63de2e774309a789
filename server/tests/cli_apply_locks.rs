//! Migrations never wait forever: `schemagate apply` sets `lock_timeout` and
//! `statement_timeout` on every migration, retries a lock timeout with a growing pause, and
//! reports each wait in the change's log and the audit log. Run on a real PostgreSQL database,
//! with another session holding a lock on the table the change alters.

mod apply_support;
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use apply_support::{applied, approve, scan_for, show, write_package, Sql};
use support::{run_cli, schemagate, stdout_of};

fn notes_yaml(max_length: u32) -> String {
    format!(
        "entities:
  - name: Note
    fields:
      id: {{ type: cuid, primary: true, generated: true }}
      tenantId: {{ type: string, required: true }}
      title: {{ type: string, required: true, maxLength: {max_length} }}
    relations:
      - name: tenant
        type: belongsTo
        entity: Tenant
        field: tenantId
    acl:
      read: [user]
"
    )
}

/// The `Note` table applied, and an approved change that widens `title` (an `ALTER TABLE`,
/// which waits for every other lock on the table).
fn approved_alteration(name: &str) -> (String, std::path::PathBuf, String) {
    let (db, dir) = apply_support::platform_with_admin(name);
    applied(&db, &dir, "notes", &notes_yaml(100));
    write_package(&dir, "notes", &notes_yaml(300));
    let change = scan_for(&db, &dir, "notes");
    stdout_of(&approve(&db, &change));
    (db, dir, change)
}

fn apply_command(db: &str, dir: &std::path::Path, extra: &[&str]) -> std::process::Command {
    let mut command = schemagate();
    command
        .env("DATABASE_URL", db)
        .env("SCHEMAGATE_PLATFORM_DATABASE_URL", db)
        .args([
            "apply",
            "--schema-out",
            dir.join("schema.prisma").to_str().unwrap(),
            "--json",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn lock_waits(db: &str, change: &str) -> Vec<serde_json::Value> {
    let events: serde_json::Value =
        serde_json::from_str(&stdout_of(&run_cli(db, &["audit", "list", "--json"], ""))).unwrap();
    let list = events
        .as_array()
        .cloned()
        .or_else(|| events["events"].as_array().cloned())
        .unwrap_or_default();
    list.into_iter()
        .filter(|e| e["action"] == "change.lock_wait" && e["change_id"] == change)
        .collect()
}

#[test]
fn a_migration_behind_a_held_lock_times_out_retries_and_applies_once_the_lock_is_released() {
    let (db, dir, change) = approved_alteration("apply_lock_released");
    // Another session reads the table inside an open transaction: its ACCESS SHARE lock makes
    // the ALTER TABLE wait. Pauses: 1 s, 2 s, 4 s, 8 s.
    let mut holder = Sql::connect(&db);
    holder.script("begin; lock table \"Note\" in access share mode;");

    let started = Instant::now();
    let child = apply_command(
        &db,
        &dir,
        &[
            "--lock-timeout",
            "1s",
            "--lock-retry-backoff",
            "1s",
            "--lock-retries",
            "4",
        ],
    )
    .spawn()
    .unwrap();
    // The lock is released once the job reported two waits; a later attempt finds it free.
    let mut watcher = Sql::connect(&db);
    let deadline = Instant::now() + Duration::from_secs(60);
    while watcher
        .count("select count(*) from schemagate.audit_event where action = 'change.lock_wait'")
        < 2
    {
        assert!(Instant::now() < deadline, "no lock waits reported");
        std::thread::sleep(Duration::from_millis(50));
    }
    holder.script("rollback;");
    let released_at = started.elapsed();
    let run = child.wait_with_output().unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let shown = show(&db, &change);
    assert_eq!(shown["status"], "applied", "{shown}");
    let log = shown["apply_log"].as_str().unwrap_or_default();
    let waits: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("gave up waiting for a lock"))
        .collect();
    // Two waits, or three when the lock went just as the third attempt gave up.
    assert!((2..=3).contains(&waits.len()), "{log}");
    for (n, (line, pause)) in waits.iter().zip(["1 s", "2 s", "4 s"]).enumerate() {
        assert!(
            line.starts_with(&format!("attempt {} of 5: migration ", n + 1))
                && line.contains("lock_timeout 1000 ms, SQLSTATE 55P03")
                && line.contains("canceling statement due to lock timeout")
                && line.contains("nothing of it took effect")
                && line.ends_with(&format!("trying again in {pause}")),
            "{line}"
        );
    }
    let audited = lock_waits(&db, &change);
    assert_eq!(audited.len(), waits.len(), "{audited:?}");
    assert_eq!(audited[1]["details"]["retry_in_ms"], 2000, "{audited:?}");
    let waited = audited[0]["details"]["waited_ms"].as_u64().unwrap();
    assert!((1000..3000).contains(&waited), "{audited:?}");
    eprintln!("lock released after {released_at:?}; apply took {took:?}; waits: {waits:#?}");

    // The widened column is in place, the history holds one finished row for the change and
    // the rolled-back attempts, and the migration file carries the gate's timeouts.
    let mut sql = Sql::connect(&db);
    assert_eq!(
        sql.count("select character_maximum_length::bigint from information_schema.columns where table_name = 'Note' and column_name = 'title'"),
        300
    );
    assert_eq!(
        sql.count("select count(*) from _prisma_migrations where migration_name like '%notes%' and finished_at is not null and rolled_back_at is null"),
        2
    );
    assert_eq!(
        sql.count("select count(*) from _prisma_migrations where rolled_back_at is not null"),
        i64::try_from(waits.len()).unwrap()
    );
    let status = apply_support::json(&run_cli(&db, &["db", "status", "--json"], ""));
    assert!(status["drift"].is_null(), "{status}");
    let migration = std::fs::read_dir(dir.join("migrations"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path().join("migration.sql"))
        .filter(|p| p.is_file())
        .map(|p| std::fs::read_to_string(p).unwrap())
        .find(|text| text.contains("VARCHAR(300)"))
        .expect("the change's migration file");
    assert!(
        migration.contains(
            "SET LOCAL lock_timeout = '1000ms';\nSET LOCAL statement_timeout = '300000ms';"
        ),
        "{migration}"
    );
}

#[test]
fn a_lock_held_through_every_retry_fails_the_change_leaving_nothing_and_a_retry_applies_it() {
    let (db, dir, change) = approved_alteration("apply_lock_held");
    let mut holder = Sql::connect(&db);
    holder.script("begin; lock table \"Note\" in access share mode;");
    let args = [
        "--lock-timeout",
        "500ms",
        "--lock-retry-backoff",
        "200ms",
        "--lock-retries",
        "1",
    ];
    let run = apply_command(&db, &dir, &args).output().unwrap();
    assert_eq!(run.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["failed"][0]["reason"], "migrate", "{report}");
    let shown = show(&db, &change);
    let log = shown["apply_log"].as_str().unwrap_or_default();
    assert!(
        log.contains("attempt 1 of 2: migration ")
            && log.contains("gave up after 2 attempts, each waiting 500 ms for a lock"),
        "{log}"
    );
    assert_eq!(lock_waits(&db, &change).len(), 1);

    holder.script("rollback;");
    stdout_of(&run_cli(&db, &["retry", &change, "--as", "alice"], ""));
    let again = apply_command(&db, &dir, &args).output().unwrap();
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert_eq!(show(&db, &change)["status"], "applied");
}

#[test]
fn a_statement_timeout_as_long_as_the_migrate_timeout_is_refused_before_anything_runs() {
    let (db, dir) = apply_support::platform_with_admin("apply_timeouts_refused");
    let run = apply_command(
        &db,
        &dir,
        &["--statement-timeout", "10min", "--migrate-timeout", "600"],
    )
    .output()
    .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr
            .contains("--statement-timeout (600 s) must be shorter than --migrate-timeout (600 s)"),
        "{stderr}"
    );
    let zero = apply_command(&db, &dir, &["--lock-timeout", "0"])
        .output()
        .unwrap();
    assert_eq!(zero.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&zero.stderr)
        .contains("is zero, which PostgreSQL takes as no timeout at all"));
}

#[test]
fn the_platforms_own_migrate_command_is_retried_on_a_lock_timeout_as_well() {
    let (db, dir, change) = approved_alteration("apply_lock_command");
    let mut holder = Sql::connect(&db);
    holder.script("begin; lock table \"Note\" in access share mode;");
    let deploy = concat!(
        "'",
        env!("CARGO_BIN_EXE_schemagate"),
        "' db deploy \"$SCHEMAGATE_MIGRATIONS_DIR\""
    );
    let child = apply_command(
        &db,
        &dir,
        &[
            "--migrate-cmd",
            deploy,
            "--lock-timeout",
            "1s",
            "--lock-retry-backoff",
            "1s",
            "--lock-retries",
            "5",
        ],
    )
    .spawn()
    .unwrap();
    let mut watcher = Sql::connect(&db);
    let deadline = Instant::now() + Duration::from_secs(60);
    while watcher
        .count("select count(*) from schemagate.audit_event where action = 'change.lock_wait'")
        < 1
    {
        assert!(Instant::now() < deadline, "no lock wait reported");
        std::thread::sleep(Duration::from_millis(50));
    }
    holder.script("rollback;");
    let run = child.wait_with_output().unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let shown = show(&db, &change);
    let log = shown["apply_log"].as_str().unwrap_or_default();
    assert!(
        log.contains("attempt 1 of 6: migration ")
            && log.contains("canceling statement due to lock timeout"),
        "{log}"
    );
    assert_eq!(shown["status"], "applied");
}

//! The restart job (`schemagate apply`) and `schemagate retry`, run as the built binary against
//! a fresh database each: the happy path, failures, integrity and drift, two concurrent
//! runners, and a run killed with SIGKILL over and over.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::{fresh_database, fresh_dir, run_cli, schemagate, stdout_of};

fn package_yaml(entity: &str, max_length: u32) -> String {
    format!(
        "entities:
  - name: {entity}
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

fn write_package(dir: &Path, id: &str, yaml: &str) {
    let schema = dir.join("packages").join(id).join("seed/schema");
    std::fs::create_dir_all(&schema).unwrap();
    std::fs::write(schema.join("entities.yaml"), yaml).unwrap();
}

/// A database with admin `alice`, reviewer `rita`, and `packages` (id, entity) scanned and
/// approved in the given order. Returns the database, the work directory and the change ids.
fn approved(name: &str, packages: &[(&str, &str)]) -> (String, PathBuf, Vec<String>) {
    let db = fresh_database(name);
    let dir = fresh_dir(name);
    for (id, entity) in packages {
        write_package(&dir, id, &package_yaml(entity, 200));
    }
    stdout_of(&run_cli(
        &db,
        &["user", "add", "alice", "--role", "admin"],
        "long enough\n",
    ));
    stdout_of(&run_cli(
        &db,
        &["user", "add", "rita", "--role", "reviewer"],
        "long enough\n",
    ));
    let ids = scan_and_approve(
        &db,
        &dir,
        &packages.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
    );
    (db, dir, ids)
}

/// Scans the work directory's packages and approves the new changes of `order`, in that order.
fn scan_and_approve(db: &str, dir: &Path, order: &[&str]) -> Vec<String> {
    let packages = dir.join("packages");
    let scan = json(&run_cli(
        db,
        &["--packages", packages.to_str().unwrap(), "scan", "--json"],
        "",
    ));
    let created = scan["created"].as_array().unwrap();
    let ids: Vec<String> = order
        .iter()
        .filter_map(|package| created.iter().find(|c| c["package"] == *package))
        .map(|c| c["change"].as_str().unwrap().to_string())
        .collect();
    let mut args = vec!["approve"];
    args.extend(ids.iter().map(String::as_str));
    args.extend(["--as", "alice"]);
    stdout_of(&run_cli(db, &args, ""));
    ids
}

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout_of(output)).expect("one JSON document on stdout")
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `apply` with the schema written into `dir` and `migrate` run inside `dir`.
fn apply_args(dir: &Path, migrate: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "apply".to_string(),
        "--schema-out".to_string(),
        dir.join("schema.prisma").display().to_string(),
        "--migrate-cmd".to_string(),
        format!("cd '{}' && {migrate}", dir.display()),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn apply(db: &str, dir: &Path, migrate: &str, extra: &[&str]) -> std::process::Output {
    let args = apply_args(dir, migrate, extra);
    run_cli(db, &args.iter().map(String::as_str).collect::<Vec<_>>(), "")
}

/// `apply --json` through the built-in engine (no migrate command), the schema written into `dir`.
fn engine_apply(db: &str, dir: &Path) -> std::process::Output {
    let schema_out = dir.join("schema.prisma");
    let args = [
        "apply",
        "--schema-out",
        schema_out.to_str().unwrap(),
        "--json",
    ];
    run_cli(db, &args, "")
}

/// The ids of the changes an `apply --json` report lists as applied, in order.
fn applied_ids(report: &serde_json::Value) -> Vec<&str> {
    report["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect()
}

fn show(db: &str, id: &str) -> serde_json::Value {
    json(&run_cli(db, &["show", id, "--json"], ""))
}

/// Applies the change's migration as a platform's `prisma migrate deploy` would.
const DEPLOY: &str = concat!(
    "'",
    env!("CARGO_BIN_EXE_schemagate"),
    "' db deploy \"$SCHEMAGATE_MIGRATIONS_DIR\" > /dev/null"
);

/// Records each call (package, change) and the schema it was given, then applies the change's
/// migration as a platform's `prisma migrate deploy` would (the job checks that it ran).
const RECORDING: &str = concat!(
    "echo \"$SCHEMAGATE_PACKAGE $SCHEMAGATE_CHANGE_ID\" >> calls && cp \"$SCHEMAGATE_SCHEMA\" \"seen-$SCHEMAGATE_PACKAGE.prisma\"",
    " && test -f \"$SCHEMAGATE_MIGRATIONS_DIR/$SCHEMAGATE_MIGRATION/migration.sql\" && '",
    env!("CARGO_BIN_EXE_schemagate"),
    "' db deploy \"$SCHEMAGATE_MIGRATIONS_DIR\" > /dev/null"
);

fn calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("calls"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A blocking handle on the test database, for what the CLI does not show.
struct Sql {
    runtime: tokio::runtime::Runtime,
    conn: sqlx::PgConnection,
}

impl Sql {
    fn connect(url: &str) -> Sql {
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

    fn execute(&mut self, sql: &str) {
        self.runtime
            .block_on(sqlx::query(sql).execute(&mut self.conn))
            .expect(sql);
    }

    /// Runs `sql`, which may hold several statements, as one implicit transaction.
    fn script(&mut self, sql: &str) {
        self.runtime
            .block_on(sqlx::raw_sql(sql).execute(&mut self.conn))
            .expect(sql);
    }

    fn strings(&mut self, sql: &str) -> Vec<String> {
        self.runtime
            .block_on(sqlx::query_scalar(sql).fetch_all(&mut self.conn))
            .expect(sql)
    }

    fn count(&mut self, sql: &str) -> i64 {
        self.runtime
            .block_on(sqlx::query_scalar(sql).fetch_one(&mut self.conn))
            .expect(sql)
    }
}

#[test]
fn apply_applies_approved_changes_in_order_writes_a_valid_schema_and_a_second_run_is_a_no_op() {
    let (db, dir, ids) = approved(
        "apply_happy",
        &[("forum", "ForumThread"), ("wiki", "WikiPage")],
    );
    let generated = stdout_of(&run_cli(&db, &["generate"], ""));

    let report = json(&apply(&db, &dir, RECORDING, &["--json"]));
    let applied = applied_ids(&report);
    assert_eq!(applied, ids);
    assert_eq!(
        (
            report["failed"].as_array().unwrap().len(),
            report["skipped"].as_array().unwrap().len()
        ),
        (0, 0)
    );
    assert_eq!(
        calls(&dir),
        [format!("forum {}", ids[0]), format!("wiki {}", ids[1])]
    );

    // Each call saw the applied state plus its own change, and nothing queued after it.
    let first = std::fs::read_to_string(dir.join("seen-forum.prisma")).unwrap();
    assert!(
        first.contains("model ForumThread {") && !first.contains("model WikiPage"),
        "{first}"
    );
    let schema = std::fs::read_to_string(dir.join("schema.prisma")).unwrap();
    assert!(
        schema.contains("model ForumThread {") && schema.contains("model WikiPage {"),
        "{schema}"
    );
    assert_eq!(schema, generated, "generate renders what apply writes");
    assert_eq!(stdout_of(&run_cli(&db, &["generate"], "")), schema);
    let oracle = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/prisma-oracle");
    std::fs::create_dir_all(&oracle).unwrap();
    std::fs::write(oracle.join("cli_apply.prisma"), &schema).unwrap();

    let list = json(&run_cli(&db, &["list", "--json"], ""));
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "applied"),
        "{list}"
    );
    let forum = show(&db, &ids[0]);
    assert!(forum["applied_at"].is_string());
    assert!(
        forum["apply_log"]
            .as_str()
            .unwrap()
            .contains("exit status 0"),
        "{forum}"
    );

    let again = apply(&db, &dir, RECORDING, &[]);
    assert!(
        stdout_of(&again).contains("nothing to apply"),
        "{}",
        stdout_of(&again)
    );
    assert_eq!(
        calls(&dir).len(),
        2,
        "the second run ran no migrate command"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("schema.prisma")).unwrap(),
        schema
    );

    // A fresh container has no schema file: the run writes the applied state.
    std::fs::remove_file(dir.join("schema.prisma")).unwrap();
    let fresh = json(&apply(&db, &dir, RECORDING, &["--json"]));
    assert_eq!(fresh["schema_updated"], true);
    assert_eq!(
        std::fs::read_to_string(dir.join("schema.prisma")).unwrap(),
        schema
    );

    let status = json(&run_cli(&db, &["status", "--json"], ""));
    assert_eq!(status["counts"]["applied"], 2);
    assert_eq!(status["last_apply"]["action"], "apply.finished");
    assert!(stdout_of(&run_cli(&db, &["audit", "verify"], "")).starts_with("audit log intact"));
}

#[test]
fn a_failing_migrate_command_fails_the_change_with_its_output_and_exit_1_and_an_admin_can_retry_it()
{
    let (db, dir, ids) = approved(
        "apply_failing",
        &[("forum", "ForumThread"), ("wiki", "WikiPage")],
    );
    let failing = format!("if [ \"$SCHEMAGATE_PACKAGE\" = forum ]; then echo 'applying 1 migration'; echo 'P3018: relation exists' >&2; exit 7; fi; {DEPLOY}");
    let out = apply(&db, &dir, &failing, &["--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failed"][0]["id"], ids[0].as_str(), "{report}");
    assert_eq!(report["failed"][0]["reason"], "migrate");
    // The other change does not depend on it: it is applied.
    assert_eq!(report["applied"][0]["id"], ids[1].as_str(), "{report}");

    let forum = show(&db, &ids[0]);
    assert_eq!(
        (forum["status"].as_str(), forum["failure_reason"].as_str()),
        (Some("failed"), Some("migrate"))
    );
    let log = forum["apply_log"].as_str().unwrap();
    assert!(
        log.contains("applying 1 migration")
            && log.contains("P3018: relation exists")
            && log.contains("exit status 7"),
        "{log}"
    );
    assert_eq!(
        show(&db, &ids[1])["status"],
        "applied",
        "the independent change is applied"
    );
    let schema = std::fs::read_to_string(dir.join("schema.prisma")).unwrap();
    assert!(
        !schema.contains("ForumThread"),
        "the schema file is back at the applied state:\n{schema}"
    );

    let reviewer = run_cli(&db, &["retry", &ids[0][..8], "--as", "rita"], "");
    assert_eq!(reviewer.status.code(), Some(1));
    assert!(
        stderr(&reviewer).contains("only admins can"),
        "{}",
        stderr(&reviewer)
    );
    let retried = stdout_of(&run_cli(&db, &["retry", &ids[0][..8], "--as", "alice"], ""));
    assert!(
        retried.starts_with(&format!("retried {} (forum)", ids[0])),
        "{retried}"
    );
    let twice = run_cli(&db, &["retry", &ids[0], "--as", "alice"], "");
    assert_eq!(twice.status.code(), Some(1));
    assert!(
        stderr(&twice).contains("cannot retry a change that is approved"),
        "{}",
        stderr(&twice)
    );

    let report = json(&apply(&db, &dir, DEPLOY, &["--json"]));
    let order: Vec<&str> = report["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["package"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["forum"], "the retried change is applied");
    let events = stdout_of(&run_cli(&db, &["audit", "list", "--json"], ""));
    assert!(
        events.contains("change.retried") && events.contains("change.failed"),
        "{events}"
    );
}

#[test]
fn a_tampered_fragment_fails_the_change_for_integrity_without_running_the_migrate_command() {
    let (db, dir, ids) = approved("apply_tampered", &[("forum", "ForumThread")]);
    Sql::connect(&db).execute(&format!(
        "update schema_change set fragment_after = fragment_after || '  secret String' where id = '{}'",
        ids[0]
    ));
    let out = apply(&db, &dir, RECORDING, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("integrity"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let forum = show(&db, &ids[0]);
    assert_eq!(
        (forum["status"].as_str(), forum["failure_reason"].as_str()),
        (Some("failed"), Some("integrity"))
    );
    assert!(
        forum["apply_log"]
            .as_str()
            .unwrap()
            .contains("not to the recorded"),
        "{forum}"
    );
    assert!(calls(&dir).is_empty());
}

#[test]
fn a_package_whose_applied_state_moved_since_the_review_fails_for_drift() {
    let (db, dir, _) = approved("apply_drift", &[("forum", "ForumThread")]);
    stdout_of(&apply(&db, &dir, DEPLOY, &[]));
    write_package(&dir, "forum", &package_yaml("ForumThread", 300));
    let ids = scan_and_approve(&db, &dir, &["forum"]);
    // Someone else changed what is live behind the registry's back.
    Sql::connect(&db).execute(
        "update applied_package set checksum = 'v1:' || repeat('0', 64) where package = 'forum'",
    );
    let out = apply(&db, &dir, RECORDING, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let forum = show(&db, &ids[0]);
    assert_eq!(
        (forum["status"].as_str(), forum["failure_reason"].as_str()),
        (Some("failed"), Some("drift"))
    );
    assert!(
        forum["apply_log"].as_str().unwrap().contains("scan again"),
        "{forum}"
    );
    assert!(calls(&dir).is_empty());
}

#[test]
fn of_two_concurrent_runs_one_applies_and_the_other_exits_3_naming_the_holder() {
    let (db, dir, _) = approved(
        "apply_concurrent",
        &[("forum", "ForumThread"), ("wiki", "WikiPage")],
    );
    let args = apply_args(&dir, &format!("sleep 1 && {RECORDING}"), &[]);
    let spawn = || {
        schemagate()
            .env("DATABASE_URL", &db)
            .env("SCHEMAGATE_PLATFORM_DATABASE_URL", &db)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn schemagate")
    };
    let (first, second) = (spawn(), spawn());
    let pids = [first.id(), second.id()];
    let outputs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    let codes: Vec<Option<i32>> = outputs.iter().map(|o| o.status.code()).collect();
    let winner = codes
        .iter()
        .position(|c| *c == Some(0))
        .unwrap_or_else(|| panic!("no run succeeded: {codes:?}"));
    let loser = 1 - winner;
    assert_eq!(codes[loser], Some(3), "{}", stderr(&outputs[loser]));
    let message = stderr(&outputs[loser]);
    assert!(
        message.contains(&format!("the apply lease is held by {}", hostname())),
        "{message}"
    );
    assert!(
        message.contains(&format!(" pid {} run ", pids[winner])),
        "{message}"
    );
    assert_eq!(calls(&dir).len(), 2, "each change was migrated once");
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// A small deterministic generator, seeded from the clock (the seed is printed).
struct Random(u64);

impl Random {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

/// Waits until `child` holds the apply lease; `false` when it exited first.
fn wait_for_lease(sql: &mut Sql, child: &mut Child) -> bool {
    let needle = format!("% pid {} run %", child.id());
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if sql.count(&format!(
            "select count(*) from apply_lease where holder like '{needle}'"
        )) == 1
        {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("schemagate apply did not take the lease within 30 s");
}

#[test]
fn killing_apply_at_random_points_never_loses_or_doubles_an_application() {
    let packages: Vec<(String, String)> = (0..4)
        .map(|i| (format!("pkg{i}"), format!("Thing{i}")))
        .collect();
    let refs: Vec<(&str, &str)> = packages
        .iter()
        .map(|(p, e)| (p.as_str(), e.as_str()))
        .collect();
    let (db, dir, _) = approved("apply_killed", &refs);
    let mut sql = Sql::connect(&db);
    // The built-in engine applies each change's migration (no migrate command).
    let args: Vec<String> = [
        "apply",
        "--schema-out",
        dir.join("schema.prisma").to_str().unwrap(),
        "--lease-ttl",
        "1",
        "--wait",
        "20",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("kill loop seed {seed}");
    let mut random = Random(seed);
    let (mut kills, mut kills_mid_change, mut round, mut max_length) = (0, 0, 0, 200);
    while kills < 12 {
        round += 1;
        assert!(round < 60, "only {kills} kills landed in {round} rounds");
        // Keep work queued: once everything is applied, change every package again.
        if sql.count("select count(*) from schema_change where status in ('approved', 'applying')")
            == 0
        {
            max_length += 1;
            for (package, entity) in &packages {
                write_package(&dir, package, &package_yaml(entity, max_length));
            }
            scan_and_approve(&db, &dir, &refs.iter().map(|(p, _)| *p).collect::<Vec<_>>());
        }
        let mut child = schemagate()
            .env("DATABASE_URL", &db)
            .env("SCHEMAGATE_PLATFORM_DATABASE_URL", &db)
            .env("RUST_LOG", "warn")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn schemagate");
        if !wait_for_lease(&mut sql, &mut child) {
            continue;
        }
        // Anywhere from "just took the lease" to "a change and a half later".
        std::thread::sleep(Duration::from_millis(random.below(550)));
        if child.try_wait().unwrap().is_none() {
            let mid_change =
                sql.count("select count(*) from schema_change where status = 'applying'") > 0;
            child.kill().unwrap(); // SIGKILL
            kills += 1;
            kills_mid_change += usize::from(mid_change);
        }
        child.wait().unwrap();
    }

    let mut last_args: Vec<&str> = args.iter().map(String::as_str).collect();
    last_args.push("--json");
    let last = run_cli(&db, &last_args, "");
    let report: serde_json::Value = serde_json::from_slice(&last.stdout).unwrap_or_default();
    assert_eq!(last.status.code(), Some(0), "{report}\n{}", stderr(&last));
    let statuses = sql.strings("select distinct status from schema_change");
    assert_eq!(statuses, ["applied"], "every approved change ends applied");
    let doubled = sql.strings(
        "select c.id::text from schema_change c
         where (select count(*) from audit_event e where e.change_id = c.id and e.action = 'change.applied') <> 1",
    );
    assert!(
        doubled.is_empty(),
        "applied other than exactly once: {doubled:?}"
    );
    let live = sql.count(
        "select count(*) from applied_package a
         where a.change_id = (select id from schema_change c where c.package = a.package order by approval_seq desc limit 1)",
    );
    assert_eq!(
        live, 4,
        "every package's applied state is its newest change"
    );
    let changes = sql.count("select count(*) from schema_change");
    eprintln!(
        "{kills} kills in {round} rounds ({kills_mid_change} with a change applying); {changes} changes applied"
    );
    // Each change's migration ran exactly once: one finished row in _prisma_migrations.
    let doubled = sql.strings(
        "select migration_name from _prisma_migrations where finished_at is not null and rolled_back_at is null
         group by migration_name having count(*) > 1",
    );
    assert!(doubled.is_empty(), "migrations applied twice: {doubled:?}");
    let missing = sql.strings(
        "select c.id::text from schema_change c where (select count(*) from _prisma_migrations m
            where m.migration_name like '%\\_' || left(c.id::text, 8) and m.finished_at is not null and m.rolled_back_at is null) <> 1",
    );
    assert!(
        missing.is_empty(),
        "changes without exactly one finished migration: {missing:?}"
    );
    assert_eq!(
        sql.count("select count(*) from _prisma_migrations where finished_at is not null and rolled_back_at is null"),
        changes + 1,
        "one migration per change, plus the baseline"
    );
    assert!(stdout_of(&run_cli(&db, &["audit", "verify"], "")).starts_with("audit log intact"));
}

#[test]
fn a_migration_that_took_effect_but_was_never_recorded_finished_is_resolved_and_later_ones_apply() {
    let (db, dir, _) = approved(
        "apply_unrecorded",
        &[("pkg0", "Thing0"), ("pkg1", "Thing1")],
    );
    assert_eq!(engine_apply(&db, &dir).status.code(), Some(0));
    for (package, entity) in [("pkg0", "Thing0"), ("pkg1", "Thing1")] {
        write_package(&dir, package, &package_yaml(entity, 201));
    }
    let ids = scan_and_approve(&db, &dir, &["pkg0", "pkg1"]);

    // What a run killed at the worst moment leaves: the script of pkg0's change committed, its
    // row in _prisma_migrations started but never finished, and no migration directory.
    let mut sql = Sql::connect(&db);
    let plan = sql.strings(&format!(
        "select plan_sql from schema_change where id = '{}'",
        ids[0]
    ));
    sql.script(&plan[0]);
    sql.execute(&format!(
        "insert into _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count)
         select gen_random_uuid()::text, encode(sha256(convert_to(plan_sql, 'UTF8')), 'hex'),
                to_char(decided_at at time zone 'utc', 'YYYYMMDDHH24MISS') || '_' || package || '_' || left(id::text, 8),
                now(), 0
         from schema_change where id = '{}'",
        ids[0]
    ));

    let run = engine_apply(&db, &dir);
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap_or_default();
    assert_eq!(run.status.code(), Some(0), "{report}\n{}", stderr(&run));
    let applied = applied_ids(&report);
    assert_eq!(applied, ids, "{report}");
    let log = show(&db, &ids[0])["apply_log"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        log.contains("took effect but was not recorded finished"),
        "{log}"
    );
    // Prisma's history is whole again: the unfinished row rolled back, one finished row per
    // migration, and nothing that would block the next deploy.
    assert_eq!(
        sql.count("select count(*) from _prisma_migrations where finished_at is null and rolled_back_at is null"),
        0
    );
    let finished = sql.strings(&format!(
        "select migration_name from _prisma_migrations
         where finished_at is not null and rolled_back_at is null and migration_name like '%\\_{}'",
        &ids[0][..8]
    ));
    assert_eq!(finished.len(), 1, "{finished:?}");
    let status = json(&run_cli(&db, &["db", "status", "--json"], ""));
    assert!(status["drift"].is_null(), "{status}");
}

#[test]
fn a_baseline_that_took_effect_but_was_never_recorded_finished_is_resolved_and_changes_apply() {
    let (db, dir, ids) = approved("apply_baseline_unrecorded", &[("pkg0", "Thing0")]);
    // A failing migrate command: the baseline is applied, the change fails and stays unrun.
    let failed = apply(&db, &dir, "false", &["--json"]);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    // What a run killed after the baseline's script committed leaves: its row unfinished.
    let mut sql = Sql::connect(&db);
    sql.execute("update _prisma_migrations set finished_at = null where migration_name = '00000000000000_baseline'");
    stdout_of(&run_cli(&db, &["retry", &ids[0], "--as", "alice"], ""));

    let run = engine_apply(&db, &dir);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}\n{}",
        stdout_of(&run),
        stderr(&run)
    );
    assert_eq!(show(&db, &ids[0])["status"], "applied");
    assert_eq!(
        sql.count("select count(*) from _prisma_migrations where finished_at is null and rolled_back_at is null"),
        0
    );
    assert_eq!(
        sql.count("select count(*) from _prisma_migrations where migration_name = '00000000000000_baseline' and finished_at is not null and rolled_back_at is null"),
        1
    );
}

#[test]
fn an_unwritable_schema_file_exits_2_before_any_change_is_touched() {
    let (db, dir, ids) = approved("apply_unwritable", &[("forum", "ForumThread")]);
    let missing = dir.join("no-such-dir/schema.prisma");
    let out = run_cli(
        &db,
        &[
            "apply",
            "--schema-out",
            missing.to_str().unwrap(),
            "--migrate-cmd",
            "true",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("cannot write the schema to {}", missing.display())),
        "{}",
        stderr(&out)
    );
    assert_eq!(show(&db, &ids[0])["status"], "approved");
    let usage = run_cli(&db, &["apply", "--migrate-timeout", "0"], "");
    assert_eq!(usage.status.code(), Some(2));
}

/// Whether process `pid` still runs (a zombie waiting to be reaped does not count).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
    })
}

#[test]
fn a_runner_killed_with_sigkill_takes_its_migrate_command_along_and_the_next_run_never_overlaps_it()
{
    let (db, dir, ids) = approved("apply_killed_command", &[("forum", "ForumThread")]);
    // The first call starts a long grandchild and waits for it; later calls finish at once.
    // Each call notes when it starts and ends, and whether a process of an earlier call runs.
    let migrate = format!(
        "echo \"start $$\" >> calls; \
        for p in $(cat pids 2>/dev/null); do kill -0 $p 2>/dev/null && echo \"overlap $p\" >> calls; done; \
        if [ ! -e first ]; then touch first; sleep 600 & echo $! >> pids; echo $$ >> pids; wait; fi; \
        echo \"end $$\" >> calls; {DEPLOY}"
    );
    let migrate = migrate.as_str();
    let args = apply_args(&dir, migrate, &["--lease-ttl", "2", "--wait", "30"]);
    let mut first = schemagate()
        .env("DATABASE_URL", &db)
        .env("SCHEMAGATE_PLATFORM_DATABASE_URL", &db)
        .env("RUST_LOG", "warn")
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn schemagate");
    let deadline = Instant::now() + Duration::from_secs(60);
    let pids = loop {
        let text = std::fs::read_to_string(dir.join("pids")).unwrap_or_default();
        let pids: Vec<u32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        if pids.len() == 2 {
            break pids;
        }
        assert!(
            Instant::now() < deadline,
            "the migrate command did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(pids.iter().all(|pid| running(*pid)));
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids.iter().any(|pid| running(*pid)) {
        assert!(
            Instant::now() < deadline,
            "the migrate command outlived its runner by 5 s: {:?}",
            pids.iter().filter(|pid| running(**pid)).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // The next runner takes the expired lease over and finishes the change, alone.
    let second = apply(&db, &dir, migrate, &["--lease-ttl", "2", "--wait", "30"]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let calls = calls(&dir);
    assert!(
        !calls.iter().any(|line| line.starts_with("overlap")),
        "{calls:?}"
    );
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(show(&db, &ids[0])["status"], "applied");
}

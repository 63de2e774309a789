//! The restart job's registry side against a real PostgreSQL database (each test on its own):
//! the lease, the desired state, integrity and drift checks, resuming, and retry.
#![cfg(feature = "ssr")]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use app::domain::base_schema::BaseSchema;
use app::domain::config::Config;
use app::domain::review::{ChangeStatus, Role};
use app::registry::account::Account;
use app::registry::apply::{self, ApplyError, ApplyOptions, Lease, LeaseError};
use app::registry::audit::{self, AuditFilter};
use app::registry::change::DecideError;
use app::registry::change::{self, Decision};
use sqlx::PgPool;
use support::{account_with_role, scan_packages};

const FORUM: &str = "
entities:
  - name: ForumThread
    fields:
      id: { type: cuid, primary: true, generated: true }
      tenantId: { type: string, required: true }
      title: { type: string, required: true, maxLength: 200 }
    relations:
      - name: tenant
        type: belongsTo
        entity: Tenant
        field: tenantId
    acl:
      read: [user]
      update: [admin]
      rowLevel: \"tenantId = $user.id\"
";

const WIKI: &str = "
entities:
  - name: WikiPage
    fields:
      - name: id
        type: String
        primary: true
      - name: tenantId
        type: String
        required: true
    relations:
      - name: tenant
        type: belongsTo
        target: Tenant
        foreignKey: tenantId
";

/// Scans `packages` and approves every change the scan created or dropped, in the given order.
async fn approve_scanned(pool: &PgPool, admin: &Account, packages: &[(&str, &str)]) -> Vec<String> {
    let report = scan_packages(pool, packages).await;
    let mut ids = Vec::new();
    for (package, _) in packages {
        if let Some(id) = report
            .created
            .iter()
            .find(|e| e.package == *package)
            .and_then(|e| e.change.clone())
        {
            ids.push(id);
        }
    }
    ids.extend(report.drops.iter().filter_map(|e| e.change.clone()));
    for id in &ids {
        change::decide(
            pool,
            &support::context(),
            admin,
            id,
            None,
            &Decision::Approve { note: None },
        )
        .await
        .expect("approve");
    }
    ids
}

fn work_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-dirs")
        .join(format!("registry-apply-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn options(dir: &Path, migrate: Option<&str>) -> ApplyOptions {
    let mut options = ApplyOptions::new(dir.join("schema.prisma"), "test-host pid 1");
    // Relative paths in the command are inside `dir`.
    options.migrate_cmd = migrate.map(|command| format!("cd '{}' && {command}", dir.display()));
    options
}

async fn get(pool: &PgPool, id: &str) -> change::SchemaChange {
    change::get(pool, id)
        .await
        .unwrap()
        .expect("the change exists")
}

async fn actions(pool: &PgPool, prefix: &str) -> Vec<String> {
    let filter = AuditFilter {
        action: Some(prefix.to_string()),
        ..AuditFilter::default()
    };
    audit::list(pool, &filter)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn applying_records_the_applied_state_with_entities_and_acl_and_audits_each_step(
    pool: PgPool,
) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let ids = approve_scanned(&pool, &alice, &[("forum", FORUM), ("wiki", WIKI)]).await;
    let dir = work_dir("records");
    let report = apply::run(&pool, &options(&dir, Some("true")))
        .await
        .unwrap();
    assert_eq!(
        report
            .applied
            .iter()
            .map(|o| o.id.clone())
            .collect::<Vec<_>>(),
        ids
    );
    assert!(
        report.failed.is_empty() && report.skipped.is_empty(),
        "{report:?}"
    );

    let forum = get(&pool, &ids[0]).await;
    assert_eq!(forum.status, ChangeStatus::Applied);
    assert!(forum.applied_at.is_some());
    assert!(
        forum
            .apply_log
            .as_deref()
            .unwrap()
            .contains("exit status 0"),
        "{:?}",
        forum.apply_log
    );
    let (checksum, entities, acl, change_id): (String, serde_json::Value, serde_json::Value, String) = sqlx::query_as(
        "select checksum, entities, acl, change_id::text from applied_package where package = 'forum'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (checksum, change_id),
        (forum.target_checksum.clone(), forum.id.clone())
    );
    assert_eq!(entities[0]["name"], "ForumThread");
    assert!(entities[0]["checksum"].as_str().unwrap().starts_with("v1:"));
    assert_eq!(
        acl,
        serde_json::json!({"ForumThread": {"read": ["user"], "update": ["admin"], "rowLevel": "tenantId = $user.id"}})
    );
    assert_eq!(
        actions(&pool, "")
            .await
            .into_iter()
            .filter(|a| a.starts_with("apply.") || a.starts_with("change.appl"))
            .collect::<Vec<_>>(),
        [
            "apply.started",
            "change.applying",
            "change.applied",
            "change.applying",
            "change.applied",
            "apply.finished"
        ]
    );
    assert_eq!(audit::verify(&pool).await.unwrap().problem, None);
    assert!(
        apply::current_holder(&pool).await.unwrap().is_none(),
        "the lease is released"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_desired_state_lays_approved_changes_over_the_applied_state_and_a_drop_removes_a_package(
    pool: PgPool,
) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    approve_scanned(&pool, &alice, &[("forum", FORUM), ("wiki", WIKI)]).await;
    let dir = work_dir("desired");
    apply::run(&pool, &options(&dir, None)).await.unwrap();

    // wiki disappears from disk (a drop), forum changes; both approved.
    let edited = FORUM.replace("maxLength: 200", "maxLength: 300");
    approve_scanned(&pool, &alice, &[("forum", &edited)]).await;
    let desired = apply::desired_state(&pool).await.unwrap();
    assert_eq!(desired.keys().collect::<Vec<_>>(), ["forum"]);
    assert!(desired["forum"].contains("maxLength: 300"));

    let generated = apply::render_desired(&pool, &BaseSchema::default(), &Config::default())
        .await
        .unwrap()
        .unwrap();
    assert!(
        generated.contains("@db.VarChar(300)") && !generated.contains("model WikiPage"),
        "{generated}"
    );

    let report = apply::run(&pool, &options(&dir, None)).await.unwrap();
    assert_eq!(
        report
            .applied
            .iter()
            .map(|o| o.kind.as_str())
            .collect::<Vec<_>>(),
        ["upsert", "drop"]
    );
    let packages: Vec<String> =
        sqlx::query_scalar("select package from applied_package order by package")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(packages, ["forum"]);
    let written = std::fs::read_to_string(dir.join("schema.prisma")).unwrap();
    assert_eq!(
        written, generated,
        "apply leaves behind what generate renders"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_tampered_yaml_snapshot_fails_for_integrity_and_nothing_is_applied(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let ids = approve_scanned(&pool, &alice, &[("forum", FORUM)]).await;
    sqlx::query("update schema_change set yaml_snapshot = replace(yaml_snapshot, 'maxLength: 200', 'maxLength: 20') where id = $1::uuid")
        .bind(&ids[0])
        .execute(&pool)
        .await
        .unwrap();
    let dir = work_dir("tampered-yaml");
    let report = apply::run(&pool, &options(&dir, Some("echo ran >> calls")))
        .await
        .unwrap();
    assert_eq!(report.failed[0].reason.as_deref(), Some("integrity"));
    assert!(
        report.failed[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("not the approved target"),
        "{report:?}"
    );
    let forum = get(&pool, &ids[0]).await;
    assert_eq!(
        (forum.status, forum.failure_reason.as_deref()),
        (ChangeStatus::Failed, Some("integrity"))
    );
    let applied: i64 = sqlx::query_scalar("select count(*) from applied_package")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(applied, 0);
    assert!(
        !dir.join("calls").exists(),
        "the migrate command did not run"
    );
    let schema = std::fs::read_to_string(dir.join("schema.prisma")).unwrap();
    assert!(!schema.contains("ForumThread"), "{schema}");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_second_runner_is_refused_while_the_lease_lives_and_takes_it_over_once_it_expired(
    pool: PgPool,
) {
    let first = Lease::acquire(&pool, "host-a pid 1", Duration::from_secs(1))
        .await
        .unwrap();
    assert!(
        first.holder().starts_with("host-a pid 1 run "),
        "{}",
        first.holder()
    );
    match Lease::acquire(&pool, "host-b pid 2", Duration::from_secs(1)).await {
        Err(LeaseError::Held(holder)) => assert_eq!(holder.holder, first.holder()),
        other => panic!("expected the lease to be held, got {other:?}"),
    }
    // A heartbeat keeps it alive; then the holder "crashes" and stops beating.
    assert!(first.heartbeat(&pool).await.unwrap());
    let second = Lease::acquire_waiting(
        &pool,
        "host-b pid 2",
        Duration::from_secs(30),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(second.took_over_from.as_deref(), Some(first.holder()));
    assert!(
        !first.heartbeat(&pool).await.unwrap(),
        "the crashed holder's lease is gone"
    );

    // The old holder can no longer record anything.
    let mut tx = pool.begin().await.unwrap();
    match first.fence(&mut tx).await {
        Err(LeaseError::Lost { now_held_by }) => {
            assert_eq!(now_held_by.as_deref(), Some(second.holder()))
        }
        other => panic!("expected a lost lease, got {other:?}"),
    }
    drop(tx);

    let dir = work_dir("lease");
    match apply::run(&pool, &options(&dir, None)).await {
        Err(ApplyError::Lease(LeaseError::Held(holder))) => {
            assert_eq!(holder.holder, second.holder())
        }
        other => panic!("expected the run to be refused, got {other:?}"),
    }
    second.release(&pool).await.unwrap();
    apply::run(&pool, &options(&dir, None)).await.unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn a_change_left_applying_by_a_killed_run_is_resumed_and_applied_once(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let ids = approve_scanned(&pool, &alice, &[("forum", FORUM), ("wiki", WIKI)]).await;
    // As a run killed during the migrate command of the second change leaves it.
    sqlx::query("update schema_change set status = 'applying' where id = $1::uuid")
        .bind(&ids[1])
        .execute(&pool)
        .await
        .unwrap();

    let dir = work_dir("resume");
    let report = apply::run(
        &pool,
        &options(&dir, Some("echo \"$SCHEMAGATE_PACKAGE\" >> calls")),
    )
    .await
    .unwrap();
    let order: Vec<(&str, bool)> = report
        .applied
        .iter()
        .map(|o| (o.package.as_str(), o.resumed))
        .collect();
    assert_eq!(order, [("wiki", true), ("forum", false)]);
    assert_eq!(
        std::fs::read_to_string(dir.join("calls")).unwrap(),
        "wiki\nforum\n"
    );
    let again = apply::run(
        &pool,
        &options(&dir, Some("echo \"$SCHEMAGATE_PACKAGE\" >> calls")),
    )
    .await
    .unwrap();
    assert!(again.applied.is_empty());
    assert_eq!(actions(&pool, "change.applied").await.len(), 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn only_an_admin_can_retry_a_failed_change_and_it_goes_to_the_end_of_the_queue(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let rita = account_with_role(&pool, "rita", Role::Reviewer).await;
    let ids = approve_scanned(&pool, &alice, &[("forum", FORUM)]).await;
    let dir = work_dir("retry");
    let report = apply::run(
        &pool,
        &options(&dir, Some("echo 'relation already exists' >&2; exit 4")),
    )
    .await
    .unwrap();
    assert_eq!(report.failed[0].reason.as_deref(), Some("migrate"));
    let failed = get(&pool, &ids[0]).await;
    let log = failed.apply_log.clone().unwrap();
    assert!(
        log.contains("relation already exists") && log.contains("exit status 4"),
        "{log}"
    );

    match apply::retry(&pool, &support::context(), &rita, &ids[0]).await {
        Err(DecideError::Forbidden { why, .. }) => assert!(why.contains("only admins"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(actions(&pool, "change.retry_refused").await.len(), 1);

    let retried = apply::retry(&pool, &support::context(), &alice, &ids[0])
        .await
        .unwrap();
    assert_eq!(
        (retried.status, retried.failure_reason.as_deref()),
        (ChangeStatus::Approved, None)
    );
    assert!(retried.approval_seq > failed.approval_seq);
    match apply::retry(&pool, &support::context(), &alice, &ids[0]).await {
        Err(DecideError::Illegal(error)) => {
            assert_eq!(error.to_string(), "cannot retry a change that is approved")
        }
        other => panic!("expected an illegal transition, got {other:?}"),
    }
    let report = apply::run(&pool, &options(&dir, Some("true")))
        .await
        .unwrap();
    assert_eq!(report.applied.len(), 1);
    assert_eq!(get(&pool, &ids[0]).await.status, ChangeStatus::Applied);
}

#[sqlx::test(migrations = "../migrations")]
async fn under_four_eyes_a_retry_sends_back_the_approved_plan_but_not_a_new_one(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    // Public reads: a security change.
    let open = FORUM.replace("read: [user]", "read: [public]");
    let ids = approve_scanned(&pool, &alice, &[("open", &open)]).await;
    let dir = work_dir("retry-four-eyes");
    let report = apply::run(&pool, &options(&dir, Some("exit 4")))
        .await
        .unwrap();
    assert_eq!(report.failed.len(), 1);
    app::registry::setting::turn_on_four_eyes(&pool, "alice")
        .await
        .unwrap();

    // As a re-plan stores it: a plan nobody approved.
    sqlx::query("update schema_change set plan_sha256 = 'replanned' where id = $1::uuid")
        .bind(&ids[0])
        .execute(&pool)
        .await
        .unwrap();
    match apply::retry(&pool, &support::context(), &alice, &ids[0]).await {
        Err(error @ DecideError::PlanMovedUnderFourEyes { .. }) => assert_eq!(
            error.to_string(),
            "cannot retry open: its SQL plan changed since it was approved, and four-eyes needs two admins to approve a plan; change the package to queue a new change"
        ),
        other => panic!("expected a four-eyes refusal, got {other:?}"),
    }
    assert_eq!(get(&pool, &ids[0]).await.status, ChangeStatus::Failed);

    sqlx::query("update schema_change set plan_sha256 = approved_plan_sha256 where id = $1::uuid")
        .bind(&ids[0])
        .execute(&pool)
        .await
        .unwrap();
    let retried = apply::retry(&pool, &support::context(), &alice, &ids[0])
        .await
        .unwrap();
    assert_eq!(retried.status, ChangeStatus::Approved);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_migrate_command_that_runs_too_long_is_killed_and_fails_the_change(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let ids = approve_scanned(&pool, &alice, &[("forum", FORUM)]).await;
    let dir = work_dir("timeout");
    let mut options = options(&dir, Some("echo waiting; sleep 30"));
    options.migrate_timeout = Duration::from_secs(1);
    let report = apply::run(&pool, &options).await.unwrap();
    assert_eq!(report.failed[0].reason.as_deref(), Some("timeout"));
    let failed = get(&pool, &ids[0]).await;
    let log = failed.apply_log.unwrap();
    assert!(
        log.contains("waiting") && log.contains("timed out after 1 s"),
        "{log}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_runner_that_loses_its_lease_kills_its_migrate_command_at_once(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    approve_scanned(&pool, &alice, &[("forum", FORUM)]).await;
    let dir = work_dir("lease-lost");
    let mut options = options(&dir, Some("{ sleep 600 & echo $! > sleeper; wait; }"));
    options.lease_ttl = Duration::from_secs(3);
    let started = std::time::Instant::now();
    let run = tokio::spawn({
        let pool = pool.clone();
        async move { apply::run(&pool, &options).await }
    });
    let sleeper = loop {
        if let Some(pid) = std::fs::read_to_string(dir.join("sleeper"))
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
        {
            break pid;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no sleeper");
        if run.is_finished() {
            panic!("the run ended before its command started: {:?}", run.await);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Another runner takes the lease (as after an expiry the holder did not notice).
    sqlx::query("update apply_lease set holder = 'thief', expires_at = now() + interval '1 hour'")
        .execute(&pool)
        .await
        .unwrap();
    let stolen = std::time::Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the run ended within 10 s")
        .unwrap();
    assert!(
        matches!(outcome, Err(ApplyError::Lease(LeaseError::Lost { .. }))),
        "{outcome:?}"
    );
    // Found at the next heartbeat (every second), not when the lease would have expired.
    assert!(
        stolen.elapsed() < Duration::from_secs(3),
        "{:?}",
        stolen.elapsed()
    );
    assert!(
        !Path::new(&format!("/proc/{sleeper}")).exists()
            || std::fs::read_to_string(format!("/proc/{sleeper}/stat")).is_ok_and(|s| s
                .rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))),
        "the migrate command's child still runs"
    );
}

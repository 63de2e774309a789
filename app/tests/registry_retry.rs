//! Retry is for failures a retry can cure: a failed change that would fail again as it is (a
//! failure the restart job finds every time, a dependency that is not applied or approved) is
//! refused with what to do instead, audited, and left failed. Against a real PostgreSQL.
#![cfg(feature = "ssr")]

mod support;

use app::domain::review::{ChangeStatus, Role};
use app::registry::account::Account;
use app::registry::apply;
use app::registry::audit::{self, AuditFilter};
use app::registry::change::{self, DecideError, Decision};
use sqlx::PgPool;
use support::{
    account_with_role, context, failing_for, scan_packages, work_dir, FORUM, NOTIFICATIONS,
};

/// Scans `packages` and approves each change the scan created, in the given order.
async fn approve_scanned(pool: &PgPool, admin: &Account, packages: &[(&str, &str)]) -> Vec<String> {
    let report = scan_packages(pool, packages).await;
    let mut ids = Vec::new();
    for (package, _) in packages {
        let id = report
            .created
            .iter()
            .find(|e| e.package == *package)
            .and_then(|e| e.change.clone())
            .unwrap_or_else(|| panic!("a change for {package} in {report:?}"));
        change::decide(
            pool,
            &context(),
            admin,
            &id,
            None,
            &Decision::Approve { note: None },
        )
        .await
        .expect("approve");
        ids.push(id);
    }
    ids
}

async fn get(pool: &PgPool, id: &str) -> change::SchemaChange {
    change::get(pool, id)
        .await
        .unwrap()
        .expect("the change exists")
}

async fn refusals(pool: &PgPool) -> usize {
    let filter = AuditFilter {
        action: Some("change.retry_refused".to_string()),
        ..AuditFilter::default()
    };
    audit::list(pool, &filter).await.unwrap().len()
}

/// Why retrying change `id` cannot succeed now, as the change page is told.
async fn blocker(pool: &PgPool, id: &str) -> Option<apply::RetryBlocker> {
    let change = get(pool, id).await;
    let mut conn = pool.acquire().await.unwrap();
    apply::retry_blocker(&mut conn, &change, &context(), None)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_change_that_failed_its_integrity_check_is_not_sent_back_and_stays_failed(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let ids = approve_scanned(&pool, &alice, &[("forum", FORUM)]).await;
    sqlx::query("update schema_change set yaml_snapshot = replace(yaml_snapshot, 'maxLength: 200', 'maxLength: 20') where id = $1::uuid")
        .bind(&ids[0])
        .execute(&pool)
        .await
        .unwrap();
    let dir = work_dir("registry-retry", "integrity");
    let report = apply::run(&pool, &failing_for(&dir, &[])).await.unwrap();
    assert_eq!(report.failed[0].reason.as_deref(), Some("integrity"));
    assert!(blocker(&pool, &ids[0]).await.is_some());

    match apply::retry(&pool, &context(), &alice, &ids[0]).await {
        Err(error @ DecideError::RetryCannotSucceed { .. }) => assert_eq!(
            error.to_string(),
            "cannot retry forum: its stored content or SQL no longer matches what was approved, and the restart job checks that every time; change the package so that a scan queues a new change, and review that one"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let failed = get(&pool, &ids[0]).await;
    assert_eq!(
        (failed.status, failed.failure_reason.as_deref()),
        (ChangeStatus::Failed, Some("integrity"))
    );
    assert_eq!(refusals(&pool).await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn failures_the_restart_job_finds_every_time_are_never_sent_back(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let ids = approve_scanned(&pool, &alice, &[("forum", FORUM)]).await;
    let dir = work_dir("registry-retry", "permanent");
    let report = apply::run(&pool, &failing_for(&dir, &["forum"]))
        .await
        .unwrap();
    assert_eq!(report.failed[0].reason.as_deref(), Some("migrate"));
    // A migrate failure is cured by fixing the database: Retry is offered.
    assert_eq!(blocker(&pool, &ids[0]).await, None);
    assert!(apply::next_step(Some("migrate")).contains("fix its cause"));

    // As the restart job records a refused plan (a changed plan is re-planned by the retry).
    for reason in ["plan_refused"] {
        sqlx::query("update schema_change set failure_reason = $2 where id = $1::uuid")
            .bind(&ids[0])
            .bind(reason)
            .execute(&pool)
            .await
            .unwrap();
        let refusal = apply::retry(&pool, &context(), &alice, &ids[0])
            .await
            .unwrap_err();
        assert!(
            matches!(refusal, DecideError::RetryCannotSucceed { .. }),
            "{reason}: {refusal:?}"
        );
        assert!(
            refusal.to_string().contains("and would"),
            "{reason}: {refusal}"
        );
        assert_eq!(get(&pool, &ids[0]).await.status, ChangeStatus::Failed);
    }
    assert_eq!(refusals(&pool).await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_change_whose_dependency_failed_is_sent_back_only_after_the_dependency(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let ids = approve_scanned(
        &pool,
        &alice,
        &[("forum", FORUM), ("notifications", NOTIFICATIONS)],
    )
    .await;
    let (forum, notifications) = (&ids[0], &ids[1]);
    let dir = work_dir("registry-retry", "dependency");
    let report = apply::run(&pool, &failing_for(&dir, &["forum"]))
        .await
        .unwrap();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.held_back.len(), 1, "{report:?}");
    // As a failure of its own in an earlier run leaves it.
    sqlx::query("update schema_change set status = 'failed', failure_reason = 'migrate' where id = $1::uuid")
        .bind(notifications)
        .execute(&pool)
        .await
        .unwrap();

    let why = blocker(&pool, notifications).await.expect("blocked").why;
    assert!(
        why.starts_with("it needs what is neither applied nor approved: ForumThread is declared by forum, whose change ")
            && why.ends_with(" is failed"),
        "{why}"
    );
    let refusal = apply::retry(&pool, &context(), &alice, notifications)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refusal.starts_with("cannot retry notifications: it needs what is neither applied nor approved")
            && refusal.ends_with("retry or approve those changes first; this one can be retried once they are applied or approved"),
        "{refusal}"
    );
    assert_eq!(get(&pool, notifications).await.status, ChangeStatus::Failed);

    // Once forum is sent back (approved again), notifications can follow, and both apply.
    assert_eq!(blocker(&pool, forum).await, None);
    apply::retry(&pool, &context(), &alice, forum)
        .await
        .unwrap();
    assert_eq!(blocker(&pool, notifications).await, None);
    apply::retry(&pool, &context(), &alice, notifications)
        .await
        .unwrap();
    let report = apply::run(&pool, &failing_for(&dir, &[])).await.unwrap();
    let order: Vec<&str> = report.applied.iter().map(|o| o.package.as_str()).collect();
    assert_eq!(order, ["forum", "notifications"], "{report:?}");
}

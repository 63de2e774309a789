//! Approvals are promises that the change applies: dependencies between packages, the order of
//! the restart job, failures that hold back only their dependents, failed content that is not
//! queued again, conflicts that a rejection resolves, and links between replaced changes.
#![cfg(feature = "ssr")]

mod support;

use app::domain::review::{ChangeStatus, Role};
use app::registry::apply;
use app::registry::audit::{self, AuditFilter};
use app::registry::change::{self, DecideError, Decision};
use app::registry::future::{self, DependencyState};
use app::registry::{bulk, scan::ScanReport};
use sqlx::PgPool;
use support::{
    account_with_role, approve, context, failing_for, scan_packages, work_dir, FORUM, NOTIFICATIONS,
};

/// Independent of both.
const BILLING: &str = "
entities:
  - name: Invoice
    fields:
      id: { type: cuid, primary: true, generated: true }
      total: { type: int, required: true }
";

fn attachment(package: &str, size_type: &str) -> String {
    format!(
        "
entities:
  - name: {package}Note
    fields:
      id: {{ type: cuid, primary: true, generated: true }}
  - name: Attachment
    fields:
      id: {{ type: cuid, primary: true, generated: true }}
      size: {{ type: {size_type}, required: true }}
"
    )
}

fn created(report: &ScanReport, package: &str) -> String {
    report
        .created
        .iter()
        .find(|e| e.package == package)
        .and_then(|e| e.change.clone())
        .unwrap_or_else(|| panic!("a change for {package} in {report:?}"))
}

async fn status(pool: &PgPool, id: &str) -> ChangeStatus {
    change::get(pool, id).await.unwrap().expect("change").status
}

#[sqlx::test(migrations = "../migrations")]
async fn a_change_cannot_be_approved_before_the_package_it_depends_on(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let report = scan_packages(&pool, &[("forum", FORUM), ("notifications", NOTIFICATIONS)]).await;
    let (forum, notifications) = (created(&report, "forum"), created(&report, "notifications"));

    let error = approve(&pool, &alice, &notifications).await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, DecideError::Future(_)), "{message}");
    assert!(
        message.starts_with("cannot approve notifications: it depends on entities that are neither applied nor approved: ForumThread is declared by forum, whose change "),
        "{message}"
    );
    assert!(
        message.ends_with(" is pending; approve those first"),
        "{message}"
    );
    assert_eq!(status(&pool, &notifications).await, ChangeStatus::Pending);

    let mut conn = pool.acquire().await.unwrap();
    let c = change::get(&pool, &notifications).await.unwrap().unwrap();
    let deps = future::dependencies(&mut conn, &c, &context())
        .await
        .unwrap();
    assert_eq!(deps.len(), 1);
    assert_eq!(
        (
            deps[0].entity.as_str(),
            deps[0].package.as_deref(),
            deps[0].state,
            deps[0].change_id.as_deref()
        ),
        (
            "ForumThread",
            Some("forum"),
            DependencyState::Pending,
            Some(forum.as_str())
        )
    );
    drop(conn);

    // In dependency order, both go through in one sitting.
    approve(&pool, &alice, &forum).await.unwrap();
    approve(&pool, &alice, &notifications).await.unwrap();
    assert_eq!(status(&pool, &notifications).await, ChangeStatus::Approved);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_relation_no_package_declares_is_refused_naming_the_missing_entity(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    // Scanned alongside forum (so it validates), then forum's content is rejected.
    let report = scan_packages(&pool, &[("forum", FORUM), ("notifications", NOTIFICATIONS)]).await;
    let reject = Decision::Reject {
        reason: "not now".to_string(),
    };
    change::decide(
        &pool,
        &context(),
        &alice,
        &created(&report, "forum"),
        None,
        &reject,
    )
    .await
    .unwrap();
    let message = approve(&pool, &alice, &created(&report, "notifications"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("ForumThread is declared by forum, whose change ")
            && message.contains(" is rejected"),
        "{message}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_restart_job_applies_dependencies_first_whatever_the_approval_order(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let report = scan_packages(&pool, &[("forum", FORUM), ("notifications", NOTIFICATIONS)]).await;
    let (forum, notifications) = (created(&report, "forum"), created(&report, "notifications"));
    approve(&pool, &alice, &forum).await.unwrap();
    approve(&pool, &alice, &notifications).await.unwrap();
    let dir = work_dir("registry-deps", "order");

    // forum fails: notifications, which needs it, is held back and stays approved.
    let first = apply::run(&pool, &failing_for(&dir, &["forum"]))
        .await
        .unwrap();
    assert_eq!(first.failed.len(), 1, "{first:?}");
    assert_eq!(first.failed[0].package, "forum");
    assert!(first.applied.is_empty(), "{first:?}");
    assert_eq!(first.held_back.len(), 1, "{first:?}");
    let why = first.held_back[0].reason.clone().unwrap_or_default();
    assert!(
        why.starts_with("held back: it needs ForumThread from forum (change ")
            && why.ends_with("which failed (migrate); it stays approved"),
        "{why}"
    );
    assert_eq!(status(&pool, &notifications).await, ChangeStatus::Approved);

    // Retried, forum is last in approval order, and still goes first.
    apply::retry(&pool, &context(), &alice, &forum)
        .await
        .unwrap();
    let second = apply::run(&pool, &failing_for(&dir, &[])).await.unwrap();
    let order: Vec<&str> = second.applied.iter().map(|o| o.package.as_str()).collect();
    assert_eq!(order, ["forum", "notifications"], "{second:?}");
    assert!(second.failed.is_empty() && second.held_back.is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failure_holds_back_only_the_changes_that_depend_on_it(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let report = scan_packages(
        &pool,
        &[
            ("forum", FORUM),
            ("notifications", NOTIFICATIONS),
            ("billing", BILLING),
        ],
    )
    .await;
    for package in ["forum", "notifications", "billing"] {
        approve(&pool, &alice, &created(&report, package))
            .await
            .unwrap();
    }
    let dir = work_dir("registry-deps", "dependents");

    // The dependent (notifications) fails: forum and billing still apply, nothing is held.
    let run = apply::run(&pool, &failing_for(&dir, &["notifications"]))
        .await
        .unwrap();
    let mut applied: Vec<&str> = run.applied.iter().map(|o| o.package.as_str()).collect();
    applied.sort_unstable();
    assert_eq!(applied, ["billing", "forum"], "{run:?}");
    assert_eq!(run.failed.len(), 1);
    assert_eq!(run.failed[0].package, "notifications");
    assert!(run.held_back.is_empty(), "{run:?}");
    assert!(!run.succeeded());
}

#[sqlx::test(migrations = "../migrations")]
async fn an_independent_change_applies_in_the_run_where_another_fails(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let report = scan_packages(
        &pool,
        &[
            ("forum", FORUM),
            ("notifications", NOTIFICATIONS),
            ("billing", BILLING),
        ],
    )
    .await;
    for package in ["forum", "notifications", "billing"] {
        approve(&pool, &alice, &created(&report, package))
            .await
            .unwrap();
    }
    let run = apply::run(
        &pool,
        &failing_for(&work_dir("registry-deps", "independent"), &["forum"]),
    )
    .await
    .unwrap();
    assert_eq!(
        run.applied
            .iter()
            .map(|o| o.package.as_str())
            .collect::<Vec<_>>(),
        ["billing"]
    );
    assert_eq!(run.failed[0].package, "forum");
    assert_eq!(run.held_back[0].package, "notifications");
}

#[sqlx::test(migrations = "../migrations")]
async fn content_that_failed_is_not_queued_again_and_new_content_supersedes_it_with_a_link(
    pool: PgPool,
) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let report = scan_packages(&pool, &[("billing", BILLING)]).await;
    let failed = created(&report, "billing");
    approve(&pool, &alice, &failed).await.unwrap();
    apply::run(
        &pool,
        &failing_for(&work_dir("registry-deps", "requeue"), &["billing"]),
    )
    .await
    .unwrap();
    assert_eq!(status(&pool, &failed).await, ChangeStatus::Failed);

    let again = scan_packages(&pool, &[("billing", BILLING)]).await;
    assert!(again.created.is_empty(), "{again:?}");
    assert_eq!(again.failed.len(), 1, "{again:?}");
    assert_eq!(again.failed[0].change.as_deref(), Some(failed.as_str()));
    assert_eq!(status(&pool, &failed).await, ChangeStatus::Failed);

    let changed = BILLING.replace(
        "total: { type: int, required: true }",
        "total: { type: int, required: true }\n      currency: { type: string, required: false }",
    );
    let newer = scan_packages(&pool, &[("billing", &changed)]).await;
    let successor = created(&newer, "billing");
    assert_eq!(status(&pool, &failed).await, ChangeStatus::Superseded);
    let successor_row = change::get(&pool, &successor).await.unwrap().unwrap();
    assert_eq!(successor_row.supersedes.as_deref(), Some(failed.as_str()));
    let old = change::get(&pool, &failed).await.unwrap().unwrap();
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(
        apply::newer_change(&mut conn, &old)
            .await
            .unwrap()
            .as_deref(),
        Some(successor.as_str())
    );
    drop(conn);
    // The old one cannot be retried; the refusal names the newer change.
    let refusal = apply::retry(&pool, &context(), &alice, &failed)
        .await
        .unwrap_err()
        .to_string();
    assert!(refusal.contains(&successor), "{refusal}");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_rejected_declaration_no_longer_blocks_the_other_package(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let (forum_yaml, wiki_yaml) = (attachment("Forum", "int"), attachment("Wiki", "bigint"));
    let packages = [("forum", forum_yaml.as_str()), ("wiki", wiki_yaml.as_str())];
    let report = scan_packages(&pool, &packages).await;
    let (forum, wiki) = (created(&report, "forum"), created(&report, "wiki"));
    let conflicted = change::get(&pool, &forum).await.unwrap().unwrap();
    assert_eq!(conflicted.conflicts.len(), 1);
    let conflict = &conflicted.conflicts[0];
    assert_eq!(
        conflict.declarations[0].package, "forum",
        "this package's side first"
    );
    assert_eq!(
        conflict
            .differences
            .iter()
            .map(|d| (
                d.aspect.as_str(),
                d.subject.as_str(),
                d.left.as_str(),
                d.right.as_str()
            ))
            .collect::<Vec<_>>(),
        [("type", "Attachment.size", "Int", "BigInt")]
    );
    assert!(matches!(
        approve(&pool, &alice, &forum).await,
        Err(DecideError::Conflicted(_))
    ));

    let reject = Decision::Reject {
        reason: "forum's Attachment is the one we keep".to_string(),
    };
    change::decide(&pool, &context(), &alice, &wiki, None, &reject)
        .await
        .unwrap();
    assert!(change::get(&pool, &forum)
        .await
        .unwrap()
        .unwrap()
        .conflicts
        .is_empty());
    // A rescan of the same disk content keeps it that way.
    scan_packages(&pool, &packages).await;
    assert!(change::get(&pool, &forum)
        .await
        .unwrap()
        .unwrap()
        .conflicts
        .is_empty());
    approve(&pool, &alice, &forum).await.unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn new_content_links_the_change_it_replaces(pool: PgPool) {
    let first = scan_packages(&pool, &[("billing", BILLING)]).await;
    let old = created(&first, "billing");
    let changed = BILLING.replace("required: true }", "required: false }");
    let second = scan_packages(&pool, &[("billing", &changed)]).await;
    let new = created(&second, "billing");
    assert_eq!(status(&pool, &old).await, ChangeStatus::Superseded);
    let row = change::get(&pool, &new).await.unwrap().unwrap();
    assert_eq!(row.supersedes.as_deref(), Some(old.as_str()));
    let created_event = audit::list(
        &pool,
        &AuditFilter {
            change_id: Some(new.clone()),
            action: Some("change.created".to_string()),
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(created_event[0].details["supersedes"], old.as_str());
}

#[sqlx::test(migrations = "../migrations")]
async fn bulk_approval_takes_a_dependent_chain_in_order_and_audits_each_approval(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    // notifications is scanned first, so approval order alone would take it before forum.
    scan_packages(&pool, &[("notifications", NOTIFICATIONS), ("forum", FORUM)]).await;
    let plan = bulk::plan(&pool, &context()).await.unwrap();
    assert_eq!(
        plan.take
            .iter()
            .map(|c| c.package.as_str())
            .collect::<Vec<_>>(),
        ["forum", "notifications"]
    );
    let outcome = bulk::approve_all(&pool, &context(), &alice, None, None)
        .await
        .unwrap();
    assert_eq!(outcome.approved.len(), 2, "{:?}", outcome.skipped);
    let approvals = audit::list(
        &pool,
        &AuditFilter {
            action: Some("change.approved".to_string()),
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        approvals
            .iter()
            .map(|e| e.package.clone().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["forum", "notifications"]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn bulk_approval_leaves_out_a_change_whose_dependency_is_not_in_the_batch(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let security_forum = format!("{FORUM}    acl:\n      read: [public]\n");
    scan_packages(
        &pool,
        &[("notifications", NOTIFICATIONS), ("forum", &security_forum)],
    )
    .await;
    let outcome = bulk::approve_all(&pool, &context(), &alice, None, None)
        .await
        .unwrap();
    assert!(outcome.approved.is_empty(), "{:?}", outcome.approved);
    let reasons: Vec<(String, String)> = outcome
        .skipped
        .iter()
        .map(|(c, why)| (c.package.clone(), why.clone()))
        .collect();
    assert!(
        reasons.iter().any(|(p, why)| p == "notifications"
            && why
                .starts_with("depends on what is not approved: ForumThread is declared by forum")),
        "{reasons:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn changes_written_before_declared_names_were_kept_are_still_found_and_get_filled(
    pool: PgPool,
) {
    let report = scan_packages(&pool, &[("forum", FORUM), ("notifications", NOTIFICATIONS)]).await;
    let (forum, notifications) = (created(&report, "forum"), created(&report, "notifications"));
    let declares = |id: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, Option<Vec<String>>>(
                "select declares from schema_change where id = $1::uuid",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(
        declares(forum.clone()).await,
        Some(vec!["ForumThread".to_string()])
    );

    // As a registry migrated from before the list existed holds them.
    sqlx::query("update schema_change set declares = null")
        .execute(&pool)
        .await
        .unwrap();
    let located = || async {
        let mut conn = pool.acquire().await.unwrap();
        let c = change::get(&pool, &notifications).await.unwrap().unwrap();
        let deps = future::dependencies(&mut conn, &c, &context())
            .await
            .unwrap();
        deps.into_iter()
            .map(|d| (d.entity, d.package, d.state, d.change_id))
            .collect::<Vec<_>>()
    };
    let expected = vec![(
        "ForumThread".to_string(),
        Some("forum".to_string()),
        DependencyState::Pending,
        Some(forum.clone()),
    )];
    assert_eq!(located().await, expected);

    app::db::fill_declares(&pool).await.unwrap();
    assert_eq!(
        declares(forum.clone()).await,
        Some(vec!["ForumThread".to_string()])
    );
    assert_eq!(
        declares(notifications.clone()).await,
        Some(vec!["Notification".to_string()])
    );
    assert_eq!(located().await, expected);
}

/// A ← B ← D: B relates to A's entity, D to B's.
const CHAIN_A: &str = "
entities:
  - name: Parent
    fields:
      id: { type: cuid, primary: true, generated: true }
";

const CHAIN_B: &str = "
entities:
  - name: Child
    fields:
      id: { type: cuid, primary: true, generated: true }
      parentId: { type: string, required: true }
    relations:
      - { name: parent, type: belongsTo, entity: Parent, field: parentId }
";

const CHAIN_D: &str = "
entities:
  - name: Grandchild
    fields:
      id: { type: cuid, primary: true, generated: true }
      childId: { type: string, required: true }
    relations:
      - { name: child, type: belongsTo, entity: Child, field: childId }
";

#[sqlx::test(migrations = "../migrations")]
async fn a_failed_change_holds_back_its_dependents_and_blocks_no_other_approval(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let report = scan_packages(&pool, &[("a", CHAIN_A), ("b", CHAIN_B), ("d", CHAIN_D)]).await;
    let (a, b, d) = (
        created(&report, "a"),
        created(&report, "b"),
        created(&report, "d"),
    );
    for id in [&a, &b, &d] {
        approve(&pool, &alice, id).await.unwrap();
    }
    let dir = work_dir("registry-deps", "contained");
    let run = apply::run(&pool, &failing_for(&dir, &["b"])).await.unwrap();
    assert_eq!(run.failed[0].package, "b", "{run:?}");
    assert_eq!(status(&pool, &a).await, ChangeStatus::Applied);
    assert_eq!(status(&pool, &b).await, ChangeStatus::Failed);
    assert_eq!(status(&pool, &d).await, ChangeStatus::Approved);

    // An unrelated package approves although d, approved, cannot apply.
    let later = scan_packages(
        &pool,
        &[
            ("a", CHAIN_A),
            ("b", CHAIN_B),
            ("d", CHAIN_D),
            ("x", BILLING),
        ],
    )
    .await;
    let x = created(&later, "x");
    approve(&pool, &alice, &x).await.unwrap();
    assert_eq!(status(&pool, &x).await, ChangeStatus::Approved);

    // d says what holds it back, and what unblocks it.
    let mut conn = pool.acquire().await.unwrap();
    let held = future::held_back(&mut conn, &context()).await.unwrap();
    drop(conn);
    assert_eq!(held.keys().collect::<Vec<_>>(), [&d]);
    let why = held[&d].reason();
    assert!(
        why.starts_with("held back: b failed: d needs Child from b (change "),
        "{why}"
    );
    assert!(why.ends_with("retry b's change, or fix b's package and approve its new change; d applies once b does"), "{why}");
    assert_eq!(held[&d].blocked_by(), Some("b"));
    assert_eq!(held[&d].headline(), "held back: b failed");
    assert_eq!(held[&d].cause.change_id.as_deref(), Some(b.as_str()));
    // `generate` renders what the restart job will leave: x, not d.
    let rendered = apply::render_desired(&pool, &context().base, &context().config)
        .await
        .unwrap()
        .expect("the future renders");
    assert!(
        rendered.contains("model Parent") && rendered.contains("model Invoice"),
        "{rendered}"
    );
    assert!(!rendered.contains("model Grandchild"), "{rendered}");

    // The next run holds d back instead of failing it, and applies x.
    let next = apply::run(&pool, &failing_for(&dir, &[])).await.unwrap();
    assert_eq!(
        next.applied
            .iter()
            .map(|o| o.package.as_str())
            .collect::<Vec<_>>(),
        ["x"],
        "{next:?}"
    );
    assert!(next.failed.is_empty(), "{next:?}");
    assert_eq!(next.held_back.len(), 1, "{next:?}");
    let reason = next.held_back[0].reason.clone().unwrap_or_default();
    assert!(
        reason.starts_with("held back: b failed") && reason.ends_with("; it stays approved"),
        "{reason}"
    );
    assert_eq!(status(&pool, &d).await, ChangeStatus::Approved);

    // Retried, b applies, and d follows in the same run.
    apply::retry(&pool, &context(), &alice, &b).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    assert!(future::held_back(&mut conn, &context())
        .await
        .unwrap()
        .is_empty());
    drop(conn);
    let last = apply::run(&pool, &failing_for(&dir, &[])).await.unwrap();
    assert_eq!(
        last.applied
            .iter()
            .map(|o| o.package.as_str())
            .collect::<Vec<_>>(),
        ["b", "d"],
        "{last:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_change_needing_what_a_failed_change_declares_is_refused_naming_it(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let report = scan_packages(&pool, &[("a", CHAIN_A), ("b", CHAIN_B)]).await;
    let b = created(&report, "b");
    approve(&pool, &alice, &created(&report, "a"))
        .await
        .unwrap();
    approve(&pool, &alice, &b).await.unwrap();
    apply::run(
        &pool,
        &failing_for(&work_dir("registry-deps", "root"), &["b"]),
    )
    .await
    .unwrap();
    // d still validates with b's content on disk, but b's change failed.
    let later = scan_packages(&pool, &[("a", CHAIN_A), ("b", CHAIN_B), ("d", CHAIN_D)]).await;
    let d = created(&later, "d");
    let refusal = approve(&pool, &alice, &d).await.unwrap_err().to_string();
    assert!(
        refusal.contains("Child is declared by b, whose change ") && refusal.contains(" is failed"),
        "{refusal}"
    );
    assert_eq!(status(&pool, &b).await, ChangeStatus::Failed);
}

//! Scans and decisions against a real PostgreSQL database (each test on its own database).
#![cfg(feature = "ssr")]

mod support;

use app::domain::change::Risk;
use app::domain::review::{ChangeStatus, Role};
use app::registry::account;
use app::registry::audit::{self, AuditFilter};
use app::registry::change::{self, ChangeFilter, DecideError, Decision, LookupError};
use app::registry::scan::ScanReport;
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
      - name: body
        type: String
        required: false
    relations:
      - name: tenant
        type: belongsTo
        target: Tenant
        foreignKey: tenantId
    acl:
      read: [user]
";

async fn status_of(pool: &PgPool, id: &str) -> ChangeStatus {
    change::get(pool, id).await.unwrap().unwrap().status
}

/// Marks an approved change applied, as the restart job does.
async fn mark_applied(pool: &PgPool, id: &str) {
    let change = change::get(pool, id).await.unwrap().unwrap();
    sqlx::query(
        "update schema_change set status = 'applied', applied_at = now() where id = $1::uuid",
    )
    .bind(id)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into applied_package (package, checksum, yaml_snapshot, fragment, change_id)
         values ($1, $2, $3, $4, $5::uuid)
         on conflict (package) do update set checksum = $2, yaml_snapshot = $3, fragment = $4, change_id = $5::uuid",
    )
    .bind(&change.package)
    .bind(&change.target_checksum)
    .bind(&change.yaml_snapshot)
    .bind(&change.fragment_after)
    .bind(id)
    .execute(pool)
    .await
    .unwrap();
}

fn created_id(report: &ScanReport, package: &str) -> String {
    report
        .created
        .iter()
        .find(|e| e.package == package)
        .and_then(|e| e.change.clone())
        .expect("a created change")
}

#[sqlx::test(migrations = "../migrations")]
async fn scanning_the_same_content_twice_queues_it_once(pool: PgPool) {
    let first = scan_packages(&pool, &[("forum", FORUM), ("wiki", WIKI)]).await;
    assert_eq!(first.created.len(), 2);
    let second = scan_packages(&pool, &[("forum", FORUM), ("wiki", WIKI)]).await;
    assert!(second.created.is_empty(), "{second:?}");
    assert_eq!(second.unchanged.len(), 2);
    let all = change::list(&pool, &ChangeFilter::default()).await.unwrap();
    assert_eq!(all.len(), 2);
    let forum = all.iter().find(|c| c.package == "forum").unwrap();
    assert_eq!(forum.status, ChangeStatus::Pending);
    assert!(forum.target_checksum.starts_with("v1:"));
    assert!(
        forum.fragment_after.contains("model ForumThread"),
        "{}",
        forum.fragment_after
    );
    assert!(forum.yaml_snapshot.contains("ForumThread"));
}

#[sqlx::test(migrations = "../migrations")]
async fn formatting_alone_does_not_queue_a_change(pool: PgPool) {
    scan_packages(&pool, &[("forum", FORUM)]).await;
    let reformatted = format!("# a comment\n{}", FORUM.replace("\n", "\r\n"));
    let report = scan_packages(&pool, &[("forum", &reformatted)]).await;
    assert!(
        report.created.is_empty() && report.superseded.is_empty(),
        "{report:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_rejected_checksum_is_not_queued_again_until_the_content_changes(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let report = scan_packages(&pool, &[("forum", FORUM)]).await;
    let id = created_id(&report, "forum");
    change::decide(
        &pool,
        &support::context(),
        &alice,
        &id,
        None,
        &Decision::Reject {
            reason: "no".into(),
        },
    )
    .await
    .unwrap();

    let again = scan_packages(&pool, &[("forum", FORUM)]).await;
    assert!(again.created.is_empty(), "{again:?}");
    assert_eq!(again.rejected.len(), 1);

    let edited = FORUM.replace("maxLength: 200", "maxLength: 300");
    let changed = scan_packages(&pool, &[("forum", &edited)]).await;
    assert_eq!(changed.created.len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn new_content_supersedes_a_pending_or_approved_change(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let first = created_id(&scan_packages(&pool, &[("forum", FORUM)]).await, "forum");
    change::decide(
        &pool,
        &support::context(),
        &alice,
        &first,
        None,
        &Decision::Approve { note: None },
    )
    .await
    .unwrap();

    let edited = FORUM.replace("update: [admin]", "update: [admin, moderator]");
    let report = scan_packages(&pool, &[("forum", &edited)]).await;
    assert_eq!(report.superseded.len(), 1);
    assert_eq!(report.superseded[0].change.as_deref(), Some(first.as_str()));
    assert_eq!(status_of(&pool, &first).await, ChangeStatus::Superseded);
    let second = created_id(&report, "forum");
    assert_eq!(status_of(&pool, &second).await, ChangeStatus::Pending);

    let events = audit::list(
        &pool,
        &AuditFilter {
            action: Some("change.superseded".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(events.len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_change_to_applied_content_records_items_against_the_applied_state(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let first = created_id(&scan_packages(&pool, &[("forum", FORUM)]).await, "forum");
    change::decide(
        &pool,
        &support::context(),
        &alice,
        &first,
        None,
        &Decision::Approve { note: None },
    )
    .await
    .unwrap();
    mark_applied(&pool, &first).await;

    let edited = FORUM.replace(
        "      title: { type: string, required: true, maxLength: 200 }\n",
        "",
    );
    let second = created_id(&scan_packages(&pool, &[("forum", &edited)]).await, "forum");
    let change = change::get(&pool, &second).await.unwrap().unwrap();
    assert_eq!(change.risk, Risk::DataLoss);
    assert_eq!(change.items.len(), 1);
    assert_eq!(change.items[0].path, "ForumThread.fields.title");
    assert_eq!(
        change.base_checksum.as_deref(),
        Some(
            change::get(&pool, &first)
                .await
                .unwrap()
                .unwrap()
                .target_checksum
                .as_str()
        )
    );
    assert!(change.fragment_before.contains("title"));
    assert!(!change.fragment_after.contains("title"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_removed_package_yields_a_drop_change(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let report = scan_packages(&pool, &[("forum", FORUM), ("wiki", WIKI)]).await;
    let wiki = created_id(&report, "wiki");
    change::decide(
        &pool,
        &support::context(),
        &alice,
        &wiki,
        None,
        &Decision::Approve { note: None },
    )
    .await
    .unwrap();
    mark_applied(&pool, &wiki).await;

    let report = scan_packages(&pool, &[("forum", FORUM)]).await;
    assert_eq!(report.drops.len(), 1, "{report:?}");
    let drop = change::get(&pool, report.drops[0].change.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((drop.kind.as_str(), drop.risk), ("drop", Risk::DataLoss));
    assert_eq!(drop.items[0].summary, "drop entity WikiPage");

    let again = scan_packages(&pool, &[("forum", FORUM)]).await;
    assert!(again.drops.is_empty(), "a drop is queued once: {again:?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_package_with_errors_is_reported_and_skipped_while_others_are_scanned(pool: PgPool) {
    let broken = FORUM.replace(
        "type: string, required: true, maxLength",
        "type: strng, required: true, maxLength",
    );
    let report = scan_packages(&pool, &[("forum", &broken), ("wiki", WIKI)]).await;
    assert_eq!(report.created.len(), 1);
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].package, "forum");
    assert!(
        report.errors[0].messages[0].contains("strng"),
        "{:?}",
        report.errors[0].messages
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_conflicted_change_cannot_be_approved(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let other = FORUM.replace("maxLength: 200", "maxLength: 120");
    let report = scan_packages(&pool, &[("forum", FORUM), ("forum_fork", &other)]).await;
    let id = created_id(&report, "forum");
    let stored = change::get(&pool, &id).await.unwrap().unwrap();
    assert_eq!(stored.conflicts.len(), 1);
    assert_eq!(stored.conflicts[0].entity, "ForumThread");
    assert_eq!(stored.conflicts[0].declarations.len(), 2);
    let error = change::decide(
        &pool,
        &support::context(),
        &alice,
        &id,
        None,
        &Decision::Approve { note: None },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, DecideError::Conflicted(ref entity) if entity == "ForumThread"),
        "{error}"
    );

    // Resolving the conflict (the fork goes away) unblocks approval on the next scan.
    scan_packages(&pool, &[("forum", FORUM)]).await;
    change::decide(
        &pool,
        &support::context(),
        &alice,
        &id,
        None,
        &Decision::Approve { note: None },
    )
    .await
    .unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn a_unique_prefix_names_a_change_and_short_or_unknown_ones_are_refused(pool: PgPool) {
    let id = created_id(&scan_packages(&pool, &[("forum", FORUM)]).await, "forum");
    assert_eq!(
        change::resolve_id(&pool, &id[..8]).await.unwrap(),
        Ok(id.clone())
    );
    assert_eq!(
        change::resolve_id(&pool, &id.to_uppercase()).await.unwrap(),
        Ok(id.clone())
    );
    assert_eq!(
        change::resolve_id(&pool, &id[..7]).await.unwrap(),
        Err(LookupError::TooShort(id[..7].to_string()))
    );
    assert_eq!(
        change::resolve_id(&pool, "ffffffff-ffff")
            .await
            .unwrap()
            .map_err(|e| e.to_string()),
        Err("no change matches \"ffffffff-ffff\"".to_string())
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_ambiguous_prefix_is_refused(pool: PgPool) {
    for id in [
        "abcdef01-0000-4000-8000-000000000001",
        "abcdef01-0000-4000-8000-000000000002",
    ] {
        sqlx::query(
            "insert into schema_change (id, package, kind, status, risk, target_checksum, yaml_snapshot,
             fragment_before, fragment_after, created_by) values ($1::uuid, $1, 'upsert', 'rejected', 'safe', 'v1:x', '', '', '', 't')",
        )
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    }
    let error = change::resolve_id(&pool, "abcdef01")
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(error, LookupError::Ambiguous { ref ids, .. } if ids.len() == 2),
        "{error}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn approve_all_leaves_out_risky_and_conflicted_changes(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let public_wiki = WIKI.replace("read: [user]", "read: [public]");
    let other = FORUM.replace("maxLength: 200", "maxLength: 120");
    scan_packages(
        &pool,
        &[
            ("forum", FORUM),
            ("forum_fork", &other),
            ("wiki", &public_wiki),
            ("notes", &FORUM.replace("ForumThread", "Note")),
        ],
    )
    .await;
    let outcome = app::registry::bulk::approve_all(&pool, &support::context(), &alice, None, None)
        .await
        .unwrap();
    let approved: Vec<&str> = outcome
        .approved
        .iter()
        .map(|c| c.package.as_str())
        .collect();
    assert_eq!(approved, ["notes"]);
    let mut skipped: Vec<(&str, &str)> = outcome
        .skipped
        .iter()
        .map(|(c, why)| (c.package.as_str(), why.as_str()))
        .collect();
    skipped.sort();
    assert_eq!(
        skipped,
        [
            ("forum", "conflict on ForumThread"),
            ("forum_fork", "conflict on ForumThread"),
            ("wiki", "security risk needs a decision of its own"),
        ]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_viewer_or_a_disabled_admin_cannot_decide_and_the_refusal_is_audited(pool: PgPool) {
    let viewer = account_with_role(&pool, "victor", Role::Viewer).await;
    let id = created_id(&scan_packages(&pool, &[("forum", FORUM)]).await, "forum");
    let error = change::decide(
        &pool,
        &support::context(),
        &viewer,
        &id,
        None,
        &Decision::Approve { note: None },
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "victor may not decide changes: the viewer role cannot approve or reject; only admins can"
    );

    account_with_role(&pool, "dana", Role::Admin).await;
    let dana = account::disable(&pool, "tester", "dana").await.unwrap();
    let error = change::decide(
        &pool,
        &support::context(),
        &dana,
        &id,
        None,
        &Decision::Reject { reason: "x".into() },
    )
    .await
    .unwrap_err();
    assert!(matches!(error, DecideError::Forbidden { .. }));

    assert_eq!(status_of(&pool, &id).await, ChangeStatus::Pending);
    let refusals = audit::list(
        &pool,
        &AuditFilter {
            action: Some("change.decision_refused".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        refusals
            .iter()
            .map(|e| e.actor.as_str())
            .collect::<Vec<_>>(),
        ["victor", "dana"]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_stale_target_checksum_is_refused(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let id = created_id(&scan_packages(&pool, &[("forum", FORUM)]).await, "forum");
    let error = change::decide(
        &pool,
        &support::context(),
        &alice,
        &id,
        Some("v1:0000"),
        &Decision::Approve { note: None },
    )
    .await
    .unwrap_err();
    assert!(matches!(error, DecideError::Stale { .. }), "{error}");
    assert_eq!(status_of(&pool, &id).await, ChangeStatus::Pending);
}

#[sqlx::test(migrations = "../migrations")]
async fn of_fifty_concurrent_decisions_exactly_one_wins(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let id = created_id(&scan_packages(&pool, &[("forum", FORUM)]).await, "forum");
    let mut tasks = Vec::new();
    for n in 0..50 {
        let (pool, alice, id) = (pool.clone(), alice.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            let decision = if n % 2 == 0 {
                Decision::Approve {
                    note: Some(format!("attempt {n}")),
                }
            } else {
                Decision::Reject {
                    reason: format!("attempt {n}"),
                }
            };
            change::decide(&pool, &support::context(), &alice, &id, None, &decision).await
        }));
    }
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => wins += 1,
            Err(DecideError::Illegal(error)) => {
                assert!(error.to_string().starts_with("cannot "), "{error}")
            }
            Err(other) => panic!("unexpected refusal: {other}"),
        }
    }
    assert_eq!(wins, 1);
    let decisions: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action in ('change.approved', 'change.rejected')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(decisions, 1);
    assert!(audit::verify(&pool).await.unwrap().problem.is_none());
}

#[sqlx::test(migrations = "../migrations")]
async fn the_queue_finds_changes_by_package_or_item_text_in_any_case_and_pages_them(pool: PgPool) {
    scan_packages(&pool, &[("forum", FORUM), ("wiki", WIKI)]).await;
    let found = |search: &str| {
        let pool = pool.clone();
        let filter = ChangeFilter {
            search: Some(search.to_string()),
            ..ChangeFilter::default()
        };
        async move {
            let full: Vec<String> = change::list(&pool, &filter)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.package)
                .collect();
            let rows: Vec<String> = change::list_summaries(&pool, &filter)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.package)
                .collect();
            assert_eq!(full, rows);
            assert_eq!(
                change::count(&pool, &filter).await.unwrap(),
                rows.len() as i64
            );
            rows
        }
    };
    // The package name, an entity named in an item, either case; `%` and `_` match themselves.
    assert_eq!(found("WIK").await, vec!["wiki"]);
    assert_eq!(found("forumthread").await, vec!["forum"]);
    assert!(found("%").await.is_empty());
    assert!(found("nothing like it").await.is_empty());

    // Pages follow the list's order: newest first, then by package.
    let page = |offset: i64| {
        let pool = pool.clone();
        async move {
            change::list_summaries(
                &pool,
                &ChangeFilter {
                    limit: Some(1),
                    offset: Some(offset),
                    ..ChangeFilter::default()
                },
            )
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.package, c.items, c.status))
            .collect::<Vec<_>>()
        }
    };
    assert_eq!(page(0).await[0].0, "forum");
    assert_eq!(page(1).await[0].0, "wiki");
    assert!(page(0).await[0].1 > 0);
    assert_eq!(page(1).await[0].2, ChangeStatus::Pending);
    assert!(page(2).await.is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn text_search_can_be_answered_from_the_trigram_index(pool: PgPool) {
    scan_packages(&pool, &[("forum", FORUM), ("wiki", WIKI)]).await;
    let mut connection = pool.acquire().await.unwrap();
    // A two-row table is cheaper to scan; forbid that to see whether the index can serve the
    // queue's search as the queue writes it.
    sqlx::query("set enable_seqscan = off")
        .execute(&mut *connection)
        .await
        .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(
        "explain select count(*) from schema_change \
         where search_text like '%' || lower('ForumThread') || '%' escape '\\'",
    )
    .fetch_all(&mut *connection)
    .await
    .unwrap();
    assert!(
        plan.iter()
            .any(|line| line.contains("schema_change_search_trgm_idx")),
        "{plan:#?}"
    );
}

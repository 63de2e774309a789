//! Reviews that carry weight, against a real PostgreSQL database: reviewer verdicts, requested
//! changes that an approval must override, four-eyes approvals, and the next pending change.
#![cfg(feature = "ssr")]

mod support;

use app::domain::review::{ChangeStatus, Role, Verdict};
use app::registry::audit::{self, AuditFilter};
use app::registry::change::{self, DecideError, Decision, Reviewed};
use app::registry::scan::ScanReport;
use app::registry::setting;
use app::registry::verdict::{self, VerdictError};
use sqlx::PgPool;
use support::{account_with_role, scan_packages};

fn thread(entity: &str, read: &str) -> String {
    format!(
        "
entities:
  - name: {entity}
    fields:
      id: {{ type: cuid, primary: true, generated: true }}
      tenantId: {{ type: string, required: true }}
    relations:
      - {{ name: tenant, type: belongsTo, entity: Tenant, field: tenantId }}
    acl:
      read: [{read}]
"
    )
}

fn created_id(report: &ScanReport, package: &str) -> String {
    report
        .created
        .iter()
        .find(|c| c.package == package)
        .and_then(|c| c.change.clone())
        .unwrap_or_else(|| panic!("no change created for {package}: {report:?}"))
}

fn approve() -> Decision {
    Decision::Approve { note: None }
}

async fn actions(pool: &PgPool, id: &str) -> Vec<String> {
    audit::list(
        pool,
        &AuditFilter {
            change_id: Some(id.to_string()),
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap()
    .into_iter()
    .map(|e| e.action)
    .collect()
}

/// Turns four-eyes on in the registry, as an admin would.
async fn turn_on_four_eyes(pool: &PgPool) {
    let change = setting::turn_on_four_eyes(pool, "tester").await.unwrap();
    assert!(change.changed());
}

#[sqlx::test(migrations = "../migrations")]
async fn requested_changes_block_a_plain_approval_until_the_admin_confirms(pool: PgPool) {
    let admin = account_with_role(&pool, "alice", Role::Admin).await;
    let reviewer = account_with_role(&pool, "rita", Role::Reviewer).await;
    let report = scan_packages(&pool, &[("forum", &thread("ForumThread", "user"))]).await;
    let id = created_id(&report, "forum");

    let error = verdict::record(&pool, &reviewer, &id, Verdict::RequestChanges, "  ")
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "requesting changes needs a comment that says what should change"
    );
    verdict::record(
        &pool,
        &reviewer,
        &id,
        Verdict::RequestChanges,
        "title needs a length limit",
    )
    .await
    .unwrap();

    let error = change::decide(&pool, &support::context(), &admin, &id, None, &approve())
        .await
        .unwrap_err();
    assert!(
        matches!(error, DecideError::ChangesRequested { ref by, .. } if by == &["rita".to_string()]),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "changes were requested by rita: type the package name \"forum\" to approve anyway"
    );
    assert_eq!(
        change::get(&pool, &id).await.unwrap().unwrap().status,
        ChangeStatus::Pending
    );

    let confirmed = Reviewed {
        despite_requested_changes: true,
        ..Reviewed::default()
    };
    let approved = change::decide_reviewed(
        &pool,
        &support::context(),
        &admin,
        &id,
        confirmed,
        &approve(),
    )
    .await
    .unwrap();
    assert_eq!(approved.status, ChangeStatus::Approved);
    let actions = actions(&pool, &id).await;
    for expected in [
        "change.changes_requested",
        "change.decision_refused",
        "change.approved",
    ] {
        assert!(actions.iter().any(|a| a == expected), "{actions:?}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_reviewers_latest_verdict_counts(pool: PgPool) {
    let admin = account_with_role(&pool, "alice", Role::Admin).await;
    let reviewer = account_with_role(&pool, "rita", Role::Reviewer).await;
    let report = scan_packages(&pool, &[("forum", &thread("ForumThread", "user"))]).await;
    let id = created_id(&report, "forum");
    verdict::record(&pool, &reviewer, &id, Verdict::RequestChanges, "rename it")
        .await
        .unwrap();
    verdict::record(&pool, &reviewer, &id, Verdict::Approve, "fine after all")
        .await
        .unwrap();

    let mut conn = pool.acquire().await.unwrap();
    let latest = verdict::latest(&mut conn, &id).await.unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(
        (latest[0].reviewer.as_str(), latest[0].verdict),
        ("rita", Verdict::Approve)
    );
    assert!(
        verdict::with_changes_requested(&pool, std::slice::from_ref(&id))
            .await
            .unwrap()
            .is_empty()
    );
    // A reviewer-level approval is not a decision.
    assert_eq!(
        change::get(&pool, &id).await.unwrap().unwrap().status,
        ChangeStatus::Pending
    );
    change::decide(&pool, &support::context(), &admin, &id, None, &approve())
        .await
        .unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn viewers_cannot_review_and_decided_changes_take_no_verdict(pool: PgPool) {
    let admin = account_with_role(&pool, "alice", Role::Admin).await;
    let viewer = account_with_role(&pool, "vic", Role::Viewer).await;
    let report = scan_packages(&pool, &[("forum", &thread("ForumThread", "user"))]).await;
    let id = created_id(&report, "forum");
    let error = verdict::record(&pool, &viewer, &id, Verdict::Approve, "")
        .await
        .unwrap_err();
    assert!(matches!(error, VerdictError::Forbidden { .. }), "{error}");

    change::decide(&pool, &support::context(), &admin, &id, None, &approve())
        .await
        .unwrap();
    // A concern after the approval is refused, not silently noted.
    let error = verdict::record(&pool, &admin, &id, Verdict::RequestChanges, "too late?")
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot review a change that is approved: verdicts are taken while it is pending"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_queue_knows_which_changes_have_changes_requested(pool: PgPool) {
    let admin = account_with_role(&pool, "alice", Role::Admin).await;
    let reviewer = account_with_role(&pool, "rita", Role::Reviewer).await;
    let report = scan_packages(
        &pool,
        &[
            ("forum", &thread("ForumThread", "user")),
            ("wiki", &thread("WikiPage", "user")),
        ],
    )
    .await;
    let (forum, wiki) = (created_id(&report, "forum"), created_id(&report, "wiki"));
    verdict::record(&pool, &reviewer, &forum, Verdict::RequestChanges, "not yet")
        .await
        .unwrap();
    verdict::record(&pool, &admin, &wiki, Verdict::Approve, "")
        .await
        .unwrap();
    let requested = verdict::with_changes_requested(&pool, &[forum.clone(), wiki.clone()])
        .await
        .unwrap();
    assert_eq!(
        requested.into_iter().collect::<Vec<_>>(),
        std::slice::from_ref(&forum)
    );

    // Bulk approval leaves it for a decision of its own.
    let outcome = app::registry::bulk::approve_all(&pool, &support::context(), &admin, None, None)
        .await
        .unwrap();
    let approved: Vec<&str> = outcome
        .approved
        .iter()
        .map(|c| c.package.as_str())
        .collect();
    assert_eq!(approved, ["wiki"]);
    let skipped: Vec<(&str, &str)> = outcome
        .skipped
        .iter()
        .map(|(c, why)| (c.package.as_str(), why.as_str()))
        .collect();
    assert_eq!(skipped, [("forum", "changes requested by rita")]);
}

#[sqlx::test(migrations = "../migrations")]
async fn four_eyes_needs_a_second_admin_who_is_neither_first_approver_nor_author(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let bob = account_with_role(&pool, "bob", Role::Admin).await;
    // The package names tester as its owner: that admin is the changes' author.
    let tester = account_with_role(&pool, "tester", Role::Admin).await;
    let owned = format!("owner: tester\n{}", thread("OpenThread", "public"));
    let report = scan_packages(&pool, &[("open", &owned)]).await;
    let id = created_id(&report, "open");
    // No flag in the context: the rule is the registry's.
    let context = support::context();
    turn_on_four_eyes(&pool).await;

    let first = change::decide(&pool, &context, &alice, &id, None, &approve())
        .await
        .unwrap();
    assert_eq!(first.status, ChangeStatus::Pending, "the first approval");
    let mut conn = pool.acquire().await.unwrap();
    let approvals = verdict::admin_approvals(&mut conn, &first).await.unwrap();
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0].0, "alice");

    let again = change::decide(&pool, &context, &alice, &id, None, &approve())
        .await
        .unwrap_err();
    assert_eq!(
        again.to_string(),
        "cannot approve open alone: alice already gave the first approval; four-eyes needs a second admin"
    );
    let author = change::decide(&pool, &context, &tester, &id, None, &approve())
        .await
        .unwrap_err();
    assert!(
        matches!(author, DecideError::FourEyes { ref why, .. } if why.contains("tester is the package's declared owner")),
        "{author}"
    );
    assert_eq!(
        change::get(&pool, &id).await.unwrap().unwrap().status,
        ChangeStatus::Pending
    );

    let second = change::decide(&pool, &context, &bob, &id, None, &approve())
        .await
        .unwrap();
    assert_eq!(second.status, ChangeStatus::Approved);
    assert_eq!(second.decided_by.as_deref(), Some("bob"));
    let events = audit::list(
        &pool,
        &AuditFilter {
            change_id: Some(id.clone()),
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap();
    let approved = events
        .iter()
        .find(|e| e.action == "change.approved")
        .unwrap();
    assert_eq!(
        approved.details["first_approval_by"],
        serde_json::json!(["alice"])
    );
    assert!(events.iter().any(|e| e.action == "change.first_approval"));
    let refusals = events
        .iter()
        .filter(|e| e.action == "change.decision_refused")
        .count();
    assert_eq!(refusals, 2, "both refusals are audited");
}

#[sqlx::test(migrations = "../migrations")]
async fn four_eyes_leaves_routine_changes_and_is_off_by_default(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let report = scan_packages(
        &pool,
        &[
            ("open", &thread("OpenThread", "public")),
            ("forum", &thread("ForumThread", "user")),
            ("shared", &thread("SharedThread", "public")),
        ],
    )
    .await;
    assert!(
        !setting::load(&pool).await.unwrap().four_eyes,
        "off by default"
    );
    let risky = change::decide(
        &pool,
        &support::context(),
        &alice,
        &created_id(&report, "open"),
        None,
        &approve(),
    )
    .await
    .unwrap();
    assert_eq!(risky.status, ChangeStatus::Approved);

    turn_on_four_eyes(&pool).await;
    let routine = change::decide(
        &pool,
        &support::context(),
        &alice,
        &created_id(&report, "forum"),
        None,
        &approve(),
    )
    .await
    .unwrap();
    assert_eq!(routine.status, ChangeStatus::Approved);
    let shared = change::decide(
        &pool,
        &support::context(),
        &alice,
        &created_id(&report, "shared"),
        None,
        &approve(),
    )
    .await
    .unwrap();
    assert_eq!(shared.status, ChangeStatus::Pending, "a first approval");
}

#[sqlx::test(migrations = "../migrations")]
async fn four_eyes_guards_its_own_switch_and_every_change_is_audited(pool: PgPool) {
    use app::registry::guard::{self, GuardError, Guarded, Outcome};
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let bob = account_with_role(&pool, "bob", Role::Admin).await;
    let on = setting::turn_on_four_eyes(&pool, "alice").await.unwrap();
    assert_eq!((on.old, on.new), (false, true));
    let again = setting::turn_on_four_eyes(&pool, "alice").await.unwrap();
    assert!(!again.changed(), "already on");

    // One admin cannot turn it off: the request waits for another.
    let off = Guarded::FourEyesOff;
    let first = guard::request(&pool, &alice, "alice", &off).await.unwrap();
    assert_eq!(first, Outcome::Requested);
    assert!(setting::load(&pool).await.unwrap().four_eyes);
    let alone = guard::request(&pool, &alice, "alice", &off)
        .await
        .unwrap_err();
    assert!(matches!(alone, GuardError::SameAdmin { .. }), "{alone}");
    assert_eq!(
        alone.to_string(),
        "turning four-eyes off was asked for by alice already: four-eyes needs another admin to confirm it"
    );
    // Nor through a second account made for the purpose.
    let sockpuppet = account_with_role(&pool, "sockpuppet", Role::Admin).await;
    let puppet = guard::request(&pool, &sockpuppet, "sockpuppet", &off)
        .await
        .unwrap_err();
    assert!(matches!(puppet, GuardError::NewerAdmin { .. }), "{puppet}");
    assert!(setting::load(&pool).await.unwrap().four_eyes);
    let confirmed = guard::request(&pool, &bob, "bob", &off).await.unwrap();
    assert_eq!(
        confirmed,
        Outcome::Confirmed {
            requested_by: "alice".to_string()
        }
    );
    assert!(!setting::load(&pool).await.unwrap().four_eyes);

    let events = audit::list(&pool, &AuditFilter::default()).await.unwrap();
    let mut seen: Vec<(String, String, serde_json::Value)> = events
        .into_iter()
        .filter(|e| e.action.starts_with("setting.") || e.action.starts_with("four_eyes."))
        .map(|e| (e.actor, e.action, e.details))
        .collect();
    seen.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    assert_eq!(
        seen,
        [
            (
                "alice".to_string(),
                "four_eyes.requested".to_string(),
                serde_json::json!({"request": "four_eyes_off", "subject": ""})
            ),
            (
                "alice".to_string(),
                "setting.changed".to_string(),
                serde_json::json!({"setting": "four_eyes", "old": "off", "new": "on"})
            ),
            (
                "bob".to_string(),
                "setting.changed".to_string(),
                serde_json::json!({"setting": "four_eyes", "old": "on", "new": "off", "requested_by": "alice"})
            ),
        ],
        "one event per change and per request, none for a value that was already set"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn under_four_eyes_the_admin_role_needs_two_admins(pool: PgPool) {
    use app::registry::guard::{self, GuardError, Guarded, Outcome};
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let bob = account_with_role(&pool, "bob", Role::Admin).await;
    account_with_role(&pool, "carol", Role::Viewer).await;
    let promote = Guarded::AdminRole {
        username: "carol".to_string(),
    };
    // While four-eyes is off, one admin does it.
    account_with_role(&pool, "dave", Role::Viewer).await;
    let dave = Guarded::AdminRole {
        username: "dave".to_string(),
    };
    assert_eq!(
        guard::request(&pool, &alice, "alice", &dave).await.unwrap(),
        Outcome::Applied
    );
    setting::turn_on_four_eyes(&pool, "alice").await.unwrap();
    assert_eq!(
        guard::request(&pool, &alice, "alice", &promote)
            .await
            .unwrap(),
        Outcome::Requested
    );
    let role = |name: &'static str| {
        let pool = pool.clone();
        async move {
            app::registry::account::find(&pool, name)
                .await
                .unwrap()
                .unwrap()
                .role
        }
    };
    assert_eq!(role("carol").await, Role::Viewer);
    let alone = guard::request(&pool, &alice, "alice", &promote)
        .await
        .unwrap_err();
    assert!(matches!(alone, GuardError::SameAdmin { .. }));
    // A reviewer cannot confirm it.
    let reviewer = account_with_role(&pool, "rita", Role::Reviewer).await;
    assert!(matches!(
        guard::request(&pool, &reviewer, "rita", &promote)
            .await
            .unwrap_err(),
        GuardError::Forbidden { .. }
    ));
    assert!(matches!(
        guard::request(&pool, &bob, "bob", &promote).await.unwrap(),
        Outcome::Confirmed { .. }
    ));
    assert_eq!(role("carol").await, Role::Admin);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_next_pending_change_is_the_oldest_after_this_one_then_the_oldest_left(pool: PgPool) {
    // Scanned one after another, each scan keeping the packages before it.
    let packages: Vec<(&str, String)> = ["one", "two", "three"]
        .iter()
        .enumerate()
        .map(|(n, package)| (*package, thread(&format!("Entity{n}"), "user")))
        .collect();
    let mut ids = Vec::new();
    for upto in 1..=packages.len() {
        let sources: Vec<(&str, &str)> = packages[..upto]
            .iter()
            .map(|(id, yaml)| (*id, yaml.as_str()))
            .collect();
        let report = scan_packages(&pool, &sources).await;
        ids.push(created_id(&report, packages[upto - 1].0));
    }
    let next = |id: String| {
        let pool = pool.clone();
        async move {
            verdict::next_pending(&pool, &id)
                .await
                .unwrap()
                .map(|(_, package)| package)
        }
    };
    assert_eq!(next(ids[0].clone()).await.as_deref(), Some("two"));
    assert_eq!(next(ids[1].clone()).await.as_deref(), Some("three"));
    assert_eq!(next(ids[2].clone()).await.as_deref(), Some("one"));

    let admin = account_with_role(&pool, "alice", Role::Admin).await;
    for id in &ids[1..] {
        change::decide(&pool, &support::context(), &admin, id, None, &approve())
            .await
            .unwrap();
    }
    assert_eq!(next(ids[0].clone()).await, None);
}

/// A lone admin cannot make a second account and give the second approval with it: under
/// four-eyes, an admin whose account was created after the change cannot be the second approver.
#[sqlx::test(migrations = "../migrations")]
async fn under_four_eyes_an_admin_made_after_the_change_cannot_approve_it_second(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let report = scan_packages(&pool, &[("open", &thread("OpenThread", "public"))]).await;
    let id = created_id(&report, "open");
    let context = support::context();
    turn_on_four_eyes(&pool).await;
    let first = change::decide(&pool, &context, &alice, &id, None, &approve())
        .await
        .unwrap();
    assert_eq!(first.status, ChangeStatus::Pending);

    let sockpuppet = account_with_role(&pool, "sockpuppet", Role::Admin).await;
    let refused = change::decide(&pool, &context, &sockpuppet, &id, None, &approve())
        .await
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "cannot approve open alone: sockpuppet's account was created after this change; four-eyes needs a second admin whose account existed before it"
    );
    assert_eq!(
        change::get(&pool, &id).await.unwrap().unwrap().status,
        ChangeStatus::Pending
    );
}

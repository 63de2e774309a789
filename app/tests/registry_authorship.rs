//! Authorship follows the package, against a real PostgreSQL database: scanning is not
//! authoring, so under four-eyes the admin who ran the scan may give the second approval unless
//! the package names that admin as its owner; a first approval can be withdrawn by its admin.
#![cfg(feature = "ssr")]

mod support;

use app::domain::base_schema::BaseSchema;
use app::domain::config::Config;
use app::domain::review::{ChangeStatus, Role};
use app::registry::audit::{self, AuditFilter};
use app::registry::change;
use app::registry::scan::{scan, ScanReport};
use app::registry::setting;
use app::registry::verdict::{self, WithdrawError};
use sqlx::PgPool;
use support::{account_with_role, approve, source};

/// A security change (public read access): four-eyes covers it.
fn open_thread(owner: Option<&str>) -> String {
    let owner = owner.map_or_else(String::new, |o| format!("owner: {o}\n"));
    format!(
        "{owner}entities:
  - name: OpenThread
    fields:
      id: {{ type: cuid, primary: true, generated: true }}
    acl:
      read: [public]
"
    )
}

/// Scans `yaml` as package `open`, run by `actor`; the new change's id.
async fn scan_as(pool: &PgPool, actor: &str, yaml: &str) -> String {
    let report: ScanReport = scan(
        pool,
        actor,
        vec![source("open", yaml)],
        BaseSchema::default(),
        &Config::default(),
    )
    .await
    .expect("scan");
    report
        .created
        .iter()
        .find_map(|c| c.change.clone())
        .unwrap_or_else(|| panic!("a change in {report:?}"))
}

async fn first_approvers(pool: &PgPool, id: &str) -> Vec<String> {
    let change = change::get(pool, id).await.unwrap().unwrap();
    let mut conn = pool.acquire().await.unwrap();
    verdict::admin_approvals(&mut conn, &change)
        .await
        .unwrap()
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

async fn four_eyes_on(pool: &PgPool) {
    assert!(setting::turn_on_four_eyes(pool, "tester")
        .await
        .unwrap()
        .changed());
}

#[sqlx::test(migrations = "../migrations")]
async fn with_exactly_two_admins_the_admin_who_scanned_gives_the_second_approval(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let bob = account_with_role(&pool, "bob", Role::Admin).await;
    // Alice presses "Scan now"; the package names no owner, so the change has no author.
    let id = scan_as(&pool, "alice", &open_thread(None)).await;
    four_eyes_on(&pool).await;

    let first = approve(&pool, &bob, &id).await.unwrap();
    assert_eq!(
        first.status,
        ChangeStatus::Pending,
        "bob's is the first of two"
    );
    let second = approve(&pool, &alice, &id).await.unwrap();
    assert_eq!(second.status, ChangeStatus::Approved);
    assert_eq!(second.decided_by.as_deref(), Some("alice"));
}

#[sqlx::test(migrations = "../migrations")]
async fn the_packages_declared_owner_cannot_give_the_second_approval(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let bob = account_with_role(&pool, "bob", Role::Admin).await;
    let carol = account_with_role(&pool, "carol", Role::Admin).await;
    // Bob scans a package that Alice owns: Alice is the author, whoever scanned.
    let id = scan_as(&pool, "bob", &open_thread(Some("alice"))).await;
    four_eyes_on(&pool).await;

    approve(&pool, &bob, &id).await.unwrap();
    let refusal = approve(&pool, &alice, &id).await.unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "cannot approve open alone: alice is the package's declared owner (its owner: key), so the author of this change; four-eyes needs a second admin who is not its author"
    );
    let approved = approve(&pool, &carol, &id).await.unwrap();
    assert_eq!(approved.status, ChangeStatus::Approved);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_admin_withdraws_a_first_approval_and_the_change_needs_two_again(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let bob = account_with_role(&pool, "bob", Role::Admin).await;
    let rita = account_with_role(&pool, "rita", Role::Reviewer).await;
    let id = scan_as(&pool, "alice", &open_thread(None)).await;
    four_eyes_on(&pool).await;
    approve(&pool, &alice, &id).await.unwrap();
    assert_eq!(first_approvers(&pool, &id).await, ["alice"]);

    // Only the admin who gave it can take it back.
    let not_hers = verdict::withdraw_first_approval(&pool, &bob, &id)
        .await
        .unwrap_err();
    assert!(matches!(not_hers, WithdrawError::NoApproval { .. }));
    assert_eq!(
        not_hers.to_string(),
        "bob gave no first approval of open to withdraw"
    );
    let reviewer = verdict::withdraw_first_approval(&pool, &rita, &id)
        .await
        .unwrap_err();
    assert!(
        matches!(reviewer, WithdrawError::Forbidden { .. }),
        "{reviewer}"
    );

    let withdrawn = verdict::withdraw_first_approval(&pool, &alice, &id)
        .await
        .unwrap();
    assert_eq!(withdrawn.status, ChangeStatus::Pending);
    assert!(first_approvers(&pool, &id).await.is_empty());
    let events = audit::list(
        &pool,
        &AuditFilter {
            change_id: Some(id.clone()),
            action: Some("change.first_approval_withdrawn".to_string()),
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor, "alice");

    // Bob's approval is now the first, not the second.
    let first = approve(&pool, &bob, &id).await.unwrap();
    assert_eq!(first.status, ChangeStatus::Pending);
    let second = approve(&pool, &alice, &id).await.unwrap();
    assert_eq!(second.status, ChangeStatus::Approved);

    // A decided change keeps its approvals.
    let late = verdict::withdraw_first_approval(&pool, &bob, &id)
        .await
        .unwrap_err();
    assert_eq!(
        late.to_string(),
        "cannot withdraw an approval of a change that is approved: only a pending change's first approval can be withdrawn"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn next_leads_an_admin_past_changes_they_cannot_decide(pool: PgPool) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let attachment = |package: &str, size: &str| {
        format!(
            "entities:\n  - name: Attachment\n    fields:\n      id: {{ type: cuid, primary: true, generated: true }}\n      size: {{ type: {size}, required: true }}\n  - name: {package}Note\n    fields:\n      id: {{ type: cuid, primary: true, generated: true }}\n"
        )
    };
    let (forum, wiki) = (attachment("Forum", "int"), attachment("Wiki", "bigint"));
    let first = scan_as(&pool, "alice", &open_thread(None)).await;
    // Conflicted with each other: nobody can approve either.
    support::scan_packages(
        &pool,
        &[
            ("open", &open_thread(None)),
            ("forum", &forum),
            ("wiki", &wiki),
        ],
    )
    .await;
    let later = support::scan_packages(
        &pool,
        &[
            ("open", &open_thread(None)),
            ("forum", &forum),
            ("wiki", &wiki),
            ("billing", "entities:\n  - name: Invoice\n    fields:\n      id: { type: cuid, primary: true, generated: true }\n"),
        ],
    )
    .await;
    let billing = later.created[0].change.clone().unwrap();
    let next = verdict::next_decidable(&pool, &first, &alice)
        .await
        .unwrap();
    assert_eq!(next.map(|(_, package)| package).as_deref(), Some("billing"));
    // Reading, the conflicted ones come first.
    let read = verdict::next_pending(&pool, &first).await.unwrap();
    assert_ne!(read.map(|(id, _)| id).as_deref(), Some(billing.as_str()));

    // A change alice gave the first of two approvals of is not hers to decide again.
    four_eyes_on(&pool).await;
    let next_after_billing = verdict::next_decidable(&pool, &billing, &alice)
        .await
        .unwrap();
    assert_eq!(
        next_after_billing.map(|(id, _)| id).as_deref(),
        Some(first.as_str())
    );
    approve(&pool, &alice, &first).await.unwrap();
    assert_eq!(
        verdict::next_decidable(&pool, &billing, &alice)
            .await
            .unwrap(),
        None
    );
}

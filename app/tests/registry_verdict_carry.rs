//! Review state persists across revisions, against a real PostgreSQL database: requested
//! changes carry to the change that supersedes the reviewed one until the reviewer approves the
//! new revision or the verdict is dismissed; approvals as reviewer arrive stale.
#![cfg(feature = "ssr")]

mod support;

use app::domain::review::{Role, Verdict};
use app::registry::audit::{self, AuditFilter};
use app::registry::change::{self, DecideError, Decision};
use app::registry::verdict::{self, DismissError, ReviewVerdict};
use app::registry::{bulk, scan::ScanReport};
use sqlx::PgPool;
use support::{account_with_role, context, scan_packages};

fn forum(max_length: u32) -> String {
    format!(
        "
entities:
  - name: ForumThread
    fields:
      id: {{ type: cuid, primary: true, generated: true }}
      title: {{ type: string, required: true, maxLength: {max_length} }}
"
    )
}

fn created(report: &ScanReport) -> String {
    report.created[0].change.clone().expect("a new change")
}

async fn latest(pool: &PgPool, id: &str) -> Vec<ReviewVerdict> {
    let mut conn = pool.acquire().await.unwrap();
    verdict::latest(&mut conn, id).await.unwrap()
}

async fn requesting(pool: &PgPool, id: &str) -> Vec<String> {
    let mut conn = pool.acquire().await.unwrap();
    verdict::requesting_changes(&mut conn, id).await.unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn requested_changes_carry_to_the_new_revision_until_dismissed_and_approvals_go_stale(
    pool: PgPool,
) {
    let alice = account_with_role(&pool, "alice", Role::Admin).await;
    let rita = account_with_role(&pool, "rita", Role::Reviewer).await;
    let ann = account_with_role(&pool, "ann", Role::Reviewer).await;
    let first = created(&scan_packages(&pool, &[("forum", &forum(100))]).await);
    verdict::record(
        &pool,
        &rita,
        &first,
        Verdict::RequestChanges,
        "titles need 200",
    )
    .await
    .unwrap();
    verdict::record(&pool, &ann, &first, Verdict::Approve, "")
        .await
        .unwrap();

    // Fixed partly and scanned again: the new change still has rita's request, ann's is stale.
    let second = created(&scan_packages(&pool, &[("forum", &forum(150))]).await);
    let verdicts = latest(&pool, &second).await;
    let shown: Vec<(&str, Verdict, Option<&str>, bool)> = verdicts
        .iter()
        .map(|v| {
            (
                v.reviewer.as_str(),
                v.verdict,
                v.carried_from.as_deref(),
                v.stale,
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("rita", Verdict::RequestChanges, Some(first.as_str()), false),
            ("ann", Verdict::Approve, Some(first.as_str()), true),
        ]
    );
    assert_eq!(verdicts[0].comment.as_deref(), Some("titles need 200"));
    assert_eq!(requesting(&pool, &second).await, ["rita"]);
    let badged = verdict::with_changes_requested(&pool, std::slice::from_ref(&second))
        .await
        .unwrap();
    assert!(badged.contains(&second), "the queue badges it");
    let plan = bulk::plan(&pool, &context()).await.unwrap();
    assert!(plan.take.is_empty(), "bulk approval leaves it out");
    assert_eq!(plan.skipped[0].1, "changes requested by rita");
    let approve = Decision::Approve { note: None };
    let refused = change::decide(&pool, &context(), &alice, &second, None, &approve)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, DecideError::ChangesRequested { .. }),
        "{refused}"
    );

    // Only rita or an admin with a reason dismisses it.
    let other = verdict::dismiss(&pool, &ann, &second, "rita", "looks fine to me")
        .await
        .unwrap_err();
    assert!(matches!(other, DismissError::Forbidden { .. }), "{other}");
    let bare = verdict::dismiss(&pool, &alice, &second, "rita", "  ")
        .await
        .unwrap_err();
    assert_eq!(
        bare.to_string(),
        "dismissing rita's requested changes needs a reason"
    );
    verdict::dismiss(&pool, &alice, &second, "rita", "150 is what we agreed")
        .await
        .unwrap();
    assert!(requesting(&pool, &second).await.is_empty());
    let dismissed = audit::list(
        &pool,
        &AuditFilter {
            change_id: Some(second.clone()),
            action: Some("change.review_dismissed".to_string()),
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(dismissed.len(), 1);
    assert_eq!(dismissed[0].details["reviewer"], "rita");
    let again = verdict::dismiss(&pool, &alice, &second, "rita", "twice")
        .await
        .unwrap_err();
    assert!(matches!(again, DismissError::Nothing { .. }), "{again}");

    // A dismissed request does not come back with the next revision; the stale approval stays.
    let third = created(&scan_packages(&pool, &[("forum", &forum(200))]).await);
    assert!(requesting(&pool, &third).await.is_empty());
    let verdicts = latest(&pool, &third).await;
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    assert!(verdicts[0].stale && verdicts[0].reviewer == "ann");
    change::decide(&pool, &context(), &alice, &third, None, &approve)
        .await
        .unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn the_reviewer_approving_the_new_revision_lifts_the_carried_request(pool: PgPool) {
    let rita = account_with_role(&pool, "rita", Role::Reviewer).await;
    let first = created(&scan_packages(&pool, &[("forum", &forum(100))]).await);
    verdict::record(
        &pool,
        &rita,
        &first,
        Verdict::RequestChanges,
        "titles need 200",
    )
    .await
    .unwrap();
    let second = created(&scan_packages(&pool, &[("forum", &forum(200))]).await);
    assert_eq!(requesting(&pool, &second).await, ["rita"]);

    verdict::record(&pool, &rita, &second, Verdict::Approve, "thanks")
        .await
        .unwrap();
    assert!(requesting(&pool, &second).await.is_empty());
    let verdicts = latest(&pool, &second).await;
    assert_eq!(verdicts.len(), 1);
    assert!(!verdicts[0].stale && verdicts[0].carried_from.is_none());
    // Her own request she may dismiss without a reason; here there is none left to dismiss.
    let nothing = verdict::dismiss(&pool, &rita, &second, "rita", "")
        .await
        .unwrap_err();
    assert!(matches!(nothing, DismissError::Nothing { .. }), "{nothing}");
}

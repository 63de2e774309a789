//! The queue's search, against a real PostgreSQL database: package, entity and field names,
//! the SQL plan, comments and reviewers' comments all find their change.
#![cfg(feature = "ssr")]

mod support;

use app::domain::review::{Role, Verdict};
use app::registry::change::{self, ChangeFilter};
use app::registry::verdict;
use sqlx::PgPool;
use support::{account_with_role, scan_packages};

const ACCOUNTS: &str = "
entities:
  - name: UserAccount
    fields:
      id: { type: cuid, primary: true, generated: true }
      passwordHash: { type: string, required: true }
";

const BILLING: &str = "
entities:
  - name: Invoice
    fields:
      id: { type: cuid, primary: true, generated: true }
      total: { type: int, required: true }
";

async fn found(pool: &PgPool, search: &str) -> Vec<String> {
    let filter = ChangeFilter {
        search: Some(search.to_string()),
        ..ChangeFilter::default()
    };
    let packages: Vec<String> = change::list(pool, &filter)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.package)
        .collect();
    assert_eq!(
        change::count(pool, &filter).await.unwrap(),
        packages.len() as i64,
        "count agrees with the list for {search:?}"
    );
    packages
}

#[sqlx::test(migrations = "../migrations")]
async fn the_queue_search_covers_names_fields_sql_and_comments(pool: PgPool) {
    let report = scan_packages(&pool, &[("accounts", ACCOUNTS), ("billing", BILLING)]).await;
    let billing = report
        .created
        .iter()
        .find(|c| c.package == "billing")
        .and_then(|c| c.change.clone())
        .unwrap();

    // A field name, in any case, and an entity name.
    assert_eq!(found(&pool, "password").await, ["accounts"]);
    assert_eq!(found(&pool, "PASSWORDHASH").await, ["accounts"]);
    assert_eq!(found(&pool, "invoice").await, ["billing"]);

    // The SQL plan, once the change carries one.
    assert!(found(&pool, "create table \"invoice\"").await.is_empty());
    sqlx::query(
        "update schema_change set plan_sql = 'CREATE TABLE \"Invoice\" (\"total\" INTEGER NOT NULL);'
         where id = $1::uuid",
    )
    .bind(&billing)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(found(&pool, "create table \"invoice\"").await, ["billing"]);

    // A comment, and a reviewer's comment.
    let rita = account_with_role(&pool, "rita", Role::Reviewer).await;
    assert!(found(&pool, "currency").await.is_empty());
    change::comment(
        &pool,
        &rita,
        &billing,
        "Which Currency is the total in?",
        None,
    )
    .await
    .unwrap();
    assert_eq!(found(&pool, "currency").await, ["billing"]);
    verdict::record(
        &pool,
        &rita,
        &billing,
        Verdict::RequestChanges,
        "add a tax rate",
    )
    .await
    .unwrap();
    assert_eq!(found(&pool, "TAX RATE").await, ["billing"]);
    assert!(found(&pool, "nothing like it").await.is_empty());
}

//! Helpers shared by the database tests: in-memory packages, scans, accounts, the test
//! database's URL.
#![cfg(feature = "ssr")]
#![allow(dead_code)]

use app::domain::base_schema::BaseSchema;
use app::domain::catalog::{PackageId, PackageSource};
use app::domain::config::Config;
use app::domain::review::Role;
use app::registry::account::{self, Account};
use app::registry::scan::{scan, ScanReport};
use sqlx::PgPool;

/// A package `id` whose `entities.yaml` is `text`.
pub fn source(id: &str, text: &str) -> PackageSource {
    PackageSource {
        id: PackageId::parse(id).unwrap(),
        file: format!("{id}/seed/schema/entities.yaml"),
        text: text.to_string(),
    }
}

/// Scans `packages` (`(id, yaml)`) against the built-in base schema, as `tester`.
pub async fn scan_packages(pool: &PgPool, packages: &[(&str, &str)]) -> ScanReport {
    let sources = packages.iter().map(|(id, text)| source(id, text)).collect();
    scan(
        pool,
        "tester",
        sources,
        BaseSchema::default(),
        &Config::default(),
    )
    .await
    .expect("scan")
}

/// An account with `role` (its password hash is a placeholder: these tests never sign in).
pub async fn account_with_role(pool: &PgPool, name: &str, role: Role) -> Account {
    account::create(pool, "tester", name, "not-a-real-hash", role)
        .await
        .expect("account")
}

/// The built-in base schema and default configuration, as approvals render with.
pub fn context() -> app::registry::future::SchemaContext {
    app::registry::future::SchemaContext::default()
}

/// The URL of the test's own database: `DATABASE_URL` (the server `#[sqlx::test]` uses) with
/// the database name of `pool`.
pub async fn database_url(pool: &PgPool) -> String {
    let name: String = sqlx::query_scalar("select current_database()")
        .fetch_one(pool)
        .await
        .expect("current_database");
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let authority = base.find("://").expect("a url") + 3;
    let path = authority
        + base[authority..]
            .find('/')
            .unwrap_or(base.len() - authority);
    let query = base[path..].find('?').map_or(base.len(), |q| path + q);
    format!("{}/{name}{}", &base[..path], &base[query..])
}

/// Declares `ForumThread`.
pub const FORUM: &str = "
entities:
  - name: ForumThread
    fields:
      id: { type: cuid, primary: true, generated: true }
      tenantId: { type: string, required: true }
      title: { type: string, required: true, maxLength: 200 }
    relations:
      - { name: tenant, type: belongsTo, entity: Tenant, field: tenantId }
";

/// Relates to `ForumThread`, which [`FORUM`] declares.
pub const NOTIFICATIONS: &str = "
entities:
  - name: Notification
    fields:
      id: { type: cuid, primary: true, generated: true }
      threadId: { type: string, required: false }
    relations:
      - { name: thread, type: belongsTo, entity: ForumThread, field: threadId, optional: true }
";

/// An empty work directory of its own under target/test-dirs: `<suite>-<name>-<pid>`.
pub fn work_dir(suite: &str, name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-dirs")
        .join(format!("{suite}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Apply options whose migrate command fails for the packages in `failing`.
pub fn failing_for(dir: &std::path::Path, failing: &[&str]) -> app::registry::apply::ApplyOptions {
    let mut options =
        app::registry::apply::ApplyOptions::new(dir.join("schema.prisma"), "test-host pid 1");
    let cases: String = failing
        .iter()
        .map(|p| format!("{p}) echo \"cannot migrate {p}\"; exit 1;; "))
        .collect();
    options.migrate_cmd = Some(format!(
        "case \"$SCHEMAGATE_PACKAGE\" in {cases}*) true;; esac"
    ));
    options
}

/// Approves change `id` as `admin`, against the built-in base schema.
pub async fn approve(
    pool: &PgPool,
    admin: &Account,
    id: &str,
) -> Result<app::registry::change::SchemaChange, app::registry::change::DecideError> {
    app::registry::change::decide(
        pool,
        &context(),
        admin,
        id,
        None,
        &app::registry::change::Decision::Approve { note: None },
    )
    .await
}

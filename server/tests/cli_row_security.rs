//! An entity's ACL reaches the platform database through the restart job as row-level
//! security, and a changed ACL replaces the policies: checked as a non-owner database role with
//! the per-transaction settings a platform sets, before and after the change.

mod support;

use std::path::Path;

use support::{fresh_database, fresh_dir, run_cli, stdout_of};

/// Admins read their own notes; signed-in users create them.
const V1: &str = "entities:
  - name: Note
    fields:
      id: { type: string, primary: true }
      userId: { type: string, required: true }
      title: { type: string, required: true }
    acl:
      create: [user]
      read: [admin]
      rowLevel: \"userId = $user.id\"
";

/// Every signed-in user reads every note: `user` added to read, the row filter removed.
const V2: &str = "entities:
  - name: Note
    fields:
      id: { type: string, primary: true }
      userId: { type: string, required: true }
      title: { type: string, required: true }
    acl:
      create: [user]
      read: [admin, user]
";

fn write(dir: &Path, yaml: &str) {
    let schema = dir.join("packages/notes/seed/schema");
    std::fs::create_dir_all(&schema).unwrap();
    std::fs::write(schema.join("entities.yaml"), yaml).unwrap();
}

/// Scans, approves the new change and runs the restart job; returns the change's SQL.
fn review_and_apply(db: &str, dir: &Path) -> String {
    let packages = dir.join("packages");
    let scan: serde_json::Value = serde_json::from_str(&stdout_of(&run_cli(
        db,
        &["--packages", packages.to_str().unwrap(), "scan", "--json"],
        "",
    )))
    .unwrap();
    let id = scan["created"][0]["change"]
        .as_str()
        .expect("a change")
        .to_string();
    let sql = stdout_of(&run_cli(db, &["show", &id, "--sql"], ""));
    stdout_of(&run_cli(db, &["approve", &id, "--as", "alice"], ""));
    let out = dir.join("schema.prisma");
    let apply = run_cli(
        db,
        &["apply", "--json", "--schema-out", out.to_str().unwrap()],
        "",
    );
    assert!(
        apply.status.success(),
        "{}",
        String::from_utf8_lossy(&apply.stdout)
    );
    sql
}

/// The non-owner database role the platform would connect as (roles are per cluster: one per
/// test process).
fn reader() -> String {
    format!("note_reader_{}", std::process::id())
}

/// Titles of the notes `role` (as user `user`) sees, as the non-owner role [`reader`].
fn visible(
    runtime: &tokio::runtime::Runtime,
    conn: &mut sqlx::PgConnection,
    user: &str,
    role: &str,
) -> Vec<String> {
    let reader = reader();
    runtime.block_on(async {
        use sqlx::Connection;
        let mut tx = conn.begin().await.unwrap();
        sqlx::query(&format!("set local role {reader}"))
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("select set_config('app.user_id', $1, true), set_config('app.role', $2, true)")
            .bind(user)
            .bind(role)
            .execute(&mut *tx)
            .await
            .unwrap();
        let mut titles: Vec<String> = sqlx::query_scalar("select title from public.\"Note\"")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        titles.sort();
        tx.rollback().await.unwrap();
        titles
    })
}

#[test]
fn an_acl_reaches_the_database_through_the_restart_job_and_a_changed_acl_replaces_its_policies() {
    let db = fresh_database("row_security_apply");
    let dir = fresh_dir("row_security_apply");
    stdout_of(&run_cli(
        &db,
        &["user", "add", "alice", "--role", "admin"],
        "long enough\n",
    ));

    write(&dir, V1);
    let first = review_and_apply(&db, &dir);
    assert!(first.contains("ENABLE ROW LEVEL SECURITY"), "{first}");
    assert!(first.contains("FORCE ROW LEVEL SECURITY"), "{first}");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut conn = runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&db).await.unwrap();
        let reader = reader();
        for sql in [
            format!("drop role if exists {reader}"),
            format!("create role {reader} nologin"),
            format!("grant usage on schema public to {reader}"),
            format!("grant select on public.\"Note\" to {reader}"),
            "insert into public.\"Note\" (id, \"userId\", title) values ('1', 'u1', 'mine'), ('2', 'u2', 'theirs')".to_string(),
        ] {
            sqlx::query(&sql).execute(&mut conn).await.expect(&sql);
        }
        conn
    });
    // Before: users read nothing; an admin reads only the rows the row filter admits.
    assert!(visible(&runtime, &mut conn, "u1", "user").is_empty());
    assert_eq!(visible(&runtime, &mut conn, "u1", "admin"), ["mine"]);
    assert!(
        visible(&runtime, &mut conn, "", "").is_empty(),
        "anonymous reads nothing"
    );

    write(&dir, V2);
    let second = review_and_apply(&db, &dir);
    assert!(
        second.contains("DROP POLICY"),
        "the read policy is replaced: {second}"
    );
    // After: every signed-in user reads every note; anonymous still nothing.
    assert_eq!(
        visible(&runtime, &mut conn, "u1", "user"),
        ["mine", "theirs"]
    );
    assert_eq!(
        visible(&runtime, &mut conn, "u2", "admin"),
        ["mine", "theirs"]
    );
    assert!(visible(&runtime, &mut conn, "", "").is_empty());
    let reader = reader();
    runtime.block_on(async {
        sqlx::query(&format!("drop owned by {reader}"))
            .execute(&mut conn)
            .await
            .ok();
        sqlx::query(&format!("drop role {reader}"))
            .execute(&mut conn)
            .await
            .ok();
    });
}

/// Media assets, owned by a user; comments belong to an asset (no owner field of their own).
const MEDIA: &str = "entities:
  - name: MediaAsset
    fields:
      id: { type: string, primary: true }
      userId: { type: string, required: true }
";

/// Comments are read by the owner of their asset: the policy reads `MediaAsset.userId`.
const COMMENTS: &str = "entities:
  - name: AssetComment
    fields:
      id: { type: string, primary: true }
      assetId: { type: string, required: true }
    relations:
      - { name: asset, type: belongsTo, entity: MediaAsset, field: assetId }
    acl:
      read: [owner]
";

/// A package may not drop a column another package's applied policy reads: PostgreSQL would
/// refuse the migration, so the approval is refused, naming the policy and the package.
#[test]
fn dropping_a_column_another_packages_policy_reads_is_refused_at_approval() {
    let db = fresh_database("row_security_foreign_drop");
    let dir = fresh_dir("row_security_foreign_drop");
    stdout_of(&run_cli(
        &db,
        &["user", "add", "alice", "--role", "admin"],
        "long enough\n",
    ));
    let package = |id: &str, yaml: &str| {
        let schema = dir.join("packages").join(id).join("seed/schema");
        std::fs::create_dir_all(&schema).unwrap();
        std::fs::write(schema.join("entities.yaml"), yaml).unwrap();
    };
    package("media", MEDIA);
    package("comments", COMMENTS);
    let packages = dir.join("packages");
    let scan = |db: &str| -> serde_json::Value {
        serde_json::from_str(&stdout_of(&run_cli(
            db,
            &["--packages", packages.to_str().unwrap(), "scan", "--json"],
            "",
        )))
        .unwrap()
    };
    let created = scan(&db);
    let id_of = |scanned: &serde_json::Value, package: &str| {
        scanned["created"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["package"] == package)
            .and_then(|c| c["change"].as_str())
            .unwrap()
            .to_string()
    };
    for package in ["media", "comments"] {
        let id = id_of(&created, package);
        // comments' plan moves on once media is approved: the second look approves it.
        let first = run_cli(&db, &["approve", &id, "--as", "alice"], "");
        if !first.status.success() {
            stdout_of(&run_cli(&db, &["approve", &id, "--as", "alice"], ""));
        }
    }
    let out = dir.join("schema.prisma");
    let apply = run_cli(&db, &["apply", "--schema-out", out.to_str().unwrap()], "");
    assert!(
        apply.status.success(),
        "{}",
        String::from_utf8_lossy(&apply.stdout)
    );

    package(
        "media",
        &MEDIA.replace("      userId: { type: string, required: true }\n", ""),
    );
    let dropped = id_of(&scan(&db), "media");
    let refused = run_cli(&db, &["approve", &dropped, "--as", "alice"], "");
    assert_eq!(refused.status.code(), Some(1));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("media drops column \"MediaAsset\".\"userId\", which the row-level-security policies (schemagate_create, schemagate_read, schemagate_update, schemagate_delete) of entity AssetComment of package comments read"),
        "{said}"
    );
}

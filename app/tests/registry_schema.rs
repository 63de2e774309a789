//! The registry's schema as migrated into a real PostgreSQL database.
#![cfg(feature = "ssr")]

use sqlx::PgPool;

async fn insert_event(pool: &PgPool, seq: i64) {
    sqlx::query(
        "insert into audit_event (seq, at, actor, action, prev_hash, hash)
         values ($1, now(), 'tester', 'test', 'p', 'h')",
    )
    .bind(seq)
    .execute(pool)
    .await
    .expect("insert audit event");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_database_refuses_to_update_an_audit_event(pool: PgPool) {
    insert_event(&pool, 1).await;
    let error = sqlx::query("update audit_event set actor = 'mallory' where seq = 1")
        .execute(&pool)
        .await
        .expect_err("update must be refused");
    assert!(
        error
            .to_string()
            .contains("audit_event is append-only: UPDATE refused"),
        "{error}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_database_refuses_to_delete_or_truncate_audit_events(pool: PgPool) {
    insert_event(&pool, 1).await;
    let error = sqlx::query("delete from audit_event")
        .execute(&pool)
        .await
        .expect_err("delete");
    assert!(error.to_string().contains("DELETE refused"), "{error}");
    let error = sqlx::query("truncate audit_event")
        .execute(&pool)
        .await
        .expect_err("truncate");
    assert!(error.to_string().contains("TRUNCATE refused"), "{error}");
    let count: i64 = sqlx::query_scalar("select count(*) from audit_event")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(count, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_package_has_at_most_one_open_change(pool: PgPool) {
    let insert = "insert into schema_change (package, kind, status, risk, target_checksum,
                  yaml_snapshot, fragment_before, fragment_after, created_by)
                  values ('forum', 'upsert', $1, 'safe', 'v1:x', '', '', '', 'tester')";
    sqlx::query(insert)
        .bind("pending")
        .execute(&pool)
        .await
        .expect("first open change");
    sqlx::query(insert)
        .bind("rejected")
        .execute(&pool)
        .await
        .expect("closed changes are many");
    let error = sqlx::query(insert)
        .bind("approved")
        .execute(&pool)
        .await
        .expect_err("second");
    assert!(
        error
            .to_string()
            .contains("schema_change_one_open_per_package"),
        "{error}"
    );
}

/// A role of the platform's (its migration role, say) cannot connect to the registry's
/// database, and even where the database is opened to it, it cannot read or write the registry's
/// schema.
#[sqlx::test(migrations = "../migrations")]
async fn a_migration_role_cannot_reach_the_registry(pool: PgPool) {
    use sqlx::{ConnectOptions, Connection};
    let role = format!("migrator_{}", std::process::id());
    sqlx::query(&format!("drop role if exists {role}"))
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(&format!("create role {role} login"))
        .execute(&pool)
        .await
        .unwrap();
    let database: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let options = pool.connect_options().as_ref().clone().username(&role);

    let refused = options
        .connect()
        .await
        .expect_err("connect must be refused");
    assert!(
        refused
            .to_string()
            .contains(&format!("permission denied for database \"{database}\"")),
        "{refused}"
    );

    sqlx::query(&format!(
        "grant connect on database \"{database}\" to {role}"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let mut conn = sqlx::PgConnection::connect_with(&options)
        .await
        .expect("connect once granted");
    for statement in [
        "select count(*) from schemagate.account",
        "update schemagate.account set role = 'admin'",
        "create table schemagate.intruder (id int)",
    ] {
        let error = sqlx::query(statement)
            .execute(&mut conn)
            .await
            .expect_err(statement);
        assert!(
            error
                .to_string()
                .contains("permission denied for schema schemagate"),
            "{statement}: {error}"
        );
    }
    conn.close().await.unwrap();
    sqlx::query(&format!(
        "revoke connect on database \"{database}\" from {role}"
    ))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(&format!("drop role {role}"))
        .execute(&pool)
        .await
        .unwrap();
}

/// The page cache is told of every write to a table the pages show: every registry table has
/// the notice trigger, so declaring it again finds nothing left to cover. A migration that adds
/// a table and forgets `select schemagate.announce_every_table();` fails here.
#[sqlx::test(migrations = "../migrations")]
async fn every_registry_table_announces_its_writes_to_the_page_cache(pool: PgPool) {
    let count = || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from pg_trigger t
               join pg_class c on c.oid = t.tgrelid
               join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = 'schemagate' and t.tgname = 'announce_registry_change'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let before = count().await;
    assert!(before >= 9, "{before}");
    sqlx::query("select schemagate.announce_every_table()")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        count().await,
        before,
        "a registry table was left without the trigger"
    );

    // A new table is covered by the one declaration.
    sqlx::query("create table schemagate.new_registry_table (id int)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("select schemagate.announce_every_table()")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(count().await, before + 1);
}

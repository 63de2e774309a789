//! `audit anchor` and `audit verify --anchor`: sealed events, deleted newest events and
//! rewritten chains, with the real binary and a key file outside the database.

mod support;

use std::path::{Path, PathBuf};

use support::{fresh_database, fresh_dir, schemagate, stdout_of};

fn run(db: &str, key: &Path, args: &[&str]) -> std::process::Output {
    schemagate()
        .env("DATABASE_URL", db)
        .env("SCHEMAGATE_PLATFORM_DATABASE_URL", db)
        .env("SCHEMAGATE_AUDIT_KEY_FILE", key)
        .args(args)
        .output()
        .expect("run schemagate")
}

fn add_users(db: &str, key: &Path, count: usize) {
    for i in 0..count {
        let output = schemagate()
            .env("DATABASE_URL", db)
            .env("SCHEMAGATE_PLATFORM_DATABASE_URL", db)
            .env("SCHEMAGATE_AUDIT_KEY_FILE", key)
            .args(["user", "add", &format!("user{i}"), "--role", "viewer"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(b"long enough\n")?;
                child.wait_with_output()
            })
            .expect("user add");
        stdout_of(&output);
    }
}

/// `audit verify` with a data directory of its own, so that no head kept by an earlier run
/// takes part (see `the_verified_head_is_kept_outside_the_database_for_the_next_run`).
fn verify(db: &str, key: &Path, anchor: Option<&Path>) -> (Option<i32>, String) {
    let data_dir = fresh_dir("audit_verify_alone");
    verify_keeping(db, key, anchor, &data_dir)
}

/// `audit verify` keeping its verified head in `data_dir`.
fn verify_keeping(
    db: &str,
    key: &Path,
    anchor: Option<&Path>,
    data_dir: &Path,
) -> (Option<i32>, String) {
    let mut args = vec!["--data-dir", data_dir.to_str().unwrap(), "audit", "verify"];
    if let Some(anchor) = anchor {
        args.extend(["--anchor", anchor.to_str().unwrap()]);
    }
    let output = run(db, key, &args);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
    )
}

/// Runs `sql` with the append-only triggers off, as someone with database access could.
fn tamper(database_url: &str, sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pool = sqlx::PgPool::connect(database_url).await.unwrap();
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("set local session_replication_role = replica")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::raw_sql(sql).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        pool.close().await;
    });
}

fn setup(name: &str, users: usize) -> (String, PathBuf, PathBuf) {
    let db = fresh_database(name);
    let dir = fresh_dir(name);
    let key = dir.join("audit.key");
    add_users(&db, &key, users);
    (db, dir, key)
}

#[test]
fn an_anchor_catches_the_newest_events_deleted_one_twenty_or_all() {
    let (db, dir, key) = setup("audit_anchor_tail", 24);
    let anchor = dir.join("head.json");
    let written = run(
        &db,
        &key,
        &["audit", "anchor", "--out", anchor.to_str().unwrap()],
    );
    assert_eq!(written.status.code(), Some(0), "{written:?}");
    let fingerprint_line = verify(&db, &key, Some(&anchor));
    assert_eq!(fingerprint_line.0, Some(0), "{}", fingerprint_line.1);
    // Event 1 registers the key; then one event per account.
    assert!(
        fingerprint_line
            .1
            .starts_with("audit log intact: 25 events verified, sealed with key ")
            && fingerprint_line
                .1
                .ends_with("; reaches the anchor at event 25"),
        "{}",
        fingerprint_line.1
    );
    // An anchor is never overwritten.
    let again = run(
        &db,
        &key,
        &["audit", "anchor", "--out", anchor.to_str().unwrap()],
    );
    assert_eq!(again.status.code(), Some(2));

    for (sql, last, intact_alone) in [
        ("delete from audit_event where seq = 25", 24, true),
        ("delete from audit_event where seq > 3", 3, true),
        ("delete from audit_event", 0, false),
    ] {
        tamper(&db, sql);
        // Without the anchor the shorter chain is intact in itself, as long as it still
        // registers the key.
        assert_eq!(
            verify(&db, &key, None).0,
            Some(if intact_alone { 0 } else { 1 }),
            "{sql}"
        );
        let expected = if intact_alone {
            format!("audit log TAMPERED: the log ends at event {last} but event 25 existed (anchored or verified before): events were deleted from its end")
        } else {
            // With every event gone, the key's registration is gone first.
            let (_, message) = verify(&db, &key, None);
            assert!(
                message.contains("no event registers the audit key"),
                "{message}"
            );
            message
        };
        assert_eq!(
            verify(&db, &key, Some(&anchor)),
            (Some(1), expected),
            "{sql}"
        );
    }
}

#[test]
fn a_chain_rewritten_with_recomputed_hashes_is_caught_by_its_seals() {
    let (db, _dir, key) = setup("audit_rewrite", 4);
    // Rewrite event 2 and recompute every plain hash from there, as someone with database
    // access but without the key could.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut events = runtime.block_on(async {
        let pool = sqlx::PgPool::connect(&db).await.unwrap();
        let events = app::registry::audit::list(&pool, &Default::default())
            .await
            .unwrap();
        pool.close().await;
        events
    });
    events[1].actor = "mallory".to_string();
    let mut sql = String::new();
    for i in 1..events.len() {
        events[i].prev_hash = events[i - 1].hash.clone();
        events[i].hash = events[i].expected_hash();
        sql.push_str(&format!(
            "update audit_event set actor = '{}', prev_hash = '{}', hash = '{}' where seq = {};",
            events[i].actor, events[i].prev_hash, events[i].hash, events[i].seq
        ));
    }
    assert_eq!(
        app::registry::audit::verify_events(&events, None).problem,
        None,
        "the plain chain checks out"
    );
    tamper(&db, &sql);
    assert_eq!(
        verify(&db, &key, None),
        (
            Some(1),
            "audit log TAMPERED: event 2 carries a seal that does not match the audit key: it was written or rewritten without the key".to_string()
        )
    );
    // Removing the seals does not help either.
    tamper(&db, "update audit_event set mac = null where seq >= 2");
    assert_eq!(
        verify(&db, &key, None),
        (
            Some(1),
            "audit log TAMPERED: event 2 carries no seal although earlier events do: it was written or rewritten without the audit key".to_string()
        )
    );
    // Nor removing every seal, the key's registration's included.
    tamper(&db, "update audit_event set mac = null");
    assert_eq!(
        verify(&db, &key, None),
        (
            Some(1),
            "audit log TAMPERED: event 1 registers the audit key but carries no seal: the log was rewritten without the key".to_string()
        )
    );
    // Nor removing the registration and re-chaining what is left: the log no longer registers
    // the key it is checked with (a start does not register it again).
    tamper(&db, "delete from audit_event where seq = 1");
    let (code, message) = verify(&db, &key, None);
    assert_eq!(code, Some(1));
    assert!(
        message.starts_with("audit log TAMPERED: ")
            && (message.contains("no event registers the audit key")
                || message.contains("event 1 is missing")),
        "{message}"
    );
}

#[test]
fn a_process_with_another_key_or_none_refuses_to_write_to_a_sealed_log() {
    let (db, dir, key) = setup("audit_other_key", 1);
    let other = dir.join("other.key");
    let refused = run(&db, &other, &["user", "list"]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("the audit log of this registry is sealed with another key"),
        "{stderr}"
    );
    let keyless = schemagate()
        .env("DATABASE_URL", &db)
        .env("SCHEMAGATE_PLATFORM_DATABASE_URL", &db)
        .args(["user", "list"])
        .output()
        .unwrap();
    assert_eq!(keyless.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&keyless.stderr).contains("is sealed (key fingerprint"));
    // The key file is private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// Every verification with the key keeps the head it verified in the data directory, and the
/// next one checks that the log still reaches it: deleting the newest events is caught without
/// an anchor taken by hand. Deleting the kept file as well (the host's files and the database
/// both) is what it costs to go unnoticed; the next run says it starts keeping a head afresh.
#[test]
fn the_verified_head_is_kept_outside_the_database_for_the_next_run() {
    let (db, dir, key) = setup("audit_kept_head", 5);
    let data_dir = dir.join("data");
    let first = run(
        &db,
        &key,
        &["--data-dir", data_dir.to_str().unwrap(), "audit", "verify"],
    );
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    assert!(String::from_utf8_lossy(&first.stderr)
        .contains("no verified head was kept for this registry: keeping event 6 in "));
    let kept: Vec<_> = std::fs::read_dir(&data_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("audit-anchor."))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    // Still intact: the kept head is reached, and moves on.
    assert_eq!(verify_keeping(&db, &key, None, &data_dir).0, Some(0));

    tamper(&db, "delete from audit_event where seq = 6");
    assert_eq!(
        verify_keeping(&db, &key, None, &data_dir),
        (
            Some(1),
            "audit log TAMPERED: the log ends at event 5 but event 6 existed (anchored or verified before): events were deleted from its end".to_string()
        )
    );
    // A fresh data directory does not know the head: only the kept file caught it.
    assert_eq!(verify(&db, &key, None).0, Some(0));

    std::fs::remove_file(&kept[0]).unwrap();
    let after_deletion = run(
        &db,
        &key,
        &["--data-dir", data_dir.to_str().unwrap(), "audit", "verify"],
    );
    assert_eq!(after_deletion.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&after_deletion.stderr)
        .contains("no verified head was kept for this registry: keeping event 5 in "));
}

/// `audit rotate-key`: one event sealed with the old key names the new one; later events are
/// sealed with the new key, by a server that still held the old one too (it shares the key
/// file); the key file keeps the retired key, and verification needs it.
#[test]
fn a_rotated_key_seals_what_follows_and_the_retired_key_still_checks_what_it_sealed() {
    let (db, dir, key) = setup("cli_audit_rotate", 2);
    let old = std::fs::read_to_string(&key).unwrap();
    let mut command = schemagate();
    command
        .env("DATABASE_URL", &db)
        .env("SCHEMAGATE_PLATFORM_DATABASE_URL", &db)
        .env("SCHEMAGATE_AUDIT_KEY_FILE", &key)
        .env("LEPTOS_SITE_ROOT", support::site_root())
        .args(["serve", "--addr", "127.0.0.1:0"]);
    let server = support::RunningServer::start(command);

    let rotated = run(&db, &key, &["audit", "rotate-key"]);
    let said = stdout_of(&rotated);
    assert!(
        said.starts_with("rotated the audit key from ") && said.contains(" (event 4); "),
        "{said}"
    );
    let text = std::fs::read_to_string(&key).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "the retired key first, the new one last");
    assert_eq!(lines[0], old.trim());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // The running server held the old key: its next event is sealed with the new one.
    let failed = support::http(
        &server.base_url,
        "POST",
        "/api/login",
        &[],
        Some(&[("username", "user0"), ("password", "wrong password")]),
    );
    assert_eq!(failed.status, 401, "{failed:?}");
    server.stop();
    let events: serde_json::Value =
        serde_json::from_str(&stdout_of(&run(&db, &key, &["audit", "list", "--json"]))).unwrap();
    let actions: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions[3..], ["audit.key_rotated", "login.failed"]);
    let (code, said) = verify(&db, &key, None);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.starts_with("audit log intact: 5 events"), "{said}");

    // Only the new key: the events the retired key sealed cannot be checked.
    let only_new = dir.join("only-new.key");
    std::fs::write(&only_new, format!("{}\n", lines[1])).unwrap();
    let (code, said) = verify(&db, &only_new, None);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("event 1 is sealed with the audit key ")
            && said.contains("which the key file given does not hold"),
        "{said}"
    );
    // Only the old key: this process is refused at start, as any with another key.
    let only_old = dir.join("only-old.key");
    std::fs::write(&only_old, &old).unwrap();
    let refused = run(&db, &only_old, &["audit", "verify"]);
    assert_eq!(refused.status.code(), Some(2));

    // Removing the rotation is caught (re-chaining is caught by the seals: see the unit tests).
    tamper(
        &db,
        "delete from schemagate.audit_event where action = 'audit.key_rotated'",
    );
    let (code, said) = verify(&db, &key, None);
    assert_eq!(code, Some(1), "{said}");
}

//! `schemagate user ...` and `schemagate audit ...` against a fresh database.

mod support;

use support::{fresh_database, run_cli, run_sql, stdout_of};

#[test]
fn an_account_added_from_stdin_is_listed_with_its_role_and_audited() {
    let db = fresh_database("user_add");
    let out = stdout_of(&run_cli(
        &db,
        &["user", "add", "alice", "--role", "admin"],
        "s3cret-pass\n",
    ));
    assert_eq!(out.trim(), "created alice (admin)");

    let list = stdout_of(&run_cli(&db, &["user", "list", "--json"], ""));
    let accounts: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(accounts[0]["username"], "alice");
    assert_eq!(accounts[0]["role"], "admin");
    assert_eq!(accounts[0]["disabled"], false);
    assert!(
        !list.contains("argon2"),
        "hashes never leave the registry: {list}"
    );

    let audit = stdout_of(&run_cli(&db, &["audit", "list", "--json"], ""));
    let events: serde_json::Value = serde_json::from_str(&audit).unwrap();
    assert_eq!(events[0]["action"], "account.created");
    assert_eq!(events[0]["actor"], "cli:operator");
    assert!(!audit.contains("s3cret-pass"));
}

#[test]
fn a_taken_name_a_short_password_and_an_unknown_role_are_refused() {
    let db = fresh_database("user_refused");
    stdout_of(&run_cli(
        &db,
        &["user", "add", "bob", "--role", "viewer"],
        "long enough\n",
    ));

    let taken = run_cli(
        &db,
        &["user", "add", "bob", "--role", "viewer"],
        "long enough\n",
    );
    assert_eq!(taken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&taken.stderr).contains("account \"bob\" already exists"));

    let short = run_cli(
        &db,
        &["user", "add", "carol", "--role", "viewer"],
        "short\n",
    );
    assert_eq!(short.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&short.stderr).contains("password too short"));

    let role = run_cli(
        &db,
        &["user", "add", "dave", "--role", "root"],
        "long enough\n",
    );
    assert_eq!(role.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&role.stderr)
        .contains("unknown role \"root\": expected admin, reviewer or viewer"));
}

#[test]
fn role_changes_and_disabling_are_applied_and_audited() {
    let db = fresh_database("user_role");
    stdout_of(&run_cli(
        &db,
        &["user", "add", "erin", "--role", "viewer"],
        "long enough\n",
    ));
    assert_eq!(
        stdout_of(&run_cli(&db, &["user", "role", "erin", "reviewer"], "")).trim(),
        "erin is now reviewer"
    );
    assert_eq!(
        stdout_of(&run_cli(&db, &["user", "disable", "erin"], "")).trim(),
        "erin is disabled"
    );
    let missing = run_cli(&db, &["user", "disable", "nobody"], "");
    assert_eq!(missing.status.code(), Some(1));

    let list = stdout_of(&run_cli(&db, &["user", "list"], ""));
    assert!(
        list.contains("erin") && list.contains("reviewer") && list.contains("disabled"),
        "{list}"
    );
    let audit = stdout_of(&run_cli(&db, &["audit", "list"], ""));
    for action in [
        "account.created",
        "account.role_changed",
        "account.disabled",
    ] {
        assert!(audit.contains(action), "{action} missing:\n{audit}");
    }
}

#[test]
fn audit_verify_passes_on_a_clean_log_and_fails_after_tampering() {
    let db = fresh_database("audit_verify");
    for name in ["u1", "u2", "u3"] {
        stdout_of(&run_cli(
            &db,
            &["user", "add", name, "--role", "viewer"],
            "long enough\n",
        ));
    }
    let clean = stdout_of(&run_cli(&db, &["audit", "verify"], ""));
    assert_eq!(
        clean.trim(),
        "audit log intact: 3 events verified (seals not checked: no audit key is configured)"
    );

    // A superuser bypasses the append-only trigger and edits history.
    run_sql(
        &db,
        "alter table audit_event disable trigger audit_event_no_update_or_delete;
                 update audit_event set actor = 'mallory' where seq = 2;",
    );
    let tampered = run_cli(&db, &["audit", "verify"], "");
    assert_eq!(tampered.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&tampered.stdout).trim(),
        "audit log TAMPERED: event 2 was altered: its content does not match its hash"
    );
}

#[test]
fn audit_verify_detects_a_deleted_event() {
    let db = fresh_database("audit_delete");
    for name in ["u1", "u2", "u3"] {
        stdout_of(&run_cli(
            &db,
            &["user", "add", name, "--role", "viewer"],
            "long enough\n",
        ));
    }
    run_sql(
        &db,
        "alter table audit_event disable trigger audit_event_no_update_or_delete;
                 delete from audit_event where seq = 2;",
    );
    let tampered = run_cli(&db, &["audit", "verify"], "");
    assert_eq!(tampered.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&tampered.stdout).contains("event 2 is missing"));
}

#[test]
fn audit_export_writes_csv_with_a_header() {
    let db = fresh_database("audit_export");
    stdout_of(&run_cli(
        &db,
        &["user", "add", "frank", "--role", "admin"],
        "long enough\n",
    ));
    let csv = stdout_of(&run_cli(&db, &["audit", "export", "--format", "csv"], ""));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("seq,at,actor,action,change_id,package,details,prev_hash,hash,mac")
    );
    let row = lines.next().expect("one event");
    assert!(
        row.starts_with("1,") && row.contains("account.created"),
        "{row}"
    );
    let bad = run_cli(&db, &["audit", "export", "--format", "xml"], "");
    assert_eq!(bad.status.code(), Some(2));
}

//! Four-eyes on the command line: `settings four-eyes on` turns it on in the registry, audited;
//! then every later `approve` (no flag of its own) records the first admin approval of a
//! security change, refuses the same admin again, and takes a second admin; `approve --all`
//! never takes such a change. A change without row-level security statements is routine; any
//! policy in the plan makes a change a security change.

mod support;

use support::{fresh_database, fresh_dir, run_cli, stdout_of};

const ROUTINE: &str = "entities:
  - name: ForumThread
    fields:
      id: { type: cuid, primary: true, generated: true }
      tenantId: { type: string, required: true }
    relations:
      - { name: tenant, type: belongsTo, entity: Tenant, field: tenantId }
";

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout_of(output)).expect("one JSON document on stdout")
}

fn status(db: &str, id: &str) -> String {
    json(&run_cli(db, &["show", id, "--json"], ""))["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_security_change_needs_two_admins_and_approve_all_leaves_it() {
    let db = fresh_database("cli_four_eyes");
    let dir = fresh_dir("cli_four_eyes");
    for (id, yaml) in [
        ("forum", ROUTINE.to_string()),
        (
            "open",
            format!(
                "{}    acl:\n      read: [public]\n",
                ROUTINE.replace("ForumThread", "OpenThread")
            ),
        ),
    ] {
        let schema = dir.join(id).join("seed/schema");
        std::fs::create_dir_all(&schema).unwrap();
        std::fs::write(schema.join("entities.yaml"), yaml).unwrap();
    }
    for admin in ["alice", "bob"] {
        stdout_of(&run_cli(
            &db,
            &["user", "add", admin, "--role", "admin"],
            "a-long-password\n",
        ));
    }
    let packages = dir.to_str().unwrap();
    let scanned = json(&run_cli(
        &db,
        &["--packages", packages, "scan", "--json"],
        "",
    ));
    let id_of = |package: &str| {
        scanned["created"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["package"] == package)
            .and_then(|c| c["change"].as_str())
            .unwrap()
            .to_string()
    };
    let (forum, open) = (id_of("forum"), id_of("open"));

    assert_eq!(
        json(&run_cli(&db, &["settings", "--json"], "")),
        serde_json::json!({"four_eyes": false, "row_security": null}),
        "off by default"
    );
    let turned = run_cli(&db, &["settings", "four-eyes", "on"], "");
    assert_eq!(stdout_of(&turned).trim(), "four-eyes: on (was off)");
    assert_eq!(
        stdout_of(&run_cli(&db, &["settings"], "")).lines().next(),
        Some("four-eyes: on")
    );
    let events = json(&run_cli(&db, &["audit", "list", "--json"], ""));
    let changed: Vec<&serde_json::Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "setting.changed")
        .collect();
    assert_eq!(changed.len(), 1, "{events}");
    assert_eq!(changed[0]["actor"], "cli:operator");
    assert_eq!(
        changed[0]["details"],
        serde_json::json!({"setting": "four_eyes", "old": "off", "new": "on"})
    );

    let all = json(&run_cli(
        &db,
        &["approve", "--all", "--as", "alice", "--json"],
        "",
    ));
    assert_eq!(all["approved"][0]["id"], forum.as_str(), "{all}");
    assert_eq!(all["approved"].as_array().unwrap().len(), 1, "{all}");
    assert_eq!(status(&db, &open), "pending");

    let first = json(&run_cli(
        &db,
        &["approve", &open, "--as", "alice", "--json"],
        "",
    ));
    assert_eq!(first["first_approvals"][0]["id"], open.as_str(), "{first}");
    assert_eq!(status(&db, &open), "pending");

    let again = run_cli(&db, &["approve", &open, "--as", "alice"], "");
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("alice already gave the first approval; four-eyes needs a second admin"),
        "{stderr}"
    );

    let second = json(&run_cli(
        &db,
        &["approve", &open, "--as", "bob", "--json"],
        "",
    ));
    assert_eq!(second["approved"][0]["id"], open.as_str(), "{second}");
    assert_eq!(status(&db, &open), "approved");
}

#[test]
fn the_four_eyes_flag_is_gone_so_no_process_brings_its_own_rule() {
    let db = fresh_database("cli_four_eyes_flag");
    let output = run_cli(
        &db,
        &["approve", "--all", "--four-eyes", "--as", "alice"],
        "",
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unexpected argument '--four-eyes'"),
        "{stderr}"
    );
    let bad = run_cli(&db, &["settings", "four-eyes", "maybe"], "");
    assert_eq!(bad.status.code(), Some(2));
}

/// Four-eyes guards its own switch and the admin role on the command line: one admin's request
/// waits for a second admin's; the same admin, or none, is refused.
#[test]
fn turning_four_eyes_off_and_making_an_admin_need_two_admins() {
    let db = fresh_database("cli_four_eyes_guard");
    for admin in ["alice", "bob"] {
        stdout_of(&run_cli(
            &db,
            &["user", "add", admin, "--role", "admin"],
            "a-long-password\n",
        ));
    }
    assert_eq!(
        stdout_of(&run_cli(&db, &["settings", "four-eyes", "on"], "")).trim(),
        "four-eyes: on (was off)"
    );
    let unnamed = run_cli(&db, &["settings", "four-eyes", "off"], "");
    assert_eq!(unnamed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unnamed.stderr).contains("needs two admins"));
    let requested = run_cli(&db, &["settings", "four-eyes", "off", "--as", "alice"], "");
    assert_eq!(
        stdout_of(&requested).trim(),
        "turning four-eyes off requested: four-eyes is on, so another admin has to ask for it too (with --as)"
    );
    let again = run_cli(&db, &["settings", "four-eyes", "off", "--as", "alice"], "");
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr)
        .contains("was asked for by alice already: four-eyes needs another admin to confirm it"));
    assert_eq!(
        stdout_of(&run_cli(&db, &["settings"], "")).lines().next(),
        Some("four-eyes: on")
    );

    // A new admin under four-eyes starts as a viewer until a second admin confirms the role.
    stdout_of(&run_cli(&db, &["settings", "four-eyes", "on"], ""));
    let refused = run_cli(
        &db,
        &["user", "add", "carol", "--role", "admin"],
        "a-long-password\n",
    );
    assert_eq!(refused.status.code(), Some(1));
    let added = run_cli(
        &db,
        &["user", "add", "carol", "--role", "admin", "--as", "alice"],
        "a-long-password\n",
    );
    let added = stdout_of(&added);
    assert!(added.contains("created carol (viewer)"), "{added}");
    assert!(added.contains("making carol an admin requested"), "{added}");
    let confirmed = stdout_of(&run_cli(
        &db,
        &["user", "role", "carol", "admin", "--as", "bob"],
        "",
    ));
    assert_eq!(
        confirmed.trim(),
        "carol is now admin: asked for by alice, confirmed now"
    );

    let off = stdout_of(&run_cli(
        &db,
        &["settings", "four-eyes", "off", "--as", "bob"],
        "",
    ));
    assert_eq!(
        off.trim(),
        "four-eyes: off (was on): asked for by alice, confirmed now"
    );
    assert_eq!(
        stdout_of(&run_cli(&db, &["settings"], "")).lines().next(),
        Some("four-eyes: off")
    );
}

/// The row-level-security configuration is registry state: the restart job accepts the first one
/// it compiles with; under four-eyes, flags with another role hierarchy stop it before anything
/// runs, until two admins accept them.
#[test]
fn under_four_eyes_another_role_hierarchy_needs_two_admins_before_apply_compiles_with_it() {
    let db = fresh_database("cli_four_eyes_row_security");
    let dir = fresh_dir("cli_four_eyes_row_security");
    for admin in ["alice", "bob"] {
        stdout_of(&run_cli(
            &db,
            &["user", "add", admin, "--role", "admin"],
            "a-long-password\n",
        ));
    }
    let schema_out = dir.join("schema.prisma");
    let apply = |extra: &[&str]| {
        let mut args = vec!["apply", "--schema-out", schema_out.to_str().unwrap()];
        args.extend(extra);
        run_cli(&db, &args, "")
    };
    let stderr =
        |output: &std::process::Output| String::from_utf8_lossy(&output.stderr).to_string();
    let first = apply(&[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let accepted = &json(&run_cli(&db, &["settings", "--json"], ""))["row_security"];
    assert_eq!(accepted["hierarchy"], serde_json::json!([]), "{accepted}");

    stdout_of(&run_cli(&db, &["settings", "four-eyes", "on"], ""));
    let god = ["--role-hierarchy", "god > admin"];
    let refused = apply(&god);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("the row-level-security configuration given (hierarchy god > admin; user app.user_id, role app.role;")
            && stderr(&refused).contains("differs from the one the registry accepted (no role hierarchy;"),
        "{}",
        stderr(&refused)
    );
    let unnamed = run_cli(
        &db,
        &[
            "settings",
            "row-security",
            "--role-hierarchy",
            "god > admin",
        ],
        "",
    );
    assert_eq!(unnamed.status.code(), Some(1));
    let ask = |admin: &str| {
        run_cli(
            &db,
            &[
                "settings",
                "row-security",
                "--role-hierarchy",
                "god > admin",
                "--as",
                admin,
            ],
            "",
        )
    };
    let requested = stdout_of(&ask("alice"));
    assert!(
        requested.starts_with("compiling row-level security with hierarchy god > admin;")
            && requested.trim().ends_with(
                "requested: four-eyes is on, so another admin has to ask for it too (with --as)"
            ),
        "{requested}"
    );
    assert_eq!(ask("alice").status.code(), Some(1), "the same admin twice");
    assert!(!apply(&god).status.success(), "one admin is not enough");
    let confirmed = stdout_of(&ask("bob"));
    assert!(
        confirmed.starts_with("row-security: hierarchy god > admin;")
            && confirmed
                .trim()
                .ends_with(": asked for by alice, confirmed now"),
        "{confirmed}"
    );
    let now = apply(&god);
    assert!(now.status.success(), "{}", stderr(&now));
    assert!(
        !apply(&[]).status.success(),
        "the old flags are another configuration now"
    );

    let events = json(&run_cli(&db, &["audit", "list", "--json"], ""));
    let changed: Vec<&serde_json::Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "setting.changed" && e["details"]["setting"] == "row_security")
        .collect();
    assert_eq!(
        changed.len(),
        2,
        "the first acceptance and the confirmed one: {changed:?}"
    );
    assert_eq!(changed[1]["details"]["requested_by"], "alice");
    assert_eq!(
        changed[1]["details"]["new"]["hierarchy"],
        serde_json::json!(["god > admin"])
    );
}

//! Four-eyes on the command line: a first approval is withdrawn with `approve --withdraw`, and
//! a refusal for requested changes names the command line's flag.

mod support;

use support::{fresh_database, fresh_dir, run_cli, run_sql, stdout_of};

const OPEN: &str = "entities:
  - name: OpenThread
    fields:
      id: { type: cuid, primary: true, generated: true }
    acl:
      read: [public]
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

/// A registry with admins alice and bob and the pending security change of package `open`,
/// which names no owner; its id.
fn registry(name: &str) -> (String, String) {
    let db = fresh_database(name);
    let dir = fresh_dir(name);
    let schema = dir.join("open/seed/schema");
    std::fs::create_dir_all(&schema).unwrap();
    std::fs::write(schema.join("entities.yaml"), OPEN).unwrap();
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
    let id = scanned["created"][0]["change"]
        .as_str()
        .unwrap()
        .to_string();
    (db, id)
}

#[test]
fn a_first_approval_is_withdrawn_with_the_withdraw_flag_and_given_again() {
    let (db, id) = registry("cli_authorship_withdraw");
    stdout_of(&run_cli(&db, &["settings", "four-eyes", "on"], ""));

    let first = json(&run_cli(
        &db,
        &["approve", &id, "--as", "bob", "--json"],
        "",
    ));
    assert_eq!(first["first_approvals"][0]["id"], id.as_str(), "{first}");

    let not_hers = run_cli(&db, &["approve", &id, "--withdraw", "--as", "alice"], "");
    assert_eq!(not_hers.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&not_hers.stderr);
    assert!(
        stderr.contains("alice gave no first approval of open to withdraw"),
        "{stderr}"
    );

    let withdrawn = run_cli(&db, &["approve", &id, "--withdraw", "--as", "bob"], "");
    assert_eq!(
        stdout_of(&withdrawn).trim(),
        format!("withdrew the first approval of {id} (open); it needs two admin approvals again")
    );
    assert_eq!(status(&db, &id), "pending");

    // Alice's approval is the first now, and bob's the second.
    let again = json(&run_cli(
        &db,
        &["approve", &id, "--as", "alice", "--json"],
        "",
    ));
    assert_eq!(again["first_approvals"][0]["id"], id.as_str(), "{again}");
    let second = json(&run_cli(
        &db,
        &["approve", &id, "--as", "bob", "--json"],
        "",
    ));
    assert_eq!(second["approved"][0]["id"], id.as_str(), "{second}");
    assert_eq!(status(&db, &id), "approved");
}

#[test]
fn a_refusal_for_requested_changes_names_the_flag_that_overrides_it() {
    let (db, id) = registry("cli_authorship_requested");
    run_sql(
        &db,
        &format!(
            "insert into schemagate.review_verdict (change_id, account_id, verdict, comment)
             select '{id}'::uuid, id, 'request_changes', 'not yet' from schemagate.account
             where username = 'bob'"
        ),
    );
    let refused = run_cli(&db, &["approve", &id, "--as", "alice"], "");
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(
            "changes were requested by bob on open: pass --despite-requested-changes to approve anyway"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("type the package name"), "{stderr}");
}

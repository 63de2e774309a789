//! Four-eyes on the command line: `approve --four-eyes` (or `SCHEMAGATE_FOUR_EYES`) records the
//! first admin approval of a security change, refuses the same admin again, and takes a second
//! admin; `approve --all` never takes such a change.

mod support;

use std::process::Stdio;

use support::{fresh_database, fresh_dir, run_cli, schemagate, stdout_of};

const ROUTINE: &str = "entities:
  - name: ForumThread
    fields:
      id: { type: cuid, primary: true, generated: true }
      tenantId: { type: string, required: true }
    relations:
      - { name: tenant, type: belongsTo, entity: Tenant, field: tenantId }
    acl:
      read: [user]
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
            ROUTINE
                .replace("ForumThread", "OpenThread")
                .replace("read: [user]", "read: [public]"),
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

    let all = json(&run_cli(
        &db,
        &["approve", "--all", "--four-eyes", "--as", "alice", "--json"],
        "",
    ));
    assert_eq!(all["approved"][0]["id"], forum.as_str(), "{all}");
    assert_eq!(all["approved"].as_array().unwrap().len(), 1, "{all}");
    assert_eq!(status(&db, &open), "pending");

    let first = json(&run_cli(
        &db,
        &["approve", &open, "--four-eyes", "--as", "alice", "--json"],
        "",
    ));
    assert_eq!(first["first_approvals"][0]["id"], open.as_str(), "{first}");
    assert_eq!(status(&db, &open), "pending");

    // The environment variable turns it on as the flag does.
    let again = schemagate()
        .env("DATABASE_URL", &db)
        .env("SCHEMAGATE_FOUR_EYES", "1")
        .args(["approve", &open, "--as", "alice"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("alice already gave the first approval; four-eyes needs a second admin"),
        "{stderr}"
    );

    let second = json(&run_cli(
        &db,
        &["approve", &open, "--four-eyes", "--as", "bob", "--json"],
        "",
    ));
    assert_eq!(second["approved"][0]["id"], open.as_str(), "{second}");
    assert_eq!(status(&db, &open), "approved");
}

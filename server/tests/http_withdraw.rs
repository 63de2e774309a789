//! Withdrawing a first approval over real HTTP: 401 without a session, 403 for a reviewer, 409
//! for an admin with no first approval, and the admin who gave it takes it back.

mod support;

use support::{run_cli, stdout_of, Fixture, THREAD_YAML};

#[test]
fn only_the_admin_who_gave_a_first_approval_withdraws_it() {
    let f = Fixture::start(
        "withdraw_approval",
        &[
            ("admin", "admin"),
            ("second", "admin"),
            ("reviewer", "reviewer"),
        ],
        &[],
    );
    let dir = f.packages.join("open/seed/schema");
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = format!(
        "{}    acl:\n      read: [public]\n",
        THREAD_YAML.replace("ForumThread", "OpenThread")
    );
    std::fs::write(dir.join("entities.yaml"), yaml).unwrap();
    let packages = f.packages.to_str().unwrap();
    stdout_of(&run_cli(&f.db, &["--packages", packages, "scan"], ""));
    let (open, _) = f.pending("open");
    stdout_of(&run_cli(&f.db, &["settings", "four-eyes", "on"], ""));
    stdout_of(&run_cli(&f.db, &["approve", &open, "--as", "admin"], ""));

    let form = [("id", open.as_str())];
    assert_eq!(f.post("/api/withdraw_approval", None, &form).status, 401);
    let reviewer = f.login("reviewer");
    assert_eq!(
        f.post("/api/withdraw_approval", Some(&reviewer), &form)
            .status,
        403
    );
    let second = f.login("second");
    let none = f.post("/api/withdraw_approval", Some(&second), &form);
    assert_eq!(none.status, 409, "{none:?}");
    assert!(
        none.body
            .contains("second gave no first approval of open to withdraw"),
        "{}",
        none.body
    );
    let admin = f.login("admin");
    let withdrawn = f.post("/api/withdraw_approval", Some(&admin), &form);
    assert_eq!(withdrawn.status, 200, "{withdrawn:?}");
    let shown: serde_json::Value = serde_json::from_str(&stdout_of(&run_cli(
        &f.db,
        &["audit", "list", "--json"],
        "",
    )))
    .unwrap();
    assert!(
        shown
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "change.first_approval_withdrawn" && e["actor"] == "admin"),
        "{shown}"
    );
}

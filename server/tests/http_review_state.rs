//! Review state over real HTTP: withdrawing a first approval (401 without a session, 403 for a
//! reviewer, 409 for an admin with no first approval; the admin who gave it takes it back), and
//! dismissing requested changes (the reviewer, or an admin with a reason).

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

#[test]
fn requested_changes_are_dismissed_by_their_reviewer_or_an_admin_with_a_reason() {
    let f = Fixture::start(
        "dismiss_verdict",
        &[
            ("admin", "admin"),
            ("rita", "reviewer"),
            ("ann", "reviewer"),
            ("viewer", "viewer"),
        ],
        &[],
    );
    let (forum, _) = f.pending("forum");
    let rita = f.login("rita");
    let asked = f.post(
        "/api/review_change",
        Some(&rita),
        &[
            ("id", forum.as_str()),
            ("verdict", "request_changes"),
            ("text", "rename the table"),
        ],
    );
    assert_eq!(asked.status, 200, "{asked:?}");

    let form = [("id", forum.as_str()), ("reviewer", "rita"), ("reason", "")];
    assert_eq!(f.post("/api/dismiss_verdict", None, &form).status, 401);
    let viewer = f.login("viewer");
    assert_eq!(
        f.post("/api/dismiss_verdict", Some(&viewer), &form).status,
        403
    );
    let ann = f.login("ann");
    assert_eq!(
        f.post("/api/dismiss_verdict", Some(&ann), &form).status,
        403
    );
    let admin = f.login("admin");
    let bare = f.post("/api/dismiss_verdict", Some(&admin), &form);
    assert_eq!(bare.status, 400, "{bare:?}");
    assert!(bare.body.contains("needs a reason"), "{}", bare.body);
    let own = f.post("/api/dismiss_verdict", Some(&rita), &form);
    assert_eq!(own.status, 200, "{own:?}");
    let again = f.post("/api/dismiss_verdict", Some(&rita), &form);
    assert_eq!(again.status, 409, "{again:?}");
}

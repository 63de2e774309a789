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

#[test]
fn the_queue_badges_an_approved_change_held_back_behind_a_failure() {
    let f = Fixture::start(
        "held_back_badge",
        &[("admin", "admin"), ("viewer", "viewer")],
        &[],
    );
    let chain = [
        ("a", "  - name: Parent\n    fields:\n      id: { type: cuid, primary: true, generated: true }\n"),
        ("b", "  - name: Child\n    fields:\n      id: { type: cuid, primary: true, generated: true }\n      parentId: { type: string, required: true }\n    relations:\n      - { name: parent, type: belongsTo, entity: Parent, field: parentId }\n"),
        ("d", "  - name: Grandchild\n    fields:\n      id: { type: cuid, primary: true, generated: true }\n      childId: { type: string, required: true }\n    relations:\n      - { name: child, type: belongsTo, entity: Child, field: childId }\n"),
    ];
    for (id, entities) in chain {
        let dir = f.packages.join(id).join("seed/schema");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("entities.yaml"), format!("entities:\n{entities}")).unwrap();
    }
    let packages = f.packages.to_str().unwrap();
    stdout_of(&run_cli(&f.db, &["--packages", packages, "scan"], ""));
    let ids: Vec<String> = ["a", "b", "d"].iter().map(|p| f.pending(p).0).collect();
    for id in &ids {
        // Planned before its dependency was approved, a change is planned again by its first
        // approval, which then asks for a look at the new plan.
        if !run_cli(&f.db, &["approve", id, "--as", "admin"], "")
            .status
            .success()
        {
            stdout_of(&run_cli(&f.db, &["approve", id, "--as", "admin"], ""));
        }
    }
    // b failed at apply (as the restart job records it).
    support::run_sql(
        &f.db,
        &format!(
            "update schemagate.schema_change set status = 'failed', failure_reason = 'migrate'
              where id = '{}'::uuid",
            ids[1]
        ),
    );
    let viewer = f.login("viewer");
    let list = f.post("/api/list_changes", Some(&viewer), &[]);
    assert_eq!(list.status, 200, "{list:?}");
    let body: serde_json::Value = serde_json::from_str(&list.body).unwrap();
    let held: Vec<(String, serde_json::Value)> = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["package"].as_str().unwrap().to_string(),
                r["held_back"].clone(),
            )
        })
        .filter(|(package, _)| ["a", "d"].contains(&package.as_str()))
        .collect();
    assert_eq!(held.len(), 2, "{body}");
    for (package, badge) in held {
        if package == "d" {
            assert_eq!(badge[0], "held back: b failed", "{badge}");
            assert!(
                badge[1].as_str().unwrap().contains("d needs Child from b"),
                "{badge}"
            );
        } else {
            assert!(badge.is_null(), "{package}: {badge}");
        }
    }
}

#[test]
fn the_decision_panel_says_what_the_admin_cannot_do_before_any_typing() {
    let f = Fixture::start("capability", &[("admin", "admin")], &[]);
    let (wiki, target) = f.pending("wiki");
    let admin = f.login("admin");
    let on = f.post("/api/set_four_eyes", Some(&admin), &[("four_eyes", "on")]);
    assert_eq!(on.status, 200, "{on:?}");
    let page = format!("/changes/{wiki}");
    let before = f.get(&page, Some(&admin)).body;
    assert!(
        before.contains("You can give the first of two admin approvals after typing the package name, or reject it."),
        "{before}"
    );
    assert!(before.contains("none declared"), "no owner: no author");

    let first = f.post(
        "/api/approve_change",
        Some(&admin),
        &[
            ("id", wiki.as_str()),
            ("target_checksum", target.as_str()),
            ("confirm", "wiki"),
        ],
    );
    assert_eq!(first.status, 200, "{first:?}");
    let after = f.get(&page, Some(&admin)).body;
    assert!(
        after.contains("You cannot approve this change: admin already gave the first approval; four-eyes needs a second admin. You can reject it, or withdraw your first approval."),
        "{after}"
    );
    assert!(after.contains("Withdraw my approval"), "{after}");
    assert!(
        !after.contains("To approve, type the package name"),
        "no typing asked of an admin who cannot approve"
    );
    // The Approve button's opening tag.
    let button = after
        .split("<button")
        .map(|b| b.split('>').next().unwrap_or_default())
        .find(|tag| tag.contains("approve\""))
        .unwrap_or_default();
    assert!(button.contains("disabled"), "{button}");
}

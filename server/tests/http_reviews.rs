//! Reviews over real HTTP: who may give a verdict, requested changes refusing a plain approval,
//! the confirmation page a form post lands on, four-eyes (a registry setting only admins
//! change) enforced by the server.

mod support;

use support::{http, run_cli, stdout_of, Fixture, HttpResponse, THREAD_YAML};

fn status_of(f: &Fixture, id: &str) -> String {
    let shown: serde_json::Value =
        serde_json::from_str(&stdout_of(&run_cli(&f.db, &["show", id, "--json"], ""))).unwrap();
    shown["status"].as_str().unwrap().to_string()
}

/// Adds a package whose ACL opens reads to the public (a security change) and scans it in.
fn scan_security_change(f: &Fixture, package: &str) -> (String, String) {
    let dir = f.packages.join(package).join("seed/schema");
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = format!(
        "{}    acl:\n      read: [public]\n",
        THREAD_YAML.replace("ForumThread", "OpenThread")
    );
    std::fs::write(dir.join("entities.yaml"), yaml).unwrap();
    let packages = f.packages.to_str().unwrap();
    stdout_of(&run_cli(&f.db, &["--packages", packages, "scan"], ""));
    f.pending(package)
}

fn approve(f: &Fixture, cookie: &str, id: &str, target: &str, confirm: &str) -> HttpResponse {
    f.post(
        "/api/approve_change",
        Some(cookie),
        &[
            ("id", id),
            ("target_checksum", target),
            ("confirm", confirm),
        ],
    )
}

#[test]
fn verdicts_answer_401_403_for_none_and_viewer_and_need_a_comment_to_request_changes() {
    let f = Fixture::start(
        "reviews_auth",
        &[
            ("admin", "admin"),
            ("reviewer", "reviewer"),
            ("viewer", "viewer"),
        ],
        &[],
    );
    let (forum, target) = f.pending("forum");
    let form = [("id", forum.as_str()), ("verdict", "approve"), ("text", "")];
    assert_eq!(f.post("/api/review_change", None, &form).status, 401);
    let viewer = f.login("viewer");
    assert_eq!(
        f.post("/api/review_change", Some(&viewer), &form).status,
        403
    );
    let reviewer = f.login("reviewer");
    assert_eq!(
        f.post("/api/review_change", Some(&reviewer), &form).status,
        200
    );
    let no_comment = f.post(
        "/api/review_change",
        Some(&reviewer),
        &[
            ("id", &forum),
            ("verdict", "request_changes"),
            ("text", " "),
        ],
    );
    assert_eq!(no_comment.status, 400, "{no_comment:?}");
    assert!(
        no_comment
            .body
            .contains("requesting changes needs a comment"),
        "{}",
        no_comment.body
    );
    let unknown = f.post(
        "/api/review_change",
        Some(&reviewer),
        &[("id", &forum), ("verdict", "lgtm")],
    );
    assert_eq!(unknown.status, 400, "{unknown:?}");

    let admin = f.login("admin");
    assert_eq!(approve(&f, &admin, &forum, &target, "").status, 200);
    let late = f.post(
        "/api/review_change",
        Some(&reviewer),
        &[
            ("id", &forum),
            ("verdict", "request_changes"),
            ("text", "wait"),
        ],
    );
    assert_eq!(late.status, 409, "{late:?}");
}

#[test]
fn requested_changes_refuse_a_plain_approval_and_the_typed_confirmation_overrides_them() {
    let f = Fixture::start(
        "reviews_requested",
        &[("admin", "admin"), ("reviewer", "reviewer")],
        &[],
    );
    let (forum, target) = f.pending("forum");
    let reviewer = f.login("reviewer");
    let requested = f.post(
        "/api/review_change",
        Some(&reviewer),
        &[
            ("id", &forum),
            ("verdict", "request_changes"),
            ("text", "add a title"),
        ],
    );
    assert_eq!(requested.status, 200, "{requested:?}");

    let admin = f.login("admin");
    let refused = approve(&f, &admin, &forum, &target, "");
    assert_eq!(refused.status, 400, "{refused:?}");
    assert!(
        refused
            .body
            .contains("changes were requested by reviewer: type the package name"),
        "{}",
        refused.body
    );
    let wrong = approve(&f, &admin, &forum, &target, "wiki");
    assert_eq!(wrong.status, 400, "{wrong:?}");
    assert_eq!(status_of(&f, &forum), "pending");

    // A form post from the page lands on the change with a confirmation.
    let page = format!("{}/changes/{forum}", f.server.base_url);
    let posted = http(
        &f.server.base_url,
        "POST",
        "/api/approve_change",
        &[
            ("Accept", "text/html"),
            ("Cookie", &admin),
            ("Referer", &page),
        ],
        Some(&[
            ("id", forum.as_str()),
            ("target_checksum", target.as_str()),
            ("confirm", "forum"),
        ]),
    );
    assert_eq!(posted.status, 303, "{posted:?}");
    assert_eq!(
        posted.header("location"),
        Some(format!("/changes/{forum}?decided=approved").as_str())
    );
    assert_eq!(status_of(&f, &forum), "approved");
}

#[test]
fn four_eyes_refuses_the_same_admin_and_takes_a_second_one() {
    let f = Fixture::start(
        "reviews_four_eyes",
        &[("admin", "admin"), ("second", "admin")],
        &[],
    );
    let (open, target) = scan_security_change(&f, "open");
    let admin = f.login("admin");
    let on = f.post("/api/set_four_eyes", Some(&admin), &[("four_eyes", "on")]);
    assert_eq!(on.status, 200, "{on:?}");
    // Turned on through the server, it holds for a command line with no flag of its own.
    let first: serde_json::Value = serde_json::from_str(&stdout_of(&run_cli(
        &f.db,
        &["approve", &open, "--as", "admin", "--json"],
        "",
    )))
    .unwrap();
    assert_eq!(first["first_approvals"][0]["id"], open.as_str(), "{first}");
    assert_eq!(status_of(&f, &open), "pending", "one admin is not enough");

    let again = approve(&f, &admin, &open, &target, "open");
    assert_eq!(again.status, 409, "{again:?}");
    assert!(
        again
            .body
            .contains("admin already gave the first approval; four-eyes needs a second admin"),
        "{}",
        again.body
    );
    assert_eq!(status_of(&f, &open), "pending");

    // The typed confirmation is still asked of the second admin.
    let second = f.login("second");
    assert_eq!(approve(&f, &second, &open, &target, "").status, 400);
    let approved = approve(&f, &second, &open, &target, "open");
    assert_eq!(approved.status, 200, "{approved:?}");
    assert_eq!(status_of(&f, &open), "approved");

    // Routine changes still need one admin.
    let (forum, forum_target) = f.pending("forum");
    assert_eq!(approve(&f, &admin, &forum, &forum_target, "").status, 200);
    assert_eq!(status_of(&f, &forum), "approved");
}

#[test]
fn only_admins_change_four_eyes_and_each_change_is_audited() {
    let f = Fixture::start(
        "reviews_setting",
        &[
            ("admin", "admin"),
            ("second", "admin"),
            ("reviewer", "reviewer"),
        ],
        &[],
    );
    let on = [("four_eyes", "on")];
    assert_eq!(f.post("/api/set_four_eyes", None, &on).status, 401);
    assert_eq!(f.post("/api/registry_settings", None, &[]).status, 401);
    let reviewer = f.login("reviewer");
    assert_eq!(
        f.post("/api/set_four_eyes", Some(&reviewer), &on).status,
        403
    );
    assert_eq!(
        f.post("/api/registry_settings", Some(&reviewer), &[])
            .status,
        403
    );
    let settings = || {
        stdout_of(&run_cli(&f.db, &["settings"], ""))
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(settings(), "four-eyes: off", "refusals change nothing");

    let admin = f.login("admin");
    let unknown = f.post("/api/set_four_eyes", Some(&admin), &[("four_eyes", "yes")]);
    assert_eq!(unknown.status, 400, "{unknown:?}");
    assert!(
        unknown.body.contains("expected on or off"),
        "{}",
        unknown.body
    );

    // The accounts page's plain form post goes back to the page, which shows the new state.
    let page = format!("{}/accounts", f.server.base_url);
    let posted = http(
        &f.server.base_url,
        "POST",
        "/api/set_four_eyes",
        &[
            ("Accept", "text/html"),
            ("Cookie", &admin),
            ("Referer", &page),
        ],
        Some(&on),
    );
    assert!(matches!(posted.status, 302 | 303), "{posted:?}");
    let back = posted.header("location").unwrap_or_default();
    assert_eq!(back.trim_end_matches('?'), page, "{posted:?}");
    assert_eq!(settings(), "four-eyes: on");
    let shown = f.get("/accounts", Some(&admin));
    assert!(shown.body.contains("Four-eyes is on."), "{}", shown.body);
    let read = f.post("/api/registry_settings", Some(&admin), &[]);
    assert_eq!(read.status, 200, "{read:?}");
    assert!(read.body.contains(r#""four_eyes":true"#), "{}", read.body);

    // Four-eyes guards its own switch: one admin's "off" is a request another admin confirms.
    let requested = f.post("/api/set_four_eyes", Some(&admin), &[("four_eyes", "off")]);
    assert_eq!(requested.status, 200, "{requested:?}");
    assert!(
        requested
            .body
            .contains("turning four-eyes off is requested"),
        "{}",
        requested.body
    );
    assert_eq!(settings(), "four-eyes: on");
    let again = f.post("/api/set_four_eyes", Some(&admin), &[("four_eyes", "off")]);
    assert_eq!(again.status, 409, "{again:?}");
    let second = f.login("second");
    let off = f.post("/api/set_four_eyes", Some(&second), &[("four_eyes", "off")]);
    assert_eq!(off.status, 200, "{off:?}");
    assert!(
        off.body
            .contains("four-eyes is off (asked for by admin, confirmed now)"),
        "{}",
        off.body
    );
    assert_eq!(settings(), "four-eyes: off");
    let events: serde_json::Value = serde_json::from_str(&stdout_of(&run_cli(
        &f.db,
        &["audit", "list", "--json"],
        "",
    )))
    .unwrap();
    let changes: Vec<(String, serde_json::Value)> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "setting.changed")
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["details"].clone(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            (
                "admin".to_string(),
                serde_json::json!({"setting": "four_eyes", "old": "off", "new": "on"})
            ),
            (
                "second".to_string(),
                serde_json::json!({"setting": "four_eyes", "old": "on", "new": "off", "requested_by": "admin"})
            ),
        ]
    );
}

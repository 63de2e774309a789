//! The packages, entities, audit and accounts pages and their server functions over real HTTP:
//! the real binary, its real router, and a fresh PostgreSQL database per test.

mod support;

use support::{http, run_cli, stdout_of, Fixture};

/// Accounts admin/reviewer/viewer plus `target` and `victim` (viewers), and a server.
fn fixture(name: &str) -> Fixture {
    let accounts = [
        ("admin", "admin"),
        ("reviewer", "reviewer"),
        ("viewer", "viewer"),
        ("target", "viewer"),
        ("victim", "viewer"),
    ];
    Fixture::start(name, &accounts, &[])
}

impl Fixture {
    /// `user list --json` as `(username, role, disabled)`.
    fn accounts(&self) -> Vec<(String, String, bool)> {
        let list: serde_json::Value = serde_json::from_str(&stdout_of(&run_cli(
            &self.db,
            &["user", "list", "--json"],
            "",
        )))
        .unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["username"].as_str().unwrap().to_string(),
                    a["role"].as_str().unwrap().to_string(),
                    a["disabled"].as_bool().unwrap(),
                )
            })
            .collect()
    }

    fn account(&self, name: &str) -> Option<(String, bool)> {
        self.accounts()
            .into_iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, role, disabled)| (role, disabled))
    }
}

#[test]
fn account_mutations_answer_401_403_403_200_for_none_viewer_reviewer_admin() {
    let f = fixture("pages_matrix");
    let sessions = [
        ("none", None, 401),
        ("viewer", Some(f.login("viewer")), 403),
        ("reviewer", Some(f.login("reviewer")), 403),
        ("admin", Some(f.login("admin")), 200),
    ];
    for (who, cookie, expected) in &sessions {
        let cookie = cookie.as_deref();
        let username = format!("made-by-{who}");
        let create = f.post(
            "/api/create_account",
            cookie,
            &[
                ("username", &username),
                ("role", "viewer"),
                ("password", "a-long-password"),
            ],
        );
        assert_eq!(
            create.status, *expected,
            "create_account as {who}: {create:?}"
        );
        let role = f.post(
            "/api/set_account_role",
            cookie,
            &[("username", "target"), ("role", "reviewer")],
        );
        assert_eq!(
            role.status, *expected,
            "set_account_role as {who}: {role:?}"
        );
        let disable = f.post("/api/disable_account", cookie, &[("username", "victim")]);
        assert_eq!(
            disable.status, *expected,
            "disable_account as {who}: {disable:?}"
        );
        if *expected != 200 {
            assert_eq!(f.account(&username), None, "{who} created no account");
            assert_eq!(
                f.account("target"),
                Some(("viewer".to_string(), false)),
                "{who} changed no role"
            );
            assert_eq!(
                f.account("victim"),
                Some(("viewer".to_string(), false)),
                "{who} disabled no account"
            );
        }
        for response in [&create, &role, &disable] {
            assert!(
                !response.body.to_lowercase().contains("sql"),
                "{}",
                response.body
            );
        }
    }
    assert_eq!(
        f.account("made-by-admin"),
        Some(("viewer".to_string(), false))
    );
    assert_eq!(f.account("target"), Some(("reviewer".to_string(), false)));
    assert_eq!(f.account("victim"), Some(("viewer".to_string(), true)));

    // The new account signs in with its password; the disabled one no longer does.
    let made = f.post(
        "/api/login",
        None,
        &[
            ("username", "made-by-admin"),
            ("password", "a-long-password"),
        ],
    );
    assert_eq!(made.status, 200, "{made:?}");
    let victim = f.post(
        "/api/login",
        None,
        &[("username", "victim"), ("password", "victim-password")],
    );
    assert_eq!(victim.status, 401, "{victim:?}");

    // Audited with the admin as actor, never with the password.
    let audit = stdout_of(&run_cli(&f.db, &["audit", "list", "--json"], ""));
    let events: serde_json::Value = serde_json::from_str(&audit).unwrap();
    for action in [
        "account.created",
        "account.role_changed",
        "account.disabled",
    ] {
        let event = events
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("{action} audited"));
        assert_eq!(event["actor"], "admin", "{event}");
    }
    assert!(
        !audit.contains("a-long-password"),
        "passwords never reach the audit log"
    );
}

#[test]
fn enabling_an_account_answers_401_403_403_200_for_none_viewer_reviewer_admin() {
    let f = fixture("pages_enable");
    let admin = f.login("admin");
    let disable = f.post(
        "/api/disable_account",
        Some(&admin),
        &[("username", "victim")],
    );
    assert_eq!(disable.status, 200, "{disable:?}");
    let sessions = [
        ("none", None, 401),
        ("viewer", Some(f.login("viewer")), 403),
        ("reviewer", Some(f.login("reviewer")), 403),
    ];
    for (who, cookie, expected) in &sessions {
        let enable = f.post(
            "/api/enable_account",
            cookie.as_deref(),
            &[("username", "victim")],
        );
        assert_eq!(
            enable.status, *expected,
            "enable_account as {who}: {enable:?}"
        );
        assert_eq!(
            f.account("victim"),
            Some(("viewer".to_string(), true)),
            "{who} enabled no account"
        );
    }
    let enable = f.post(
        "/api/enable_account",
        Some(&admin),
        &[("username", "victim")],
    );
    assert_eq!(enable.status, 200, "{enable:?}");
    assert_eq!(f.account("victim"), Some(("viewer".to_string(), false)));
    let unknown = f.post(
        "/api/enable_account",
        Some(&admin),
        &[("username", "nobody")],
    );
    assert_eq!(unknown.status, 404, "{unknown:?}");
}

#[test]
fn an_admin_cannot_disable_or_demote_their_own_account() {
    let f = fixture("pages_self");
    let admin = f.login("admin");
    let disable = f.post(
        "/api/disable_account",
        Some(&admin),
        &[("username", "admin")],
    );
    assert_eq!(disable.status, 400, "{disable:?}");
    assert!(
        disable.body.contains("you cannot disable your own account"),
        "{}",
        disable.body
    );
    let demote = f.post(
        "/api/set_account_role",
        Some(&admin),
        &[("username", "admin"), ("role", "viewer")],
    );
    assert_eq!(demote.status, 400, "{demote:?}");
    assert!(
        demote.body.contains("you cannot change your own role"),
        "{}",
        demote.body
    );
    assert_eq!(f.account("admin"), Some(("admin".to_string(), false)));
    let whoami = f.post("/api/whoami", Some(&admin), &[]);
    assert!(
        whoami.body.contains("\"admin\""),
        "still signed in as an admin: {whoami:?}"
    );

    // A plain form post (no JavaScript) is sent back to the page with the message.
    let base = f.server.base_url.clone();
    let referer = format!("{base}/accounts");
    let form = http(
        &base,
        "POST",
        "/api/disable_account",
        &[
            ("Cookie", &admin),
            ("Accept", "text/html"),
            ("Referer", &referer),
        ],
        Some(&[("username", "admin")]),
    );
    assert_eq!(form.status, 303, "{form:?}");
    let location = form.header("location").unwrap_or_default();
    assert!(
        location.starts_with(&format!("{referer}?error=you%20cannot%20disable")),
        "{location}"
    );
}

#[test]
fn creating_an_account_checks_the_name_the_role_and_the_password() {
    let f = fixture("pages_create");
    let admin = f.login("admin");
    let short = f.post(
        "/api/create_account",
        Some(&admin),
        &[
            ("username", "newbie"),
            ("role", "viewer"),
            ("password", "short"),
        ],
    );
    assert_eq!(short.status, 400, "{short:?}");
    assert!(short.body.contains("password too short"), "{}", short.body);
    let bad_name = f.post(
        "/api/create_account",
        Some(&admin),
        &[
            ("username", "no spaces"),
            ("role", "viewer"),
            ("password", "long-enough"),
        ],
    );
    assert_eq!(bad_name.status, 400, "{bad_name:?}");
    assert!(
        bad_name.body.contains("invalid username"),
        "{}",
        bad_name.body
    );
    let bad_role = f.post(
        "/api/create_account",
        Some(&admin),
        &[
            ("username", "newbie"),
            ("role", "root"),
            ("password", "long-enough"),
        ],
    );
    assert_eq!(bad_role.status, 400, "{bad_role:?}");
    assert!(
        bad_role.body.contains("unknown role \\\"root\\\""),
        "{}",
        bad_role.body
    );
    let taken = f.post(
        "/api/create_account",
        Some(&admin),
        &[
            ("username", "Viewer"),
            ("role", "viewer"),
            ("password", "long-enough"),
        ],
    );
    assert_eq!(
        taken.status, 409,
        "names are lowercased, so this one is taken: {taken:?}"
    );
    assert!(taken.body.contains("already exists"), "{}", taken.body);
    assert_eq!(f.account("newbie"), None);
}

#[test]
fn the_audit_export_is_a_csv_file_with_a_header_for_a_viewer_and_401_without_a_session() {
    let f = fixture("pages_export");
    let anonymous = f.get("/audit/export?format=csv", None);
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    let viewer = f.login("viewer");
    let csv = f.get("/audit/export?format=csv", Some(&viewer));
    assert_eq!(csv.status, 200, "{csv:?}");
    assert!(
        csv.header("content-type")
            .unwrap_or_default()
            .starts_with("text/csv"),
        "{csv:?}"
    );
    assert_eq!(
        csv.header("content-disposition"),
        Some("attachment; filename=\"schemagate-audit.csv\"")
    );
    let mut lines = csv.body.split("\r\n");
    assert_eq!(
        lines.next(),
        Some("seq,at,actor,action,change_id,package,details,prev_hash,hash,mac")
    );
    assert!(
        csv.body.contains(",viewer,login.succeeded,"),
        "{}",
        csv.body
    );
    assert!(csv.body.contains(",scan,"), "{}", csv.body);

    // The page's filters apply: only login events, as JSON, oldest first.
    let json = f.get("/audit/export?format=json&action=login.", Some(&viewer));
    assert_eq!(json.status, 200, "{json:?}");
    let events: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    let events = events.as_array().unwrap();
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|e| e["action"].as_str().unwrap().starts_with("login.")),
        "{events:?}"
    );
    assert!(events
        .windows(2)
        .all(|w| w[0]["seq"].as_i64() < w[1]["seq"].as_i64()));

    let bad = f.get("/audit/export?format=xml", Some(&viewer));
    assert_eq!(bad.status, 400, "{bad:?}");
    let bad_date = f.get("/audit/export?format=csv&from=yesterday", Some(&viewer));
    assert_eq!(bad_date.status, 400, "{bad_date:?}");
    assert!(
        bad_date.body.contains("invalid from date"),
        "{}",
        bad_date.body
    );
}

#[test]
fn the_pages_render_on_the_server_for_a_viewer() {
    let f = fixture("pages_render");
    let viewer = f.login("viewer");

    let packages = f.get("/packages", Some(&viewer));
    assert_eq!(packages.status, 200, "{packages:?}");
    assert!(
        packages.body.contains("FORUMThread") && packages.body.contains("WIKIThread"),
        "entities listed"
    );
    assert!(
        packages.body.contains("model FORUMThread {"),
        "the Prisma preview is rendered"
    );
    assert!(
        packages.body.contains("change queued"),
        "both packages are queued"
    );

    let entities = f.get("/entities", Some(&viewer));
    assert_eq!(entities.status, 200, "{entities:?}");
    assert!(
        entities.body.contains("2 entities on disk"),
        "{}",
        entities.body
    );

    // Rendering may run a page's server functions more than once; every run must see the
    // packages directory, or hydration picks up data that does not match the page.
    for _ in 0..3 {
        for page in ["/packages", "/entities"] {
            let response = f.get(page, Some(&viewer));
            assert!(
                !response.body.contains("no packages directory"),
                "{page}: {}",
                response.body
            );
        }
    }

    let audit = f.get("/audit?action=login.", Some(&viewer));
    assert_eq!(audit.status, 200, "{audit:?}");
    assert!(audit.body.contains("Hash chain intact"), "{}", audit.body);
    assert!(
        audit.body.contains("login.succeeded") && !audit.body.contains(">scan<"),
        "filtered by action"
    );

    let accounts = f.get("/accounts", Some(&viewer));
    assert_eq!(accounts.status, 200, "{accounts:?}");
    assert!(accounts.body.contains("Admins only"), "{}", accounts.body);
    assert!(
        !accounts.body.contains("victim"),
        "a viewer sees no account list"
    );

    let admin = f.login("admin");
    let accounts = f.get("/accounts", Some(&admin));
    assert!(
        accounts.body.contains("victim") && accounts.body.contains("Add account"),
        "{}",
        accounts.body
    );

    // The sign-in page is told where to return to.
    let anonymous = f.get("/packages", None);
    assert_eq!(
        (anonymous.status, anonymous.header("location")),
        (302, Some("/login?next=%2Fpackages"))
    );
}

#[test]
fn a_long_diff_is_sent_once_and_a_short_one_switches_layout_in_place() {
    let f = fixture("pages_long_diff");
    // Two entities of 300 fields (an entity may have 500): a diff of over 600 lines.
    let fields: String = (0..300)
        .map(|i| format!("      note{i}: {{ type: string, required: false }}\n"))
        .collect();
    let entity = |name: &str| {
        support::THREAD_YAML
            .replace("ForumThread", name)
            .replace("    fields:\n", &format!("    fields:\n{fields}"))
    };
    let yaml = entity("LongThread") + entity("LongOther").trim_start_matches("entities:\n");
    let dir = f.packages.join("long").join("seed/schema");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("entities.yaml"), yaml).unwrap();
    let packages = f.packages.to_str().unwrap();
    stdout_of(&run_cli(&f.db, &["--packages", packages, "scan"], ""));
    let cookie = f.login("viewer");
    let (long, _) = f.pending("long");
    for path in [
        format!("/changes/{long}"),
        format!("/changes/{long}?view=split"),
    ] {
        let page = f.get(&path, Some(&cookie));
        assert_eq!(page.status, 200, "{path}");
        assert_eq!(page.body.matches("note299 ").count(), 2, "{path}");
        assert!(!page.body.contains("data-component=\"DiffLayout"), "{path}");
        assert!(page.body.contains("aria-label=\"Diff layout\""), "{path}");
    }
    let (forum, _) = f.pending("forum");
    let short = f.get(&format!("/changes/{forum}"), Some(&cookie));
    assert!(short.body.contains("data-component=\"DiffLayout"));
}

#[test]
fn the_reference_is_served_under_help_and_the_pages_link_to_it() {
    let f = fixture("help_pages");
    let index = f.get("/help", None);
    assert_eq!(index.status, 200, "{index:?}");
    for page in [
        "approvals",
        "sql-plans",
        "row-level-security",
        "audit",
        "container",
    ] {
        assert!(
            index.body.contains(&format!("href=\"/help/{page}\"")),
            "{page}"
        );
    }
    let plans = f.get("/help/sql-plans", None);
    assert_eq!(plans.status, 200);
    assert!(plans
        .body
        .contains("<h1 id=\"the-platform-database-and-sql-plans\">"));
    assert!(plans
        .body
        .contains("Every statement of a plan is accounted for"));
    // Links between the files are links between the pages.
    assert!(plans.body.contains("href=\"/help/row-level-security\""));
    assert!(!plans.body.contains(".md\""));
    assert_eq!(f.get("/help/nope", None).status, 404);

    let admin = f.login("admin");
    let (forum, _) = f.pending("forum");
    let change = f.get(&format!("/changes/{forum}"), Some(&admin));
    assert!(change.body.contains("href=\"/help/sql-plans\""));
    assert!(change.body.contains("href=\"/help/approvals\""));
    assert!(f
        .get("/audit", Some(&admin))
        .body
        .contains("href=\"/help/audit\""));
}

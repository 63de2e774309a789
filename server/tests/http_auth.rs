//! Sign-in, sessions and authorization over real HTTP: the real binary, its real router, and a
//! fresh PostgreSQL database per test.

mod support;

use support::{fresh_dir, http, query_text, run_cli, stdout_of, Fixture};

/// Accounts admin/reviewer/viewer and a server started with `extra_args`.
fn fixture(name: &str, extra_args: &[&str]) -> Fixture {
    Fixture::start(
        name,
        &[
            ("admin", "admin"),
            ("reviewer", "reviewer"),
            ("viewer", "viewer"),
        ],
        extra_args,
    )
}

impl Fixture {
    fn audit_actions(&self) -> Vec<String> {
        let events: serde_json::Value = serde_json::from_str(&stdout_of(&run_cli(
            &self.db,
            &["audit", "list", "--json"],
            "",
        )))
        .unwrap();
        events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect()
    }
}

#[test]
fn every_mutation_answers_401_403_403_200_for_none_viewer_reviewer_admin() {
    let f = fixture("auth_matrix", &[]);
    let (forum, forum_target) = f.pending("forum");
    let (wiki, wiki_target) = f.pending("wiki");
    let sessions = [
        (None, 401),
        (Some(f.login("viewer")), 403),
        (Some(f.login("reviewer")), 403),
        (Some(f.login("admin")), 200),
    ];
    for (cookie, expected) in &sessions {
        let cookie = cookie.as_deref();
        let approve = f.post(
            "/api/approve_change",
            cookie,
            &[
                ("id", &forum),
                ("target_checksum", &forum_target),
                ("note", "ok"),
            ],
        );
        assert_eq!(
            approve.status, *expected,
            "approve with {cookie:?}: {approve:?}"
        );
        let reject = f.post(
            "/api/reject_change",
            cookie,
            &[
                ("id", &wiki),
                ("target_checksum", &wiki_target),
                ("reason", "no"),
            ],
        );
        assert_eq!(
            reject.status, *expected,
            "reject with {cookie:?}: {reject:?}"
        );
        let scan = f.post("/api/scan_now", cookie, &[]);
        assert_eq!(scan.status, *expected, "scan with {cookie:?}: {scan:?}");
        for response in [&approve, &reject, &scan] {
            assert!(
                !response.body.to_lowercase().contains("sql"),
                "{}",
                response.body
            );
        }
    }
    let list = stdout_of(&run_cli(&f.db, &["list", "--json"], ""));
    assert!(
        list.contains("\"approved\"") && list.contains("\"rejected\""),
        "{list}"
    );
    // HTTP decisions are audited like CLI ones, with the account as actor.
    let events: serde_json::Value = serde_json::from_str(&stdout_of(&run_cli(
        &f.db,
        &["audit", "list", "--json"],
        "",
    )))
    .unwrap();
    let approved = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "change.approved")
        .unwrap();
    assert_eq!(approved["actor"], "admin");
    assert_eq!(approved["details"]["note"], "ok");
}

#[test]
fn a_stale_target_checksum_or_an_already_decided_change_answers_409() {
    let f = fixture("auth_stale", &[]);
    let admin = f.login("admin");
    let (forum, target) = f.pending("forum");
    let stale = f.post(
        "/api/approve_change",
        Some(&admin),
        &[("id", &forum), ("target_checksum", "v1:0000")],
    );
    assert_eq!(stale.status, 409, "{stale:?}");
    assert!(stale.body.contains("stale view"), "{}", stale.body);
    let ok = f.post(
        "/api/approve_change",
        Some(&admin),
        &[("id", &forum), ("target_checksum", &target)],
    );
    assert_eq!(ok.status, 200, "{ok:?}");
    let again = f.post(
        "/api/reject_change",
        Some(&admin),
        &[
            ("id", &forum),
            ("target_checksum", &target),
            ("reason", "late"),
        ],
    );
    assert_eq!(again.status, 409, "{again:?}");
    assert!(
        again
            .body
            .contains("cannot reject a change that is approved"),
        "{}",
        again.body
    );
}

#[test]
fn signing_in_rotates_the_session_and_signing_out_invalidates_the_cookie() {
    let f = fixture("auth_session", &[]);
    let login = f.post(
        "/api/login",
        None,
        &[("username", "admin"), ("password", "admin-password")],
    );
    let set_cookie = login.header("set-cookie").expect("set-cookie").to_string();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(set_cookie.contains("Path=/"), "{set_cookie}");
    assert!(
        !set_cookie.contains("Secure"),
        "not configured, not over TLS: {set_cookie}"
    );
    let first = login.session_cookie().unwrap();

    // Signing in again from the same session gets a new id; the old one is gone.
    let again = f.post(
        "/api/login",
        Some(&first),
        &[("username", "admin"), ("password", "admin-password")],
    );
    let second = again.session_cookie().expect("a new session id");
    assert_ne!(first, second);
    let whoami_old = f.post("/api/whoami", Some(&first), &[]);
    assert_eq!(whoami_old.body.trim(), "null", "{whoami_old:?}");
    let whoami = f.post("/api/whoami", Some(&second), &[]);
    assert!(whoami.body.contains("\"admin\""), "{whoami:?}");

    let logout = f.post("/api/logout", Some(&second), &[]);
    assert_eq!(logout.status, 200, "{logout:?}");
    let after = f.post("/api/whoami", Some(&second), &[]);
    assert_eq!(after.body.trim(), "null", "{after:?}");
    let page = http(
        &f.server.base_url,
        "GET",
        "/",
        &[("Accept", "text/html"), ("Cookie", &second)],
        None,
    );
    assert_eq!(
        (page.status, page.header("location")),
        (302, Some("/login"))
    );
}

#[test]
fn a_session_in_use_is_kept_open_past_its_idle_time() {
    // Three minutes of idle time: a used session is saved again at most once every three
    // seconds, wide enough that the two requests below never straddle it on a busy machine.
    let f = fixture("auth_kept_open", &["--session-idle-minutes", "3"]);
    let cookie = f.login("admin");
    let expiry = || {
        query_text(
            &f.db,
            "select extract(epoch from expiry_date)::text from tower_sessions.session",
        )
        .parse::<f64>()
        .unwrap()
    };
    let signed_in = expiry();
    std::thread::sleep(std::time::Duration::from_millis(3500));
    let page = f.get("/changes", Some(&cookie));
    assert_eq!(page.status, 200, "{page:?}");
    let used = expiry();
    assert!(
        used >= signed_in + 1.0,
        "the session's end did not move: {signed_in} then {used}"
    );
    // The browser's cookie is renewed with it, under the same session id.
    assert_eq!(page.session_cookie().as_deref(), Some(cookie.as_str()));
    // Requests right after do not write the session again.
    let next = f.get("/changes", Some(&cookie));
    assert_eq!(next.session_cookie(), None, "{next:?}");
    assert_eq!(expiry(), used);
}

#[test]
fn cookies_are_secure_when_configured() {
    let f = fixture("auth_secure", &["--secure-cookies"]);
    let login = f.post(
        "/api/login",
        None,
        &[("username", "admin"), ("password", "admin-password")],
    );
    assert!(
        login.header("set-cookie").unwrap().contains("Secure"),
        "{login:?}"
    );
}

#[test]
fn five_failures_lock_a_username_even_for_the_right_password_and_are_audited() {
    let f = fixture("auth_throttle", &[]);
    let unknown = f.post(
        "/api/login",
        None,
        &[("username", "nobody"), ("password", "whatever1")],
    );
    let wrong = f.post(
        "/api/login",
        None,
        &[("username", "viewer"), ("password", "wrong-password")],
    );
    assert_eq!((unknown.status, wrong.status), (401, 401));
    assert_eq!(unknown.body, wrong.body, "one message for every failure");
    for _ in 0..4 {
        f.post(
            "/api/login",
            None,
            &[("username", "viewer"), ("password", "wrong-password")],
        );
    }
    let locked = f.post(
        "/api/login",
        None,
        &[("username", "viewer"), ("password", "viewer-password")],
    );
    assert_eq!(locked.status, 429, "{locked:?}");
    assert!(
        locked.body.contains("too many failed sign-ins"),
        "{}",
        locked.body
    );
    // Other usernames are not affected.
    f.login("admin");
    let actions = f.audit_actions();
    assert_eq!(actions.iter().filter(|a| *a == "login.failed").count(), 6);
    assert_eq!(actions.iter().filter(|a| *a == "login.locked").count(), 1);
    let audit = stdout_of(&run_cli(&f.db, &["audit", "list", "--json"], ""));
    assert!(
        !audit.contains("wrong-password") && !audit.contains("viewer-password"),
        "passwords never reach the audit log"
    );
}

#[test]
fn a_cross_site_post_is_refused() {
    let f = fixture("auth_csrf", &[]);
    let admin = f.login("admin");
    let base = f.server.base_url.clone();
    let evil = http(
        &base,
        "POST",
        "/api/scan_now",
        &[("Cookie", &admin), ("Origin", "http://evil.example")],
        Some(&[]),
    );
    assert_eq!(evil.status, 403, "{evil:?}");
    let evil_referer = http(
        &base,
        "POST",
        "/api/scan_now",
        &[("Cookie", &admin), ("Referer", "http://evil.example/x")],
        Some(&[]),
    );
    assert_eq!(evil_referer.status, 403);
    let own = http(
        &base,
        "POST",
        "/api/scan_now",
        &[
            ("Cookie", &admin),
            ("Origin", &base),
            ("Accept", "application/json"),
        ],
        Some(&[]),
    );
    assert_eq!(own.status, 200, "{own:?}");
}

#[test]
fn pages_carry_security_headers() {
    let f = fixture("auth_headers", &[]);
    let page = http(
        &f.server.base_url,
        "GET",
        "/login",
        &[("Accept", "text/html")],
        None,
    );
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").expect("CSP");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"),
        "{csp}"
    );
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce");
    assert!(
        page.body.contains(&format!("nonce=\"{nonce}\"")),
        "the inline script carries the CSP nonce"
    );
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(page.header("referrer-policy").is_some());
}

#[test]
fn retrying_a_failed_change_answers_401_403_403_200() {
    let f = fixture("auth_retry", &[]);
    let (forum, _) = f.pending("forum");
    stdout_of(&run_cli(&f.db, &["approve", &forum, "--as", "admin"], ""));
    let schema = fresh_dir("auth_retry_schema").join("schema.prisma");
    let failed = run_cli(
        &f.db,
        &[
            "apply",
            "--schema-out",
            schema.to_str().unwrap(),
            "--migrate-cmd",
            "echo broken >&2; exit 4",
        ],
        "",
    );
    assert_eq!(
        failed.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
    // The failed change's page leads with what the database said, for every viewer; only an
    // admin is offered Retry.
    let viewer = f.login("viewer");
    let page = f.get(&format!("/changes/{forum}"), Some(&viewer));
    assert_eq!(page.status, 200);
    let failure = page
        .body
        .find("data-testid=\"failure\"")
        .expect("the failure first");
    let said = page
        .body
        .find("broken")
        .expect("the migrate command's output");
    let items = page.body.find("id=\"items-h\"").expect("the items");
    assert!(
        failure < items && said < items,
        "the failure comes before the items"
    );
    assert!(
        !page.body.contains(">Retry<"),
        "a viewer is offered no Retry"
    );
    let dashboard = f.get("/", Some(&viewer));
    assert!(
        dashboard.body.contains("data-testid=\"failures\"")
            && dashboard.body.contains("1 change failed"),
        "the dashboard shows the failure in red with a link"
    );
    let admin = f.login("admin");
    let page = f.get(&format!("/changes/{forum}"), Some(&admin));
    assert!(page.body.contains(">Retry<"), "an admin is offered Retry");
    let sessions = [
        (None, 401),
        (Some(viewer), 403),
        (Some(f.login("reviewer")), 403),
        (Some(f.login("admin")), 200),
    ];
    for (cookie, expected) in &sessions {
        let response = f.post("/api/retry_change", cookie.as_deref(), &[("id", &forum)]);
        assert_eq!(
            response.status, *expected,
            "retry with {cookie:?}: {response:?}"
        );
    }
    let show: serde_json::Value =
        serde_json::from_str(&stdout_of(&run_cli(&f.db, &["show", &forum, "--json"], ""))).unwrap();
    assert_eq!(show["status"], "approved");
    assert!(f.audit_actions().contains(&"change.retried".to_string()));
}

/// Runs `sql` on the registry database at `url`.
fn registry_sql(url: &str, sql: &str) {
    use sqlx::Connection;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
        sqlx::raw_sql(sql).execute(&mut conn).await.expect(sql);
    });
}

#[test]
fn a_failed_change_that_would_fail_again_offers_no_retry_says_what_to_do_and_refuses_it_409() {
    let f = fixture("auth_retry_blocked", &[]);
    let (forum, _) = f.pending("forum");
    stdout_of(&run_cli(&f.db, &["approve", &forum, "--as", "admin"], ""));
    let schema = fresh_dir("auth_retry_blocked_schema").join("schema.prisma");
    let args = [
        "apply",
        "--schema-out",
        schema.to_str().unwrap(),
        "--migrate-cmd",
        "exit 4",
    ];
    assert_eq!(run_cli(&f.db, &args, "").status.code(), Some(1));
    // As the restart job records a plan its check refuses, which it refuses every time.
    registry_sql(
        &f.db,
        &format!("update schemagate.schema_change set failure_reason = 'plan_refused' where id = '{forum}'"),
    );

    let admin = f.login("admin");
    let page = f.get(&format!("/changes/{forum}"), Some(&admin));
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(">Retry<"), "no Retry that cannot work");
    assert!(
        page.body.contains("data-testid=\"retry-blocked\"")
            && page.body.contains(
                "Retrying it as it is would fail again: the plan check refuses its approved SQL"
            ),
        "the page says why and what to do instead"
    );
    let response = f.post("/api/retry_change", Some(&admin), &[("id", &forum)]);
    assert_eq!(response.status, 409, "{response:?}");
    assert!(
        response
            .body
            .contains("cannot retry forum: the plan check refuses its approved SQL"),
        "{response:?}"
    );
    let show: serde_json::Value =
        serde_json::from_str(&stdout_of(&run_cli(&f.db, &["show", &forum, "--json"], ""))).unwrap();
    assert_eq!(show["status"], "failed");
    assert!(f
        .audit_actions()
        .contains(&"change.retry_refused".to_string()));
}

#[test]
fn the_acl_check_endpoint_needs_a_session_and_answers_from_the_applied_policy() {
    let f = fixture("auth_acl", &[]);
    let (wiki, _) = f.pending("wiki");
    let form = [("role", "user"), ("op", "read"), ("entity", "WIKIThread")];
    assert_eq!(f.post("/api/acl_check", None, &form).status, 401);
    let viewer = f.login("viewer");
    assert_eq!(
        f.post("/api/acl_check", Some(&viewer), &form).status,
        404,
        "nothing applied yet"
    );
    stdout_of(&run_cli(&f.db, &["approve", &wiki, "--as", "admin"], ""));
    let schema = fresh_dir("auth_acl_schema").join("schema.prisma");
    stdout_of(&run_cli(
        &f.db,
        &["apply", "--schema-out", schema.to_str().unwrap()],
        "",
    ));
    let allowed = f.post("/api/acl_check", Some(&viewer), &form);
    assert_eq!(allowed.status, 200, "{allowed:?}");
    let decision: serde_json::Value = serde_json::from_str(&allowed.body).unwrap();
    assert_eq!(decision["decision"], "allow");
    assert_eq!(decision["granted_by"], "user");
    assert_eq!(decision["package"], "wiki");
    let policy = decision["policy"].as_str().unwrap_or_default();
    assert!(
        policy.starts_with("CREATE POLICY schemagate_read ON \"WIKIThread\" AS PERMISSIVE FOR SELECT TO PUBLIC\n    USING (NULLIF(current_setting('app.user_id', true), '') IS NOT NULL"),
        "{policy}"
    );
}

#[test]
fn reviewers_and_admins_comment_viewers_cannot() {
    let f = fixture("auth_comment", &[]);
    let (forum, _) = f.pending("forum");
    let sessions = [
        (None, 401),
        (Some(f.login("viewer")), 403),
        (Some(f.login("reviewer")), 200),
        (Some(f.login("admin")), 200),
    ];
    for (cookie, expected) in &sessions {
        let response = f.post(
            "/api/comment_change",
            cookie.as_deref(),
            &[("id", &forum), ("text", "index tenantId too?")],
        );
        assert_eq!(
            response.status, *expected,
            "comment with {cookie:?}: {response:?}"
        );
    }
    let empty = f.post(
        "/api/comment_change",
        sessions[2].0.as_deref(),
        &[("id", &forum), ("text", "  ")],
    );
    assert_eq!(empty.status, 400);
    // On one statement of the plan: kept with the comment, linked from the timeline; an item or
    // statement the change does not have is refused.
    let reviewer = sessions[2].0.as_deref();
    let on = f.post(
        "/api/comment_change",
        reviewer,
        &[
            ("id", &forum),
            ("text", "why this index?"),
            ("on", "statement-1"),
        ],
    );
    assert_eq!(on.status, 200, "{on:?}");
    for bad in [
        "statement-999",
        "item-0",
        "item-1x",
        "x\" onmouseover=\"alert(1)",
    ] {
        let refused = f.post(
            "/api/comment_change",
            reviewer,
            &[("id", &forum), ("text", "on nothing"), ("on", bad)],
        );
        assert_eq!(refused.status, 400, "{bad}: {refused:?}");
    }
    let page = f.get(&format!("/changes/{forum}"), reviewer);
    assert!(
        page.body
            .contains("href=\"#statement-1\" data-testid=\"comment-on\"")
            && page.body.contains("id=\"statement-1\""),
        "the timeline links the comment to its statement"
    );
    let events: serde_json::Value = serde_json::from_str(&stdout_of(&run_cli(
        &f.db,
        &["audit", "list", "--json"],
        "",
    )))
    .unwrap();
    let comments: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "change.commented")
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(comments, ["reviewer", "admin", "reviewer"]);
}

/// Over a real socket: a password change, a role change and disabling each end every session
/// of the account, and enabling it again never revives one.
#[test]
fn sessions_end_when_credentials_change_and_enabling_revives_none() {
    let f = fixture("auth_sessions_end", &[]);
    let signed_in = |cookie: &str| {
        let whoami = f.post("/api/whoami", Some(cookie), &[]);
        whoami.body.trim() != "null"
    };
    let change = |args: &[&str], stdin: &str| {
        let output = run_cli(&f.db, args, stdin);
        assert!(output.status.success(), "{args:?}: {output:?}");
    };

    let viewer = f.login("viewer");
    assert!(signed_in(&viewer));
    change(&["user", "passwd", "viewer"], "a-new-long-password\n");
    assert!(!signed_in(&viewer), "a password change ends the session");
    let page = http(
        &f.server.base_url,
        "GET",
        "/changes",
        &[("Accept", "text/html"), ("Cookie", &viewer)],
        None,
    );
    assert_eq!(page.status, 302);
    assert!(
        page.header("location")
            .is_some_and(|l| l.starts_with("/login")),
        "{page:?}"
    );

    let reviewer = f.login("reviewer");
    assert!(signed_in(&reviewer));
    change(&["user", "role", "reviewer", "viewer"], "");
    assert!(!signed_in(&reviewer), "a role change ends the session");

    let admin = f.login("admin");
    let other_admin_session = f.login("admin");
    assert!(signed_in(&admin) && signed_in(&other_admin_session));
    change(&["user", "disable", "admin"], "");
    assert!(!signed_in(&admin));
    change(&["user", "enable", "admin"], "");
    assert!(
        !signed_in(&admin),
        "enabling does not revive an old session"
    );
    assert!(!signed_in(&other_admin_session));
    // Signing in again works, with a session of its own.
    assert!(signed_in(&f.login("admin")));
}

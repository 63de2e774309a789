//! Pages kept in memory over real HTTP: a kept page is served only while nothing it shows has
//! changed (the registry, whoever writes it; the files on disk; the account asking), and every
//! answer has a nonce of its own.

mod support;

use std::time::{Duration, Instant};

use support::{http, query_text, run_cli, run_sql, stdout_of, Fixture, HttpResponse, THREAD_YAML};

/// The fixture's packages are scanned in before the server starts; a start-up scan finishing
/// in the middle of a test would change what the pages show.
fn fixture(name: &str) -> Fixture {
    let f = Fixture::start(
        name,
        &[("admin", "admin"), ("viewer", "viewer")],
        &["--scan-on-start=false"],
    );
    wait_until_following(&f);
    f
}

/// Waits until the server follows the registry's change notices (it keeps no page before).
fn wait_until_following(f: &Fixture) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let health = http(&f.server.base_url, "GET", "/healthz", &[], None);
        if health.body.contains("\"change_notices\":\"following\"") {
            return;
        }
        assert!(Instant::now() < deadline, "never followed: {health:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Requests `path` until its page contains `text`; panics after five seconds.
fn eventually(f: &Fixture, cookie: &str, path: &str, text: &str) -> HttpResponse {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let page = f.get(path, Some(cookie));
        if page.body.contains(text) {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never showed {text:?}: {}",
            page.body
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether the page's header names `username` as the one signed in.
fn signed_in_as(page: &HttpResponse, username: &str) -> bool {
    page.body.contains(&format!(
        "data-testid=\"signed-in\" class=\"who wide\">{username}<"
    ))
}

/// The nonce of a page's policy, and the nonces its script tags carry.
fn nonces(page: &HttpResponse) -> (String, Vec<String>) {
    let policy = page.header("content-security-policy").expect("a policy");
    let start = policy.find("'nonce-").expect("a nonce") + "'nonce-".len();
    let end = start + policy[start..].find('\'').unwrap();
    let in_body = page
        .body
        .split("nonce=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect();
    (policy[start..end].to_string(), in_body)
}

#[test]
fn a_kept_page_is_served_until_the_registry_announces_a_change() {
    let f = fixture("kept_until_notice");
    let admin = f.login("admin");
    // The notices of the sign-in's own writes (its audit event) arrive after its answer.
    std::thread::sleep(Duration::from_millis(300));
    let first = f.get("/changes", Some(&admin));
    assert_eq!(first.status, 200);
    assert!(signed_in_as(&first, "admin"), "{}", first.body);
    // A write that announces nothing (its notice trigger is off) is not seen: the page is kept.
    run_sql(
        &f.db,
        "alter table schemagate.account disable trigger announce_registry_change;
         update schemagate.account set username = 'renamed' where username = 'admin';
         alter table schemagate.account enable trigger announce_registry_change;",
    );
    let kept = f.get("/changes", Some(&admin));
    assert!(signed_in_as(&kept, "admin"), "the kept page was not served");
    // Once the registry announces a change, the page is rendered afresh.
    run_sql(&f.db, "select pg_notify('schemagate_registry', '')");
    eventually(&f, &admin, "/changes", "class=\"who wide\">renamed<");
}

#[test]
fn a_write_by_another_process_shows_within_moments_and_one_through_the_app_at_once() {
    let f = fixture("kept_writes");
    let admin = f.login("admin");
    let (forum, target) = f.pending("forum");
    let (wiki, _) = f.pending("wiki");
    let page = format!("/changes/{forum}");
    assert!(f.get(&page, Some(&admin)).body.contains("Approve"));
    let approved = f.post(
        "/api/approve_change",
        Some(&admin),
        &[
            ("id", &forum),
            ("target_checksum", &target),
            ("confirm", ""),
        ],
    );
    assert_eq!(approved.status, 200, "{approved:?}");
    // The app's own write: the very next request sees it.
    let after = f.get(&page, Some(&admin));
    assert!(!after.body.contains(">Approve<"), "{}", after.body);

    let wiki_page = format!("/changes/{wiki}");
    assert!(f.get(&wiki_page, Some(&admin)).body.contains("Approve"));
    stdout_of(&run_cli(
        &f.db,
        &["reject", &wiki, "--reason", "not now", "--as", "admin"],
        "",
    ));
    eventually(&f, &admin, &wiki_page, "not now");
}

#[test]
fn each_account_gets_its_own_page() {
    let f = fixture("kept_per_account");
    let (admin, viewer) = (f.login("admin"), f.login("viewer"));
    let (forum, _) = f.pending("forum");
    let page = format!("/changes/{forum}");
    for _ in 0..2 {
        let as_admin = f.get(&page, Some(&admin));
        let as_viewer = f.get(&page, Some(&viewer));
        assert!(signed_in_as(&as_admin, "admin"), "{}", as_admin.body);
        assert!(as_admin.body.contains(">Approve<"), "{}", as_admin.body);
        assert!(signed_in_as(&as_viewer, "viewer"), "{}", as_viewer.body);
        assert!(!as_viewer.body.contains(">Approve<"));
    }
}

#[test]
fn a_file_changed_on_disk_shows_within_a_second() {
    let f = fixture("kept_disk");
    let admin = f.login("admin");
    assert!(!f.get("/entities", Some(&admin)).body.contains("NoteThread"));
    let dir = f.packages.join("notes").join("seed/schema");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("entities.yaml"),
        THREAD_YAML.replace("ForumThread", "NoteThread"),
    )
    .unwrap();
    eventually(&f, &admin, "/entities", "NoteThread");
}

#[test]
fn every_answer_has_a_nonce_of_its_own_in_its_policy_and_its_scripts() {
    let f = fixture("kept_nonce");
    let admin = f.login("admin");
    let pages: Vec<HttpResponse> = (0..3).map(|_| f.get("/audit", Some(&admin))).collect();
    let mut seen = Vec::new();
    for page in &pages {
        let (policy, scripts) = nonces(page);
        assert!(!scripts.is_empty(), "no script carries a nonce");
        assert!(
            scripts.iter().all(|n| *n == policy),
            "{scripts:?} vs {policy}"
        );
        assert!(!seen.contains(&policy), "nonce {policy} answered twice");
        seen.push(policy);
    }
    // Apart from the nonce, the kept page is the page.
    let strip = |page: &HttpResponse| page.body.replace(&nonces(page).0, "NONCE");
    assert_eq!(strip(&pages[1]), strip(&pages[2]));
}

#[test]
fn every_registry_table_a_page_shows_announces_its_changes() {
    let f = fixture("kept_triggers");
    // Sign-in throttling is the one table no page shows (and floods of attempts write it).
    let silent = query_text(
        &f.db,
        "select coalesce(string_agg(c.relname, ', ' order by c.relname), '')
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'schemagate' and c.relkind in ('r', 'p')
            and c.relname not in ('sign_in_throttle', '_sqlx_migrations')
            and not exists (select 1 from pg_trigger t
                             where t.tgrelid = c.oid and t.tgname = 'announce_registry_change')",
    );
    assert_eq!(silent, "", "tables that change pages without a notice");
}

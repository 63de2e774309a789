//! Scans run in the background: the server answers while one runs, the dashboard shows its
//! progress with a busy "Scan now", and then its result.

mod support;

use std::time::{Duration, Instant};

use support::Fixture;

/// The registry's scan lock (see `registry::scan`): holding it keeps a scan waiting.
const SCAN_LOCK: i64 = 0x5343_4845_4d41_0002;

#[test]
fn the_server_answers_while_a_scan_runs_and_the_dashboard_shows_its_progress_then_its_result() {
    let fixture = Fixture::start("scan_background", &[("admin", "admin")], &[]);
    let cookie = fixture.login("admin");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut holder = runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&fixture.db).await.unwrap();
        sqlx::query("select pg_advisory_lock($1)")
            .bind(SCAN_LOCK)
            .execute(&mut conn)
            .await
            .unwrap();
        conn
    });

    // The start-up scan may still be waiting for the lock; either way one scan runs.
    let started = fixture.post("/api/scan_now", Some(&cookie), &[]);
    assert!(
        [200, 409].contains(&started.status),
        "scan_now answers at once: {started:?}"
    );
    let again = fixture.post("/api/scan_now", Some(&cookie), &[]);
    assert_eq!(again.status, 409, "one scan at a time: {again:?}");
    assert!(
        again.body.contains("a scan is already running"),
        "{again:?}"
    );

    let health = fixture.get("/healthz", None);
    assert_eq!(health.status, 200, "{health:?}");
    let page = fixture.get("/", Some(&cookie));
    assert!(
        page.body.contains("data-testid=\"scan-progress\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("Scanning…"), "a busy button");
    assert!(
        page.body.contains("http-equiv=\"refresh\""),
        "the page refreshes itself without JavaScript"
    );

    runtime.block_on(async {
        sqlx::query("select pg_advisory_unlock($1)")
            .bind(SCAN_LOCK)
            .execute(&mut holder)
            .await
            .unwrap();
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = fixture.get("/", Some(&cookie));
        if page.body.contains("data-testid=\"scan-result\"") {
            assert!(page.body.contains("scan done:"), "{}", page.body);
            assert!(page.body.contains(">Scan now<"), "the button is back");
            break;
        }
        assert!(Instant::now() < deadline, "the scan did not finish");
        std::thread::sleep(Duration::from_millis(200));
    }
}

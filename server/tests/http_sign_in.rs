//! Sign-in under attack: concurrent guessing never checks more passwords than the limit,
//! one client cannot spray usernames, and submitted usernames are stored bounded.

mod support;

use support::{run_cli, stdout_of, Fixture};

fn audit_events(f: &Fixture) -> Vec<serde_json::Value> {
    let events: serde_json::Value = serde_json::from_str(&stdout_of(&run_cli(
        &f.db,
        &["audit", "list", "--json"],
        "",
    )))
    .unwrap();
    events.as_array().unwrap().clone()
}

fn checked_passwords(f: &Fixture, username: &str) -> usize {
    audit_events(f)
        .iter()
        .filter(|e| {
            matches!(
                e["action"].as_str(),
                Some("login.failed" | "login.succeeded")
            ) && e["details"]["username"] == username
        })
        .count()
}

#[test]
fn a_hundred_concurrent_guesses_check_at_most_the_configured_number_of_passwords() {
    let f = Fixture::start(
        "signin_race",
        &[("admin", "admin")],
        &["--login-max-client-attempts", "1000"],
    );
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..100)
            .map(|i| {
                let f = &f;
                scope.spawn(move || {
                    let password = if i == 99 {
                        "admin-password".to_string()
                    } else {
                        format!("guess-{i}")
                    };
                    f.post(
                        "/api/login",
                        None,
                        &[("username", "admin"), ("password", &password)],
                    )
                    .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 401 | 429)),
        "{statuses:?}"
    );
    let checked = checked_passwords(&f, "admin");
    assert!(checked <= 5, "{checked} passwords checked: {statuses:?}");
    assert!(
        statuses.iter().filter(|s| **s == 429).count() >= 95,
        "{statuses:?}"
    );
}

#[test]
fn one_client_cannot_try_many_usernames() {
    let f = Fixture::start(
        "signin_client",
        &[("admin", "admin")],
        &["--login-max-client-attempts", "10"],
    );
    let statuses: Vec<u16> = (0..15)
        .map(|i| {
            let name = format!("user{i}");
            f.post(
                "/api/login",
                None,
                &[("username", &name), ("password", "wrong-password")],
            )
            .status
        })
        .collect();
    assert_eq!(&statuses[..10], &[401; 10], "{statuses:?}");
    assert_eq!(&statuses[10..], &[429; 5], "{statuses:?}");
}

#[test]
fn a_huge_username_is_stored_truncated_and_marked() {
    let f = Fixture::start("signin_huge", &[("admin", "admin")], &[]);
    let huge = "x".repeat(100_000);
    let response = f.post(
        "/api/login",
        None,
        &[("username", &huge), ("password", "whatever-1")],
    );
    assert_eq!(response.status, 401, "{response:?}");
    let events = audit_events(&f);
    let failed = events
        .iter()
        .find(|e| e["action"] == "login.failed")
        .expect("a login.failed event");
    assert_eq!(failed["details"]["username"], "x".repeat(64));
    assert_eq!(failed["details"]["username_truncated"], true);
    assert!(failed["actor"].as_str().unwrap().len() <= 64, "{failed}");
}

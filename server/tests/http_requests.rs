//! Malformed and hostile requests over real HTTP: 400 for malformed input, 404 for unknown
//! ids, 413 for oversized bodies, 503 pages while the database is gone, real redirects for
//! anonymous page visits, and the Origin check against the public URL (scheme included).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::{http, Fixture};

fn fixture(name: &str, extra_args: &[&str]) -> Fixture {
    Fixture::start(
        name,
        &[("admin", "admin"), ("reviewer", "reviewer")],
        extra_args,
    )
}

/// Sends `head` plus `body_len` bytes of body, ignoring a server that stops reading early,
/// and returns the status.
fn raw_status(base_url: &str, head: &str, body_len: usize) -> u16 {
    let address = base_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let _ = stream.write_all(head.as_bytes());
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0;
    while sent < body_len {
        let n = chunk.len().min(body_len - sent);
        if stream.write_all(&chunk[..n]).is_err() {
            break;
        }
        sent += n;
    }
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw);
    raw.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {raw:?}"))
}

#[test]
fn malformed_ids_nul_bytes_and_non_integer_pages_answer_400_and_unknown_ids_404() {
    let f = fixture("req_malformed", &[]);
    let admin = f.login("admin");
    for id in [
        "abc",
        "0123abcd",
        "not-a-uuid-at-all-0000000000000000000",
        "'; drop table x; --",
    ] {
        let response = f.post(
            "/api/comment_change",
            Some(&admin),
            &[("id", id), ("text", "x")],
        );
        assert_eq!(response.status, 400, "id {id:?}: {response:?}");
        assert!(
            !response.body.to_lowercase().contains("uuid"),
            "{response:?}"
        );
        let response = f.post(
            "/api/approve_change",
            Some(&admin),
            &[
                ("id", id),
                ("target_checksum", "v1:x"),
                ("note", ""),
                ("confirm", ""),
            ],
        );
        assert_eq!(response.status, 400, "id {id:?}: {response:?}");
    }
    let unknown = "00000000-0000-4000-8000-000000000000";
    let response = f.post(
        "/api/comment_change",
        Some(&admin),
        &[("id", unknown), ("text", "x")],
    );
    assert_eq!(response.status, 404, "{response:?}");

    let list: serde_json::Value = serde_json::from_str(&support::stdout_of(&support::run_cli(
        &f.db,
        &["list", "--json"],
        "",
    )))
    .unwrap();
    let id = list[0]["id"].as_str().unwrap().to_string();
    let response = f.post(
        "/api/comment_change",
        Some(&admin),
        &[("id", &id), ("text", "a\0b")],
    );
    assert_eq!(response.status, 400, "{response:?}");

    let response = f.post("/api/list_audit", Some(&admin), &[("page", "abc")]);
    assert_eq!(response.status, 400, "{response:?}");
    let response = f.post("/api/list_audit", Some(&admin), &[("actor", "a\0b")]);
    assert!(
        response.status == 400 || response.status == 200,
        "{response:?}"
    );
    assert_ne!(response.status, 500, "{response:?}");
}

#[test]
fn an_oversized_body_answers_413() {
    let f = fixture("req_body", &[]);
    let address = f.server.base_url.trim_start_matches("http://").to_string();
    let length = 10 * 1024 * 1024;
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\r\n"
    );
    assert_eq!(raw_status(&f.server.base_url, &head, length), 413);
    let chunked = format!(
        "POST /api/login HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let mut body = String::new();
    for _ in 0..8 {
        body.push_str(&format!("{:x}\r\n{}\r\n", 64 * 1024, "a".repeat(64 * 1024)));
    }
    body.push_str("0\r\n\r\n");
    assert_eq!(
        raw_status(&f.server.base_url, &format!("{chunked}{body}"), 0),
        413
    );
}

#[test]
fn anonymous_page_visits_are_redirected_to_the_sign_in_page() {
    let f = fixture("req_redirect", &[]);
    for path in ["/", "/changes", "/audit", "/accounts", "/packages"] {
        let page = f.get(path, None);
        assert!(
            page.status == 303 || page.status == 302,
            "{path}: {} {:?}",
            page.status,
            page.header("location")
        );
        assert!(
            page.header("location")
                .is_some_and(|l| l.starts_with("/login")),
            "{path}: {page:?}"
        );
    }
    assert_eq!(f.get("/login", None).status, 200);
    let admin = f.login("admin");
    assert_eq!(f.get("/changes", Some(&admin)).status, 200);
}

#[test]
fn the_origin_must_match_the_public_url_including_its_scheme() {
    let f = fixture("req_origin", &[]);
    let admin = f.login("admin");
    let base = f.server.base_url.clone();
    let https_same_host = base.replace("http://", "https://");
    let post = |origin: &str| {
        http(
            &base,
            "POST",
            "/api/scan_now",
            &[
                ("Cookie", &admin),
                ("Origin", origin),
                ("Accept", "application/json"),
            ],
            Some(&[]),
        )
        .status
    };
    assert_eq!(post(&base), 200);
    assert_eq!(post(&https_same_host), 403);
    assert_eq!(post("null"), 403);

    let g = fixture(
        "req_origin_public",
        &["--public-url", "https://gate.example.com/"],
    );
    let admin = g.login_from("admin", "https://gate.example.com");
    let base = g.server.base_url.clone();
    let post = |origin: &str| {
        http(
            &base,
            "POST",
            "/api/scan_now",
            &[
                ("Cookie", &admin),
                ("Origin", origin),
                ("Accept", "application/json"),
            ],
            Some(&[]),
        )
        .status
    };
    assert_eq!(post("https://gate.example.com"), 200);
    assert_eq!(post("http://gate.example.com"), 403);
    assert_eq!(post(&base), 403);
}

#[test]
fn pages_answer_503_while_the_database_is_gone() {
    let f = fixture("req_db_gone", &[]);
    let admin = f.login("admin");
    assert_eq!(f.get("/changes", Some(&admin)).status, 200);
    let admin_url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let name =
        f.db.split('?')
            .next()
            .and_then(|path| path.rsplit('/').next())
            .expect("database name")
            .to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::query(&format!("drop database {name} with (force)"))
            .execute(&mut conn)
            .await
            .unwrap();
    });
    for path in ["/changes", "/login", "/"] {
        let started = std::time::Instant::now();
        let page = f.get(path, Some(&admin));
        assert_eq!(page.status, 503, "{path}: {page:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{path}: {:?}",
            started.elapsed()
        );
    }
    for endpoint in ["/api/list_changes", "/api/get_change", "/api/whoami"] {
        let started = std::time::Instant::now();
        let answer = f.post(endpoint, Some(&admin), &[("id", "0")]);
        assert_eq!(answer.status, 503, "{endpoint}: {answer:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{endpoint}: {:?}",
            started.elapsed()
        );
    }
    let (status, body) = support::http_get(&f.server.base_url, "/healthz");
    assert_eq!(status, 503);
    assert!(body.contains(r#""database":"unreachable""#), "{body}");
}

/// Every `/api/` endpoint the app declares, read from the server functions' sources.
fn api_endpoints() -> Vec<String> {
    let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src/api")];
    let mut endpoints = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).expect("app/src/api") {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap();
            for part in text.split("endpoint = \"").skip(1) {
                endpoints.push(part.split('"').next().unwrap().to_owned());
            }
        }
    }
    endpoints.sort();
    endpoints
}

/// Posts `body` as it is (no encoding) and returns the status.
fn raw_post(f: &Fixture, path: &str, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    let address = f.server.base_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nOrigin: {}\r\nContent-Length: {}\r\n",
        f.server.base_url,
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send head");
    stream.write_all(body).expect("send body");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response)
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status line")
}

#[test]
fn malformed_bodies_never_get_a_500_on_any_api_endpoint() {
    let f = fixture("req_fuzz", &[]);
    let admin = f.login("admin");
    let endpoints = api_endpoints();
    assert!(endpoints.len() >= 28, "{endpoints:?}");
    let form = "application/x-www-form-urlencoded";
    let bodies: [(&str, &[u8], u16); 6] = [
        (form, b"id=\xff\xfe&text=\xc3\x28&username=\x80", 400),
        (form, b"id=%FF%FE&text=%C3%28&username=%80&role=%FF", 0),
        (form, b"%%%===&&&id&&==", 0),
        ("application/json", b"{\"id\": 1}", 415),
        ("text/plain; charset=utf-8", b"id=1", 415),
        ("multipart/form-data; boundary=x", b"--x\r\n", 415),
    ];
    let mut requests = 0;
    for endpoint in &endpoints {
        let path = format!("/api/{endpoint}");
        for (content_type, body, expected) in bodies {
            for cookie in [None, Some(admin.as_str())] {
                let mut headers = vec![
                    ("Content-Type", content_type),
                    ("Accept", "application/json"),
                ];
                if let Some(cookie) = cookie {
                    headers.push(("Cookie", cookie));
                }
                let status = raw_post(&f, &path, &headers, body);
                assert!(status < 500, "{path} {content_type} {body:?}: {status}");
                if expected != 0 {
                    assert_eq!(status, expected, "{path} {content_type} {body:?}");
                }
                requests += 1;
            }
        }
    }
    assert!(requests >= 28 * 12, "{requests}");
    // The server is still well (the fuzzed `logout` ended the admin's session).
    assert_eq!(f.get("/changes", Some(&f.login("admin"))).status, 200);
}

impl Fixture {
    /// Signs in with an `Origin` header, as a browser on that origin does.
    fn login_from(&self, user: &str, origin: &str) -> String {
        let password = format!("{user}-password");
        let response = http(
            &self.server.base_url,
            "POST",
            "/api/login",
            &[("Accept", "application/json"), ("Origin", origin)],
            Some(&[("username", user), ("password", &password)]),
        );
        assert_eq!(response.status, 200, "{response:?}");
        response.session_cookie().expect("a session cookie")
    }
}

//! Helpers for tests that run the real `schemagate` binary.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn schemagate() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_schemagate"));
    command
        .env("RUST_LOG", "info,sqlx::postgres::notice=warn")
        .env_remove("LOG_FORMAT");
    command
}

/// A fresh, empty directory under the workspace's target directory (the embedded cluster's
/// user must be able to reach it, which rules out private temp directories).
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-dirs")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test directory");
    dir
}

/// A server started in the background; stopped with SIGTERM when dropped.
pub struct RunningServer {
    pub child: Child,
    pub base_url: String,
}

impl RunningServer {
    /// Starts `command` (a `serve` invocation on port 0) and waits for its URL on stderr.
    pub fn start(command: Command) -> RunningServer {
        Self::start_capturing(command).0
    }

    /// Like [`RunningServer::start`], also returning what the server printed before its URL.
    pub fn start_capturing(mut command: Command) -> (RunningServer, Vec<String>) {
        // The console (URL, first-start password) is stdout; logs on stderr pass through.
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn schemagate");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut before = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                eprintln!("[server] {line}");
                if let Some(url) = line.strip_prefix("Schemagate is running at ") {
                    let _ = sender.send((url.trim().to_string(), std::mem::take(&mut before)));
                } else {
                    before.push(line);
                }
            }
        });
        let (base_url, printed) = receiver
            .recv_timeout(Duration::from_secs(90))
            .expect("the server printed its URL within 90 s");
        (RunningServer { child, base_url }, printed)
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        terminate(&self.child);
        let status = wait_with_timeout(&mut self.child, Duration::from_secs(30));
        std::mem::forget(self);
        status
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        terminate(&self.child);
        let _ = wait_with_timeout(&mut self.child, Duration::from_secs(30));
    }
}

fn terminate(child: &Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            return child.wait().expect("wait after kill");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A plain HTTP/1.1 GET: `(status, body)`.
pub fn http_get(base_url: &str, path: &str) -> (u16, String) {
    let address = base_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A new, empty database on the server named by `DATABASE_URL` (which `make test` provides),
/// returned as a URL. Each test gets its own, so tests never see each other's data.
pub fn fresh_database(name: &str) -> String {
    let url = std::env::var("DATABASE_URL").expect(
        "DATABASE_URL must name a PostgreSQL server for database tests (make test sets it)",
    );
    let database = format!("sg_{name}_{}", std::process::id());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&url)
            .await
            .expect("connect to DATABASE_URL");
        sqlx::query(&format!("drop database if exists {database} with (force)"))
            .execute(&mut conn)
            .await
            .expect("drop old test database");
        sqlx::query(&format!("create database {database}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
    });
    with_database(&url, &database)
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{server}/{database}{query}")
}

/// Runs the binary against `database_url` with `args`, feeding `stdin`.
pub fn run_cli(database_url: &str, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = schemagate()
        .env("DATABASE_URL", database_url)
        .env("SCHEMAGATE_PLATFORM_DATABASE_URL", database_url)
        .env("USER", "operator")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn schemagate");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for schemagate")
}

/// Stdout of a run that must succeed.
#[track_caller]
pub fn stdout_of(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// An HTTP response as the tests look at it.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `name=value` part of the session cookie this response sets, if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .find_map(|(_, v)| {
                v.split(';')
                    .next()
                    .filter(|c| c.starts_with("schemagate_session="))
                    .map(str::to_string)
            })
    }
}

/// A plain HTTP/1.1 request with extra headers and an optional url-encoded body.
pub fn http(
    base_url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    form: Option<&[(&str, &str)]>,
) -> HttpResponse {
    let address = base_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let body = form
        .map(|pairs| {
            pairs
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect::<Vec<_>>()
                .join("&")
        })
        .unwrap_or_default();
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if form.is_some() {
        request.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).expect("send request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status");
    let headers = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// The site root the server serves `/pkg` from (built by `make`).
pub fn site_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/site")
}

/// A small entity every HTTP fixture scans in, renamed per package. Without an ACL its change is
/// routine (no row-level security statements in its plan).
pub const THREAD_YAML: &str = "entities:
  - name: ForumThread
    fields:
      id: { type: cuid, primary: true, generated: true }
      tenantId: { type: string, required: true }
    relations:
      - { name: tenant, type: belongsTo, entity: Tenant, field: tenantId }
";

/// The ACL the fixture's `wiki` package adds to its thread: its change is a security change.
pub const THREAD_ACL: &str = "    acl:\n      read: [user]\n";

/// A served registry for HTTP tests: accounts (password "<name>-password"), packages `forum`
/// (routine) and `wiki` (with an ACL: a security change) scanned in (one pending change each),
/// and the real server in front of a fresh database.
pub struct Fixture {
    pub server: RunningServer,
    pub db: String,
    /// The packages directory the server scans.
    pub packages: PathBuf,
}

impl Fixture {
    /// Starts it with `accounts` as `(name, role)` and extra `serve` arguments.
    pub fn start(name: &str, accounts: &[(&str, &str)], extra_args: &[&str]) -> Fixture {
        let db = fresh_database(name);
        for (user, role) in accounts {
            stdout_of(&run_cli(
                &db,
                &["user", "add", user, "--role", role],
                &format!("{user}-password\n"),
            ));
        }
        let packages = fresh_dir(name);
        for id in ["forum", "wiki"] {
            let dir = packages.join(id).join("seed/schema");
            std::fs::create_dir_all(&dir).unwrap();
            let mut yaml =
                THREAD_YAML.replace("ForumThread", &format!("{}Thread", id.to_uppercase()));
            if id == "wiki" {
                yaml.push_str(THREAD_ACL);
            }
            std::fs::write(dir.join("entities.yaml"), yaml).unwrap();
        }
        let packages_dir = packages.clone();
        let packages = packages.to_str().unwrap().to_string();
        stdout_of(&run_cli(&db, &["--packages", &packages, "scan"], ""));
        let mut command = schemagate();
        command
            .env("DATABASE_URL", &db)
            .env("SCHEMAGATE_PLATFORM_DATABASE_URL", &db)
            .env("LEPTOS_SITE_ROOT", site_root())
            .args(["--packages", &packages, "serve", "--addr", "127.0.0.1:0"])
            .args(extra_args);
        Fixture {
            server: RunningServer::start(command),
            db,
            packages: packages_dir,
        }
    }

    /// `(id, target_checksum)` of the pending change of `package`.
    pub fn pending(&self, package: &str) -> (String, String) {
        let list: serde_json::Value = serde_json::from_str(&stdout_of(&run_cli(
            &self.db,
            &["list", "--status", "pending", "--json"],
            "",
        )))
        .unwrap();
        let row = list
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["package"] == package)
            .expect("pending change");
        (
            row["id"].as_str().unwrap().to_string(),
            row["target_checksum"].as_str().unwrap().to_string(),
        )
    }

    /// A url-encoded POST, as a script would send it.
    pub fn post(&self, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> HttpResponse {
        let mut headers = vec![("Accept", "application/json")];
        if let Some(c) = cookie {
            headers.push(("Cookie", c));
        }
        http(&self.server.base_url, "POST", path, &headers, Some(form))
    }

    /// A page GET, as a browser would send it.
    pub fn get(&self, path: &str, cookie: Option<&str>) -> HttpResponse {
        let mut headers = vec![("Accept", "text/html")];
        if let Some(c) = cookie {
            headers.push(("Cookie", c));
        }
        http(&self.server.base_url, "GET", path, &headers, None)
    }

    /// Signs `user` in and returns the session cookie.
    pub fn login(&self, user: &str) -> String {
        let password = format!("{user}-password");
        let response = self.post(
            "/api/login",
            None,
            &[("username", user), ("password", &password)],
        );
        assert_eq!(response.status, 200, "{response:?}");
        response.session_cookie().expect("a session cookie")
    }
}

/// Runs `work` on a new connection to the database at `database_url`, as an operator with psql
/// would: for what the CLI does not do or show.
fn on_database<T>(database_url: &str, work: impl AsyncFnOnce(&mut sqlx::PgConnection) -> T) -> T {
    use sqlx::Connection;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut conn = sqlx::PgConnection::connect(database_url).await.unwrap();
        work(&mut conn).await
    })
}

/// Runs `sql` (one or more statements) on the database at `database_url`.
pub fn run_sql(database_url: &str, sql: &str) {
    on_database(database_url, async |conn| {
        sqlx::raw_sql(sql).execute(conn).await.expect(sql);
    });
}

/// The first column of the first row `sql` returns on the database at `database_url`, as text.
pub fn query_text(database_url: &str, sql: &str) -> String {
    on_database(database_url, async |conn| {
        sqlx::query_scalar::<_, String>(sql)
            .fetch_one(conn)
            .await
            .expect(sql)
    })
}

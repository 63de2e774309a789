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
    command.env("RUST_LOG", "info").env_remove("LOG_FORMAT");
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
    pub fn start(mut command: Command) -> RunningServer {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn schemagate");
        let stderr = child.stderr.take().expect("stderr");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[server] {line}");
                if let Some(url) = line.strip_prefix("Schemagate is running at ") {
                    let _ = sender.send(url.trim().to_string());
                }
            }
        });
        let base_url = receiver
            .recv_timeout(Duration::from_secs(90))
            .expect("the server printed its URL within 90 s");
        RunningServer { child, base_url }
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
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
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
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
        .expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status line");
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default();
    (status, body)
}

/// A new, empty database on the server named by `DATABASE_URL` (which `make test` provides),
/// returned as a URL. Each test gets its own, so tests never see each other's data.
pub fn fresh_database(name: &str) -> String {
    let url = std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must name a PostgreSQL server for database tests (make test sets it)");
    let database = format!("sg_{name}_{}", std::process::id());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect to DATABASE_URL");
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
fn with_database(url: &str, database: &str) -> String {
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
        .env("USER", "operator")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn schemagate");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
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

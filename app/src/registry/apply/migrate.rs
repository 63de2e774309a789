//! Running the configured migrate command: through `sh -c`, with `SCHEMAGATE_SCHEMA` naming the
//! written schema, in a process group of its own so that a timeout kills everything it started,
//! with stdout and stderr captured (the last [`LOG_LIMIT`] bytes are kept).

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};

/// How much of the command's output is kept: the last 64 KiB.
pub const LOG_LIMIT: usize = 64 * 1024;

/// How long to keep reading output after the command exited (a background process it left
/// behind may hold the pipes open).
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// What the migrate command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateOutcome {
    /// How it ended.
    pub end: MigrateEnd,
    /// Its combined stdout and stderr (the tail, when longer than [`LOG_LIMIT`]).
    pub output: String,
    /// How long it ran.
    pub duration: Duration,
}

/// How the migrate command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrateEnd {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it.
    Signaled(i32),
    /// It ran out of time and was killed.
    TimedOut,
}

impl MigrateOutcome {
    /// Whether it exited with status 0.
    pub fn succeeded(&self) -> bool {
        self.end == MigrateEnd::Exited(0)
    }

    /// `exit status 1`, `killed by signal 9`, `timed out after 600 s`.
    pub fn describe(&self, timeout: Duration) -> String {
        match self.end {
            MigrateEnd::Exited(code) => format!("exit status {code}"),
            MigrateEnd::Signaled(signal) => format!("killed by signal {signal}"),
            MigrateEnd::TimedOut => {
                format!("timed out after {} s and was killed", timeout.as_secs())
            }
        }
    }
}

/// The last `limit` bytes written to it, and how many were dropped before them.
#[derive(Debug)]
struct Tail {
    bytes: VecDeque<u8>,
    dropped: u64,
    limit: usize,
}

impl Tail {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend(chunk);
        let excess = self.bytes.len().saturating_sub(self.limit);
        if excess > 0 {
            self.bytes.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    fn text(&self) -> String {
        let (front, back) = self.bytes.as_slices();
        let mut bytes = Vec::with_capacity(self.bytes.len());
        bytes.extend_from_slice(front);
        bytes.extend_from_slice(back);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if self.dropped > 0 {
            format!("[{} earlier bytes of output omitted]\n{text}", self.dropped)
        } else {
            text
        }
    }
}

async fn pump(mut reader: impl AsyncRead + Unpin, tail: Arc<Mutex<Tail>>, echo: bool) {
    let mut buffer = [0u8; 8192];
    loop {
        match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let chunk = &buffer[..n];
                if echo {
                    use std::io::Write as _;
                    let _ = std::io::stderr().write_all(chunk);
                }
                if let Ok(mut tail) = tail.lock() {
                    tail.push(chunk);
                }
            }
        }
    }
}

/// What to run and how.
#[derive(Debug, Clone)]
pub struct MigrateCommand<'a> {
    /// The shell command line.
    pub command: &'a str,
    /// The written schema (passed as `SCHEMAGATE_SCHEMA`).
    pub schema: &'a Path,
    /// The change being applied (passed as `SCHEMAGATE_CHANGE_ID`).
    pub change_id: &'a str,
    /// Its package (passed as `SCHEMAGATE_PACKAGE`).
    pub package: &'a str,
    /// Kill it after this long.
    pub timeout: Duration,
    /// Copy its output to this process's stderr as it comes.
    pub echo: bool,
    /// The Prisma migrations directory holding the change's migration (passed as
    /// `SCHEMAGATE_MIGRATIONS_DIR`).
    pub migrations_dir: Option<&'a Path>,
    /// The change's migration name (passed as `SCHEMAGATE_MIGRATION`).
    pub migration: Option<&'a str>,
}

/// Runs the command to its end (or its timeout) and collects its output.
///
/// # Errors
/// When `sh` cannot be started or waited for.
pub async fn run(spec: &MigrateCommand<'_>) -> std::io::Result<MigrateOutcome> {
    let started = Instant::now();
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(spec.command)
        .env("SCHEMAGATE_SCHEMA", spec.schema)
        .env("SCHEMAGATE_CHANGE_ID", spec.change_id)
        .env("SCHEMAGATE_PACKAGE", spec.package)
        .env(
            "SCHEMAGATE_MIGRATIONS_DIR",
            spec.migrations_dir.unwrap_or(Path::new("")),
        )
        .env("SCHEMAGATE_MIGRATION", spec.migration.unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn()?;
    let tail = Arc::new(Mutex::new(Tail {
        bytes: VecDeque::new(),
        dropped: 0,
        limit: LOG_LIMIT,
    }));
    let mut pumps = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        pumps.push(tokio::spawn(pump(stdout, Arc::clone(&tail), spec.echo)));
    }
    if let Some(stderr) = child.stderr.take() {
        pumps.push(tokio::spawn(pump(stderr, Arc::clone(&tail), spec.echo)));
    }
    let end = match tokio::time::timeout(spec.timeout, child.wait()).await {
        Ok(status) => {
            let status = status?;
            match (
                status.code(),
                std::os::unix::process::ExitStatusExt::signal(&status),
            ) {
                (Some(code), _) => MigrateEnd::Exited(code),
                (None, Some(signal)) => MigrateEnd::Signaled(signal),
                (None, None) => MigrateEnd::Exited(-1),
            }
        }
        Err(_) => {
            kill_group(child.id());
            let _ = child.kill().await;
            MigrateEnd::TimedOut
        }
    };
    let drain_until = tokio::time::Instant::now() + DRAIN_GRACE;
    for pump in pumps {
        match tokio::time::timeout_at(drain_until, pump).await {
            Ok(_) => {}
            Err(elapsed) => {
                tracing::warn!("the migrate command left a process behind that keeps its output open: {elapsed}");
            }
        }
    }
    let output = tail.lock().map(|t| t.text()).unwrap_or_default();
    Ok(MigrateOutcome {
        end,
        output,
        duration: started.elapsed(),
    })
}

/// Kills the command's whole process group (the shell and everything it started).
fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_bytes_and_says_how_many_were_dropped() {
        let mut tail = Tail {
            bytes: VecDeque::new(),
            dropped: 0,
            limit: 4,
        };
        tail.push(b"abc");
        tail.push(b"defg");
        assert_eq!(tail.text(), "[3 earlier bytes of output omitted]\ndefg");
    }

    #[tokio::test]
    async fn a_command_that_outlives_its_timeout_is_killed_with_its_children() {
        let dir = std::env::temp_dir();
        let spec = MigrateCommand {
            command: "echo started; (sleep 30; echo late) & sleep 30",
            schema: &dir,
            change_id: "c",
            package: "p",
            timeout: Duration::from_millis(300),
            echo: false,
            migrations_dir: None,
            migration: None,
        };
        let outcome = run(&spec).await.unwrap();
        assert_eq!(outcome.end, MigrateEnd::TimedOut);
        assert_eq!(outcome.output, "started\n");
        assert!(
            outcome.duration < Duration::from_secs(5),
            "{:?}",
            outcome.duration
        );
    }

    #[tokio::test]
    async fn the_exit_status_and_both_streams_are_captured() {
        let dir = std::env::temp_dir();
        let spec = MigrateCommand {
            command: "echo \"to $SCHEMAGATE_PACKAGE\"; echo oops >&2; exit 3",
            schema: &dir,
            change_id: "c",
            package: "forum",
            timeout: Duration::from_secs(10),
            echo: false,
            migrations_dir: None,
            migration: None,
        };
        let outcome = run(&spec).await.unwrap();
        assert_eq!(outcome.end, MigrateEnd::Exited(3));
        assert!(
            outcome.output.contains("to forum") && outcome.output.contains("oops"),
            "{}",
            outcome.output
        );
        assert_eq!(outcome.describe(spec.timeout), "exit status 3");
    }
}

//! Running the configured migrate command: through `sh -c`, with `SCHEMAGATE_SCHEMA` naming the
//! written schema, in a process group of its own so that a timeout kills everything it started,
//! with stdout and stderr captured (the last [`LOG_LIMIT`] bytes are kept).
//!
//! The command never outlives the runner, so two runs of one change never overlap:
//! - a watchdog (`sh`, in the command's process group) waits on a pipe whose only writer is
//!   this process; when this process ends in any way, `kill -9` included, the pipe closes and
//!   the watchdog kills the whole group;
//! - on Linux the shell also gets `PR_SET_PDEATHSIG` (SIGKILL when this process dies);
//! - when the command ends, whatever it left running in its group is killed;
//! - while it runs, the apply lease is watched: when the lease was taken over, or could not be
//!   renewed for five sixths of its lifetime, the group is killed before another runner could
//!   take the lease over.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};

use super::lease::Validity;

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
    /// The apply lease was lost (or could not be renewed in time) and it was killed.
    LeaseLost,
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
            MigrateEnd::LeaseLost => {
                "killed because the apply lease could not be renewed (another runner may take it over)"
                    .to_string()
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
    /// The apply lease it runs under: it is killed when the lease can no longer be relied on.
    pub lease: Option<Validity>,
}

/// Runs the command to its end (or its timeout) and collects its output.
///
/// # Errors
/// When `sh` cannot be started or waited for.
pub async fn run(spec: &MigrateCommand<'_>) -> std::io::Result<MigrateOutcome> {
    let started = Instant::now();
    let mut command = shell_command(spec);
    let mut child = command.spawn()?;
    let group = child.id();
    // Held until the command is over; dropping it (or dying) makes the watchdog kill the group.
    let watchdog = group.and_then(spawn_watchdog);
    let (tail, pumps) = capture_output(&mut child, spec.echo);
    let end = wait_for_end(&mut child, group, spec).await?;
    // Nothing the command started may keep running once it is over.
    kill_group(group);
    if let Some(mut watchdog) = watchdog {
        drop(watchdog.stdin.take());
        let _ = tokio::time::timeout(Duration::from_secs(2), watchdog.wait()).await;
    }
    drain(pumps).await;
    let output = tail.lock().map(|t| t.text()).unwrap_or_default();
    Ok(MigrateOutcome {
        end,
        output,
        duration: started.elapsed(),
    })
}

/// `sh -c` with the command line, the change in its environment, its output piped, in a
/// process group of its own that dies with this process.
fn shell_command(spec: &MigrateCommand<'_>) -> tokio::process::Command {
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
    die_with_this_process(&mut command);
    command
}

/// Collects the child's stdout and stderr into one tail as they come, echoing them if asked.
fn capture_output(
    child: &mut tokio::process::Child,
    echo: bool,
) -> (Arc<Mutex<Tail>>, Vec<tokio::task::JoinHandle<()>>) {
    let tail = Arc::new(Mutex::new(Tail {
        bytes: VecDeque::new(),
        dropped: 0,
        limit: LOG_LIMIT,
    }));
    let mut pumps = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        pumps.push(tokio::spawn(pump(stdout, Arc::clone(&tail), echo)));
    }
    if let Some(stderr) = child.stderr.take() {
        pumps.push(tokio::spawn(pump(stderr, Arc::clone(&tail), echo)));
    }
    (tail, pumps)
}

/// Waits for the command to exit, killing its group when it runs out of time or the apply
/// lease can no longer be relied on.
async fn wait_for_end(
    child: &mut tokio::process::Child,
    group: Option<u32>,
    spec: &MigrateCommand<'_>,
) -> std::io::Result<MigrateEnd> {
    let deadline = tokio::time::Instant::now() + spec.timeout;
    loop {
        let tick = tokio::time::sleep(Duration::from_millis(200));
        tokio::select! {
            status = child.wait() => {
                let status = status?;
                return Ok(match (
                    status.code(),
                    std::os::unix::process::ExitStatusExt::signal(&status),
                ) {
                    (Some(code), _) => MigrateEnd::Exited(code),
                    (None, Some(signal)) => MigrateEnd::Signaled(signal),
                    (None, None) => MigrateEnd::Exited(-1),
                });
            }
            () = tokio::time::sleep_until(deadline) => {
                kill_group(group);
                let _ = child.kill().await;
                return Ok(MigrateEnd::TimedOut);
            }
            () = tick => {
                if spec.lease.as_ref().is_some_and(Validity::expired) {
                    tracing::error!("the apply lease could not be renewed: killing the migrate command");
                    kill_group(group);
                    let _ = child.kill().await;
                    return Ok(MigrateEnd::LeaseLost);
                }
            }
        }
    }
}

/// Reads what output is left for a little while; a process the command left behind may hold
/// its pipes open for ever.
async fn drain(pumps: Vec<tokio::task::JoinHandle<()>>) {
    let drain_until = tokio::time::Instant::now() + DRAIN_GRACE;
    for pump in pumps {
        match tokio::time::timeout_at(drain_until, pump).await {
            Ok(_) => {}
            Err(elapsed) => {
                tracing::warn!("the migrate command left a process behind that keeps its output open: {elapsed}");
            }
        }
    }
}

/// Kills the command's whole process group (the shell and everything it started).
fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|pid| libc::pid_t::try_from(pid).ok()) {
        // SAFETY: kill(2) with a negative pid signals that process group; no memory involved.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

/// On Linux, the shell is killed by the kernel when this process dies (`PR_SET_PDEATHSIG`).
/// Its children are not; the watchdog covers them.
fn die_with_this_process(command: &mut tokio::process::Command) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getpid is async-signal-safe.
        let parent = unsafe { libc::getpid() };
        // SAFETY: the closure runs in the forked child before exec and only calls prctl and
        // getppid, both async-signal-safe.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died between fork and prctl.
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("the runner exited"));
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

/// A shell in the command's process group that kills the group once its stdin closes: when
/// this process drops the returned child's stdin, or dies.
fn spawn_watchdog(group: u32) -> Option<tokio::process::Child> {
    let group_id = i32::try_from(group).ok()?;
    let spawned = tokio::process::Command::new("sh")
        .arg("-c")
        // `kill -KILL -N` signals process group N (dash's kill takes no `--`).
        .arg("read _ignored; kill -KILL -\"$1\"")
        .arg("schemagate-watchdog")
        .arg(group.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(group_id)
        .spawn();
    match spawned {
        Ok(child) => Some(child),
        Err(error) => {
            // The group is already gone when the command ended at once; nothing to guard.
            tracing::warn!("no watchdog for the migrate command: {error}");
            None
        }
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
            lease: None,
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

    fn running(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit(')')
                .next()
                .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
        })
    }

    #[tokio::test]
    async fn a_run_given_up_on_kills_everything_the_command_started() {
        let dir = std::env::temp_dir().join(format!("migrate-drop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let command = format!(
            "cd '{}' && {{ sleep 600 & echo $! > pid; wait; }}",
            dir.display()
        );
        let spec = MigrateCommand {
            command: &command,
            schema: &dir,
            change_id: "c",
            package: "p",
            timeout: Duration::from_secs(600),
            echo: false,
            migrations_dir: None,
            migration: None,
            lease: None,
        };
        let run = run(&spec);
        let pid = tokio::select! {
            _ = run => panic!("the command ended"),
            pid = async {
                loop {
                    if let Some(pid) = std::fs::read_to_string(dir.join("pid")).ok().and_then(|t| t.trim().parse::<u32>().ok()) {
                        break pid;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            } => pid,
        };
        // The run future is dropped here, as when the runner is cancelled; the watchdog (which
        // also acts when the runner is killed) takes the group down.
        let deadline = Instant::now() + Duration::from_secs(5);
        while running(pid) {
            assert!(
                Instant::now() < deadline,
                "the command's child outlived the run"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = std::fs::remove_dir_all(&dir);
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
            lease: None,
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

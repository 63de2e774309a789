//! Client of Prisma's schema engine: the Node program in `server/prisma-engine/` (Prisma's
//! migration engine compiled to WASM), kept running and spoken to over its line-delimited JSON
//! protocol (documented in `server/prisma-engine/README.md`).
//!
//! One [`Engine`] owns one child process, which holds one engine and one database pool. Calls are
//! answered one at a time, in order; each has a timeout. A process that died (or was killed after
//! a timeout) is started again by the next call.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;

/// Where the engine program lives, relative to a checkout or an installation root.
pub const DEFAULT_DIR: &str = "server/prisma-engine";
const PROGRAM: &str = "engine.mjs";
const STDERR_TAIL: usize = 20;

/// How to start the engine and how long to wait for it.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The directory holding `engine.mjs` and its installed `node_modules`.
    pub dir: PathBuf,
    /// The `node` binary (Node 20 or later).
    pub node: PathBuf,
    /// The platform database (`postgres://…`; `?host=/socket/dir` and `?schema=` are honoured).
    pub database_url: String,
    /// The longest any call but [`Engine::apply_migrations`] may take.
    pub timeout: Duration,
    /// The longest [`Engine::apply_migrations`] may take (migrations can rewrite big tables).
    pub apply_timeout: Duration,
}

impl EngineConfig {
    /// A configuration for `database_url` from the environment: the program directory from
    /// `SCHEMAGATE_ENGINE_DIR`, else [`locate_dir`]; `node` from `SCHEMAGATE_NODE`, else `PATH`;
    /// a 60 s timeout per call and 15 minutes for applying migrations.
    ///
    /// # Errors
    /// [`EngineError::NotFound`] when no directory is configured and none can be found, or the
    /// configured one does not hold the program.
    pub fn from_env(database_url: impl Into<String>) -> Result<Self, EngineError> {
        let dir = match std::env::var_os("SCHEMAGATE_ENGINE_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => locate_dir().ok_or_else(|| EngineError::NotFound {
                dir: PathBuf::from(DEFAULT_DIR),
            })?,
        };
        if !dir.join(PROGRAM).is_file() {
            return Err(EngineError::NotFound { dir });
        }
        let node = std::env::var_os("SCHEMAGATE_NODE").map_or_else(|| "node".into(), PathBuf::from);
        Ok(Self {
            dir,
            node,
            database_url: database_url.into(),
            timeout: Duration::from_secs(60),
            apply_timeout: Duration::from_secs(15 * 60),
        })
    }
}

/// The engine directory of the nearest ancestor of the current directory, then of the running
/// executable's directory (`target/debug/schemagate` finds the checkout it was built in), that
/// holds `server/prisma-engine/engine.mjs`.
#[must_use]
pub fn locate_dir() -> Option<PathBuf> {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    let starts = [std::env::current_dir().ok(), exe_dir];
    starts.into_iter().flatten().find_map(|start| {
        start
            .ancestors()
            .map(|root| root.join(DEFAULT_DIR))
            .find(|dir| dir.join(PROGRAM).is_file())
    })
}

/// Why a call to the engine failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// There is no engine program in the configured directory.
    #[error("the schema engine program {PROGRAM} is not in {} (set SCHEMAGATE_ENGINE_DIR)", dir.display())]
    NotFound { dir: PathBuf },
    /// The program's npm packages are missing.
    #[error("the schema engine's packages are not installed in {} (run `npm ci` there)", dir.display())]
    NotInstalled { dir: PathBuf },
    /// `node` could not be started.
    #[error("cannot start the schema engine with {}: {source}", node.display())]
    Spawn {
        node: PathBuf,
        source: std::io::Error,
    },
    /// Reading from or writing to the process failed.
    #[error("cannot talk to the schema engine during {method}: {source}")]
    Io {
        method: String,
        source: std::io::Error,
    },
    /// The process ended before answering; `stderr` holds its last lines.
    #[error("the schema engine exited during {method}: {stderr}")]
    Exited { method: String, stderr: String },
    /// No answer in time; the process was killed and the next call starts a new one.
    #[error("the schema engine did not answer {method} within {after:?}")]
    Timeout { method: String, after: Duration },
    /// The process answered something that is not the protocol.
    #[error("the schema engine answered {method} with an unreadable message: {detail}")]
    Protocol { method: String, detail: String },
    /// The engine (or the database under it) refused the request; `message` is its own text.
    #[error("the schema engine failed {method}: {message}")]
    Engine {
        method: String,
        /// `engine`, `database`, `connection`, `panic`, `invalid_params`, …
        kind: String,
        /// Prisma's error code (`P1012` for an invalid schema), when it gave one.
        code: Option<String>,
        message: String,
        /// PostgreSQL's own error when a migration script failed.
        database: Option<Box<DatabaseError>>,
    },
}

/// PostgreSQL's error for a failed migration script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseError {
    /// SQLSTATE, such as `42P01`.
    pub code: Option<String>,
    pub message: String,
    pub detail: Option<String>,
    /// 1-based character position in the script.
    pub position: Option<u64>,
}

/// The SQL that takes a database from one schema to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The script as `prisma migrate diff --script` prints it.
    pub sql: String,
    /// Whether there is nothing to do (`sql` is then a comment).
    pub empty: bool,
}

/// The live database compared with a schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveDiff {
    /// The SQL that would bring the live database to the schema (empty when they match).
    pub sql: String,
    /// Whether they match.
    pub empty: bool,
    /// Prisma's summary of how the live database differs from the schema
    /// (`[+] Added column `extra``), empty when they match.
    pub summary: String,
}

/// The platform schema as the engine's introspection (`prisma db pull`) sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Introspection {
    /// The introspected Prisma schema (empty for an empty database).
    pub schema: String,
    pub tables: Vec<IntrospectedTable>,
    pub views: Vec<IntrospectedView>,
    /// The engine's warnings, as text.
    pub warnings: String,
}

/// One table of an [`Introspection`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntrospectedTable {
    pub model: String,
    pub table: String,
    /// The engine marked it `@@ignore` (for instance, no unique key).
    pub ignored: bool,
}

/// One view of an [`Introspection`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntrospectedView {
    pub name: String,
    pub schema: String,
}

/// One row of `_prisma_migrations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationRecord {
    pub name: String,
    pub checksum: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub rolled_back_at: Option<String>,
    pub applied_steps_count: i64,
    pub logs: Option<String>,
}

/// `_prisma_migrations`, and with a migrations directory, the engine's diagnosis of the history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MigrationStatus {
    pub records: Vec<MigrationRecord>,
    pub has_migrations_table: Option<bool>,
    pub edited_migration_names: Vec<String>,
    pub failed_migration_names: Vec<String>,
    /// `null` when directory and database agree; else Prisma's `HistoryDiagnostic` object.
    pub history: Option<Value>,
}

/// The engine's build and the database server's version string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineVersion {
    pub engine: String,
    pub database: String,
}

/// A running (or, until the first call, not yet started) schema engine.
pub struct Engine {
    config: EngineConfig,
    process: Mutex<Option<Process>>,
    next_id: AtomicU64,
}

struct Process {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr_tail: Arc<StdMutex<VecDeque<String>>>,
    /// A request was cancelled while being written: the stream may hold half a line.
    torn: bool,
}

impl Engine {
    /// An engine for `config`; the process starts with the first call.
    #[must_use]
    pub fn new(config: EngineConfig) -> Self {
        Self {
            config,
            process: Mutex::new(None),
            next_id: AtomicU64::new(1),
        }
    }

    /// The engine's build and the database version.
    ///
    /// # Errors
    /// Any [`EngineError`]; `kind` `connection` when the database cannot be reached.
    pub async fn version(&self) -> Result<EngineVersion, EngineError> {
        self.call("version", json!({}), self.config.timeout).await
    }

    /// The SQL from schema `from` (`None`: an empty database) to schema `to`. Prisma 6 schemas
    /// (`url = env(…)` in the datasource) and Prisma 7 schemas are both accepted.
    ///
    /// # Errors
    /// [`EngineError::Engine`] with the engine's message (code `P1012`) when a schema is invalid.
    pub async fn plan(&self, from: Option<&str>, to: &str) -> Result<Plan, EngineError> {
        let params = json!({ "from": from, "to": to });
        self.call("plan", params, self.config.timeout).await
    }

    /// The SQL from the state a migrations directory produces (replayed on a temporary shadow
    /// database) to schema `to`.
    ///
    /// # Errors
    /// Any [`EngineError`]; the engine's `P3006` when a migration does not replay cleanly.
    pub async fn plan_from_migrations(&self, dir: &Path, to: &str) -> Result<Plan, EngineError> {
        let params = json!({ "migrationsDir": absolute(dir), "to": to });
        self.call("planFromMigrations", params, self.config.timeout)
            .await
    }

    /// The live platform schema compared with `schema`: with the applied schema, this is the
    /// drift check; with a change's target schema, the plan against the live state.
    ///
    /// # Errors
    /// Any [`EngineError`].
    pub async fn diff_live(&self, schema: &str) -> Result<LiveDiff, EngineError> {
        self.call("diffLive", json!({ "schema": schema }), self.config.timeout)
            .await
    }

    /// Applies the pending migrations of a Prisma migrations directory as `prisma migrate
    /// deploy` does (recorded in `_prisma_migrations`) and returns their names; already applied
    /// ones are skipped.
    ///
    /// # Errors
    /// [`EngineError::Engine`] when a migration fails (with [`DatabaseError`]) or a failed one
    /// blocks the history (`P3009`).
    pub async fn apply_migrations(&self, dir: &Path) -> Result<Vec<String>, EngineError> {
        #[derive(Deserialize)]
        struct Applied {
            applied: Vec<String>,
        }
        let params = json!({ "migrationsDir": absolute(dir) });
        let applied: Applied = self
            .call("applyMigrations", params, self.config.apply_timeout)
            .await?;
        Ok(applied.applied)
    }

    /// Records migration `name` of `dir` as applied without running it, as `prisma migrate
    /// resolve --applied` does: its failed rows are marked rolled back and a finished row is
    /// added.
    ///
    /// # Errors
    /// Any [`EngineError`]; the engine refuses a migration already recorded finished.
    pub async fn mark_migration_applied(&self, dir: &Path, name: &str) -> Result<(), EngineError> {
        let params = json!({ "migrationsDir": absolute(dir), "migrationName": name });
        let _: serde_json::Value = self
            .call("markMigrationApplied", params, self.config.timeout)
            .await?;
        Ok(())
    }

    /// The platform schema's tables and views as the engine introspects them.
    ///
    /// # Errors
    /// Any [`EngineError`].
    pub async fn introspect(&self) -> Result<Introspection, EngineError> {
        self.call("introspect", json!({}), self.config.timeout)
            .await
    }

    /// The rows of `_prisma_migrations`, and with `dir`, how they compare with that directory.
    ///
    /// # Errors
    /// Any [`EngineError`].
    pub async fn migration_status(
        &self,
        dir: Option<&Path>,
    ) -> Result<MigrationStatus, EngineError> {
        let params = json!({ "migrationsDir": dir.map(absolute) });
        self.call("migrationStatus", params, self.config.timeout)
            .await
    }

    /// Closes the engine's input and waits briefly for it to exit (it is killed otherwise).
    pub async fn shutdown(&self) {
        if let Some(Process {
            mut child, stdin, ..
        }) = self.process.lock().await.take()
        {
            drop(stdin);
            if tokio::time::timeout(Duration::from_secs(2), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<T, EngineError> {
        let mut guard = self.process.lock().await;
        let alive = match guard.as_mut() {
            Some(process) => !process.torn && matches!(process.child.try_wait(), Ok(None)),
            None => false,
        };
        if !alive {
            if guard.is_some() {
                tracing::warn!(
                    engine.method = method,
                    "the schema engine had exited or was interrupted; starting it again"
                );
            }
            *guard = Some(self.spawn()?);
        }
        let Some(process) = guard.as_mut() else {
            unreachable!("the process was just started")
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request = json!({ "id": id, "method": method, "params": params });
        match tokio::time::timeout(timeout, exchange(process, method, id, &request)).await {
            Ok(Ok(response)) => decode(method, response),
            Ok(Err(error)) => {
                let process = guard.take();
                Err(match (error, process) {
                    (EngineError::Exited { method, .. }, Some(mut process)) => {
                        let _ = tokio::time::timeout(Duration::from_secs(1), process.child.wait())
                            .await;
                        let tail = process
                            .stderr_tail
                            .lock()
                            .map(|t| Vec::from(t.clone()))
                            .unwrap_or_default();
                        EngineError::Exited {
                            method,
                            stderr: tail.join("\n"),
                        }
                    }
                    (error, _) => error,
                })
            }
            Err(_) => {
                if let Some(mut process) = guard.take() {
                    let _ = process.child.start_kill();
                }
                Err(EngineError::Timeout {
                    method: method.to_owned(),
                    after: timeout,
                })
            }
        }
    }

    fn spawn(&self) -> Result<Process, EngineError> {
        let dir = &self.config.dir;
        if !dir.join(PROGRAM).is_file() {
            return Err(EngineError::NotFound { dir: dir.clone() });
        }
        if !dir.join("node_modules/@prisma/schema-engine-wasm").is_dir() {
            return Err(EngineError::NotInstalled { dir: dir.clone() });
        }
        // The URL goes through the environment, not argv, where any user could read a password.
        let mut command = Command::new(&self.config.node);
        // A process killed with SIGKILL takes its engine along: an orphaned engine would go on
        // applying a migration that the next run of the restart job is already looking at.
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command
            .arg(PROGRAM)
            .current_dir(dir)
            .env(
                "SCHEMAGATE_PLATFORM_DATABASE_URL",
                &self.config.database_url,
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| EngineError::Spawn {
                node: self.config.node.clone(),
                source,
            })?;
        let missing = || EngineError::Spawn {
            node: self.config.node.clone(),
            source: std::io::Error::other("a standard stream was not captured"),
        };
        let stdin = child.stdin.take().ok_or_else(missing)?;
        let stdout = BufReader::new(child.stdout.take().ok_or_else(missing)?).lines();
        let stderr = child.stderr.take().ok_or_else(missing)?;
        let stderr_tail = Arc::new(StdMutex::new(VecDeque::with_capacity(STDERR_TAIL)));
        let tail = Arc::clone(&stderr_tail);
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::debug!(target: "schemagate::engine", "{line}");
                if let Ok(mut tail) = tail.lock() {
                    if tail.len() == STDERR_TAIL {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            }
        });
        tracing::info!(engine.dir = %dir.display(), engine.pid = child.id(), "schema engine started");
        Ok(Process {
            child,
            stdin,
            stdout,
            stderr_tail,
            torn: false,
        })
    }
}

/// Writes one request and reads lines until the response with the same id.
async fn exchange(
    process: &mut Process,
    method: &str,
    id: u64,
    request: &Value,
) -> Result<Value, EngineError> {
    let io = |source| EngineError::Io {
        method: method.to_owned(),
        source,
    };
    let mut line = request.to_string();
    line.push('\n');
    // A caller that gives up after this point leaves a whole request behind, whose answer the
    // next call skips by its id; one that gives up while writing leaves the process unusable.
    process.torn = true;
    process.stdin.write_all(line.as_bytes()).await.map_err(io)?;
    process.stdin.flush().await.map_err(io)?;
    process.torn = false;
    loop {
        let Some(line) = process.stdout.next_line().await.map_err(io)? else {
            return Err(EngineError::Exited {
                method: method.to_owned(),
                stderr: String::new(),
            });
        };
        let response: Value = serde_json::from_str(&line).map_err(|e| EngineError::Protocol {
            method: method.to_owned(),
            detail: format!("{e} in {line:.200}"),
        })?;
        if response.get("id").and_then(Value::as_u64) == Some(id) {
            return Ok(response);
        }
        tracing::warn!(
            engine.method = method,
            "ignoring a schema engine response for another request"
        );
    }
}

fn decode<T: DeserializeOwned>(method: &str, mut response: Value) -> Result<T, EngineError> {
    let protocol = |detail: String| EngineError::Protocol {
        method: method.to_owned(),
        detail,
    };
    if let Some(error) = response.get_mut("error").map(Value::take) {
        let text = |key: &str| error.get(key).and_then(Value::as_str).map(str::to_owned);
        return Err(EngineError::Engine {
            method: method.to_owned(),
            kind: text("kind").unwrap_or_else(|| "engine".to_owned()),
            code: text("code"),
            message: text("message").unwrap_or_default(),
            database: error
                .get("database")
                .cloned()
                .and_then(|d| serde_json::from_value(d).ok()),
        });
    }
    let result = response
        .get_mut("result")
        .map(Value::take)
        .ok_or_else(|| protocol("neither result nor error".to_owned()))?;
    serde_json::from_value(result).map_err(|e| protocol(e.to_string()))
}

fn absolute(dir: &Path) -> String {
    std::path::absolute(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

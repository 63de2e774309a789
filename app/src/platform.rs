//! The platform database: the one the restart job migrates. Its schema engine (the built-in
//! WASM engine, or the platform's own `npx prisma`), and direct reads of `_prisma_migrations`,
//! which tell the restart job whether a change's migration already ran.

pub mod cli;

use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use serde::{Deserialize, Serialize};
use sqlx::{Connection as _, PgConnection, Row as _};

use crate::engine::{
    Engine, EngineConfig, EngineError, Introspection, LiveDiff, MigrationRecord, Plan,
};

/// Which schema engine plans and applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineKind {
    /// Prisma's engine compiled to WASM, kept running (`server/prisma-engine`).
    #[default]
    Builtin,
    /// The platform's own Prisma CLI: `npx prisma migrate diff|deploy`, one process per call.
    Cli,
}

impl std::str::FromStr for EngineKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "builtin" => Ok(EngineKind::Builtin),
            "cli" => Ok(EngineKind::Cli),
            other => Err(format!(
                "unknown prisma engine \"{other}\": expected builtin or cli"
            )),
        }
    }
}

/// The platform database's URL and the PostgreSQL schema its tables live in (`?schema=`,
/// default `public`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformDatabase {
    /// `postgres://…`, as configured (`?schema=` and `?host=` included).
    pub url: String,
    /// The platform's PostgreSQL schema.
    pub schema: String,
}

impl PlatformDatabase {
    /// The platform database at `url`.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        let url = url.into();
        let schema = query_param(&url, "schema").unwrap_or_else(|| "public".to_string());
        Self { url, schema }
    }

    /// One connection to the platform database (the `schema` parameter removed, the search
    /// path set to the platform schema).
    ///
    /// # Errors
    /// Connection errors.
    pub async fn connect(&self) -> Result<PgConnection, sqlx::Error> {
        let url = without_param(&self.url, "schema");
        let options = sqlx::postgres::PgConnectOptions::from_str(&url)?
            .options([("search_path", self.schema.as_str())]);
        PgConnection::connect_with(&options).await
    }

    /// The rows of `_prisma_migrations` in start order (none when the table does not exist).
    ///
    /// # Errors
    /// Database errors.
    pub async fn migration_records(&self) -> Result<Vec<MigrationRecord>, sqlx::Error> {
        let mut conn = self.connect().await?;
        let exists: bool = sqlx::query_scalar(
            "select to_regclass(format('%I._prisma_migrations', $1::text)) is not null",
        )
        .bind(&self.schema)
        .fetch_one(&mut conn)
        .await?;
        if !exists {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "select migration_name, checksum, started_at::text as started_at,
                    finished_at::text as finished_at, rolled_back_at::text as rolled_back_at,
                    applied_steps_count, logs
             from _prisma_migrations order by started_at, migration_name",
        )
        .fetch_all(&mut conn)
        .await?;
        let _ = conn.close().await;
        rows.iter()
            .map(|row| {
                Ok(MigrationRecord {
                    name: row.try_get("migration_name")?,
                    checksum: row.try_get("checksum")?,
                    started_at: row.try_get("started_at")?,
                    finished_at: row.try_get("finished_at")?,
                    rolled_back_at: row.try_get("rolled_back_at")?,
                    applied_steps_count: i64::from(row.try_get::<i32, _>("applied_steps_count")?),
                    logs: row.try_get("logs")?,
                })
            })
            .collect()
    }

    /// Marks the unfinished rows of migration `name` rolled back (`prisma migrate resolve
    /// --rolled-back`), so that it may run again. Only for a script that left nothing behind:
    /// each runs as one transaction, so a failed or interrupted one did.
    ///
    /// # Errors
    /// Database errors.
    pub async fn mark_rolled_back(&self, name: &str) -> Result<u64, sqlx::Error> {
        let mut conn = self.connect().await?;
        let done = sqlx::query(
            "update _prisma_migrations set rolled_back_at = now()
             where migration_name = $1 and finished_at is null and rolled_back_at is null",
        )
        .bind(name)
        .execute(&mut conn)
        .await?;
        let _ = conn.close().await;
        Ok(done.rows_affected())
    }
}

/// Where migration `name` stands in `_prisma_migrations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationState {
    /// No row, or only rolled-back ones.
    NotRun,
    /// Started but never finished (failed, or interrupted): Prisma refuses to go on (P3009).
    Unfinished,
    /// Finished.
    Applied,
}

/// The state of migration `name` among `records`.
#[must_use]
pub fn migration_state(records: &[MigrationRecord], name: &str) -> MigrationState {
    let live = records
        .iter()
        .filter(|r| r.name == name && r.rolled_back_at.is_none());
    let mut state = MigrationState::NotRun;
    for record in live {
        if record.finished_at.is_some() {
            return MigrationState::Applied;
        }
        state = MigrationState::Unfinished;
    }
    state
}

fn query_param(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.to_string())
    })
}

fn without_param(url: &str, key: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| pair.split('=').next() != Some(key) && !pair.is_empty())
        .collect();
    if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

/// The engine that plans and applies on the platform database: one per server and per CLI
/// command.
pub struct PlatformEngine {
    /// The database it works on.
    pub database: PlatformDatabase,
    backend: Backend,
}

enum Backend {
    // Boxed: the built-in engine's state is far larger than the CLI's.
    Builtin(Box<Engine>),
    Cli(cli::CliEngine),
}

impl std::fmt::Debug for PlatformEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformEngine")
            .field("schema", &self.database.schema)
            .field("kind", &self.kind())
            .finish_non_exhaustive()
    }
}

impl PlatformEngine {
    /// An engine of `kind` for the platform database at `url`; nothing starts before the first
    /// call. `project_dir` is where `npx prisma` runs for [`EngineKind::Cli`].
    ///
    /// # Errors
    /// [`EngineError::NotFound`] when the built-in engine's program cannot be found.
    pub fn new(kind: EngineKind, url: &str, project_dir: &Path) -> Result<Self, EngineError> {
        let database = PlatformDatabase::new(url);
        let backend = match kind {
            EngineKind::Builtin => {
                Backend::Builtin(Box::new(Engine::new(EngineConfig::from_env(url)?)))
            }
            EngineKind::Cli => Backend::Cli(cli::CliEngine::new(url, project_dir)),
        };
        Ok(Self { database, backend })
    }

    /// Which engine this is.
    #[must_use]
    pub fn kind(&self) -> EngineKind {
        match self.backend {
            Backend::Builtin(_) => EngineKind::Builtin,
            Backend::Cli(_) => EngineKind::Cli,
        }
    }

    /// The SQL from schema `from` (`None`: an empty database) to schema `to`.
    ///
    /// # Errors
    /// [`EngineError`]; `Engine` with the engine's message when a schema is invalid.
    pub async fn plan(&self, from: Option<&str>, to: &str) -> Result<Plan, EngineError> {
        match &self.backend {
            Backend::Builtin(engine) => engine.plan(from, to).await,
            Backend::Cli(engine) => engine.plan(from, to).await,
        }
    }

    /// The live platform schema compared with `schema`.
    ///
    /// # Errors
    /// [`EngineError`].
    pub async fn diff_live(&self, schema: &str) -> Result<LiveDiff, EngineError> {
        match &self.backend {
            Backend::Builtin(engine) => engine.diff_live(schema).await,
            Backend::Cli(engine) => engine.diff_live(schema).await,
        }
    }

    /// Applies the pending migrations of `dir` as `prisma migrate deploy` does.
    ///
    /// # Errors
    /// [`EngineError`]; a failed script carries PostgreSQL's error.
    pub async fn apply_migrations(&self, dir: &Path) -> Result<Vec<String>, EngineError> {
        match &self.backend {
            Backend::Builtin(engine) => engine.apply_migrations(dir).await,
            Backend::Cli(engine) => engine.apply_migrations(dir).await,
        }
    }

    /// Records migration `name` of `dir` as applied without running it (`prisma migrate
    /// resolve --applied`): for a script that took effect but was never recorded finished.
    ///
    /// # Errors
    /// [`EngineError`].
    pub async fn mark_migration_applied(&self, dir: &Path, name: &str) -> Result<(), EngineError> {
        match &self.backend {
            Backend::Builtin(engine) => engine.mark_migration_applied(dir, name).await,
            Backend::Cli(engine) => engine.mark_migration_applied(dir, name).await,
        }
    }

    /// The platform schema as the engine's introspection sees it.
    ///
    /// # Errors
    /// [`EngineError`].
    pub async fn introspect(&self) -> Result<Introspection, EngineError> {
        match &self.backend {
            Backend::Builtin(engine) => engine.introspect().await,
            Backend::Cli(engine) => engine.introspect().await,
        }
    }

    /// Stops the engine process, if one runs.
    pub async fn shutdown(&self) {
        if let Backend::Builtin(engine) = &self.backend {
            engine.shutdown().await;
        }
    }
}

/// `<dir>/<name>/migration.sql` with `sql`, and `<dir>/migration_lock.toml`; written atomically
/// and left alone when already there with the same content.
///
/// # Errors
/// I/O errors.
pub fn write_migration(dir: &Path, name: &str, sql: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir.join(name))?;
    let lock = dir.join("migration_lock.toml");
    let lock_text = "# Written by schemagate apply. Do not edit.\nprovider = \"postgresql\"\n";
    if std::fs::read_to_string(&lock).map_or(true, |t| !t.contains("provider = \"postgresql\"")) {
        crate::registry::apply::write_atomically(&lock, lock_text)?;
    }
    let file = dir.join(name).join("migration.sql");
    if std::fs::read_to_string(&file).ok().as_deref() != Some(sql) {
        crate::registry::apply::write_atomically(&file, sql)?;
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_parameter_names_the_platform_schema_and_is_kept_from_sqlx() {
        let db = PlatformDatabase::new("postgres://u@h/db?host=/tmp/s&schema=app");
        assert_eq!(db.schema, "app");
        assert_eq!(
            without_param(&db.url, "schema"),
            "postgres://u@h/db?host=/tmp/s"
        );
        assert_eq!(PlatformDatabase::new("postgres://u@h/db").schema, "public");
    }

    #[test]
    fn a_migration_is_applied_once_finished_and_unfinished_until_rolled_back() {
        let record = |finished: bool, rolled_back: bool| MigrationRecord {
            name: "m".into(),
            checksum: String::new(),
            started_at: None,
            finished_at: finished.then(|| "t".into()),
            rolled_back_at: rolled_back.then(|| "t".into()),
            applied_steps_count: 0,
            logs: None,
        };
        assert_eq!(migration_state(&[], "m"), MigrationState::NotRun);
        assert_eq!(
            migration_state(&[record(false, false)], "m"),
            MigrationState::Unfinished
        );
        assert_eq!(
            migration_state(&[record(false, true)], "m"),
            MigrationState::NotRun
        );
        assert_eq!(
            migration_state(&[record(false, true), record(true, false)], "m"),
            MigrationState::Applied
        );
    }
}

//! Opening the registry (`DATABASE_URL` when given, the embedded cluster otherwise) and
//! locating the platform database the restart job migrates.

use std::sync::Arc;

use std::sync::Mutex;

use anyhow::Context;
use app::platform::{EngineKind, PlatformEngine};
use app::registry::audit::{self, seal};
use sqlx::PgPool;

use crate::cli::CommonOptions;
use crate::embedded::EmbeddedCluster;

/// The embedded cluster's platform database.
pub const PLATFORM_DATABASE: &str = "platform";

/// An open, migrated registry. Holds the embedded cluster (if any) so it stops when dropped.
pub struct Database {
    /// The connection pool.
    pub pool: PgPool,
    /// The platform database's schema engine (its process starts with the first call).
    pub engine: Option<Arc<PlatformEngine>>,
    _cluster: Option<EmbeddedCluster>,
}

impl Database {
    /// Connects (starting the embedded cluster when no URL is configured), runs migrations,
    /// and prepares the platform database's engine: `--platform-database-url`, else (embedded)
    /// the cluster's `platform` database, else the database `<registry database>_platform` on
    /// the registry's server; both created if missing. The restart job never migrates the
    /// registry's own database.
    ///
    /// # Errors
    /// Fails when the cluster cannot start, the server is unreachable, or a migration fails.
    pub async fn open(options: &CommonOptions) -> anyhow::Result<Database> {
        let (url, cluster) = match &options.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let data_dir = options.data_dir.clone();
                let cluster =
                    tokio::task::spawn_blocking(move || EmbeddedCluster::start(&data_dir))
                        .await
                        .context("while starting the embedded PostgreSQL cluster")??;
                (cluster.url(), Some(cluster))
            }
        };
        let pool = app::db::connect_and_migrate(&url)
            .await
            .context("while connecting to the registry database and running its migrations")?;
        let platform_url = match (&options.platform_database_url, &cluster) {
            (Some(platform), _) => platform.clone(),
            (None, Some(cluster)) => {
                ensure_database(&pool, PLATFORM_DATABASE).await?;
                cluster.url_of(PLATFORM_DATABASE)
            }
            (None, None) => {
                // Never the registry's own database: a database beside it.
                let name = platform_database_beside(&url)?;
                ensure_database(&pool, &name).await.with_context(|| {
                    format!(
                        "the platform database {name:?} (beside the registry's) is missing and \
                         cannot be created; create it, or name the platform database with \
                         --platform-database-url (SCHEMAGATE_PLATFORM_DATABASE_URL)"
                    )
                })?;
                with_database(&url, &name)
            }
        };
        let kind: EngineKind = options
            .prisma_engine
            .parse()
            .map_err(|e: String| anyhow::anyhow!(e))?;
        let project_dir = std::env::current_dir().unwrap_or_default();
        let engine = match PlatformEngine::new(kind, &platform_url, &project_dir) {
            Ok(engine) => Some(Arc::new(engine)),
            Err(error) => {
                tracing::warn!("no schema engine: {error}; changes are not planned");
                None
            }
        };
        let key = audit_key(options)?;
        audit::register_key(&pool, key.as_ref()).await?;
        match key {
            Some(key) => {
                tracing::debug!(audit.key = %key.fingerprint(), "audit events are sealed");
                seal::install(key);
            }
            None => tracing::warn!(
                "audit events are hash-chained but not sealed: no audit key is configured \
                 (set SCHEMAGATE_AUDIT_KEY_FILE; see server/docs/audit.md)"
            ),
        }
        Ok(Database {
            pool,
            engine,
            _cluster: cluster,
        })
    }

    /// The engine, or an error saying why there is none.
    ///
    /// # Errors
    /// When the engine's program cannot be found.
    pub fn require_engine(&self) -> anyhow::Result<Arc<PlatformEngine>> {
        self.engine.clone().context(
            "the schema engine program is not available (server/prisma-engine, or set SCHEMAGATE_ENGINE_DIR)",
        )
    }

    /// Stops the engine and closes the pool before the embedded cluster (if any) is stopped.
    pub async fn close(self) {
        if let Some(engine) = &self.engine {
            engine.shutdown().await;
        }
        self.pool.close().await;
    }
}

/// The name of the platform database beside the registry's database in `url`:
/// `<registry database>_platform`.
fn platform_database_beside(url: &str) -> anyhow::Result<String> {
    use std::str::FromStr;
    let options =
        sqlx::postgres::PgConnectOptions::from_str(url).context("while reading DATABASE_URL")?;
    let registry = options
        .get_database()
        .map(str::to_owned)
        .unwrap_or_else(|| options.get_username().to_owned());
    let name = format!("{registry}_platform");
    if app::domain::naming::db_name_problem(&name, app::domain::naming::DbObject::Table).is_some() {
        anyhow::bail!(
            "cannot name a platform database beside the registry's database {registry:?}; \
             name it with --platform-database-url (SCHEMAGATE_PLATFORM_DATABASE_URL)"
        );
    }
    Ok(name)
}

/// `url` with its database name replaced by `database` (query parameters kept).
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

/// Creates database `name` on the registry's server when it does not exist.
async fn ensure_database(pool: &PgPool, name: &str) -> anyhow::Result<()> {
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(name)
            .fetch_one(pool)
            .await
            .context("while looking for the platform database")?;
    if !exists {
        let created = sqlx::query(&format!("create database \"{name}\""))
            .execute(pool)
            .await;
        // Another process may have created it meanwhile.
        if let Err(error) = created {
            if error
                .as_database_error()
                .is_none_or(|e| e.code().as_deref() != Some("42P04"))
            {
                return Err(error).context("while creating the platform database");
            }
        }
        tracing::info!(database = name, "created the platform database");
    }
    Ok(())
}

/// `SCHEMAGATE_AUDIT_KEY`, taken out of the environment at start so that no child process
/// (the migrate command, the schema engine) inherits it.
static KEY_FROM_ENVIRONMENT: Mutex<Option<String>> = Mutex::new(None);

/// Moves `SCHEMAGATE_AUDIT_KEY` from the environment into this process. Call it first in
/// `main`, before any thread starts.
pub fn take_audit_key_from_environment() {
    if let Some(value) = std::env::var_os("SCHEMAGATE_AUDIT_KEY") {
        std::env::remove_var("SCHEMAGATE_AUDIT_KEY");
        if let Ok(mut slot) = KEY_FROM_ENVIRONMENT.lock() {
            *slot = Some(value.to_string_lossy().into_owned());
        }
    }
}

/// The key that seals audit events: `--audit-key-file`, else `SCHEMAGATE_AUDIT_KEY`, else
/// (with the embedded cluster) `audit.key` in the data directory, created at first start.
///
/// # Errors
/// An unreadable or malformed key file, a too-short key.
pub fn audit_key(options: &CommonOptions) -> anyhow::Result<Option<seal::AuditKey>> {
    if let Some(file) = &options.audit_key_file {
        return Ok(Some(seal::AuditKey::load_or_create(file)?));
    }
    let material = KEY_FROM_ENVIRONMENT
        .lock()
        .ok()
        .and_then(|slot| slot.clone());
    if let Some(material) = material {
        return Ok(Some(seal::AuditKey::from_material(
            &material,
            "SCHEMAGATE_AUDIT_KEY",
        )?));
    }
    if options.database_url.is_none() {
        let file = options.data_dir.join("audit.key");
        return Ok(Some(seal::AuditKey::load_or_create(&file)?));
    }
    Ok(None)
}

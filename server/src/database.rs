//! Opening the registry: `DATABASE_URL` when given, the embedded cluster otherwise.

use anyhow::Context;
use sqlx::PgPool;

use crate::cli::CommonOptions;
use crate::embedded::EmbeddedCluster;

/// An open, migrated registry. Holds the embedded cluster (if any) so it stops when dropped.
pub struct Database {
    /// The connection pool.
    pub pool: PgPool,
    _cluster: Option<EmbeddedCluster>,
}

impl Database {
    /// Connects (starting the embedded cluster when no URL is configured) and runs migrations.
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
        Ok(Database {
            pool,
            _cluster: cluster,
        })
    }

    /// Closes the pool before the embedded cluster (if any) is stopped.
    pub async fn close(self) {
        self.pool.close().await;
    }
}

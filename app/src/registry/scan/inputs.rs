//! Where a scan reads from (the packages directory, the base schema, the engine that plans new
//! changes), and running a scan from there.

use sqlx::PgPool;

use super::ScanReport;
use crate::domain::config::Config;

/// Where a scan reads from: the packages directory and the base schema.
#[derive(Debug, Clone, Default)]
pub struct ScanInputs {
    /// `DIR/<package>/seed/schema/entities.yaml`.
    pub packages_dir: Option<std::path::PathBuf>,
    /// The Prisma base schema (the built-in one when absent).
    pub base_schema: Option<std::path::PathBuf>,
    /// Role vocabulary, owner fields, ownership root and input limits.
    pub config: Config,
    /// The platform database's schema engine, shared by every scan and approval; new changes
    /// get their SQL plan from it.
    pub engine: Option<std::sync::Arc<crate::platform::PlatformEngine>>,
}

/// Why a scan could not start.
#[derive(Debug, thiserror::Error)]
pub enum ScanInputError {
    /// No packages directory is configured.
    #[error("no packages directory is configured (--packages or SCHEMAGATE_PACKAGES)")]
    NoPackagesDir,
    /// Reading the packages or the base schema failed.
    #[error(transparent)]
    Read(#[from] crate::scanner::ScanError),
    /// The reading thread ended without an answer (the server is shutting down).
    #[error("the scan was interrupted")]
    Interrupted,
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

impl ScanInputs {
    /// The base schema (read from disk) and configuration that approvals render with.
    ///
    /// # Errors
    /// [`ScanInputError::Read`] when the base schema cannot be read.
    pub fn schema_context(&self) -> Result<crate::registry::future::SchemaContext, ScanInputError> {
        Ok(crate::registry::future::SchemaContext {
            base: crate::scanner::read_base_schema(self.base_schema.as_deref())?,
            config: self.config.clone(),
            engine: self.engine.clone(),
        })
    }

    /// Reads the packages and base schema from disk and scans them into the registry; with an
    /// engine, the new changes then get their SQL plans (only those: one engine process, one
    /// plan per new change).
    ///
    /// # Errors
    /// [`ScanInputError`].
    pub async fn scan(&self, pool: &PgPool, actor: &str) -> Result<ScanReport, ScanInputError> {
        self.scan_with_phases(pool, actor, |_| {}).await
    }

    /// [`ScanInputs::scan`], telling `phase` what it is doing. Reading the files runs on a
    /// blocking thread, so the server keeps answering meanwhile.
    ///
    /// # Errors
    /// [`ScanInputError`].
    pub async fn scan_with_phases(
        &self,
        pool: &PgPool,
        actor: &str,
        phase: impl Fn(&str),
    ) -> Result<ScanReport, ScanInputError> {
        let dir = self
            .packages_dir
            .clone()
            .ok_or(ScanInputError::NoPackagesDir)?;
        phase("reading the packages");
        let (base_path, config) = (self.base_schema.clone(), self.config.clone());
        let (base, disk) = tokio::task::spawn_blocking(move || {
            let base = crate::scanner::read_base_schema(base_path.as_deref())?;
            let disk = crate::scanner::read_packages(&dir, config.limits.max_file_bytes)?;
            Ok::<_, ScanInputError>((base, disk))
        })
        .await
        .map_err(|_| ScanInputError::Interrupted)??;
        phase(&format!("checking {} packages", disk.sources.len()));
        // Parsing and validating takes every core for a while: off the async threads.
        let (config, catalog_base) = (self.config.clone(), base.clone());
        let (catalog, yaml) = tokio::task::spawn_blocking(move || {
            super::build_catalog(disk.sources, disk.problems, catalog_base, &config)
        })
        .await
        .map_err(|_| ScanInputError::Interrupted)?;
        phase("recording the differences");
        let context = crate::registry::future::SchemaContext {
            base: base.clone(),
            config: self.config.clone(),
            engine: self.engine.clone(),
        };
        let report = super::record(pool, actor, &catalog, &yaml, &self.config).await?;
        if let Some(engine) = &self.engine {
            let mut new: Vec<String> = report
                .created
                .iter()
                .chain(&report.drops)
                .filter_map(|entry| entry.change.clone())
                .collect();
            // Planning a scan could not finish (engine or database down) resumes here.
            for id in crate::registry::plan::unplanned_pending(pool).await? {
                if !new.contains(&id) {
                    new.push(id);
                }
            }
            crate::registry::plan::plan_new(pool, engine, &new, &context).await?;
        }
        crate::registry::plan::recheck_pending(pool, &context).await?;
        Ok(report)
    }
}

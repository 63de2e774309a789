//! The platform database as the registry sees it: its tables (the engine's introspection), the
//! migrations `_prisma_migrations` records, and whether the live schema is the applied state.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::apply::{applied_packages, parse_state, render_entities};
use crate::domain::base_schema::BaseSchema;
use crate::domain::config::Config;
use crate::engine::{IntrospectedTable, LiveDiff, MigrationRecord};
use crate::platform::PlatformEngine;

/// What `schemagate db status --json` prints and the Database page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformStatus {
    /// The platform's PostgreSQL schema.
    pub schema: String,
    /// Its tables, as the engine introspects them (`_prisma_migrations` left out).
    pub tables: Vec<IntrospectedTable>,
    /// The rows of `_prisma_migrations`, oldest first.
    pub migrations: Vec<MigrationRecord>,
    /// How the live schema differs from the applied state; none when it matches, and before
    /// the first apply (see `awaiting_baseline`).
    pub drift: Option<LiveDiff>,
    /// The platform database is empty and no migration ever finished: the restart job's next
    /// run gives it the applied state's tables (its baseline), so nothing counts as drift yet.
    #[serde(default)]
    pub awaiting_baseline: bool,
    /// Why the live schema could not be compared, if it could not.
    pub error: Option<String>,
}

/// Reads the platform database's state.
///
/// # Errors
/// Registry or platform database errors (an engine failure is reported in `error`).
pub async fn status(
    pool: &PgPool,
    engine: &PlatformEngine,
    base: &BaseSchema,
    config: &Config,
) -> Result<PlatformStatus, sqlx::Error> {
    let migrations = engine.database.migration_records().await?;
    let applied = applied_packages(&mut *pool.acquire().await?)
        .await?
        .into_values()
        .map(|p| (p.package, p.yaml_snapshot))
        .collect();
    let mut error = None;
    let tables = match engine.introspect().await {
        Ok(found) => found.tables,
        Err(e) => {
            error = Some(e.to_string());
            Vec::new()
        }
    };
    // What the restart job does with an empty database it never migrated: it applies the
    // baseline, it does not refuse. The page must not cry drift where the job would not.
    let awaiting_baseline =
        error.is_none() && tables.is_empty() && !migrations.iter().any(|r| r.finished_at.is_some());
    let drift = if awaiting_baseline {
        None
    } else {
        live_drift(engine, base, config, &applied, &mut error).await
    };
    Ok(PlatformStatus {
        schema: engine.database.schema.clone(),
        tables,
        migrations,
        drift,
        awaiting_baseline,
        error,
    })
}

/// How the live schema differs from the applied state `applied` (package → YAML); a failure to
/// compare goes to `error`.
async fn live_drift(
    engine: &PlatformEngine,
    base: &BaseSchema,
    config: &Config,
    applied: &std::collections::BTreeMap<String, String>,
    error: &mut Option<String>,
) -> Option<LiveDiff> {
    match parse_state(applied, config).and_then(|p| render_entities(base, &p)) {
        Ok(schema) => match engine.diff_live(&schema).await {
            Ok(diff) => (!diff.empty).then_some(diff),
            Err(e) => {
                error.get_or_insert(e.to_string());
                None
            }
        },
        Err(e) => {
            error.get_or_insert(format!("the applied state does not render: {e}"));
            None
        }
    }
}

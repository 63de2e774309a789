//! The platform database as the Database page shows it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::context;
use crate::error::AppError;

/// One row of `_prisma_migrations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationRow {
    /// The migration's directory name.
    pub name: String,
    /// `applied`, `rolled back` or `unfinished`.
    pub state: String,
    /// When it was applied or rolled back.
    pub at: Option<String>,
}

/// The platform database: its tables, its migrations, and drift.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseView {
    /// The platform's PostgreSQL schema.
    pub schema: String,
    /// Its tables as the schema engine sees them.
    pub tables: Vec<String>,
    /// `_prisma_migrations`, oldest first.
    pub migrations: Vec<MigrationRow>,
    /// How the live schema differs from the applied state (Prisma's summary); none: no drift.
    pub drift: Option<String>,
    /// The SQL that would bring the live schema back to the applied state.
    pub drift_sql: Option<String>,
    /// Empty and never migrated: the restart job's next run applies the baseline.
    #[serde(default)]
    pub awaiting_baseline: bool,
    /// Why the database could not be read or compared.
    pub error: Option<String>,
}

/// The platform database's state. Any signed-in role.
///
/// # Errors
/// 401 without a session.
#[server(prefix = "/api", endpoint = "database_status")]
pub async fn database_status() -> Result<DatabaseView, AppError> {
    use crate::domain::review::Role;
    context::finish(async {
        let inputs = context::services()?.scan_inputs;
        let (pool, _) = context::signed_in(Role::Viewer, "read the platform database").await?;
        let schema = super::change::schema_context(&inputs)?;
        let Some(engine) = schema.engine.clone() else {
            return Ok(DatabaseView {
                error: Some(
                    "no schema engine is running, so the platform database cannot be read"
                        .to_string(),
                ),
                ..DatabaseView::default()
            });
        };
        let status =
            crate::registry::platform::status(&pool, &engine, &schema.base, &schema.config).await?;
        Ok(DatabaseView {
            schema: status.schema,
            tables: status.tables.into_iter().map(|t| t.table).collect(),
            migrations: status
                .migrations
                .into_iter()
                .map(|record| {
                    let (state, at) = match (record.finished_at, record.rolled_back_at) {
                        (Some(at), _) => ("applied", Some(at)),
                        (None, Some(at)) => ("rolled back", Some(at)),
                        (None, None) => ("unfinished", None),
                    };
                    MigrationRow {
                        name: record.name,
                        state: state.to_string(),
                        at,
                    }
                })
                .collect(),
            awaiting_baseline: status.awaiting_baseline,
            drift_sql: status.drift.as_ref().map(|d| d.sql.clone()),
            drift: status.drift.map(|d| d.summary),
            error: status.error,
        })
    })
    .await
}

//! Server functions: thin wrappers that check the caller, call the registry, and map errors.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// How many schema changes are in each state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCounts {
    /// `(status, count)` in lifecycle order, every state present.
    pub counts: Vec<(String, i64)>,
}

/// The registry's change counts per state, read from Postgres.
///
/// # Errors
/// [`AppError::Internal`] when the database fails.
#[server(prefix = "/api", endpoint = "status_counts")]
pub async fn status_counts() -> Result<ChangeCounts, AppError> {
    let pool = expect_context::<sqlx::PgPool>();
    let rows: Vec<(String, i64)> =
        sqlx::query_as("select status, count(*) from schema_change group by status")
            .fetch_all(&pool)
            .await?;
    let counts = STATES
        .iter()
        .map(|state| {
            let n = rows.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n);
            (state.to_string(), n)
        })
        .collect();
    Ok(ChangeCounts { counts })
}

/// Every schema-change state, in lifecycle order.
pub const STATES: [&str; 7] =
    ["pending", "approved", "applying", "applied", "failed", "rejected", "superseded"];

//! Scans from the web app: started in the background, watched from the dashboard.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::context;
use crate::error::AppError;

/// What the pages show about scans.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanState {
    /// A scan is running.
    pub running: bool,
    /// Who started the running (or last) scan.
    pub started_by: Option<String>,
    /// When it started (RFC 3339).
    pub started_at: Option<String>,
    /// What it is doing now.
    pub phase: Option<String>,
    /// How the last scan of this server ended, in one line.
    pub last_result: Option<String>,
    /// Whether the last scan failed.
    pub last_failed: bool,
}

/// Starts a scan of the configured packages directory in the background, as the signed-in
/// admin: `POST /api/scan_now`. Answers at once; the dashboard shows progress and the result.
///
/// # Errors
/// 401, 403; 400 when no packages directory is configured; 409 while a scan is running.
#[server(prefix = "/api", endpoint = "scan_now")]
pub async fn scan_now() -> Result<String, AppError> {
    use crate::domain::review::Role;
    context::finish(async {
        let inputs = context::services()?.scan_inputs;
        let job = context::services()?.scan_job;
        let (pool, account) = context::signed_in(Role::Admin, "run scans").await?;
        if inputs.packages_dir.is_none() {
            return Err(AppError::Invalid(
                "no packages directory is configured (--packages or SCHEMAGATE_PACKAGES)"
                    .to_string(),
            ));
        }
        if !job.start(pool, inputs, &account.username) {
            return Err(AppError::Conflict("a scan is already running".to_string()));
        }
        Ok("scan started".to_string())
    })
    .await
}

/// The server's scan status. Any signed-in role may read it.
///
/// # Errors
/// 401 without a session.
#[server(prefix = "/api", endpoint = "scan_status")]
pub async fn scan_status() -> Result<ScanState, AppError> {
    use crate::domain::review::Role;
    context::finish(async {
        let job = context::services()?.scan_job;
        context::signed_in(Role::Viewer, "read the registry").await?;
        Ok(job.status())
    })
    .await
}

//! Scans in the background, one at a time per server: the start-up scan and "Scan now" never
//! hold up the server, and pages show what the running scan is doing and how the last one
//! ended. (Across servers, scans serialize on the registry's advisory lock.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sqlx::PgPool;
use time::OffsetDateTime;

pub use crate::api::scanning::ScanState;
use crate::registry::scan::{ScanInputs, ScanReport};

/// The server's scan runner (cheap to clone; clones share the state).
#[derive(Debug, Clone, Default)]
pub struct ScanJob {
    status: Arc<Mutex<ScanState>>,
    /// Counts the changes of `status`, so that a page rendered with one state is not served
    /// again under another.
    version: Arc<AtomicU64>,
}

impl ScanJob {
    /// What is going on now.
    #[must_use]
    pub fn status(&self) -> ScanState {
        self.lock().clone()
    }

    /// How many times the state has changed; pages rendered at another count showed another
    /// state.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Changes the state; the version moves once the change is visible.
    fn update<T>(&self, change: impl FnOnce(&mut ScanState) -> T) -> T {
        let outcome = change(&mut self.lock());
        self.version.fetch_add(1, Ordering::AcqRel);
        outcome
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ScanState> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set_phase(&self, phase: &str) {
        self.update(|status| status.phase = Some(phase.to_string()));
    }

    /// Starts a scan of `inputs` as `actor` unless one is running; returns whether it started.
    pub fn start(&self, pool: PgPool, inputs: ScanInputs, actor: &str) -> bool {
        let started = self.update(|status| {
            if status.running {
                return false;
            }
            status.running = true;
            status.started_by = Some(actor.to_string());
            status.started_at = OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .ok();
            status.phase = Some("reading the packages".to_string());
            true
        });
        if !started {
            return false;
        }
        let job = self.clone();
        let actor = actor.to_string();
        tokio::spawn(async move {
            let outcome = inputs
                .scan_with_phases(&pool, &actor, |phase| job.set_phase(phase))
                .await;
            job.update(|status| {
                status.running = false;
                status.phase = None;
                match outcome {
                    Ok(report) => {
                        tracing::info!(
                            created = report.created.len(),
                            superseded = report.superseded.len(),
                            unchanged = report.unchanged.len(),
                            drops = report.drops.len(),
                            errors = report.errors.len(),
                            "scan done"
                        );
                        status.last_result = Some(summary(&report));
                        status.last_failed = false;
                    }
                    Err(error) => {
                        tracing::error!(%error, "scan failed");
                        status.last_result = Some(format!("scan failed: {error}"));
                        status.last_failed = true;
                    }
                }
            });
        });
        true
    }
}

/// One line about a finished scan; the packages with errors are named (the first few).
#[must_use]
pub fn summary(report: &ScanReport) -> String {
    const NAMED: usize = 5;
    let mut broken: Vec<&str> = report
        .errors
        .iter()
        .take(NAMED)
        .map(|p| p.package.as_str())
        .collect();
    if report.errors.len() > NAMED {
        broken.push("…");
    }
    let named = if broken.is_empty() {
        String::new()
    } else {
        format!(" ({})", broken.join(", "))
    };
    format!(
        "scan done: {} created, {} superseded, {} unchanged, {} drops, {} with errors{named}",
        report.created.len(),
        report.superseded.len(),
        report.unchanged.len(),
        report.drops.len(),
        report.errors.len()
    )
}

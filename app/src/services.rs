//! The web app's shared services: one typed state, built once at start-up and provided to every
//! request as one context. A request that finds it missing fails loudly (a logged server fault,
//! answered 500); no check is ever skipped for want of a part.

use std::sync::Arc;

use sqlx::PgPool;

use crate::api::session::ClientAddressHeader;
use crate::auth::AuthSettings;
use crate::error::AppError;
use crate::platform::PlatformEngine;
use crate::registry::scan::ScanInputs;
use crate::scan_job::ScanJob;

/// What every server function may use.
#[derive(Clone)]
pub struct Services {
    /// The registry.
    pub pool: PgPool,
    /// Prisma's schema engine for the platform database: plans and re-plans every change.
    pub engine: Arc<PlatformEngine>,
    /// Where packages and the base schema are read from, and the domain's configuration.
    pub scan_inputs: ScanInputs,
    /// The background scan ("Scan now", and the scan at start).
    pub scan_job: ScanJob,
    /// Sign-in throttling.
    pub auth: AuthSettings,
    /// The header a trusted proxy puts the client address in.
    pub client_address_header: ClientAddressHeader,
}

impl Services {
    /// The services over `pool` and `engine`; the scan inputs get the engine, so that every
    /// scan plans its changes and every approval re-plans them.
    #[must_use]
    pub fn new(
        pool: PgPool,
        engine: Arc<PlatformEngine>,
        mut scan_inputs: ScanInputs,
        scan_job: ScanJob,
        auth: AuthSettings,
        client_address_header: ClientAddressHeader,
    ) -> Self {
        scan_inputs.engine = Some(engine.clone());
        Self {
            pool,
            engine,
            scan_inputs,
            scan_job,
            auth,
            client_address_header,
        }
    }
}

/// The services of this request. Read it before the first `.await`: a server function run
/// while rendering may lose its reactive owner (and so its context) later.
///
/// # Errors
/// [`AppError::Internal`] when the server did not provide them (a wiring fault, logged).
pub fn services() -> Result<Services, AppError> {
    leptos::prelude::use_context::<Services>().ok_or_else(|| {
        tracing::error!("the app's services are not provided to this request");
        AppError::Internal
    })
}

//! `schemagate serve`: the web server.

use std::process::ExitCode;

use anyhow::Context;
use leptos::config::get_configuration;

use crate::cli::{CommonOptions, ServeArgs};
use crate::database::Database;
use crate::startup::{router, AppState};

/// Serves the app until Ctrl-C or SIGTERM, then stops the embedded cluster (if any).
///
/// # Errors
/// Fails when the database cannot be opened or the address cannot be bound.
pub async fn run(common: &CommonOptions, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let database = Database::open(common).await?;
    // Approvals re-plan and check each change's SQL: without the engine the web app would skip
    // that check, so it does not start.
    let engine = database
        .require_engine()
        .context("the web app cannot start without Prisma's schema engine")?;
    let mut leptos_options = get_configuration(None)
        .context("while reading the Leptos site configuration (LEPTOS_* variables)")?
        .leptos_options;
    leptos_options.site_addr = args.addr;
    let first_password = crate::first_run::ensure_first_admin(&database.pool).await?;
    let scan_inputs = app::registry::scan::ScanInputs {
        packages_dir: common.packages.clone(),
        base_schema: common.base_schema.clone(),
        config: common.domain_config(),
        engine: database.engine.clone(),
    };
    let pool = database.pool.clone();
    tokio::spawn(async move {
        if let Err(error) = app::db::fill_declares(&pool).await {
            tracing::warn!(%error, "cannot record the entities older changes declare");
        }
    });
    let scan_job = app::scan_job::ScanJob::default();
    if args.scan_on_start {
        // In the background: the server listens at once and the dashboard shows the progress.
        crate::first_run::scan_at_start(&database.pool, &scan_inputs, &scan_job);
    }
    let store = crate::startup::session_store(&database.pool)
        .await
        .context("while preparing the session store")?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("while binding {}", args.addr))?;
    let public_origins = match &args.public_url {
        Some(url) => vec![crate::startup::origin_of(url).with_context(|| {
            format!("while reading --public-url {url:?}: expected http(s)://host[:port]")
        })?],
        None => crate::startup::default_origins(listener.local_addr()?),
    };
    let state = AppState {
        leptos_options,
        services: app::services::Services::new(
            database.pool.clone(),
            engine,
            scan_inputs,
            scan_job,
            app::auth::AuthSettings {
                max_failures: args.login_max_failures,
                failure_window: time::Duration::minutes(args.login_window_minutes),
                lockout: time::Duration::minutes(args.login_lockout_minutes),
                max_client_attempts: args.login_max_client_attempts,
            },
            app::api::session::ClientAddressHeader(args.client_address_header.clone()),
        ),
        secure_cookies: args.secure_cookies,
        session_idle: time::Duration::minutes(args.session_idle_minutes),
        public_origins,
        pages: crate::page_cache::PageCache::default(),
    };
    crate::page_cache::follow_registry(database.pool.clone(), state.pages.registry.clone());
    let url = format!("http://{}", listener.local_addr()?);
    tracing::info!(%url, "schemagate is listening");
    // Console messages go to stdout; logs go to stderr, so a log file never holds the password.
    if let Some(password) = first_password {
        println!();
        println!("  First start: created the admin account.");
        println!("    username: {}", crate::first_run::FIRST_ADMIN);
        println!("    password: {password}");
        println!("  Sign in at {url} and keep the password somewhere safe; it is not shown again.");
        println!();
    }
    println!("Schemagate is running at {url}");
    let app = router(state, store).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("while serving HTTP")?;
    database.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = ctrl_c => {},
        _ = async { match terminate.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {},
    }
    tracing::info!("shutting down");
}

//! Builds the HTTP router: SSR pages, server functions, static files, health, sessions and the
//! security layers. Testable without a socket.

use app::auth::AuthSettings;
use app::registry::scan::ScanInputs;
use app::shell::{shell, App};
use axum::body::Body;
use axum::extract::{FromRef, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::PgPool;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Leptos site configuration (paths of the built assets).
    pub leptos_options: LeptosOptions,
    /// The registry.
    pub pool: PgPool,
    /// Sign-in throttling.
    pub auth: AuthSettings,
    /// Session cookies carry `Secure` (set when served over TLS, e.g. behind a proxy).
    pub secure_cookies: bool,
    /// Sessions end after this long without a request.
    pub session_idle: time::Duration,
    /// Where "Scan now" reads packages from.
    pub scan_inputs: ScanInputs,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> Self {
        state.pool.clone()
    }
}

/// Creates the session store's table if needed and starts deleting expired sessions.
///
/// # Errors
/// Database errors.
pub async fn session_store(pool: &PgPool) -> anyhow::Result<PostgresStore> {
    let store = PostgresStore::new(pool.clone());
    store.migrate().await?;
    tokio::spawn({
        use tower_sessions::ExpiredDeletion;
        let store = store.clone();
        async move {
            if let Err(error) = store
                .continuously_delete_expired(std::time::Duration::from_secs(300))
                .await
            {
                tracing::warn!(%error, "expired-session cleanup stopped");
            }
        }
    });
    Ok(store)
}

/// The application's router over `state`, with sessions kept in `store`.
pub fn router(state: AppState, store: PostgresStore) -> Router {
    let routes = generate_route_list(App);
    let (pool, auth, scan_inputs) = (state.pool.clone(), state.auth, state.scan_inputs.clone());
    let context = move || {
        provide_context(pool.clone());
        provide_context(auth);
        provide_context(scan_inputs.clone());
    };
    let sessions = SessionManagerLayer::new(store)
        .with_name("schemagate_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.secure_cookies)
        .with_expiry(Expiry::OnInactivity(state.session_idle));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/audit/export", get(export_audit))
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .route(
            "/api/{*fn_name}",
            post(move |request: Request| {
                leptos_axum::handle_server_fns_with_context(context.clone(), request)
            }),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(sessions)
        .layer(middleware::from_fn(refuse_cross_site_posts))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// 200 with the database status when the registry answers, 503 when it does not.
async fn healthz(State(pool): State<PgPool>) -> impl IntoResponse {
    if app::db::is_reachable(&pool).await {
        (
            StatusCode::OK,
            Json(serde_json::json!({"status": "ok", "database": "ok"})),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "degraded", "database": "unreachable"})),
        )
    }
}

/// The export's query: the audit page's filters and `format=csv|json`.
#[derive(Debug, serde::Deserialize)]
struct ExportQuery {
    #[serde(default)]
    format: Option<String>,
    #[serde(flatten)]
    filters: app::api::audit::AuditQuery,
}

/// `GET /audit/export?format=csv|json&actor=&action=&package=&from=&to=`: the matching events,
/// oldest first (chain order), as a download. Any signed-in role; 401 without a session.
async fn export_audit(
    State(pool): State<PgPool>,
    session: tower_sessions::Session,
    axum::extract::Query(query): axum::extract::Query<ExportQuery>,
) -> Response {
    use app::error::AppError;
    let refuse = |error: AppError| {
        (
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            error.to_string(),
        )
            .into_response()
    };
    match app::auth::current_account(&session, &pool).await {
        Ok(Some(_)) => {}
        Ok(None) => return refuse(AppError::Unauthenticated),
        Err(error) => return refuse(error),
    }
    let format = query.format.as_deref().unwrap_or("csv");
    if format != "csv" && format != "json" {
        return refuse(AppError::Invalid(format!(
            "unknown export format \"{format}\": expected csv or json"
        )));
    }
    let filter = match app::api::audit::filter_from_query(&query.filters) {
        Ok(filter) => filter,
        Err(error) => return refuse(error),
    };
    let events = match app::registry::audit::list(&pool, &filter).await {
        Ok(events) => events,
        Err(error) => return refuse(error.into()),
    };
    let (content_type, body) = if format == "json" {
        match serde_json::to_string_pretty(&events) {
            Ok(json) => ("application/json", json),
            Err(error) => {
                tracing::error!(%error, "audit export encoding failed");
                return refuse(AppError::Internal);
            }
        }
    } else {
        (
            "text/csv; charset=utf-8",
            app::registry::audit::to_csv(&events),
        )
    };
    let disposition = format!("attachment; filename=\"schemagate-audit.{format}\"");
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

/// A state-changing request from another site is refused: its `Origin` (or, absent that, its
/// `Referer`) must name this host. Requests with neither come from scripts, not browsers.
async fn refuse_cross_site_posts(request: Request, next: Next) -> Response {
    if request.method() == Method::GET
        || request.method() == Method::HEAD
        || request.method() == Method::OPTIONS
    {
        return next.run(request).await;
    }
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    if let Some(source) = source {
        if authority(source) != Some(host) || host.is_empty() {
            tracing::warn!(origin = source, host, "cross-site request refused");
            return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
        }
    }
    next.run(request).await
}

/// `host[:port]` of an absolute URL.
fn authority(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

/// Headers every response carries. Pages get their own Content-Security-Policy (with the
/// nonce of their inline hydration script) from the shell; this is the strict default.
async fn security_headers(request: Request<Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            ),
        );
    }
    response
}

//! Builds the HTTP router: SSR pages, server functions, static files, health, sessions and the
//! security layers. Testable without a socket.

use app::registry::scan::ScanInputs;
use app::shell::{shell, App, SiteAssets};
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
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

use crate::page_cache::{PageCache, Sources};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Leptos site configuration (paths of the built assets).
    pub leptos_options: LeptosOptions,
    /// The services every server function uses (registry, engine, scan inputs, scan job,
    /// sign-in settings), provided to each request as one context.
    pub services: app::services::Services,
    /// Session cookies carry `Secure` (set when served over TLS, e.g. behind a proxy).
    pub secure_cookies: bool,
    /// Sessions end after this long without a request.
    pub session_idle: time::Duration,
    /// Origins (`scheme://host[:port]`) users reach the app at; a state-changing request
    /// naming another origin is refused.
    pub public_origins: Vec<String>,
    /// Rendered pages kept while what they show is unchanged.
    pub pages: PageCache,
}

/// What the page guard reads: the registry, where the pages' files are, the running scan and
/// the kept pages.
struct PageGuard {
    pool: PgPool,
    scan_inputs: ScanInputs,
    scan_job: app::scan_job::ScanJob,
    pages: PageCache,
}

impl PageGuard {
    /// What a page rendered now would be rendered from, read before it is rendered; `None` when
    /// that cannot be known (no notices from the registry, or no packages directory).
    async fn sources(&self, asked_at: std::time::Instant) -> Option<Sources> {
        let registry = self.pages.registry.current()?;
        let scan = self.scan_job.version();
        let disk =
            app::api::disk::disk_state(&self.scan_inputs, asked_at, crate::page_cache::DISK_LAG)
                .await?;
        Some(Sources {
            registry,
            scan,
            disk,
        })
    }
}

/// Largest request body accepted (sign-in, decisions, comments are small forms).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The origin of an absolute http(s) URL: lowercase `scheme://host[:port]`, with the scheme's
/// default port dropped. `None` for anything else.
#[must_use]
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let default_port = if scheme == "http" { ":80" } else { ":443" };
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{authority}"))
}

/// The origins a server at `addr` accepts when no public URL is configured: `http://<addr>`,
/// and for a loopback address also `http://localhost:<port>`.
#[must_use]
pub fn default_origins(addr: std::net::SocketAddr) -> Vec<String> {
    let mut origins = vec![format!("http://{addr}")];
    if addr.ip().is_loopback() {
        origins.push(format!("http://localhost:{}", addr.port()));
    }
    origins
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for PageCache {
    fn from_ref(state: &AppState) -> Self {
        state.pages.clone()
    }
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> Self {
        state.services.pool.clone()
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
    let assets = site_assets(&state.leptos_options);
    let help_assets = assets.clone();
    let services = state.services.clone();
    let context = move || {
        provide_context(services.clone());
        provide_context(assets.clone());
    };
    let sessions = SessionManagerLayer::new(store)
        .with_name("schemagate_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.secure_cookies)
        .with_expiry(Expiry::OnInactivity(state.session_idle));
    let origins = std::sync::Arc::new(state.public_origins.clone());
    let guard = std::sync::Arc::new(PageGuard {
        pool: state.services.pool.clone(),
        scan_inputs: state.services.scan_inputs.clone(),
        scan_job: state.services.scan_job.clone(),
        pages: state.pages.clone(),
    });
    let registry = state.pages.registry.clone();
    Router::new()
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .route_layer(middleware::from_fn_with_state(guard, guard_pages))
        .route("/healthz", get(healthz))
        .route("/help", {
            let assets = help_assets.clone();
            get(move || crate::help::index(assets.clone()))
        })
        .route("/help/{page}", {
            let assets = help_assets;
            get(
                move |axum::extract::Path(page): axum::extract::Path<String>| {
                    crate::help::page(assets.clone(), page)
                },
            )
        })
        .route("/audit/export", get(export_audit))
        .route(
            "/api/{*fn_name}",
            post({
                let context = context.clone();
                let pool = state.services.pool.clone();
                move |request: Request| {
                    let (context, pool) = (context.clone(), pool.clone());
                    async move {
                        status_from_error(
                            leptos_axum::handle_server_fns_with_context(context, request)
                                .await
                                .into_response(),
                            &pool,
                        )
                        .await
                    }
                }
            }),
        )
        .nest("/pkg", pkg_service(&state.leptos_options))
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(middleware::from_fn_with_state(
            extend_every(state.session_idle),
            keep_sessions_open,
        ))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(
            registry,
            writes_move_registry,
        ))
        .layer(middleware::from_fn_with_state(
            origins,
            refuse_cross_site_posts,
        ))
        .layer(middleware::from_fn(limit_body))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(pages_revalidate))
        // Pages and server function answers, compressed as the browser accepts; the static
        // assets are already compressed, and a response with a Content-Encoding is left alone.
        .layer(CompressionLayer::new())
        .with_state(state)
}

/// Pages: 503 while the registry is unreachable, a redirect to the sign-in page for anonymous
/// visitors, the kept page when nothing it shows has changed, and a real redirect status
/// wherever a page answers with a `Location`.
async fn guard_pages(
    State(guard): State<std::sync::Arc<PageGuard>>,
    session: tower_sessions::Session,
    request: Request,
    next: Next,
) -> Response {
    // The same routes also carry the server functions' POST endpoints, which answer for
    // themselves.
    let is_page = request.method() == Method::GET || request.method() == Method::HEAD;
    if !is_page || request.uri().path().starts_with("/api/") {
        return status_from_error(next.run(request).await, &guard.pool).await;
    }
    // Before anything is read: a page kept from a state older than this request is not served.
    let asked_at = std::time::Instant::now();
    if request.uri().path() == "/login" {
        if !app::db::is_reachable(&guard.pool).await {
            return unavailable();
        }
        return with_redirect_status(next.run(request).await);
    }
    let account = match app::auth::current_account(&session, &guard.pool).await {
        Ok(Some(account)) => account,
        Ok(None) if !app::db::is_reachable(&guard.pool).await => return unavailable(),
        Ok(None) => {
            let asked = request.uri().path_and_query().map_or("/", |p| p.as_str());
            return redirect_to_login(asked);
        }
        Err(_) => return unavailable(),
    };
    if crate::page_cache::may_keep(request.method(), request.uri().path()) {
        if let Some(sources) = guard.sources(asked_at).await {
            let response = guard.pages.answer(account.id, sources, request, next).await;
            return with_redirect_status(response);
        }
    }
    with_redirect_status(next.run(request).await)
}

/// How often a used session is saved again: a sixtieth of the idle time, at least a second.
fn extend_every(idle: time::Duration) -> time::Duration {
    (idle / 60_i32).max(time::Duration::SECOND)
}

/// A session in use stays open (see [`app::auth::keep_open`]).
async fn keep_sessions_open(
    State(every): State<time::Duration>,
    session: tower_sessions::Session,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    if let Err(error) = app::auth::keep_open(&session, every).await {
        tracing::warn!(%error, "cannot keep the session open");
    }
    response
}

/// A page that answers with a `Location` gets a redirect status.
fn with_redirect_status(mut response: Response) -> Response {
    if response.status().is_success() && response.headers().contains_key(header::LOCATION) {
        *response.status_mut() = StatusCode::FOUND;
    }
    response
}

/// A request that may change the registry moves its version once answered, so the page its
/// redirect leads to is rendered afresh (PostgreSQL's notice of the same write may come later).
async fn writes_move_registry(
    State(registry): State<std::sync::Arc<crate::page_cache::RegistryVersion>>,
    request: Request,
    next: Next,
) -> Response {
    let reads_only = [Method::GET, Method::HEAD, Method::OPTIONS].contains(request.method());
    let response = next.run(request).await;
    if !reads_only {
        registry.moved();
    }
    response
}

/// The asset names `make site` wrote to `<site root>/<pkg>/assets.txt`, or the unhashed names
/// (with a warning) when the site was built without one.
pub fn site_assets(options: &LeptosOptions) -> SiteAssets {
    let path = std::path::Path::new(options.site_root.as_ref())
        .join(options.site_pkg_dir.as_ref())
        .join("assets.txt");
    let assets = std::fs::read_to_string(&path)
        .map_err(|error| error.to_string())
        .and_then(|manifest| SiteAssets::parse(&manifest));
    match assets {
        Ok(assets) => assets,
        Err(error) => {
            tracing::warn!(
                path = %path.display(),
                %error,
                "no asset manifest: pages will not hydrate until the site is built (`make site`)"
            );
            SiteAssets::default()
        }
    }
}

/// `/pkg/*`: the built assets, with their `.br` and `.gz` twins sent to browsers that accept
/// them. Content-hashed names never change content, so they are cached for a year.
fn pkg_service(options: &LeptosOptions) -> Router<AppState> {
    let dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    Router::new()
        .fallback_service(ServeDir::new(dir).precompressed_br().precompressed_gzip())
        .layer(middleware::from_fn(cache_assets))
}

async fn cache_assets(request: Request, next: Next) -> Response {
    let hashed = is_content_hashed(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        let headers = response.headers_mut();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if hashed {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            }),
        );
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::RETRY_AFTER, "5"),
        ],
        "<!DOCTYPE html><html lang=\"en\"><head><title>Schemagate: unavailable</title></head>\
         <body><main><h1>The registry database is unreachable</h1>\
         <p>Try again in a moment.</p></main></body></html>",
    )
        .into_response()
}

fn redirect_to_login(asked: &str) -> Response {
    let location = app::api::session::login_path(asked);
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// A server function's error answers with the status of its [`app::error::AppError`] (a
/// malformed request is 400, not 500), whatever stage it failed at.
async fn status_from_error(response: Response, pool: &PgPool) -> Response {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    // A failure while the registry is unreachable (the session store included) is that.
    if !app::db::is_reachable(pool).await {
        let body = serde_json::to_vec(&app::error::AppError::Unavailable).unwrap_or_default();
        let mut answer = (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
        answer.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return answer;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    };
    if let Ok(error) = serde_json::from_slice::<app::error::AppError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(error.status()) {
            parts.status = status;
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Request bodies larger than [`MAX_BODY_BYTES`] are answered 413 before any handler reads
/// them, whether or not they announce their length.
async fn limit_body(request: Request, next: Next) -> Response {
    let too_large = || (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    if request.method() == Method::GET || request.method() == Method::HEAD {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return too_large();
    };
    if parts.uri.path().starts_with("/api/") {
        if let Some(refused) = refuse_malformed_form(&parts.headers, &bytes) {
            return refused;
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The server functions take url-encoded forms: another content type is answered 415 and a body
/// that is not text 400, before any of them reads it.
fn refuse_malformed_form(headers: &axum::http::HeaderMap, body: &[u8]) -> Option<Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let form = content_type
        .as_deref()
        .is_none_or(|t| t == "application/x-www-form-urlencoded");
    if !form && !body.is_empty() {
        return Some(
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the fields as application/x-www-form-urlencoded",
            )
                .into_response(),
        );
    }
    if std::str::from_utf8(body).is_err() {
        return Some(
            (
                StatusCode::BAD_REQUEST,
                "the request body is not UTF-8 text",
            )
                .into_response(),
        );
    }
    None
}

/// `schemagate.0123456789abcdef.wasm`: a file name with a 16-hex-digit content hash.
fn is_content_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 3
        && parts[1..parts.len() - 1]
            .iter()
            .any(|part| part.len() == 16 && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Pages are revalidated on every visit (they name the current assets and hold live data).
async fn pages_revalidate(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}

/// 200 with the database status when the registry answers, 503 when it does not; whether the
/// server follows the registry's change notices (without them, no page is kept).
async fn healthz(State(pool): State<PgPool>, State(pages): State<PageCache>) -> impl IntoResponse {
    let notices = if pages.registry.current().is_some() {
        "following"
    } else {
        "not following"
    };
    let (status, health, database) = if app::db::is_reachable(&pool).await {
        (StatusCode::OK, "ok", "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "degraded", "unreachable")
    };
    (
        status,
        Json(
            serde_json::json!({"status": health, "database": database, "change_notices": notices}),
        ),
    )
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
/// `Referer`) must be one of the configured public origins, scheme included. Requests with
/// neither come from scripts, not browsers.
async fn refuse_cross_site_posts(
    State(origins): State<std::sync::Arc<Vec<String>>>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::GET
        || request.method() == Method::HEAD
        || request.method() == Method::OPTIONS
    {
        return next.run(request).await;
    }
    let headers = request.headers();
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .map(|v| v.to_str().unwrap_or("invalid"));
    if let Some(source) = source {
        let allowed = origin_of(source).is_some_and(|origin| origins.contains(&origin));
        if !allowed {
            tracing::warn!(origin = source, "cross-site request refused");
            return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
        }
    }
    next.run(request).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_with_a_content_hash_count_as_hashed() {
        assert!(is_content_hashed("/schemagate.0123456789abcdef.wasm"));
        assert!(is_content_hashed("/favicon.f81bed74b9ed60af.svg"));
        assert!(!is_content_hashed("/schemagate.wasm"));
        assert!(!is_content_hashed("/assets.txt"));
        assert!(!is_content_hashed("/schemagate.0123456789abcdef"));
        assert!(!is_content_hashed("/schemagate.0123456789abcdeg.js"));
    }

    #[test]
    fn the_asset_manifest_names_script_style_and_icon() {
        let assets = SiteAssets::parse(
            "script schemagate.0123456789abcdef\nstyle schemagate.fedcba9876543210.css\n\
             icon favicon.f81bed74b9ed60af.svg\n",
        )
        .unwrap();
        assert_eq!(assets.script, "schemagate.0123456789abcdef");
        assert_eq!(assets.style, "schemagate.fedcba9876543210.css");
        assert_eq!(assets.icon, "favicon.f81bed74b9ed60af.svg");
        assert_eq!(
            SiteAssets::parse("script a\nicon b\n").unwrap_err(),
            "no style in the asset manifest"
        );
        assert!(SiteAssets::parse("script a/b\nstyle c\nicon d\n").is_err());
    }
}

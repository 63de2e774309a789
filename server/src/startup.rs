//! Builds the HTTP router: SSR pages, server functions, static files, health. Testable without
//! a socket.

use app::shell::{shell, App};
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::PgPool;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Leptos site configuration (paths of the built assets).
    pub leptos_options: LeptosOptions,
    /// The registry.
    pub pool: PgPool,
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

/// The application's router over `state`.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let pool = state.pool.clone();
    let context = move || provide_context(pool.clone());
    Router::new()
        .route("/healthz", get(healthz))
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .route(
            "/api/{*fn_name}",
            axum::routing::post({
                let context = context.clone();
                move |request| leptos_axum::handle_server_fns_with_context(context, request)
            }),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state)
}

/// 200 with the database status when the registry answers, 503 when it does not.
async fn healthz(State(pool): State<PgPool>) -> impl IntoResponse {
    if app::db::is_reachable(&pool).await {
        (StatusCode::OK, Json(serde_json::json!({"status": "ok", "database": "ok"})))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "degraded", "database": "unreachable"})),
        )
    }
}

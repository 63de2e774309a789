//! Server functions: thin wrappers that check the caller, call the registry, and map errors.
//! Mutations have stable endpoints under `/api/` taking url-encoded forms, so scripts can drive
//! them with a session cookie just as the pages do.

pub mod account;
pub mod audit;
pub mod catalog;
pub mod change;
pub mod policy;
pub mod session;

#[cfg(feature = "ssr")]
pub(crate) mod context {
    use sqlx::PgPool;
    use tower_sessions::Session;

    use crate::auth::AuthSettings;
    use crate::error::AppError;

    pub(crate) fn pool() -> PgPool {
        leptos::prelude::expect_context::<PgPool>()
    }

    pub(crate) fn auth_settings() -> AuthSettings {
        leptos::prelude::use_context::<AuthSettings>().unwrap_or_default()
    }

    pub(crate) async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>().await.map_err(|error| {
            tracing::error!(%error, "no session layer");
            AppError::Internal
        })
    }

    /// Sets the HTTP status of a failed call. A plain HTML form post (no JavaScript) is sent
    /// back to the page it came from instead, with the message in `?error=`.
    pub(crate) fn finish<T>(result: Result<T, AppError>) -> Result<T, AppError> {
        if let Err(error) = &result {
            let response = leptos::prelude::expect_context::<leptos_axum::ResponseOptions>();
            let parts = leptos::prelude::use_context::<axum::http::request::Parts>();
            let from_form = parts.as_ref().is_some_and(|p| accepts_html(&p.headers));
            let referer = parts.as_ref().and_then(|p| p.headers.get(axum::http::header::REFERER)).and_then(|v| v.to_str().ok());
            match (from_form, referer) {
                (true, Some(referer)) => {
                    let base = referer.split('?').next().unwrap_or(referer);
                    let location = format!("{base}?error={}", urlencode(&error.to_string()));
                    response.set_status(axum::http::StatusCode::SEE_OTHER);
                    if let Ok(value) = axum::http::HeaderValue::from_str(&location) {
                        response.insert_header(axum::http::header::LOCATION, value);
                    }
                }
                _ => response.set_status(axum::http::StatusCode::from_u16(error.status()).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR)),
            }
        }
        result
    }

    fn accepts_html(headers: &axum::http::HeaderMap) -> bool {
        headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
    }

    fn urlencode(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
}


//! Server functions: thin wrappers that check the caller, call the registry, and map errors.
//! Mutations have stable endpoints under `/api/` taking url-encoded forms, so scripts can drive
//! them with a session cookie just as the pages do.

pub mod account;
pub mod audit;
pub mod broken;
pub mod bulk;
pub mod catalog;
pub mod change;
pub mod database;
#[cfg(feature = "ssr")]
pub mod disk;
pub mod lineage;
pub mod policy;
pub mod review;
pub mod scanning;
pub mod session;

#[cfg(feature = "ssr")]
pub(crate) mod context {
    use sqlx::PgPool;
    use tower_sessions::Session;

    use crate::error::AppError;

    pub(crate) use crate::services::services;

    /// The registry. Read it before the first `.await`.
    pub(crate) fn pool() -> Result<PgPool, AppError> {
        Ok(services()?.pool)
    }

    /// The registry and the signed-in account, if its role includes `role`; `action` names
    /// what was attempted in the 403 message. Every server function starts here.
    pub(crate) async fn signed_in(
        role: crate::domain::review::Role,
        action: &str,
    ) -> Result<(PgPool, crate::registry::account::Account), AppError> {
        // Read before the first await: the request's context is not reliable after it.
        let pool = pool()?;
        let account = crate::auth::require(&session().await?, &pool, role, action).await?;
        Ok((pool, account))
    }

    pub(crate) async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>().await.map_err(|error| {
            tracing::error!(%error, "no session layer");
            AppError::Internal
        })
    }

    /// Runs a server function's body and answers its failure: the HTTP status of the error,
    /// or, for a plain HTML form post to `/api/...` (no JavaScript), a redirect back to the page
    /// it came from with the message in `?error=`. The request's context is read before the
    /// body runs, because it is not reliably reachable after an await.
    pub(crate) async fn finish<T>(
        work: impl std::future::Future<Output = Result<T, AppError>>,
    ) -> Result<T, AppError> {
        finish_then(work, |_| None).await
    }

    /// [`finish`], sending a plain HTML form post that succeeded to the page `next` names
    /// (`None`: back to the page it came from), e.g. a page that confirms what was done.
    pub(crate) async fn finish_then<T>(
        work: impl std::future::Future<Output = Result<T, AppError>>,
        next: impl FnOnce(&T) -> Option<String>,
    ) -> Result<T, AppError> {
        let response = leptos::prelude::use_context::<leptos_axum::ResponseOptions>();
        let parts = leptos::prelude::use_context::<axum::http::request::Parts>();
        let result = work.await;
        // Only a call to the endpoint itself answers with its status; a page that uses the
        // function while rendering keeps its own (200, or the sign-in redirect).
        let api_call = parts
            .as_ref()
            .filter(|p| p.method == axum::http::Method::POST && p.uri.path().starts_with("/api/"));
        let (Some(response), Some(_)) = (response, api_call) else {
            return result;
        };
        let form_post = api_call;
        let back_to = form_post
            .filter(|p| accepts_html(&p.headers))
            .and_then(|p| p.headers.get(axum::http::header::REFERER))
            .and_then(|v| v.to_str().ok());
        let error = match &result {
            Ok(value) => {
                let html = form_post.is_some_and(|p| accepts_html(&p.headers));
                if let Some(location) = next(value).filter(|_| html) {
                    if let Ok(value) = axum::http::HeaderValue::from_str(&location) {
                        response.set_status(axum::http::StatusCode::SEE_OTHER);
                        response.insert_header(axum::http::header::LOCATION, value);
                    }
                    return result;
                }
                // Back on the page after a success: drop the `?error=` of an earlier refusal
                // (unless the function chose where to go itself).
                let redirected = response
                    .0
                    .read()
                    .map(|r| r.headers.contains_key(axum::http::header::LOCATION))
                    .unwrap_or(true);
                if let Some((page, query)) = back_to
                    .and_then(|r| r.split_once('?'))
                    .filter(|_| !redirected)
                {
                    if query.split('&').any(|pair| pair.starts_with("error=")) {
                        if let Ok(value) = axum::http::HeaderValue::from_str(page) {
                            response.set_status(axum::http::StatusCode::SEE_OTHER);
                            response.insert_header(axum::http::header::LOCATION, value);
                        }
                    }
                }
                return result;
            }
            Err(error) => error,
        };
        match back_to {
            Some(referer) => {
                let base = referer.split('?').next().unwrap_or(referer);
                let location = format!(
                    "{base}?error={}",
                    crate::component::pager::encode(&error.to_string())
                );
                response.set_status(axum::http::StatusCode::SEE_OTHER);
                if let Ok(value) = axum::http::HeaderValue::from_str(&location) {
                    response.insert_header(axum::http::header::LOCATION, value);
                }
            }
            None => response.set_status(
                axum::http::StatusCode::from_u16(error.status())
                    .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
            ),
        }
        result
    }

    fn accepts_html(headers: &axum::http::HeaderMap) -> bool {
        headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    }
}

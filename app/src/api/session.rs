//! Signing in and out, and who is signed in.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::context;
use crate::auth::SignedIn;
use crate::error::AppError;

/// The signed-in account, if any.
///
/// # Errors
/// [`AppError::Internal`] when the session store fails.
#[server(prefix = "/api", endpoint = "whoami")]
pub async fn whoami() -> Result<Option<SignedIn>, AppError> {
    context::finish(async {
        let pool = context::pool()?;
        let account = crate::auth::current_account(&context::session().await?, &pool).await?;
        Ok(account.map(|a| SignedIn {
            username: a.username,
            role: a.role,
        }))
    })
    .await
}

/// `next` when it is a path on this site (`/changes/…`), the page to go to after signing in;
/// `None` for anything else (`//host`, `https://…`, `/\\host`), so a link cannot send a
/// freshly signed-in user to another site.
pub fn same_site_path(next: &str) -> Option<&str> {
    let safe = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    safe.then_some(next)
}

/// The sign-in page's address for a visitor who asked for `path_and_query`.
pub fn login_path(path_and_query: &str) -> String {
    match same_site_path(path_and_query).filter(|p| *p != "/" && !p.starts_with("/login")) {
        Some(next) => format!("/login?next={}", crate::component::pager::encode(next)),
        None => "/login".to_string(),
    }
}

/// Signs in: `POST /api/login` with `username`, `password` and optionally `next`, the page
/// to return to (only a path on this site; the dashboard otherwise). Rotates the session id.
///
/// # Errors
/// 401 with one message for every wrong credential; 429 while the username is locked.
#[server(prefix = "/api", endpoint = "login")]
pub async fn login(
    username: String,
    password: String,
    #[server(default)] next: Option<String>,
) -> Result<SignedIn, AppError> {
    context::finish(async {
        let services = context::services()?;
        let (pool, settings) = (services.pool, services.auth);
        let header = services.client_address_header.0;
        let session = context::session().await?;
        let client = client_address(header).await;
        let account = crate::auth::sign_in_from(
            &session,
            &pool,
            &settings,
            &username,
            password,
            client.as_deref(),
        )
        .await?;
        leptos_axum::redirect(next.as_deref().and_then(same_site_path).unwrap_or("/"));
        Ok(SignedIn {
            username: account.username,
            role: account.role,
        })
    })
    .await
}

/// Signs out: `POST /api/logout`. The session's data is deleted.
///
/// # Errors
/// [`AppError::Internal`] when the session store fails.
#[server(prefix = "/api", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    context::finish(async {
        let pool = context::pool()?;
        crate::auth::sign_out(&context::session().await?, &pool).await?;
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// The header a trusted reverse proxy puts the client's address in (`X-Forwarded-For`, ...);
/// `None` to use the connection's peer address.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientAddressHeader(pub Option<String>);

/// The client's address for per-client sign-in limits: the last entry of the configured
/// header (the one the trusted proxy appended), or the connection's peer address.
#[cfg(feature = "ssr")]
async fn client_address(header: Option<String>) -> Option<String> {
    if let Some(name) = header {
        let headers: axum::http::HeaderMap = leptos_axum::extract().await.ok()?;
        let value = headers.get(name.as_str())?.to_str().ok()?;
        let last = value.rsplit(',').next()?.trim();
        return (!last.is_empty()).then(|| last.chars().take(64).collect());
    }
    let axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr> =
        leptos_axum::extract().await.ok()?;
    Some(peer.ip().to_string())
}

#[cfg(test)]
mod tests {
    use super::{login_path, same_site_path};

    #[test]
    fn only_paths_on_this_site_are_followed_after_sign_in() {
        assert_eq!(
            same_site_path("/changes/abc?view=split"),
            Some("/changes/abc?view=split")
        );
        for other in [
            "//evil.example/x",
            "https://evil.example",
            "/\\evil.example",
            "changes",
            "",
            "/a\nb",
        ] {
            assert_eq!(same_site_path(other), None, "{other:?}");
        }
    }

    #[test]
    fn the_sign_in_address_carries_the_page_asked_for() {
        assert_eq!(
            login_path("/changes/abc?view=split"),
            "/login?next=%2Fchanges%2Fabc%3Fview%3Dsplit"
        );
        assert_eq!(login_path("/"), "/login");
        assert_eq!(login_path("//evil.example"), "/login");
    }
}

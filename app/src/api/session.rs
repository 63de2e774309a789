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
        let pool = context::pool();
        let account = crate::auth::current_account(&context::session().await?, &pool).await?;
        Ok(account.map(|a| SignedIn {
            username: a.username,
            role: a.role,
        }))
    })
    .await
}

/// Signs in: `POST /api/login` with `username` and `password`. Rotates the session id.
///
/// # Errors
/// 401 with one message for every wrong credential; 429 while the username is locked.
#[server(prefix = "/api", endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<SignedIn, AppError> {
    context::finish(async {
        let (pool, settings) = (context::pool(), context::auth_settings());
        let session = context::session().await?;
        let client = client_address().await;
        let account = crate::auth::sign_in_from(
            &session,
            &pool,
            &settings,
            &username,
            password,
            client.as_deref(),
        )
        .await?;
        leptos_axum::redirect("/");
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
        let pool = context::pool();
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
async fn client_address() -> Option<String> {
    let header = use_context::<ClientAddressHeader>().and_then(|h| h.0);
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

//! The one error type server functions return to the browser and to HTTP clients.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What a server function tells its caller when it fails. The variants carry only text that is
/// safe to show: database and internal errors are logged on the server and reach the caller as
/// a bare [`AppError::Internal`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No valid session.
    #[error("sign in first")]
    Unauthenticated,
    /// Wrong credentials (the same answer whatever was wrong).
    #[error("wrong username or password")]
    SignInFailed,
    /// The session's role may not do this.
    #[error("your role may not {0}")]
    Forbidden(String),
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request itself is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The request lost a race or acted on a stale view.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; try again later.
    #[error("{0}")]
    Throttled(String),
    /// The registry's database cannot be reached now; try again shortly.
    #[error("the registry's database is unreachable: try again shortly")]
    Unavailable,
    /// Something failed on the server; details are in the server log only.
    #[error("internal error: the server log has the details")]
    Internal,
    /// The request never reached the function (network, encoding).
    #[error("request failed: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The request's fields could not be read: the caller sent something malformed.
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Deserialization(_) => {
                AppError::Invalid("malformed request: a field is missing or not of its type".into())
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

impl AppError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::SignInFailed => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Invalid(_) => 400,
            AppError::Conflict(_) => 409,
            AppError::Throttled(_) => 429,
            AppError::Unavailable => 503,
            AppError::Internal | AppError::Transport(_) => 500,
        }
    }
}

/// The one conversion of a registry failure into what the caller is told.
#[cfg(feature = "ssr")]
impl From<crate::registry::failure::Failure> for AppError {
    fn from(failure: crate::registry::failure::Failure) -> Self {
        use crate::registry::failure::Failure;
        match failure {
            Failure::NotFound(what) => AppError::NotFound(what),
            Failure::Forbidden(action) => AppError::Forbidden(action.to_owned()),
            Failure::Conflict(message) => AppError::Conflict(message),
            Failure::Invalid(message) => AppError::Invalid(message),
            Failure::Database(error) => error.into(),
        }
    }
}

/// Every registry error converts through its classification.
#[cfg(feature = "ssr")]
impl<E: crate::registry::failure::Classify> From<E> for AppError {
    fn from(error: E) -> Self {
        error.classify().into()
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        // Input PostgreSQL refuses to even read (a malformed id, a NUL byte, a number out of
        // range) is the caller's mistake, not the server's; its text is not passed on.
        if let sqlx::Error::Database(db) = &error {
            let malformed = matches!(
                db.code().as_deref(),
                Some("22P02" | "22P05" | "22021" | "22003" | "22007" | "22008" | "54000")
            );
            if malformed {
                tracing::info!(error = %error, "malformed input refused by the database");
                return AppError::Invalid("malformed request: a value is not valid".into());
            }
        }
        let unreachable = match &error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
            // Connection failures, a server shutting down, the database gone.
            sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                code.starts_with("08")
                    || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "3D000")
            }),
            _ => false,
        };
        if unreachable {
            tracing::warn!(error = %error, "the registry's database is unreachable");
            return AppError::Unavailable;
        }
        tracing::error!(error = %error, "database error");
        AppError::Internal
    }
}

//! One classification of the registry's refusals and failures. Every registry error says once
//! what kind of failure it is ([`Classify`]); the web error ([`crate::error::AppError`]) and the
//! CLI's exit code are each derived from that in one place.

/// What kind of failure a registry operation met, with what its caller may be told.
#[derive(Debug)]
pub enum Failure {
    /// No such thing: what was looked for (`change 1f0c…`).
    NotFound(String),
    /// The account may not do this: the action (`decide changes`).
    Forbidden(&'static str),
    /// The state does not allow it now: a race lost, a stale view, a refusal the caller can
    /// act on. The message says which.
    Conflict(String),
    /// The request itself is wrong. The message says how.
    Invalid(String),
    /// The database failed (unreachable, or an error of its own): logged, never shown.
    Database(sqlx::Error),
}

/// A registry error that knows what kind of failure it is.
pub trait Classify: std::fmt::Display {
    /// The kind, with the message its caller may see.
    fn classify(self) -> Failure;
}

impl Failure {
    /// The command line's exit code: 1 for a refusal, 2 when the database failed (an error of
    /// the environment, as for every other command).
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Database(_) => 2,
            _ => 1,
        }
    }
}

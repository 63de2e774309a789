//! Comments on a change: kept in its history (the audit log), where its timeline reads them.

use sqlx::PgPool;

use super::get;
use crate::registry::account::Account;
use crate::registry::audit::{self, NewEvent};

/// The longest comment accepted, in characters.
pub const MAX_COMMENT_CHARS: usize = 4_000;

/// Why a comment was refused.
#[derive(Debug, thiserror::Error)]
pub enum CommentError {
    /// Empty or too long.
    #[error("a comment needs 1 to {MAX_COMMENT_CHARS} characters")]
    Invalid,
    /// No such change.
    #[error("no change {0}")]
    NotFound(String),
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

impl crate::registry::failure::Classify for CommentError {
    fn classify(self) -> crate::registry::failure::Failure {
        use crate::registry::failure::Failure;
        match self {
            CommentError::Invalid => Failure::Invalid(self.to_string()),
            CommentError::NotFound(id) => Failure::NotFound(format!("change {id}")),
            CommentError::Database(error) => Failure::Database(error),
        }
    }
}

/// Records `account`'s comment on change `id` in its history (the audit log, where the
/// change's timeline reads it). Reviewers and admins comment; the caller checks the role.
///
/// # Errors
/// [`CommentError`].
pub async fn comment(
    pool: &PgPool,
    account: &Account,
    id: &str,
    text: &str,
) -> Result<(), CommentError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_COMMENT_CHARS {
        return Err(CommentError::Invalid);
    }
    let change = get(pool, id)
        .await?
        .ok_or_else(|| CommentError::NotFound(id.to_string()))?;
    audit::append_alone(
        pool,
        NewEvent {
            actor: &account.username,
            action: "change.commented",
            change_id: Some(&change.id),
            package: Some(&change.package),
            details: serde_json::json!({"note": text}),
        },
    )
    .await?;
    Ok(())
}

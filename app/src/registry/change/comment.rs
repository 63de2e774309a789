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
    /// Attached to an item or a statement the change does not have.
    #[error("a comment is on the whole change, on item-N or on statement-N of this change; it has no \"{0}\"")]
    UnknownTarget(String),
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
            CommentError::Invalid | CommentError::UnknownTarget(_) => {
                Failure::Invalid(self.to_string())
            }
            CommentError::NotFound(id) => Failure::NotFound(format!("change {id}")),
            CommentError::Database(error) => Failure::Database(error),
        }
    }
}

/// Records `account`'s comment on change `id` in its history (the audit log, where the
/// change's timeline reads it), on the whole change or on one of its items or statements
/// (`on`: `item-3`, `statement-7`, the anchors of the change page). Reviewers and admins
/// comment; the caller checks the role.
///
/// # Errors
/// [`CommentError`].
pub async fn comment(
    pool: &PgPool,
    account: &Account,
    id: &str,
    text: &str,
    on: Option<&str>,
) -> Result<(), CommentError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_COMMENT_CHARS {
        return Err(CommentError::Invalid);
    }
    let change = get(pool, id)
        .await?
        .ok_or_else(|| CommentError::NotFound(id.to_string()))?;
    let on = on.map(str::trim).filter(|on| !on.is_empty());
    if let Some(on) = on {
        let statements = change.plan_sql.as_deref().map_or(0, |sql| {
            crate::domain::plan_check::statement_ranges(sql).len()
        });
        if !target_exists(on, change.items.len(), statements) {
            return Err(CommentError::UnknownTarget(on.chars().take(40).collect()));
        }
    }
    let mut details = serde_json::json!({"note": text});
    if let Some(on) = on {
        details["on"] = serde_json::Value::String(on.to_owned());
    }
    audit::append_alone(
        pool,
        NewEvent {
            actor: &account.username,
            action: "change.commented",
            change_id: Some(&change.id),
            package: Some(&change.package),
            details,
        },
    )
    .await?;
    Ok(())
}

/// What a comment can be on: the `item-N` or `statement-N` anchor of the change page, as
/// (whether it is an item, N); `None` for anything else.
#[must_use]
pub fn target(on: &str) -> Option<(bool, usize)> {
    let number = |n: &str| {
        (!n.is_empty() && n.len() <= 5 && n.bytes().all(|b| b.is_ascii_digit()))
            .then(|| n.parse::<usize>().ok())
            .flatten()
    };
    match (on.strip_prefix("item-"), on.strip_prefix("statement-")) {
        (Some(n), _) => Some((true, number(n)?)),
        (_, Some(n)) => Some((false, number(n)?)),
        _ => None,
    }
}

/// Whether `on` names item 1..=`items` or statement 1..=`statements` (`item-3`, `statement-7`).
fn target_exists(on: &str, items: usize, statements: usize) -> bool {
    match target(on) {
        Some((true, n)) => (1..=items).contains(&n),
        Some((false, n)) => (1..=statements).contains(&n),
        None => false,
    }
}

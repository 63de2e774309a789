//! Accounts: who may sign in, and with which role. Every change is audited; passwords never
//! leave this module except as argon2id hashes.

use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Row};
use time::OffsetDateTime;

use super::audit::{self, NewEvent};
use super::violates;
use crate::domain::review::Role;

/// An account as shown to admins (never the hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Stable id.
    pub id: i64,
    /// Sign-in name.
    pub username: String,
    /// What the account may do.
    pub role: Role,
    /// Disabled accounts cannot sign in or decide.
    pub disabled: bool,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Moves on with every password change, role change and disabling: sessions signed in
    /// under an older version are signed out.
    #[serde(default)]
    pub credentials_version: i64,
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The name is taken.
    #[error("account \"{0}\" already exists")]
    Exists(String),
    /// No such account.
    #[error("no account named \"{0}\"")]
    NotFound(String),
    /// The name breaks the naming rule.
    #[error("invalid username \"{0}\": use 1-64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit")]
    InvalidUsername(String),
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

impl super::failure::Classify for AccountError {
    fn classify(self) -> super::failure::Failure {
        use super::failure::Failure;
        match self {
            AccountError::Exists(_) => Failure::Conflict(self.to_string()),
            AccountError::NotFound(name) => Failure::NotFound(format!("account \"{name}\"")),
            AccountError::InvalidUsername(_) => Failure::Invalid(self.to_string()),
            AccountError::Database(error) => Failure::Database(error),
        }
    }
}

/// Whether `name` is an acceptable username (the database checks the same rule; a package's
/// `owner:` follows it too).
pub fn is_valid_username(name: &str) -> bool {
    crate::domain::dialect::is_account_name(name)
}

fn from_row(row: &sqlx::postgres::PgRow) -> Result<Account, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(Account {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: role
            .parse()
            .map_err(|error| sqlx::Error::Decode(Box::new(error)))?,
        disabled: row.try_get("disabled")?,
        created_at: row.try_get("created_at")?,
        credentials_version: row.try_get("credentials_version")?,
    })
}

/// An account row as the compile-time-checked queries read it (a renamed column fails the
/// build, not a request).
struct AccountRow {
    id: i64,
    username: String,
    role: String,
    disabled: bool,
    created_at: OffsetDateTime,
    credentials_version: i64,
}

impl AccountRow {
    fn into_account(self) -> Result<Account, sqlx::Error> {
        Ok(Account {
            id: self.id,
            username: self.username,
            role: self
                .role
                .parse()
                .map_err(|error| sqlx::Error::Decode(Box::new(error)))?,
            disabled: self.disabled,
            created_at: self.created_at,
            credentials_version: self.credentials_version,
        })
    }
}

const SELECT_ACCOUNT: &str =
    "select id, username, role, disabled, created_at, credentials_version from account";

/// Creates an account with an already hashed password.
///
/// # Errors
/// [`AccountError::Exists`], [`AccountError::InvalidUsername`], database errors.
pub async fn create(
    pool: &PgPool,
    actor: &str,
    username: &str,
    password_hash: &str,
    role: Role,
) -> Result<Account, AccountError> {
    if !is_valid_username(username) {
        return Err(AccountError::InvalidUsername(username.to_string()));
    }
    let mut tx = pool.begin().await?;
    let row = sqlx::query(
        "insert into account (username, password_hash, role) values ($1, $2, $3)
         returning id, username, role, disabled, created_at, credentials_version",
    )
    .bind(username)
    .bind(password_hash)
    .bind(role.as_str())
    .fetch_one(&mut *tx)
    .await
    .map_err(|error| {
        if violates(&error, "account_username_key") {
            AccountError::Exists(username.to_string())
        } else {
            AccountError::Database(error)
        }
    })?;
    let account = from_row(&row)?;
    audit::append(
        &mut tx,
        NewEvent {
            actor,
            action: "account.created",
            change_id: None,
            package: None,
            details: serde_json::json!({"username": username, "role": role.as_str()}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(account)
}

/// Every account, by name.
///
/// # Errors
/// Database errors.
pub async fn list(pool: &PgPool) -> Result<Vec<Account>, sqlx::Error> {
    sqlx::query_as!(
        AccountRow,
        "select id, username, role, disabled, created_at, credentials_version
           from schemagate.account order by username"
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(AccountRow::into_account)
    .collect()
}

/// How many accounts exist.
///
/// # Errors
/// Database errors.
pub async fn count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"select count(*) as "count!" from schemagate.account"#)
        .fetch_one(pool)
        .await
}

/// The account named `username`, if any.
///
/// # Errors
/// Database errors.
pub async fn find(pool: &PgPool, username: &str) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as!(
        AccountRow,
        "select id, username, role, disabled, created_at, credentials_version
           from schemagate.account where username = $1",
        username
    )
    .fetch_optional(pool)
    .await?
    .map(AccountRow::into_account)
    .transpose()
}

/// The account with id `id`, if any.
///
/// # Errors
/// Database errors.
pub async fn find_by_id(pool: &PgPool, id: i64) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as!(
        AccountRow,
        "select id, username, role, disabled, created_at, credentials_version
           from schemagate.account where id = $1",
        id
    )
    .fetch_optional(pool)
    .await?
    .map(AccountRow::into_account)
    .transpose()
}

/// The account and its password hash, for signing in.
///
/// # Errors
/// Database errors.
pub async fn find_with_hash(
    pool: &PgPool,
    username: &str,
) -> Result<Option<(Account, String)>, sqlx::Error> {
    let row = sqlx::query(
        "select id, username, role, disabled, created_at, credentials_version, password_hash
           from account where username = $1",
    )
    .bind(username)
    .fetch_optional(pool)
    .await?;
    row.map(|row| Ok((from_row(&row)?, row.try_get("password_hash")?)))
        .transpose()
}

/// The field of an account an update touches.
enum Update<'a> {
    PasswordHash(&'a str),
    Role(Role),
    Disabled,
    Enabled,
}

async fn update(
    pool: &PgPool,
    actor: &str,
    username: &str,
    update: Update<'_>,
) -> Result<Account, AccountError> {
    let (sql, value, action, details) = match &update {
        Update::PasswordHash(hash) => (
            "update account set password_hash = $2, updated_at = now(),
                 credentials_version = credentials_version + 1 where username = $1",
            hash.to_string(),
            "account.password_changed",
            serde_json::json!({"username": username}),
        ),
        Update::Role(role) => (
            "update account set role = $2, updated_at = now(),
                 credentials_version = credentials_version + 1 where username = $1",
            role.as_str().to_string(),
            "account.role_changed",
            serde_json::json!({"username": username, "role": role.as_str()}),
        ),
        Update::Disabled => (
            "update account set disabled = ($2 = 'true'), updated_at = now(),
                 credentials_version = credentials_version + 1 where username = $1",
            "true".to_string(),
            "account.disabled",
            serde_json::json!({"username": username}),
        ),
        Update::Enabled => (
            "update account set disabled = ($2 = 'true'), updated_at = now() where username = $1",
            "false".to_string(),
            "account.enabled",
            serde_json::json!({"username": username}),
        ),
    };
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(sql)
        .bind(username)
        .bind(value)
        .execute(&mut *tx)
        .await?;
    if updated.rows_affected() == 0 {
        return Err(AccountError::NotFound(username.to_string()));
    }
    audit::append(
        &mut tx,
        NewEvent {
            actor,
            action,
            change_id: None,
            package: None,
            details,
        },
    )
    .await?;
    let row = sqlx::query(&format!("{SELECT_ACCOUNT} where username = $1"))
        .bind(username)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(from_row(&row)?)
}

/// Replaces the account's password hash.
///
/// # Errors
/// [`AccountError::NotFound`], database errors.
pub async fn set_password_hash(
    pool: &PgPool,
    actor: &str,
    username: &str,
    password_hash: &str,
) -> Result<Account, AccountError> {
    update(pool, actor, username, Update::PasswordHash(password_hash)).await
}

/// Changes the account's role.
///
/// # Errors
/// [`AccountError::NotFound`], database errors.
pub async fn set_role(
    pool: &PgPool,
    actor: &str,
    username: &str,
    role: Role,
) -> Result<Account, AccountError> {
    update(pool, actor, username, Update::Role(role)).await
}

/// Disables the account: it can no longer sign in or decide.
///
/// # Errors
/// [`AccountError::NotFound`], database errors.
pub async fn disable(pool: &PgPool, actor: &str, username: &str) -> Result<Account, AccountError> {
    update(pool, actor, username, Update::Disabled).await
}

/// Enables a disabled account again: it can sign in with its old password and role. Sessions
/// from before it was disabled stay signed out.
///
/// # Errors
/// [`AccountError::NotFound`], database errors.
pub async fn enable(pool: &PgPool, actor: &str, username: &str) -> Result<Account, AccountError> {
    update(pool, actor, username, Update::Enabled).await
}

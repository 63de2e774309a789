//! The registry in PostgreSQL: accounts, schema changes, the applied state, and the audit log.
//! Every state change is one transaction that also appends its audit event.

pub mod account;
pub mod apply;
pub mod audit;
pub mod bulk;
pub mod catalog_view;
pub mod change;
pub mod failure;
pub mod future;
pub mod guard;
pub mod plan;
pub mod platform;
pub mod policy;
pub mod policy_reads;
pub mod preflight;
pub mod row_security;
pub mod scan;
pub mod setting;
pub mod verdict;

/// Whether `error` is a violation of the named constraint (unique, check, ...).
pub(crate) fn violates(error: &sqlx::Error, constraint: &str) -> bool {
    error
        .as_database_error()
        .and_then(|db| db.constraint())
        .is_some_and(|name| name == constraint)
}

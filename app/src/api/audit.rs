//! Server functions for the audit pages: the log, filtered and paged, and the chain's health.
//! The export is a plain GET route of the server (`/audit/export`) using [`filter_from_query`].

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::change::EventView;
#[cfg(feature = "ssr")]
use super::context;
use crate::error::AppError;

/// Events per page of the audit log.
pub const AUDIT_PER_PAGE: i64 = 50;

/// The filters of the audit page and of the export, as they appear in the URL. Empty values
/// mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Exactly this actor.
    #[serde(default)]
    pub actor: Option<String>,
    /// Actions starting with this (`change.` matches every change event).
    #[serde(default)]
    pub action: Option<String>,
    /// Exactly this package.
    #[serde(default)]
    pub package: Option<String>,
    /// From this day on (`YYYY-MM-DD`, UTC, inclusive).
    #[serde(default)]
    pub from: Option<String>,
    /// Up to and including this day (`YYYY-MM-DD`, UTC).
    #[serde(default)]
    pub to: Option<String>,
}

/// Whether the hash chain checks out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStatus {
    /// Events checked (the whole log).
    pub events: i64,
    /// The first problem found, if any.
    pub problem: Option<String>,
}

/// One page of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    /// The events, newest first.
    pub events: Vec<EventView>,
    /// Events matching the filters in all.
    pub total: i64,
    /// This page (from 1).
    pub page: i64,
    /// Events per page.
    pub per_page: i64,
    /// The chain's health.
    pub chain: ChainStatus,
}

/// Turns the URL's filters into a registry filter: blanks are ignored, `to` includes its day.
///
/// # Errors
/// [`AppError::Invalid`] for a date that is not `YYYY-MM-DD`, or `from` after `to`.
#[cfg(feature = "ssr")]
pub fn filter_from_query(
    query: &AuditQuery,
) -> Result<crate::registry::audit::AuditFilter, AppError> {
    let nonempty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let day = |name: &str, value: Option<String>| -> Result<Option<time::Date>, AppError> {
        value
            .map(|v| {
                parse_day(&v).ok_or_else(|| {
                    AppError::Invalid(format!("invalid {name} date \"{v}\": expected YYYY-MM-DD"))
                })
            })
            .transpose()
    };
    let from = day("from", nonempty(&query.from))?;
    let to = day("to", nonempty(&query.to))?;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(AppError::Invalid(format!(
                "the from date {from} is after the to date {to}"
            )));
        }
    }
    let midnight = |d: time::Date| d.midnight().assume_utc();
    Ok(crate::registry::audit::AuditFilter {
        actor: nonempty(&query.actor),
        action: nonempty(&query.action),
        package: nonempty(&query.package),
        since: from.map(midnight),
        until: to.and_then(|d| d.next_day()).map(midnight),
        ..crate::registry::audit::AuditFilter::default()
    })
}

/// `YYYY-MM-DD` as a date, if it is one.
#[cfg(feature = "ssr")]
fn parse_day(text: &str) -> Option<time::Date> {
    let mut parts = text.splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()
}

/// One page of the audit log, newest first, with the chain's health. Any signed-in role.
///
/// # Errors
/// 401 without a session; 400 for a malformed date.
#[server(prefix = "/api", endpoint = "list_audit")]
pub async fn list_audit(
    #[server(default)] actor: Option<String>,
    #[server(default)] action: Option<String>,
    #[server(default)] package: Option<String>,
    #[server(default)] from: Option<String>,
    #[server(default)] to: Option<String>,
    #[server(default)] page: Option<i64>,
) -> Result<AuditPage, AppError> {
    use crate::domain::review::Role;
    use crate::registry::audit;
    context::finish(async {
        let (pool, _) = context::signed_in(Role::Viewer, "read the audit log").await?;
        let mut filter = filter_from_query(&AuditQuery {
            actor,
            action,
            package,
            from,
            to,
        })?;
        let page = page.unwrap_or(1).max(1);
        let total = audit::count(&pool, &filter).await?;
        filter.limit = Some(AUDIT_PER_PAGE);
        filter.offset = Some((page - 1).saturating_mul(AUDIT_PER_PAGE));
        let events = audit::list(&pool, &filter)
            .await?
            .into_iter()
            .map(super::change::event_view)
            .collect();
        let verification = audit::verify_cached(&pool).await?;
        Ok(AuditPage {
            events,
            total,
            page,
            per_page: AUDIT_PER_PAGE,
            chain: ChainStatus {
                events: verification.events,
                problem: verification.problem.map(|p| p.to_string()),
            },
        })
    })
    .await
}

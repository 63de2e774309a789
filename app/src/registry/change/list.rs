//! Listing changes: the queue's filters, order and pages, and counts per state.

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgArguments;
use sqlx::{Arguments as _, PgPool};

use super::{from_row, SchemaChange, SELECT_CHANGE};
use crate::domain::change::Risk;
use crate::domain::review::ChangeStatus;

/// Which changes to list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChangeFilter {
    /// Only this state.
    pub status: Option<ChangeStatus>,
    /// Only this risk.
    pub risk: Option<Risk>,
    /// Only this package.
    pub package: Option<String>,
    /// Text search in the package name, item summaries, the entities.yaml (entity and field
    /// names), the SQL plan, and the change's comments and reviewers' comments.
    pub search: Option<String>,
    /// Page size (default all).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
    /// Only these states (empty: any), on top of `status`.
    pub statuses: Vec<ChangeStatus>,
    /// Only packages whose name contains this text (case-insensitive).
    pub package_contains: Option<String>,
    /// Pending changes before the others, then newest first.
    pub pending_first: bool,
}

/// `text` for a `like` pattern: `%`, `_` and `\` match only themselves.
fn like_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The `where` clause of [`list`] and [`count`], over the parameters `$1`..`$6` both bind in
/// the same order.
const FILTER_WHERE: &str = "where ($1::text is null or status = $1)
           and ($2::text is null or risk = $2)
           and ($3::text is null or package = $3)
           and ($4::text is null or search_text like '%' || lower($4) || '%' escape '\\'
                or exists (select 1 from audit_event e where e.change_id = schema_change.id
                             and e.action = 'change.commented'
                             and lower(e.details->>'note') like '%' || lower($4) || '%' escape '\\')
                or exists (select 1 from review_verdict v where v.change_id = schema_change.id
                             and lower(v.comment) like '%' || lower($4) || '%' escape '\\'))
           and (cardinality($5::text[]) = 0 or status = any($5))
           and ($6::text is null or package ilike '%' || $6 || '%' escape '\\')";

fn status_names(filter: &ChangeFilter) -> Vec<String> {
    filter
        .statuses
        .iter()
        .map(|s| s.as_str().to_string())
        .collect()
}

/// The order of [`list`]: newest first (pending first when asked), then by package and id. It
/// names the table's `id` (a uuid), which the queue's indexes cover, not the text the lists
/// select under that name.
fn list_order(filter: &ChangeFilter) -> &'static str {
    if filter.pending_first {
        "order by (status = 'pending') desc, created_at desc, package, schema_change.id"
    } else {
        "order by created_at desc, package, schema_change.id"
    }
}

/// Changes matching `filter`, newest first (pending first when asked).
///
/// # Errors
/// Database errors.
pub async fn list(pool: &PgPool, filter: &ChangeFilter) -> Result<Vec<SchemaChange>, sqlx::Error> {
    list_rows(pool, SELECT_CHANGE, filter)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// The rows `select` (a select of `schema_change` without conditions) reads for `filter`, in
/// [`list`]'s order and page.
pub(super) async fn list_rows(
    pool: &PgPool,
    select: &str,
    filter: &ChangeFilter,
) -> Result<Vec<sqlx::postgres::PgRow>, sqlx::Error> {
    // The page's ids come from the indexes alone; only its rows are read and decoded.
    let order = list_order(filter);
    let sql = format!(
        "{select} where schema_change.id in
           (select schema_change.id from schema_change {FILTER_WHERE} {order} limit $7 offset $8)
         {order}"
    );
    let mut arguments = filter_arguments(filter)?;
    add(&mut arguments, filter.limit.unwrap_or(i64::MAX))?;
    add(&mut arguments, filter.offset.unwrap_or(0))?;
    sqlx::query_with(&sql, arguments).fetch_all(pool).await
}

/// `$1`..`$6` of [`FILTER_WHERE`], in its order.
fn filter_arguments(filter: &ChangeFilter) -> Result<PgArguments, sqlx::Error> {
    let mut arguments = PgArguments::default();
    add(&mut arguments, filter.status.map(ChangeStatus::as_str))?;
    add(&mut arguments, filter.risk.map(Risk::as_str))?;
    add(&mut arguments, filter.package.as_deref())?;
    add(&mut arguments, filter.search.as_deref().map(like_escaped))?;
    add(&mut arguments, status_names(filter))?;
    add(
        &mut arguments,
        filter.package_contains.as_deref().map(like_escaped),
    )?;
    Ok(arguments)
}

fn add<'q, T>(arguments: &mut PgArguments, value: T) -> Result<(), sqlx::Error>
where
    T: sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + 'q,
{
    arguments.add(value).map_err(sqlx::Error::Encode)
}

/// How many changes match `filter` (its limit and offset ignored).
///
/// # Errors
/// Database errors.
pub async fn count(pool: &PgPool, filter: &ChangeFilter) -> Result<i64, sqlx::Error> {
    let sql = format!("select count(*) from schema_change {FILTER_WHERE}");
    sqlx::query_scalar_with(&sql, filter_arguments(filter)?)
        .fetch_one(pool)
        .await
}

/// Changes per state, every state present, in lifecycle order.
///
/// # Errors
/// Database errors.
pub async fn counts(pool: &PgPool) -> Result<Vec<(ChangeStatus, i64)>, sqlx::Error> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("select status, count(*) from schema_change group by status")
            .fetch_all(pool)
            .await?;
    Ok(ChangeStatus::ALL
        .into_iter()
        .map(|status| {
            let n = rows
                .iter()
                .find(|(s, _)| s == status.as_str())
                .map_or(0, |(_, n)| *n);
            (status, n)
        })
        .collect())
}

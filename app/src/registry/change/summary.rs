//! Changes as lists show them: the few columns a row needs, without the YAML, fragments and
//! plans, so a list of thousands of changes stays small to read and to hold.

use std::collections::BTreeMap;

use sqlx::{PgPool, Row};
use time::OffsetDateTime;

use super::list::list_rows;
use super::{decode, ChangeFilter};
use crate::domain::change::Risk;
use crate::domain::review::ChangeStatus;

/// A schema change's list columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSummary {
    /// Change id (a UUID).
    pub id: String,
    /// The package.
    pub package: String,
    /// `upsert` or `drop`.
    pub kind: String,
    /// Where it is in its life.
    pub status: ChangeStatus,
    /// Risk class.
    pub risk: Risk,
    /// The checksum of the content to apply.
    pub target_checksum: String,
    /// How many entity-level items it has.
    pub items: usize,
    /// How many of them are findings (access rules, tenants).
    pub findings: usize,
    /// The entities it conflicts on.
    pub conflicts: Vec<String>,
    /// Created.
    pub created_at: OffsetDateTime,
}

const SELECT_SUMMARY: &str = "select id::text as id, package, kind, status, risk, target_checksum,
    jsonb_array_length(items) as items,
    (select count(*) from jsonb_array_elements(items) i where i->>'kind' = 'finding')::int
        as findings,
    array(select c->>'entity' from jsonb_array_elements(conflicts) c) as conflicts,
    created_at
    from schema_change";

fn from_row(row: &sqlx::postgres::PgRow) -> Result<ChangeSummary, sqlx::Error> {
    let items: i32 = row.try_get("items")?;
    let findings: i32 = row.try_get("findings")?;
    Ok(ChangeSummary {
        id: row.try_get("id")?,
        package: row.try_get("package")?,
        kind: row.try_get("kind")?,
        status: decode(row, "status")?,
        risk: decode(row, "risk")?,
        target_checksum: row.try_get("target_checksum")?,
        items: usize::try_from(items).unwrap_or_default(),
        findings: usize::try_from(findings).unwrap_or_default(),
        conflicts: row.try_get("conflicts")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The changes matching `filter`, as [`super::list`] orders and pages them, with list columns
/// only.
///
/// # Errors
/// Database errors.
pub async fn list_summaries(
    pool: &PgPool,
    filter: &ChangeFilter,
) -> Result<Vec<ChangeSummary>, sqlx::Error> {
    let rows = list_rows(pool, SELECT_SUMMARY, filter).await?;
    rows.iter().map(from_row).collect()
}

/// The open change (pending, approved or applying) of each package that has one.
///
/// # Errors
/// Database errors.
pub async fn open_by_package(
    pool: &PgPool,
) -> Result<BTreeMap<String, ChangeSummary>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{SELECT_SUMMARY} where status in ('pending', 'approved', 'applying')"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| from_row(row).map(|c| (c.package.clone(), c)))
        .collect()
}

/// The open changes (pending, approved or applying) of `packages`.
///
/// # Errors
/// Database errors.
pub async fn open_of(
    pool: &PgPool,
    packages: &[String],
) -> Result<Vec<ChangeSummary>, sqlx::Error> {
    if packages.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(&format!(
        "{SELECT_SUMMARY} where status in ('pending', 'approved', 'applying') and package = any($1)"
    ))
    .bind(packages)
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Open changes (pending or approved) that conflict with another package, newest first.
///
/// # Errors
/// Database errors.
pub async fn open_conflicted(pool: &PgPool) -> Result<Vec<ChangeSummary>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{SELECT_SUMMARY} where status in ('pending', 'approved') and conflicts <> '[]'::jsonb
         order by (status = 'pending') desc, created_at desc, package, id"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The latest rejected change of each of `packages` that has one.
///
/// # Errors
/// Database errors.
pub async fn last_rejected(
    pool: &PgPool,
    packages: &[String],
) -> Result<BTreeMap<String, ChangeSummary>, sqlx::Error> {
    if packages.is_empty() {
        return Ok(BTreeMap::new());
    }
    let rows = sqlx::query(&format!(
        "select distinct on (package) * from ({SELECT_SUMMARY}
           where status = 'rejected' and package = any($1)) rejected
         order by package, created_at desc, id"
    ))
    .bind(packages)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| from_row(row).map(|c| (c.package.clone(), c)))
        .collect()
}

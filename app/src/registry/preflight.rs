//! Preflight against the live platform database: the read-only checks of a plan's data hazards
//! ([`crate::domain::preflight`]), run in a `READ ONLY` transaction under a `statement_timeout`,
//! on the platform database or on a replica (`--preflight-database-url`), and kept with the
//! change (`change_preflight`) for the plan they checked.

use std::collections::BTreeMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use sqlx::{Connection as _, PgConnection, PgPool, Row as _};

use crate::domain::config::Config;
use crate::domain::preflight::{
    declared_hazards, hazards, queries, Fact, PreflightReport, StatementHazard,
};
use crate::platform::PlatformDatabase;
use crate::registry::change::SchemaChange;
use crate::registry::scan::sha256_hex;

/// How preflight runs; one per process, set at start-up ([`configure`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreflightSettings {
    /// A replica to read instead of the platform database.
    pub replica_url: Option<String>,
    /// The checks' `statement_timeout`.
    pub statement_timeout: Duration,
    /// Facts older than this are checked again when a change is viewed.
    pub max_age: Duration,
}

/// 60 s for the checks: a count over a few million rows takes seconds; a check that needs
/// longer is reported as not checked, and approval does not wait on it for ever.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(60);
/// Ten minutes: a change page viewed twice in a review shows the same numbers.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);

impl Default for PreflightSettings {
    fn default() -> Self {
        Self {
            replica_url: None,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            max_age: DEFAULT_MAX_AGE,
        }
    }
}

static SETTINGS: RwLock<Option<PreflightSettings>> = RwLock::new(None);

/// Sets how this process runs preflight.
pub fn configure(settings: PreflightSettings) {
    if let Ok(mut current) = SETTINGS.write() {
        *current = Some(settings);
    }
}

/// How this process runs preflight (the defaults until [`configure`]d).
#[must_use]
pub fn settings() -> PreflightSettings {
    SETTINGS
        .read()
        .ok()
        .and_then(|s| s.clone())
        .unwrap_or_default()
}

/// Runs the checks of `plan` on `platform` (or the configured replica). A check that fails
/// (a timeout, a table missing) is kept as a fact with its error; one that cannot connect
/// fails every fact with the connection's error.
pub async fn run(
    platform: &PlatformDatabase,
    plan: &str,
    declared: Vec<StatementHazard>,
) -> PreflightReport {
    let settings = settings();
    let started = Instant::now();
    let (database, source) = match &settings.replica_url {
        Some(url) => (PlatformDatabase::new(url.clone()), "replica"),
        None => (platform.clone(), "platform"),
    };
    let mut found = hazards(plan);
    found.extend(declared);
    let facts = if found.is_empty() {
        Vec::new()
    } else {
        match check_all(&database, &found, settings.statement_timeout).await {
            Ok(facts) => facts,
            Err(error) => found
                .iter()
                .map(|h| failed(h, format!("cannot read the {source} database: {error}")))
                .collect(),
        }
    };
    PreflightReport {
        checked_at: now_rfc3339(),
        plan_sha256: sha256_hex(plan),
        source: source.to_string(),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        facts,
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn failed(hazard: &StatementHazard, error: String) -> Fact {
    Fact {
        statement: hazard.statement,
        hazard: hazard.hazard.clone(),
        rows: 0,
        violating: None,
        examples: Vec::new(),
        lost: None,
        error: Some(error),
    }
}

/// Every hazard checked in one read-only transaction; each in a savepoint, so that one that
/// fails leaves the others their answer.
async fn check_all(
    database: &PlatformDatabase,
    found: &[StatementHazard],
    timeout: Duration,
) -> Result<Vec<Fact>, sqlx::Error> {
    let mut conn = database.connect().await?;
    sqlx::query("begin transaction isolation level repeatable read read only")
        .execute(&mut conn)
        .await?;
    let set_timeout = format!("set local statement_timeout = '{}ms'", timeout.as_millis());
    sqlx::query(&set_timeout).execute(&mut conn).await?;
    let mut facts = Vec::with_capacity(found.len());
    // Per table: its primary key and row count, read once (one snapshot: they do not move).
    let mut tables = BTreeMap::new();
    for hazard in found {
        sqlx::query("savepoint preflight")
            .execute(&mut conn)
            .await?;
        match check_one(&mut conn, hazard, &mut tables).await {
            Ok(fact) => facts.push(fact),
            Err(error) => {
                sqlx::query("rollback to savepoint preflight")
                    .execute(&mut conn)
                    .await?;
                facts.push(failed(hazard, describe(&error)));
            }
        }
    }
    sqlx::query("rollback").execute(&mut conn).await?;
    let _ = conn.close().await;
    Ok(facts)
}

/// PostgreSQL's own words for a failed check (`canceling statement due to statement timeout`).
fn describe(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => {
            format!("{} ({})", db.message(), db.code().as_deref().unwrap_or("?"))
        }
        other => other.to_string(),
    }
}

async fn check_one(
    conn: &mut PgConnection,
    found: &StatementHazard,
    tables: &mut BTreeMap<String, (Vec<String>, i64)>,
) -> Result<Fact, sqlx::Error> {
    let table = found.hazard.table().to_string();
    let (key, rows) = match tables.get(&table) {
        Some(known) => known.clone(),
        None => {
            let key = primary_key(conn, &table).await?;
            let rows: i64 = sqlx::query_scalar(&queries(&found.hazard, &key).rows)
                .fetch_one(&mut *conn)
                .await?;
            tables.insert(table, (key.clone(), rows));
            (key, rows)
        }
    };
    let checks = queries(&found.hazard, &key);
    let violating = match &checks.violating {
        Some(sql) => {
            let query = sqlx::query_scalar::<_, i64>(sql);
            let query = match &checks.values {
                Some(values) => query.bind(values.clone()),
                None => query,
            };
            Some(query.fetch_one(&mut *conn).await?)
        }
        None => None,
    };
    let examples = match (&checks.examples, violating) {
        (Some(sql), Some(n)) if n > 0 => {
            let query = sqlx::query_scalar::<_, String>(sql);
            let query = match &checks.values {
                Some(values) => query.bind(values.clone()),
                None => query,
            };
            query.fetch_all(&mut *conn).await?
        }
        _ => Vec::new(),
    };
    let lost = match &checks.lost {
        Some(sql) => Some(sqlx::query_scalar(sql).fetch_one(&mut *conn).await?),
        None => None,
    };
    Ok(Fact {
        statement: found.statement,
        hazard: found.hazard.clone(),
        rows,
        violating,
        examples,
        lost,
        error: None,
    })
}

/// The primary key columns of `table` in the connection's schema, in key order.
async fn primary_key(conn: &mut PgConnection, table: &str) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "select a.attname::text as name
         from pg_index i
         join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
         where i.indrelid = to_regclass(quote_ident($1)) and i.indisprimary
         order by array_position(i.indkey::int2[], a.attnum)",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| r.try_get("name")).collect()
}

/// The facts kept for change `id` and whether they are younger than `max_age`, if any.
///
/// # Errors
/// Database errors.
pub async fn load(
    pool: &PgPool,
    id: &str,
    max_age: Duration,
) -> Result<Option<(PreflightReport, bool)>, sqlx::Error> {
    let row = sqlx::query(
        "select report, checked_at > now() - make_interval(secs => $2) as fresh
         from change_preflight where change_id = $1::uuid",
    )
    .bind(id)
    .bind(max_age.as_secs_f64())
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let report: serde_json::Value = row.try_get("report")?;
    let fresh: bool = row.try_get("fresh")?;
    Ok(serde_json::from_value(report).ok().map(|r| (r, fresh)))
}

/// Keeps `report` with change `id`, replacing what was kept.
///
/// # Errors
/// Database errors.
pub async fn store(pool: &PgPool, id: &str, report: &PreflightReport) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into change_preflight (change_id, plan_sha256, checked_at, report)
         values ($1::uuid, $2, now(), $3)
         on conflict (change_id) do update set plan_sha256 = excluded.plan_sha256,
             checked_at = excluded.checked_at, report = excluded.report",
    )
    .bind(id)
    .bind(&report.plan_sha256)
    .bind(serde_json::to_value(report).unwrap_or_default())
    .execute(pool)
    .await?;
    Ok(())
}

/// The facts of change `id` for `plan`: the kept ones when they checked this plan and are
/// younger than `max_age` (`None`: always check again), else checked now and kept.
///
/// # Errors
/// Database errors of the registry (the platform's are kept in the facts).
pub async fn current(
    pool: &PgPool,
    platform: &PlatformDatabase,
    change: &SchemaChange,
    config: &Config,
    max_age: Option<Duration>,
) -> Result<PreflightReport, sqlx::Error> {
    let id = &change.id;
    let plan = change.plan_sql.as_deref().unwrap_or_default();
    if let Some(max_age) = max_age {
        if let Some((kept, true)) = load(pool, id, max_age).await? {
            if kept.plan_sha256 == sha256_hex(plan) {
                return Ok(kept);
            }
        }
    }
    let report = run(platform, plan, declared(pool, change, config).await?).await;
    store(pool, id, &report).await?;
    Ok(report)
}

/// The hazards of `change`'s declarations no statement carries: its entities as applied
/// against its entities with the change.
///
/// # Errors
/// Database errors.
pub async fn declared(
    pool: &PgPool,
    change: &SchemaChange,
    config: &Config,
) -> Result<Vec<StatementHazard>, sqlx::Error> {
    use crate::domain::dialect::parse_entities;
    let before_yaml = crate::registry::change::base_yaml(pool, change)
        .await?
        .unwrap_or_default();
    let before = parse_entities(&before_yaml, &change.package, config).entities;
    let after = parse_entities(&change.yaml_snapshot, &change.package, config).entities;
    Ok(declared_hazards(&before, &after))
}

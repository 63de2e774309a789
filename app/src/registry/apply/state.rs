//! The schema the restart job writes: which package content is live (applied) or about to be
//! (approved, in approval order), whether a change's stored content is still what was reviewed,
//! and the full Prisma rendering of a set of packages.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sqlx::{PgConnection, PgPool, Row};

use super::super::change::{from_row, SchemaChange, SELECT_CHANGE};
use super::super::scan::sha256_hex;
use crate::domain::base_schema::BaseSchema;
use crate::domain::checksum::{entity_checksum, package_checksum};
use crate::domain::config::Config;
use crate::domain::diagnostic::Severity;
use crate::domain::dialect::parse_entities;
use crate::domain::model::{Acl, Entity};
use crate::domain::prisma::{render_full_schema, PackageModels, RenderError};

/// One package's live content, as recorded in `applied_package`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedPackage {
    /// The package.
    pub package: String,
    /// Its package checksum.
    pub checksum: String,
    /// The `entities.yaml` that was applied.
    pub yaml_snapshot: String,
    /// The change that made it live.
    pub change_id: String,
}

/// Why a set of packages could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// A stored snapshot no longer parses.
    #[error("the stored entities.yaml of package {package} does not parse: {message}")]
    Unreadable {
        /// The package.
        package: String,
        /// The first problem.
        message: String,
    },
    /// The packages do not render together.
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// Why a change's stored content is not what was reviewed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntegrityError {
    /// `fragment_after` was edited after the scan.
    #[error("the stored fragment hashes to {actual}, not to the recorded {recorded}")]
    Fragment {
        /// `fragment_sha256` as stored.
        recorded: String,
        /// SHA-256 of `fragment_after` now.
        actual: String,
    },
    /// The YAML snapshot no longer parses.
    #[error("the stored entities.yaml does not parse: {0}")]
    Unreadable(String),
    /// The YAML snapshot parses to other content than was approved.
    #[error("the stored entities.yaml has checksum {actual}, not the approved target {target}")]
    Checksum {
        /// The approved target.
        target: String,
        /// What the snapshot hashes to now.
        actual: String,
    },
    /// A drop whose target is not "no entities", or that carries content.
    #[error("a drop must target the checksum of no entities ({expected}) and carry no yaml, but targets {target}")]
    Drop {
        /// The checksum of no entities.
        expected: String,
        /// The recorded target.
        target: String,
    },
}

/// The file name shown in diagnostics of a stored snapshot.
fn snapshot_file(package: &str) -> String {
    format!("{package}/seed/schema/entities.yaml")
}

/// Parses a stored snapshot; the first error is returned as text.
///
/// # Errors
/// The first error diagnostic, as text.
pub fn parse_snapshot(package: &str, yaml: &str, config: &Config) -> Result<Vec<Entity>, String> {
    let parsed = parse_entities(yaml, &snapshot_file(package), config);
    match parsed
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
    {
        Some(problem) => Err(problem.to_string()),
        None => Ok(parsed.entities),
    }
}

/// The package checksum of `entities`, as the scan computes it.
pub fn checksum_of(entities: &[Entity]) -> String {
    let checksums: Vec<(String, String)> = entities
        .iter()
        .map(|e| (e.name.clone(), entity_checksum(e)))
        .collect();
    package_checksum(
        checksums
            .iter()
            .map(|(name, checksum)| (name.as_str(), checksum.as_str())),
    )
}

/// Checks that `change` still carries what was reviewed: its fragment hashes to
/// `fragment_sha256`, and its YAML snapshot re-parses to `target_checksum` (a drop targets the
/// checksum of no entities). Returns the entities to apply (none for a drop).
///
/// # Errors
/// [`IntegrityError`] naming what does not match.
pub fn verify_integrity(
    change: &SchemaChange,
    config: &Config,
) -> Result<Vec<Entity>, IntegrityError> {
    let actual = sha256_hex(&change.fragment_after);
    if actual != change.fragment_sha256 {
        return Err(IntegrityError::Fragment {
            recorded: change.fragment_sha256.clone(),
            actual,
        });
    }
    if change.kind == "drop" {
        let expected = package_checksum(std::iter::empty());
        if change.target_checksum != expected || !change.yaml_snapshot.trim().is_empty() {
            return Err(IntegrityError::Drop {
                expected,
                target: change.target_checksum.clone(),
            });
        }
        return Ok(Vec::new());
    }
    let entities = parse_snapshot(&change.package, &change.yaml_snapshot, config)
        .map_err(IntegrityError::Unreadable)?;
    let actual = checksum_of(&entities);
    if actual != change.target_checksum {
        return Err(IntegrityError::Checksum {
            target: change.target_checksum.clone(),
            actual,
        });
    }
    Ok(entities)
}

/// Every package's live content, by package.
///
/// # Errors
/// Database errors.
pub async fn applied_packages(
    conn: &mut PgConnection,
) -> Result<BTreeMap<String, AppliedPackage>, sqlx::Error> {
    let rows = sqlx::query("select package, checksum, yaml_snapshot, change_id::text as change_id from applied_package")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            let package: String = row.try_get("package")?;
            Ok((
                package.clone(),
                AppliedPackage {
                    package,
                    checksum: row.try_get("checksum")?,
                    yaml_snapshot: row.try_get("yaml_snapshot")?,
                    change_id: row.try_get("change_id")?,
                },
            ))
        })
        .collect()
}

/// A package's live checksum and entities, without its YAML: what catalog pages list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedSummary {
    /// Its package checksum.
    pub checksum: String,
    /// The change that made it live.
    pub change_id: String,
    /// `(name, checksum)` of each live entity.
    pub entities: Vec<(String, String)>,
}

/// Every package's live checksum and entities, by package.
///
/// # Errors
/// Database errors.
pub async fn applied_summaries(
    conn: &mut PgConnection,
) -> Result<BTreeMap<String, AppliedSummary>, sqlx::Error> {
    let rows: Vec<(String, String, String, Value)> =
        sqlx::query_as("select package, checksum, change_id::text, entities from applied_package")
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(package, checksum, change_id, entities)| {
            let field = |e: &Value, key: &str| {
                e.get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let entities = entities
                .as_array()
                .map(|list| {
                    list.iter()
                        .map(|e| (field(e, "name"), field(e, "checksum")))
                        .collect()
                })
                .unwrap_or_default();
            (
                package,
                AppliedSummary {
                    checksum,
                    change_id,
                    entities,
                },
            )
        })
        .collect())
}

/// Changes the restart job still has to apply: one left `applying` by a killed run first, then
/// the approved ones in approval order.
///
/// # Errors
/// Database errors.
pub async fn queued_changes(conn: &mut PgConnection) -> Result<Vec<SchemaChange>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{SELECT_CHANGE} where status in ('approved', 'applying')
         order by status = 'applying' desc, approval_seq nulls last, created_at, id"
    ))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Package → YAML snapshot: the applied state with every approved (or applying) change laid
/// over it in approval order; a drop removes its package. This is what the registry will look
/// like once the restart job has applied everything.
///
/// # Errors
/// Database errors.
pub async fn desired_state(pool: &PgPool) -> Result<BTreeMap<String, String>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // One snapshot of both tables.
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let state = desired_state_on(&mut tx).await?;
    tx.commit().await?;
    Ok(state)
}

/// [`desired_state`] read on `conn`, inside the caller's transaction.
///
/// # Errors
/// Database errors.
pub async fn desired_state_on(
    conn: &mut PgConnection,
) -> Result<BTreeMap<String, String>, sqlx::Error> {
    let mut state: BTreeMap<String, String> = applied_packages(&mut *conn)
        .await?
        .into_values()
        .map(|p| (p.package, p.yaml_snapshot))
        .collect();
    for change in queued_changes(&mut *conn).await? {
        if change.kind == "drop" {
            state.remove(&change.package);
        } else {
            state.insert(change.package, change.yaml_snapshot);
        }
    }
    Ok(state)
}

/// Parses every package's snapshot.
///
/// # Errors
/// [`StateError::Unreadable`] for the first snapshot that does not parse.
pub fn parse_state(
    state: &BTreeMap<String, String>,
    config: &Config,
) -> Result<BTreeMap<String, Vec<Entity>>, StateError> {
    state
        .iter()
        .map(|(package, yaml)| {
            parse_snapshot(package, yaml, config)
                .map(|entities| (package.clone(), entities))
                .map_err(|message| StateError::Unreadable {
                    package: package.clone(),
                    message,
                })
        })
        .collect()
}

/// The full Prisma schema of `packages` (package → entities) over `base`, packages in id order,
/// exactly as `schemagate generate --from-packages` lays out the same packages.
///
/// # Errors
/// [`StateError::Render`] when the packages do not render together.
pub fn render_entities(
    base: &BaseSchema,
    packages: &BTreeMap<String, Vec<Entity>>,
) -> Result<String, StateError> {
    let models: Vec<PackageModels<'_>> = packages
        .iter()
        .map(|(package, entities)| PackageModels { package, entities })
        .collect();
    Ok(render_full_schema(base, &models)?)
}

/// The full Prisma schema of the registry's applied and approved state: what `schemagate
/// generate` prints and what `schemagate apply` leaves behind once everything applied.
/// Approved changes held back behind a failed, rejected or unapproved dependency are left out,
/// as the restart job leaves them.
///
/// # Errors
/// Database errors outside, [`StateError`] inside.
pub async fn render_desired(
    pool: &PgPool,
    base: &BaseSchema,
    config: &Config,
) -> Result<Result<String, StateError>, sqlx::Error> {
    let context = crate::registry::future::SchemaContext {
        base: base.clone(),
        config: config.clone(),
        engine: None,
    };
    let mut tx = pool.begin().await?;
    // One snapshot of the applied state and the queue.
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let state = crate::registry::future::future_state_on(&mut tx, &context)
        .await?
        .state;
    tx.commit().await?;
    Ok(parse_state(&state, config).and_then(|packages| render_entities(base, &packages)))
}

/// `[{"name", "checksum"}]` of `entities`, as stored in `applied_package.entities`.
pub fn entities_json(entities: &[Entity]) -> Value {
    Value::Array(
        entities
            .iter()
            .map(|e| serde_json::json!({"name": e.name, "checksum": entity_checksum(e)}))
            .collect(),
    )
}

/// The effective access policy of `entities`, as stored in `applied_package.acl`:
/// `{"Entity": {"read": ["user"], ..., "rowLevel": "userId = $user.id"}}` (entities without an
/// ACL are left out).
pub fn acl_json(entities: &[Entity]) -> Value {
    let mut policy = Map::new();
    for entity in entities {
        if let Some(acl) = &entity.acl {
            policy.insert(entity.name.clone(), Value::Object(acl_object(acl)));
        }
    }
    Value::Object(policy)
}

fn acl_object(acl: &Acl) -> Map<String, Value> {
    let mut object = Map::new();
    for (op, roles) in &acl.rules {
        object.insert(
            op.as_str().to_string(),
            roles
                .iter()
                .map(|r| Value::String(r.name.clone()))
                .collect(),
        );
    }
    if let Some(row_level) = &acl.row_level {
        object.insert(
            "rowLevel".to_string(),
            Value::String(row_level.source.clone()),
        );
    }
    object
}

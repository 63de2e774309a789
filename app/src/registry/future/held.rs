//! Approved changes that cannot apply: they need an entity that a failed, rejected or
//! unapproved change would declare (directly, or through another change held back). They stay
//! approved, the restart job holds them back, and the future an approval is checked against
//! leaves them out, so that a failure blocks its dependents and nothing else.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use super::super::apply::{applied_packages, queued_changes};
use super::super::change::SchemaChange;
use super::{locate, short, Dependency, DependencyState, SchemaContext};
use crate::domain::base_schema::BaseSchema;
use crate::domain::config::Config;
use crate::domain::dependency::{declared, foreign_targets, stranded, WorkItem};
use crate::domain::dialect::parse_entities;

/// An approved change that cannot apply, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldBack {
    /// The change held back.
    pub change_id: String,
    /// Its package.
    pub package: String,
    /// The entity it needs and does not get.
    pub entity: String,
    /// The package it needs the entity from when that package is held back too.
    pub through: Option<String>,
    /// What holds the chain back: the dependency that is neither applied nor approved.
    pub cause: Dependency,
}

impl HeldBack {
    /// The package at the root of the chain, if a package declares the missing entity.
    #[must_use]
    pub fn blocked_by(&self) -> Option<&str> {
        self.cause.package.as_deref()
    }

    /// The short form for badges: `held back: billing failed`.
    #[must_use]
    pub fn headline(&self) -> String {
        let reason = self.reason();
        reason
            .split_once(": ")
            .and_then(|(_, rest)| {
                rest.split_once(": ")
                    .map(|(head, _)| format!("held back: {head}"))
            })
            .unwrap_or(reason)
    }

    /// One sentence: what holds the change back, and what unblocks it
    /// (`held back: billing failed: ...`).
    #[must_use]
    pub fn reason(&self) -> String {
        let cause = &self.cause;
        let root = cause.package.as_deref().unwrap_or("no package");
        let head = match (&cause.package, cause.state) {
            (None, _) => format!("held back: no package declares {}", cause.entity),
            (Some(p), DependencyState::Failed) => format!("held back: {p} failed"),
            (Some(p), DependencyState::Rejected) => format!("held back: {p} was rejected"),
            (Some(p), DependencyState::Pending) => format!("held back: {p} is not approved"),
            (Some(p), state) => format!("held back: {p} is {}", state.as_str()),
        };
        let need = match &self.through {
            Some(through) => format!(
                "{} needs {} from {through}, which is held back behind {root}",
                self.package, self.entity
            ),
            None => format!(
                "{} needs {} from {root}{}",
                self.package,
                self.entity,
                cause
                    .change_id
                    .as_deref()
                    .map(|id| format!(" (change {})", short(id)))
                    .unwrap_or_default()
            ),
        };
        let unblock = match (&cause.package, cause.state) {
            (Some(p), DependencyState::Failed) => format!(
                "retry {p}'s change, or fix {p}'s package and approve its new change; {} applies once {p} does",
                self.package
            ),
            (Some(p), DependencyState::Rejected) => format!(
                "approve new content of {p}, or change {} so that it no longer needs {}",
                self.package, cause.entity
            ),
            (Some(p), DependencyState::Pending) => format!("approve {p}'s change first"),
            _ => format!(
                "change {} so that it no longer needs {}, or have a package declare it",
                self.package, cause.entity
            ),
        };
        format!("{head}: {need}; {unblock}")
    }
}

/// What the registry will hold once the restart job has applied everything it can: the applied
/// state with every approved change that can apply laid over it, and those that cannot.
#[derive(Debug, Clone, Default)]
pub struct Future {
    /// Package → YAML snapshot.
    pub state: BTreeMap<String, String>,
    /// The approved changes left out, by change id.
    pub held: BTreeMap<String, HeldBack>,
}

/// The [`Future`] read on `conn`, inside the caller's transaction.
///
/// # Errors
/// Database errors.
pub async fn future_state_on(
    conn: &mut PgConnection,
    context: &SchemaContext,
) -> Result<Future, sqlx::Error> {
    let queued = queued_changes(&mut *conn).await?;
    let held = held_back_among(&mut *conn, &queued, &context.base, &context.config).await?;
    let mut state: BTreeMap<String, String> = applied_packages(&mut *conn)
        .await?
        .into_values()
        .map(|p| (p.package, p.yaml_snapshot))
        .collect();
    for change in queued.into_iter().filter(|c| !held.contains_key(&c.id)) {
        if change.kind == "drop" {
            state.remove(&change.package);
        } else {
            state.insert(change.package, change.yaml_snapshot);
        }
    }
    Ok(Future { state, held })
}

/// The approved (or applying) changes that are held back, by change id.
///
/// # Errors
/// Database errors.
pub async fn held_back(
    conn: &mut PgConnection,
    context: &SchemaContext,
) -> Result<BTreeMap<String, HeldBack>, sqlx::Error> {
    let queued = queued_changes(&mut *conn).await?;
    held_back_among(conn, &queued, &context.base, &context.config).await
}

/// Which of `queued` (the restart job's queue) are held back, by change id; each says why,
/// naming the failed, rejected or unapproved change at the root of its chain.
///
/// # Errors
/// Database errors.
pub async fn held_back_among(
    conn: &mut PgConnection,
    queued: &[SchemaChange],
    base: &BaseSchema,
    config: &Config,
) -> Result<BTreeMap<String, HeldBack>, sqlx::Error> {
    let applied: BTreeMap<String, BTreeSet<String>> = applied_packages(&mut *conn)
        .await?
        .into_values()
        .map(|p| {
            let entities = parse_entities(&p.yaml_snapshot, &p.package, config).entities;
            (p.package, declared(&entities))
        })
        .collect();
    let items: Vec<WorkItem> = queued.iter().map(|c| work_item(c, base, config)).collect();
    let mut found: Vec<(usize, (String, usize))> = stranded(&applied, &items).into_iter().collect();
    // Causes before their effects: a change held back behind another takes that one's cause.
    found.sort_by_key(|(_, (_, round))| *round);
    let mut held: BTreeMap<usize, HeldBack> = BTreeMap::new();
    for (index, (entity, _)) in found {
        let change = &queued[index];
        let behind = held
            .iter()
            .find(|(j, _)| {
                items[**j].package != change.package && items[**j].declares.contains(&entity)
            })
            .map(|(_, other)| (other.package.clone(), other.cause.clone()));
        let (through, cause) = match behind {
            Some((package, cause)) => (Some(package), cause),
            None => (
                None,
                locate(conn, &change.package, &entity, config, None).await?,
            ),
        };
        held.insert(
            index,
            HeldBack {
                change_id: change.id.clone(),
                package: change.package.clone(),
                entity,
                through,
                cause,
            },
        );
    }
    Ok(held
        .into_values()
        .map(|h| (h.change_id.clone(), h))
        .collect())
}

/// What `change` declares and needs from other packages (a drop: nothing).
pub(crate) fn work_item(change: &SchemaChange, base: &BaseSchema, config: &Config) -> WorkItem {
    let entities = if change.kind == "drop" {
        Vec::new()
    } else {
        parse_entities(&change.yaml_snapshot, &change.package, config).entities
    };
    WorkItem {
        package: change.package.clone(),
        declares: declared(&entities),
        needs: foreign_targets(&entities, base),
    }
}

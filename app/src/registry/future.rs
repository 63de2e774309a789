//! What the registry will become once the restart job has applied everything approved, and
//! what a change needs from other packages. An approval is only given when the schema the
//! restart job would write with the change added still validates and renders.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use super::change::SchemaChange;
use crate::domain::base_schema::BaseSchema;
use crate::domain::catalog::{Catalog, PackageId, PackageSource};
use crate::domain::config::Config;
use crate::domain::dependency::{declared, foreign_targets};
use crate::domain::dialect::parse_entities;

mod held;

pub use held::{future_state_on, held_back, held_back_among, HeldBack};

/// What rendering needs besides the registry: the base schema and the domain configuration.
#[derive(Debug, Clone, Default)]
pub struct SchemaContext {
    /// The Prisma base schema.
    pub base: BaseSchema,
    /// Role vocabulary, owner fields, limits.
    pub config: Config,
    /// The platform database's schema engine: approvals check the change's SQL plan with it.
    pub engine: Option<std::sync::Arc<crate::platform::PlatformEngine>>,
}

/// Where a package another change needs stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DependencyState {
    /// Live.
    Applied,
    /// Approved (or being applied): the restart job applies it first.
    Approved,
    /// Waiting for a decision.
    Pending,
    /// The restart job could not apply it.
    Failed,
    /// Refused by an admin.
    Rejected,
    /// Approved, but it cannot apply: it needs what a failed, rejected or unapproved change
    /// would declare.
    #[serde(rename = "held_back")]
    HeldBack,
    /// No package declares the entity.
    Missing,
}

impl DependencyState {
    /// The state's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Approved => "approved",
            Self::Pending => "pending",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
            Self::HeldBack => "held_back",
            Self::Missing => "missing",
        }
    }

    /// Whether a change needing it may be approved.
    #[must_use]
    pub fn is_satisfied(self) -> bool {
        matches!(self, Self::Applied | Self::Approved)
    }
}

/// An entity a change relates to that another package declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// The entity.
    pub entity: String,
    /// The package declaring it, if any.
    pub package: Option<String>,
    /// Where that package stands.
    pub state: DependencyState,
    /// That package's change declaring it (approved, pending, failed or rejected).
    pub change_id: Option<String>,
}

impl Dependency {
    /// One sentence for refusals and the CLI.
    #[must_use]
    pub fn describe(&self) -> String {
        match (&self.package, &self.change_id, self.state) {
            (None, _, _) => format!("{} is declared by no package", self.entity),
            (Some(package), _, DependencyState::Applied) => {
                format!("{} is applied by {package}", self.entity)
            }
            (Some(package), Some(id), DependencyState::HeldBack) => format!(
                "{} is declared by {package}, whose change {} is approved but held back",
                self.entity,
                short(id)
            ),
            (Some(package), Some(id), state) => format!(
                "{} is declared by {package}, whose change {} is {}",
                self.entity,
                short(id),
                state.as_str()
            ),
            (Some(package), None, state) => {
                format!(
                    "{} is declared by {package} ({})",
                    self.entity,
                    state.as_str()
                )
            }
        }
    }
}

pub(crate) fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// Why the future schema refuses a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct FutureProblem {
    /// The package of the change.
    pub package: String,
    /// What does not validate or render, one line each.
    pub problems: Vec<String>,
    /// Dependencies that are neither applied nor approved.
    pub unmet: Vec<Dependency>,
}

impl FutureProblem {
    fn message(&self) -> String {
        let mut text = if self.unmet.is_empty() {
            format!(
                "cannot approve {}: the schema the restart job would write with it does not validate: {}",
                self.package,
                self.problems.first().map_or("", String::as_str)
            )
        } else {
            let needs: Vec<String> = self.unmet.iter().map(Dependency::describe).collect();
            format!(
                "cannot approve {}: it depends on entities that are neither applied nor approved: {}; approve those first",
                self.package,
                needs.join("; ")
            )
        };
        if self.unmet.is_empty() && self.problems.len() > 1 {
            text.push_str(&format!(" (and {} more)", self.problems.len() - 1));
        }
        text
    }
}

/// Checks that the schema the restart job would write with `change` approved (applied state,
/// every approved change that can apply, and this one) validates and renders. Approved changes
/// held back behind a failed, rejected or unapproved dependency are left out: they cannot
/// apply, so they block nothing.
///
/// # Errors
/// Database errors outside; the refusal inside.
pub async fn check_approval(
    conn: &mut PgConnection,
    change: &SchemaChange,
    context: &SchemaContext,
) -> Result<Result<(), FutureProblem>, sqlx::Error> {
    let mut state = future_state_on(conn, context).await?.state;
    let before = state.clone();
    if change.kind == "drop" {
        state.remove(&change.package);
    } else {
        state.insert(change.package.clone(), change.yaml_snapshot.clone());
    }
    let mut problems = future_problems(&state, context);
    if problems.is_empty() {
        problems =
            super::policy_reads::foreign_policy_reads(&before, &state, &change.package, context);
    }
    if problems.is_empty() {
        return Ok(Ok(()));
    }
    let unmet = dependencies(conn, change, context)
        .await?
        .into_iter()
        .filter(|d| !d.state.is_satisfied())
        .collect();
    Ok(Err(FutureProblem {
        package: change.package.clone(),
        problems,
        unmet,
    }))
}

/// The validation errors, conflicts and render error of the packages in `state` together.
#[must_use]
pub fn future_problems(state: &BTreeMap<String, String>, context: &SchemaContext) -> Vec<String> {
    let catalog = catalog_of(state, context);
    let mut problems: Vec<String> = catalog
        .packages
        .iter()
        .flat_map(|p| p.errors.iter().map(ToString::to_string))
        .collect();
    problems.extend(catalog.conflicts.iter().map(|c| {
        let packages: Vec<&str> = c.declarations.iter().map(|d| d.package.as_str()).collect();
        format!(
            "entity {} would be declared differently by {}",
            c.entity,
            packages.join(" and ")
        )
    }));
    if problems.is_empty() {
        if let Err(error) = catalog.render_schema() {
            problems.push(error.to_string());
        }
    }
    problems
}

/// The catalog of a desired state (package → YAML).
#[must_use]
pub fn catalog_of(state: &BTreeMap<String, String>, context: &SchemaContext) -> Catalog {
    let sources = state
        .iter()
        .filter_map(|(package, yaml)| {
            Some(PackageSource {
                id: PackageId::parse(package).ok()?,
                file: format!("{package}/seed/schema/entities.yaml"),
                text: yaml.clone(),
            })
        })
        .collect();
    Catalog::build(sources, context.base.clone(), &context.config)
}

/// The entities `change` relates to that other packages declare, with where each stands.
///
/// # Errors
/// Database errors.
pub async fn dependencies(
    conn: &mut PgConnection,
    change: &SchemaChange,
    context: &SchemaContext,
) -> Result<Vec<Dependency>, sqlx::Error> {
    let entities = parse_entities(&change.yaml_snapshot, &change.package, &context.config).entities;
    let targets = foreign_targets(&entities, &context.base);
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let held = held_back(&mut *conn, context).await?;
    let mut out = Vec::new();
    for entity in targets {
        out.push(locate(conn, &change.package, &entity, &context.config, Some(&held)).await?);
    }
    Ok(out)
}

/// Who declares `entity` (other than `package`), best state first: approved, applied,
/// pending, failed, rejected. An approved change in `held` is held back, unless the entity is
/// applied anyway.
async fn locate(
    conn: &mut PgConnection,
    package: &str,
    entity: &str,
    config: &Config,
    held: Option<&BTreeMap<String, HeldBack>>,
) -> Result<Dependency, sqlx::Error> {
    let candidates = declaring_changes(conn, package, entity, config).await?;
    let found = |states: &[&str]| {
        candidates
            .iter()
            .find(|c| states.contains(&c.2.as_str()))
            .cloned()
    };
    let dependency = |c: Candidate, state| Dependency {
        entity: entity.to_string(),
        package: Some(c.1),
        state,
        change_id: Some(c.0),
    };
    let approved = found(&["approved", "applying"]);
    let is_held = |c: &Candidate| held.is_some_and(|held| held.contains_key(&c.0));
    if let Some(c) = approved.clone().filter(|c| !is_held(c)) {
        return Ok(dependency(c, DependencyState::Approved));
    }
    if let Some(applied) = applied_declarer(conn, package, entity).await? {
        return Ok(Dependency {
            entity: entity.to_string(),
            package: Some(applied),
            state: DependencyState::Applied,
            change_id: None,
        });
    }
    if let Some(c) = approved {
        return Ok(dependency(c, DependencyState::HeldBack));
    }
    for (statuses, state) in [
        (&["pending"][..], DependencyState::Pending),
        (&["failed"][..], DependencyState::Failed),
        (&["rejected"][..], DependencyState::Rejected),
    ] {
        if let Some(c) = found(statuses) {
            return Ok(dependency(c, state));
        }
    }
    Ok(Dependency {
        entity: entity.to_string(),
        package: None,
        state: DependencyState::Missing,
        change_id: None,
    })
}

/// A change declaring an entity: its id, package, status and creation time.
type Candidate = (String, String, String, time::OffsetDateTime);

/// The open or decided changes of packages other than `package` that declare `entity`, newest
/// first.
async fn declaring_changes(
    conn: &mut PgConnection,
    package: &str,
    entity: &str,
    config: &Config,
) -> Result<Vec<Candidate>, sqlx::Error> {
    // Changes list the names they declare: the newest of each state is enough. One written
    // before that list existed mentions the name, and parsing confirms it declares it.
    let mut candidates: Vec<Candidate> = sqlx::query_as(
        "select distinct on (status) id::text, package, status, created_at from schema_change
         where package <> $1 and declares @> array[$2::text]
           and status in ('approved', 'applying', 'pending', 'failed', 'rejected')
         order by status, created_at desc",
    )
    .bind(package)
    .bind(entity)
    .fetch_all(&mut *conn)
    .await?;
    let unlisted: Vec<(String, String, String, time::OffsetDateTime, String)> = sqlx::query_as(
        "select id::text, package, status, created_at, yaml_snapshot from schema_change
         where package <> $1 and declares is null and strpos(yaml_snapshot, $2) > 0
           and status in ('approved', 'applying', 'pending', 'failed', 'rejected')",
    )
    .bind(package)
    .bind(entity)
    .fetch_all(&mut *conn)
    .await?;
    for (id, package, status, created_at, yaml) in unlisted {
        if declared(&parse_entities(&yaml, &package, config).entities).contains(entity) {
            candidates.push((id, package, status, created_at));
        }
    }
    candidates.sort_by_key(|c| std::cmp::Reverse(c.3));
    Ok(candidates)
}

/// The applied package other than `package` that declares `entity`, if any.
async fn applied_declarer(
    conn: &mut PgConnection,
    package: &str,
    entity: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select package from applied_package
         where package <> $1 and entities @> jsonb_build_array(jsonb_build_object('name', $2::text))
         order by package limit 1",
    )
    .bind(package)
    .bind(entity)
    .fetch_optional(&mut *conn)
    .await
}

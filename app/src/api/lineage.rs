//! A change among its neighbours: the packages it depends on, the change it replaced and the
//! one that replaced it, what changed since the last review, and earlier comments.

use serde::{Deserialize, Serialize};

use super::change::EventView;
use crate::domain::change::ChangeItem;
use crate::domain::comparison::Difference;
use crate::domain::text_diff::Hunk;

/// An entity the change relates to that another package declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyView {
    /// The entity.
    pub entity: String,
    /// The declaring package, if any.
    pub package: Option<String>,
    /// `applied`, `approved`, `held_back`, `pending`, `failed`, `rejected` or `missing`.
    pub state: String,
    /// That package's change, to link to.
    pub change_id: Option<String>,
    /// Whether it lets this change be approved.
    pub satisfied: bool,
}

/// What changed between the content an earlier change was reviewed at and this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinceReview {
    /// The earlier change.
    pub previous_id: String,
    /// Its state (superseded, and whether it had been approved or had failed).
    pub previous_status: String,
    /// Who decided it, if anyone did.
    pub previous_decided_by: Option<String>,
    /// Items from the earlier content to this one.
    pub items: Vec<ChangeItem>,
    /// Fragment diff from the earlier content to this one.
    pub diff: Vec<Hunk>,
}

/// Everything around a change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lineage {
    /// Entities of other packages it needs.
    pub dependencies: Vec<DependencyView>,
    /// An approved change that cannot apply: what holds it back and what unblocks it.
    #[serde(default)]
    pub held_back: Option<String>,
    /// The change that replaced this one.
    pub superseded_by: Option<String>,
    /// The change this one replaced, with what changed since.
    pub since_review: Option<SinceReview>,
    /// Comments on the changes this one replaced, oldest first.
    pub earlier_comments: Vec<EventView>,
}

/// A conflict as the change page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictView {
    /// The entity.
    pub entity: String,
    /// `(package, checksum)` of every declaration; this change's package first.
    pub declarations: Vec<(String, String)>,
    /// The package whose declaration is what the database has now, if any.
    pub applied: Option<String>,
    /// How the first two declarations differ (left: this package, right: the other).
    pub differences: Vec<Difference>,
    /// What either package must change to agree.
    pub advice: Vec<String>,
    /// The first two declarations' definitions, diffed (left to right).
    pub diff: Vec<Hunk>,
}

/// How many replaced changes to follow back for comments.
#[cfg(feature = "ssr")]
const MAX_ANCESTORS: usize = 20;

/// The lineage of `change`.
///
/// # Errors
/// Database errors.
#[cfg(feature = "ssr")]
pub(crate) async fn lineage(
    pool: &sqlx::PgPool,
    change: &crate::registry::change::SchemaChange,
    context: &crate::registry::future::SchemaContext,
) -> Result<Lineage, sqlx::Error> {
    use crate::domain::change::diff_entities;
    use crate::domain::dialect::parse_entities;
    use crate::domain::text_diff::diff_hunks;
    use crate::registry::audit::{self, AuditFilter};
    use crate::registry::{apply, change as registry, future};

    let mut conn = pool.acquire().await?;
    let dependencies = future::dependencies(&mut conn, change, context)
        .await?
        .into_iter()
        .map(|d| DependencyView {
            satisfied: d.state.is_satisfied(),
            entity: d.entity,
            package: d.package,
            state: d.state.as_str().to_string(),
            change_id: d.change_id,
        })
        .collect();
    let queued = matches!(
        change.status,
        crate::domain::review::ChangeStatus::Approved
            | crate::domain::review::ChangeStatus::Applying
    );
    let held_back = if queued {
        future::held_back(&mut conn, context)
            .await?
            .remove(&change.id)
            .map(|held| held.reason())
    } else {
        None
    };
    let superseded_by = apply::newer_change(&mut conn, change).await?;
    drop(conn);

    let mut since_review = None;
    let mut earlier_comments = Vec::new();
    let mut ancestor = change.supersedes.clone();
    for _ in 0..MAX_ANCESTORS {
        let Some(id) = ancestor.take() else { break };
        let Some(previous) = registry::get(pool, &id).await? else {
            break;
        };
        if since_review.is_none() {
            let config = &context.config;
            let before = parse_entities(&previous.yaml_snapshot, "earlier", config).entities;
            let after = parse_entities(&change.yaml_snapshot, "proposed", config).entities;
            since_review = Some(SinceReview {
                previous_id: previous.id.clone(),
                previous_status: previous.status.as_str().to_string(),
                previous_decided_by: previous.decided_by.clone(),
                items: diff_entities(&before, &after),
                diff: diff_hunks(&previous.fragment_after, &change.fragment_after, 3),
            });
        }
        let comments = audit::list(
            pool,
            &AuditFilter {
                change_id: Some(previous.id.clone()),
                action: Some("change.commented".to_string()),
                ..AuditFilter::default()
            },
        )
        .await?;
        earlier_comments.splice(0..0, comments.into_iter().map(super::change::event_view));
        ancestor = previous.supersedes;
    }
    Ok(Lineage {
        dependencies,
        held_back,
        superseded_by,
        since_review,
        earlier_comments,
    })
}

/// The conflict panel's view of a stored conflict.
#[cfg(feature = "ssr")]
pub(crate) fn conflict_view(conflict: &crate::registry::change::ChangeConflict) -> ConflictView {
    use crate::domain::comparison::to_agree;
    use crate::domain::text_diff::diff_hunks;
    let mut advice = Vec::new();
    if let [left, right, ..] = conflict.declarations.as_slice() {
        let flipped: Vec<Difference> = conflict
            .differences
            .iter()
            .map(|d| Difference {
                left: d.right.clone(),
                right: d.left.clone(),
                ..d.clone()
            })
            .collect();
        advice.push(format!(
            "Either {} changes its declaration to agree with {}:",
            left.package, right.package
        ));
        advice.extend(to_agree(
            &left.package,
            &right.package,
            &conflict.differences,
        ));
        advice.push(format!(
            "or {} changes its declaration to agree with {}:",
            right.package, left.package
        ));
        advice.extend(to_agree(&right.package, &left.package, &flipped));
    }
    ConflictView {
        entity: conflict.entity.clone(),
        declarations: conflict
            .declarations
            .iter()
            .map(|d| (d.package.clone(), d.checksum.clone()))
            .collect(),
        applied: conflict
            .declarations
            .iter()
            .find(|d| d.matches_applied)
            .map(|d| d.package.clone()),
        differences: conflict.differences.clone(),
        advice,
        diff: match conflict.declarations.as_slice() {
            [first, second, ..] => diff_hunks(&first.definition, &second.definition, 3),
            _ => Vec::new(),
        },
    }
}

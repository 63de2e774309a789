//! Packages depend on each other through relations: a relation whose target model another
//! package declares. Approvals wait for their dependencies, and the restart job applies
//! dependencies first.

use std::collections::{BTreeMap, BTreeSet};

use super::base_schema::BaseSchema;
use super::model::Entity;

/// The models `entities` relate to without declaring them, base schema models excluded: what
/// the package needs from other packages.
#[must_use]
pub fn foreign_targets(entities: &[Entity], base: &BaseSchema) -> BTreeSet<String> {
    let own: BTreeSet<&str> = entities.iter().map(|e| e.name.as_str()).collect();
    let base_models: BTreeSet<&str> = base.models().map(|m| m.name.as_str()).collect();
    entities
        .iter()
        .flat_map(|e| &e.relations)
        .map(|r| r.target.as_str())
        .filter(|target| !own.contains(target) && !base_models.contains(target))
        .map(str::to_string)
        .collect()
}

/// The entity names `entities` declare.
#[must_use]
pub fn declared(entities: &[Entity]) -> BTreeSet<String> {
    entities.iter().map(|e| e.name.clone()).collect()
}

/// One package's pending work, for ordering.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkItem {
    /// The package.
    pub package: String,
    /// Entities its new content declares.
    pub declares: BTreeSet<String>,
    /// Models it relates to that other packages declare.
    pub needs: BTreeSet<String>,
}

/// The order to do `items` in, given in tie-break order (approval order): every item comes
/// after the items declaring what it needs, and otherwise keeps its place. Returns the
/// positions in that order and, per position, the positions it depends on with the entity that
/// ties them. Items caught in a cycle keep their tie-break order.
#[must_use]
pub fn dependency_order(items: &[WorkItem]) -> (Vec<usize>, Vec<BTreeMap<usize, String>>) {
    let depends_on: Vec<BTreeMap<usize, String>> = items
        .iter()
        .map(|item| {
            items
                .iter()
                .enumerate()
                .filter(|(_, other)| other.package != item.package)
                .filter_map(|(j, other)| {
                    item.needs
                        .intersection(&other.declares)
                        .next()
                        .map(|entity| (j, entity.clone()))
                })
                .collect()
        })
        .collect();
    let mut waiting_on: Vec<usize> = depends_on.iter().map(BTreeMap::len).collect();
    let mut ready: BTreeSet<usize> = (0..items.len()).filter(|&i| waiting_on[i] == 0).collect();
    let mut done = vec![false; items.len()];
    let mut order = Vec::with_capacity(items.len());
    while order.len() < items.len() {
        // A cycle leaves nothing ready: take the earliest remaining item.
        let next = match ready.pop_first() {
            Some(next) => next,
            None => (0..items.len()).find(|&i| !done[i]).unwrap_or_default(),
        };
        if done[next] {
            continue;
        }
        done[next] = true;
        order.push(next);
        for (i, deps) in depends_on.iter().enumerate() {
            if !done[i] && deps.contains_key(&next) {
                waiting_on[i] -= 1;
                if waiting_on[i] == 0 {
                    ready.insert(i);
                }
            }
        }
    }
    (order, depends_on)
}

/// The queued items (positions in `queued`, in queue order) that cannot apply, with the
/// entity each misses and the round it was found in: an item needs an entity no other package
/// declares once every item that cannot apply is taken out. `applied` holds each package's live
/// entities; an item taken out leaves its package at those. Later rounds miss what earlier
/// ones took out, so the round orders causes before their effects.
#[must_use]
pub fn stranded(
    applied: &BTreeMap<String, BTreeSet<String>>,
    queued: &[WorkItem],
) -> BTreeMap<usize, (String, usize)> {
    let mut held: BTreeMap<usize, (String, usize)> = BTreeMap::new();
    for round in 0.. {
        let mut provided: BTreeMap<&str, &BTreeSet<String>> = applied
            .iter()
            .map(|(package, entities)| (package.as_str(), entities))
            .collect();
        for (i, item) in queued.iter().enumerate() {
            if !held.contains_key(&i) {
                provided.insert(&item.package, &item.declares);
            }
        }
        let found: Vec<(usize, String)> = queued
            .iter()
            .enumerate()
            .filter(|(i, _)| !held.contains_key(i))
            .filter_map(|(i, item)| {
                let missing = item.needs.iter().find(|entity| {
                    !provided.iter().any(|(package, declares)| {
                        *package != item.package && declares.contains(*entity)
                    })
                })?;
                Some((i, missing.clone()))
            })
            .collect();
        if found.is_empty() {
            break;
        }
        held.extend(found.into_iter().map(|(i, entity)| (i, (entity, round))));
    }
    held
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(package: &str, declares: &[&str], needs: &[&str]) -> WorkItem {
        WorkItem {
            package: package.to_string(),
            declares: declares.iter().map(|s| s.to_string()).collect(),
            needs: needs.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn dependencies_come_first_and_approval_order_breaks_ties() {
        let items = [
            item("notifications", &["Notification"], &["ForumThread"]),
            item("billing", &["Invoice"], &[]),
            item("forum", &["ForumThread"], &[]),
        ];
        let (order, deps) = dependency_order(&items);
        assert_eq!(order, vec![1, 2, 0]);
        assert_eq!(deps[0].get(&2).map(String::as_str), Some("ForumThread"));
        assert!(deps[1].is_empty());
    }

    #[test]
    fn a_cycle_keeps_approval_order() {
        let items = [item("a", &["A"], &["B"]), item("b", &["B"], &["A"])];
        assert_eq!(dependency_order(&items).0, vec![0, 1]);
    }

    #[test]
    fn a_package_does_not_depend_on_itself() {
        let items = [item("a", &["A"], &["A"])];
        let (order, deps) = dependency_order(&items);
        assert_eq!(order, vec![0]);
        assert!(deps[0].is_empty());
    }

    #[test]
    fn a_missing_dependency_strands_its_dependents_transitively_and_nothing_else() {
        let applied = BTreeMap::from([("a".to_string(), BTreeSet::from(["AThing".to_string()]))]);
        // b failed earlier (not queued): d needs it, e needs d, x needs nothing, f needs a.
        let queued = [
            item("d", &["DThing"], &["BThing"]),
            item("e", &["EThing"], &["DThing"]),
            item("x", &["XThing"], &[]),
            item("f", &["FThing"], &["AThing"]),
        ];
        let held = stranded(&applied, &queued);
        assert_eq!(
            held.into_iter().collect::<Vec<_>>(),
            [
                (0, ("BThing".to_string(), 0)),
                (1, ("DThing".to_string(), 1))
            ]
        );
    }

    #[test]
    fn a_stranded_change_leaves_its_package_at_what_is_applied() {
        let applied = BTreeMap::from([("d".to_string(), BTreeSet::from(["DThing".to_string()]))]);
        // d's new content cannot apply, so e still finds d's applied DThing.
        let queued = [
            item("d", &["DThing", "DMore"], &["Gone"]),
            item("e", &["EThing"], &["DThing"]),
        ];
        assert_eq!(
            stranded(&applied, &queued).into_keys().collect::<Vec<_>>(),
            [0]
        );
    }
}

//! The ownership DAG check (seed 001): every entity should reach the root model (`Tenant`)
//! through belongsTo relations, and belongsTo relations should not form cycles. A relation of
//! a model to itself (a category tree) is not a cycle.

use std::collections::{BTreeMap, BTreeSet};

use super::base_schema::BaseSchema;
use super::diagnostic::{Position, SchemaError};
use super::model::{Entity, RelationKind};
use super::naming::lower_first;

/// One finding of the ownership check, attached to an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnershipFinding {
    pub(crate) entity: String,
    pub(crate) position: Position,
    pub(crate) error: SchemaError,
}

/// child → parents, over every belongsTo (declared on the child, or implied by a hasMany/hasOne
/// on the parent) among package entities and base models.
fn edges<'a>(
    base: &'a BaseSchema,
    entities: &[&'a Entity],
) -> BTreeMap<&'a str, BTreeSet<&'a str>> {
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for model in base.models() {
        let parents = graph.entry(&model.name).or_default();
        for field in model.fields() {
            if !field.relation_fields().is_empty() {
                parents.insert(&field.type_name);
            }
        }
    }
    for entity in entities {
        graph.entry(&entity.name).or_default();
        for relation in &entity.relations {
            match relation.kind {
                RelationKind::BelongsTo => {
                    graph
                        .entry(&entity.name)
                        .or_default()
                        .insert(&relation.target);
                }
                RelationKind::HasMany | RelationKind::HasOne => {
                    graph
                        .entry(&relation.target)
                        .or_default()
                        .insert(&entity.name);
                }
                RelationKind::ManyToMany => {}
            }
        }
    }
    graph
}

/// Checks every entity (each name once) against the root and for cycles.
pub(crate) fn check(base: &BaseSchema, entities: &[&Entity], root: &str) -> Vec<OwnershipFinding> {
    let graph = edges(base, entities);
    let mut findings = Vec::new();

    // Everything that reaches the root: walk the reversed edges from it.
    let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (child, parents) in &graph {
        for parent in parents {
            children.entry(parent).or_default().push(child);
        }
    }
    let mut reaches: BTreeSet<&str> = BTreeSet::from([root]);
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        for child in children.get(node).into_iter().flatten() {
            if reaches.insert(child) {
                stack.push(child);
            }
        }
    }
    let candidate = format!("{}Id", lower_first(root));
    for entity in entities {
        if !reaches.contains(entity.name.as_str()) {
            findings.push(OwnershipFinding {
                entity: entity.name.clone(),
                position: entity.origin,
                error: SchemaError::OwnershipUnreachable {
                    entity: entity.name.clone(),
                    root: root.to_owned(),
                    candidate_field: entity.field(&candidate).map(|f| f.name.clone()),
                },
            });
        }
    }

    let origins: BTreeMap<&str, Position> = entities
        .iter()
        .map(|e| (e.name.as_str(), e.origin))
        .collect();
    for cycle in cycles(&graph) {
        // Report at the first package entity of the cycle (base models have no file).
        let Some(first) = cycle
            .iter()
            .find(|name| origins.contains_key(name.as_str()))
        else {
            continue;
        };
        let mut text = cycle.join(" -> ");
        text.push_str(" -> ");
        text.push_str(&cycle[0]);
        findings.push(OwnershipFinding {
            entity: first.clone(),
            position: origins.get(first.as_str()).copied().unwrap_or_default(),
            error: SchemaError::RelationCycle { cycle: text },
        });
    }
    findings
}

/// One cycle per strongly connected component of two or more models, starting at its
/// smallest name (Tarjan's algorithm, iterative so deep graphs cannot overflow the stack).
fn cycles(graph: &BTreeMap<&str, BTreeSet<&str>>) -> Vec<Vec<String>> {
    let names: Vec<&str> = graph.keys().copied().collect();
    let id: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let successors: Vec<Vec<usize>> = names
        .iter()
        .map(|n| {
            graph
                .get(*n)
                .into_iter()
                .flatten()
                .filter(|p| *p != n)
                .filter_map(|p| id.get(p).copied())
                .collect()
        })
        .collect();
    let count = names.len();
    let mut index = vec![usize::MAX; count];
    let mut low = vec![0; count];
    let mut on_stack = vec![false; count];
    let mut stack = Vec::new();
    let mut next_index = 0;
    let mut components = Vec::new();
    for start in 0..count {
        if index[start] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(start, 0)];
        index[start] = next_index;
        low[start] = next_index;
        next_index += 1;
        stack.push(start);
        on_stack[start] = true;
        while let Some(top) = work.last_mut() {
            let node = top.0;
            if let Some(&next) = successors[node].get(top.1) {
                top.1 += 1;
                if index[next] == usize::MAX {
                    index[next] = next_index;
                    low[next] = next_index;
                    next_index += 1;
                    stack.push(next);
                    on_stack[next] = true;
                    work.push((next, 0));
                } else if on_stack[next] {
                    low[node] = low[node].min(index[next]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index[node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    components.push(component);
                }
            }
        }
    }
    let mut result: Vec<Vec<String>> = components
        .into_iter()
        .map(|component| {
            let members: BTreeSet<usize> = component.into_iter().collect();
            cycle_through(&members, &successors)
                .into_iter()
                .map(|i| names[i].to_owned())
                .collect()
        })
        .collect();
    result.sort();
    result
}

/// A concrete cycle inside a strongly connected component, from its smallest member.
fn cycle_through(members: &BTreeSet<usize>, successors: &[Vec<usize>]) -> Vec<usize> {
    let Some(&start) = members.iter().next() else {
        return Vec::new();
    };
    // Breadth-first search for the shortest way back to `start`, staying inside the component.
    let mut previous: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for &next in &successors[node] {
            if !members.contains(&next) {
                continue;
            }
            if next == start {
                let mut path = vec![node];
                let mut current = node;
                while current != start {
                    current = previous.get(&current).copied().unwrap_or(start);
                    path.push(current);
                }
                path.reverse();
                path.dedup();
                return path;
            }
            if let std::collections::btree_map::Entry::Vacant(slot) = previous.entry(next) {
                slot.insert(node);
                queue.push_back(next);
            }
        }
    }
    members.iter().copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph<'a>(edges: &[(&'a str, &'a str)]) -> BTreeMap<&'a str, BTreeSet<&'a str>> {
        let mut g: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (child, parent) in edges {
            g.entry(child).or_default().insert(parent);
            g.entry(parent).or_default();
        }
        g
    }

    #[test]
    fn a_two_model_cycle_is_found_and_self_relations_are_not_cycles() {
        let g = graph(&[("A", "B"), ("B", "A"), ("C", "C"), ("D", "Tenant")]);
        assert_eq!(cycles(&g), vec![vec!["A".to_owned(), "B".to_owned()]]);
    }

    #[test]
    fn a_longer_cycle_is_reported_in_edge_order() {
        let g = graph(&[("A", "C"), ("C", "B"), ("B", "A"), ("B", "X")]);
        assert_eq!(
            cycles(&g),
            vec![vec!["A".to_owned(), "C".to_owned(), "B".to_owned()]]
        );
    }
}

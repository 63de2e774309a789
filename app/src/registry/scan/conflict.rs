//! The conflicts a scanned package's entities are in, as the reviewer sees them.

use std::collections::BTreeSet;

use crate::domain::catalog::Catalog;
use crate::domain::comparison::compare;
use crate::registry::change::{ChangeConflict, ConflictDeclaration};

/// The conflicts `package`'s entities are in, counting only declarations that may reach the
/// database (`inactive` packages' declarations do not), each compared aspect by aspect.
pub(super) fn conflicts_of(
    catalog: &Catalog,
    package: &str,
    inactive: &BTreeSet<String>,
    live: &BTreeSet<(String, String)>,
) -> Vec<ChangeConflict> {
    let declaration_of = |owner: &str, entity: &str| {
        catalog
            .package(owner)
            .and_then(|p| p.model.iter().find(|e| e.name == entity))
    };
    catalog
        .conflicts
        .iter()
        .filter(|c| c.declarations.iter().any(|d| d.package.as_str() == package))
        .filter_map(|c| {
            // This package's declaration first: the conflict panel reads "package says ...".
            let mut declarations: Vec<_> = c
                .declarations
                .iter()
                .filter(|d| !inactive.contains(d.package.as_str()))
                .collect();
            declarations.sort_by_key(|d| d.package.as_str() != package);
            let distinct: BTreeSet<&str> =
                declarations.iter().map(|d| d.checksum.as_str()).collect();
            if distinct.len() < 2 || declarations.first()?.package.as_str() != package {
                return None;
            }
            let differences = match (
                declaration_of(declarations[0].package.as_str(), &c.entity),
                declaration_of(declarations[1].package.as_str(), &c.entity),
            ) {
                (Some(left), Some(right)) => compare(left, right),
                _ => Vec::new(),
            };
            Some(ChangeConflict {
                entity: c.entity.clone(),
                differences,
                declarations: declarations
                    .iter()
                    .map(|d| ConflictDeclaration {
                        package: d.package.to_string(),
                        checksum: d.checksum.clone(),
                        definition: declaration_of(d.package.as_str(), &c.entity)
                            .map(readable_definition)
                            .unwrap_or_default(),
                        matches_applied: live.contains(&(c.entity.clone(), d.checksum.clone())),
                    })
                    .collect(),
            })
        })
        .collect()
}

/// The entity's canonical encoding (what its checksum covers), laid out one key per line so
/// that two declarations can be diffed.
fn readable_definition(entity: &crate::domain::model::Entity) -> String {
    let encoded = crate::domain::checksum::canonical_encoding(entity);
    serde_json::from_str::<serde_json::Value>(&encoded)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or(encoded)
}

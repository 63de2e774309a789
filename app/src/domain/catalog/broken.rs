//! Entities a package declares that a package with validation errors declares differently. The
//! broken package cannot be queued, so this is no conflict in the registry yet; it becomes one
//! as soon as that package is fixed, so reviewers see it before approving.

use super::Catalog;
use crate::domain::broken_conflict::BrokenConflict;

impl Catalog {
    /// The entities of `package` that a package with validation errors declares differently, by
    /// entity, then package.
    #[must_use]
    pub fn broken_conflicts(&self, package: &str) -> Vec<BrokenConflict> {
        let mut found = Vec::new();
        for conflict in &self.conflicts {
            let Some(own) = conflict
                .declarations
                .iter()
                .find(|d| d.package.as_str() == package)
            else {
                continue;
            };
            for other in &conflict.declarations {
                if other.checksum == own.checksum {
                    continue;
                }
                let Some(report) = self.package(other.package.as_str()) else {
                    continue;
                };
                if let Some(first) = report.errors.first() {
                    found.push(BrokenConflict {
                        entity: conflict.entity.clone(),
                        package: other.package.to_string(),
                        error: first.to_string(),
                        errors: report.errors.len(),
                    });
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Catalog, PackageId, PackageSource};
    use crate::domain::base_schema::BaseSchema;
    use crate::domain::config::Config;

    fn source(id: &str, text: &str) -> PackageSource {
        PackageSource {
            id: PackageId::parse(id).unwrap(),
            file: format!("{id}/seed/schema/entities.yaml"),
            text: text.to_string(),
        }
    }

    const NOTE: &str = "
entities:
  - name: Note
    fields:
      id: { type: cuid, primary: true, generated: true }
      body: { type: string, required: true }
";

    #[test]
    fn an_entity_declared_differently_by_a_package_with_errors_is_named_with_its_first_error() {
        let broken = NOTE.replace("type: string", "type: int")
            + "  - name: Bad\n    fields:\n      id: { type: jsonb, primary: true }\n";
        let same = NOTE.to_string();
        let catalog = Catalog::build(
            vec![
                source("notes", NOTE),
                source("legacy", &broken),
                source("copy", &same),
            ],
            BaseSchema::default(),
            &Config::default(),
        );
        assert!(catalog
            .package("legacy")
            .is_some_and(|p| !p.errors.is_empty()));
        let found = catalog.broken_conflicts("notes");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].entity.as_str(), found[0].package.as_str()),
            ("Note", "legacy")
        );
        assert!(found[0].error.contains("jsonb"), "{}", found[0].error);
        assert_eq!(catalog.broken_conflicts("copy").len(), 1);
        // Only packages with errors count: the two valid declarations do not name each other.
        assert!(catalog.broken_conflicts("legacy").is_empty());
    }
}

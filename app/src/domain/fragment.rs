//! One package's Prisma fragment even while other packages are broken or conflicting: what a
//! reviewer needs to see for a healthy package in an unhealthy platform.

use std::collections::BTreeSet;

use super::catalog::Catalog;
use super::model::Entity;
use super::prisma::{render_package_fragment, Fragment, PackageModels, RenderError};

impl Catalog {
    /// The fragment of package `id` within the schema of every package without errors. Where
    /// packages declare an entity differently, `id`'s declaration is the one rendered, and
    /// otherwise the first package (by id) wins, so each model appears once.
    ///
    /// # Errors
    /// [`RenderError::UnknownPackage`] when `id` is unknown or has errors, and what rendering
    /// can fail with.
    pub fn render_fragment_in_context(&self, id: &str) -> Result<Fragment, RenderError> {
        let package = self
            .packages
            .iter()
            .find(|p| p.package.as_str() == id && p.errors.is_empty())
            .ok_or_else(|| RenderError::UnknownPackage {
                package: id.to_owned(),
            })?;
        let mut taken: BTreeSet<String> = package.model.iter().map(|e| e.name.clone()).collect();
        let mut others: Vec<(&str, Vec<Entity>)> = Vec::new();
        for other in self
            .packages
            .iter()
            .filter(|p| p.errors.is_empty() && p.package != package.package)
        {
            let entities: Vec<Entity> = other
                .model
                .iter()
                .filter(|e| !taken.contains(&e.name))
                .cloned()
                .collect();
            taken.extend(entities.iter().map(|e| e.name.clone()));
            others.push((other.package.as_str(), entities));
        }
        let mut models = vec![PackageModels {
            package: id,
            entities: &package.model,
        }];
        models.extend(others.iter().map(|(other, entities)| PackageModels {
            package: other,
            entities,
        }));
        render_package_fragment(&self.base, &models, id)
    }
}

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
        self.render_fragment_among(id, Neighbourhood::Related)
            .map(|(fragment, _)| fragment)
    }

    /// [`Catalog::render_fragment_in_context`], with how many entities were rendered for it
    /// (the package's own and its neighbours'): what one fragment costs.
    ///
    /// # Errors
    /// As [`Catalog::render_fragment_in_context`].
    pub fn render_fragment_counted(&self, id: &str) -> Result<(Fragment, usize), RenderError> {
        self.render_fragment_among(id, Neighbourhood::Related)
    }

    /// [`Catalog::render_fragment_in_context`] rendered against every healthy package, not
    /// only the related ones: the reference the faster form is tested against.
    ///
    /// # Errors
    /// As [`Catalog::render_fragment_in_context`].
    pub fn render_fragment_against_all(&self, id: &str) -> Result<Fragment, RenderError> {
        self.render_fragment_among(id, Neighbourhood::All)
            .map(|(fragment, _)| fragment)
    }

    fn render_fragment_among(
        &self,
        id: &str,
        neighbourhood: Neighbourhood,
    ) -> Result<(Fragment, usize), RenderError> {
        let package = self
            .packages
            .iter()
            .find(|p| p.package.as_str() == id && p.errors.is_empty())
            .ok_or_else(|| RenderError::UnknownPackage {
                package: id.to_owned(),
            })?;
        let own: BTreeSet<&str> = package.model.iter().map(|e| e.name.as_str()).collect();
        let targets: BTreeSet<&str> = package
            .model
            .iter()
            .flat_map(|e| e.relations.iter().map(|r| r.target.as_str()))
            .collect();
        let base: BTreeSet<&str> = self.base.models().map(|m| m.name.as_str()).collect();
        let mut taken: BTreeSet<&str> = own.clone();
        let mut others: Vec<(&str, Vec<Entity>)> = Vec::new();
        for other in self
            .packages
            .iter()
            .filter(|p| p.errors.is_empty() && p.package != package.package)
        {
            let entities: Vec<Entity> = other
                .model
                .iter()
                .filter(|e| !taken.contains(e.name.as_str()))
                .filter(|e| match neighbourhood {
                    Neighbourhood::All => true,
                    // What this package relates to, and what relates to it.
                    Neighbourhood::Related => {
                        targets.contains(e.name.as_str())
                            || e.relations.iter().any(|r| own.contains(r.target.as_str()))
                    }
                })
                .map(|e| match neighbourhood {
                    Neighbourhood::All => e.clone(),
                    // Relations elsewhere add nothing to this fragment; keep those that reach
                    // this package or the base schema (whose back-relation names they share).
                    Neighbourhood::Related => {
                        let mut e = e.clone();
                        e.relations.retain(|r| {
                            own.contains(r.target.as_str())
                                || base.contains(r.target.as_str())
                                || targets.contains(r.target.as_str())
                        });
                        e
                    }
                })
                .collect();
            // Declaring a name takes it even when the declaration is not rendered here.
            taken.extend(other.model.iter().map(|e| e.name.as_str()));
            if !entities.is_empty() {
                others.push((other.package.as_str(), entities));
            }
        }
        let mut models = vec![PackageModels {
            package: id,
            entities: &package.model,
        }];
        models.extend(others.iter().map(|(other, entities)| PackageModels {
            package: other,
            entities,
        }));
        let rendered = models.iter().map(|m| m.entities.len()).sum();
        render_package_fragment(&self.base, &models, id).map(|fragment| (fragment, rendered))
    }
}

/// Which other packages a fragment is rendered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Neighbourhood {
    /// Every healthy package.
    All,
    /// Those declaring what the package relates to, and those relating to it.
    Related,
}

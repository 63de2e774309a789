//! The rendering plan: which model gets which relation field.
//!
//! Every relation is one *link*. A belongsTo and the hasMany/hasOne that names the same
//! foreign key from the other side are the same link; two manyToMany declarations pointing at
//! each other are the same link. A side nobody declared is synthesized:
//! - the back side of a belongsTo is `<plural of child>` (`auditLogs AuditLog[]`), or the
//!   singular `ModelName?` when the foreign key is unique (one-to-one);
//! - the belongsTo side of a hasMany without one is named after its foreign key (`channelId`
//!   → `channel`), or after the parent model.
//!
//! Links between the same two models (or a model and itself) get a relation name
//! (`@relation("Post_author")`), and their synthesized back sides say which relation they
//! mirror (`postsAsAuthor`). Names never collide with existing fields: a number is appended.

use std::collections::{BTreeMap, BTreeSet};

use super::super::base_schema::{BaseModel, BaseSchema};
use super::super::checksum::entity_checksum;
use super::super::model::{Entity, ReferentialAction, RelationKind};
use super::super::naming::{lower_first, plural, upper_first};
use super::RenderError;

/// The packages to render, in order; each lists its entities in declaration order.
#[derive(Debug, Clone, Copy)]
pub struct PackageModels<'a> {
    /// Package id.
    pub package: &'a str,
    /// Its entities.
    pub entities: &'a [Entity],
}

/// Where a model comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source<'a> {
    Entity(&'a Entity),
    Base(&'a BaseModel),
}

/// A relation field planned for a model.
#[derive(Debug, Clone)]
pub(crate) struct RelationRow {
    pub(crate) name: String,
    pub(crate) type_text: String,
    pub(crate) attributes: String,
    /// Packages whose declarations produce this row (empty: the base schema's own).
    pub(crate) contributors: BTreeSet<String>,
}

/// A model with its planned relation fields.
#[derive(Debug)]
pub(crate) struct PlannedModel<'a> {
    pub(crate) source: Source<'a>,
    /// Packages declaring the model (empty for base models).
    pub(crate) owners: BTreeSet<String>,
    /// Rows for relations the model declares itself, by declaration index.
    pub(crate) declared: BTreeMap<usize, RelationRow>,
    /// Rows synthesized for the other side of someone else's relation.
    pub(crate) added: Vec<RelationRow>,
    taken: BTreeSet<String>,
}

/// The whole plan: models by name, and package models in render order.
#[derive(Debug)]
pub(crate) struct Plan<'a> {
    pub(crate) models: BTreeMap<String, PlannedModel<'a>>,
    pub(crate) package_order: Vec<String>,
}

#[derive(Debug)]
struct FkLink {
    child: String,
    parent: String,
    fields: Vec<String>,
    references: Option<Vec<String>>,
    /// (relation index on the child, field name)
    child_side: Option<(usize, String)>,
    /// (relation index on the parent, field name, one-to-one)
    parent_side: Option<(usize, String, bool)>,
    on_delete: Option<ReferentialAction>,
    on_update: Option<ReferentialAction>,
}

#[derive(Debug)]
struct ManyLink {
    a: String,
    a_side: (usize, String),
    b: String,
    b_side: Option<(usize, String)>,
}

impl<'a> Plan<'a> {
    /// Builds the plan.
    ///
    /// # Errors
    /// Conflicting or shadowing entities, and relations the plan cannot resolve (only possible
    /// for input that did not pass validation).
    pub(crate) fn build(
        base: &'a BaseSchema,
        packages: &[PackageModels<'a>],
    ) -> Result<Self, RenderError> {
        let mut models: BTreeMap<String, PlannedModel<'a>> = BTreeMap::new();
        let base_types = base.type_names();
        for model in base.models() {
            let taken = model.fields().map(|f| f.name.clone()).collect();
            models.insert(
                model.name.clone(),
                PlannedModel {
                    source: Source::Base(model),
                    owners: BTreeSet::new(),
                    declared: BTreeMap::new(),
                    added: Vec::new(),
                    taken,
                },
            );
        }
        let mut package_order = Vec::new();
        let mut first_checksum: BTreeMap<String, (String, String)> = BTreeMap::new();
        for package in packages {
            for entity in package.entities {
                if base_types.contains(&entity.name) {
                    return Err(RenderError::EntityShadowsBaseModel {
                        entity: entity.name.clone(),
                        package: package.package.to_owned(),
                    });
                }
                let checksum = entity_checksum(entity);
                if let Some((first_package, first)) = first_checksum.get(&entity.name) {
                    if *first != checksum {
                        return Err(RenderError::ConflictingEntity {
                            entity: entity.name.clone(),
                            packages: vec![first_package.clone(), package.package.to_owned()],
                        });
                    }
                    if let Some(model) = models.get_mut(&entity.name) {
                        model.owners.insert(package.package.to_owned());
                    }
                    continue;
                }
                first_checksum.insert(entity.name.clone(), (package.package.to_owned(), checksum));
                let taken = entity
                    .fields
                    .iter()
                    .map(|f| f.name.clone())
                    .chain(entity.relations.iter().map(|r| r.name.clone()))
                    .collect();
                models.insert(
                    entity.name.clone(),
                    PlannedModel {
                        source: Source::Entity(entity),
                        owners: BTreeSet::from([package.package.to_owned()]),
                        declared: BTreeMap::new(),
                        added: Vec::new(),
                        taken,
                    },
                );
                package_order.push(entity.name.clone());
            }
        }
        let mut plan = Self {
            models,
            package_order,
        };
        let (fk_links, many_links) = plan.collect_links()?;
        plan.place(fk_links, many_links)?;
        for model in plan.models.values_mut() {
            model.added.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Ok(plan)
    }

    fn entity(&self, name: &str) -> Option<&'a Entity> {
        match self.models.get(name)?.source {
            Source::Entity(e) => Some(e),
            Source::Base(_) => None,
        }
    }

    fn collect_links(&self) -> Result<(Vec<FkLink>, Vec<ManyLink>), RenderError> {
        let mut fk: BTreeMap<(String, String, Vec<String>), FkLink> = BTreeMap::new();
        let mut many: Vec<ManyLink> = Vec::new();
        for name in &self.package_order {
            let Some(entity) = self.entity(name) else {
                continue;
            };
            for (index, relation) in entity.relations.iter().enumerate() {
                if !self.models.contains_key(&relation.target) {
                    return Err(RenderError::UnknownRelationTarget {
                        entity: entity.name.clone(),
                        relation: relation.name.clone(),
                        target: relation.target.clone(),
                    });
                }
                match relation.kind {
                    RelationKind::BelongsTo | RelationKind::HasMany | RelationKind::HasOne => {
                        let belongs = relation.kind == RelationKind::BelongsTo;
                        let (child, parent) = if belongs {
                            (entity.name.clone(), relation.target.clone())
                        } else {
                            (relation.target.clone(), entity.name.clone())
                        };
                        let link = fk
                            .entry((child.clone(), parent.clone(), relation.fields.clone()))
                            .or_insert_with(|| FkLink {
                                child,
                                parent,
                                fields: relation.fields.clone(),
                                references: None,
                                child_side: None,
                                parent_side: None,
                                on_delete: None,
                                on_update: None,
                            });
                        if belongs {
                            if link.child_side.is_some() {
                                continue;
                            }
                            link.child_side = Some((index, relation.name.clone()));
                            // The belongsTo side owns the foreign key's settings.
                            link.references =
                                relation.references.clone().or(link.references.take());
                            link.on_delete = relation.on_delete.or(link.on_delete);
                            link.on_update = relation.on_update.or(link.on_update);
                        } else {
                            if link.parent_side.is_some() {
                                continue;
                            }
                            link.parent_side = Some((
                                index,
                                relation.name.clone(),
                                relation.kind == RelationKind::HasOne,
                            ));
                            link.references = link
                                .references
                                .take()
                                .or_else(|| relation.references.clone());
                            link.on_delete = link.on_delete.or(relation.on_delete);
                            link.on_update = link.on_update.or(relation.on_update);
                        }
                    }
                    RelationKind::ManyToMany => {
                        let partner = many.iter_mut().find(|l| {
                            l.b_side.is_none()
                                && l.a == relation.target
                                && l.b == entity.name
                                && !(l.a == entity.name && l.a_side.0 == index)
                        });
                        match partner {
                            Some(link) => link.b_side = Some((index, relation.name.clone())),
                            None => many.push(ManyLink {
                                a: entity.name.clone(),
                                a_side: (index, relation.name.clone()),
                                b: relation.target.clone(),
                                b_side: None,
                            }),
                        }
                    }
                }
            }
        }
        Ok((fk.into_values().collect(), many))
    }

    fn owners(&self, model: &str) -> BTreeSet<String> {
        self.models
            .get(model)
            .map(|m| m.owners.clone())
            .unwrap_or_default()
    }

    fn is_unique_on(&self, model: &str, fields: &[String]) -> bool {
        match self.models.get(model).map(|m| m.source) {
            Some(Source::Entity(e)) => e.is_unique_set(fields),
            Some(Source::Base(b)) => b.is_unique_set(fields),
            None => false,
        }
    }

    fn is_optional_on(&self, model: &str, fields: &[String]) -> bool {
        fields
            .iter()
            .any(|name| match self.models.get(model).map(|m| m.source) {
                Some(Source::Entity(e)) => e.field(name).is_some_and(|f| f.optional),
                Some(Source::Base(b)) => b.field(name).is_some_and(|f| f.optional),
                None => false,
            })
    }

    fn primary_key(&self, model: &str) -> Vec<String> {
        match self.models.get(model).map(|m| m.source) {
            Some(Source::Entity(e)) => e.primary_key.clone(),
            Some(Source::Base(b)) => b.primary_key(),
            None => Vec::new(),
        }
    }

    /// Picks the first free name on `model` and reserves it.
    fn reserve(&mut self, model: &str, candidates: &[String]) -> String {
        let Some(planned) = self.models.get_mut(model) else {
            return candidates.first().cloned().unwrap_or_default();
        };
        for candidate in candidates {
            if !candidate.is_empty() && !planned.taken.contains(candidate) {
                planned.taken.insert(candidate.clone());
                return candidate.clone();
            }
        }
        let stem = candidates
            .last()
            .cloned()
            .unwrap_or_else(|| "relation".to_owned());
        let mut n = 2;
        loop {
            let candidate = format!("{stem}{n}");
            if planned.taken.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }

    fn push_row(&mut self, model: &str, declared_index: Option<usize>, row: RelationRow) {
        if let Some(planned) = self.models.get_mut(model) {
            match declared_index {
                Some(index) => {
                    planned.declared.insert(index, row);
                }
                None => planned.added.push(row),
            }
        }
    }

    fn place(
        &mut self,
        fk_links: Vec<FkLink>,
        many_links: Vec<ManyLink>,
    ) -> Result<(), RenderError> {
        let mut pair_counts: BTreeMap<(String, String), usize> = BTreeMap::new();
        let pair = |a: &str, b: &str| {
            if a <= b {
                (a.to_owned(), b.to_owned())
            } else {
                (b.to_owned(), a.to_owned())
            }
        };
        for link in &fk_links {
            *pair_counts
                .entry(pair(&link.child, &link.parent))
                .or_default() += 1;
        }
        for link in &many_links {
            *pair_counts.entry(pair(&link.a, &link.b)).or_default() += 1;
        }
        let needs_name =
            |a: &str, b: &str| a == b || pair_counts.get(&pair(a, b)).copied().unwrap_or(0) > 1;

        for link in fk_links {
            let named = needs_name(&link.child, &link.parent);
            let child_owners = self.owners(&link.child);
            let parent_owners = self.owners(&link.parent);
            let child_field = match &link.child_side {
                Some((_, name)) => name.clone(),
                None => {
                    let mut candidates = Vec::new();
                    if let [single] = link.fields.as_slice() {
                        if let Some(stem) = single.strip_suffix("Id").filter(|s| !s.is_empty()) {
                            candidates.push(stem.to_owned());
                        }
                    }
                    candidates.push(lower_first(&link.parent));
                    self.reserve(&link.child, &candidates)
                }
            };
            let relation_name = named.then(|| match &link.parent_side {
                Some((_, parent_field, _)) if link.child_side.is_none() => {
                    format!("{}_{parent_field}", link.parent)
                }
                _ => format!("{}_{child_field}", link.child),
            });
            let references = match &link.references {
                Some(references) => references.clone(),
                None => self.primary_key(&link.parent),
            };
            if references.is_empty() {
                return Err(RenderError::MissingPrimaryKey {
                    model: link.parent.clone(),
                });
            }
            let mut arguments = Vec::new();
            if let Some(name) = &relation_name {
                arguments.push(super::prisma_string(name));
            }
            arguments.push(format!("fields: [{}]", link.fields.join(", ")));
            arguments.push(format!("references: [{}]", references.join(", ")));
            if let Some(action) = link.on_delete {
                arguments.push(format!("onDelete: {}", action.as_str()));
            }
            if let Some(action) = link.on_update {
                arguments.push(format!("onUpdate: {}", action.as_str()));
            }
            let optional = self.is_optional_on(&link.child, &link.fields);
            let child_row = RelationRow {
                name: child_field.clone(),
                type_text: format!("{}{}", link.parent, if optional { "?" } else { "" }),
                attributes: format!("@relation({})", arguments.join(", ")),
                contributors: if link.child_side.is_some() {
                    child_owners.clone()
                } else {
                    parent_owners.clone()
                },
            };
            self.push_row(
                &link.child,
                link.child_side.as_ref().map(|(i, _)| *i),
                child_row,
            );

            let (parent_field, one) = match &link.parent_side {
                Some((_, name, one)) => (name.clone(), *one),
                None => {
                    let one = self.is_unique_on(&link.child, &link.fields);
                    let stem = if one {
                        lower_first(&link.child)
                    } else {
                        plural(&lower_first(&link.child))
                    };
                    let candidates = if named {
                        vec![format!("{stem}As{}", upper_first(&child_field))]
                    } else {
                        vec![
                            stem.clone(),
                            format!("{stem}As{}", upper_first(&child_field)),
                        ]
                    };
                    (self.reserve(&link.parent, &candidates), one)
                }
            };
            let parent_row = RelationRow {
                name: parent_field,
                type_text: format!("{}{}", link.child, if one { "?" } else { "[]" }),
                attributes: relation_name.as_ref().map_or_else(String::new, |n| {
                    format!("@relation({})", super::prisma_string(n))
                }),
                contributors: if link.parent_side.is_some() {
                    parent_owners
                } else {
                    child_owners
                },
            };
            self.push_row(
                &link.parent,
                link.parent_side.as_ref().map(|(i, _, _)| *i),
                parent_row,
            );
        }

        for link in many_links {
            let named = needs_name(&link.a, &link.b);
            let relation_name = named.then(|| format!("{}_{}", link.a, link.a_side.1));
            let attributes = relation_name.as_ref().map_or_else(String::new, |n| {
                format!("@relation({})", super::prisma_string(n))
            });
            let a_owners = self.owners(&link.a);
            let b_owners = self.owners(&link.b);
            let a_row = RelationRow {
                name: link.a_side.1.clone(),
                type_text: format!("{}[]", link.b),
                attributes: attributes.clone(),
                contributors: a_owners.clone(),
            };
            self.push_row(&link.a, Some(link.a_side.0), a_row);
            let (b_field, b_index, contributors) = match &link.b_side {
                Some((index, name)) => (name.clone(), Some(*index), b_owners),
                None => {
                    let stem = plural(&lower_first(&link.a));
                    let as_name = format!("{stem}As{}", upper_first(&link.a_side.1));
                    let candidates = if named {
                        vec![as_name]
                    } else {
                        vec![stem, as_name]
                    };
                    (self.reserve(&link.b, &candidates), None, a_owners)
                }
            };
            let b_row = RelationRow {
                name: b_field,
                type_text: format!("{}[]", link.a),
                attributes,
                contributors,
            };
            self.push_row(&link.b, b_index, b_row);
        }
        Ok(())
    }
}

//! What one change may touch in the platform database: the tables its entities render to
//! (before and after the change), the tables its relations may reference, and the index names
//! that belong to its tables. The plan check ([`super::plan_check`]) refuses every statement
//! that reaches outside this scope.

use std::collections::BTreeSet;

use super::base_schema::BaseSchema;
use super::model::{Entity, RelationKind};
use super::policy_sql::table_name;

/// The objects a change declares, and the names it may reference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanScope {
    /// Tables of the change's entities, before and after it (implicit many-to-many join
    /// tables included).
    own_tables: BTreeSet<String>,
    /// Tables a foreign key of the change may reference: its relations' targets, and its own.
    referenced: BTreeSet<String>,
    /// Tables whose foreign keys to the change's own tables it may add or drop: the targets of
    /// its `hasMany`/`hasOne` relations, whose foreign key lives on the other side.
    fk_hosts: BTreeSet<String>,
    /// Every table of the platform (base models, every package), own ones included.
    all_tables: BTreeSet<String>,
    /// Index and constraint names the change's entities declare explicitly.
    declared_indexes: BTreeSet<String>,
}

impl PlanScope {
    /// The scope of a change that takes a package from `before` to `after`, with `others` the
    /// entities of every other package and `base` the base schema.
    #[must_use]
    pub fn new(before: &[Entity], after: &[Entity], others: &[&Entity], base: &BaseSchema) -> Self {
        let own: Vec<&Entity> = before.iter().chain(after).collect();
        let everyone: Vec<&Entity> = own.iter().copied().chain(others.iter().copied()).collect();
        let table_of = |model: &str| -> String {
            everyone
                .iter()
                .find(|e| e.name == model)
                .map(|e| table_name(e).to_owned())
                .or_else(|| base.model(model).map(|m| m.table_name()))
                .unwrap_or_else(|| model.to_owned())
        };
        let mut scope = PlanScope::default();
        for entity in &own {
            scope.own_tables.insert(table_name(entity).to_owned());
            scope.referenced.insert(table_name(entity).to_owned());
            for index in &entity.indexes {
                scope.declared_indexes.extend(index.name.clone());
            }
            for relation in &entity.relations {
                let target = table_of(&relation.target);
                scope.referenced.insert(target.clone());
                match relation.kind {
                    RelationKind::HasMany | RelationKind::HasOne => {
                        scope.fk_hosts.insert(target);
                    }
                    RelationKind::ManyToMany => {
                        scope.own_tables.extend(join_tables(
                            &entity.name,
                            &relation.target,
                            &relation.name,
                        ));
                    }
                    RelationKind::BelongsTo => {}
                }
            }
        }
        // A many-to-many relation of another package to one of ours shares its join table.
        let own_names: BTreeSet<&str> = own.iter().map(|e| e.name.as_str()).collect();
        for other in others {
            for relation in &other.relations {
                if relation.kind == RelationKind::ManyToMany
                    && own_names.contains(relation.target.as_str())
                {
                    scope.own_tables.extend(join_tables(
                        &other.name,
                        &relation.target,
                        &relation.name,
                    ));
                }
            }
        }
        scope.all_tables = everyone.iter().map(|e| table_name(e).to_owned()).collect();
        scope
            .all_tables
            .extend(base.models().map(|m| m.table_name()));
        scope.all_tables.extend(scope.own_tables.iter().cloned());
        scope
    }

    /// Whether `table` is one of the change's own tables.
    #[must_use]
    pub fn owns_table(&self, table: &str) -> bool {
        self.own_tables.contains(table)
    }

    /// Whether a foreign key of the change may reference `table`.
    #[must_use]
    pub fn may_reference(&self, table: &str) -> bool {
        self.referenced.contains(table)
    }

    /// Whether the change may add or drop a foreign key on `table` (another package's table
    /// that holds the foreign key of one of the change's `hasMany`/`hasOne` relations).
    #[must_use]
    pub fn may_host_foreign_key(&self, table: &str) -> bool {
        self.fk_hosts.contains(table)
    }

    /// Whether the index or constraint `name` belongs to one of the change's tables: declared by
    /// its entities, or named after its table as Prisma names them (`<table>_<columns>_idx`),
    /// where no other table's name is a longer match.
    #[must_use]
    pub fn owns_index(&self, name: &str) -> bool {
        if self.declared_indexes.contains(name) {
            return true;
        }
        self.all_tables
            .iter()
            .filter(|table| {
                name.len() > table.len() + 1
                    && name.starts_with(table.as_str())
                    && name.as_bytes()[table.len()] == b'_'
            })
            .max_by_key(|table| table.len())
            .is_some_and(|table| self.own_tables.contains(table))
    }
}

/// The join table Prisma creates for a many-to-many relation: `_<A>_<relation>` when the
/// relation is named (two relations between the same models), else `_<A>To<B>` with the models
/// in alphabetical order. Both are in scope, since naming depends on the whole schema.
fn join_tables(entity: &str, target: &str, relation: &str) -> [String; 2] {
    let (a, b) = if entity <= target {
        (entity, target)
    } else {
        (target, entity)
    };
    [format!("_{entity}_{relation}"), format!("_{a}To{b}")]
}

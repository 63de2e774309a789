//! Renames a change declares with `renamedFrom:`: tables and columns the package held under an
//! earlier name. A rename applies where the state before the change holds the earlier name and
//! not the new one; once applied, the same `renamedFrom:` finds nothing to rename and says
//! nothing. The plan renames in place ([`statements`]) and the rest of the change is planned
//! from the state with the renames done ([`renamed_state`]), so no data is dropped.

use std::collections::BTreeMap;

use super::model::{Entity, Field, RelationKind};

#[cfg(feature = "domain")]
mod constraints;
#[cfg(feature = "domain")]
pub use constraints::constraint_renames;

/// An entity (table) renamed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityRename {
    /// The earlier entity name.
    pub from: String,
    /// The new one.
    pub to: String,
    /// The table before.
    pub from_table: String,
    /// The table after.
    pub to_table: String,
}

/// A field (column) renamed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRename {
    /// The entity, by its new name.
    pub entity: String,
    /// The table, by its new name.
    pub table: String,
    /// The earlier field name.
    pub from: String,
    /// The new one.
    pub to: String,
    /// The column before.
    pub from_column: String,
    /// The column after.
    pub to_column: String,
}

/// Every rename of one change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renames {
    /// Entities renamed.
    pub entities: Vec<EntityRename>,
    /// Fields renamed.
    pub fields: Vec<FieldRename>,
}

impl Renames {
    /// Whether the change renames nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty() && self.fields.is_empty()
    }

    /// The table `table` (before the change) is called after it.
    #[must_use]
    pub fn table_after(&self, table: &str) -> String {
        self.entities
            .iter()
            .find(|r| r.from_table == table)
            .map_or_else(|| table.to_string(), |r| r.to_table.clone())
    }

    /// The new name of field `name` of `entity` (by its new name), if it is renamed.
    fn field_to(&self, entity: &str, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|r| r.entity == entity && r.from == name)
            .map(|r| r.to.as_str())
    }

    /// `names`, fields of `entity` (by its new name), each by its new name.
    fn rename_fields(&self, entity: &str, names: &mut [String]) {
        for name in names.iter_mut() {
            if let Some(to) = self.field_to(entity, name) {
                *name = to.to_string();
            }
        }
    }

    /// The column `column` of `table` (the table after, the column before) is called after it.
    #[must_use]
    pub fn column_after(&self, table: &str, column: &str) -> String {
        self.fields
            .iter()
            .find(|r| r.table == table && r.from_column == column)
            .map_or_else(|| column.to_string(), |r| r.to_column.clone())
    }
}

fn table_of(entity: &Entity) -> &str {
    entity.table_name.as_deref().unwrap_or(&entity.name)
}

fn column_of(field: &Field) -> &str {
    field.column_name.as_deref().unwrap_or(&field.name)
}

/// The renames that take `before` (a package's entities before the change) to `after`.
#[must_use]
pub fn renames(before: &[Entity], after: &[Entity]) -> Renames {
    let by_name: BTreeMap<&str, &Entity> = before.iter().map(|e| (e.name.as_str(), e)).collect();
    let mut found = Renames::default();
    for entity in after {
        let earlier = entity
            .renamed_from
            .as_deref()
            .filter(|from| {
                by_name.contains_key(from) && !by_name.contains_key(entity.name.as_str())
            })
            .and_then(|from| by_name.get(from));
        if let Some(old) = earlier {
            found.entities.push(EntityRename {
                from: old.name.clone(),
                to: entity.name.clone(),
                from_table: table_of(old).to_string(),
                to_table: table_of(entity).to_string(),
            });
        }
        let Some(old) = earlier.or_else(|| by_name.get(entity.name.as_str())) else {
            continue;
        };
        for field in &entity.fields {
            let Some(from) = field.renamed_from.as_deref() else {
                continue;
            };
            let (Some(old_field), None) = (old.field(from), old.field(&field.name)) else {
                continue;
            };
            found.fields.push(FieldRename {
                entity: entity.name.clone(),
                table: table_of(entity).to_string(),
                from: from.to_string(),
                to: field.name.clone(),
                from_column: column_of(old_field).to_string(),
                to_column: column_of(field).to_string(),
            });
        }
    }
    found
}

/// `before` with `renames` done: the state the rest of the change is planned and diffed from.
/// A renamed entity or field takes its new name and the table or column name `after` gives it;
/// keys, indexes and relations follow.
#[must_use]
pub fn renamed_state(before: &[Entity], renames: &Renames, after: &[Entity]) -> Vec<Entity> {
    let entity_to =
        |name: &str| -> Option<&EntityRename> { renames.entities.iter().find(|r| r.from == name) };
    let mut state: Vec<Entity> = before.to_vec();
    for entity in &mut state {
        if let Some(rename) = entity_to(&entity.name) {
            let new = after.iter().find(|e| e.name == rename.to);
            entity.name.clone_from(&rename.to);
            entity.table_name = new.and_then(|e| e.table_name.clone());
        }
        let new_entity = after.iter().find(|e| e.name == entity.name);
        for field in &mut entity.fields {
            if let Some(to) = renames.field_to(&entity.name, &field.name) {
                let new_field = new_entity.and_then(|e| e.field(to));
                field.column_name = new_field.and_then(|f| f.column_name.clone());
                field.name = to.to_string();
            }
        }
        renames.rename_fields(&entity.name, &mut entity.primary_key);
        for index in &mut entity.indexes {
            renames.rename_fields(&entity.name, &mut index.fields);
        }
        for relation in &mut entity.relations {
            if let Some(rename) = entity_to(&relation.target) {
                relation.target.clone_from(&rename.to);
            }
            // A belongsTo holds its foreign key and references the target; a hasMany or hasOne
            // names the target's foreign key and references this entity.
            let (holder, referenced) = match relation.kind {
                RelationKind::BelongsTo => (entity.name.as_str(), relation.target.as_str()),
                RelationKind::HasMany | RelationKind::HasOne => {
                    (relation.target.as_str(), entity.name.as_str())
                }
                RelationKind::ManyToMany => continue,
            };
            renames.rename_fields(holder, &mut relation.fields);
            if let Some(references) = &mut relation.references {
                renames.rename_fields(referenced, references);
            }
        }
    }
    state
}

/// The SQL that renames in place: tables first, then columns (named by their new table).
/// Nothing for a rename whose table or column name stays (a `tableName` or `columnName` that
/// already held it).
#[cfg(feature = "domain")]
#[must_use]
pub fn statements(renames: &Renames) -> Vec<String> {
    let quote = super::policy_sql::quote_ident;
    let tables = renames
        .entities
        .iter()
        .filter(|r| r.from_table != r.to_table)
        .map(|r| {
            format!(
                "ALTER TABLE {} RENAME TO {};",
                quote(&r.from_table),
                quote(&r.to_table)
            )
        });
    let columns = renames
        .fields
        .iter()
        .filter(|r| r.from_column != r.to_column)
        .map(|r| {
            format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {};",
                quote(&r.table),
                quote(&r.from_column),
                quote(&r.to_column)
            )
        });
    tables.chain(columns).collect()
}

#[cfg(test)]
mod tests;

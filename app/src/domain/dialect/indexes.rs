//! Reading an entity's primary key and its indexes (`primaryKey:`, `indexes:` and the
//! per-field `primary`, `unique` and `index` flags).

use std::collections::{BTreeMap, BTreeSet};

use super::{join, unknown_field, FieldFlags, Keys, Reader};
use crate::domain::diagnostic::{Position, SchemaError};
use crate::domain::model::{Field, Index};
use crate::domain::naming::DbObject;
use crate::domain::yaml::{Node, Value};

const INDEX_KEYS: [&str; 3] = ["fields", "unique", "name"];

impl Reader<'_, '_> {
    pub(super) fn primary_key(
        &mut self,
        keys: &Keys<'_>,
        path: &str,
        entity: &str,
        fields: &[Field],
        flags: &[FieldFlags],
    ) -> Vec<String> {
        let marked: Vec<&str> = fields
            .iter()
            .zip(flags)
            .filter(|(_, f)| f.primary)
            .map(|(field, _)| field.name.as_str())
            .collect();
        if let Some(node) = keys.get("primaryKey") {
            let key_path = join(path, "primaryKey");
            let Some(names) = self.names(node, &key_path) else {
                return Vec::new();
            };
            if names.is_empty() {
                self.wrong_shape(node, &key_path, "a non-empty list of field names");
                return Vec::new();
            }
            let mut declared = Vec::new();
            for (name, position) in names {
                if fields.iter().any(|f| f.name == name) {
                    if !declared.contains(&name) {
                        declared.push(name);
                    }
                } else {
                    let error = unknown_field("primaryKey", &name, entity, fields);
                    self.error(position, key_path.clone(), error);
                }
            }
            for (field, flag) in fields.iter().zip(flags) {
                if flag.primary && !declared.contains(&field.name) {
                    let error = SchemaError::PrimaryOutsideComposite {
                        field: field.name.clone(),
                    };
                    self.error(
                        flag.position,
                        format!("{path}.fields.{}.primary", field.name),
                        error,
                    );
                }
            }
            return declared;
        }
        if marked.len() > 1 {
            let position = flags
                .iter()
                .filter(|f| f.primary)
                .nth(1)
                .map_or_else(Position::default, |f| f.position);
            let error = SchemaError::MultiplePrimaryKeys {
                entity: entity.to_owned(),
                count: marked.len(),
                fields: marked.join(", "),
            };
            self.error(position, format!("{path}.fields.{}", marked[1]), error);
            return Vec::new();
        }
        marked.iter().map(|name| (*name).to_owned()).collect()
    }

    pub(super) fn indexes(
        &mut self,
        keys: &Keys<'_>,
        path: &str,
        entity: &str,
        fields: &[Field],
        flags: &[FieldFlags],
        primary_key: &[String],
    ) -> Vec<Index> {
        let mut set: BTreeSet<Index> = BTreeSet::new();
        for (field, flag) in fields.iter().zip(flags) {
            if flag.unique {
                set.insert(Index {
                    fields: vec![field.name.clone()],
                    unique: true,
                    name: None,
                });
            }
            if flag.index {
                set.insert(Index {
                    fields: vec![field.name.clone()],
                    unique: false,
                    name: None,
                });
            }
        }
        let mut names: BTreeMap<String, u64> = BTreeMap::new();
        if let Some(node) = keys.get("indexes") {
            let list_path = join(path, "indexes");
            match &node.value {
                Value::Null => {}
                Value::Seq(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let item_path = format!("{list_path}[{i}]");
                        if let Some(index) = self.index(item, &item_path, entity, fields) {
                            if let Some(name) = &index.name {
                                if let Some(first_line) = names.get(name) {
                                    let other =
                                        format!("another index of {entity} (line {first_line})");
                                    self.error(
                                        item.position,
                                        item_path,
                                        SchemaError::DuplicateConstraintName {
                                            name: name.clone(),
                                            other,
                                        },
                                    );
                                    continue;
                                }
                                names.insert(name.clone(), item.position.line);
                            }
                            set.insert(index);
                        }
                    }
                }
                _ => self.wrong_shape(node, &list_path, "a list of indexes"),
            }
        }
        canonical_indexes(set, primary_key)
    }

    fn index(&mut self, node: &Node, path: &str, entity: &str, fields: &[Field]) -> Option<Index> {
        let keys = self.keys(node, path, &INDEX_KEYS, "an index mapping with fields")?;
        let Some(fields_node) = keys.get("fields") else {
            self.missing(node, path, "fields");
            return None;
        };
        let fields_path = join(path, "fields");
        let names = self.names(fields_node, &fields_path)?;
        if names.is_empty() {
            self.error(fields_node.position, fields_path, SchemaError::EmptyIndex);
            return None;
        }
        let mut ok = true;
        for (name, position) in &names {
            if !fields.iter().any(|f| &f.name == name) {
                self.error(
                    *position,
                    fields_path.clone(),
                    unknown_field("index", name, entity, fields),
                );
                ok = false;
            }
        }
        let unique = self.boolean(&keys, "unique", path).unwrap_or(false);
        let name = self.db_name(&keys, "name", path, DbObject::Index);
        ok.then(|| Index {
            fields: names.into_iter().map(|(n, _)| n).collect(),
            unique,
            name,
        })
    }
}

/// Deduplicates indexes: an unnamed index equal to a named one is the same index, and a unique
/// constraint on exactly the primary key is the primary key itself.
fn canonical_indexes(set: BTreeSet<Index>, primary_key: &[String]) -> Vec<Index> {
    let named: BTreeSet<(Vec<String>, bool)> = set
        .iter()
        .filter(|i| i.name.is_some())
        .map(|i| (i.fields.clone(), i.unique))
        .collect();
    set.into_iter()
        .filter(|i| i.name.is_some() || !named.contains(&(i.fields.clone(), i.unique)))
        .filter(|i| !(i.unique && i.name.is_none() && i.fields == primary_key))
        .collect()
}

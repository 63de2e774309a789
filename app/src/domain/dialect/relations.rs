//! Reading an entity's `relations:`: kinds, targets, foreign keys, referential actions and
//! the checks a belongsTo needs against its foreign key fields.

use super::{join, name_value, unknown_field, Keys, Reader};
use crate::domain::diagnostic::{Position, SchemaError};
use crate::domain::model::{Field, ReferentialAction, Relation, RelationKind};
use crate::domain::naming::{is_identifier, lower_first, plural};
use crate::domain::yaml::{Node, Value};

const RELATION_KEYS: [&str; 11] = [
    "name",
    "type",
    "entity",
    "target",
    "field",
    "foreignKey",
    "references",
    "onDelete",
    "onUpdate",
    "optional",
    "description",
];

impl Reader<'_, '_> {
    pub(super) fn relations(
        &mut self,
        keys: &Keys<'_>,
        path: &str,
        entity: &str,
        fields: &[Field],
    ) -> Vec<Relation> {
        let Some(node) = keys.get("relations") else {
            return Vec::new();
        };
        let list_path = join(path, "relations");
        let items = match &node.value {
            Value::Null => return Vec::new(),
            Value::Seq(items) => items,
            _ => {
                self.wrong_shape(node, &list_path, "a list of relations");
                return Vec::new();
            }
        };
        let mut relations: Vec<Relation> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let Some(relation) = self.relation(
                item,
                &format!("{list_path}[{i}]"),
                &list_path,
                entity,
                fields,
            ) else {
                continue;
            };
            let relation_path = join(&list_path, &relation.name);
            if fields.iter().any(|f| f.name == relation.name) {
                let error = SchemaError::RelationNameTaken {
                    name: relation.name.clone(),
                    other: "field",
                };
                self.error(relation.origin, relation_path, error);
                continue;
            }
            if relations.iter().any(|r| r.name == relation.name) {
                let error = SchemaError::RelationNameTaken {
                    name: relation.name.clone(),
                    other: "relation",
                };
                self.error(relation.origin, relation_path, error);
                continue;
            }
            relations.push(relation);
        }
        relations
    }

    fn relation(
        &mut self,
        node: &Node,
        index_path: &str,
        list_path: &str,
        entity: &str,
        fields: &[Field],
    ) -> Option<Relation> {
        let early_path =
            name_value(node).map_or_else(|| index_path.to_owned(), |n| join(list_path, &n));
        let keys = self.keys(node, &early_path, &RELATION_KEYS, "a relation mapping")?;
        let before = self.error_count();
        let explicit_name = self.optional_string(&keys, "name", index_path);
        // Until the name is known, paths use the list index.
        let provisional_path = explicit_name
            .as_ref()
            .map_or_else(|| index_path.to_owned(), |n| join(list_path, n));
        let Some(type_node) = keys.get("type") else {
            self.missing(node, provisional_path, "type");
            return None;
        };
        let type_name = self.string(type_node, &join(&provisional_path, "type"))?;
        let Some(kind) = RelationKind::parse(&type_name) else {
            self.error(
                type_node.position,
                join(&provisional_path, "type"),
                SchemaError::UnknownRelationType { found: type_name },
            );
            return None;
        };
        let target_node = self.either(&keys, "entity", "target", &provisional_path);
        let Some((target_key, target_node)) = target_node else {
            if self.error_count() == before {
                self.missing(node, provisional_path, "entity");
            }
            return None;
        };
        let target = self.string(target_node, &join(&provisional_path, target_key))?;
        let fk = self.either(&keys, "field", "foreignKey", &provisional_path);
        let (fk_names, fields_origin) = match fk {
            Some((key, fk_node)) => (
                self.names(fk_node, &join(&provisional_path, key))?,
                fk_node.position,
            ),
            None => (Vec::new(), node.position),
        };
        let name = explicit_name.unwrap_or_else(|| default_relation_name(kind, &target, &fk_names));
        let path = join(list_path, &name);
        if !is_identifier(&name) {
            let rule = "relation names start with a letter, then letters, digits or _";
            let at = keys.get("name").map_or(node.position, |n| n.position);
            self.error(
                at,
                join(&path, "name"),
                SchemaError::InvalidName {
                    what: "relation",
                    name,
                    rule,
                },
            );
            return None;
        }
        let references = match keys.get("references") {
            Some(refs) => Some(
                self.names(refs, &join(&path, "references"))?
                    .into_iter()
                    .map(|(n, _)| n)
                    .collect::<Vec<_>>(),
            ),
            None => None,
        };
        let on_delete = self.action(&keys, "onDelete", &path);
        let on_update = self.action(&keys, "onUpdate", &path);
        let optional = self.boolean(&keys, "optional", &path);
        let _description = self.optional_string(&keys, "description", &path);
        let fk_fields: Vec<String> = fk_names.iter().map(|(n, _)| n.clone()).collect();

        let shape_error = |problem: &'static str| SchemaError::RelationShape {
            relation: name.clone(),
            kind: kind.as_str(),
            problem,
        };
        match kind {
            RelationKind::ManyToMany => {
                if !fk_fields.is_empty() || references.is_some() {
                    self.error(
                        fields_origin,
                        path.clone(),
                        shape_error("takes no foreign key or references"),
                    );
                }
                if on_delete.is_some() || on_update.is_some() {
                    self.error(
                        node.position,
                        path.clone(),
                        shape_error("takes no onDelete or onUpdate"),
                    );
                }
            }
            _ if fk_fields.is_empty() => {
                self.error(
                    node.position,
                    path.clone(),
                    shape_error("needs a foreign key (field or foreignKey)"),
                );
            }
            _ => {}
        }
        if optional.is_some() && kind != RelationKind::BelongsTo {
            let at = keys.get("optional").map_or(node.position, |n| n.position);
            self.error(
                at,
                join(&path, "optional"),
                shape_error("takes no optional; only belongsTo does"),
            );
        }
        if let Some(refs) = &references {
            if refs.len() != fk_fields.len() {
                let at = keys.get("references").map_or(node.position, |n| n.position);
                self.error(
                    at,
                    join(&path, "references"),
                    shape_error("needs as many references as foreign key fields"),
                );
            }
        }
        if kind == RelationKind::BelongsTo {
            self.belongs_to_checks(
                &name, &path, entity, fields, &fk_names, optional, on_delete, on_update, &keys,
            );
        }
        if self.error_count() > before {
            return None;
        }
        Some(Relation {
            name,
            kind,
            target,
            fields: fk_fields,
            references,
            on_delete,
            on_update,
            optional,
            origin: node.position,
            target_origin: target_node.position,
            fields_origin,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn belongs_to_checks(
        &mut self,
        name: &str,
        path: &str,
        entity: &str,
        fields: &[Field],
        fk_names: &[(String, Position)],
        optional: Option<bool>,
        on_delete: Option<ReferentialAction>,
        on_update: Option<ReferentialAction>,
        keys: &Keys<'_>,
    ) {
        let mut fk_fields = Vec::new();
        for (fk, position) in fk_names {
            match fields.iter().find(|f| &f.name == fk) {
                Some(field) => fk_fields.push(field),
                None => {
                    let key = if keys.get("field").is_some() {
                        "field"
                    } else {
                        "foreignKey"
                    };
                    self.error(
                        *position,
                        join(path, key),
                        unknown_field("relation", fk, entity, fields),
                    );
                }
            }
        }
        if fk_fields.len() != fk_names.len() || fk_fields.is_empty() {
            return;
        }
        let fk_optional = fk_fields.iter().any(|f| f.optional);
        if let Some(declared) = optional {
            if declared != fk_optional {
                let at = keys
                    .get("optional")
                    .map_or_else(Position::default, |n| n.position);
                let field = fk_fields
                    .iter()
                    .find(|f| f.optional != declared)
                    .unwrap_or(&fk_fields[0]);
                let error = SchemaError::RelationOptionality {
                    relation: name.to_owned(),
                    declared: if declared { "optional" } else { "required" },
                    field: field.name.clone(),
                    actual: if field.optional {
                        "optional"
                    } else {
                        "required"
                    },
                };
                self.error(at, join(path, "optional"), error);
            }
        }
        for (key, action) in [("onDelete", on_delete), ("onUpdate", on_update)] {
            if action == Some(ReferentialAction::SetNull) {
                if let Some(required) = fk_fields.iter().find(|f| !f.optional) {
                    let at = keys.get(key).map_or_else(Position::default, |n| n.position);
                    let error = SchemaError::SetNullOnRequired {
                        relation: name.to_owned(),
                        field: required.name.clone(),
                    };
                    self.error(at, join(path, key), error);
                }
            }
        }
    }

    /// One of two synonymous keys; both present is an error.
    fn either<'a>(
        &mut self,
        keys: &Keys<'a>,
        first: &'static str,
        second: &'static str,
        path: &str,
    ) -> Option<(&'static str, &'a Node)> {
        match (keys.get(first), keys.get(second)) {
            (Some(_), Some(node)) => {
                self.error(
                    node.position,
                    join(path, second),
                    SchemaError::ConflictingKeys { first, second },
                );
                None
            }
            (Some(node), None) => Some((first, node)),
            (None, Some(node)) => Some((second, node)),
            (None, None) => None,
        }
    }

    fn action(
        &mut self,
        keys: &Keys<'_>,
        key: &'static str,
        path: &str,
    ) -> Option<ReferentialAction> {
        let node = keys.get(key)?;
        let key_path = join(path, key);
        let text = self.string(node, &key_path)?;
        let action = ReferentialAction::parse(&text);
        if action.is_none() {
            self.error(
                node.position,
                key_path,
                SchemaError::UnknownReferentialAction { found: text },
            );
        }
        action
    }
}

fn default_relation_name(kind: RelationKind, target: &str, fk: &[(String, Position)]) -> String {
    match kind {
        RelationKind::BelongsTo => match fk {
            [(single, _)] if single.len() > 2 && single.ends_with("Id") => {
                single[..single.len() - 2].to_owned()
            }
            _ => lower_first(target),
        },
        RelationKind::HasOne => lower_first(target),
        RelationKind::HasMany | RelationKind::ManyToMany => plural(&lower_first(target)),
    }
}

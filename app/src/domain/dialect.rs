//! Reading `entities.yaml` in both dialects into the canonical [`Entity`] model.
//!
//! The dialect is decided per entity by the shape of `fields:` (a map or a list). Spellings that
//! mean the same thing are accepted in both dialects (`entity`/`target`, `field`/`foreignKey`,
//! `nullable: true`/`required: false`, lowercase and Prisma-cased types): they are unambiguous,
//! and the corpus already mixes them. Anything not listed is an error with its position.

use std::collections::{BTreeMap, BTreeSet};

use super::config::Config;
use super::diagnostic::{Position, SchemaError, Sink};
use super::model::{
    Acl, AclOp, DefaultValue, Dialect, Entity, Field, FieldType, Index, Number, OwnerField,
    ReferentialAction, Relation, RelationKind, Role, RowLevel, TypeAlias,
};
use super::naming::{is_identifier, is_pascal_identifier, lower_first, plural};
use super::predicate::Predicate;
use super::yaml::{self, Node, Value};

/// The result of reading one `entities.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFile {
    /// Entities that parsed without errors, in file order.
    pub entities: Vec<Entity>,
    /// Names of entities that had errors (kept so relations to them do not cascade into
    /// "unknown entity" errors).
    pub broken_entities: Vec<String>,
    /// Every problem found, in file order.
    pub diagnostics: Vec<super::diagnostic::Diagnostic>,
}

const TOP_KEYS: [&str; 1] = ["entities"];
const ENTITY_KEYS: [&str; 10] = [
    "name",
    "version",
    "description",
    "checksum",
    "tableName",
    "fields",
    "primaryKey",
    "indexes",
    "relations",
    "acl",
];
const FIELD_KEYS: [&str; 14] = [
    "type",
    "required",
    "nullable",
    "primary",
    "generated",
    "unique",
    "index",
    "default",
    "maxLength",
    "enum",
    "min",
    "max",
    "description",
    "columnName",
];
const LIST_FIELD_KEYS: [&str; 15] = [
    "name",
    "type",
    "required",
    "nullable",
    "primary",
    "generated",
    "unique",
    "index",
    "default",
    "maxLength",
    "enum",
    "min",
    "max",
    "description",
    "columnName",
];
const INDEX_KEYS: [&str; 3] = ["fields", "unique", "name"];
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
const ACL_KEYS: [&str; 6] = ["create", "read", "update", "delete", "rowLevel", "owner"];

/// Prisma's built-in type names; a model cannot take one.
const PRISMA_TYPE_NAMES: [&str; 10] = [
    "String",
    "Int",
    "BigInt",
    "Float",
    "Boolean",
    "DateTime",
    "Json",
    "Bytes",
    "Decimal",
    "Unsupported",
];

/// Postgres truncates identifiers longer than this, so longer names would silently collide.
const MAX_IDENTIFIER_BYTES: usize = 63;
/// Largest `varchar(n)` Postgres accepts.
const MAX_VARCHAR_LENGTH: u64 = 10_485_760;

/// Reads one `entities.yaml`. Never fails: problems are returned as diagnostics, and every
/// entity that could be read is returned even when others in the file are broken.
#[must_use]
pub fn parse_entities(text: &str, file: &str, config: &Config) -> ParsedFile {
    let mut sink = Sink::new(file);
    let mut entities = Vec::new();
    let mut broken = Vec::new();
    match yaml::parse(text, &config.limits) {
        Err((position, error)) => sink.error(position, "", error),
        Ok(root) => {
            let mut reader = Reader {
                sink: &mut sink,
                config,
                text,
            };
            reader.file(&root, &mut entities, &mut broken);
        }
    }
    ParsedFile {
        entities,
        broken_entities: broken,
        diagnostics: sink.diagnostics,
    }
}

struct Reader<'s, 'f> {
    sink: &'s mut Sink<'f>,
    config: &'s Config,
    text: &'s str,
}

/// A mapping's entries with string keys, after unknown and duplicate keys were reported.
struct Keys<'a> {
    entries: Vec<(&'a str, &'a Node, &'a Node)>,
}

impl<'a> Keys<'a> {
    fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, v)| *v)
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl Reader<'_, '_> {
    fn error(&mut self, position: Position, path: impl Into<String>, error: SchemaError) {
        self.sink.error(position, path, error);
    }

    fn error_count(&self) -> usize {
        self.sink.diagnostics.len()
    }

    fn wrong_shape(&mut self, node: &Node, path: &str, expected: &'static str) {
        self.error(
            node.position,
            path,
            SchemaError::WrongShape {
                expected,
                found: node.value.kind(),
            },
        );
    }

    /// Reads a mapping whose keys must come from `allowed`.
    fn keys<'a>(
        &mut self,
        node: &'a Node,
        path: &str,
        allowed: &[&'static str],
        expected: &'static str,
    ) -> Option<Keys<'a>> {
        let Value::Map(entries) = &node.value else {
            self.wrong_shape(node, path, expected);
            return None;
        };
        let mut keys = Keys {
            entries: Vec::new(),
        };
        let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
        for (key, value) in entries {
            let Value::Str(name) = &key.value else {
                self.wrong_shape(key, path, "a string key");
                continue;
            };
            if let Some(first_line) = seen.get(name.as_str()) {
                let error = SchemaError::DuplicateKey {
                    key: name.clone(),
                    first_line: *first_line,
                };
                self.error(key.position, join(path, name), error);
                continue;
            }
            seen.insert(name, key.position.line);
            if !allowed.contains(&name.as_str()) {
                let error = SchemaError::UnknownKey {
                    key: name.clone(),
                    expected: allowed.to_vec(),
                };
                self.error(key.position, join(path, name), error);
                continue;
            }
            keys.entries.push((name, key, value));
        }
        Some(keys)
    }

    fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            _ => {
                self.wrong_shape(node, path, "a string");
                None
            }
        }
    }

    fn optional_string(&mut self, keys: &Keys<'_>, key: &str, path: &str) -> Option<String> {
        let node = keys.get(key)?;
        match &node.value {
            Value::Null => None,
            _ => self.string(node, &join(path, key)),
        }
    }

    fn boolean(&mut self, keys: &Keys<'_>, key: &str, path: &str) -> Option<bool> {
        let node = keys.get(key)?;
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.wrong_shape(node, &join(path, key), "true or false");
                None
            }
        }
    }

    /// A name or a list of names (`fields: [a, b]` or `field: a`), with positions.
    fn names(&mut self, node: &Node, path: &str) -> Option<Vec<(String, Position)>> {
        match &node.value {
            Value::Str(s) => Some(vec![(s.clone(), node.position)]),
            Value::Seq(items) => {
                let mut names = Vec::new();
                for item in items {
                    match &item.value {
                        Value::Str(s) => names.push((s.clone(), item.position)),
                        _ => {
                            self.wrong_shape(item, path, "a name");
                            return None;
                        }
                    }
                }
                Some(names)
            }
            _ => {
                self.wrong_shape(node, path, "a name or a list of names");
                None
            }
        }
    }

    /// A database identifier (`tableName`, `columnName`, index `name`).
    fn db_name(&mut self, keys: &Keys<'_>, key: &'static str, path: &str) -> Option<String> {
        let node = keys.get(key)?;
        let value = self.optional_string(keys, key, path)?;
        let valid = !value.is_empty()
            && value.len() <= MAX_IDENTIFIER_BYTES
            && !value.chars().any(char::is_control);
        if valid {
            Some(value)
        } else {
            let expected = format!("1 to {MAX_IDENTIFIER_BYTES} bytes without control characters");
            self.error(
                node.position,
                join(path, key),
                SchemaError::InvalidValue {
                    key,
                    value: format!("{value:?}"),
                    expected,
                },
            );
            None
        }
    }

    fn file(&mut self, root: &Node, entities: &mut Vec<Entity>, broken: &mut Vec<String>) {
        if root.value == Value::Null {
            self.error(
                root.position,
                "",
                SchemaError::MissingKey {
                    key: "entities".to_owned(),
                },
            );
            return;
        }
        let Some(keys) = self.keys(root, "", &TOP_KEYS, "a mapping with an `entities:` list")
        else {
            return;
        };
        let Some(list) = keys.get("entities") else {
            self.error(
                root.position,
                "",
                SchemaError::MissingKey {
                    key: "entities".to_owned(),
                },
            );
            return;
        };
        let items = match &list.value {
            Value::Seq(items) => items,
            _ => {
                self.wrong_shape(list, "entities", "a list of entities");
                return;
            }
        };
        if items.len() > self.config.limits.max_entities {
            let error = SchemaError::TooManyEntities {
                count: items.len(),
                limit: self.config.limits.max_entities,
            };
            self.error(list.position, "entities", error);
            return;
        }
        let mut seen: BTreeMap<String, u64> = BTreeMap::new();
        for (index, item) in items.iter().enumerate() {
            let before = self.error_count();
            let entity = self.entity(item, index);
            let name = entity
                .as_ref()
                .map(|e| e.name.clone())
                .or_else(|| name_value(item));
            if let Some(name) = &name {
                if let Some(first_line) = seen.get(name) {
                    let error = SchemaError::DuplicateEntity {
                        name: name.clone(),
                        first_line: *first_line,
                    };
                    self.error(item.position, name.clone(), error);
                    continue;
                }
                seen.insert(name.clone(), item.position.line);
            }
            match entity {
                Some(entity) if self.error_count() == before => entities.push(entity),
                _ => broken.extend(name),
            }
        }
    }

    fn entity(&mut self, node: &Node, index: usize) -> Option<Entity> {
        let fallback_path = format!("entities[{index}]");
        // Name the entity in paths as early as possible, even for errors among its keys.
        let early_path = name_value(node)
            .filter(|n| is_pascal_identifier(n))
            .unwrap_or_else(|| fallback_path.clone());
        let keys = self.keys(node, &early_path, &ENTITY_KEYS, "an entity mapping")?;
        let Some(name_node) = keys.get("name") else {
            self.error(
                node.position,
                fallback_path,
                SchemaError::MissingKey {
                    key: "name".to_owned(),
                },
            );
            return None;
        };
        let name = self.string(name_node, &join(&fallback_path, "name"))?;
        if !is_pascal_identifier(&name) {
            let rule = "entity names are PascalCase: a capital letter, then letters, digits or _";
            self.error(
                name_node.position,
                join(&fallback_path, "name"),
                SchemaError::InvalidName {
                    what: "entity",
                    name,
                    rule,
                },
            );
            return None;
        }
        if PRISMA_TYPE_NAMES.contains(&name.as_str()) {
            let rule = "a Prisma type name cannot name a model";
            self.error(
                name_node.position,
                join(&name, "name"),
                SchemaError::InvalidName {
                    what: "entity",
                    name,
                    rule,
                },
            );
            return None;
        }
        let path = name.clone();
        let before = self.error_count();
        for ignored in ["version", "checksum"] {
            // Informational only; any scalar is fine, structure is not.
            if let Some(v) = keys.get(ignored) {
                if matches!(v.value, Value::Seq(_) | Value::Map(_)) {
                    self.wrong_shape(v, &join(&path, ignored), "a scalar");
                }
            }
        }
        let description = self.optional_string(&keys, "description", &path);
        let table_name = self.db_name(&keys, "tableName", &path);

        let Some(fields_node) = keys.get("fields") else {
            self.error(
                node.position,
                path,
                SchemaError::MissingKey {
                    key: "fields".to_owned(),
                },
            );
            return None;
        };
        let (dialect, mut fields, flags) = self.fields(fields_node, &path)?;

        self.unique_columns(&path, &fields);
        let mut primary_key = self.primary_key(&keys, &path, &name, &fields, &flags);
        if primary_key.is_empty() && self.error_count() == before {
            self.error(
                node.position,
                path.clone(),
                SchemaError::MissingPrimaryKey {
                    entity: name.clone(),
                },
            );
        }
        let indexes = self.indexes(&keys, &path, &name, &fields, &flags, &primary_key);
        let relations = self.relations(&keys, &path, &name, &fields);
        let acl = keys
            .get("acl")
            .and_then(|acl| self.acl(acl, &join(&path, "acl")));

        // Primary key fields must be required; reported once here for both ways of declaring.
        for key_field in &primary_key {
            if let Some(field) = fields.iter().find(|f| &f.name == key_field) {
                if field.optional {
                    let error = SchemaError::OptionalPrimaryKey {
                        field: field.name.clone(),
                    };
                    self.error(field.origin, format!("{path}.fields.{}", field.name), error);
                }
            }
        }
        fields.shrink_to_fit();
        primary_key.shrink_to_fit();
        Some(Entity {
            name,
            table_name,
            description,
            fields,
            primary_key,
            indexes,
            relations,
            acl,
            dialect,
            origin: node.position,
        })
    }

    /// Reads `fields:` in either dialect. Returns the fields plus their per-field flags.
    fn fields(
        &mut self,
        node: &Node,
        path: &str,
    ) -> Option<(Dialect, Vec<Field>, Vec<FieldFlags>)> {
        let fields_path = join(path, "fields");
        // (name, name position, spec node, allowed keys)
        let mut specs: Vec<(String, Position, &Node, &[&'static str])> = Vec::new();
        let dialect = match &node.value {
            Value::Map(entries) => {
                for (key, spec) in entries {
                    let Value::Str(name) = &key.value else {
                        self.wrong_shape(key, &fields_path, "a field name");
                        continue;
                    };
                    specs.push((name.clone(), key.position, spec, &FIELD_KEYS));
                }
                Dialect::Map
            }
            Value::Seq(items) => {
                for (index, item) in items.iter().enumerate() {
                    let item_path = format!("{fields_path}[{index}]");
                    let name_node = match &item.value {
                        Value::Map(entries) => entries
                            .iter()
                            .find(|(k, _)| k.value == Value::Str("name".to_owned()))
                            .map(|(_, v)| v),
                        _ => {
                            self.wrong_shape(
                                item,
                                &item_path,
                                "a field mapping with name and type",
                            );
                            continue;
                        }
                    };
                    let Some(name_node) = name_node else {
                        self.error(
                            item.position,
                            item_path,
                            SchemaError::MissingKey {
                                key: "name".to_owned(),
                            },
                        );
                        continue;
                    };
                    let Some(name) = self.string(name_node, &join(&item_path, "name")) else {
                        continue;
                    };
                    specs.push((name, name_node.position, item, &LIST_FIELD_KEYS));
                }
                Dialect::List
            }
            _ => {
                self.wrong_shape(node, &fields_path, "a map of fields or a list of fields");
                return None;
            }
        };
        if specs.len() > self.config.limits.max_fields_per_entity {
            let error = SchemaError::TooManyFields {
                count: specs.len(),
                limit: self.config.limits.max_fields_per_entity,
            };
            self.error(node.position, fields_path, error);
            return None;
        }
        let mut fields = Vec::new();
        let mut flags = Vec::new();
        let mut seen: BTreeMap<String, u64> = BTreeMap::new();
        for (name, position, spec, allowed) in specs {
            let field_path = join(&fields_path, &name);
            if let Some(first_line) = seen.get(&name) {
                self.error(
                    position,
                    field_path,
                    SchemaError::DuplicateField {
                        name,
                        first_line: *first_line,
                    },
                );
                continue;
            }
            seen.insert(name.clone(), position.line);
            if !is_identifier(&name) {
                let rule = "field names start with a letter, then letters, digits or _";
                self.error(
                    position,
                    field_path,
                    SchemaError::InvalidName {
                        what: "field",
                        name,
                        rule,
                    },
                );
                continue;
            }
            if let Some((field, field_flags)) =
                self.field(name, position, spec, &field_path, allowed)
            {
                fields.push(field);
                flags.push(field_flags);
            }
        }
        Some((dialect, fields, flags))
    }

    fn field(
        &mut self,
        name: String,
        position: Position,
        spec: &Node,
        path: &str,
        allowed: &[&'static str],
    ) -> Option<(Field, FieldFlags)> {
        let keys = self.keys(spec, path, allowed, "a field mapping with a type")?;
        let before = self.error_count();
        let Some(type_node) = keys.get("type") else {
            self.error(
                spec.position,
                path,
                SchemaError::MissingKey {
                    key: "type".to_owned(),
                },
            );
            return None;
        };
        let type_path = join(path, "type");
        let type_name = self.string(type_node, &type_path)?;
        let Some((field_type, alias)) = FieldType::parse(&type_name) else {
            self.error(
                type_node.position,
                type_path,
                SchemaError::UnknownFieldType { found: type_name },
            );
            return None;
        };
        let written_type = type_name;

        let required = self.boolean(&keys, "required", path);
        let nullable = self.boolean(&keys, "nullable", path);
        let contradictory = matches!(
            (required, nullable),
            (Some(true), Some(true)) | (Some(false), Some(false))
        );
        if contradictory {
            let at = keys.get("nullable").map_or(spec.position, |n| n.position);
            self.error(
                at,
                join(path, "nullable"),
                SchemaError::ContradictoryOptionality {
                    field: name.clone(),
                },
            );
        }
        let optional = nullable == Some(true) || required == Some(false);
        let flags = FieldFlags {
            primary: self.boolean(&keys, "primary", path).unwrap_or(false),
            unique: self.boolean(&keys, "unique", path).unwrap_or(false),
            index: self.boolean(&keys, "index", path).unwrap_or(false),
            position,
        };
        let generated = self.boolean(&keys, "generated", path).unwrap_or(false);
        let description = self.optional_string(&keys, "description", path);
        let column_name = self.db_name(&keys, "columnName", path);

        let max_length = keys.get("maxLength").and_then(|node| {
            let key_path = join(path, "maxLength");
            if field_type != FieldType::String {
                let error = SchemaError::KeyNotApplicable {
                    key: "maxLength",
                    field_type: written_type.clone(),
                };
                self.error(node.position, key_path, error);
                return None;
            }
            match node.value {
                Value::Int(n) if n >= 1 && n.unsigned_abs() <= MAX_VARCHAR_LENGTH => {
                    Some(n.unsigned_abs())
                }
                _ => {
                    let expected = format!("an integer from 1 to {MAX_VARCHAR_LENGTH}");
                    self.error(
                        node.position,
                        key_path,
                        SchemaError::InvalidValue {
                            key: "maxLength",
                            value: node.value.to_string(),
                            expected,
                        },
                    );
                    None
                }
            }
        });
        let enum_values = keys.get("enum").and_then(|node| {
            self.enum_values(node, &join(path, "enum"), field_type, &written_type)
        });
        let min = keys
            .get("min")
            .and_then(|node| self.bound(node, "min", path, field_type, &written_type));
        let max = keys
            .get("max")
            .and_then(|node| self.bound(node, "max", path, field_type, &written_type));
        if let (Some(lo), Some(hi)) = (min, max) {
            if lo.as_f64() > hi.as_f64() {
                let at = keys.get("min").map_or(spec.position, |n| n.position);
                self.error(
                    at,
                    join(path, "min"),
                    SchemaError::MinAboveMax {
                        min: lo.to_string(),
                        max: hi.to_string(),
                    },
                );
            }
        }

        let mut default = None;
        if let Some(node) = keys.get("default") {
            let default_path = join(path, "default");
            match parse_default(node, field_type, enum_values.as_deref()) {
                Ok(value) => default = value,
                Err(error) => self.error(node.position, default_path.clone(), error),
            }
            if let Some(value) = &default {
                if let Some(error) =
                    check_default_bounds(value, enum_values.as_deref(), min, max, max_length)
                {
                    self.error(node.position, default_path, error);
                }
            }
        }
        if generated {
            let at = keys.get("generated").map_or(spec.position, |n| n.position);
            match generator_for(field_type, alias) {
                None => self.error(
                    at,
                    join(path, "generated"),
                    SchemaError::NotGeneratable {
                        field_type: written_type.clone(),
                    },
                ),
                Some(generator) => match &default {
                    Some(existing) if *existing != generator => {
                        let error = SchemaError::GeneratedWithDefault {
                            field: name.clone(),
                            default: existing.to_string(),
                        };
                        self.error(at, join(path, "generated"), error);
                    }
                    _ => default = Some(generator),
                },
            }
        }
        if self.error_count() > before {
            return None;
        }
        let field = Field {
            name,
            field_type,
            alias,
            optional,
            default,
            max_length,
            enum_values,
            min,
            max,
            column_name,
            description,
            origin: position,
        };
        Some((field, flags))
    }

    /// Two fields may not land in one column (`columnName` equal to another field's column).
    fn unique_columns(&mut self, path: &str, fields: &[Field]) {
        let mut columns: BTreeMap<&str, &str> = BTreeMap::new();
        for field in fields {
            let column = field.column_name.as_deref().unwrap_or(&field.name);
            if let Some(other) = columns.insert(column, &field.name) {
                let error = SchemaError::InvalidValue {
                    key: "columnName",
                    value: format!("{column:?}"),
                    expected: format!("a column no other field uses (field {other} already does)"),
                };
                self.error(field.origin, format!("{path}.fields.{}", field.name), error);
            }
        }
    }

    fn enum_values(
        &mut self,
        node: &Node,
        path: &str,
        field_type: FieldType,
        written_type: &str,
    ) -> Option<Vec<String>> {
        if field_type != FieldType::String {
            self.error(
                node.position,
                path,
                SchemaError::KeyNotApplicable {
                    key: "enum",
                    field_type: written_type.to_owned(),
                },
            );
            return None;
        }
        let Value::Seq(items) = &node.value else {
            self.wrong_shape(node, path, "a list of strings");
            return None;
        };
        if items.is_empty() {
            let expected = "at least one value".to_owned();
            self.error(
                node.position,
                path,
                SchemaError::InvalidValue {
                    key: "enum",
                    value: "[]".to_owned(),
                    expected,
                },
            );
            return None;
        }
        let mut values = Vec::new();
        let mut seen = BTreeSet::new();
        for item in items {
            // Unquoted numbers and booleans are accepted as their text: the column is a string.
            let text = match &item.value {
                Value::Str(s) => s.clone(),
                Value::Int(i) => i.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    self.wrong_shape(item, path, "a string");
                    return None;
                }
            };
            if !seen.insert(text.clone()) {
                self.error(
                    item.position,
                    path,
                    SchemaError::DuplicateEnumValue { value: text },
                );
                return None;
            }
            values.push(text);
        }
        Some(values)
    }

    fn bound(
        &mut self,
        node: &Node,
        key: &'static str,
        path: &str,
        field_type: FieldType,
        written_type: &str,
    ) -> Option<Number> {
        let key_path = join(path, key);
        if !field_type.is_numeric() && field_type != FieldType::String {
            self.error(
                node.position,
                key_path,
                SchemaError::KeyNotApplicable {
                    key,
                    field_type: written_type.to_owned(),
                },
            );
            return None;
        }
        match node.value {
            Value::Int(i) => Some(Number::Int(i)),
            Value::Float(x) if x.is_finite() => Some(Number::Float(x)),
            _ => {
                self.wrong_shape(node, &key_path, "a number");
                None
            }
        }
    }

    fn primary_key(
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

    fn indexes(
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
            self.error(
                node.position,
                path,
                SchemaError::MissingKey {
                    key: "fields".to_owned(),
                },
            );
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
        let name = self.db_name(&keys, "name", path);
        ok.then(|| Index {
            fields: names.into_iter().map(|(n, _)| n).collect(),
            unique,
            name,
        })
    }

    fn relations(
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
            self.error(
                node.position,
                provisional_path,
                SchemaError::MissingKey {
                    key: "type".to_owned(),
                },
            );
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
                self.error(
                    node.position,
                    provisional_path,
                    SchemaError::MissingKey {
                        key: "entity".to_owned(),
                    },
                );
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

    fn acl(&mut self, node: &Node, path: &str) -> Option<Acl> {
        if node.value == Value::Null {
            return None;
        }
        let keys = self.keys(node, path, &ACL_KEYS, "an acl mapping")?;
        let mut acl = Acl::default();
        for op in AclOp::ALL {
            let Some(list) = keys.get(op.as_str()) else {
                continue;
            };
            let op_path = join(path, op.as_str());
            let Some(names) = self.names(list, &op_path) else {
                continue;
            };
            let mut roles: Vec<Role> = Vec::new();
            for (name, position) in names {
                if !self.config.roles.contains(&name) {
                    let known = self.config.roles.iter().cloned().collect();
                    self.error(
                        position,
                        op_path.clone(),
                        SchemaError::UnknownRole { role: name, known },
                    );
                    continue;
                }
                if !roles.iter().any(|r| r.name == name) {
                    roles.push(Role {
                        name,
                        origin: position,
                    });
                }
            }
            acl.rules.insert(op, roles);
        }
        if let Some(owner_node) = keys.get("owner") {
            let origin = self.scalar_content_start(owner_node);
            if let Some(name) = self.string(owner_node, &join(path, "owner")) {
                acl.owner = Some(OwnerField { name, origin });
            }
        }
        if let Some(row_node) = keys.get("rowLevel") {
            let row_path = join(path, "rowLevel");
            match &row_node.value {
                Value::Null => {}
                Value::Str(source) => {
                    let origin = self.scalar_content_start(row_node);
                    match Predicate::parse(source) {
                        Ok(predicate) => {
                            acl.row_level = Some(RowLevel {
                                source: source.clone(),
                                predicate,
                                origin,
                            })
                        }
                        Err(error) => {
                            let at = shift_within(source, origin, error.offset);
                            self.error(
                                at,
                                row_path,
                                SchemaError::InvalidPredicate {
                                    detail: error.detail,
                                },
                            );
                        }
                    }
                }
                _ => self.wrong_shape(row_node, &row_path, "a predicate string"),
            }
        }
        Some(acl)
    }

    /// Where a scalar's text starts: one column right of an opening quote.
    fn scalar_content_start(&self, node: &Node) -> Position {
        let offset = usize::try_from(node.offset).unwrap_or(usize::MAX);
        let quoted = self
            .text
            .chars()
            .nth(offset)
            .is_some_and(|c| c == '"' || c == '\'');
        if quoted {
            node.position.shifted(1)
        } else {
            node.position
        }
    }
}

/// Position of character `offset` inside a scalar starting at `start` (exact on one line).
pub(crate) fn shift_within(source: &str, start: Position, offset: usize) -> Position {
    if source.chars().take(offset).any(|c| c == '\n') {
        start
    } else {
        start.shifted(offset as u64)
    }
}

#[derive(Debug, Clone, Copy)]
struct FieldFlags {
    primary: bool,
    unique: bool,
    index: bool,
    position: Position,
}

fn name_value(node: &Node) -> Option<String> {
    let Value::Map(entries) = &node.value else {
        return None;
    };
    entries
        .iter()
        .find_map(|(k, v)| match (&k.value, &v.value) {
            (Value::Str(key), Value::Str(name)) if key == "name" => Some(name.clone()),
            _ => None,
        })
}

pub(crate) fn unknown_field(
    what: &'static str,
    field: &str,
    entity: &str,
    fields: &[Field],
) -> SchemaError {
    SchemaError::UnknownField {
        what,
        field: field.to_owned(),
        entity: entity.to_owned(),
        known: fields.iter().map(|f| f.name.clone()).collect(),
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

/// The generator that `generated: true` stands for.
fn generator_for(field_type: FieldType, alias: Option<TypeAlias>) -> Option<DefaultValue> {
    match (field_type, alias) {
        (FieldType::String, Some(TypeAlias::Cuid)) => Some(DefaultValue::Cuid),
        (FieldType::String, Some(TypeAlias::Uuid)) => Some(DefaultValue::Uuid),
        (FieldType::Int | FieldType::BigInt, _) => Some(DefaultValue::Autoincrement),
        (FieldType::DateTime, _) => Some(DefaultValue::Now),
        _ => None,
    }
}

/// Types a default against its field.
///
/// Function spellings: `now()`, `cuid()`, `uuid()`, `autoincrement()` always mean the function;
/// the bare names (`now`, `cuid`, ...) mean the function when the field type supports it and
/// the word is not one of the field's enum values (then it is that literal string).
fn parse_default(
    node: &Node,
    field_type: FieldType,
    enum_values: Option<&[String]>,
) -> Result<Option<DefaultValue>, SchemaError> {
    let mismatch = || SchemaError::DefaultTypeMismatch {
        value: node.value.to_string(),
        field_type: field_type.to_string(),
    };
    let value = match &node.value {
        Value::Null => return Ok(None),
        Value::Bool(b) if field_type == FieldType::Boolean => DefaultValue::Bool(*b),
        Value::Int(i) if matches!(field_type, FieldType::Int | FieldType::BigInt) => {
            if field_type == FieldType::Int && i32::try_from(*i).is_err() {
                let expected = "a 32-bit integer for Int; use bigint for larger values".to_owned();
                return Err(SchemaError::InvalidValue {
                    key: "default",
                    value: i.to_string(),
                    expected,
                });
            }
            DefaultValue::Int(*i)
        }
        // Integers are exact in f64 up to 2^53; larger float defaults are not a real use.
        #[allow(clippy::cast_precision_loss)]
        Value::Int(i) if field_type == FieldType::Float => DefaultValue::Float(*i as f64),
        Value::Float(x) if field_type == FieldType::Float && x.is_finite() => {
            DefaultValue::Float(*x)
        }
        Value::Str(text) => {
            let (function_name, explicit_call) = match text.strip_suffix("()") {
                Some(name) => (name, true),
                None => (text.as_str(), false),
            };
            let function = match function_name {
                "now" => Some(DefaultValue::Now),
                "cuid" => Some(DefaultValue::Cuid),
                "uuid" => Some(DefaultValue::Uuid),
                "autoincrement" => Some(DefaultValue::Autoincrement),
                _ => None,
            };
            let fits = |f: &DefaultValue| match f {
                DefaultValue::Now => field_type == FieldType::DateTime,
                DefaultValue::Cuid | DefaultValue::Uuid => field_type == FieldType::String,
                DefaultValue::Autoincrement => {
                    matches!(field_type, FieldType::Int | FieldType::BigInt)
                }
                _ => false,
            };
            let is_enum_literal =
                enum_values.is_some_and(|values| values.iter().any(|v| v == text));
            match function {
                Some(function) if explicit_call && !fits(&function) => return Err(mismatch()),
                Some(function) if explicit_call || (fits(&function) && !is_enum_literal) => {
                    function
                }
                None if explicit_call && is_call_like(function_name) => {
                    return Err(SchemaError::UnknownDefaultFunction {
                        name: function_name.to_owned(),
                    })
                }
                _ if matches!(field_type, FieldType::String | FieldType::Json) => {
                    DefaultValue::String(text.clone())
                }
                _ => return Err(mismatch()),
            }
        }
        _ => return Err(mismatch()),
    };
    Ok(Some(value))
}

fn is_call_like(name: &str) -> bool {
    is_identifier(name)
}

fn check_default_bounds(
    value: &DefaultValue,
    enum_values: Option<&[String]>,
    min: Option<Number>,
    max: Option<Number>,
    max_length: Option<u64>,
) -> Option<SchemaError> {
    if let (DefaultValue::String(text), Some(allowed)) = (value, enum_values) {
        if !allowed.iter().any(|v| v == text) {
            return Some(SchemaError::DefaultNotInEnum {
                value: text.clone(),
                allowed: allowed.to_vec(),
            });
        }
    }
    if let (DefaultValue::String(text), Some(limit)) = (value, max_length) {
        let length = text.chars().count();
        if length as u64 > limit {
            return Some(SchemaError::DefaultTooLong {
                length,
                max_length: limit,
            });
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let numeric = match value {
        DefaultValue::Int(i) => Some(*i as f64),
        DefaultValue::Float(x) => Some(*x),
        _ => None,
    };
    if let Some(number) = numeric {
        let below = min.is_some_and(|lo| number < lo.as_f64());
        let above = max.is_some_and(|hi| number > hi.as_f64());
        if below || above {
            let range = format!(
                "{}..={}",
                min.map_or_else(String::new, |n| n.to_string()),
                max.map_or_else(String::new, |n| n.to_string())
            );
            return Some(SchemaError::DefaultOutOfRange {
                value: value.to_string(),
                range,
            });
        }
    }
    None
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

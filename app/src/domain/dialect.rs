//! Reading `entities.yaml` in both dialects into the canonical [`Entity`] model.
//!
//! The dialect is decided per entity by the shape of `fields:` (a map or a list). Spellings that
//! mean the same thing are accepted in both dialects (`entity`/`target`, `field`/`foreignKey`,
//! `nullable: true`/`required: false`, lowercase and Prisma-cased types): they are unambiguous,
//! and the corpus already mixes them. Anything not listed is an error with its position.

use std::collections::BTreeMap;

use super::config::Config;
use super::diagnostic::{Position, SchemaError, Sink};
use super::model::{Entity, Field};
use super::naming::{db_name_problem, is_pascal_identifier, DbObject};
use super::yaml::{self, Node, Value};

mod acl;
mod fields;
mod indexes;
mod relations;
mod renames;

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

const TOP_KEYS: [&str; 2] = ["entities", "owner"];

/// What an `owner:` must look like: a Schemagate account name.
const OWNER_RULE: &str = "an account name: lowercase letters, digits, '.', '_' or '-', a letter or digit first, at most 64 bytes";

/// Whether `name` is a Schemagate account name (the grammar `schemagate user add` accepts).
#[must_use]
pub fn is_account_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && name.len() <= 64
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

/// The package's declared owner: the optional top-level `owner:` of its `entities.yaml`, the
/// Schemagate account that authors its changes (four-eyes never lets it give the second
/// approval). None when the file names none, or names one that is not an account name (the
/// scan reports that as an error).
#[must_use]
pub fn declared_owner(text: &str, config: &Config) -> Option<String> {
    let root = yaml::parse(text, &config.limits).ok()?;
    let Value::Map(entries) = &root.value else {
        return None;
    };
    entries
        .iter()
        .find_map(|(key, value)| match (&key.value, &value.value) {
            (Value::Str(k), Value::Str(owner)) if k == "owner" && is_account_name(owner) => {
                Some(owner.clone())
            }
            _ => None,
        })
}
const ENTITY_KEYS: [&str; 11] = [
    "name",
    "renamedFrom",
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

    /// `node` lacks the required `key`.
    fn missing(&mut self, node: &Node, path: impl Into<String>, key: &str) {
        let error = SchemaError::MissingKey {
            key: key.to_owned(),
        };
        self.error(node.position, path, error);
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

    /// A database identifier (`tableName`, `columnName`, index `name`): it must follow the
    /// database name grammar, so that no name can carry SQL or Prisma syntax.
    fn db_name(
        &mut self,
        keys: &Keys<'_>,
        key: &'static str,
        path: &str,
        object: DbObject,
    ) -> Option<String> {
        let node = keys.get(key)?;
        let name = self.optional_string(keys, key, path)?;
        match db_name_problem(&name, object) {
            None => Some(name),
            Some(rule) => {
                let error = SchemaError::InvalidName {
                    what: object.word(),
                    name,
                    rule,
                };
                self.error(node.position, join(path, key), error);
                None
            }
        }
    }

    fn file(&mut self, root: &Node, entities: &mut Vec<Entity>, broken: &mut Vec<String>) {
        if root.value == Value::Null {
            self.missing(root, "", "entities");
            return;
        }
        let Some(keys) = self.keys(root, "", &TOP_KEYS, "a mapping with an `entities:` list")
        else {
            return;
        };
        self.owner(&keys);
        let Some(list) = keys.get("entities") else {
            self.missing(root, "", "entities");
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
        self.distinct_entity_renames(entities);
    }

    /// `owner:`, if present, must be an account name.
    fn owner(&mut self, keys: &Keys<'_>) {
        let Some(node) = keys.get("owner") else {
            return;
        };
        let Some(name) = self.string(node, "owner") else {
            return;
        };
        if !is_account_name(&name) {
            let error = SchemaError::InvalidName {
                what: "owner",
                name,
                rule: OWNER_RULE,
            };
            self.error(node.position, "owner", error);
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
            self.missing(node, fallback_path, "name");
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
        let table_name = self.db_name(&keys, "tableName", &path, DbObject::Table);
        let renamed_from = self.renamed_from(&keys, &path, &name, renames::Renamed::Entity);

        let Some(fields_node) = keys.get("fields") else {
            self.missing(node, path, "fields");
            return None;
        };
        let (dialect, mut fields, flags) = self.fields(fields_node, &path)?;

        self.unique_columns(&path, &fields);
        self.distinct_field_renames(&path, &fields);
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
            renamed_from,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_declares_its_owner_with_a_top_level_key() {
        let config = Config::default();
        let text = "owner: alice\nentities:\n  - name: Thing\n    fields:\n      id: { type: cuid, primary: true }\n";
        assert_eq!(declared_owner(text, &config).as_deref(), Some("alice"));
        let parsed = parse_entities(text, "p/entities.yaml", &config);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        assert_eq!(parsed.entities.len(), 1);
        assert_eq!(declared_owner("entities: []\n", &config), None);
    }

    #[test]
    fn an_owner_that_is_no_account_name_is_an_error_and_owns_nothing() {
        let config = Config::default();
        let text = "owner: Alice Smith\nentities: []\n";
        assert_eq!(declared_owner(text, &config), None);
        let parsed = parse_entities(text, "p/entities.yaml", &config);
        let messages: Vec<String> = parsed.diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(
            messages[0].contains("invalid owner name \"Alice Smith\""),
            "{messages:?}"
        );
    }
}

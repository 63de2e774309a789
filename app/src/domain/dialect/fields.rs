//! Reading `fields:` in either dialect: field types, optionality, defaults, enums, bounds
//! and column names.

use std::collections::{BTreeMap, BTreeSet};

use super::{join, FieldFlags, Reader};
use crate::domain::diagnostic::{Position, SchemaError};
use crate::domain::model::{DefaultValue, Dialect, Field, FieldType, Number, TypeAlias};
use crate::domain::naming::{is_identifier, DbObject};
use crate::domain::yaml::{Node, Value};

const FIELD_KEYS: [&str; 15] = [
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
    "renamedFrom",
];
const LIST_FIELD_KEYS: [&str; 16] = [
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
    "renamedFrom",
];
/// Largest `varchar(n)` Postgres accepts.
const MAX_VARCHAR_LENGTH: u64 = 10_485_760;

impl Reader<'_, '_> {
    /// Reads `fields:` in either dialect. Returns the fields plus their per-field flags.
    pub(super) fn fields(
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
                        self.missing(item, item_path, "name");
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
            self.missing(spec, path, "type");
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
        let column_name = self.db_name(&keys, "columnName", path, DbObject::Column);
        let renamed_from = self.renamed_from(&keys, path, &name, super::renames::Renamed::Field);

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
            renamed_from,
            description,
            origin: position,
        };
        Some((field, flags))
    }

    /// Two fields may not land in one column (`columnName` equal to another field's column).
    pub(super) fn unique_columns(&mut self, path: &str, fields: &[Field]) {
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

//! Structural checksums: `v1:` + SHA-256 (lowercase hex) over a canonical encoding.
//!
//! The encoding is a JSON text written by hand (not `serde_json`, whose key order depends on a
//! cargo feature that any crate in the build may switch on) from the normalized [`Entity`]:
//! - included: name, tableName, every field's type, optionality, default, maxLength, enum
//!   values, min/max and columnName; the primary key; indexes; relations (kind, target, foreign
//!   key, references, onDelete, onUpdate); ACL roles per operation and the canonical rowLevel;
//!   `renamedFrom` of entities and fields, only where given (it changes the plan);
//! - excluded: descriptions, version, the stored checksum, comments, formatting, line endings,
//!   key order, field order, role order, dialect and type spelling (`cuid` vs `String`).
//!
//! Aliases are resolved before encoding: `type: cuid, generated: true` and
//! `type: String, default: cuid` are one field. A relation's `optional` is derived from its
//! foreign key (validated to agree), so it is not encoded separately. Omitted `references` and
//! omitted `onDelete`/`onUpdate` are encoded as omitted: they mean "Prisma's default", and that
//! default depends on other models.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::model::{Acl, DefaultValue, Entity, Field, Number, ReferentialAction, Relation};

/// The algorithm tag in front of every checksum.
pub const CHECKSUM_PREFIX: &str = "v1:";

/// A JSON object being written. Keys must come in byte order, as a sorted map would give them:
/// the encoding is written straight into the output, with no tree of maps built first.
struct Object<'o> {
    out: &'o mut String,
    last_key: Option<&'o str>,
}

impl<'o> Object<'o> {
    fn open(out: &'o mut String) -> Self {
        out.push('{');
        Self {
            out,
            last_key: None,
        }
    }

    /// Writes `key:` (after a comma when needed) and returns the output for the value.
    fn key(&mut self, key: &'o str) -> &mut String {
        debug_assert!(
            self.last_key.is_none_or(|last| last < key),
            "canonical keys out of order: {key:?} after {:?}",
            self.last_key
        );
        if self.last_key.is_some() {
            self.out.push(',');
        }
        self.last_key = Some(key);
        write_json_string(key, self.out);
        self.out.push(':');
        self.out
    }

    fn close(self) {
        self.out.push('}');
    }
}

fn write_json_string(text: &str, out: &mut String) {
    out.push('"');
    let mut plain = 0;
    for (i, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            byte if byte < 0x20 => "",
            _ => continue,
        };
        out.push_str(&text[plain..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", byte);
        } else {
            out.push_str(escape);
        }
        plain = i + 1;
    }
    out.push_str(&text[plain..]);
    out.push('"');
}

fn write_null(out: &mut String) {
    out.push_str("null");
}

fn write_bool(value: bool, out: &mut String) {
    out.push_str(if value { "true" } else { "false" });
}

fn write_opt_str(text: Option<&str>, out: &mut String) {
    match text {
        Some(text) => write_json_string(text, out),
        None => write_null(out),
    }
}

/// A value's `Display` text as a JSON string; for numbers, which need no escaping.
fn write_quoted(value: impl std::fmt::Display, out: &mut String) {
    let _ = write!(out, "\"{value}\"");
}

fn write_strings<'a>(items: impl IntoIterator<Item = &'a str>, out: &mut String) {
    out.push('[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_string(item, out);
    }
    out.push(']');
}

fn write_opt_strings(items: Option<&[String]>, out: &mut String) {
    match items {
        Some(items) => write_strings(items.iter().map(String::as_str), out),
        None => write_null(out),
    }
}

/// Numbers are encoded by value, so `1` and `1.0` are the same bound.
fn write_number(n: Option<Number>, out: &mut String) {
    match n {
        Some(n) => write_quoted(n.as_f64(), out),
        None => write_null(out),
    }
}

fn default_value(value: &DefaultValue, out: &mut String) {
    let mut object = Object::open(out);
    let kind = match value {
        DefaultValue::Bool(_) => "bool",
        DefaultValue::Int(_) => "int",
        DefaultValue::Float(_) => "float",
        DefaultValue::String(_) => "string",
        DefaultValue::Now
        | DefaultValue::Cuid
        | DefaultValue::Uuid
        | DefaultValue::Autoincrement => "function",
    };
    write_json_string(kind, object.key("kind"));
    let out = object.key("value");
    match value {
        DefaultValue::Bool(b) => write_bool(*b, out),
        DefaultValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        DefaultValue::Float(x) => write_quoted(x, out),
        DefaultValue::String(s) => write_json_string(s, out),
        DefaultValue::Now => write_json_string("now", out),
        DefaultValue::Cuid => write_json_string("cuid", out),
        DefaultValue::Uuid => write_json_string("uuid", out),
        DefaultValue::Autoincrement => write_json_string("autoincrement", out),
    }
    object.close();
}

fn field(field: &Field, out: &mut String) {
    let mut object = Object::open(out);
    write_opt_str(field.column_name.as_deref(), object.key("column"));
    match &field.default {
        Some(value) => default_value(value, object.key("default")),
        None => write_null(object.key("default")),
    }
    write_opt_strings(field.enum_values.as_deref(), object.key("enum"));
    write_number(field.max, object.key("max"));
    match field.max_length {
        Some(n) => write_quoted(n, object.key("maxLength")),
        None => write_null(object.key("maxLength")),
    }
    write_number(field.min, object.key("min"));
    write_bool(field.optional, object.key("optional"));
    // Only when named, so that the checksums of fields without it stay what they were.
    if let Some(earlier) = &field.renamed_from {
        write_json_string(earlier, object.key("renamedFrom"));
    }
    write_json_string(field.field_type.prisma_name(), object.key("type"));
    object.close();
}

fn relation(relation: &Relation, out: &mut String) {
    let mut object = Object::open(out);
    write_strings(
        relation.fields.iter().map(String::as_str),
        object.key("fields"),
    );
    write_json_string(relation.kind.as_str(), object.key("kind"));
    write_opt_str(
        relation.on_delete.map(ReferentialAction::as_str),
        object.key("onDelete"),
    );
    write_opt_str(
        relation.on_update.map(ReferentialAction::as_str),
        object.key("onUpdate"),
    );
    write_opt_strings(relation.references.as_deref(), object.key("references"));
    write_json_string(&relation.target, object.key("target"));
    object.close();
}

/// The ACL's entries: one per declared operation, `rowLevel`, and `owner` when named.
enum AclEntry<'a> {
    Roles(Vec<&'a str>),
    RowLevel(Option<String>),
    Owner(&'a str),
}

fn acl(acl: &Acl, out: &mut String) {
    let mut entries: Vec<(&str, AclEntry)> = acl
        .rules
        .iter()
        .map(|(op, roles)| {
            let mut names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            (op.as_str(), AclEntry::Roles(names))
        })
        .collect();
    let row_level = acl.row_level.as_ref().map(|r| r.predicate.to_string());
    entries.push(("rowLevel", AclEntry::RowLevel(row_level)));
    // Only when named, so that the checksums of ACLs without it stay what they were.
    if let Some(owner) = &acl.owner {
        entries.push(("owner", AclEntry::Owner(&owner.name)));
    }
    entries.sort_by_key(|(key, _)| *key);
    let mut object = Object::open(out);
    for (key, entry) in &entries {
        let out = object.key(key);
        match entry {
            AclEntry::Roles(names) => write_strings(names.iter().copied(), out),
            AclEntry::RowLevel(predicate) => write_opt_str(predicate.as_deref(), out),
            AclEntry::Owner(name) => write_json_string(name, out),
        }
    }
    object.close();
}

/// Items in name order, keeping the last of equal names (as collecting into a map would).
fn by_name<T>(items: &[T], name: impl Fn(&T) -> &str) -> Vec<&T> {
    let mut sorted: Vec<&T> = items.iter().collect();
    sorted.sort_by(|a, b| name(a).cmp(name(b)));
    let mut unique: Vec<&T> = Vec::with_capacity(sorted.len());
    for item in sorted {
        match unique.last_mut() {
            Some(last) if name(last) == name(item) => *last = item,
            _ => unique.push(item),
        }
    }
    unique
}

/// The canonical encoding the checksum hashes (exposed for debugging and tests).
#[must_use]
pub fn canonical_encoding(entity: &Entity) -> String {
    let mut out = String::with_capacity(2048);
    let mut object = Object::open(&mut out);
    match &entity.acl {
        Some(rules) => acl(rules, object.key("acl")),
        None => write_null(object.key("acl")),
    }
    let fields = object.key("fields");
    let mut map = Object::open(fields);
    for f in by_name(&entity.fields, |f| &f.name) {
        field(f, map.key(&f.name));
    }
    map.close();
    let mut indexes: Vec<_> = entity.indexes.iter().collect();
    indexes.sort();
    let list = object.key("indexes");
    list.push('[');
    for (i, index) in indexes.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        let mut item = Object::open(list);
        write_strings(index.fields.iter().map(String::as_str), item.key("fields"));
        write_opt_str(index.name.as_deref(), item.key("name"));
        write_bool(index.unique, item.key("unique"));
        item.close();
    }
    list.push(']');
    write_json_string(&entity.name, object.key("name"));
    write_strings(
        entity.primary_key.iter().map(String::as_str),
        object.key("primaryKey"),
    );
    let mut map = Object::open(object.key("relations"));
    for r in by_name(&entity.relations, |r| &r.name) {
        relation(r, map.key(&r.name));
    }
    map.close();
    if let Some(earlier) = &entity.renamed_from {
        write_json_string(earlier, object.key("renamedFrom"));
    }
    write_opt_str(entity.table_name.as_deref(), object.key("tableName"));
    object.close();
    out
}

fn tagged_sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(CHECKSUM_PREFIX.len() + 64);
    out.push_str(CHECKSUM_PREFIX);
    for byte in &digest {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out
}

/// The structural checksum of one entity: `v1:` + 64 lowercase hex digits.
#[must_use]
pub fn entity_checksum(entity: &Entity) -> String {
    tagged_sha256(canonical_encoding(entity).as_bytes())
}

/// The checksum of a package: a hash of `name checksum` lines of its entities in name order.
#[must_use]
pub fn package_checksum<'a>(entities: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut sorted: Vec<(&str, &str)> = entities.into_iter().collect();
    sorted.sort_unstable();
    let mut text = String::new();
    for (name, checksum) in sorted {
        text.push_str(name);
        text.push(' ');
        text.push_str(checksum);
        text.push('\n');
    }
    tagged_sha256(text.as_bytes())
}

/// Whether `text` is a well-formed checksum (`v1:` + 64 lowercase hex digits).
#[must_use]
pub fn is_checksum(text: &str) -> bool {
    text.strip_prefix(CHECKSUM_PREFIX).is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

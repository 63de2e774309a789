//! Structural checksums: `v1:` + SHA-256 (lowercase hex) over a canonical encoding.
//!
//! The encoding is a JSON text written by hand (not `serde_json`, whose key order depends on a
//! cargo feature that any crate in the build may switch on) from the normalized [`Entity`]:
//! - included: name, tableName, every field's type, optionality, default, maxLength, enum
//!   values, min/max and columnName; the primary key; indexes; relations (kind, target, foreign
//!   key, references, onDelete, onUpdate); ACL roles per operation and the canonical rowLevel;
//! - excluded: descriptions, version, the stored checksum, comments, formatting, line endings,
//!   key order, field order, role order, dialect and type spelling (`cuid` vs `String`).
//!
//! Aliases are resolved before encoding: `type: cuid, generated: true` and
//! `type: String, default: cuid` are one field. A relation's `optional` is derived from its
//! foreign key (validated to agree), so it is not encoded separately. Omitted `references` and
//! omitted `onDelete`/`onUpdate` are encoded as omitted: they mean "Prisma's default", and that
//! default depends on other models.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::model::{Acl, DefaultValue, Entity, Field, Number, ReferentialAction, Relation};

/// The algorithm tag in front of every checksum.
pub const CHECKSUM_PREFIX: &str = "v1:";

/// A canonical value: maps are always sorted, lists keep their (meaningful) order.
enum Canon {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<Canon>),
    Map(BTreeMap<String, Canon>),
}

impl Canon {
    fn str(text: &str) -> Self {
        Self::Str(text.to_owned())
    }

    fn opt_str(text: Option<&str>) -> Self {
        text.map_or(Self::Null, Self::str)
    }

    fn strings(items: &[String]) -> Self {
        Self::List(items.iter().map(|s| Self::str(s)).collect())
    }

    fn map<const N: usize>(entries: [(&str, Canon); N]) -> Self {
        Self::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }

    fn write(&self, out: &mut String) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Self::Str(s) => write_json_string(s, out),
            Self::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Self::Map(entries) => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_string(key, out);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

fn write_json_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Numbers are encoded by value, so `1` and `1.0` are the same bound.
fn number(n: Number) -> Canon {
    Canon::Str(format!("{}", n.as_f64()))
}

fn default_value(value: &DefaultValue) -> Canon {
    let (kind, payload) = match value {
        DefaultValue::Bool(b) => ("bool", Canon::Bool(*b)),
        DefaultValue::Int(i) => ("int", Canon::Int(*i)),
        DefaultValue::Float(x) => ("float", Canon::Str(format!("{x}"))),
        DefaultValue::String(s) => ("string", Canon::str(s)),
        DefaultValue::Now => ("function", Canon::str("now")),
        DefaultValue::Cuid => ("function", Canon::str("cuid")),
        DefaultValue::Uuid => ("function", Canon::str("uuid")),
        DefaultValue::Autoincrement => ("function", Canon::str("autoincrement")),
    };
    Canon::map([("kind", Canon::str(kind)), ("value", payload)])
}

fn field(field: &Field) -> Canon {
    Canon::map([
        ("type", Canon::str(field.field_type.prisma_name())),
        ("optional", Canon::Bool(field.optional)),
        (
            "default",
            field.default.as_ref().map_or(Canon::Null, default_value),
        ),
        (
            "maxLength",
            field
                .max_length
                .map_or(Canon::Null, |n| Canon::Str(n.to_string())),
        ),
        (
            "enum",
            field
                .enum_values
                .as_deref()
                .map_or(Canon::Null, Canon::strings),
        ),
        ("min", field.min.map_or(Canon::Null, number)),
        ("max", field.max.map_or(Canon::Null, number)),
        ("column", Canon::opt_str(field.column_name.as_deref())),
    ])
}

fn relation(relation: &Relation) -> Canon {
    Canon::map([
        ("kind", Canon::str(relation.kind.as_str())),
        ("target", Canon::str(&relation.target)),
        ("fields", Canon::strings(&relation.fields)),
        (
            "references",
            relation
                .references
                .as_deref()
                .map_or(Canon::Null, Canon::strings),
        ),
        (
            "onDelete",
            Canon::opt_str(relation.on_delete.map(ReferentialAction::as_str)),
        ),
        (
            "onUpdate",
            Canon::opt_str(relation.on_update.map(ReferentialAction::as_str)),
        ),
    ])
}

fn acl(acl: &Acl) -> Canon {
    let mut entries: BTreeMap<String, Canon> = BTreeMap::new();
    for (op, roles) in &acl.rules {
        let mut names: Vec<String> = roles.iter().map(|r| r.name.clone()).collect();
        names.sort();
        names.dedup();
        entries.insert(op.as_str().to_owned(), Canon::strings(&names));
    }
    let row_level = acl
        .row_level
        .as_ref()
        .map_or(Canon::Null, |r| Canon::Str(r.predicate.to_string()));
    entries.insert("rowLevel".to_owned(), row_level);
    // Only when named, so that the checksums of ACLs without it stay what they were.
    if let Some(owner) = &acl.owner {
        entries.insert("owner".to_owned(), Canon::str(&owner.name));
    }
    Canon::Map(entries)
}

/// The canonical encoding the checksum hashes (exposed for debugging and tests).
#[must_use]
pub fn canonical_encoding(entity: &Entity) -> String {
    let fields: BTreeMap<String, Canon> = entity
        .fields
        .iter()
        .map(|f| (f.name.clone(), field(f)))
        .collect();
    let relations: BTreeMap<String, Canon> = entity
        .relations
        .iter()
        .map(|r| (r.name.clone(), relation(r)))
        .collect();
    let mut indexes = entity.indexes.clone();
    indexes.sort();
    let indexes = indexes
        .iter()
        .map(|i| {
            Canon::map([
                ("fields", Canon::strings(&i.fields)),
                ("unique", Canon::Bool(i.unique)),
                ("name", Canon::opt_str(i.name.as_deref())),
            ])
        })
        .collect();
    let canon = Canon::map([
        ("name", Canon::str(&entity.name)),
        ("tableName", Canon::opt_str(entity.table_name.as_deref())),
        ("fields", Canon::Map(fields)),
        ("primaryKey", Canon::strings(&entity.primary_key)),
        ("indexes", Canon::List(indexes)),
        ("relations", Canon::Map(relations)),
        ("acl", entity.acl.as_ref().map_or(Canon::Null, acl)),
    ]);
    let mut out = String::new();
    canon.write(&mut out);
    out
}

fn tagged_sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(CHECKSUM_PREFIX.len() + 64);
    out.push_str(CHECKSUM_PREFIX);
    for byte in &digest {
        let _ = write!(out, "{byte:02x}");
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

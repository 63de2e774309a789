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

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::model::{Acl, DefaultValue, Entity, Field, Number, ReferentialAction, Relation};

/// The algorithm tag in front of every checksum.
pub const CHECKSUM_PREFIX: &str = "v1:";

/// A canonical value: maps are always sorted, lists keep their (meaningful) order. It borrows
/// from the entity it encodes, so encoding copies no names.
enum Canon<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Str(Cow<'a, str>),
    List(Vec<Canon<'a>>),
    Map(BTreeMap<&'a str, Canon<'a>>),
}

impl<'a> Canon<'a> {
    fn str(text: &'a str) -> Self {
        Self::Str(Cow::Borrowed(text))
    }

    fn owned(text: String) -> Self {
        Self::Str(Cow::Owned(text))
    }

    fn opt_str(text: Option<&'a str>) -> Self {
        text.map_or(Self::Null, Self::str)
    }

    fn strings(items: &'a [String]) -> Self {
        Self::List(items.iter().map(|s| Self::str(s)).collect())
    }

    fn map<const N: usize>(entries: [(&'a str, Canon<'a>); N]) -> Self {
        Self::Map(entries.into_iter().collect())
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
fn number(n: Number) -> Canon<'static> {
    Canon::owned(format!("{}", n.as_f64()))
}

fn default_value(value: &DefaultValue) -> Canon<'_> {
    let (kind, payload) = match value {
        DefaultValue::Bool(b) => ("bool", Canon::Bool(*b)),
        DefaultValue::Int(i) => ("int", Canon::Int(*i)),
        DefaultValue::Float(x) => ("float", Canon::owned(format!("{x}"))),
        DefaultValue::String(s) => ("string", Canon::str(s)),
        DefaultValue::Now => ("function", Canon::str("now")),
        DefaultValue::Cuid => ("function", Canon::str("cuid")),
        DefaultValue::Uuid => ("function", Canon::str("uuid")),
        DefaultValue::Autoincrement => ("function", Canon::str("autoincrement")),
    };
    Canon::map([("kind", Canon::str(kind)), ("value", payload)])
}

fn field(field: &Field) -> Canon<'_> {
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
                .map_or(Canon::Null, |n| Canon::owned(n.to_string())),
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

fn relation(relation: &Relation) -> Canon<'_> {
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

fn acl(acl: &Acl) -> Canon<'_> {
    let mut entries: BTreeMap<&str, Canon> = BTreeMap::new();
    for (op, roles) in &acl.rules {
        let mut names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        entries.insert(
            op.as_str(),
            Canon::List(names.into_iter().map(Canon::str).collect()),
        );
    }
    let row_level = acl
        .row_level
        .as_ref()
        .map_or(Canon::Null, |r| Canon::owned(r.predicate.to_string()));
    entries.insert("rowLevel", row_level);
    // Only when named, so that the checksums of ACLs without it stay what they were.
    if let Some(owner) = &acl.owner {
        entries.insert("owner", Canon::str(&owner.name));
    }
    Canon::Map(entries)
}

/// The canonical encoding the checksum hashes (exposed for debugging and tests).
#[must_use]
pub fn canonical_encoding(entity: &Entity) -> String {
    let fields: BTreeMap<&str, Canon> = entity
        .fields
        .iter()
        .map(|f| (f.name.as_str(), field(f)))
        .collect();
    let relations: BTreeMap<&str, Canon> = entity
        .relations
        .iter()
        .map(|r| (r.name.as_str(), relation(r)))
        .collect();
    let mut indexes: Vec<_> = entity.indexes.iter().collect();
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
    let mut out = String::with_capacity(1024);
    canon.write(&mut out);
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

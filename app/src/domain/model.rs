//! The canonical entity model both YAML dialects normalize into.
//!
//! Type aliases are resolved here: `cuid` and `uuid` are text columns (`FieldType::String`), and
//! `generated: true` becomes the matching default function. So `type: cuid, generated: true`
//! and `type: String, default: cuid` are the same field, with the same checksum and rendering.
//! Positions (`origin`) are kept for diagnostics only; they never reach a checksum.

use std::fmt;

use serde::Serialize;

use super::diagnostic::Position;
use super::predicate::Predicate;

/// Which of the two YAML dialects an entity was written in (informational only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// `fields:` is a map name → spec, lowercase types, `nullable: true`.
    Map,
    /// `fields:` is a list of `{name, type, ...}`, Prisma-cased types, `required: false`.
    List,
}

/// A scalar column type, after alias resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum FieldType {
    /// Text (also `cuid` and `uuid`).
    String,
    /// 32-bit integer.
    Int,
    /// 64-bit integer.
    BigInt,
    /// Double precision float.
    Float,
    /// true/false.
    Boolean,
    /// Timestamp.
    DateTime,
    /// JSON document.
    Json,
}

/// How a type was spelled when it was an alias with meaning beyond its column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TypeAlias {
    /// `cuid`: a String whose generator is `cuid()`.
    Cuid,
    /// `uuid`: a String whose generator is `uuid()`.
    Uuid,
}

impl FieldType {
    /// Type names of the map dialect, in documentation order.
    pub const MAP_DIALECT_NAMES: [&'static str; 9] = [
        "cuid", "uuid", "string", "int", "bigint", "float", "boolean", "json", "datetime",
    ];
    /// Type names of the list dialect (Prisma's names).
    pub const LIST_DIALECT_NAMES: [&'static str; 7] = [
        "String", "Int", "BigInt", "Float", "Boolean", "DateTime", "Json",
    ];

    /// Resolves a type name of either dialect; `None` for anything else (never a silent String).
    #[must_use]
    pub fn parse(name: &str) -> Option<(Self, Option<TypeAlias>)> {
        let resolved = match name {
            "cuid" => (Self::String, Some(TypeAlias::Cuid)),
            "uuid" => (Self::String, Some(TypeAlias::Uuid)),
            "string" | "String" => (Self::String, None),
            "int" | "Int" => (Self::Int, None),
            "bigint" | "BigInt" => (Self::BigInt, None),
            "float" | "Float" => (Self::Float, None),
            "boolean" | "Boolean" => (Self::Boolean, None),
            "json" | "Json" => (Self::Json, None),
            "datetime" | "DateTime" => (Self::DateTime, None),
            _ => return None,
        };
        Some(resolved)
    }

    /// The Prisma scalar type name.
    #[must_use]
    pub fn prisma_name(self) -> &'static str {
        match self {
            Self::String => "String",
            Self::Int => "Int",
            Self::BigInt => "BigInt",
            Self::Float => "Float",
            Self::Boolean => "Boolean",
            Self::DateTime => "DateTime",
            Self::Json => "Json",
        }
    }

    /// Whether values are numbers (for `min`/`max` and numeric defaults).
    #[must_use]
    pub fn is_numeric(self) -> bool {
        matches!(self, Self::Int | Self::BigInt | Self::Float)
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prisma_name())
    }
}

/// A number as written in YAML (for `min`, `max` and float defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Number {
    /// An integer.
    Int(i64),
    /// A finite float.
    Float(f64),
}

impl Number {
    /// The value as f64, for comparisons.
    #[must_use]
    pub fn as_f64(self) -> f64 {
        match self {
            // Precision loss above 2^53 only affects comparisons of absurd bounds.
            #[allow(clippy::cast_precision_loss)]
            Self::Int(i) => i as f64,
            Self::Float(x) => x,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(i) => write!(f, "{i}"),
            Self::Float(x) => write!(f, "{x}"),
        }
    }
}

/// A column default, typed against its field.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "camelCase")]
pub enum DefaultValue {
    /// A boolean literal.
    Bool(bool),
    /// An integer literal (Int, BigInt).
    Int(i64),
    /// A float literal (Float fields; integers given for a Float are stored here too).
    Float(f64),
    /// A string literal (String, Json).
    String(String),
    /// `now()` on DateTime.
    Now,
    /// `cuid()` on String.
    Cuid,
    /// `uuid()` on String.
    Uuid,
    /// `autoincrement()` on Int/BigInt.
    Autoincrement,
}

impl fmt::Display for DefaultValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Float(x) => write!(f, "{x}"),
            Self::String(s) => write!(f, "{s:?}"),
            Self::Now => f.write_str("now()"),
            Self::Cuid => f.write_str("cuid()"),
            Self::Uuid => f.write_str("uuid()"),
            Self::Autoincrement => f.write_str("autoincrement()"),
        }
    }
}

/// A scalar field (column).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    /// Field name (Prisma field name).
    pub name: String,
    /// Resolved column type.
    pub field_type: FieldType,
    /// The alias it was written as (`cuid`, `uuid`), for display; not part of the checksum.
    pub alias: Option<TypeAlias>,
    /// Whether NULL is allowed (`nullable: true` or `required: false`).
    pub optional: bool,
    /// Typed default, including generators resolved from `generated: true`.
    pub default: Option<DefaultValue>,
    /// `maxLength` (→ `@db.VarChar(n)`).
    pub max_length: Option<u64>,
    /// Allowed values, in declaration order.
    pub enum_values: Option<Vec<String>>,
    /// Lower bound (value for numbers, length for strings).
    pub min: Option<Number>,
    /// Upper bound (value for numbers, length for strings).
    pub max: Option<Number>,
    /// Database column name (`columnName` → `@map`).
    pub column_name: Option<String>,
    /// The field's earlier name (`renamedFrom`): where the package held it under that name, the
    /// change renames the column instead of dropping it and adding another.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// Free text; not part of the checksum.
    pub description: Option<String>,
    /// Where the field is declared.
    #[serde(skip)]
    pub origin: Position,
}

/// An index or unique constraint. Field-level `unique`/`index` flags become these too.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Index {
    /// Indexed fields, in index order.
    pub fields: Vec<String>,
    /// Unique constraint rather than a plain index.
    pub unique: bool,
    /// Database name (`name` → `map:`); `None` lets Prisma choose.
    pub name: Option<String>,
}

/// Relation kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RelationKind {
    /// This entity holds the foreign key.
    BelongsTo,
    /// The target holds a foreign key to this entity; many rows.
    HasMany,
    /// The target holds a unique foreign key to this entity; at most one row.
    HasOne,
    /// Implicit join table.
    ManyToMany,
}

impl RelationKind {
    /// Resolves a relation type as written.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "belongsTo" => Some(Self::BelongsTo),
            "hasMany" => Some(Self::HasMany),
            "hasOne" => Some(Self::HasOne),
            "manyToMany" => Some(Self::ManyToMany),
            _ => None,
        }
    }

    /// The spelling used in YAML.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BelongsTo => "belongsTo",
            Self::HasMany => "hasMany",
            Self::HasOne => "hasOne",
            Self::ManyToMany => "manyToMany",
        }
    }
}

/// Referential actions for `onDelete`/`onUpdate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ReferentialAction {
    /// Delete/update dependent rows too.
    Cascade,
    /// Set the foreign key to NULL.
    SetNull,
    /// Refuse while dependents exist.
    Restrict,
    /// Like Restrict, checked at the end of the statement.
    NoAction,
    /// Set the foreign key to its default.
    SetDefault,
}

impl ReferentialAction {
    /// Resolves an action as written.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "Cascade" => Some(Self::Cascade),
            "SetNull" => Some(Self::SetNull),
            "Restrict" => Some(Self::Restrict),
            "NoAction" => Some(Self::NoAction),
            "SetDefault" => Some(Self::SetDefault),
            _ => None,
        }
    }

    /// The Prisma spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cascade => "Cascade",
            Self::SetNull => "SetNull",
            Self::Restrict => "Restrict",
            Self::NoAction => "NoAction",
            Self::SetDefault => "SetDefault",
        }
    }
}

/// A relation as declared on an entity.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Relation {
    /// Relation field name (Prisma field name), e.g. `tenant`.
    pub name: String,
    /// Kind.
    pub kind: RelationKind,
    /// Target model (`entity:` or `target:`).
    pub target: String,
    /// Foreign key fields (`field:` or `foreignKey:`): on this entity for belongsTo, on the target
    /// for hasMany/hasOne, empty for manyToMany.
    pub fields: Vec<String>,
    /// Referenced fields; `None` means the referenced model's primary key.
    pub references: Option<Vec<String>>,
    /// `onDelete`.
    pub on_delete: Option<ReferentialAction>,
    /// `onUpdate`.
    pub on_update: Option<ReferentialAction>,
    /// `optional` as written; for belongsTo it must agree with the foreign key.
    pub optional: Option<bool>,
    /// Where the relation is declared.
    #[serde(skip)]
    pub origin: Position,
    /// Where its target is written.
    #[serde(skip)]
    pub target_origin: Position,
    /// Where its foreign key is written (or the relation, if not written).
    #[serde(skip)]
    pub fields_origin: Position,
}

/// The four ACL operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AclOp {
    /// Insert.
    Create,
    /// Select.
    Read,
    /// Update.
    Update,
    /// Delete.
    Delete,
}

impl AclOp {
    /// All operations in canonical order.
    pub const ALL: [Self; 4] = [Self::Create, Self::Read, Self::Update, Self::Delete];

    /// The YAML key.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Read => "read",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

/// A role named in an ACL rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Role {
    /// The role name.
    pub name: String,
    /// Where it is written.
    #[serde(skip)]
    pub origin: Position,
}

/// A parsed `rowLevel` predicate with its source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowLevel {
    /// The predicate as written.
    pub source: String,
    /// The parsed predicate.
    pub predicate: Predicate,
    /// Where the predicate's first character is.
    #[serde(skip)]
    pub origin: Position,
}

/// Entity access control: roles per operation and an optional row filter.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Acl {
    /// Roles per operation; an absent operation was not declared.
    pub rules: std::collections::BTreeMap<AclOp, Vec<Role>>,
    /// `rowLevel`.
    pub row_level: Option<RowLevel>,
    /// `owner`: the field naming a row's owner, for the `self` and `owner` roles (when it is
    /// none of the configured owner fields).
    pub owner: Option<OwnerField>,
}

/// The field an ACL names as its rows' owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerField {
    /// The field name.
    pub name: String,
    /// Where it is written.
    #[serde(skip)]
    pub origin: Position,
}

/// A normalized entity: one Prisma model.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    /// Model name (PascalCase).
    pub name: String,
    /// Database table name (`tableName` → `@@map`).
    pub table_name: Option<String>,
    /// The entity's earlier name (`renamedFrom`): where the package held it under that name,
    /// the change renames the table instead of dropping it and creating another.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// Free text; not part of the checksum.
    pub description: Option<String>,
    /// Fields in declaration order.
    pub fields: Vec<Field>,
    /// Primary key fields (one for a simple key, several for a composite).
    pub primary_key: Vec<String>,
    /// Indexes and unique constraints, deduplicated and sorted.
    pub indexes: Vec<Index>,
    /// Relations in declaration order.
    pub relations: Vec<Relation>,
    /// Access control, if declared.
    pub acl: Option<Acl>,
    /// The dialect it was written in.
    pub dialect: Dialect,
    /// Where the entity is declared.
    #[serde(skip)]
    pub origin: Position,
}

impl Entity {
    /// The field called `name`, if any.
    #[must_use]
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The relation called `name`, if any.
    #[must_use]
    pub fn relation(&self, name: &str) -> Option<&Relation> {
        self.relations.iter().find(|r| r.name == name)
    }

    /// Whether `fields` (in any order) are the primary key or a unique constraint.
    #[must_use]
    pub fn is_unique_set(&self, fields: &[String]) -> bool {
        let mut wanted: Vec<&str> = fields.iter().map(String::as_str).collect();
        wanted.sort_unstable();
        let same = |candidate: &[String]| {
            let mut names: Vec<&str> = candidate.iter().map(String::as_str).collect();
            names.sort_unstable();
            names == wanted
        };
        same(&self.primary_key) || self.indexes.iter().any(|i| i.unique && same(&i.fields))
    }
}

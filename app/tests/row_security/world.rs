//! Rows: the values of the seeded rows, as Rust sees them (for the expected answer) and as SQL.

use std::collections::BTreeMap;

use app::domain::policy_sql::{quote_ident, quote_literal, table_name};
use app::domain::{Config, Entity, FieldType, RelationKind};

use crate::{flag_of, owner_of, tenant_of};

/// A value of a seeded row, as Rust sees it (for the expected answer) and as SQL.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Time,
    Json,
    Null,
}

impl Val {
    fn sql(&self) -> String {
        match self {
            Self::Str(s) => quote_literal(s),
            Self::Int(i) => i.to_string(),
            Self::Float(x) => format!("{x:?}"),
            Self::Bool(b) => b.to_string(),
            Self::Time => "'2024-01-01 00:00:00'".to_owned(),
            Self::Json => "'{}'".to_owned(),
            Self::Null => "NULL".to_owned(),
        }
    }
}

/// Every entity of the schema, and how their rows are made.
pub(crate) struct World<'a> {
    pub(crate) entities: BTreeMap<String, &'a Entity>,
    pub(crate) config: &'a Config,
    /// child → (parent, foreign key fields on the child), from every kind of relation.
    parents: BTreeMap<String, Vec<(String, Vec<String>)>>,
    /// Literal values a test wants in a String field: (entity, field) → one value per shape.
    pub(crate) overrides: BTreeMap<(String, String), Vec<String>>,
}

impl<'a> World<'a> {
    pub(crate) fn new(entities: impl IntoIterator<Item = &'a Entity>, config: &'a Config) -> Self {
        let entities: BTreeMap<String, &Entity> =
            entities.into_iter().map(|e| (e.name.clone(), e)).collect();
        let mut parents: BTreeMap<String, Vec<(String, Vec<String>)>> = BTreeMap::new();
        for entity in entities.values() {
            for relation in &entity.relations {
                match relation.kind {
                    RelationKind::BelongsTo => parents
                        .entry(entity.name.clone())
                        .or_default()
                        .push((relation.target.clone(), relation.fields.clone())),
                    RelationKind::HasMany | RelationKind::HasOne => parents
                        .entry(relation.target.clone())
                        .or_default()
                        .push((entity.name.clone(), relation.fields.clone())),
                    RelationKind::ManyToMany => {}
                }
            }
        }
        Self {
            entities,
            config,
            parents,
            overrides: BTreeMap::new(),
        }
    }

    fn key(&self, entity: &Entity, shape: usize, fresh: bool) -> Val {
        let pk = &entity.primary_key[0];
        let number = shape as i64 + if fresh { 101 } else { 1 };
        match entity.field(pk).map(|f| f.field_type) {
            Some(FieldType::Int | FieldType::BigInt) => Val::Int(number),
            _ => Val::Str(format!("{}-{number}", entity.name)),
        }
    }

    /// The value of `field` in the row of `shape` (`fresh`: a row that is not seeded, for
    /// inserts; it differs from the seeded one in its key only).
    pub(crate) fn value(&self, entity: &Entity, field: &str, shape: usize, fresh: bool) -> Val {
        let Some(spec) = entity.field(field) else {
            return Val::Null;
        };
        if entity.primary_key.len() == 1 && entity.primary_key[0] == field {
            return self.key(entity, shape, fresh);
        }
        if let Some(values) = self.overrides.get(&(entity.name.clone(), field.to_owned())) {
            return Val::Str(values[shape].clone());
        }
        let tenant_fields = self
            .config
            .row_security
            .tenant
            .iter()
            .flat_map(|t| &t.fields);
        if tenant_fields.into_iter().any(|f| f == field) {
            return Val::Str(tenant_of(shape).to_owned());
        }
        let named_owner = entity
            .acl
            .as_ref()
            .and_then(|acl| acl.owner.as_ref())
            .is_some_and(|owner| owner.name == field);
        if named_owner || self.config.owner_fields.iter().any(|f| f == field) {
            return Val::Str(owner_of(shape).to_owned());
        }
        for (parent, fields) in self.parents.get(&entity.name).into_iter().flatten() {
            if let Some(position) = fields.iter().position(|f| f == field) {
                if parent == &self.config.user_model {
                    return Val::Str(owner_of(shape).to_owned());
                }
                if parent == &self.config.root_model {
                    return Val::Str(tenant_of(shape).to_owned());
                }
                if let Some(parent) = self.entities.get(parent) {
                    if position == 0 && parent.primary_key.len() == 1 {
                        return self.key(parent, shape, false);
                    }
                }
                return Val::Str(format!("{parent}-{}", shape + 1));
            }
        }
        let text = |s: String| {
            let limit = spec.max_length.map_or(usize::MAX, |n| n as usize);
            Val::Str(s.chars().take(limit).collect())
        };
        match spec.field_type {
            FieldType::String => text(format!("{field}-{shape}")),
            FieldType::Int | FieldType::BigInt => Val::Int(shape as i64 + 1),
            FieldType::Float => Val::Float(shape as f64 + 0.5),
            FieldType::Boolean => Val::Bool(flag_of(shape)),
            FieldType::DateTime => Val::Time,
            FieldType::Json => Val::Json,
        }
    }

    pub(crate) fn column(entity: &Entity, field: &str) -> String {
        entity
            .field(field)
            .and_then(|f| f.column_name.clone())
            .unwrap_or_else(|| field.to_owned())
    }

    pub(crate) fn insert(&self, entity: &Entity, shape: usize, fresh: bool) -> String {
        let mut columns = Vec::new();
        let mut values = Vec::new();
        for field in &entity.fields {
            columns.push(quote_ident(&Self::column(entity, &field.name)));
            values.push(self.value(entity, &field.name, shape, fresh).sql());
        }
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            quote_ident(table_name(entity)),
            columns.join(", "),
            values.join(", ")
        )
    }

    /// The key of the row of `shape`, as text (what `SELECT key::text` returns).
    pub(crate) fn key_text(&self, entity: &Entity, shape: usize) -> String {
        match self.key(entity, shape, false) {
            Val::Int(i) => i.to_string(),
            Val::Str(s) => s,
            other => panic!("key {other:?}"),
        }
    }
}

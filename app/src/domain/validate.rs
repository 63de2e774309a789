//! Validation that needs more than one entity: relation targets and keys, owner fields for the
//! `self`/`owner` roles, and `rowLevel` references. Single-entity rules live in `dialect`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use super::base_schema::{BaseModel, BaseSchema};
use super::config::Config;
use super::diagnostic::{Diagnostic, Position, SchemaError, Sink};
use super::dialect::shift_within;
use super::model::{Entity, ReferentialAction, RelationKind};
use super::naming::{self, db_name_problem, DbObject, MAX_IDENTIFIER_BYTES};
use super::policy_sql::{entity_policies, Models, PolicyError};
use super::predicate::PathRef;

/// A model as seen from a relation: a package entity, a base model, or an entity that failed
/// to parse (known to exist, not checked further).
#[derive(Debug, Clone, Copy)]
pub(crate) enum ModelRef<'a> {
    Entity(&'a Entity),
    Base(&'a BaseModel),
    Broken,
}

/// A scalar column of either kind of model.
struct Column {
    type_name: String,
    optional: bool,
}

impl ModelRef<'_> {
    fn column(self, name: &str) -> Option<Column> {
        match self {
            Self::Entity(e) => e.field(name).map(|f| Column {
                type_name: f.field_type.prisma_name().to_owned(),
                optional: f.optional,
            }),
            Self::Base(m) => m.field(name).map(|f| Column {
                type_name: f.type_name.clone(),
                optional: f.optional,
            }),
            Self::Broken => None,
        }
    }

    fn primary_key(self) -> Vec<String> {
        match self {
            Self::Entity(e) => e.primary_key.clone(),
            Self::Base(m) => m.primary_key(),
            Self::Broken => Vec::new(),
        }
    }

    fn is_unique_set(self, fields: &[String]) -> bool {
        match self {
            Self::Entity(e) => e.is_unique_set(fields),
            Self::Base(m) => m.is_unique_set(fields),
            Self::Broken => true,
        }
    }

    fn field_names(self) -> Vec<String> {
        match self {
            Self::Entity(e) => e.fields.iter().map(|f| f.name.clone()).collect(),
            Self::Base(m) => m.fields().map(|f| f.name.clone()).collect(),
            Self::Broken => Vec::new(),
        }
    }
}

/// Every model known to a catalog, and the belongsTo links declared from the parent side.
pub(crate) struct Environment<'a> {
    models: BTreeMap<&'a str, ModelRef<'a>>,
    /// child entity → (parent, foreign key fields on the child), from hasMany/hasOne.
    reverse_links: BTreeMap<&'a str, Vec<(&'a str, &'a [String])>>,
    base: &'a BaseSchema,
    /// The package entities as row-level security sees them, built on first use.
    shared_models: OnceLock<Arc<Models<'a>>>,
}

impl<'a> Environment<'a> {
    /// Builds the environment from the base schema and every package's entities (first
    /// declaration wins for shared names; conflicts are reported elsewhere).
    pub(crate) fn new(base: &'a BaseSchema, packages: &[(&'a [Entity], &'a [String])]) -> Self {
        let mut models: BTreeMap<&'a str, ModelRef<'a>> = BTreeMap::new();
        for model in base.models() {
            models.insert(&model.name, ModelRef::Base(model));
        }
        let mut reverse_links: BTreeMap<&'a str, Vec<(&'a str, &'a [String])>> = BTreeMap::new();
        for (entities, broken) in packages {
            for entity in *entities {
                models
                    .entry(&entity.name)
                    .or_insert(ModelRef::Entity(entity));
                for relation in &entity.relations {
                    if matches!(relation.kind, RelationKind::HasMany | RelationKind::HasOne) {
                        reverse_links
                            .entry(&relation.target)
                            .or_default()
                            .push((&entity.name, &relation.fields));
                    }
                }
            }
            for name in *broken {
                models.entry(name).or_insert(ModelRef::Broken);
            }
        }
        Self {
            models,
            reverse_links,
            base,
            shared_models: OnceLock::new(),
        }
    }

    fn resolve(&self, name: &str, own: &'a [Entity]) -> Option<ModelRef<'a>> {
        own.iter()
            .find(|e| e.name == name)
            .map(ModelRef::Entity)
            .or_else(|| self.models.get(name).copied())
    }

    /// The target of relation `name` on `model` (declared relations; relation fields of base models).
    fn relation_target(
        &self,
        model: ModelRef<'a>,
        name: &str,
        own: &'a [Entity],
    ) -> Option<ModelRef<'a>> {
        match model {
            ModelRef::Entity(e) => e.relation(name).and_then(|r| self.resolve(&r.target, own)),
            ModelRef::Base(m) => m.field(name).and_then(|f| self.resolve(&f.type_name, own)),
            ModelRef::Broken => Some(ModelRef::Broken),
        }
    }

    /// Every model as row-level security compiles against it: `own` first, then the
    /// catalog's models (built once, shared by every package).
    fn policy_models(&self, own: &'a [Entity]) -> Models<'a> {
        let shared = self.shared_models.get_or_init(|| {
            let mut models = Models::default();
            for (name, model) in &self.models {
                match model {
                    ModelRef::Entity(entity) => models.add(entity),
                    ModelRef::Broken => models.add_unreadable(name),
                    ModelRef::Base(_) => {}
                }
            }
            Arc::new(models)
        });
        Models::layered(self.base, own, Arc::clone(shared))
    }

    /// Whether rows of `entity` have an owning user: an owner field, a belongsTo to the user
    /// model, or a required belongsTo chain to an entity that has one.
    fn has_owner(
        &self,
        entity: &'a Entity,
        own: &'a [Entity],
        config: &Config,
        visiting: &mut BTreeSet<String>,
    ) -> bool {
        if !visiting.insert(entity.name.clone()) {
            return false;
        }
        if entity
            .fields
            .iter()
            .any(|f| config.owner_fields.contains(&f.name))
        {
            return true;
        }
        let required = |fields: &[String]| {
            fields
                .iter()
                .all(|n| entity.field(n).is_some_and(|f| !f.optional))
        };
        let mut parents: Vec<(&str, bool)> = entity
            .relations
            .iter()
            .filter(|r| r.kind == RelationKind::BelongsTo)
            .map(|r| (r.target.as_str(), required(&r.fields)))
            .collect();
        if let Some(links) = self.reverse_links.get(entity.name.as_str()) {
            parents.extend(
                links
                    .iter()
                    .map(|(parent, fields)| (*parent, required(fields))),
            );
        }
        for (parent, is_required) in parents {
            if parent == config.user_model {
                return true;
            }
            if !is_required {
                continue;
            }
            let owned = match self.resolve(parent, own) {
                Some(ModelRef::Entity(p)) => self.has_owner(p, own, config, visiting),
                Some(ModelRef::Base(m)) => {
                    m.fields().any(|f| config.owner_fields.contains(&f.name))
                }
                Some(ModelRef::Broken) => true,
                None => false,
            };
            if owned {
                return true;
            }
        }
        false
    }
}

/// Validates one package's entities against everything else in the catalog.
pub(crate) fn validate_package<'a>(
    entities: &'a [Entity],
    file: &str,
    env: &Environment<'a>,
    config: &Config,
) -> Vec<Diagnostic> {
    let mut sink = Sink::new(file);
    let base_names = env.base.type_names();
    for entity in entities {
        if base_names.contains(&entity.name) {
            sink.error(
                entity.origin,
                entity.name.clone(),
                SchemaError::EntityShadowsBaseModel {
                    name: entity.name.clone(),
                },
            );
            continue;
        }
        identifiers(entity, &mut sink);
        relations(entity, entities, env, &mut sink);
        acl(entity, entities, env, config, &mut sink);
    }
    sink.diagnostics
}

/// PostgreSQL keeps the first 63 bytes of an identifier; Prisma truncates the constraint names
/// it derives to that length. Longer names would collide silently (two tables sharing their
/// first 63 bytes get one `_pkey`), so they are refused here, with the names Prisma derives:
/// `<table>_pkey`, `<table>_<columns>_key`, `<table>_<columns>_idx`, `<table>_<columns>_fkey`.
/// Also refuses model names the generated Prisma Client reserves.
fn identifiers(entity: &Entity, sink: &mut Sink<'_>) {
    if naming::is_reserved_model_name(&entity.name) {
        let rule = "Prisma Client reserves this name; choose another entity name";
        sink.error(
            entity.origin,
            format!("{}.name", entity.name),
            SchemaError::InvalidName {
                what: "entity",
                name: entity.name.clone(),
                rule,
            },
        );
    }
    let table = entity.table_name.as_deref().unwrap_or(&entity.name);
    let what = if entity.table_name.is_some() {
        "table"
    } else {
        "entity"
    };
    if too_long(table) {
        sink.error(
            entity.origin,
            format!("{}.name", entity.name),
            SchemaError::IdentifierTooLong {
                what,
                name: shown(table),
                bytes: table.len(),
            },
        );
        // Every derived name is longer still; one error says it.
        return;
    }
    let column = |name: &str| -> String {
        entity
            .field(name)
            .and_then(|f| f.column_name.clone())
            .unwrap_or_else(|| name.to_owned())
    };
    if entity.table_name.is_none() {
        reserved(
            &entity.name,
            DbObject::Table,
            entity.origin,
            format!("{}.name", entity.name),
            sink,
        );
    }
    let mut long_columns = false;
    for field in &entity.fields {
        if field.column_name.is_none() {
            let path = format!("{}.fields.{}", entity.name, field.name);
            reserved(&field.name, DbObject::Column, field.origin, path, sink);
        }
        let name = field.column_name.as_deref().unwrap_or(&field.name);
        if too_long(name) {
            long_columns = true;
            let what = if field.column_name.is_some() {
                "column"
            } else {
                "field"
            };
            sink.error(
                field.origin,
                format!("{}.fields.{}", entity.name, shown(&field.name)),
                SchemaError::IdentifierTooLong {
                    what,
                    name: shown(name),
                    bytes: name.len(),
                },
            );
        }
    }
    if long_columns {
        return;
    }
    let derived = |columns: &[String], suffix: &str| -> String {
        let mut name = table.to_owned();
        for c in columns {
            name.push('_');
            name.push_str(&column(c));
        }
        name.push('_');
        name.push_str(suffix);
        name
    };
    let mut report = |name: String, position, path: String, fix: &'static str| {
        if too_long(&name) {
            sink.error(
                position,
                path,
                SchemaError::DerivedNameTooLong {
                    bytes: name.len(),
                    name: shown(&name),
                    fix,
                },
            );
        }
    };
    report(
        derived(&[], "pkey"),
        entity.origin,
        format!("{}.name", entity.name),
        "shorten the entity name or set tableName",
    );
    for index in &entity.indexes {
        if index.name.is_some() {
            continue;
        }
        let suffix = if index.unique { "key" } else { "idx" };
        let position = index
            .fields
            .first()
            .and_then(|f| entity.field(f))
            .map_or(entity.origin, |f| f.origin);
        report(
            derived(&index.fields, suffix),
            position,
            format!("{}.indexes", entity.name),
            "give the index a name, or shorten the entity or field names",
        );
    }
    for relation in &entity.relations {
        if relation.kind != RelationKind::BelongsTo || relation.fields.is_empty() {
            continue;
        }
        report(
            derived(&relation.fields, "fkey"),
            relation.origin,
            format!("{}.relations.{}", entity.name, relation.name),
            "shorten the entity or foreign key field names",
        );
    }
}

/// Refuses a Prisma name that becomes a database name PostgreSQL, Prisma or the gate reserves
/// (its length is checked on its own, with the derived names).
fn reserved(name: &str, object: DbObject, position: Position, path: String, sink: &mut Sink<'_>) {
    let Some(rule) = db_name_problem(name, object).filter(|_| !too_long(name)) else {
        return;
    };
    let what = match object {
        DbObject::Table => "entity",
        DbObject::Column => "field",
        DbObject::Index => "index",
    };
    let error = SchemaError::InvalidName {
        what,
        name: name.to_owned(),
        rule,
    };
    sink.error(position, path, error);
}

fn too_long(name: &str) -> bool {
    name.len() > MAX_IDENTIFIER_BYTES
}

/// A name as shown in a message: long names are cut after 80 characters.
fn shown(name: &str) -> String {
    if name.chars().count() > 80 {
        let mut short: String = name.chars().take(80).collect();
        short.push('…');
        short
    } else {
        name.to_owned()
    }
}

fn relations<'a>(
    entity: &'a Entity,
    own: &'a [Entity],
    env: &Environment<'a>,
    sink: &mut Sink<'_>,
) {
    let mut seen_keys: BTreeMap<(bool, &str, &[String]), &str> = BTreeMap::new();
    for relation in &entity.relations {
        let path = format!("{}.relations.{}", entity.name, relation.name);
        let Some(target) = env.resolve(&relation.target, own) else {
            let error = SchemaError::UnknownRelationTarget {
                relation: relation.name.clone(),
                target: relation.target.clone(),
            };
            sink.error(relation.target_origin, path, error);
            continue;
        };
        if relation.kind != RelationKind::ManyToMany {
            let key = (
                relation.kind == RelationKind::BelongsTo,
                relation.target.as_str(),
                relation.fields.as_slice(),
            );
            if let Some(first) = seen_keys.insert(key, &relation.name) {
                let holder = if relation.kind == RelationKind::BelongsTo {
                    &entity.name
                } else {
                    &relation.target
                };
                let error = SchemaError::SharedForeignKey {
                    first: first.to_owned(),
                    second: relation.name.clone(),
                    target: holder.clone(),
                    field: relation.fields.join(", "),
                };
                sink.error(relation.origin, path.clone(), error);
                continue;
            }
        }
        if matches!(target, ModelRef::Broken) {
            continue;
        }
        let this = ModelRef::Entity(entity);
        match relation.kind {
            RelationKind::BelongsTo => {
                foreign_key(relation, &path, this, target, &relation.target, sink);
            }
            RelationKind::HasMany | RelationKind::HasOne => {
                let mut fk_ok = true;
                for fk in &relation.fields {
                    if target.column(fk).is_none() {
                        let error = SchemaError::UnknownField {
                            what: "relation",
                            field: fk.clone(),
                            entity: relation.target.clone(),
                            known: target.field_names(),
                        };
                        sink.error(relation.fields_origin, path.clone(), error);
                        fk_ok = false;
                    }
                }
                if !fk_ok {
                    continue;
                }
                foreign_key(relation, &path, target, this, &entity.name, sink);
                if relation.kind == RelationKind::HasOne && !target.is_unique_set(&relation.fields)
                {
                    let error = SchemaError::HasOneNeedsUnique {
                        relation: relation.name.clone(),
                        target: relation.target.clone(),
                        field: relation.fields.join(", "),
                    };
                    sink.error(relation.fields_origin, path.clone(), error);
                }
                for action in [relation.on_delete, relation.on_update] {
                    if action == Some(ReferentialAction::SetNull) {
                        if let Some(required) = relation
                            .fields
                            .iter()
                            .find(|f| target.column(f).is_some_and(|c| !c.optional))
                        {
                            let error = SchemaError::SetNullOnRequired {
                                relation: relation.name.clone(),
                                field: required.clone(),
                            };
                            sink.error(relation.origin, path.clone(), error);
                        }
                    }
                }
            }
            RelationKind::ManyToMany => {
                if entity.primary_key.len() != 1 || target.primary_key().len() != 1 {
                    let error = SchemaError::RelationShape {
                        relation: relation.name.clone(),
                        kind: relation.kind.as_str(),
                        problem: "needs a single-field primary key on both sides",
                    };
                    sink.error(relation.origin, path, error);
                }
            }
        }
    }
}

/// Checks a foreign key held by `child` (fields already known to exist there) against the
/// referenced fields of `parent`.
fn foreign_key(
    relation: &super::model::Relation,
    path: &str,
    child: ModelRef<'_>,
    parent: ModelRef<'_>,
    parent_name: &str,
    sink: &mut Sink<'_>,
) {
    let references = relation
        .references
        .clone()
        .unwrap_or_else(|| parent.primary_key());
    if references.len() != relation.fields.len() {
        let error = SchemaError::RelationShape {
            relation: relation.name.clone(),
            kind: relation.kind.as_str(),
            problem: "needs references matching its foreign key (the target's primary key has another size)",
        };
        sink.error(relation.origin, path, error);
        return;
    }
    let mut ok = true;
    for (fk, referenced) in relation.fields.iter().zip(&references) {
        let Some(referenced_column) = parent.column(referenced) else {
            let error = SchemaError::UnknownField {
                what: "references",
                field: referenced.clone(),
                entity: parent_name.to_owned(),
                known: parent.field_names(),
            };
            sink.error(relation.origin, format!("{path}.references"), error);
            ok = false;
            continue;
        };
        if let Some(fk_column) = child.column(fk) {
            if fk_column.type_name != referenced_column.type_name {
                let error = SchemaError::ForeignKeyTypeMismatch {
                    field: fk.clone(),
                    field_type: fk_column.type_name,
                    target: parent_name.to_owned(),
                    referenced: referenced.clone(),
                    referenced_type: referenced_column.type_name,
                };
                sink.error(relation.fields_origin, path, error);
                ok = false;
            }
        }
    }
    if ok && !parent.is_unique_set(&references) {
        let error = SchemaError::ReferencesNotUnique {
            relation: relation.name.clone(),
            target: parent_name.to_owned(),
            fields: references.join(", "),
        };
        sink.error(relation.origin, format!("{path}.references"), error);
    }
}

fn acl<'a>(
    entity: &'a Entity,
    own: &'a [Entity],
    env: &Environment<'a>,
    config: &Config,
    sink: &mut Sink<'_>,
) {
    let Some(acl) = &entity.acl else {
        return;
    };
    let reported = sink.diagnostics.len();
    acl_references(entity, acl, own, env, config, sink);
    if sink.diagnostics.len() == reported {
        enforceable(entity, acl, own, env, config, sink);
    }
}

/// Checks that the ACL compiles to row-level security (once everything it names resolves).
fn enforceable<'a>(
    entity: &'a Entity,
    acl: &super::model::Acl,
    own: &'a [Entity],
    env: &Environment<'a>,
    config: &Config,
    sink: &mut Sink<'_>,
) {
    let models = env.policy_models(own);
    match entity_policies(entity, &models, config) {
        Ok(Some(policies)) => {
            // Grants that match no row: a finding for the reviewer, never a refused package.
            for (role, detail) in &policies.unmatched {
                for (op, roles) in &acl.rules {
                    for granted in roles.iter().filter(|r| &r.name == role) {
                        sink.finding(
                            granted.origin,
                            format!("{}.acl.{}", entity.name, op.as_str()),
                            SchemaError::RoleConditionMissing {
                                role: role.clone(),
                                entity: entity.name.clone(),
                                detail: detail.clone(),
                            },
                            super::Severity::Warning,
                        );
                    }
                }
            }
        }
        Ok(None) | Err(PolicyError::Unresolved { .. }) => {}
        Err(PolicyError::RowLevel { offset, detail, .. }) => {
            if let Some(row_level) = &acl.row_level {
                sink.error(
                    shift_within(&row_level.source, row_level.origin, offset),
                    format!("{}.acl.rowLevel", entity.name),
                    SchemaError::PolicyNotEnforceable {
                        subject: "rowLevel".to_owned(),
                        detail,
                    },
                );
            }
        }
        Err(PolicyError::Role {
            op, role, detail, ..
        }) => {
            let position = acl
                .rules
                .get(&op)
                .and_then(|roles| roles.iter().find(|r| r.name == role))
                .map_or(entity.origin, |r| r.origin);
            sink.error(
                position,
                format!("{}.acl.{}", entity.name, op.as_str()),
                SchemaError::PolicyNotEnforceable {
                    subject: format!("acl role \"{role}\""),
                    detail,
                },
            );
        }
    }
}

/// Owner grants need an owner; `rowLevel` must name real fields and known variables.
fn acl_references<'a>(
    entity: &'a Entity,
    acl: &super::model::Acl,
    own: &'a [Entity],
    env: &Environment<'a>,
    config: &Config,
    sink: &mut Sink<'_>,
) {
    let mut owner_checked: Option<bool> = None;
    if let Some(owner) = &acl.owner {
        let known = entity.field(&owner.name).is_some();
        if !known {
            let error = SchemaError::UnknownOwnerField {
                field: owner.name.clone(),
                entity: entity.name.clone(),
            };
            sink.error(owner.origin, format!("{}.acl.owner", entity.name), error);
        }
        // An unknown owner field is an error of its own; do not report the grants again.
        owner_checked = Some(true);
    }
    for (op, roles) in &acl.rules {
        for role in roles
            .iter()
            .filter(|r| config.owner_roles.contains(&r.name))
        {
            let owned = *owner_checked
                .get_or_insert_with(|| env.has_owner(entity, own, config, &mut BTreeSet::new()));
            if !owned {
                let error = SchemaError::OwnerFieldMissing {
                    role: role.name.clone(),
                    entity: entity.name.clone(),
                    owner_fields: config.owner_fields.clone(),
                };
                // A finding for the reviewer; the grant fails closed (it matches no row).
                sink.finding(
                    role.origin,
                    format!("{}.acl.{}", entity.name, op.as_str()),
                    error,
                    config.ownership_severity,
                );
            }
        }
    }
    let Some(row_level) = &acl.row_level else {
        return;
    };
    let path = format!("{}.acl.rowLevel", entity.name);
    for reference in row_level.predicate.paths() {
        if let Some((error, offset)) = resolve_path(reference, entity, own, env) {
            sink.error(
                shift_within(&row_level.source, row_level.origin, offset),
                path.clone(),
                error,
            );
        }
    }
    for variable in row_level.predicate.variables() {
        let root = variable.first().map(String::as_str).unwrap_or_default();
        if !config.context_variables.contains(root) {
            let known = config.context_variables.iter().cloned().collect();
            let offset = row_level
                .source
                .find(&format!("${root}"))
                .map_or(0, |b| row_level.source[..b].chars().count());
            let at = shift_within(&row_level.source, row_level.origin, offset);
            sink.error(
                at,
                path.clone(),
                SchemaError::PredicateUnknownVariable {
                    name: root.to_owned(),
                    known,
                },
            );
        }
    }
}

/// Walks `relation.relation.field`; returns the first unknown segment and its offset.
fn resolve_path<'a>(
    reference: &PathRef,
    entity: &'a Entity,
    own: &'a [Entity],
    env: &Environment<'a>,
) -> Option<(SchemaError, usize)> {
    let mut model = ModelRef::Entity(entity);
    let mut model_name = entity.name.clone();
    let mut offset = reference.offset;
    let last = reference.segments.len().saturating_sub(1);
    for (i, segment) in reference.segments.iter().enumerate() {
        if matches!(model, ModelRef::Broken) {
            return None;
        }
        if i == last {
            if model.column(segment).is_some() {
                return None;
            }
            let error = SchemaError::PredicateUnknownReference {
                what: "field",
                name: segment.clone(),
                entity: model_name,
            };
            return Some((error, offset));
        }
        let Some(next) = env.relation_target(model, segment, own) else {
            let error = SchemaError::PredicateUnknownReference {
                what: "relation",
                name: segment.clone(),
                entity: model_name,
            };
            return Some((error, offset));
        };
        model_name = match next {
            ModelRef::Entity(e) => e.name.clone(),
            ModelRef::Base(m) => m.name.clone(),
            ModelRef::Broken => String::new(),
        };
        model = next;
        offset += segment.chars().count() + 1;
    }
    None
}

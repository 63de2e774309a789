//! Compiling one entity's ACL into SQL expressions: the admission of each operation's roles,
//! the owner of a row (owner fields and owner chains), and the `rowLevel` predicate.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::super::base_schema::{BaseModel, BaseSchema};
use super::super::config::{is_pseudo_role, Config};
use super::super::model::{AclOp, Entity, FieldType, RelationKind};
use super::super::predicate::{Operand, Predicate};
use super::typing::{compare, number, operands, sql_of, Value};
use super::{quote_ident, quote_literal};

mod tenant;

/// A model a policy can refer to: a package entity, a base schema model, or a name known to
/// exist whose definition could not be read.
#[derive(Debug, Clone, Copy)]
enum Model<'a> {
    Entity(&'a Entity),
    Base(&'a BaseModel),
    Unreadable,
}

/// Every model of one schema state, by name: what relation paths and owner chains resolve
/// against. The first definition of a name wins, so list a package's own entities first.
#[derive(Debug, Clone, Default)]
pub struct Models<'a> {
    models: BTreeMap<&'a str, Model<'a>>,
    /// child → (parent, foreign key fields on the child, referenced fields on the parent),
    /// from hasMany/hasOne declared on the parent.
    reverse_links: BTreeMap<&'a str, Vec<ReverseLink<'a>>>,
    /// Models every package of a catalog shares, consulted after these: one package's view
    /// costs its own entities, not the whole catalog.
    shared: Option<Arc<Models<'a>>>,
}

#[derive(Debug, Clone, Copy)]
struct ReverseLink<'a> {
    parent: &'a str,
    fields: &'a [String],
    references: Option<&'a [String]>,
}

impl<'a> Models<'a> {
    /// The base schema's models and `entities` (first definition of a name wins).
    pub fn new(base: &'a BaseSchema, entities: impl IntoIterator<Item = &'a Entity>) -> Self {
        let mut models = Self::default();
        for entity in entities {
            models.add(entity);
        }
        for model in base.models() {
            models
                .models
                .entry(model.name.as_str())
                .or_insert(Model::Base(model));
        }
        models
    }

    /// The base schema's models and `entities` first, then the `shared` models (as if each
    /// were added after them, without copying them).
    #[must_use]
    pub fn layered(
        base: &'a BaseSchema,
        entities: impl IntoIterator<Item = &'a Entity>,
        shared: Arc<Models<'a>>,
    ) -> Self {
        let mut models = Self::new(base, entities);
        models.shared = Some(shared);
        models
    }

    /// Adds an entity unless a model of that name is already known.
    pub fn add(&mut self, entity: &'a Entity) {
        if self.get(&entity.name).is_some() {
            return;
        }
        self.models.insert(&entity.name, Model::Entity(entity));
        for relation in &entity.relations {
            if matches!(relation.kind, RelationKind::HasMany | RelationKind::HasOne) {
                self.reverse_links
                    .entry(&relation.target)
                    .or_default()
                    .push(ReverseLink {
                        parent: &entity.name,
                        fields: &relation.fields,
                        references: relation.references.as_deref(),
                    });
            }
        }
    }

    /// Marks `name` as a model that exists but could not be read; paths through it cannot be
    /// compiled (reported as unresolved, not as a fault of the predicate).
    pub fn add_unreadable(&mut self, name: &'a str) {
        if self.get(name).is_none() {
            self.models.insert(name, Model::Unreadable);
        }
    }

    fn get(&self, name: &str) -> Option<Model<'a>> {
        self.models
            .get(name)
            .copied()
            .or_else(|| self.shared.as_ref()?.get(name))
    }

    /// The hasMany/hasOne links whose child is `child`, from parents that are models here.
    fn reverse_links(&self, child: &str) -> Vec<ReverseLink<'a>> {
        let mut links = self.reverse_links.get(child).cloned().unwrap_or_default();
        if let Some(shared) = &self.shared {
            // A shared parent shadowed by a model of the same name here was never added.
            links.extend(
                shared
                    .reverse_links(child)
                    .into_iter()
                    .filter(|link| !self.models.contains_key(link.parent)),
            );
        }
        links
    }

    /// The entity called `name`, if it is a package entity.
    #[must_use]
    pub fn entity(&self, name: &str) -> Option<&'a Entity> {
        match self.get(name) {
            Some(Model::Entity(entity)) => Some(entity),
            _ => None,
        }
    }

    /// Whether `name` is known with the same definition in both states (for base models: the
    /// same text; for entities: the same fields, keys, relations and ACL).
    pub(crate) fn same_model(&self, other: &Models<'_>, name: &str) -> bool {
        match (self.get(name), other.get(name)) {
            (Some(Model::Entity(a)), Some(Model::Entity(b))) => {
                super::super::checksum::entity_checksum(a)
                    == super::super::checksum::entity_checksum(b)
                    && a.table_name == b.table_name
            }
            (Some(Model::Base(a)), Some(Model::Base(b))) => a == b,
            _ => false,
        }
    }
}

impl Model<'_> {
    fn name(&self) -> String {
        match self {
            Self::Entity(e) => e.name.clone(),
            Self::Base(m) => m.name.clone(),
            Self::Unreadable => String::new(),
        }
    }

    fn table(&self) -> String {
        match self {
            Self::Entity(e) => table_name(e).to_owned(),
            Self::Base(m) => m.table_name(),
            Self::Unreadable => String::new(),
        }
    }

    /// The column and type of scalar field `name`.
    fn column(&self, name: &str) -> Option<(String, FieldType)> {
        match self {
            Self::Entity(e) => e.field(name).map(|f| {
                (
                    f.column_name.clone().unwrap_or_else(|| f.name.clone()),
                    f.field_type,
                )
            }),
            Self::Base(m) => {
                let field = m.field(name)?;
                if field.list {
                    return None;
                }
                let (field_type, _) = FieldType::parse(&field.type_name)?;
                let column = field
                    .attributes
                    .find("@map(")
                    .and_then(|at| field.attributes[at..].split('"').nth(1))
                    .map_or_else(|| field.name.clone(), str::to_owned);
                Some((column, field_type))
            }
            Self::Unreadable => None,
        }
    }

    fn primary_key(&self) -> Vec<String> {
        match self {
            Self::Entity(e) => e.primary_key.clone(),
            Self::Base(m) => m.primary_key(),
            Self::Unreadable => Vec::new(),
        }
    }
}

/// The table an entity renders to: `tableName` (`@@map`), else the entity name.
#[must_use]
pub fn table_name(entity: &Entity) -> &str {
    entity.table_name.as_deref().unwrap_or(&entity.name)
}

/// Why an expression could not be compiled (before the entity is attached).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Fault {
    /// A name that does not resolve (validation reports those itself).
    Unresolved(String),
    /// Resolves, but has no SQL meaning.
    NotEnforceable(String),
    /// A context variable without a setting: (variable as written without `$`, what is wrong).
    Variable(String, String),
    /// No owner can be found for the rows of a model: an owner grant on it matches no row.
    Unowned(String),
}

/// A parent of an owner chain: (model, foreign key fields on the child, referenced fields,
/// whether the foreign key is required).
type Parent<'r> = (&'r str, &'r [String], Option<&'r [String]>, bool);

/// A subquery scope opened by a relation hop: `EXISTS (SELECT 1 FROM table alias WHERE join AND …)`.
struct Scope {
    from: String,
    join: String,
}

/// Compiles the expressions of one entity.
pub(super) struct Compiler<'m, 'a> {
    models: &'m Models<'a>,
    config: &'m Config,
    entity: &'a Entity,
    /// The quoted table name, which qualifies the policy's own columns.
    outer: String,
    aliases: usize,
    /// Every model whose table the expressions read, the entity's own included.
    pub(super) reads: BTreeSet<String>,
    /// Why the entity's owner grants match no row, when no owner can be found.
    pub(super) unowned: Option<String>,
    /// Conditional roles whose condition cannot be compiled for the entity → why: their grants
    /// match no row.
    pub(super) unmatched: BTreeMap<String, String>,
    /// Conditional roles → the Boolean field whose rows they admit.
    pub(super) conditions: BTreeMap<String, String>,
    /// The tenant condition of the entity's rows, when it belongs to a tenant.
    pub(super) tenant_scope: Option<String>,
    /// Why the rows cannot be tied to a tenant on a platform that has tenants.
    pub(super) untenanted: Option<String>,
    /// Every (table, column) the expressions read.
    pub(super) columns: BTreeSet<(String, String)>,
}

impl<'m, 'a> Compiler<'m, 'a> {
    pub(super) fn new(entity: &'a Entity, models: &'m Models<'a>, config: &'m Config) -> Self {
        Self {
            models,
            config,
            entity,
            outer: quote_ident(table_name(entity)),
            aliases: 0,
            reads: BTreeSet::from([entity.name.clone()]),
            unowned: None,
            unmatched: BTreeMap::new(),
            conditions: BTreeMap::new(),
            tenant_scope: None,
            untenanted: None,
            columns: BTreeSet::new(),
        }
    }

    /// `NULLIF(current_setting('<setting>', true), '')`: a setting never set in the session
    /// reads NULL, and one set only for an earlier transaction reads '' afterwards.
    fn setting(setting: &str) -> String {
        format!(
            "NULLIF(current_setting({}, true), '')",
            quote_literal(setting)
        )
    }

    fn signed_in(&self) -> String {
        format!(
            "{} IS NOT NULL",
            Self::setting(&self.config.row_security.user_setting)
        )
    }

    /// `column` (of `field_type`) holds the acting user's id.
    fn is_user(&self, column: &str, field_type: FieldType) -> Result<String, Fault> {
        let setting = Self::setting(&self.config.row_security.user_setting);
        tenant::identity(column, field_type, &setting).ok_or_else(|| {
            Fault::NotEnforceable(format!("a {field_type:?} field cannot hold a user id"))
        })
    }

    /// The column and type of field `name` of `model`, recorded as read by the policies.
    fn column(&mut self, model: Model<'_>, name: &str) -> Option<(String, FieldType)> {
        let found = model.column(name)?;
        self.columns.insert((model.table(), found.0.clone()));
        Some(found)
    }

    fn next_alias(&mut self) -> String {
        loop {
            self.aliases += 1;
            let alias = format!("sg_{}", self.aliases);
            if alias != table_name(self.entity) {
                return alias;
            }
        }
    }

    /// The admission of `op`: who may act at all, and on which rows (owner, flags), before
    /// `rowLevel`. `None` when no role is granted.
    pub(super) fn admission(&mut self, op: AclOp) -> Result<Option<String>, (String, Fault)> {
        let roles = self
            .entity
            .acl
            .as_ref()
            .and_then(|acl| acl.rules.get(&op))
            .cloned()
            .unwrap_or_default();
        let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
        if names.contains(&"public") {
            return Ok(Some("true".to_owned()));
        }
        let mut parts: Vec<String> = Vec::new();
        if names.contains(&"user") {
            parts.push(self.signed_in());
        }
        let conditioned =
            |name: &&str| self.config.row_security.role_conditions.contains_key(*name);
        let mut named: BTreeSet<String> = BTreeSet::new();
        for name in names.iter().filter(|n| !conditioned(n)) {
            if !is_pseudo_role(name) {
                named.extend(self.config.row_security.hierarchy.admitted_by(name));
            }
        }
        if !named.is_empty() && !names.contains(&"user") {
            parts.push(self.in_roles(&named));
        }
        if names.iter().any(|n| matches!(*n, "self" | "owner")) {
            let role = names
                .iter()
                .find(|n| matches!(**n, "self" | "owner"))
                .copied()
                .unwrap_or("owner");
            match self.owner(
                Model::Entity(self.entity),
                &self.outer.clone(),
                &mut BTreeSet::new(),
            ) {
                Ok(owner) => parts.push(owner),
                // Validation reports it to the reviewer; the grant fails closed.
                Err(Fault::Unowned(why)) => self.unowned = Some(why),
                Err(fault) => return Err((role.to_owned(), fault)),
            }
        }
        let with_conditions: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| conditioned(n) || n.starts_with("public_if_"))
            .collect();
        for name in with_conditions {
            // A condition that cannot be compiled here fails closed: the grant matches no row.
            let Some(column) = self.condition(name) else {
                continue;
            };
            if name.starts_with("public_if_") || is_pseudo_role(name) {
                parts.push(format!("{column} IS TRUE"));
            } else {
                let roles = self.config.row_security.hierarchy.admitted_by(name);
                parts.push(format!("({} AND {column} IS TRUE)", self.in_roles(&roles)));
            }
        }
        Ok(match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(format!("({})", parts.join(" OR "))),
        })
    }

    /// A signed-in request whose role setting is one of `roles`.
    fn in_roles(&self, roles: &BTreeSet<String>) -> String {
        let list: Vec<String> = roles.iter().map(|r| quote_literal(r)).collect();
        format!(
            "({} AND current_setting({}, true) IN ({}))",
            self.signed_in(),
            quote_literal(&self.config.row_security.role_setting),
            list.join(", ")
        )
    }

    /// The Boolean column of `role`'s condition: the configured field (`--role-condition`),
    /// else for `public_if_X` a field `X`, else `isX`. `None`, with the role recorded in
    /// `unmatched`, when the entity has no such Boolean field.
    fn condition(&mut self, role: &str) -> Option<String> {
        let configured = self.config.row_security.role_conditions.get(role).cloned();
        let candidates: Vec<String> = match (&configured, role.strip_prefix("public_if_")) {
            (Some(field), _) => vec![field.clone()],
            (None, Some(flag)) => {
                let mut upper = flag.chars();
                let is_name = upper.next().map_or_else(String::new, |first| {
                    format!("is{}{}", first.to_uppercase(), upper.as_str())
                });
                vec![flag.to_owned(), is_name]
            }
            (None, None) => Vec::new(),
        };
        let model = Model::Entity(self.entity);
        for candidate in &candidates {
            if let Some((column, FieldType::Boolean)) = model.column(candidate) {
                self.columns.insert((model.table(), column.clone()));
                self.conditions.insert(role.to_owned(), candidate.clone());
                return Some(format!("{}.{}", self.outer, quote_ident(&column)));
            }
        }
        let wanted = candidates
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(" or ");
        self.unmatched.insert(
            role.to_owned(),
            format!(
                "its condition needs a Boolean field {wanted} on entity \"{}\"",
                self.entity.name
            ),
        );
        None
    }

    /// Whether rows of `model` (reachable as `qualifier`) belong to the acting user: the first
    /// owner field, else a belongsTo to the user model, else the owner of a required parent
    /// (the same rule validation applies, in the same order).
    fn owner(
        &mut self,
        model: Model<'a>,
        qualifier: &str,
        visiting: &mut BTreeSet<String>,
    ) -> Result<String, Fault> {
        let name = model.name();
        if !visiting.insert(name.clone()) {
            return Err(Fault::Unowned(format!(
                "the owner chain of entity \"{name}\" loops"
            )));
        }
        // The field the entity's ACL names as its owner comes first.
        let named = match model {
            Model::Entity(entity) => entity
                .acl
                .as_ref()
                .and_then(|acl| acl.owner.as_ref())
                .map(|owner| owner.name.clone()),
            _ => None,
        };
        for owner_field in named.iter().chain(&self.config.owner_fields) {
            if let Some((column, field_type)) = self.column(model, owner_field) {
                return self.is_user(&format!("{qualifier}.{}", quote_ident(&column)), field_type);
            }
        }
        let Model::Entity(entity) = model else {
            return Err(Fault::Unowned(format!(
                "model \"{name}\" has no owner field"
            )));
        };
        let parents = self.parents_of(entity);
        for (parent, fields, references, is_required) in parents {
            let Some(parent_model) = self.models.get(parent) else {
                continue;
            };
            if parent == self.config.user_model {
                let [fk] = fields else {
                    return Err(Fault::NotEnforceable(format!(
                        "the relation of entity \"{name}\" to {parent} has {} foreign key fields, not one",
                        fields.len()
                    )));
                };
                let (column, field_type) = self
                    .column(model, fk)
                    .ok_or_else(|| Fault::Unresolved(format!("field \"{fk}\" of \"{name}\"")))?;
                return self.is_user(&format!("{qualifier}.{}", quote_ident(&column)), field_type);
            }
            if !is_required || matches!(parent_model, Model::Unreadable) {
                continue;
            }
            // What a parent without an owner read is not read.
            let columns = self.columns.clone();
            let alias = self.next_alias();
            let join = self.join(model, qualifier, fields, parent_model, &alias, references)?;
            match self.owner(parent_model, &alias, visiting) {
                Ok(inner) => {
                    self.reads.insert(parent_model.name());
                    return Ok(format!(
                        "EXISTS (SELECT 1 FROM {} {alias} WHERE {join} AND {inner})",
                        quote_ident(&parent_model.table())
                    ));
                }
                Err(Fault::NotEnforceable(_) | Fault::Unowned(_)) => self.columns = columns,
                Err(unresolved) => return Err(unresolved),
            }
        }
        Err(Fault::Unowned(format!(
            "entity \"{name}\" has no owner field, no relation to {} and no required parent with an owner",
            self.config.user_model
        )))
    }

    /// The parents of `entity`'s rows: its belongsTo relations in declared order, then the
    /// hasMany/hasOne relations other models declare to it.
    fn parents_of(&self, entity: &'a Entity) -> Vec<Parent<'a>> {
        let required = |fields: &[String]| {
            fields
                .iter()
                .all(|n| entity.field(n).is_some_and(|f| !f.optional))
        };
        let mut parents: Vec<Parent<'a>> = entity
            .relations
            .iter()
            .filter(|r| r.kind == RelationKind::BelongsTo)
            .map(|r| {
                (
                    r.target.as_str(),
                    r.fields.as_slice(),
                    r.references.as_deref(),
                    required(&r.fields),
                )
            })
            .collect();
        parents.extend(
            self.models
                .reverse_links(&entity.name)
                .into_iter()
                .map(|l| (l.parent, l.fields, l.references, required(l.fields))),
        );
        parents
    }

    /// `alias.ref = qualifier.fk AND …` for a foreign key on `child` (as `qualifier`) that
    /// references `parent` (as `alias`).
    fn join(
        &mut self,
        child: Model<'_>,
        qualifier: &str,
        fields: &[String],
        parent: Model<'_>,
        alias: &str,
        references: Option<&[String]>,
    ) -> Result<String, Fault> {
        let references = references.map_or_else(|| parent.primary_key(), <[String]>::to_vec);
        if references.len() != fields.len() || fields.is_empty() {
            return Err(Fault::NotEnforceable(format!(
                "the relation between \"{}\" and \"{}\" has no usable key",
                child.name(),
                parent.name()
            )));
        }
        let mut parts = Vec::new();
        for (fk, referenced) in fields.iter().zip(&references) {
            let (fk_column, _) = self
                .column(child, fk)
                .ok_or_else(|| Fault::Unresolved(format!("field \"{fk}\"")))?;
            let (ref_column, _) = self
                .column(parent, referenced)
                .ok_or_else(|| Fault::Unresolved(format!("field \"{referenced}\"")))?;
            parts.push(format!(
                "{alias}.{} = {qualifier}.{}",
                quote_ident(&ref_column),
                quote_ident(&fk_column)
            ));
        }
        Ok(parts.join(" AND "))
    }

    /// The `rowLevel` predicate (written as `source`) as SQL; a fault carries the character
    /// offset to report: its comparison's first field, or the variable at fault.
    pub(super) fn row_level(
        &mut self,
        predicate: &Predicate,
        source: &str,
    ) -> Result<String, (usize, Fault)> {
        self.predicate(predicate)
            .map_err(|(offset, fault)| match fault {
                Fault::Variable(name, detail) => {
                    let at = source
                        .find(&format!("${name}"))
                        .map_or(offset, |byte| source[..byte].chars().count());
                    (at, Fault::NotEnforceable(detail))
                }
                other => (offset, other),
            })
    }

    fn predicate(&mut self, predicate: &Predicate) -> Result<String, (usize, Fault)> {
        match predicate {
            Predicate::Or { parts } | Predicate::And { parts } => {
                let joiner = if matches!(predicate, Predicate::Or { .. }) {
                    " OR "
                } else {
                    " AND "
                };
                let compiled = parts
                    .iter()
                    .map(|p| self.predicate(p))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(format!("({})", compiled.join(joiner)))
            }
            Predicate::Not { inner } => Ok(format!("NOT ({})", self.predicate(inner)?)),
            leaf => {
                let offset = leaf_offset(leaf);
                self.leaf(leaf).map_err(|fault| (offset, fault))
            }
        }
    }

    fn leaf(&mut self, leaf: &Predicate) -> Result<String, Fault> {
        let mut scopes = Vec::new();
        let condition = match leaf {
            Predicate::Compare { left, op, right } => {
                let left = self.operand(left, &mut scopes)?;
                let right = self.operand(right, &mut scopes)?;
                compare(&left, *op, &right)?
            }
            Predicate::IsNull { operand, negated } => {
                let value = self.operand(operand, &mut scopes)?;
                let text = sql_of(&value, None)?;
                format!("{text} IS {}NULL", if *negated { "NOT " } else { "" })
            }
            Predicate::In {
                operand,
                values,
                negated,
            } => {
                let tested = self.operand(operand, &mut scopes)?;
                let mut left: Option<String> = None;
                let mut listed = Vec::new();
                for value in values {
                    let value = self.operand(value, &mut scopes)?;
                    if matches!(value, Value::Null) {
                        return Err(Fault::NotEnforceable(
                            "null in an IN list never matches; use IS NULL".to_owned(),
                        ));
                    }
                    let (l, r) = operands(&tested, &value)?;
                    if left.as_ref().is_some_and(|first| *first != l) {
                        return Err(Fault::NotEnforceable(
                            "an IN list mixes values of different types".to_owned(),
                        ));
                    }
                    left = Some(l);
                    listed.push(r);
                }
                format!(
                    "{} {}IN ({})",
                    left.unwrap_or_default(),
                    if *negated { "NOT " } else { "" },
                    listed.join(", ")
                )
            }
            Predicate::Or { .. } | Predicate::And { .. } | Predicate::Not { .. } => {
                return Err(Fault::NotEnforceable("unexpected nesting".to_owned()))
            }
        };
        Ok(scopes.into_iter().rev().fold(condition, |inner, scope| {
            format!(
                "EXISTS (SELECT 1 FROM {} WHERE {} AND {inner})",
                scope.from, scope.join
            )
        }))
    }

    fn operand(&mut self, operand: &Operand, scopes: &mut Vec<Scope>) -> Result<Value, Fault> {
        Ok(match operand {
            Operand::Path(path) => {
                let mut model = Model::Entity(self.entity);
                let mut qualifier = self.outer.clone();
                let (last, hops) = path
                    .segments
                    .split_last()
                    .ok_or_else(|| Fault::Unresolved("an empty path".to_owned()))?;
                for hop in hops {
                    let (next, alias, join) = self.hop(model, &qualifier, hop)?;
                    scopes.push(Scope {
                        from: format!("{} {alias}", quote_ident(&next.table())),
                        join,
                    });
                    model = next;
                    qualifier = alias;
                }
                let (column, field_type) = self.column(model, last).ok_or_else(|| {
                    Fault::Unresolved(format!("field \"{last}\" of \"{}\"", model.name()))
                })?;
                Value::Column(format!("{qualifier}.{}", quote_ident(&column)), field_type)
            }
            Operand::Variable(segments) => {
                let name = segments.join(".");
                let setting = self
                    .config
                    .row_security
                    .setting_of(segments)
                    .ok_or_else(|| {
                        Fault::Variable(
                            name.clone(),
                            format!(
                                "the variable \"${name}\" has no setting (expected $ROOT.NAME, such as $user.id)"
                            ),
                        )
                    })?;
                Value::Setting(Self::setting(&setting))
            }
            Operand::Str(text) => {
                if text.contains('\0') {
                    return Err(Fault::NotEnforceable(
                        "a string with a NUL character cannot be stored".to_owned(),
                    ));
                }
                Value::Str(text.clone())
            }
            Operand::Number(text) => Value::Number(number(text)?),
            Operand::Bool(b) => Value::Bool(*b),
            Operand::Null => Value::Null,
        })
    }

    /// Follows relation `name` of `model` (reachable as `qualifier`): the target model, the
    /// alias it gets and the join condition.
    fn hop(
        &mut self,
        model: Model<'a>,
        qualifier: &str,
        name: &str,
    ) -> Result<(Model<'a>, String, String), Fault> {
        let Model::Entity(entity) = model else {
            return Err(match model {
                Model::Unreadable => Fault::Unresolved(format!("relation \"{name}\"")),
                _ => Fault::NotEnforceable(format!(
                    "a path cannot continue through \"{name}\" of base model \"{}\"",
                    model.name()
                )),
            });
        };
        let relation = entity.relation(name).ok_or_else(|| {
            Fault::Unresolved(format!("relation \"{name}\" of \"{}\"", entity.name))
        })?;
        let target = self
            .models
            .get(&relation.target)
            .ok_or_else(|| Fault::Unresolved(format!("model \"{}\"", relation.target)))?;
        if matches!(target, Model::Unreadable) {
            return Err(Fault::Unresolved(format!("model \"{}\"", relation.target)));
        }
        if target.table() == table_name(self.entity) {
            return Err(Fault::NotEnforceable(format!(
                "the path through \"{name}\" leads back to table \"{}\": a policy that queries its own table makes PostgreSQL fail every query with infinite recursion; compare a field of the row itself",
                table_name(self.entity)
            )));
        }
        self.reads.insert(target.name());
        let alias = self.next_alias();
        let join = match relation.kind {
            RelationKind::BelongsTo => self.join(
                model,
                qualifier,
                &relation.fields,
                target,
                &alias,
                relation.references.as_deref(),
            )?,
            RelationKind::HasMany | RelationKind::HasOne => self.join(
                target,
                &alias,
                &relation.fields,
                model,
                qualifier,
                relation.references.as_deref(),
            )?,
            RelationKind::ManyToMany => {
                return Err(Fault::NotEnforceable(format!(
                    "the manyToMany relation \"{name}\" cannot be followed"
                )))
            }
        };
        Ok((target, alias, join))
    }
}

/// The offset of the first path of a comparison (0 when it mentions none).
fn leaf_offset(leaf: &Predicate) -> usize {
    leaf.paths().first().map_or(0, |p| p.offset)
}

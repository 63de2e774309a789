//! Tenant isolation: on a platform whose root model (`Tenant`) exists, a policy admits a row
//! only when it belongs to the acting tenant (the tenant setting), unless the request acts in a
//! platform-wide role. A row's tenant is its tenant field (`tenantId`), its id on the root model
//! itself, or the tenant of the parent it belongs to (`EXISTS` over the parent's table).

use std::collections::BTreeSet;

use super::super::super::config::TenantIsolation;
use super::super::{quote_ident, quote_literal};
use super::{Compiler, Model};

impl<'a> Compiler<'_, 'a> {
    /// The tenant condition every policy of the entity carries: `(platform-wide role OR row of
    /// the acting tenant)`; `None` without tenant isolation, or when the entity's rows cannot
    /// be tied to a tenant (then `untenanted` says why).
    pub(crate) fn tenant_clause(&mut self) -> Option<String> {
        let tenant = self.config.row_security.tenant.clone()?;
        let root = self.config.root_model.clone();
        self.models.get(&root)?;
        let own = Model::Entity(self.entity);
        let outer = self.outer.clone();
        let Some(scope) = self.tenant_of(own, &outer, &tenant, &mut BTreeSet::new()) else {
            self.untenanted = Some(format!(
                "entity \"{}\" has no {} field and no relation to {root} or to an entity that has one, so every tenant shares its rows",
                self.entity.name,
                tenant.fields.join(" or ")
            ));
            return None;
        };
        self.tenant_scope = Some(scope.clone());
        let platform = self.platform_roles(&tenant);
        Some(match platform {
            Some(platform) => format!("({platform} OR {scope})"),
            None => scope,
        })
    }

    /// A signed-in request in a platform-wide role (or a role above one).
    fn platform_roles(&self, tenant: &TenantIsolation) -> Option<String> {
        let roles: BTreeSet<String> = tenant
            .platform_roles
            .iter()
            .flat_map(|role| self.config.row_security.hierarchy.admitted_by(role))
            .collect();
        if roles.is_empty() {
            return None;
        }
        let list: Vec<String> = roles.iter().map(|r| quote_literal(r)).collect();
        Some(format!(
            "({} AND current_setting({}, true) IN ({}))",
            self.signed_in(),
            quote_literal(&self.config.row_security.role_setting),
            list.join(", ")
        ))
    }

    /// Whether a row of `model` (reachable as `qualifier`) belongs to the acting tenant.
    fn tenant_of(
        &mut self,
        model: Model<'a>,
        qualifier: &str,
        tenant: &TenantIsolation,
        visiting: &mut BTreeSet<String>,
    ) -> Option<String> {
        let name = model.name();
        if !visiting.insert(name.clone()) {
            return None;
        }
        let setting = Self::setting(&tenant.setting);
        if name == self.config.root_model {
            let [id] = model.primary_key().try_into().ok()?;
            let (column, field_type) = self.column(model, &id)?;
            return identity(
                &format!("{qualifier}.{}", quote_ident(&column)),
                field_type,
                &setting,
            );
        }
        for field in &tenant.fields {
            if let Some((column, field_type)) = self.column(model, field) {
                let column = format!("{qualifier}.{}", quote_ident(&column));
                return identity(&column, field_type, &setting);
            }
        }
        let Model::Entity(entity) = model else {
            return None;
        };
        for (parent, fields, references, _) in self.parents_of(entity) {
            // A relation to itself would make the policy query its own table: PostgreSQL
            // refuses that as infinite recursion.
            if parent == entity.name {
                continue;
            }
            let Some(parent_model) = self.models.get(parent) else {
                continue;
            };
            if matches!(parent_model, Model::Unreadable) {
                continue;
            }
            // Aliases and columns of a parent that leads nowhere are given back.
            let (aliases, columns) = (self.aliases, self.columns.clone());
            let alias = self.next_alias();
            let Ok(join) = self.join(model, qualifier, fields, parent_model, &alias, references)
            else {
                (self.aliases, self.columns) = (aliases, columns);
                continue;
            };
            if let Some(inner) = self.tenant_of(parent_model, &alias, tenant, visiting) {
                self.reads.insert(parent_model.name());
                return Some(format!(
                    "EXISTS (SELECT 1 FROM {} {alias} WHERE {join} AND {inner})",
                    quote_ident(&parent_model.table())
                ));
            }
            (self.aliases, self.columns) = (aliases, columns);
        }
        None
    }
}

/// `column = setting` for an identity (a tenant, an owner): a text column compares as it is; an
/// integer column compares as text, so a setting that is no number (a cuid) matches no row
/// instead of failing every query on the table. Other types identify nothing.
pub(crate) fn identity(
    column: &str,
    field_type: super::super::super::model::FieldType,
    setting: &str,
) -> Option<String> {
    use super::super::super::model::FieldType;
    match field_type {
        FieldType::String => Some(format!("{column} = {setting}")),
        FieldType::Int | FieldType::BigInt => Some(format!("{column}::text = {setting}")),
        _ => None,
    }
}

//! A change may not drop or retype a column that another package's row-level-security policy
//! reads: PostgreSQL refuses to (`cannot drop column … because other objects depend on it`),
//! so the restart job would fail the change after its approval. The approval is refused instead,
//! naming the policy and its package.

use std::collections::{BTreeMap, BTreeSet};

use super::future::{catalog_of, SchemaContext};
use crate::domain::catalog::Catalog;
use crate::domain::policy_sql::{entity_policies, policy_name, table_name, Models};
use crate::domain::{AclOp, Entity};

/// A column's shape as far as PostgreSQL's dependency check goes: its type and length.
type Columns = BTreeMap<(String, String), String>;

fn columns(entities: &[Entity]) -> Columns {
    let mut out = Columns::new();
    for entity in entities {
        for field in &entity.fields {
            let column = field
                .column_name
                .clone()
                .unwrap_or_else(|| field.name.clone());
            let shape = format!(
                "{:?} {:?} {:?}",
                field.field_type, field.max_length, field.enum_values
            );
            out.insert((table_name(entity).to_owned(), column), shape);
        }
    }
    out
}

/// What `package` going from `before` to `after` (desired states: package → YAML) drops or
/// retypes that the policies of other packages in `before` read, one line each.
#[must_use]
pub fn foreign_policy_reads(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
    package: &str,
    context: &SchemaContext,
) -> Vec<String> {
    let (old, new) = (catalog_of(before, context), catalog_of(after, context));
    let own = |catalog: &Catalog| {
        catalog
            .packages
            .iter()
            .find(|p| p.package.as_str() == package)
            .map(|p| columns(&p.model))
            .unwrap_or_default()
    };
    let (was, will) = (own(&old), own(&new));
    let altered: BTreeMap<&(String, String), &str> = was
        .iter()
        .filter_map(|(column, shape)| match will.get(column) {
            None => Some((column, "drops")),
            Some(new_shape) if new_shape != shape => Some((column, "retypes")),
            Some(_) => None,
        })
        .collect();
    if altered.is_empty() {
        return Vec::new();
    }
    let all: Vec<&Entity> = old.packages.iter().flat_map(|p| &p.model).collect();
    let mut problems = BTreeSet::new();
    for other in old
        .packages
        .iter()
        .filter(|p| p.package.as_str() != package)
    {
        let mut models = Models::new(&old.base, &other.model);
        for entity in &all {
            models.add(entity);
        }
        for entity in other.model.iter().filter(|e| e.acl.is_some()) {
            let Ok(Some(policies)) = entity_policies(entity, &models, &context.config) else {
                continue;
            };
            for column in &policies.columns {
                if let Some(verb) = altered.get(column) {
                    let names: Vec<&str> = AclOp::ALL.into_iter().map(policy_name).collect();
                    problems.insert(format!(
                        "{package} {verb} column \"{}\".\"{}\", which the row-level-security policies ({}) of entity {} of package {} read: change {}'s acl first, or keep the column",
                        column.0,
                        column.1,
                        names.join(", "),
                        entity.name,
                        other.package.as_str(),
                        other.package.as_str()
                    ));
                }
            }
        }
    }
    problems.into_iter().collect()
}

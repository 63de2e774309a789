//! Entity ACLs as PostgreSQL row-level security: the SQL that makes the database itself enforce
//! what `acl:` declares, for a change's SQL plan (after Prisma's DDL) and for `acl check`.
//!
//! For every entity with an ACL the table gets `ENABLE` and `FORCE ROW LEVEL SECURITY` and four
//! permissive policies, one per operation, named `schemagate_create`, `schemagate_read`,
//! `schemagate_update` and `schemagate_delete` (policy names are per table, so they need no
//! table name and are never truncated). They apply `TO PUBLIC`: what decides is who the request
//! acts for, read from two per-transaction settings the platform sets (names configurable,
//! [`RowSecurity`]): the user id (`app.user_id`; absent or empty means anonymous) and the role
//! name (`app.role`).
//!
//! Semantics (the same as [`EntityPolicy::decide_with`](super::access::EntityPolicy::decide_with),
//! which `acl check` answers with):
//! - `public` admits everyone, anonymous requests included; `none` admits nobody; an operation
//!   without roles admits nobody (its policy is `false`);
//! - `user` admits every signed-in request (user setting present), whatever its role;
//! - `self` and `owner` admit the rows whose owner is the acting user: the entity's first owner
//!   field (configured order), else its belongsTo to the user model, else the owner of a
//!   required parent (`EXISTS` over the parent; the same rule validation uses). When the
//!   entity has none of those the grant fails closed: it admits no row (validation reports it
//!   to the reviewer as a security finding);
//! - `public_if_X` admits everyone on the rows whose Boolean field `X` (or `isX`, or the field
//!   configured for the role) is true; a named role with a configured condition admits its
//!   requests on those rows only; when the entity has no such field the grant matches no row
//!   (validation reports it as a security finding);
//! - any other role admits a signed-in request whose role setting is that role, or a role
//!   above it in the configured hierarchy (`supergod > god > admin`);
//! - `rowLevel` filters the rows of every grant, whichever role admitted the request: the
//!   policy is `(admission) AND (rowLevel)`. Reads see only those rows; inserts and updates
//!   must produce rows that pass (`WITH CHECK`); updates and deletes touch only those rows.
//!
//! - tenants: on a platform whose root model exists, every policy also requires the row to
//!   belong to the acting tenant (the tenant setting): its tenant field, its id on the root
//!   model, or its parent's tenant (`EXISTS`); platform-wide roles see every tenant.
//!
//! `rowLevel` is compiled from the parsed [`Predicate`], never pasted: a field becomes its
//! quoted column (`@map` respected), qualified by its table; `$user.id` becomes
//! `NULLIF(current_setting('app.user_id', true), '')` (cast to the column's type); a string
//! becomes a quoted literal; a path through relations (`calculator.userId`) becomes
//! `EXISTS (SELECT 1 FROM "Calculator" sg_1 WHERE sg_1."id" = "Result"."calculatorId" AND …)`,
//! which holds when a related row satisfies the comparison (and, being a query, sees only the
//! related rows the acting request may read). Comparisons PostgreSQL would refuse (a string
//! with a number field, a Json field, a manyToMany hop) are [`PolicyError`]s, reported by
//! validation at the predicate's line and column.
//!
//! Every identifier goes through [`quote_ident`] and every literal through [`quote_literal`];
//! no statement uses dollar quoting, so no name or literal can end a string or a statement.
//! The statements contain `;` only as terminators and inside literals: run them as a script,
//! never split them on `;`.
//!
//! The table owner is subject to the policies too (`FORCE`); the role that runs migrations and
//! system jobs must have `BYPASSRLS` (see server/docs/row-level-security.md).

mod compile;
mod typing;

use std::collections::BTreeMap;

use serde::Serialize;

use super::config::Config;
use super::model::{AclOp, Entity};
#[cfg(doc)]
use super::{config::RowSecurity, predicate::Predicate};
pub use compile::{table_name, Models};
use compile::{Compiler, Fault};

/// Why an ACL cannot be turned into policies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The `rowLevel` predicate has no SQL meaning.
    #[error("rowLevel of entity \"{entity}\" cannot be enforced by the database: {detail}")]
    RowLevel {
        /// Entity name.
        entity: String,
        /// Character offset in the predicate source.
        offset: usize,
        /// What is wrong.
        detail: String,
    },
    /// A role of the ACL has no SQL meaning on this entity.
    #[error(
        "acl role \"{role}\" of entity \"{entity}\" cannot be enforced by the database: {detail}"
    )]
    Role {
        /// Entity name.
        entity: String,
        /// The operation whose roles name it.
        op: AclOp,
        /// The role.
        role: String,
        /// What is wrong.
        detail: String,
    },
    /// A name the ACL uses does not resolve (validation reports those on its own).
    #[error("acl of entity \"{entity}\" refers to an unknown {what}")]
    Unresolved {
        /// Entity name.
        entity: String,
        /// What was not found.
        what: String,
    },
}

/// A PostgreSQL identifier, double-quoted, embedded quotes doubled: `a"b` → `"a""b"`.
#[must_use]
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A PostgreSQL string literal, embedded quotes doubled. A text with a backslash is written
/// as an escape string (`E'…'`, backslashes doubled), so it reads the same whatever
/// `standard_conforming_strings` says.
#[must_use]
pub fn quote_literal(text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if quoted.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

/// The policy name of an operation (the same on every table).
#[must_use]
pub fn policy_name(op: AclOp) -> &'static str {
    match op {
        AclOp::Create => "schemagate_create",
        AclOp::Read => "schemagate_read",
        AclOp::Update => "schemagate_update",
        AclOp::Delete => "schemagate_delete",
    }
}

/// The SQL command a policy governs.
#[must_use]
pub fn policy_command(op: AclOp) -> &'static str {
    match op {
        AclOp::Create => "INSERT",
        AclOp::Read => "SELECT",
        AclOp::Update => "UPDATE",
        AclOp::Delete => "DELETE",
    }
}

/// One operation's policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// The operation.
    pub op: AclOp,
    /// The policy name (`schemagate_read`).
    pub name: &'static str,
    /// The row condition (`USING` and/or `WITH CHECK`).
    pub expression: String,
    /// The `CREATE POLICY` statement.
    pub statement: String,
}

/// The row-level security of one entity's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntityPolicies {
    /// Entity name.
    pub entity: String,
    /// Table name (`tableName`, else the entity name).
    pub table: String,
    /// One policy per operation.
    pub policies: BTreeMap<AclOp, Policy>,
    /// The models whose tables the policies read (the entity's own, relation targets, owner
    /// chain parents), in name order.
    pub reads: std::collections::BTreeSet<String>,
    /// Why the `self`/`owner` grants match no row (no owner field, no owner chain); they fail
    /// closed.
    pub unowned: Option<String>,
    /// Conditional roles whose condition the entity lacks → why: their grants match no row.
    pub unmatched: BTreeMap<String, String>,
    /// Conditional roles → the Boolean field whose rows they admit.
    pub conditions: BTreeMap<String, String>,
    /// The condition that ties a row to the acting tenant (every policy carries it, except for
    /// platform-wide roles); `None` without tenant isolation or when the rows cannot be tied.
    pub tenant: Option<String>,
    /// Why the rows cannot be tied to a tenant, on a platform that has tenants.
    pub untenanted: Option<String>,
    /// Every (table, column) the policies read: PostgreSQL refuses to drop or retype them.
    pub columns: std::collections::BTreeSet<(String, String)>,
}

impl EntityPolicies {
    /// `ENABLE` and `FORCE ROW LEVEL SECURITY`, then `DROP POLICY IF EXISTS` and
    /// `CREATE POLICY` for each operation.
    #[must_use]
    pub fn statements(&self) -> Vec<String> {
        let mut out = enable(&self.table);
        for policy in self.policies.values() {
            out.push(drop_policy(&self.table, policy.op));
            out.push(policy.statement.clone());
        }
        out
    }
}

fn enable(table: &str) -> Vec<String> {
    let table = quote_ident(table);
    vec![
        format!("ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;"),
        format!("ALTER TABLE {table} FORCE ROW LEVEL SECURITY;"),
    ]
}

fn drop_policy(table: &str, op: AclOp) -> String {
    format!(
        "DROP POLICY IF EXISTS {} ON {};",
        policy_name(op),
        quote_ident(table)
    )
}

/// The policies of `entity`, resolving relation paths and owner chains in `models`; `None`
/// when the entity declares no ACL.
///
/// # Errors
/// A [`PolicyError`] when a role or the `rowLevel` predicate has no SQL meaning.
pub fn entity_policies(
    entity: &Entity,
    models: &Models<'_>,
    config: &Config,
) -> Result<Option<EntityPolicies>, PolicyError> {
    let Some(acl) = &entity.acl else {
        return Ok(None);
    };
    let unresolved = |what: String| PolicyError::Unresolved {
        entity: entity.name.clone(),
        what,
    };
    let mut compiler = Compiler::new(entity, models, config);
    let row_level = match &acl.row_level {
        None => None,
        Some(row_level) => Some(
            compiler
                .row_level(&row_level.predicate, &row_level.source)
                .map_err(|(offset, fault)| match fault {
                    Fault::Unresolved(what) => unresolved(what),
                    Fault::NotEnforceable(detail)
                    | Fault::Variable(_, detail)
                    | Fault::Unowned(detail) => PolicyError::RowLevel {
                        entity: entity.name.clone(),
                        offset,
                        detail,
                    },
                })?,
        ),
    };
    let table = table_name(entity).to_owned();
    let tenant = compiler.tenant_clause();
    let mut policies = BTreeMap::new();
    for op in AclOp::ALL {
        let admission = compiler
            .admission(op)
            .map_err(|(role, fault)| match fault {
                Fault::Unresolved(what) => unresolved(what),
                Fault::NotEnforceable(detail)
                | Fault::Variable(_, detail)
                | Fault::Unowned(detail) => PolicyError::Role {
                    entity: entity.name.clone(),
                    op,
                    role,
                    detail,
                },
            })?;
        let expression = match (admission, &row_level) {
            (None, _) => "false".to_owned(),
            (Some(admission), None) => admission,
            (Some(admission), Some(row_level)) if admission == "true" => row_level.clone(),
            (Some(admission), Some(row_level)) => format!("{admission} AND {row_level}"),
        };
        let expression = match &tenant {
            Some(tenant) if expression != "false" => {
                if expression == "true" {
                    tenant.clone()
                } else {
                    format!("{expression} AND {tenant}")
                }
            }
            _ => expression,
        };
        let clauses = match op {
            AclOp::Create => format!("WITH CHECK ({expression})"),
            AclOp::Read | AclOp::Delete => format!("USING ({expression})"),
            AclOp::Update => format!("USING ({expression})\n    WITH CHECK ({expression})"),
        };
        let statement = format!(
            "CREATE POLICY {} ON {} AS PERMISSIVE FOR {} TO PUBLIC\n    {clauses};",
            policy_name(op),
            quote_ident(&table),
            policy_command(op)
        );
        policies.insert(
            op,
            Policy {
                op,
                name: policy_name(op),
                expression,
                statement,
            },
        );
    }
    Ok(Some(EntityPolicies {
        entity: entity.name.clone(),
        table,
        policies,
        reads: compiler.reads,
        unowned: compiler.unowned,
        unmatched: compiler.unmatched,
        conditions: compiler.conditions,
        tenant: compiler.tenant_scope,
        untenanted: compiler.untenanted,
        columns: compiler.columns,
    }))
}

/// One state of a package for [`policy_plan`]: its entities and every model they may refer to
/// (build `models` from the base schema and every package's entities in that state, this
/// package's first).
#[derive(Debug, Clone, Copy)]
pub struct PolicyState<'s, 'a> {
    /// The package's entities.
    pub entities: &'a [Entity],
    /// Every model of the schema in that state.
    pub models: &'s Models<'a>,
}

/// The row-level security statements of one package change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicyPlan {
    /// Run before Prisma's DDL: drops the policies that are about to change, because
    /// PostgreSQL refuses to drop or retype a column that a policy uses.
    pub before_ddl: Vec<String>,
    /// Run after Prisma's DDL: enables and forces row-level security and (re)creates the
    /// policies that changed; disables it where an ACL was removed.
    pub after_ddl: Vec<String>,
}

impl PolicyPlan {
    /// Whether there is nothing to run.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.before_ddl.is_empty() && self.after_ddl.is_empty()
    }

    /// `before_ddl`, then `ddl` (Prisma's), then `after_ddl`, as one script.
    #[must_use]
    pub fn around(&self, ddl: &str) -> String {
        let mut out = String::new();
        for statement in &self.before_ddl {
            out.push_str(statement);
            out.push('\n');
        }
        out.push_str(ddl);
        if !ddl.is_empty() && !ddl.ends_with('\n') {
            out.push('\n');
        }
        for statement in &self.after_ddl {
            out.push_str(statement);
            out.push('\n');
        }
        out
    }
}

/// The statements that take the database from the row-level security of `before` to that of
/// `after` for one package. Per entity of `after` with an ACL: on a table that had no policies,
/// `ENABLE`/`FORCE` and all four policies; on a table that had them, `DROP POLICY` (before the
/// DDL) and `CREATE POLICY` (after it) for each policy whose text changed, and for all four
/// when a table the policies read changed shape. An entity whose ACL was removed gets its
/// policies dropped and row-level security turned off; a dropped entity gets nothing (its
/// table and policies go with Prisma's `DROP TABLE`).
///
/// # Errors
/// A [`PolicyError`] for an ACL of `after` that cannot be compiled (validation reports those
/// first). ACLs of `before` that no longer compile are replaced whole.
pub fn policy_plan(
    before: PolicyState<'_, '_>,
    after: PolicyState<'_, '_>,
    config: &Config,
) -> Result<PolicyPlan, PolicyError> {
    let mut plan = PolicyPlan::default();
    for entity in after.entities {
        let old = before
            .entities
            .iter()
            .find(|e| e.name == entity.name)
            .filter(|e| table_name(e) == table_name(entity));
        let old_policies = old
            .and_then(|e| entity_policies(e, before.models, config).ok().flatten())
            .or_else(|| {
                // An ACL that no longer compiles still had policies: replace them all.
                old.filter(|e| e.acl.is_some()).map(|e| EntityPolicies {
                    entity: e.name.clone(),
                    table: table_name(e).to_owned(),
                    policies: BTreeMap::new(),
                    reads: std::collections::BTreeSet::new(),
                    unowned: None,
                    unmatched: BTreeMap::new(),
                    conditions: BTreeMap::new(),
                    tenant: None,
                    untenanted: None,
                    columns: std::collections::BTreeSet::new(),
                })
            });
        let Some(new_policies) = entity_policies(entity, after.models, config)? else {
            if let Some(old_policies) = old_policies {
                let table = quote_ident(&old_policies.table);
                for op in AclOp::ALL {
                    plan.before_ddl.push(drop_policy(&old_policies.table, op));
                }
                plan.before_ddl
                    .push(format!("ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;"));
                plan.before_ddl
                    .push(format!("ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;"));
            }
            continue;
        };
        let Some(old_policies) = old_policies else {
            plan.after_ddl.extend(new_policies.statements());
            continue;
        };
        let reshaped = new_policies
            .reads
            .iter()
            .any(|name| !before.models.same_model(after.models, name));
        for (op, policy) in &new_policies.policies {
            let same = old_policies
                .policies
                .get(op)
                .is_some_and(|old| old.statement == policy.statement);
            if same && !reshaped {
                continue;
            }
            plan.before_ddl.push(drop_policy(&new_policies.table, *op));
            plan.after_ddl.push(drop_policy(&new_policies.table, *op));
            plan.after_ddl.push(policy.statement.clone());
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests;

//! The effective access policy, evaluable over HTTP.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::context;
use crate::domain::access::AccessDecision;
use crate::error::AppError;

/// The answer of `acl check`: the decision, and the row-level security policy PostgreSQL
/// enforces it with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclAnswer {
    /// The decision (`decision`: allow, conditional or deny, with its details).
    #[serde(flatten)]
    pub decision: AccessDecision,
    /// The package whose applied ACL decided.
    pub package: String,
    /// The `CREATE POLICY` statement for the operation, as the plan applies it.
    pub policy: Option<String>,
    /// Why there is no policy text, when the ACL cannot be compiled.
    pub policy_error: Option<String>,
    /// The current configuration (settings, role hierarchy) would compile another policy than
    /// the one applied: PostgreSQL enforces the applied one until the package is applied again.
    #[serde(default)]
    pub configuration_differs: bool,
}

/// May `role` do `op` on `entity` under the applied policy? `POST /api/acl_check` with `role`
/// (a role name, or `public`/`anonymous` for a request without a user), `op` (create, read,
/// update, delete) and `entity`. Any signed-in role may ask. The answer is the decision the
/// database's row-level security makes, with the policy's SQL.
///
/// # Errors
/// 401 without a session; 404 when no applied package declares the entity; 400 for an unknown
/// operation.
#[server(prefix = "/api", endpoint = "acl_check")]
pub async fn acl_check(role: String, op: String, entity: String) -> Result<AclAnswer, AppError> {
    use crate::domain::review::Role;
    context::finish(async {
        let (pool, _) = context::signed_in(Role::Viewer, "read the registry").await?;
        let inputs = context::services()?.scan_inputs;
        let schema = super::change::schema_context(&inputs)?;
        let (package, policy) = crate::registry::policy::applied_policy(&pool, &entity)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("applied policy for entity \"{entity}\"")))?;
        // Answered with the configuration the package was applied with, not this server's.
        let (applied, differs) =
            crate::registry::policy::applied_context(&pool, &schema, &package).await?;
        let security =
            crate::registry::policy::applied_row_security(&pool, &applied, &entity).await?;
        let decision = with_ownership(policy, security.as_ref(), &applied.config.row_security)
            .decide_with(&role, &op, &applied.config.row_security.hierarchy)
            .map_err(|error| AppError::Invalid(error.to_string()))?;
        let mut answered = answer(decision, package, security, &op);
        answered.configuration_differs = differs;
        Ok(answered)
    })
    .await
}

/// The applied policy as PostgreSQL enforces it: owner grants fail closed when the compiled
/// policies found no owner for the entity's rows, conditional grants when the entity lacks
/// their condition, and every grant is limited to the acting tenant's rows except for
/// platform-wide roles (`row_security`: the configuration the policies were compiled with).
#[cfg(feature = "ssr")]
#[must_use]
pub fn with_ownership(
    mut policy: crate::domain::access::EntityPolicy,
    security: Option<
        &Result<crate::domain::policy_sql::EntityPolicies, crate::domain::policy_sql::PolicyError>,
    >,
    row_security: &crate::domain::config::RowSecurity,
) -> crate::domain::access::EntityPolicy {
    if let Some(Ok(compiled)) = security {
        policy.unowned.clone_from(&compiled.unowned);
        policy.unmatched.clone_from(&compiled.unmatched);
        policy.conditions.clone_from(&compiled.conditions);
        policy.tenant.clone_from(&compiled.tenant);
    }
    if let Some(tenant) = &row_security.tenant {
        policy.platform_roles = tenant
            .platform_roles
            .iter()
            .flat_map(|role| row_security.hierarchy.admitted_by(role))
            .collect();
    }
    policy
}

/// Puts a decision and the compiled policies of its entity together.
#[cfg(feature = "ssr")]
#[must_use]
pub fn answer(
    decision: AccessDecision,
    package: String,
    security: Option<
        Result<crate::domain::policy_sql::EntityPolicies, crate::domain::policy_sql::PolicyError>,
    >,
    op: &str,
) -> AclAnswer {
    let op = crate::domain::AclOp::ALL
        .into_iter()
        .find(|o| o.as_str() == op);
    let (policy, policy_error) = match security {
        Some(Ok(policies)) => (
            op.and_then(|op| policies.policies.get(&op))
                .map(|p| p.statement.clone()),
            None,
        ),
        Some(Err(error)) => (None, Some(error.to_string())),
        None => (None, None),
    };
    AclAnswer {
        decision,
        package,
        policy,
        policy_error,
        configuration_differs: false,
    }
}

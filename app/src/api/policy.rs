//! The effective access policy, evaluable over HTTP.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::context;
use crate::domain::access::AccessDecision;
use crate::error::AppError;

/// May `role` do `op` on `entity` under the applied policy? `POST /api/acl_check` with `role`,
/// `op` (create, read, update, delete) and `entity`. Any signed-in role may ask.
///
/// # Errors
/// 401 without a session; 404 when no applied package declares the entity; 400 for an unknown
/// operation.
#[server(prefix = "/api", endpoint = "acl_check")]
pub async fn acl_check(
    role: String,
    op: String,
    entity: String,
) -> Result<AccessDecision, AppError> {
    use crate::domain::review::Role;
    context::finish(async {
        let (pool, _) = context::signed_in(Role::Viewer, "read the registry").await?;
        let (_, policy) = crate::registry::policy::applied_policy(&pool, &entity)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("applied policy for entity \"{entity}\"")))?;
        policy
            .decide(&role, &op)
            .map_err(|error| AppError::Invalid(error.to_string()))
    })
    .await
}

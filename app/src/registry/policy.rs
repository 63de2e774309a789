//! The effective access policy: what the applied packages declare.

use sqlx::PgPool;

use crate::domain::access::EntityPolicy;

/// The applied policy of `entity` and the package it comes from, if any package applied it.
///
/// # Errors
/// Database errors.
pub async fn applied_policy(
    pool: &PgPool,
    entity: &str,
) -> Result<Option<(String, EntityPolicy)>, sqlx::Error> {
    let row: Option<(String, serde_json::Value)> = sqlx::query_as(
        "select package, acl -> $1 from applied_package where acl ? $1 order by package limit 1",
    )
    .bind(entity)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(package, acl)| {
        let mut policy = EntityPolicy::default();
        if let Some(object) = acl.as_object() {
            for (key, value) in object {
                match (key.as_str(), value) {
                    ("rowLevel", serde_json::Value::String(predicate)) => {
                        policy.row_level = Some(predicate.clone())
                    }
                    (op, serde_json::Value::Array(roles)) => {
                        let roles = roles
                            .iter()
                            .filter_map(|r| r.as_str().map(str::to_string))
                            .collect();
                        policy.rules.insert(op.to_string(), roles);
                    }
                    _ => {}
                }
            }
        }
        (package, policy)
    }))
}

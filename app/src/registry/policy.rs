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

/// The row-level security the applied state gives `entity`: its policies compiled against every
/// applied package (the declaring package's entities first, the first package by name that
/// declares the entity, as [`applied_policy`] picks it). `None` when no applied package
/// declares the entity with an ACL; `Some(Err)` when its ACL cannot be compiled.
///
/// # Errors
/// Database errors.
pub async fn applied_row_security(
    pool: &PgPool,
    schema: &crate::registry::future::SchemaContext,
    entity: &str,
) -> Result<
    Option<
        Result<crate::domain::policy_sql::EntityPolicies, crate::domain::policy_sql::PolicyError>,
    >,
    sqlx::Error,
> {
    use crate::domain::parse_entities;
    use crate::domain::policy_sql::{entity_policies, Models};

    let rows: Vec<(String, String)> =
        sqlx::query_as("select package, yaml_snapshot from applied_package order by package")
            .fetch_all(pool)
            .await?;
    let packages: Vec<Vec<crate::domain::Entity>> = rows
        .iter()
        .map(|(package, yaml)| parse_entities(yaml, package, &schema.config).entities)
        .collect();
    let Some(declaring) = packages
        .iter()
        .position(|entities| entities.iter().any(|e| e.name == entity && e.acl.is_some()))
    else {
        return Ok(None);
    };
    let mut models = Models::new(&schema.base, &packages[declaring]);
    for entities in &packages {
        for other in entities {
            models.add(other);
        }
    }
    let Some(declared) = packages[declaring].iter().find(|e| e.name == entity) else {
        return Ok(None);
    };
    Ok(entity_policies(declared, &models, &schema.config).transpose())
}

/// The context `package`'s policies were compiled with when it was applied: `schema` with the
/// row-level-security configuration kept with the applied state (settings, role hierarchy),
/// and whether the current configuration differs from it (then PostgreSQL enforces the
/// applied one until the package is applied again). A package applied before the configuration
/// was kept answers with the current one.
///
/// # Errors
/// Database errors.
pub async fn applied_context(
    pool: &PgPool,
    schema: &crate::registry::future::SchemaContext,
    package: &str,
) -> Result<(crate::registry::future::SchemaContext, bool), sqlx::Error> {
    let kept: Option<Option<serde_json::Value>> =
        sqlx::query_scalar("select row_security from applied_package where package = $1")
            .bind(package)
            .fetch_optional(pool)
            .await?;
    let kept: Option<crate::domain::config::RowSecurity> = kept
        .flatten()
        .and_then(|value| serde_json::from_value(value).ok());
    let mut applied = schema.clone();
    let differs = match kept {
        Some(row_security) => {
            let differs = row_security != schema.config.row_security;
            applied.config.row_security = row_security;
            differs
        }
        None => false,
    };
    Ok((applied, differs))
}

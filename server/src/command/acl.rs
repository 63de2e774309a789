//! `schemagate acl check ROLE OP ENTITY`: the applied policy's answer, and the row-level
//! security policy PostgreSQL enforces it with.

use std::process::ExitCode;

use app::api::policy::{answer, with_ownership};
use app::domain::access::AccessDecision;
use app::registry::policy::{applied_context, applied_policy, applied_row_security};

use crate::cli::{AclCommand, CommonOptions};
use crate::command::lookup::{schema_context, Refused};
use crate::database::Database;

/// Prints the decision and the policy's SQL; exit 0 when allowed (fully or on some rows), 1
/// when denied or when no applied package declares the entity.
///
/// # Errors
/// An unknown operation; an unreadable base schema; database errors.
pub async fn run(common: &CommonOptions, command: AclCommand) -> anyhow::Result<ExitCode> {
    let AclCommand::Check { role, op, entity } = command;
    let database = Database::open(common).await?;
    let schema = schema_context(common, &database)?;
    let policy = applied_policy(&database.pool, &entity).await?;
    let Some((package, policy)) = policy else {
        database.close().await;
        return Err(Refused(format!("no applied package declares entity \"{entity}\"")).into());
    };
    // Answered with the configuration the package was applied with, not this process's flags.
    let (applied, differs) = applied_context(&database.pool, &schema, &package).await?;
    let security = applied_row_security(&database.pool, &applied, &entity).await;
    database.close().await;
    let security = security?;
    let decision = with_ownership(policy, security.as_ref(), &applied.config.row_security)
        .decide_with(&role, &op, &applied.config.row_security.hierarchy)?;
    let answer = answer(decision, package, security, &op);
    let (line, allowed) = match &answer.decision {
        AccessDecision::Allow {
            granted_by,
            row_level,
            tenant,
        } => (
            format!(
                "allow: {op} on {entity} is granted to {granted_by}{}{}",
                row_filter(row_level),
                tenant_filter(tenant)
            ),
            true,
        ),
        AccessDecision::Conditional {
            conditions,
            row_level,
            tenant,
            ..
        } => (
            format!(
                "allow on some rows: {}{}{}",
                conditions.join("; "),
                row_filter(row_level),
                tenant_filter(tenant)
            ),
            true,
        ),
        AccessDecision::Deny { reason } => (format!("deny: {reason}"), false),
    };
    println!("{line} (policy of package {})", answer.package);
    match (&answer.policy, &answer.policy_error) {
        (Some(policy), _) => println!("enforced by PostgreSQL as:\n{policy}"),
        (None, Some(error)) => println!("not enforceable by PostgreSQL: {error}"),
        (None, None) => {}
    }
    if differs {
        println!("note: this process's configuration (settings, --role-hierarchy) would compile another policy; PostgreSQL enforces the one above, compiled when package {} was applied, until it is applied again", answer.package);
    }
    Ok(if allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn tenant_filter(tenant: &Option<String>) -> String {
    tenant.as_ref().map_or(String::new(), |scope| {
        format!(", only in the acting tenant (rows where {scope})")
    })
}

fn row_filter(row_level: &Option<String>) -> String {
    row_level.as_ref().map_or(String::new(), |predicate| {
        format!(", on rows where {predicate}")
    })
}

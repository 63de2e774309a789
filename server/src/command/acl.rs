//! `schemagate acl check ROLE OP ENTITY`: the applied policy's answer.

use std::process::ExitCode;

use app::domain::access::AccessDecision;
use app::registry::policy::applied_policy;

use crate::cli::{AclCommand, CommonOptions};
use crate::command::lookup::Refused;
use crate::database::Database;

/// Prints the decision; exit 0 when allowed (fully or on some rows), 1 when denied or when no
/// applied package declares the entity.
///
/// # Errors
/// An unknown operation; database errors.
pub async fn run(common: &CommonOptions, command: AclCommand) -> anyhow::Result<ExitCode> {
    let AclCommand::Check { role, op, entity } = command;
    let database = Database::open(common).await?;
    let policy = applied_policy(&database.pool, &entity).await?;
    database.close().await;
    let (package, policy) = policy
        .ok_or_else(|| Refused(format!("no applied package declares entity \"{entity}\"")))?;
    let decision = policy.decide(&role, &op)?;
    let (line, allowed) = match &decision {
        AccessDecision::Allow {
            granted_by,
            row_level,
        } => (
            format!(
                "allow: {op} on {entity} is granted to {granted_by}{}",
                row_filter(row_level)
            ),
            true,
        ),
        AccessDecision::Conditional {
            conditions,
            row_level,
        } => (
            format!(
                "allow on some rows: {}{}",
                conditions.join("; "),
                row_filter(row_level)
            ),
            true,
        ),
        AccessDecision::Deny { reason } => (format!("deny: {reason}"), false),
    };
    println!("{line} (policy of package {package})");
    Ok(if allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn row_filter(row_level: &Option<String>) -> String {
    row_level.as_ref().map_or(String::new(), |predicate| {
        format!(", on rows where {predicate}")
    })
}

//! `schemagate reject CHANGE --reason TEXT --as USER`.

use std::process::ExitCode;

use app::registry::change::{self, Decision};

use crate::cli::{CommonOptions, RejectArgs};
use crate::command::lookup;
use crate::database::Database;

/// Rejects the change; exit 1 when refused.
///
/// # Errors
/// Database errors.
pub async fn run(common: &CommonOptions, args: &RejectArgs) -> anyhow::Result<ExitCode> {
    let database = Database::open(common).await?;
    let pool = &database.pool;
    let account = lookup::actor_account(pool, args.actor.as_deref()).await?;
    let id = lookup::change_id(pool, &args.change).await?;
    let outcome = change::decide(
        pool,
        &lookup::schema_context(common, &database)?,
        &account,
        &id,
        None,
        &Decision::Reject {
            reason: args.reason.clone(),
        },
    )
    .await;
    database.close().await;
    match outcome {
        Ok(change) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"rejected": {"id": change.id, "package": change.package}})
                );
            } else {
                println!("rejected {} ({})", change.id, change.package);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => super::refused(&format!("refused {id}: "), error),
    }
}

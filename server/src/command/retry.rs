//! `schemagate retry CHANGE --as USER [--json]`: send a failed change back to the restart job.

use std::process::ExitCode;

use app::registry::apply;

use crate::cli::{CommonOptions, RetryArgs};
use crate::command::lookup;
use crate::database::Database;

/// Moves the failed change back to `approved` (at the end of the approval order); exit 1 when
/// refused (not an admin, not failed, replaced by a newer change, or it would fail again as it
/// is: the refusal says what to do instead).
///
/// # Errors
/// Database errors.
pub async fn run(common: &CommonOptions, args: &RetryArgs) -> anyhow::Result<ExitCode> {
    let database = Database::open(common).await?;
    let pool = &database.pool;
    let account = lookup::actor_account(pool, args.actor.as_deref()).await?;
    let id = lookup::change_id(pool, &args.change).await?;
    let outcome = apply::retry(
        pool,
        &lookup::schema_context(common, &database)?,
        &account,
        &id,
    )
    .await;
    database.close().await;
    match outcome {
        Ok(change) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"retried": {"id": change.id, "package": change.package, "status": change.status}})
                );
            } else {
                println!(
                    "retried {} ({}): approved again; the next `schemagate apply` takes it up",
                    change.id, change.package
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => super::refused(&format!("refused {id}: "), error),
    }
}

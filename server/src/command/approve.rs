//! `schemagate approve CHANGE... | --all --as USER [--note TEXT] [--despite-requested-changes]`,
//! and `approve CHANGE... --withdraw --as USER` to take back a first approval under four-eyes.
//! Four-eyes is the registry's setting (`schemagate settings`), not an option of this command.

use std::process::ExitCode;

use app::domain::review::ChangeStatus;
use app::registry::bulk;
use app::registry::change::{self, DecideError, Decision, Reviewed};

use crate::cli::{ApproveArgs, CommonOptions};
use crate::command::lookup;
use crate::database::Database;

/// Approves the named changes (or every routine pending one); exit 1 when any is refused.
///
/// # Errors
/// Database errors; refusals are reported and exit 1.
pub async fn run(common: &CommonOptions, args: &ApproveArgs) -> anyhow::Result<ExitCode> {
    let database = Database::open(common).await?;
    let pool = &database.pool;
    let account = lookup::actor_account(pool, args.actor.as_deref()).await?;
    if args.withdraw {
        let code = withdraw(pool, &account, args).await?;
        database.close().await;
        return Ok(code);
    }
    let context = lookup::schema_context(common, &database)?;
    let mut approved = Vec::new();
    let mut first_approvals = Vec::new();
    let mut refused = Vec::new();
    if args.all {
        let left_out = left_out_on_disk(common);
        let outcome = bulk::approve_all_leaving_out(
            pool,
            &context,
            &account,
            args.note.clone(),
            None,
            &left_out,
        )
        .await;
        match outcome {
            Ok(outcome) => {
                approved = outcome
                    .approved
                    .iter()
                    .map(|c| (c.id.clone(), c.package.clone()))
                    .collect();
                refused = outcome
                    .skipped
                    .iter()
                    .map(|(c, why)| (c.id.clone(), why.clone()))
                    .collect();
                // Skipped changes are not failures of `--all`; they wait for their own decision.
                print_outcome(args.json, &approved, &[], &refused, "skipped")?;
                database.close().await;
                return Ok(ExitCode::SUCCESS);
            }
            Err(error) => refused.push((String::new(), super::refusal_message(error)?)),
        }
    } else {
        for prefix in &args.changes {
            let id = match lookup::change_id(pool, prefix).await {
                Ok(id) => id,
                Err(error) => {
                    refused.push((prefix.clone(), error.to_string()));
                    continue;
                }
            };
            let decision = Decision::Approve {
                note: args.note.clone(),
            };
            let reviewed = Reviewed {
                despite_requested_changes: args.despite_requested_changes,
                ..Reviewed::default()
            };
            match change::decide_reviewed(pool, &context, &account, &id, reviewed, &decision).await
            {
                // Four-eyes: the first of two admin approvals; the change stays pending.
                Ok(change) if change.status == ChangeStatus::Pending => {
                    first_approvals.push((change.id, change.package));
                }
                Ok(change) => approved.push((change.id, change.package)),
                Err(error) => refused.push((id, cli_refusal(error)?)),
            }
        }
    }
    database.close().await;
    print_outcome(args.json, &approved, &first_approvals, &refused, "refused")?;
    Ok(if refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A refusal in the command line's words: requested changes are overridden with a flag here,
/// not by typing the package name.
fn cli_refusal(error: DecideError) -> anyhow::Result<String> {
    if let DecideError::ChangesRequested { package, by } = &error {
        return Ok(format!(
            "changes were requested by {} on {package}: pass --despite-requested-changes to approve anyway",
            by.join(", ")
        ));
    }
    super::refusal_message(error)
}

/// `--withdraw`: takes back the account's first approval of each named change; exit 1 when
/// any is refused.
async fn withdraw(
    pool: &sqlx::PgPool,
    account: &app::registry::account::Account,
    args: &ApproveArgs,
) -> anyhow::Result<ExitCode> {
    let mut withdrawn = Vec::new();
    let mut refused = Vec::new();
    for prefix in &args.changes {
        let id = match lookup::change_id(pool, prefix).await {
            Ok(id) => id,
            Err(error) => {
                refused.push((prefix.clone(), error.to_string()));
                continue;
            }
        };
        match app::registry::verdict::withdraw_first_approval(pool, account, &id).await {
            Ok(change) => withdrawn.push((change.id, change.package)),
            Err(error) => refused.push((id, super::refusal_message(error)?)),
        }
    }
    if args.json {
        let value = serde_json::json!({
            "withdrawn": withdrawn.iter().map(|(id, package)| serde_json::json!({"id": id, "package": package})).collect::<Vec<_>>(),
            "refused": refused.iter().map(|(id, why)| serde_json::json!({"id": id, "reason": why})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        for (id, package) in &withdrawn {
            println!("withdrew the first approval of {id} ({package}); it needs two admin approvals again");
        }
        for (id, why) in &refused {
            eprintln!("refused {id}: {why}");
        }
    }
    Ok(if refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_outcome(
    json: bool,
    approved: &[(String, String)],
    first_approvals: &[(String, String)],
    refused: &[(String, String)],
    label: &str,
) -> anyhow::Result<()> {
    if json {
        let value = serde_json::json!({
            "approved": approved.iter().map(|(id, package)| serde_json::json!({"id": id, "package": package})).collect::<Vec<_>>(),
            "first_approvals": first_approvals.iter().map(|(id, package)| serde_json::json!({"id": id, "package": package})).collect::<Vec<_>>(),
            label: refused.iter().map(|(id, why)| serde_json::json!({"id": id, "reason": why})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        for (id, package) in approved {
            println!("approved {id} ({package})");
        }
        for (id, package) in first_approvals {
            println!("recorded the first of 2 admin approvals of {id} ({package}); it stays pending until another admin approves");
        }
        for (id, why) in refused {
            if id.is_empty() {
                eprintln!("{label}: {why}");
            } else {
                eprintln!("{label} {id}: {why}");
            }
        }
    }
    Ok(())
}

/// The packages `--all` leaves out for a conflict with a package on disk that has validation
/// errors; none without a packages directory, or when it cannot be read.
fn left_out_on_disk(common: &CommonOptions) -> bulk::LeftOut {
    let Some(dir) = common.packages.as_deref() else {
        return bulk::LeftOut::new();
    };
    app::scanner::scan_dir(dir, common.base_schema.as_deref(), &common.domain_config())
        .map(|catalog| bulk::left_out_on_disk(&catalog))
        .unwrap_or_default()
}

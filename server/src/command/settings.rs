//! `schemagate settings [four-eyes on|off | row-security] [--json]`: the registry's settings, which every
//! server and command line reads from the database. Changes are audited with the operator as
//! actor (`cli:<user>`), as account changes from the command line are: whoever reaches the
//! database can manage accounts already.

use std::process::ExitCode;

use app::registry::guard::{self, Guarded, Outcome};
use app::registry::row_security;
use app::registry::setting::{self, on_off};

use crate::cli::{CommonOptions, SettingsArgs, SettingsCommand};
use crate::command::user::cli_actor;
use crate::database::Database;

/// Shows the settings, or changes one and says what it did.
///
/// # Errors
/// Database errors.
pub async fn run(common: &CommonOptions, args: &SettingsArgs) -> anyhow::Result<ExitCode> {
    let database = Database::open(common).await?;
    let pool = &database.pool;
    match &args.command {
        None => {
            let settings = setting::load(pool).await?;
            let accepted = row_security::accepted(pool).await?;
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"four_eyes": settings.four_eyes, "row_security": accepted})
                );
            } else {
                println!("four-eyes: {}", on_off(settings.four_eyes));
                println!(
                    "row-security: {}",
                    accepted.as_ref().map_or_else(
                        || "none accepted yet (the restart job accepts the first it compiles with)"
                            .to_owned(),
                        row_security::describe
                    )
                );
            }
        }
        Some(SettingsCommand::RowSecurity { as_user }) => {
            let code = accept_row_security(common, pool, as_user.as_deref()).await?;
            database.close().await;
            return Ok(code);
        }
        Some(SettingsCommand::FourEyes { value, as_user }) if value == "off" => {
            let settings = setting::load(pool).await?;
            if !settings.four_eyes {
                println!("four-eyes: off (unchanged)");
            } else {
                let code = turn_off(pool, as_user.as_deref()).await?;
                database.close().await;
                return Ok(code);
            }
        }
        Some(SettingsCommand::FourEyes { .. }) => {
            let change = setting::turn_on_four_eyes(pool, &cli_actor()).await?;
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"four_eyes": change.new, "changed": change.changed()})
                );
            } else if change.changed() {
                println!(
                    "four-eyes: {} (was {})",
                    on_off(change.new),
                    on_off(change.old)
                );
            } else {
                println!("four-eyes: {} (unchanged)", on_off(change.new));
            }
        }
    }
    database.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Four-eyes is on: turning it off is a request of `as_user`, which another admin confirms.
async fn turn_off(pool: &sqlx::PgPool, as_user: Option<&str>) -> anyhow::Result<ExitCode> {
    let Some(name) = as_user else {
        eprintln!("refused: four-eyes is on, so turning it off needs two admins: run `schemagate settings four-eyes off --as ADMIN`, then another admin runs the same");
        return Ok(ExitCode::from(1));
    };
    let account = crate::command::lookup::actor_account(pool, Some(name)).await?;
    let what = Guarded::FourEyesOff;
    match guard::request(pool, &account, &format!("cli:{name}"), &what).await {
        Ok(outcome) => {
            println!(
                "{}",
                guarded_message(&outcome, "four-eyes: off (was on)", &what)
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => crate::command::refused("refused: ", error),
    }
}

/// Accepts the flags' row-level-security configuration: at once while four-eyes is off, as a
/// request of `as_user` that another admin confirms while it is on.
async fn accept_row_security(
    common: &CommonOptions,
    pool: &sqlx::PgPool,
    as_user: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let config = common.domain_config().row_security;
    if row_security::accepted(pool).await?.as_ref() == Some(&config) {
        println!(
            "row-security: {} (unchanged)",
            row_security::describe(&config)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let Some(name) = as_user else {
        eprintln!("refused: accepting a row-level-security configuration needs an admin: run `schemagate settings row-security --as ADMIN` with the same flags (while four-eyes is on, another admin runs the same)");
        return Ok(ExitCode::from(1));
    };
    let account = crate::command::lookup::actor_account(pool, Some(name)).await?;
    let what = Guarded::row_security(&config);
    match guard::request(pool, &account, &format!("cli:{name}"), &what).await {
        Ok(outcome) => {
            let done = format!("row-security: {}", row_security::describe(&config));
            println!("{}", guarded_message(&outcome, &done, &what));
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => crate::command::refused("refused: ", error),
    }
}

/// What a guarded request did, in words (`done` when it took effect).
pub fn guarded_message(outcome: &Outcome, done: &str, what: &Guarded) -> String {
    match outcome {
        Outcome::Applied => done.to_owned(),
        Outcome::Requested => format!(
            "{} requested: four-eyes is on, so another admin has to ask for it too (with --as)",
            what.describe()
        ),
        Outcome::Confirmed { requested_by } => {
            format!("{done}: asked for by {requested_by}, confirmed now")
        }
    }
}

//! `schemagate settings [four-eyes on|off] [--json]`: the registry's settings, which every
//! server and command line reads from the database. Changes are audited with the operator as
//! actor (`cli:<user>`), as account changes from the command line are: whoever reaches the
//! database can manage accounts already.

use std::process::ExitCode;

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
            if args.json {
                println!("{}", serde_json::json!({"four_eyes": settings.four_eyes}));
            } else {
                println!("four-eyes: {}", on_off(settings.four_eyes));
            }
        }
        Some(SettingsCommand::FourEyes { value }) => {
            let change = setting::set_four_eyes(pool, &cli_actor(), value == "on").await?;
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

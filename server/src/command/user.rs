//! `schemagate user add|passwd|role|disable|enable|list`: account management for operators.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::{bail, Context};
use app::domain::review::Role;
use app::registry::account;

use crate::cli::{CommonOptions, UserCommand};
use crate::database::Database;

/// The actor recorded in the audit log for account changes made from the command line.
pub fn cli_actor() -> String {
    let user = ["USER", "LOGNAME"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|user| !user.trim().is_empty())
        .or_else(system_user)
        .unwrap_or_else(|| "unknown".to_string());
    format!("cli:{user}")
}

/// The name of the operating-system account running the command (from `/etc/passwd`), for
/// environments such as containers and service managers that set no `USER`.
fn system_user() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_string())
    })
}

/// Runs one `user` subcommand.
///
/// # Errors
/// Database and input errors; a refused change (unknown account, taken name) exits 1.
pub async fn run(common: &CommonOptions, command: UserCommand) -> anyhow::Result<ExitCode> {
    // Read the password before touching the database, so a bad one changes nothing.
    let password = match &command {
        UserCommand::Add { .. } | UserCommand::Passwd { .. } => Some(read_password()?),
        _ => None,
    };
    let database = Database::open(common).await?;
    let pool = &database.pool;
    let actor = cli_actor();
    let outcome = match command {
        UserCommand::Add {
            username,
            role,
            as_user,
        } => {
            let role: Role = role.parse()?;
            let hash = hash_password(password.unwrap_or_default()).await?;
            let four_eyes = app::registry::setting::load(pool).await?.four_eyes;
            if role == Role::Admin && four_eyes {
                let code =
                    add_admin_under_four_eyes(pool, &actor, &username, &hash, as_user).await?;
                database.close().await;
                return Ok(code);
            }
            account::create(pool, &actor, &username, &hash, role)
                .await
                .map(|a| format!("created {} ({})", a.username, a.role))
        }
        UserCommand::Passwd { username } => {
            let hash = hash_password(password.unwrap_or_default()).await?;
            account::set_password_hash(pool, &actor, &username, &hash)
                .await
                .map(|a| format!("password changed for {}", a.username))
        }
        UserCommand::Role {
            username,
            role,
            as_user,
        } => {
            let role: Role = role.parse()?;
            if role == Role::Admin {
                let code = make_admin(pool, &username, as_user.as_deref()).await?;
                database.close().await;
                return Ok(code);
            }
            account::set_role(pool, &actor, &username, role)
                .await
                .map(|a| format!("{} is now {}", a.username, a.role))
        }
        UserCommand::Disable { username } => account::disable(pool, &actor, &username)
            .await
            .map(|a| format!("{} is disabled", a.username)),
        UserCommand::Enable { username } => account::enable(pool, &actor, &username)
            .await
            .map(|a| format!("{} is enabled", a.username)),
        UserCommand::List { json } => {
            let accounts = account::list(pool).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&accounts)?);
            } else {
                for a in &accounts {
                    let state = if a.disabled { "disabled" } else { "active" };
                    println!("{:<24} {:<9} {state}", a.username, a.role.as_str());
                }
            }
            Ok(String::new())
        }
    };
    database.close().await;
    match outcome {
        Ok(message) => {
            if !message.is_empty() {
                println!("{message}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(refused) => super::refused("error: ", refused),
    }
}

/// Under four-eyes a new admin starts as a viewer, and the admin role is requested by the admin
/// `as_user` (another admin confirms it with `user role NAME admin --as OTHER`).
async fn add_admin_under_four_eyes(
    pool: &sqlx::PgPool,
    actor: &str,
    username: &str,
    hash: &str,
    as_user: Option<String>,
) -> anyhow::Result<ExitCode> {
    if as_user.is_none() {
        eprintln!("refused: four-eyes is on, so a new admin needs two admins: run `schemagate user add {username} --role admin --as ADMIN`, then another admin runs `schemagate user role {username} admin --as OTHER`");
        return Ok(ExitCode::from(1));
    }
    match account::create(pool, actor, username, hash, Role::Viewer).await {
        Ok(created) => println!("created {} ({})", created.username, created.role),
        Err(error) => return super::refused("error: ", error),
    }
    make_admin(pool, username, as_user.as_deref()).await
}

/// Gives `username` the admin role: at once while four-eyes is off; under four-eyes as a
/// request of the admin `as_user`, which another admin confirms.
async fn make_admin(
    pool: &sqlx::PgPool,
    username: &str,
    as_user: Option<&str>,
) -> anyhow::Result<ExitCode> {
    use app::registry::guard::{self, Guarded};
    let four_eyes = app::registry::setting::load(pool).await?.four_eyes;
    let what = Guarded::AdminRole {
        username: username.to_owned(),
    };
    if !four_eyes && as_user.is_none() {
        return match account::set_role(pool, &cli_actor(), username, Role::Admin).await {
            Ok(a) => {
                println!("{} is now {}", a.username, a.role);
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => super::refused("error: ", error),
        };
    }
    let Some(name) = as_user else {
        eprintln!("refused: four-eyes is on, so making {username} an admin needs two admins: run `schemagate user role {username} admin --as ADMIN`, then another admin runs the same");
        return Ok(ExitCode::from(1));
    };
    let admin = super::lookup::actor_account(pool, Some(name)).await?;
    match guard::request(pool, &admin, &format!("cli:{name}"), &what).await {
        Ok(outcome) => {
            let done = format!("{username} is now admin");
            println!(
                "{}",
                super::settings::guarded_message(&outcome, &done, &what)
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => super::refused("refused: ", error),
    }
}

async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || app::password::hash(&password))
        .await
        .context("while hashing the password")?
        .map_err(Into::into)
}

/// The new password: the whole of stdin when it is not a terminal (one trailing newline
/// removed), otherwise prompted twice without echo.
fn read_password() -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        let mut input = String::new();
        std::io::stdin()
            .read_to_string(&mut input)
            .context("while reading the password from stdin")?;
        let password = input.strip_suffix('\n').unwrap_or(&input);
        let password = password.strip_suffix('\r').unwrap_or(password);
        if password.contains('\n') {
            bail!("the password read from stdin spans several lines: pass exactly one line");
        }
        return Ok(password.to_string());
    }
    let first =
        rpassword::prompt_password("New password: ").context("while reading the password")?;
    let second = rpassword::prompt_password("Repeat it: ").context("while reading the password")?;
    if first != second {
        bail!("the two passwords differ: nothing changed");
    }
    Ok(first)
}

//! `schemagate audit list|verify|anchor|export|rotate-key`.

use std::process::ExitCode;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use app::registry::audit::{self, seal, AuditEvent, AuditFilter};
use sqlx::PgPool;

use crate::cli::{AuditCommand, CommonOptions};
use crate::database::Database;

/// Runs one `audit` subcommand. `verify` exits 1 when the chain is broken.
///
/// # Errors
/// Database errors and an unknown export format.
pub async fn run(common: &CommonOptions, command: AuditCommand) -> anyhow::Result<ExitCode> {
    if let AuditCommand::Export { format } = &command {
        if format != "csv" && format != "json" {
            bail!("unknown export format \"{format}\": expected csv or json");
        }
    }
    let database = Database::open(common).await?;
    let pool = &database.pool;
    let code = match command {
        AuditCommand::List { json } => {
            let events = audit::list(pool, &AuditFilter::default()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&events)?);
            } else {
                for event in &events {
                    println!("{}", one_line(event));
                }
            }
            ExitCode::SUCCESS
        }
        AuditCommand::Verify { anchor } => {
            let kept = kept_anchor_path(common, pool);
            verify(pool, &anchor, &kept).await?
        }
        AuditCommand::Anchor { out } => {
            let Some(key) = seal::installed() else {
                bail!("no audit key is configured: an anchor is sealed with it (set SCHEMAGATE_AUDIT_KEY_FILE)");
            };
            let anchor = audit::anchor(pool, &key).await?;
            let text = format!("{}\n", serde_json::to_string_pretty(&anchor)?);
            match out {
                Some(path) => {
                    write_new(&path, &text)?;
                    eprintln!(
                        "anchored the audit log at event {} in {}",
                        anchor.seq,
                        path.display()
                    );
                }
                None => print!("{text}"),
            }
            ExitCode::SUCCESS
        }
        AuditCommand::RotateKey => rotate_key(pool).await?,
        AuditCommand::Export { format } => {
            let events = audit::list(pool, &AuditFilter::default()).await?;
            if format == "json" {
                println!("{}", serde_json::to_string_pretty(&events)?);
            } else {
                print!("{}", audit::to_csv(&events));
            }
            ExitCode::SUCCESS
        }
    };
    database.close().await;
    Ok(code)
}

/// Rotates the audit key: the key file with the new key is written beside the old one first,
/// put in place only once the registry recorded the rotation, so neither a failed write nor a
/// failed commit leaves a registry sealed with a key no file holds.
async fn rotate_key(pool: &PgPool) -> anyhow::Result<ExitCode> {
    let Some(key) = seal::installed() else {
        bail!("no audit key is configured: there is nothing to rotate");
    };
    let (next, text) = key.rotated()?;
    let path = next
        .path()
        .context("a rotated key is kept in a file")?
        .to_path_buf();
    let staged = app::file_io::stage(&path, text.as_bytes(), 0o600)
        .with_context(|| format!("cannot write the new key beside {}", path.display()))?;
    let event = audit::rotate_key(pool, &crate::command::user::cli_actor(), &key, &next).await?;
    staged.commit().with_context(|| {
        format!(
            "the registry seals with the new key {} from now on, but its key file could not be put in place: move the kept file over {}",
            next.fingerprint(),
            path.display()
        )
    })?;
    seal::install(next.clone());
    println!(
        "rotated the audit key from {} to {} (event {}); {} keeps the retired key to verify the events it sealed",
        key.fingerprint(),
        next.fingerprint(),
        event.seq,
        path.display()
    );
    println!("give every schemagate process of this registry the new key file: processes that share it take the new key at their next event");
    Ok(ExitCode::SUCCESS)
}

/// Where `audit verify` keeps the head it verified, outside the database: one file per registry
/// in the data directory (`audit-anchor.<registry>.json`).
fn kept_anchor_path(common: &CommonOptions, pool: &PgPool) -> PathBuf {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(audit::registry_identity(pool).as_bytes());
    let name: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    common.data_dir.join(format!("audit-anchor.{name}.json"))
}

/// `audit verify [--anchor FILE]...`: exit 1 on any problem. With the audit key, the head of the
/// last verification kept in `kept` is checked too (the log must still reach it), and the head
/// verified now is kept there for the next run.
async fn verify(pool: &PgPool, anchors: &[PathBuf], kept: &Path) -> anyhow::Result<ExitCode> {
    let key = seal::installed();
    let mut loaded = Vec::new();
    let kept_exists = key.is_some() && kept.exists();
    let kept_list = kept_exists.then(|| kept.to_path_buf());
    for path in anchors.iter().chain(kept_list.as_ref()) {
        let text = app::file_io::read_text(path, 64 * 1024)
            .with_context(|| format!("while reading the anchor file {}", path.display()))?;
        let anchor: seal::Anchor = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not an anchor written by `audit anchor`",
                path.display()
            )
        })?;
        loaded.push((path, anchor));
    }
    if !loaded.is_empty() && key.is_none() {
        bail!("no audit key is configured: an anchor can only be checked with the key that sealed it (set SCHEMAGATE_AUDIT_KEY_FILE)");
    }
    let verification = audit::verify_with(pool, key.as_deref(), None).await?;
    let mut problem = verification.problem.clone();
    if let Some(key) = key.as_deref() {
        for (path, anchor) in &loaded {
            if problem.is_some() {
                break;
            }
            if let Some(found) = audit::check_anchor(pool, key, anchor).await? {
                eprintln!("anchor {}: {found}", path.display());
                problem = Some(found);
            }
        }
    }
    if let Some(problem) = problem {
        println!("audit log TAMPERED: {problem}");
        return Ok(ExitCode::from(1));
    }
    if let Some(key) = key.as_deref() {
        keep_anchor(pool, key, kept, kept_exists).await?;
    }
    let sealing = match key.as_deref() {
        None => " (seals not checked: no audit key is configured)".to_string(),
        Some(key) if verification.unsealed_prefix > 0 => format!(
            ", sealed with key {} (events 1-{} predate sealing)",
            key.fingerprint(),
            verification.unsealed_prefix
        ),
        Some(key) => format!(", sealed with key {}", key.fingerprint()),
    };
    let anchored: Vec<String> = loaded
        .iter()
        .filter(|(path, _)| *path != kept)
        .map(|(_, anchor)| format!("; reaches the anchor at event {}", anchor.seq))
        .collect();
    println!(
        "audit log intact: {} events verified{sealing}{}",
        verification.events,
        anchored.concat()
    );
    Ok(ExitCode::SUCCESS)
}

/// Keeps the chain's head, sealed, in `path` for the next verification (replacing the one
/// kept before, which the log was just checked to reach).
async fn keep_anchor(
    pool: &PgPool,
    key: &seal::AuditKey,
    path: &Path,
    existed: bool,
) -> anyhow::Result<()> {
    let anchor = audit::anchor(pool, key).await?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("while creating {}", dir.display()))?;
    }
    let text = format!("{}\n", serde_json::to_string_pretty(&anchor)?);
    app::file_io::write_replacing(path, text.as_bytes())
        .with_context(|| format!("while keeping the verified head in {}", path.display()))?;
    if !existed {
        eprintln!(
            "no verified head was kept for this registry: keeping event {} in {} from now on",
            anchor.seq,
            path.display()
        );
    }
    Ok(())
}

/// Writes `text` to a file that must not exist yet (an anchor is never overwritten).
fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("while creating the anchor file {}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("while writing the anchor file {}", path.display()))
}

fn one_line(event: &AuditEvent) -> String {
    let at = event
        .at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    format!(
        "{:>6} {at} {:<16} {:<24} {} {} {}",
        event.seq,
        event.actor,
        event.action,
        event.package.as_deref().unwrap_or("-"),
        event.change_id.as_deref().unwrap_or("-"),
        event.details
    )
}

//! `--prisma-engine cli`: the platform's own Prisma CLI (`npx prisma …`, run in the platform's
//! project directory, which holds its Prisma installation and, for Prisma 7, its
//! `prisma.config.ts`). One process per call, so each takes seconds; the connection is passed
//! as `DATABASE_URL` in the environment, never on the command line.
//!
//! Prisma 6 and 7 name the schema sources differently: a schema whose datasource has a `url`
//! is a Prisma 6 schema (`--from-schema-datamodel`, `--from-schema-datasource`); otherwise
//! Prisma 7 (`--from-schema`, `--from-config-datasource`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::engine::{EngineError, Introspection, LiveDiff, Plan};

/// How long one `npx prisma` call may take.
const TIMEOUT: Duration = Duration::from_secs(300);

/// The platform's Prisma CLI.
pub struct CliEngine {
    url: String,
    project_dir: PathBuf,
}

/// One `npx` invocation: its arguments and the files it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Arguments after `npx`.
    pub args: Vec<String>,
}

/// Whether `schema` is written for Prisma 6 (a `url` in its datasource).
#[must_use]
pub fn is_prisma6(schema: &str) -> bool {
    let mut in_datasource = false;
    for line in schema.lines() {
        let line = line.trim();
        if line.starts_with("datasource ") {
            in_datasource = true;
        } else if in_datasource && line.starts_with('}') {
            in_datasource = false;
        } else if in_datasource && line.starts_with("url") && line.contains('=') {
            return true;
        }
    }
    false
}

/// `prisma migrate diff … --script` from schema file `from` (none: empty) to schema file `to`.
#[must_use]
pub fn diff_invocation(from: Option<&Path>, to: &Path, prisma6: bool) -> Invocation {
    let (from_flag, to_flag) = if prisma6 {
        ("--from-schema-datamodel", "--to-schema-datamodel")
    } else {
        ("--from-schema", "--to-schema")
    };
    let mut args = vec!["prisma".to_string(), "migrate".into(), "diff".into()];
    match from {
        Some(from) => args.extend([from_flag.to_string(), from.display().to_string()]),
        None => args.push("--from-empty".into()),
    }
    args.extend([
        to_flag.to_string(),
        to.display().to_string(),
        "--script".into(),
    ]);
    Invocation { args }
}

/// `prisma migrate diff` from the live database to schema file `to`, as a script or a summary.
#[must_use]
pub fn live_invocation(to: &Path, prisma6: bool, script: bool) -> Invocation {
    let mut args = vec!["prisma".to_string(), "migrate".into(), "diff".into()];
    if prisma6 {
        args.extend([
            "--from-schema-datasource".to_string(),
            to.display().to_string(),
        ]);
        args.extend([
            "--to-schema-datamodel".to_string(),
            to.display().to_string(),
        ]);
    } else {
        args.push("--from-config-datasource".into());
        args.extend(["--to-schema".to_string(), to.display().to_string()]);
    }
    if script {
        args.push("--script".into());
    }
    args.push("--exit-code".into());
    Invocation { args }
}

/// `prisma migrate deploy` with schema file `schema`, whose directory holds `migrations/`.
#[must_use]
pub fn deploy_invocation(schema: &Path) -> Invocation {
    Invocation {
        args: vec![
            "prisma".into(),
            "migrate".into(),
            "deploy".into(),
            "--schema".into(),
            schema.display().to_string(),
        ],
    }
}

/// `prisma migrate resolve --applied <name>` with schema file `schema`, as for
/// [`deploy_invocation`].
#[must_use]
pub fn resolve_applied_invocation(schema: &Path, name: &str) -> Invocation {
    Invocation {
        args: vec![
            "prisma".into(),
            "migrate".into(),
            "resolve".into(),
            "--applied".into(),
            name.into(),
            "--schema".into(),
            schema.display().to_string(),
        ],
    }
}

/// Writes the datasource-only schema beside migrations directory `dir` that `migrate deploy`
/// and `migrate resolve` read (Prisma finds `migrations/` next to the schema).
fn deploy_schema(dir: &Path, method: &str) -> Result<std::path::PathBuf, EngineError> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    let schema = parent.join(".schemagate-deploy.prisma");
    let text =
        "datasource db {\n  provider = \"postgresql\"\n  url      = env(\"DATABASE_URL\")\n}\n";
    std::fs::write(&schema, text).map_err(|source| EngineError::Io {
        method: method.into(),
        source,
    })?;
    Ok(schema)
}

impl CliEngine {
    /// The CLI in `project_dir`, on the database at `url`.
    #[must_use]
    pub fn new(url: &str, project_dir: &Path) -> Self {
        Self {
            url: url.to_string(),
            project_dir: project_dir.to_path_buf(),
        }
    }

    async fn run(
        &self,
        method: &str,
        invocation: &Invocation,
    ) -> Result<(i32, String), EngineError> {
        let mut command = tokio::process::Command::new("npx");
        command
            .arg("--no-install")
            .args(&invocation.args)
            .current_dir(&self.project_dir)
            .env("DATABASE_URL", &self.url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let output = tokio::time::timeout(TIMEOUT, command.output())
            .await
            .map_err(|_| EngineError::Timeout {
                method: method.to_string(),
                after: TIMEOUT,
            })?
            .map_err(|source| EngineError::Spawn {
                node: PathBuf::from("npx"),
                source,
            })?;
        let code = output.status.code().unwrap_or(-1);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if code != 0 && code != 2 {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(EngineError::Engine {
                method: method.to_string(),
                kind: "engine".into(),
                code: None,
                message: format!(
                    "npx {} exited with {code}: {}",
                    invocation.args.join(" "),
                    stderr.trim()
                ),
                database: None,
            });
        }
        Ok((code, stdout))
    }

    fn scratch(&self) -> Result<tempdir::Scratch, EngineError> {
        tempdir::Scratch::new().map_err(|source| EngineError::Io {
            method: "scratch".into(),
            source,
        })
    }

    /// See [`super::PlatformEngine::plan`].
    pub(super) async fn plan(&self, from: Option<&str>, to: &str) -> Result<Plan, EngineError> {
        let scratch = self.scratch()?;
        let to_path = scratch.write("to.prisma", to)?;
        let from_path = match from {
            Some(from) => Some(scratch.write("from.prisma", from)?),
            None => None,
        };
        let invocation = diff_invocation(from_path.as_deref(), &to_path, is_prisma6(to));
        let (_, sql) = self.run("plan", &invocation).await?;
        let empty = sql.trim().is_empty() || sql.contains("This is an empty migration");
        Ok(Plan { sql, empty })
    }

    /// See [`super::PlatformEngine::diff_live`].
    pub(super) async fn diff_live(&self, schema: &str) -> Result<LiveDiff, EngineError> {
        let scratch = self.scratch()?;
        let path = scratch.write("schema.prisma", schema)?;
        let prisma6 = is_prisma6(schema);
        let (code, sql) = self
            .run("diffLive", &live_invocation(&path, prisma6, true))
            .await?;
        if code == 0 {
            return Ok(LiveDiff {
                sql: String::new(),
                empty: true,
                summary: String::new(),
            });
        }
        let (_, summary) = self
            .run("diffLive", &live_invocation(&path, prisma6, false))
            .await?;
        Ok(LiveDiff {
            sql,
            empty: false,
            summary,
        })
    }

    /// See [`super::PlatformEngine::apply_migrations`]: `prisma migrate deploy` with a schema
    /// written beside `dir` (Prisma finds `migrations/` next to the schema).
    pub(super) async fn apply_migrations(&self, dir: &Path) -> Result<Vec<String>, EngineError> {
        let schema = deploy_schema(dir, "applyMigrations")?;
        let (_, output) = self
            .run("applyMigrations", &deploy_invocation(&schema))
            .await?;
        Ok(output
            .lines()
            .filter_map(|l| {
                l.trim()
                    .strip_prefix("└─ ")
                    .or_else(|| l.trim().strip_prefix("- "))
            })
            .map(|l| l.trim_end_matches("/migration.sql").to_string())
            .collect())
    }

    /// See [`super::PlatformEngine::mark_migration_applied`]: `prisma migrate resolve
    /// --applied`, with the same schema beside `dir` as [`Self::apply_migrations`].
    pub(super) async fn mark_migration_applied(
        &self,
        dir: &Path,
        name: &str,
    ) -> Result<(), EngineError> {
        let schema = deploy_schema(dir, "markMigrationApplied")?;
        self.run(
            "markMigrationApplied",
            &resolve_applied_invocation(&schema, name),
        )
        .await?;
        Ok(())
    }

    /// See [`super::PlatformEngine::introspect`]: `prisma db pull --print`.
    pub(super) async fn introspect(&self) -> Result<Introspection, EngineError> {
        let invocation = Invocation {
            args: vec![
                "prisma".into(),
                "db".into(),
                "pull".into(),
                "--print".into(),
            ],
        };
        let (_, schema) = self.run("introspect", &invocation).await?;
        let tables = schema
            .lines()
            .filter_map(|l| l.strip_prefix("model "))
            .filter_map(|l| l.split_whitespace().next())
            .map(|model| crate::engine::IntrospectedTable {
                model: model.to_string(),
                table: model.to_string(),
                ignored: false,
            })
            .collect();
        Ok(Introspection {
            schema,
            tables,
            views: Vec::new(),
            warnings: String::new(),
        })
    }
}

mod tempdir {
    use std::path::{Path, PathBuf};

    use crate::engine::EngineError;

    /// A private directory for the schema files of one call, removed afterwards.
    pub struct Scratch(PathBuf);

    impl Scratch {
        pub fn new() -> std::io::Result<Self> {
            use std::sync::atomic::{AtomicU64, Ordering};
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let dir = std::env::temp_dir().join(format!(
                "schemagate-prisma-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir)?;
            Ok(Self(dir))
        }

        pub fn write(&self, name: &str, text: &str) -> Result<PathBuf, EngineError> {
            let path = self.0.join(name);
            std::fs::write(&path, text).map_err(|source| EngineError::Io {
                method: "scratch".into(),
                source,
            })?;
            Ok(path)
        }

        #[allow(dead_code)]
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_name_the_schema_sources_of_the_schema_s_prisma_major() {
        let six =
            "datasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}\n";
        assert!(is_prisma6(six));
        assert!(!is_prisma6(
            "datasource db {\n  provider = \"postgresql\"\n}\n"
        ));
        let from = Path::new("/s/from.prisma");
        let to = Path::new("/s/to.prisma");
        assert_eq!(
            diff_invocation(Some(from), to, false).args.join(" "),
            "prisma migrate diff --from-schema /s/from.prisma --to-schema /s/to.prisma --script"
        );
        assert_eq!(
            diff_invocation(None, to, true).args.join(" "),
            "prisma migrate diff --from-empty --to-schema-datamodel /s/to.prisma --script"
        );
        assert_eq!(
            live_invocation(to, false, true).args.join(" "),
            "prisma migrate diff --from-config-datasource --to-schema /s/to.prisma --script --exit-code"
        );
        assert_eq!(
            deploy_invocation(Path::new("/p/schema.prisma"))
                .args
                .join(" "),
            "prisma migrate deploy --schema /p/schema.prisma"
        );
        assert_eq!(
            resolve_applied_invocation(Path::new("/p/schema.prisma"), "20261202_x_1a2b3c4d")
                .args
                .join(" "),
            "prisma migrate resolve --applied 20261202_x_1a2b3c4d --schema /p/schema.prisma"
        );
    }
}

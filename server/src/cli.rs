//! The command line: every subcommand and option of the CLI contract, in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Schemagate decides which database schema changes reach production.
#[derive(Debug, Parser)]
#[command(name = "schemagate", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonOptions,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every subcommand understands (flag or environment).
#[derive(Debug, Clone, Args)]
pub struct CommonOptions {
    /// Directory whose subdirectories are packages, each with seed/schema/entities.yaml.
    #[arg(long, env = "SCHEMAGATE_PACKAGES", global = true)]
    pub packages: Option<PathBuf>,
    /// Prisma schema with datasource, generator and core models (Tenant, User).
    #[arg(long, env = "SCHEMAGATE_BASE_SCHEMA", global = true)]
    pub base_schema: Option<PathBuf>,
    /// Data directory for the embedded PostgreSQL cluster (used without DATABASE_URL).
    #[arg(
        long,
        env = "SCHEMAGATE_DATA_DIR",
        default_value = ".schemagate",
        global = true
    )]
    pub data_dir: PathBuf,
    /// PostgreSQL connection URL; absent, a private cluster runs in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// ACL roles packages may use, comma-separated (default: public, user, self, owner,
    /// moderator, admin, system, none, god, supergod, public_if_public, public_if_shared).
    #[arg(long, env = "SCHEMAGATE_ROLES", global = true, value_delimiter = ',')]
    pub roles: Vec<String>,
    /// Field names that name a row's owner, for `self`/`owner` rules, comma-separated
    /// (default: userId, ownerId, createdBy, creatorId, authorId, hostId).
    #[arg(
        long,
        env = "SCHEMAGATE_OWNER_FIELDS",
        global = true,
        value_delimiter = ','
    )]
    pub owner_fields: Vec<String>,
    /// The model every entity should reach through belongsTo relations.
    #[arg(
        long,
        env = "SCHEMAGATE_ROOT_MODEL",
        global = true,
        default_value = "Tenant"
    )]
    pub root_model: String,
    /// Report ownership findings (unreachable root, cycles) as errors instead of warnings.
    #[arg(long, env = "SCHEMAGATE_OWNERSHIP_ERRORS", global = true)]
    pub ownership_errors: bool,
}

/// The subcommands. No subcommand means `serve`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve(ServeArgs),
    /// Parse and validate every package without a database; exit 1 on errors or conflicts.
    Check(JsonFlag),
    /// Render one package as Prisma, without a database.
    Preview {
        /// The package id (its directory name).
        package: String,
    },
    /// Print the full merged Prisma schema.
    Generate(GenerateArgs),
    /// Sync packages on disk into the registry.
    Scan(JsonFlag),
    /// List schema changes.
    List(ListArgs),
    /// Show one schema change: items, risk, conflicts, diff.
    Show(ShowArgs),
    /// Approve schema changes.
    Approve(ApproveArgs),
    /// Reject a schema change.
    Reject(RejectArgs),
    /// Registry state: counts per status, last scan, last apply.
    Status(JsonFlag),
    /// The restart job: apply approved changes.
    Apply(ApplyArgs),
    /// Retry a failed change.
    Retry(RetryArgs),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Read and verify the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Evaluate entity access rules.
    #[command(subcommand)]
    Acl(AclCommand),
    /// Run the embedded PostgreSQL cluster for a command (used by the test suite).
    #[command(subcommand, hide = true)]
    Db(DbCommand),
}

/// `--json` alone.
#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SCHEMAGATE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: std::net::SocketAddr,
    /// Scan the packages directory before serving (on by default; `--scan-on-start=false`).
    #[arg(long, env = "SCHEMAGATE_SCAN_ON_START", default_value_t = true, action = clap::ArgAction::Set)]
    pub scan_on_start: bool,
    /// Mark session cookies `Secure` (set this when users reach the app over HTTPS).
    #[arg(long, env = "SCHEMAGATE_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Minutes without a request after which a session ends.
    #[arg(long, env = "SCHEMAGATE_SESSION_IDLE_MINUTES", default_value_t = 60)]
    pub session_idle_minutes: i64,
    /// Failed sign-ins for one username, within the window, that lock it.
    #[arg(long, env = "SCHEMAGATE_LOGIN_MAX_FAILURES", default_value_t = 5)]
    pub login_max_failures: i64,
    /// Minutes over which failed sign-ins are counted.
    #[arg(long, env = "SCHEMAGATE_LOGIN_WINDOW_MINUTES", default_value_t = 15)]
    pub login_window_minutes: i64,
    /// Minutes a locked username stays locked after its last failure.
    #[arg(long, env = "SCHEMAGATE_LOGIN_LOCKOUT_MINUTES", default_value_t = 15)]
    pub login_lockout_minutes: i64,
    /// The URL users reach the app at (`https://schemagate.example.com`); state-changing
    /// requests from any other origin are refused. Default: `http://<addr>`.
    #[arg(long, env = "SCHEMAGATE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Sign-in attempts one client address may make per window, whatever the usernames.
    #[arg(
        long,
        env = "SCHEMAGATE_LOGIN_MAX_CLIENT_ATTEMPTS",
        default_value_t = 30
    )]
    pub login_max_client_attempts: i64,
    /// Header holding the client address set by a trusted reverse proxy (its last entry is
    /// used, e.g. `X-Forwarded-For`); without it, the connection's address.
    #[arg(long, env = "SCHEMAGATE_CLIENT_ADDRESS_HEADER")]
    pub client_address_header: Option<String>,
}

/// `generate` options.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Write the schema to this file (atomically) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Render the packages on disk instead of the registry's applied and approved state.
    #[arg(long)]
    pub from_packages: bool,
}

/// `list` options.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only changes in this state.
    #[arg(long)]
    pub status: Option<String>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `show` options.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Change id or a unique prefix of at least 8 characters.
    pub change: String,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `approve` options.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// Change ids or unique prefixes.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub changes: Vec<String>,
    /// Every pending change that is not destructive, security-relevant or conflicted.
    #[arg(long)]
    pub all: bool,
    /// The admin account deciding.
    #[arg(long = "as", env = "SCHEMAGATE_USER")]
    pub actor: Option<String>,
    /// A note stored with the decision.
    #[arg(long)]
    pub note: Option<String>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `reject` options.
#[derive(Debug, Args)]
pub struct RejectArgs {
    /// Change id or unique prefix.
    pub change: String,
    /// Why it is rejected.
    #[arg(long)]
    pub reason: String,
    /// The admin account deciding.
    #[arg(long = "as", env = "SCHEMAGATE_USER")]
    pub actor: Option<String>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `apply` options.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Where the merged Prisma schema is written.
    #[arg(long, env = "SCHEMAGATE_SCHEMA_OUT", default_value = "schema.prisma")]
    pub schema_out: PathBuf,
    /// Run through `sh -c` after the schema is written, with SCHEMAGATE_SCHEMA set.
    #[arg(long, env = "SCHEMAGATE_MIGRATE_CMD")]
    pub migrate_cmd: Option<String>,
    /// Seconds to wait for another runner's lease.
    #[arg(long, default_value_t = 0)]
    pub wait: u64,
    /// Seconds the migrate command may run before it (and everything it started) is killed.
    #[arg(long, env = "SCHEMAGATE_MIGRATE_TIMEOUT", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub migrate_timeout: u64,
    /// Seconds the apply lease lives without a heartbeat (heartbeats come every third of it);
    /// a crashed runner's lease is taken over after this long.
    #[arg(long, env = "SCHEMAGATE_LEASE_TTL", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub lease_ttl: u64,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `retry` options.
#[derive(Debug, Args)]
pub struct RetryArgs {
    /// Change id or unique prefix.
    pub change: String,
    /// The admin account deciding.
    #[arg(long = "as", env = "SCHEMAGATE_USER")]
    pub actor: Option<String>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account (password from stdin, or prompted twice on a terminal).
    Add {
        username: String,
        #[arg(long)]
        role: String,
    },
    /// Change an account's password.
    Passwd { username: String },
    /// Change an account's role.
    Role { username: String, role: String },
    /// Disable an account.
    Disable { username: String },
    /// Enable a disabled account again.
    Enable { username: String },
    /// List accounts.
    List {
        #[arg(long)]
        json: bool,
    },
}

/// `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List events.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Check the hash chain.
    Verify,
    /// Export every event.
    Export {
        #[arg(long, default_value = "json")]
        format: String,
    },
}

/// `acl` subcommands.
#[derive(Debug, Subcommand)]
pub enum AclCommand {
    /// Whether ROLE may do OP on ENTITY under the applied policy.
    Check {
        role: String,
        op: String,
        entity: String,
    },
}

/// `db` subcommands.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Start the embedded cluster, run COMMAND with DATABASE_URL set, stop the cluster.
    Run {
        /// The command and its arguments.
        #[arg(trailing_var_arg = true, required = true)]
        command: Vec<String>,
    },
}

impl ServeArgs {
    /// The serve options from the environment alone, for `schemagate` with no subcommand.
    pub fn from_env() -> ServeArgs {
        #[derive(Parser)]
        struct ServeOnly {
            #[command(flatten)]
            args: ServeArgs,
        }
        ServeOnly::parse_from(["schemagate"]).args
    }
}

impl CommonOptions {
    /// The domain's configuration: role vocabulary, owner fields, ownership root and severity.
    pub fn domain_config(&self) -> app::domain::Config {
        let mut config = app::domain::Config::default();
        let clean = |values: &[String]| -> Vec<String> {
            values
                .iter()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect()
        };
        if !clean(&self.roles).is_empty() {
            config.roles = clean(&self.roles).into_iter().collect();
        }
        if !clean(&self.owner_fields).is_empty() {
            config.owner_fields = clean(&self.owner_fields);
        }
        config.root_model = self.root_model.clone();
        if self.ownership_errors {
            config.ownership_severity = app::domain::Severity::Error;
        }
        config
    }

    /// The packages directory, which every command reading packages needs.
    ///
    /// # Errors
    /// When neither `--packages` nor `SCHEMAGATE_PACKAGES` is given.
    pub fn packages_dir(&self) -> anyhow::Result<&std::path::Path> {
        self.packages.as_deref().ok_or_else(|| {
            anyhow::anyhow!("no packages directory: pass --packages DIR or set SCHEMAGATE_PACKAGES")
        })
    }
}

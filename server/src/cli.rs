//! The command line: every subcommand and option of the CLI contract, in one place.

use std::path::PathBuf;
use std::time::Duration;

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

impl Cli {
    /// Whether this run is the long-running web server (the default command).
    pub fn serves(&self) -> bool {
        matches!(self.command, None | Some(Command::Serve(_)))
    }
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
    /// The platform database the restart job migrates (`?schema=` names its PostgreSQL schema,
    /// default public), best as a role of its own; absent: with the embedded cluster, its
    /// `platform` database, else `<registry database>_platform` beside the registry's database,
    /// created if missing. Never the registry's own database.
    #[arg(
        long,
        env = "SCHEMAGATE_PLATFORM_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub platform_database_url: Option<String>,
    /// A read replica of the platform database for preflight's read-only checks (absent: the
    /// platform database itself).
    #[arg(
        long,
        env = "SCHEMAGATE_PREFLIGHT_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub preflight_database_url: Option<String>,
    /// The `statement_timeout` of preflight's checks (`60s`, `2min`).
    #[arg(long, env = "SCHEMAGATE_PREFLIGHT_TIMEOUT", global = true, default_value = "60s", value_parser = parse_duration)]
    pub preflight_timeout: Duration,
    /// Preflight facts older than this are checked again when a change is viewed (`10min`);
    /// approvals and the restart job always check afresh.
    #[arg(long, env = "SCHEMAGATE_PREFLIGHT_MAX_AGE", global = true, default_value = "10min", value_parser = parse_duration)]
    pub preflight_max_age: Duration,
    /// Which Prisma schema engine plans and applies SQL: `builtin` (Prisma's engine compiled
    /// to WASM, bundled) or `cli` (the platform's own `npx prisma`, run in the current
    /// directory).
    #[arg(long, env = "SCHEMAGATE_PRISMA_ENGINE", global = true, default_value = "builtin",
          value_parser = ["builtin", "cli"])]
    pub prisma_engine: String,
    /// ACL roles packages may use, comma-separated (default: public, user, self, owner,
    /// moderator, admin, system, none, god, supergod, public_if_public, public_if_shared).
    #[arg(long, env = "SCHEMAGATE_ROLES", global = true, value_delimiter = ',',
          value_parser = parse_role)]
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
    /// Order among ACL roles for row-level security and `acl check`, highest first; several
    /// chains comma-separated (`supergod > god > admin, admin > moderator`).
    #[arg(long, env = "SCHEMAGATE_ROLE_HIERARCHY", global = true, value_parser = parse_hierarchy)]
    pub role_hierarchy: Option<app::domain::config::RoleHierarchy>,
    /// The per-transaction setting that carries the acting user's id (row-level security).
    #[arg(
        long,
        env = "SCHEMAGATE_USER_SETTING",
        global = true,
        default_value = "app.user_id",
        value_parser = parse_setting
    )]
    pub user_setting: String,
    /// The per-transaction setting that carries the acting user's role (row-level security).
    #[arg(
        long,
        env = "SCHEMAGATE_ROLE_SETTING",
        global = true,
        default_value = "app.role",
        value_parser = parse_setting
    )]
    pub role_setting: String,
    /// The per-transaction setting that carries the acting tenant's id: on a platform whose
    /// root model exists, every policy admits only the acting tenant's rows.
    #[arg(
        long,
        env = "SCHEMAGATE_TENANT_SETTING",
        global = true,
        default_value = "app.tenant_id",
        value_parser = parse_setting
    )]
    pub tenant_setting: String,
    /// Fields that hold a row's tenant, comma-separated, in order of preference.
    #[arg(
        long,
        env = "SCHEMAGATE_TENANT_FIELDS",
        global = true,
        value_delimiter = ',',
        default_value = "tenantId"
    )]
    pub tenant_fields: Vec<String>,
    /// Roles that act across tenants (they see every tenant's rows their grants admit),
    /// comma-separated; `none` for no such role.
    #[arg(
        long,
        env = "SCHEMAGATE_PLATFORM_ROLES",
        global = true,
        value_delimiter = ',',
        default_value = "god,supergod",
        value_parser = parse_role
    )]
    pub platform_roles: Vec<String>,
    /// The Boolean field a conditional role admits rows by: `ROLE=FIELD`
    /// (`public_if_shared=isPublic`), repeatable or comma-separated.
    #[arg(
        long,
        env = "SCHEMAGATE_ROLE_CONDITIONS",
        global = true,
        value_delimiter = ',',
        value_parser = parse_role_condition
    )]
    pub role_condition: Vec<(String, String)>,
    /// File holding the key that seals audit events (created, mode 0600, when missing).
    /// Default: `audit.key` in the data directory with the embedded cluster; with DATABASE_URL
    /// only when set (or when SCHEMAGATE_AUDIT_KEY holds the key itself).
    #[arg(long, env = "SCHEMAGATE_AUDIT_KEY_FILE", global = true)]
    pub audit_key_file: Option<PathBuf>,
}

/// One role of `--roles`, trimmed; refused unless it follows the role grammar.
fn parse_role(text: &str) -> Result<String, String> {
    let role = text.trim();
    if !role.is_empty() {
        app::domain::naming::check_role_name(role)?;
    }
    Ok(role.to_owned())
}

/// A setting name PostgreSQL accepts as a custom setting (`app.user_id`).
fn parse_setting(text: &str) -> Result<String, String> {
    app::domain::naming::check_setting_name(text)?;
    Ok(text.to_owned())
}

/// `ROLE=FIELD`: a role of the role grammar and a field name of the identifier grammar.
fn parse_role_condition(text: &str) -> Result<(String, String), String> {
    let (role, field) = text
        .split_once('=')
        .ok_or_else(|| format!("expected ROLE=FIELD, got \"{text}\""))?;
    let (role, field) = (role.trim(), field.trim());
    app::domain::naming::check_role_name(role)?;
    if app::domain::naming::db_name_problem(field, app::domain::naming::DbObject::Column).is_some()
    {
        return Err(format!(
            "\"{field}\" is not a field name: {}",
            app::domain::naming::DB_NAME_RULE
        ));
    }
    Ok((role.to_owned(), field.to_owned()))
}

fn parse_hierarchy(text: &str) -> Result<app::domain::config::RoleHierarchy, String> {
    let chains: Vec<&str> = text.split(',').collect();
    for role in chains.iter().flat_map(|c| c.split('>')).map(str::trim) {
        if !role.is_empty() {
            app::domain::naming::check_role_name(role)?;
        }
    }
    app::domain::config::RoleHierarchy::parse(&chains).map_err(|error| error.to_string())
}

/// A duration as PostgreSQL writes timeouts: `500ms`, `5s`, `2min`, `1h`; a bare number is
/// seconds. Zero is refused (PostgreSQL takes it as no timeout at all).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("\"{text}\" is not a duration (write 500ms, 5s, 2min or 1h)"))?;
    let millis = match unit.trim() {
        "ms" => Some(number),
        "" | "s" => number.checked_mul(1000),
        "min" => number.checked_mul(60_000),
        "h" => number.checked_mul(3_600_000),
        other => {
            return Err(format!(
                "unknown unit \"{other}\" in \"{text}\" (write ms, s, min or h)"
            ))
        }
    }
    .ok_or_else(|| format!("\"{text}\" is too long a duration"))?;
    if millis == 0 {
        return Err(format!(
            "\"{text}\" is zero, which PostgreSQL takes as no timeout at all"
        ));
    }
    Ok(Duration::from_millis(millis))
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
    /// Show the registry's settings, or change one (`settings four-eyes on|off`).
    Settings(SettingsArgs),
    /// Evaluate entity access rules.
    #[command(subcommand)]
    Acl(AclCommand),
    /// The platform database (`status`, `deploy`); `run` runs a command against the embedded
    /// cluster (the test suite uses it).
    #[command(subcommand)]
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
    /// Print only the change's SQL plan (exit 1 when it has none).
    #[arg(long, conflicts_with = "json")]
    pub sql: bool,
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
    /// Approve the named changes although reviewers requested changes on them (`--all` never
    /// takes such changes).
    #[arg(long, conflicts_with = "all")]
    pub despite_requested_changes: bool,
    /// Withdraw your first approval (four-eyes) of the named changes instead of approving.
    #[arg(long, conflicts_with_all = ["all", "note", "despite_requested_changes"])]
    pub withdraw: bool,
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
    /// Where the merged Prisma schema is written (default: `platform/schema.prisma` in the data
    /// directory, so that a run from a repository never writes into its files).
    #[arg(long, env = "SCHEMAGATE_SCHEMA_OUT")]
    pub schema_out: Option<PathBuf>,
    /// The Prisma migrations directory each change's migration is written to (default:
    /// `migrations` beside the schema file, where Prisma looks for it; refused when that
    /// directory holds SQL files of its own, such as a repository's migrations).
    #[arg(long, env = "SCHEMAGATE_MIGRATIONS_DIR")]
    pub migrations_dir: Option<PathBuf>,
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
    /// How long each statement of a migration waits for a table lock (`lock_timeout`): `5s`,
    /// `500ms`, `2min`; a bare number is seconds.
    #[arg(long, env = "SCHEMAGATE_LOCK_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
    /// How long each statement of a migration may run (`statement_timeout`); shorter than
    /// `--migrate-timeout`.
    #[arg(long, env = "SCHEMAGATE_STATEMENT_TIMEOUT", default_value = "5min", value_parser = parse_duration)]
    pub statement_timeout: Duration,
    /// How many times a migration that gave up waiting for a lock is tried again.
    #[arg(long, env = "SCHEMAGATE_LOCK_RETRIES", default_value_t = 3)]
    pub lock_retries: u32,
    /// The pause before the first retry after a lock timeout; each later one doubles it.
    #[arg(long, env = "SCHEMAGATE_LOCK_RETRY_BACKOFF", default_value = "5s", value_parser = parse_duration)]
    pub lock_retry_backoff: Duration,
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
        /// The admin asking: under four-eyes, a new admin starts as a viewer and the admin role
        /// needs a second admin (`user role NAME admin --as OTHER`).
        #[arg(long = "as", env = "SCHEMAGATE_USER")]
        as_user: Option<String>,
    },
    /// Change an account's password.
    Passwd { username: String },
    /// Change an account's role (under four-eyes, the admin role needs two admins, each
    /// running this command with `--as`).
    Role {
        username: String,
        role: String,
        /// The admin asking.
        #[arg(long = "as", env = "SCHEMAGATE_USER")]
        as_user: Option<String>,
    },
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

/// `settings` options: no subcommand shows them.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    #[command(subcommand)]
    pub command: Option<SettingsCommand>,
    /// Print one JSON document on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

/// `settings` subcommands.
#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Four-eyes: destructive, breaking and security changes need the approvals of two admins
    /// (the second neither the first approver nor the change's author), whichever server or
    /// command line approves.
    FourEyes {
        /// `on` or `off`.
        #[arg(value_parser = ["on", "off"])]
        value: String,
        /// The admin asking (turning four-eyes off while it is on needs two admins: each runs
        /// this command with `--as`).
        #[arg(long = "as", env = "SCHEMAGATE_USER")]
        as_user: Option<String>,
    },
    /// Accept this command's row-level-security flags (`--role-hierarchy`, `--user-setting`,
    /// `--role-setting`) as the configuration the restart job compiles policies with. While
    /// four-eyes is on, a different configuration needs two admins, each running this with
    /// `--as` and the same flags.
    RowSecurity {
        /// The admin asking.
        #[arg(long = "as", env = "SCHEMAGATE_USER")]
        as_user: Option<String>,
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
    /// Check the hash chain and its seals; with --anchor, also that the chain still reaches
    /// the anchored head (catches deleted newest events).
    Verify {
        /// An anchor file written by `audit anchor`.
        #[arg(long)]
        anchor: Vec<PathBuf>,
    },
    /// Write the chain's head, sealed with the audit key, as an anchor file (keep copies
    /// where the database's writers cannot change them).
    Anchor {
        /// Where to write it (stdout when absent).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Export every event.
    Export {
        #[arg(long, default_value = "json")]
        format: String,
    },
    /// Replace the audit key with a fresh one: one event sealed with the old key names the new
    /// one, every later event is sealed with the new key, and the key file keeps the old key
    /// (first line) to verify the events it sealed.
    RotateKey,
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
    /// The platform database: its tables, `_prisma_migrations`, and drift against the applied
    /// state.
    Status(JsonFlag),
    /// Apply a Prisma migrations directory to the platform database as `prisma migrate deploy`
    /// does, with the built-in engine (for a `--migrate-cmd` without the Prisma CLI).
    Deploy {
        /// The migrations directory.
        dir: PathBuf,
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
    /// How preflight reads the platform database.
    pub fn preflight_settings(&self) -> app::registry::preflight::PreflightSettings {
        app::registry::preflight::PreflightSettings {
            replica_url: self.preflight_database_url.clone(),
            statement_timeout: self.preflight_timeout,
            max_age: self.preflight_max_age,
        }
    }

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
        config.row_security =
            app::domain::config::RowSecurity::with_settings(&self.user_setting, &self.role_setting);
        if let Some(hierarchy) = &self.role_hierarchy {
            config.row_security.hierarchy = hierarchy.clone();
        }
        config.row_security.tenant = Some(app::domain::config::TenantIsolation {
            setting: self.tenant_setting.clone(),
            fields: clean(&self.tenant_fields),
            platform_roles: clean(&self.platform_roles)
                .into_iter()
                .filter(|role| role != "none")
                .collect(),
        });
        config
            .row_security
            .variables
            .insert("tenant.id".to_owned(), self.tenant_setting.clone());
        config.row_security.role_conditions = self.role_condition.iter().cloned().collect();
        // A role given a condition is a role packages may use.
        config
            .roles
            .extend(self.role_condition.iter().map(|(role, _)| role.clone()));
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

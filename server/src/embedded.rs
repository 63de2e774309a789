//! The embedded default: a private PostgreSQL cluster in the data directory, started from the
//! machine's own PostgreSQL binaries and reachable only through a Unix socket in that directory.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

/// The unprivileged account that runs the cluster when schemagate runs as root
/// (PostgreSQL refuses to run as root).
const SERVICE_USER: &str = "postgres";
/// Socket file name suffix; the socket directory is private, so the number never collides.
const PORT: u16 = 5432;

/// A running cluster this process started (or found running). Stopping happens on drop, and
/// only for a cluster this process started.
#[derive(Debug)]
pub struct EmbeddedCluster {
    bin_dir: PathBuf,
    cluster_dir: PathBuf,
    socket_dir: PathBuf,
    run_as: Option<&'static str>,
    started_here: bool,
}

impl EmbeddedCluster {
    /// Initializes (first time) and starts the cluster under `data_dir`.
    ///
    /// # Errors
    /// Fails with a message naming the package to install when PostgreSQL binaries are missing,
    /// or with the server log's tail when the cluster does not start.
    pub fn start(data_dir: &Path) -> anyhow::Result<Self> {
        let bin_dir = find_bin_dir()?;
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("while creating the data directory {}", data_dir.display()))?;
        let data_dir = data_dir
            .canonicalize()
            .with_context(|| format!("while resolving {}", data_dir.display()))?;
        let run_as = is_root().then_some(SERVICE_USER);
        if let Some(user) = run_as {
            tracing::info!(
                user,
                "running as root: the embedded PostgreSQL cluster runs as the {user} system user"
            );
        }
        let root = match run_as {
            Some(user) => reachable_root(&data_dir, user)?,
            None => data_dir.join("postgres"),
        };
        let cluster_dir = root.join("cluster");
        let socket_dir = root.join("socket");
        for dir in [&root, &socket_dir] {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("while creating {}", dir.display()))?;
        }
        if let Some(user) = run_as {
            chown(user, &root)?;
        }
        let mut cluster = EmbeddedCluster {
            bin_dir,
            cluster_dir,
            socket_dir,
            run_as,
            started_here: false,
        };
        if !cluster.cluster_dir.join("PG_VERSION").exists() {
            cluster.init()?;
        }
        if cluster.is_running() {
            tracing::info!(dir = %cluster.cluster_dir.display(), "embedded PostgreSQL already running");
        } else {
            cluster.start_server()?;
            cluster.started_here = true;
        }
        Ok(cluster)
    }

    /// The connection URL of the cluster's `postgres` database over its private socket.
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// The connection URL of database `name` in the cluster, over its private socket.
    pub fn url_of(&self, name: &str) -> String {
        format!(
            "postgres://{SERVICE_USER}@localhost:{PORT}/{name}?host={}",
            self.socket_dir.display()
        )
    }

    fn init(&self) -> anyhow::Result<()> {
        tracing::info!(dir = %self.cluster_dir.display(), "initializing the embedded PostgreSQL cluster");
        let output = self
            .command("initdb")
            .arg("-D")
            .arg(&self.cluster_dir)
            .args([
                "-U",
                SERVICE_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ])
            .output()
            .context("while running initdb")?;
        if !output.status.success() {
            bail!(
                "initdb failed for {}:\n{}",
                self.cluster_dir.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    fn start_server(&self) -> anyhow::Result<()> {
        let log = self.cluster_dir.join("server.log");
        // No TCP listener: the socket directory (owned by the cluster's user) is the only door.
        let options = format!(
            "-c listen_addresses='' -k {} -p {PORT}",
            self.socket_dir.display()
        );
        let output = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.cluster_dir)
            .arg("-l")
            .arg(&log)
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .stdin(Stdio::null())
            .output()
            .context("while running pg_ctl start")?;
        if !output.status.success() {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(15).collect();
            bail!(
                "the embedded PostgreSQL cluster did not start ({}):\n{}\n{}",
                self.cluster_dir.display(),
                String::from_utf8_lossy(&output.stderr).trim(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        tracing::info!(socket = %self.socket_dir.display(), "embedded PostgreSQL started");
        Ok(())
    }

    fn is_running(&self) -> bool {
        self.command("pg_ctl")
            .arg("-D")
            .arg(&self.cluster_dir)
            .arg("status")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    fn stop(&self) {
        let status = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.cluster_dir)
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .status();
        match status {
            Ok(status) if status.success() => tracing::info!("embedded PostgreSQL stopped"),
            Ok(status) => tracing::warn!(%status, "pg_ctl stop failed"),
            Err(error) => tracing::warn!(%error, "pg_ctl stop could not run"),
        }
    }

    /// A command for one of the PostgreSQL binaries, run as the service user when we are root.
    fn command(&self, program: &str) -> Command {
        let program = self.bin_dir.join(program);
        match self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(program);
                command
            }
            None => Command::new(program),
        }
    }
}

impl Drop for EmbeddedCluster {
    fn drop(&mut self) {
        if self.started_here {
            self.stop();
        }
    }
}

/// Where `initdb` and `pg_ctl` live: `pg_config --bindir`, the newest
/// `/usr/lib/postgresql/*/bin`, or PATH.
fn find_bin_dir() -> anyhow::Result<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if output.status.success() && has_tools(&dir) {
            return Ok(dir);
        }
    }
    let mut versioned: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_tools(dir))
        .collect();
    versioned.sort();
    if let Some((_, dir)) = versioned.pop() {
        return Ok(dir);
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).find(|dir| has_tools(dir)))
        .unwrap_or_default();
    on_path.context(
        "no PostgreSQL server binaries (initdb, pg_ctl) found: install the `postgresql` package \
         (Debian: apt-get install postgresql) or set DATABASE_URL to use an existing server",
    )
}

/// Where the cluster of `data_dir` lives when it runs as `user`: `<data-dir>/postgres` when
/// `user` can reach the data directory. When it cannot (a parent directory is private, e.g. a
/// 0700 home directory), nothing is loosened: the cluster lives in a directory of `user`'s own
/// (`<its home>/schemagate/<hash of the data directory>`), and `<data-dir>/postgres` is a
/// symbolic link to it, so the data directory still shows where its database is.
fn reachable_root(data_dir: &Path, user: &str) -> anyhow::Result<PathBuf> {
    let link = data_dir.join("postgres");
    if let Ok(target) = std::fs::read_link(&link) {
        return Ok(target);
    }
    if can_reach(user, data_dir) {
        return Ok(link);
    }
    let blocking = data_dir
        .ancestors()
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .find(|dir| !can_reach(user, dir))
        .unwrap_or(data_dir)
        .to_path_buf();
    let manual = format!(
        "the {user} system user that runs the embedded PostgreSQL cluster cannot reach {} \
         ({} is not searchable by it): grant it traversal (`setfacl -m u:{user}:x {}` or \
         `chmod o+x {}`), or choose a --data-dir it can reach",
        data_dir.display(),
        blocking.display(),
        blocking.display(),
        blocking.display()
    );
    // A previous attempt may have left empty directories behind; anything else stays.
    if link.exists() {
        let _ = std::fs::remove_dir(link.join("cluster"));
        let _ = std::fs::remove_dir(link.join("socket"));
        if std::fs::remove_dir(&link).is_err() {
            bail!("{manual} ({} already holds files)", link.display());
        }
    }
    let Some(home) = home_of(user).filter(|home| can_reach(user, home)) else {
        bail!("{manual}");
    };
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let root = home.join("schemagate").join(name);
    std::fs::create_dir_all(&root).with_context(|| format!("while creating {}", root.display()))?;
    chown(user, &home.join("schemagate"))?;
    std::os::unix::fs::symlink(&root, &link)
        .with_context(|| format!("while linking {} to {}", link.display(), root.display()))?;
    tracing::warn!(
        blocked_by = %blocking.display(),
        cluster = %root.display(),
        "the {user} system user cannot reach the data directory: the embedded cluster lives in \
         a directory of its own, linked from {}",
        link.display()
    );
    Ok(root)
}

/// Whether `user` can search `dir` (and every directory above it).
fn can_reach(user: &str, dir: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", user, "--", "test", "-x"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// `user`'s home directory, from the passwd database.
fn home_of(user: &str) -> Option<PathBuf> {
    let output = Command::new("getent")
        .args(["passwd", user])
        .output()
        .ok()?;
    let line = String::from_utf8_lossy(&output.stdout).into_owned();
    let home = line.trim().split(':').nth(5)?;
    (!home.is_empty()).then(|| PathBuf::from(home))
}

/// Whether this process runs as root (`/proc/self` is owned by the effective user).
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

fn chown(user: &str, dir: &Path) -> anyhow::Result<()> {
    let status = Command::new("chown")
        .args(["-R", user])
        .arg(dir.as_os_str())
        .status()
        .context("while running chown")?;
    if !status.success() {
        bail!(
            "cannot hand {} to the {user} system user (does it exist? it comes with the \
             postgresql package)",
            dir.display()
        );
    }
    Ok(())
}

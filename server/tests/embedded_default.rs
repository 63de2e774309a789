//! With no DATABASE_URL, `schemagate` runs its own PostgreSQL cluster in the data directory.

mod support;

use support::{fresh_dir, http_get, schemagate, RunningServer};

#[test]
fn without_database_url_the_server_runs_a_private_cluster_and_reports_healthy() {
    let data_dir = fresh_dir("embedded");
    let mut command = schemagate();
    command
        .env_remove("DATABASE_URL")
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["serve", "--addr", "127.0.0.1:0"]);
    let server = RunningServer::start(command);

    let (status, body) = http_get(&server.base_url, "/healthz");
    assert_eq!(status, 200, "body: {body}");
    assert!(body.contains(r#""database":"ok""#), "body: {body}");
    assert!(data_dir.join("postgres/cluster/PG_VERSION").is_file());

    let exit = server.stop();
    assert!(exit.success(), "server exit: {exit:?}");
    // The cluster this server started is stopped with it.
    assert!(!data_dir.join("postgres/cluster/postmaster.pid").exists());
}

#[test]
fn an_unreachable_database_url_is_a_clear_startup_error() {
    let output = schemagate()
        .env(
            "DATABASE_URL",
            "postgres://nobody@127.0.0.1:1/none?connect_timeout=2",
        )
        .args(["serve", "--addr", "127.0.0.1:0"])
        .output()
        .expect("run schemagate");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("while connecting to the registry database"),
        "stderr: {stderr}"
    );
}

#[test]
fn healthz_answers_503_when_the_database_goes_away() {
    let db = support::fresh_database("healthz_gone");
    let mut command = schemagate();
    command.env("DATABASE_URL", &db).args([
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--scan-on-start=false",
    ]);
    let server = RunningServer::start(command);
    assert_eq!(http_get(&server.base_url, "/healthz").0, 200);

    let admin_url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let name = db
        .split('?')
        .next()
        .and_then(|path| path.rsplit('/').next())
        .expect("database name")
        .to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::query(&format!("drop database {name} with (force)"))
            .execute(&mut conn)
            .await
            .unwrap();
    });
    let (status, body) = http_get(&server.base_url, "/healthz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains(r#""database":"unreachable""#), "{body}");
}

#[test]
fn log_format_json_writes_one_json_object_per_log_line() {
    let output = schemagate()
        .env("LOG_FORMAT", "json")
        .env(
            "DATABASE_URL",
            "postgres://nobody@127.0.0.1:1/none?connect_timeout=1",
        )
        .args(["status"])
        .output()
        .expect("run schemagate");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).expect("every log line is valid JSON"))
        .collect();
    let event = events
        .iter()
        .find(|e| e["level"] == "ERROR")
        .expect("an ERROR event");
    assert!(
        event["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("while connecting to the registry database"),
        "{event}"
    );
}

#[test]
fn as_root_a_data_directory_inside_a_private_directory_gets_a_cluster_without_loosening_it() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if std::fs::metadata("/proc/self").map_or(true, |m| m.uid() != 0) {
        eprintln!("skipping: the cluster only runs as another user when schemagate runs as root");
        return;
    }
    let private = fresh_dir("private-parent").join("private");
    std::fs::create_dir_all(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let data_dir = private.join("data");
    let start = || {
        schemagate()
            .env_remove("DATABASE_URL")
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["db", "run", "--", "true"])
            .output()
            .expect("run schemagate")
    };
    let first = start();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let cluster = std::fs::read_link(data_dir.join("postgres")).expect("a link to the cluster");
    assert!(cluster.join("cluster/PG_VERSION").is_file());
    assert_eq!(
        std::fs::metadata(&private).unwrap().permissions().mode() & 0o777,
        0o700,
        "the private directory stays private"
    );
    // The next start finds the same cluster.
    let second = start();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(
        std::fs::read_link(data_dir.join("postgres")).unwrap(),
        cluster
    );
    std::fs::remove_dir_all(&cluster).unwrap();
}

#[test]
fn without_the_schema_engine_the_server_does_not_start_and_names_it() {
    let db = support::fresh_database("no_engine");
    let output = schemagate()
        .env("DATABASE_URL", &db)
        .env("SCHEMAGATE_ENGINE_DIR", "/nonexistent/prisma-engine")
        .args(["serve", "--addr", "127.0.0.1:0", "--scan-on-start=false"])
        .output()
        .expect("run schemagate");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the web app cannot start without Prisma's schema engine"),
        "stderr: {stderr}"
    );
    assert!(stderr.contains("SCHEMAGATE_ENGINE_DIR"), "stderr: {stderr}");
}

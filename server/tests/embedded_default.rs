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
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2")
        .args(["serve", "--addr", "127.0.0.1:0"])
        .output()
        .expect("run schemagate");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("while connecting to the registry database"), "stderr: {stderr}");
}

//! The first five minutes: the real binary on an empty data directory (embedded PostgreSQL),
//! serving the demo platform shipped in server/demo.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{fresh_dir, http, schemagate, site_root, stdout_of, RunningServer};

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("demo")
}

fn serve(data_dir: &Path) -> (RunningServer, Vec<String>) {
    let mut command = schemagate();
    command
        .env_remove("DATABASE_URL")
        .env("LEPTOS_SITE_ROOT", site_root())
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--packages")
        .arg(demo().join("packages"))
        .arg("--base-schema")
        .arg(demo().join("base.prisma"))
        .args(["serve", "--addr", "127.0.0.1:0"]);
    RunningServer::start_capturing(command)
}

fn cli(data_dir: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_schemagate"))
        .env_remove("DATABASE_URL")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("run schemagate");
    stdout_of(&output)
}

/// The number of finished scans in the audit log.
fn scans(data_dir: &Path) -> usize {
    let events: serde_json::Value =
        serde_json::from_str(&cli(data_dir, &["audit", "list", "--json"])).unwrap_or_default();
    events.as_array().map_or(0, |events| {
        events.iter().filter(|e| e["action"] == "scan").count()
    })
}

/// Waits (up to 60 s) until the background start-up scans have recorded `count` scans.
fn wait_for_scans(data_dir: &Path, count: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while scans(data_dir) < count {
        assert!(
            std::time::Instant::now() < deadline,
            "the start-up scan did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn a_first_start_creates_an_admin_scans_the_demo_and_a_second_start_repeats_nothing() {
    let data_dir = fresh_dir("first_run");
    let (server, console) = serve(&data_dir);
    let password = console
        .iter()
        .find_map(|line| line.trim().strip_prefix("password: ").map(str::to_string))
        .expect("the generated password is printed once");
    assert_eq!(password.len(), 32);

    let login = http(
        &server.base_url,
        "POST",
        "/api/login",
        &[("Accept", "application/json")],
        Some(&[("username", "admin"), ("password", &password)]),
    );
    assert_eq!(login.status, 200, "{login:?}");

    // The server listens before the start-up scan ends; it scans in the background.
    wait_for_scans(&data_dir, 1);
    let list: serde_json::Value =
        serde_json::from_str(&cli(&data_dir, &["list", "--json"])).unwrap();
    let mut packages: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["package"].as_str().unwrap())
        .collect();
    packages.sort();
    assert_eq!(packages, ["billing", "forum", "notifications", "wiki"]);
    let conflicted: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["conflicts"].as_array().is_some_and(|a| !a.is_empty()))
        .map(|c| c["package"].as_str().unwrap())
        .collect();
    assert_eq!(
        conflicted.len(),
        2,
        "forum and wiki both declare Attachment: {list}"
    );

    // The package with a mistake is reported, with its position.
    let check = Command::new(env!("CARGO_BIN_EXE_schemagate"))
        .arg("--packages")
        .arg(demo().join("packages"))
        .arg("--base-schema")
        .arg(demo().join("base.prisma"))
        .args(["check", "--json"])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let crm = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["package"] == "crm_import")
        .unwrap();
    assert_eq!(
        crm["errors"][0]["path"],
        "CrmContact.fields.attributes.type"
    );
    assert_eq!(report["conflicts"][0]["entity"], "Attachment");
    drop(server);

    let (again, console) = serve(&data_dir);
    assert!(
        !console.iter().any(|line| line.contains("password:")),
        "no new password on a second start"
    );
    let relogin = http(
        &again.base_url,
        "POST",
        "/api/login",
        &[("Accept", "application/json")],
        Some(&[("username", "admin"), ("password", &password)]),
    );
    assert_eq!(relogin.status, 200);
    wait_for_scans(&data_dir, 2);
    let list_again: serde_json::Value =
        serde_json::from_str(&cli(&data_dir, &["list", "--json"])).unwrap();
    assert_eq!(
        list_again.as_array().unwrap().len(),
        4,
        "nothing is queued twice"
    );
    assert!(cli(&data_dir, &["audit", "verify"]).starts_with("audit log intact"));
}

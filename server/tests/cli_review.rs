//! The review commands (`check`, `preview`, `generate`, `scan`, `list`, `show`, `approve`,
//! `reject`, `status`) run as the built binary, each test against its own fresh database.

mod support;

use std::path::{Path, PathBuf};

use support::{fresh_database, fresh_dir, run_cli, stdout_of};

const FORUM: &str = "entities:
  - name: ForumThread
    fields:
      id: { type: cuid, primary: true, generated: true }
      tenantId: { type: string, required: true }
      title: { type: string, required: true, maxLength: 200 }
    relations:
      - name: tenant
        type: belongsTo
        entity: Tenant
        field: tenantId
";

const WIKI: &str = "entities:
  - name: WikiPage
    fields:
      - name: id
        type: String
        primary: true
      - name: tenantId
        type: String
        required: true
    relations:
      - name: tenant
        type: belongsTo
        target: Tenant
        foreignKey: tenantId
    acl:
      read: [public]
";

fn write_package(dir: &Path, id: &str, yaml: &str) {
    let schema = dir.join(id).join("seed/schema");
    std::fs::create_dir_all(&schema).unwrap();
    std::fs::write(schema.join("entities.yaml"), yaml).unwrap();
}

fn packages(name: &str, contents: &[(&str, &str)]) -> PathBuf {
    let dir = fresh_dir(name);
    for (id, yaml) in contents {
        write_package(&dir, id, yaml);
    }
    dir
}

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout_of(output)).expect("one JSON document on stdout")
}

fn with_packages<'a>(dir: &'a Path, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--packages", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    all
}

#[test]
fn check_reports_checksums_and_exits_0_for_valid_packages() {
    let dir = packages("check_ok", &[("forum", FORUM), ("wiki", WIKI)]);
    let out = run_cli(
        "postgres://unused",
        &with_packages(&dir, &["check", "--json"]),
        "",
    );
    let report = json(&out);
    let forum = &report["packages"][0];
    assert_eq!(forum["package"], "forum");
    assert_eq!(forum["entities"][0]["name"], "ForumThread");
    let checksum = forum["entities"][0]["checksum"].as_str().unwrap();
    assert!(
        checksum.starts_with("v1:") && checksum.len() == 67,
        "{checksum}"
    );
    assert_eq!(report["conflicts"], serde_json::json!([]));
}

#[test]
fn check_exits_1_with_file_line_and_column_for_a_bad_package_and_a_conflict() {
    let broken = FORUM.replace(
        "type: string, required: true, maxLength",
        "type: jsonb, required: true, maxLength",
    );
    let dir = packages(
        "check_bad",
        &[
            ("forum", &broken),
            ("wiki", WIKI),
            ("wiki_fork", &WIKI.replace("[public]", "[user]")),
        ],
    );
    let out = run_cli(
        "postgres://unused",
        &with_packages(&dir, &["check", "--json"]),
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = &report["packages"][0]["errors"][0];
    assert!(
        error["file"]
            .as_str()
            .unwrap()
            .ends_with("forum/seed/schema/entities.yaml"),
        "{error}"
    );
    assert_eq!(
        (error["line"].as_u64(), error["path"].as_str()),
        (Some(6), Some("ForumThread.fields.title.type")),
        "{error}"
    );
    assert!(
        error["message"].as_str().unwrap().contains("jsonb"),
        "{error}"
    );
    assert_eq!(report["conflicts"][0]["entity"], "WikiPage");
    assert_eq!(
        report["conflicts"][0]["declarations"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn preview_and_generate_render_prisma_without_a_database() {
    let dir = packages("render", &[("forum", FORUM), ("wiki", WIKI)]);
    let preview = stdout_of(&run_cli(
        "postgres://unused",
        &with_packages(&dir, &["preview", "forum"]),
        "",
    ));
    assert!(preview.contains("model ForumThread {"), "{preview}");
    assert!(!preview.contains("model WikiPage"), "{preview}");

    let out_file = dir.join("schema.prisma");
    let out = out_file.to_str().unwrap();
    stdout_of(&run_cli(
        "postgres://unused",
        &with_packages(&dir, &["generate", "--from-packages", "--out", out]),
        "",
    ));
    let schema = std::fs::read_to_string(&out_file).unwrap();
    for needle in [
        "datasource db",
        "model Tenant",
        "model ForumThread",
        "model WikiPage",
    ] {
        assert!(schema.contains(needle), "{needle} missing:\n{schema}");
    }
    // `make test` runs Prisma's own parser over everything in target/prisma-oracle.
    let oracle = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/prisma-oracle");
    std::fs::create_dir_all(&oracle).unwrap();
    std::fs::write(oracle.join("cli_generate.prisma"), &schema).unwrap();

    let unknown = run_cli(
        "postgres://unused",
        &with_packages(&dir, &["preview", "nope"]),
        "",
    );
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn generate_refuses_to_render_while_conflicts_exist() {
    let dir = packages(
        "render_conflict",
        &[
            ("wiki", WIKI),
            ("wiki_fork", &WIKI.replace("[public]", "[user]")),
        ],
    );
    let out = run_cli(
        "postgres://unused",
        &with_packages(&dir, &["generate", "--from-packages"]),
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("WikiPage"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn scan_list_show_approve_and_reject_drive_the_registry() {
    let db = fresh_database("review_flow");
    let dir = packages("review_flow", &[("forum", FORUM), ("wiki", WIKI)]);
    stdout_of(&run_cli(
        &db,
        &["user", "add", "alice", "--role", "admin"],
        "long enough\n",
    ));
    stdout_of(&run_cli(
        &db,
        &["user", "add", "vera", "--role", "viewer"],
        "long enough\n",
    ));

    let scan = json(&run_cli(&db, &with_packages(&dir, &["scan", "--json"]), ""));
    assert_eq!(scan["created"].as_array().unwrap().len(), 2);
    let again = json(&run_cli(&db, &with_packages(&dir, &["scan", "--json"]), ""));
    assert_eq!(again["created"], serde_json::json!([]));
    assert_eq!(again["unchanged"].as_array().unwrap().len(), 2);

    let list = json(&run_cli(&db, &["list", "--json"], ""));
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let forum = rows.iter().find(|r| r["package"] == "forum").unwrap();
    let wiki = rows.iter().find(|r| r["package"] == "wiki").unwrap();
    assert_eq!(
        (forum["status"].as_str(), forum["risk"].as_str()),
        (Some("pending"), Some("safe"))
    );
    assert_eq!(wiki["risk"], "security");
    let forum_id = forum["id"].as_str().unwrap();
    let wiki_id = wiki["id"].as_str().unwrap();

    let show = json(&run_cli(&db, &["show", &forum_id[..8], "--json"], ""));
    assert_eq!(show["package"], "forum");
    assert_eq!(show["items"][0]["kind"], "create_entity");
    assert!(
        show["diff"]
            .as_str()
            .unwrap()
            .contains("+model ForumThread {"),
        "{}",
        show["diff"]
    );

    let viewer = run_cli(&db, &["approve", forum_id, "--as", "vera"], "");
    assert_eq!(viewer.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&viewer.stderr).contains("only admins can"));

    let all = json(&run_cli(
        &db,
        &["approve", "--all", "--as", "alice", "--json"],
        "",
    ));
    assert_eq!(all["approved"][0]["package"], "forum");
    assert_eq!(all["skipped"][0]["id"], wiki_id);

    let reject = run_cli(
        &db,
        &[
            "reject",
            wiki_id,
            "--reason",
            "public read is not wanted",
            "--as",
            "alice",
        ],
        "",
    );
    assert_eq!(
        stdout_of(&reject).trim(),
        format!("rejected {wiki_id} (wiki)")
    );
    let twice = run_cli(
        &db,
        &["reject", wiki_id, "--reason", "again", "--as", "alice"],
        "",
    );
    assert_eq!(twice.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&twice.stderr).contains("cannot reject a change that is rejected")
    );

    let status = json(&run_cli(&db, &["status", "--json"], ""));
    assert_eq!(status["counts"]["approved"], 1);
    assert_eq!(status["counts"]["rejected"], 1);
    assert_eq!(status["counts"]["pending"], 0);
    assert_eq!(status["last_scan"]["action"], "scan");

    let pending = json(&run_cli(
        &db,
        &["list", "--status", "approved", "--json"],
        "",
    ));
    assert_eq!(pending.as_array().unwrap().len(), 1);
    let bad_status = run_cli(&db, &["list", "--status", "done"], "");
    assert_eq!(bad_status.status.code(), Some(2));

    let verify = stdout_of(&run_cli(&db, &["audit", "verify"], ""));
    assert!(verify.starts_with("audit log intact"), "{verify}");
}

#[test]
fn an_ambiguous_or_short_prefix_is_refused_with_exit_1() {
    let db = fresh_database("prefix");
    let short = run_cli(&db, &["show", "abc"], "");
    assert_eq!(short.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("too short: give at least 8 characters")
    );
    let unknown = run_cli(&db, &["show", "abcdef12"], "");
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no change matches \"abcdef12\""));
}

#[test]
fn scan_reports_a_package_with_errors_and_exits_1_but_records_the_others() {
    let db = fresh_database("scan_errors");
    let dir = packages(
        "scan_errors",
        &[
            ("forum", &FORUM.replace("maxLength: 200", "maxLength: -1")),
            ("wiki", WIKI),
        ],
    );
    let out = run_cli(&db, &with_packages(&dir, &["scan", "--json"]), "");
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["errors"][0]["package"], "forum");
    assert_eq!(report["created"][0]["package"], "wiki");
}

#[test]
fn acl_check_answers_from_the_applied_policy() {
    let db = fresh_database("acl_check");
    let dir = packages("acl_check", &[("wiki", WIKI)]);
    stdout_of(&run_cli(
        &db,
        &["user", "add", "alice", "--role", "admin"],
        "long enough\n",
    ));
    stdout_of(&run_cli(&db, &with_packages(&dir, &["scan"]), ""));
    let unknown = run_cli(&db, &["acl", "check", "user", "read", "WikiPage"], "");
    assert_eq!(unknown.status.code(), Some(1), "nothing is applied yet");
    assert!(String::from_utf8_lossy(&unknown.stderr)
        .contains("no applied package declares entity \"WikiPage\""));

    let list: serde_json::Value =
        serde_json::from_str(&stdout_of(&run_cli(&db, &["list", "--json"], ""))).unwrap();
    let id = list[0]["id"].as_str().unwrap().to_string();
    stdout_of(&run_cli(&db, &["approve", &id, "--as", "alice"], ""));
    let schema = dir.join("applied.prisma");
    stdout_of(&run_cli(
        &db,
        &["apply", "--schema-out", schema.to_str().unwrap()],
        "",
    ));

    let anyone = stdout_of(&run_cli(
        &db,
        &["acl", "check", "guest", "read", "WikiPage"],
        "",
    ));
    // Granted to everyone, within the acting tenant: WikiPage rows carry a tenantId.
    let tenant = "\"WikiPage\".\"tenantId\" = NULLIF(current_setting('app.tenant_id', true), '')";
    assert_eq!(
        anyone.trim(),
        format!(
            "allow: read on WikiPage is granted to public, only in the acting tenant (rows where {tenant}) (policy of package wiki)\n\
             enforced by PostgreSQL as:\n\
             CREATE POLICY schemagate_read ON \"WikiPage\" AS PERMISSIVE FOR SELECT TO PUBLIC\n    \
             USING (((NULLIF(current_setting('app.user_id', true), '') IS NOT NULL AND current_setting('app.role', true) IN ('god', 'supergod')) OR {tenant}));"
        )
    );
    let denied = run_cli(&db, &["acl", "check", "user", "delete", "WikiPage"], "");
    assert_eq!(denied.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&denied.stdout).trim(),
        "deny: delete is granted to no role (policy of package wiki)\n\
         enforced by PostgreSQL as:\n\
         CREATE POLICY schemagate_delete ON \"WikiPage\" AS PERMISSIVE FOR DELETE TO PUBLIC\n    USING (false);"
    );
    let bad = run_cli(&db, &["acl", "check", "user", "drop", "WikiPage"], "");
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn acl_check_fails_closed_for_an_owner_grant_without_an_owner() {
    const FOLLOWS: &str = "entities:\n  - name: Follow\n    fields:\n      id: { type: cuid, primary: true }\n      followerId: { type: string }\n    acl:\n      read: [user]\n      delete: [owner]\n";
    let db = fresh_database("acl_unowned");
    let dir = packages("acl_unowned", &[("follows", FOLLOWS)]);
    stdout_of(&run_cli(
        &db,
        &["user", "add", "alice", "--role", "admin"],
        "long enough\n",
    ));
    stdout_of(&run_cli(&db, &with_packages(&dir, &["scan"]), ""));
    let list: serde_json::Value =
        serde_json::from_str(&stdout_of(&run_cli(&db, &["list", "--json"], ""))).unwrap();
    let id = list[0]["id"].as_str().unwrap().to_string();
    stdout_of(&run_cli(&db, &["approve", &id, "--as", "alice"], ""));
    let schema = dir.join("applied.prisma");
    stdout_of(&run_cli(
        &db,
        &["apply", "--schema-out", schema.to_str().unwrap()],
        "",
    ));

    let denied = run_cli(&db, &["acl", "check", "user", "delete", "Follow"], "");
    assert_eq!(
        denied.status.code(),
        Some(1),
        "the owner grant admits no row"
    );
    assert_eq!(
        String::from_utf8_lossy(&denied.stdout).trim(),
        "deny: delete is granted to owner only, and the owner grant matches no row (entity \"Follow\" \
         has no owner field, no relation to User and no required parent with an owner; it fails closed) \
         (policy of package follows)\n\
         enforced by PostgreSQL as:\n\
         CREATE POLICY schemagate_delete ON \"Follow\" AS PERMISSIVE FOR DELETE TO PUBLIC\n    USING (false);"
    );
}

#[test]
fn the_role_vocabulary_and_ownership_severity_are_configuration() {
    let custom = format!("{FORUM}    acl:\n      read: [auditor]\n");
    let dir = packages("vocabulary", &[("forum", &custom)]);
    let default = run_cli(
        "postgres://unused",
        &with_packages(&dir, &["check", "--json"]),
        "",
    );
    assert_eq!(
        default.status.code(),
        Some(1),
        "auditor is not a default role"
    );
    assert!(String::from_utf8_lossy(&default.stdout).contains("auditor"));
    let configured = run_cli(
        "postgres://unused",
        &with_packages(&dir, &["--roles", "user,admin,auditor", "check"]),
        "",
    );
    assert!(
        configured.status.success(),
        "{}",
        String::from_utf8_lossy(&configured.stdout)
    );

    // ForumThread reaches Tenant; with another root it does not, which is an error on request.
    let strict = run_cli(
        "postgres://unused",
        &with_packages(
            &dir,
            &[
                "--roles",
                "auditor",
                "--root-model",
                "User",
                "--ownership-errors",
                "check",
            ],
        ),
        "",
    );
    assert_eq!(strict.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&strict.stdout)
            .contains("cannot reach the ownership root \"User\""),
        "{}",
        String::from_utf8_lossy(&strict.stdout)
    );
}

#[test]
fn role_and_setting_names_outside_their_grammar_are_refused_at_start() {
    let dir = packages("bad_names", &[("forum", FORUM)]);
    for (flag, value, expected) in [
        (
            "--roles",
            "user,mod'; DROP TABLE x; --",
            "invalid role name \"mod'; DROP TABLE x; --\"",
        ),
        (
            "--user-setting",
            "app.user id",
            "invalid setting name \"app.user id\"",
        ),
        ("--role-setting", "role", "invalid setting name \"role\""),
        (
            "--role-hierarchy",
            "admin > Mod",
            "invalid role name \"Mod\"",
        ),
    ] {
        let output = run_cli(
            "postgres://unused",
            &with_packages(&dir, &[flag, value, "check"]),
            "",
        );
        assert_eq!(output.status.code(), Some(2), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{flag} {value}: {stderr}");
    }
}

/// `acl check` answers with what the database enforces: the configuration kept with the applied
/// package, not the flags of the process asking; when they differ, it says so.
#[test]
fn acl_check_answers_with_the_configuration_the_package_was_applied_with() {
    let db = fresh_database("acl_check_applied_config");
    let admin_only = WIKI.replace("read: [public]", "read: [public]\n      delete: [admin]");
    let dir = packages("acl_check_applied_config", &[("wiki", &admin_only)]);
    stdout_of(&run_cli(
        &db,
        &["user", "add", "alice", "--role", "admin"],
        "long enough\n",
    ));
    stdout_of(&run_cli(&db, &with_packages(&dir, &["scan"]), ""));
    let list: serde_json::Value =
        serde_json::from_str(&stdout_of(&run_cli(&db, &["list", "--json"], ""))).unwrap();
    let id = list[0]["id"].as_str().unwrap().to_string();
    stdout_of(&run_cli(&db, &["approve", &id, "--as", "alice"], ""));
    let schema = dir.join("applied.prisma");
    stdout_of(&run_cli(
        &db,
        &["apply", "--schema-out", schema.to_str().unwrap()],
        "",
    ));

    // Applied without a hierarchy: only `admin` may delete. A process started with another
    // hierarchy does not change what PostgreSQL enforces.
    let asked = run_cli(
        &db,
        &[
            "--role-hierarchy",
            "god > admin",
            "acl",
            "check",
            "god",
            "delete",
            "WikiPage",
        ],
        "",
    );
    let out = String::from_utf8_lossy(&asked.stdout);
    assert_eq!(asked.status.code(), Some(1), "{out}");
    assert!(out.starts_with("deny: "), "{out}");
    assert!(
        out.contains("IN ('admin')) AND") && !out.contains("IN ('admin', 'god')"),
        "{out}"
    );
    assert!(
        out.contains("note: this process's configuration (settings, --role-hierarchy) would compile another policy"),
        "{out}"
    );
    // With the configuration it was applied with, no note.
    let same = stdout_of(&run_cli(
        &db,
        &["acl", "check", "admin", "delete", "WikiPage"],
        "",
    ));
    assert!(same.starts_with("allow: "), "{same}");
    assert!(!same.contains("note:"), "{same}");
}

#[test]
fn approve_all_leaves_out_a_change_in_conflict_with_a_package_that_has_errors() {
    let db = fresh_database("review_all_broken");
    // legacy declares ForumThread with another title length, and has a field of an unknown type.
    let legacy = FORUM.replace("maxLength: 200", "maxLength: 80")
        + "  - name: LegacyNote\n    fields:\n      id: { type: cuid, primary: true, generated: true }\n      meta: { type: jsonb, required: false }\n";
    let dir = packages(
        "review_all_broken",
        &[
            ("forum", FORUM),
            ("legacy", &legacy),
            (
                "other",
                &WIKI.replace("    acl:\n      read: [public]\n", ""),
            ),
        ],
    );
    stdout_of(&run_cli(
        &db,
        &["user", "add", "alice", "--role", "admin"],
        "long enough\n",
    ));
    let scan = run_cli(&db, &with_packages(&dir, &["scan", "--json"]), "");
    let created: Vec<String> = serde_json::from_slice::<serde_json::Value>(&scan.stdout).unwrap()
        ["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["package"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(created, ["forum", "other"], "legacy has errors: no change");

    let all = json(&run_cli(
        &db,
        &with_packages(&dir, &["approve", "--all", "--as", "alice", "--json"]),
        "",
    ));
    assert_eq!(all["approved"].as_array().unwrap().len(), 1, "{all}");
    assert_eq!(all["approved"][0]["package"], "other");
    let why = all["skipped"][0]["reason"].as_str().unwrap();
    assert!(
        why.starts_with("conflict with a package that has errors: ForumThread is declared differently by legacy, which has validation errors (unknown field type \"jsonb\""),
        "{why}"
    );
}

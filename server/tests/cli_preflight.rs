//! Preflight against the live platform database, on real PostgreSQL with seeded rows per
//! hazard: the exact counts and example keys in `show --json`, approval refused while rows
//! would make the plan fail (with the expand/contract way forward), and the restart job failing
//! the change, running nothing, when rows appear after the approval.

mod apply_support;
mod support;

use apply_support::{applied, approve, engine_apply, scan_for, show, write_package, Sql};
use support::{run_cli, stdout_of};

fn post_yaml(title_required: bool) -> String {
    format!(
        "entities:
  - name: Post
    fields:
      id: {{ type: string, primary: true }}
      tenantId: {{ type: string, required: true }}
      title: {{ type: string, required: {title_required} }}
    relations:
      - name: tenant
        type: belongsTo
        entity: Tenant
        field: tenantId
"
    )
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn fact<'a>(report: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    report["preflight"]["facts"]
        .as_array()
        .and_then(|facts| facts.iter().find(|f| f["hazard"]["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} fact in {}", report["preflight"]))
}

#[test]
fn a_column_made_required_over_null_rows_is_refused_at_approval_and_at_apply_until_backfilled() {
    let (db, dir) = apply_support::platform_with_admin("preflight_not_null");
    applied(&db, &dir, "blog", &post_yaml(false));
    let mut sql = Sql::connect(&db);
    sql.script(
        "insert into \"Tenant\" (id) values ('t1');
         insert into \"Post\" (id, \"tenantId\", title) values
           ('p1', 't1', 'kept'), ('p2', 't1', null), ('p3', 't1', null);",
    );
    write_package(&dir, "blog", &post_yaml(true));
    let change = scan_for(&db, &dir, "blog");

    let shown = show(&db, &change);
    let not_null = fact(&shown, "not_null");
    assert_eq!(
        (
            not_null["rows"].as_i64(),
            not_null["violating"].as_i64(),
            not_null["examples"].clone()
        ),
        (Some(3), Some(2), serde_json::json!(["p2", "p3"])),
        "{shown}"
    );
    assert_eq!(shown["preflight"]["source"], "platform");
    let text = stdout_of(&run_cli(&db, &["show", &change], ""));
    assert!(
        text.contains("-- preflight: makes \"Post\".\"title\" required: 2 of 3 rows would make it fail (for example p2; p3)"),
        "{text}"
    );

    let refused = approve(&db, &change);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        stderr(&refused)
    );
    assert!(
        said.contains("2 of 3 rows would make it fail")
            && said.contains("expand/contract: keep title optional, backfill the rows that hold null, then make it required in a later change"),
        "{said}"
    );
    assert_eq!(show(&db, &change)["status"], "pending");

    // Backfilled, it is approved; a null row written after the approval stops the restart job,
    // which runs nothing.
    sql.script("update \"Post\" set title = 'backfilled' where title is null;");
    stdout_of(&approve(&db, &change));
    sql.script("insert into \"Post\" (id, \"tenantId\", title) values ('p4', 't1', null);");
    let run = engine_apply(&db, &dir, &[]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["failed"][0]["reason"], "preflight", "{report}");
    let after = show(&db, &change);
    let log = after["apply_log"].as_str().unwrap_or_default();
    assert!(
        log.contains("nothing was run")
            && log.contains("1 of 4 rows would make it fail (for example p4)"),
        "{log}"
    );
    assert_eq!(
        sql.count("select count(*) from information_schema.columns where table_name = 'Post' and column_name = 'title' and is_nullable = 'YES'"),
        1,
        "the column is still optional"
    );

    // While the row is still there, a retry would fail again: refused, saying what to do.
    let early = run_cli(&db, &["retry", &change, "--as", "alice"], "");
    assert_eq!(early.status.code(), Some(1), "{}", stderr(&early));
    assert!(
        stderr(&early).contains(
            "preflight against the live database still finds rows that would make the plan fail"
        ) && stderr(&early).contains("fix those rows"),
        "{}",
        stderr(&early)
    );
    assert_eq!(show(&db, &change)["status"], "failed");
    sql.script("update \"Post\" set title = 'late' where id = 'p4';");
    stdout_of(&run_cli(&db, &["retry", &change, "--as", "alice"], ""));
    let again = engine_apply(&db, &dir, &[]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(
        sql.count("select count(*) from information_schema.columns where table_name = 'Post' and column_name = 'title' and is_nullable = 'NO'"),
        1
    );
}

fn shop_yaml(v2: bool) -> String {
    let (slug, code, moods, legacy, author, scrap) = if v2 {
        (
            "{ type: string, required: false, unique: true }",
            "{ type: string, required: true, maxLength: 5 }",
            "[calm, odd]",
            "",
            "      - name: author\n        type: belongsTo\n        entity: User\n        field: authorId\n",
            "",
        )
    } else {
        (
            "{ type: string, required: false }",
            "{ type: string, required: true, maxLength: 50 }",
            "[calm, odd, wild]",
            "      legacy: { type: string, required: false }\n",
            "",
            "  - name: Scrap\n    fields:\n      id: { type: string, primary: true }\n",
        )
    };
    format!(
        "entities:
  - name: Item
    fields:
      id: {{ type: string, primary: true }}
      tenantId: {{ type: string, required: true }}
      slug: {slug}
      code: {code}
      mood: {{ type: string, required: false, enum: {moods} }}
{legacy}      authorId: {{ type: string, required: false }}
    relations:
      - name: tenant
        type: belongsTo
        entity: Tenant
        field: tenantId
{author}{scrap}"
    )
}

#[test]
fn duplicates_orphans_long_values_and_drops_show_exact_counts_and_block_approval() {
    let (db, dir) = apply_support::platform_with_admin("preflight_hazards");
    applied(&db, &dir, "shop", &shop_yaml(false));
    let mut sql = Sql::connect(&db);
    sql.script(
        "insert into \"Tenant\" (id) values ('t1');
         insert into \"User\" (id) values ('u1');
         insert into \"Item\" (id, \"tenantId\", slug, code, mood, legacy, \"authorId\") values
           ('i1', 't1', 'a', 'short', 'calm', 'x', 'u1'),
           ('i2', 't1', 'a', 'muchtoolong', 'wild', null, 'ghost'),
           ('i3', 't1', 'b', 'abcdefgh', 'wild', 'y', null),
           ('i4', 't1', null, 'ok', 'odd', 'z', 'ghost2');
         insert into \"Scrap\" (id) select 's' || n from generate_series(1, 7) n;",
    );
    write_package(&dir, "shop", &shop_yaml(true));
    let change = scan_for(&db, &dir, "shop");
    let shown = show(&db, &change);
    let numbers = |kind: &str| {
        let f = fact(&shown, kind);
        (
            f["rows"].as_i64(),
            f["violating"].as_i64(),
            f["lost"].as_i64(),
            f["examples"].clone(),
        )
    };
    let none = serde_json::json!([]);
    assert_eq!(
        numbers("unique"),
        (Some(4), Some(2), None, serde_json::json!(["a (2 rows)"])),
        "{shown}"
    );
    assert_eq!(
        numbers("foreign_key"),
        (Some(4), Some(2), None, serde_json::json!(["i2", "i4"]))
    );
    assert_eq!(
        numbers("max_length"),
        (Some(4), Some(2), None, serde_json::json!(["i2", "i3"]))
    );
    // The package's enum is text: the removed value is counted, and blocks nothing.
    assert_eq!(
        numbers("enum_values"),
        (Some(4), Some(2), None, serde_json::json!(["i2", "i3"]))
    );
    assert_eq!(fact(&shown, "enum_values")["statement"], 0);
    assert_eq!(
        numbers("drop_column"),
        (Some(4), None, Some(3), none.clone())
    );
    assert_eq!(numbers("drop_table"), (Some(7), None, Some(7), none));

    let refused = approve(&db, &change);
    assert_eq!(refused.status.code(), Some(1));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        stderr(&refused)
    );
    for expected in [
        "makes \"Item\" (slug) unique: 2 of 4 rows would make it fail (for example a (2 rows))",
        "makes \"Item\" (authorId) reference \"User\": 2 of 4 rows would make it fail (for example i2; i4)",
        "limits \"Item\".\"code\" to 5 characters: 2 of 4 rows would make it fail",
    ] {
        assert!(said.contains(expected), "{expected}\n{said}");
    }
    assert!(
        !said.contains("drops"),
        "drops lose data but do not fail: {said}"
    );
    assert!(
        !said.contains("removed value"),
        "a text enum fails nothing: {said}"
    );

    // Fixed data: the plan passes; the drops still say what they lose.
    sql.script(
        "update \"Item\" set slug = 'c', code = 'long', mood = 'odd', \"authorId\" = 'u1' where id = 'i2';
         update \"Item\" set code = 'abc', mood = 'calm' where id = 'i3';
         update \"Item\" set \"authorId\" = null where id = 'i4';",
    );
    stdout_of(&approve(&db, &change));
    let approved = show(&db, &change);
    assert_eq!(
        approved["preflight"]["facts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["violating"].as_i64().is_some_and(|n| n > 0))
            .count(),
        0,
        "{approved}"
    );
    let run = engine_apply(&db, &dir, &[]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
}

#[test]
fn the_change_page_shows_the_live_numbers_beside_the_statement_and_blocks_approve() {
    let (db, dir) = apply_support::platform_with_admin("preflight_page");
    stdout_of(&run_cli(
        &db,
        &["user", "passwd", "alice"],
        "alice-password\n",
    ));
    applied(&db, &dir, "blog", &post_yaml(false));
    Sql::connect(&db).script(
        "insert into \"Tenant\" (id) values ('t1');
         insert into \"Post\" (id, \"tenantId\", title) values ('p1', 't1', null), ('p2', 't1', 'x');",
    );
    write_package(&dir, "blog", &post_yaml(true));
    let change = scan_for(&db, &dir, "blog");
    let mut command = support::schemagate();
    command
        .env("DATABASE_URL", &db)
        .env("SCHEMAGATE_PLATFORM_DATABASE_URL", &db)
        .env("LEPTOS_SITE_ROOT", support::site_root())
        .args(["serve", "--addr", "127.0.0.1:0", "--scan-on-start", "false"]);
    let server = support::RunningServer::start(command);
    let login = support::http(
        &server.base_url,
        "POST",
        "/api/login",
        &[("Accept", "application/json")],
        Some(&[("username", "alice"), ("password", "alice-password")]),
    );
    let cookie = login.session_cookie().expect("signed in");
    let page = support::http(
        &server.base_url,
        "GET",
        &format!("/changes/{change}"),
        &[("Accept", "text/html"), ("Cookie", &cookie)],
        None,
    );
    assert_eq!(page.status, 200);
    let body = &page.body;
    let fact = "required: 1 of 2 rows would make it fail (for example p1)";
    assert!(
        body.contains("data-testid=\"preflight-fact\"") && body.contains(fact),
        "{body}"
    );
    assert!(body.contains("data-testid=\"approve-blocked\""), "{body}");

    // A drop: nothing fails, and the typed confirmation says exactly what is lost.
    write_package(
        &dir,
        "blog",
        &post_yaml(false).replace("      title: { type: string, required: false }\n", ""),
    );
    let drop = scan_for(&db, &dir, "blog");
    let page = support::http(
        &server.base_url,
        "GET",
        &format!("/changes/{drop}"),
        &[("Accept", "text/html"), ("Cookie", &cookie)],
        None,
    );
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("It drops 1 non-null value of")
            && page
                .body
                .contains("(2 rows). To approve, type the package name: blog"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("data-testid=\"approve-blocked\""));
    server.stop();
}

#[test]
fn a_replica_named_for_preflight_is_the_database_read() {
    let (db, dir) = apply_support::platform_with_admin("preflight_replica");
    applied(&db, &dir, "blog", &post_yaml(false));
    // The "replica": another database whose rows differ from the platform's, so the numbers
    // say which one was read.
    let replica = support::fresh_database("preflight_replica_copy");
    Sql::connect(&replica).script(
        "create table \"Post\" (id text primary key, \"tenantId\" text not null, title text);
         insert into \"Post\" values ('r1', 't1', null), ('r2', 't1', null), ('r3', 't1', 'x');",
    );
    write_package(&dir, "blog", &post_yaml(true));
    let change = scan_for(&db, &dir, "blog");
    assert_eq!(
        fact(&show(&db, &change), "not_null")["rows"].as_i64(),
        Some(0)
    );

    let shown = apply_support::json(&run_cli(
        &db,
        &[
            "--preflight-database-url",
            &replica,
            "--preflight-max-age",
            "1ms",
            "show",
            &change,
            "--json",
        ],
        "",
    ));
    assert_eq!(shown["preflight"]["source"], "replica", "{shown}");
    let not_null = fact(&shown, "not_null");
    assert_eq!(
        (not_null["rows"].as_i64(), not_null["violating"].as_i64()),
        (Some(3), Some(2)),
        "{not_null}"
    );
}

//! The platform database end to end, with the real schema engine and a real PostgreSQL: every
//! corpus package planned, approved and applied as Prisma migrations, then checked from
//! `information_schema` and `pg_catalog` against the schema Schemagate rendered; a second
//! version's ALTER TABLE plan; drift; a plan that no longer holds; `db status`.

mod apply_support;
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use apply_support::{created, json};
use support::{fresh_database, fresh_dir, run_cli, schemagate, stdout_of, with_database};

#[path = "../../app/tests/common/corpus.rs"]
mod common;
use common::corpus_dir;

fn write_package(dir: &Path, id: &str, yaml: &str) {
    let schema = dir.join("packages").join(id).join("seed/schema");
    std::fs::create_dir_all(&schema).unwrap();
    std::fs::write(schema.join("entities.yaml"), yaml).unwrap();
}

fn setup(name: &str) -> (String, PathBuf) {
    let db = fresh_database(name);
    let dir = fresh_dir(name);
    std::fs::create_dir_all(dir.join("prisma")).unwrap();
    stdout_of(&run_cli(
        &db,
        &["user", "add", "alice", "--role", "admin"],
        "long enough\n",
    ));
    (db, dir)
}

fn scan(db: &str, dir: &Path) -> serde_json::Value {
    let packages = dir.join("packages");
    let output = run_cli(
        db,
        &["--packages", packages.to_str().unwrap(), "scan", "--json"],
        "",
    );
    serde_json::from_slice(&output.stdout).expect("scan --json")
}

/// Approves `ids` in passes until none is left that can be approved (dependencies first).
fn approve_all(db: &str, ids: &[String]) {
    let mut left: Vec<String> = ids.to_vec();
    while !left.is_empty() {
        let before = left.len();
        left.retain(|id| {
            !run_cli(db, &["approve", id, "--as", "alice"], "")
                .status
                .success()
        });
        assert!(
            left.len() < before,
            "changes that cannot be approved: {left:?}"
        );
    }
}

fn apply(db: &str, dir: &Path) -> std::process::Output {
    let out = dir.join("prisma/schema.prisma");
    run_cli(
        db,
        &["apply", "--json", "--schema-out", out.to_str().unwrap()],
        "",
    )
}

fn show(db: &str, id: &str) -> serde_json::Value {
    json(&run_cli(db, &["show", id, "--json"], ""))
}

/// A blocking connection to the test database (the platform lives in its `public` schema).
struct Sql {
    runtime: tokio::runtime::Runtime,
    conn: sqlx::PgConnection,
}

impl Sql {
    fn connect(url: &str) -> Sql {
        use sqlx::Connection;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let conn = runtime
            .block_on(sqlx::PgConnection::connect(url))
            .expect("connect");
        Sql { runtime, conn }
    }

    fn execute(&mut self, sql: &str) {
        self.runtime
            .block_on(sqlx::query(sql).execute(&mut self.conn))
            .expect(sql);
    }

    fn rows(&mut self, sql: &str) -> Vec<Vec<Option<String>>> {
        use sqlx::Row;
        let rows = self
            .runtime
            .block_on(sqlx::query(sql).fetch_all(&mut self.conn))
            .expect(sql);
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| row.try_get::<Option<String>, _>(i).unwrap())
                    .collect()
            })
            .collect()
    }
}

/// One model of a rendered Prisma schema, as the database should hold it.
#[derive(Debug, Default)]
struct Table {
    name: String,
    /// column → (Prisma type, optional, default expression)
    columns: BTreeMap<String, (String, bool, Option<String>)>,
    indexes: Vec<Vec<String>>,
    uniques: Vec<Vec<String>>,
    /// (columns, referenced table, referenced columns)
    foreign_keys: Vec<(Vec<String>, String, Vec<String>)>,
}

fn list_in(text: &str, key: &str) -> Vec<String> {
    let Some(at) = text.find(key) else {
        return Vec::new();
    };
    let rest = &text[at + key.len()..];
    let inner = &rest[rest.find('[').unwrap() + 1..rest.find(']').unwrap()];
    inner
        .split(',')
        .map(|s| s.trim().split('(').next().unwrap().trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn mapped(attrs: &str, key: &str) -> Option<String> {
    let at = attrs.find(key)? + key.len();
    let rest = &attrs[at..];
    let start = rest.find('"')? + 1;
    Some(rest[start..start + rest[start..].find('"')?].to_string())
}

/// Reads the rendered schema (the deterministic `prisma format` layout Schemagate writes).
fn parse_schema(text: &str) -> Vec<Table> {
    let models: Vec<&str> = text.split("\nmodel ").skip(1).collect();
    let model_names: Vec<String> = models
        .iter()
        .map(|m| m.split_whitespace().next().unwrap().to_string())
        .collect();
    let mut tables = Vec::new();
    let mut field_columns: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut parsed = Vec::new();
    for model in &models {
        let body = &model[..model.find("\n}").unwrap()];
        let name = body.split_whitespace().next().unwrap().to_string();
        let table = mapped(body, "@@map(").unwrap_or_else(|| name.clone());
        for line in body.lines().skip(1) {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.len() >= 2 && !words[0].starts_with("@@") && !words[0].starts_with("//") {
                let column = mapped(line, "@map(").unwrap_or_else(|| words[0].to_string());
                field_columns.insert((name.clone(), words[0].to_string()), column);
            }
        }
        parsed.push((name, table, body.to_string()));
    }
    let table_of: BTreeMap<String, String> = parsed
        .iter()
        .map(|(n, t, _)| (n.clone(), t.clone()))
        .collect();
    for (name, table_name, body) in &parsed {
        let col = |field: &str| {
            field_columns
                .get(&(name.clone(), field.to_string()))
                .cloned()
                .unwrap_or_else(|| field.to_string())
        };
        let mut table = Table {
            name: table_name.clone(),
            ..Table::default()
        };
        for line in body.lines().skip(1) {
            let line = line.trim();
            let words: Vec<&str> = line.split_whitespace().collect();
            if line.starts_with("@@index") {
                table
                    .indexes
                    .push(list_in(line, "(").iter().map(|f| col(f)).collect());
            } else if line.starts_with("@@unique") {
                table
                    .uniques
                    .push(list_in(line, "(").iter().map(|f| col(f)).collect());
            } else if words.len() >= 2 && !line.starts_with("@@") && !line.starts_with("//") {
                let ty = words[1];
                let base = ty.trim_end_matches('?').trim_end_matches("[]");
                if ty.ends_with("[]") {
                    continue;
                }
                if model_names.iter().any(|m| m == base) {
                    if line.contains("fields:") {
                        let fields: Vec<String> =
                            list_in(line, "fields:").iter().map(|f| col(f)).collect();
                        let target = table_of[base].clone();
                        let refs = list_in(line, "references:")
                            .iter()
                            .map(|f| {
                                field_columns
                                    .get(&(base.to_string(), f.clone()))
                                    .cloned()
                                    .unwrap_or_else(|| f.clone())
                            })
                            .collect();
                        table.foreign_keys.push((fields, target, refs));
                    }
                    continue;
                }
                let db_type = line
                    .split("@db.")
                    .nth(1)
                    .map(|t| t.split_whitespace().next().unwrap().to_string());
                let default = line.split("@default(").nth(1).map(|d| {
                    let mut depth = 1;
                    let end = d
                        .char_indices()
                        .find(|(_, c)| {
                            match c {
                                '(' => depth += 1,
                                ')' => depth -= 1,
                                _ => {}
                            }
                            depth == 0
                        })
                        .unwrap()
                        .0;
                    d[..end].to_string()
                });
                let prisma_type = db_type.map_or(base.to_string(), |t| format!("{base}@{t}"));
                table
                    .columns
                    .insert(col(words[0]), (prisma_type, ty.ends_with('?'), default));
                if line.contains("@unique") {
                    table.uniques.push(vec![col(words[0])]);
                }
            }
        }
        tables.push(table);
    }
    tables
}

/// PostgreSQL's `data_type` for a Prisma scalar type (with its `@db.` attribute).
fn pg_type(prisma: &str) -> &'static str {
    match prisma.split('@').collect::<Vec<_>>().as_slice() {
        [_, t] if t.starts_with("VarChar") => "character varying",
        ["String", ..] => "text",
        ["Int", ..] => "integer",
        ["BigInt", ..] => "bigint",
        ["Float", ..] => "double precision",
        ["Boolean", ..] => "boolean",
        ["DateTime", ..] => "timestamp without time zone",
        ["Json", ..] => "jsonb",
        ["Decimal", ..] => "numeric",
        ["Bytes", ..] => "bytea",
        _ => "USER-DEFINED",
    }
}

#[track_caller]
fn check_default(table: &str, column: &str, declared: Option<&str>, actual: Option<&str>) {
    let what = format!("default of {table}.{column}: declared {declared:?}, database {actual:?}");
    match declared {
        None | Some("cuid()") | Some("uuid()") => assert_eq!(actual, None, "{what}"),
        Some("now()") => assert_eq!(actual, Some("CURRENT_TIMESTAMP"), "{what}"),
        Some("autoincrement()") => {
            assert!(actual.is_some_and(|a| a.starts_with("nextval(")), "{what}")
        }
        Some(literal) => {
            let literal = literal.trim_matches('"');
            assert!(
                actual.is_some_and(|a| a.trim_start_matches('\'').starts_with(literal)),
                "{what}"
            );
        }
    }
}

/// Asserts that the platform database holds every table, column (type, nullability, default),
/// index, unique constraint and foreign key that `schema` declares.
fn assert_database_matches(sql: &mut Sql, schema: &str) {
    let tables = parse_schema(schema);
    assert!(!tables.is_empty());
    for table in &tables {
        let t = &table.name;
        let columns: BTreeMap<String, (String, String, Option<String>)> = sql
            .rows(&format!("select column_name::text, data_type::text, is_nullable::text, column_default::text from information_schema.columns where table_schema = 'public' and table_name = '{t}'"))
            .into_iter()
            .map(|r| (r[0].clone().unwrap(), (r[1].clone().unwrap(), r[2].clone().unwrap(), r[3].clone())))
            .collect();
        assert!(
            !columns.is_empty(),
            "table {t} is missing from the platform database"
        );
        for (column, (prisma, optional, default)) in &table.columns {
            let (data_type, nullable, actual_default) = columns
                .get(column)
                .unwrap_or_else(|| panic!("column {t}.{column} is missing: {columns:?}"));
            assert_eq!(
                data_type,
                pg_type(prisma),
                "type of {t}.{column} ({prisma})"
            );
            assert_eq!(nullable == "YES", *optional, "nullability of {t}.{column}");
            check_default(t, column, default.as_deref(), actual_default.as_deref());
        }
        let indexes: Vec<(bool, Vec<String>)> = sql
            .rows(&format!(
                "select i.indisunique::text, string_agg(a.attname::text, ',' order by k.ord)
                 from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
                 cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)
                 join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
                 where n.nspname = 'public' and c.relname = '{t}' and not i.indisprimary
                 group by i.indexrelid, i.indisunique"
            ))
            .into_iter()
            .map(|r| (r[0].as_deref() == Some("true"), r[1].clone().unwrap().split(',').map(str::to_string).collect()))
            .collect();
        for index in &table.indexes {
            assert!(
                indexes.iter().any(|(u, cols)| !u && cols == index),
                "index {t}{index:?} missing: {indexes:?}"
            );
        }
        for unique in &table.uniques {
            assert!(
                indexes.iter().any(|(u, cols)| *u && cols == unique),
                "unique {t}{unique:?} missing: {indexes:?}"
            );
        }
        let fks: Vec<(Vec<String>, String, Vec<String>)> = sql
            .rows(&format!(
                "select (select string_agg(a.attname::text, ',' order by k.ord) from unnest(c.conkey) with ordinality k(n, ord) join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n),
                        f.relname::text,
                        (select string_agg(a.attname::text, ',' order by k.ord) from unnest(c.confkey) with ordinality k(n, ord) join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n)
                 from pg_constraint c join pg_class r on r.oid = c.conrelid join pg_class f on f.oid = c.confrelid
                 join pg_namespace n on n.oid = r.relnamespace
                 where c.contype = 'f' and n.nspname = 'public' and r.relname = '{t}'"
            ))
            .into_iter()
            .map(|r| {
                let split = |s: &Option<String>| s.clone().unwrap().split(',').map(str::to_string).collect();
                (split(&r[0]), r[1].clone().unwrap(), split(&r[2]))
            })
            .collect();
        for fk in &table.foreign_keys {
            assert!(fks.contains(fk), "foreign key {t}{fk:?} missing: {fks:?}");
        }
    }
}

fn prisma_migrations(sql: &mut Sql) -> Vec<(String, bool)> {
    sql.rows("select migration_name, (finished_at is not null and rolled_back_at is null)::text from _prisma_migrations order by started_at")
        .into_iter()
        .map(|r| (r[0].clone().unwrap(), r[1].as_deref() == Some("true")))
        .collect()
}

#[test]
fn every_corpus_package_is_planned_approved_and_applied_and_the_database_holds_what_the_schema_declares(
) {
    let test = "cli_platform::every_corpus_package_is_planned_approved_and_applied";
    let Some(corpus) = corpus_dir(test) else {
        return;
    };
    let (db, dir) = setup("corpus_platform");
    let mut count = 0;
    for entry in std::fs::read_dir(&corpus).expect("the corpus") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let id = name.split("__").next().unwrap().replace('_', "-");
            write_package(&dir, &id, &std::fs::read_to_string(&path).unwrap());
            count += 1;
        }
    }
    let report = scan(&db, &dir);
    let ids: Vec<String> = report["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["change"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), count, "{report}");
    for id in &ids {
        let change = show(&db, id);
        assert!(
            change["plan_sql"]
                .as_str()
                .is_some_and(|s| s.contains("CREATE TABLE")),
            "{}: {}",
            change["package"],
            change["plan_error"]
        );
        assert!(change["plan"]
            .as_array()
            .is_some_and(|p| p.iter().all(|s| s["lock"].is_string())));
    }
    approve_all(&db, &ids);
    // Before the first apply the empty database is no drift: the restart job's next run gives
    // it the baseline, so the status says that instead.
    let before = run_cli(&db, &["db", "status", "--json"], "");
    assert_eq!(before.status.code(), Some(0));
    let before = json(&before);
    assert_eq!(before["awaiting_baseline"], true, "{before}");
    assert!(before["drift"].is_null(), "{before}");
    let output = apply(&db, &dir);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let applied = json(&output);
    assert_eq!(
        applied["applied"].as_array().unwrap().len(),
        count,
        "{applied}"
    );

    let mut sql = Sql::connect(&db);
    let schema = std::fs::read_to_string(dir.join("prisma/schema.prisma")).unwrap();
    assert_database_matches(&mut sql, &schema);
    let migrations = prisma_migrations(&mut sql);
    for id in &ids {
        let rows: Vec<_> = migrations
            .iter()
            .filter(|(name, _)| name.ends_with(&id[..8]))
            .collect();
        assert_eq!(rows.len(), 1, "{id}: {migrations:?}");
        assert!(rows[0].1, "{rows:?}");
    }
    assert_eq!(
        migrations.len(),
        count + 1,
        "one per change plus the baseline: {migrations:?}"
    );
    let registry_tables = sql.rows("select table_name::text from information_schema.tables where table_schema = 'public' and table_name in ('schema_change', 'account', '_sqlx_migrations')");
    assert!(
        registry_tables.is_empty(),
        "the registry must not be among the platform's tables: {registry_tables:?}"
    );

    let status = json(&run_cli(&db, &["db", "status", "--json"], ""));
    assert!(status["drift"].is_null(), "{status}");
    assert_eq!(status["awaiting_baseline"], false, "{status}");
    assert_eq!(status["migrations"].as_array().unwrap().len(), count + 1);
    assert!(status["tables"].as_array().unwrap().len() > count);
    // A second run has nothing to do.
    let again = json(&apply(&db, &dir));
    assert!(again["applied"].as_array().unwrap().is_empty(), "{again}");
    assert_eq!(prisma_migrations(&mut sql).len(), count + 1);
}

const BOOKS_V1: &str = "entities:
  - name: Book
    fields:
      id: { type: cuid, primary: true, generated: true }
      tenantId: { type: string, required: true }
      title: { type: string, required: true, maxLength: 200 }
      nickname: { type: string, nullable: true }
      isbn: { type: string, required: true, index: true }
    relations:
      - name: tenant
        type: belongsTo
        entity: Tenant
        field: tenantId
";

/// V1 with a column added (`blurb`), one dropped (`nickname`) and the index made unique.
fn books_v2() -> String {
    BOOKS_V1
        .replace(
            "      nickname: { type: string, nullable: true }\n",
            "      blurb: { type: string, nullable: true }\n",
        )
        .replace(
            "isbn: { type: string, required: true, index: true }",
            "isbn: { type: string, required: true, unique: true }",
        )
}

fn shelf(entity: &str) -> String {
    format!(
        "entities:
  - name: {entity}
    fields:
      id: {{ type: cuid, primary: true, generated: true }}
      tenantId: {{ type: string, required: true }}
    relations:
      - name: tenant
        type: belongsTo
        entity: Tenant
        field: tenantId
"
    )
}

#[test]
fn a_second_version_shows_its_alter_table_plan_before_approval_and_migrates() {
    let (db, dir) = setup("books_v2");
    write_package(&dir, "books", BOOKS_V1);
    let v1 = created(&scan(&db, &dir), "books");
    approve_all(&db, &[v1]);
    assert!(apply(&db, &dir).status.success());

    write_package(&dir, "books", &books_v2());
    let v2 = created(&scan(&db, &dir), "books");
    let sql = stdout_of(&run_cli(&db, &["show", &v2, "--sql"], ""));
    for expected in [
        "ALTER TABLE \"Book\" DROP COLUMN \"nickname\",\nADD COLUMN     \"blurb\" TEXT;",
        "DROP INDEX \"Book_isbn_idx\";",
        "CREATE UNIQUE INDEX \"Book_isbn_key\" ON \"Book\"(\"isbn\");",
    ] {
        assert!(sql.contains(expected), "expected {expected:?} in:\n{sql}");
    }
    let plan = show(&db, &v2)["plan"].clone();
    let alter = plan
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "ALTER TABLE DROP COLUMN, ADD COLUMN")
        .expect("the alter statement");
    assert_eq!(alter["lock"], "access_exclusive");
    assert_eq!(alter["rewrites"], false);
    assert!(
        alter["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == "Book.fields.nickname"),
        "{alter}"
    );
    let text = stdout_of(&run_cli(&db, &["show", &v2], ""));
    assert!(text.contains("lock ACCESS EXCLUSIVE"), "{text}");

    approve_all(&db, std::slice::from_ref(&v2));
    let output = apply(&db, &dir);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let mut sql = Sql::connect(&db);
    let columns: Vec<String> = sql.rows("select column_name::text from information_schema.columns where table_schema = 'public' and table_name = 'Book' order by 1").into_iter().map(|r| r[0].clone().unwrap()).collect();
    assert!(
        columns.contains(&"blurb".to_string()) && !columns.contains(&"nickname".to_string()),
        "{columns:?}"
    );
    let unique = sql.rows("select indexdef from pg_indexes where schemaname = 'public' and indexname = 'Book_isbn_key'");
    assert!(
        unique[0][0]
            .as_deref()
            .is_some_and(|d| d.starts_with("CREATE UNIQUE INDEX")),
        "{unique:?}"
    );
    assert_database_matches(
        &mut sql,
        &std::fs::read_to_string(dir.join("prisma/schema.prisma")).unwrap(),
    );
    assert_eq!(prisma_migrations(&mut sql).len(), 3);
}

#[test]
fn a_column_added_by_hand_fails_the_next_apply_for_drift_and_nothing_is_half_applied() {
    let (db, dir) = setup("platform_drift");
    write_package(&dir, "books", BOOKS_V1);
    let v1 = created(&scan(&db, &dir), "books");
    approve_all(&db, &[v1]);
    assert!(apply(&db, &dir).status.success());
    let mut sql = Sql::connect(&db);
    sql.execute("alter table public.\"Book\" add column \"handAdded\" text");

    write_package(&dir, "shelves", &shelf("Shelf"));
    let shelves = created(&scan(&db, &dir), "shelves");
    approve_all(&db, std::slice::from_ref(&shelves));
    let output = apply(&db, &dir);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["failed"][0]["reason"], "drift", "{report}");
    let change = show(&db, &shelves);
    assert_eq!(change["status"], "failed");
    assert_eq!(change["failure_reason"], "drift");
    assert!(
        change["apply_log"].as_str().unwrap().contains("handAdded"),
        "{}",
        change["apply_log"]
    );
    let shelf_tables = sql.rows("select table_name::text from information_schema.tables where table_schema = 'public' and table_name = 'Shelf'");
    assert!(shelf_tables.is_empty());
    assert!(!prisma_migrations(&mut sql)
        .iter()
        .any(|(name, _)| name.ends_with(&shelves[..8])));
    let status = run_cli(&db, &["db", "status", "--json"], "");
    assert_eq!(status.status.code(), Some(1));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(status["drift"]["summary"]
        .as_str()
        .unwrap()
        .contains("handAdded"));
}

#[test]
fn a_change_whose_planned_state_did_not_come_to_pass_is_refused_as_plan_changed() {
    // books v2 adds a shared entity and a required column, which fails on the row written after
    // its approval (preflight refuses it at apply); shelves declares the same shared entity and
    // was approved with books v2 in its future, so its SQL left the shared table out. Applied
    // without books v2, its SQL would differ.
    let (db, dir) = setup("plan_pinning");
    write_package(&dir, "books", BOOKS_V1);
    let v1 = created(&scan(&db, &dir), "books");
    approve_all(&db, &[v1]);
    assert!(apply(&db, &dir).status.success());
    let mut sql = Sql::connect(&db);

    let shared = shelf("Label").replace("entities:\n", "");
    let v2 = format!(
        "{}{shared}",
        BOOKS_V1.replace(
            "      isbn:",
            "      pages: { type: int, required: true }\n      isbn:"
        )
    );
    write_package(&dir, "books", &v2);
    write_package(&dir, "shelves", &format!("{}{shared}", shelf("Shelf")));
    let report = scan(&db, &dir);
    let (books, shelves) = (created(&report, "books"), created(&report, "shelves"));
    approve_all(&db, std::slice::from_ref(&books));
    sql.execute("insert into public.\"Tenant\" (id) values ('t')");
    sql.execute("insert into public.\"Book\" (id, \"tenantId\", title, isbn) values ('b', 't', 'A book', '1')");
    let planned_at_scan = show(&db, &shelves)["plan_sql"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        planned_at_scan.contains("CREATE TABLE \"Label\""),
        "{planned_at_scan}"
    );
    // Approval plans over the future (books v2 approved): the plan moved, so the first approval
    // is refused and the change carries the new plan.
    let first = run_cli(&db, &["approve", &shelves, "--as", "alice"], "");
    assert_eq!(first.status.code(), Some(1));
    let said = String::from_utf8_lossy(&first.stderr).into_owned()
        + &String::from_utf8_lossy(&first.stdout);
    assert!(said.contains("the SQL plan of shelves changed"), "{said}");
    approve_all(&db, std::slice::from_ref(&shelves));
    let approved = show(&db, &shelves);
    assert!(
        !approved["plan_sql"].as_str().unwrap().contains("\"Label\""),
        "{}",
        approved["plan_sql"]
    );

    let output = apply(&db, &dir);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let reason = |id: &str| {
        report["failed"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .map(|f| f["reason"].clone())
    };
    assert_eq!(reason(&books), Some("preflight".into()), "{report}");
    assert_eq!(reason(&shelves), Some("plan_changed".into()), "{report}");
    assert!(show(&db, &shelves)["apply_log"]
        .as_str()
        .unwrap()
        .contains("CREATE TABLE \"Label\""));
    // Nothing of books ran: no table, no finished migration.
    let tables = sql.rows("select table_name::text from information_schema.tables where table_schema = 'public' and table_name in ('Label', 'Shelf')");
    assert!(tables.is_empty(), "{tables:?}");
    let books_rows: Vec<_> = prisma_migrations(&mut sql)
        .into_iter()
        .filter(|(n, _)| n.ends_with(&books[..8]))
        .collect();
    assert!(
        books_rows.iter().all(|(_, finished)| !finished),
        "{books_rows:?}"
    );
    let db_status = json(&run_cli(&db, &["db", "status", "--json"], ""));
    assert!(db_status["drift"].is_null(), "{db_status}");

    // Retry cures it: the first plans it again over what is applied and approved now (books v2
    // failed, so shelves creates the shared table) and shows that SQL for review; the second
    // sends it back with it, and the restart job applies it.
    let first = run_cli(&db, &["retry", &shelves, "--as", "alice"], "");
    assert_eq!(first.status.code(), Some(1));
    let replanned = show(&db, &shelves);
    assert_eq!(replanned["status"], "failed");
    assert!(
        replanned["plan_sql"]
            .as_str()
            .unwrap()
            .contains("CREATE TABLE \"Label\""),
        "{}",
        replanned["plan_sql"]
    );
    stdout_of(&run_cli(&db, &["retry", &shelves, "--as", "alice"], ""));
    apply(&db, &dir);
    assert_eq!(show(&db, &shelves)["status"], "applied");
}

/// With only `DATABASE_URL`, the restart job migrates `<registry database>_platform`, created
/// beside the registry's database, and never the registry's own database.
#[test]
fn with_only_the_registry_url_the_platform_is_a_database_beside_it() {
    let (db, dir) = setup("platform_beside");
    write_package(&dir, "shelves", &shelf("Shelf"));
    let id = created(&scan(&db, &dir), "shelves");
    approve_all(&db, std::slice::from_ref(&id));
    let out = dir.join("prisma/schema.prisma");
    let output = schemagate()
        .env("DATABASE_URL", &db)
        .env_remove("SCHEMAGATE_PLATFORM_DATABASE_URL")
        .args(["apply", "--json", "--schema-out", out.to_str().unwrap()])
        .output()
        .expect("run apply");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let public_tables = "select table_name::text from information_schema.tables
                          where table_schema = 'public' order by 1";
    let registry_tables = Sql::connect(&db).rows(public_tables);
    assert!(registry_tables.is_empty(), "{registry_tables:?}");
    let registry_name = db.split('?').next().unwrap().rsplit('/').next().unwrap();
    let platform = with_database(&db, &format!("{registry_name}_platform"));
    let tables: Vec<String> = Sql::connect(&platform)
        .rows(public_tables)
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    assert!(
        tables.contains(&"Shelf".to_owned()) && tables.contains(&"_prisma_migrations".to_owned()),
        "{tables:?}"
    );
}

use super::*;
use crate::domain::base_schema::BaseSchema;
use crate::domain::config::Config;
use crate::domain::dialect::parse_entities;

const BASE: &str = "datasource db {\n  provider = \"postgresql\"\n  url      = env(\"DATABASE_URL\")\n}\n\nmodel User {\n  id String @id\n}\n";

fn entities(yaml: &str) -> Vec<crate::domain::model::Entity> {
    let parsed = parse_entities(yaml, "entities.yaml", &Config::default());
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    parsed.entities
}

/// A change to a forum package (Forum, Post → User) beside another package's `Shop` and
/// `ForumArchive` tables.
fn scope() -> PlanScope {
    let own = entities(
        "entities:\n  - name: Forum\n    fields:\n      id: { type: cuid, primary: true }\n      title: { type: string }\n    indexes:\n      - fields: [title]\n        name: forum_title_custom\n  - name: Post\n    tableName: forum_post\n    fields:\n      id: { type: cuid, primary: true }\n      forumId: { type: string }\n      userId: { type: string }\n    relations:\n      - { name: forum, type: belongsTo, entity: Forum, field: forumId }\n      - { name: author, type: belongsTo, entity: User, field: userId }\n",
    );
    let other = entities(
        "entities:\n  - name: Shop\n    fields:\n      id: { type: cuid, primary: true }\n  - name: ForumArchive\n    fields:\n      id: { type: cuid, primary: true }\n",
    );
    let base = BaseSchema::parse(BASE).unwrap();
    let others: Vec<&_> = other.iter().collect();
    PlanScope::new(&[], &own, &others, &base)
}

#[track_caller]
fn refusal_of(sql: &str) -> Option<String> {
    check_plan(sql, &scope()).refusal()
}

#[test]
fn prisma_ddl_for_the_change_own_objects_is_accepted() {
    let plan = "-- CreateTable\nCREATE TABLE \"Forum\" (\n    \"id\" TEXT NOT NULL,\n    \"title\" TEXT NOT NULL DEFAULT 'it''s',\n    CONSTRAINT \"Forum_pkey\" PRIMARY KEY (\"id\")\n);\n\n-- CreateTable\nCREATE TABLE \"forum_post\" (\"id\" TEXT NOT NULL, \"forumId\" TEXT NOT NULL, \"userId\" TEXT NOT NULL, \"at\" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP);\n\nCREATE INDEX \"forum_title_custom\" ON \"Forum\"(\"title\");\nCREATE UNIQUE INDEX \"forum_post_userId_key\" ON \"forum_post\"(\"userId\");\nALTER TABLE \"forum_post\" ADD CONSTRAINT \"forum_post_forumId_fkey\" FOREIGN KEY (\"forumId\") REFERENCES \"Forum\"(\"id\") ON DELETE RESTRICT ON UPDATE CASCADE;\nALTER TABLE \"forum_post\" ADD CONSTRAINT \"forum_post_userId_fkey\" FOREIGN KEY (\"userId\") REFERENCES \"User\"(\"id\") ON DELETE RESTRICT ON UPDATE CASCADE;\nALTER TABLE \"Forum\" ADD COLUMN \"x\" TEXT, ALTER COLUMN \"title\" SET DATA TYPE VARCHAR(20), ALTER COLUMN \"title\" DROP NOT NULL;\nALTER TABLE \"Forum\" RENAME COLUMN \"x\" TO \"y\";\nDROP INDEX \"Forum_title_idx\";\nALTER TABLE \"Forum\" ENABLE ROW LEVEL SECURITY;\nALTER TABLE \"Forum\" FORCE ROW LEVEL SECURITY;\nDROP POLICY IF EXISTS schemagate_read ON \"Forum\";\nCREATE POLICY schemagate_read ON \"Forum\" AS PERMISSIVE FOR SELECT TO PUBLIC\n    USING (\"Forum\".\"id\" = NULLIF(current_setting('app.user_id', true), '') OR EXISTS (SELECT 1 FROM \"forum_post\" sg_1 WHERE sg_1.\"forumId\" = \"Forum\".\"id\"));\n";
    let checked = check_plan(plan, &scope());
    assert_eq!(checked.refusal(), None, "{checked:#?}");
    assert_eq!(checked.statements.len(), 13);
}

#[test]
fn statements_outside_the_change_are_refused_with_their_number() {
    let cases = [
        ("DROP TABLE \"User\";", "statement 2 drops table \"User\", which this change does not declare"),
        ("UPDATE schemagate.account SET role='admin';", "statement 2 is UPDATE, which a schema change never needs"),
        ("GRANT ALL ON \"Forum\" TO public;", "statement 2 is GRANT, which a schema change never needs"),
        ("DO $$ BEGIN END $$;", "statement 2 is DO, which a schema change never needs"),
        ("CREATE FUNCTION f() RETURNS int AS $$ select 1 $$ LANGUAGE sql;", "statement 2 is CREATE FUNCTION, which a schema change never needs"),
        ("SET role postgres;", "statement 2 is SET ROLE, which a schema change never needs"),
        ("CREATE TRIGGER t AFTER INSERT ON \"Forum\" FOR EACH ROW EXECUTE FUNCTION f();", "statement 2 is CREATE TRIGGER, which a schema change never needs"),
        ("ALTER TABLE \"Shop\" DISABLE ROW LEVEL SECURITY;", "statement 2 alters table \"Shop\", which this change does not declare"),
        ("CREATE POLICY open ON \"Shop\" USING (true);", "statement 2 creates policy \"open\" on table \"Shop\", which this change does not declare"),
        ("CREATE POLICY open ON \"Forum\" USING (true);", "statement 2 creates policy \"open\" on table \"Forum\", which is not one of the gate's policies (schemagate_*)"),
        ("DROP INDEX \"Shop_name_idx\";", "statement 2 drops index \"Shop_name_idx\", which does not belong to a table of this change"),
        ("DROP INDEX \"ForumArchive_x_idx\";", "statement 2 drops index \"ForumArchive_x_idx\", which does not belong to a table of this change"),
        ("CREATE INDEX \"x\" ON \"I\"(\"s\");", "statement 2 creates an index on table \"I\", which this change does not declare"),
        ("ALTER TABLE \"Forum\" ADD CONSTRAINT \"f\" FOREIGN KEY (\"id\") REFERENCES \"Shop\"(\"id\");", "statement 2 adds a foreign key from \"Forum\" to table \"Shop\", which no relation of this change targets"),
        ("ALTER TABLE \"Forum\" OWNER TO postgres;", "statement 2 alters table \"Forum\" with OWNER TO, which a schema change never needs"),
        ("ALTER TABLE \"Forum\" RENAME TO \"Shop\";", "statement 2 renames table \"Forum\" to a table this change does not declare"),
        ("CREATE TABLE schemagate.account (id int);", "statement 2 names \"schemagate\".\"account\", outside the platform's schema"),
        ("CREATE TABLE \"Forum2\" (id int);", "statement 2 creates table \"Forum2\", which this change does not declare"),
        ("ALTER TABLE \"Forum\" ADD COLUMN \"z\" TEXT DEFAULT pg_read_file('/etc/passwd');", "statement 2 calls function pg_read_file(), which a schema change never needs"),
        ("SELECT 1;", "statement 2 is SELECT, which a schema change never needs"),
    ];
    for (extra, expected) in cases {
        let plan = format!("CREATE TABLE \"Forum\" (\"id\" TEXT NOT NULL);\n{extra}\n");
        assert_eq!(refusal_of(&plan).as_deref(), Some(expected), "{extra}");
    }
}

#[test]
fn an_injected_index_name_is_two_statements_and_the_second_is_refused() {
    let plan = "CREATE INDEX \"x\" ON \"Forum\"(\"s\");UPDATE schemagate.account SET role='admin';--\" ON \"Forum\"(\"title\");\n";
    let checked = check_plan(plan, &scope());
    assert_eq!(checked.statements.len(), 2);
    assert_eq!(
        checked.refused_statements(),
        [
            StatementRefusal {
                statement: 1,
                reason: "creates index \"x\", which is not named after a table of this change"
                    .into()
            },
            StatementRefusal {
                statement: 2,
                reason: "is UPDATE, which a schema change never needs".into()
            },
        ]
    );
}

#[test]
fn text_the_parser_cannot_read_refuses_the_plan() {
    let refusal = refusal_of("CREATE TABLE \"Forum\" (;\n").unwrap();
    assert!(
        refusal.starts_with("the plan is not valid PostgreSQL: line 1, column"),
        "{refusal}"
    );
}

#[test]
fn row_level_security_statements_make_the_sql_a_security_change() {
    assert_eq!(
        sql_risk("CREATE TABLE \"A\" (\"id\" TEXT NOT NULL);\n"),
        Risk::Safe
    );
    assert_eq!(
        sql_risk("ALTER TABLE \"A\" ENABLE ROW LEVEL SECURITY;\n"),
        Risk::Security
    );
    assert_eq!(
        sql_risk("DROP POLICY IF EXISTS schemagate_read ON \"A\";\n"),
        Risk::Security
    );
    assert_eq!(sql_risk("DROP TABLE \"A\";\n"), Risk::DataLoss);
    assert_eq!(
        sql_risk("ALTER TABLE \"A\" ADD COLUMN \"b\" TEXT NOT NULL;\n"),
        Risk::DataDependent
    );
}

#[test]
fn squawk_findings_carry_their_rule_ids() {
    let rules = |sql: &str| -> Vec<String> {
        crate::domain::sql_lint::lint(sql)
            .into_iter()
            .map(|(_, f)| f.rule)
            .collect()
    };
    let has = |sql: &str, rule: &str| rules(sql).contains(&rule.to_owned());
    assert!(has(
        "ALTER TABLE \"A\" ADD COLUMN \"b\" TEXT NOT NULL;",
        "adding-required-field"
    ));
    assert!(has(
        "CREATE INDEX \"i\" ON \"A\"(\"b\");",
        "require-concurrent-index-creation"
    ));
    assert!(has(
        "ALTER TABLE \"A\" ALTER COLUMN \"n\" SET DATA TYPE INTEGER;",
        "changing-column-type"
    ));
    assert!(has("DROP TABLE \"A\";", "ban-drop-table"));
    assert!(!has("DROP TABLE \"A\";", "prefer-robust-stmts"));
    // A table created in the same migration can be indexed without waiting on anyone.
    assert!(!has(
        "CREATE TABLE \"A\" (\"b\" TEXT);\nCREATE INDEX \"i\" ON \"A\"(\"b\");",
        "require-concurrent-index-creation"
    ));
}

#[test]
fn findings_on_a_table_the_plan_creates_raise_no_risk_and_the_same_statements_on_an_existing_table_do(
) {
    let existing = concat!(
        "ALTER TABLE \"Post\" ADD COLUMN \"title\" TEXT NOT NULL;\n",
        "ALTER TABLE \"Post\" ADD CONSTRAINT \"Post_tenantId_fkey\" FOREIGN KEY (\"tenantId\") REFERENCES \"Tenant\"(\"id\");\n",
        "ALTER TABLE \"Post\" ALTER COLUMN \"title\" SET DATA TYPE VARCHAR(10);\n",
    );
    assert!(
        sql_risk(existing) >= Risk::Locking,
        "{:?}",
        sql_risk(existing)
    );
    let created =
        format!("CREATE TABLE \"Post\" (\"id\" TEXT NOT NULL, \"tenantId\" TEXT);\n{existing}");
    assert_eq!(sql_risk(&created), Risk::Safe);
    // A security statement on a new table stays a security change.
    let with_rls = format!("{created}ALTER TABLE \"Post\" ENABLE ROW LEVEL SECURITY;\n");
    assert_eq!(sql_risk(&with_rls), Risk::Security);
}

#[cfg(feature = "ssr")]
#[test]
fn the_restart_jobs_timeout_prefix_stays_outside_the_checked_plan_and_a_package_plan_cannot_carry_it(
) {
    use crate::registry::apply::{approved_part, MigrationTimeouts};
    let plan = "CREATE TABLE \"Forum\" (\"id\" TEXT NOT NULL);\n";
    assert_eq!(refusal_of(plan), None);
    // The migration file the job writes: its prefix, then the approved plan unaltered. The plan
    // check (at scan, approval and apply) sees the approved plan alone.
    let script = MigrationTimeouts::default().migration_script(plan);
    assert_eq!(approved_part(&script), plan);
    // A package plan that tried to set them itself is refused, statement by statement.
    let refusal = refusal_of(&script).unwrap_or_default();
    assert!(
        refusal.starts_with(
            "statement 1 is SET, which a schema change never needs\nstatement 2 is SET"
        ),
        "{refusal}"
    );
}

//! A change's SQL plan as a reviewer reads it: the script Prisma's schema engine planned, split
//! into statements, each with the PostgreSQL lock it takes, whether it rewrites the table, and
//! the change item it implements. Pure: no database, no engine.
//!
//! The lock levels follow PostgreSQL's documentation of `ALTER TABLE`, `CREATE INDEX` and
//! explicit locking: most `ALTER TABLE` forms take `ACCESS EXCLUSIVE` (blocks reads and writes),
//! `CREATE INDEX` takes `SHARE` (blocks writes), `ADD FOREIGN KEY` takes `SHARE ROW EXCLUSIVE`
//! on both tables. A rewrite copies the whole table while holding the lock.

use serde::{Deserialize, Serialize};

#[cfg(feature = "domain")]
use super::change::ChangeItem;
use super::change::Risk;
#[cfg(feature = "domain")]
use super::model::Entity;

/// A PostgreSQL table lock, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lock {
    /// Touches no existing table (a new table, type or schema).
    None,
    /// `SHARE UPDATE EXCLUSIVE`: reads and writes go on.
    ShareUpdateExclusive,
    /// `SHARE`: reads go on, writes wait.
    Share,
    /// `SHARE ROW EXCLUSIVE`: reads go on, writes wait.
    ShareRowExclusive,
    /// `ACCESS EXCLUSIVE`: everything waits, reads included.
    AccessExclusive,
}

impl Lock {
    /// The lock's name as PostgreSQL spells it (`none` for no table lock).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Lock::None => "none",
            Lock::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            Lock::Share => "SHARE",
            Lock::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            Lock::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// What the lock blocks, in a few words.
    #[must_use]
    pub fn blocks(self) -> &'static str {
        match self {
            Lock::None => "nothing",
            Lock::ShareUpdateExclusive => "other schema changes only",
            Lock::Share | Lock::ShareRowExclusive => "writes",
            Lock::AccessExclusive => "reads and writes",
        }
    }
}

/// One statement of a plan, classified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedStatement {
    /// The statement, as the engine wrote it (terminating `;` included).
    pub sql: String,
    /// What it does: `CREATE TABLE`, `ALTER TABLE ADD COLUMN`, `CREATE UNIQUE INDEX`, ...
    pub kind: String,
    /// The table it locks or creates (unquoted), if any.
    pub table: Option<String>,
    /// Columns it names (added, dropped, altered, indexed), unquoted.
    pub columns: Vec<String>,
    /// The strongest lock it takes on `table`.
    pub lock: Lock,
    /// Whether it rewrites the whole table while holding the lock.
    pub rewrites: bool,
    /// What else a database owner should know (a full scan, a failure on existing data).
    pub note: Option<String>,
    /// Paths of the change items it implements (`Forum.fields.title`), when they can be told.
    pub items: Vec<String>,
    /// squawk's findings on it, with their rule ids.
    #[serde(default)]
    pub findings: Vec<SqlFinding>,
    /// Why the plan check refuses it: it touches what the change does not declare, or is of
    /// a kind a schema change never needs. A plan with one refused statement cannot be approved.
    #[serde(default)]
    pub refusal: Option<String>,
    /// It works on a table an earlier statement of the same plan creates: no other session
    /// can hold or wait for that table's locks, so it shows no lock and raises no risk.
    #[serde(default)]
    pub new_table: bool,
}

/// One finding of squawk's migration rules on a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlFinding {
    /// squawk's rule id (`adding-required-field`).
    pub rule: String,
    /// squawk's message.
    pub message: String,
    /// squawk's advice, if any.
    pub help: Option<String>,
    /// The risk class the rule stands for.
    pub risk: Risk,
}

/// A statement the plan check refused, as stored with the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementRefusal {
    /// The statement's number in the plan, from 1.
    pub statement: usize,
    /// Why (`drops table "User", which this change does not declare`).
    pub reason: String,
}

/// Splits a script into statements at each `;` outside quotes, dollar quotes and comments.
/// Comment lines before a statement (`-- CreateTable`) are dropped; empty statements skipped.
#[must_use]
pub fn split_statements(script: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = script.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '\'' | '"' => {
                current.push(c);
                i += 1;
                while i < chars.len() {
                    current.push(chars[i]);
                    if chars[i] == c {
                        break;
                    }
                    i += 1;
                }
            }
            '$' => {
                let tag_end = chars[i + 1..]
                    .iter()
                    .position(|&x| x == '$')
                    .map(|p| i + 1 + p)
                    .filter(|&end| {
                        chars[i + 1..end]
                            .iter()
                            .all(|x| x.is_alphanumeric() || *x == '_')
                    });
                match tag_end {
                    Some(end) => {
                        let tag: String = chars[i..=end].iter().collect();
                        current.push_str(&tag);
                        i = end + 1;
                        let rest: String = chars[i..].iter().collect();
                        let close = rest.find(&tag).map_or(rest.len(), |p| p + tag.len());
                        current.push_str(&rest[..close]);
                        i += rest[..close].chars().count();
                        continue;
                    }
                    None => current.push(c),
                }
            }
            ';' => {
                current.push(';');
                let statement = current.trim().to_string();
                if statement != ";" {
                    statements.push(statement);
                }
                current.clear();
            }
            _ => current.push(c),
        }
        i += 1;
    }
    let rest = current.trim();
    if !rest.is_empty() {
        statements.push(rest.to_string());
    }
    statements
}

/// The quoted identifiers of `sql`, unquoted, in order.
fn identifiers(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = sql;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        out.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

/// The identifier right after `keyword` (case-insensitive), unquoted.
fn identifier_after(sql: &str, keyword: &str) -> Option<String> {
    let upper = sql.to_ascii_uppercase();
    let at = upper.find(keyword)? + keyword.len();
    let rest = sql[at..].trim_start();
    let rest = rest.strip_prefix("IF EXISTS ").unwrap_or(rest);
    let rest = rest.strip_prefix("IF NOT EXISTS ").unwrap_or(rest);
    if let Some(quoted) = rest.strip_prefix('"') {
        return quoted.split('"').next().map(str::to_string);
    }
    rest.split(|c: char| c.is_whitespace() || c == '(' || c == ';')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Classifies one statement: kind, table, columns, lock, rewrite, note (items left empty).
#[must_use]
pub fn classify(statement: &str) -> PlannedStatement {
    let sql = statement.trim();
    let upper = sql.to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    let starts = |prefix: &[&str]| words.len() >= prefix.len() && words[..prefix.len()] == *prefix;
    let mut out = PlannedStatement {
        sql: sql.to_string(),
        kind: words.iter().take(2).copied().collect::<Vec<_>>().join(" "),
        table: None,
        columns: Vec::new(),
        lock: Lock::AccessExclusive,
        rewrites: false,
        note: None,
        items: Vec::new(),
        findings: Vec::new(),
        refusal: None,
        new_table: false,
    };
    if starts(&["CREATE", "TABLE"]) {
        out.kind = "CREATE TABLE".into();
        out.table = identifier_after(sql, "TABLE");
        out.lock = Lock::None;
        out.note = Some("a new, empty table".into());
    } else if starts(&["DROP", "TABLE"]) {
        out.kind = "DROP TABLE".into();
        out.table = identifier_after(sql, "TABLE");
        out.note = Some("drops the table and every row in it".into());
    } else if starts(&["CREATE", "UNIQUE", "INDEX"]) || starts(&["CREATE", "INDEX"]) {
        let unique = words[1] == "UNIQUE";
        let concurrently = upper.contains(" CONCURRENTLY ");
        out.kind = if unique {
            "CREATE UNIQUE INDEX"
        } else {
            "CREATE INDEX"
        }
        .into();
        out.table = identifier_after(sql, " ON ");
        out.columns = sql
            .rfind('(')
            .map(|p| identifiers(&sql[p..]))
            .unwrap_or_default();
        out.lock = if concurrently {
            Lock::ShareUpdateExclusive
        } else {
            Lock::Share
        };
        out.note = Some(if unique {
            "reads the whole table to build the index; fails if existing rows hold duplicates"
                .into()
        } else {
            "reads the whole table to build the index".into()
        });
    } else if starts(&["DROP", "INDEX"]) {
        out.kind = "DROP INDEX".into();
        out.table = None;
        out.note = Some("locks the index's table while the index is removed".into());
    } else if starts(&["ALTER", "INDEX"]) {
        out.kind = "ALTER INDEX".into();
        out.lock = Lock::ShareUpdateExclusive;
    } else if starts(&["ALTER", "TABLE"]) {
        classify_alter_table(sql, &mut out);
    } else if starts(&["CREATE", "TYPE"]) || starts(&["CREATE", "SCHEMA"]) {
        out.kind = format!("CREATE {}", words[1]);
        out.lock = Lock::None;
    } else if starts(&["ALTER", "TYPE"]) {
        out.kind = "ALTER TYPE".into();
        out.lock = Lock::None;
        out.note = Some(
            "changes the enum type; tables using it are not rewritten when a value is only added"
                .into(),
        );
    } else if starts(&["DROP", "TYPE"]) {
        out.kind = "DROP TYPE".into();
        out.lock = Lock::None;
    } else if starts(&["CREATE", "POLICY"])
        || starts(&["DROP", "POLICY"])
        || starts(&["ALTER", "POLICY"])
    {
        out.kind = format!("{} POLICY", words[0]);
        out.table = identifier_after(sql, " ON ");
    }
    out
}

fn classify_alter_table(sql: &str, out: &mut PlannedStatement) {
    out.table = identifier_after(sql, "TABLE");
    // One ALTER TABLE may carry several actions, separated by commas at line starts.
    let mut kinds = Vec::new();
    let mut notes = Vec::new();
    let mut lock = Lock::None;
    let after_table = out
        .table
        .as_ref()
        .and_then(|t| sql.find(&format!("\"{t}\"")).map(|p| p + t.len() + 2))
        .unwrap_or(0);
    for action in split_actions(&sql[after_table..]) {
        let action_upper = action.to_ascii_uppercase();
        let words: Vec<&str> = action_upper.split_whitespace().collect();
        let has = |w: &str| action_upper.contains(w);
        let first_ident = identifiers(action).into_iter().next();
        let (kind, action_lock) = if words.starts_with(&["ADD", "COLUMN"]) {
            if let Some(c) = first_ident.clone() {
                out.columns.push(c);
            }
            let volatile = [
                "GEN_RANDOM_UUID",
                "RANDOM()",
                "CLOCK_TIMESTAMP",
                "UUID_GENERATE",
            ]
            .iter()
            .any(|f| action_upper.contains(f));
            if volatile {
                out.rewrites = true;
                notes.push("the volatile default rewrites the table".to_string());
            } else if has(" NOT NULL") && !has(" DEFAULT ") {
                notes.push(
                    "fails if the table has rows: a required column without a default".to_string(),
                );
            }
            ("ADD COLUMN", Lock::AccessExclusive)
        } else if words.starts_with(&["DROP", "COLUMN"]) {
            if let Some(c) = first_ident.clone() {
                out.columns.push(c);
            }
            notes.push("the column's data is lost".to_string());
            ("DROP COLUMN", Lock::AccessExclusive)
        } else if words.starts_with(&["ALTER", "COLUMN"]) {
            if let Some(c) = first_ident.clone() {
                out.columns.push(c);
            }
            if has(" TYPE ") || has(" SET DATA TYPE ") {
                out.rewrites = true;
                notes.push("rewrites the table unless the new type is binary-compatible (varchar widened to a longer varchar or text)".to_string());
                ("ALTER COLUMN TYPE", Lock::AccessExclusive)
            } else if has("SET NOT NULL") {
                notes.push("scans the whole table; fails if a row holds null".to_string());
                ("SET NOT NULL", Lock::AccessExclusive)
            } else if has("DROP NOT NULL") {
                ("DROP NOT NULL", Lock::AccessExclusive)
            } else if has("SET DEFAULT") {
                ("SET DEFAULT", Lock::AccessExclusive)
            } else if has("DROP DEFAULT") {
                ("DROP DEFAULT", Lock::AccessExclusive)
            } else {
                ("ALTER COLUMN", Lock::AccessExclusive)
            }
        } else if words.starts_with(&["ADD", "CONSTRAINT"]) && has("FOREIGN KEY") {
            out.columns.extend(
                action
                    .find("FOREIGN KEY")
                    .map(|p| {
                        let rest = &action[p..];
                        identifiers(&rest[..rest.find(')').unwrap_or(rest.len())])
                    })
                    .unwrap_or_default(),
            );
            if !has("NOT VALID") {
                notes.push(
                    "checks every existing row against the referenced table; fails on an orphan"
                        .to_string(),
                );
            }
            ("ADD FOREIGN KEY", Lock::ShareRowExclusive)
        } else if words.starts_with(&["ADD", "CONSTRAINT"]) && (has("PRIMARY KEY") || has("UNIQUE"))
        {
            notes.push("builds an index over the whole table; fails on duplicates".to_string());
            ("ADD CONSTRAINT", Lock::AccessExclusive)
        } else if words.starts_with(&["ADD", "CONSTRAINT"]) {
            notes.push("checks every existing row".to_string());
            ("ADD CONSTRAINT", Lock::AccessExclusive)
        } else if words.starts_with(&["DROP", "CONSTRAINT"]) {
            ("DROP CONSTRAINT", Lock::AccessExclusive)
        } else if words.starts_with(&["RENAME"]) {
            ("RENAME", Lock::AccessExclusive)
        } else if has("ROW LEVEL SECURITY") {
            ("ROW LEVEL SECURITY", Lock::AccessExclusive)
        } else {
            ("ALTER TABLE", Lock::AccessExclusive)
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
        lock = lock.max(action_lock);
    }
    out.kind = if kinds.is_empty() {
        "ALTER TABLE".to_string()
    } else {
        format!("ALTER TABLE {}", kinds.join(", "))
    };
    out.lock = if kinds.is_empty() {
        Lock::AccessExclusive
    } else {
        lock
    };
    out.columns.dedup();
    notes.dedup();
    if !notes.is_empty() {
        out.note = Some(notes.join("; "));
    }
}

/// The comma-separated actions of an `ALTER TABLE` (commas inside parentheses or quotes kept).
fn split_actions(text: &str) -> Vec<&str> {
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    let mut out = Vec::new();
    for (i, c) in text.char_indices() {
        match c {
            '"' | '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(text[start..].trim().trim_end_matches(';').trim());
    out.retain(|a| !a.is_empty());
    out
}

/// The plan's statements as PostgreSQL's grammar delimits them, classified, each with squawk's
/// findings, its refusal (from `refusals`, numbered from 1) and the paths of the `items` it
/// implements: an item matches a statement on the same table (the entity's `@@map` name or its
/// name) whose columns include the item's field (or any item of that entity when the statement
/// names no column, as `CREATE TABLE` does). A note of the gate's own is kept only where squawk
/// has nothing to say.
#[cfg(feature = "domain")]
#[must_use]
pub fn annotate(
    script: &str,
    items: &[ChangeItem],
    entities: &[Entity],
    refusals: &[StatementRefusal],
) -> Vec<PlannedStatement> {
    let table_of = |entity: &str| -> String {
        entities
            .iter()
            .find(|e| e.name == entity)
            .and_then(|e| e.table_name.clone())
            .unwrap_or_else(|| entity.to_string())
    };
    let column_of = |entity: &str, field: &str| -> String {
        entities
            .iter()
            .find(|e| e.name == entity)
            .and_then(|e| e.field(field))
            .and_then(|f| f.column_name.clone())
            .unwrap_or_else(|| field.to_string())
    };
    let findings = super::sql_lint::lint(script);
    let ranges = super::plan_check::statement_ranges(script);
    let new_tables = on_new_tables(script, &ranges);
    ranges
        .into_iter()
        .enumerate()
        .map(|(index, range)| {
            let sql = &script[range.clone()];
            let mut statement = classify(sql);
            statement.findings = findings
                .iter()
                .filter(|(at, _)| range.contains(&at.start))
                .map(|(_, finding)| finding.clone())
                .collect();
            if !statement.findings.is_empty() {
                statement.note = None;
            }
            statement.refusal = refusals
                .iter()
                .find(|r| r.statement == index + 1)
                .map(|r| r.reason.clone());
            let Some(table) = statement
                .table
                .clone()
                .or_else(|| index_table(sql, items, &table_of))
            else {
                return statement;
            };
            if new_tables[index] {
                mark_new_table(&mut statement);
            }
            let on_table: Vec<&ChangeItem> = items
                .iter()
                .filter(|i| table_of(&i.entity) == table)
                .collect();
            let by_column: Vec<&ChangeItem> = on_table
                .iter()
                .copied()
                .filter(|item| {
                    let field = item.path.split('.').nth(2).unwrap_or_default();
                    !field.is_empty() && statement.columns.contains(&column_of(&item.entity, field))
                })
                .collect();
            let chosen = if by_column.is_empty() {
                on_table
            } else {
                by_column
            };
            statement.items = chosen.iter().map(|i| i.path.clone()).collect();
            statement
        })
        .collect()
}

/// Per statement of `script` (delimited by `ranges`), whether it works on a table that an
/// earlier statement of the same script creates (`CREATE TABLE` itself included).
#[must_use]
pub fn on_new_tables(script: &str, ranges: &[std::ops::Range<usize>]) -> Vec<bool> {
    let mut created: Vec<String> = Vec::new();
    ranges
        .iter()
        .map(|range| {
            let statement = classify(&script[range.clone()]);
            if statement.kind == "CREATE TABLE" {
                created.extend(statement.table.clone());
            }
            statement.table.is_some_and(|t| created.contains(&t))
        })
        .collect()
}

/// A statement on a table the same migration creates: no lock anyone can wait for, no rewrite
/// of rows that do not exist. A foreign key still locks the table it references, briefly.
#[cfg(feature = "domain")]
fn mark_new_table(statement: &mut PlannedStatement) {
    statement.new_table = true;
    statement.rewrites = false;
    let referenced = statement
        .kind
        .contains("ADD FOREIGN KEY")
        .then(|| identifier_after(&statement.sql, "REFERENCES"))
        .flatten()
        .filter(|t| statement.table.as_ref() != Some(t));
    statement.note = Some(match referenced {
        Some(target) => format!(
            "on a table this migration creates (no rows, no other session); \"{target}\" is locked SHARE ROW EXCLUSIVE for a moment: writes to it wait, no row is checked"
        ),
        None if statement.kind == "CREATE TABLE" => "a new, empty table".to_string(),
        None => "on a table this migration creates: no rows, no other session waits".to_string(),
    });
    statement.lock = Lock::None;
}

/// `DROP INDEX "Forum_title_idx"` names no table: Prisma's index names start with it.
#[cfg(feature = "domain")]
fn index_table(
    sql: &str,
    items: &[ChangeItem],
    table_of: &dyn Fn(&str) -> String,
) -> Option<String> {
    let index = identifiers(sql).into_iter().next()?;
    items
        .iter()
        .map(|i| table_of(&i.entity))
        .find(|table| index.starts_with(&format!("{table}_")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(sql: &str, kind: &str, lock: Lock, rewrites: bool) -> PlannedStatement {
        let statement = classify(sql);
        assert_eq!(statement.kind, kind, "{sql}");
        assert_eq!(statement.lock, lock, "{sql}");
        assert_eq!(statement.rewrites, rewrites, "{sql}");
        statement
    }

    #[test]
    fn each_statement_form_takes_its_documented_lock() {
        let s = check(
            "CREATE TABLE \"Forum\" (\n \"id\" TEXT NOT NULL,\n CONSTRAINT \"Forum_pkey\" PRIMARY KEY (\"id\")\n);",
            "CREATE TABLE",
            Lock::None,
            false,
        );
        assert_eq!(s.table.as_deref(), Some("Forum"));
        let s = check(
            "ALTER TABLE \"Author\" DROP COLUMN \"nickname\",\nADD COLUMN     \"bio\" TEXT;",
            "ALTER TABLE DROP COLUMN, ADD COLUMN",
            Lock::AccessExclusive,
            false,
        );
        assert_eq!(s.columns, ["nickname", "bio"]);
        check(
            "ALTER TABLE \"A\" ALTER COLUMN \"n\" SET DATA TYPE INTEGER;",
            "ALTER TABLE ALTER COLUMN TYPE",
            Lock::AccessExclusive,
            true,
        );
        let s = check(
            "ALTER TABLE \"A\" ALTER COLUMN \"n\" SET NOT NULL;",
            "ALTER TABLE SET NOT NULL",
            Lock::AccessExclusive,
            false,
        );
        assert!(s.note.unwrap().contains("scans the whole table"));
        let s = check(
            "CREATE INDEX \"Book_isbn_idx\" ON \"Book\"(\"isbn\");",
            "CREATE INDEX",
            Lock::Share,
            false,
        );
        assert_eq!(
            (s.table.as_deref(), s.columns.as_slice()),
            (Some("Book"), &["isbn".to_string()][..])
        );
        let s = check(
            "CREATE UNIQUE INDEX \"Book_isbn_key\" ON \"Book\"(\"isbn\");",
            "CREATE UNIQUE INDEX",
            Lock::Share,
            false,
        );
        assert!(s.note.unwrap().contains("duplicates"));
        check(
            "CREATE INDEX CONCURRENTLY \"x\" ON \"Book\"(\"isbn\");",
            "CREATE INDEX",
            Lock::ShareUpdateExclusive,
            false,
        );
        let s = check(
            "ALTER TABLE \"Book\" ADD CONSTRAINT \"Book_authorId_fkey\" FOREIGN KEY (\"authorId\") REFERENCES \"Author\"(\"id\") ON DELETE CASCADE ON UPDATE CASCADE;",
            "ALTER TABLE ADD FOREIGN KEY",
            Lock::ShareRowExclusive,
            false,
        );
        assert_eq!(s.columns, ["authorId"]);
        check(
            "DROP TABLE \"Book\";",
            "DROP TABLE",
            Lock::AccessExclusive,
            false,
        );
        check(
            "DROP INDEX \"Book_isbn_idx\";",
            "DROP INDEX",
            Lock::AccessExclusive,
            false,
        );
        check(
            "ALTER TABLE \"A\" ADD COLUMN \"id\" UUID NOT NULL DEFAULT gen_random_uuid();",
            "ALTER TABLE ADD COLUMN",
            Lock::AccessExclusive,
            true,
        );
        let s = check(
            "ALTER TABLE \"A\" ADD COLUMN \"must\" TEXT NOT NULL;",
            "ALTER TABLE ADD COLUMN",
            Lock::AccessExclusive,
            false,
        );
        assert!(s.note.unwrap().contains("fails if the table has rows"));
        check(
            "CREATE TYPE \"Role\" AS ENUM ('A', 'B');",
            "CREATE TYPE",
            Lock::None,
            false,
        );
        check(
            "CREATE SCHEMA IF NOT EXISTS \"public\";",
            "CREATE SCHEMA",
            Lock::None,
            false,
        );
    }

    #[test]
    fn statements_split_at_semicolons_outside_quotes_and_comments() {
        let script = "-- CreateTable\nCREATE TABLE \"a;b\" (\"x\" TEXT DEFAULT 'p;q');\n\n-- CreateIndex\nCREATE INDEX \"i\" ON \"a;b\"(\"x\");\nCREATE FUNCTION f() RETURNS int AS $fn$ select 1; $fn$ LANGUAGE sql;\n";
        let statements = split_statements(script);
        assert_eq!(statements.len(), 3, "{statements:?}");
        assert_eq!(
            statements[0],
            "CREATE TABLE \"a;b\" (\"x\" TEXT DEFAULT 'p;q');"
        );
        assert!(statements[2].contains("select 1; $fn$"));
        assert!(split_statements("-- This is an empty migration.").is_empty());
    }

    #[cfg(feature = "domain")]
    #[test]
    fn statements_on_a_table_the_plan_creates_show_no_lock_and_existing_tables_keep_theirs() {
        let script = concat!(
            "CREATE TABLE \"Post\" (\"id\" TEXT NOT NULL, \"tenantId\" TEXT NOT NULL);\n",
            "CREATE UNIQUE INDEX \"Post_id_key\" ON \"Post\"(\"id\");\n",
            "ALTER TABLE \"Post\" ADD CONSTRAINT \"Post_tenantId_fkey\" FOREIGN KEY (\"tenantId\") REFERENCES \"Tenant\"(\"id\") ON DELETE RESTRICT ON UPDATE CASCADE;\n",
            "ALTER TABLE \"Post\" ALTER COLUMN \"id\" SET DATA TYPE VARCHAR(30);\n",
            "CREATE INDEX \"Tenant_name_idx\" ON \"Tenant\"(\"name\");\n",
            "ALTER TABLE \"Tenant\" ADD COLUMN \"plan\" TEXT NOT NULL;\n",
        );
        let plan = annotate(script, &[], &[], &[]);
        let shown: Vec<(bool, Lock, bool)> = plan
            .iter()
            .map(|s| (s.new_table, s.lock, s.rewrites))
            .collect();
        assert_eq!(
            shown,
            [
                (true, Lock::None, false),
                (true, Lock::None, false),
                (true, Lock::None, false),
                (true, Lock::None, false),
                (false, Lock::Share, false),
                (false, Lock::AccessExclusive, false),
            ]
        );
        assert_eq!(
            plan[2].note.as_deref(),
            Some("on a table this migration creates (no rows, no other session); \"Tenant\" is locked SHARE ROW EXCLUSIVE for a moment: writes to it wait, no row is checked")
        );
        assert_eq!(
            plan[3].note.as_deref(),
            Some("on a table this migration creates: no rows, no other session waits")
        );
        // A table dropped and created again is new from its CREATE TABLE on, not before.
        let recreated = annotate(
            "ALTER TABLE \"Old\" DROP COLUMN \"x\";\nDROP TABLE \"Old\";\nCREATE TABLE \"Old\" (\"id\" TEXT);\n",
            &[],
            &[],
            &[],
        );
        let flags: Vec<bool> = recreated.iter().map(|s| s.new_table).collect();
        assert_eq!(flags, [false, false, true]);
    }

    #[cfg(feature = "domain")]
    #[test]
    fn statements_are_matched_to_the_items_they_implement() {
        use crate::domain::change::{ItemKind, Risk};
        let item = |entity: &str, path: &str| ChangeItem {
            entity: entity.into(),
            kind: ItemKind::AlterField,
            path: path.into(),
            summary: String::new(),
            risk: Risk::Safe,
            reason: String::new(),
            advice: None,
            suggestion: None,
        };
        let items = [
            item("Author", "Author.fields.bio"),
            item("Author", "Author.fields.nickname"),
            item("Book", "Book.indexes.isbn"),
        ];
        let plan = annotate(
            "ALTER TABLE \"Author\" ADD COLUMN \"bio\" TEXT;\nDROP INDEX \"Book_isbn_idx\";\nALTER TABLE \"Book\" ALTER COLUMN \"x\" DROP DEFAULT;",
            &items,
            &[],
            &[StatementRefusal { statement: 2, reason: "drops index".into() }],
        );
        assert_eq!(plan[1].refusal.as_deref(), Some("drops index"));
        assert_eq!(plan[0].refusal, None);
        assert_eq!(plan[0].items, ["Author.fields.bio"]);
        assert_eq!(plan[1].items, ["Book.indexes.isbn"]);
        assert_eq!(plan[2].items, ["Book.indexes.isbn"]);
    }
}

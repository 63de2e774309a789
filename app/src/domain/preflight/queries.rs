//! The read-only queries of each hazard. Every identifier is quoted with [`quote_ident`];
//! enum values are bound as `$1`, never written into the text.

use super::{Hazard, EXAMPLES};
use crate::domain::policy_sql::quote_ident;

/// The queries that check one hazard; each returns one bigint, the examples one text per row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckQueries {
    /// Rows in the table.
    pub rows: String,
    /// Rows that would make the statement fail.
    pub violating: Option<String>,
    /// Up to [`EXAMPLES`] keys of those rows.
    pub examples: Option<String>,
    /// Values a drop would lose.
    pub lost: Option<String>,
    /// `$1` of `violating` and `examples` (an enum's values), if they take one.
    pub values: Option<Vec<String>>,
}

/// The queries for `hazard`; `key` names the table's primary key columns (none: `ctid`).
#[must_use]
pub fn queries(hazard: &Hazard, key: &[String]) -> CheckQueries {
    let table = quote_ident(hazard.table());
    let rows = format!("SELECT count(*) FROM {table}");
    let key_text = if key.is_empty() {
        "t.ctid::text".to_string()
    } else {
        let parts: Vec<String> = key
            .iter()
            .map(|k| format!("t.{}::text", quote_ident(k)))
            .collect();
        format!("concat_ws(', ', {})", parts.join(", "))
    };
    let failing = |predicate: String, values: Option<Vec<String>>| CheckQueries {
        rows: rows.clone(),
        violating: Some(format!("SELECT count(*) FROM {table} t WHERE {predicate}")),
        examples: Some(format!(
            "SELECT {key_text} FROM {table} t WHERE {predicate} ORDER BY 1 LIMIT {EXAMPLES}"
        )),
        lost: None,
        values,
    };
    let col = |c: &str| format!("t.{}", quote_ident(c));
    match hazard {
        Hazard::NotNull { column, .. } => failing(format!("{} IS NULL", col(column)), None),
        Hazard::RequiredColumn { .. } => failing("true".to_string(), None),
        Hazard::MaxLength { column, length, .. } => {
            failing(format!("char_length({}) > {length}", col(column)), None)
        }
        Hazard::EnumValues { column, values, .. } => failing(
            format!(
                "{0} IS NOT NULL AND {0}::text <> ALL($1::text[])",
                col(column)
            ),
            Some(values.clone()),
        ),
        Hazard::ForeignKey {
            columns,
            target,
            target_columns,
            target_is_new,
            ..
        } => {
            let present: Vec<String> = columns
                .iter()
                .map(|c| format!("{} IS NOT NULL", col(c)))
                .collect();
            let mut predicate = present.join(" AND ");
            if !target_is_new {
                let matches: Vec<String> = columns
                    .iter()
                    .zip(target_columns)
                    .map(|(c, r)| format!("r.{} = {}", quote_ident(r), col(c)))
                    .collect();
                predicate.push_str(&format!(
                    " AND NOT EXISTS (SELECT 1 FROM {} r WHERE {})",
                    quote_ident(target),
                    matches.join(" AND ")
                ));
            }
            failing(predicate, None)
        }
        Hazard::Unique { columns, .. } => unique_queries(&table, rows, columns),
        Hazard::DropColumn { column, .. } => CheckQueries {
            lost: Some(format!(
                "SELECT count(*) FROM {table} t WHERE {} IS NOT NULL",
                col(column)
            )),
            rows,
            violating: None,
            examples: None,
            values: None,
        },
        Hazard::DropTable { .. } => CheckQueries {
            lost: Some(rows.clone()),
            rows,
            violating: None,
            examples: None,
            values: None,
        },
    }
}

/// Rows sharing their (non-null) values with another row; the examples are those values.
fn unique_queries(table: &str, rows: String, columns: &[String]) -> CheckQueries {
    let quoted: Vec<String> = columns
        .iter()
        .map(|c| format!("t.{}", quote_ident(c)))
        .collect();
    let present: Vec<String> = quoted.iter().map(|c| format!("{c} IS NOT NULL")).collect();
    let group = quoted.join(", ");
    let filter = present.join(" AND ");
    let texts: Vec<String> = quoted.iter().map(|c| format!("{c}::text")).collect();
    CheckQueries {
        rows,
        violating: Some(format!(
            "SELECT coalesce(sum(n), 0)::bigint FROM (SELECT count(*) AS n FROM {table} t WHERE {filter} GROUP BY {group} HAVING count(*) > 1) d"
        )),
        examples: Some(format!(
            "SELECT concat_ws(', ', {}) || ' (' || count(*) || ' rows)' FROM {table} t WHERE {filter} GROUP BY {group} HAVING count(*) > 1 ORDER BY count(*) DESC, 1 LIMIT {EXAMPLES}",
            texts.join(", ")
        )),
        lost: None,
        values: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::preflight::hazards;

    #[test]
    fn each_hazard_is_read_from_the_parsed_plan_and_new_tables_and_columns_are_left_out() {
        let script = concat!(
            "CREATE TYPE \"Mood\" AS ENUM ('calm', 'odd''s');\n",
            "CREATE TABLE \"Fresh\" (\"id\" TEXT NOT NULL);\n",
            "ALTER TABLE \"Fresh\" ALTER COLUMN \"id\" SET NOT NULL;\n",
            "ALTER TABLE \"Post\" ALTER COLUMN \"title\" SET NOT NULL,\nADD COLUMN \"body\" TEXT NOT NULL,\nADD COLUMN \"n\" INTEGER NOT NULL DEFAULT 0,\nADD COLUMN \"note\" TEXT;\n",
            "CREATE UNIQUE INDEX \"Post_slug_key\" ON \"Post\"(\"slug\", \"tenantId\");\n",
            "CREATE UNIQUE INDEX \"Post_note_key\" ON \"Post\"(\"note\");\n",
            "CREATE INDEX \"Post_slug_idx\" ON \"Post\"(\"slug\");\n",
            "ALTER TABLE \"Post\" ADD CONSTRAINT \"Post_authorId_fkey\" FOREIGN KEY (\"authorId\") REFERENCES \"User\"(\"id\") ON DELETE RESTRICT ON UPDATE CASCADE;\n",
            "ALTER TABLE \"Post\" ADD CONSTRAINT \"Post_freshId_fkey\" FOREIGN KEY (\"freshId\") REFERENCES \"Fresh\"(\"id\");\n",
            "ALTER TABLE \"Post\" ADD CONSTRAINT \"Post_note_fkey\" FOREIGN KEY (\"note\") REFERENCES \"User\"(\"id\");\n",
            "ALTER TABLE \"Post\" ALTER COLUMN \"code\" SET DATA TYPE VARCHAR(8);\n",
            "ALTER TABLE \"Post\" ALTER COLUMN \"mood\" TYPE \"Mood\" USING (\"mood\"::text::\"Mood\");\n",
            "ALTER TABLE \"Post\" DROP COLUMN \"legacy\";\n",
            "DROP TABLE \"Old\";\n",
            "DROP TABLE \"Fresh\";\n",
        );
        let found: Vec<(usize, String)> = hazards(script)
            .into_iter()
            .map(|h| (h.statement, h.hazard.describe()))
            .collect();
        let expect = [
            (4, "makes \"Post\".\"title\" required"),
            (
                4,
                "adds the required column \"Post\".\"body\" without a default",
            ),
            (5, "makes \"Post\" (slug, tenantId) unique"),
            (8, "makes \"Post\" (authorId) reference \"User\""),
            (9, "makes \"Post\" (freshId) reference \"Fresh\""),
            (11, "limits \"Post\".\"code\" to 8 characters"),
            (
                12,
                "limits \"Post\".\"mood\" to the values of \"Mood\" (calm, odd's)",
            ),
            (13, "drops the column \"Post\".\"legacy\""),
            (14, "drops the table \"Old\""),
        ];
        let expect: Vec<(usize, String)> =
            expect.iter().map(|(n, s)| (*n, s.to_string())).collect();
        assert_eq!(found, expect);
    }

    #[test]
    fn identifiers_are_quoted_and_values_are_bound() {
        let hazard = Hazard::EnumValues {
            table: "we\"ird".into(),
            column: "mood".into(),
            enum_type: "Mood".into(),
            values: vec!["x'); drop table y; --".into()],
        };
        let q = queries(&hazard, &["id".into(), "tenantId".into()]);
        assert_eq!(q.rows, "SELECT count(*) FROM \"we\"\"ird\"");
        assert_eq!(
            q.examples.as_deref(),
            Some("SELECT concat_ws(', ', t.\"id\"::text, t.\"tenantId\"::text) FROM \"we\"\"ird\" t WHERE t.\"mood\" IS NOT NULL AND t.\"mood\"::text <> ALL($1::text[]) ORDER BY 1 LIMIT 5")
        );
        assert_eq!(q.values, Some(vec!["x'); drop table y; --".to_string()]));
        let fk = queries(
            &Hazard::ForeignKey {
                table: "Post".into(),
                columns: vec!["authorId".into()],
                target: "User".into(),
                target_columns: vec!["id".into()],
                target_is_new: false,
            },
            &[],
        );
        assert_eq!(
            fk.violating.as_deref(),
            Some("SELECT count(*) FROM \"Post\" t WHERE t.\"authorId\" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM \"User\" r WHERE r.\"id\" = t.\"authorId\")")
        );
    }
}

#[cfg(test)]
mod declared_tests {
    use crate::domain::config::Config;
    use crate::domain::dialect::parse_entities;
    use crate::domain::preflight::{declared_hazards, Fact, Hazard};

    #[test]
    fn a_text_enum_losing_values_is_counted_but_blocks_nothing() {
        let yaml = |values: &str| {
            format!("entities:\n  - name: Item\n    fields:\n      id: {{ type: string, primary: true }}\n      mood: {{ type: string, required: false, enum: [{values}] }}\n")
        };
        let parse = |y: &str| parse_entities(y, "shop", &Config::default()).entities;
        let found = declared_hazards(&parse(&yaml("calm, odd, wild")), &parse(&yaml("calm, odd")));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].statement, 0);
        assert_eq!(
            found[0].hazard,
            Hazard::EnumValues {
                table: "Item".into(),
                column: "mood".into(),
                enum_type: String::new(),
                values: vec!["calm".into(), "odd".into()],
            }
        );
        assert!(declared_hazards(&parse(&yaml("calm")), &parse(&yaml("calm, odd"))).is_empty());
        let fact = Fact {
            statement: 0,
            hazard: found[0].hazard.clone(),
            rows: 4,
            violating: Some(2),
            examples: vec!["i2".into()],
            lost: None,
            error: None,
        };
        assert!(!fact.blocks());
        assert_eq!(fact.summary(), "removes enum values of \"Item\".\"mood\" (a text column; it keeps calm, odd): 2 of 4 rows hold a removed value; nothing fails, but readers of the field meet values outside its list (for example i2)");
    }
}

//! Preflight: what a plan's statements would meet in the live data. The hazards are read from
//! the parsed plan (squawk's PostgreSQL syntax tree, never the text): a column made required, a
//! required column added without a default, a unique index or constraint, a foreign key, a
//! shorter length, an enum with values removed, a dropped column or table. For each, the
//! read-only queries that count the rows it would meet are built here, every identifier quoted;
//! the registry runs them (`registry::preflight`) and keeps the [`Fact`]s with the change.
//!
//! Statements on a table the plan itself creates, or on a column it adds, meet no data and are
//! left out.

use serde::{Deserialize, Serialize};

/// How many example keys a fact keeps.
pub const EXAMPLES: usize = 5;

/// A data hazard of one planned statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Hazard {
    /// `ALTER COLUMN … SET NOT NULL`: rows holding null fail it.
    NotNull { table: String, column: String },
    /// `ADD COLUMN … NOT NULL` without a default: any row fails it.
    RequiredColumn { table: String, column: String },
    /// A unique index or constraint: rows sharing values fail it.
    Unique { table: String, columns: Vec<String> },
    /// A foreign key: rows whose key matches no referenced row fail it.
    ForeignKey {
        table: String,
        columns: Vec<String>,
        target: String,
        target_columns: Vec<String>,
        /// The referenced table is created by the same plan (empty: every key is an orphan).
        target_is_new: bool,
    },
    /// `SET DATA TYPE VARCHAR(n)`/`CHAR(n)`: longer values fail it.
    MaxLength {
        table: String,
        column: String,
        length: u32,
    },
    /// The column becomes an enum (re)created by the plan: values outside it fail it. A
    /// package's enum field (text, no `enum_type`) loses values without any SQL: rows holding
    /// them fail nothing, but no longer fit the field.
    EnumValues {
        table: String,
        column: String,
        enum_type: String,
        values: Vec<String>,
    },
    /// `DROP COLUMN`: its non-null values are lost.
    DropColumn { table: String, column: String },
    /// `DROP TABLE`: its rows are lost.
    DropTable { table: String },
}

impl Hazard {
    /// The table the checks read.
    #[must_use]
    pub fn table(&self) -> &str {
        match self {
            Hazard::NotNull { table, .. }
            | Hazard::RequiredColumn { table, .. }
            | Hazard::Unique { table, .. }
            | Hazard::ForeignKey { table, .. }
            | Hazard::MaxLength { table, .. }
            | Hazard::EnumValues { table, .. }
            | Hazard::DropColumn { table, .. }
            | Hazard::DropTable { table } => table,
        }
    }

    /// Whether the hazard loses data rather than failing on it.
    #[must_use]
    pub fn loses_data(&self) -> bool {
        matches!(self, Hazard::DropColumn { .. } | Hazard::DropTable { .. })
    }

    /// The hazard in a few words: `makes "Post"."title" required`.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Hazard::NotNull { table, column } => format!("makes \"{table}\".\"{column}\" required"),
            Hazard::RequiredColumn { table, column } => {
                format!("adds the required column \"{table}\".\"{column}\" without a default")
            }
            Hazard::Unique { table, columns } => {
                format!("makes \"{table}\" ({}) unique", columns.join(", "))
            }
            Hazard::ForeignKey {
                table,
                columns,
                target,
                ..
            } => format!(
                "makes \"{table}\" ({}) reference \"{target}\"",
                columns.join(", ")
            ),
            Hazard::MaxLength {
                table,
                column,
                length,
            } => format!("limits \"{table}\".\"{column}\" to {length} characters"),
            Hazard::EnumValues {
                table,
                column,
                enum_type,
                values,
            } if enum_type.is_empty() => format!(
                "removes enum values of \"{table}\".\"{column}\" (a text column; it keeps {})",
                values.join(", ")
            ),
            Hazard::EnumValues {
                table,
                column,
                enum_type,
                values,
            } => format!(
                "limits \"{table}\".\"{column}\" to the values of \"{enum_type}\" ({})",
                values.join(", ")
            ),
            Hazard::DropColumn { table, column } => {
                format!("drops the column \"{table}\".\"{column}\"")
            }
            Hazard::DropTable { table } => format!("drops the table \"{table}\""),
        }
    }

    /// The way forward when rows violate it (expand/contract), for the refusal.
    #[must_use]
    pub fn advice(&self) -> String {
        match self {
            Hazard::NotNull { column, .. } => format!("expand/contract: keep {column} optional, backfill the rows that hold null, then make it required in a later change"),
            Hazard::RequiredColumn { column, .. } => format!("expand/contract: add {column} optional (or with a default), backfill every row, then make it required in a later change"),
            Hazard::Unique { .. } => "remove or merge the duplicated rows first, then add the unique index in a later change".to_string(),
            Hazard::ForeignKey { target, .. } => format!("fix or clear the keys that match no row of \"{target}\" first, then add the relation"),
            Hazard::MaxLength { column, length, .. } => format!("shorten the values of {column} longer than {length} characters first, or keep the longer length"),
            Hazard::EnumValues { column, .. } => format!("move the rows of {column} off the removed values first, then remove them in a later change"),
            Hazard::DropColumn { .. } | Hazard::DropTable { .. } => String::new(),
        }
    }
}

/// A hazard of statement `statement` (numbered from 1, as the plan's statements are; 0 for a
/// hazard of the change's declarations that no statement carries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementHazard {
    /// The statement's number in the plan.
    pub statement: usize,
    /// What it risks.
    pub hazard: Hazard,
}

/// What the live database holds for one hazard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    /// The statement's number in the plan.
    pub statement: usize,
    /// The hazard checked.
    pub hazard: Hazard,
    /// Rows in the table.
    pub rows: i64,
    /// Rows that would make the statement fail (none for a drop).
    pub violating: Option<i64>,
    /// Up to [`EXAMPLES`] of them: primary keys (or duplicated values for a unique index).
    pub examples: Vec<String>,
    /// Values a drop would lose: non-null values of the column, rows of the table.
    pub lost: Option<i64>,
    /// Why the check could not run (a timeout, a missing table), if it could not.
    pub error: Option<String>,
}

impl Fact {
    /// The fact as a reviewer reads it: `3 of 1,204 rows hold null (keys: a, b, c)`.
    #[must_use]
    pub fn summary(&self) -> String {
        if let Some(error) = &self.error {
            return format!("{}: could not be checked: {error}", self.hazard.describe());
        }
        let rows = thousands(self.rows);
        let examples = if self.examples.is_empty() {
            String::new()
        } else {
            format!(" (for example {})", self.examples.join("; "))
        };
        match (&self.hazard, self.violating, self.lost) {
            (Hazard::DropTable { table }, _, Some(lost)) => {
                format!("drops {} of \"{table}\"", counted(lost, "row", "rows"))
            }
            (Hazard::DropColumn { table, column }, _, Some(lost)) => format!(
                "drops {} of \"{table}\".\"{column}\" ({})",
                counted(lost, "non-null value", "non-null values"),
                counted(self.rows, "row", "rows")
            ),
            (hazard, Some(0), _) => {
                format!("{}: none of {rows} rows violates it", hazard.describe())
            }
            (hazard @ Hazard::EnumValues { enum_type, .. }, Some(n), _) if enum_type.is_empty() => format!(
                "{}: {} of {rows} rows hold a removed value; nothing fails, but readers of the field meet values outside its list{examples}",
                hazard.describe(),
                thousands(n)
            ),
            (hazard, Some(n), _) => format!(
                "{}: {} of {rows} rows would make it fail{examples}",
                hazard.describe(),
                thousands(n)
            ),
            (hazard, None, _) => format!("{}: {rows} rows", hazard.describe()),
        }
    }

    /// Whether rows would make the statement fail (or the check could not tell).
    #[must_use]
    pub fn blocks(&self) -> bool {
        let enforced =
            !matches!(&self.hazard, Hazard::EnumValues { enum_type, .. } if enum_type.is_empty());
        enforced && self.violating.is_some_and(|n| n > 0)
    }
}

/// The facts of one preflight run, as kept with the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreflightReport {
    /// When the checks ran (RFC 3339).
    pub checked_at: String,
    /// The SHA-256 of the plan checked.
    pub plan_sha256: String,
    /// `platform` or `replica`.
    pub source: String,
    /// How long the checks took, in milliseconds.
    pub duration_ms: u64,
    /// One per hazard, in statement order.
    pub facts: Vec<Fact>,
}

impl PreflightReport {
    /// The facts that make the plan fail.
    pub fn blocking(&self) -> impl Iterator<Item = &Fact> {
        self.facts.iter().filter(|f| f.blocks())
    }

    /// The facts of statement `statement`.
    pub fn of_statement(&self, statement: usize) -> impl Iterator<Item = &Fact> {
        self.facts.iter().filter(move |f| f.statement == statement)
    }

    /// What the drops lose, one line each (`drops 1,204 non-null values of "Post"."title"`).
    #[must_use]
    pub fn losses(&self) -> Vec<String> {
        self.facts
            .iter()
            .filter(|f| f.hazard.loses_data() && f.error.is_none())
            .map(Fact::summary)
            .collect()
    }

    /// Why the plan cannot be approved or applied, with the numbers and the way forward; `None`
    /// when no row violates any statement.
    #[must_use]
    pub fn refusal(&self) -> Option<String> {
        let lines: Vec<String> = self
            .blocking()
            .map(|f| {
                format!(
                    "statement {} {}; {}",
                    f.statement,
                    f.summary(),
                    f.hazard.advice()
                )
            })
            .collect();
        (!lines.is_empty()).then(|| lines.join("\n"))
    }
}

/// `1 row`, `1,204 rows`.
fn counted(n: i64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// `1204` as `1,204`.
#[must_use]
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(feature = "domain")]
mod detect;
#[cfg(feature = "domain")]
mod queries;

#[cfg(feature = "domain")]
pub use detect::{declared_hazards, hazards};
#[cfg(feature = "domain")]
pub use queries::{queries, CheckQueries};

//! squawk's migration rules (the `squawk-linter` crate) run on a plan: each finding keeps
//! squawk's rule id and message, and counts toward the change's risk by what the rule is about.

use std::ops::Range;

use squawk_linter::{Linter, Rule};
use squawk_syntax::SourceFile;

use super::change::Risk;
use super::sql_plan::SqlFinding;

/// Rules left out: the restart job runs each migration in one transaction and sets its own
/// timeouts, so these would only repeat on every statement.
const QUIET_RULES: [&str; 4] = [
    "prefer-robust-stmts",
    "require-lock-timeout",
    "require-statement-timeout",
    "transaction-nesting",
];

/// The risk class a squawk rule's finding stands for. Style rules (`prefer-text-field`) are
/// shown but raise no risk.
#[must_use]
pub fn rule_risk(rule: &str) -> Risk {
    match rule {
        "ban-drop-table"
        | "ban-drop-column"
        | "ban-drop-database"
        | "ban-truncate-cascade"
        | "ban-drop-schema"
        | "ban-drop-type"
        | "ban-drop-view"
        | "ban-drop-sequence" => Risk::DataLoss,
        "renaming-column" | "renaming-table" | "ban-drop-not-null" | "renaming-object" => {
            Risk::Breaking
        }
        "require-concurrent-index-creation"
        | "require-concurrent-index-deletion"
        | "constraint-missing-not-valid"
        | "adding-foreign-key-constraint"
        | "changing-column-type"
        | "adding-field-with-default"
        | "adding-serial-primary-key-field"
        | "disallowed-unique-constraint" => Risk::Locking,
        "adding-required-field" | "adding-not-nullable-field" => Risk::DataDependent,
        "ban-create-policy"
        | "ban-drop-policy"
        | "ban-alter-policy-condition"
        | "ban-alter-policy-roles"
        | "ban-alter-row-level-security"
        | "ban-revoke" => Risk::Security,
        _ => Risk::Safe,
    }
}

/// squawk's findings on `script`, each with the byte range it points at.
#[must_use]
pub fn lint(script: &str) -> Vec<(Range<usize>, SqlFinding)> {
    let quiet: Vec<Rule> = QUIET_RULES.iter().filter_map(|r| r.parse().ok()).collect();
    let mut linter = Linter::with_rules(&[], &quiet);
    // Prisma's migrations run as one transaction on PostgreSQL 15 or later.
    linter.settings.assume_in_transaction = true;
    let parse = SourceFile::parse(script);
    linter
        .lint(&parse, script)
        .into_iter()
        .map(|violation| {
            let rule = violation.code.to_string();
            let range =
                usize::from(violation.text_range.start())..usize::from(violation.text_range.end());
            let finding = SqlFinding {
                risk: rule_risk(&rule),
                rule,
                message: violation.message.to_string(),
                help: violation.help.map(|h| h.to_string()),
            };
            (range, finding)
        })
        .collect()
}

//! The change's SQL plan, grouped by the table each statement works on: every group a
//! `<details>` element, open at first so that deep links to a statement (`#statement-7`) land
//! on it without JavaScript, and collapsible by hand.

use leptos::prelude::*;

use crate::domain::preflight::{Fact, PreflightReport};
use crate::domain::sql_plan::{Lock, PlannedStatement};

/// SQL keywords shown emphasized in plans.
const KEYWORDS: [&str; 40] = [
    "ADD",
    "ALTER",
    "AND",
    "AS",
    "BY",
    "CASCADE",
    "COLUMN",
    "CONSTRAINT",
    "CREATE",
    "DEFAULT",
    "DELETE",
    "DROP",
    "ENABLE",
    "EXISTS",
    "FOR",
    "FORCE",
    "FOREIGN",
    "FROM",
    "IF",
    "INDEX",
    "INSERT",
    "KEY",
    "LEVEL",
    "NOT",
    "NULL",
    "ON",
    "OR",
    "POLICY",
    "PRIMARY",
    "REFERENCES",
    "ROW",
    "SECURITY",
    "SELECT",
    "SET",
    "TABLE",
    "TO",
    "TYPE",
    "UNIQUE",
    "UPDATE",
    "USING",
];

/// A statement with its keywords emphasized (text only: nothing from the statement is markup).
fn highlighted(sql: &str) -> impl IntoView {
    let mut parts: Vec<(bool, String)> = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, parts: &mut Vec<(bool, String)>| {
        if !word.is_empty() {
            parts.push((KEYWORDS.contains(&word.as_str()), std::mem::take(word)));
        }
    };
    for c in sql.chars() {
        if c.is_ascii_alphabetic() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut parts);
            parts.push((false, c.to_string()));
        }
    }
    flush(&mut word, &mut parts);
    parts
        .into_iter()
        .map(|(keyword, text)| {
            if keyword {
                view! { <span class="kw">{text}</span> }.into_any()
            } else {
                text.into_any()
            }
        })
        .collect_view()
}

/// The statements of one table (or of none), with their numbers in the plan (from 1).
struct Group {
    table: Option<String>,
    statements: Vec<(usize, PlannedStatement)>,
}

impl Group {
    /// The group's anchor: `sql-table-forum`, or `sql-no-table`.
    fn anchor(&self) -> String {
        self.table
            .as_ref()
            .map_or_else(|| "sql-no-table".to_string(), |t| format!("sql-table-{t}"))
    }

    /// The strongest lock its statements take on a table that exists.
    fn strongest_lock(&self) -> Lock {
        self.statements
            .iter()
            .filter(|(_, s)| !s.new_table)
            .map(|(_, s)| s.lock)
            .max()
            .unwrap_or(Lock::None)
    }

    /// A line about the group for its summary: how many statements, which, the strongest lock.
    fn facts(&self) -> String {
        let numbers: Vec<String> = self.statements.iter().map(|(n, _)| n.to_string()).collect();
        let count = self.statements.len();
        let noun = if count == 1 {
            "statement"
        } else {
            "statements"
        };
        let lock = match self.strongest_lock() {
            Lock::None => "no lock on an existing table".to_string(),
            lock => format!("strongest lock {}", lock.as_str()),
        };
        format!("{count} {noun} ({}) · {lock}", numbers.join(", "))
    }
}

/// `plan` grouped by table in the order each table first appears; statements that work on no
/// single table (functions, settings) form the last group.
fn groups(plan: Vec<PlannedStatement>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut loose = Group {
        table: None,
        statements: Vec::new(),
    };
    for (index, statement) in plan.into_iter().enumerate() {
        let number = index + 1;
        let Some(table) = statement.table.clone() else {
            loose.statements.push((number, statement));
            continue;
        };
        match groups
            .iter_mut()
            .find(|g| g.table.as_deref() == Some(&table))
        {
            Some(group) => group.statements.push((number, statement)),
            None => groups.push(Group {
                table: Some(table),
                statements: vec![(number, statement)],
            }),
        }
    }
    if !loose.statements.is_empty() {
        groups.push(loose);
    }
    groups
}

/// The SQL the change runs, grouped by table: each statement with the lock it takes, whether
/// it rewrites the table, what else to know, and the items it implements; or the engine's
/// refusal.
#[component]
pub fn SqlPlan(
    plan: Vec<PlannedStatement>,
    error: Option<String>,
    refused: bool,
    preflight: Option<PreflightReport>,
) -> impl IntoView {
    let checked = preflight.as_ref().map(|p| {
        format!(
            "Preflight: checked read-only on the {} database at {} ({} ms).",
            p.source, p.checked_at, p.duration_ms
        )
    });
    let facts_of = move |number: usize| -> Vec<Fact> {
        preflight
            .as_ref()
            .map(|p| p.of_statement(number).cloned().collect())
            .unwrap_or_default()
    };
    let lead = if refused {
        "The plan check refuses this plan, so it cannot be approved: "
    } else {
        "Prisma's schema engine cannot plan this change, so it cannot be approved: "
    };
    let count = plan.len();
    let groups = groups(plan);
    let index = (groups.len() > 1).then(|| {
        view! {
            <nav class="sql-groups" aria-label="Tables in the SQL plan">
                {groups.iter().map(|group| view! {
                    <a href=format!("#{}", group.anchor())>{group_name(group.table.as_deref())}{format!(" ({})", group.statements.len())}</a>" "
                }).collect_view()}
            </nav>
        }
    });
    view! {
        <section class="panel" aria-labelledby="sql-h">
            <h2 id="sql-h">{format!("SQL plan ({count} statements)")}</h2>
            <p class="muted help-link"><a href="/help/sql-plans">"How plans are checked, linted and applied"</a></p>
            {error.map(|error| view! {
                <p class="flash error" role="alert" data-testid="plan-error">{lead}{error}</p>
            })}
            {checked.map(|text| view! { <p class="muted" data-testid="preflight-checked">{text}</p> })}
            {facts_of(0).into_iter().map(|fact| view! {
                <p class="preflight" data-testid="preflight-fact"><strong>"Live data: "</strong>{fact.summary()}</p>
            }).collect_view()}
            {(count > 0).then(|| view! {
                <p class="muted">"Grouped by table; the statements run in the order of their numbers."</p>
            })}
            {index}
            {groups.into_iter().map(|group| {
                let facts = group.facts();
                let refused = group.statements.iter().filter(|(_, s)| s.refusal.is_some()).count();
                let rewrites = group.statements.iter().any(|(_, s)| s.rewrites);
                let (anchor, name) = (group.anchor(), group_name(group.table.as_deref()));
                let table = group.table.clone().unwrap_or_default();
                view! {
                    <details class="sql-group" open id=anchor data-table=table>
                        <summary>
                            <strong>{name}</strong>" "
                            <span class="muted">{facts}</span>
                            {(refused > 0).then(|| view! { " "<span class="badge refused">{format!("{refused} refused")}</span> })}
                            {rewrites.then(|| view! { " "<span class="badge rewrite">"rewrites"</span> })}
                        </summary>
                        <ol class="sql-plan">
                            {group.statements.into_iter().map(|(number, statement)| {
                                let facts = facts_of(number);
                                view! { <Statement number statement facts/> }
                            }).collect_view()}
                        </ol>
                    </details>
                }
            }).collect_view()}
        </section>
    }
}

/// A group's name: the table, or what the statements without one are.
fn group_name(table: Option<&str>) -> AnyView {
    match table {
        Some(table) => view! { "Table "<code>{table.to_string()}</code> }.into_any(),
        None => "Not on one table (functions, settings)".into_any(),
    }
}

/// One statement, numbered as in the plan, with what the preflight found for it.
#[component]
fn Statement(number: usize, statement: PlannedStatement, facts: Vec<Fact>) -> impl IntoView {
    let class = if statement.refusal.is_some() {
        "statement refused"
    } else {
        "statement"
    };
    view! {
        <li id=format!("statement-{number}") value=number class=class data-lock=statement.lock.as_str()>
            {statement.refusal.clone().map(|why| view! {
                <p class="refusal" data-testid="refused-statement"><strong>"Refused: "</strong>{why}</p>
            })}
            <pre class="sql"><code>{highlighted(&statement.sql)}</code></pre>
            <p class="facts">
                {if statement.new_table {
                    view! { <span class="lock new-table" data-testid="new-table">"lock: none (new table: created by this migration, nobody waits for it)"</span> }.into_any()
                } else {
                    view! { <span class="lock">{format!("lock: {} (blocks {})", statement.lock.as_str(), statement.lock.blocks())}</span> }.into_any()
                }}
                {statement.rewrites.then(|| view! { " · " <strong class="rewrite">"rewrites the table"</strong> })}
                {statement.table.clone().map(|t| view! { " · table " <code>{t}</code> })}
                {(!statement.items.is_empty()).then(|| view! { " · implements " <code>{statement.items.join(", ")}</code> })}
            </p>
            {statement.note.clone().map(|note| view! { <p class="note">{note}</p> })}
            {facts.into_iter().map(|fact| view! {
                <p class=if fact.blocks() { "preflight fails" } else { "preflight" } data-testid="preflight-fact">
                    <strong>"Live data: "</strong>{fact.summary()}
                </p>
            }).collect_view()}
            {(!statement.findings.is_empty()).then(|| view! {
                <ul class="findings">
                    {statement.findings.iter().map(|f| view! {
                        <li data-risk=f.risk.as_str()>
                            <code class="rule">{f.rule.clone()}</code>" "{f.message.clone()}
                            {f.help.clone().map(|h| view! { <span class="muted">" ("{h}")"</span> })}
                        </li>
                    }).collect_view()}
                </ul>
            })}
        </li>
    }
}

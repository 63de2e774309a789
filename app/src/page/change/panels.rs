//! The change page's panels about other changes: dependencies, conflicts, the change before
//! and after this one.

use leptos::prelude::*;

use crate::api::change::{ConflictView, DependencyView, EventView, SinceReview};
use crate::component::badge::{Checksum, StatusBadge};
use crate::component::diff::UnifiedDiff;
use crate::component::text::LinkedText;
use crate::domain::preflight::{Fact, PreflightReport};
use crate::domain::sql_plan::PlannedStatement;

fn change_link(id: &str) -> impl IntoView {
    let short: String = id.chars().take(8).collect();
    view! { <a href=format!("/changes/{id}")><code>{short}</code></a> }
}

/// "Superseded by" and "replaces" links.
#[component]
pub fn Succession(
    superseded_by: Option<String>,
    replaces: Option<(String, String)>,
) -> impl IntoView {
    if superseded_by.is_none() && replaces.is_none() {
        return None;
    }
    Some(view! {
        <div class="succession">
            {superseded_by.map(|id| view! {
                <p class="flash info">"Newer content replaced this change: "{change_link(&id)}" — review that one."</p>
            })}
            {replaces.map(|(id, status)| view! {
                <p>"Replaces the earlier change "{change_link(&id)}" ("<StatusBadge status/>")."</p>
            })}
        </div>
    })
}

/// What the change needs from other packages, and where each stands.
#[component]
pub fn Dependencies(dependencies: Vec<DependencyView>) -> impl IntoView {
    if dependencies.is_empty() {
        return None;
    }
    let unmet = dependencies.iter().filter(|d| !d.satisfied).count();
    Some(view! {
        <section class="panel" class:blocked=(unmet > 0) aria-labelledby="deps-h">
            <h2 id="deps-h">"Depends on"</h2>
            {(unmet > 0).then(|| view! {
                <p class="error">{format!("{unmet} dependency(ies) neither applied nor approved: approve those changes first, then this one.")}</p>
            })}
            <div class="scroll">
                <table class="dependencies">
                    <thead><tr><th scope="col">"Entity"</th><th scope="col">"Package"</th><th scope="col">"State"</th><th scope="col">"Change"</th></tr></thead>
                    <tbody>
                        {dependencies.into_iter().map(|d| view! {
                            <tr data-satisfied=d.satisfied.to_string()>
                                <td><code>{d.entity}</code></td>
                                <td>{d.package.unwrap_or_else(|| "no package declares it".to_string())}</td>
                                <td><StatusBadge status=d.state/></td>
                                <td>{d.change_id.map(|id| change_link(&id))}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    })
}

/// Each conflict: the declarations, a per-aspect comparison, which one the database has, and
/// what either side must change.
#[component]
pub fn Conflicts(conflicts: Vec<ConflictView>) -> impl IntoView {
    if conflicts.is_empty() {
        return None;
    }
    Some(view! {
        <section class="panel conflict" aria-labelledby="conflict-h">
            <h2 id="conflict-h">"⚠ Conflicts: approval blocked"</h2>
            {conflicts.into_iter().map(|conflict| {
                let left = conflict.declarations.first().map(|d| d.0.clone()).unwrap_or_default();
                let right = conflict.declarations.get(1).map(|d| d.0.clone()).unwrap_or_default();
                view! {
                    <h3>{conflict.entity.clone()}</h3>
                    <div class="scroll"><table class="declarations">
                        <thead><tr><th scope="col">"Package"</th><th scope="col">"Checksum"</th><th scope="col">"Applied"</th></tr></thead>
                        <tbody>
                            {conflict.declarations.iter().cloned().map(|(package, checksum)| {
                                let applied = conflict.applied.as_deref() == Some(package.as_str());
                                view! {
                                    <tr><td>{package}</td><td><Checksum value=checksum/></td>
                                    <td>{if applied { "matches what is applied" } else { "" }}</td></tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table></div>
                    {conflict.applied.is_none().then(|| view! { <p class="muted">"Neither declaration is applied yet."</p> })}
                    <div class="scroll">
                        <table class="comparison">
                            <thead><tr>
                                <th scope="col">"Aspect"</th><th scope="col">"Where"</th>
                                <th scope="col">{format!("{left} says")}</th><th scope="col">{format!("{right} says")}</th>
                            </tr></thead>
                            <tbody>
                                {conflict.differences.iter().cloned().map(|d| view! {
                                    <tr><td>{d.aspect}</td><td><code>{d.subject}</code></td><td>{d.left}</td><td>{d.right}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    {(!conflict.advice.is_empty()).then(|| view! {
                        <h4>"To resolve"</h4>
                        <ul class="advice">
                            {conflict.advice.iter().cloned().map(|line| view! { <li>{line}</li> }).collect_view()}
                        </ul>
                    })}
                    <p class="diff-sides">"Definitions: "<span class="del">{format!("− {left}")}</span>" "<span class="ins">{format!("+ {right}")}</span></p>
                    <UnifiedDiff hunks=conflict.diff.clone() label="Difference between the declarations"/>
                }
            }).collect_view()}
        </section>
    })
}

/// What changed since the content the replaced change was reviewed at.
#[component]
pub fn SinceLastReview(since: Option<SinceReview>) -> impl IntoView {
    since.map(|since| view! {
        <section class="panel" aria-labelledby="since-h">
            <h2 id="since-h">"Changes since the last review"</h2>
            <p>
                "Compared with the content of "{change_link(&since.previous_id)}" ("{since.previous_status.clone()}
                {since.previous_decided_by.clone().map(|by| format!(", decided by {by}"))}")."
            </p>
            <ul class="items">
                {since.items.iter().cloned().map(|item| view! {
                    <li><code>{item.path}</code>": "<strong>{item.summary}</strong></li>
                }).collect_view()}
            </ul>
            <UnifiedDiff hunks=since.diff.clone() label="Prisma fragment since the last review"/>
        </section>
    })
}

/// Comments made on the changes this one replaced.
#[component]
pub fn EarlierComments(comments: Vec<EventView>) -> impl IntoView {
    (!comments.is_empty()).then(|| view! {
        <h3>"Comments on earlier changes"</h3>
        <ol class="timeline earlier">
            {comments.into_iter().map(|event| view! {
                <li>
                    <crate::component::time::Time at=event.at.clone()/>" "
                    {event.actor.clone()}" on "{event.change_id.as_deref().map(change_link)}
                    {event.note.clone().map(|note| view! { <span class="note">": "<LinkedText text=note/></span> })}
                </li>
            }).collect_view()}
        </ol>
    })
}

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

/// The SQL the change runs: each statement with the lock it takes, whether it rewrites the
/// table, what else to know, and the items it implements; or the engine's refusal.
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
    view! {
        <section class="panel" aria-labelledby="sql-h">
            <h2 id="sql-h">{format!("SQL plan ({} statements)", plan.len())}</h2>
            <p class="muted help-link"><a href="/help/sql-plans">"How plans are checked, linted and applied"</a></p>
            {error.map(|error| view! {
                <p class="flash error" role="alert" data-testid="plan-error">{lead}{error}</p>
            })}
            {checked.map(|text| view! { <p class="muted" data-testid="preflight-checked">{text}</p> })}
            {facts_of(0).into_iter().map(|fact| view! {
                <p class="preflight" data-testid="preflight-fact"><strong>"Live data: "</strong>{fact.summary()}</p>
            }).collect_view()}
            <ol class="sql-plan">
                {plan.into_iter().enumerate().map(|(index, statement)| view! {
                    <li id=format!("statement-{}", index + 1) class=if statement.refusal.is_some() { "statement refused" } else { "statement" } data-lock=statement.lock.as_str()>
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
                        {facts_of(index + 1).into_iter().map(|fact| view! {
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
                }).collect_view()}
            </ol>
        </section>
    }
}

//! The change page's panels about other changes: dependencies, conflicts, the change before
//! and after this one.

use leptos::prelude::*;

use crate::api::change::{ConflictView, DependencyView, EventView, SinceReview};
use crate::component::badge::{Checksum, StatusBadge};
use crate::component::diff::UnifiedDiff;
use crate::component::text::LinkedText;

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

/// Entities of the package that a package with validation errors declares differently: no
/// conflict in the registry yet, but one as soon as that package is fixed.
#[component]
pub fn BrokenConflicts(
    conflicts: Vec<crate::domain::broken_conflict::BrokenConflict>,
) -> impl IntoView {
    (!conflicts.is_empty()).then(|| view! {
        <section class="panel conflict" aria-labelledby="broken-conflict-h" data-testid="broken-conflicts">
            <h2 id="broken-conflict-h">"⚠ Conflicts with packages that have errors"</h2>
            <ul>
                {conflicts.into_iter().map(|c| view! {
                    <li data-testid="broken-conflict">
                        <code>{c.entity.clone()}</code>" is also declared, differently, by "
                        <a href=crate::api::broken::package_link(&c.package)>{c.package.clone()}</a>
                        {format!(", whose file has {} error(s): ", c.errors)}<span class="error">{c.error.clone()}</span>
                    </li>
                }).collect_view()}
            </ul>
            <p class="muted">"That package cannot be queued until its errors are fixed; then the two declarations conflict. Agree on one definition before approving. Bulk approval leaves this change out."</p>
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

//! One change: what it does, how risky it is, the diff, the conflicts, the history, and the
//! decision.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::change::{
    get_change, ApproveChange, ChangeDetail, CommentChange, PlanChange, RejectChange, RetryChange,
};
use crate::api::review::{next_pending_change, DismissVerdict, ReviewChange, WithdrawApproval};
use crate::component::badge::{Checksum, RiskBadge, StatusBadge};
use crate::component::diff::Diff;
use crate::component::flash::QueryError;
use crate::component::text::LinkedText;
use crate::component::time::Time;

mod panels;
mod review;
mod sql;
use panels::{
    BrokenConflicts, Conflicts, Dependencies, EarlierComments, SinceLastReview, Succession,
};
use review::{AdminApprovals, DecisionConfirmation, Outcome, Reviews};
use sql::SqlPlan;

/// Fetches the change (again after each decision) and lays it out.
#[component]
pub fn ChangePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let approve = ServerAction::<ApproveChange>::new();
    let reject = ServerAction::<RejectChange>::new();
    let retry = ServerAction::<RetryChange>::new();
    let comment = ServerAction::<CommentChange>::new();
    let review = ServerAction::<ReviewChange>::new();
    let withdraw = ServerAction::<WithdrawApproval>::new();
    let dismiss = ServerAction::<DismissVerdict>::new();
    let id = move || params.read().get("id").unwrap_or_default();
    let detail = Resource::new(
        move || {
            (
                id(),
                approve.version().get()
                    + reject.version().get()
                    + retry.version().get()
                    + comment.version().get()
                    + review.version().get()
                    + withdraw.version().get()
                    + dismiss.version().get(),
            )
        },
        |(id, _)| get_change(id),
    );
    // After a decision: where to go next.
    let decided = move || query.read().get("decided");
    let next = Resource::new(
        move || (id(), decided().is_some()),
        |(id, decided)| async move {
            if decided {
                next_pending_change(id).await.ok().flatten()
            } else {
                None
            }
        },
    );
    let split = move || query.read().get("view").as_deref() == Some("split");

    // Shown above the change, so it stays visible after the refetch that follows a refusal.
    let refusal = move || {
        let errors = [
            approve.value().get(),
            reject.value().get(),
            retry.value().get(),
            comment.value().get(),
            review.value().get(),
            withdraw.value().get(),
            dismiss.value().get(),
        ];
        let error = errors
            .into_iter()
            .find_map(|value| value.and_then(Result::err))
            .map(|error| error.to_string());
        error.map(|message| view! { <p class="flash error" role="alert">{message}</p> })
    };
    view! {
        <QueryError/>
        {refusal}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(change) => {
                        let outcome = Outcome::confirmed(decided().as_deref(), &change);
                        let next = if outcome.is_some() { next.await } else { None };
                        let confirmation = outcome.map(|outcome| view! {
                            <DecisionConfirmation outcome package=change.row.package.clone()
                                required=change.review.approvals_required next/>
                        });
                        view! {
                            {confirmation}
                            <ChangeView change split=split() approve reject retry comment review withdraw dismiss/>
                        }.into_any()
                    }
                    Err(error) => {
                        let missing = matches!(error, crate::error::AppError::NotFound(_));
                        #[cfg(feature = "ssr")]
                        if missing {
                            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                                response.set_status(axum::http::StatusCode::NOT_FOUND);
                            }
                        }
                        let heading = if missing { "Change not found" } else { "Change" };
                        view! {
                            <Title text=format!("{heading} · Schemagate")/>
                            <h1>{heading}</h1>
                            <p role="alert">{error.to_string()}</p>
                            {missing.then(|| view! { <p><a href="/changes">"Back to the open changes"</a></p> })}
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn ChangeView(
    change: ChangeDetail,
    split: bool,
    approve: ServerAction<ApproveChange>,
    reject: ServerAction<RejectChange>,
    retry: ServerAction<RetryChange>,
    comment: ServerAction<CommentChange>,
    review: ServerAction<ReviewChange>,
    withdraw: ServerAction<WithdrawApproval>,
    dismiss: ServerAction<DismissVerdict>,
) -> impl IntoView {
    let row = change.row.clone();
    let comment_id = row.id.clone();
    let path = format!("/changes/{}", row.id);
    let title = format!("Change {} · Schemagate", row.package);
    view! {
        <Title text=title/>
        <h1>{row.package.clone()}" "<small class="muted">{if row.kind == "drop" { "drop" } else { "change" }}</small></h1>
        <dl class="facts">
            <div><dt>"Status"</dt><dd><StatusBadge status=row.status.clone()/></dd></div>
            <div><dt>"Risk"</dt><dd><RiskBadge risk=row.risk.clone()/></dd></div>
            <div><dt>"Base"</dt><dd>{match change.base_checksum.clone() {
                Some(c) => view! { <Checksum value=c/> }.into_any(),
                None => view! { <span class="muted">"never applied"</span> }.into_any(),
            }}</dd></div>
            <div><dt>"Target"</dt><dd><Checksum value=change.target_checksum.clone()/></dd></div>
            <div><dt>"Scanned"</dt><dd><Time at=row.created_at.clone()/>" by "{actor_name(&change.created_by)}</dd></div>
            <div><dt>"Author"</dt><dd data-testid="author">{match change.review.author.clone() {
                Some(owner) => view! { {owner}<span class="muted">" (the package's owner)"</span> }.into_any(),
                None => view! { <span class="muted">"none declared (the package names no owner)"</span> }.into_any(),
            }}</dd></div>
            {change.decided.clone().map(|(by, at, note)| view! {
                <div><dt>"Decided"</dt><dd><Time at/>" by "{by}{note.map(|n| view! { ": "<LinkedText text=n/> })}</dd></div>
            })}
        </dl>

        <nav class="toc" aria-label="On this page">
            <a href="#items-h">"Items"</a>" · "<a href="#diff-h">"Diff"</a>" · "<a href="#sql-h">"SQL plan"</a>" · "<a href="#timeline-h">"Timeline"</a>
        </nav>
        <Succession
            superseded_by=change.lineage.superseded_by.clone()
            replaces=change.lineage.since_review.as_ref().map(|s| (s.previous_id.clone(), s.previous_status.clone()))
        />
        {change.lineage.held_back.clone().map(|why| view! {
            <p class="flash error" role="status" data-testid="held-back">{why}</p>
        })}
        {(row.status == "failed").then(|| view! { <Failed change=change.clone() retry/> })}
        <Decision change=change.clone() approve reject withdraw/>
        <Reviews change=change.clone() review dismiss/>
        <section aria-labelledby="items-h">
            <h2 id="items-h">{format!("Items ({})", change.items.len())}</h2>
            <ul class="items">
                {change.items.clone().into_iter().enumerate().map(|(n, item)| {
                    let statements = statements_of(&change, &item.path);
                    view! {
                        <li class="item" id=format!("item-{}", n + 1) data-risk=item.risk.as_str()>
                            <RiskBadge risk=item.risk.as_str().to_string()/>" "
                            <code>{item.path.clone()}</code>": "<strong>{item.summary.clone()}</strong>
                            {(!statements.is_empty()).then(|| view! {
                                " "<span class="muted item-statements">"→ "{statements.into_iter().map(|number| view! {
                                    <a href=format!("#statement-{number}")>{format!("statement {number}")}</a>" "
                                }).collect_view()}</span>
                            })}
                            <div class="reason">{item.reason.clone()}</div>
                            {item.suggestion.clone().map(|hint| view! { <div class="advice suggestion" data-testid="suggestion"><strong>"Suggestion: "</strong>{hint}</div> })}
                            {item.advice.clone().map(|advice| view! { <div class="advice">"Advice: "{advice}</div> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>

        <Dependencies dependencies=change.lineage.dependencies.clone()/>
        <Conflicts conflicts=change.conflicts.clone()/>
        <BrokenConflicts conflicts=change.row.broken_conflicts.clone()/>
        <SinceLastReview since=change.lineage.since_review.clone()/>

        <section aria-labelledby="diff-h">
            <h2 id="diff-h">"Prisma diff"</h2>
            <Diff hunks=change.diff.clone() label="Prisma fragment, before and after".to_string() path split/>
        </section>

        <crate::component::access_rules::AccessRules rules=change.acl.clone()/>
        <SqlPlan plan=change.plan.clone() error=change.plan_error.clone() refused=change.plan_refused preflight=change.preflight.clone()/>

        <section aria-labelledby="timeline-h">
            <h2 id="timeline-h">"Timeline"</h2>
            <ol class="timeline">
                {change.timeline.clone().into_iter().enumerate().map(|(n, event)| {
                    // Every event (comments, verdicts, decisions) has an anchor to link to.
                    let anchor = format!("event-{}", n + 1);
                    view! {
                        <li id=anchor.clone()>
                            <Time at=event.at.clone()/>" "
                            <strong>{event.action.clone()}</strong>" by "{event.actor.clone()}
                            {event.on.clone().map(|on| view! {
                                " on "<a href=format!("#{on}") data-testid="comment-on">{on.replace('-', " ")}</a>
                            })}
                            {event.note.clone().map(|note| view! { <span class="note">": "<LinkedText text=note/></span> })}
                            <a class="anchor" href=format!("#{anchor}") aria-label=format!("Link to event {}", n + 1)>"#"</a>
                        </li>
                    }
                }).collect_view()}
            </ol>
            <EarlierComments comments=change.lineage.earlier_comments.clone()/>
        </section>

        {change.can_comment.then(|| view! {
            <ActionForm action=comment attr:class="stack comment">
                <input type="hidden" name="id" value=comment_id/>
                <label for="comment-on">"On"</label>
                <select id="comment-on" name="on">
                    <option value="">"the whole change"</option>
                    {change.items.iter().enumerate().map(|(n, item)| view! {
                        <option value=format!("item-{}", n + 1)>{format!("item {}: {}", n + 1, item.path)}</option>
                    }).collect_view()}
                    {(1..=change.plan.len()).map(|n| view! {
                        <option value=format!("statement-{n}")>{format!("statement {n}")}</option>
                    }).collect_view()}
                </select>
                <label for="comment-text">"Comment"</label>
                <textarea id="comment-text" name="text" rows="2" required maxlength="4000"></textarea>
                <button type="submit">"Add comment"</button>
            </ActionForm>
        })}

        {change.apply_log.clone().filter(|_| row.status != "failed").map(|log| view! {
            <details><summary>"Migrate output"</summary><pre>{log}</pre></details>
        })}
        <details>
            <summary>"YAML snapshot"</summary>
            <pre class="yaml">{change.yaml.clone()}</pre>
        </details>
    }
}

/// A failed change: what the database said first, then what to do, and Retry for an admin when
/// a retry can cure it.
#[component]
fn Failed(change: ChangeDetail, retry: ServerAction<RetryChange>) -> impl IntoView {
    let next = if change.can_retry {
        view! {
            <ActionForm action=retry>
                <input type="hidden" name="id" value=change.row.id.clone()/>
                <button type="submit" class="primary">"Retry"</button>
            </ActionForm>
        }
        .into_any()
    } else if change.failure_next.is_some() {
        view! { <p class="muted">"Only an admin can send it back to the restart job."</p> }
            .into_any()
    } else {
        ().into_any()
    };
    view! {
        <section class="panel failed" aria-labelledby="retry-h">
            <h2 id="retry-h">"Failed"</h2>
            {change.failure_reason.clone().map(|why| view! { <p class="flash error" data-testid="failure">{why}</p> })}
            {change.apply_log.clone().map(|log| view! {
                <details open><summary>"What the database said"</summary><pre>{log}</pre></details>
            })}
            {change.retry_blocked.clone().map(|why| view! { <p data-testid="retry-blocked">{why}</p> })}
            {change.failure_next.clone().map(|next| view! { <p data-testid="failure-next">{next}</p> })}
            {next}
        </section>
    }
}

/// The numbers of the plan's statements that implement the item at `path`.
fn statements_of(change: &ChangeDetail, path: &str) -> Vec<usize> {
    change
        .plan
        .iter()
        .enumerate()
        .filter(|(_, statement)| statement.items.iter().any(|p| p == path))
        .map(|(index, _)| index + 1)
        .collect()
}

/// Why Approve is disabled: rows preflight found, no plan, unmet dependencies, or a conflict.
fn blocked_note(preflight_refusal: Option<String>, unplanned: bool, unmet: bool) -> String {
    if let Some(why) = preflight_refusal {
        format!(
            "Preflight against the live database found rows that would make the plan fail:\n{why}"
        )
    } else if unplanned {
        "There is no SQL plan: see the engine's error in the SQL plan section, and plan again."
            .to_string()
    } else if unmet {
        "Approve the changes it depends on first.".to_string()
    } else {
        "Resolve the conflict first.".to_string()
    }
}

/// Approve and Reject, for admins on pending changes. Each form carries the target checksum
/// the admin is looking at, so a decision on stale content is refused.
#[component]
fn Decision(
    change: ChangeDetail,
    approve: ServerAction<ApproveChange>,
    reject: ServerAction<RejectChange>,
    withdraw: ServerAction<WithdrawApproval>,
) -> impl IntoView {
    if !change.can_decide {
        return None;
    }
    if change.plan_refused {
        // No confirmation can approve a plan that reaches beyond the change: only Reject.
        let (reject_id, reject_target) = (change.row.id.clone(), change.target_checksum.clone());
        return Some(view! {
            <section class="panel decision" aria-labelledby="decide-h">
                <h2 id="decide-h">"Decision"</h2>
                <p class="flash error" data-testid="plan-refused-decision">
                    "This change cannot be approved: its SQL plan does what the change does not declare (see the refused statements in the SQL plan). Reject it, and fix the package."
                </p>
                <RejectForm reject id=reject_id target=reject_target/>
            </section>
        }
        .into_any());
    }
    let unmet = change.lineage.dependencies.iter().any(|d| !d.satisfied);
    let unplanned = change.plan_error.is_some();
    // No SQL stored: planning was interrupted, or failed before its dependencies were approved.
    let plan_now = change.plan_sha256.is_none().then(|| {
        let plan = ServerAction::<PlanChange>::new();
        let id = change.row.id.clone();
        view! {
            <ActionForm action=plan attr:class="stack plan-now">
                <input type="hidden" name="id" value=id/>
                <button type="submit">"Plan now"</button>
                <p class="muted">"Asks Prisma's schema engine for this change's SQL again."</p>
            </ActionForm>
        }
    });
    let preflight_refusal = change.preflight.as_ref().and_then(|p| p.refusal());
    let blocked = !change.conflicts.is_empty() || unmet || unplanned || preflight_refusal.is_some();
    let why_blocked = blocked_note(preflight_refusal, unplanned, unmet);
    let capability = capability(&change, blocked.then_some(why_blocked.as_str()));
    let can_approve = !blocked && change.review.approval_problem.is_none();
    let plan_sha256 = change.plan_sha256.clone().unwrap_or_default();
    // Each form's children own their copies.
    let (approve_id, approve_target) = (change.row.id.clone(), change.target_checksum.clone());
    let (reject_id, reject_target) = (change.row.id.clone(), change.target_checksum.clone());
    let (risk, risky, confirm_label) = confirmation(&change);
    let (needs_confirmation, package) = (change.needs_confirmation, change.row.package.clone());
    Some(view! {
        <section class="panel decision" aria-labelledby="decide-h">
            <h2 id="decide-h">"Decision"</h2>
            <p class="muted help-link"><a href="/help/approvals">"What an approval checks"</a></p>
            <p class="capability" data-testid="decision-capability">{capability}</p>
            <BrokenConflictNote conflicts=change.row.broken_conflicts.clone()/>
            <AdminApprovals change=change.clone() withdraw/>
            {plan_now}
            <div class="decide-forms">
                <ActionForm action=approve attr:class="stack">
                    <input type="hidden" name="id" value=approve_id/>
                    <input type="hidden" name="target_checksum" value=approve_target/>
                    <input type="hidden" name="plan_sha256" value=plan_sha256/>
                    <label for="approve-note">"Note (optional)"</label>
                    <textarea id="approve-note" name="note" rows="2"></textarea>
                    {(needs_confirmation && can_approve).then(|| view! {
                        <label for="confirm">{confirm_label}</label>
                        <input id="confirm" name="confirm" autocomplete="off" spellcheck="false"
                            data-expected=package/>
                    })}
                    <button type="submit" class=if needs_confirmation { "danger approve" } else { "primary approve" } disabled=!can_approve>
                        {if risky { format!("Approve ({risk})") } else if needs_confirmation { "Approve anyway".to_string() } else { "Approve".to_string() }}
                    </button>
                    {blocked.then(|| view! { <p class="muted" data-testid="approve-blocked">{why_blocked.clone()}</p> })}
                </ActionForm>
                <RejectForm reject id=reject_id target=reject_target/>
            </div>
        </section>
    }
    .into_any())
}

/// Before the forms: an entity of the change that a package with validation errors declares
/// differently, which the panel further down explains.
#[component]
fn BrokenConflictNote(
    conflicts: Vec<crate::domain::broken_conflict::BrokenConflict>,
) -> impl IntoView {
    let named: Vec<String> = conflicts
        .iter()
        .map(|c| format!("{} (by {})", c.entity, c.package))
        .collect();
    (!named.is_empty()).then(|| view! {
        <p class="flash info" data-testid="broken-conflict-note">
            {format!("Before approving: a package with validation errors declares {} differently; ", named.join(", "))}
            <a href="#broken-conflict-h">"see the conflict"</a>"."
        </p>
    })
}

/// The change's risk in words, whether that risk needs the typed confirmation, and the
/// confirmation field's label (which also says why it is asked).
fn confirmation(change: &ChangeDetail) -> (String, bool, String) {
    let parsed = change.row.risk.parse::<crate::domain::change::Risk>();
    let risk = parsed.as_ref().map_or_else(
        |_| change.row.risk.replace('_', " "),
        |r| r.label().to_string(),
    );
    let risky = parsed.as_ref().is_ok_and(|r| r.needs_confirmation());
    let requested = &change.review.changes_requested_by;
    let why_confirm = match (risky, requested.is_empty()) {
        (true, true) => format!("This change is {risk}."),
        (true, false) => format!(
            "This change is {risk}, and changes were requested by {}.",
            requested.join(", ")
        ),
        _ => format!("Changes were requested by {}.", requested.join(", ")),
    };
    // A drop says exactly what it loses where the admin types the package name.
    let losses = change
        .preflight
        .as_ref()
        .map(|p| p.losses())
        .unwrap_or_default();
    let losses = if losses.is_empty() {
        String::new()
    } else {
        format!(" It {}.", losses.join("; "))
    };
    let label = format!(
        "{why_confirm}{losses} To approve, type the package name: {}",
        change.row.package
    );
    (risk, risky, label)
}

/// What the viewer can and cannot do with this pending change, and why, in one sentence shown
/// before any form: `blocked` is why nobody can approve it yet.
fn capability(change: &ChangeDetail, blocked: Option<&str>) -> String {
    let review = &change.review;
    let withdraw = if review.can_withdraw {
        ", or withdraw your first approval"
    } else {
        ""
    };
    if let Some(why) = &review.approval_problem {
        return format!("You cannot approve this change: {why}. You can reject it{withdraw}.");
    }
    if let Some(why) = blocked {
        return format!("You cannot approve this change yet: {why} You can reject it.");
    }
    let author = review.author.as_ref().map_or_else(String::new, |owner| {
        format!(" {owner} (the package's owner) cannot give the second.")
    });
    let four_eyes = review.approvals_required > 1;
    let typed = if change.needs_confirmation {
        " after typing the package name"
    } else {
        ""
    };
    match (four_eyes, review.admin_approvals.is_empty()) {
        (true, true) => format!(
            "You can give the first of two admin approvals{typed}, or reject it. Another admin gives the second.{author}"
        ),
        (true, false) => format!(
            "You can give the second admin approval{typed}, which approves the change, or reject it."
        ),
        _ => format!("You can approve this change{typed}, or reject it."),
    }
}

/// Reject, with a reason: the target checksum pins what the admin saw.
#[component]
fn RejectForm(reject: ServerAction<RejectChange>, id: String, target: String) -> impl IntoView {
    view! {
        <ActionForm action=reject attr:class="stack">
            <input type="hidden" name="id" value=id/>
            <input type="hidden" name="target_checksum" value=target/>
            <label for="reject-reason">"Reason"</label>
            <textarea id="reject-reason" name="reason" rows="2" required></textarea>
            <button type="submit" class="danger reject">"Reject"</button>
        </ActionForm>
    }
}

/// An actor as people say it: `cli:alice` is "alice (command line)".
fn actor_name(actor: &str) -> String {
    match actor.strip_prefix("cli:") {
        Some(user) => format!("{user} (command line)"),
        None => actor.to_string(),
    }
}

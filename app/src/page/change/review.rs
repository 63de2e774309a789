//! The change page's review parts: reviewers' verdicts with their form, and the confirmation
//! after a decision with the way to the next pending change.

use leptos::prelude::*;

use crate::api::change::ChangeDetail;
use crate::api::review::{DismissVerdict, ReviewChange, VerdictView, WithdrawApproval};
use crate::component::text::LinkedText;

/// What a decision did, as `?decided=` names it after the form post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Approved (the restart job will apply it).
    Approved,
    /// The first of two admin approvals was recorded; the change stays pending.
    FirstApproval,
    /// Rejected.
    Rejected,
}

impl Outcome {
    /// The outcome `?decided=` names, if the change is in the state it leads to (so a hand-made
    /// link cannot claim a decision that did not happen).
    pub fn confirmed(decided: Option<&str>, change: &ChangeDetail) -> Option<Outcome> {
        let status = change.row.status.as_str();
        match decided? {
            "approved" if matches!(status, "approved" | "applying" | "applied" | "failed") => {
                Some(Outcome::Approved)
            }
            "first_approval"
                if status == "pending" && !change.review.admin_approvals.is_empty() =>
            {
                Some(Outcome::FirstApproval)
            }
            "rejected" if status == "rejected" => Some(Outcome::Rejected),
            _ => None,
        }
    }
}

/// "Approved billing" (or what else was done), and a link to the next pending change or back
/// to the queue when none is left.
#[component]
pub fn DecisionConfirmation(
    outcome: Outcome,
    package: String,
    required: usize,
    next: Option<(String, String)>,
) -> impl IntoView {
    let message = match outcome {
        Outcome::Approved => format!("Approved {package}"),
        Outcome::Rejected => format!("Rejected {package}"),
        Outcome::FirstApproval => format!(
            "Recorded your approval of {package}: 1 of {required} admin approvals. It stays pending until another admin approves it."
        ),
    };
    view! {
        <div class="flash ok decided" role="status" data-testid="decided">
            <p><strong>{message}</strong></p>
            <p>{match next {
                Some((id, next_package)) => view! {
                    <a href=format!("/changes/{id}") data-testid="next-pending">{format!("Next pending change: {next_package}")}</a>
                }.into_any(),
                None => view! {
                    "No more pending changes. " <a href="/changes">"Back to the queue"</a>
                }.into_any(),
            }}</p>
        </div>
    }
}

/// Each reviewer's latest verdict, and for reviewers and admins the verdict form. Admins decide
/// with the Decision panel; their reviewer verdict sits behind a disclosure.
#[component]
pub fn Reviews(
    change: ChangeDetail,
    review: ServerAction<ReviewChange>,
    dismiss: ServerAction<DismissVerdict>,
) -> impl IntoView {
    let state = change.review.clone();
    if state.verdicts.is_empty() && !state.can_review {
        return None;
    }
    let id = change.row.id.clone();
    let id_for_list = change.row.id.clone();
    let form = state.can_review.then(|| {
        view! {
            <ActionForm action=review attr:class="stack verdict">
                <input type="hidden" name="id" value=id/>
                <label for="verdict-text">"Your review"</label>
                <textarea id="verdict-text" name="text" rows="2" maxlength="4000"
                    aria-describedby="verdict-help"></textarea>
                <span id="verdict-help" class="muted help">"Required when requesting changes: say what should change."</span>
                <div class="buttons">
                    <button type="submit" name="verdict" value="approve">"Approve as reviewer"</button>
                    " "
                    <button type="submit" name="verdict" value="request_changes">"Request changes"</button>
                </div>
            </ActionForm>
        }
    });
    let is_admin = change.can_decide || change.can_retry;
    let form = form.map(|form| {
        if is_admin {
            view! { <details class="admin-verdict"><summary>"Give a reviewer verdict"</summary>{form}</details> }
                .into_any()
        } else {
            form.into_any()
        }
    });
    Some(view! {
        <section class="panel reviews" aria-labelledby="reviews-h">
            <h2 id="reviews-h">"Reviews"</h2>
            {(!state.changes_requested_by.is_empty()).then(|| view! {
                <p class="error" data-testid="changes-requested">
                    {format!("Changes requested by {}. An admin who approves anyway must type the package name.", state.changes_requested_by.join(", "))}
                </p>
            })}
            {if state.verdicts.is_empty() {
                view! { <p class="muted">"No reviewer verdict yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="verdicts">
                        {state.verdicts.into_iter().map(|v| view! { <VerdictItem v id=id_for_list.clone() dismiss/> }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {form}
        </section>
    })
}

/// One account's latest verdict: carried from an earlier revision or stale when it was, and a
/// way to dismiss requested changes for the reviewer or an admin.
#[component]
fn VerdictItem(v: VerdictView, id: String, dismiss: ServerAction<DismissVerdict>) -> impl IntoView {
    let carried = v.carried_from.clone().map(|from| {
        let short: String = from.chars().take(8).collect();
        view! {
            " "<span class="muted carried">"(given on the earlier change "
            <a href=format!("/changes/{from}")><code>{short}</code></a>")"</span>
        }
    });
    let reviewer = v.reviewer.clone();
    let form = v.can_dismiss.then(|| {
        view! {
            <details class="dismiss">
                <summary>"Dismiss"</summary>
                <ActionForm action=dismiss attr:class="stack">
                    <input type="hidden" name="id" value=id/>
                    <input type="hidden" name="reviewer" value=reviewer/>
                    <label>"Reason (an admin dismissing another's verdict must give one) "
                        <input name="reason" maxlength="4000"/></label>
                    <button type="submit">"Dismiss requested changes"</button>
                </ActionForm>
            </details>
        }
    });
    view! {
        <li data-verdict=v.verdict.clone() class:stale=v.stale>
            <strong>{v.reviewer}</strong>" "
            <span class=format!("badge verdict-{}", v.verdict)>{v.label}</span>" "
            <time datetime=v.at.clone()>{v.at.clone()}</time>
            {carried}
            {v.comment.map(|c| view! { <span class="note">": "<LinkedText text=c/></span> })}
            {form}
        </li>
    }
}

/// "1 of 2 admin approvals (alice)" under four-eyes, and why the viewer cannot give the second.
#[component]
pub fn AdminApprovals(
    change: ChangeDetail,
    withdraw: ServerAction<WithdrawApproval>,
) -> impl IntoView {
    let state = change.review;
    let id = change.row.id;
    if state.approvals_required < 2 {
        return None;
    }
    let given = state.admin_approvals.len();
    let names: Vec<String> = state
        .admin_approvals
        .iter()
        .map(|(name, _)| name.clone())
        .collect();
    Some(view! {
        <p class="four-eyes" data-testid="admin-approvals">
            <strong>{format!("{given} of {} admin approvals", state.approvals_required)}</strong>
            {(given > 0).then(|| format!(" (given by {})", names.join(", ")))}
            {if given == 0 {
                " Four-eyes: this change needs two admins; the second may be neither the first approver nor the package's declared owner."
            } else {
                ""
            }}
        </p>
        {state.approval_problem.map(|why| view! { <p class="error">{why}</p> })}
        {state.can_withdraw.then(|| view! {
            <ActionForm action=withdraw attr:class="withdraw">
                <input type="hidden" name="id" value=id/>
                <button type="submit">"Withdraw my approval"</button>
            </ActionForm>
        })}
    })
}

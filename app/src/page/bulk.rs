//! Bulk approval: the routine pending changes listed first, approved together after one
//! confirmation; what is left out says why.

use leptos::prelude::*;

use crate::api::bulk::{bulk_plan, ApproveAllChanges, BulkRow};
use crate::component::badge::RiskBadge;
use crate::component::flash::QueryError;

fn rows(rows: Vec<BulkRow>, with_why: bool) -> AnyView {
    view! {
        <div class="scroll">
            <table class="bulk">
                <thead><tr>
                    <th scope="col">"Package"</th><th scope="col">"Risk"</th><th scope="col">"Items"</th>
                    {with_why.then(|| view! { <th scope="col">"Left out because"</th> })}
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|row| view! {
                        <tr>
                            <td><a href=format!("/changes/{}", row.id)>{row.package}</a></td>
                            <td><RiskBadge risk=row.risk/></td>
                            <td>{row.items}</td>
                            {with_why.then(|| view! { <td>{row.why.unwrap_or_default()}</td> })}
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The list, the confirmation, and the outcome.
#[component]
pub fn BulkApprovalPage() -> impl IntoView {
    let approve = ServerAction::<ApproveAllChanges>::new();
    let plan = Resource::new(move || approve.version().get(), |_| bulk_plan());
    let outcome = move || {
        approve.value().get().map(|result| match result {
            Ok(result) => view! {
                <div class="flash ok" role="status">
                    <p>{format!("Approved {} change(s), each recorded in the audit log.", result.approved.len())}</p>
                    {(!result.skipped.is_empty()).then(|| view! {
                        <p>{format!("{} left out:", result.skipped.len())}</p>
                        {rows(result.skipped, true)}
                    })}
                </div>
            }
            .into_any(),
            Err(error) => view! { <p class="flash error" role="alert">{error.to_string()}</p> }.into_any(),
        })
    };
    view! {
        <leptos_meta::Title text="Approve routine changes · Schemagate"/>
        <h1>"Approve routine changes"</h1>
        <QueryError/>
        {outcome}
        <p>"Changes that are neither destructive, breaking, security-relevant nor conflicted, and whose dependencies are applied, approved or in this list. They are approved in dependency order; each approval is checked and audited on its own."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match plan.await {
                    Ok(plan) => {
                        let selection = plan
                            .take
                            .iter()
                            .map(|row| format!("{}={}", row.id, row.target_checksum))
                            .collect::<Vec<_>>()
                            .join(",");
                        let count = plan.take.len();
                        view! {
                            <section aria-labelledby="take-h">
                                <h2 id="take-h">{format!("To approve ({count})")}</h2>
                                {if count == 0 {
                                    view! { <p class="muted">"No routine change is waiting."</p> }.into_any()
                                } else {
                                    rows(plan.take, false)
                                }}
                                {(plan.can_approve && count > 0).then(|| view! {
                                    <ActionForm action=approve attr:class="stack">
                                        <input type="hidden" name="selection" value=selection/>
                                        <label for="bulk-note">"Note (optional)"</label>
                                        <textarea id="bulk-note" name="note" rows="2"></textarea>
                                        <button type="submit" class="primary">{format!("Approve these {count} changes")}</button>
                                    </ActionForm>
                                })}
                            </section>
                            {(!plan.skipped.is_empty()).then(|| view! {
                                <section aria-labelledby="skipped-h">
                                    <h2 id="skipped-h">{format!("Needing a decision of their own ({})", plan.skipped.len())}</h2>
                                    {rows(plan.skipped, true)}
                                </section>
                            })}
                        }
                        .into_any()
                    }
                    Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

//! The audit page: every event newest first, filtered by actor, action, package and date (a
//! GET form: the filters live in the URL), paged, with the hash chain's health and exports.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::audit::{list_audit, ChainStatus};
use crate::api::change::EventView;
use crate::component::flash::QueryError;
use crate::component::pager::{href, Pager};

const FILTERS: [&str; 5] = ["actor", "action", "package", "from", "to"];

/// Actions offered as suggestions in the action filter (any prefix works).
const ACTIONS: [&str; 13] = [
    "change.",
    "change.approved",
    "change.rejected",
    "change.superseded",
    "apply.",
    "scan",
    "account.",
    "account.created",
    "account.role_changed",
    "account.disabled",
    "account.enabled",
    "login.",
    "login.failed",
];

/// Filters, chain status, exports, the events and the pager.
#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |key: &str| query.read().get(key).filter(|v| !v.is_empty());
    let data = Resource::new(
        move || {
            (
                param("actor"),
                param("action"),
                param("package"),
                param("from"),
                param("to"),
                param("page").and_then(|p| p.parse::<i64>().ok()),
            )
        },
        |(actor, action, package, from, to, page)| {
            list_audit(actor, action, package, from, to, page)
        },
    );
    let filters = move || {
        FILTERS
            .iter()
            .map(|key| (*key, param(key)))
            .collect::<Vec<_>>()
    };
    let export = move |format: &str| {
        let mut pairs = vec![("format", Some(format.to_string()))];
        pairs.extend(filters());
        href("/audit/export", &pairs)
    };
    let page_link = move |page: i64| {
        let mut pairs = filters();
        pairs.push(("page", Some(page.to_string())));
        href("/audit", &pairs)
    };

    view! {
        <leptos_meta::Title text="Audit log · Schemagate"/>
        <h1>"Audit log"</h1>
        <p class="muted help-link"><a href="/help/audit">"How the log is chained, sealed and verified"</a></p>
        <QueryError/>
        <form method="get" action="/audit" class="filters" aria-label="Filter events">
            <label>"Actor " <input name="actor" value=param("actor").unwrap_or_default() size="12"/></label>
            <label>"Action starts with " <input name="action" list="audit-actions" value=param("action").unwrap_or_default() size="16"/></label>
            <datalist id="audit-actions">
                {ACTIONS.iter().map(|a| view! { <option value=*a></option> }).collect_view()}
            </datalist>
            <label>"Package " <input name="package" value=param("package").unwrap_or_default() size="14"/></label>
            <label>"From (UTC) " <input type="date" name="from" value=param("from").unwrap_or_default()/></label>
            <label>"To (UTC) " <input type="date" name="to" value=param("to").unwrap_or_default()/></label>
            <button type="submit">"Filter"</button>
            <a href="/audit">"Clear"</a>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(list) => {
                        let pages = ((list.total + list.per_page - 1) / list.per_page).max(1);
                        let page = list.page;
                        view! {
                            <Chain chain=list.chain/>
                            <div class="toolbar">
                                <p class="muted" data-testid="total">{format!("{} event(s)", list.total)}</p>
                                // `download` and `rel="external"` keep the client-side router away from these links.
                                <p class="exports">"Export these events: "
                                    <a href=export("csv") download="audit.csv" rel="external">"CSV"</a>" · "
                                    <a href=export("json") download="audit.json" rel="external">"JSON"</a>
                                </p>
                            </div>
                            <EventTable events=list.events/>
                            <Pager page pages link=page_link/>
                        }.into_any()
                    }
                    Err(error) => view! { <p class="flash error" role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Whether the hash chain checks out; a broken chain is an alert.
#[component]
fn Chain(chain: ChainStatus) -> impl IntoView {
    match chain.problem {
        None => view! {
            <p class="chain intact" role="status" data-testid="chain">
                <span aria-hidden="true">"✓ "</span>{format!("Hash chain intact: all {} events verified", chain.events)}
            </p>
        }
        .into_any(),
        Some(problem) => view! {
            <p class="chain broken" role="alert" data-testid="chain">
                <span aria-hidden="true">"✗ "</span>"Hash chain BROKEN: "{problem}
            </p>
        }
        .into_any(),
    }
}

#[component]
fn EventTable(events: Vec<EventView>) -> impl IntoView {
    if events.is_empty() {
        return view! { <p class="muted">"No event matches."</p> }.into_any();
    }
    view! {
        <div class="scroll"><table class="audit">
            <caption class="visually-hidden">"Audit events, newest first"</caption>
            <thead><tr>
                <th scope="col">"#"</th><th scope="col">"Time (UTC)"</th><th scope="col">"Actor"</th>
                <th scope="col">"Action"</th><th scope="col">"Package"</th><th scope="col">"Change"</th>
                <th scope="col">"Details"</th>
            </tr></thead>
            <tbody>
                {events.into_iter().map(|e| view! {
                    <tr data-action=e.action.clone()>
                        <td class="num" data-label="#">{e.seq}</td>
                        <td data-label="Time"><crate::component::time::Time at=e.at.clone()/></td>
                        <td data-label="Actor"><a href=href("/audit", &[("actor", Some(e.actor.clone()))]) title=format!("Only events by {}", e.actor)>{e.actor.clone()}</a></td>
                        <td data-label="Action"><code>{e.action.clone()}</code></td>
                        <td data-label="Package">{e.package.clone().map(|p| view! {
                            <a href=href("/audit", &[("package", Some(p.clone()))]) title=format!("Only events of {p}")>{p.clone()}</a>
                        })}</td>
                        <td data-label="Change">{e.change_id.clone().map(|id| view! {
                            <a href=format!("/changes/{id}") class="change-ref" title=id.clone()>{id.chars().take(8).collect::<String>()}</a>
                        })}</td>
                        <td class="details" data-label="Details" title=e.details.clone()>
                            {e.note.clone().map(|note| view! { <span class="note">{note}</span> })}
                            <ul class="pairs">
                                {detail_pairs(&e.details).into_iter().map(|(key, value)| view! {
                                    <li><span class="key">{key}</span>" "<code>{value}</code></li>
                                }).collect_view()}
                            </ul>
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>
    }
    .into_any()
}

/// The details as `(key, value)` pairs, leaving out the note (shown on its own), with hashes
/// and checksums shortened (the cell's tooltip has them in full).
fn detail_pairs(details: &str) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(details)
    else {
        return if details == "{}" {
            Vec::new()
        } else {
            vec![(String::new(), details.to_string())]
        };
    };
    map.into_iter()
        .filter(|(key, _)| !matches!(key.as_str(), "note" | "reason" | "why"))
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            let long_hash = text.len() > 24
                && text
                    .trim_start_matches("v1:")
                    .chars()
                    .all(|c| c.is_ascii_hexdigit());
            let text = if long_hash {
                format!("{}…", text.chars().take(15).collect::<String>())
            } else {
                text
            };
            (key, text)
        })
        .collect()
}

//! The queue: open changes first (history behind a tab), filterable and paged, keyboard-navigable (j/k or arrows).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::change::list_changes;
use crate::component::badge::{RiskBadge, StatusBadge};
use crate::component::pager::{href, Pager};
use crate::component::time::Time;
use crate::domain::change::Risk;
use crate::domain::review::ChangeStatus;

/// The queue's views: what is still open (the default), what is done, everything.
const VIEWS: [(&str, &str); 3] = [("open", "Open"), ("history", "History"), ("all", "All")];

/// Open / History / All tabs (each keeps the other filters), filters in a GET form (so they
/// live in the URL), the table, and numbered pages.
#[component]
pub fn ChangesPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |key: &str| query.read().get(key).filter(|v| !v.is_empty());
    let list = Resource::new(
        move || {
            (
                param("status"),
                param("risk"),
                param("package"),
                param("q"),
                param("page").and_then(|p| p.parse::<i64>().ok()),
            )
        },
        |(status, risk, package, q, page)| list_changes(status, risk, package, q, page),
    );

    let link_with = move |status: Option<String>, page: Option<i64>| {
        let mut pairs: Vec<(&str, Option<String>)> = vec![("status", status)];
        pairs.extend(
            ["risk", "package", "q"]
                .iter()
                .map(|key| (*key, param(key))),
        );
        pairs.push(("page", page.filter(|p| *p > 1).map(|p| p.to_string())));
        href("/changes", &pairs)
    };
    let link = move |page: i64| link_with(param("status"), Some(page));
    let status = param("status").unwrap_or_else(|| "open".to_string());
    let filtered = ["status", "risk", "package", "q", "page"]
        .iter()
        .any(|key| param(key).is_some());
    let narrowed = ["risk", "package", "q"]
        .iter()
        .any(|key| param(key).is_some());
    let view_name = status.clone();

    view! {
        <Title text="Changes · Schemagate"/>
        <h1>"Changes"</h1>
        <p><a href="/changes/approve-all">"Approve routine changes…"</a></p>
        <nav class="tabs" aria-label="Which changes">
            {VIEWS.iter().map(|(value, name)| {
                let here = status == *value;
                let target = (*value != "open").then(|| value.to_string());
                view! { <a href=link_with(target, None) aria-current=here.then_some("page")>{*name}</a> }
            }).collect_view()}
        </nav>
        <form method="get" action="/changes" class="filters" aria-label="Filter changes">
            <label>"Status "
                <select name="status">
                    {VIEWS.iter().map(|(value, name)| {
                        let selected = status == *value;
                        let value = if *value == "open" { "" } else { value };
                        view! { <option value=value selected=selected>{name.to_lowercase()}</option> }
                    }).collect_view()}
                    {ChangeStatus::ALL.iter().map(|s| {
                        let selected = status == s.as_str();
                        view! { <option value=s.as_str() selected=selected>{s.as_str()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>"Risk "
                <select name="risk">
                    <option value="">"any"</option>
                    {Risk::ALL.iter().map(|r| {
                        let selected = param("risk").as_deref() == Some(r.as_str());
                        view! { <option value=r.as_str() selected=selected>{r.label()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>"Package " <input name="package" value=param("package").unwrap_or_default() size="14"/></label>
            <label>"Search " <input type="search" name="q" value=param("q").unwrap_or_default() size="18"/></label>
            <button type="submit">"Filter"</button>
            {filtered.then(|| view! { <a href="/changes">"Clear"</a> })}
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let view_name = view_name.clone();
                Suspend::new(async move {
                match list.await {
                    Ok(list) if list.total == 0 => view! {
                        <p class="muted" data-testid="total">"0 change(s)"</p>
                        <EmptyQueue tab=view_name narrowed/>
                    }.into_any(),
                    Ok(list) => {
                        let pages = ((list.total + list.per_page - 1) / list.per_page).max(1);
                        let page = list.page;
                        view! {
                            <p class="muted" data-testid="total">{format!("{} change(s)", list.total)}</p>
                            <div class="scroll"><table class="changes">
                                <caption class="visually-hidden">"Changes"</caption>
                                <thead><tr>
                                    <th scope="col">"Package"</th><th scope="col">"Status"</th><th scope="col">"Risk"</th>
                                    <th scope="col">"Items"</th><th scope="col">"Conflicts"</th><th scope="col">"Created"</th>
                                </tr></thead>
                                <tbody>
                                    {list.rows.into_iter().map(|row| view! {
                                        <tr data-change=row.id.clone()>
                                            <td><a class="change-link" href=format!("/changes/{}", row.id)>{row.package.clone()}</a>
                                                {(row.kind == "drop").then(|| view! { " " <span class="badge drop">"drop"</span> })}</td>
                                            <td data-label="Status"><StatusBadge status=row.status.clone()/>
                                                {row.changes_requested.then(|| view! { " " <span class="badge changes-requested" data-testid="changes-requested">"changes requested"</span> })}
                                                {(row.findings > 0).then(|| view! { " " <span class="badge finding" data-testid="findings" title="findings about access rules or tenants: read them on the change">{if row.findings == 1 { "1 finding".to_owned() } else { format!("{} findings", row.findings) }}</span> })}
                                                {row.held_back.clone().map(|(headline, why)| view! { " " <span class="badge held-back" data-testid="held-back" title=why>{headline}</span> })}</td>
                                            <td data-label="Risk"><RiskBadge risk=row.risk.clone()/></td>
                                            <td data-label="Items">{row.items}</td>
                                            <td data-label="Conflicts">{if row.conflicts.is_empty() { String::new() } else { format!("⚠ {}", row.conflicts.join(", ")) }}
                                                {row.broken_conflicts.iter().map(|c| view! {
                                                    " "<span class="badge broken-conflict" data-testid="broken-conflict" title=c.describe()>{format!("⚠ {} vs {} (has errors)", c.entity, c.package)}</span>
                                                }).collect_view()}</td>
                                            <td data-label="Created"><Time at=row.created_at.clone()/></td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                            <Pager page pages link/>
                        }.into_any()
                    }
                    Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}}
        </Suspense>
        {(status == "open").then(|| view! { <BrokenPackages/> })}
        <KeyboardNavigation/>
    }
}

/// Packages that fail validation never reach the queue: the open tab says which.
#[component]
fn BrokenPackages() -> impl IntoView {
    let data = Resource::new(|| (), |_| crate::api::broken::broken_packages(None));
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                data.await.ok().map(|data| view! { <crate::component::broken::BrokenPackageList data/> })
            })}
        </Suspense>
    }
}

/// What an empty result means, and where to look instead.
#[component]
fn EmptyQueue(tab: String, narrowed: bool) -> impl IntoView {
    let message = if narrowed {
        "No change matches these filters."
    } else if tab == "open" {
        "Nothing waits for a decision: every change has been decided."
    } else {
        "No change in this state."
    };
    view! {
        <div class="empty panel" data-testid="empty">
            <p><strong>{message}</strong></p>
            <p>
                {narrowed.then(|| view! { <a href="/changes">"Clear the filters"</a>" · " })}
                <a href="/changes?status=history">"See decided changes (History)"</a>
                " · "<a href="/packages">"Packages"</a>" shows what each package holds."
            </p>
        </div>
    }
}

/// The keys' hint; in the browser, j/k and the arrow keys move focus between the rows' links.
#[island]
fn KeyboardNavigation() -> impl IntoView {
    keyboard_navigation();
    view! { <p class="muted hint">"Keys: j/k or ↓/↑ move between changes, Enter opens one."</p> }
}

fn keyboard_navigation() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let handle = window_event_listener(leptos::ev::keydown, |event| {
            let forward = matches!(event.key().as_str(), "j" | "ArrowDown");
            let backward = matches!(event.key().as_str(), "k" | "ArrowUp");
            if !forward && !backward {
                return;
            }
            let document = document();
            let typing = document.active_element().is_some_and(|el| {
                matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA")
            });
            if typing {
                return;
            }
            let Ok(links) = document.query_selector_all("a.change-link") else {
                return;
            };
            let count = links.length();
            if count == 0 {
                return;
            }
            let active = document.active_element();
            let current = (0..count).find(|i| {
                links
                    .item(*i)
                    .zip(active.as_ref())
                    .is_some_and(|(node, el)| node.is_same_node(Some(el.as_ref())))
            });
            let next = match (current, forward) {
                (None, _) => 0,
                (Some(i), true) => (i + 1).min(count - 1),
                (Some(i), false) => i.saturating_sub(1),
            };
            if let Some(element) = links
                .item(next)
                .and_then(|node| node.dyn_into::<web_sys::HtmlElement>().ok())
            {
                event.prevent_default();
                let _ = element.focus();
            }
        });
        on_cleanup(move || handle.remove());
    }
}

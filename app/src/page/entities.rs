//! The entities page: every entity on disk, who declares it, and whether the declarations
//! agree (shared) or not (conflict).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::catalog::{list_entities, EntityView, Standing};
use crate::component::badge::{Checksum, StatusBadge};
use crate::component::pager::{href, Pager};

/// Filters (a GET form), the counts, and the table.
#[component]
pub fn EntitiesPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |key: &str| query.read().get(key).filter(|v| !v.is_empty());
    let data = Resource::new(
        move || {
            (
                param("q"),
                param("show"),
                param("page").and_then(|p| p.parse::<i64>().ok()),
            )
        },
        |(q, show, page)| list_entities(q, show, page),
    );
    let link = move |page: i64| {
        href(
            "/entities",
            &[
                ("q", param("q")),
                ("show", param("show")),
                ("page", Some(page.to_string())),
            ],
        )
    };
    let shows = [
        ("", "all"),
        ("conflict", "conflicts only"),
        ("shared", "shared only"),
        ("single", "one package only"),
    ];

    view! {
        <leptos_meta::Title text="Entities · Schemagate"/>
        <h1>"Entities"</h1>
        <form method="get" action="/entities" class="filters" aria-label="Filter entities">
            <label>"Search " <input type="search" name="q" value=param("q").unwrap_or_default() size="18" placeholder="entity name"/></label>
            <label>"Show "
                <select name="show">
                    {shows.into_iter().map(|(value, label)| {
                        let selected = param("show").unwrap_or_default() == value;
                        view! { <option value=value selected=selected>{label}</option> }
                    }).collect_view()}
                </select>
            </label>
            <button type="submit">"Filter"</button>
            <a href="/entities">"Clear"</a>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(view) => view! {
                        {view.problem.clone().map(|problem| view! {
                            <p class="flash error" role="alert">"The packages on disk could not be read: "{problem}</p>
                        })}
                        <p data-testid="entity-counts">
                            {format!("{} entities on disk: ", view.total)}
                            <a href="/entities?show=conflict" class:conflict-count={view.conflicts > 0}>
                                {format!("{} in conflict", view.conflicts)}
                            </a>
                            {format!(", {} shared", view.shared)}
                        </p>
                        {(view.conflicts > 0).then(|| view! {
                            <p class="muted">"An entity in conflict is declared differently by several packages: changes touching it cannot be approved until the declarations agree."</p>
                        })}
                        <EntityTable entities=view.entities/>
                        <Pager page=view.page pages=crate::api::catalog::page_count(view.matching) link/>
                    }.into_any(),
                    Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn EntityTable(entities: Vec<EntityView>) -> impl IntoView {
    if entities.is_empty() {
        return view! { <p class="muted">"No entity matches."</p> }.into_any();
    }
    view! {
        <div class="scroll"><table class="catalog entities">
            <caption class="visually-hidden">"Entities and the packages declaring them"</caption>
            <thead><tr>
                <th scope="col">"Entity"</th><th scope="col">"Standing"</th><th scope="col">"Declared by"</th>
            </tr></thead>
            <tbody>
                {entities.into_iter().map(|e| {
                    let conflict = e.standing == Standing::Conflict;
                    view! {
                        <tr class:conflict=conflict data-entity=e.name.clone() data-standing=e.standing.as_str() id=format!("entity-{}", e.name)>
                            <th scope="row">{e.name.clone()}</th>
                            <td>{match e.standing {
                                Standing::Conflict => view! { <span class="badge standing-conflict">"⚠ conflict"</span> }.into_any(),
                                Standing::Shared => view! { <span class="badge standing-shared">"= shared (identical)"</span> }.into_any(),
                                Standing::Single => view! { <span class="muted">"one package"</span> }.into_any(),
                            }}</td>
                            <td>
                                <ul class="declarations">
                                    {e.declarations.into_iter().map(|d| view! {
                                        <li data-package=d.package.clone()>
                                            <a href=format!("/packages?q={}#pkg-{}", d.package, d.package)>{d.package.clone()}</a>" "
                                            <Checksum value=d.checksum.clone()/>
                                            {d.change.map(|c| view! {
                                                " "<a href=format!("/changes/{}", c.id) class="change-ref">
                                                    "change "<StatusBadge status=c.status/>
                                                </a>
                                            })}
                                        </li>
                                    }).collect_view()}
                                </ul>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table></div>
    }
    .into_any()
}

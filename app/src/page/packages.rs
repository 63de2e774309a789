//! The packages page: every package on disk and in the registry, its entities and checksums,
//! what is applied against what is on disk and what is queued, its errors, and its Prisma
//! preview.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::catalog::{
    list_packages, EntityCell, IssueView, PackageState, PackageView, Standing,
};
use crate::component::badge::{Checksum, StatusBadge};
use crate::component::broken::Causes;
use crate::component::pager::{href, Pager};

/// Filters (a GET form, so they live in the URL), an overview table, and one section per
/// package.
#[component]
pub fn PackagesPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |key: &str| query.read().get(key).filter(|v| !v.is_empty());
    let data = Resource::new(
        move || {
            (
                param("q"),
                param("state"),
                param("page").and_then(|p| p.parse::<i64>().ok()),
            )
        },
        |(q, state, page)| list_packages(q, state, page),
    );
    let link = move |page: i64| {
        href(
            "/packages",
            &[
                ("q", param("q")),
                ("state", param("state")),
                ("page", Some(page.to_string())),
            ],
        )
    };

    view! {
        <leptos_meta::Title text="Packages · Schemagate"/>
        <h1>"Packages"</h1>
        <form method="get" action="/packages" class="filters" aria-label="Filter packages">
            <label>"Search " <input type="search" name="q" value=param("q").unwrap_or_default() size="18"
                placeholder="package or entity"/></label>
            <label>"State "
                <select name="state">
                    <option value="">"any"</option>
                    {PackageState::ALL.iter().map(|s| {
                        let selected = param("state").as_deref() == Some(s.as_str());
                        view! { <option value=s.as_str() selected=selected>{s.label()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <button type="submit">"Filter"</button>
            <a href="/packages">"Clear"</a>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(view) => {
                        let shown = view.packages.len();
                        let pages = crate::api::catalog::page_count(view.matching);
                        let page = view.page;
                        view! {
                            {view.problem.clone().map(|problem| view! {
                                <p class="flash error" role="alert">"The packages on disk could not be read: "{problem}</p>
                            })}
                            <p class="muted" data-testid="total">
                                {format!("{shown} shown, {} matching, {} package(s) in all", view.matching, view.total)}
                                {view.packages_dir.clone().map(|dir| view! { " · on disk in "<code>{dir}</code> })}
                            </p>
                            {(shown > 0).then(|| view! { <Overview packages=view.packages.clone()/> })}
                            {view.packages.into_iter().map(|package| view! { <PackageSection package/> }).collect_view()}
                            <Pager page pages link/>
                        }.into_any()
                    }
                    Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The state of a package as a badge: the words say it, the color repeats it.
#[component]
fn StateBadge(state: PackageState) -> impl IntoView {
    view! { <span class=format!("badge pkg-{}", state.as_str()) data-state=state.as_str()>{state.label()}</span> }
}

/// One line per package: where it stands at a glance.
#[component]
fn Overview(packages: Vec<PackageView>) -> impl IntoView {
    view! {
        <div class="scroll"><table class="catalog overview">
            <caption class="visually-hidden">"Packages at a glance"</caption>
            <thead><tr>
                <th scope="col">"Package"</th><th scope="col">"State"</th><th scope="col">"Entities"</th>
                <th scope="col">"On disk"</th><th scope="col">"Applied"</th><th scope="col">"Change"</th>
            </tr></thead>
            <tbody>
                {packages.into_iter().map(|p| view! {
                    <tr data-package=p.package.clone()>
                        <th scope="row"><a href=format!("#pkg-{}", p.package)>{p.package.clone()}</a></th>
                        <td><StateBadge state=p.state/></td>
                        <td>{p.entities.len()}</td>
                        <td>{checksum_or(p.checksum.clone(), match (&p.file, p.errors.is_empty()) {
                            (None, _) => "not on disk",
                            (Some(_), false) => "none (errors)",
                            (Some(_), true) => "—",
                        })}</td>
                        <td>{checksum_or(p.applied.clone().map(|(c, _)| c), "never applied")}</td>
                        <td>{match p.open.clone() {
                            Some(c) => view! { <a href=format!("/changes/{}", c.id)>{if c.kind == "drop" { "drop " } else { "" }}<StatusBadge status=c.status/></a> }.into_any(),
                            None => view! { <span class="muted">"none"</span> }.into_any(),
                        }}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>
    }
}

fn checksum_or(value: Option<String>, otherwise: &'static str) -> AnyView {
    match value {
        Some(value) => view! { <Checksum value/> }.into_any(),
        None => view! { <span class="muted">{otherwise}</span> }.into_any(),
    }
}

/// Everything about one package.
#[component]
fn PackageSection(package: PackageView) -> impl IntoView {
    let id = package.package.clone();
    let heading = format!("pkg-{id}-h");
    let labelled_by = heading.clone();
    view! {
        <section class="package panel" id=format!("pkg-{id}") aria-labelledby=labelled_by data-package=id.clone()>
            <h2 id=heading>{id.clone()}" "<StateBadge state=package.state/></h2>
            <p class="note">{package.note.clone()}</p>
            <dl class="facts">
                <div><dt>"Checksum on disk"</dt><dd>{checksum_or(package.checksum.clone(), match (&package.file, package.errors.is_empty()) {
                    (None, _) => "not on disk",
                    (Some(_), false) => "none while it has errors",
                    (Some(_), true) => "—",
                })}</dd></div>
                <div><dt>"Applied checksum"</dt><dd>{match package.applied.clone() {
                    Some((checksum, change)) => view! {
                        <Checksum value=checksum/>" "<a href=format!("/changes/{change}")>"(change)"</a>
                    }.into_any(),
                    None => view! { <span class="muted">"never applied"</span> }.into_any(),
                }}</dd></div>
                <div><dt>"Queued change"</dt><dd>{match package.open.clone() {
                    Some(c) => view! {
                        <a href=format!("/changes/{}", c.id) data-testid="open-change">
                            {if c.kind == "drop" { "drop " } else { "" }}<StatusBadge status=c.status.clone()/>
                        </a>" "<Checksum value=c.target_checksum/>
                    }.into_any(),
                    None => view! { <span class="muted">"none"</span> }.into_any(),
                }}</dd></div>
                {package.rejected.clone().map(|c| view! {
                    <div><dt>"Rejected"</dt><dd><a href=format!("/changes/{}", c.id)>"the rejected change"</a></dd></div>
                })}
                {package.file.clone().map(|file| view! { <div class="file"><dt>"File"</dt><dd><code>{file}</code></dd></div> })}
            </dl>
            <EntityTable entities=package.entities.clone() label=format!("Entities of {id}")/>
            {(!package.causes.is_empty()).then(|| view! {
                <div class="issues errors">
                    <h3>{format!("Errors ({})", package.errors.len())}</h3>
                    <Causes causes=package.causes.clone() file=package.file.clone().unwrap_or_default()/>
                </div>
            })}
            {(!package.warnings.is_empty()).then(|| view! {
                <details class="warnings">
                    <summary>{format!("Warnings ({})", package.warnings.len())}</summary>
                    <Issues title="Warnings" issues=package.warnings.clone()/>
                </details>
            })}
            {match (package.preview.clone(), package.preview_problem.clone()) {
                (Some(preview), _) => view! {
                    <details class="preview">
                        <summary>"Prisma preview"</summary>
                        <pre class="prisma" aria-label=format!("Prisma preview of {id}")>{preview}</pre>
                    </details>
                }.into_any(),
                (None, Some(problem)) => view! { <p class="muted">"No Prisma preview: "{problem}</p> }.into_any(),
                (None, None) => ().into_any(),
            }}
        </section>
    }
}

#[component]
fn EntityTable(entities: Vec<EntityCell>, label: String) -> impl IntoView {
    if entities.is_empty() {
        return view! { <p class="muted">"No entities."</p> }.into_any();
    }
    view! {
        <div class="scroll"><table class="catalog entities-of" aria-label=label>
            <thead><tr><th scope="col">"Entity"</th><th scope="col">"Checksum"</th><th scope="col">"Declared elsewhere"</th></tr></thead>
            <tbody>
                {entities.into_iter().map(|e| view! {
                    <tr class:conflict=e.standing == Standing::Conflict>
                        <th scope="row">{e.name.clone()}</th>
                        <td><Checksum value=e.checksum.clone()/></td>
                        <td><StandingBadge standing=e.standing name=e.name.clone()/></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>
    }
    .into_any()
}

/// Single, shared or conflict, linking to the entity on the entities page when it matters.
#[component]
pub fn StandingBadge(standing: Standing, name: String) -> impl IntoView {
    let link = href("/entities", &[("q", Some(name))]);
    match standing {
        Standing::Single => view! { <span class="muted">"no"</span> }.into_any(),
        Standing::Shared => {
            view! { <a class="badge standing-shared" href=link>"= shared (identical)"</a> }
                .into_any()
        }
        Standing::Conflict => {
            view! { <a class="badge standing-conflict" href=link>"⚠ conflict"</a> }.into_any()
        }
    }
}

#[component]
fn Issues(title: &'static str, issues: Vec<IssueView>) -> impl IntoView {
    (!issues.is_empty()).then(|| {
        view! {
            <div class=format!("issues {}", title.to_lowercase())>
                <h3 class:visually-hidden={title == "Warnings"}>{format!("{title} ({})", issues.len())}</h3>
                <ul>
                    {issues.into_iter().map(|issue| view! {
                        <li><code class="location">{issue.location()}</code>": "{issue.message.clone()}</li>
                    }).collect_view()}
                </ul>
            </div>
        }
    })
}

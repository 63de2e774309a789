//! The landing page: the registry at a glance.

use leptos::prelude::*;

use crate::api::broken::broken_packages;
use crate::api::change::{dashboard, EventView};
use crate::api::scanning::{ScanNow, ScanState};
use crate::component::broken::BrokenPackageList;
use crate::component::flash::{ActionOutcome, QueryError};
use crate::component::time::{Time, TimeStyle};

/// When and by whom, or "never".
#[component]
fn When(event: Option<EventView>) -> impl IntoView {
    match event {
        Some(e) => view! { <Time at=e.at/>" by "{e.actor} }.into_any(),
        None => "never".into_any(),
    }
}

/// Counts per state, conflicts, last scan and apply, and "Scan now" for admins.
#[component]
pub fn DashboardPage() -> impl IntoView {
    view! {
        <leptos_meta::Title text="Dashboard · Schemagate"/>
        <h1>"Schema changes"</h1>
        <QueryError/>
        <Dashboard/>
        <BrokenPackages/>
    }
}

/// Packages whose files fail validation, rendered on the server only (they keep the wasm small).
#[component]
fn BrokenPackages() -> impl IntoView {
    let data = Resource::new(|| (), |_| broken_packages(None));
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                data.await.ok().map(|data| view! { <BrokenPackageList data/> })
            })}
        </Suspense>
    }
}

/// The figures, live in the browser: "Refresh" and "Scan now" refetch them in place.
#[island]
fn Dashboard() -> impl IntoView {
    let scan = ServerAction::<ScanNow>::new();
    let (refreshes, set_refreshes) = signal(0u32);
    let data = Resource::new(
        move || (scan.version().get(), refreshes.get()),
        |_| dashboard(),
    );

    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let failed = d.counts.iter().find(|(state, _)| state == "failed").map_or(0, |(_, n)| *n);
                        view! {
                        {(failed > 0).then(|| view! {
                            <p class="flash error" data-testid="failures">
                                <a href="/changes?status=failed">{if failed == 1 { "1 change failed".to_owned() } else { format!("{failed} changes failed") }}</a>
                                " to apply: read the database's error on each, fix the cause, and retry."
                            </p>
                        })}
                        <dl class="counts" aria-label="Changes per state">
                            {d.counts.into_iter().map(|(state, n)| view! {
                                <div class="count" data-state=state.clone()>
                                    <dt><a href=format!("/changes?status={state}")>{state.clone()}</a></dt>
                                    <dd>{n}</dd>
                                </div>
                            }).collect_view()}
                        </dl>
                        <p><a href="/changes/approve-all">"Approve routine changes…"</a></p>
                        <section aria-labelledby="conflicts-h">
                            <h2 id="conflicts-h">"Conflicts"</h2>
                            {if d.conflicts.is_empty() {
                                view! { <p class="muted">"No open change is blocked by a conflict."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="conflicts">
                                        {d.conflicts.into_iter().map(|(id, package, entity)| view! {
                                            <li><a href=format!("/changes/{id}")>{package}</a>": "{entity}" is declared differently by several packages"</li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </section>
                        <section class="runs">
                            <p>"Last scan: "<span data-testid="last-scan"><When event=d.last_scan/></span></p>
                            <p>"Last apply: "<span data-testid="last-apply"><When event=d.last_apply/></span></p>
                        </section>
                        <ScanPanel status=d.scan can_scan=d.can_scan scan/>
                        <p class="muted updated" data-testid="updated">"Figures as of "<Time at=d.as_of style=TimeStyle::Clock/></p>
                    }.into_any()
                    }
                    Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <ActionOutcome value=scan.value()/>
        <p>
            <button type="button" on:click=move |_| set_refreshes.update(|n| *n += 1)>"Refresh"</button>
        </p>
    }
}

/// The running scan's progress (the page reloads itself every two seconds meanwhile, with or
/// without JavaScript), the last result, and "Scan now" for admins.
#[component]
fn ScanPanel(status: ScanState, can_scan: bool, scan: ServerAction<ScanNow>) -> impl IntoView {
    let running = status.running;
    view! {
        <section class="scan" aria-labelledby="scan-h" aria-busy=running.to_string()>
            <h2 id="scan-h" class="visually-hidden">"Scan"</h2>
            {running.then(|| view! {
                <meta http-equiv="refresh" content="2"/>
                <p class="flash info" role="status" data-testid="scan-progress">
                    "Scanning: "{status.phase.clone().unwrap_or_default()}
                    {status.started_by.clone().map(|by| format!(" (started by {by})"))}
                </p>
            })}
            {(!running).then(|| status.last_result.clone().map(|result| {
                let class = if status.last_failed { "flash error" } else { "flash ok" };
                view! { <p class=class data-testid="scan-result">"Last scan here: "{result}</p> }
            }))}
            {can_scan.then(|| view! {
                <ActionForm action=scan>
                    <button type="submit" disabled=running aria-disabled=running.to_string()>
                        {if running { "Scanning…" } else { "Scan now" }}
                    </button>
                </ActionForm>
            })}
        </section>
    }
}

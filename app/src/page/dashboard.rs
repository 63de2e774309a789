//! The landing page: the registry at a glance.

use leptos::prelude::*;

use crate::api::status_counts;

/// Counts per state, refreshable in place once the page is hydrated.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let (refreshes, set_refreshes) = signal(0u32);
    let counts = Resource::new(move || refreshes.get(), |_| status_counts());

    view! {
        <h1>"Schema changes"</h1>
        <Suspense fallback=|| view! { <p>"Loading counts…"</p> }>
            {move || Suspend::new(async move {
                match counts.await {
                    Ok(status) => view! {
                        <dl class="counts" aria-label="Changes per state">
                            {status.counts.into_iter().map(|(state, n)| view! {
                                <div class="count" data-state=state.clone()>
                                    <dt>{state.clone()}</dt>
                                    <dd>{n}</dd>
                                </div>
                            }).collect_view()}
                        </dl>
                    }.into_any(),
                    Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <p>
            <button type="button" on:click=move |_| set_refreshes.update(|n| *n += 1)>
                "Refresh"
            </button>
            <span class="refreshed" aria-live="polite">
                {move || match refreshes.get() {
                    0 => String::new(),
                    n => format!("refreshed {n}×"),
                }}
            </span>
        </p>
    }
}

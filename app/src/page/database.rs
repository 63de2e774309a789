//! The Database page: the platform database's tables, its Prisma migrations, and whether the
//! live schema is the applied state.

use leptos::prelude::*;

use crate::api::database::database_status;
use crate::component::time::Time;

/// Tables, migrations and drift.
#[component]
pub fn DatabasePage() -> impl IntoView {
    let data = Resource::new(|| (), |_| database_status());
    view! {
        <h1>"Platform database"</h1>
        <p class="muted help-link"><a href="/help/sql-plans">"The platform database, its roles and the restart job"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(db) => view! {
                        {db.error.clone().map(|error| view! { <p class="flash error" role="alert">{error}</p> })}
                        <section aria-labelledby="drift-h">
                            <h2 id="drift-h">"Drift"</h2>
                            {match (db.drift.clone(), db.error.is_some() || db.awaiting_baseline) {
                                (Some(summary), _) => view! {
                                    <p class="flash error" data-testid="drift">"The live schema differs from the applied state: the restart job refuses to apply changes until it is resolved."</p>
                                    <pre class="sql">{summary}</pre>
                                    <details><summary>"SQL that would bring it back to the applied state"</summary>
                                        <pre class="sql">{db.drift_sql.clone().unwrap_or_default()}</pre>
                                    </details>
                                }.into_any(),
                                (None, true) if db.awaiting_baseline => view! { <p class="flash ok" data-testid="awaiting-baseline">"Not migrated yet: the database is empty, and the restart job's next run gives it the applied state's tables (its baseline migration) before any change."</p> }.into_any(),
                                (None, true) => view! { <p class="muted">"Unknown."</p> }.into_any(),
                                (None, false) => view! { <p class="flash ok" data-testid="no-drift">"No drift: the live schema matches the applied state."</p> }.into_any(),
                            }}
                        </section>
                        <section aria-labelledby="migrations-h">
                            <h2 id="migrations-h">{format!("Migrations ({})", db.migrations.len())}</h2>
                            <div class="scroll">
                                <table class="migrations">
                                    <thead><tr><th scope="col">"Migration"</th><th scope="col">"State"</th></tr></thead>
                                    <tbody>
                                        {db.migrations.into_iter().map(|m| view! {
                                            <tr><td><code>{m.name}</code></td><td>{m.state}{m.at.map(|at| view! { " "<Time at/> })}</td></tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        </section>
                        <section aria-labelledby="tables-h">
                            <h2 id="tables-h">{format!("Tables in \"{}\" ({})", db.schema, db.tables.len())}</h2>
                            <ul class="tables">
                                {db.tables.into_iter().map(|t| view! { <li><code>{t}</code></li> }).collect_view()}
                            </ul>
                        </section>
                    }.into_any(),
                    Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

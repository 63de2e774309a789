//! The sign-in page. A plain form: it works before (and without) the wasm.

use leptos::prelude::*;

use crate::api::session::Login;
use crate::component::flash::QueryError;

/// Username, password, "Sign in".
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = move || match login.value().get() {
        Some(Err(error)) => {
            Some(view! { <p class="flash error" role="alert">{error.to_string()}</p> })
        }
        _ => None,
    };
    // Where to go once signed in (the server follows it only to a page of this site).
    let query = leptos_router::hooks::use_query_map();
    let next = query
        .read_untracked()
        .get("next")
        .filter(|next| crate::api::session::same_site_path(next).is_some());
    view! {
        <leptos_meta::Title text="Sign in · Schemagate"/>
        <main class="login">
            <h1>"Sign in to Schemagate"</h1>
            <QueryError/>
            {error}
            <ActionForm action=login attr:class="stack">
                <label for="username">"Username"</label>
                {next.map(|next| view! { <input type="hidden" name="next" value=next/> })}
                <input id="username" name="username" autocomplete="username" required autofocus/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required/>
                <button type="submit" class="primary">"Sign in"</button>
            </ActionForm>
        </main>
    }
}

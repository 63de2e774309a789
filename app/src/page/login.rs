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
    view! {
        <main class="login">
            <h1>"Sign in to Schemagate"</h1>
            <QueryError/>
            {error}
            <ActionForm action=login attr:class="stack">
                <label for="username">"Username"</label>
                <input id="username" name="username" autocomplete="username" required autofocus/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required/>
                <button type="submit" class="primary">"Sign in"</button>
            </ActionForm>
        </main>
    }
}

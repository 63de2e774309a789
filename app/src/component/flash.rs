//! Messages after an action: from the action itself (with JavaScript) or from `?error=` (a
//! plain form post sent back by the server).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The `?error=` message of a plain form post, if any.
#[component]
pub fn QueryError() -> impl IntoView {
    let query = use_query_map();
    move || {
        query
            .read()
            .get("error")
            .map(|message| view! { <p class="flash error" role="alert">{message}</p> })
    }
}

/// The outcome of an action: its error, or its message once it succeeded.
#[component]
pub fn ActionOutcome(
    #[prop(into)] value: Signal<Option<Result<String, crate::error::AppError>>>,
) -> impl IntoView {
    move || match value.get() {
        Some(Ok(message)) => {
            Some(view! { <p class="flash ok" role="status">{message}</p> }.into_any())
        }
        Some(Err(error)) => {
            Some(view! { <p class="flash error" role="alert">{error.to_string()}</p> }.into_any())
        }
        None => None,
    }
}

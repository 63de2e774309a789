//! The accounts page.

use leptos::prelude::*;

/// The accounts page.
#[component]
pub fn AccountsPage() -> impl IntoView {
    view! { <h1>"Accounts"</h1> }
}

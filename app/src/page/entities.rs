//! The entities page.

use leptos::prelude::*;

/// The entities page.
#[component]
pub fn EntitiesPage() -> impl IntoView {
    view! { <h1>"Entities"</h1> }
}

//! The packages page.

use leptos::prelude::*;

/// The packages page.
#[component]
pub fn PackagesPage() -> impl IntoView {
    view! { <h1>"Packages"</h1> }
}

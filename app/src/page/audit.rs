//! The audit page.

use leptos::prelude::*;

/// The audit page.
#[component]
pub fn AuditPage() -> impl IntoView {
    view! { <h1>"Audit"</h1> }
}

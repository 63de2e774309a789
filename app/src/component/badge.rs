//! Small labels: risk, status, checksums.

use leptos::prelude::*;

/// A risk class with its color and a readable label (the text carries the meaning, the color
/// only repeats it).
#[component]
pub fn RiskBadge(risk: String) -> impl IntoView {
    let label = risk
        .parse::<crate::domain::change::Risk>()
        .map_or_else(|_| risk.replace('_', " "), |r| r.label().to_string());
    view! { <span class=format!("badge risk-{risk}") data-risk=risk.clone()>{label}</span> }
}

/// A change state.
#[component]
pub fn StatusBadge(status: String) -> impl IntoView {
    view! { <span class=format!("badge status-{status}") data-status=status.clone()>{status.clone()}</span> }
}

/// A checksum shown shortened; the full value is in the tooltip and selectable in a hidden
/// span for copying.
#[component]
pub fn Checksum(value: String) -> impl IntoView {
    let short: String = value.chars().take(15).collect();
    view! {
        <code class="checksum" title=value.clone() data-full=value.clone()>
            {short}"…"
            <span class="visually-hidden">{value.clone()}</span>
        </code>
    }
}

//! Times: `<time>` elements with a relative text ("3 min ago") and the exact time on hover.
//! The server renders them in UTC and says so; in the browser, [`LocalTimes`] puts every one
//! on the viewer's clock and keeps the relative texts current.

use leptos::prelude::*;

use crate::domain::clock::{clock_text, exact_text, parse_rfc3339, relative_text, rfc3339, Zone};

/// How a [`Time`] reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeStyle {
    /// "3 min ago", "yesterday 21:55", a date for older ones.
    #[default]
    Relative,
    /// The time of day, "12:03:04".
    Clock,
}

impl TimeStyle {
    /// The `data-local` value that tells [`LocalTimes`] how to rewrite the element.
    fn key(self) -> &'static str {
        match self {
            TimeStyle::Relative => "relative",
            TimeStyle::Clock => "clock",
        }
    }

    fn text(self, then: i64, now: i64, zone: Zone) -> String {
        match self {
            TimeStyle::Relative => relative_text(then, now, zone),
            TimeStyle::Clock => clock_text(then, zone),
        }
    }
}

/// Now, in Unix seconds.
fn now() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        (web_sys::js_sys::Date::now() / 1000.0) as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }
}

/// The zone times are shown in: the viewer's in the browser, UTC on the server.
fn zone(then: i64) -> Zone {
    #[cfg(feature = "hydrate")]
    {
        use web_sys::js_sys::Date;
        // JavaScript counts the offset in minutes west of UTC.
        let offset = |at: f64| (-Date::new(&(at).into()).get_timezone_offset() * 60.0) as i32;
        Zone::Local {
            at_then: offset(then as f64 * 1000.0),
            at_now: offset(Date::now()),
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = then;
        Zone::Utc
    }
}

/// An RFC 3339 time (or PostgreSQL's text form of one) as a `<time>` element: `datetime` holds
/// it in UTC, the text says it in `style`, the title gives the exact time. Text that is not a
/// time is shown as it is.
#[component]
pub fn Time(
    /// RFC 3339.
    #[prop(into)]
    at: String,
    /// How it reads.
    #[prop(optional)]
    style: TimeStyle,
) -> impl IntoView {
    match parse_rfc3339(&at) {
        Some(then) => {
            let zone = zone(then);
            let text = style.text(then, now(), zone);
            let title = exact_text(then, zone);
            view! { <time datetime=rfc3339(then) title=title data-local=style.key()>{text}</time> }
                .into_any()
        }
        None => view! { <span>{at}</span> }.into_any(),
    }
}

/// Puts every `<time data-local>` of the page on the viewer's clock, and refreshes the relative
/// texts every half minute (so "just now" becomes "1 min ago"). Renders nothing.
#[island]
pub fn LocalTimes() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        localize_all();
        if let Ok(handle) =
            set_interval_with_handle(localize_all, std::time::Duration::from_secs(30))
        {
            on_cleanup(move || handle.clear());
        }
    }
}

#[cfg(feature = "hydrate")]
fn localize_all() {
    let Ok(nodes) = document().query_selector_all("time[data-local]") else {
        return;
    };
    let now = now();
    for i in 0..nodes.length() {
        let Some(element) = nodes
            .item(i)
            .and_then(|n| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok())
        else {
            continue;
        };
        let Some(then) = element
            .get_attribute("datetime")
            .and_then(|at| parse_rfc3339(&at))
        else {
            continue;
        };
        let style = match element.get_attribute("data-local").as_deref() {
            Some("clock") => TimeStyle::Clock,
            _ => TimeStyle::Relative,
        };
        let zone = zone(then);
        let text = style.text(then, now, zone);
        if element.text_content().as_deref() != Some(text.as_str()) {
            element.set_text_content(Some(&text));
        }
        let _ = element.set_attribute("title", &exact_text(then, zone));
    }
}

//! Links that keep a page's filters: query strings and the "newer / older" pager.

use leptos::prelude::*;

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `path?key=value&...` from the non-empty pairs (just `path` when there are none).
pub fn href(path: &str, pairs: &[(&str, Option<String>)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter_map(|(key, value)| {
            value
                .as_deref()
                .filter(|v| !v.is_empty())
                .map(|v| format!("{key}={}", encode(v)))
        })
        .collect();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// The page numbers to offer: the first, the last, and two either side of `page`; `None`
/// marks a gap.
pub fn page_numbers(page: i64, pages: i64) -> Vec<Option<i64>> {
    let mut numbers = Vec::new();
    for n in 1..=pages {
        if n == 1 || n == pages || (n - page).abs() <= 2 {
            numbers.push(Some(n));
        } else if numbers.last() != Some(&None) {
            numbers.push(None);
        }
    }
    numbers
}

/// "← Newer · 1 2 3 · Page n of m · Older →", each link built by `link(page)`; nothing when
/// everything fits on one page.
#[component]
pub fn Pager(page: i64, pages: i64, link: impl Fn(i64) -> String + 'static) -> impl IntoView {
    (pages > 1).then(|| {
        view! {
            <nav class="pager" aria-label="Pages">
                {(page > 1).then(|| view! { <a rel="prev" href=link(page - 1)>"← Newer"</a> })}
                <ul class="pages">
                    {page_numbers(page, pages).into_iter().map(|n| match n {
                        Some(n) if n == page => view! {
                            <li><a href=link(n) aria-current="page" aria-label=format!("Page {n}")>{n}</a></li>
                        }.into_any(),
                        Some(n) => view! {
                            <li><a href=link(n) aria-label=format!("Page {n}")>{n}</a></li>
                        }.into_any(),
                        None => view! { <li aria-hidden="true">"…"</li> }.into_any(),
                    }).collect_view()}
                </ul>
                <span>{format!("Page {page} of {pages}")}</span>
                {(page < pages).then(|| view! { <a rel="next" href=link(page + 1)>"Older →"</a> })}
            </nav>
        }
    })
}

#[cfg(test)]
mod tests {
    use super::page_numbers;

    #[test]
    fn a_long_run_of_pages_keeps_the_ends_and_the_neighbours() {
        assert_eq!(
            page_numbers(6, 12),
            vec![
                Some(1),
                None,
                Some(4),
                Some(5),
                Some(6),
                Some(7),
                Some(8),
                None,
                Some(12)
            ]
        );
        assert_eq!(page_numbers(1, 3), vec![Some(1), Some(2), Some(3)]);
        assert_eq!(page_numbers(1, 1), vec![Some(1)]);
    }
}

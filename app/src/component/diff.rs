//! Diffs of rendered Prisma: unified or side by side, with line numbers, a +/- marker beside
//! the color, and the changed words inside a line marked.

use leptos::prelude::*;

use crate::domain::text_diff::{DiffLine, Hunk, LineKind};

fn segments(line: &DiffLine) -> impl IntoView {
    line.segments
        .iter()
        .map(|(emphasized, text)| {
            if *emphasized {
                view! { <mark>{text.clone()}</mark> }.into_any()
            } else {
                text.clone().into_any()
            }
        })
        .collect_view()
}

/// Diffs with more lines than this switch layout by loading the page again, like without
/// JavaScript: switching in place would send every line a second time, as the island's data.
pub const SWITCH_IN_PLACE_MAX_LINES: usize = 500;

/// A diff with its layout tabs: [`DiffLayout`] for diffs of up to
/// [`SWITCH_IN_PLACE_MAX_LINES`] lines, plain links and the chosen layout for longer ones.
#[component]
pub fn Diff(hunks: Vec<Hunk>, label: String, path: String, split: bool) -> impl IntoView {
    let lines: usize = hunks.iter().map(|hunk| hunk.lines.len()).sum();
    if lines <= SWITCH_IN_PLACE_MAX_LINES {
        return view! { <DiffLayout hunks label path split/> }.into_any();
    }
    let split_href = format!("{path}?view=split");
    view! {
        <nav class="tabs" aria-label="Diff layout">
            <a href=path.clone() aria-current=(!split).then_some("page")>"Unified"</a>
            <a href=split_href aria-current=split.then_some("page")>"Side by side"</a>
        </nav>
        {if split {
            // Sending every line twice would double an already long page: below 600 px a
            // link to the unified layout stands in for it.
            view! {
                <p class="muted diff-narrow">"Side by side needs a wider screen: "<a href=path.clone()>"show the diff unified"</a></p>
                <SplitDiff hunks label/>
            }.into_any()
        } else {
            view! { <UnifiedDiff hunks label/> }.into_any()
        }}
    }
    .into_any()
}

/// A diff with its layout tabs. Without JavaScript the tabs are links (`?view=split`); in the
/// browser they switch the layout in place and keep the address in step.
#[island]
pub fn DiffLayout(
    hunks: Vec<Hunk>,
    label: String,
    /// The page's path, which the tabs link to.
    path: String,
    split: bool,
) -> impl IntoView {
    let (split, set_split) = signal(split);
    let (unified_href, split_href) = (path.clone(), format!("{path}?view=split"));
    let choose = move |event: leptos::ev::MouseEvent, to_split: bool, href: &str| {
        event.prevent_default();
        set_split.set(to_split);
        #[cfg(feature = "hydrate")]
        if let Ok(history) = window().history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(href));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = href;
    };
    view! {
        <nav class="tabs" aria-label="Diff layout">
            <a
                href=unified_href.clone()
                aria-current=move || (!split.get()).then_some("page")
                on:click=move |event| choose(event, false, &unified_href)
            >
                "Unified"
            </a>
            <a
                href=split_href.clone()
                aria-current=move || split.get().then_some("page")
                on:click=move |event| choose(event, true, &split_href)
            >
                "Side by side"
            </a>
        </nav>
        {move || {
            let (hunks, label) = (hunks.clone(), label.clone());
            if split.get() {
                view! { <SplitOrUnified hunks label/> }.into_any()
            } else {
                view! { <UnifiedDiff hunks label/> }.into_any()
            }
        }}
    }
}

/// The side-by-side view, and the unified one that stands in for it below 600 px, where two
/// columns of code do not fit: the stylesheet shows one of them.
#[component]
fn SplitOrUnified(hunks: Vec<Hunk>, label: String) -> impl IntoView {
    view! {
        <div class="diff-wide"><SplitDiff hunks=hunks.clone() label=label.clone()/></div>
        <div class="diff-narrow">
            <p class="muted">"Side by side needs a wider screen: the diff is shown unified."</p>
            <UnifiedDiff hunks label/>
        </div>
    }
}

fn number(n: Option<usize>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

/// The unified view: one column, old and new line numbers. Rows carry no more markup than
/// their kind, since long diffs are thousands of them: the stylesheet styles cells by position
/// and draws the +/- marker.
#[component]
pub fn UnifiedDiff(hunks: Vec<Hunk>, #[prop(into)] label: String) -> impl IntoView {
    if hunks.is_empty() {
        return view! { <p class="muted">"No differences."</p> }.into_any();
    }
    view! {
        <div class="scroll" tabindex="0"><table class="diff unified" aria-label=label>
            <tbody>
                {hunks.into_iter().map(|hunk| view! {
                    <tr class="hunk"><td colspan="4">{hunk.header.clone()}</td></tr>
                    {hunk.lines.iter().map(|line| view! {
                        <tr class=line.kind.as_str()>
                            <td>{number(line.old_line)}</td>
                            <td>{number(line.new_line)}</td>
                            <td></td>
                            <td>{spoken_kind(line.kind)}{segments(line)}</td>
                        </tr>
                    }).collect_view()}
                }).collect_view()}
            </tbody>
        </table></div>
    }
    .into_any()
}

/// What a screen reader says before a changed line, since color and marker are not read.
fn spoken_kind(kind: LineKind) -> Option<impl IntoView> {
    let text = match kind {
        LineKind::Add => "added: ",
        LineKind::Del => "removed: ",
        LineKind::Ctx => return None,
    };
    Some(view! { <span class="visually-hidden">{text}</span> })
}

/// The side-by-side view: removed lines on the left, added lines on the right, paired in order.
#[component]
pub fn SplitDiff(hunks: Vec<Hunk>, #[prop(into)] label: String) -> impl IntoView {
    if hunks.is_empty() {
        return view! { <p class="muted">"No differences."</p> }.into_any();
    }
    let rows: Vec<(Option<DiffLine>, Option<DiffLine>, Option<String>)> =
        hunks.iter().flat_map(pair_rows).collect();
    view! {
        <div class="scroll" tabindex="0"><table class="diff split" aria-label=label>
            <colgroup>
                <col class="num"/><col class="marker"/><col class="code"/>
                <col class="num"/><col class="marker"/><col class="code"/>
            </colgroup>
            <thead><tr>
                <th scope="colgroup" colspan="3">"Before"</th>
                <th scope="colgroup" colspan="3">"After"</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|(left, right, header)| match header {
                    Some(header) => view! { <tr class="hunk"><td colspan="6">{header}</td></tr> }.into_any(),
                    None => view! { <tr>{half(left, true)}{half(right, false)}</tr> }.into_any(),
                }).collect_view()}
            </tbody>
        </table></div>
    }
    .into_any()
}

/// One side of a split row: number, marker and code cells, the last two with the line's kind.
fn half(line: Option<DiffLine>, left: bool) -> impl IntoView {
    match line {
        Some(line) => {
            let n = if left { line.old_line } else { line.new_line };
            let kind = line.kind.as_str();
            view! {
                <td>{number(n)}</td>
                <td class=kind></td>
                <td class=kind>{spoken_kind(line.kind)}{segments(&line)}</td>
            }
            .into_any()
        }
        None => view! { <td></td><td></td><td class="empty"></td> }.into_any(),
    }
}

/// Rows of the split view for one hunk: context on both sides, runs of removals and additions
/// paired line by line.
fn pair_rows(hunk: &Hunk) -> Vec<(Option<DiffLine>, Option<DiffLine>, Option<String>)> {
    let mut rows = vec![(None, None, Some(hunk.header.clone()))];
    let (mut dels, mut adds): (Vec<DiffLine>, Vec<DiffLine>) = (Vec::new(), Vec::new());
    let flush = |rows: &mut Vec<_>, dels: &mut Vec<DiffLine>, adds: &mut Vec<DiffLine>| {
        let n = dels.len().max(adds.len());
        let mut d = dels.drain(..);
        let mut a = adds.drain(..);
        for _ in 0..n {
            rows.push((d.next(), a.next(), None));
        }
    };
    for line in &hunk.lines {
        match line.kind {
            LineKind::Del => dels.push(line.clone()),
            LineKind::Add => adds.push(line.clone()),
            LineKind::Ctx => {
                flush(&mut rows, &mut dels, &mut adds);
                rows.push((Some(line.clone()), Some(line.clone()), None));
            }
        }
    }
    flush(&mut rows, &mut dels, &mut adds);
    rows
}

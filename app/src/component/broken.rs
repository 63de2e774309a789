//! Packages that fail validation, and their errors grouped by cause: the problem once with how
//! often and where, the lines of the file around it with the column marked, and the fix.

use leptos::prelude::*;

use crate::api::broken::BrokenPackagesView;
use crate::domain::diagnostic_report::{Cause, Excerpt};

/// The broken packages section of the dashboard and the queue (nothing when there are none).
#[component]
pub fn BrokenPackageList(data: BrokenPackagesView) -> impl IntoView {
    if data.packages.is_empty() {
        return data
            .problem
            .map(|problem| {
                view! { <p class="muted" data-testid="broken-problem">"Packages on disk not checked: "{problem}</p> }
            })
            .into_any();
    }
    let (shown, total) = (data.packages.len(), data.total);
    view! {
        <section class="broken-packages panel" aria-labelledby="broken-h" data-testid="broken-packages">
            <h2 id="broken-h">{format!("Packages with errors ({total})")}</h2>
            <p class="muted">"Their files fail validation, so no change is queued for them until the errors are fixed and a scan runs."</p>
            {data.packages.into_iter().map(|package| {
                let heading = format!("broken-{}-h", package.package);
                let labelled_by = heading.clone();
                let summary = format!(
                    "{} error(s), {} cause(s)",
                    package.errors,
                    package.causes.len() + package.more_causes
                );
                view! {
                    <article class="broken-package" aria-labelledby=labelled_by data-package=package.package.clone()>
                        <h3 id=heading>
                            {match package.link.clone() {
                                Some(link) => view! { <a href=link>{package.package.clone()}</a> }.into_any(),
                                None => view! { <span>{package.package.clone()}</span> }.into_any(),
                            }}
                            " "<small class="muted">{summary}</small>
                        </h3>
                        <Causes causes=package.causes.clone() file=package.file.clone()/>
                        {(package.more_causes > 0).then(|| view! {
                            <p>
                                {format!("and {} more cause(s): ", package.more_causes)}
                                {package.link.clone().map(|link| view! { <a href=link>{format!("all errors of {}", package.package)}</a> })}
                            </p>
                        })}
                    </article>
                }
            }).collect_view()}
            {(total > shown).then(|| view! {
                <p data-testid="broken-more">
                    {format!("{shown} of {total} shown. ")}
                    <a href="/packages?state=errors">"Every package with errors"</a>
                </p>
            })}
        </section>
    }
    .into_any()
}

/// A package's errors by cause.
#[component]
pub fn Causes(causes: Vec<Cause>, file: String) -> impl IntoView {
    view! {
        <ol class="causes">
            {causes.into_iter().map(|cause| {
                let places = cause.places.len();
                view! {
                    <li class="cause" data-code=cause.code.clone()>
                        <p class="cause-head">
                            <strong class="message">{cause.message.clone()}</strong>
                            {(cause.count > 1).then(|| view! { " "<span class="badge count">{format!("{} times", cause.count)}</span> })}
                        </p>
                        {(places > 0).then(|| view! {
                            <ul class="places" aria-label="Where">
                                {cause.places.iter().map(|place| {
                                    let location = if place.line > 0 {
                                        format!("{file}:{}:{}", place.line, place.column)
                                    } else {
                                        file.clone()
                                    };
                                    view! {
                                        <li>
                                            <code class="location">{location}</code>
                                            {(!place.path.is_empty()).then(|| view! { " at "<code>{place.path.clone()}</code> })}
                                        </li>
                                    }
                                }).collect_view()}
                                {(cause.count > places).then(|| view! { <li class="muted">{format!("and {} more", cause.count - places)}</li> })}
                            </ul>
                        })}
                        {(places == 0).then(|| view! { <p><code class="location">{file.clone()}</code></p> })}
                        {cause.excerpt.clone().map(|excerpt| view! { <SourceExcerpt excerpt file=file.clone()/> })}
                        {cause.fix.clone().map(|fix| view! { <p class="fix"><strong>"Fix: "</strong>{fix}</p> })}
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

/// The lines around a position, numbered, with the marked line flagged by `>` and the column
/// by a `^` under it (text, so it does not rely on color) and highlighted.
#[component]
pub fn SourceExcerpt(excerpt: Excerpt, file: String) -> impl IntoView {
    let width = excerpt
        .lines
        .iter()
        .map(|l| l.number.to_string().len())
        .max()
        .unwrap_or(1);
    let label = format!(
        "{file}, lines {} to {}; the error is at line {}, column {}",
        excerpt.lines.first().map_or(0, |l| l.number),
        excerpt.lines.last().map_or(0, |l| l.number),
        excerpt.line,
        excerpt.column
    );
    view! {
        <div class="scroll">
            <pre class="excerpt" role="group" aria-label=label tabindex="0">
                {excerpt.lines.into_iter().map(|line| {
                    let gutter = format!("{} {:>width$} | ", if line.mark.is_some() { ">" } else { " " }, line.number);
                    match line.mark {
                        None => view! { <span class="line">{gutter}{line.text}"\n"</span> }.into_any(),
                        Some(mark) => {
                            let chars: Vec<char> = line.text.chars().collect();
                            let before: String = chars.iter().take(mark).collect();
                            let marked: String = chars.get(mark).map_or(" ".to_string(), |c| c.to_string());
                            let after: String = chars.iter().skip(mark + 1).collect();
                            let caret = format!("  {:>width$} | {}^ column {}", "", " ".repeat(mark), excerpt.column);
                            view! {
                                <span class="line marked">{gutter}{before}<mark>{marked}</mark>{after}"\n"</span>
                                <span class="caret">{caret}"\n"</span>
                            }.into_any()
                        }
                    }
                }).collect_view()}
            </pre>
        </div>
    }
}

//! The reference (`server/docs/*.md`, the files the README points to) served under `/help`, so an
//! admin reads it where they work. The Markdown is part of the binary and rendered once per
//! request with `pulldown-cmark`; links between the files become links between the pages, and
//! every heading gets an anchor the app's pages link to.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use app::shell::SiteAssets;

/// `(path under /help, title, Markdown)`, in the order the index lists them.
pub const PAGES: [(&str, &str, &str); 10] = [
    (
        "approvals",
        "Approvals",
        include_str!("../docs/approvals.md"),
    ),
    (
        "sql-plans",
        "SQL plans",
        include_str!("../docs/sql-plans.md"),
    ),
    (
        "row-level-security",
        "Row-level security",
        include_str!("../docs/row-level-security.md"),
    ),
    ("audit", "Audit", include_str!("../docs/audit.md")),
    (
        "configuration",
        "Configuration",
        include_str!("../docs/configuration.md"),
    ),
    ("cli", "CLI", include_str!("../docs/cli.md")),
    ("http-api", "HTTP API", include_str!("../docs/http-api.md")),
    (
        "container",
        "Container wiring",
        include_str!("../docs/container.md"),
    ),
    (
        "architecture",
        "Architecture",
        include_str!("../docs/architecture.md"),
    ),
    (
        "benchmarks",
        "Benchmarks",
        include_str!("../docs/benchmarks.md"),
    ),
];

/// `GET /help`: the list of pages.
pub async fn index(assets: SiteAssets) -> Html<String> {
    let mut body = String::from("<h1>Help</h1>\n<ul class=\"help-index\">\n");
    for (path, title, markdown) in PAGES {
        let lead = first_paragraph(markdown);
        body.push_str(&format!(
            "<li><a href=\"/help/{path}\">{title}</a>: {}</li>\n",
            escape(&lead)
        ));
    }
    body.push_str("</ul>\n");
    Html(layout("Help", &body, &assets))
}

/// `GET /help/{page}`: one page, or 404.
pub async fn page(assets: SiteAssets, page: String) -> Response {
    match PAGES.iter().find(|(path, _, _)| *path == page) {
        Some((_, title, markdown)) => {
            Html(layout(title, &render(markdown), &assets)).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Html(layout(
                "Not found",
                "<h1>Not found</h1><p><a href=\"/help\">All help pages</a></p>",
                &assets,
            )),
        )
            .into_response(),
    }
}

/// The Markdown as HTML: tables on, `x.md#a` links pointing at `/help/x#a`, and an `id` on
/// every heading (its text, lowercased, with dashes).
pub fn render(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut events: Vec<Event<'_>> = Vec::new();
    let mut heading: Option<(HeadingLevel, Vec<Event<'_>>, String)> = None;
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                heading = Some((level, Vec::new(), String::new()))
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, inner, text)) = heading.take() {
                    let tag = format!("{level}");
                    events.push(Event::Html(CowStr::from(format!(
                        "<{tag} id=\"{}\">",
                        slug(&text)
                    ))));
                    events.extend(inner);
                    events.push(Event::Html(CowStr::from(format!("</{tag}>\n"))));
                }
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let link = Event::Start(Tag::Link {
                    link_type,
                    dest_url: help_link(&dest_url).map_or(dest_url, CowStr::from),
                    title,
                    id,
                });
                push(&mut heading, &mut events, link);
            }
            other => {
                if let (Some((_, _, text)), Event::Text(t) | Event::Code(t)) =
                    (&mut heading, &other)
                {
                    text.push_str(t);
                }
                push(&mut heading, &mut events, other);
            }
        }
    }
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    html
}

fn push<'a>(
    heading: &mut Option<(HeadingLevel, Vec<Event<'a>>, String)>,
    events: &mut Vec<Event<'a>>,
    event: Event<'a>,
) {
    match heading {
        Some((_, inner, _)) => inner.push(event),
        None => events.push(event),
    }
}

/// `approvals.md#four-eyes` → `/help/approvals#four-eyes`, for the pages this module serves.
fn help_link(dest: &str) -> Option<String> {
    let (file, anchor) = dest
        .split_once('#')
        .map_or((dest, None), |(f, a)| (f, Some(a)));
    let page = file.strip_suffix(".md")?;
    if !PAGES.iter().any(|(path, _, _)| *path == page) {
        return None;
    }
    Some(match anchor {
        Some(anchor) => format!("/help/{page}#{anchor}"),
        None => format!("/help/{page}"),
    })
}

/// A heading's anchor: lowercase ASCII letters and digits, runs of anything else as one `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// The first paragraph of a page, as plain text, for the index.
fn first_paragraph(markdown: &str) -> String {
    let text: String = markdown
        .split("\n\n")
        .find(|p| !p.trim_start().starts_with('#') && !p.trim().is_empty())
        .unwrap_or_default()
        .replace('\n', " ");
    let mut lead: String = text.chars().take(160).collect();
    if text.chars().count() > 160 {
        lead.push('…');
    }
    lead
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn layout(title: &str, body: &str, assets: &SiteAssets) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Schemagate help</title>\
         <link rel=\"icon\" href=\"/pkg/{}\" type=\"image/svg+xml\">\
         <link rel=\"stylesheet\" href=\"/pkg/{}\"></head>\
         <body><header class=\"help-header\"><nav aria-label=\"Help\"><a href=\"/\">Schemagate</a> · \
         <a href=\"/help\">Help</a></nav></header><main class=\"help\">{body}</main></body></html>",
        escape(title),
        assets.icon,
        assets.style
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_renders_with_anchored_headings_and_help_links() {
        for (path, title, markdown) in PAGES {
            let html = render(markdown);
            assert!(
                html.contains(&format!(
                    "<h1 id=\"{}\">",
                    slug(markdown.lines().next().unwrap().trim_start_matches("# "))
                )),
                "{path}"
            );
            assert!(
                !html.contains(".md\""),
                "{path} ({title}) links to a file, not a page"
            );
        }
        let html = render("# The SQL plans\n\nSee [approvals](approvals.md#four-eyes) and [x](https://example.com).\n");
        assert!(
            html.contains("<h1 id=\"the-sql-plans\">The SQL plans</h1>"),
            "{html}"
        );
        assert!(
            html.contains("href=\"/help/approvals#four-eyes\""),
            "{html}"
        );
        assert!(html.contains("href=\"https://example.com\""), "{html}");
    }

    #[test]
    fn slugs_are_lowercase_words_joined_by_dashes() {
        assert_eq!(
            slug("The platform database and SQL plans"),
            "the-platform-database-and-sql-plans"
        );
        assert_eq!(
            slug("`schemagate apply` — exit codes"),
            "schemagate-apply-exit-codes"
        );
    }
}

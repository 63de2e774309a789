//! People's text (comments, notes) with its web addresses made into links. The text is only
//! ever rendered as text: nothing in it becomes markup except an `http://` or `https://`
//! address, which becomes a link to exactly that address.

use leptos::prelude::*;

/// A piece of a comment: plain text, or a web address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Text shown as it is.
    Text(String),
    /// An `http(s)://` address, shown as a link.
    Link(String),
}

/// Splits `text` into plain text and `http(s)://` addresses. An address ends at whitespace,
/// and trailing punctuation (`.`, `,`, `)`, ...) stays outside it.
pub fn pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let start = ["https://", "http://"]
            .iter()
            .filter_map(|scheme| rest.find(scheme))
            .min();
        let Some(start) = start else {
            plain.push_str(rest);
            break;
        };
        plain.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
        let address =
            tail[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '\'', '"']);
        let scheme_only = address.ends_with("://");
        if scheme_only || address.contains(['<', '>', '"']) {
            plain.push_str(&tail[..end]);
        } else {
            if !plain.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut plain)));
            }
            out.push(Piece::Link(address.to_string()));
            plain.push_str(&tail[address.len()..end]);
        }
        rest = &tail[end..];
    }
    if !plain.is_empty() {
        out.push(Piece::Text(plain));
    }
    out
}

/// `text` with its web addresses as links (opened without handing this page to the target).
#[component]
pub fn LinkedText(#[prop(into)] text: String) -> impl IntoView {
    pieces(&text)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(text) => text.into_any(),
            Piece::Link(href) => {
                let shown = href.clone();
                view! { <a href=href rel="noopener noreferrer nofollow">{shown}</a> }.into_any()
            }
        })
        .collect_view()
}

#[cfg(test)]
mod tests {
    use super::{pieces, Piece};

    #[test]
    fn addresses_become_links_and_the_rest_stays_text() {
        assert_eq!(
            pieces("see https://example.com/a?b=1, then http://x.org."),
            vec![
                Piece::Text("see ".into()),
                Piece::Link("https://example.com/a?b=1".into()),
                Piece::Text(", then ".into()),
                Piece::Link("http://x.org".into()),
                Piece::Text(".".into()),
            ]
        );
    }

    #[test]
    fn markup_and_other_schemes_stay_text() {
        assert_eq!(
            pieces("<b>hi</b> javascript:alert(1) ftp://x https://"),
            vec![Piece::Text(
                "<b>hi</b> javascript:alert(1) ftp://x https://".into()
            )]
        );
        assert_eq!(
            pieces("https://a.example/<script>"),
            vec![Piece::Text("https://a.example/<script>".into())]
        );
    }
}

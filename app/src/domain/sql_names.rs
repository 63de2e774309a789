//! Names read from squawk's syntax tree, unquoted as PostgreSQL reads them.

use squawk_syntax::{SyntaxKind, SyntaxNode};

/// Every identifier under `node`, unquoted, in order.
#[must_use]
pub fn names(node: &SyntaxNode) -> Vec<String> {
    node.descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .filter(|t| t.kind() == SyntaxKind::IDENT)
        .map(|t| unquote_ident(t.text()))
        .collect()
}

/// The last identifier of the first name under `node` (`"public"."T"` gives `T`).
#[must_use]
pub fn first_name(node: &SyntaxNode) -> Option<String> {
    let path = node
        .descendants()
        .find(|n| n.kind() == SyntaxKind::PATH || n.kind() == SyntaxKind::PATH_REF);
    match path {
        Some(path) => names(&path).pop(),
        None => names(node).into_iter().next(),
    }
}

/// `"Post"` as `Post`; an unquoted `post` as PostgreSQL folds it.
#[must_use]
pub fn unquote_ident(text: &str) -> String {
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => text.to_ascii_lowercase(),
    }
}

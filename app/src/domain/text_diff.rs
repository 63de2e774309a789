//! Line diffs of rendered Prisma (before → after), for the CLI and the review page.

use serde::{Deserialize, Serialize};
#[cfg(feature = "domain")]
use similar::{ChangeTag, TextDiff};

/// What a diff line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineKind {
    /// Only in the new text.
    Add,
    /// Only in the old text.
    Del,
    /// In both (context).
    Ctx,
}

impl LineKind {
    /// `add`, `del` or `ctx`: the class of its row (or cells) on the page.
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Add => "add",
            LineKind::Del => "del",
            LineKind::Ctx => "ctx",
        }
    }

    /// The marker column of a unified diff.
    pub fn marker(self) -> char {
        match self {
            LineKind::Add => '+',
            LineKind::Del => '-',
            LineKind::Ctx => ' ',
        }
    }
}

/// One line of a diff, with the words that changed marked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    /// Added, removed or context.
    pub kind: LineKind,
    /// Line number in the old text.
    pub old_line: Option<usize>,
    /// Line number in the new text.
    pub new_line: Option<usize>,
    /// The line's text in pieces; `true` marks a piece that changed within the line.
    pub segments: Vec<(bool, String)>,
}

impl DiffLine {
    /// The whole line's text.
    pub fn text(&self) -> String {
        self.segments.iter().map(|(_, s)| s.as_str()).collect()
    }
}

/// A run of nearby changes with their context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hunk {
    /// `@@ -a,b +c,d @@`.
    pub header: String,
    /// The lines.
    pub lines: Vec<DiffLine>,
}

/// The hunks turning `before` into `after`, with `context` unchanged lines around changes and
/// word-level emphasis inside changed lines.
#[cfg(feature = "domain")]
pub fn diff_hunks(before: &str, after: &str, context: usize) -> Vec<Hunk> {
    let diff = TextDiff::from_lines(before, after);
    diff.grouped_ops(context)
        .iter()
        .map(|group| {
            let mut lines = Vec::new();
            for op in group {
                for change in diff.iter_inline_changes(op) {
                    let kind = match change.tag() {
                        ChangeTag::Insert => LineKind::Add,
                        ChangeTag::Delete => LineKind::Del,
                        ChangeTag::Equal => LineKind::Ctx,
                    };
                    let segments = change
                        .iter_strings_lossy()
                        .map(|(emphasized, text)| {
                            (
                                emphasized && kind != LineKind::Ctx,
                                text.trim_end_matches(['\n', '\r']).to_string(),
                            )
                        })
                        .filter(|(_, text)| !text.is_empty())
                        .collect();
                    lines.push(DiffLine {
                        kind,
                        old_line: change.old_index().map(|i| i + 1),
                        new_line: change.new_index().map(|i| i + 1),
                        segments,
                    });
                }
            }
            let (first, last) = (group.first(), group.last());
            let header = match (first, last) {
                (Some(first), Some(last)) => {
                    let old = first.old_range().start..last.old_range().end;
                    let new = first.new_range().start..last.new_range().end;
                    format!(
                        "@@ -{},{} +{},{} @@",
                        old.start + 1,
                        old.len(),
                        new.start + 1,
                        new.len()
                    )
                }
                _ => String::new(),
            };
            Hunk { header, lines }
        })
        .collect()
}

/// A plain unified diff (`--- a`, `+++ b`, hunks), empty when the texts are equal.
#[cfg(feature = "domain")]
pub fn unified_diff(before: &str, after: &str, before_name: &str, after_name: &str) -> String {
    let hunks = diff_hunks(before, after, 3);
    if hunks.is_empty() {
        return String::new();
    }
    let mut out = format!("--- {before_name}\n+++ {after_name}\n");
    for hunk in hunks {
        out.push_str(&hunk.header);
        out.push('\n');
        for line in hunk.lines {
            out.push(line.kind.marker());
            out.push_str(&line.text());
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert!(diff_hunks("a\nb\n", "a\nb\n", 3).is_empty());
        assert_eq!(unified_diff("a\n", "a\n", "a", "b"), "");
    }

    #[test]
    fn a_changed_line_is_a_deletion_and_an_addition_with_the_changed_word_marked() {
        let hunks = diff_hunks("model A {\n  n Int\n}\n", "model A {\n  n BigInt\n}\n", 1);
        assert_eq!(hunks.len(), 1);
        let kinds: Vec<LineKind> = hunks[0].lines.iter().map(|l| l.kind).collect();
        assert_eq!(
            kinds,
            [LineKind::Ctx, LineKind::Del, LineKind::Add, LineKind::Ctx]
        );
        let added = &hunks[0].lines[2];
        assert_eq!(added.text(), "  n BigInt");
        assert_eq!(added.new_line, Some(2));
        assert!(added
            .segments
            .iter()
            .any(|(emphasized, text)| *emphasized && text.contains("BigInt")));
        assert!(added
            .segments
            .iter()
            .any(|(emphasized, text)| !emphasized && text.contains('n')));
    }

    #[test]
    fn a_unified_diff_has_headers_and_markers() {
        let diff = unified_diff("x\ny\n", "x\nz\n", "before", "after");
        assert_eq!(diff, "--- before\n+++ after\n@@ -1,2 +1,2 @@\n x\n-y\n+z\n");
    }
}

//! A broken package's diagnostics as an author reads them: grouped by cause (the same problem
//! once, with how often and where), each cause with the lines of the file around its first
//! place and the fix.

use serde::{Deserialize, Serialize};

use super::diagnostic::{Diagnostic, Position};

/// Lines shown before and after the marked line of an excerpt.
pub const EXCERPT_CONTEXT: usize = 2;
/// Characters of a line an excerpt shows; longer lines are cut around the marked column.
pub const EXCERPT_WIDTH: usize = 120;
/// Places listed per cause (the count says how many there are in all).
pub const PLACES_PER_CAUSE: usize = 12;

/// One line of an excerpt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExcerptLine {
    /// 1-based line number in the file.
    pub number: u64,
    /// The line's text (cut to [`EXCERPT_WIDTH`] characters; `…` marks a cut).
    pub text: String,
    /// On the marked line: the 0-based character index in `text` of the marked column (it may
    /// be at or past the end of `text` when the column points after the line's last character).
    pub mark: Option<usize>,
}

/// The lines around a position in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excerpt {
    /// The lines, in order; exactly one is the marked line.
    pub lines: Vec<ExcerptLine>,
    /// The marked line (1-based).
    pub line: u64,
    /// The marked column (1-based).
    pub column: u64,
}

/// The lines `context` before and after `position.line` of `text`, with the column marked.
/// `None` when the position is unknown (line 0) or past the end of the text.
#[must_use]
pub fn excerpt(text: &str, position: Position, context: usize) -> Option<Excerpt> {
    let line = usize::try_from(position.line).ok().filter(|l| *l > 0)?;
    let first = line.saturating_sub(context).max(1);
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .skip(first - 1)
        .take(line + context + 1 - first)
        .collect();
    if lines.last().is_none_or(|(number, _)| *number < line) {
        return None;
    }
    // One window for every line, so the caret stays under its column.
    let column = usize::try_from(position.column)
        .unwrap_or(usize::MAX)
        .max(1);
    let start = column.saturating_sub(EXCERPT_WIDTH / 2).min(column - 1);
    let start = if column <= EXCERPT_WIDTH { 0 } else { start };
    let lines = lines
        .into_iter()
        .map(|(number, full)| {
            let chars: Vec<char> = full.chars().collect();
            let end = (start + EXCERPT_WIDTH).min(chars.len());
            let mut text = String::new();
            if start > 0 && start < chars.len() {
                text.push('…');
            }
            let shown: String = chars
                .get(start..end)
                .map(|c| c.iter().collect())
                .unwrap_or_default();
            text.push_str(&shown);
            if end < chars.len() {
                text.push('…');
            }
            let lead = usize::from(start > 0 && start < chars.len());
            let mark = (number == line && position.column > 0).then(|| column - 1 - start + lead);
            ExcerptLine {
                number: number as u64,
                text,
                mark,
            }
        })
        .collect();
    Some(Excerpt {
        lines,
        line: position.line,
        column: position.column,
    })
}

/// A place a cause occurs at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// 1-based line (0: unknown).
    pub line: u64,
    /// 1-based column (0: unknown).
    pub column: u64,
    /// Key path of the offending node (`CrmContact.fields.attributes.type`), maybe empty.
    pub path: String,
}

/// One cause of a package's errors: the same problem once, however often it occurs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    /// Stable error kind (`unknown_field_type`).
    pub code: String,
    /// The problem (`unknown field type "jsonb"`).
    pub message: String,
    /// How to fix it, when there is something useful to say.
    pub fix: Option<String>,
    /// How many times it occurs.
    pub count: usize,
    /// Where, in file order (at most [`PLACES_PER_CAUSE`]).
    pub places: Vec<Place>,
    /// The file around the first place.
    pub excerpt: Option<Excerpt>,
}

/// `diagnostics` grouped by cause (same kind, same message, same fix), in the order each cause
/// first occurs in the file, each with the excerpt of `source` around its first place.
#[must_use]
pub fn causes(diagnostics: &[Diagnostic], source: Option<&str>) -> Vec<Cause> {
    let mut sorted: Vec<&Diagnostic> = diagnostics.iter().collect();
    sorted.sort_by_key(|d| d.position);
    let mut out: Vec<Cause> = Vec::new();
    for d in sorted {
        let (code, message, fix) = (d.error.code(), d.error.to_string(), d.error.help());
        let place = Place {
            line: d.position.line,
            column: d.position.column,
            path: d.path.clone(),
        };
        match out
            .iter_mut()
            .find(|c| c.code == code && c.message == message && c.fix == fix)
        {
            Some(cause) => {
                cause.count += 1;
                if cause.places.len() < PLACES_PER_CAUSE {
                    cause.places.push(place);
                }
            }
            None => out.push(Cause {
                code: code.to_string(),
                message,
                fix,
                count: 1,
                excerpt: source.and_then(|text| excerpt(text, d.position, EXCERPT_CONTEXT)),
                places: vec![place],
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::diagnostic::SchemaError;

    const YAML: &str = "entities:\r\n  - name: CrmContact\r\n    fields:\r\n      id: { type: cuid }\r\n      attributes: { type: jsonb }\r\n      extra: { type: jsonb }\r\n      note: { type: text }\r\n";

    fn unknown_type(found: &str, line: u64, column: u64, path: &str) -> Diagnostic {
        Diagnostic::error(
            "crm/entities.yaml",
            Position::new(line, column),
            path,
            SchemaError::UnknownFieldType {
                found: found.to_string(),
            },
        )
    }

    #[test]
    fn an_excerpt_shows_the_lines_around_the_position_with_the_column_marked() {
        let excerpt = excerpt(YAML, Position::new(5, 27), 2).expect("an excerpt");
        let numbers: Vec<u64> = excerpt.lines.iter().map(|l| l.number).collect();
        assert_eq!(numbers, [3, 4, 5, 6, 7]);
        let marked = &excerpt.lines[2];
        assert_eq!(marked.text, "      attributes: { type: jsonb }");
        assert_eq!(
            marked.text.chars().nth(marked.mark.expect("a mark")),
            Some('j')
        );
        assert!(excerpt.lines.iter().filter(|l| l.mark.is_some()).count() == 1);
        assert!(!excerpt.lines.iter().any(|l| l.text.ends_with('\r')));
    }

    #[test]
    fn an_excerpt_at_the_edges_of_the_file_keeps_what_exists() {
        let top = excerpt(YAML, Position::new(1, 1), 2).expect("an excerpt");
        assert_eq!(
            top.lines.iter().map(|l| l.number).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        let bottom = excerpt(YAML, Position::new(7, 7), 2).expect("an excerpt");
        assert_eq!(
            bottom.lines.iter().map(|l| l.number).collect::<Vec<_>>(),
            [5, 6, 7]
        );
        assert_eq!(excerpt(YAML, Position::new(8, 1), 2), None);
        assert_eq!(excerpt(YAML, Position::default(), 2), None);
    }

    #[test]
    fn a_long_line_is_cut_around_the_marked_column() {
        let long = format!("key: {}X{}\n", "a".repeat(300), "b".repeat(300));
        let column = 306; // the X
        let excerpt = excerpt(&long, Position::new(1, column), 0).expect("an excerpt");
        let line = &excerpt.lines[0];
        assert!(line.text.starts_with('…') && line.text.ends_with('…'));
        assert!(line.text.chars().count() <= EXCERPT_WIDTH + 2);
        assert_eq!(line.text.chars().nth(line.mark.expect("a mark")), Some('X'));
    }

    #[test]
    fn the_same_cause_is_listed_once_with_its_count_and_places() {
        let diagnostics = [
            unknown_type("text", 7, 21, "CrmContact.fields.note.type"),
            unknown_type("jsonb", 6, 22, "CrmContact.fields.extra.type"),
            unknown_type("jsonb", 5, 27, "CrmContact.fields.attributes.type"),
        ];
        let causes = causes(&diagnostics, Some(YAML));
        assert_eq!(causes.len(), 2);
        let jsonb = &causes[0];
        assert_eq!(jsonb.message, "unknown field type \"jsonb\"");
        assert_eq!(jsonb.count, 2);
        assert_eq!(
            jsonb.places.iter().map(|p| p.line).collect::<Vec<_>>(),
            [5, 6]
        );
        assert_eq!(jsonb.excerpt.as_ref().map(|e| e.line), Some(5));
        assert!(jsonb.fix.as_deref().is_some_and(|f| f.contains("json")));
        assert_eq!(causes[1].message, "unknown field type \"text\"");
        assert_eq!(causes[1].count, 1);
    }

    #[test]
    fn places_are_bounded_but_the_count_is_not() {
        let diagnostics: Vec<Diagnostic> = (1..=40)
            .map(|line| unknown_type("jsonb", line, 3, "E.fields.f.type"))
            .collect();
        let causes = causes(&diagnostics, None);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].count, 40);
        assert_eq!(causes[0].places.len(), PLACES_PER_CAUSE);
        assert_eq!(causes[0].excerpt, None);
    }
}

//! Text layout exactly as `prisma format` produces it: two-space indent; within a model,
//! field name, type and attributes aligned in columns per group of consecutive lines (an empty
//! line starts a new group, comments do not); one empty line before the `@@` attributes;
//! `key = value` lines of datasource/generator blocks aligned on `=`; one empty line between
//! blocks.

use std::fmt::Write as _;

/// One line of a model body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    /// A field: name, type, attributes (may be empty).
    Row {
        name: String,
        type_text: String,
        attributes: String,
    },
    /// A comment line, written as is.
    Comment(String),
    /// An empty line, ending an alignment group.
    Blank,
}

fn push_comments(out: &mut String, comments: &[String]) {
    for comment in comments {
        out.push_str(comment);
        out.push('\n');
    }
}

/// Writes aligned body lines (indented by two spaces) of a model.
pub(crate) fn write_rows(out: &mut String, lines: &[Line]) {
    let mut start = 0;
    while start < lines.len() {
        let end = lines[start..]
            .iter()
            .position(|l| *l == Line::Blank)
            .map_or(lines.len(), |p| start + p);
        let group = &lines[start..end];
        let name_width = group
            .iter()
            .filter_map(row_name)
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0);
        let type_width = group
            .iter()
            .filter_map(row_type)
            .map(|t| t.chars().count())
            .max()
            .unwrap_or(0);
        for line in group {
            match line {
                Line::Row {
                    name,
                    type_text,
                    attributes,
                } => {
                    let mut text =
                        format!("  {name:<name_width$} {type_text:<type_width$} {attributes}");
                    text.truncate(text.trim_end().len());
                    out.push_str(&text);
                    out.push('\n');
                }
                Line::Comment(comment) => {
                    out.push_str("  ");
                    out.push_str(comment);
                    out.push('\n');
                }
                Line::Blank => {}
            }
        }
        if end < lines.len() {
            out.push('\n');
        }
        start = end + 1;
    }
}

fn row_name(line: &Line) -> Option<&str> {
    match line {
        Line::Row { name, .. } => Some(name),
        _ => None,
    }
}

fn row_type(line: &Line) -> Option<&str> {
    match line {
        Line::Row { type_text, .. } => Some(type_text),
        _ => None,
    }
}

/// Writes a whole model block.
pub(crate) fn write_model(
    out: &mut String,
    leading_comments: &[String],
    keyword: &str,
    name: &str,
    lines: &[Line],
    block_attributes: &[String],
) {
    push_comments(out, leading_comments);
    out.push_str(keyword);
    out.push(' ');
    out.push_str(name);
    out.push_str(" {\n");
    // Leading and trailing blank lines inside a block are dropped by the formatter.
    let first = lines
        .iter()
        .position(|l| *l != Line::Blank)
        .unwrap_or(lines.len());
    let last = lines
        .iter()
        .rposition(|l| *l != Line::Blank)
        .map_or(first, |p| p + 1);
    let body = &lines[first..last.max(first)];
    write_rows(out, body);
    if !block_attributes.is_empty() {
        if !body.is_empty() {
            out.push('\n');
        }
        for attribute in block_attributes {
            out.push_str("  ");
            out.push_str(attribute);
            out.push('\n');
        }
    }
    out.push_str("}\n");
}

/// Writes a `datasource`/`generator` block with `key = value` lines aligned on `=`.
pub(crate) fn write_key_values(
    out: &mut String,
    leading_comments: &[String],
    keyword: &str,
    name: &str,
    lines: &[String],
) {
    push_comments(out, leading_comments);
    out.push_str(keyword);
    out.push(' ');
    out.push_str(name);
    out.push_str(" {\n");
    let mut start = 0;
    while start < lines.len() {
        let end = lines[start..]
            .iter()
            .position(String::is_empty)
            .map_or(lines.len(), |p| start + p);
        let group = &lines[start..end];
        let pairs: Vec<Option<(&str, &str)>> = group
            .iter()
            .map(|l| {
                if l.starts_with("//") {
                    None
                } else {
                    l.split_once('=').map(|(k, v)| (k.trim(), v.trim()))
                }
            })
            .collect();
        let width = pairs
            .iter()
            .flatten()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        for (line, pair) in group.iter().zip(&pairs) {
            match pair {
                Some((key, value)) => {
                    let _ = writeln!(out, "  {key:<width$} = {value}");
                }
                None => {
                    let _ = writeln!(out, "  {line}");
                }
            }
        }
        if end < lines.len() {
            out.push('\n');
        }
        start = end + 1;
    }
    out.push_str("}\n");
}

/// Writes any other block (`enum`, ...) with its lines indented.
pub(crate) fn write_plain(
    out: &mut String,
    leading_comments: &[String],
    keyword: &str,
    name: &str,
    lines: &[String],
) {
    push_comments(out, leading_comments);
    out.push_str(keyword);
    out.push(' ');
    out.push_str(name);
    out.push_str(" {\n");
    for line in lines {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, type_text: &str, attributes: &str) -> Line {
        Line::Row {
            name: name.to_owned(),
            type_text: type_text.to_owned(),
            attributes: attributes.to_owned(),
        }
    }

    #[test]
    fn columns_align_per_group_and_trailing_spaces_are_trimmed() {
        let mut out = String::new();
        let lines = vec![
            row("id", "String", "@id"),
            Line::Comment("/// doc".to_owned()),
            row("longName", "Int?", ""),
            Line::Blank,
            row("a", "Int", "@default(1)"),
        ];
        write_model(
            &mut out,
            &[],
            "model",
            "M",
            &lines,
            &["@@index([a])".to_owned()],
        );
        assert_eq!(
            out,
            "model M {\n  id       String @id\n  /// doc\n  longName Int?\n\n  a Int @default(1)\n\n  @@index([a])\n}\n"
        );
    }

    #[test]
    fn datasource_keys_align_on_the_equals_sign() {
        let mut out = String::new();
        let lines = vec![
            "provider = \"postgresql\"".to_owned(),
            "url = env(\"DATABASE_URL\")".to_owned(),
        ];
        write_key_values(&mut out, &[], "datasource", "db", &lines);
        assert_eq!(
            out,
            "datasource db {\n  provider = \"postgresql\"\n  url      = env(\"DATABASE_URL\")\n}\n"
        );
    }
}

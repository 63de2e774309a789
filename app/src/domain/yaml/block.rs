//! A fast reader for the plain block style that schema files are written in.
//!
//! serde-saphyr reads any YAML and reports every error precisely, but its general machinery
//! took most of `check`'s time. This reader covers the style real files use: block mappings
//! and lists, one-line plain and quoted scalars, one-line flow lists and comments. On anything
//! else (anchors, tags, block scalars, multi-line scalars, tabs, odd indentation, any error,
//! a file near a limit) it gives up, and the caller reads the text with serde-saphyr. Trees
//! and errors are therefore the same either way; tests hold the two readers to equal trees on
//! every input this one accepts.

use super::{Node, Value};
use crate::domain::config::Limits;
use crate::domain::diagnostic::Position;

/// The text leaves the subset this reader handles (or is invalid): read it the general way.
#[derive(Debug)]
struct GiveUp;

type Read<T> = Result<T, GiveUp>;

/// The tree of `text`, or `None` when the general reader must decide.
pub(super) fn read(text: &str, limits: &Limits) -> Option<Node> {
    if !plain_characters(text) {
        return None;
    }
    let lines = content_lines(text).ok()?;
    let first_indent = lines.first()?.indent;
    let mut reader = Reader {
        text,
        ascii: text.is_ascii(),
        lines,
        at: 0,
        nodes: 0,
        // Files near a limit go to the general reader, which reports the breach exactly.
        max_nodes: limits.max_nodes / 2,
        max_depth: limits.max_depth / 2,
    };
    let root = reader.node(first_indent, 1).ok()?;
    (reader.at == reader.lines.len()).then_some(root)
}

/// No tabs, no control characters, no byte-order mark or Unicode line separators: the
/// characters whose treatment differs between YAML readers are left to the general one.
fn plain_characters(text: &str) -> bool {
    let bytes_ok = text
        .bytes()
        .all(|b| b >= 0x20 && b != 0x7f || b == b'\n' || b == b'\r');
    bytes_ok
        && (text.is_ascii()
            || !text.chars().any(|c| {
                matches!(
                    c,
                    '\u{80}'
                        ..='\u{9F}'
                            | '\u{FEFF}'
                            | '\u{2028}'
                            | '\u{2029}'
                            | '\u{FFFE}'
                            | '\u{FFFF}'
                )
            }))
}

/// Where a flow collection goes after one of its items.
enum FlowStep {
    /// The next item starts at this byte.
    Next(usize),
    /// The collection closed; this is the byte after its bracket.
    Closed(usize),
}

/// One line that holds content (blank and comment-only lines are dropped).
#[derive(Debug, Clone, Copy)]
struct Line {
    /// 1-based line number.
    number: u64,
    /// Byte offset of the line's first character.
    start: usize,
    /// Byte offset where the content still to read begins.
    content: usize,
    /// Byte offset of the line's end, before `\r\n` or `\n`.
    end: usize,
    /// 0-based column of `content`: the indentation, or further right after a list dash.
    indent: usize,
    /// Character offset of the line's first character in the text.
    char_start: u64,
}

fn content_lines(text: &str) -> Read<Vec<Line>> {
    let ascii = text.is_ascii();
    // Schema files average about 25 bytes a line.
    let mut lines = Vec::with_capacity(text.len() / 24);
    let mut start = 0usize;
    let mut char_start = 0u64;
    for (index, raw) in text.split('\n').enumerate() {
        let end = start + raw.strip_suffix('\r').unwrap_or(raw).len();
        let body = &text[start..end];
        if body.contains('\r')
            || body.starts_with("---")
            || body.starts_with("...")
            || body.starts_with('%')
        {
            return Err(GiveUp);
        }
        let indent = body.len() - body.trim_start_matches(' ').len();
        let content = start + indent;
        if content < end && text.as_bytes()[content] != b'#' {
            lines.push(Line {
                number: index as u64 + 1,
                start,
                content,
                end,
                indent,
                char_start,
            });
        }
        char_start += if ascii {
            raw.len() as u64 + 1
        } else {
            raw.chars().count() as u64 + 1
        };
        start += raw.len() + 1;
    }
    Ok(lines)
}

struct Reader<'a> {
    text: &'a str,
    ascii: bool,
    lines: Vec<Line>,
    /// The line being read.
    at: usize,
    nodes: usize,
    max_nodes: usize,
    max_depth: usize,
}

impl Reader<'_> {
    /// The block node starting on the current line, whose content sits at column `indent`.
    fn node(&mut self, indent: usize, depth: usize) -> Read<Node> {
        if depth > self.max_depth {
            return Err(GiveUp);
        }
        let line = self.lines[self.at];
        debug_assert_eq!(line.indent, indent);
        let rest = &self.text[line.content..line.end];
        if is_entry(rest) {
            self.sequence(depth, false)
        } else if self.key(line.content, line.end).is_ok() {
            self.mapping(depth)
        } else {
            // A scalar on a line of its own, possibly continued on the next ones.
            Err(GiveUp)
        }
    }

    fn mapping(&mut self, depth: usize) -> Read<Node> {
        let first = self.lines[self.at];
        let indent = first.indent;
        let mut entries = Vec::new();
        loop {
            let line = self.lines[self.at];
            let (key, after) = self.key(line.content, line.end)?;
            let key = self.node_at(&line, line.content, key)?;
            let value = self.value_after(line, after, indent, depth, true)?;
            entries.push((key, value));
            match self.lines.get(self.at) {
                None => break,
                Some(next) if next.indent < indent => break,
                Some(next)
                    if next.indent == indent && !is_entry(&self.text[next.content..next.end]) => {}
                Some(_) => return Err(GiveUp),
            }
        }
        self.node_at(&first, first.content, Value::Map(entries))
    }

    /// A block list; `indentless` when it is a mapping value written at its key's column.
    fn sequence(&mut self, depth: usize, indentless: bool) -> Read<Node> {
        let first = self.lines[self.at];
        let indent = first.indent;
        let mut items = Vec::new();
        loop {
            let line = self.lines[self.at];
            let item = skip_spaces(self.text, line.content + 1, line.end);
            if item == line.end || self.text.as_bytes()[item] == b'#' {
                if indentless && items.is_empty() {
                    // The general reader places such a list after its dash: rare, left to it.
                    return Err(GiveUp);
                }
                // The item's node starts on the next line.
                self.at += 1;
                match self.lines.get(self.at) {
                    Some(next) if next.indent > indent => {
                        items.push(self.node(next.indent, depth + 1)?);
                    }
                    // An empty item.
                    _ => return Err(GiveUp),
                }
            } else if is_entry(&self.text[item..line.end]) {
                // A list inside a list on one line.
                return Err(GiveUp);
            } else if self.key(item, line.end).is_ok() {
                // A mapping that starts on the dash's line: its keys line up with this one.
                let column = item - line.start;
                self.lines[self.at].content = item;
                self.lines[self.at].indent = column;
                items.push(self.mapping(depth + 1)?);
            } else {
                items.push(self.value_after(line, item, indent, depth, false)?);
            }
            match self.lines.get(self.at) {
                None => break,
                Some(next) if next.indent < indent => break,
                Some(next) if next.indent == indent => {
                    if !is_entry(&self.text[next.content..next.end]) {
                        // The key of a mapping this list is the value of.
                        break;
                    }
                }
                Some(_) => return Err(GiveUp),
            }
        }
        if indentless {
            // A list at its key's indentation is placed where its first item starts, as the
            // general reader places it; any other at its first dash.
            self.nodes += 1;
            let first = items.first().ok_or(GiveUp)?;
            return Ok(Node {
                position: first.position,
                offset: first.offset,
                value: Value::Seq(items),
            });
        }
        self.node_at(&first, first.content, Value::Seq(items))
    }

    /// The value that follows a key's colon (or a list dash) at byte `after` of `line`; the
    /// key or dash sits at column `indent`. Leaves the reader on the line after the value.
    fn value_after(
        &mut self,
        line: Line,
        after: usize,
        indent: usize,
        depth: usize,
        in_mapping: bool,
    ) -> Read<Node> {
        let start = skip_spaces(self.text, after, line.end);
        if start == line.end || self.text.as_bytes()[start] == b'#' {
            self.at += 1;
            return match self.lines.get(self.at) {
                Some(next) if next.indent > indent => self.node(next.indent, depth + 1),
                Some(next)
                    if in_mapping
                        && next.indent == indent
                        && is_entry(&self.text[next.content..next.end]) =>
                {
                    self.sequence(depth + 1, true)
                }
                // An empty value: its position is the general reader's to decide.
                _ => Err(GiveUp),
            };
        }
        let node = self.inline(&line, start, depth + 1)?;
        self.at += 1;
        match self.lines.get(self.at) {
            // A deeper line continues a plain scalar, or is an error.
            Some(next) if next.indent > indent => Err(GiveUp),
            _ => Ok(node),
        }
    }

    /// A value written on the rest of the line from byte `start`: a scalar or a flow list.
    fn inline(&mut self, line: &Line, start: usize, depth: usize) -> Read<Node> {
        if depth > self.max_depth {
            return Err(GiveUp);
        }
        let bytes = self.text.as_bytes();
        let (node, end) = match bytes[start] {
            b'[' => self.flow_list(line, start, depth)?,
            b'{' => self.flow_map(line, start, depth)?,
            b'"' | b'\'' => {
                let (value, end) = quoted(self.text, start, line.end)?;
                (self.node_at(line, start, value)?, end)
            }
            _ => {
                let end = plain_end(self.text, start, line.end);
                let text = self.text[start..end].trim_end_matches(' ');
                if text.contains(": ") || text.ends_with(':') {
                    return Err(GiveUp);
                }
                return self.node_at(line, start, plain(text)?);
            }
        };
        // Only a comment may follow a quoted scalar or a flow list.
        let rest = skip_spaces(self.text, end, line.end);
        if rest == line.end || rest > end && bytes[rest] == b'#' {
            Ok(node)
        } else {
            Err(GiveUp)
        }
    }

    /// `[a, "b", 3]` on one line; returns the list and the byte after `]`.
    fn flow_list(&mut self, line: &Line, open: usize, depth: usize) -> Read<(Node, usize)> {
        let bytes = self.text.as_bytes();
        let mut items = Vec::new();
        let mut at = skip_spaces(self.text, open + 1, line.end);
        if at < line.end && bytes[at] == b']' {
            let node = self.node_at(line, open, Value::Seq(items))?;
            return Ok((node, at + 1));
        }
        loop {
            if at == line.end || depth + 1 > self.max_depth {
                return Err(GiveUp);
            }
            let (value, end) = self.flow_scalar(at, line.end)?;
            items.push(self.node_at(line, at, value)?);
            match self.flow_step(end, line.end, b']')? {
                FlowStep::Next(next) => at = next,
                FlowStep::Closed(after) => {
                    let node = self.node_at(line, open, Value::Seq(items))?;
                    return Ok((node, after));
                }
            }
        }
    }

    /// `{ name: id, type: String }` on one line; returns the mapping and the byte after `}`.
    fn flow_map(&mut self, line: &Line, open: usize, depth: usize) -> Read<(Node, usize)> {
        let bytes = self.text.as_bytes();
        let mut entries = Vec::new();
        let mut at = skip_spaces(self.text, open + 1, line.end);
        if at < line.end && bytes[at] == b'}' {
            let node = self.node_at(line, open, Value::Map(entries))?;
            return Ok((node, at + 1));
        }
        loop {
            if at == line.end || depth + 1 > self.max_depth {
                return Err(GiveUp);
            }
            let (key, key_end) = match bytes[at] {
                b'"' | b'\'' => quoted(self.text, at, line.end)?,
                _ => {
                    let colon = self.text[at..line.end].find(':').ok_or(GiveUp)? + at;
                    let text = &self.text[at..colon];
                    if text.contains([',', '[', ']', '{', '}', '#', ' ']) {
                        return Err(GiveUp);
                    }
                    (plain(text)?, colon)
                }
            };
            // `key: value`, with a space after the colon and a value before the next comma.
            if bytes.get(key_end) != Some(&b':') || bytes.get(key_end + 1) != Some(&b' ') {
                return Err(GiveUp);
            }
            let key = self.node_at(line, at, key)?;
            let value_at = skip_spaces(self.text, key_end + 1, line.end);
            if value_at == line.end {
                return Err(GiveUp);
            }
            let (value, end) = if bytes[value_at] == b'[' {
                self.flow_list(line, value_at, depth + 1)?
            } else {
                let (value, end) = self.flow_scalar(value_at, line.end)?;
                (self.node_at(line, value_at, value)?, end)
            };
            entries.push((key, value));
            match self.flow_step(end, line.end, b'}')? {
                FlowStep::Next(next) => at = next,
                FlowStep::Closed(after) => {
                    let node = self.node_at(line, open, Value::Map(entries))?;
                    return Ok((node, after));
                }
            }
        }
    }

    /// What follows an item of a flow collection closed by `close`, from byte `at`: the next
    /// item after a comma, or the end of the collection. A trailing comma gives up.
    fn flow_step(&self, at: usize, end: usize, close: u8) -> Read<FlowStep> {
        let bytes = self.text.as_bytes();
        let at = skip_spaces(self.text, at, end);
        if at == end {
            return Err(GiveUp);
        }
        if bytes[at] == close {
            return Ok(FlowStep::Closed(at + 1));
        }
        if bytes[at] != b',' {
            return Err(GiveUp);
        }
        let next = skip_spaces(self.text, at + 1, end);
        if next < end && bytes[next] == close {
            return Err(GiveUp);
        }
        Ok(FlowStep::Next(next))
    }

    /// A scalar inside a flow collection at byte `at`: its value and the byte after it.
    /// Nested collections and empty values go the general way.
    fn flow_scalar(&self, at: usize, end: usize) -> Read<(Value, usize)> {
        match self.text.as_bytes()[at] {
            b'"' | b'\'' => quoted(self.text, at, end),
            b'[' | b']' | b'{' | b'}' | b',' => Err(GiveUp),
            _ => {
                let stop = self.text[at..end]
                    .find([',', ']', '[', '{', '}'])
                    .map_or(end, |i| at + i);
                let text = self.text[at..stop].trim_end_matches(' ');
                if text.contains(": ") || text.ends_with(':') || text.contains(" #") {
                    return Err(GiveUp);
                }
                Ok((plain(text)?, at + text.len()))
            }
        }
    }

    /// The key that starts at byte `start`: its value and the byte just after its colon.
    fn key(&self, start: usize, end: usize) -> Read<(Value, usize)> {
        let bytes = self.text.as_bytes();
        let colon_ends_key = |colon: usize| {
            bytes.get(colon) == Some(&b':') && (colon + 1 == end || bytes[colon + 1] == b' ')
        };
        if matches!(bytes[start], b'"' | b'\'') {
            let (value, after) = quoted(self.text, start, end)?;
            return if colon_ends_key(after) {
                Ok((value, after + 1))
            } else {
                Err(GiveUp)
            };
        }
        let line = &self.text[start..end];
        let colon = line
            .match_indices(':')
            .map(|(i, _)| start + i)
            .find(|&i| colon_ends_key(i))
            .ok_or(GiveUp)?;
        let text = self.text[start..colon].trim_end_matches(' ');
        if text.is_empty() || text.contains(" #") || text.contains(['[', ']', '{', '}', ',']) {
            return Err(GiveUp);
        }
        Ok((plain(text)?, colon + 1))
    }

    /// A node that starts at byte `at` of `line`, counted against the node budget.
    fn node_at(&mut self, line: &Line, at: usize, value: Value) -> Read<Node> {
        self.nodes += 1;
        if self.nodes > self.max_nodes {
            return Err(GiveUp);
        }
        let column = if self.ascii {
            (at - line.start) as u64
        } else {
            self.text[line.start..at].chars().count() as u64
        };
        Ok(Node {
            position: Position::new(line.number, column + 1),
            offset: line.char_start + column,
            value,
        })
    }
}

/// `- item` or a lone `-`.
fn is_entry(rest: &str) -> bool {
    rest == "-" || rest.starts_with("- ")
}

fn skip_spaces(text: &str, from: usize, end: usize) -> usize {
    from + text[from..end].len() - text[from..end].trim_start_matches(' ').len()
}

/// Where a plain scalar starting at `start` ends: at a comment (` #`) or the line's end.
fn plain_end(text: &str, start: usize, end: usize) -> usize {
    text[start..end].find(" #").map_or(end, |i| start + i)
}

/// A one-line quoted scalar at `start`: its value and the byte after the closing quote.
/// Escapes in double quotes are left to the general reader.
fn quoted(text: &str, start: usize, end: usize) -> Read<(Value, usize)> {
    let quote = text.as_bytes()[start];
    let body = &text[start + 1..end];
    let mut value = String::new();
    if quote == b'"' {
        let mut rest = body;
        loop {
            let stop = rest.find(['"', '\\']).ok_or(GiveUp)?;
            value.push_str(&rest[..stop]);
            if rest.as_bytes()[stop] == b'"' {
                let consumed = body.len() - rest.len() + stop;
                return Ok((Value::Str(value), start + 1 + consumed + 1));
            }
            // The common escapes; the rest (`\x41`, `\u00e9`, a line continuation) go the
            // general way.
            value.push(match rest.as_bytes().get(stop + 1) {
                Some(b'"') => '"',
                Some(b'\\') => '\\',
                Some(b'/') => '/',
                Some(b'n') => '\n',
                Some(b't') => '\t',
                Some(b'r') => '\r',
                _ => return Err(GiveUp),
            });
            rest = &rest[stop + 2..];
        }
    }
    let mut rest = body;
    loop {
        let close = rest.find('\'').ok_or(GiveUp)?;
        value.push_str(&rest[..close]);
        if rest[close + 1..].starts_with('\'') {
            value.push('\'');
            rest = &rest[close + 2..];
        } else {
            let consumed = body.len() - rest.len() + close;
            return Ok((Value::Str(value), start + 1 + consumed + 1));
        }
    }
}

/// Words that some YAML readers type as booleans, nulls or numbers in one case or another.
const AMBIGUOUS_WORDS: [&str; 12] = [
    "true", "false", "null", "yes", "no", "on", "off", "y", "n", "nan", "inf", "infinity",
];

/// The typed value of a plain scalar, when its type is beyond doubt.
fn plain(text: &str) -> Read<Value> {
    match text {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        "null" | "~" => return Ok(Value::Null),
        _ => {}
    }
    let bytes = text.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err(GiveUp);
    };
    if first.is_ascii_digit() || first == b'-' && bytes.get(1).is_some_and(u8::is_ascii_digit) {
        return number(text);
    }
    let word = text.starts_with(|c: char| c.is_alphabetic() || c == '_');
    if !word || AMBIGUOUS_WORDS.iter().any(|w| w.eq_ignore_ascii_case(text)) {
        return Err(GiveUp);
    }
    Ok(Value::Str(text.to_owned()))
}

/// A decimal integer (`42`, `-7`) or decimal fraction (`0.5`); other forms go the general way.
fn number(text: &str) -> Read<Value> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || whole.len() > 1 && whole.starts_with('0') || whole.len() > 18 {
        return Err(GiveUp);
    }
    match fraction {
        None => text.parse().map(Value::Int).map_err(|_| GiveUp),
        Some(fraction) if all_digits(fraction) && fraction.len() <= 15 => {
            text.parse().map(Value::Float).map_err(|_| GiveUp)
        }
        Some(_) => Err(GiveUp),
    }
}

#[cfg(test)]
mod tests;

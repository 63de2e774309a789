//! A positioned YAML tree, read with serde-saphyr under strict budgets.
//!
//! Both dialects are normalized by hand from this tree (see `dialect`), which lets every
//! unknown key and every bad value be reported with its exact line and column.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::config::Limits;
use super::diagnostic::{Position, SchemaError};

mod block;

/// A YAML node with the position it was written at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) position: Position,
    /// Character offset of the node in the source, to find quotes around scalars.
    pub(crate) offset: u64,
    pub(crate) value: Value,
}

/// The value of a [`Node`]. Scalars are typed by YAML 1.2 core schema rules.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// An integer literal too large for i64; kept as text so it can be reported.
    BigInt(String),
    /// Binary (`!!binary`) and other values the schema never uses.
    Unsupported,
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// How the value reads in an error message ("a string", "a list").
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Int(_) | Self::BigInt(_) => "an integer",
            Self::Float(_) => "a number",
            Self::Str(_) => "a string",
            Self::Unsupported => "an unsupported value",
            Self::Seq(_) => "a list",
            Self::Map(_) => "a mapping",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Float(x) => write!(f, "{x}"),
            Self::Str(s) => write!(f, "{s:?}"),
            Self::BigInt(s) => f.write_str(s),
            Self::Unsupported => f.write_str("<unsupported>"),
            Self::Seq(_) => f.write_str("[...]"),
            Self::Map(_) => f.write_str("{...}"),
        }
    }
}

/// Reads `text` into a positioned tree, enforcing `limits`.
///
/// # Errors
/// Returns the position and [`SchemaError`] of the first syntax error or exceeded budget.
// Called once per file and the error is moved once; boxing would buy nothing.
#[allow(clippy::result_large_err)]
pub(crate) fn parse(text: &str, limits: &Limits) -> Result<Node, (Position, SchemaError)> {
    let size = text.len() as u64;
    if size > limits.max_file_bytes {
        return Err((
            position_of_byte(text, limits.max_file_bytes),
            SchemaError::FileTooLarge {
                size,
                limit: limits.max_file_bytes,
            },
        ));
    }
    if let Some(encoding) = foreign_encoding(text) {
        return Err((
            Position::new(1, 1),
            SchemaError::UnsupportedEncoding { encoding },
        ));
    }
    if let Some(root) = block::read(text, limits) {
        return Ok(root);
    }
    read_any(text, limits)
}

/// Reads any YAML with serde-saphyr: the path for whatever [`block::read`] leaves alone, and
/// the one that words every error.
#[allow(clippy::result_large_err)]
fn read_any(text: &str, limits: &Limits) -> Result<Node, (Position, SchemaError)> {
    let options = serde_saphyr::options! {
        // Fields named `y`, `n`, `on` or `off` must stay strings: YAML 1.2 booleans only.
        strict_booleans: true,
        with_snippet: false,
        // Duplicates reach our visitor, which reports them with both positions.
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        budget: serde_saphyr::budget! {
            max_depth: limits.max_depth,
            flow_nesting_limit: limits.max_depth,
            max_nodes: limits.max_nodes,
            max_documents: 1,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: limits.max_alias_replays,
            max_replay_stack_depth: limits.max_depth,
        },
    };
    let root = match serde_saphyr::from_str_with_options::<Spanned<RawNode>>(text, options) {
        Ok(root) => root,
        Err(error) => return Err(translate_error(&error, text, limits)),
    };
    // serde-saphyr hands tagged values over as if untagged; a tag is never meant here.
    if text.contains('!') {
        if let Some(found) = first_tag(text) {
            return Err(found);
        }
    }
    Ok(root.into())
}

/// The 1-based line and column (in characters) of byte `offset` of `text` (or of its end).
fn position_of_byte(text: &str, offset: u64) -> Position {
    let mut end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() as u64 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() as u64 + 1;
    Position::new(line, column)
}

/// The encoding of a UTF-16 or UTF-32 file, recognized by the zero bytes that ASCII text has
/// in those encodings (after a byte-order mark, which reads as two U+FFFD once decoded as
/// UTF-8 with replacement, or as U+FEFF when decoded properly).
fn foreign_encoding(text: &str) -> Option<&'static str> {
    if !text.contains('\0') {
        return None;
    }
    if let Some(rest) = text.strip_prefix("\0\0\u{FFFD}\u{FFFD}") {
        if rest.is_empty() || rest.starts_with("\0\0\0") {
            return Some("UTF-32BE");
        }
    }
    let rest = text
        .strip_prefix("\u{FFFD}\u{FFFD}")
        .or_else(|| text.strip_prefix('\u{FEFF}'))
        .unwrap_or(text);
    let bytes = rest.as_bytes();
    let at = |i: usize| bytes.get(i).copied();
    match (at(0), at(1), at(2), at(3)) {
        (Some(0), Some(0), Some(0), Some(b)) if b != 0 => Some("UTF-32BE"),
        (Some(0), Some(0), ..) if text.starts_with('\u{FFFD}') => Some("UTF-32LE"),
        (Some(a), Some(0), Some(0), Some(0)) if a != 0 => Some("UTF-32LE"),
        (Some(a), Some(0), ..) if a != 0 => Some("UTF-16LE"),
        (Some(0), Some(b), ..) if b != 0 => Some("UTF-16BE"),
        _ => None,
    }
}

/// The first explicit tag (`!!binary`, `!!python/object`, `!custom`) with its position.
fn first_tag(text: &str) -> Option<(Position, SchemaError)> {
    use serde_saphyr::granit_parser::{Event, Parser};
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else { return None };
        let tag = match &event {
            Event::Scalar(_, _, _, tag)
            | Event::SequenceStart(_, _, tag)
            | Event::MappingStart(_, _, tag) => tag.as_ref(),
            _ => None,
        };
        if let Some(tag) = tag {
            let marker = span.tag_start.unwrap_or(span.start);
            let position = Position::new(marker.line() as u64, marker.col() as u64 + 1);
            return Some((
                position,
                SchemaError::UnsupportedTag {
                    tag: tag.original(),
                },
            ));
        }
    }
    None
}

/// Where the parser's budget was exceeded, found by replaying the events: the node that
/// crossed the node or depth limit, the second document, or the alias whose expansion crossed
/// the replay limit.
fn budget_position(text: &str, limits: &Limits) -> Option<Position> {
    use serde_saphyr::granit_parser::{Event, Parser};
    let mut nodes = 0usize;
    let mut depth = 0usize;
    let mut documents = 0usize;
    let mut expanded = 0usize;
    let mut replayed = 0usize;
    let mut sizes: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    let mut open: Vec<(usize, usize)> = Vec::new();
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else { return None };
        let here = Position::new(span.start.line() as u64, span.start.col() as u64 + 1);
        match &event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Some(here);
                }
            }
            Event::Scalar(_, _, anchor, _) => {
                nodes += 1;
                expanded += 1;
                if *anchor != 0 {
                    sizes.insert(*anchor, 1);
                }
            }
            Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) => {
                nodes += 1;
                expanded += 1;
                depth += 1;
                open.push((*anchor, expanded));
                if depth > limits.max_depth {
                    return Some(here);
                }
            }
            Event::SequenceEnd | Event::MappingEnd => {
                depth = depth.saturating_sub(1);
                if let Some((anchor, start)) = open.pop() {
                    if anchor != 0 {
                        sizes.insert(anchor, expanded - start + 1);
                    }
                }
            }
            Event::Alias(id) => {
                let size = sizes.get(id).copied().unwrap_or(1);
                expanded = expanded.saturating_add(size);
                replayed = replayed.saturating_add(size);
                if replayed > limits.max_alias_replays {
                    return Some(here);
                }
            }
            _ => {}
        }
        if nodes > limits.max_nodes {
            return Some(here);
        }
    }
    None
}

fn translate_error(
    error: &serde_saphyr::Error,
    text: &str,
    limits: &Limits,
) -> (Position, SchemaError) {
    let located = error
        .location()
        .filter(|l| l.line() > 0)
        .map(|l| Position::new(l.line(), l.column()));
    let position = || {
        located
            .or_else(|| budget_position(text, limits))
            .unwrap_or(Position::new(1, 1))
    };
    if let serde_saphyr::Error::Budget { breach, .. } = error {
        use serde_saphyr::budget::BudgetBreach;
        let schema_error = match breach {
            BudgetBreach::Depth { .. } => SchemaError::NestingTooDeep {
                limit: limits.max_depth,
            },
            BudgetBreach::Nodes { .. } => SchemaError::TooManyNodes {
                limit: limits.max_nodes,
            },
            BudgetBreach::Documents { .. } => SchemaError::BudgetExceeded {
                detail: "more than one yaml document".to_owned(),
            },
            BudgetBreach::Aliases { .. } | BudgetBreach::Anchors { .. } => {
                SchemaError::AliasExpansionTooLarge {
                    limit: limits.max_alias_replays,
                }
            }
            _ => SchemaError::BudgetExceeded {
                detail: "the document is too large".to_owned(),
            },
        };
        return (position(), schema_error);
    }
    let text = error.to_string();
    // The parser appends " at line N, column M ..."; the diagnostic carries the position itself.
    let detail = text
        .split(" at line ")
        .next()
        .unwrap_or(&text)
        .trim()
        .to_owned();
    let lower = detail.to_lowercase();
    let schema_error =
        if lower.contains("alias replay") || lower.contains("alias") && lower.contains("limit") {
            SchemaError::AliasExpansionTooLarge {
                limit: limits.max_alias_replays,
            }
        } else if lower.contains("depth")
            || lower.contains("recursion limit")
            || lower.contains("nesting")
        {
            SchemaError::NestingTooDeep {
                limit: limits.max_depth,
            }
        } else if lower.contains("budget") {
            SchemaError::BudgetExceeded {
                detail: "the document is too large".to_owned(),
            }
        } else {
            SchemaError::InvalidYaml {
                detail: lowercase_first(&detail),
            }
        };
    (position(), schema_error)
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The serde-facing twin of [`Node`]: children carry serde-saphyr spans.
#[derive(Debug)]
enum RawNode {
    Scalar(Value),
    Seq(Vec<Spanned<RawNode>>),
    Map(Vec<(Spanned<RawNode>, Spanned<RawNode>)>),
}

impl From<Spanned<RawNode>> for Node {
    fn from(spanned: Spanned<RawNode>) -> Self {
        let position = Position::new(spanned.referenced.line(), spanned.referenced.column());
        let offset = spanned.referenced.span().offset();
        let value = match spanned.value {
            RawNode::Scalar(value) => value,
            RawNode::Seq(items) => Value::Seq(items.into_iter().map(Node::from).collect()),
            RawNode::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (Node::from(k), Node::from(v)))
                    .collect(),
            ),
        };
        Self {
            position,
            offset,
            value,
        }
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawNode;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any yaml value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawNode, D::Error> {
        RawNode::deserialize(deserializer)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(Value::Int(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(
            i64::try_from(v).map_or_else(|_| Value::BigInt(v.to_string()), Value::Int),
        ))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(
            i64::try_from(v).map_or_else(|_| Value::BigInt(v.to_string()), Value::Int),
        ))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(
            i64::try_from(v).map_or_else(|_| Value::BigInt(v.to_string()), Value::Int),
        ))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(Value::Float(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(Value::Str(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(Value::Str(v)))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<RawNode, E> {
        Ok(RawNode::Scalar(Value::Unsupported))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawNode, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<RawNode>>()? {
            items.push(item);
        }
        Ok(RawNode::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawNode, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<Spanned<RawNode>, Spanned<RawNode>>()? {
            entries.push(entry);
        }
        Ok(RawNode::Map(entries))
    }
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

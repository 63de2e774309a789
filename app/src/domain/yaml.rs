//! A positioned YAML tree, read with serde-saphyr under strict budgets.
//!
//! Both dialects are normalized by hand from this tree (see `dialect`), which lets every
//! unknown key and every bad value be reported with its exact line and column.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::config::Limits;
use super::diagnostic::{Position, SchemaError};

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
            Position::default(),
            SchemaError::FileTooLarge {
                size,
                limit: limits.max_file_bytes,
            },
        ));
    }
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
    match serde_saphyr::from_str_with_options::<Spanned<RawNode>>(text, options) {
        Ok(root) => Ok(root.into()),
        Err(error) => Err(translate_error(&error, limits)),
    }
}

fn translate_error(error: &serde_saphyr::Error, limits: &Limits) -> (Position, SchemaError) {
    let position = error
        .location()
        .map_or_else(Position::default, |l| Position::new(l.line(), l.column()));
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
            SchemaError::BudgetExceeded { detail }
        } else {
            SchemaError::InvalidYaml {
                detail: lowercase_first(&detail),
            }
        };
    (position, schema_error)
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

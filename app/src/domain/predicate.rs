//! `acl.rowLevel` predicates: a small tokenizer and recursive-descent parser.
//!
//! Grammar (keywords case-insensitive; `&&`, `||`, `!` and `==` are accepted spellings):
//! ```text
//! predicate  := or
//! or         := and ("OR" and)*
//! and        := unary ("AND" unary)*
//! unary      := "NOT" unary | "(" or ")" | comparison
//! comparison := operand ( op operand | "IS" ["NOT"] "NULL" | ["NOT"] "IN" "(" operand ("," operand)* ")" )
//! op         := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//! operand    := path | "$" ident ("." ident)* | string | number | "true" | "false" | "null"
//! path       := ident ("." ident)*      -- a field, or relations followed by a field
//! ```
//! The canonical form (`Display`) is what the checksum sees, so whitespace, keyword case and
//! redundant parentheses never change it.

use std::fmt;

use serde::Serialize;

/// Deepest accepted parenthesis nesting; predicates are short, this only stops abuse.
const MAX_NESTING: usize = 32;

/// A reference to a field, possibly through relations: `calculator.userId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathRef {
    /// The dotted segments.
    pub segments: Vec<String>,
    /// Character offset of the path in the predicate source.
    #[serde(skip)]
    pub offset: usize,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "camelCase")]
pub enum Operand {
    /// A field of the entity or of a related entity.
    Path(PathRef),
    /// A context variable such as `$user.id` (segments without `$`).
    Variable(Vec<String>),
    /// A string literal.
    Str(String),
    /// A number literal, as written.
    Number(String),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CompareOp {
    fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }
}

/// A parsed row-level predicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Predicate {
    /// Any of the parts.
    Or {
        /// The alternatives.
        parts: Vec<Predicate>,
    },
    /// All of the parts.
    And {
        /// The conjuncts.
        parts: Vec<Predicate>,
    },
    /// Negation.
    Not {
        /// The negated predicate.
        inner: Box<Predicate>,
    },
    /// `left op right`.
    Compare {
        /// Left operand.
        left: Operand,
        /// Operator.
        op: CompareOp,
        /// Right operand.
        right: Operand,
    },
    /// `operand IS [NOT] NULL`.
    IsNull {
        /// Tested operand.
        operand: Operand,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `operand [NOT] IN (values)`.
    In {
        /// Tested operand.
        operand: Operand,
        /// Candidate values.
        values: Vec<Operand>,
        /// `NOT IN`.
        negated: bool,
    },
}

/// Why a predicate does not parse, and at which character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail} (at character {offset})")]
pub struct PredicateError {
    /// Character offset in the source.
    pub offset: usize,
    /// What is wrong, lowercase.
    pub detail: String,
}

impl Predicate {
    /// Parses a predicate.
    ///
    /// # Errors
    /// Returns a [`PredicateError`] naming the first unexpected token and its offset.
    pub fn parse(source: &str) -> Result<Self, PredicateError> {
        let tokens = tokenize(source)?;
        let mut parser = Parser {
            tokens,
            position: 0,
            depth: 0,
            end: source.chars().count(),
        };
        let predicate = parser.or()?;
        match parser.peek() {
            None => Ok(predicate),
            Some(token) => Err(PredicateError {
                offset: token.offset,
                detail: format!(
                    "unexpected {} after the end of the predicate",
                    token.kind.describe()
                ),
            }),
        }
    }

    /// Every field path the predicate mentions, in source order.
    #[must_use]
    pub fn paths(&self) -> Vec<&PathRef> {
        let mut out = Vec::new();
        self.collect_operands(&mut |operand| {
            if let Operand::Path(path) = operand {
                out.push(path);
            }
        });
        out
    }

    /// Every context variable the predicate mentions (segments without `$`), in source order.
    #[must_use]
    pub fn variables(&self) -> Vec<&[String]> {
        let mut out = Vec::new();
        self.collect_operands(&mut |operand| {
            if let Operand::Variable(segments) = operand {
                out.push(segments.as_slice());
            }
        });
        out
    }

    fn collect_operands<'a>(&'a self, visit: &mut impl FnMut(&'a Operand)) {
        match self {
            Self::Or { parts } | Self::And { parts } => {
                for part in parts {
                    part.collect_operands(visit);
                }
            }
            Self::Not { inner } => inner.collect_operands(visit),
            Self::Compare { left, right, .. } => {
                visit(left);
                visit(right);
            }
            Self::IsNull { operand, .. } => visit(operand),
            Self::In {
                operand, values, ..
            } => {
                visit(operand);
                for value in values {
                    visit(value);
                }
            }
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(path) => f.write_str(&path.segments.join(".")),
            Self::Variable(segments) => write!(f, "${}", segments.join(".")),
            Self::Str(s) => {
                f.write_str("'")?;
                for c in s.chars() {
                    match c {
                        '\'' => f.write_str("\\'")?,
                        '\\' => f.write_str("\\\\")?,
                        other => write!(f, "{other}")?,
                    }
                }
                f.write_str("'")
            }
            Self::Number(n) => f.write_str(n),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Null => f.write_str("null"),
        }
    }
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Or { parts } => write_joined(f, parts, " OR ", |p| matches!(p, Self::Or { .. })),
            Self::And { parts } => write_joined(f, parts, " AND ", |p| {
                matches!(p, Self::Or { .. } | Self::And { .. })
            }),
            Self::Not { inner } => {
                if matches!(**inner, Self::Or { .. } | Self::And { .. }) {
                    write!(f, "NOT ({inner})")
                } else {
                    write!(f, "NOT {inner}")
                }
            }
            Self::Compare { left, op, right } => write!(f, "{left} {} {right}", op.as_str()),
            Self::IsNull { operand, negated } => {
                write!(f, "{operand} IS {}NULL", if *negated { "NOT " } else { "" })
            }
            Self::In {
                operand,
                values,
                negated,
            } => {
                write!(f, "{operand} {}IN (", if *negated { "NOT " } else { "" })?;
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{value}")?;
                }
                f.write_str(")")
            }
        }
    }
}

fn write_joined(
    f: &mut fmt::Formatter<'_>,
    parts: &[Predicate],
    separator: &str,
    needs_parens: impl Fn(&Predicate) -> bool,
) -> fmt::Result {
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        if needs_parens(part) {
            write!(f, "({part})")?;
        } else {
            write!(f, "{part}")?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    Ident(String),
    Variable(String),
    Str(String),
    Number(String),
    Op(CompareOp),
    Dot,
    Comma,
    Open,
    Close,
    And,
    Or,
    Not,
    Is,
    In,
    Null,
    True,
    False,
}

impl TokenKind {
    fn describe(&self) -> String {
        match self {
            Self::Ident(name) => format!("name \"{name}\""),
            Self::Variable(name) => format!("variable \"${name}\""),
            Self::Str(_) => "string".to_owned(),
            Self::Number(n) => format!("number {n}"),
            Self::Op(op) => format!("\"{}\"", op.as_str()),
            Self::Dot => "\".\"".to_owned(),
            Self::Comma => "\",\"".to_owned(),
            Self::Open => "\"(\"".to_owned(),
            Self::Close => "\")\"".to_owned(),
            Self::And => "AND".to_owned(),
            Self::Or => "OR".to_owned(),
            Self::Not => "NOT".to_owned(),
            Self::Is => "IS".to_owned(),
            Self::In => "IN".to_owned(),
            Self::Null => "null".to_owned(),
            Self::True => "true".to_owned(),
            Self::False => "false".to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: TokenKind,
    offset: usize,
}

fn tokenize(source: &str) -> Result<Vec<Token>, PredicateError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let simple = |kind: TokenKind, width: usize| (kind, width);
        let (kind, width) = match c {
            _ if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => simple(TokenKind::Open, 1),
            ')' => simple(TokenKind::Close, 1),
            ',' => simple(TokenKind::Comma, 1),
            '.' if !chars.get(i + 1).is_some_and(char::is_ascii_digit) => simple(TokenKind::Dot, 1),
            '=' if chars.get(i + 1) == Some(&'=') => simple(TokenKind::Op(CompareOp::Eq), 2),
            '=' => simple(TokenKind::Op(CompareOp::Eq), 1),
            '!' if chars.get(i + 1) == Some(&'=') => simple(TokenKind::Op(CompareOp::Ne), 2),
            '!' => simple(TokenKind::Not, 1),
            '<' if chars.get(i + 1) == Some(&'>') => simple(TokenKind::Op(CompareOp::Ne), 2),
            '<' if chars.get(i + 1) == Some(&'=') => simple(TokenKind::Op(CompareOp::Le), 2),
            '<' => simple(TokenKind::Op(CompareOp::Lt), 1),
            '>' if chars.get(i + 1) == Some(&'=') => simple(TokenKind::Op(CompareOp::Ge), 2),
            '>' => simple(TokenKind::Op(CompareOp::Gt), 1),
            '&' if chars.get(i + 1) == Some(&'&') => simple(TokenKind::And, 2),
            '|' if chars.get(i + 1) == Some(&'|') => simple(TokenKind::Or, 2),
            '\'' | '"' => {
                let quote = c;
                let mut value = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => {
                            return Err(PredicateError {
                                offset: start,
                                detail: "unterminated string".to_owned(),
                            })
                        }
                        Some('\\') => {
                            if let Some(next) = chars.get(j + 1) {
                                value.push(*next);
                            }
                            j += 2;
                        }
                        Some(ch) if *ch == quote => break,
                        Some(ch) => {
                            value.push(*ch);
                            j += 1;
                        }
                    }
                }
                (TokenKind::Str(value), j + 1 - i)
            }
            '$' => {
                let name: String = chars[i + 1..]
                    .iter()
                    .take_while(|ch| ch.is_alphanumeric() || **ch == '_')
                    .collect();
                if name.is_empty() {
                    return Err(PredicateError {
                        offset: start,
                        detail: "\"$\" without a variable name".to_owned(),
                    });
                }
                let width = 1 + name.chars().count();
                (TokenKind::Variable(name), width)
            }
            _ if c.is_ascii_digit() || c == '-' || c == '.' => {
                let text: String = chars[i..]
                    .iter()
                    .enumerate()
                    .take_while(|(k, ch)| {
                        ch.is_ascii_digit() || **ch == '.' || (*k == 0 && **ch == '-')
                    })
                    .map(|(_, ch)| *ch)
                    .collect();
                if text == "-" || text.parse::<f64>().is_err() {
                    return Err(PredicateError {
                        offset: start,
                        detail: format!("invalid number \"{text}\""),
                    });
                }
                let width = text.chars().count();
                (TokenKind::Number(text), width)
            }
            _ if c.is_alphabetic() || c == '_' => {
                let word: String = chars[i..]
                    .iter()
                    .take_while(|ch| ch.is_alphanumeric() || **ch == '_')
                    .collect();
                let width = word.chars().count();
                let kind = match word.to_ascii_uppercase().as_str() {
                    "AND" => TokenKind::And,
                    "OR" => TokenKind::Or,
                    "NOT" => TokenKind::Not,
                    "IS" => TokenKind::Is,
                    "IN" => TokenKind::In,
                    "NULL" => TokenKind::Null,
                    "TRUE" => TokenKind::True,
                    "FALSE" => TokenKind::False,
                    _ => TokenKind::Ident(word),
                };
                (kind, width)
            }
            other => {
                return Err(PredicateError {
                    offset: start,
                    detail: format!("unexpected character \"{other}\""),
                })
            }
        };
        tokens.push(Token {
            kind,
            offset: start,
        });
        i += width;
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
    depth: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        token
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        if self.peek().is_some_and(|t| &t.kind == kind) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn error_here(&self, expected: &str) -> PredicateError {
        match self.peek() {
            Some(token) => PredicateError {
                offset: token.offset,
                detail: format!("expected {expected}, found {}", token.kind.describe()),
            },
            None => PredicateError {
                offset: self.end,
                detail: format!("expected {expected}, found the end"),
            },
        }
    }

    fn or(&mut self) -> Result<Predicate, PredicateError> {
        let mut parts = vec![self.and()?];
        while self.eat(&TokenKind::Or) {
            parts.push(self.and()?);
        }
        Ok(flatten(parts, true))
    }

    fn and(&mut self) -> Result<Predicate, PredicateError> {
        let mut parts = vec![self.unary()?];
        while self.eat(&TokenKind::And) {
            parts.push(self.unary()?);
        }
        Ok(flatten(parts, false))
    }

    fn unary(&mut self) -> Result<Predicate, PredicateError> {
        if self.eat(&TokenKind::Not) {
            self.descend()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Predicate::Not {
                inner: Box::new(inner),
            });
        }
        if self.eat(&TokenKind::Open) {
            self.descend()?;
            let inner = self.or()?;
            self.depth -= 1;
            if !self.eat(&TokenKind::Close) {
                return Err(self.error_here("\")\""));
            }
            return Ok(inner);
        }
        self.comparison()
    }

    fn descend(&mut self) -> Result<(), PredicateError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            let offset = self.peek().map_or(self.end, |t| t.offset);
            return Err(PredicateError {
                offset,
                detail: format!("nested deeper than {MAX_NESTING} levels"),
            });
        }
        Ok(())
    }

    fn comparison(&mut self) -> Result<Predicate, PredicateError> {
        let left = self.operand()?;
        if self.eat(&TokenKind::Is) {
            let negated = self.eat(&TokenKind::Not);
            if !self.eat(&TokenKind::Null) {
                return Err(self.error_here("NULL"));
            }
            return Ok(Predicate::IsNull {
                operand: left,
                negated,
            });
        }
        let negated_in = self.peek().is_some_and(|t| t.kind == TokenKind::Not)
            && self
                .tokens
                .get(self.position + 1)
                .is_some_and(|t| t.kind == TokenKind::In);
        if negated_in {
            self.position += 1;
        }
        if self.eat(&TokenKind::In) {
            if !self.eat(&TokenKind::Open) {
                return Err(self.error_here("\"(\""));
            }
            let mut values = vec![self.operand()?];
            while self.eat(&TokenKind::Comma) {
                values.push(self.operand()?);
            }
            if !self.eat(&TokenKind::Close) {
                return Err(self.error_here("\")\""));
            }
            return Ok(Predicate::In {
                operand: left,
                values,
                negated: negated_in,
            });
        }
        match self.peek().map(|t| t.kind.clone()) {
            Some(TokenKind::Op(op)) => {
                self.position += 1;
                let right = self.operand()?;
                Ok(Predicate::Compare { left, op, right })
            }
            _ => Err(self.error_here("a comparison operator")),
        }
    }

    fn operand(&mut self) -> Result<Operand, PredicateError> {
        let Some(token) = self.next() else {
            return Err(PredicateError {
                offset: self.end,
                detail: "expected a value, found the end".to_owned(),
            });
        };
        let operand = match token.kind {
            TokenKind::Ident(first) => Operand::Path(PathRef {
                segments: self.dotted(first)?,
                offset: token.offset,
            }),
            TokenKind::Variable(first) => Operand::Variable(self.dotted(first)?),
            TokenKind::Str(s) => Operand::Str(s),
            TokenKind::Number(n) => Operand::Number(n),
            TokenKind::True => Operand::Bool(true),
            TokenKind::False => Operand::Bool(false),
            TokenKind::Null => Operand::Null,
            other => {
                return Err(PredicateError {
                    offset: token.offset,
                    detail: format!("expected a value, found {}", other.describe()),
                })
            }
        };
        Ok(operand)
    }

    fn dotted(&mut self, first: String) -> Result<Vec<String>, PredicateError> {
        let mut segments = vec![first];
        while self.eat(&TokenKind::Dot) {
            match self.next() {
                Some(Token {
                    kind: TokenKind::Ident(name),
                    ..
                }) => segments.push(name),
                _ => {
                    self.position -= 1;
                    return Err(self.error_here("a name after \".\""));
                }
            }
        }
        Ok(segments)
    }
}

/// Folds `a OR (b OR c)` into one list so equivalent groupings share a canonical form.
fn flatten(parts: Vec<Predicate>, is_or: bool) -> Predicate {
    if parts.len() == 1 {
        return parts
            .into_iter()
            .next()
            .unwrap_or(Predicate::Or { parts: Vec::new() });
    }
    let mut flat = Vec::new();
    for part in parts {
        match part {
            Predicate::Or { parts: inner } if is_or => flat.extend(inner),
            Predicate::And { parts: inner } if !is_or => flat.extend(inner),
            other => flat.push(other),
        }
    }
    if is_or {
        Predicate::Or { parts: flat }
    } else {
        Predicate::And { parts: flat }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn canonical(source: &str) -> String {
        match Predicate::parse(source) {
            Ok(p) => p.to_string(),
            Err(e) => panic!("{source:?} failed: {e}"),
        }
    }

    #[track_caller]
    fn parse_error(source: &str) -> String {
        match Predicate::parse(source) {
            Ok(p) => panic!("{source:?} parsed as {p}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_corpus_predicates_parse() {
        assert_eq!(canonical("userId = $user.id"), "userId = $user.id");
        assert_eq!(canonical("createdBy = $user.id"), "createdBy = $user.id");
        assert_eq!(
            canonical("userId = $user.id OR isPublic = true"),
            "userId = $user.id OR isPublic = true"
        );
        assert_eq!(
            canonical("calculator.userId = $user.id"),
            "calculator.userId = $user.id"
        );
    }

    #[test]
    fn whitespace_case_and_redundant_parentheses_do_not_change_the_canonical_form() {
        assert_eq!(
            canonical("(a = 1)  or (b = 2 Or c=3)"),
            "a = 1 OR b = 2 OR c = 3"
        );
        assert_eq!(
            canonical("a == 1 && (b != 2 || c <> 3)"),
            "a = 1 AND (b != 2 OR c != 3)"
        );
        assert_eq!(canonical("not (a = 1 and b = 2)"), "NOT (a = 1 AND b = 2)");
    }

    #[test]
    fn null_tests_and_in_lists_parse() {
        assert_eq!(canonical("deletedAt is null"), "deletedAt IS NULL");
        assert_eq!(
            canonical("a is not null and b not in ('x', \"y\", 3)"),
            "a IS NOT NULL AND b NOT IN ('x', 'y', 3)"
        );
    }

    #[test]
    fn paths_and_variables_are_collected() {
        let p = Predicate::parse("a.b = $user.id OR c = 1").unwrap_or_else(|e| panic!("{e}"));
        let paths: Vec<String> = p.paths().iter().map(|x| x.segments.join(".")).collect();
        assert_eq!(paths, ["a.b", "c"]);
        assert_eq!(p.variables(), [["user".to_owned(), "id".to_owned()]]);
    }

    #[test]
    fn malformed_predicates_name_the_culprit() {
        assert_eq!(
            parse_error("userId ="),
            "expected a value, found the end (at character 8)"
        );
        assert_eq!(
            parse_error("userId $user.id"),
            "expected a comparison operator, found variable \"$user\" (at character 7)"
        );
        assert_eq!(
            parse_error("a = 'x"),
            "unterminated string (at character 4)"
        );
        assert_eq!(
            parse_error("a = 1 b = 2"),
            "unexpected name \"b\" after the end of the predicate (at character 6)"
        );
        assert_eq!(
            parse_error("a = 1 # x"),
            "unexpected character \"#\" (at character 6)"
        );
    }

    #[test]
    fn deep_parenthesis_nesting_is_refused() {
        let source = format!("{}a = 1{}", "(".repeat(100), ")".repeat(100));
        assert!(parse_error(&source).starts_with("nested deeper than 32 levels"));
    }
}

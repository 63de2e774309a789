//! The base Prisma schema: datasource, generator and core models (`Tenant`, `User`, ...).
//!
//! Only as much Prisma is parsed as merging needs: block structure, model names, field names,
//! types and the `@id`/`@unique`/`@relation(fields: ...)` attributes. Everything else is kept
//! verbatim and re-laid-out the way `prisma format` would.

use std::collections::BTreeSet;

/// The base schema used when none is configured. Targets Prisma 6, where the datasource `url`
/// is required (Prisma 7 moved it to `prisma.config.ts`).
pub const DEFAULT_BASE_SCHEMA: &str = r#"datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

generator client {
  provider = "prisma-client-js"
}

model Tenant {
  id String @id @default(cuid())
}

model User {
  id String @id @default(cuid())
}
"#;

/// Why a base schema could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaseSchemaError {
    /// A line outside any block that does not start one.
    #[error("unexpected text \"{text}\" outside a block at line {line}")]
    UnexpectedLine {
        /// 1-based line.
        line: usize,
        /// The offending line, trimmed.
        text: String,
    },
    /// A block that is never closed with `}`.
    #[error("block \"{name}\" opened at line {line} is never closed")]
    UnclosedBlock {
        /// Block name.
        name: String,
        /// Line of the opening brace.
        line: usize,
    },
    /// A field line that lacks a type.
    #[error("field \"{name}\" at line {line} has no type")]
    FieldWithoutType {
        /// Field name.
        name: String,
        /// 1-based line.
        line: usize,
    },
    /// Two blocks with the same name.
    #[error("{keyword} \"{name}\" is declared twice (second at line {line})")]
    DuplicateBlock {
        /// `model`, `enum`, ...
        keyword: String,
        /// Block name.
        name: String,
        /// Line of the second declaration.
        line: usize,
    },
}

/// A field of a base model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseField {
    /// Field name.
    pub name: String,
    /// Type without `?` or `[]`, e.g. `String`, `Tenant`.
    pub type_name: String,
    /// `?` modifier.
    pub optional: bool,
    /// `[]` modifier.
    pub list: bool,
    /// The attributes text after the type, trimmed (`@id @default(cuid())`).
    pub attributes: String,
}

impl BaseField {
    /// The type with its modifier, as written in Prisma (`String?`, `Post[]`).
    #[must_use]
    pub fn type_text(&self) -> String {
        let modifier = if self.list {
            "[]"
        } else if self.optional {
            "?"
        } else {
            ""
        };
        format!("{}{modifier}", self.type_name)
    }

    /// Whether the field carries a field-level attribute such as `@id` or `@unique`.
    #[must_use]
    pub fn has_attribute(&self, attribute: &str) -> bool {
        attribute_names(&self.attributes)
            .iter()
            .any(|a| a == attribute)
    }

    /// The `fields: [...]` of an `@relation(...)` attribute, if any.
    #[must_use]
    pub fn relation_fields(&self) -> Vec<String> {
        list_argument(&self.attributes, "fields")
    }
}

/// One line of a model body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelItem {
    /// A field.
    Field(BaseField),
    /// A `//` or `///` comment line.
    Comment(String),
    /// An empty line (separates alignment groups).
    Blank,
}

/// A `model` (or `view`/`type`) block of the base schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseModel {
    /// `model`, `view` or `type`.
    pub keyword: String,
    /// Model name.
    pub name: String,
    /// Field lines and comments in order.
    pub items: Vec<ModelItem>,
    /// `@@...` lines in order.
    pub block_attributes: Vec<String>,
    /// Comment lines written directly above the block.
    pub leading_comments: Vec<String>,
}

impl BaseModel {
    /// The fields, in order.
    pub fn fields(&self) -> impl Iterator<Item = &BaseField> {
        self.items.iter().filter_map(|item| match item {
            ModelItem::Field(field) => Some(field),
            _ => None,
        })
    }

    /// The field called `name`.
    #[must_use]
    pub fn field(&self, name: &str) -> Option<&BaseField> {
        self.fields().find(|f| f.name == name)
    }

    /// Primary key fields (`@id` or `@@id([...])`).
    #[must_use]
    pub fn primary_key(&self) -> Vec<String> {
        if let Some(single) = self.fields().find(|f| f.has_attribute("@id")) {
            return vec![single.name.clone()];
        }
        self.block_attributes
            .iter()
            .find(|a| a.starts_with("@@id"))
            .map(|a| first_list(a))
            .unwrap_or_default()
    }

    /// Whether `fields` (any order) are the primary key or unique.
    #[must_use]
    pub fn is_unique_set(&self, fields: &[String]) -> bool {
        let wanted: BTreeSet<&str> = fields.iter().map(String::as_str).collect();
        let same = |candidate: &[String]| {
            candidate
                .iter()
                .map(String::as_str)
                .collect::<BTreeSet<_>>()
                == wanted
        };
        if same(&self.primary_key()) {
            return true;
        }
        if let [single] = fields {
            if self
                .field(single)
                .is_some_and(|f| f.has_attribute("@unique"))
            {
                return true;
            }
        }
        self.block_attributes
            .iter()
            .filter(|a| a.starts_with("@@unique"))
            .any(|a| same(&first_list(a)))
    }

    /// The table name (`@@map("...")`, else the model name).
    #[must_use]
    pub fn table_name(&self) -> String {
        self.block_attributes
            .iter()
            .find(|a| a.starts_with("@@map("))
            .and_then(|a| a.split('"').nth(1))
            .map_or_else(|| self.name.clone(), str::to_owned)
    }
}

/// A non-model block (`datasource`, `generator`, `enum`, ...), kept line by line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherBlock {
    /// `datasource`, `generator`, `enum`, ...
    pub keyword: String,
    /// Block name.
    pub name: String,
    /// Body lines, trimmed; empty strings are blank lines.
    pub lines: Vec<String>,
    /// Comment lines written directly above the block.
    pub leading_comments: Vec<String>,
}

/// A top-level block of the base schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A model-like block.
    Model(BaseModel),
    /// Any other block.
    Other(OtherBlock),
}

/// A parsed base schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseSchema {
    /// Blocks in order.
    pub blocks: Vec<Block>,
    /// Comment lines after the last block.
    pub trailing_comments: Vec<String>,
}

impl Default for BaseSchema {
    fn default() -> Self {
        // The constant is tested to parse; an empty schema is the harmless fallback.
        Self::parse(DEFAULT_BASE_SCHEMA).unwrap_or(Self {
            blocks: Vec::new(),
            trailing_comments: Vec::new(),
        })
    }
}

impl BaseSchema {
    /// Parses a Prisma schema's block structure.
    ///
    /// # Errors
    /// Returns a [`BaseSchemaError`] for text outside blocks, unclosed blocks, field lines
    /// without a type, and duplicate block names.
    pub fn parse(text: &str) -> Result<Self, BaseSchemaError> {
        let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
        let mut blocks = Vec::new();
        let mut comments: Vec<String> = Vec::new();
        let mut names: BTreeSet<(String, String)> = BTreeSet::new();
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i].trim();
            let line_number = i + 1;
            i += 1;
            if line.is_empty() {
                continue;
            }
            if line.starts_with("//") {
                comments.push(line.to_owned());
                continue;
            }
            let Some((keyword, name)) = block_header(line) else {
                return Err(BaseSchemaError::UnexpectedLine {
                    line: line_number,
                    text: line.to_owned(),
                });
            };
            let mut body = Vec::new();
            let mut closed = false;
            while i < lines.len() {
                let inner = lines[i].trim();
                i += 1;
                if inner == "}" {
                    closed = true;
                    break;
                }
                body.push((i, inner.to_owned()));
            }
            if !closed {
                return Err(BaseSchemaError::UnclosedBlock {
                    name,
                    line: line_number,
                });
            }
            let namespace = if matches!(keyword.as_str(), "model" | "view" | "type" | "enum") {
                "type"
            } else {
                keyword.as_str()
            };
            if !names.insert((namespace.to_owned(), name.clone())) {
                return Err(BaseSchemaError::DuplicateBlock {
                    keyword,
                    name,
                    line: line_number,
                });
            }
            let leading_comments = std::mem::take(&mut comments);
            let block = if matches!(keyword.as_str(), "model" | "view" | "type") {
                Block::Model(parse_model(keyword, name, &body, leading_comments)?)
            } else {
                let lines = collapse_blanks(body.into_iter().map(|(_, l)| l).collect());
                Block::Other(OtherBlock {
                    keyword,
                    name,
                    lines,
                    leading_comments,
                })
            };
            blocks.push(block);
        }
        Ok(Self {
            blocks,
            trailing_comments: comments,
        })
    }

    /// The model-like blocks.
    pub fn models(&self) -> impl Iterator<Item = &BaseModel> {
        self.blocks.iter().filter_map(|b| match b {
            Block::Model(m) => Some(m),
            Block::Other(_) => None,
        })
    }

    /// The model called `name`.
    #[must_use]
    pub fn model(&self, name: &str) -> Option<&BaseModel> {
        self.models().find(|m| m.name == name)
    }

    /// Names of every type-like block (models, views, types, enums): package entities must
    /// not reuse them.
    #[must_use]
    pub fn type_names(&self) -> BTreeSet<String> {
        self.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Model(m) => Some(m.name.clone()),
                Block::Other(o) if o.keyword == "enum" => Some(o.name.clone()),
                Block::Other(_) => None,
            })
            .collect()
    }
}

fn block_header(line: &str) -> Option<(String, String)> {
    let rest = line.strip_suffix('{')?.trim_end();
    let mut words = rest.split_whitespace();
    let keyword = words.next()?;
    let name = words.next()?;
    if words.next().is_some() {
        return None;
    }
    let known = matches!(
        keyword,
        "model" | "view" | "type" | "enum" | "datasource" | "generator"
    );
    known.then(|| (keyword.to_owned(), name.to_owned()))
}

fn collapse_blanks(lines: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in lines {
        if line.is_empty() && out.last().is_none_or(String::is_empty) {
            continue;
        }
        out.push(line);
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

fn parse_model(
    keyword: String,
    name: String,
    body: &[(usize, String)],
    leading_comments: Vec<String>,
) -> Result<BaseModel, BaseSchemaError> {
    let mut items = Vec::new();
    let mut block_attributes = Vec::new();
    for (line_number, line) in body {
        if line.is_empty() {
            if !matches!(items.last(), None | Some(ModelItem::Blank)) {
                items.push(ModelItem::Blank);
            }
        } else if line.starts_with("//") {
            items.push(ModelItem::Comment(line.clone()));
        } else if line.starts_with("@@") {
            block_attributes.push(line.clone());
        } else {
            let (field_name, rest) = split_word(line);
            let (type_text, attributes) = split_type(rest.trim_start());
            if type_text.is_empty() {
                return Err(BaseSchemaError::FieldWithoutType {
                    name: field_name.to_owned(),
                    line: *line_number,
                });
            }
            let list = type_text.ends_with("[]");
            let optional = type_text.ends_with('?');
            let type_name = type_text
                .trim_end_matches("[]")
                .trim_end_matches('?')
                .to_owned();
            items.push(ModelItem::Field(BaseField {
                name: field_name.to_owned(),
                type_name,
                optional,
                list,
                attributes: attributes.trim().to_owned(),
            }));
        }
    }
    while matches!(items.last(), Some(ModelItem::Blank)) {
        items.pop();
    }
    Ok(BaseModel {
        keyword,
        name,
        items,
        block_attributes,
        leading_comments,
    })
}

fn split_word(text: &str) -> (&str, &str) {
    match text.find(char::is_whitespace) {
        Some(at) => (&text[..at], &text[at..]),
        None => (text, ""),
    }
}

/// Splits `Unsupported("a b")? @x` into the type and the rest, respecting parentheses/quotes.
fn split_type(text: &str) -> (&str, &str) {
    let mut depth = 0usize;
    let mut in_string = false;
    for (at, c) in text.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string => depth = depth.saturating_sub(1),
            c if c.is_whitespace() && depth == 0 && !in_string => {
                return (&text[..at], &text[at..])
            }
            _ => {}
        }
    }
    (text, "")
}

/// `@id @default(cuid()) @db.VarChar(5)` → `["@id", "@default", "@db.VarChar"]`.
fn attribute_names(attributes: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut current: Option<String> = None;
    for c in attributes.chars() {
        match c {
            '"' => in_string = !in_string,
            '(' if !in_string => {
                depth += 1;
                names.extend(current.take());
            }
            ')' if !in_string => depth = depth.saturating_sub(1),
            '@' if depth == 0 && !in_string => {
                names.extend(current.take());
                current = Some("@".to_owned());
            }
            c if depth == 0 && !in_string && (c.is_alphanumeric() || c == '.' || c == '_') => {
                if let Some(name) = current.as_mut() {
                    name.push(c);
                }
            }
            _ if depth == 0 && !in_string => names.extend(current.take()),
            _ => {}
        }
    }
    names.extend(current);
    names
}

/// The names inside `key: [a, b]` of an attribute text.
fn list_argument(text: &str, key: &str) -> Vec<String> {
    let pattern = format!("{key}:");
    let Some(at) = text.find(&pattern) else {
        return Vec::new();
    };
    first_list(&text[at + pattern.len()..])
}

/// The names inside the first `[...]` of `text`.
fn first_list(text: &str) -> Vec<String> {
    let Some(open) = text.find('[') else {
        return Vec::new();
    };
    let Some(close) = text[open..].find(']') else {
        return Vec::new();
    };
    text[open + 1..open + close]
        .split(',')
        .map(|s| s.trim().split('(').next().unwrap_or("").trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_base_schema_parses_with_tenant_and_user() {
        let base = BaseSchema::parse(DEFAULT_BASE_SCHEMA).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = base.models().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["Tenant", "User"]);
        let user = base.model("User").unwrap_or_else(|| panic!("no User"));
        assert_eq!(user.primary_key(), ["id"]);
        assert_eq!(
            user.field("id").map(BaseField::type_text).as_deref(),
            Some("String")
        );
    }

    #[test]
    fn relation_fields_unique_constraints_and_maps_are_understood() {
        let base = BaseSchema::parse(
            "model A {\n  id Int @id\n  email String? @unique @db.VarChar(100)\n  tId String\n  t Tenant @relation(fields: [tId], references: [id])\n  @@unique([tId, email])\n  @@map(\"a_table\")\n}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let a = base.model("A").unwrap_or_else(|| panic!("no A"));
        assert!(a.is_unique_set(&["email".to_owned()]));
        assert!(a.is_unique_set(&["email".to_owned(), "tId".to_owned()]));
        assert!(!a.is_unique_set(&["tId".to_owned()]));
        assert_eq!(
            a.field("t").map(BaseField::relation_fields),
            Some(vec!["tId".to_owned()])
        );
        assert_eq!(a.field("email").map(|f| f.optional), Some(true));
        assert_eq!(a.table_name(), "a_table");
    }

    #[test]
    fn an_unclosed_block_is_an_error() {
        assert_eq!(
            BaseSchema::parse("model A {\n  id Int @id\n"),
            Err(BaseSchemaError::UnclosedBlock {
                name: "A".to_owned(),
                line: 1
            })
        );
        assert_eq!(
            BaseSchema::parse("hello\n"),
            Err(BaseSchemaError::UnexpectedLine {
                line: 1,
                text: "hello".to_owned()
            })
        );
    }
}

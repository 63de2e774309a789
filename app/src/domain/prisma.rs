//! Prisma rendering (targets Prisma 6): the full schema, and per-package fragments.
//!
//! Mapping decisions:
//! - `enum:` fields stay `String` columns; the allowed values are listed in a `///` doc
//!   comment and enforced by the application (and by the checksum). Prisma enums would become
//!   Postgres enum types, whose values cannot be removed or renamed without rewriting the type,
//!   and whose names would have to be valid identifiers, which real enum values are not always.
//! - `maxLength` → `@db.VarChar(n)`, `columnName` → `@map`, `tableName` → `@@map`, index
//!   `name` → `map:`, field-level `unique` → `@unique`, field-level `index` → `@@index`.
//! - Descriptions are not rendered: they are not part of the checksum, and the rendering of two
//!   structurally equal entities should not differ by prose.
//!
//! Output is laid out exactly as `prisma format` would lay it out, so `format(x) == x`.

mod layout;
mod plan;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::base_schema::{BaseSchema, Block, ModelItem};
use super::model::{DefaultValue, Entity};
use layout::Line;
pub use plan::PackageModels;
use plan::{Plan, PlannedModel, RelationRow, Source};

/// Why a schema could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// Two packages declare the same entity differently.
    #[error("entity \"{entity}\" is declared differently by packages {}", packages.join(", "))]
    ConflictingEntity {
        /// Entity name.
        entity: String,
        /// The packages involved.
        packages: Vec<String>,
    },
    /// Several conflicts, found by the catalog before rendering.
    #[error("conflicting entities: {}", entities.join(", "))]
    Conflicts {
        /// Entity names.
        entities: Vec<String>,
    },
    /// Packages with validation errors cannot be rendered.
    #[error("packages with errors: {}", packages.join(", "))]
    PackagesHaveErrors {
        /// Package ids.
        packages: Vec<String>,
    },
    /// An entity with the name of a base schema model.
    #[error("entity \"{entity}\" of package {package} is already defined by the base schema")]
    EntityShadowsBaseModel {
        /// Entity name.
        entity: String,
        /// Package id.
        package: String,
    },
    /// A relation to a model that is not part of the schema.
    #[error("relation \"{relation}\" of entity \"{entity}\" targets unknown model \"{target}\"")]
    UnknownRelationTarget {
        /// Entity name.
        entity: String,
        /// Relation name.
        relation: String,
        /// Target as written.
        target: String,
    },
    /// A referenced model without a primary key.
    #[error("model \"{model}\" has no primary key to reference")]
    MissingPrimaryKey {
        /// Model name.
        model: String,
    },
    /// A package id that is not among the rendered packages.
    #[error("unknown package \"{package}\"")]
    UnknownPackage {
        /// Package id.
        package: String,
    },
}

/// One package's share of the schema: its models, and the relation fields it adds to models it
/// does not declare (base models, other packages' entities).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fragment {
    /// Package id.
    pub package: String,
    /// The package's model blocks, formatted.
    pub models: String,
    /// Model name → formatted field lines this package adds to it.
    pub back_relations: BTreeMap<String, Vec<String>>,
}

impl Fragment {
    /// The fragment as one text for review diffs: the models, then the added lines as
    /// comments under the model they go into.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = self.models.clone();
        for (model, lines) in &self.back_relations {
            if !out.is_empty() {
                out.push('\n');
            }
            let _ = writeln!(out, "// added to model {model}:");
            for line in lines {
                let _ = writeln!(out, "// {line}");
            }
        }
        out
    }
}

/// Renders the full schema: the base schema with back-relations added to its models, then every
/// package's models in the given order. Entities shared by several packages (same checksum)
/// are rendered once.
///
/// # Errors
/// [`RenderError`] for conflicting entities, entities shadowing base models, and relations the
/// schema cannot resolve (input that did not pass validation).
pub fn render_full_schema(
    base: &BaseSchema,
    packages: &[PackageModels<'_>],
) -> Result<String, RenderError> {
    let plan = Plan::build(base, packages)?;
    let mut blocks: Vec<String> = Vec::new();
    for block in &base.blocks {
        let mut out = String::new();
        match block {
            Block::Model(model) => {
                if let Some(planned) = plan.models.get(&model.name) {
                    write_planned_model(&mut out, planned, None);
                }
            }
            Block::Other(other) if matches!(other.keyword.as_str(), "datasource" | "generator") => {
                layout::write_key_values(
                    &mut out,
                    &other.leading_comments,
                    &other.keyword,
                    &other.name,
                    &other.lines,
                );
            }
            Block::Other(other) => layout::write_plain(
                &mut out,
                &other.leading_comments,
                &other.keyword,
                &other.name,
                &other.lines,
            ),
        }
        blocks.push(out);
    }
    for name in &plan.package_order {
        if let Some(planned) = plan.models.get(name) {
            let mut out = String::new();
            write_planned_model(&mut out, planned, None);
            blocks.push(out);
        }
    }
    let mut text = blocks.join("\n");
    if !base.trailing_comments.is_empty() {
        text.push('\n');
        for comment in &base.trailing_comments {
            text.push_str(comment);
            text.push('\n');
        }
    }
    Ok(text)
}

/// Renders one package's fragment within the full schema made of `packages`.
///
/// # Errors
/// [`RenderError::UnknownPackage`] when `package` is not among `packages`, and everything
/// [`render_full_schema`] can fail with.
pub fn render_package_fragment(
    base: &BaseSchema,
    packages: &[PackageModels<'_>],
    package: &str,
) -> Result<Fragment, RenderError> {
    if !packages.iter().any(|p| p.package == package) {
        return Err(RenderError::UnknownPackage {
            package: package.to_owned(),
        });
    }
    let plan = Plan::build(base, packages)?;
    let mut model_blocks = Vec::new();
    let mut back_relations = BTreeMap::new();
    let declared: Vec<&str> = packages
        .iter()
        .filter(|p| p.package == package)
        .flat_map(|p| p.entities.iter().map(|e| e.name.as_str()))
        .collect();
    for name in declared {
        if let Some(planned) = plan.models.get(name) {
            let mut out = String::new();
            write_planned_model(&mut out, planned, Some(package));
            model_blocks.push(out);
        }
    }
    for (name, planned) in &plan.models {
        if planned.owners.contains(package) {
            continue;
        }
        let rows: Vec<Line> = planned
            .added
            .iter()
            .chain(planned.declared.values())
            .filter(|r| r.contributors.contains(package))
            .map(relation_line)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let mut text = String::new();
        layout::write_rows(&mut text, &rows);
        back_relations.insert(
            name.clone(),
            text.lines().map(|l| l.trim_start().to_owned()).collect(),
        );
    }
    Ok(Fragment {
        package: package.to_owned(),
        models: model_blocks.join("\n"),
        back_relations,
    })
}

fn relation_line(row: &RelationRow) -> Line {
    Line::Row {
        name: row.name.clone(),
        type_text: row.type_text.clone(),
        attributes: row.attributes.clone(),
    }
}

/// Writes a planned model; with `only`, just the relation rows that package contributes.
fn write_planned_model(out: &mut String, planned: &PlannedModel<'_>, only: Option<&str>) {
    let keep = |row: &RelationRow| only.is_none_or(|p| row.contributors.contains(p));
    match planned.source {
        Source::Entity(entity) => {
            let mut lines = scalar_lines(entity);
            lines.extend(
                planned
                    .declared
                    .values()
                    .filter(|r| keep(r))
                    .map(relation_line),
            );
            lines.extend(planned.added.iter().filter(|r| keep(r)).map(relation_line));
            layout::write_model(
                out,
                &[],
                "model",
                &entity.name,
                &lines,
                &block_attributes(entity),
            );
        }
        Source::Base(model) => {
            let mut lines: Vec<Line> = model
                .items
                .iter()
                .map(|item| match item {
                    ModelItem::Field(f) => Line::Row {
                        name: f.name.clone(),
                        type_text: f.type_text(),
                        attributes: f.attributes.clone(),
                    },
                    ModelItem::Comment(c) => Line::Comment(c.clone()),
                    ModelItem::Blank => Line::Blank,
                })
                .collect();
            lines.extend(planned.added.iter().filter(|r| keep(r)).map(relation_line));
            layout::write_model(
                out,
                &model.leading_comments,
                &model.keyword,
                &model.name,
                &lines,
                &model.block_attributes,
            );
        }
    }
}

fn scalar_lines(entity: &Entity) -> Vec<Line> {
    let single_unique: Vec<&str> = entity
        .indexes
        .iter()
        .filter(|i| i.unique && i.name.is_none() && i.fields.len() == 1)
        .map(|i| i.fields[0].as_str())
        .collect();
    let mut lines = Vec::new();
    for field in &entity.fields {
        if let Some(values) = &field.enum_values {
            let listed: Vec<String> = values.iter().map(|v| prisma_string(v)).collect();
            lines.push(Line::Comment(format!("/// one of: {}", listed.join(", "))));
        }
        let mut attributes = Vec::new();
        if entity.primary_key.len() == 1 && entity.primary_key[0] == field.name {
            attributes.push("@id".to_owned());
        }
        // The order `prisma format` writes: @id, @unique, @default, @map, @db.*.
        if single_unique.contains(&field.name.as_str()) {
            attributes.push("@unique".to_owned());
        }
        if let Some(default) = &field.default {
            attributes.push(format!("@default({})", default_literal(default)));
        }
        if let Some(column) = &field.column_name {
            attributes.push(format!("@map({})", prisma_string(column)));
        }
        if let Some(length) = field.max_length {
            attributes.push(format!("@db.VarChar({length})"));
        }
        lines.push(Line::Row {
            name: field.name.clone(),
            type_text: format!(
                "{}{}",
                field.field_type.prisma_name(),
                if field.optional { "?" } else { "" }
            ),
            attributes: attributes.join(" "),
        });
    }
    lines
}

fn block_attributes(entity: &Entity) -> Vec<String> {
    let mut attributes = Vec::new();
    if entity.primary_key.len() > 1 {
        attributes.push(format!("@@id([{}])", entity.primary_key.join(", ")));
    }
    for unique_pass in [true, false] {
        for index in entity.indexes.iter().filter(|i| i.unique == unique_pass) {
            if index.unique && index.name.is_none() && index.fields.len() == 1 {
                continue; // rendered as @unique on the field
            }
            let keyword = if index.unique { "@@unique" } else { "@@index" };
            let map = index
                .name
                .as_ref()
                .map_or_else(String::new, |n| format!(", map: {}", prisma_string(n)));
            attributes.push(format!("{keyword}([{}]{map})", index.fields.join(", ")));
        }
    }
    if let Some(table) = &entity.table_name {
        attributes.push(format!("@@map({})", prisma_string(table)));
    }
    attributes
}

fn default_literal(value: &DefaultValue) -> String {
    match value {
        DefaultValue::Bool(b) => b.to_string(),
        DefaultValue::Int(i) => i.to_string(),
        DefaultValue::Float(x) => format!("{x}"),
        DefaultValue::String(s) => prisma_string(s),
        DefaultValue::Now => "now()".to_owned(),
        DefaultValue::Cuid => "cuid()".to_owned(),
        DefaultValue::Uuid => "uuid()".to_owned(),
        DefaultValue::Autoincrement => "autoincrement()".to_owned(),
    }
}

/// A Prisma string literal: quotes, backslashes and control characters escaped.
pub(crate) fn prisma_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

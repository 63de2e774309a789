//! The catalog: every package parsed, validated and checksummed, with cross-package findings
//! (conflicts, shared entities, global constraint and table names, the ownership DAG).
//!
//! Its serialized form is the `schemagate check --json` document.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rayon::prelude::*;
use serde::Serialize;

use super::base_schema::BaseSchema;
use super::checksum::{entity_checksum, package_checksum};
use super::config::Config;
use super::diagnostic::{Diagnostic, SchemaError, Severity};
use super::dialect::parse_entities;
use super::model::Entity;

mod broken;

pub use super::broken_conflict::BrokenConflict;
use super::ownership;
use super::prisma::{
    render_full_schema, render_package_fragment, Fragment, PackageModels, RenderError,
};
use super::validate::{validate_package, Environment};

/// Why a directory name is not a package id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageIdError {
    /// Empty name.
    #[error("package id is empty")]
    Empty,
    /// Longer than 100 characters.
    #[error("package id \"{0}\" is longer than 100 characters")]
    TooLong(String),
    /// A character outside `a-z 0-9 _ -`, or a leading `-`/`_`.
    #[error("package id \"{0}\" must be lowercase letters, digits, _ and -, starting with a letter or digit")]
    InvalidCharacters(String),
}

/// A validated package id: lowercase letters, digits, `_` and `-`, starting with a letter or
/// digit (so it is a safe directory name and never an option like `-x`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PackageId(String);

impl PackageId {
    /// Validates a package id.
    ///
    /// # Errors
    /// [`PackageIdError`] naming the rule that `id` breaks.
    pub fn parse(id: &str) -> Result<Self, PackageIdError> {
        if id.is_empty() {
            return Err(PackageIdError::Empty);
        }
        if id.len() > 100 {
            return Err(PackageIdError::TooLong(id.to_owned()));
        }
        let valid_char =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
        let valid_start = id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !valid_start || !id.chars().all(valid_char) {
            return Err(PackageIdError::InvalidCharacters(id.to_owned()));
        }
        Ok(Self(id.to_owned()))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PackageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One package's schema file, as read by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageSource {
    /// Package id.
    pub id: PackageId,
    /// The file name shown in diagnostics.
    pub file: String,
    /// The file's text.
    pub text: String,
}

/// A package directory that could not be read as a package: its schema file is unreadable or
/// not a regular file, or its name is not a package id. Reported for that directory only;
/// every other package is still checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageProblem {
    /// The directory name as found (not necessarily a valid package id; shortened when long).
    pub package: String,
    /// The schema file (or directory) concerned.
    pub file: String,
    /// What is wrong, in a sentence.
    pub message: String,
    /// Whether the name is a valid package id: such a package keeps its place in the catalog
    /// (so its live state is never mistaken for a removal).
    #[serde(skip)]
    pub id: Option<PackageId>,
}

impl PackageProblem {
    /// A problem of directory `name` (kept as a printable, bounded string).
    #[must_use]
    pub fn new(name: &str, file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            package: printable_name(name),
            file: file.into(),
            message: message.into(),
            id: PackageId::parse(name).ok(),
        }
    }
}

/// A directory name as it may be shown: control characters escaped, at most 100 characters.
fn printable_name(name: &str) -> String {
    let escaped: String = name.escape_debug().collect();
    if escaped.chars().count() > 100 {
        let mut short: String = escaped.chars().take(100).collect();
        short.push('…');
        short
    } else {
        escaped
    }
}

/// An entity name with its checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntitySummary {
    /// Entity name.
    pub name: String,
    /// `v1:` checksum.
    pub checksum: String,
}

/// Everything known about one package.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackageReport {
    /// Package id.
    pub package: PackageId,
    /// The file as named in diagnostics.
    pub file: String,
    /// Hash of the entity checksums in name order; `None` while the package has errors.
    pub checksum: Option<String>,
    /// Entities that parsed, in file order, with checksums.
    pub entities: Vec<EntitySummary>,
    /// Errors; any error fails `check`.
    pub errors: Vec<Diagnostic>,
    /// Warnings (ownership DAG findings by default).
    pub warnings: Vec<Diagnostic>,
    /// The normalized entities.
    #[serde(skip)]
    pub model: Vec<Entity>,
}

/// One package declaring a conflicting entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Declaration {
    /// Package id.
    pub package: PackageId,
    /// Its checksum of the entity.
    pub checksum: String,
}

/// An entity declared differently by several packages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// Entity name.
    pub entity: String,
    /// Every declaring package, by id.
    pub declarations: Vec<Declaration>,
}

/// An entity declared identically by several packages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedEntity {
    /// Entity name.
    pub entity: String,
    /// The common checksum.
    pub checksum: String,
    /// The declaring packages, by id.
    pub packages: Vec<PackageId>,
}

/// The result of checking a set of packages against a base schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    /// Packages by id.
    pub packages: Vec<PackageReport>,
    /// Entities declared differently by several packages.
    pub conflicts: Vec<Conflict>,
    /// Entities declared identically by several packages.
    pub shared: Vec<SharedEntity>,
    /// Directories that look like packages but whose name is not a package id.
    pub errors: Vec<PackageProblem>,
    /// The base schema everything renders against.
    #[serde(skip)]
    pub base: BaseSchema,
}

impl Catalog {
    /// Parses, validates and checksums every package; never stops at a bad one.
    #[must_use]
    pub fn build(sources: Vec<PackageSource>, base: BaseSchema, config: &Config) -> Self {
        Self::build_with_problems(sources, Vec::new(), base, config)
    }

    /// As [`Catalog::build`], plus the package directories that could not be read: one with a
    /// valid id is a package with an `unreadable_file` error (it still counts as present), one
    /// with an invalid name is listed in [`Catalog::errors`].
    #[must_use]
    pub fn build_with_problems(
        sources: Vec<PackageSource>,
        problems: Vec<PackageProblem>,
        base: BaseSchema,
        config: &Config,
    ) -> Self {
        let mut catalog = Self::build_sources(sources, base, config);
        for problem in problems {
            let Some(id) = problem.id.clone() else {
                catalog.errors.push(problem);
                continue;
            };
            catalog.packages.retain(|p| p.package != id);
            let error = SchemaError::UnreadableFile {
                reason: problem.message.clone(),
            };
            catalog.packages.push(PackageReport {
                package: id,
                file: problem.file.clone(),
                checksum: None,
                entities: Vec::new(),
                errors: vec![Diagnostic::error(
                    &problem.file,
                    super::diagnostic::Position::default(),
                    "",
                    error,
                )],
                warnings: Vec::new(),
                model: Vec::new(),
            });
        }
        catalog.packages.sort_by(|a, b| a.package.cmp(&b.package));
        catalog.errors.sort_by(|a, b| a.package.cmp(&b.package));
        catalog
    }

    fn build_sources(sources: Vec<PackageSource>, base: BaseSchema, config: &Config) -> Self {
        let mut sources = sources;
        sources.sort_by(|a, b| a.id.cmp(&b.id));
        // Packages are read and validated independently: spread them over every core.
        let parsed: Vec<_> = sources
            .par_iter()
            .map(|s| parse_entities(&s.text, &s.file, config))
            .collect();

        let env_input: Vec<(&[Entity], &[String])> = parsed
            .iter()
            .map(|p| (p.entities.as_slice(), p.broken_entities.as_slice()))
            .collect();
        let env = Environment::new(&base, &env_input);
        let mut reports: Vec<PackageReport> = sources
            .par_iter()
            .zip(&parsed)
            .map(|(source, file)| {
                let mut errors = file.diagnostics.clone();
                errors.extend(validate_package(&file.entities, &source.file, &env, config));
                let (warnings, errors): (Vec<Diagnostic>, Vec<Diagnostic>) = errors
                    .into_iter()
                    .partition(|d| d.severity == Severity::Warning);
                PackageReport {
                    package: source.id.clone(),
                    file: source.file.clone(),
                    checksum: None,
                    entities: file
                        .entities
                        .iter()
                        .map(|e| EntitySummary {
                            name: e.name.clone(),
                            checksum: entity_checksum(e),
                        })
                        .collect(),
                    errors,
                    warnings,
                    model: Vec::new(),
                }
            })
            .collect();
        drop(env);
        drop(env_input);
        // Validation borrowed the entities; now that it is done they move into the reports.
        for (report, file) in reports.iter_mut().zip(parsed) {
            report.model = file.entities;
        }

        global_names(&mut reports, &base);
        ownership_findings(&mut reports, &base, config);
        for report in &mut reports {
            if report.errors.is_empty() {
                report.checksum = Some(package_checksum(
                    report
                        .entities
                        .iter()
                        .map(|e| (e.name.as_str(), e.checksum.as_str())),
                ));
            }
        }
        let (conflicts, shared) = declarations(&reports);
        Self {
            packages: reports,
            conflicts,
            shared,
            errors: Vec::new(),
            base,
        }
    }

    /// The report of package `id`.
    #[must_use]
    pub fn package(&self, id: &str) -> Option<&PackageReport> {
        // `build` sorts the packages by id.
        self.packages
            .binary_search_by(|p| p.package.as_str().cmp(id))
            .ok()
            .map(|i| &self.packages[i])
    }

    /// Whether any package has errors or any entity is in conflict (`check` exits 1).
    #[must_use]
    pub fn has_failures(&self) -> bool {
        !self.conflicts.is_empty()
            || !self.errors.is_empty()
            || self.packages.iter().any(|p| !p.errors.is_empty())
    }

    fn renderable(&self) -> Result<Vec<PackageModels<'_>>, RenderError> {
        let broken: Vec<String> = self
            .packages
            .iter()
            .filter(|p| !p.errors.is_empty())
            .map(|p| p.package.to_string())
            .collect();
        if !broken.is_empty() {
            return Err(RenderError::PackagesHaveErrors { packages: broken });
        }
        if !self.conflicts.is_empty() {
            return Err(RenderError::Conflicts {
                entities: self.conflicts.iter().map(|c| c.entity.clone()).collect(),
            });
        }
        Ok(self
            .packages
            .iter()
            .map(|p| PackageModels {
                package: p.package.as_str(),
                entities: &p.model,
            })
            .collect())
    }

    /// The full merged Prisma schema of every package.
    ///
    /// # Errors
    /// [`RenderError::PackagesHaveErrors`] or [`RenderError::Conflicts`] naming the culprits;
    /// nothing is rendered from a catalog that fails its check.
    pub fn render_schema(&self) -> Result<String, RenderError> {
        render_full_schema(&self.base, &self.renderable()?)
    }

    /// The fragment of package `id` within the full schema.
    ///
    /// # Errors
    /// As [`Catalog::render_schema`], plus [`RenderError::UnknownPackage`].
    pub fn render_fragment(&self, id: &str) -> Result<Fragment, RenderError> {
        render_package_fragment(&self.base, &self.renderable()?, id)
    }
}

/// Constraint names and table names are global in the database.
fn global_names(reports: &mut [PackageReport], base: &BaseSchema) {
    for (index, diagnostic) in name_clashes(reports, base) {
        reports[index].errors.push(diagnostic);
    }
}

/// Who holds a table or constraint name first; written out only when another entity clashes.
#[derive(Clone, Copy)]
enum NameHolder<'a> {
    Base(&'a str),
    Entity { entity: &'a str, package: &'a str },
}

impl fmt::Display for NameHolder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Base(model) => write!(f, "base model {model}"),
            Self::Entity { entity, package } => write!(f, "entity {entity} (package {package})"),
        }
    }
}

/// The duplicate-name errors of [`global_names`], each with the index of its report, in report
/// and entity order.
fn name_clashes(reports: &[PackageReport], base: &BaseSchema) -> Vec<(usize, Diagnostic)> {
    let base_tables: Vec<(String, &str)> = base
        .models()
        .map(|m| (m.table_name(), m.name.as_str()))
        .collect();
    let mut tables: BTreeMap<&str, NameHolder> = base_tables
        .iter()
        .map(|(table, model)| (table.as_str(), NameHolder::Base(model)))
        .collect();
    let mut constraints: BTreeMap<&str, NameHolder> = BTreeMap::new();
    // Entities named like base models are already reported as shadowing them.
    let base_names = base.type_names();
    let mut seen_entities: BTreeSet<&str> = base_names.iter().map(String::as_str).collect();
    let mut clashes = Vec::new();
    for (index, report) in reports.iter().enumerate() {
        for entity in &report.model {
            // A shared entity is one table; its declarations are compared as conflicts instead.
            if !seen_entities.insert(&entity.name) {
                continue;
            }
            let holder = NameHolder::Entity {
                entity: &entity.name,
                package: report.package.as_str(),
            };
            let table = entity.table_name.as_deref().unwrap_or(&entity.name);
            if let Some(other) = tables.get(table) {
                let error = SchemaError::DuplicateTableName {
                    table: table.to_owned(),
                    other: other.to_string(),
                };
                let at = Diagnostic::error(&report.file, entity.origin, entity.name.clone(), error);
                clashes.push((index, at));
            } else {
                tables.insert(table, holder);
            }
            for index_name in entity.indexes.iter().filter_map(|i| i.name.as_deref()) {
                if let Some(other) = constraints.get(index_name) {
                    let error = SchemaError::DuplicateConstraintName {
                        name: index_name.to_owned(),
                        other: other.to_string(),
                    };
                    let path = format!("{}.indexes", entity.name);
                    clashes.push((
                        index,
                        Diagnostic::error(&report.file, entity.origin, path, error),
                    ));
                } else {
                    constraints.insert(index_name, holder);
                }
            }
        }
    }
    clashes
}

fn ownership_findings(reports: &mut [PackageReport], base: &BaseSchema, config: &Config) {
    let mut unique: BTreeMap<&str, &Entity> = BTreeMap::new();
    for report in reports.iter() {
        for entity in &report.model {
            unique.entry(entity.name.as_str()).or_insert(entity);
        }
    }
    let entities: Vec<&Entity> = unique.into_values().collect();
    let all = ownership::check(base, &entities, &config.root_model);
    let mut findings: BTreeMap<&str, Vec<&ownership::OwnershipFinding>> = BTreeMap::new();
    for finding in &all {
        findings.entry(&finding.entity).or_default().push(finding);
    }
    // A platform whose entities mostly do not reach the root has thousands of findings: each
    // package writes its own on its own core.
    reports.par_iter_mut().for_each(|report| {
        let mut found = Vec::new();
        for entity in &report.model {
            for finding in findings.get(entity.name.as_str()).into_iter().flatten() {
                let mut diagnostic = Diagnostic::error(
                    &report.file,
                    entity.origin,
                    entity.name.clone(),
                    finding.error.clone(),
                );
                diagnostic.severity = config.ownership_severity;
                found.push(diagnostic);
            }
        }
        match config.ownership_severity {
            Severity::Error => report.errors.extend(found),
            Severity::Warning => report.warnings.extend(found),
        }
    });
}

fn declarations(reports: &[PackageReport]) -> (Vec<Conflict>, Vec<SharedEntity>) {
    let mut by_name: BTreeMap<&str, Vec<(&PackageId, &str)>> = BTreeMap::new();
    for report in reports {
        for entity in &report.entities {
            by_name
                .entry(entity.name.as_str())
                .or_default()
                .push((&report.package, entity.checksum.as_str()));
        }
    }
    let mut conflicts = Vec::new();
    let mut shared = Vec::new();
    for (name, declarations) in by_name {
        if declarations.len() < 2 {
            continue;
        }
        let distinct: BTreeSet<&str> = declarations.iter().map(|(_, c)| *c).collect();
        if distinct.len() > 1 {
            conflicts.push(Conflict {
                entity: name.to_owned(),
                declarations: declarations
                    .iter()
                    .map(|(p, c)| Declaration {
                        package: (*p).clone(),
                        checksum: (*c).to_owned(),
                    })
                    .collect(),
            });
        } else {
            shared.push(SharedEntity {
                entity: name.to_owned(),
                checksum: declarations[0].1.to_owned(),
                packages: declarations.iter().map(|(p, _)| (*p).clone()).collect(),
            });
        }
    }
    (conflicts, shared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_ids_are_lowercase_directory_names() {
        assert!(PackageId::parse("audit_log").is_ok());
        assert!(PackageId::parse("a-1").is_ok());
        assert_eq!(PackageId::parse(""), Err(PackageIdError::Empty));
        assert_eq!(
            PackageId::parse("Audit"),
            Err(PackageIdError::InvalidCharacters("Audit".to_owned()))
        );
        assert_eq!(
            PackageId::parse("-x"),
            Err(PackageIdError::InvalidCharacters("-x".to_owned()))
        );
        assert_eq!(
            PackageId::parse("../x"),
            Err(PackageIdError::InvalidCharacters("../x".to_owned()))
        );
        assert_eq!(
            PackageId::parse("a b"),
            Err(PackageIdError::InvalidCharacters("a b".to_owned()))
        );
    }
}

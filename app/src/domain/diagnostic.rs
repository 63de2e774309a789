//! Diagnostics: what went wrong, where, and how to fix it.
//!
//! Every problem found in an `entities.yaml` is a [`Diagnostic`]: a structured [`SchemaError`]
//! plus the file, line, column and key path (`ForumThread.fields.title.type`) it points at.
//! Diagnostics are collected, never thrown, so one bad entity or package never hides the others.

mod schema_error;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use schema_error::SchemaError;

/// A 1-based line and column in a source file. `0:0` means "no position known".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Position {
    /// 1-based line number.
    pub line: u64,
    /// 1-based column number, counted in characters.
    pub column: u64,
}

impl Position {
    /// A position at `line`, `column` (both 1-based).
    #[must_use]
    pub const fn new(line: u64, column: u64) -> Self {
        Self { line, column }
    }

    /// The same position moved `chars` characters to the right (for tokens inside a scalar).
    #[must_use]
    pub const fn shifted(self, chars: u64) -> Self {
        Self {
            line: self.line,
            column: self.column + chars,
        }
    }
}

/// Whether a diagnostic fails the check or only informs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails `schemagate check` and blocks rendering.
    Error,
    /// Reported, but does not fail the check.
    Warning,
}

/// A located problem in a package's schema file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as given by the caller (e.g. `packages/forum/seed/schema/entities.yaml`).
    pub file: String,
    /// Where in the file.
    pub position: Position,
    /// Key path of the offending node, e.g. `ForumThread.fields.title.type`.
    pub path: String,
    /// Error or warning.
    pub severity: Severity,
    /// The problem itself.
    pub error: SchemaError,
}

impl Diagnostic {
    /// An error at `position` / `path` in `file`.
    #[must_use]
    pub fn error(
        file: &str,
        position: Position,
        path: impl Into<String>,
        error: SchemaError,
    ) -> Self {
        Self {
            file: file.to_owned(),
            position,
            path: path.into(),
            severity: Severity::Error,
            error,
        }
    }

    /// The full human-readable message: problem, path, position, and help.
    #[must_use]
    pub fn message(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        if !self.path.is_empty() {
            write!(f, " at {}", self.path)?;
        }
        if self.position.line > 0 {
            write!(
                f,
                " (line {}, column {})",
                self.position.line, self.position.column
            )?;
        }
        if let Some(help) = self.error.help() {
            write!(f, "; {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

impl Serialize for Diagnostic {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Diagnostic", 8)?;
        s.serialize_field("file", &self.file)?;
        s.serialize_field("line", &self.position.line)?;
        s.serialize_field("column", &self.position.column)?;
        s.serialize_field("path", &self.path)?;
        s.serialize_field("message", &self.message())?;
        s.serialize_field("code", self.error.code())?;
        s.serialize_field("severity", &self.severity)?;
        s.serialize_field("help", &self.error.help())?;
        s.end()
    }
}

/// Collects diagnostics for one file while keeping the file name in one place.
#[cfg(feature = "domain")]
#[derive(Debug)]
pub(crate) struct Sink<'a> {
    pub(crate) file: &'a str,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

#[cfg(feature = "domain")]
impl<'a> Sink<'a> {
    pub(crate) fn new(file: &'a str) -> Self {
        Self {
            file,
            diagnostics: Vec::new(),
        }
    }

    pub(crate) fn error(
        &mut self,
        position: Position,
        path: impl Into<String>,
        error: SchemaError,
    ) {
        self.diagnostics
            .push(Diagnostic::error(self.file, position, path, error));
    }

    /// A diagnostic of the given severity (warnings are findings, not errors).
    pub(crate) fn finding(
        &mut self,
        position: Position,
        path: impl Into<String>,
        error: SchemaError,
        severity: Severity,
    ) {
        let mut diagnostic = Diagnostic::error(self.file, position, path, error);
        diagnostic.severity = severity;
        self.diagnostics.push(diagnostic);
    }
}

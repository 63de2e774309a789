//! An entity declared differently by a package with validation errors: no conflict in the
//! registry yet (that package cannot be queued), but one as soon as it is fixed. Pages show it,
//! so the type is the browser's too; `Catalog::broken_conflicts` finds them.

use serde::{Deserialize, Serialize};

/// An entity declared differently by a package that has validation errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenConflict {
    /// The entity.
    pub entity: String,
    /// The package with errors that declares it differently.
    pub package: String,
    /// That package's first error.
    pub error: String,
    /// How many errors it has.
    pub errors: usize,
}

impl BrokenConflict {
    /// One line for refusals, lists and the CLI.
    #[must_use]
    pub fn describe(&self) -> String {
        format!(
            "{} is declared differently by {}, which has validation errors ({})",
            self.entity, self.package, self.error
        )
    }
}

//! The seven risk classes an item can have, lowest first, with their stored names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How dangerous an item is, lowest first. A change's risk is its riskiest item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Additive and instant: a new table, an optional column.
    Safe,
    /// No database effect worth a pause: validation hints, dropped plain indexes.
    Hygiene,
    /// May fail on existing data: new unique index, new required column, new foreign key.
    DataDependent,
    /// Takes a lock or rewrites the table: new index on an existing table, type change.
    Locking,
    /// Breaks clients: renames, optional to required, dropped defaults, revoked access.
    Breaking,
    /// Grants more access: a role added, `public`, a row-level rule removed or changed.
    Security,
    /// Destroys data: dropped tables or columns, narrowing type changes.
    DataLoss,
}

impl Risk {
    /// Every class, lowest first.
    pub const ALL: [Risk; 7] = [
        Risk::Safe,
        Risk::Hygiene,
        Risk::DataDependent,
        Risk::Locking,
        Risk::Breaking,
        Risk::Security,
        Risk::DataLoss,
    ];

    /// The class's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Safe => "safe",
            Risk::Hygiene => "hygiene",
            Risk::DataDependent => "data_dependent",
            Risk::Locking => "locking",
            Risk::Breaking => "breaking",
            Risk::Security => "security",
            Risk::DataLoss => "data_loss",
        }
    }

    /// The class in words, for people: `data loss`, `data-dependent`.
    pub fn label(self) -> &'static str {
        match self {
            Risk::DataDependent => "data-dependent",
            Risk::DataLoss => "data loss",
            other => other.as_str(),
        }
    }

    /// Whether approving it needs a single, typed confirmation (never part of "approve all").
    pub fn needs_confirmation(self) -> bool {
        matches!(self, Risk::Breaking | Risk::Security | Risk::DataLoss)
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A risk name that is not one of the seven classes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown risk \"{0}\": expected safe, hygiene, data_dependent, locking, breaking, security or data_loss")]
pub struct UnknownRisk(pub String);

impl FromStr for Risk {
    type Err = UnknownRisk;

    fn from_str(name: &str) -> Result<Risk, UnknownRisk> {
        Risk::ALL
            .into_iter()
            .find(|risk| risk.as_str() == name)
            .ok_or_else(|| UnknownRisk(name.to_string()))
    }
}

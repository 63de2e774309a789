//! Configuration of the domain checks: input limits, role vocabulary, ownership rules.
//!
//! Everything here is data, so operators can tune it without code changes; the defaults match
//! the packages seen in production.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::diagnostic::Severity;

/// Bounds on untrusted input; exceeding one fails that file fast with a clear error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest accepted `entities.yaml`, in bytes.
    pub max_file_bytes: u64,
    /// Deepest accepted YAML nesting (maps and lists). Real files need 6.
    pub max_depth: usize,
    /// Most nodes that alias expansion may replay in one file (stops "billion laughs").
    pub max_alias_replays: usize,
    /// Most YAML nodes in one file.
    pub max_nodes: usize,
    /// Most entities in one file.
    pub max_entities: usize,
    /// Most fields in one entity.
    pub max_fields_per_entity: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 1024 * 1024,
            max_depth: 20,
            max_alias_replays: 10_000,
            max_nodes: 200_000,
            max_entities: 500,
            max_fields_per_entity: 500,
        }
    }
}

/// The roles seen in production packages; the vocabulary is configuration, not code.
pub const DEFAULT_ROLES: [&str; 12] = [
    "public",
    "user",
    "self",
    "owner",
    "moderator",
    "admin",
    "system",
    "none",
    "god",
    "supergod",
    "public_if_public",
    "public_if_shared",
];

/// Field names that identify the owning user of a row, for the `self` and `owner` roles.
pub const DEFAULT_OWNER_FIELDS: [&str; 6] = [
    "userId",
    "ownerId",
    "createdBy",
    "creatorId",
    "authorId",
    "hostId",
];

/// Configuration for parsing, validation and the ownership check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Input bounds.
    pub limits: Limits,
    /// Allowed ACL roles.
    pub roles: BTreeSet<String>,
    /// Roles that require the entity to have an owner (see `owner_fields`).
    pub owner_roles: BTreeSet<String>,
    /// Field names that make an entity "owned" (see the `self`/`owner` roles).
    pub owner_fields: Vec<String>,
    /// The model that stands for a user account; a belongsTo to it is an owner field too.
    pub user_model: String,
    /// Root of the ownership DAG (seed 001): every entity should reach it through belongsTo.
    pub root_model: String,
    /// Whether ownership DAG findings are warnings (default) or errors.
    pub ownership_severity: Severity,
    /// Context variable roots allowed in `rowLevel` predicates, without `$` (`user` → `$user.id`).
    pub context_variables: BTreeSet<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            roles: DEFAULT_ROLES.iter().map(|r| (*r).to_owned()).collect(),
            owner_roles: ["self", "owner"].iter().map(|r| (*r).to_owned()).collect(),
            owner_fields: DEFAULT_OWNER_FIELDS
                .iter()
                .map(|f| (*f).to_owned())
                .collect(),
            user_model: "User".to_owned(),
            root_model: "Tenant".to_owned(),
            ownership_severity: Severity::Warning,
            context_variables: ["user", "tenant"].iter().map(|v| (*v).to_owned()).collect(),
        }
    }
}

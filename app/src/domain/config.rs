//! Configuration of the domain checks: input limits, role vocabulary, ownership rules.
//!
//! Everything here is data, so operators can tune it without code changes; the defaults match
//! the packages seen in production.

use std::collections::{BTreeMap, BTreeSet};

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
    /// How ACLs become PostgreSQL row-level security: settings names and role hierarchy.
    #[serde(default)]
    pub row_security: RowSecurity,
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
            row_security: RowSecurity::default(),
        }
    }
}

/// Roles with a meaning of their own in ACLs; they never match the role setting by name.
pub const PSEUDO_ROLES: [&str; 5] = ["public", "user", "self", "owner", "none"];

/// Whether `role` is a pseudo-role (`public`, `user`, `self`, `owner`, `none`, `public_if_*`).
#[must_use]
pub fn is_pseudo_role(role: &str) -> bool {
    PSEUDO_ROLES.contains(&role) || role.starts_with("public_if_")
}

/// An order among named roles: a higher role is granted whatever a lower one is granted.
/// Written as chains, highest first: `supergod > god > admin`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct RoleHierarchy {
    chains: Vec<Vec<String>>,
}

/// Why a role hierarchy is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HierarchyError {
    /// A chain with an empty link (`admin > > user`) or a single role.
    #[error("role hierarchy \"{chain}\" needs at least two role names separated by \">\"")]
    Malformed {
        /// The chain as written.
        chain: String,
    },
    /// A pseudo-role has no place in an order of named roles.
    #[error("role hierarchy \"{chain}\" names the pseudo-role \"{role}\": only named roles can be ordered")]
    PseudoRole {
        /// The chain as written.
        chain: String,
        /// The pseudo-role.
        role: String,
    },
    /// A role above itself.
    #[error("role hierarchy puts \"{role}\" above itself")]
    Cycle {
        /// A role on the cycle.
        role: String,
    },
}

impl RoleHierarchy {
    /// Parses chains such as `supergod > god > admin` (one chain per item).
    ///
    /// # Errors
    /// A malformed chain, a pseudo-role in a chain, or a cycle.
    pub fn parse<S: AsRef<str>>(chains: &[S]) -> Result<Self, HierarchyError> {
        let mut parsed = Vec::new();
        for chain in chains {
            let text = chain.as_ref().trim();
            if text.is_empty() {
                continue;
            }
            let roles: Vec<String> = text.split('>').map(|r| r.trim().to_owned()).collect();
            if roles.len() < 2 || roles.iter().any(String::is_empty) {
                return Err(HierarchyError::Malformed {
                    chain: text.to_owned(),
                });
            }
            if let Some(role) = roles.iter().find(|r| is_pseudo_role(r)) {
                return Err(HierarchyError::PseudoRole {
                    chain: text.to_owned(),
                    role: role.clone(),
                });
            }
            parsed.push(roles);
        }
        let hierarchy = Self { chains: parsed };
        for chain in &hierarchy.chains {
            for role in chain {
                if hierarchy.above(role).contains(role) {
                    return Err(HierarchyError::Cycle { role: role.clone() });
                }
            }
        }
        Ok(hierarchy)
    }

    /// Every role strictly above `role`, transitively, in name order.
    #[must_use]
    pub fn above(&self, role: &str) -> BTreeSet<String> {
        let mut direct: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for chain in &self.chains {
            for pair in chain.windows(2) {
                direct
                    .entry(pair[1].as_str())
                    .or_default()
                    .insert(pair[0].as_str());
            }
        }
        let mut found = BTreeSet::new();
        let mut stack = vec![role];
        while let Some(current) = stack.pop() {
            for higher in direct.get(current).into_iter().flatten() {
                if found.insert((*higher).to_owned()) {
                    stack.push(higher);
                }
            }
        }
        found
    }

    /// The roles a grant to `role` admits: itself and every role above it, in name order.
    #[must_use]
    pub fn admitted_by(&self, role: &str) -> BTreeSet<String> {
        let mut roles = self.above(role);
        roles.insert(role.to_owned());
        roles
    }

    /// The chains, as written (`supergod > god > admin`).
    #[must_use]
    pub fn chains(&self) -> Vec<String> {
        self.chains.iter().map(|c| c.join(" > ")).collect()
    }
}

impl TryFrom<Vec<String>> for RoleHierarchy {
    type Error = HierarchyError;

    fn try_from(chains: Vec<String>) -> Result<Self, Self::Error> {
        Self::parse(&chains)
    }
}

impl From<RoleHierarchy> for Vec<String> {
    fn from(hierarchy: RoleHierarchy) -> Self {
        hierarchy.chains()
    }
}

/// How entity ACLs become PostgreSQL row-level security (see `policy_sql`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RowSecurity {
    /// The per-transaction setting holding the acting user's id (absent or empty: anonymous).
    pub user_setting: String,
    /// The per-transaction setting holding the acting user's role name.
    pub role_setting: String,
    /// Higher roles admit what lower ones do.
    pub hierarchy: RoleHierarchy,
    /// `rowLevel` context variables (`user.id`) → the setting that carries them.
    pub variables: BTreeMap<String, String>,
    /// Tenant isolation; `None` for policies compiled before it existed (kept configurations
    /// then describe what PostgreSQL enforces: no tenant condition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantIsolation>,
    /// Conditional roles → the Boolean field whose rows they admit (`public_if_shared` →
    /// `isPublic`). A `public_if_X` role without an entry looks for `X`, then `isX`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub role_conditions: BTreeMap<String, String>,
}

/// How the rows of one tenant are kept from every other tenant: on a platform whose root model
/// (`Tenant`) exists, every policy admits a row only when its tenant is the acting tenant (the
/// per-transaction `setting`), except for the platform-wide roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantIsolation {
    /// The per-transaction setting holding the acting tenant's id.
    pub setting: String,
    /// Fields that hold a row's tenant, in order of preference.
    pub fields: Vec<String>,
    /// Roles that act across tenants (they see every tenant's rows their grants admit).
    pub platform_roles: BTreeSet<String>,
}

impl Default for TenantIsolation {
    fn default() -> Self {
        Self {
            setting: "app.tenant_id".to_owned(),
            fields: vec!["tenantId".to_owned()],
            platform_roles: ["god", "supergod"]
                .iter()
                .map(|r| (*r).to_owned())
                .collect(),
        }
    }
}

impl Default for RowSecurity {
    fn default() -> Self {
        Self::with_settings("app.user_id", "app.role")
    }
}

impl RowSecurity {
    /// The setting that carries the context variable `segments` (`["user", "id"]`): the
    /// configured one, else `<prefix>.<root>_<name in snake case>` with the prefix of the user
    /// setting (`$user.tenantId` → `app.user_tenant_id`). `None` unless there are exactly two
    /// segments.
    #[must_use]
    pub fn setting_of(&self, segments: &[String]) -> Option<String> {
        let [root, name] = segments else {
            return None;
        };
        if let Some(setting) = self.variables.get(&format!("{root}.{name}")) {
            return Some(setting.clone());
        }
        let prefix = self
            .user_setting
            .rsplit_once('.')
            .map_or("app", |(prefix, _)| prefix);
        let mut snake = String::new();
        for c in name.chars() {
            if c.is_ascii_uppercase() {
                snake.push('_');
                snake.push(c.to_ascii_lowercase());
            } else {
                snake.push(c);
            }
        }
        Some(format!("{prefix}.{root}_{snake}"))
    }

    /// Settings named `user_setting` and `role_setting`, no hierarchy; `$user.id` and
    /// `$user.role` read those settings and `$tenant.id` reads `app.tenant_id` (other variables:
    /// see [`Self::setting_of`]).
    #[must_use]
    pub fn with_settings(user_setting: &str, role_setting: &str) -> Self {
        let variables = [
            ("user.id", user_setting),
            ("user.role", role_setting),
            ("tenant.id", "app.tenant_id"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        Self {
            user_setting: user_setting.to_owned(),
            role_setting: role_setting.to_owned(),
            hierarchy: RoleHierarchy::default(),
            variables,
            tenant: Some(TenantIsolation::default()),
            role_conditions: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hierarchy_admits_every_higher_role() {
        let h = RoleHierarchy::parse(&["supergod > god > admin", "admin > moderator"]).unwrap();
        assert_eq!(
            h.admitted_by("moderator").into_iter().collect::<Vec<_>>(),
            ["admin", "god", "moderator", "supergod"]
        );
        assert_eq!(h.admitted_by("supergod").len(), 1);
        assert_eq!(h.chains(), ["supergod > god > admin", "admin > moderator"]);
    }

    #[test]
    fn a_bad_hierarchy_names_the_culprit() {
        let error = |chains: &[&str]| RoleHierarchy::parse(chains).unwrap_err().to_string();
        assert_eq!(
            error(&["admin > > user"]),
            "role hierarchy \"admin > > user\" needs at least two role names separated by \">\""
        );
        assert_eq!(
            error(&["admin > user"]),
            "role hierarchy \"admin > user\" names the pseudo-role \"user\": only named roles can be ordered"
        );
        assert_eq!(
            error(&["a > b", "b > a"]),
            "role hierarchy puts \"a\" above itself"
        );
    }
}

//! Evaluating an entity's effective access policy: may ROLE do OP on ENTITY, and on which rows.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::config::{is_pseudo_role, RoleHierarchy};

/// One entity's policy as applied: operation → roles, plus an optional row-level predicate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityPolicy {
    /// `create`, `read`, `update`, `delete` → the roles granted.
    pub rules: BTreeMap<String, Vec<String>>,
    /// Applies to every granted access, as a filter on rows.
    pub row_level: Option<String>,
    /// Why `self`/`owner` grants match no row, when the entity has no owner (they fail closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unowned: Option<String>,
    /// Conditional roles whose condition the entity lacks → why (they match no row).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unmatched: BTreeMap<String, String>,
    /// Conditional roles → the Boolean field whose rows they admit.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub conditions: BTreeMap<String, String>,
    /// The condition tying a row to the acting tenant, when tenants are isolated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Roles that see every tenant's rows (platform-wide roles and those above them).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub platform_roles: BTreeSet<String>,
}

/// The answer to "may ROLE do OP?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum AccessDecision {
    /// Granted on every row the row-level rule lets through.
    Allow {
        /// The grant that matched (`user`, `public`).
        granted_by: String,
        /// Row filter, if the entity has one.
        row_level: Option<String>,
        /// Only the acting tenant's rows: the condition, when tenants are isolated and the role
        /// is not platform-wide.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tenant: Option<String>,
    },
    /// Granted only on some rows (owner roles, `public_if_*`).
    Conditional {
        /// Each grant that applies, with the condition it carries.
        conditions: Vec<String>,
        /// The grants that apply (`self`, `public_if_public`), in the order of `conditions`.
        #[serde(default)]
        grants: Vec<String>,
        /// Row filter, if the entity has one.
        row_level: Option<String>,
        /// Only the acting tenant's rows (see [`AccessDecision::Allow`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tenant: Option<String>,
    },
    /// Not granted.
    Deny {
        /// Why not.
        reason: String,
    },
}

/// The operations a policy governs.
pub const OPERATIONS: [&str; 4] = ["create", "read", "update", "delete"];

/// Why a question could not be asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessQueryError {
    /// Not one of create/read/update/delete.
    #[error("unknown operation \"{0}\": expected create, read, update or delete")]
    UnknownOperation(String),
}

/// Acting role names that stand for an anonymous request (no user setting).
pub const ANONYMOUS_ROLES: [&str; 2] = ["public", "anonymous"];

impl EntityPolicy {
    /// Decides whether `role` may do `op`, without a role hierarchy (see [`Self::decide_with`]).
    ///
    /// # Errors
    /// [`AccessQueryError::UnknownOperation`].
    pub fn decide(&self, role: &str, op: &str) -> Result<AccessDecision, AccessQueryError> {
        self.decide_with(role, op, &RoleHierarchy::default())
    }

    /// Decides whether `role` may do `op`, exactly as the row-level security policies of
    /// `policy_sql` do in PostgreSQL. The acting `role` is `public` (or `anonymous`) for a
    /// request without a signed-in user, otherwise the signed-in user's role name.
    ///
    /// - `public` grants everyone; `none` grants nobody;
    /// - `user` grants every signed-in user, whatever the role;
    /// - `self` and `owner` grant every signed-in user the rows it owns, and nothing when the
    ///   entity has no owner (`unowned`);
    /// - `public_if_X` grants everyone the rows whose `X` flag is true;
    /// - any other grant admits a signed-in user of that role, or of a role above it in
    ///   `hierarchy`. Pseudo-role names never match by name.
    ///
    /// The entity's `rowLevel` predicate filters the rows of every grant.
    ///
    /// # Errors
    /// [`AccessQueryError::UnknownOperation`].
    pub fn decide_with(
        &self,
        role: &str,
        op: &str,
        hierarchy: &RoleHierarchy,
    ) -> Result<AccessDecision, AccessQueryError> {
        if !OPERATIONS.contains(&op) {
            return Err(AccessQueryError::UnknownOperation(op.to_string()));
        }
        let granted = self.rules.get(op).cloned().unwrap_or_default();
        let row_level = self.row_level.clone();
        if granted.is_empty() || granted.iter().all(|r| r == "none") {
            return Ok(AccessDecision::Deny {
                reason: format!("{op} is granted to no role"),
            });
        }
        let signed_in = !ANONYMOUS_ROLES.contains(&role);
        let tenant = self
            .tenant
            .clone()
            .filter(|_| !(signed_in && self.platform_roles.contains(role)));
        let conditioned =
            |grant: &str| self.conditions.contains_key(grant) || self.unmatched.contains_key(grant);
        let admits = |grant: &str| {
            signed_in
                && !is_pseudo_role(grant)
                && !is_pseudo_role(role)
                && hierarchy.admitted_by(grant).contains(role)
        };
        let full = granted.iter().find(|grant| match grant.as_str() {
            "public" => true,
            "user" => signed_in,
            other => admits(other) && !conditioned(other),
        });
        if let Some(grant) = full {
            return Ok(AccessDecision::Allow {
                granted_by: grant.clone(),
                row_level,
                tenant,
            });
        }
        let mut conditions = Vec::new();
        let mut grants = Vec::new();
        for grant in &granted {
            // A condition the entity lacks fails closed: the grant matches no row.
            if self.unmatched.contains_key(grant) {
                continue;
            }
            let field = self
                .conditions
                .get(grant)
                .cloned()
                .or_else(|| grant.strip_prefix("public_if_").map(str::to_owned));
            let condition = match grant.as_str() {
                "self" | "owner" if self.unowned.is_some() => continue,
                "self" | "owner" if signed_in => format!("{grant}: only rows the user owns"),
                other if other.starts_with("public_if_") || admits(other) => match field {
                    Some(field) => format!("{other}: only rows where {field} is true"),
                    None => continue,
                },
                _ => continue,
            };
            conditions.push(condition);
            grants.push(grant.clone());
        }
        if conditions.is_empty() {
            let mut reason = format!("{op} is granted to {} only", granted.join(", "));
            for (grant, why) in granted
                .iter()
                .filter_map(|g| Some((g, self.unmatched.get(g)?)))
            {
                reason.push_str(&format!(", and the {grant} grant matches no row ({why})"));
            }
            if let (Some(why), true) = (
                &self.unowned,
                signed_in
                    && granted
                        .iter()
                        .any(|g| matches!(g.as_str(), "self" | "owner")),
            ) {
                reason.push_str(&format!(
                    ", and the owner grant matches no row ({why}; it fails closed)"
                ));
            }
            Ok(AccessDecision::Deny { reason })
        } else {
            Ok(AccessDecision::Conditional {
                conditions,
                grants,
                row_level,
                tenant,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(rules: &[(&str, &[&str])], row_level: Option<&str>) -> EntityPolicy {
        EntityPolicy {
            rules: rules
                .iter()
                .map(|(op, roles)| {
                    (
                        op.to_string(),
                        roles.iter().map(|r| r.to_string()).collect(),
                    )
                })
                .collect(),
            row_level: row_level.map(str::to_string),
            ..EntityPolicy::default()
        }
    }

    #[test]
    fn a_granted_role_is_allowed_with_the_row_level_filter() {
        let p = policy(
            &[("read", &["user", "admin"])],
            Some("tenantId = $user.tenantId"),
        );
        assert_eq!(
            p.decide("user", "read").unwrap(),
            AccessDecision::Allow {
                granted_by: "user".into(),
                row_level: Some("tenantId = $user.tenantId".into()),
                tenant: None,
            }
        );
    }

    #[test]
    fn public_grants_everyone_and_none_grants_nobody() {
        assert!(matches!(
            policy(&[("read", &["public"])], None)
                .decide("anyone", "read")
                .unwrap(),
            AccessDecision::Allow { .. }
        ));
        assert_eq!(
            policy(&[("update", &["none"])], None)
                .decide("admin", "update")
                .unwrap(),
            AccessDecision::Deny {
                reason: "update is granted to no role".into()
            }
        );
    }

    #[test]
    fn owner_grants_fail_closed_when_the_entity_has_no_owner() {
        let mut p = policy(
            &[
                ("update", &["self", "admin"]),
                ("read", &["owner", "public_if_public"]),
            ],
            None,
        );
        p.unowned = Some("entity \"Follow\" has no owner field".into());
        assert_eq!(
            p.decide("user", "update").unwrap(),
            AccessDecision::Deny {
                reason:
                    "update is granted to self, admin only, and the owner grant matches no row \
                         (entity \"Follow\" has no owner field; it fails closed)"
                        .into()
            }
        );
        assert_eq!(
            p.decide("user", "read").unwrap(),
            AccessDecision::Conditional {
                conditions: vec!["public_if_public: only rows where public is true".into()],
                grants: vec!["public_if_public".into()],
                row_level: None,
                tenant: None,
            }
        );
        assert!(matches!(
            p.decide("admin", "update").unwrap(),
            AccessDecision::Allow { .. }
        ));
    }

    #[test]
    fn owner_grants_are_conditional_and_other_roles_are_denied() {
        let p = policy(
            &[
                ("update", &["self", "admin"]),
                ("read", &["owner", "public_if_public"]),
            ],
            None,
        );
        assert_eq!(
            p.decide("user", "update").unwrap(),
            AccessDecision::Conditional {
                conditions: vec!["self: only rows the user owns".into()],
                grants: vec!["self".into()],
                row_level: None,
                tenant: None,
            }
        );
        assert!(matches!(
            p.decide("admin", "update").unwrap(),
            AccessDecision::Allow { .. }
        ));
        let anonymous = p.decide("public", "read").unwrap();
        assert_eq!(
            anonymous,
            AccessDecision::Conditional {
                conditions: vec!["public_if_public: only rows where public is true".into()],
                grants: vec!["public_if_public".into()],
                row_level: None,
                tenant: None,
            }
        );
        assert_eq!(
            p.decide("user", "delete").unwrap(),
            AccessDecision::Deny {
                reason: "delete is granted to no role".into()
            }
        );
    }

    #[test]
    fn user_admits_every_signed_in_role_and_the_hierarchy_admits_higher_roles() {
        let p = policy(&[("read", &["user"]), ("update", &["admin"])], None);
        let hierarchy = RoleHierarchy::parse(&["supergod > god > admin"]).unwrap();
        let allowed = |role: &str, op: &str| {
            matches!(
                p.decide_with(role, op, &hierarchy).unwrap(),
                AccessDecision::Allow { .. }
            )
        };
        assert!(allowed("moderator", "read"));
        assert!(!allowed("public", "read"));
        assert!(!allowed("anonymous", "read"));
        assert!(allowed("god", "update"));
        assert!(allowed("supergod", "update"));
        assert!(!allowed("moderator", "update"));
        assert!(!p
            .decide("god", "update")
            .is_ok_and(|d| matches!(d, AccessDecision::Allow { .. })));
    }

    #[test]
    fn a_pseudo_role_never_matches_by_name() {
        let p = policy(&[("read", &["self"]), ("update", &["none"])], None);
        assert_eq!(
            p.decide("self", "read").unwrap(),
            AccessDecision::Conditional {
                conditions: vec!["self: only rows the user owns".into()],
                grants: vec!["self".into()],
                row_level: None,
                tenant: None,
            }
        );
        assert!(matches!(
            p.decide("none", "update").unwrap(),
            AccessDecision::Deny { .. }
        ));
    }

    #[test]
    fn an_unknown_operation_is_an_error() {
        assert_eq!(
            EntityPolicy::default()
                .decide("user", "drop")
                .unwrap_err()
                .to_string(),
            "unknown operation \"drop\": expected create, read, update or delete"
        );
    }
}

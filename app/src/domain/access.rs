//! Evaluating an entity's effective access policy: may ROLE do OP on ENTITY, and on which rows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One entity's policy as applied: operation → roles, plus an optional row-level predicate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityPolicy {
    /// `create`, `read`, `update`, `delete` → the roles granted.
    pub rules: BTreeMap<String, Vec<String>>,
    /// Applies to every granted access, as a filter on rows.
    pub row_level: Option<String>,
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
    },
    /// Granted only on some rows (owner roles, `public_if_*`).
    Conditional {
        /// Each grant that applies, with the condition it carries.
        conditions: Vec<String>,
        /// Row filter, if the entity has one.
        row_level: Option<String>,
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

impl EntityPolicy {
    /// Decides whether `role` may do `op`. `public` grants everyone; `none` grants nobody;
    /// `self` and `owner` grant any signed-in role on the rows it owns; `public_if_X` grants
    /// everyone on the rows whose `X` flag is true.
    ///
    /// # Errors
    /// [`AccessQueryError::UnknownOperation`].
    pub fn decide(&self, role: &str, op: &str) -> Result<AccessDecision, AccessQueryError> {
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
        if let Some(exact) = granted
            .iter()
            .find(|r| r.as_str() == role || r.as_str() == "public")
        {
            return Ok(AccessDecision::Allow {
                granted_by: exact.clone(),
                row_level,
            });
        }
        let signed_in = role != "public";
        let conditions: Vec<String> = granted
            .iter()
            .filter_map(|grant| match grant.as_str() {
                "self" | "owner" if signed_in => Some(format!("{grant}: only rows the user owns")),
                other => other
                    .strip_prefix("public_if_")
                    .map(|flag| format!("{other}: only rows where {flag} is true")),
            })
            .collect();
        if conditions.is_empty() {
            Ok(AccessDecision::Deny {
                reason: format!("{op} is granted to {} only", granted.join(", ")),
            })
        } else {
            Ok(AccessDecision::Conditional {
                conditions,
                row_level,
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
                row_level: Some("tenantId = $user.tenantId".into())
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
                row_level: None
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
                row_level: None
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

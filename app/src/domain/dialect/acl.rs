//! Reading an entity's `acl:`: roles per operation, the owner field and the row-level
//! predicate.

use super::{join, shift_within, Reader};
use crate::domain::diagnostic::{Position, SchemaError};
use crate::domain::model::{Acl, AclOp, OwnerField, Role, RowLevel};
use crate::domain::predicate::Predicate;
use crate::domain::yaml::{Node, Value};

const ACL_KEYS: [&str; 6] = ["create", "read", "update", "delete", "rowLevel", "owner"];

impl Reader<'_, '_> {
    pub(super) fn acl(&mut self, node: &Node, path: &str) -> Option<Acl> {
        if node.value == Value::Null {
            return None;
        }
        let keys = self.keys(node, path, &ACL_KEYS, "an acl mapping")?;
        let mut acl = Acl::default();
        for op in AclOp::ALL {
            let Some(list) = keys.get(op.as_str()) else {
                continue;
            };
            let op_path = join(path, op.as_str());
            let Some(names) = self.names(list, &op_path) else {
                continue;
            };
            let mut roles: Vec<Role> = Vec::new();
            for (name, position) in names {
                if !self.config.roles.contains(&name) {
                    let known = self.config.roles.iter().cloned().collect();
                    self.error(
                        position,
                        op_path.clone(),
                        SchemaError::UnknownRole { role: name, known },
                    );
                    continue;
                }
                if !roles.iter().any(|r| r.name == name) {
                    roles.push(Role {
                        name,
                        origin: position,
                    });
                }
            }
            acl.rules.insert(op, roles);
        }
        if let Some(owner_node) = keys.get("owner") {
            let origin = self.scalar_content_start(owner_node);
            if let Some(name) = self.string(owner_node, &join(path, "owner")) {
                acl.owner = Some(OwnerField { name, origin });
            }
        }
        if let Some(row_node) = keys.get("rowLevel") {
            let row_path = join(path, "rowLevel");
            match &row_node.value {
                Value::Null => {}
                Value::Str(source) => {
                    let origin = self.scalar_content_start(row_node);
                    match Predicate::parse(source) {
                        Ok(predicate) => {
                            acl.row_level = Some(RowLevel {
                                source: source.clone(),
                                predicate,
                                origin,
                            })
                        }
                        Err(error) => {
                            let at = shift_within(source, origin, error.offset);
                            self.error(
                                at,
                                row_path,
                                SchemaError::InvalidPredicate {
                                    detail: error.detail,
                                },
                            );
                        }
                    }
                }
                _ => self.wrong_shape(row_node, &row_path, "a predicate string"),
            }
        }
        Some(acl)
    }

    /// Where a scalar's text starts: one column right of an opening quote.
    fn scalar_content_start(&self, node: &Node) -> Position {
        let offset = usize::try_from(node.offset).unwrap_or(usize::MAX);
        let quoted = self
            .text
            .chars()
            .nth(offset)
            .is_some_and(|c| c == '"' || c == '\'');
        if quoted {
            node.position.shifted(1)
        } else {
            node.position
        }
    }
}

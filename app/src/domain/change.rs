//! What a package's new content changes, item by item, and how risky each item is.
//!
//! The classes follow what squawk, strong_migrations and Atlas lint flag on PostgreSQL, and the
//! expand/contract discipline for anything destructive: additive first, backfill, switch
//! readers, contract last.

mod diff;
mod risk;

use serde::{Deserialize, Serialize};

pub use diff::diff_entities;
pub use risk::{Risk, UnknownRisk};

/// What kind of edit an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A new entity (table).
    CreateEntity,
    /// An entity removed.
    DropEntity,
    /// The entity's table name changed.
    RenameTable,
    /// The entity renamed (`renamedFrom:`): its table renamed in place, rows kept.
    RenameEntity,
    /// A field renamed (`renamedFrom:`): its column renamed in place, values kept.
    RenameField,
    /// The primary key changed.
    AlterPrimaryKey,
    /// A new field (column).
    AddField,
    /// A field removed.
    DropField,
    /// A field's type, optionality, default, length, values or column changed.
    AlterField,
    /// A new index or unique constraint.
    AddIndex,
    /// An index or unique constraint removed.
    DropIndex,
    /// A new relation.
    AddRelation,
    /// A relation removed.
    DropRelation,
    /// A relation's target, fields or referential actions changed.
    AlterRelation,
    /// Access rules changed.
    AlterAcl,
    /// A finding about the package's access rules (an owner or condition a grant cannot find,
    /// rows no tenant owns): not an edit, but what the reviewer must know before approving.
    Finding,
}

impl ItemKind {
    /// The kind's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::CreateEntity => "create_entity",
            ItemKind::DropEntity => "drop_entity",
            ItemKind::RenameTable => "rename_table",
            ItemKind::RenameEntity => "rename_entity",
            ItemKind::RenameField => "rename_field",
            ItemKind::AlterPrimaryKey => "alter_primary_key",
            ItemKind::AddField => "add_field",
            ItemKind::DropField => "drop_field",
            ItemKind::AlterField => "alter_field",
            ItemKind::AddIndex => "add_index",
            ItemKind::DropIndex => "drop_index",
            ItemKind::AddRelation => "add_relation",
            ItemKind::DropRelation => "drop_relation",
            ItemKind::AlterRelation => "alter_relation",
            ItemKind::AlterAcl => "alter_acl",
            ItemKind::Finding => "finding",
        }
    }
}

/// One entity-level edit inside a schema change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeItem {
    /// The entity touched.
    pub entity: String,
    /// What kind of edit.
    pub kind: ItemKind,
    /// Key path of what changed: `Forum.fields.title`, `Forum.acl.read`.
    pub path: String,
    /// What changed, in one line: `type String → Int`.
    pub summary: String,
    /// The item's class.
    pub risk: Risk,
    /// Why it has that class, in one line.
    pub reason: String,
    /// How to do it safely (expand/contract), for risky items.
    pub advice: Option<String>,
    /// What the edit looks like it meant (a drop beside an add of the same type: a rename).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
}

/// Security items for the access findings among a package's `warnings`: an owner grant that
/// cannot be tied to an owner field matches no row, which the reviewer should know about.
pub fn finding_items(warnings: &[super::diagnostic::Diagnostic]) -> Vec<ChangeItem> {
    warnings
        .iter()
        .filter_map(|warning| match &warning.error {
            super::diagnostic::SchemaError::OwnerFieldMissing { role, entity, .. } => {
                Some(ChangeItem {
                    entity: entity.clone(),
                    kind: ItemKind::Finding,
                    path: warning.path.clone(),
                    summary: format!("{role} grant cannot be tied to an owner field"),
                    risk: Risk::Security,
                    reason: format!(
                        "the {role} grant matches no row (it fails closed) until the acl names its owner field"
                    ),
                    advice: Some(
                        "name the owner field in the acl (`owner: followerId`), or drop the grant"
                            .to_string(),
                    ),
                    suggestion: None,
                })
            }
            super::diagnostic::SchemaError::RoleConditionMissing { role, entity, detail } => {
                Some(ChangeItem {
                    entity: entity.clone(),
                    kind: ItemKind::Finding,
                    path: warning.path.clone(),
                    summary: format!("{role} grant matches no row"),
                    risk: Risk::Security,
                    reason: format!("{detail}: the grant fails closed"),
                    advice: warning.error.help(),
                    suggestion: None,
                })
            }
            super::diagnostic::SchemaError::OwnershipUnreachable { entity, root, .. } => {
                Some(ChangeItem {
                    entity: entity.clone(),
                    kind: ItemKind::Finding,
                    path: warning.path.clone(),
                    summary: format!("rows not tied to a {root}"),
                    risk: Risk::Security,
                    reason: format!(
                        "{entity} cannot reach {root} through belongsTo relations, so tenant isolation cannot scope its rows: every tenant shares them"
                    ),
                    advice: warning.error.help(),
                    suggestion: None,
                })
            }
            _ => None,
        })
        .collect()
}

/// The riskiest class among `items` (`Safe` when there are none).
pub fn overall_risk(items: &[ChangeItem]) -> Risk {
    items
        .iter()
        .map(|item| item.risk)
        .max()
        .unwrap_or(Risk::Safe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::config::Config;
    use crate::domain::dialect::parse_entities;
    use crate::domain::model::Entity;

    const BASE: &str = "
entities:
  - name: Thread
    fields:
      id: { type: cuid, primary: true, generated: true }
      tenantId: { type: string, required: true }
      title: { type: string, required: true, maxLength: 200 }
      body: { type: string, nullable: true }
      views: { type: int, default: 0 }
    indexes:
      - fields: [tenantId]
    relations:
      - name: tenant
        type: belongsTo
        entity: Tenant
        field: tenantId
        onDelete: Restrict
    acl:
      read: [user]
      update: [admin]
      rowLevel: \"tenantId = $user.tenantId\"
";

    #[track_caller]
    fn entities(yaml: &str) -> Vec<Entity> {
        let parsed = parse_entities(yaml, "test.yaml", &Config::default());
        assert!(
            parsed
                .diagnostics
                .iter()
                .all(|d| d.severity != crate::domain::Severity::Error),
            "{:?}",
            parsed.diagnostics
        );
        parsed.entities
    }

    /// The items of changing `BASE` by replacing `from` with `to`.
    #[track_caller]
    fn items_after(from: &str, to: &str) -> Vec<ChangeItem> {
        assert!(BASE.contains(from), "BASE lacks {from:?}");
        diff_entities(&entities(BASE), &entities(&BASE.replacen(from, to, 1)))
    }

    #[track_caller]
    fn only_item(items: &[ChangeItem]) -> &ChangeItem {
        assert_eq!(items.len(), 1, "{items:#?}");
        &items[0]
    }

    #[test]
    fn the_same_entities_have_no_items() {
        assert!(diff_entities(&entities(BASE), &entities(BASE)).is_empty());
    }

    #[test]
    fn a_new_entity_is_safe_and_a_dropped_one_loses_data() {
        let created = diff_entities(&[], &entities(BASE));
        assert_eq!(only_item(&created).kind, ItemKind::CreateEntity);
        assert_eq!(overall_risk(&created), Risk::Safe);
        let dropped = diff_entities(&entities(BASE), &[]);
        let item = only_item(&dropped);
        assert_eq!(
            (item.kind, item.risk),
            (ItemKind::DropEntity, Risk::DataLoss)
        );
        assert!(item
            .advice
            .as_deref()
            .unwrap()
            .starts_with("expand/contract"));
    }

    #[test]
    fn an_optional_field_is_safe_and_a_required_one_without_default_is_data_dependent() {
        let optional = items_after(
            "      views:",
            "      note: { type: string, nullable: true }\n      views:",
        );
        assert_eq!(only_item(&optional).risk, Risk::Safe);
        let required = items_after(
            "      views:",
            "      note: { type: string, required: true }\n      views:",
        );
        let item = only_item(&required);
        assert_eq!(
            (item.kind, item.risk),
            (ItemKind::AddField, Risk::DataDependent)
        );
        assert_eq!(item.path, "Thread.fields.note");
    }

    #[test]
    fn a_dropped_field_loses_data() {
        let items = items_after("      body: { type: string, nullable: true }\n", "");
        let item = only_item(&items);
        assert_eq!(
            (item.kind, item.risk, item.summary.as_str()),
            (ItemKind::DropField, Risk::DataLoss, "drop field body")
        );
    }

    #[test]
    fn a_narrowing_type_change_loses_data_and_a_widening_one_locks() {
        let narrowing = items_after(
            "views: { type: int, default: 0 }",
            "views: { type: boolean, default: false }",
        );
        assert!(
            narrowing
                .iter()
                .any(|i| i.risk == Risk::DataLoss && i.summary == "type Int → Boolean"),
            "{narrowing:#?}"
        );
        let widening = items_after(
            "views: { type: int, default: 0 }",
            "views: { type: bigint, default: 0 }",
        );
        assert_eq!(only_item(&widening).risk, Risk::Locking);
    }

    #[test]
    fn making_a_field_required_breaks_clients() {
        let items = items_after(
            "body: { type: string, nullable: true }",
            "body: { type: string, required: true }",
        );
        let item = only_item(&items);
        assert_eq!(
            (item.risk, item.summary.as_str()),
            (Risk::Breaking, "optional → required")
        );
    }

    #[test]
    fn dropping_the_default_of_a_required_field_breaks_inserts() {
        let items = items_after(
            "views: { type: int, default: 0 }",
            "views: { type: int, required: true }",
        );
        assert_eq!(only_item(&items).risk, Risk::Breaking);
    }

    #[test]
    fn a_shorter_max_length_is_data_dependent_and_a_longer_one_is_safe() {
        assert_eq!(
            only_item(&items_after("maxLength: 200", "maxLength: 100")).risk,
            Risk::DataDependent
        );
        assert_eq!(
            only_item(&items_after("maxLength: 200", "maxLength: 400")).risk,
            Risk::Safe
        );
    }

    #[test]
    fn a_new_unique_index_is_data_dependent_and_a_plain_one_locks() {
        let unique = items_after(
            "      - fields: [tenantId]\n",
            "      - fields: [tenantId]\n      - fields: [tenantId, title]\n        unique: true\n",
        );
        assert_eq!(only_item(&unique).risk, Risk::DataDependent);
        let plain = items_after(
            "      - fields: [tenantId]\n",
            "      - fields: [tenantId]\n      - fields: [title]\n",
        );
        assert_eq!(only_item(&plain).risk, Risk::Locking);
    }

    #[test]
    fn granting_a_role_is_a_security_item_and_revoking_one_breaks_clients() {
        let granted = items_after("read: [user]", "read: [user, public]");
        let item = only_item(&granted);
        assert_eq!(
            (item.risk, item.path.as_str(), item.summary.as_str()),
            (Risk::Security, "Thread.acl.read", "read granted to public")
        );
        let revoked = items_after("update: [admin]", "update: []");
        assert_eq!(only_item(&revoked).risk, Risk::Breaking);
    }

    #[test]
    fn removing_or_changing_a_row_level_rule_is_a_security_item() {
        let removed = items_after("      rowLevel: \"tenantId = $user.tenantId\"\n", "");
        assert_eq!(only_item(&removed).risk, Risk::Security);
        let changed = items_after(
            "rowLevel: \"tenantId = $user.tenantId\"",
            "rowLevel: \"tenantId = $user.tenantId OR views = 0\"",
        );
        assert_eq!(only_item(&changed).risk, Risk::Security);
    }

    #[test]
    fn switching_on_delete_to_cascade_can_lose_data() {
        let items = items_after("onDelete: Restrict", "onDelete: Cascade");
        assert_eq!(only_item(&items).risk, Risk::DataLoss);
    }

    #[test]
    fn a_new_entity_readable_by_public_is_flagged() {
        let yaml = BASE.replace("read: [user]", "read: [public]");
        let items = diff_entities(&[], &entities(&yaml));
        assert_eq!(overall_risk(&items), Risk::Security);
    }

    #[test]
    fn risks_parse_from_their_names_and_order_by_severity() {
        for risk in Risk::ALL {
            assert_eq!(risk.as_str().parse::<Risk>(), Ok(risk));
        }
        assert!(
            Risk::DataLoss > Risk::Security
                && Risk::Security > Risk::Breaking
                && Risk::Locking > Risk::DataDependent
        );
        assert!(Risk::Breaking.needs_confirmation() && !Risk::Locking.needs_confirmation());
    }
}

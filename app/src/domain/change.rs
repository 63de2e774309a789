//! What a package's new content changes, item by item, and how risky each item is.
//!
//! The classes follow what squawk, strong_migrations and Atlas lint flag on PostgreSQL, and the
//! expand/contract discipline for anything destructive: additive first, backfill, switch
//! readers, contract last.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::model::{Acl, AclOp, Entity, Field, FieldType, Index, Relation, RelationKind};

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
}

impl ItemKind {
    /// The kind's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::CreateEntity => "create_entity",
            ItemKind::DropEntity => "drop_entity",
            ItemKind::RenameTable => "rename_table",
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
                    kind: ItemKind::AlterAcl,
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

const DROP_ADVICE: &str = "expand/contract: ship a release that stops reading and writing it, back up the data, then drop it in a later change";
const RENAME_ADVICE: &str = "expand/contract: add the new name alongside the old, write both, backfill, switch readers, then drop the old name";
const REQUIRED_ADVICE: &str = "expand/contract: add it optional (or with a default), backfill existing rows, then make it required";
const TYPE_ADVICE: &str = "expand/contract: add a new column of the new type, backfill and dual-write, switch readers, then drop the old column";
const UNIQUE_ADVICE: &str =
    "check for duplicates first (select ... group by ... having count(*) > 1) and clean them up";
const ACL_ADVICE: &str = "confirm that every role granted here should see or change these rows";

/// The items that turn `before` (the applied entities of a package, empty when it was never
/// applied) into `after` (its entities on disk, empty when it was removed). Deterministic:
/// entities by name, then items in a fixed order.
pub fn diff_entities(before: &[Entity], after: &[Entity]) -> Vec<ChangeItem> {
    let before: BTreeMap<&str, &Entity> = before.iter().map(|e| (e.name.as_str(), e)).collect();
    let after: BTreeMap<&str, &Entity> = after.iter().map(|e| (e.name.as_str(), e)).collect();
    let names: BTreeSet<&str> = before.keys().chain(after.keys()).copied().collect();
    let mut items = Vec::new();
    for name in names {
        match (before.get(name), after.get(name)) {
            (None, Some(new)) => create_entity(new, &mut items),
            (Some(_), None) => items.push(ChangeItem {
                entity: name.to_string(),
                kind: ItemKind::DropEntity,
                path: name.to_string(),
                summary: format!("drop entity {name}"),
                risk: Risk::DataLoss,
                reason: "drops the table and every row in it".to_string(),
                advice: Some(DROP_ADVICE.to_string()),
            }),
            (Some(old), Some(new)) => alter_entity(old, new, &mut items),
            (None, None) => {}
        }
    }
    items
}

fn item(
    entity: &str,
    kind: ItemKind,
    path: String,
    summary: String,
    risk: Risk,
    reason: &str,
    advice: Option<&str>,
) -> ChangeItem {
    ChangeItem {
        entity: entity.to_string(),
        kind,
        path,
        summary,
        risk,
        reason: reason.to_string(),
        advice: advice.map(str::to_string),
    }
}

fn create_entity(entity: &Entity, items: &mut Vec<ChangeItem>) {
    let name = &entity.name;
    items.push(item(
        name,
        ItemKind::CreateEntity,
        name.clone(),
        format!("create entity {name} ({} fields)", entity.fields.len()),
        Risk::Safe,
        "a new table holds no rows yet",
        None,
    ));
    // A new table's access rules still matter: public access deserves an explicit look.
    if let Some(acl) = &entity.acl {
        for op in AclOp::ALL {
            if roles(Some(acl), op).contains("public") {
                items.push(item(
                    name,
                    ItemKind::AlterAcl,
                    format!("{name}.acl.{}", op.as_str()),
                    format!("{} granted to public", op.as_str()),
                    Risk::Security,
                    "grants access to anyone, signed in or not",
                    Some(ACL_ADVICE),
                ));
            }
        }
    }
}

fn alter_entity(old: &Entity, new: &Entity, items: &mut Vec<ChangeItem>) {
    let name = &new.name;
    if table_name(old) != table_name(new) {
        items.push(item(
            name,
            ItemKind::RenameTable,
            format!("{name}.tableName"),
            format!("table {} → {}", table_name(old), table_name(new)),
            Risk::Breaking,
            "renames the table: running clients and queries use the old name",
            Some(RENAME_ADVICE),
        ));
    }
    if sorted(&old.primary_key) != sorted(&new.primary_key) {
        items.push(item(
            name,
            ItemKind::AlterPrimaryKey,
            format!("{name}.primaryKey"),
            format!(
                "primary key ({}) → ({})",
                old.primary_key.join(", "),
                new.primary_key.join(", ")
            ),
            Risk::Breaking,
            "changes the identity of every row and every foreign key that points here",
            Some(RENAME_ADVICE),
        ));
    }
    alter_fields(old, new, items);
    alter_indexes(old, new, items);
    alter_relations(old, new, items);
    alter_acl(old, new, items);
}

fn alter_fields(old: &Entity, new: &Entity, items: &mut Vec<ChangeItem>) {
    let name = &new.name;
    let old_fields: BTreeMap<&str, &Field> =
        old.fields.iter().map(|f| (f.name.as_str(), f)).collect();
    let new_fields: BTreeMap<&str, &Field> =
        new.fields.iter().map(|f| (f.name.as_str(), f)).collect();
    let names: BTreeSet<&str> = old_fields
        .keys()
        .chain(new_fields.keys())
        .copied()
        .collect();
    for field_name in names {
        let path = format!("{name}.fields.{field_name}");
        match (old_fields.get(field_name), new_fields.get(field_name)) {
            (None, Some(field)) => {
                let (risk, reason, advice) = if field.optional {
                    (
                        Risk::Safe,
                        "adds a nullable column: instant, no rewrite",
                        None,
                    )
                } else if field.default.is_some() {
                    (
                        Risk::Safe,
                        "adds a column with a default: instant on PostgreSQL 11+",
                        None,
                    )
                } else {
                    (
                        Risk::DataDependent,
                        "adds a required column without a default: fails when the table has rows",
                        Some(REQUIRED_ADVICE),
                    )
                };
                let summary = format!(
                    "add field {field_name} {}{}",
                    field.field_type,
                    if field.optional { "?" } else { "" }
                );
                items.push(item(
                    name,
                    ItemKind::AddField,
                    path,
                    summary,
                    risk,
                    reason,
                    advice,
                ));
            }
            (Some(_), None) => items.push(item(
                name,
                ItemKind::DropField,
                path,
                format!("drop field {field_name}"),
                Risk::DataLoss,
                "drops the column and its data",
                Some(DROP_ADVICE),
            )),
            (Some(before), Some(after)) => alter_field(name, &path, before, after, items),
            (None, None) => {}
        }
    }
}

fn alter_field(
    entity: &str,
    path: &str,
    before: &Field,
    after: &Field,
    items: &mut Vec<ChangeItem>,
) {
    let mut push = |summary: String, risk: Risk, reason: &str, advice: Option<&str>| {
        items.push(item(
            entity,
            ItemKind::AlterField,
            path.to_string(),
            summary,
            risk,
            reason,
            advice,
        ));
    };
    if before.field_type != after.field_type {
        let summary = format!("type {} → {}", before.field_type, after.field_type);
        if is_widening(before.field_type, after.field_type) {
            push(
                summary,
                Risk::Locking,
                "widens the type: rewrites the table under an exclusive lock",
                Some(TYPE_ADVICE),
            );
        } else {
            push(
                summary,
                Risk::DataLoss,
                "narrows or converts the type: values that do not fit are lost or the cast fails",
                Some(TYPE_ADVICE),
            );
        }
    }
    if before.optional && !after.optional {
        push(
            "optional → required".to_string(),
            Risk::Breaking,
            "existing nulls make it fail, and clients that omit the field break",
            Some(REQUIRED_ADVICE),
        );
    } else if !before.optional && after.optional {
        push(
            "required → optional".to_string(),
            Risk::Hygiene,
            "readers must now handle null",
            None,
        );
    }
    if before.default != after.default {
        let show = |d: &Option<super::model::DefaultValue>| {
            d.as_ref().map_or("none".to_string(), ToString::to_string)
        };
        let summary = format!(
            "default {} → {}",
            show(&before.default),
            show(&after.default)
        );
        if after.default.is_none() && !after.optional {
            push(
                summary,
                Risk::Breaking,
                "inserts that relied on the default now fail",
                Some(REQUIRED_ADVICE),
            );
        } else {
            push(summary, Risk::Safe, "affects new rows only", None);
        }
    }
    if before.max_length != after.max_length {
        let show = |n: Option<u64>| n.map_or("unlimited".to_string(), |n| n.to_string());
        let summary = format!(
            "maxLength {} → {}",
            show(before.max_length),
            show(after.max_length)
        );
        let narrower = match (before.max_length, after.max_length) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(old), Some(new)) => new < old,
        };
        if narrower {
            push(
                summary,
                Risk::DataDependent,
                "fails when existing values are longer, and rewrites the column",
                Some(LENGTH_ADVICE),
            );
        } else {
            push(
                summary,
                Risk::Safe,
                "widening a varchar is a metadata change on PostgreSQL",
                None,
            );
        }
    }
    if before.enum_values != after.enum_values {
        let old: BTreeSet<&String> = before.enum_values.iter().flatten().collect();
        let new: BTreeSet<&String> = after.enum_values.iter().flatten().collect();
        let removed: Vec<&str> = old.difference(&new).map(|s| s.as_str()).collect();
        let added: Vec<&str> = new.difference(&old).map(|s| s.as_str()).collect();
        let summary = format!(
            "enum values +[{}] -[{}]",
            added.join(", "),
            removed.join(", ")
        );
        if removed.is_empty() || after.enum_values.is_none() {
            push(summary, Risk::Safe, "allows more values", None);
        } else {
            push(
                summary,
                Risk::DataDependent,
                "rows holding a removed value no longer fit",
                Some("update rows that hold removed values first"),
            );
        }
    }
    if before.column_name != after.column_name {
        let show = |c: &Option<String>, f: &Field| c.clone().unwrap_or_else(|| f.name.clone());
        push(
            format!(
                "column {} → {}",
                show(&before.column_name, before),
                show(&after.column_name, after)
            ),
            Risk::Breaking,
            "renames the column: running clients and queries use the old name",
            Some(RENAME_ADVICE),
        );
    }
    if before.min != after.min || before.max != after.max {
        push(
            "min/max bounds changed".to_string(),
            Risk::Hygiene,
            "bounds are validated by the application, not the database",
            None,
        );
    }
    if before.alias != after.alias {
        push(
            "identifier kind changed".to_string(),
            Risk::Hygiene,
            "same column type; new ids are generated differently",
            None,
        );
    }
}

const LENGTH_ADVICE: &str =
    "find longer values first (select ... where length(col) > n) and shorten them";

/// Whether every value of `from` fits `to` without loss.
fn is_widening(from: FieldType, to: FieldType) -> bool {
    matches!(
        (from, to),
        (
            FieldType::Int,
            FieldType::BigInt | FieldType::Float | FieldType::String
        ) | (
            FieldType::BigInt | FieldType::Float | FieldType::Boolean | FieldType::DateTime,
            FieldType::String
        )
    )
}

fn alter_indexes(old: &Entity, new: &Entity, items: &mut Vec<ChangeItem>) {
    let name = &new.name;
    let key = |index: &Index| (sorted(&index.fields), index.unique);
    let old_set: BTreeMap<_, &Index> = old.indexes.iter().map(|i| (key(i), i)).collect();
    let new_set: BTreeMap<_, &Index> = new.indexes.iter().map(|i| (key(i), i)).collect();
    for (k, index) in &new_set {
        if old_set.contains_key(k) {
            continue;
        }
        let path = format!("{name}.indexes.[{}]", index.fields.join(", "));
        if index.unique {
            items.push(item(
                name,
                ItemKind::AddIndex,
                path,
                format!("add unique index ({})", index.fields.join(", ")),
                Risk::DataDependent,
                "fails when existing rows hold duplicates, and blocks writes while it builds",
                Some(UNIQUE_ADVICE),
            ));
        } else {
            items.push(item(
                name,
                ItemKind::AddIndex,
                path,
                format!("add index ({})", index.fields.join(", ")),
                Risk::Locking,
                "builds on an existing table and blocks writes while it does (Prisma does not build concurrently)",
                Some("apply in a quiet window, or create it CONCURRENTLY by hand first"),
            ));
        }
    }
    for (k, index) in &old_set {
        if new_set.contains_key(k) {
            continue;
        }
        let path = format!("{name}.indexes.[{}]", index.fields.join(", "));
        if index.unique {
            items.push(item(
                name,
                ItemKind::DropIndex,
                path,
                format!("drop unique index ({})", index.fields.join(", ")),
                Risk::Breaking,
                "uniqueness is no longer enforced: duplicates can appear, and upserts by this key break",
                None,
            ));
        } else {
            items.push(item(
                name,
                ItemKind::DropIndex,
                path,
                format!("drop index ({})", index.fields.join(", ")),
                Risk::Hygiene,
                "queries that used it may slow down",
                None,
            ));
        }
    }
    // Renamed indexes with the same columns are a hygiene matter.
    for (k, index) in &new_set {
        if let Some(before) = old_set.get(k) {
            if before.name != index.name {
                items.push(item(
                    name,
                    ItemKind::AddIndex,
                    format!("{name}.indexes.[{}]", index.fields.join(", ")),
                    format!(
                        "index name {} → {}",
                        before.name.as_deref().unwrap_or("default"),
                        index.name.as_deref().unwrap_or("default")
                    ),
                    Risk::Hygiene,
                    "renames the index; no data changes",
                    None,
                ));
            }
        }
    }
}

fn alter_relations(old: &Entity, new: &Entity, items: &mut Vec<ChangeItem>) {
    let name = &new.name;
    let old_rel: BTreeMap<&str, &Relation> =
        old.relations.iter().map(|r| (r.name.as_str(), r)).collect();
    let new_rel: BTreeMap<&str, &Relation> =
        new.relations.iter().map(|r| (r.name.as_str(), r)).collect();
    let names: BTreeSet<&str> = old_rel.keys().chain(new_rel.keys()).copied().collect();
    for rel in names {
        let path = format!("{name}.relations.{rel}");
        match (old_rel.get(rel), new_rel.get(rel)) {
            (None, Some(r)) => {
                let summary = format!("add relation {rel} ({} {})", r.kind.as_str(), r.target);
                if r.kind == RelationKind::BelongsTo {
                    items.push(item(
                        name,
                        ItemKind::AddRelation,
                        path,
                        summary,
                        Risk::DataDependent,
                        "adds a foreign key: fails when existing rows point at missing targets, and validates under lock",
                        Some("clean up orphaned rows first"),
                    ));
                } else {
                    items.push(item(
                        name,
                        ItemKind::AddRelation,
                        path,
                        summary,
                        Risk::Safe,
                        "the foreign key lives on the other side",
                        None,
                    ));
                }
            }
            (Some(r), None) => items.push(item(
                name,
                ItemKind::DropRelation,
                path,
                format!("drop relation {rel} ({} {})", r.kind.as_str(), r.target),
                Risk::Breaking,
                "clients lose the relation field, and referential integrity is no longer enforced",
                None,
            )),
            (Some(before), Some(after)) => {
                if before.kind != after.kind
                    || before.target != after.target
                    || before.fields != after.fields
                    || before.references != after.references
                {
                    items.push(item(
                        name,
                        ItemKind::AlterRelation,
                        path.clone(),
                        format!(
                            "relation {rel}: {} {}({}) → {} {}({})",
                            before.kind.as_str(),
                            before.target,
                            before.fields.join(", "),
                            after.kind.as_str(),
                            after.target,
                            after.fields.join(", ")
                        ),
                        Risk::Breaking,
                        "re-points the relation: clients and existing foreign keys change meaning",
                        Some(RENAME_ADVICE),
                    ));
                }
                if before.on_delete != after.on_delete || before.on_update != after.on_update {
                    let show = |a: Option<super::model::ReferentialAction>| {
                        a.map_or("default", |a| a.as_str())
                    };
                    let summary = format!(
                        "onDelete {} → {}, onUpdate {} → {}",
                        show(before.on_delete),
                        show(after.on_delete),
                        show(before.on_update),
                        show(after.on_update)
                    );
                    let cascades = after.on_delete
                        == Some(super::model::ReferentialAction::Cascade)
                        && before.on_delete != after.on_delete;
                    if cascades {
                        items.push(item(
                            name,
                            ItemKind::AlterRelation,
                            path.clone(),
                            summary,
                            Risk::DataLoss,
                            "deleting a parent row now deletes these rows too",
                            Some("confirm that these rows should not outlive their parent"),
                        ));
                    } else {
                        items.push(item(
                            name,
                            ItemKind::AlterRelation,
                            path.clone(),
                            summary,
                            Risk::Hygiene,
                            "changes what happens to these rows when the parent changes",
                            None,
                        ));
                    }
                }
                if before.optional != after.optional {
                    items.push(item(
                        name,
                        ItemKind::AlterRelation,
                        path,
                        "relation optionality changed".to_string(),
                        Risk::Hygiene,
                        "follows the foreign key field's optionality",
                        None,
                    ));
                }
            }
            (None, None) => {}
        }
    }
}

fn roles(acl: Option<&Acl>, op: AclOp) -> BTreeSet<String> {
    acl.and_then(|acl| acl.rules.get(&op))
        .map(|roles| roles.iter().map(|role| role.name.clone()).collect())
        .unwrap_or_default()
}

fn alter_acl(old: &Entity, new: &Entity, items: &mut Vec<ChangeItem>) {
    let name = &new.name;
    for op in AclOp::ALL {
        let before = roles(old.acl.as_ref(), op);
        let after = roles(new.acl.as_ref(), op);
        let path = format!("{name}.acl.{}", op.as_str());
        let added: Vec<&str> = after.difference(&before).map(String::as_str).collect();
        let removed: Vec<&str> = before.difference(&after).map(String::as_str).collect();
        if !added.is_empty() {
            items.push(item(
                name,
                ItemKind::AlterAcl,
                path.clone(),
                format!("{} granted to {}", op.as_str(), added.join(", ")),
                Risk::Security,
                if added.contains(&"public") {
                    "grants access to anyone, signed in or not"
                } else {
                    "grants more roles access"
                },
                Some(ACL_ADVICE),
            ));
        }
        if !removed.is_empty() {
            items.push(item(
                name,
                ItemKind::AlterAcl,
                path,
                format!("{} revoked from {}", op.as_str(), removed.join(", ")),
                Risk::Breaking,
                "clients acting in these roles lose access",
                None,
            ));
        }
    }
    let before = old
        .acl
        .as_ref()
        .and_then(|acl| acl.row_level.as_ref())
        .map(|r| r.source.trim().to_string());
    let after = new
        .acl
        .as_ref()
        .and_then(|acl| acl.row_level.as_ref())
        .map(|r| r.source.trim().to_string());
    if before != after {
        let path = format!("{name}.acl.rowLevel");
        match (&before, &after) {
            (Some(old), None) => items.push(item(
                name,
                ItemKind::AlterAcl,
                path,
                format!("rowLevel removed (was \"{old}\")"),
                Risk::Security,
                "every row becomes visible to the roles granted",
                Some(ACL_ADVICE),
            )),
            (None, Some(new)) => items.push(item(
                name,
                ItemKind::AlterAcl,
                path,
                format!("rowLevel added: \"{new}\""),
                Risk::Hygiene,
                "narrows which rows are visible",
                None,
            )),
            (Some(old), Some(new)) => items.push(item(
                name,
                ItemKind::AlterAcl,
                path,
                format!("rowLevel \"{old}\" → \"{new}\""),
                Risk::Security,
                "a changed row-level rule may loosen access",
                Some(ACL_ADVICE),
            )),
            (None, None) => {}
        }
    }
}

fn table_name(entity: &Entity) -> &str {
    entity.table_name.as_deref().unwrap_or(&entity.name)
}

fn sorted(names: &[String]) -> Vec<String> {
    let mut names = names.to_vec();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::config::Config;
    use crate::domain::dialect::parse_entities;

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

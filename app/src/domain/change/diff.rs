//! The diff of a package's entities: each edit found between the applied and the new entities,
//! classified by risk, with the reason and the expand/contract advice.

use std::collections::{BTreeMap, BTreeSet};

use super::super::model::{Acl, AclOp, Entity, Field, FieldType, Index, Relation, RelationKind};
use super::super::rename::{self, Renames};
use super::{ChangeItem, ItemKind, Risk};

const DROP_ADVICE: &str = "expand/contract: ship a release that stops reading and writing it, back up the data, then drop it in a later change";
const RENAME_ADVICE: &str = "expand/contract: add the new name alongside the old, write both, backfill, switch readers, then drop the old name";
const RENAMED_ADVICE: &str = "ship the clients that use the new name with this change, or expand/contract: add the new name alongside the old, backfill, switch readers, then drop the old";
const REQUIRED_ADVICE: &str = "expand/contract: add it optional (or with a default), backfill existing rows, then make it required";
const TYPE_ADVICE: &str = "expand/contract: add a new column of the new type, backfill and dual-write, switch readers, then drop the old column";
const UNIQUE_ADVICE: &str =
    "check for duplicates first (select ... group by ... having count(*) > 1) and clean them up";
const ACL_ADVICE: &str = "confirm that every role granted here should see or change these rows";

/// The items that turn `before` (the applied entities of a package, empty when it was never
/// applied) into `after` (its entities on disk, empty when it was removed). Deterministic:
/// entities by name, then items in a fixed order.
/// Renames (`renamedFrom:`) come first, and the rest is the diff from the state with them done.
pub fn diff_entities(before: &[Entity], after: &[Entity]) -> Vec<ChangeItem> {
    let renames = rename::renames(before, after);
    let renamed;
    let before = if renames.is_empty() {
        before
    } else {
        renamed = rename::renamed_state(before, &renames, after);
        &renamed
    };
    let mut items = rename_items(&renames);
    let before: BTreeMap<&str, &Entity> = before.iter().map(|e| (e.name.as_str(), e)).collect();
    let after: BTreeMap<&str, &Entity> = after.iter().map(|e| (e.name.as_str(), e)).collect();
    let names: BTreeSet<&str> = before.keys().chain(after.keys()).copied().collect();
    let first = items.len();
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
                suggestion: None,
            }),
            (Some(old), Some(new)) => alter_entity(old, new, &mut items),
            (None, None) => {}
        }
    }
    suggest_entity_renames(&before, &after, &mut items[first..]);
    items
}

fn rename_items(renames: &Renames) -> Vec<ChangeItem> {
    let entities = renames.entities.iter().map(|r| {
        let table = if r.from_table == r.to_table {
            format!("table \"{}\" stays", r.to_table)
        } else {
            format!("table \"{}\" → \"{}\"", r.from_table, r.to_table)
        };
        item(
            &r.to,
            ItemKind::RenameEntity,
            format!("{}.renamedFrom", r.to),
            format!("rename entity {} → {} ({table})", r.from, r.to),
            Risk::Breaking,
            "renames the table and keeps every row: running clients and queries use the old name",
            Some(RENAMED_ADVICE),
        )
    });
    let fields = renames.fields.iter().map(|r| {
        item(
            &r.entity,
            ItemKind::RenameField,
            format!("{}.fields.{}", r.entity, r.to),
            format!("rename field {} → {}", r.from, r.to),
            Risk::Breaking,
            "renames the column and keeps its values: running clients and queries use the old name",
            Some(RENAMED_ADVICE),
        )
    });
    entities.chain(fields).collect()
}

/// An entity dropped and another created with fields of the same types in one change looks like
/// a rename: the drop says how to keep the rows.
fn suggest_entity_renames(
    before: &BTreeMap<&str, &Entity>,
    after: &BTreeMap<&str, &Entity>,
    items: &mut [ChangeItem],
) {
    let shape = |e: &Entity| -> Vec<FieldType> {
        let mut types: Vec<FieldType> = e.fields.iter().map(|f| f.field_type).collect();
        types.sort_unstable();
        types
    };
    for drop in items.iter_mut().filter(|i| i.kind == ItemKind::DropEntity) {
        let Some(old) = before.get(drop.entity.as_str()) else {
            continue;
        };
        let twin = after
            .values()
            .find(|new| !before.contains_key(new.name.as_str()) && shape(new) == shape(old));
        if let Some(new) = twin {
            drop.suggestion = Some(rename_hint(&old.name, &format!("entity {}", new.name)));
        }
    }
}

/// What a drop that looks like a rename says.
fn rename_hint(earlier: &str, new: &str) -> String {
    format!(
        "looks like a rename: add `renamedFrom: {earlier}` to {new} (renames in place and keeps the data)"
    )
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
        suggestion: None,
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
    // A new table's access rules still matter: anonymous access deserves an explicit look.
    if let Some(acl) = &entity.acl {
        for op in AclOp::ALL {
            let anonymous: Vec<String> = roles(Some(acl), op)
                .into_iter()
                .filter(|role| admits_anonymous(role))
                .collect();
            if !anonymous.is_empty() {
                items.push(item(
                    name,
                    ItemKind::AlterAcl,
                    format!("{name}.acl.{}", op.as_str()),
                    format!("{} granted to {}", op.as_str(), anonymous.join(", ")),
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
            (Some(dropped), None) => {
                // A field of the same type added beside it looks like a rename.
                let twin = new.fields.iter().find(|f| {
                    !old_fields.contains_key(f.name.as_str()) && f.field_type == dropped.field_type
                });
                let mut drop = item(
                    name,
                    ItemKind::DropField,
                    path,
                    format!("drop field {field_name}"),
                    Risk::DataLoss,
                    "drops the column and its data",
                    Some(DROP_ADVICE),
                );
                drop.suggestion = twin.map(|f| rename_hint(field_name, &f.name));
                items.push(drop);
            }
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
        let show = |d: &Option<super::super::model::DefaultValue>| {
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
                    let show = |a: Option<super::super::model::ReferentialAction>| {
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
                        == Some(super::super::model::ReferentialAction::Cascade)
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

/// Whether a grant to `role` admits requests without a signed-in user (`public`, `public_if_*`).
fn admits_anonymous(role: &str) -> bool {
    role == "public" || role.starts_with("public_if_")
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
                if added.iter().any(|role| admits_anonymous(role)) {
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
    let owner_of = |entity: &Entity| -> Option<String> {
        entity
            .acl
            .as_ref()
            .and_then(|acl| acl.owner.as_ref())
            .map(|o| o.name.clone())
    };
    let (old_owner, new_owner) = (owner_of(old), owner_of(new));
    if old_owner != new_owner {
        let shown = |owner: &Option<String>| owner.clone().unwrap_or_else(|| "none".to_owned());
        items.push(item(
            name,
            ItemKind::AlterAcl,
            format!("{name}.acl.owner"),
            format!("owner field {} → {}", shown(&old_owner), shown(&new_owner)),
            Risk::Security,
            "who counts as a row's owner changes, and with it who may read and write it",
            Some(ACL_ADVICE),
        ));
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

//! Two packages' declarations of one entity, compared aspect by aspect, so that a conflict says
//! exactly what differs and what either side must change to agree.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::model::{AclOp, Entity, Field, Index, Relation};

/// One way two declarations of an entity differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// What differs: `field`, `type`, `optionality`, `default`, `length`, `values`, `bounds`,
    /// `column`, `primary key`, `table`, `index`, `relation` or `acl`.
    pub aspect: String,
    /// Where: a field, index, relation or ACL operation (`Attachment.size`, `read`...).
    pub subject: String,
    /// What the first declaration says (`absent` when it does not have the subject).
    pub left: String,
    /// What the second declaration says.
    pub right: String,
}

const ABSENT: &str = "absent";

/// Every difference between `left` and `right`, in field, key, index, relation, ACL order.
#[must_use]
pub fn compare(left: &Entity, right: &Entity) -> Vec<Difference> {
    let mut out = Vec::new();
    let entity = &left.name;
    let mut push = |aspect: &str, subject: String, l: String, r: String| {
        if l != r {
            out.push(Difference {
                aspect: aspect.to_string(),
                subject,
                left: l,
                right: r,
            });
        }
    };

    push(
        "table",
        entity.clone(),
        left.table_name.clone().unwrap_or_else(|| entity.clone()),
        right.table_name.clone().unwrap_or_else(|| entity.clone()),
    );
    let names = ordered_union(
        left.fields.iter().map(|f| f.name.as_str()),
        right.fields.iter().map(|f| f.name.as_str()),
    );
    for name in names {
        let subject = format!("{entity}.{name}");
        let (l, r) = (field(left, &name), field(right, &name));
        let (Some(l), Some(r)) = (l, r) else {
            push("field", subject, presence(l), presence(r));
            continue;
        };
        push(
            "type",
            subject.clone(),
            l.field_type.to_string(),
            r.field_type.to_string(),
        );
        push(
            "optionality",
            subject.clone(),
            optionality(l),
            optionality(r),
        );
        push("default", subject.clone(), default_of(l), default_of(r));
        push("length", subject.clone(), length_of(l), length_of(r));
        push("values", subject.clone(), values_of(l), values_of(r));
        push("bounds", subject.clone(), bounds_of(l), bounds_of(r));
        push(
            "column",
            subject,
            l.column_name.clone().unwrap_or_else(|| name.clone()),
            r.column_name.clone().unwrap_or_else(|| name.clone()),
        );
    }
    push(
        "primary key",
        entity.clone(),
        left.primary_key.join(", "),
        right.primary_key.join(", "),
    );
    let indexes = ordered_union(
        left.indexes.iter().map(|i| i.fields.join(", ")),
        right.indexes.iter().map(|i| i.fields.join(", ")),
    );
    for key in indexes {
        let describe = |e: &Entity| {
            e.indexes
                .iter()
                .find(|i| i.fields.join(", ") == key)
                .map_or(ABSENT.to_string(), index_text)
        };
        push(
            "index",
            format!("{entity}({key})"),
            describe(left),
            describe(right),
        );
    }
    let relations = ordered_union(
        left.relations.iter().map(|r| r.name.as_str()),
        right.relations.iter().map(|r| r.name.as_str()),
    );
    for name in relations {
        let describe = |e: &Entity| {
            e.relations
                .iter()
                .find(|r| r.name == name)
                .map_or(ABSENT.to_string(), relation_text)
        };
        push(
            "relation",
            format!("{entity}.{name}"),
            describe(left),
            describe(right),
        );
    }
    for op in AclOp::ALL {
        push(
            "acl",
            format!("{entity} {}", op.as_str()),
            roles(left, op),
            roles(right, op),
        );
    }
    push(
        "acl",
        format!("{entity} rowLevel"),
        row_level(left),
        row_level(right),
    );
    out
}

/// What `package` must change so that its declaration says what `other_package` says, one line
/// per difference (`left` is `package`'s side).
#[must_use]
pub fn to_agree(package: &str, other_package: &str, differences: &[Difference]) -> Vec<String> {
    differences
        .iter()
        .map(|d| {
            if d.right == ABSENT {
                format!(
                    "{package}: remove {} {} ({other_package} does not declare it)",
                    d.aspect, d.subject
                )
            } else if d.left == ABSENT {
                format!(
                    "{package}: add {} {} as {other_package} declares it: {}",
                    d.aspect, d.subject, d.right
                )
            } else {
                format!(
                    "{package}: make the {} of {} {} (now {})",
                    d.aspect, d.subject, d.right, d.left
                )
            }
        })
        .collect()
}

fn ordered_union<S: Into<String>>(
    left: impl Iterator<Item = S>,
    right: impl Iterator<Item = S>,
) -> Vec<String> {
    let mut seen = BTreeSet::new();
    left.chain(right)
        .map(Into::into)
        .filter(|name| seen.insert(name.clone()))
        .collect()
}

fn field<'e>(entity: &'e Entity, name: &str) -> Option<&'e Field> {
    entity.fields.iter().find(|f| f.name == name)
}

fn presence(field: Option<&Field>) -> String {
    field.map_or(ABSENT.to_string(), |f| {
        format!("{} {}", f.field_type, optionality(f))
    })
}

fn optionality(field: &Field) -> String {
    if field.optional {
        "optional"
    } else {
        "required"
    }
    .to_string()
}

fn default_of(field: &Field) -> String {
    field
        .default
        .as_ref()
        .map_or("none".to_string(), ToString::to_string)
}

fn length_of(field: &Field) -> String {
    field
        .max_length
        .map_or("unlimited".to_string(), |n| format!("at most {n}"))
}

fn values_of(field: &Field) -> String {
    field
        .enum_values
        .as_ref()
        .map_or("any".to_string(), |values| values.join(" | "))
}

fn bounds_of(field: &Field) -> String {
    match (&field.min, &field.max) {
        (None, None) => "none".to_string(),
        (min, max) => format!(
            "{}..{}",
            min.as_ref().map(ToString::to_string).unwrap_or_default(),
            max.as_ref().map(ToString::to_string).unwrap_or_default()
        ),
    }
}

fn index_text(index: &Index) -> String {
    let kind = if index.unique { "unique" } else { "index" };
    match &index.name {
        Some(name) => format!("{kind} named {name}"),
        None => kind.to_string(),
    }
}

fn relation_text(relation: &Relation) -> String {
    let mut text = format!("{} {}", relation.kind.as_str(), relation.target);
    if !relation.fields.is_empty() {
        text.push_str(&format!(" via {}", relation.fields.join(", ")));
    }
    if let Some(action) = relation.on_delete {
        text.push_str(&format!(", onDelete {}", action.as_str()));
    }
    if let Some(action) = relation.on_update {
        text.push_str(&format!(", onUpdate {}", action.as_str()));
    }
    text
}

fn roles(entity: &Entity, op: AclOp) -> String {
    let Some(acl) = &entity.acl else {
        return "no acl".to_string();
    };
    acl.rules
        .get(&op)
        .map_or("not declared".to_string(), |roles| {
            roles
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
}

fn row_level(entity: &Entity) -> String {
    entity
        .acl
        .as_ref()
        .and_then(|acl| acl.row_level.as_ref())
        .map_or("none".to_string(), |r| r.source.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::config::Config;
    use crate::domain::dialect::parse_entities;

    fn entity(yaml: &str) -> Entity {
        let parsed = parse_entities(yaml, "test.yaml", &Config::default());
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        parsed.entities.into_iter().next().expect("one entity")
    }

    #[test]
    fn each_difference_is_named_with_both_sides() {
        let forum = entity(
            "entities:\n  - name: Attachment\n    fields:\n      id: { type: string, primary: true }\n      size: { type: int, required: true }\n      url: { type: string, maxLength: 500 }\n",
        );
        let wiki = entity(
            "entities:\n  - name: Attachment\n    fields:\n      id: { type: string, primary: true }\n      size: { type: int, required: false }\n      mime: { type: string }\n      url: { type: string }\n",
        );
        let differences = compare(&forum, &wiki);
        let named: Vec<(&str, &str, &str, &str)> = differences
            .iter()
            .map(|d| {
                (
                    d.aspect.as_str(),
                    d.subject.as_str(),
                    d.left.as_str(),
                    d.right.as_str(),
                )
            })
            .collect();
        assert!(
            named.contains(&("optionality", "Attachment.size", "required", "optional")),
            "{named:?}"
        );
        assert!(
            named.contains(&("length", "Attachment.url", "at most 500", "unlimited")),
            "{named:?}"
        );
        assert!(
            named
                .iter()
                .any(|d| d.0 == "field" && d.1 == "Attachment.mime" && d.2 == ABSENT),
            "{named:?}"
        );
        let advice = to_agree("wiki", "forum", &compare(&wiki, &forum));
        assert!(
            advice
                .iter()
                .any(|line| line.starts_with("wiki: remove field Attachment.mime")),
            "{advice:?}"
        );
    }

    #[test]
    fn identical_declarations_have_no_differences() {
        let yaml =
            "entities:\n  - name: Tag\n    fields:\n      id: { type: string, primary: true }\n";
        assert!(compare(&entity(yaml), &entity(yaml)).is_empty());
    }
}

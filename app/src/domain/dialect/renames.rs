//! `renamedFrom:` on entities and fields: the name a package held a table or column under
//! before, so that the change renames it and keeps its data. The name must follow the grammar
//! of what it renames and point at nothing the file still declares.

use std::collections::BTreeMap;

use super::{join, Keys, Reader};
use crate::domain::diagnostic::SchemaError;
use crate::domain::model::{Entity, Field};

/// Which grammar an earlier name follows.
#[derive(Clone, Copy)]
pub(super) enum Renamed {
    Entity,
    Field,
}

impl Renamed {
    fn word(self) -> &'static str {
        match self {
            Renamed::Entity => "entity",
            Renamed::Field => "field",
        }
    }

    fn rule(self) -> (fn(&str) -> bool, &'static str) {
        match self {
            Renamed::Entity => (
                crate::domain::naming::is_pascal_identifier,
                "renamedFrom names the entity's earlier name: a capital letter, then letters, digits or _",
            ),
            Renamed::Field => (
                crate::domain::naming::is_identifier,
                "renamedFrom names the field's earlier name: a letter, then letters, digits or _",
            ),
        }
    }
}

impl Reader<'_, '_> {
    /// `renamedFrom:` of the entity or field `name` at `path`, if given and well formed.
    pub(super) fn renamed_from(
        &mut self,
        keys: &Keys<'_>,
        path: &str,
        name: &str,
        what: Renamed,
    ) -> Option<String> {
        let node = keys.get("renamedFrom")?;
        let earlier = self.optional_string(keys, "renamedFrom", path)?;
        let (valid, rule) = what.rule();
        if !valid(&earlier) {
            let error = SchemaError::InvalidName {
                what: what.word(),
                name: earlier,
                rule,
            };
            self.error(node.position, join(path, "renamedFrom"), error);
            return None;
        }
        if earlier == name {
            let error = SchemaError::InvalidValue {
                key: "renamedFrom",
                value: format!("{earlier:?}"),
                expected: format!("the {}'s earlier name, not its own", what.word()),
            };
            self.error(node.position, join(path, "renamedFrom"), error);
            return None;
        }
        Some(earlier)
    }

    /// Each earlier field name once, and none that a field of the entity still has.
    pub(super) fn distinct_field_renames(&mut self, path: &str, fields: &[Field]) {
        let named = |f: &Field| (f.name.clone(), f.renamed_from.clone(), f.origin);
        let entries: Vec<_> = fields.iter().map(named).collect();
        self.distinct_renames(
            &entries,
            |field| join(&join(path, "fields"), field),
            "field",
        );
    }

    /// Each earlier entity name once, and none that an entity of the file still has.
    pub(super) fn distinct_entity_renames(&mut self, entities: &[Entity]) {
        let named = |e: &Entity| (e.name.clone(), e.renamed_from.clone(), e.origin);
        let entries: Vec<_> = entities.iter().map(named).collect();
        self.distinct_renames(&entries, str::to_owned, "entity");
    }

    fn distinct_renames(
        &mut self,
        entries: &[(String, Option<String>, crate::domain::diagnostic::Position)],
        path_of: impl Fn(&str) -> String,
        what: &str,
    ) {
        let mut claimed: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, earlier, position) in entries {
            let Some(earlier) = earlier else { continue };
            let problem = if entries.iter().any(|(other, _, _)| other == earlier) {
                Some(format!(
                    "a name no {what} still has ({earlier:?} is declared too; remove it, or drop renamedFrom)"
                ))
            } else {
                claimed.insert(earlier, name).map(|first| {
                    format!("a name only one {what} was renamed from ({first} is renamed from {earlier:?} too)")
                })
            };
            if let Some(expected) = problem {
                let error = SchemaError::InvalidValue {
                    key: "renamedFrom",
                    value: format!("{earlier:?}"),
                    expected,
                };
                self.error(*position, join(&path_of(name), "renamedFrom"), error);
            }
        }
    }
}

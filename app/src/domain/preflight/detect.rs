//! The hazards of a plan, read from squawk's syntax tree.

use std::collections::{BTreeMap, BTreeSet};

use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SourceFile, SyntaxKind, SyntaxNode};

use crate::domain::sql_names::{first_name, names};

use super::{Hazard, StatementHazard};
use crate::domain::model::Entity;

/// Hazards of the change's declarations that no SQL statement carries (numbered 0): an enum
/// field of a package that loses values is text in the database, so no statement changes, yet
/// the rows holding a removed value no longer fit the field.
#[must_use]
pub fn declared_hazards(before: &[Entity], after: &[Entity]) -> Vec<StatementHazard> {
    // Renamed entities and fields are found by their earlier names, and checked by them.
    let renames = crate::domain::rename::renames(before, after);
    let mut out = Vec::new();
    for entity in after {
        let earlier = renames
            .entities
            .iter()
            .find(|r| r.to == entity.name)
            .map_or(entity.name.as_str(), |r| r.from.as_str());
        let Some(old) = before.iter().find(|e| e.name == earlier) else {
            continue;
        };
        for field in &entity.fields {
            let earlier_field = renames
                .fields
                .iter()
                .find(|r| r.entity == entity.name && r.to == field.name)
                .map_or(field.name.as_str(), |r| r.from.as_str());
            let Some(old_field) = old.field(earlier_field) else {
                continue;
            };
            let (Some(values), Some(was)) = (&field.enum_values, &old_field.enum_values) else {
                continue;
            };
            if was.iter().all(|v| values.contains(v)) {
                continue;
            }
            out.push(StatementHazard {
                statement: 0,
                hazard: Hazard::EnumValues {
                    table: old.table_name.clone().unwrap_or_else(|| old.name.clone()),
                    column: old_field
                        .column_name
                        .clone()
                        .unwrap_or_else(|| old_field.name.clone()),
                    enum_type: String::new(),
                    values: values.clone(),
                },
            });
        }
    }
    out
}

/// What earlier statements of the plan created: tables, columns, enum types with their values;
/// and what they renamed, to check the live database by the names it has now.
#[derive(Default)]
struct Created {
    tables: BTreeSet<String>,
    columns: BTreeSet<(String, String)>,
    enums: BTreeMap<String, Vec<String>>,
    /// A renamed table's new name → its live name.
    renamed_tables: BTreeMap<String, String>,
    /// (table, new column name) → the column's live name.
    renamed_columns: BTreeMap<(String, String), String>,
}

impl Created {
    fn live_table(&self, table: &str) -> String {
        self.renamed_tables
            .get(table)
            .cloned()
            .unwrap_or_else(|| table.to_string())
    }

    fn live_column(&self, table: &str, column: &str) -> String {
        self.renamed_columns
            .get(&(table.to_string(), column.to_string()))
            .cloned()
            .unwrap_or_else(|| column.to_string())
    }

    /// `hazard` named as the live database names its table and columns.
    fn live(&self, hazard: Hazard) -> Hazard {
        let columns = |table: &str, columns: Vec<String>| -> Vec<String> {
            columns.iter().map(|c| self.live_column(table, c)).collect()
        };
        match hazard {
            Hazard::NotNull { table, column } => Hazard::NotNull {
                column: self.live_column(&table, &column),
                table: self.live_table(&table),
            },
            Hazard::RequiredColumn { table, column } => Hazard::RequiredColumn {
                column: self.live_column(&table, &column),
                table: self.live_table(&table),
            },
            Hazard::Unique { table, columns: c } => Hazard::Unique {
                columns: columns(&table, c),
                table: self.live_table(&table),
            },
            Hazard::ForeignKey {
                table,
                columns: c,
                target,
                target_columns,
                target_is_new,
            } => Hazard::ForeignKey {
                columns: columns(&table, c),
                table: self.live_table(&table),
                target_columns: columns(&target, target_columns),
                target: self.live_table(&target),
                target_is_new,
            },
            Hazard::MaxLength {
                table,
                column,
                length,
            } => Hazard::MaxLength {
                column: self.live_column(&table, &column),
                table: self.live_table(&table),
                length,
            },
            Hazard::EnumValues {
                table,
                column,
                enum_type,
                values,
            } => Hazard::EnumValues {
                column: self.live_column(&table, &column),
                table: self.live_table(&table),
                enum_type,
                values,
            },
            Hazard::DropColumn { table, column } => Hazard::DropColumn {
                column: self.live_column(&table, &column),
                table: self.live_table(&table),
            },
            Hazard::DropTable { table } => Hazard::DropTable {
                table: self.live_table(&table),
            },
        }
    }

    /// `ALTER TABLE table RENAME TO new`: later statements name it `new`.
    fn rename_table(&mut self, table: &str, new: String) {
        let live = self.live_table(table);
        let moved: Vec<((String, String), String)> = self
            .renamed_columns
            .iter()
            .filter(|((t, _), _)| t == table)
            .map(|((_, c), live)| ((new.clone(), c.clone()), live.clone()))
            .collect();
        self.renamed_columns.retain(|(t, _), _| t != table);
        self.renamed_columns.extend(moved);
        self.renamed_tables.remove(table);
        self.renamed_tables.insert(new, live);
    }

    /// `ALTER TABLE table RENAME COLUMN column TO new`.
    fn rename_column(&mut self, table: &str, column: &str, new: String) {
        let live = self.live_column(table, column);
        self.renamed_columns
            .remove(&(table.to_string(), column.to_string()));
        self.renamed_columns.insert((table.to_string(), new), live);
    }
}

/// The data hazards of `script`'s statements, numbered from 1 as the plan check numbers them.
#[must_use]
pub fn hazards(script: &str) -> Vec<StatementHazard> {
    let mut created = Created::default();
    let mut out = Vec::new();
    let statements = SourceFile::parse(script)
        .tree()
        .stmts()
        .filter(|s| !matches!(s, ast::Stmt::EmptyStmt(_)));
    for (index, stmt) in statements.enumerate() {
        let found = statement_hazards(&stmt, &mut created);
        out.extend(found.into_iter().map(|hazard| StatementHazard {
            statement: index + 1,
            hazard: created.live(hazard),
        }));
    }
    out
}

fn statement_hazards(stmt: &ast::Stmt, created: &mut Created) -> Vec<Hazard> {
    use ast::Stmt as S;
    match stmt {
        S::CreateTable(t) => {
            created.tables.extend(first_name(t.syntax()));
            Vec::new()
        }
        S::CreateType(t) => {
            if let (Some(name), Some(ast::CreateTypeKind::EnumType(values))) =
                (t.type_name().and_then(|n| first_name(n.syntax())), t.kind())
            {
                created.enums.insert(name, string_literals(values.syntax()));
            }
            Vec::new()
        }
        S::DropTable(d) => d
            .table_name_refs()
            .filter_map(|r| first_name(r.syntax()))
            .filter(|table| !created.tables.contains(table))
            .map(|table| Hazard::DropTable { table })
            .collect(),
        S::CreateIndex(i) if i.unique_token().is_some() => {
            let Some(table) = i.table_relation_name().and_then(|r| first_name(r.syntax())) else {
                return Vec::new();
            };
            let columns = i
                .partition_item_list()
                .map(|l| names(l.syntax()))
                .unwrap_or_default();
            unique(&table, columns, created).into_iter().collect()
        }
        S::AlterTable(a) => {
            let Some(table) = a.table_relation_name().and_then(|r| first_name(r.syntax())) else {
                return Vec::new();
            };
            if created.tables.contains(&table) {
                return Vec::new();
            }
            a.actions()
                .filter_map(|action| action_hazard(&table, &action, created))
                .collect()
        }
        _ => Vec::new(),
    }
}

fn action_hazard(
    table: &str,
    action: &ast::AlterTableAction,
    created: &mut Created,
) -> Option<Hazard> {
    use ast::AlterTableAction as A;
    let column_of = |node: &SyntaxNode| first_name(node);
    match action {
        A::AddColumn(add) => {
            let column = add.column_name().and_then(|c| column_of(c.syntax()))?;
            created.columns.insert((table.to_string(), column.clone()));
            let constraints: Vec<ast::Constraint> = add.constraints().collect();
            let required = constraints
                .iter()
                .any(|c| matches!(c, ast::Constraint::NotNullConstraint(_)));
            let defaulted = constraints
                .iter()
                .any(|c| matches!(c, ast::Constraint::DefaultConstraint(_)));
            (required && !defaulted).then(|| Hazard::RequiredColumn {
                table: table.to_string(),
                column,
            })
        }
        A::TableRenameTo(rename) => {
            let new = rename.table_name().and_then(|n| first_name(n.syntax()))?;
            created.rename_table(table, new);
            None
        }
        A::RenameColumn(rename) => {
            let from = rename
                .column_name_ref()
                .and_then(|c| column_of(c.syntax()))?;
            let to = rename.column_name().and_then(|c| column_of(c.syntax()))?;
            created.rename_column(table, &from, to);
            None
        }
        A::DropColumn(drop) => Some(Hazard::DropColumn {
            table: table.to_string(),
            column: drop.column_name_ref().and_then(|c| column_of(c.syntax()))?,
        }),
        A::AlterColumn(alter) => {
            let column = alter
                .column_name_ref()
                .and_then(|c| column_of(c.syntax()))?;
            if created
                .columns
                .contains(&(table.to_string(), column.clone()))
            {
                return None;
            }
            alter_column_hazard(table, column, alter.option()?, created)
        }
        A::AddConstraint(add) => match add.constraint()? {
            ast::Constraint::UniqueConstraint(u) => {
                let columns = u
                    .index_parameters()
                    .map(|p| names(p.syntax()))
                    .unwrap_or_default();
                unique(table, columns, created)
            }
            ast::Constraint::ForeignKeyConstraint(fk) => foreign_key(table, &fk, created),
            _ => None,
        },
        _ => None,
    }
}

fn alter_column_hazard(
    table: &str,
    column: String,
    option: ast::AlterColumnOption,
    created: &Created,
) -> Option<Hazard> {
    let table = table.to_string();
    match option {
        ast::AlterColumnOption::SetNotNull(_) => Some(Hazard::NotNull { table, column }),
        ast::AlterColumnOption::SetType(set) => match set.ty()? {
            ast::Type::VarcharType(t) => Some(Hazard::MaxLength {
                table,
                column,
                length: length_argument(t.syntax())?,
            }),
            ast::Type::CharacterType(t) => Some(Hazard::MaxLength {
                table,
                column,
                length: length_argument(t.syntax())?,
            }),
            ast::Type::PathType(t) => {
                let enum_type = first_name(t.syntax())?;
                let values = created.enums.get(&enum_type)?.clone();
                Some(Hazard::EnumValues {
                    table,
                    column,
                    enum_type,
                    values,
                })
            }
            _ => None,
        },
        _ => None,
    }
}

/// A unique index or constraint on existing columns (a column the plan adds holds one value,
/// its default or null, in every row: left to the required-column hazard).
fn unique(table: &str, columns: Vec<String>, created: &Created) -> Option<Hazard> {
    let new_column = columns
        .iter()
        .any(|c| created.columns.contains(&(table.to_string(), c.clone())));
    (!columns.is_empty() && !new_column && !created.tables.contains(table)).then(|| {
        Hazard::Unique {
            table: table.to_string(),
            columns,
        }
    })
}

fn foreign_key(table: &str, fk: &ast::ForeignKeyConstraint, created: &Created) -> Option<Hazard> {
    let columns = fk.from_columns().map(|l| names(l.syntax()))?;
    let target_columns = fk.to_columns().map(|l| names(l.syntax()))?;
    let target = fk.table_name_ref().and_then(|r| first_name(r.syntax()))?;
    // Columns the plan adds hold null (or a required column's hazard covers them).
    let all_new = columns
        .iter()
        .all(|c| created.columns.contains(&(table.to_string(), c.clone())));
    (!all_new && !columns.is_empty() && columns.len() == target_columns.len()).then(|| {
        Hazard::ForeignKey {
            table: table.to_string(),
            columns,
            target_is_new: created.tables.contains(&target),
            target,
            target_columns,
        }
    })
}

/// The string literals under `node` (an enum's values), unquoted.
fn string_literals(node: &SyntaxNode) -> Vec<String> {
    node.descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .filter(|t| t.kind() == SyntaxKind::STRING)
        .map(|t| {
            let text = t.text();
            text.strip_prefix('\'')
                .and_then(|t| t.strip_suffix('\''))
                .unwrap_or(text)
                .replace("''", "'")
        })
        .collect()
}

/// The length of `VARCHAR(n)`.
fn length_argument(node: &SyntaxNode) -> Option<u32> {
    node.descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .find(|t| t.kind() == SyntaxKind::INT_NUMBER)
        .and_then(|t| t.text().parse().ok())
}

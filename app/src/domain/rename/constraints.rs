//! The index and constraint renames that follow a table or column rename. Prisma names
//! primary keys, indexes, unique indexes and foreign keys after their table and columns
//! (`Post_title_idx`); after `title` becomes `subject` the engine expects `Post_subject_idx`.
//! Rather than restate Prisma's naming rules, the names are read from the engine's own script
//! for each side (the platform created from nothing, before and with the renames), parsed with
//! squawk, and matched by what each object covers.

use std::collections::BTreeMap;

use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::SourceFile;

use super::Renames;
use crate::domain::policy_sql::quote_ident;
use crate::domain::sql_names::{first_name, names};

/// What an index or constraint is, apart from its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    PrimaryKey,
    Index { unique: bool },
    ForeignKey,
}

/// An index or constraint by what it covers: its kind, table and columns.
type Covers = (String, Kind, Vec<String>);

/// The names Prisma gives the indexes and constraints of a create script.
fn named_objects(script: &str) -> BTreeMap<Covers, String> {
    let mut out = BTreeMap::new();
    for stmt in SourceFile::parse(script).tree().stmts() {
        match stmt {
            ast::Stmt::CreateTable(t) => {
                let Some(table) = t.table_name().and_then(|n| first_name(n.syntax())) else {
                    continue;
                };
                for pk in t
                    .syntax()
                    .descendants()
                    .filter_map(ast::PrimaryKeyConstraint::cast)
                {
                    let name = constraint_name(pk.constraint_name_clause());
                    let columns = pk.index_parameters().map(|p| names(p.syntax()));
                    if let (Some(name), Some(columns)) = (name, columns) {
                        out.insert((table.clone(), Kind::PrimaryKey, columns), name);
                    }
                }
            }
            ast::Stmt::CreateIndex(i) => {
                let table = i.table_relation_name().and_then(|r| first_name(r.syntax()));
                let name = i.index().and_then(|n| first_name(n.syntax()));
                let columns = i.partition_item_list().map(|l| names(l.syntax()));
                if let (Some(table), Some(name), Some(columns)) = (table, name, columns) {
                    let unique = i.unique_token().is_some();
                    out.insert((table, Kind::Index { unique }, columns), name);
                }
            }
            ast::Stmt::AlterTable(a) => {
                let Some(table) = a.table_relation_name().and_then(|r| first_name(r.syntax()))
                else {
                    continue;
                };
                for fk in a
                    .syntax()
                    .descendants()
                    .filter_map(ast::ForeignKeyConstraint::cast)
                {
                    let name = constraint_name(fk.constraint_name_clause());
                    let columns = fk.from_columns().map(|l| names(l.syntax()));
                    if let (Some(name), Some(columns)) = (name, columns) {
                        out.insert((table.clone(), Kind::ForeignKey, columns), name);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The name a `CONSTRAINT name` clause gives.
fn constraint_name(clause: Option<ast::ConstraintNameClause>) -> Option<String> {
    clause
        .and_then(|c| c.constraint_name())
        .and_then(|n| first_name(n.syntax()))
}

/// The statements that give the renamed tables' indexes and constraints the names the engine
/// expects: `before` is the engine's create script of the state before the change, `renamed`
/// that of the same state with `renames` done.
#[must_use]
pub fn constraint_renames(before: &str, renamed: &str, renames: &Renames) -> Vec<String> {
    let expected = named_objects(renamed);
    let mut out = Vec::new();
    for ((table, kind, columns), old_name) in named_objects(before) {
        let table = renames.table_after(&table);
        let columns: Vec<String> = columns
            .iter()
            .map(|c| renames.column_after(&table, c))
            .collect();
        let Some(new_name) = expected.get(&(table.clone(), kind.clone(), columns)) else {
            continue;
        };
        if *new_name == old_name {
            continue;
        }
        out.push(match kind {
            Kind::Index { .. } => format!(
                "ALTER INDEX {} RENAME TO {};",
                quote_ident(&old_name),
                quote_ident(new_name)
            ),
            Kind::PrimaryKey | Kind::ForeignKey => format!(
                "ALTER TABLE {} RENAME CONSTRAINT {} TO {};",
                quote_ident(&table),
                quote_ident(&old_name),
                quote_ident(new_name)
            ),
        });
    }
    out
}

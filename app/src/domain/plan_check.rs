//! Every statement of a plan accounted for. The plan (Prisma's DDL plus the gate's row-level
//! security statements) is parsed with squawk's PostgreSQL parser; each statement must be of a
//! kind a schema change needs and touch only the change's own objects ([`PlanScope`]): its
//! tables, their columns, indexes, constraints and policies, and foreign keys to the tables its
//! relations target. Anything else refuses the whole plan, with the statement's number and why.
//! squawk's migration rules are run on the same parse ([`super::sql_lint`]).

use std::ops::Range;

use squawk_syntax::ast::{self, AstNode, NameLike};
use squawk_syntax::{SourceFile, SyntaxNode};

use super::change::Risk;
use super::plan_scope::PlanScope;
use super::sql_plan::StatementRefusal;

/// Functions a plan may call: the gate's policies read settings; Prisma's defaults use `now()`.
const ALLOWED_FUNCTIONS: [&str; 5] = [
    "current_setting",
    "nullif",
    "coalesce",
    "now",
    "current_timestamp",
];

/// The schema a statement may name: none (the connection's), or `public`.
const ALLOWED_SCHEMA: &str = "public";

/// One statement of a plan, as the parser delimits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Its byte range in the plan, the terminating `;` included.
    pub range: Range<usize>,
    /// Its text.
    pub sql: String,
    /// Why it is refused, if it is.
    pub refusal: Option<String>,
}

/// A plan checked statement by statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPlan {
    /// The statements, in order.
    pub statements: Vec<Statement>,
    /// What the parser could not read (`line 3, column 9: expected ...`); any refuses the plan.
    pub syntax_errors: Vec<String>,
}

impl CheckedPlan {
    /// Why the plan is refused, one line per refused statement or syntax error; `None` when
    /// every statement is accounted for.
    #[must_use]
    pub fn refusal(&self) -> Option<String> {
        let mut lines: Vec<String> = self
            .syntax_errors
            .iter()
            .map(|e| format!("the plan is not valid PostgreSQL: {e}"))
            .collect();
        lines.extend(self.statements.iter().enumerate().filter_map(|(i, s)| {
            s.refusal
                .as_ref()
                .map(|r| format!("statement {} {r}", i + 1))
        }));
        (!lines.is_empty()).then(|| lines.join("\n"))
    }
}

/// Parses `script` and checks each statement against `scope`.
#[must_use]
pub fn check_plan(script: &str, scope: &PlanScope) -> CheckedPlan {
    let parse = SourceFile::parse(script);
    let syntax_errors = parse
        .errors()
        .iter()
        .map(|e| {
            let at = usize::from(e.range().start());
            let (line, column) = line_column(script, at);
            format!("line {line}, column {column}: {}", e.message())
        })
        .collect();
    let statements = parse
        .tree()
        .stmts()
        .filter(|s| !matches!(s, ast::Stmt::EmptyStmt(_)))
        .map(|stmt| {
            let range = stmt.syntax().text_range();
            let range = usize::from(range.start())..usize::from(range.end());
            Statement {
                sql: script[range.clone()].to_owned(),
                range,
                refusal: refusal(&stmt, scope),
            }
        })
        .collect();
    CheckedPlan {
        statements,
        syntax_errors,
    }
}

/// The byte ranges of `script`'s statements, as the parser delimits them (empty ones left out):
/// the numbering every refusal and finding uses.
#[must_use]
pub fn statement_ranges(script: &str) -> Vec<Range<usize>> {
    SourceFile::parse(script)
        .tree()
        .stmts()
        .filter(|s| !matches!(s, ast::Stmt::EmptyStmt(_)))
        .map(|s| {
            let range = s.syntax().text_range();
            usize::from(range.start())..usize::from(range.end())
        })
        .collect()
}

/// The risk of the plan's SQL: the highest of squawk's findings, and security for any
/// row-level-security statement (a policy created, dropped or altered; RLS enabled, forced or
/// disabled).
#[must_use]
pub fn sql_risk(script: &str) -> Risk {
    // Statements on a table the plan itself creates lock nothing anyone waits for and hold no
    // data: their findings are shown but raise no risk (security findings excepted).
    let ranges = statement_ranges(script);
    let new_tables = super::sql_plan::on_new_tables(script, &ranges);
    let on_new_table = |at: usize| {
        ranges
            .iter()
            .zip(&new_tables)
            .any(|(range, new)| *new && range.contains(&at))
    };
    let findings = super::sql_lint::lint(script)
        .into_iter()
        .filter(|(at, f)| f.risk == Risk::Security || !on_new_table(at.start))
        .map(|(_, f)| f.risk)
        .max()
        .unwrap_or(Risk::Safe);
    let touches_rls = SourceFile::parse(script)
        .tree()
        .stmts()
        .any(|stmt| match stmt {
            ast::Stmt::CreatePolicy(_) | ast::Stmt::DropPolicy(_) | ast::Stmt::AlterPolicy(_) => {
                true
            }
            ast::Stmt::AlterTable(a) => a.actions().any(|action| {
                matches!(
                    action,
                    ast::AlterTableAction::EnableRls(_)
                        | ast::AlterTableAction::ForceRls(_)
                        | ast::AlterTableAction::NoForceRls(_)
                        | ast::AlterTableAction::DisableRls(_)
                )
            }),
            _ => false,
        });
    if touches_rls {
        findings.max(Risk::Security)
    } else {
        findings
    }
}

impl CheckedPlan {
    /// The refused statements, numbered from 1, as stored with the change.
    #[must_use]
    pub fn refused_statements(&self) -> Vec<StatementRefusal> {
        self.statements
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.refusal.as_ref().map(|reason| StatementRefusal {
                    statement: i + 1,
                    reason: reason.clone(),
                })
            })
            .collect()
    }
}

fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

/// Why `stmt` falls outside `scope`, in words that follow "statement N".
fn refusal(stmt: &ast::Stmt, scope: &PlanScope) -> Option<String> {
    let outside = statement_refusal(stmt, scope);
    outside.or_else(|| forbidden_call(stmt.syntax()))
}

fn statement_refusal(stmt: &ast::Stmt, scope: &PlanScope) -> Option<String> {
    use ast::Stmt as S;
    match stmt {
        S::CreateTable(t) => {
            let table = path_name(t.table_name().and_then(|n| n.path()))?;
            let table = match table {
                Ok(table) => table,
                Err(why) => return Some(why),
            };
            if !scope.owns_table(&table) {
                return Some(format!(
                    "creates table \"{table}\", which this change does not declare"
                ));
            }
            let extra = t.syntax().children().any(|n| {
                ast::Inherits::can_cast(n.kind())
                    || ast::PartitionBy::can_cast(n.kind())
                    || ast::PartitionOf::can_cast(n.kind())
            });
            if extra {
                return Some(format!("creates table \"{table}\" with inheritance or partitioning, which a schema change never needs"));
            }
            t.table_arg_list()
                .into_iter()
                .flat_map(|l| l.args())
                .find_map(|arg| match arg {
                    ast::TableArg::LikeClause(_) => Some(format!("copies another table into \"{table}\" (LIKE), which a schema change never needs")),
                    _ => foreign_key_refusal(arg.syntax(), &table, scope),
                })
        }
        S::AlterTable(a) => {
            let table = match ref_name(
                a.table_relation_name()
                    .and_then(|r| r.table_name_ref())
                    .and_then(|r| r.path_ref()),
            )? {
                Ok(table) => table,
                Err(why) => return Some(why),
            };
            alter_table_refusal(a, &table, scope)
        }
        S::DropTable(d) => d
            .table_name_refs()
            .find_map(|r| match ref_name(r.path_ref())? {
                Err(why) => Some(why),
                Ok(table) if scope.owns_table(&table) => None,
                Ok(table) => Some(format!(
                    "drops table \"{table}\", which this change does not declare"
                )),
            }),
        S::CreateIndex(i) => {
            let table = match ref_name(
                i.table_relation_name()
                    .and_then(|r| r.table_name_ref())
                    .and_then(|r| r.path_ref()),
            )? {
                Ok(table) => table,
                Err(why) => return Some(why),
            };
            if !scope.owns_table(&table) {
                return Some(format!(
                    "creates an index on table \"{table}\", which this change does not declare"
                ));
            }
            match path_name(i.index().and_then(|n| n.path())) {
                Some(Err(why)) => Some(why),
                Some(Ok(index)) if !scope.owns_index(&index) => Some(format!(
                    "creates index \"{index}\", which is not named after a table of this change"
                )),
                _ => None,
            }
        }
        S::DropIndex(d) => d.index_refs().find_map(|r| match ref_name(r.path_ref())? {
            Err(why) => Some(why),
            Ok(index) if scope.owns_index(&index) => None,
            Ok(index) => Some(format!(
                "drops index \"{index}\", which does not belong to a table of this change"
            )),
        }),
        S::AlterIndex(a) => {
            let index = match ref_name(a.index_ref().and_then(|r| r.path_ref()))? {
                Ok(index) => index,
                Err(why) => return Some(why),
            };
            if !scope.owns_index(&index) {
                return Some(format!(
                    "alters index \"{index}\", which does not belong to a table of this change"
                ));
            }
            match a.action() {
                Some(ast::AlterIndexAction::IndexRenameTo(r)) => match path_name(r.index().and_then(|i| i.path()))? {
                    Err(why) => Some(why),
                    Ok(to) if scope.owns_index(&to) => None,
                    Ok(to) => Some(format!("renames index \"{index}\" to \"{to}\", which is not named after a table of this change")),
                },
                _ => Some(format!("alters index \"{index}\" in a way a schema change never needs (only RENAME TO)")),
            }
        }
        S::CreatePolicy(p) => {
            let name = p.policy().map(|n| n.text()).unwrap_or_default();
            let table = ref_name(
                p.on_table()
                    .and_then(|o| o.table_name_ref())
                    .and_then(|r| r.path_ref()),
            );
            policy_refusal("creates", &name, table, scope)
        }
        S::DropPolicy(p) => {
            let name = p.policy_ref().map(|n| n.text()).unwrap_or_default();
            let table = ref_name(
                p.on_table()
                    .and_then(|o| o.table_name_ref())
                    .and_then(|r| r.path_ref()),
            );
            policy_refusal("drops", &name, table, scope)
        }
        other => Some(format!(
            "is {}, which a schema change never needs",
            kind_words(other.syntax())
        )),
    }
}

fn alter_table_refusal(a: &ast::AlterTable, table: &str, scope: &PlanScope) -> Option<String> {
    use ast::AlterTableAction as A;
    let own = scope.owns_table(table);
    for action in a.actions() {
        let refused = match &action {
            // Another package's table may gain or lose a foreign key to this change's tables.
            A::AddConstraint(add) if !own => match add.constraint() {
                Some(ast::Constraint::ForeignKeyConstraint(fk))
                    if scope.may_host_foreign_key(table) =>
                {
                    match ref_name(fk.table_name_ref().and_then(|r| r.path_ref())) {
                        Some(Ok(target)) if scope.owns_table(&target) => None,
                        _ => Some(format!("adds a foreign key to table \"{table}\" that does not reference a table of this change")),
                    }
                }
                _ => Some(format!(
                    "alters table \"{table}\", which this change does not declare"
                )),
            },
            A::DropConstraint(drop) if !own => {
                let name = ref_name(drop.constraint_name_ref().and_then(|r| r.path_ref()));
                match name {
                    Some(Ok(name))
                        if scope.may_host_foreign_key(table) && name.ends_with("_fkey") =>
                    {
                        None
                    }
                    _ => Some(format!(
                        "alters table \"{table}\", which this change does not declare"
                    )),
                }
            }
            _ if !own => Some(format!(
                "alters table \"{table}\", which this change does not declare"
            )),
            A::AddColumn(_)
            | A::DropColumn(_)
            | A::AlterColumn(_)
            | A::RenameColumn(_)
            | A::DropConstraint(_)
            | A::RenameConstraint(_)
            | A::EnableRls(_)
            | A::ForceRls(_)
            | A::NoForceRls(_)
            | A::DisableRls(_) => foreign_key_refusal(action.syntax(), table, scope),
            A::AddConstraint(_) => foreign_key_refusal(action.syntax(), table, scope),
            A::TableRenameTo(r) => match path_name(r.table_name().and_then(|n| n.path())) {
                Some(Ok(to)) if scope.owns_table(&to) => None,
                Some(Err(why)) => Some(why),
                _ => Some(format!(
                    "renames table \"{table}\" to a table this change does not declare"
                )),
            },
            other => Some(format!(
                "alters table \"{table}\" with {}, which a schema change never needs",
                kind_words(other.syntax())
            )),
        };
        if refused.is_some() {
            return refused;
        }
    }
    None
}

/// A foreign key inside `node` (a column, a constraint) must reference a table the change
/// relates to.
fn foreign_key_refusal(node: &SyntaxNode, table: &str, scope: &PlanScope) -> Option<String> {
    node.descendants()
        .filter_map(ast::ForeignKeyConstraint::cast)
        .find_map(|fk| match ref_name(fk.table_name_ref().and_then(|r| r.path_ref())) {
            Some(Ok(target)) if scope.may_reference(&target) => None,
            Some(Ok(target)) => Some(format!("adds a foreign key from \"{table}\" to table \"{target}\", which no relation of this change targets")),
            Some(Err(why)) => Some(why),
            None => Some(format!("adds a foreign key from \"{table}\" to an unnamed table")),
        })
        .or_else(|| {
            node.descendants()
                .filter_map(ast::ReferencesConstraint::cast)
                .find_map(|r| match ref_name(r.table().and_then(|p| p.path_ref())) {
                    Some(Ok(target)) if scope.may_reference(&target) => None,
                    Some(Ok(target)) => Some(format!("adds a foreign key from \"{table}\" to table \"{target}\", which no relation of this change targets")),
                    Some(Err(why)) => Some(why),
                    None => Some(format!("adds a foreign key from \"{table}\" to an unnamed table")),
                })
        })
}

/// Policies the gate writes are named `schemagate_*` and live on the change's own tables.
fn policy_refusal(
    verb: &str,
    name: &str,
    table: Option<Result<String, String>>,
    scope: &PlanScope,
) -> Option<String> {
    let table = match table? {
        Ok(table) => table,
        Err(why) => return Some(why),
    };
    if !scope.owns_table(&table) {
        return Some(format!(
            "{verb} policy \"{name}\" on table \"{table}\", which this change does not declare"
        ));
    }
    if !name.starts_with("schemagate_") {
        return Some(format!("{verb} policy \"{name}\" on table \"{table}\", which is not one of the gate's policies (schemagate_*)"));
    }
    None
}

/// The first call of a function outside [`ALLOWED_FUNCTIONS`] in `node`.
fn forbidden_call(node: &SyntaxNode) -> Option<String> {
    node.descendants()
        .filter_map(ast::CallExpr::cast)
        .find_map(|call| {
            let name = match call.expr() {
                Some(ast::Expr::NameRef(n)) => n.text().to_string().to_ascii_lowercase(),
                Some(other) => other.syntax().text().to_string(),
                // EXISTS (...) and the like: special forms without a function name.
                None if call.exists_fn().is_some() => return None,
                None => call.syntax().text().to_string(),
            };
            (!ALLOWED_FUNCTIONS.contains(&name.as_str()))
                .then(|| format!("calls function {name}(), which a schema change never needs"))
        })
}

/// The unqualified name a definition gives (`CREATE TABLE "A"`): `Err` when it names a schema
/// other than `public`.
fn path_name(path: Option<ast::Path>) -> Option<Result<String, String>> {
    let path = path?;
    let name = path.segment()?.text().to_string();
    match path.qualifier() {
        None => Some(Ok(name)),
        Some(q) => Some(qualified(q, name)),
    }
}

/// The unqualified name a reference gives (`ALTER TABLE "A"`): `Err` when it names a schema
/// other than `public`.
fn ref_name(path: Option<ast::PathRef>) -> Option<Result<String, String>> {
    let path = path?;
    let name = path.segment()?.text().to_string();
    match path.qualifier() {
        None => Some(Ok(name)),
        Some(q) => Some(qualified(q, name)),
    }
}

fn qualified(qualifier: ast::PathRef, name: String) -> Result<String, String> {
    let schema = qualifier
        .segment()
        .map(|s| s.text().to_string())
        .unwrap_or_default();
    if schema == ALLOWED_SCHEMA && qualifier.qualifier().is_none() {
        Ok(name)
    } else {
        Err(format!(
            "names \"{schema}\".\"{name}\", outside the platform's schema"
        ))
    }
}

/// `CREATE_FUNCTION` → `CREATE FUNCTION`.
fn kind_words(node: &SyntaxNode) -> String {
    format!("{:?}", node.kind()).replace('_', " ")
}

#[cfg(test)]
mod tests;

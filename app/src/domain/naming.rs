//! Identifier rules and the small English helpers used to derive relation field names.

/// Whether `name` is a Prisma identifier: an ASCII letter, then letters, digits or `_`.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// PostgreSQL keeps the first 63 bytes of an identifier; longer names would silently collide.
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// The grammar every database name (`tableName`, `columnName`, index `name`) follows.
pub const DB_NAME_RULE: &str =
    "database names are 1 to 63 bytes of ASCII letters, digits and _, starting with a letter or _";

/// Tables of the registry's own schema; a platform table may not take one of their names.
const REGISTRY_TABLES: [&str; 11] = [
    "account",
    "admin_approval",
    "applied_package",
    "apply_lease",
    "audit_event",
    "audit_key",
    "registry_setting",
    "review_verdict",
    "schema_change",
    "sign_in_throttle",
    "tower_sessions",
];

/// PostgreSQL's system columns: a table cannot have a column of one of these names.
const SYSTEM_COLUMNS: [&str; 6] = ["tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"];

/// What a database name names; the reserved names differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbObject {
    /// A table (`tableName`, or an entity name used as the table name).
    Table,
    /// A column (`columnName`, or a field name used as the column name).
    Column,
    /// An index or constraint (`indexes[].name`).
    Index,
}

impl DbObject {
    /// The word used in messages.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            DbObject::Table => "table",
            DbObject::Column => "column",
            DbObject::Index => "index",
        }
    }
}

/// The rule `name` breaks as a database name of `object`, if any: the grammar
/// ([`DB_NAME_RULE`]) first, then the names PostgreSQL, Prisma and the gate reserve.
#[must_use]
pub fn db_name_problem(name: &str, object: DbObject) -> Option<&'static str> {
    let mut chars = name.chars();
    let grammar = name.len() <= MAX_IDENTIFIER_BYTES
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !grammar {
        return Some(DB_NAME_RULE);
    }
    let lower = name.to_ascii_lowercase();
    if lower == "_prisma_migrations" {
        return Some("_prisma_migrations is Prisma's record of applied migrations");
    }
    if lower.starts_with("pg_") {
        return Some("names starting with pg_ are reserved for PostgreSQL's system objects");
    }
    if lower == "schemagate" || lower.starts_with("schemagate_") {
        return Some("names starting with schemagate are reserved for the gate's own schema, tables and policies");
    }
    // Quoted names are case-sensitive: only the exact spelling collides.
    match object {
        DbObject::Table if REGISTRY_TABLES.contains(&name) => {
            Some("the registry has a table of this name")
        }
        DbObject::Column if SYSTEM_COLUMNS.contains(&name) || name == "oid" => {
            Some("PostgreSQL reserves this column name for a system column")
        }
        _ => None,
    }
}

/// Checks an ACL role name: 1 to 63 bytes of lowercase ASCII letters, digits and `_`, starting
/// with a letter or `_` (roles are compared as SQL literals, and named in policies).
///
/// # Errors
/// The rule the name breaks, naming it.
pub fn check_role_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let fits = name.len() <= MAX_IDENTIFIER_BYTES
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if fits {
        Ok(())
    } else {
        Err(format!("invalid role name {name:?}: role names are 1 to 63 bytes of lowercase ASCII letters, digits and _, starting with a letter or _"))
    }
}

/// Checks a per-transaction setting name as PostgreSQL accepts a custom one: a prefix and a
/// name (`app.user_id`), each an identifier of lowercase ASCII letters, digits and `_`.
///
/// # Errors
/// The rule the name breaks, naming it.
pub fn check_setting_name(name: &str) -> Result<(), String> {
    let part = |p: &str| {
        let mut chars = p.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    let fits = name.len() <= MAX_IDENTIFIER_BYTES
        && name
            .split_once('.')
            .is_some_and(|(prefix, rest)| part(prefix) && part(rest));
    if fits {
        Ok(())
    } else {
        Err(format!("invalid setting name {name:?}: a custom setting is a prefix and a name (app.user_id), each lowercase ASCII letters, digits and _ starting with a letter or _, at most 63 bytes in all"))
    }
}

/// Whether `name` is a PascalCase identifier (entity names).
pub(crate) fn is_pascal_identifier(name: &str) -> bool {
    is_identifier(name) && name.starts_with(|c: char| c.is_ascii_uppercase())
}

/// Model names the generated Prisma Client reserves (its own exports).
const RESERVED_MODEL_NAMES: [&str; 2] = ["PrismaClient", "Prisma"];

/// Whether Prisma refuses `name` as a model name because its client reserves it.
pub(crate) fn is_reserved_model_name(name: &str) -> bool {
    RESERVED_MODEL_NAMES.contains(&name)
}

/// `AuditLog` → `auditLog`; a leading acronym is lowered whole: `IRCChannel` → `ircChannel`.
pub(crate) fn lower_first(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let upper_run = chars.iter().take_while(|c| c.is_ascii_uppercase()).count();
    // In `IRCChannel` the run is `IRCC`; its last letter starts the next word.
    let lower_count = match upper_run {
        0 => 0,
        1 => 1,
        n if n == chars.len() => n,
        n => n - 1,
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < lower_count {
                c.to_ascii_lowercase()
            } else {
                *c
            }
        })
        .collect()
}

/// `author` → `Author`.
pub(crate) fn upper_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// English plural of the last word: `Entry` → `Entries`, `Analysis` → `Analyses`,
/// `Status` → `Statuses`, `Log` → `Logs`.
pub(crate) fn plural(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let ends_with_consonant_y = lower.ends_with('y')
        && lower
            .chars()
            .rev()
            .nth(1)
            .is_some_and(|c| !matches!(c, 'a' | 'e' | 'i' | 'o' | 'u'));
    if ends_with_consonant_y {
        format!("{}ies", &name[..name.len() - 1])
    } else if lower.ends_with("is") {
        format!("{}es", &name[..name.len() - 2])
    } else if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|suffix| lower.ends_with(suffix))
    {
        format!("{name}es")
    } else {
        format!("{name}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_follow_english_rules_for_the_last_word() {
        assert_eq!(plural("leaderboardEntry"), "leaderboardEntries");
        assert_eq!(plural("screenshotAnalysis"), "screenshotAnalyses");
        assert_eq!(plural("status"), "statuses");
        assert_eq!(plural("auditLog"), "auditLogs");
        assert_eq!(plural("day"), "days");
    }

    #[test]
    fn lower_first_lowers_a_leading_acronym() {
        assert_eq!(lower_first("AuditLog"), "auditLog");
        assert_eq!(lower_first("IRCChannel"), "ircChannel");
        assert_eq!(lower_first("URL"), "url");
        assert_eq!(lower_first("user"), "user");
    }

    #[test]
    fn database_names_follow_one_grammar_and_refuse_reserved_names() {
        let problem = |name: &str| db_name_problem(name, DbObject::Table);
        assert_eq!(problem("widgets"), None);
        assert_eq!(problem("_private"), None);
        assert_eq!(problem(&"a".repeat(63)), None);
        for bad in [
            "",
            "1a",
            "a-b",
            "a b",
            "a\"b",
            "x\" ON \"I\"(\"s\");UPDATE schemagate.account SET role='admin';--",
            "caf\u{e9}",
            &"a".repeat(64),
        ] {
            assert_eq!(problem(bad), Some(DB_NAME_RULE), "{bad:?}");
        }
        assert!(problem("_prisma_migrations").unwrap().contains("Prisma"));
        assert!(problem("pg_class").unwrap().contains("pg_"));
        assert!(problem("Schemagate_x").unwrap().contains("schemagate"));
        assert!(problem("schema_change").unwrap().contains("registry"));
        assert_eq!(db_name_problem("schema_change", DbObject::Column), None);
        assert_eq!(problem("Account"), None);
        assert!(db_name_problem("xmin", DbObject::Column)
            .unwrap()
            .contains("system column"));
    }

    #[test]
    fn roles_and_settings_follow_their_grammar() {
        assert_eq!(check_role_name("public_if_shared"), Ok(()));
        assert!(check_role_name("mod'; DROP TABLE x; --")
            .unwrap_err()
            .starts_with("invalid role name \"mod'; DROP TABLE x; --\": role names are"));
        assert!(check_role_name("Admin").is_err());
        assert!(check_role_name("").is_err());
        assert_eq!(check_setting_name("app.user_id"), Ok(()));
        for bad in [
            "user_id",
            "app.user id",
            "app.'x'",
            "a.b.c",
            "app.",
            ".x",
            "App.x",
        ] {
            assert!(check_setting_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identifiers_start_with_a_letter() {
        assert!(is_identifier("userId"));
        assert!(is_identifier("a_1"));
        assert!(!is_identifier("1a"));
        assert!(!is_identifier("_a"));
        assert!(!is_identifier("a-b"));
        assert!(!is_identifier(""));
        assert!(is_pascal_identifier("Game"));
        assert!(!is_pascal_identifier("game"));
    }
}

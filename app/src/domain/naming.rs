//! Identifier rules and the small English helpers used to derive relation field names.

/// Whether `name` is a Prisma identifier: an ASCII letter, then letters, digits or `_`.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
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

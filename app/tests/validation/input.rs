//! The file itself: invalid YAML, line endings, encodings, tags, and the size, node and
//! nesting limits that make hostile input fail fast.

use std::time::{Duration, Instant};

use super::*;

#[test]
fn invalid_yaml_is_reported_with_its_position() {
    assert_errors(
        "entities:\n  - name: A\n    fields: [\n",
        &["invalid yaml: unclosed bracket '[' (line 3, column 13)"],
    );
}

#[test]
fn header_comments_checksum_null_and_crlf_line_endings_are_accepted() {
    let text = "# yaml-language-server: $schema=x\r\n# header\r\nentities:\r\n  - name: A\r\n    version: \"1.0\"\r\n    checksum: null  # auto\r\n    fields:\r\n      id:\r\n        type: cuid\r\n        primary: true\r\n";
    assert_valid(text);
}

#[test]
fn a_yaml_bomb_fails_fast_with_a_clear_error() {
    let mut text = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for level in 1..10u8 {
        let (previous, current) = (char::from(b'a' + level - 1), char::from(b'a' + level));
        let refs = vec![format!("*{previous}"); 9].join(",");
        text.push_str(&format!("{current}: &{current} [{refs}]\n"));
    }
    text.push_str("entities: []\n");
    let started = Instant::now();
    let found = errors(&text);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("yaml aliases expand to more than 10000 nodes"),
        "{found:?}"
    );
}

#[test]
fn a_twenty_megabyte_file_fails_fast_with_a_clear_error() {
    let text = format!("entities: []\n# {}\n", "x".repeat(20 * 1024 * 1024));
    let started = Instant::now();
    let found = errors(&text);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        found,
        ["file is larger than the limit of 1048576 bytes (line 2, column 1048564)"]
    );
}

#[test]
fn ten_thousand_levels_of_nesting_fail_fast_with_a_clear_error() {
    for text in [
        format!("entities: {}{}\n", "[".repeat(10_000), "]".repeat(10_000)),
        format!(
            "entities: {}1{}\n",
            "{a: ".repeat(10_000),
            "}".repeat(10_000)
        ),
    ] {
        let started = Instant::now();
        let found = errors(&text);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("yaml nesting is deeper than the limit of 20 levels"),
            "{found:?}"
        );
    }
}

#[test]
fn too_many_entities_or_fields_are_errors() {
    let mut config = Config::default();
    config.limits.max_entities = 1;
    config.limits.max_fields_per_entity = 1;
    let two = "entities:\n  - name: A\n    fields: { id: { type: cuid, primary: true } }\n  - name: B\n    fields: { id: { type: cuid, primary: true } }\n";
    assert_eq!(
        errors_with(two, &config),
        ["2 entities, more than the limit of 1 at entities (line 2, column 3)"]
    );
    assert_eq!(
        errors_with(&thread_with("      x: { type: int }\n"), &config),
        ["2 fields, more than the limit of 1 at ForumThread.fields (line 4, column 7)"]
    );
}

#[test]
fn entities_null_is_an_error() {
    assert_errors(
        "entities: null\n",
        &["expected a list of entities, found null at entities (line 1, column 11)"],
    );
    assert_errors(
        "entities:\n",
        &["expected a list of entities, found null at entities (line 1, column 9)"],
    );
}

#[test]
fn yaml_tags_are_named_in_errors() {
    assert_errors(
        &thread_with("      data: { type: string, default: !!binary aGVsbG8= }\n"),
        &["yaml tag \"!!binary\" is not supported (line 7, column 38)"],
    );
    assert_errors(
        "entities: !!python/object:os.system []\n",
        &["yaml tag \"!!python/object:os.system\" is not supported (line 1, column 11)"],
    );
    assert_errors(
        &thread_with("      title: !custom { type: string }\n"),
        &["yaml tag \"!custom\" is not supported (line 7, column 14)"],
    );
}

#[test]
fn utf16_and_utf32_files_are_named() {
    let text = "entities: []\n";
    let widen = |unit: usize, big_endian: bool| -> String {
        let mut bytes = Vec::new();
        for b in text.bytes() {
            let mut unit_bytes = vec![0u8; unit];
            if big_endian {
                unit_bytes[unit - 1] = b;
            } else {
                unit_bytes[0] = b;
            }
            bytes.extend(unit_bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    };
    for (unit, big_endian, name) in [
        (2, false, "UTF-16LE"),
        (2, true, "UTF-16BE"),
        (4, false, "UTF-32LE"),
        (4, true, "UTF-32BE"),
    ] {
        assert_errors(
            &widen(unit, big_endian),
            &[&format!(
                "file is encoded as {name}, not UTF-8 (line 1, column 1)"
            )],
        );
    }
    // With a byte-order mark, as editors write them (read as UTF-8 with replacement).
    let bom_le = String::from_utf8_lossy(&[0xFF, 0xFE, b'e', 0, b'n', 0]).into_owned();
    assert_errors(
        &bom_le,
        &["file is encoded as UTF-16LE, not UTF-8 (line 1, column 1)"],
    );
    let bom_be32 = String::from_utf8_lossy(&[0, 0, 0xFE, 0xFF, 0, 0, 0, b'e']).into_owned();
    assert_errors(
        &bom_be32,
        &["file is encoded as UTF-32BE, not UTF-8 (line 1, column 1)"],
    );
}

#[test]
fn size_limits_are_reported_at_a_real_position_without_internal_text() {
    let mut config = Config::default();
    config.limits.max_nodes = 50;
    let many = format!("entities: [{}]\n", vec!["1"; 100].join(", "));
    assert_eq!(
        errors_with(&many, &config),
        ["yaml document has more than 50 nodes (line 1, column 153)"]
    );
    let mut config = Config::default();
    config.limits.max_file_bytes = 20;
    assert_eq!(
        errors_with("entities: []\n# a long comment\n", &config),
        ["file is larger than the limit of 20 bytes (line 2, column 8)"]
    );
}

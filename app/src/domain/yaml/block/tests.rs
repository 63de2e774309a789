//! The fast reader against serde-saphyr: equal trees wherever the fast one accepts.

use proptest::prelude::*;

use super::*;

#[path = "../../../../tests/common/corpus.rs"]
mod corpus;
use crate::domain::yaml::read_any;

/// Reads `text` both ways; whenever this reader accepts it, the trees must be equal.
fn read_both(text: &str) -> Option<Node> {
    let limits = Limits::default();
    let fast = read(text, &limits);
    if let Some(fast) = &fast {
        let general = read_any(text, &limits)
            .unwrap_or_else(|e| panic!("only the fast reader accepts {text:?}: {e:?}"));
        assert_eq!(fast, &general, "the readers disagree on {text:?}");
    }
    fast
}

#[test]
fn every_real_schema_file_is_read_fast_to_the_same_tree() {
    let fixtures = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
    let corpus = corpus::corpus_dir("block::every_real_schema_file_is_read_fast_to_the_same_tree");
    let least = if corpus.is_some() { 16 } else { 2 };
    let mut read_files = 0;
    for dir in corpus.into_iter().chain([fixtures]) {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for path in entries.filter_map(Result::ok).map(|e| e.path()) {
            if path.extension().is_some_and(|x| x == "yaml") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                assert!(
                    read_both(&text).is_some(),
                    "{} took the slow path",
                    path.display()
                );
                read_files += 1;
            }
        }
    }
    assert!(read_files >= least, "only {read_files} files found");
}

#[test]
fn the_block_style_is_read_with_the_general_readers_positions() {
    let documents = [
        "entities:\n  - name: A\n    fields:\n      - { name: id, type: \"x\" }\n      - {}\n",
        "entities:\n  - name: A # the first\n    version: \"1.0\"\n    checksum: null\n",
        "# head\n\nentities:\n\n  # between\n  - name: Ünïcode\n    description: \"naïve — ok\"\n    x: 1\n",
        "a:\n- 1\n- -2\n- 0\n- 3.25\nb: c\n",
        "a:\r\n  b: 'it''s'\r\n  c: [x, \"y z\", 3, 'w']   # flow\r\n  d: []\r\n",
        "- - a\n",
        "-\n  - a\n  - b\n-\n  k: v\n",
        "\"quoted key\": v\n'single': w\n7: seven\n",
        "a: b\na: c\n",
        "a:    spaced value   \nb: x:y\nc: a#b\n",
        "    a:\n        b: deep\n    c: back\n",
        "x: é\nw: [é, ü]\nz: \"é\"\n",
    ];
    let accepted = documents.iter().filter(|d| read_both(d).is_some()).count();
    // A list inside a list on one line is outside the subset; every other one is read fast.
    assert_eq!(accepted, documents.len() - 1);
}

#[test]
fn anything_outside_the_block_subset_is_left_to_the_general_reader() {
    let limits = Limits::default();
    for text in [
        "",
        "# only a comment\n",
        "a: &x 1\nb: *x\n",
        "a: !!binary aGk=\n",
        "a: |\n  text\n",
        "a: >\n  text\n",
        "a: plain\n  continued\n",
        "a:\tb\n",
        "a:\n",
        "a:\nb: 1\n",
        "- \n",
        "a: {b: {c: 1}}\n",
        "a: {b:1}\n",
        "a: {b: 1,}\n",
        "---\na: 1\n",
        "a: 1\n...\n",
        "a: \"esc\\x41\"\n",
        "a: yes\n",
        "a: True\n",
        "a: NULL\n",
        "a: 1e3\n",
        "a: 0x10\n",
        "a: 007\n",
        "a: .5\n",
        "a: [x, ]\n",
        "a: [x\n",
        "a: \"open\n",
        "a:\n  b: 1\n c: 2\n",
        "a: 1\n  b: 2\n",
        "\u{feff}a: 1\n",
        "a: b: c\n",
        "a: [b: c]\n",
        "a: \"x\" y\n",
        "just a scalar\n",
        "a: 1\r b: 2\n",
        "a: -x\n",
    ] {
        assert!(read(text, &limits).is_none(), "read fast: {text:?}");
    }
}

#[test]
fn files_near_a_limit_take_the_general_path() {
    let limits = Limits {
        max_nodes: 10,
        ..Limits::default()
    };
    assert!(read("a: 1\nb: 2\n", &limits).is_some());
    assert!(read("a: 1\nb: 2\nc: 3\n", &limits).is_none());
    let shallow = Limits {
        max_depth: 6,
        ..Limits::default()
    };
    assert!(read("a:\n  b: 1\n", &shallow).is_some());
    assert!(read("a:\n  b:\n    c: 1\n", &shallow).is_none());
}

/// A generated tree and how to write it.
#[derive(Debug, Clone)]
enum Doc {
    Scalar(&'static str),
    Map(Vec<(&'static str, Doc)>),
    Seq(Vec<Doc>),
}

const SCALARS: &[&str] = &[
    "a",
    "name",
    "x y",
    "true",
    "false",
    "null",
    "~",
    "1",
    "-7",
    "0",
    "00",
    "1.5",
    "-0.25",
    "yes",
    "True",
    "a:b",
    "a #c",
    "a# b",
    "'q'",
    "'it''s'",
    "\"d\"",
    "\"é ü\"",
    "ünï",
    "[a, b]",
    "[]",
    "[\"x\", 2, 'y']",
    "[a,b ]",
    "[a, [b]]",
    "",
    "&a x",
    "*a",
    "!t x",
    "|",
    "- x",
    "1e3",
    "0x1f",
    ".5",
    "-",
    "9223372036854775807",
    "é",
    "_id",
    "a: b",
    "\"a\" # c",
    "[a:b, c]",
    "{a: 1, b: \"x\"}",
    "{}",
    "{ k: [a] }",
    "{a: , b: 1}",
    "{a}",
    "{a: b:c}",
    "{ name: id, type: String, primary: true }",
    "\"say \\\"hi\\\" \\\\ back\\nslash\"",
];
const KEYS: &[&str] = &[
    "a", "b", "id", "x y", "\"q k\"", "'s'", "1", "true", "é", "a b",
];

fn doc() -> impl Strategy<Value = Doc> {
    let leaf = prop::sample::select(SCALARS).prop_map(Doc::Scalar);
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec((prop::sample::select(KEYS), inner.clone()), 1..4)
                .prop_map(Doc::Map),
            prop::collection::vec(inner, 1..4).prop_map(Doc::Seq),
        ]
    })
}

/// Writes `doc` in block style at `indent`, choosing among the layouts people write
/// from `style`'s bits: compact lists under keys, mappings starting on a dash's line,
/// comments, blank lines and CRLF.
fn write(doc: &Doc, indent: usize, style: u32, out: &mut String) {
    let pad = " ".repeat(indent);
    let step = if style & 1 == 0 { 2 } else { 4 };
    let end = if style & 2 == 0 { "\n" } else { "\r\n" };
    match doc {
        Doc::Scalar(text) => {
            out.push_str(text);
            out.push_str(end);
        }
        Doc::Map(entries) => {
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 || !out.ends_with("- ") {
                    out.push_str(&pad);
                }
                out.push_str(key);
                out.push(':');
                match value {
                    Doc::Scalar(_) => {
                        out.push(' ');
                        write(value, 0, style, out);
                    }
                    Doc::Seq(_) if style & 4 != 0 => {
                        out.push_str(end);
                        write(value, indent, style, out);
                    }
                    _ => {
                        out.push_str(if style & 8 != 0 { " # note" } else { "" });
                        out.push_str(end);
                        if style & 16 != 0 {
                            out.push_str(end);
                        }
                        write(value, indent + step, style, out);
                    }
                }
            }
        }
        Doc::Seq(items) => {
            for item in items {
                out.push_str(&pad);
                match item {
                    Doc::Map(_) if style & 32 != 0 => {
                        out.push_str("- ");
                        write(item, indent + 2, style, out);
                    }
                    Doc::Scalar(_) => {
                        out.push_str("- ");
                        write(item, 0, style, out);
                    }
                    _ => {
                        out.push('-');
                        out.push_str(end);
                        write(item, indent + step, style, out);
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn whatever_the_fast_reader_accepts_the_general_reader_reads_the_same(
        doc in doc(),
        style in 0u32..64,
    ) {
        let mut text = String::new();
        write(&doc, 0, style, &mut text);
        read_both(&text);
    }
}

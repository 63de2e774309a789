//! Hostile package files through `check` and `scan` (the real binary, a real database): bad
//! encodings, YAML tags, alias bombs, deep nesting, huge scalars, wrong types, NUL bytes,
//! duplicate keys, long names, symbolic links, FIFOs and random mutations of a good file. None
//! may crash either command; each bad package gets errors of its own (located in the file, or
//! naming the package), the good packages are still reported, and nothing is queued as a drop.

mod support;

use std::path::Path;

use support::{fresh_database, fresh_dir, run_cli};

const GOOD: &str = "entities:
  - name: GoodThing
    fields:
      id: { type: cuid, primary: true, generated: true }
      title: { type: string, maxLength: 80 }
";

const GOOD_LIST: &str = "entities:
  - name: OtherThing
    fields:
      - { name: id, type: String, primary: true, default: cuid }
      - { name: count, type: Int, required: false }
";

/// A small deterministic generator.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % bound as u64) as usize
    }
}

fn schema_path(packages: &Path, id: &str) -> std::path::PathBuf {
    let dir = packages.join(id).join("seed/schema");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("entities.yaml")
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut out = if big_endian {
        vec![0xfe, 0xff]
    } else {
        vec![0xff, 0xfe]
    };
    for unit in text.encode_utf16() {
        let bytes = if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        };
        out.extend(bytes);
    }
    out
}

/// Every hostile file: (package id, bytes). Every one of them must be reported with errors.
fn hostile() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add =
        |name: &str, bytes: Vec<u8>| files.push((format!("bad-{}-{name}", files.len()), bytes));
    // Encodings.
    add("utf16le", utf16(GOOD, false));
    add("utf16be", utf16(GOOD, true));
    add(
        "utf32",
        GOOD.chars()
            .flat_map(|c| (c as u32).to_le_bytes())
            .collect(),
    );
    add(
        "latin1",
        b"entities:\n  - name: Caf\xe9\n    fields: {}\n".to_vec(),
    );
    add(
        "invalid-utf8",
        b"entities:\n  - name: \xff\xfe\xfd\n".to_vec(),
    );
    add("nul-start", b"\0entities: []\n".to_vec());
    add(
        "nul-key",
        b"entities:\n  - name: A\0B\n    fields:\n      id: { type: cuid, primary: true }\n"
            .to_vec(),
    );
    add("nul-value", GOOD.replace("string", "str\0ing").into_bytes());
    // Tags.
    for tag in [
        "!!binary",
        "!!python/object:os.system",
        "!custom",
        "!!set",
        "!!omap",
        "!<tag:x.org,2000:y>",
    ] {
        add(
            "tag",
            GOOD.replace("type: string", &format!("type: {tag} string"))
                .into_bytes(),
        );
        add(
            "tag-entities",
            format!("entities: {tag}\n  - name: X\n").into_bytes(),
        );
    }
    // Alias bombs.
    for depth in [5, 8, 10, 12] {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..=depth {
            let prev = i - 1;
            let _ = std::fmt::Write::write_fmt(
                &mut text,
                format_args!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"),
            );
        }
        text.push_str(&format!("entities: *a{depth}\n"));
        add("bomb", text.into_bytes());
    }
    add("self-alias", b"entities: &a [*a]\n".to_vec());
    // Deep nesting.
    for depth in [64, 200, 1000, 10_000, 100_000] {
        add(
            "deep-flow",
            format!("entities: {}{}\n", "[".repeat(depth), "]".repeat(depth)).into_bytes(),
        );
        add(
            "deep-map",
            format!("entities: {}1{}\n", "{a: ".repeat(depth), "}".repeat(depth)).into_bytes(),
        );
    }
    let mut block = String::from("entities:\n");
    for i in 0..300 {
        block.push_str(&" ".repeat(i * 2 + 2));
        block.push_str("- \n");
    }
    add("deep-block", block.into_bytes());
    // Huge scalars and files.
    add(
        "huge-name",
        format!(
            "entities:\n  - name: A{}\n    fields: {{}}\n",
            "b".repeat(200_000)
        )
        .into_bytes(),
    );
    add(
        "huge-file",
        format!("entities: []\n# {}\n", "x".repeat(3 * 1024 * 1024)).into_bytes(),
    );
    add(
        "huge-number",
        GOOD.replace("80", &"9".repeat(5000)).into_bytes(),
    );
    add("many-entities", {
        let mut text = String::from("entities:\n");
        for i in 0..20_000 {
            text.push_str(&format!(
                "  - {{ name: E{i}, fields: {{ id: {{ type: cuid, primary: true }} }} }}\n"
            ));
        }
        text.into_bytes()
    });
    // Wrong shapes and types.
    for (what, text) in [
        ("scalar-root", "42\n"),
        ("list-root", "- a\n- b\n"),
        ("entities-null", "entities: null\n"),
        ("entities-int", "entities: 5\n"),
        ("entities-string", "entities: many\n"),
        ("entities-map", "entities: { a: 1 }\n"),
        ("entity-scalar", "entities:\n  - Thing\n"),
        ("entity-list", "entities:\n  - [a, b]\n"),
        ("name-map", "entities:\n  - name: { a: 1 }\n"),
        ("name-int", "entities:\n  - name: 12\n"),
        ("fields-string", "entities:\n  - name: T\n    fields: none\n"),
        ("fields-int-list", "entities:\n  - name: T\n    fields: [1, 2]\n"),
        ("field-scalar", "entities:\n  - name: T\n    fields:\n      id: cuid\n"),
        ("type-list", "entities:\n  - name: T\n    fields:\n      id: { type: [cuid], primary: true }\n"),
        ("primary-string", "entities:\n  - name: T\n    fields:\n      id: { type: cuid, primary: \"yes\" }\n"),
        ("maxlength-string", "entities:\n  - name: T\n    fields:\n      id: { type: cuid, primary: true }\n      t: { type: string, maxLength: long }\n"),
        ("maxlength-negative", "entities:\n  - name: T\n    fields:\n      id: { type: cuid, primary: true }\n      t: { type: string, maxLength: -1 }\n"),
        ("default-wrong", "entities:\n  - name: T\n    fields:\n      id: { type: cuid, primary: true }\n      n: { type: int, default: \"x\" }\n"),
        ("relations-map", "entities:\n  - name: T\n    fields:\n      id: { type: cuid, primary: true }\n    relations: { a: 1 }\n"),
        ("acl-list", "entities:\n  - name: T\n    fields:\n      id: { type: cuid, primary: true }\n    acl: [read]\n"),
        ("acl-role-int", "entities:\n  - name: T\n    fields:\n      id: { type: cuid, primary: true }\n    acl: { read: [1] }\n"),
        ("rowlevel-garbage", "entities:\n  - name: T\n    fields:\n      id: { type: cuid, primary: true }\n    acl: { rowLevel: \"((( = $\" }\n"),
        ("unknown-type", "entities:\n  - name: T\n    fields:\n      id: { type: cuid, primary: true }\n      x: { type: jsonb }\n"),
        ("unknown-key", "entities:\n  - name: T\n    colour: red\n    fields:\n      id: { type: cuid, primary: true }\n"),
        ("no-primary", "entities:\n  - name: T\n    fields:\n      x: { type: string }\n"),
        ("reserved-name", "entities:\n  - name: PrismaClient\n    fields:\n      id: { type: cuid, primary: true }\n"),
        ("lower-name", "entities:\n  - name: thing\n    fields:\n      id: { type: cuid, primary: true }\n"),
        ("unterminated", "entities:\n  - name: \"T\n"),
        ("bad-indent", "entities:\n  - name: T\n   fields:\n      id: { type: cuid }\n"),
        ("tabs", "entities:\n\t- name: T\n"),
        ("two-documents", "entities: []\n---\nentities: []\n"),
        ("only-comment", "# nothing here\n"),
        ("empty", ""),
        ("merge-key", "base: &b { type: cuid }\nentities:\n  - name: T\n    fields:\n      id: { <<: *b, primary: true }\n"),
    ] {
        add(what, text.as_bytes().to_vec());
    }
    // Duplicate keys at each level.
    for text in [
        "entities: []\nentities: []\n",
        "entities:\n  - name: T\n    name: U\n    fields:\n      id: { type: cuid, primary: true }\n",
        "entities:\n  - name: T\n    fields:\n      id: { type: cuid, primary: true }\n      id: { type: cuid }\n",
        "entities:\n  - name: T\n    fields:\n      id: { type: cuid, type: uuid, primary: true }\n",
        "entities:\n  - name: T\n    fields:\n      id: { type: cuid, primary: true }\n    acl: { read: [user], read: [public] }\n",
    ] {
        add("duplicate-key", text.as_bytes().to_vec());
    }
    // Long names.
    for length in [64, 100, 300] {
        let long = format!("L{}", "o".repeat(length));
        add("long-entity", format!("entities:\n  - name: {long}\n    fields:\n      id: {{ type: cuid, primary: true }}\n").into_bytes());
        add("long-field", format!("entities:\n  - name: T\n    fields:\n      id: {{ type: cuid, primary: true }}\n      f{}: {{ type: string }}\n", "x".repeat(length)).into_bytes());
        add("long-table", format!("entities:\n  - name: T\n    tableName: t{}\n    fields:\n      id: {{ type: cuid, primary: true }}\n", "x".repeat(length)).into_bytes());
    }
    files
}

/// Random mutations of a good file: truncations, flipped bytes, inserted characters. Each must
/// be either accepted or reported with errors; never a crash.
fn mutations() -> Vec<(String, Vec<u8>)> {
    let mut random = Random(0xbad_f11e);
    let base = GOOD.as_bytes();
    let inserts: &[&[u8]] = &[
        b"\0", b":", b"&a", b"*a", b"!!", b"\"", b"{", b"]", b"\t", b"\r", b"\xc3", b"- ",
    ];
    (0..60)
        .map(|i| {
            let mut bytes = base.to_vec();
            match i % 3 {
                0 => bytes.truncate(random.below(bytes.len())),
                1 => {
                    let at = random.below(bytes.len());
                    bytes[at] = bytes[at].wrapping_add(1 + random.below(200) as u8);
                }
                _ => {
                    let at = random.below(bytes.len());
                    let insert = inserts[random.below(inserts.len())];
                    bytes.splice(at..at, insert.iter().copied());
                }
            }
            (format!("mutant-{i}"), bytes)
        })
        .collect()
}

/// Makes an irregular schema file (a symlink, a FIFO, ...) at the given path.
type MakeFile = Box<dyn Fn(&Path)>;

#[test]
fn hostile_package_files_never_crash_check_or_scan_and_never_queue_a_drop() {
    use std::os::unix::fs::symlink;
    let dir = fresh_dir("hostile");
    let packages = dir.join("packages");
    std::fs::write(schema_path(&packages, "good-map"), GOOD).unwrap();
    std::fs::write(schema_path(&packages, "good-list"), GOOD_LIST).unwrap();
    let mut must_fail: Vec<String> = Vec::new();
    for (id, bytes) in hostile() {
        std::fs::write(schema_path(&packages, &id), bytes).unwrap();
        must_fail.push(id);
    }
    // Irregular files.
    let irregular: Vec<(&str, MakeFile)> = vec![
        (
            "bad-dangling",
            Box::new(|p: &Path| symlink("/nonexistent/entities.yaml", p).unwrap()),
        ),
        ("bad-loop", Box::new(|p: &Path| symlink(p, p).unwrap())),
        (
            "bad-outside",
            Box::new(|p: &Path| symlink("/etc/hostname", p).unwrap()),
        ),
        (
            "bad-dev-zero",
            Box::new(|p: &Path| symlink("/dev/zero", p).unwrap()),
        ),
        (
            "bad-directory",
            Box::new(|p: &Path| std::fs::create_dir(p).unwrap()),
        ),
        (
            "bad-fifo",
            Box::new(|p: &Path| {
                let status = std::process::Command::new("mkfifo")
                    .arg(p)
                    .status()
                    .unwrap();
                assert!(status.success());
            }),
        ),
    ];
    for (id, make) in irregular {
        make(&schema_path(&packages, id));
        must_fail.push(id.to_string());
    }
    let mut mutants = Vec::new();
    for (id, bytes) in mutations() {
        std::fs::write(schema_path(&packages, &id), bytes).unwrap();
        mutants.push(id);
    }
    let total = must_fail.len() + mutants.len();
    assert!(total >= 150, "only {total} hostile files");

    let db = fresh_database("hostile");
    let packages_arg = packages.to_str().unwrap();
    let check = run_cli(&db, &["--packages", packages_arg, "check", "--json"], "");
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(check.status.code(), Some(1), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_slice(&check.stdout).expect("one JSON document");
    let by_id = |id: &str| {
        report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["package"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("package {id} missing from check's report"))
    };
    for good in ["good-map", "good-list"] {
        let package = by_id(good);
        assert_eq!(
            package["errors"],
            serde_json::json!([]),
            "{good}: {package}"
        );
        assert_eq!(package["entities"].as_array().unwrap().len(), 1, "{good}");
    }
    for id in &must_fail {
        let package = by_id(id);
        let errors = package["errors"].as_array().unwrap();
        assert!(!errors.is_empty(), "{id} was accepted: {package}");
        for error in errors {
            let located = error["line"].as_u64().is_some_and(|l| l >= 1)
                && error["column"].as_u64().is_some_and(|c| c >= 1);
            let named = error["file"]
                .as_str()
                .is_some_and(|f| f.contains(id.as_str()));
            assert!(
                located || named,
                "{id}: an error neither located nor naming the package: {error}"
            );
            assert!(
                !error["message"].as_str().unwrap_or_default().is_empty(),
                "{id}: {error}"
            );
        }
    }
    for id in &mutants {
        let package = by_id(id);
        for error in package["errors"].as_array().unwrap() {
            assert!(
                error["line"].as_u64().is_some_and(|l| l >= 1),
                "{id}: {error}"
            );
        }
    }

    let scan = run_cli(&db, &["--packages", packages_arg, "scan", "--json"], "");
    let stderr = String::from_utf8_lossy(&scan.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_slice(&scan.stdout).expect("one JSON document");
    let created: Vec<&str> = report["created"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["package"].as_str())
        .collect();
    assert!(
        created.contains(&"good-map") && created.contains(&"good-list"),
        "{report}"
    );
    // Make every package unreadable after a scan that saw the good ones: still no drop.
    for id in ["good-map", "good-list"] {
        let path = schema_path(&packages, id);
        std::fs::remove_file(&path).unwrap();
        symlink("/nonexistent", &path).unwrap();
    }
    let rescan = run_cli(&db, &["--packages", packages_arg, "scan", "--json"], "");
    let report: serde_json::Value =
        serde_json::from_slice(&rescan.stdout).expect("one JSON document");
    assert_eq!(report["drops"], serde_json::json!([]), "{report}");
}

/// Paths given on the command line that are not regular files: a device of endless zeros, a
/// FIFO nobody writes to, and `/dev/full` as an output file. Each is refused at once, by name;
/// nothing is read without bound, nothing hangs, and no device is replaced.
#[test]
fn devices_and_fifos_given_as_paths_are_refused_at_once() {
    let dir = fresh_dir("hostile_paths");
    let packages = dir.join("packages");
    std::fs::create_dir_all(schema_path(&packages, "good").parent().unwrap()).unwrap();
    std::fs::write(schema_path(&packages, "good"), GOOD).unwrap();
    let fifo = dir.join("base.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let packages = packages.to_str().unwrap();
    for base in ["/dev/zero", fifo.to_str().unwrap()] {
        let started = std::time::Instant::now();
        let output = run_cli(
            "postgres://unused",
            &["--packages", packages, "--base-schema", base, "check"],
            "",
        );
        assert!(!output.status.success(), "{base}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("not a regular file"), "{base}: {stderr}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{base}"
        );
    }
    let output = run_cli(
        "postgres://unused",
        &[
            "--packages",
            packages,
            "generate",
            "--from-packages",
            "--out",
            "/dev/full",
        ],
        "",
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not a regular file"), "{stderr}");
    let full = std::fs::metadata("/dev/full").unwrap();
    assert!(!full.file_type().is_file(), "/dev/full was replaced");
}

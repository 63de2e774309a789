//! Several packages and entities at once: one bad package never hides the others, errors are
//! all collected, conflicting and shared entities, and the JSON shape of `check`.

use super::*;

#[test]
fn one_bad_package_never_hides_the_others() {
    let good = "entities:\n  - name: Good\n    fields: { id: { type: cuid, primary: true } }\n";
    let bad = "entities:\n  - name: Bad\n    fields: { id: { type: cuid, primary: true }, x: { type: jsonb } }\n  - name: AlsoFine\n    fields: { id: { type: cuid, primary: true } }\n";
    let worse = "entities: [\n";
    let catalog = build(
        vec![
            package("good", good),
            package("bad", bad),
            package("worse", worse),
        ],
        &Config::default(),
    );
    let by_id = |id: &str| catalog.package(id).unwrap_or_else(|| panic!("no {id}"));
    assert!(by_id("good").errors.is_empty());
    assert!(by_id("good").checksum.is_some());
    assert_eq!(by_id("bad").errors.len(), 1);
    assert_eq!(
        by_id("bad")
            .entities
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>(),
        ["AlsoFine"]
    );
    assert_eq!(by_id("bad").checksum, None);
    assert_eq!(by_id("worse").errors.len(), 1);
    assert!(catalog.has_failures());
}

#[test]
fn errors_from_several_entities_are_all_collected() {
    let text = "entities:\n  - name: A\n    fields: { id: { type: cuid, primary: true }, x: { type: jsonb } }\n  - name: B\n    fields: { id: { type: cuid, primary: true }, y: { type: text } }\n";
    assert_errors(
        text,
        &[
            "unknown field type \"jsonb\" at A.fields.x.type (line 3, column 61)",
            "unknown field type \"text\" at B.fields.y.type (line 5, column 61)",
        ],
    );
}

#[test]
fn a_relation_to_an_entity_with_errors_does_not_cascade() {
    let text = "entities:\n  - name: A\n    fields: { id: { type: cuid, primary: true }, x: { type: jsonb } }\n  - name: B\n    fields: { id: { type: cuid, primary: true }, aId: { type: string } }\n    relations:\n      - { name: a, type: belongsTo, entity: A, field: aId }\n";
    assert_errors(
        text,
        &["unknown field type \"jsonb\" at A.fields.x.type (line 3, column 61)"],
    );
}

#[test]
fn the_same_entity_with_different_checksums_is_a_conflict_naming_every_package() {
    let one = "entities:\n  - name: Shared\n    fields: { id: { type: cuid, primary: true }, n: { type: int } }\n";
    let two = "entities:\n  - name: Shared\n    fields: { id: { type: cuid, primary: true }, n: { type: bigint } }\n";
    let catalog = build(
        vec![
            package("two", two),
            package("one", one),
            package("three", one),
        ],
        &Config::default(),
    );
    assert_eq!(catalog.conflicts.len(), 1);
    let conflict = &catalog.conflicts[0];
    assert_eq!(conflict.entity, "Shared");
    let packages: Vec<&str> = conflict
        .declarations
        .iter()
        .map(|d| d.package.as_str())
        .collect();
    assert_eq!(packages, ["one", "three", "two"]);
    assert_eq!(
        conflict.declarations[0].checksum,
        conflict.declarations[1].checksum
    );
    assert_ne!(
        conflict.declarations[0].checksum,
        conflict.declarations[2].checksum
    );
    assert!(catalog.has_failures());
    assert_eq!(
        catalog.render_schema().map_err(|e| e.to_string()),
        Err("conflicting entities: Shared".to_owned())
    );
}

#[test]
fn the_same_entity_with_equal_checksums_is_shared_and_rendered_once() {
    let one = "entities:\n  - name: Shared\n    fields: { id: { type: cuid, primary: true } }\n";
    let catalog = build(
        vec![package("one", one), package("two", one)],
        &Config::default(),
    );
    assert!(catalog.conflicts.is_empty());
    assert_eq!(catalog.shared.len(), 1);
    assert_eq!(
        catalog.shared[0]
            .packages
            .iter()
            .map(PackageId::as_str)
            .collect::<Vec<_>>(),
        ["one", "two"]
    );
    let schema = catalog.render_schema().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(schema.matches("model Shared {").count(), 1);
}

#[test]
fn diagnostics_serialize_to_the_check_json_shape() {
    let catalog = build(
        vec![package(
            "forum",
            &thread_with("      meta:\n        type: jsonb\n"),
        )],
        &Config::default(),
    );
    let json = serde_json::to_value(&catalog).unwrap_or_else(|e| panic!("{e}"));
    let error = &json["packages"][0]["errors"][0];
    assert_eq!(json["packages"][0]["package"], "forum");
    assert_eq!(error["file"], "forum.yaml");
    assert_eq!(error["line"], 8);
    assert_eq!(error["column"], 15);
    assert_eq!(error["path"], "ForumThread.fields.meta.type");
    assert_eq!(error["code"], "unknown_field_type");
    assert!(error["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("unknown field type \"jsonb\"")));
    assert_eq!(json["conflicts"], serde_json::json!([]));
}

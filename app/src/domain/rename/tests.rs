use super::*;
use crate::domain::change::{diff_entities, ItemKind, Risk};
use crate::domain::config::Config;
use crate::domain::dialect::parse_entities;
use crate::domain::preflight::{hazards, Hazard};

#[track_caller]
fn entities(yaml: &str) -> Vec<Entity> {
    let parsed = parse_entities(yaml, "p/entities.yaml", &Config::default());
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    parsed.entities
}

#[track_caller]
fn errors(yaml: &str) -> Vec<String> {
    parse_entities(yaml, "p/entities.yaml", &Config::default())
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect()
}

const BEFORE: &str = "
entities:
  - name: Post
    fields:
      id: { type: string, primary: true }
      title: { type: string, required: true }
      ownerId: { type: string, required: false }
    indexes:
      - fields: [title, ownerId]
  - name: Comment
    fields:
      id: { type: string, primary: true }
      postId: { type: string, required: true }
    relations:
      - name: post
        type: belongsTo
        entity: Post
        field: postId
";

const AFTER: &str = "
entities:
  - name: Article
    renamedFrom: Post
    tableName: articles
    fields:
      id: { type: string, primary: true }
      subject: { type: string, required: true, renamedFrom: title, columnName: subject_text }
      ownerId: { type: string, required: false }
    indexes:
      - fields: [subject, ownerId]
  - name: Comment
    fields:
      id: { type: string, primary: true }
      postId: { type: string, required: true }
    relations:
      - name: post
        type: belongsTo
        entity: Article
        field: postId
";

#[test]
fn a_rename_applies_where_the_earlier_name_is_held_and_the_new_one_is_not() {
    let (before, after) = (entities(BEFORE), entities(AFTER));
    let found = renames(&before, &after);
    assert_eq!(
        found.entities,
        [EntityRename {
            from: "Post".into(),
            to: "Article".into(),
            from_table: "Post".into(),
            to_table: "articles".into(),
        }]
    );
    assert_eq!(
        found.fields,
        [FieldRename {
            entity: "Article".into(),
            table: "articles".into(),
            from: "title".into(),
            to: "subject".into(),
            from_column: "title".into(),
            to_column: "subject_text".into(),
        }]
    );
    // Once applied, the same declaration renames nothing; nor where the old name never was.
    assert!(renames(&after, &after).is_empty());
    assert!(renames(&[], &after).is_empty());
}

#[test]
fn the_renamed_state_is_the_state_before_with_keys_indexes_and_relations_following() {
    let (before, after) = (entities(BEFORE), entities(AFTER));
    let state = renamed_state(&before, &renames(&before, &after), &after);
    let article = state.iter().find(|e| e.name == "Article").unwrap();
    assert_eq!(article.table_name.as_deref(), Some("articles"));
    let subject = article.field("subject").unwrap();
    assert_eq!(subject.column_name.as_deref(), Some("subject_text"));
    assert_eq!(article.indexes[0].fields, ["subject", "ownerId"]);
    let comment = state.iter().find(|e| e.name == "Comment").unwrap();
    assert_eq!(comment.relations[0].target, "Article");
    // Nothing else differs from the state after: the rest of the change is empty.
    let rest: Vec<_> = diff_entities(&state, &after);
    assert!(rest.is_empty(), "{rest:?}");
}

#[test]
fn the_renames_run_as_sql_on_quoted_names_tables_first() {
    let (before, after) = (entities(BEFORE), entities(AFTER));
    assert_eq!(
        statements(&renames(&before, &after)),
        [
            "ALTER TABLE \"Post\" RENAME TO \"articles\";",
            "ALTER TABLE \"articles\" RENAME COLUMN \"title\" TO \"subject_text\";",
        ]
    );
}

#[test]
fn indexes_and_constraints_named_after_a_renamed_table_or_column_follow_it() {
    let before = r#"
CREATE TABLE "Post" ("id" TEXT NOT NULL, "title" TEXT NOT NULL, CONSTRAINT "Post_pkey" PRIMARY KEY ("id"));
CREATE TABLE "Other" ("id" TEXT NOT NULL, CONSTRAINT "Other_pkey" PRIMARY KEY ("id"));
CREATE INDEX "Post_title_idx" ON "Post"("title");
CREATE UNIQUE INDEX "custom_name" ON "Post"("title");
ALTER TABLE "Post" ADD CONSTRAINT "Post_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "Other"("id") ON DELETE SET NULL ON UPDATE CASCADE;
"#;
    let renamed = r#"
CREATE TABLE "articles" ("id" TEXT NOT NULL, "subject_text" TEXT NOT NULL, CONSTRAINT "articles_pkey" PRIMARY KEY ("id"));
CREATE TABLE "Other" ("id" TEXT NOT NULL, CONSTRAINT "Other_pkey" PRIMARY KEY ("id"));
CREATE INDEX "articles_subject_text_idx" ON "articles"("subject_text");
CREATE UNIQUE INDEX "custom_name" ON "articles"("subject_text");
ALTER TABLE "articles" ADD CONSTRAINT "articles_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "Other"("id") ON DELETE SET NULL ON UPDATE CASCADE;
"#;
    let (b, a) = (entities(BEFORE), entities(AFTER));
    let mut found = constraint_renames(before, renamed, &renames(&b, &a));
    found.sort();
    assert_eq!(
        found,
        [
            "ALTER INDEX \"Post_title_idx\" RENAME TO \"articles_subject_text_idx\";",
            "ALTER TABLE \"articles\" RENAME CONSTRAINT \"Post_ownerId_fkey\" TO \"articles_ownerId_fkey\";",
            "ALTER TABLE \"articles\" RENAME CONSTRAINT \"Post_pkey\" TO \"articles_pkey\";",
        ]
    );
}

#[test]
fn a_rename_is_a_breaking_item_with_no_data_loss_and_a_drop_beside_a_twin_suggests_it() {
    let (before, after) = (entities(BEFORE), entities(AFTER));
    let items = diff_entities(&before, &after);
    let kinds: Vec<ItemKind> = items.iter().map(|i| i.kind).collect();
    assert_eq!(kinds, [ItemKind::RenameEntity, ItemKind::RenameField]);
    assert!(items.iter().all(|i| i.risk == Risk::Breaking));
    assert_eq!(
        items[0].summary,
        "rename entity Post → Article (table \"Post\" → \"articles\")"
    );

    // The same edit without renamedFrom: drops and adds, each drop suggesting the rename.
    let guessed = AFTER
        .replace("    renamedFrom: Post\n", "")
        .replace(", renamedFrom: title", "");
    let items = diff_entities(&before, &entities(&guessed));
    let drop = items
        .iter()
        .find(|i| i.kind == ItemKind::DropEntity)
        .unwrap();
    assert!(
        drop.suggestion
            .as_deref()
            .unwrap()
            .starts_with("looks like a rename: add `renamedFrom: Post` to entity Article"),
        "{drop:?}"
    );
    let note = |field: &str| {
        entities(&format!(
            "entities:\n  - name: Note\n    fields:\n      id: {{ type: string, primary: true }}\n      {field}: {{ type: string }}\n"
        ))
    };
    let items = diff_entities(&note("title"), &note("subject"));
    let drop = items
        .iter()
        .find(|i| i.kind == ItemKind::DropField)
        .unwrap();
    assert!(
        drop.suggestion
            .as_deref()
            .unwrap()
            .starts_with("looks like a rename: add `renamedFrom: title` to subject"),
        "{drop:?}"
    );
}

#[test]
fn renamed_from_is_read_in_both_dialects_and_must_name_an_earlier_name_nothing_still_has() {
    let list = "
entities:
  - name: Note
    fields:
      - name: id
        type: string
        primary: true
      - name: reference
        type: string
        renamedFrom: code
";
    assert_eq!(
        entities(list)[0]
            .field("reference")
            .unwrap()
            .renamed_from
            .as_deref(),
        Some("code")
    );
    let cases = [
        (
            list.replace("renamedFrom: code", "renamedFrom: \"code; DROP TABLE x\""),
            "invalid field name \"code; DROP TABLE x\"",
        ),
        (
            list.replace("renamedFrom: code", "renamedFrom: reference"),
            "the field's earlier name, not its own",
        ),
        (
            list.replace("renamedFrom: code", "renamedFrom: id"),
            "a name no field still has",
        ),
        (
            "entities:\n  - name: A\n    renamedFrom: B\n    fields:\n      id: { type: string, primary: true }\n  - name: B\n    fields:\n      id: { type: string, primary: true }\n".to_string(),
            "a name no entity still has",
        ),
        (
            "entities:\n  - name: A\n    renamedFrom: lower\n    fields:\n      id: { type: string, primary: true }\n".to_string(),
            "invalid entity name \"lower\"",
        ),
        (
            "entities:\n  - name: A\n    fields:\n      id: { type: string, primary: true }\n      b: { type: string, renamedFrom: x }\n      c: { type: string, renamedFrom: x }\n".to_string(),
            "a name only one field was renamed from (b is renamed from \"x\" too)",
        ),
    ];
    for (yaml, expected) in cases {
        let found = errors(&yaml);
        assert!(
            found.len() == 1 && found[0].contains(expected),
            "{expected}: {found:?}"
        );
    }
}

#[test]
fn hazards_after_a_rename_are_checked_under_the_live_names() {
    let plan = r#"
ALTER TABLE "Post" RENAME TO "Article";
ALTER TABLE "Article" RENAME COLUMN "title" TO "subject";
ALTER TABLE "Article" ALTER COLUMN "subject" SET NOT NULL;
CREATE UNIQUE INDEX "Article_subject_key" ON "Article"("subject");
"#;
    let found: Vec<Hazard> = hazards(plan).into_iter().map(|h| h.hazard).collect();
    assert_eq!(
        found,
        [
            Hazard::NotNull {
                table: "Post".into(),
                column: "title".into()
            },
            Hazard::Unique {
                table: "Post".into(),
                columns: vec!["title".into()]
            },
        ]
    );
}

#[test]
fn a_renamed_foreign_key_is_followed_by_both_sides_of_the_relation() {
    let side = |key: &str, renamed: &str| {
        format!(
            "entities:
  - name: A
    fields:
      id: {{ type: string, primary: true }}
    relations:
      - {{ name: bs, type: hasMany, entity: B, foreignKey: {key} }}
  - name: B
    fields:
      id: {{ type: string, primary: true }}
      {key}: {{ type: string, required: true{renamed} }}
    relations:
      - {{ name: a, type: belongsTo, entity: A, field: {key} }}
"
        )
    };
    let (before, after) = (
        entities(&side("aId", "")),
        entities(&side("ownerId", ", renamedFrom: aId")),
    );
    let state = renamed_state(&before, &renames(&before, &after), &after);
    for entity in &state {
        assert_eq!(entity.relations[0].fields, ["ownerId"], "{}", entity.name);
    }
    let rest = diff_entities(&state, &after);
    assert!(rest.is_empty(), "{rest:?}");
}

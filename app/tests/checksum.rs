//! Checksum invariants, as properties: the same entity written in either dialect, any key order,
//! any field order, LF or CRLF, with or without descriptions, comments and version has one
//! checksum; any structural change gives another.

use app::domain::{entity_checksum, is_checksum, parse_entities, Config};
use proptest::prelude::*;
use proptest::sample::Index as Pick;

const TYPES: [(&str, &str); 7] = [
    ("string", "String"),
    ("int", "Int"),
    ("bigint", "BigInt"),
    ("float", "Float"),
    ("boolean", "Boolean"),
    ("json", "Json"),
    ("datetime", "DateTime"),
];
const ROLES: [&str; 5] = ["public", "user", "owner", "admin", "system"];
const OPS: [&str; 4] = ["create", "read", "update", "delete"];
const ACTIONS: [&str; 4] = ["Cascade", "Restrict", "NoAction", "SetNull"];

/// An entity described independently of how it is written.
#[derive(Debug, Clone, PartialEq)]
struct Spec {
    fields: Vec<FieldSpec>,
    indexes: Vec<(Vec<usize>, bool)>,
    on_delete: Option<usize>,
    table_name: Option<String>,
    acl: Vec<Vec<usize>>,
    row_level: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct FieldSpec {
    name: String,
    type_index: usize,
    optional: bool,
    /// A literal default that fits the type (or none).
    default: Option<String>,
    unique: bool,
    index: bool,
    max_length: Option<u16>,
    enum_values: Option<Vec<String>>,
    column_name: Option<String>,
}

/// How the spec is written.
#[derive(Debug, Clone)]
struct Style {
    list_dialect: bool,
    key_order: u64,
    field_order: Vec<usize>,
    crlf: bool,
    prose: bool,
    id_as_cuid_alias: bool,
    optional_as_nullable: bool,
    explicit_required: bool,
    indent: usize,
    predicate_spacing: bool,
}

fn default_for(type_index: usize, choice: u8, enum_values: Option<&[String]>) -> Option<String> {
    if let Some(values) = enum_values {
        return values
            .get(usize::from(choice) % values.len())
            .map(|v| format!("\"{v}\""));
    }
    Some(match TYPES[type_index].1 {
        "String" => format!("\"t{}\"", choice % 10),
        "Int" | "BigInt" => format!("{}", i16::from(choice) - 5),
        "Float" => format!("{}.5", choice),
        "Boolean" => choice.is_multiple_of(2).to_string(),
        "DateTime" => "now".to_owned(),
        _ => return None,
    })
}

fn field_spec(index: usize) -> impl Strategy<Value = FieldSpec> {
    (
        0..TYPES.len(),
        any::<bool>(),
        any::<Option<u8>>(),
        any::<bool>(),
        any::<bool>(),
        any::<Option<u16>>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            move |(
                type_index,
                optional,
                default_choice,
                unique,
                index_flag,
                max_length,
                with_enum,
                with_column,
            )| {
                let is_string = TYPES[type_index].1 == "String";
                let enum_values = (is_string && with_enum)
                    .then(|| vec!["alpha".to_owned(), "beta".to_owned(), "gamma".to_owned()]);
                let default =
                    default_choice.and_then(|c| default_for(type_index, c, enum_values.as_deref()));
                FieldSpec {
                    name: format!("field{index}"),
                    type_index,
                    optional,
                    default,
                    unique,
                    index: index_flag,
                    max_length: max_length
                        .filter(|_| is_string && enum_values.is_none())
                        .map(|n| n % 500 + 2),
                    enum_values,
                    column_name: with_column.then(|| format!("col_{index}")),
                }
            },
        )
}

fn spec() -> impl Strategy<Value = Spec> {
    (1usize..6)
        .prop_flat_map(|count| {
            let fields: Vec<_> = (0..count).map(field_spec).collect();
            (
                fields,
                proptest::collection::vec(
                    (proptest::collection::vec(0..count, 1..3), any::<bool>()),
                    0..3,
                ),
                proptest::option::of(0..ACTIONS.len()),
                proptest::option::of("[a-z]{3,8}"),
                proptest::collection::vec(proptest::collection::vec(0..ROLES.len(), 0..3), 4),
                any::<bool>(),
            )
        })
        .prop_map(|(fields, indexes, on_delete, table_name, acl, row_level)| {
            let indexes = indexes
                .into_iter()
                .map(|(mut columns, unique)| {
                    columns.dedup();
                    (columns, unique)
                })
                .collect();
            let mut acl: Vec<Vec<usize>> = acl;
            for roles in &mut acl {
                roles.sort_unstable();
                roles.dedup();
            }
            Spec {
                fields,
                indexes,
                on_delete,
                table_name,
                acl,
                row_level,
            }
        })
}

fn style(field_count: usize) -> impl Strategy<Value = Style> {
    (
        any::<bool>(),
        any::<u64>(),
        Just((0..field_count).collect::<Vec<_>>()).prop_shuffle(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        2usize..5,
        any::<bool>(),
    )
        .prop_map(
            |(
                list_dialect,
                key_order,
                field_order,
                crlf,
                prose,
                id_as_cuid_alias,
                optional_as_nullable,
                explicit_required,
                indent,
                predicate_spacing,
            )| {
                Style {
                    list_dialect,
                    key_order,
                    field_order,
                    crlf,
                    prose,
                    id_as_cuid_alias,
                    optional_as_nullable,
                    explicit_required,
                    indent,
                    predicate_spacing,
                }
            },
        )
}

/// Deterministic shuffle of key/value pairs driven by `seed`.
fn shuffle<T>(mut items: Vec<T>, seed: u64) -> Vec<T> {
    let mut state = seed | 1;
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = usize::try_from(state % (i as u64 + 1)).unwrap_or(0);
        items.swap(i, j);
    }
    items
}

/// A mapping written as block lines at `indent`, keys in shuffled order.
fn block(pairs: Vec<(String, String)>, indent: usize, seed: u64) -> String {
    shuffle(pairs, seed)
        .into_iter()
        .map(|(k, v)| format!("{}{k}:{v}\n", " ".repeat(indent)))
        .collect()
}

fn scalar(value: &str) -> String {
    format!(" {value}")
}

fn write(spec: &Spec, style: &Style) -> String {
    let step = style.indent;
    let entity_indent = 2 + 2;
    let field_indent = entity_indent + step;
    let mut entity: Vec<(String, String)> = vec![("name".to_owned(), scalar("Widget"))];
    if style.prose {
        entity.push(("version".to_owned(), scalar("\"3.1\"")));
        entity.push(("description".to_owned(), scalar("\"A widget, described\"")));
        entity.push(("checksum".to_owned(), " null  # computed".to_owned()));
    }
    if let Some(table) = &spec.table_name {
        entity.push(("tableName".to_owned(), scalar(table)));
    }

    let mut fields: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut id: Vec<(String, String)> = vec![("primary".to_owned(), scalar("true"))];
    if style.id_as_cuid_alias {
        id.push(("type".to_owned(), scalar("cuid")));
        id.push(("generated".to_owned(), scalar("true")));
    } else {
        let string = if style.list_dialect {
            "String"
        } else {
            "string"
        };
        id.push(("type".to_owned(), scalar(string)));
        id.push(("default".to_owned(), scalar("cuid")));
    }
    fields.push(("id".to_owned(), id));
    let mut owner: Vec<(String, String)> = vec![(
        "type".to_owned(),
        scalar(if style.list_dialect {
            "String"
        } else {
            "string"
        }),
    )];
    if spec.on_delete == Some(3) {
        owner.push(("required".to_owned(), scalar("false")));
    }
    fields.push(("ownerRef".to_owned(), owner));
    for &i in &style.field_order {
        let field = &spec.fields[i];
        let (map_name, list_name) = TYPES[field.type_index];
        let mut pairs = vec![(
            "type".to_owned(),
            scalar(if style.list_dialect {
                list_name
            } else {
                map_name
            }),
        )];
        if field.optional {
            let key = if style.optional_as_nullable {
                ("nullable", "true")
            } else {
                ("required", "false")
            };
            pairs.push((key.0.to_owned(), scalar(key.1)));
        } else if style.explicit_required {
            pairs.push(("required".to_owned(), scalar("true")));
        }
        if let Some(default) = &field.default {
            pairs.push(("default".to_owned(), scalar(default)));
        }
        if field.unique {
            pairs.push(("unique".to_owned(), scalar("true")));
        }
        if field.index {
            pairs.push(("index".to_owned(), scalar("true")));
        }
        if let Some(n) = field.max_length {
            pairs.push(("maxLength".to_owned(), scalar(&n.to_string())));
        }
        if let Some(values) = &field.enum_values {
            pairs.push(("enum".to_owned(), format!(" [{}]", values.join(", "))));
        }
        if let Some(column) = &field.column_name {
            pairs.push(("columnName".to_owned(), scalar(column)));
        }
        if style.prose {
            pairs.push((
                "description".to_owned(),
                scalar("\"prose that never matters\""),
            ));
        }
        fields.push((field.name.clone(), pairs));
    }
    let mut fields_text = String::from("\n");
    for (n, (name, pairs)) in fields.into_iter().enumerate() {
        let seed = style.key_order.wrapping_add(n as u64);
        if style.list_dialect {
            let mut pairs = pairs;
            pairs.push(("name".to_owned(), scalar(&name)));
            let body = block(pairs, field_indent + 2, seed);
            let body = body.trim_start().to_owned();
            fields_text.push_str(&format!("{}- {body}", " ".repeat(field_indent)));
        } else {
            fields_text.push_str(&format!(
                "{}{name}:\n{}",
                " ".repeat(field_indent),
                block(pairs, field_indent + step, seed)
            ));
        }
        if style.prose {
            fields_text.push_str(&format!(
                "{}# a comment between fields\n\n",
                " ".repeat(field_indent)
            ));
        }
    }
    entity.push((
        "fields".to_owned(),
        fields_text.trim_end_matches('\n').to_owned(),
    ));

    if !spec.indexes.is_empty() {
        let list: Vec<String> = spec
            .indexes
            .iter()
            .map(|(columns, unique)| {
                let names: Vec<String> = columns
                    .iter()
                    .map(|c| spec.fields[*c].name.clone())
                    .collect();
                format!(
                    "{}- {{ fields: [{}], unique: {unique} }}",
                    " ".repeat(field_indent),
                    names.join(", ")
                )
            })
            .collect();
        entity.push(("indexes".to_owned(), format!("\n{}", list.join("\n"))));
    }
    let (target_key, fk_key) = if style.list_dialect {
        ("target", "foreignKey")
    } else {
        ("entity", "field")
    };
    let action = spec
        .on_delete
        .map_or_else(String::new, |a| format!(", onDelete: {}", ACTIONS[a]));
    entity.push((
        "relations".to_owned(),
        format!("\n{}- {{ name: owner, type: belongsTo, {target_key}: User, {fk_key}: ownerRef{action} }}", " ".repeat(field_indent)),
    ));
    let mut acl: Vec<(String, String)> = Vec::new();
    for (op, roles) in OPS.iter().zip(&spec.acl) {
        let names: Vec<&str> = shuffle(roles.iter().map(|r| ROLES[*r]).collect(), style.key_order);
        acl.push(((*op).to_owned(), format!(" [{}]", names.join(", "))));
    }
    if spec.row_level {
        let predicate = if style.predicate_spacing {
            "\"ownerRef=$user.id  or  (id != 'x')\""
        } else {
            "\"ownerRef = $user.id OR id != 'x'\""
        };
        acl.push(("rowLevel".to_owned(), scalar(predicate)));
    }
    entity.push((
        "acl".to_owned(),
        format!(
            "\n{}",
            block(acl, field_indent, style.key_order).trim_end_matches('\n')
        ),
    ));

    let body = block(entity, entity_indent, style.key_order);
    let mut text = String::new();
    if style.prose {
        text.push_str("# yaml-language-server: $schema=entities.json\n# Widget package\n\n");
    }
    text.push_str("entities:\n  - ");
    text.push_str(body.trim_start());
    if style.crlf {
        text = text.replace('\n', "\r\n");
    }
    text
}

fn checksum_of(text: &str) -> String {
    let parsed = parse_entities(text, "widget.yaml", &Config::default());
    let errors: Vec<String> = parsed.diagnostics.iter().map(ToString::to_string).collect();
    assert!(errors.is_empty(), "errors {errors:#?} in:\n{text}");
    assert_eq!(parsed.entities.len(), 1, "in:\n{text}");
    entity_checksum(&parsed.entities[0])
}

fn spec_and_two_styles() -> impl Strategy<Value = (Spec, Style, Style)> {
    spec().prop_flat_map(|spec| {
        let count = spec.fields.len();
        (Just(spec), style(count), style(count))
    })
}

/// A structural change that must change the checksum: `(before, after)`.
fn mutate(spec: &Spec, kind: usize, pick: Pick) -> (Spec, Spec) {
    let i = pick.index(spec.fields.len());
    let mut before = spec.clone();
    if matches!(kind % 12, 3 | 4) {
        // An explicit single-field index equal to the flag would make the flag a no-op.
        before.indexes.retain(|(columns, _)| columns != &vec![i]);
    }
    let mut changed = before.clone();
    let field = &mut changed.fields[i];
    match kind % 12 {
        0 => {
            // Another type; drop what only fits the old one.
            field.type_index = (field.type_index + 1 + pick.index(TYPES.len() - 1)) % TYPES.len();
            field.default = None;
            field.enum_values = None;
            field.max_length = None;
        }
        1 => field.optional = !field.optional,
        2 => {
            field.default = match &field.default {
                Some(_) => None,
                None => {
                    default_for(field.type_index, 3, field.enum_values.as_deref()).or_else(|| {
                        field.type_index = 1;
                        Some("7".to_owned())
                    })
                }
            }
        }
        3 => field.unique = !field.unique,
        4 => field.index = !field.index,
        5 => {
            field.type_index = 0;
            field.enum_values = None;
            field.default = None;
            field.max_length = Some(field.max_length.map_or(10, |n| n + 1));
        }
        6 => {
            field.type_index = 0;
            field.max_length = None;
            field.default = None;
            field.enum_values = Some(match &field.enum_values {
                Some(values) => values[..values.len() - 1].to_vec(),
                None => vec!["one".to_owned()],
            });
        }
        7 => changed.on_delete = Some(changed.on_delete.map_or(0, |a| (a + 1) % 3)),
        8 => {
            changed.table_name = Some(
                changed
                    .table_name
                    .map_or_else(|| "widgets".to_owned(), |t| format!("{t}_v2")),
            )
        }
        9 => {
            field.column_name = Some(
                field
                    .column_name
                    .take()
                    .map_or_else(|| "renamed".to_owned(), |c| format!("{c}_v2")),
            )
        }
        10 => {
            let op = pick.index(OPS.len());
            let roles = &mut changed.acl[op];
            if roles.contains(&4) {
                roles.retain(|r| *r != 4);
            } else {
                roles.push(4);
                roles.sort_unstable();
            }
        }
        _ => changed.row_level = !changed.row_level,
    }
    (before, changed)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn dialect_key_order_field_order_whitespace_crlf_and_prose_never_change_the_checksum(
        (spec, first, second) in spec_and_two_styles()
    ) {
        let a = checksum_of(&write(&spec, &first));
        let b = checksum_of(&write(&spec, &second));
        prop_assert!(is_checksum(&a));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn every_structural_change_changes_the_checksum(
        (spec, first, second) in spec_and_two_styles(),
        kind in 0usize..12,
        pick in any::<Pick>(),
    ) {
        let (spec, changed) = mutate(&spec, kind, pick);
        prop_assume!(changed != spec);
        let before = checksum_of(&write(&spec, &first));
        let after = checksum_of(&write(&changed, &second));
        prop_assert_ne!(before, after, "mutation {} did not change the checksum", kind % 12);
    }
}

#[test]
fn the_same_entity_in_both_dialects_has_one_checksum() {
    let map = "entities:\n  - name: Post\n    version: \"1.0\"\n    checksum: null\n    fields:\n      id:\n        type: cuid\n        primary: true\n        generated: true\n      title:\n        type: string\n        maxLength: 200\n      body:\n        type: string\n        nullable: true\n      status:\n        type: string\n        default: draft\n        enum: [draft, published]\n      authorId:\n        type: string\n        index: true\n      createdAt:\n        type: datetime\n        generated: true\n    relations:\n      - name: author\n        type: belongsTo\n        entity: User\n        field: authorId\n        onDelete: Cascade\n    acl:\n      read: [public]\n      update: [owner, admin]\n      rowLevel: \"authorId = $user.id\"\n";
    let list = "entities:\n  - name: Post\n    description: A blog post\n    fields:\n      - name: createdAt\n        type: DateTime\n        default: now\n      - name: authorId\n        type: String\n        required: true\n      - name: status\n        type: String\n        enum: [draft, published]\n        default: draft\n      - name: body\n        type: String\n        required: false\n      - name: title\n        type: String\n        maxLength: 200\n      - name: id\n        type: String\n        primary: true\n        default: \"cuid()\"\n    indexes:\n      - fields: [authorId]\n    relations:\n      - name: author\n        type: belongsTo\n        target: User\n        foreignKey: authorId\n        onDelete: Cascade\n    acl:\n      update: [admin, owner]\n      read: [public]\n      rowLevel: authorId=$user.id\n";
    assert_eq!(checksum_of(map), checksum_of(list));
}

#[test]
fn a_field_type_change_changes_the_checksum() {
    let base = "entities:\n  - name: A\n    fields:\n      id: { type: cuid, primary: true }\n      n: { type: int }\n";
    assert_ne!(
        checksum_of(base),
        checksum_of(&base.replace("type: int", "type: bigint"))
    );
}

#[test]
fn descriptions_and_versions_do_not_change_the_checksum() {
    let base = "entities:\n  - name: A\n    fields:\n      id: { type: cuid, primary: true }\n";
    let prose = "entities:\n  - name: A\n    version: \"9\"\n    description: changed\n    fields:\n      id: { type: cuid, primary: true, description: the key }\n";
    assert_eq!(checksum_of(base), checksum_of(prose));
}

#[test]
fn checksums_are_v1_followed_by_sixty_four_lowercase_hex_digits() {
    let checksum = checksum_of(
        "entities:\n  - name: A\n    fields:\n      id: { type: cuid, primary: true }\n",
    );
    assert!(is_checksum(&checksum), "{checksum}");
    assert_eq!(checksum.len(), 67);
}

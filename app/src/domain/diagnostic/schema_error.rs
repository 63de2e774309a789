//! [`SchemaError`]: everything that can be wrong with a package's schema, with its one-line
//! message, its stable code and its help text.

/// Everything that can be wrong with a package's schema, with the culprit as structured data.
///
/// The `Display` text is the short, lowercase statement of the problem; [`SchemaError::help`]
/// says what was expected or how to fix it. [`Diagnostic`](super::Diagnostic) adds the location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The file is larger than the configured limit; it was not parsed.
    #[error("file is larger than the limit of {limit} bytes")]
    FileTooLarge {
        /// Bytes seen (readers may stop at `limit + 1`, so this is a lower bound).
        size: u64,
        /// Configured limit in bytes.
        limit: u64,
    },
    /// The schema file cannot be read: unreadable, not a regular file, or a symlink that
    /// leaves the packages directory. The package is reported, never taken as removed.
    #[error("cannot read the schema file: {reason}")]
    UnreadableFile {
        /// Why, e.g. "it is a FIFO, not a regular file".
        reason: String,
    },
    /// The YAML nests deeper than the configured limit.
    #[error("yaml nesting is deeper than the limit of {limit} levels")]
    NestingTooDeep {
        /// Configured maximum depth.
        limit: usize,
    },
    /// Aliases expand to more nodes than allowed (a "billion laughs" YAML bomb).
    #[error("yaml aliases expand to more than {limit} nodes")]
    AliasExpansionTooLarge {
        /// Configured maximum number of replayed nodes.
        limit: usize,
    },
    /// More YAML nodes than allowed.
    #[error("yaml document has more than {limit} nodes")]
    TooManyNodes {
        /// Configured maximum number of nodes.
        limit: usize,
    },
    /// The file is UTF-16 or UTF-32 encoded.
    #[error("file is encoded as {encoding}, not UTF-8")]
    UnsupportedEncoding {
        /// The encoding recognized, e.g. `UTF-16LE`.
        encoding: &'static str,
    },
    /// An explicit YAML tag (`!!binary`, `!!python/object`, `!custom`).
    #[error("yaml tag \"{tag}\" is not supported")]
    UnsupportedTag {
        /// The tag as written.
        tag: String,
    },
    /// The document exceeds another parser budget (node count, anchors, documents, ...).
    #[error("yaml document exceeds a size budget: {detail}")]
    BudgetExceeded {
        /// What the parser reported.
        detail: String,
    },
    /// The text is not valid YAML.
    #[error("invalid yaml: {detail}")]
    InvalidYaml {
        /// What the parser reported.
        detail: String,
    },
    /// More entities in one file than allowed.
    #[error("{count} entities, more than the limit of {limit}")]
    TooManyEntities {
        /// Number of entities found.
        count: usize,
        /// Configured limit.
        limit: usize,
    },
    /// More fields in one entity than allowed.
    #[error("{count} fields, more than the limit of {limit}")]
    TooManyFields {
        /// Number of fields found.
        count: usize,
        /// Configured limit.
        limit: usize,
    },
    /// A value has the wrong YAML shape (a list where a map belongs, ...).
    #[error("expected {expected}, found {found}")]
    WrongShape {
        /// What was expected, e.g. "a list of field names".
        expected: &'static str,
        /// What was found, e.g. "a string".
        found: &'static str,
    },
    /// A required key is missing.
    #[error("missing key \"{key}\"")]
    MissingKey {
        /// The missing key.
        key: String,
    },
    /// A key this format does not define.
    #[error("unknown key \"{key}\"")]
    UnknownKey {
        /// The unknown key.
        key: String,
        /// The keys allowed at this place.
        expected: Vec<&'static str>,
    },
    /// A key appears twice in the same mapping.
    #[error("duplicate key \"{key}\" (first at line {first_line})")]
    DuplicateKey {
        /// The repeated key.
        key: String,
        /// Line of the first occurrence.
        first_line: u64,
    },
    /// Two keys that mean the same thing are both given (`entity` and `target`, ...).
    #[error("both \"{first}\" and \"{second}\" are given")]
    ConflictingKeys {
        /// The first spelling.
        first: &'static str,
        /// The second spelling.
        second: &'static str,
    },
    /// A name that is not a valid identifier.
    #[error("invalid {what} name {name:?}")]
    InvalidName {
        /// What is named: "entity", "field", "relation".
        what: &'static str,
        /// The name as written.
        name: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// A database identifier longer than PostgreSQL keeps.
    #[error("{what} name \"{name}\" is {bytes} bytes, longer than PostgreSQL's limit of 63")]
    IdentifierTooLong {
        /// "entity", "table", "field" or "column".
        what: &'static str,
        /// The name (cut when very long).
        name: String,
        /// Its length in bytes.
        bytes: usize,
    },
    /// A constraint or index name that Prisma derives, longer than PostgreSQL keeps.
    #[error(
        "derived constraint name \"{name}\" is {bytes} bytes, longer than PostgreSQL's limit of 63"
    )]
    DerivedNameTooLong {
        /// The derived name (cut when very long).
        name: String,
        /// Its length in bytes.
        bytes: usize,
        /// How to fix it.
        fix: &'static str,
    },
    /// An entity name declared twice in one file.
    #[error("duplicate entity \"{name}\" (first at line {first_line})")]
    DuplicateEntity {
        /// Entity name.
        name: String,
        /// Line of the first declaration.
        first_line: u64,
    },
    /// An entity with the same name as a model of the base schema.
    #[error("entity \"{name}\" is already defined by the base schema")]
    EntityShadowsBaseModel {
        /// Entity name.
        name: String,
    },
    /// A field name declared twice in one entity.
    #[error("duplicate field \"{name}\" (first at line {first_line})")]
    DuplicateField {
        /// Field name.
        name: String,
        /// Line of the first declaration.
        first_line: u64,
    },
    /// A field type outside the vocabulary.
    #[error("unknown field type \"{found}\"")]
    UnknownFieldType {
        /// The type as written.
        found: String,
    },
    /// Contradicting optionality (`required: true` with `nullable: true`).
    #[error("field \"{field}\" is both required and nullable")]
    ContradictoryOptionality {
        /// Field name.
        field: String,
    },
    /// A primary key field marked optional.
    #[error("primary key field \"{field}\" is optional")]
    OptionalPrimaryKey {
        /// Field name.
        field: String,
    },
    /// Several fields marked `primary: true` without a composite declaration.
    #[error(
        "entity \"{entity}\" has {count} primary keys ({fields}) but no composite declaration"
    )]
    MultiplePrimaryKeys {
        /// Entity name.
        entity: String,
        /// How many fields are marked primary.
        count: usize,
        /// The fields, comma-separated.
        fields: String,
    },
    /// A field marked primary that the composite `primaryKey` does not list.
    #[error("field \"{field}\" is marked primary but not listed in primaryKey")]
    PrimaryOutsideComposite {
        /// Field name.
        field: String,
    },
    /// An entity without any primary key.
    #[error("entity \"{entity}\" has no primary key")]
    MissingPrimaryKey {
        /// Entity name.
        entity: String,
    },
    /// A default whose type does not match the field type.
    #[error("default {value} does not fit field type {field_type}")]
    DefaultTypeMismatch {
        /// The default as written.
        value: String,
        /// The field's (resolved) type.
        field_type: String,
    },
    /// A default function (`now()`, ...) that does not exist.
    #[error("unknown default function \"{name}()\"")]
    UnknownDefaultFunction {
        /// The function name.
        name: String,
    },
    /// A default outside the field's `enum` values.
    #[error("default \"{value}\" is not one of the enum values")]
    DefaultNotInEnum {
        /// The default.
        value: String,
        /// The allowed values.
        allowed: Vec<String>,
    },
    /// A numeric default outside `min`/`max`.
    #[error("default {value} is outside the range {range}")]
    DefaultOutOfRange {
        /// The default.
        value: String,
        /// The range as written, e.g. `0..=10`.
        range: String,
    },
    /// A string default longer than `maxLength`.
    #[error("default is {length} characters, longer than maxLength {max_length}")]
    DefaultTooLong {
        /// Length of the default in characters.
        length: usize,
        /// The field's maxLength.
        max_length: u64,
    },
    /// `generated: true` with an explicit default that disagrees.
    #[error("generated field \"{field}\" also has default {default}")]
    GeneratedWithDefault {
        /// Field name.
        field: String,
        /// The explicit default.
        default: String,
    },
    /// `generated: true` on a type that has no generator.
    #[error("field type {field_type} cannot be generated")]
    NotGeneratable {
        /// The type as written.
        field_type: String,
    },
    /// A key that only makes sense for some field types (`maxLength` on an Int, ...).
    #[error("\"{key}\" does not apply to field type {field_type}")]
    KeyNotApplicable {
        /// The key.
        key: &'static str,
        /// The field's type.
        field_type: String,
    },
    /// An invalid value for a key with a constrained domain.
    #[error("invalid value {value} for \"{key}\"")]
    InvalidValue {
        /// The key.
        key: &'static str,
        /// The value as written.
        value: String,
        /// What is allowed.
        expected: String,
    },
    /// `min` greater than `max`.
    #[error("min {min} is greater than max {max}")]
    MinAboveMax {
        /// min as written.
        min: String,
        /// max as written.
        max: String,
    },
    /// A value listed twice in an `enum`.
    #[error("duplicate enum value \"{value}\"")]
    DuplicateEnumValue {
        /// The repeated value.
        value: String,
    },
    /// An index, primary key or relation naming a field the entity does not have.
    #[error("{what} names unknown field \"{field}\" of entity \"{entity}\"")]
    UnknownField {
        /// Who names it: "index", "primaryKey", "relation", "references".
        what: &'static str,
        /// The missing field.
        field: String,
        /// The entity searched.
        entity: String,
        /// The fields that exist, for the help text.
        known: Vec<String>,
    },
    /// An index without fields.
    #[error("index has no fields")]
    EmptyIndex,
    /// A relation type outside `belongsTo hasMany hasOne manyToMany`.
    #[error("unknown relation type \"{found}\"")]
    UnknownRelationType {
        /// The type as written.
        found: String,
    },
    /// A referential action outside `Cascade SetNull Restrict NoAction SetDefault`.
    #[error("unknown referential action \"{found}\"")]
    UnknownReferentialAction {
        /// The action as written.
        found: String,
    },
    /// A relation to a model that no package and no base schema defines.
    #[error("relation \"{relation}\" targets unknown entity \"{target}\"")]
    UnknownRelationTarget {
        /// Relation name.
        relation: String,
        /// The target as written.
        target: String,
    },
    /// A relation without a foreign key where one is needed, or with one where none is allowed.
    #[error("relation \"{relation}\" of type {kind} {problem}")]
    RelationShape {
        /// Relation name.
        relation: String,
        /// Relation kind.
        kind: &'static str,
        /// What is wrong, e.g. "needs a foreign key field".
        problem: &'static str,
    },
    /// Foreign key and referenced fields whose types differ.
    #[error("foreign key \"{field}\" is {field_type} but references {target}.{referenced} of type {referenced_type}")]
    ForeignKeyTypeMismatch {
        /// Foreign key field.
        field: String,
        /// Its type.
        field_type: String,
        /// Target model.
        target: String,
        /// Referenced field.
        referenced: String,
        /// Its type.
        referenced_type: String,
    },
    /// Referenced fields that are neither the primary key nor unique.
    #[error("relation \"{relation}\" references {target}.({fields}) which is not unique")]
    ReferencesNotUnique {
        /// Relation name.
        relation: String,
        /// Target model.
        target: String,
        /// Referenced fields, comma-separated.
        fields: String,
    },
    /// Relation optionality that contradicts the foreign key's optionality.
    #[error("relation \"{relation}\" is {declared} but its foreign key \"{field}\" is {actual}")]
    RelationOptionality {
        /// Relation name.
        relation: String,
        /// "optional" or "required".
        declared: &'static str,
        /// Foreign key field.
        field: String,
        /// "optional" or "required".
        actual: &'static str,
    },
    /// `onDelete/onUpdate: SetNull` on a required foreign key.
    #[error("relation \"{relation}\" uses SetNull but its foreign key \"{field}\" is required")]
    SetNullOnRequired {
        /// Relation name.
        relation: String,
        /// Foreign key field.
        field: String,
    },
    /// A relation name that is also a field name or another relation's name.
    #[error("relation name \"{name}\" is already used by a {other} of this entity")]
    RelationNameTaken {
        /// Relation name.
        name: String,
        /// "field" or "relation".
        other: &'static str,
    },
    /// Two relations that would both become the other side of one foreign key.
    #[error("relations \"{first}\" and \"{second}\" both use foreign key {target}.{field}")]
    SharedForeignKey {
        /// First relation.
        first: String,
        /// Second relation.
        second: String,
        /// Model holding the foreign key.
        target: String,
        /// Foreign key field.
        field: String,
    },
    /// A one-to-one relation whose foreign key is not unique.
    #[error("hasOne relation \"{relation}\" needs {target}.{field} to be unique")]
    HasOneNeedsUnique {
        /// Relation name.
        relation: String,
        /// Model holding the foreign key.
        target: String,
        /// Foreign key field.
        field: String,
    },
    /// A role outside the configured vocabulary.
    #[error("unknown acl role \"{role}\"")]
    UnknownRole {
        /// The role as written.
        role: String,
        /// The configured vocabulary.
        known: Vec<String>,
    },
    /// A `self`/`owner` role on an entity with no way to find its owner: the grant matches no
    /// row (a warning unless ownership findings are errors).
    #[error("acl role \"{role}\" on entity \"{entity}\" cannot be tied to an owner field: it matches no row")]
    OwnerFieldMissing {
        /// The role (`self` or `owner`).
        role: String,
        /// Entity name.
        entity: String,
        /// Field names that count as owner fields.
        owner_fields: Vec<String>,
    },
    /// A conditional role (`public_if_X`, a role with a configured condition) on an entity that
    /// lacks the condition's Boolean field: the grant matches no row.
    #[error("acl role \"{role}\" on entity \"{entity}\" matches no row: {detail}")]
    RoleConditionMissing {
        /// The role.
        role: String,
        /// Entity name.
        entity: String,
        /// What is missing.
        detail: String,
    },
    /// `acl.owner` names a field the entity does not have.
    #[error("acl owner field \"{field}\" is not a field of entity \"{entity}\"")]
    UnknownOwnerField {
        /// The field as written.
        field: String,
        /// Entity name.
        entity: String,
    },
    /// A `rowLevel` predicate that does not parse.
    #[error("invalid rowLevel predicate: {detail}")]
    InvalidPredicate {
        /// What is wrong.
        detail: String,
    },
    /// A `rowLevel` predicate naming a field or relation that does not exist.
    #[error("rowLevel references unknown {what} \"{name}\" of entity \"{entity}\"")]
    PredicateUnknownReference {
        /// "field" or "relation".
        what: &'static str,
        /// The name.
        name: String,
        /// The entity searched.
        entity: String,
    },
    /// A `rowLevel` context variable outside the configured set (`$user`, `$tenant`).
    #[error("rowLevel uses unknown context variable \"${name}\"")]
    PredicateUnknownVariable {
        /// The variable without `$`.
        name: String,
        /// The allowed roots.
        known: Vec<String>,
    },
    /// An ACL that parses and resolves but has no row-level security equivalent.
    #[error("{subject} cannot be enforced by the database: {detail}")]
    PolicyNotEnforceable {
        /// `rowLevel`, or `acl role "X"`.
        subject: String,
        /// What is wrong.
        detail: String,
    },
    /// The same index or constraint name used twice in the schema.
    #[error("constraint name \"{name}\" is already used by {other}")]
    DuplicateConstraintName {
        /// The name.
        name: String,
        /// Who uses it first, e.g. `entity Game (package arcade_lobby)`.
        other: String,
    },
    /// The same database table (via `tableName`) used by two entities.
    #[error("table \"{table}\" is already used by {other}")]
    DuplicateTableName {
        /// Table name.
        table: String,
        /// Who uses it first.
        other: String,
    },
    /// An entity that cannot reach the ownership root through belongsTo relations.
    #[error("entity \"{entity}\" cannot reach the ownership root \"{root}\" through belongsTo relations")]
    OwnershipUnreachable {
        /// Entity name.
        entity: String,
        /// The root model.
        root: String,
        /// A field that looks like the missing foreign key (e.g. `tenantId`).
        candidate_field: Option<String>,
    },
    /// A cycle of belongsTo relations between different entities.
    #[error("relation cycle {cycle}")]
    RelationCycle {
        /// The cycle, e.g. `A -> B -> A`.
        cycle: String,
    },
}

impl SchemaError {
    /// A stable, snake_case identifier of the error kind, for machines (`unknown_field_type`).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::FileTooLarge { .. } => "file_too_large",
            Self::UnreadableFile { .. } => "unreadable_file",
            Self::NestingTooDeep { .. } => "nesting_too_deep",
            Self::AliasExpansionTooLarge { .. } => "alias_expansion_too_large",
            Self::BudgetExceeded { .. } => "budget_exceeded",
            Self::TooManyNodes { .. } => "too_many_nodes",
            Self::UnsupportedEncoding { .. } => "unsupported_encoding",
            Self::UnsupportedTag { .. } => "unsupported_tag",
            Self::InvalidYaml { .. } => "invalid_yaml",
            Self::TooManyEntities { .. } => "too_many_entities",
            Self::TooManyFields { .. } => "too_many_fields",
            Self::WrongShape { .. } => "wrong_shape",
            Self::MissingKey { .. } => "missing_key",
            Self::UnknownKey { .. } => "unknown_key",
            Self::DuplicateKey { .. } => "duplicate_key",
            Self::ConflictingKeys { .. } => "conflicting_keys",
            Self::InvalidName { .. } => "invalid_name",
            Self::DuplicateEntity { .. } => "duplicate_entity",
            Self::IdentifierTooLong { .. } => "identifier_too_long",
            Self::DerivedNameTooLong { .. } => "derived_name_too_long",
            Self::EntityShadowsBaseModel { .. } => "entity_shadows_base_model",
            Self::DuplicateField { .. } => "duplicate_field",
            Self::UnknownFieldType { .. } => "unknown_field_type",
            Self::ContradictoryOptionality { .. } => "contradictory_optionality",
            Self::OptionalPrimaryKey { .. } => "optional_primary_key",
            Self::MultiplePrimaryKeys { .. } => "multiple_primary_keys",
            Self::PrimaryOutsideComposite { .. } => "primary_outside_composite",
            Self::MissingPrimaryKey { .. } => "missing_primary_key",
            Self::DefaultTypeMismatch { .. } => "default_type_mismatch",
            Self::UnknownDefaultFunction { .. } => "unknown_default_function",
            Self::DefaultNotInEnum { .. } => "default_not_in_enum",
            Self::DefaultOutOfRange { .. } => "default_out_of_range",
            Self::DefaultTooLong { .. } => "default_too_long",
            Self::GeneratedWithDefault { .. } => "generated_with_default",
            Self::NotGeneratable { .. } => "not_generatable",
            Self::KeyNotApplicable { .. } => "key_not_applicable",
            Self::InvalidValue { .. } => "invalid_value",
            Self::MinAboveMax { .. } => "min_above_max",
            Self::DuplicateEnumValue { .. } => "duplicate_enum_value",
            Self::UnknownField { .. } => "unknown_field",
            Self::EmptyIndex => "empty_index",
            Self::UnknownRelationType { .. } => "unknown_relation_type",
            Self::UnknownReferentialAction { .. } => "unknown_referential_action",
            Self::UnknownRelationTarget { .. } => "unknown_relation_target",
            Self::RelationShape { .. } => "relation_shape",
            Self::ForeignKeyTypeMismatch { .. } => "foreign_key_type_mismatch",
            Self::ReferencesNotUnique { .. } => "references_not_unique",
            Self::RelationOptionality { .. } => "relation_optionality",
            Self::SetNullOnRequired { .. } => "set_null_on_required",
            Self::RelationNameTaken { .. } => "relation_name_taken",
            Self::SharedForeignKey { .. } => "shared_foreign_key",
            Self::HasOneNeedsUnique { .. } => "has_one_needs_unique",
            Self::UnknownRole { .. } => "unknown_role",
            Self::OwnerFieldMissing { .. } => "owner_field_missing",
            Self::RoleConditionMissing { .. } => "role_condition_missing",
            Self::UnknownOwnerField { .. } => "unknown_owner_field",
            Self::InvalidPredicate { .. } => "invalid_predicate",
            Self::PredicateUnknownReference { .. } => "predicate_unknown_reference",
            Self::PredicateUnknownVariable { .. } => "predicate_unknown_variable",
            Self::PolicyNotEnforceable { .. } => "policy_not_enforceable",
            Self::DuplicateConstraintName { .. } => "duplicate_constraint_name",
            Self::DuplicateTableName { .. } => "duplicate_table_name",
            Self::OwnershipUnreachable { .. } => "ownership_unreachable",
            Self::RelationCycle { .. } => "relation_cycle",
        }
    }

    /// What was expected or how to fix it, when there is something useful to say.
    #[must_use]
    pub fn help(&self) -> Option<String> {
        let text = match self {
            Self::FileTooLarge { .. } => "split the package or raise the file size limit".to_owned(),
            Self::UnreadableFile { .. } => {
                "make seed/schema/entities.yaml a readable regular file inside the packages directory".to_owned()
            }
            Self::NestingTooDeep { .. } => "entities.yaml needs only a few levels of nesting".to_owned(),
            Self::AliasExpansionTooLarge { .. } => "write the values out instead of nesting aliases".to_owned(),
            Self::TooManyNodes { .. } => "split the package or raise the node limit".to_owned(),
            Self::UnsupportedEncoding { .. } => "save the file as UTF-8".to_owned(),
            Self::UnsupportedTag { .. } => {
                "remove the tag: entities.yaml uses plain strings, numbers, booleans, lists and mappings".to_owned()
            }
            Self::TooManyEntities { .. } | Self::TooManyFields { .. } => {
                "split the package or raise the limit".to_owned()
            }
            Self::MissingKey { key } if key == "entities" => {
                "the file must be a mapping with an `entities:` list".to_owned()
            }
            Self::UnknownKey { expected, .. } => format!("expected one of {}", expected.join(", ")),
            Self::ConflictingKeys { first, second } => format!("keep only one of \"{first}\" and \"{second}\""),
            Self::InvalidName { rule, .. } => (*rule).to_owned(),
            Self::DuplicateEntity { .. } => "declare each entity once per file".to_owned(),
            Self::IdentifierTooLong { what, .. } => format!("shorten the {what} name to at most 63 bytes"),
            Self::DerivedNameTooLong { fix, .. } => (*fix).to_owned(),
            Self::EntityShadowsBaseModel { .. } => {
                "core models belong to the base schema; relate to it instead of redeclaring it".to_owned()
            }
            Self::DuplicateField { .. } => "rename or remove one of the fields".to_owned(),
            Self::UnknownFieldType { .. } => format!(
                "expected one of {} (or {})",
                crate::domain::model::FieldType::MAP_DIALECT_NAMES.join(", "),
                crate::domain::model::FieldType::LIST_DIALECT_NAMES.join(", ")
            ),
            Self::ContradictoryOptionality { .. } => "drop `nullable: true` or `required: true`".to_owned(),
            Self::OptionalPrimaryKey { .. } => "primary key fields are always required".to_owned(),
            Self::MultiplePrimaryKeys { fields, .. } => {
                format!("declare `primaryKey: [{fields}]` on the entity for a composite key, or keep one primary field")
            }
            Self::PrimaryOutsideComposite { .. } => "add the field to primaryKey or drop `primary: true`".to_owned(),
            Self::MissingPrimaryKey { .. } => "mark one field `primary: true`".to_owned(),
            Self::DefaultTypeMismatch { .. } => {
                "write the default in the field's type (quote strings, leave numbers and booleans unquoted)".to_owned()
            }
            Self::UnknownDefaultFunction { .. } => "expected now(), cuid(), uuid() or autoincrement()".to_owned(),
            Self::DefaultNotInEnum { allowed, .. } => format!("expected one of {}", allowed.join(", ")),
            Self::GeneratedWithDefault { .. } => "drop the default or `generated: true`".to_owned(),
            Self::NotGeneratable { .. } => {
                "generated applies to cuid, uuid, int, bigint and datetime fields; use `default:` otherwise".to_owned()
            }
            Self::InvalidValue { expected, .. } => format!("expected {expected}"),
            Self::UnknownField { known, .. } => format!("known fields: {}", known.join(", ")),
            Self::EmptyIndex => "list at least one field".to_owned(),
            Self::UnknownRelationType { .. } => "expected one of belongsTo, hasMany, hasOne, manyToMany".to_owned(),
            Self::UnknownReferentialAction { .. } => {
                "expected one of Cascade, SetNull, Restrict, NoAction, SetDefault".to_owned()
            }
            Self::UnknownRelationTarget { .. } => {
                "define the entity in a package or add the model to the base schema".to_owned()
            }
            Self::ForeignKeyTypeMismatch { .. } => "give the foreign key the referenced field's type".to_owned(),
            Self::ReferencesNotUnique { .. } => "reference the primary key or a unique field".to_owned(),
            Self::RelationOptionality { .. } => {
                "make the relation's `optional` match the foreign key's optionality".to_owned()
            }
            Self::SetNullOnRequired { .. } => "make the foreign key nullable or choose another action".to_owned(),
            Self::RelationNameTaken { .. } => "give the relation a name no field or relation uses".to_owned(),
            Self::SharedForeignKey { .. } => "each foreign key backs exactly one relation".to_owned(),
            Self::HasOneNeedsUnique { .. } => "mark the foreign key `unique: true` or use hasMany".to_owned(),
            Self::UnknownRole { known, .. } => format!("expected one of {}", known.join(", ")),
            Self::OwnerFieldMissing { owner_fields, .. } => format!(
                "name the owner field in the acl (`owner: followerId`), or add one of the fields {}, a belongsTo relation to User, or a required belongsTo relation to an entity that has an owner",
                owner_fields.join(", ")
            ),
            Self::UnknownOwnerField { .. } => "name one of the entity's fields".to_owned(),
            Self::RoleConditionMissing { role, .. } => format!(
                "tell the platform which Boolean field of this entity the role reads (`--role-condition {role}=FIELD`), add that field, or drop the grant"
            ),
            Self::InvalidPredicate { .. } => {
                "expected comparisons like `userId = $user.id` joined with AND, OR, NOT and parentheses".to_owned()
            }
            Self::PredicateUnknownReference { .. } => {
                "name a field of the entity, or a relation followed by a field of its target".to_owned()
            }
            Self::PredicateUnknownVariable { known, .. } => {
                format!("expected one of {}", known.iter().map(|k| format!("${k}")).collect::<Vec<_>>().join(", "))
            }
            Self::PolicyNotEnforceable { .. } => {
                "compare fields with fields, $user.id, $user.role or literals of the field's type (see /help/row-level-security)".to_owned()
            }
            Self::DuplicateConstraintName { .. } => "constraint names are global in the database; rename one".to_owned(),
            Self::DuplicateTableName { .. } => "give each entity its own tableName".to_owned(),
            Self::OwnershipUnreachable { root, candidate_field: Some(field), .. } => {
                format!("add a belongsTo relation to {root} on field {field}, or to an entity that reaches it")
            }
            Self::OwnershipUnreachable { root, candidate_field: None, .. } => {
                format!("add a belongsTo relation to {root} or to an entity that reaches it")
            }
            Self::RelationCycle { .. } => "ownership must form a tree; drop one belongsTo of the cycle".to_owned(),
            _ => return None,
        };
        Some(text)
    }
}

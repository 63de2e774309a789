//! The pure core: entity model, YAML dialects, validation, checksums, Prisma rendering.
//! No I/O, no leptos, no sqlx: it compiles for the server and for the browser alike.
//!
//! Data flow: [`parse_entities`] reads one `entities.yaml` (either dialect) into canonical
//! [`Entity`] values plus [`Diagnostic`]s; [`Catalog::build`] does that for every package, then
//! validates across packages, computes [`entity_checksum`]s and package checksums, finds
//! conflicts and checks the ownership DAG; [`render_full_schema`] and
//! [`render_package_fragment`] turn entities into Prisma (6) text that Prisma accepts.

pub mod access;
pub mod base_schema;
pub mod catalog;
pub mod change;
pub mod checksum;
pub mod comparison;
pub mod config;
pub mod dependency;
pub mod diagnostic;
pub mod dialect;
pub mod fragment;
pub mod model;
mod naming;
mod ownership;
pub mod policy_sql;
pub mod predicate;
pub mod prisma;
pub mod review;
pub mod text_diff;
mod validate;
mod yaml;

pub use base_schema::{BaseSchema, BaseSchemaError, DEFAULT_BASE_SCHEMA};
pub use catalog::{
    Catalog, Conflict, Declaration, EntitySummary, PackageId, PackageIdError, PackageProblem,
    PackageReport, PackageSource, SharedEntity,
};
pub use checksum::{canonical_encoding, entity_checksum, is_checksum, package_checksum};
pub use config::{Config, Limits};
pub use diagnostic::{Diagnostic, Position, SchemaError, Severity};
pub use dialect::{parse_entities, ParsedFile};
pub use model::{
    Acl, AclOp, DefaultValue, Dialect, Entity, Field, FieldType, Index, Number, ReferentialAction,
    Relation, RelationKind, Role, RowLevel, TypeAlias,
};
pub use predicate::{Predicate, PredicateError};
pub use prisma::{
    render_full_schema, render_package_fragment, Fragment, PackageModels, RenderError,
};

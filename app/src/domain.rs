//! The pure core: entity model, YAML dialects, validation, checksums, Prisma rendering.
//! No I/O, no leptos, no sqlx. The browser build (without the `domain` feature) compiles only the
//! types pages render (`access`, `broken_conflict`, `change`, `diagnostic`, `model`,
//! `predicate`, `review`, `text_diff`); reading YAML, validating, hashing and rendering Prisma
//! are the server's.
//!
//! Data flow: [`parse_entities`] reads one `entities.yaml` (either dialect) into canonical
//! [`Entity`] values plus [`Diagnostic`]s; [`Catalog::build`] does that for every package, then
//! validates across packages, computes [`entity_checksum`]s and package checksums, finds
//! conflicts and checks the ownership DAG; [`render_full_schema`] and
//! [`render_package_fragment`] turn entities into Prisma (6) text that Prisma accepts.

pub mod access;
#[cfg(feature = "domain")]
pub mod base_schema;
pub mod broken_conflict;
#[cfg(feature = "domain")]
pub mod catalog;
pub mod change;
#[cfg(feature = "domain")]
pub mod checksum;
pub mod clock;
pub mod comparison;
pub mod config;
#[cfg(feature = "domain")]
pub mod dependency;
pub mod diagnostic;
pub mod diagnostic_report;
#[cfg(feature = "domain")]
pub mod dialect;
#[cfg(feature = "domain")]
pub mod fragment;
pub mod model;
#[cfg(feature = "domain")]
pub mod naming;
#[cfg(feature = "domain")]
mod ownership;
#[cfg(feature = "domain")]
pub mod plan_check;
#[cfg(feature = "domain")]
pub mod plan_scope;
#[cfg(feature = "domain")]
pub mod policy_sql;
pub mod predicate;
pub mod preflight;
#[cfg(feature = "domain")]
pub mod prisma;
pub mod rename;
pub mod review;
#[cfg(feature = "domain")]
pub mod sql_lint;
#[cfg(feature = "domain")]
pub mod sql_names;
pub mod sql_plan;
pub mod text_diff;
#[cfg(feature = "domain")]
mod validate;
#[cfg(feature = "domain")]
mod yaml;

#[cfg(feature = "domain")]
pub use base_schema::{BaseSchema, BaseSchemaError, DEFAULT_BASE_SCHEMA};
#[cfg(feature = "domain")]
pub use catalog::{
    Catalog, Conflict, Declaration, EntitySummary, PackageId, PackageIdError, PackageProblem,
    PackageReport, PackageSource, SharedEntity,
};
#[cfg(feature = "domain")]
pub use checksum::{canonical_encoding, entity_checksum, is_checksum, package_checksum};
#[cfg(feature = "domain")]
pub use config::{Config, Limits};
pub use diagnostic::{Diagnostic, Position, SchemaError, Severity};
#[cfg(feature = "domain")]
pub use dialect::{parse_entities, ParsedFile};
pub use model::{
    Acl, AclOp, DefaultValue, Dialect, Entity, Field, FieldType, Index, Number, ReferentialAction,
    Relation, RelationKind, Role, RowLevel, TypeAlias,
};
pub use predicate::{Predicate, PredicateError};
#[cfg(feature = "domain")]
pub use prisma::{
    render_full_schema, render_package_fragment, Fragment, PackageModels, RenderError,
};

//! Every validation error, with its exact message, key path and position. The helpers are
//! here; the cases are grouped by topic in the modules.

mod acl;
mod fields;
mod input;
mod names;
mod packages;
mod relations;

use app::domain::{BaseSchema, Catalog, Config, Diagnostic, PackageId, PackageSource};

fn package(id: &str, text: &str) -> PackageSource {
    PackageSource {
        id: PackageId::parse(id).unwrap_or_else(|e| panic!("{e}")),
        file: format!("{id}.yaml"),
        text: text.to_owned(),
    }
}

fn build(packages: Vec<PackageSource>, config: &Config) -> Catalog {
    Catalog::build(packages, BaseSchema::default(), config)
}

/// `line:column message-without-help` of every error of the single package `forum`.
fn errors_with(text: &str, config: &Config) -> Vec<String> {
    let catalog = build(vec![package("forum", text)], config);
    catalog.packages[0].errors.iter().map(short).collect()
}

fn errors(text: &str) -> Vec<String> {
    errors_with(text, &Config::default())
}

fn short(diagnostic: &Diagnostic) -> String {
    let full = diagnostic.to_string();
    let message = full.split("; ").next().unwrap_or_default();
    message.to_owned()
}

#[track_caller]
fn assert_errors(text: &str, expected: &[&str]) {
    assert_eq!(errors(text), expected, "for input:\n{text}");
}

#[track_caller]
fn assert_valid(text: &str) {
    assert_errors(text, &[]);
}

/// A valid map-dialect entity to splice fields into.
fn thread_with(fields: &str) -> String {
    format!("entities:\n  - name: ForumThread\n    fields:\n      id:\n        type: cuid\n        primary: true\n{fields}")
}

//! Schemagate's shared crate: the pure domain core, the Leptos UI, and (behind `ssr`) the
//! server-side modules the UI's server functions and the `schemagate` binary use.
#![recursion_limit = "256"]

pub mod api;
pub mod auth;
pub mod component;
pub mod domain;
pub mod error;
pub mod page;
pub mod shell;

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod engine;
#[cfg(feature = "ssr")]
pub mod file_io;
#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod platform;
#[cfg(feature = "ssr")]
pub mod registry;
#[cfg(feature = "ssr")]
pub mod scan_job;
#[cfg(feature = "ssr")]
pub mod scanner;
#[cfg(feature = "ssr")]
pub mod services;

/// Browser entry point: starts the reactive runtime; the islands script then hydrates each
/// `#[island]` on the page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}

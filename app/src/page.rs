//! Pages: each fetches its data and hands it to components.

pub mod dashboard;

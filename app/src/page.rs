//! Pages: each fetches its data and hands it to components.

pub mod accounts;
pub mod audit;
pub mod bulk;
pub mod change;
pub mod changes;
pub mod dashboard;
pub mod database;
pub mod entities;
pub mod login;
pub mod packages;

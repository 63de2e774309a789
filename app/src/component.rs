//! Components: they render what pages hand them, and fetch nothing.

pub mod access_rules;
pub mod badge;
pub mod broken;
pub mod diff;
pub mod flash;
pub mod pager;
pub mod text;
pub mod time;

//! Components: they render what pages hand them, and fetch nothing.

pub mod badge;
pub mod diff;
pub mod flash;
pub mod pager;
pub mod text;

//! The pure core: entity model, YAML dialects, validation, checksums, Prisma rendering.
//! No I/O, no leptos, no sqlx: it compiles for the server and for the browser alike.

pub mod review;

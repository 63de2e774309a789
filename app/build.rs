//! `sqlx::migrate!` embeds `migrations/` when the crate compiles: rebuild when one changes.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}

//! What a scan costs grows with what changed: each new package is rendered once, with its
//! neighbours only, and unchanged content is not rendered at all.
#![cfg(feature = "ssr")]

mod support;

use sqlx::PgPool;
use support::scan_packages;

/// Package `n` of a chain: its own entity, related to the entity of package `n - 1`.
fn chain_link(n: usize) -> (String, String) {
    let relation = if n == 0 {
        String::new()
    } else {
        format!(
            "    relations:\n      - {{ name: previous, type: belongsTo, target: Link{}, foreignKey: previousId }}\n",
            n - 1
        )
    };
    let previous = if n == 0 {
        ""
    } else {
        "      previousId: { type: string }\n"
    };
    (
        format!("link{n}"),
        format!(
            "entities:\n  - name: Link{n}\n    fields:\n      id: {{ type: cuid, primary: true }}\n{previous}{relation}"
        ),
    )
}

#[sqlx::test(migrations = "../migrations")]
async fn a_scan_renders_each_new_package_once_with_its_neighbours_only(pool: PgPool) {
    const PACKAGES: usize = 40;
    let chain: Vec<(String, String)> = (0..PACKAGES).map(chain_link).collect();
    let packages: Vec<(&str, &str)> = chain
        .iter()
        .map(|(id, text)| (id.as_str(), text.as_str()))
        .collect();

    let first = scan_packages(&pool, &packages).await;
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert_eq!(first.created.len(), PACKAGES);
    assert_eq!(first.rendered, PACKAGES, "one fragment per new package");
    // A link renders with the one before and the one after it: at most 3 entities each,
    // where rendering against the whole catalog would cost PACKAGES each.
    assert!(
        first.rendered_entities <= 3 * PACKAGES,
        "{} entities rendered for {PACKAGES} packages",
        first.rendered_entities
    );

    let again = scan_packages(&pool, &packages).await;
    assert_eq!(again.unchanged.len(), PACKAGES);
    assert_eq!(
        (again.rendered, again.rendered_entities),
        (0, 0),
        "nothing changed"
    );

    let changed_text = chain[7].1.replace(
        "      id: { type: cuid, primary: true }\n",
        "      id: { type: cuid, primary: true }\n      note: { type: string, nullable: true }\n",
    );
    let mut changed = packages.clone();
    changed[7].1 = &changed_text;
    let one = scan_packages(&pool, &changed).await;
    assert_eq!(one.created.len(), 1, "{:?}", one.errors);
    assert_eq!(one.superseded.len(), 1);
    assert_eq!(one.rendered, 1, "only the changed package");
    assert!(one.rendered_entities <= 3, "{}", one.rendered_entities);
}

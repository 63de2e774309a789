//! Planning that was interrupted (the engine or the database was down when the change was
//! scanned) resumes without anyone approving: when the change is viewed, and at the next scan.

mod support;

use support::{query_text, run_cli, run_sql, stdout_of, Fixture};

/// Forgets the plan of `package`'s pending change, as an interrupted scan leaves it.
fn interrupt(f: &Fixture, package: &str) {
    run_sql(
        &f.db,
        &format!(
            "update schemagate.schema_change
                set plan_sql = null, plan_error = null, plan_sha256 = null, planned_at = null
              where package = '{package}' and status = 'pending'"
        ),
    );
}

fn planned(f: &Fixture, package: &str) -> String {
    query_text(
        &f.db,
        &format!(
            "select coalesce(plan_sql, '(none)') from schemagate.schema_change
              where package = '{package}' and status = 'pending'"
        ),
    )
}

#[test]
fn interrupted_planning_resumes_when_the_change_is_viewed_and_at_the_next_scan() {
    let f = Fixture::start("resume_planning", &[("viewer", "viewer")], &[]);
    let (forum, _) = f.pending("forum");
    assert!(
        planned(&f, "forum").contains("CREATE TABLE"),
        "planned at scan"
    );

    interrupt(&f, "forum");
    assert_eq!(planned(&f, "forum"), "(none)");
    let viewer = f.login("viewer");
    let shown = f.post("/api/get_change", Some(&viewer), &[("id", forum.as_str())]);
    assert_eq!(shown.status, 200, "{shown:?}");
    assert!(shown.body.contains("CREATE TABLE"), "{}", shown.body);
    assert!(planned(&f, "forum").contains("CREATE TABLE"));

    interrupt(&f, "wiki");
    let packages = f.packages.to_str().unwrap();
    stdout_of(&run_cli(&f.db, &["--packages", packages, "scan"], ""));
    assert!(
        planned(&f, "wiki").contains("CREATE TABLE"),
        "resumed by the scan"
    );
}

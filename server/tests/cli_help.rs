//! The CLI contract is visible in `--help`.

mod support;

use support::schemagate;

#[test]
fn help_lists_every_subcommand_of_the_contract() {
    let output = schemagate().arg("--help").output().expect("run schemagate");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for subcommand in [
        "serve", "check", "preview", "generate", "scan", "list", "show", "approve", "reject",
        "status", "apply", "user", "audit", "acl", "settings",
    ] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(subcommand)),
            "`{subcommand}` missing from --help:\n{help}"
        );
    }
}

#[test]
fn a_usage_error_exits_with_code_2() {
    let output = schemagate()
        .arg("no-such-command")
        .output()
        .expect("run schemagate");
    assert_eq!(output.status.code(), Some(2));
}

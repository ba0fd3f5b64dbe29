//! The command line of `infill-ls` outside LSP mode. (Cargo also builds the binary for
//! these tests, which the end-to-end crate under `tests/` then drives.)

use std::process::Command;

fn infill_ls(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_infill-ls")).args(args).output().expect("run infill-ls")
}

#[test]
fn version_prints_the_crate_version() {
    let out = infill_ls(&["--version"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.trim(), format!("infill-ls {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn help_lists_the_documented_flags_but_not_the_test_hooks() {
    let out = infill_ls(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--model", "--threads", "--log-level", "--version"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    assert!(!help.contains("--test-engine"), "{help}");
}

#[test]
fn bad_flags_fail_with_a_message_on_stderr_and_nothing_on_stdout() {
    for args in [&["--threads", "0"][..], &["--no-such-flag"][..]] {
        let out = infill_ls(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "stdout is the protocol channel");
        assert!(!out.stderr.is_empty());
    }
}

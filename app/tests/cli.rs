//! The binary's command line, run as a user would.

#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

use std::process::Command;

fn nacosd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nacosd")).args(args).output().unwrap()
}

#[test]
fn help_documents_every_option() {
    let output = nacosd(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for option in [
        "--config",
        "--http-port",
        "--grpc-port",
        "--cluster-port",
        "--bind",
        "--advertise-addr",
        "--data-dir",
        "--node-id",
        "--storage",
        "--max-content-bytes",
        "--log-level",
        "--max-connections",
        "--max-listeners-per-connection",
        "--connection-silent-seconds",
        "--history-retention-days",
        "NACOSD_HTTP_PORT",
    ] {
        assert!(help.contains(option), "--help does not mention {option}:\n{help}");
    }
}

#[test]
fn bad_flags_fail_with_a_message() {
    let output = nacosd(&["--http-port", "not-a-port"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--http-port"));
}

#[test]
fn environment_sets_what_flags_do_not() {
    // A config file that does not exist: the error proves NACOSD_CONFIG was read.
    let output =
        Command::new(env!("CARGO_BIN_EXE_nacosd")).env("NACOSD_CONFIG", "/nonexistent/from-env.toml").output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/from-env.toml"));
}

#[test]
fn auth_without_a_token_secret_refuses_to_start_and_says_why() {
    let output = nacosd(&["--auth-enabled"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no token secret") && stderr.contains("openssl rand -base64 32"), "{stderr}");
}

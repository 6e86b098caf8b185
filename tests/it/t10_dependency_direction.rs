//! The dependency rules of the design brief, read from `cargo metadata` so a wrong
//! dependency fails the build's tests, not a review.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

const ADAPTERS: &[&str] = &[
    "consensus-openraft",
    "store-rocksdb",
    "store-sled",
    "store-mem",
    "peer-grpc",
    "peer-mem",
    "api-http",
    "api-grpc",
];

/// Each workspace crate's normal and build dependencies (dev-dependencies are test-only).
fn dependencies() -> BTreeMap<String, Vec<String>> {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut crates = BTreeMap::new();
    for package in metadata["packages"].as_array().unwrap() {
        let deps = package["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|dep| dep["kind"].as_str() != Some("dev"))
            .map(|dep| dep["name"].as_str().unwrap().to_owned())
            .collect();
        crates.insert(package["name"].as_str().unwrap().to_owned(), deps);
    }
    crates
}

/// Why `krate` may not depend on `dep`, or `None` if it may.
fn broken_rule(krate: &str, dep: &str) -> Option<&'static str> {
    let is_adapter = |name: &str| ADAPTERS.contains(&name);
    match krate {
        // Binaries and tests: the edges, where anyhow and every crate are allowed.
        "app" | "tests" | "bench" => None,
        _ if dep == "anyhow" => Some("anyhow belongs to the binary edges (app, bench) and tests only"),
        _ if dep == "app" => Some("only tests may depend on app"),
        // Plain data-structure and hashing crates only: no I/O, no async, no clock.
        "domain" if !matches!(dep, "md-5" | "thiserror" | "hashbrown") => {
            Some("the domain is pure: md-5, thiserror and hashbrown only")
        }
        "ports"
            if is_adapter(dep)
                || matches!(dep, "openraft" | "rocksdb" | "sled" | "tonic" | "warp" | "tokio" | "proto") =>
        {
            Some("ports know no technology and no adapter")
        }
        "proto" if matches!(dep, "domain" | "ports") => Some("proto is a leaf"),
        _ if is_adapter(krate) && is_adapter(dep) => Some("no adapter depends on another adapter"),
        _ => None,
    }
}

fn violations(crates: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut found = Vec::new();
    for (krate, deps) in crates {
        for dep in deps {
            if let Some(why) = broken_rule(krate, dep) {
                found.push(format!("{krate} depends on {dep}: {why}"));
            }
        }
    }
    found
}

#[test]
fn crates_depend_only_in_the_allowed_direction() {
    let crates = dependencies();
    assert!(crates.contains_key("domain") && crates.contains_key("app"), "metadata lacks the workspace: {crates:?}");
    let found = violations(&crates);
    assert!(found.is_empty(), "dependency rules broken:\n{}", found.join("\n"));
}

#[test]
fn the_check_catches_a_broken_rule() {
    let mut crates = dependencies();
    crates.get_mut("domain").unwrap().push("tokio".to_owned());
    crates.get_mut("api-http").unwrap().push("store-mem".to_owned());
    crates.get_mut("ports").unwrap().push("anyhow".to_owned());
    let found = violations(&crates);
    assert_eq!(found.len(), 3, "{found:?}");
}

#[test]
fn only_one_module_of_app_chooses_the_storage_engine() {
    let app_src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src");
    let mut choosers = Vec::new();
    for entry in std::fs::read_dir(&app_src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.contains("feature = \"rocksdb\"") || text.contains("feature = \"sled\"") {
            choosers.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    assert_eq!(choosers, vec!["storage.rs".to_owned()]);
}

//! The dependency rules of the design brief, read from `cargo metadata` so a wrong
//! dependency fails the build's tests, not a review. Normal, build and dev-dependencies
//! are all checked; adapters are found by where they live (`adapters/`), so the list can
//! never name a crate that does not exist or miss one that does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// A dependency edge's kind, as cargo reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Normal,
    Dev,
}

struct Workspace {
    /// Each workspace crate's dependencies, with their kind.
    crates: BTreeMap<String, Vec<(String, Kind)>>,
    adapters: BTreeSet<String>,
}

fn workspace() -> Workspace {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut crates = BTreeMap::new();
    let mut adapters = BTreeSet::new();
    for package in metadata["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap().to_owned();
        let manifest = package["manifest_path"].as_str().unwrap();
        if manifest.contains("/adapters/") {
            adapters.insert(name.clone());
        }
        let deps = package["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|dep| {
                let kind = if dep["kind"].as_str() == Some("dev") { Kind::Dev } else { Kind::Normal };
                (dep["name"].as_str().unwrap().to_owned(), kind)
            })
            .collect();
        crates.insert(name, deps);
    }
    Workspace { crates, adapters }
}

/// Technology the inner crates must not know.
const TECHNOLOGY: &[&str] = &["openraft", "rocksdb", "sled", "tonic", "warp", "hyper", "tokio", "proto"];
/// Adapters that exist to serve other crates' tests (in-memory stand-ins).
const TEST_ADAPTERS: &[&str] = &["store-mem", "peer-mem"];

/// Why `krate` may not depend on `dep` (with `kind`), or `None` if it may.
fn broken_rule(workspace: &Workspace, krate: &str, dep: &str, kind: Kind) -> Option<&'static str> {
    let is_adapter = |name: &str| workspace.adapters.contains(name);
    match (krate, kind) {
        // Binaries and tests: the edges, where anyhow and every crate are allowed.
        ("app" | "tests" | "bench", _) => None,
        (_, _) if dep == "app" => Some("only tests may depend on app"),
        (_, Kind::Normal) if dep == "anyhow" => Some("anyhow belongs to the binary edges (app, bench) and tests only"),
        // Plain data-structure and hashing crates only: no I/O, no async, no clock.
        ("domain", Kind::Normal) if !matches!(dep, "md-5" | "thiserror" | "hashbrown") => {
            Some("the domain is pure: md-5, thiserror and hashbrown only")
        }
        ("domain", Kind::Dev) if is_adapter(dep) || TECHNOLOGY.contains(&dep) || dep == "ports" => {
            Some("the domain's tests are plain unit tests")
        }
        ("ports", Kind::Normal) if is_adapter(dep) || TECHNOLOGY.contains(&dep) => {
            Some("ports know no technology and no adapter")
        }
        // Services are tested against mocks and a runtime, never against an adapter.
        ("ports", Kind::Dev) if is_adapter(dep) => Some("ports are tested against mocks, not adapters"),
        ("proto", _) if matches!(dep, "domain" | "ports" | "nacos-json") || is_adapter(dep) => Some("proto is a leaf"),
        // The web console's assets: served by the HTTP adapter, knowing nothing themselves.
        ("console-web", _) => Some("the console's assets are a leaf"),
        ("nacos-json", _) if is_adapter(dep) || TECHNOLOGY.contains(&dep) => {
            Some("nacos-json is a library of wire shapes: no adapter, no transport")
        }
        (_, Kind::Normal) if is_adapter(krate) && is_adapter(dep) => Some("no adapter depends on another adapter"),
        (_, Kind::Dev) if is_adapter(krate) && is_adapter(dep) && !TEST_ADAPTERS.contains(&dep) => {
            Some("an adapter's tests may use the in-memory adapters only")
        }
        _ => None,
    }
}

fn violations(workspace: &Workspace) -> Vec<String> {
    let mut found = Vec::new();
    for (krate, deps) in &workspace.crates {
        for (dep, kind) in deps {
            if let Some(why) = broken_rule(workspace, krate, dep, *kind) {
                found.push(format!("{krate} depends on {dep} ({kind:?}): {why}"));
            }
        }
    }
    found
}

#[test]
fn crates_depend_only_in_the_allowed_direction() {
    let workspace = workspace();
    for expected in ["domain", "ports", "proto", "nacos-json", "app", "tests", "bench"] {
        assert!(workspace.crates.contains_key(expected), "metadata lacks {expected}: {:?}", workspace.crates.keys());
    }
    for adapter in ["consensus-openraft", "store-rocksdb", "store-sled", "store-mem", "api-http", "api-grpc"] {
        assert!(workspace.adapters.contains(adapter), "{adapter} is not found under adapters/");
    }
    let found = violations(&workspace);
    assert!(found.is_empty(), "dependency rules broken:\n{}", found.join("\n"));
}

#[test]
fn the_check_catches_a_broken_rule() {
    let mut workspace = workspace();
    let mut add = |krate: &str, dep: &str, kind: Kind| {
        workspace.crates.get_mut(krate).unwrap().push((dep.to_owned(), kind));
    };
    add("domain", "tokio", Kind::Normal);
    add("api-http", "store-mem", Kind::Normal);
    add("ports", "anyhow", Kind::Normal);
    add("nacos-json", "warp", Kind::Normal);
    add("api-grpc", "store-rocksdb", Kind::Dev);
    add("ports", "store-mem", Kind::Dev);
    add("proto", "domain", Kind::Normal);
    add("api-http", "store-mem", Kind::Dev);
    let found = violations(&workspace);
    assert_eq!(found.len(), 7, "the last edge is allowed, the others are not: {found:#?}");
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn only_one_module_of_app_chooses_the_storage_engine() {
    let app_src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src");
    let files = rust_files(&app_src);
    assert!(files.iter().any(|path| path.ends_with("settings/tests.rs")), "the scan is recursive");
    let choosers: Vec<String> = files
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            text.contains("feature = \"rocksdb\"") || text.contains("feature = \"sled\"")
        })
        .map(|path| path.strip_prefix(&app_src).unwrap().display().to_string())
        .collect();
    assert_eq!(choosers, vec!["storage.rs".to_owned()]);
}

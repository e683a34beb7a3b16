//! The Node.js host (`host-harness/node`, R22): its own tests, among them the
//! conformance tests that replay the repository's example scenario files
//! through both hosts and require the same lock-side outcome. Run here so
//! the README's one test command covers them; they use this build's
//! component and `host-harness stub`. Both hosts also refuse each bad
//! scenario file of `node/test/scenarios/bad/` with the same line and exit
//! status.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

const BIN: &str = env!("CARGO_BIN_EXE_host-harness");

fn node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node")
}

/// `npm ci` once for the tests of this file (they run in parallel).
fn npm_ci() {
    static DONE: Mutex<bool> = Mutex::new(false);
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if *done {
        return;
    }
    let install = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(node_dir())
        .output()
        .expect("npm runs (the Node host's tests need Node.js 20 and npm)");
    assert!(install.status.success(), "npm ci failed:\n{}", String::from_utf8_lossy(&install.stderr));
    *done = true;
}

/// A Node command in the package with this build's binary and component.
fn node(args: &[&str], dir: &Path) -> Output {
    Command::new("node")
        .args(args)
        .current_dir(dir)
        .env("SMARTLOCK_HOST_HARNESS", BIN)
        .env("SMARTLOCK_PLUGIN_WASM", host_harness::plugin_component_path())
        .env("SMARTLOCK_LOG", "warn")
        .output()
        .expect("node runs")
}

#[test]
fn r22_node_host_tests_and_conformance_with_the_rust_host() {
    let dir = node_dir();
    npm_ci();
    let out = Command::new("npm")
        .args(["test", "--silent"])
        .current_dir(&dir)
        // This build's binary and component: nothing is built again from npm.
        .env("SMARTLOCK_HOST_HARNESS", BIN)
        .env("SMARTLOCK_PLUGIN_WASM", host_harness::plugin_component_path())
        .output()
        .expect("npm runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary: Vec<&str> = stdout.lines().filter(|l| l.starts_with("# ")).collect();
    println!("{}", summary.join("\n"));
    assert!(out.status.success(), "the Node host's tests failed:\n{stdout}\n{stderr}");
}

/// Every file of `bad/` (plus a missing file and a folder): the Rust host
/// and the Node host exit 2 with the same one line on stderr, nothing on
/// stdout, and a step's error names the step.
#[test]
fn r22_both_hosts_refuse_bad_scenario_files_with_the_same_line() {
    npm_ci();
    let package = node_dir();
    // gen/ current first, so that the Node runs print nothing else.
    let built = node(&["scripts/build.js"], &package);
    assert!(built.status.success(), "build: {}", String::from_utf8_lossy(&built.stderr));
    let bad = package.join("test/scenarios/bad");
    let mut files: Vec<String> = std::fs::read_dir(&bad)
        .expect("the bad files")
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "{} bad files", files.len());
    let node_cli = package.join("bin/scenario.js");
    let node_cli = node_cli.to_str().expect("a UTF-8 path");
    let mut mismatches = Vec::new();
    for file in files.iter().map(String::as_str).chain(["no-such-file.json", "."]) {
        let rust = Command::new(BIN).args(["scenario", file]).current_dir(&bad).output().expect("host-harness runs");
        let node = node(&[node_cli, file], &bad);
        let line = |o: &Output| String::from_utf8_lossy(&o.stderr).trim_end().to_string();
        let (r, n) = (line(&rust), line(&node));
        assert_eq!(rust.status.code(), Some(2), "{file}: the Rust host: {r}");
        assert!(rust.stdout.is_empty() && node.stdout.is_empty(), "{file}: a report on stdout");
        assert_eq!(r.lines().count(), 1, "{file}: the Rust host's error is one line: {r}");
        assert!(
            r.starts_with(&format!("error: {}", file.trim_start_matches("./"))) || r.starts_with("error: cannot read "),
            "{file}: {r}"
        );
        if node.status.code() != Some(2) || r != n {
            mismatches.push(format!("{file}:\n  rust (2): {r}\n  node ({:?}): {n}", node.status.code()));
        }
    }
    assert!(mismatches.is_empty(), "the hosts disagree on {} files:\n{}", mismatches.len(), mismatches.join("\n"));
    // Spot checks of the words (the cases).
    let rust = |file: &str| {
        let o = Command::new(BIN).args(["scenario", file]).current_dir(&bad).output().expect("runs");
        String::from_utf8_lossy(&o.stderr).trim_end().to_string()
    };
    assert_eq!(
        rust("booking-without-property.json"),
        "error: booking-without-property.json: step 4 (booking): missing field `property`"
    );
    assert!(rust("unknown-provider.json").contains("step 3 (assign): unknown variant `acme`"));
}

//! The Node.js host (`host-harness/node`, R22): its own tests, among them the
//! conformance tests that replay the shared and example scenario files
//! through both hosts and require the same lock-side outcome. Run here so
//! the README's one test command covers them; they use this build's
//! component and `host-harness stub`.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_host-harness");

#[test]
fn r22_node_host_tests_and_conformance_with_the_rust_host() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("node");
    let install = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .output()
        .expect("npm runs (the Node host's tests need Node.js 20 and npm)");
    assert!(install.status.success(), "npm ci failed:\n{}", String::from_utf8_lossy(&install.stderr));
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

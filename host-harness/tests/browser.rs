//! The panel in headless Chromium: runs `host-harness/panel-tests` (node's
//! test runner with playwright-core, pinned in its package-lock.json)
//! against this build's `host-harness serve --demo`: the seed's flows and the
//! keys (`panel.test.mjs`), and a new user's first hour at 1280 and 390 px
//! (`first-hour.test.mjs`: zones on every time, a next step per state, a code
//! waiting for an offline bridge, a Failed code's advice and alert e-mail, the
//! lock dropdown's marks, the message preview, Connect waiting for a key, and
//! nothing off-screen at 390 px), and the brands as data at 1280 and 390 px
//! (`brands.test.mjs`: every card and connect form checked against
//! `GET /api/brands`, no brand named in `panel.js`, a brand the host is not
//! set up for, and Seam connected in the demo and against a `host-harness
//! stub` world, the guest's PIN on the stub's lock). Screenshots and step
//! timings go to `host-harness/panel-tests/output/` (not committed); the
//! first hour's 1280 px run also writes the README's picture,
//! `docs/panel.png`, so it shows this build.
//!
//! Needs Debian's `chromium` (`apt-get install -y chromium`; another binary
//! through `CHROMIUM_PATH`) and Node.js with npm. Without Chromium it prints
//! one line and passes on a developer's machine, but fails in CI (`CI` set,
//! as every CI service sets it): `.ci/run` installs Chromium at the same
//! path, so a CI run never passes with the browser tests skipped.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_host-harness");

/// Whether this run is CI's (`CI` set to anything but empty, `0` or `false`).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

#[test]
fn panel_flows_in_headless_chromium() {
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".to_string());
    if !Path::new(&chromium).exists() {
        assert!(!in_ci(), "CI must run the browser tests, but there is no Chromium at {chromium}: run .ci/run");
        println!("browser tests skipped: no Chromium at {chromium} (apt-get install -y chromium)");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("panel-tests");
    let npm = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .output()
        .expect("npm runs (the browser tests need Node.js and npm)");
    assert!(npm.status.success(), "npm ci failed:\n{}", String::from_utf8_lossy(&npm.stderr));
    let out = Command::new("node")
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec", "test/"])
        .current_dir(&dir)
        .env("HOST_HARNESS_BIN", BIN)
        .env("HOST_HARNESS_CACHE_DIR", format!("{}/serve-component-cache", env!("CARGO_TARGET_TMPDIR")))
        .env("CHROMIUM_PATH", &chromium)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the panel's browser tests failed (screenshots and the server's log in {}):\n{stdout}\n{stderr}",
        dir.join("output").display()
    );
}

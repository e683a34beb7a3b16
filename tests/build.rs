//! Builds the hostile fixture component (`tests/fixtures/hostile`) for
//! `wasm32-wasip2` in release and hands its path to the e2e tests as
//! `HOSTILE_FIXTURE_WASM`.
//!
//! As in host-harness/build.rs: the nested cargo gets its own target dir
//! (`<workspace>/target/wasm-fixtures`) so it does not wait on the outer
//! cargo's build-directory lock, and none of the variables the outer cargo
//! set for this script (host flags, wrappers, target dir, jobserver).

use std::env;
use std::path::PathBuf;
use std::process::Command;

const CLEARED_VARS: &[&str] = &[
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "CARGO_PRIMARY_PACKAGE",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
    "CARGO_LLVM_COV",
    "LLVM_PROFILE_FILE",
];

const CLEARED_PREFIXES: &[&str] = &["CARGO_FEATURE_", "CARGO_CFG_", "CARGO_PKG_", "CARGO_MANIFEST_"];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.parent().expect("tests/ sits in the workspace").to_path_buf();
    for input in ["tests/fixtures/hostile/src", "tests/fixtures/hostile/Cargo.toml", "wit", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", workspace.join(input).display());
    }

    let target_dir = workspace.join("target").join("wasm-fixtures");
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(&workspace)
        .args(["build", "-p", "smartlock-hostile-fixture", "--target", "wasm32-wasip2", "--release"])
        .arg("--target-dir")
        .arg(&target_dir);
    for var in CLEARED_VARS {
        cmd.env_remove(var);
    }
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if CLEARED_PREFIXES.iter().any(|p| key.starts_with(p)) {
            cmd.env_remove(&*key);
        }
    }

    let output = cmd.output().unwrap_or_else(|e| panic!("could not run cargo for the hostile fixture: {e}"));
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        panic!(
            "building the hostile fixture failed ({}): cargo build -p smartlock-hostile-fixture \
             --target wasm32-wasip2 --release --target-dir {} (its output is above)",
            output.status,
            target_dir.display()
        );
    }

    let wasm = target_dir.join("wasm32-wasip2").join("release").join("smartlock_hostile_fixture.wasm");
    assert!(wasm.is_file(), "the fixture build succeeded but {} is missing", wasm.display());
    println!("cargo:rustc-env=HOSTILE_FIXTURE_WASM={}", wasm.display());
}

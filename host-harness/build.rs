//! Builds the plugin component (`smartlock-plugin` for `wasm32-wasip2`, profile
//! `wasm-release`) and hands its path to the crate as `SMARTLOCK_PLUGIN_WASM`.
//!
//! The nested cargo uses its own target dir (`<workspace>/target/wasm-plugin`):
//! sharing the outer one would wait forever on the build-directory lock the
//! outer cargo holds while it runs this script.
//!
//! Setting `SMARTLOCK_PLUGIN_WASM=/path/to/component.wasm` while building skips
//! the nested build and embeds that path instead (a prebuilt component).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Variables the outer cargo sets for this script (or the user set for the
/// outer build) that would leak into the nested build and break it: flags and
/// wrappers for the host target, the outer target dir, the jobserver.
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

/// Prefixes of per-script variables (features, cfgs, package facts).
const CLEARED_PREFIXES: &[&str] = &[
    "CARGO_FEATURE_",
    "CARGO_CFG_",
    "CARGO_PKG_",
    "CARGO_MANIFEST_",
];

fn main() {
    println!("cargo:rerun-if-env-changed=SMARTLOCK_PLUGIN_WASM");
    if let Some(prebuilt) = env::var_os("SMARTLOCK_PLUGIN_WASM") {
        let path = PathBuf::from(prebuilt);
        if !path.is_file() {
            panic!("SMARTLOCK_PLUGIN_WASM={} is not a file", path.display());
        }
        println!("cargo:rerun-if-changed={}", path.display());
        println!("cargo:rustc-env=SMARTLOCK_PLUGIN_WASM={}", path.display());
        return;
    }

    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("host-harness sits in the workspace")
        .to_path_buf();
    for input in [
        "plugin/src",
        "plugin/Cargo.toml",
        "wit",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", workspace.join(input).display());
    }

    let target_dir = workspace.join("target").join("wasm-plugin");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&workspace)
        .args([
            "build",
            "-p",
            "smartlock-plugin",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "wasm-release",
        ])
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

    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("could not run cargo for the plugin: {e}"));
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        panic!(
            "building the plugin component failed ({}): \
             cargo build -p smartlock-plugin --target wasm32-wasip2 --profile wasm-release \
             --target-dir {} (its output is above)",
            output.status,
            target_dir.display()
        );
    }

    let wasm = component_path(&target_dir);
    if !wasm.is_file() {
        panic!(
            "the plugin build succeeded but {} is missing",
            wasm.display()
        );
    }
    println!("cargo:rustc-env=SMARTLOCK_PLUGIN_WASM={}", wasm.display());
}

fn component_path(target_dir: &Path) -> PathBuf {
    target_dir
        .join("wasm32-wasip2")
        .join("wasm-release")
        .join("smartlock_plugin.wasm")
}

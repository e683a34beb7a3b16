//! Used by build scripts (`host-harness/build.rs`, `tests/build.rs`) to build
//! a workspace package as a `wasm32-wasip2` component, so that a plain
//! `cargo build` / `cargo test` makes every component it needs.
//!
//! The nested cargo gets its own target dir (`<workspace>/target/<dir>`):
//! sharing the outer one would wait forever on the build-directory lock the
//! outer cargo holds while it runs the build script. It also must not see
//! the variables the outer cargo set for the script (host flags, wrappers,
//! target dir, jobserver, per-package facts).

use std::env;
use std::path::{Path, PathBuf};
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

/// One component to build.
pub struct Component<'a> {
    /// The cargo package, e.g. `smartlock-plugin`.
    pub package: &'a str,
    /// The cargo profile, e.g. `wasm-release` or `release`.
    pub profile: &'a str,
    /// The output file's name, e.g. `smartlock_plugin.wasm`.
    pub artifact: &'a str,
    /// The nested target dir's name under `<workspace>/target`.
    pub target_dir: &'a str,
    /// Paths (relative to the workspace) whose change rebuilds it.
    pub inputs: &'a [&'a str],
}

/// The workspace root of the package whose build script is running (its
/// manifest sits one level below the root).
pub fn workspace() -> PathBuf {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set for build scripts"));
    manifest_dir.parent().expect("the package sits in the workspace").to_path_buf()
}

/// Builds the component and returns its path; panics with the nested
/// build's output if it fails (a build script has no better way to fail).
pub fn build(component: &Component) -> PathBuf {
    let workspace = workspace();
    for input in component.inputs {
        println!("cargo:rerun-if-changed={}", workspace.join(input).display());
    }
    let target_dir = workspace.join("target").join(component.target_dir);
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(&workspace)
        .args(["build", "-p", component.package, "--target", "wasm32-wasip2", "--profile", component.profile])
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
    let output = cmd.output().unwrap_or_else(|e| panic!("could not run cargo to build {}: {e}", component.package));
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        panic!(
            "building the {} component failed ({}): cargo build -p {} --target wasm32-wasip2 --profile {} \
             --target-dir {} (its output is above)",
            component.package,
            output.status,
            component.package,
            component.profile,
            target_dir.display()
        );
    }
    // `release` builds land in `release/`, custom profiles in their own folder.
    let wasm = artifact_path(&target_dir, component.profile, component.artifact);
    assert!(wasm.is_file(), "the {} build succeeded but {} is missing", component.package, wasm.display());
    wasm
}

fn artifact_path(target_dir: &Path, profile: &str, artifact: &str) -> PathBuf {
    let folder = if profile == "dev" { "debug" } else { profile };
    target_dir.join("wasm32-wasip2").join(folder).join(artifact)
}

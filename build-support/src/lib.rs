//! Used by build scripts (`host-harness/build.rs`, `tests/build.rs`) to build
//! a workspace package as a WebAssembly component, so that a plain
//! `cargo build` / `cargo test` makes every component it needs.
//!
//! The package is built for `wasm32-unknown-unknown` (no WASI from Rust's
//! std) and made a component with `wit-component` from the WIT that
//! wit-bindgen embeds: the component imports exactly what its WIT world
//! names (R23), nothing a host must lock down by hand.
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

/// The target every component's core module is built for.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// One component to build.
pub struct Component<'a> {
    /// The cargo package, e.g. `smartlock-plugin`.
    pub package: &'a str,
    /// The cargo profile, e.g. `wasm-release` or `release`.
    pub profile: &'a str,
    /// The core module cargo writes, e.g. `smartlock_plugin.wasm`; the
    /// component is written beside it as `<name>.component.wasm`.
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
    ensure_target(&workspace, TARGET);
    for input in component.inputs {
        println!("cargo:rerun-if-changed={}", workspace.join(input).display());
    }
    let target_dir = workspace.join("target").join(component.target_dir);
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(&workspace)
        .args(["build", "-p", component.package, "--target", TARGET, "--profile", component.profile])
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
            "building the {} component failed ({}): cargo build -p {} --target {TARGET} --profile {} \
             --target-dir {} (its output is above)",
            component.package,
            output.status,
            component.package,
            component.profile,
            target_dir.display()
        );
    }
    // `release` builds land in `release/`, custom profiles in their own folder.
    let core = artifact_path(&target_dir, component.profile, component.artifact);
    assert!(core.is_file(), "the {} build succeeded but {} is missing", component.package, core.display());
    let wasm = core.with_extension("component.wasm");
    if let Err(e) = componentize(&core, &wasm) {
        panic!("making a component of {} failed: {e}", core.display());
    }
    wasm
}

/// Wraps a core module that carries wit-bindgen's component type into a
/// component (written to `out` only when it changed, so dependents do not
/// rebuild for nothing).
fn componentize(core: &Path, out: &Path) -> Result<(), String> {
    let module = std::fs::read(core).map_err(|e| format!("reading it: {e}"))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| encoder.validate(true).encode())
        .map_err(|e| format!("{e:#}"))?;
    if std::fs::read(out).ok().as_deref() != Some(&component[..]) {
        std::fs::write(out, component).map_err(|e| format!("writing {}: {e}", out.display()))?;
    }
    Ok(())
}

/// Makes sure the active toolchain has `target`'s standard library, and
/// installs it with `rustup target add` when it does not: a fresh machine
/// has the host target only and `RUSTUP_AUTO_INSTALL=0`, so naming the target
/// in `rust-toolchain.toml` is not enough. Panics with one sentence saying
/// what to do when it cannot.
pub fn ensure_target(workspace: &Path, target: &str) {
    if target_installed(target) {
        return;
    }
    println!("cargo:warning=installing the {target} target for the active toolchain (rustup target add {target})");
    // In the workspace, so rustup resolves the same toolchain (rust-toolchain.toml
    // or RUSTUP_TOOLCHAIN) as the cargo that runs this script.
    let status = Command::new("rustup").current_dir(workspace).args(["target", "add", target]).status();
    match status {
        Ok(s) if s.success() && target_installed(target) => {}
        Ok(s) => panic!(
            "the {target} target is not installed and `rustup target add {target}` failed ({s}); \
             install it for this toolchain by hand and build again"
        ),
        Err(e) => panic!(
            "the {target} target is not installed and rustup could not be run ({e}); \
             install the {target} standard library for this toolchain and build again"
        ),
    }
}

/// Whether the toolchain's sysroot holds `target`'s standard library.
fn target_installed(target: &str) -> bool {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = Command::new(rustc).args(["--print", "target-libdir", "--target", target]).output() else {
        return false;
    };
    let libdir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    out.status.success() && libdir.is_dir() && std::fs::read_dir(&libdir).is_ok_and(|mut d| d.next().is_some())
}

fn artifact_path(target_dir: &Path, profile: &str, artifact: &str) -> PathBuf {
    let folder = if profile == "dev" { "debug" } else { profile };
    target_dir.join(TARGET).join(folder).join(artifact)
}

//! The Python host (`host-harness/python`, R22): its own tests, among them
//! the conformance tests that replay the repository's example scenario files
//! through both hosts and require the same lock-side outcome, the sandbox
//! tests against the hostile fixture, the README's embedding example and
//! `mypy --strict`. Run here so the README's one test command covers them;
//! they use this build's `host-harness` binary and components.
//!
//! The test makes its own virtual environment (`target/tmp/python-venv`,
//! `python3 -m venv`) and installs the package there with its pinned
//! dependencies (from the package index the first time, then only the
//! package itself again). Without Python 3.11 it prints one line and passes,
//! unless CI is set: then it fails with one sentence.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_host-harness");
/// The setuptools that builds the package in the virtual environment.
const SETUPTOOLS: &str = "80.9.0";

/// CI is set: non-empty and not `0` or `false`.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

fn run(command: &mut Command) -> Output {
    let shown = format!("{command:?}");
    command.output().unwrap_or_else(|e| panic!("{shown} could not start: {e}"))
}

/// A Python of at least 3.11 (`$PYTHON`, else `python3`), or why there is none.
fn python() -> Result<PathBuf, String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = Command::new(&python)
        .args(["-c", "import sys; print(sys.executable); raise SystemExit(0 if sys.version_info >= (3, 11) else 3)"])
        .output();
    match probe {
        Ok(out) if out.status.success() => Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())),
        Ok(out) if out.status.code() == Some(3) => Err(format!("{python} is older than Python 3.11")),
        Ok(out) => Err(format!("{python} failed: {}", String::from_utf8_lossy(&out.stderr).trim())),
        Err(e) => Err(format!("no {python} on PATH ({e})")),
    }
}

/// The virtual environment with the package installed from this checkout.
/// Holds a lock file while it makes or updates it: other test processes of
/// this target folder use the same one.
fn venv(python: &Path, package: &Path) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-venv");
    std::fs::create_dir_all(Path::new(env!("CARGO_TARGET_TMPDIR"))).expect("the target's tmp folder");
    let lock =
        File::create(Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-venv.lock")).expect("the venv lock file");
    lock.lock().expect("the venv lock");
    let bin = dir.join("bin").join("python");
    if !bin.is_file() {
        let made = run(Command::new(python).args(["-m", "venv"]).arg(&dir));
        assert!(made.status.success(), "python3 -m venv failed:\n{}", String::from_utf8_lossy(&made.stderr));
    }
    // The build tool, then the package and its pinned dependencies (`test`
    // extra: pytest, mypy). No build isolation: the venv's setuptools builds
    // it, so once these are there pip finds every requirement satisfied and
    // asks no package index.
    let tools = run(Command::new(&bin).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("setuptools=={SETUPTOOLS}"),
    ]));
    assert!(tools.status.success(), "pip install setuptools failed:\n{}", String::from_utf8_lossy(&tools.stderr));
    let installed = run(Command::new(&bin)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-build-isolation"])
        .arg(format!("{}[test]", package.display())));
    assert!(
        installed.status.success(),
        "pip install of the Python host failed:\n{}{}",
        String::from_utf8_lossy(&installed.stdout),
        String::from_utf8_lossy(&installed.stderr)
    );
    bin
}

#[test]
fn r22_python_host_tests_and_conformance_with_the_rust_host() {
    let python = match python() {
        Ok(python) => python,
        Err(why) if in_ci() => panic!("CI must run the Python host's tests, but Python 3.11 is missing: {why}."),
        Err(why) => {
            println!("skipped: the Python host's tests need Python 3.11 ({why})");
            return;
        }
    };
    let package = Path::new(env!("CARGO_MANIFEST_DIR")).join("python");
    let venv_python = venv(&python, &package);

    // The installed package ships smartlock-host's schema file itself.
    let schema = run(Command::new(&venv_python)
        .args(["-c", "import sys, smartlock_host.storage as s; sys.stdout.write(s.schema())"])
        .current_dir(std::env::temp_dir()));
    assert!(schema.status.success(), "{}", String::from_utf8_lossy(&schema.stderr));
    assert_eq!(
        String::from_utf8_lossy(&schema.stdout),
        smartlock_host::imports::storage::SCHEMA,
        "the installed Python package's schema.sql is not smartlock-host's"
    );

    let plugin = PathBuf::from(host_harness::plugin_component_path());
    let hostile = plugin.with_file_name("smartlock_hostile_fixture.component.wasm");
    let root = package.parent().and_then(Path::parent).expect("the repository");
    let out = run(Command::new(&venv_python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .current_dir(&package)
        // This build's binary and components: nothing is built again from Python.
        .env("SMARTLOCK_HOST_HARNESS", BIN)
        .env("SMARTLOCK_PLUGIN_WASM", &plugin)
        .env("HOSTILE_FIXTURE_WASM", &hostile)
        .env("SMARTLOCK_REPO", root)
        .env("SMARTLOCK_LOG", "error"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{}", stdout.lines().last().unwrap_or_default());
    assert!(out.status.success(), "the Python host's tests failed:\n{stdout}\n{stderr}");
}

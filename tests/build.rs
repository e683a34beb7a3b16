//! Builds the hostile fixture component (`tests/fixtures/hostile`) and hands
//! its path to the e2e tests as `HOSTILE_FIXTURE_WASM`.

fn main() {
    let wasm = build_support::build(&build_support::Component {
        package: "smartlock-hostile-fixture",
        // The plugin's profile and nested target dir: the two share their
        // wasm dependencies (wit-bindgen), so the test build compiles none again.
        profile: "wasm-release",
        artifact: "smartlock_hostile_fixture.wasm",
        target_dir: "wasm",
        inputs: &[
            "tests/fixtures/hostile/src",
            "tests/fixtures/hostile/Cargo.toml",
            "wit",
            "Cargo.lock",
            ".cargo/config.toml",
        ],
    });
    println!("cargo:rustc-env=HOSTILE_FIXTURE_WASM={}", wasm.display());
}

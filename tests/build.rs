//! Builds the hostile fixture component (`tests/fixtures/hostile`) and hands
//! its path to the e2e tests as `HOSTILE_FIXTURE_WASM`.

fn main() {
    let wasm = build_support::build(&build_support::Component {
        package: "smartlock-hostile-fixture",
        profile: "release",
        artifact: "smartlock_hostile_fixture.wasm",
        target_dir: "wasm-fixtures",
        inputs: &["tests/fixtures/hostile/src", "tests/fixtures/hostile/Cargo.toml", "wit", "Cargo.lock"],
    });
    println!("cargo:rustc-env=HOSTILE_FIXTURE_WASM={}", wasm.display());
}

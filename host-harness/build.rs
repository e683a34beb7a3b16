//! Builds the plugin component (`smartlock-plugin` for `wasm32-unknown-unknown`, made a component,
//! profile `wasm-release`) and hands its path to the crate as
//! `SMARTLOCK_PLUGIN_WASM`.
//!
//! Setting `SMARTLOCK_PLUGIN_WASM=/path/to/component.wasm` while building
//! skips the nested build and embeds that path instead (a prebuilt component).

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=SMARTLOCK_PLUGIN_WASM");
    let wasm = match env::var_os("SMARTLOCK_PLUGIN_WASM") {
        Some(prebuilt) => {
            let path = PathBuf::from(prebuilt);
            assert!(path.is_file(), "SMARTLOCK_PLUGIN_WASM={} is not a file", path.display());
            println!("cargo:rerun-if-changed={}", path.display());
            path
        }
        None => build_support::build(&build_support::Component {
            package: "smartlock-plugin",
            profile: "wasm-release",
            artifact: "smartlock_plugin.wasm",
            target_dir: "wasm",
            inputs: &["plugin/src", "plugin/Cargo.toml", "wit", "Cargo.lock", "Cargo.toml", ".cargo/config.toml"],
        }),
    };
    println!("cargo:rustc-env=SMARTLOCK_PLUGIN_WASM={}", wasm.display());
}

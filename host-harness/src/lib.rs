//! The smart-lock plugin's tooling, built on the embeddable host library
//! [`smartlock_host`] and the vendor stubs [`smartlock_stubs`]: the scenario
//! runner ([`scenario`]), the crash driver ([`drive`]), the benchmark
//! ([`bench`]) and the `host-harness` CLI.

pub mod bench;
pub mod drive;
pub mod scenario;
pub mod serve;

pub use smartlock_host::*;
pub use smartlock_stubs as stubs;

/// Path of the plugin component that build.rs built
/// (`target/wasm/wasm32-unknown-unknown/wasm-release/smartlock_plugin.component.wasm`).
pub fn plugin_component_path() -> &'static str {
    env!("SMARTLOCK_PLUGIN_WASM")
}

/// The runtime settings for the component build.rs built.
pub fn default_runtime_config() -> RuntimeConfig {
    RuntimeConfig::new(std::path::PathBuf::from(plugin_component_path()))
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`); colours only
/// when stderr is a terminal. Does nothing if a subscriber is already
/// installed.
pub fn init_tracing() {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

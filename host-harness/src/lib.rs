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

/// The allow-list that sends every brand of `runtime` to its place in a
/// stub world served at `base` (brands the stubs lack go to themselves,
/// unreachable from a test machine).
pub fn stub_routes(runtime: &Runtime, base: &str) -> anyhow::Result<VendorRoutes> {
    VendorRoutes::from_brands(runtime.brands(), |id| stubs::Vendor::of(id).map(|v| v.base_url(base)))
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`); colours only
/// when stderr is a terminal. Does nothing if a subscriber is already
/// installed.
pub fn init_tracing() {
    init_tracing_with(false, "info");
}

/// Logging to stderr as [`init_tracing`], with `default` as the filter when
/// `RUST_LOG` is unset; with `simulated`, each line is stamped with the
/// simulated instant a scenario run is at ([`simulated_log_clock`]) instead
/// of the wall clock.
pub fn init_tracing_with(simulated: bool, default: &str) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_timer(LogTime { simulated })
        .try_init();
}

/// The instant a scenario run is at, for log lines: the runner sets it at
/// each tick and step; nothing else reads it.
pub mod simulated_log_clock {
    use std::sync::atomic::{AtomicI64, Ordering};

    static NOW: AtomicI64 = AtomicI64::new(i64::MIN);

    /// The run is at `t` (Unix seconds).
    pub fn set(t: i64) {
        NOW.store(t, Ordering::Relaxed);
    }

    /// The last instant set, if any.
    pub fn get() -> Option<i64> {
        let t = NOW.load(Ordering::Relaxed);
        (t != i64::MIN).then_some(t)
    }
}

struct LogTime {
    simulated: bool,
}

impl tracing_subscriber::fmt::time::FormatTime for LogTime {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        match simulated_log_clock::get().filter(|_| self.simulated) {
            Some(t) => write!(w, "{} (simulated)", scenario::utc(t)),
            None => tracing_subscriber::fmt::time::SystemTime.format_time(w),
        }
    }
}

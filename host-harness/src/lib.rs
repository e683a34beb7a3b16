//! The host side of the smart-lock plugin: a wasmtime sandbox that loads the
//! component once and calls it per tenant ([`runtime`]), the real
//! implementations of its imports ([`imports`]), and a stub of the igloohome
//! cloud for tests and demos ([`stub`]).

pub mod bench;
pub mod drive;
pub mod imports;
pub mod runtime;
pub mod scenario;
pub mod stub;
pub mod template;

pub use imports::{
    Clock, Email, HttpBackend, HttpError, HttpMethod, HttpRequest, HttpResponse, KvStore, MemoryStore, SimClock,
    SqliteDb, SqliteStore, StorageError, SystemClock, Tenant, UreqBackend, UreqConfig, VendorRoutes, Write,
};
pub use runtime::{api, CallError, CallResult, Runtime, RuntimeConfig, TenantHandle};

/// Absolute path of the plugin component that build.rs built
/// (`target/wasm-plugin/wasm32-wasip2/wasm-release/smartlock_plugin.wasm`).
pub fn plugin_component_path() -> &'static str {
    env!("SMARTLOCK_PLUGIN_WASM")
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`). Does nothing if a
/// subscriber is already installed.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

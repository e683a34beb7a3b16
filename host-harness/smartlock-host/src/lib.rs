//! Embeds the smart-lock plugin component (`wit/`, world
//! `pms:smartlock/smartlock-plugin`) in a PMS host.
//!
//! - [`Runtime`] loads the component once (engine, linker, `InstancePre`)
//!   and hands out a [`TenantHandle`] per PMS account; every call gets a
//!   fresh, limited instance (time, memory), and a trap fails only that call
//!   ([`CallError`]). Calls of one tenant are serialised, tenants run in
//!   parallel.
//! - A [`Tenant`] holds the backends behind the plugin's imports, each
//!   behind a trait with a real implementation: storage ([`KvStore`]:
//!   [`SqliteDb`]/[`SqliteStore`], [`MemoryStore`] for tests, and with the
//!   feature `postgres` `PgDb`/`PgStore`: one PostgreSQL database for several
//!   host processes, with per-tenant turns and a shared schedule) with the
//!   e-mail outbox, HTTP ([`HttpBackend`]: [`UreqBackend`]) behind the vendor
//!   allow-list ([`VendorRoutes`]; by default [`VendorRoutes::all_brands`],
//!   the real hosts of every brand the component lists and nothing else), and the
//!   clock ([`Clock`]: [`SystemClock`], [`SimClock`]). The log import goes to
//!   `tracing`, tagged with the tenant.
//! - Underneath, the imports are a library: [`add_to_linker`] adds every
//!   import of the world to an embedder's own `Linker<T>`, served from the
//!   [`SmartlockCtx`] its store data `T` hands out through [`SmartlockView`]
//!   (as wasmtime-wasi-http's `WasiHttpView` does). The runtime is that with
//!   its own store data ([`HostState`]); see [`view`] for running the
//!   component on an engine, linker and store of one's own.
//! - [`WakeUps`] keeps the instant each tenant's plugin asked to be ticked
//!   at (R21): tick those tenants then, with the regular tick as backstop.
//! - [`template::substitute`] fills `{{smartlock_code}}` in guest messages
//!   (R20); [`PluginError`] is the plugin's refusal as a plain sentence.
//!
//! ```no_run
//! use std::sync::Arc;
//! use smartlock_host::{api, Clock, PluginError, Runtime, RuntimeConfig, SqliteDb, Tenant};
//!
//! # fn main() -> anyhow::Result<()> {
//! // Compile once per process; the component is a file or its bytes.
//! let runtime = Runtime::new(RuntimeConfig::new(std::path::PathBuf::from("smartlock_plugin.wasm")))?;
//! let db = SqliteDb::open("smartlock.sqlite")?;
//! // May reach every brand's real hosts (`runtime.brands()`), nothing else.
//! let account = runtime.tenant(Tenant::new("acct-42", Arc::new(db.tenant("acct-42"))));
//! // Each call: the outer Result is a trap, the inner the plugin's answer.
//! // The brand's connect form, as data: `runtime.brands()` lists each
//! // brand's id and fields; the PMS asks its user for their values.
//! let Some(brand) = runtime.brands().first() else { anyhow::bail!("the component lists no brand") };
//! let credentials = api::credentials(&[("client_id", "client-id"), ("client_secret", "client-secret")]);
//! match account.connect(&brand.id, &credentials)? {
//!     Ok(acct) => println!("connected: {}", acct.name),
//!     Err(e) => println!("refused: {}", PluginError::from(e)),
//! }
//! let now = account.tenant().clock.now(); // the tenant's clock, seconds since the epoch
//! let summary = account.on_tick(now)?; // every 1-15 minutes
//! # let _ = summary;
//! # Ok(())
//! # }
//! ```
//!
//! # Running it in a PMS
//!
//! - Calls block the calling thread (the plugin waits on the vendor
//!   through the `http` import, up to [`RuntimeConfig::call_wall_limit`]);
//!   from async code run them on a blocking pool. A tenant's calls queue
//!   behind each other, with no time limit on the wait.
//! - Events: call [`TenantHandle::on_booking_changed`] and
//!   [`TenantHandle::on_property_changed`] when the PMS's data changes; they
//!   only plan, so they are quick.
//! - Ticks: call [`TenantHandle::on_tick`] for every tenant every 1 to 15
//!   minutes, and for the ids [`WakeUps::due`] returns (sleep until
//!   [`WakeUps::earliest`]); call again at once while
//!   [`api::TickSummary::more_due`] is true.
//! - Instances: a tenant's instance is kept for its next call
//!   ([`RuntimeConfig::warm_instances`] tenants at once, never shared
//!   between tenants); set it to 0 for a fresh instance on every call.
//! - Errors: `Err(`[`CallError`]`)` is a host-side failure for operators (a
//!   trap is logged at error level and drops the instance; the next call
//!   gets a clean one).
//!   `Ok(Err(e))` is the plugin refusing the request; show
//!   [`PluginError::from(e)`](PluginError) to the user.
//! - E-mail: the plugin only queues e-mails to the account owner in the
//!   outbox ([`KvStore::emails`], or the `outbox` table of a [`SqliteDb`]);
//!   delivering them is the PMS's job.
//! - Logs: everything goes to `tracing` with a `tenant` field; the plugin's
//!   own lines use target `plugin`. Install a subscriber to see them.

#![warn(missing_docs)]

pub mod bindings;
pub mod error;
pub mod imports;
pub mod runtime;
pub mod template;
pub mod view;
pub mod wake;

pub use bindings::api;
pub use error::PluginError;
pub use imports::{
    Clock, Email, HttpBackend, HttpError, HttpMethod, HttpRequest, HttpResponse, KvStore, MemoryStore, SimClock,
    SqliteDb, SqliteStore, StorageError, StoredEvent, SystemClock, Tenant, UreqBackend, UreqConfig, VendorRoutes,
    Write,
};
#[cfg(feature = "postgres")]
pub use imports::{Fence, PgDb, PgStore, Turn};
pub use runtime::{
    CallError, CallResult, ComponentSource, HostState, Runtime, RuntimeConfig, TenantHandle, CALLS_PER_WARM_INSTANCE,
    KEEP_RESIDENT_DIRTY_PAGES,
};
pub use view::{add_to_linker, SmartlockCtx, SmartlockView};
pub use wake::WakeUps;
/// The wasmtime this host runs on ([`TenantHandle::with_instance`] hands out its types).
pub use wasmtime;

/// The README's embedding example, compiled by `cargo test` (a doctest);
/// `host-harness/tests/embedding_example.rs` runs it against the stubs.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

//! The plugin's imports for an embedder's own wasmtime set-up.
//!
//! [`Runtime`](crate::Runtime) is one way to run the component: its engine,
//! its linker, a fresh store per call. An embedder that wants its own
//! [`Linker`] (other imports, other limits, its own store data, instances
//! kept across calls) uses the pieces underneath it:
//!
//! - [`SmartlockCtx`]: the state the imports need for one tenant (its
//!   [`Tenant`] backends, the [`WakeUps`] its `scheduler` import writes to,
//!   and the call's time accounting and log budget);
//! - [`SmartlockView`]: implemented by the embedder's store data to hand
//!   out its `SmartlockCtx`, as wasmtime-wasi-http's `WasiHttpView` does;
//! - [`add_to_linker`]: adds every import of world `smartlock-plugin`
//!   (`http`, `storage`, `email`, `log`, `clock`, `scheduler`,
//!   `code-events`, `types` and `wasi:random/random`) to a `Linker<T>` whose
//!   `T` is a `SmartlockView`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use smartlock_host::bindings::SmartlockPlugin;
//! use smartlock_host::wasmtime::component::{Component, Linker};
//! use smartlock_host::wasmtime::{Engine, Store};
//! use smartlock_host::{MemoryStore, SmartlockCtx, SmartlockView, Tenant};
//!
//! /// The embedder's own store data: the plugin's part and its own.
//! struct MyState {
//!     smartlock: SmartlockCtx,
//!     request_id: u64,
//! }
//!
//! impl SmartlockView for MyState {
//!     fn smartlock(&mut self) -> &mut SmartlockCtx {
//!         &mut self.smartlock
//!     }
//! }
//!
//! # fn main() -> anyhow::Result<()> {
//! let engine = Engine::default();
//! let component = Component::from_file(&engine, "smartlock_plugin.wasm")?;
//! let mut linker = Linker::<MyState>::new(&engine);
//! smartlock_host::add_to_linker(&mut linker)?;
//! let tenant = Tenant::new("acct-42", Arc::new(MemoryStore::new()));
//! let state = MyState { smartlock: SmartlockCtx::new(tenant), request_id: 7 };
//! let mut store = Store::new(&engine, state);
//! let plugin = SmartlockPlugin::instantiate(&mut store, &component, &linker)?;
//! let accounts = plugin.pms_smartlock_admin().call_accounts(&mut store)?;
//! # let _ = (accounts, store.data().request_id);
//! # Ok(())
//! # }
//! ```
//!
//! To serve one interface differently (say `log` into the embedder's own
//! sink), call [`add_to_linker`] and then that interface's generated
//! `add_to_linker` (e.g. [`bindings::generated::pms::smartlock::log::add_to_linker`](crate::bindings::generated::pms::smartlock::log::add_to_linker))
//! on a linker with [`Linker::allow_shadowing`], with the embedder's own
//! implementation of that interface's `Host` trait.
//!
//! What `Runtime` adds on top and an embedder must then do itself: limits
//! (an epoch deadline or fuel, and [`wasmtime::StoreLimits`]: a sandboxed
//! plugin is not trusted to stop or to stay small by itself), serialising
//! one tenant's calls (the plugin's storage protocol assumes one call at a
//! time per tenant), and ticking tenants at their [`WakeUps`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::SmartlockPlugin;
use crate::imports::Tenant;
use crate::WakeUps;

/// Log lines the guest may write per call; later ones are dropped.
const MAX_LOG_LINES_PER_CALL: u32 = 10_000;

/// Wall time a call may take when the embedder sets none (HTTP requests
/// get what is left of it as their timeout).
pub const DEFAULT_WALL_LIMIT: Duration = Duration::from_secs(60);

/// The host side of one tenant's plugin imports, kept in a wasmtime store's
/// data and reached through [`SmartlockView`].
///
/// It counts one call at a time: the wall-time limit (which bounds HTTP
/// timeouts), the time spent in host imports (so a host can limit the
/// guest's own time, see [`guest_elapsed`](Self::guest_elapsed)) and the
/// log-line budget start when it is made, and again at
/// [`start_call`](Self::start_call) for an embedder that keeps a store
/// across calls.
pub struct SmartlockCtx {
    pub(crate) tenant: Arc<Tenant>,
    pub(crate) wake_ups: Arc<WakeUps>,
    /// The last error line the guest logged in this call (its panic
    /// message, when it panicked): put into the trap's description.
    pub(crate) last_error_log: Option<String>,
    started: Instant,
    /// Time spent blocked in host imports during this call.
    host_time: Duration,
    wall_limit: Duration,
    wall_deadline: Instant,
    log_lines: u32,
}

impl std::fmt::Debug for SmartlockCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmartlockCtx")
            .field("tenant", &self.tenant.id)
            .field("wall_limit", &self.wall_limit)
            .field("host_time", &self.host_time)
            .finish_non_exhaustive()
    }
}

impl SmartlockCtx {
    /// The imports of `tenant`, with a wall-time limit of
    /// [`DEFAULT_WALL_LIMIT`] per call and wake-ups recorded in a
    /// [`WakeUps`] of its own (share one with
    /// [`with_wake_ups`](Self::with_wake_ups)).
    pub fn new(tenant: impl Into<Arc<Tenant>>) -> Self {
        let started = Instant::now();
        SmartlockCtx {
            tenant: tenant.into(),
            wake_ups: Arc::default(),
            last_error_log: None,
            started,
            host_time: Duration::ZERO,
            wall_limit: DEFAULT_WALL_LIMIT,
            wall_deadline: started + DEFAULT_WALL_LIMIT,
            log_lines: 0,
        }
    }

    /// Records the plugin's wake-up requests (R21) in `wake_ups`, under the
    /// tenant's id: one `WakeUps` for all tenants tells the host which to
    /// tick when.
    pub fn with_wake_ups(mut self, wake_ups: Arc<WakeUps>) -> Self {
        self.wake_ups = wake_ups;
        self
    }

    /// Sets the time a call may take in all, host imports included: an
    /// HTTP request gets what is left as its timeout and none is sent once
    /// it is spent. Counts from now.
    pub fn with_wall_limit(mut self, limit: Duration) -> Self {
        self.wall_limit = limit;
        self.start_call();
        self
    }

    /// Starts the accounting of a new call: the wall-time limit, the time
    /// spent in host imports, the log-line budget and the last error line.
    /// Only needed when one store serves several calls.
    pub fn start_call(&mut self) {
        self.started = Instant::now();
        self.wall_deadline = self.started + self.wall_limit;
        self.host_time = Duration::ZERO;
        self.log_lines = 0;
        self.last_error_log = None;
    }

    /// The tenant whose backends the imports use.
    pub fn tenant(&self) -> &Arc<Tenant> {
        &self.tenant
    }

    /// Where the plugin's wake-up requests go.
    pub fn wake_ups(&self) -> &Arc<WakeUps> {
        &self.wake_ups
    }

    /// The last line the guest logged at error level in this call: after a
    /// trap, usually its panic message.
    pub fn last_error_log(&self) -> Option<&str> {
        self.last_error_log.as_deref()
    }

    /// Time the guest itself has run so far in this call: the time since
    /// the call started less the time spent in host imports (e.g. waiting
    /// for the vendor). What an epoch-deadline callback compares with the
    /// guest's time limit.
    pub fn guest_elapsed(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.host_time)
    }

    /// Time spent blocked in host imports so far in this call.
    pub fn host_time(&self) -> Duration {
        self.host_time
    }

    /// Time left before the call's wall-time limit.
    pub fn wall_remaining(&self) -> Duration {
        self.wall_deadline.saturating_duration_since(Instant::now())
    }

    /// Runs `f` as time blocked in the host, not counted against the guest's
    /// time limit.
    pub(crate) fn in_host<R>(&mut self, f: impl FnOnce(&Self) -> R) -> R {
        let started = Instant::now();
        let result = f(self);
        self.host_time += started.elapsed();
        result
    }

    /// Counts one guest log line; false once the per-call budget is spent.
    pub(crate) fn take_log_line(&mut self) -> bool {
        self.log_lines = self.log_lines.saturating_add(1);
        if self.log_lines == MAX_LOG_LINES_PER_CALL + 1 {
            tracing::warn!(tenant = %self.tenant.id, "plugin log budget of {MAX_LOG_LINES_PER_CALL} lines per call spent; dropping the rest");
        }
        self.log_lines <= MAX_LOG_LINES_PER_CALL
    }
}

/// Store data that holds a [`SmartlockCtx`]: what [`add_to_linker`] needs
/// of an embedder's `T`.
pub trait SmartlockView: Send {
    /// The plugin imports' state in this store.
    fn smartlock(&mut self) -> &mut SmartlockCtx;
}

impl SmartlockView for SmartlockCtx {
    fn smartlock(&mut self) -> &mut SmartlockCtx {
        self
    }
}

/// Adds every import of world `smartlock-plugin` to `linker`, served from
/// the store data's [`SmartlockCtx`]: the contract's interfaces and
/// `wasi:random/random`, nothing else (R23).
///
/// # Errors
///
/// One of these names is already defined in `linker` (and shadowing is off).
pub fn add_to_linker<T: SmartlockView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    SmartlockPlugin::add_to_linker::<T, HasSelf<SmartlockCtx>>(linker, T::smartlock)
}

//! The sandbox: the plugin component loaded once, called per tenant.
//!
//! As in wasmtime's `examples/fast_instantiation.rs`: the [`Engine`], the
//! [`Component`], the [`Linker`] and the `InstancePre` are made once per
//! [`Runtime`]; a call runs in its own `Store` (an instance) with limits on
//! it. A trap (panic, time limit, memory cap) fails that one call with
//! [`CallError::Trap`] and its instance is dropped: the next call starts
//! from a clean instance.
//!
//! - Warm instances: the instance of a call that ended without a trap is
//!   kept for the same tenant's next call, for up to
//!   [`RuntimeConfig::warm_instances`] tenants at once (least recently used
//!   first out) and [`CALLS_PER_WARM_INSTANCE`] calls. Never across
//!   tenants: an instance only ever serves the tenant id it was made for.
//!   Each call still gets its own limits, clock budget and imports' state;
//!   what carries over is the guest's memory, which the plugin does not use
//!   between calls (it keeps its state in storage).
//!
//! - Time: an epoch ticker thread advances the engine's epoch every
//!   [`RuntimeConfig::epoch_tick`]. A call may run for
//!   [`RuntimeConfig::call_timeout`] of plugin time (time blocked in host
//!   imports, e.g. waiting for the vendor, is not counted) and for
//!   [`RuntimeConfig::call_wall_limit`] in all; HTTP requests get only the
//!   wall time that is left.
//! - Memory: linear memory is capped at [`RuntimeConfig::memory_limit`]
//!   (`StoreLimits` and the pooling allocator's slot size), table growth and
//!   instance counts too.
//! - Imports: linked with [`crate::add_to_linker`] into a `Linker` of the
//!   runtime's own store data, [`HostState`] (a [`SmartlockCtx`] and the
//!   store's limits). WASI: nothing but randomness (R23).
//! - Concurrency: calls for one tenant id are serialised (a mutex per id,
//!   shared by every [`TenantHandle`] of that id); different tenants run in
//!   parallel, up to [`RuntimeConfig::max_instances`] at once.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use wasmtime::component::{Component, Instance, InstancePre, Linker};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimits,
    StoreLimitsBuilder, Trap, UpdateDeadline,
};

use crate::bindings::generated::exports::pms::smartlock::{admin, events, messages};
use crate::bindings::generated::SmartlockPluginIndices;
use crate::bindings::{api, SmartlockPlugin};
use crate::imports::Tenant;
use crate::{SmartlockCtx, SmartlockView, WakeUps};

/// How the runtime loads the plugin and limits its calls.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// The plugin component: a file or its bytes.
    pub component: ComponentSource,
    /// A folder for the compiled component, reused while the component and
    /// the engine settings are unchanged. `None`: compile on every start.
    /// Created if missing; a file that cannot be written or loaded only
    /// costs a compile (logged as a warning). Files of older components are
    /// not removed.
    pub cache_dir: Option<PathBuf>,
    /// Plugin time one call may use (default 5 s).
    pub call_timeout: Duration,
    /// Time one call may take in all, host imports included (default 60 s).
    pub call_wall_limit: Duration,
    /// Linear memory cap per instance (default 64 MiB).
    pub memory_limit: usize,
    /// Table size cap per table (default 20 000 elements).
    pub table_elements: usize,
    /// Instances alive at once, i.e. calls running in parallel (default 32).
    /// Further calls wait for a free slot (at most `call_wall_limit`).
    pub max_instances: u32,
    /// Epoch period: the granularity of the time limit (default 10 ms).
    pub epoch_tick: Duration,
    /// Tenants whose instance is kept after a call that ended without a trap,
    /// for their next call (default 8; 0: every call gets a fresh instance).
    /// Making an instance and resetting its memory is about a fifth of a
    /// short call (`host-harness bench`). These instances come on top of
    /// [`RuntimeConfig::max_instances`] in the pool.
    pub warm_instances: u32,
    /// Bytes of each pooled linear memory kept mapped between calls and
    /// reset in place, instead of being returned to the kernel with
    /// `madvise` (and faulted in again, page by page, by the next call).
    ///
    /// Default: [`KEEP_RESIDENT_DIRTY_PAGES`] where the kernel reports which
    /// pages a call wrote (Linux 6.7+, `PAGEMAP_SCAN`), so that only those
    /// are reset; 0 elsewhere, where keeping memory resident means a
    /// `memset` of all of it on every call. See the README's Performance
    /// section and `host-harness bench`, which measures both settings.
    pub keep_resident_bytes: usize,
}

/// [`RuntimeConfig::keep_resident_bytes`] where only dirtied pages are
/// reset: more than a call of the bench's lifecycle workload writes (so no
/// call pays page faults for memory the previous one used), small enough
/// that each idle pool slot (`max_instances` + `warm_instances` of them)
/// holds at most 8 MiB.
pub const KEEP_RESIDENT_DIRTY_PAGES: usize = 8 << 20;

fn default_keep_resident() -> usize {
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        KEEP_RESIDENT_DIRTY_PAGES
    } else {
        0
    }
}

/// Where the plugin component comes from.
#[derive(Debug, Clone)]
pub enum ComponentSource {
    /// A component file (`smartlock_plugin.wasm`), read when the runtime starts.
    File(PathBuf),
    /// The component's bytes (e.g. embedded in the host binary).
    Bytes(Arc<[u8]>),
}

impl ComponentSource {
    /// The component's bytes (reading the file when it is one).
    pub fn bytes(&self) -> anyhow::Result<Arc<[u8]>> {
        match self {
            ComponentSource::File(path) => Ok(std::fs::read(path)
                .with_context(|| format!("reading the plugin component {}", path.display()))?
                .into()),
            ComponentSource::Bytes(bytes) => Ok(bytes.clone()),
        }
    }
}

impl From<PathBuf> for ComponentSource {
    fn from(path: PathBuf) -> Self {
        ComponentSource::File(path)
    }
}

impl From<&Path> for ComponentSource {
    fn from(path: &Path) -> Self {
        ComponentSource::File(path.to_path_buf())
    }
}

impl From<Vec<u8>> for ComponentSource {
    fn from(bytes: Vec<u8>) -> Self {
        ComponentSource::Bytes(bytes.into())
    }
}

impl RuntimeConfig {
    /// The default limits for `component`: 5 s of plugin time and 60 s in
    /// all per call, 64 MiB of memory, 32 instances at once, no compile cache.
    pub fn new(component: impl Into<ComponentSource>) -> Self {
        RuntimeConfig {
            component: component.into(),
            cache_dir: None,
            call_timeout: Duration::from_secs(5),
            call_wall_limit: Duration::from_secs(60),
            memory_limit: 64 << 20,
            table_elements: 20_000,
            max_instances: 32,
            epoch_tick: Duration::from_millis(10),
            keep_resident_bytes: default_keep_resident(),
            warm_instances: 8,
        }
    }
}

/// Why a call produced no result. The plugin's own errors are the inner
/// `Result` of each [`TenantHandle`] method, not this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The plugin trapped (panic, time limit, memory cap, a host import
    /// failure). The call's effects on storage up to the trap remain; the
    /// next call gets a fresh instance.
    #[error("plugin trapped (tenant {tenant}): {message}")]
    Trap {
        /// The [`Tenant::id`] of the call, as in the log lines about it.
        tenant: String,
        /// One line: the export, what stopped it (e.g. "interrupted:
        /// exceeded the time limit") and the guest's panic message if it
        /// printed one. For operators; do not show it to guests.
        message: String,
    },
    /// No instance could be made (all pool slots busy, a limit hit while
    /// starting). The plugin did not run.
    #[error("plugin could not be instantiated (tenant {tenant}): {message}")]
    Instantiate {
        /// The [`Tenant::id`] of the call, as in the log lines about it.
        tenant: String,
        /// One line: the export and why no instance was made. Retrying
        /// later is reasonable when the pool was full.
        message: String,
    },
}

/// The loaded plugin. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    component: Component,
    pre: InstancePre<HostState>,
    exports: ExportIndices,
    config: RuntimeConfig,
    component_size: usize,
    load_time: Duration,
    /// One lock per tenant id: calls of a tenant take turns.
    turns: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Pool slots free: a call waits for one instead of failing when more
    /// calls run at once than the pool holds instances.
    slots: Slots,
    /// Each tenant's next wake-up, as its plugin reported it (R21).
    wake_ups: Arc<WakeUps>,
    /// The component's brands (R30), asked once.
    brands: std::sync::OnceLock<Vec<api::BrandInfo>>,
    /// Instances kept for their tenant's next call, least recently used
    /// first (at most `config.warm_instances`).
    warm: Mutex<std::collections::VecDeque<Warm>>,
}

/// How many calls one instance serves before it is dropped: a bound on what
/// a long-lived guest heap could gather.
pub const CALLS_PER_WARM_INSTANCE: u32 = 256;

/// An instance kept for its tenant's next call.
struct Warm {
    tenant: String,
    store: Store<HostState>,
    instance: Instance,
    /// Calls it has served.
    calls: u32,
}

impl Inner {
    /// The tenant's kept instance, taken out of the cache.
    fn take_warm(&self, tenant: &str) -> Option<Warm> {
        let mut warm = self.warm.lock().unwrap_or_else(PoisonError::into_inner);
        let at = warm.iter().position(|w| w.tenant == tenant)?;
        warm.remove(at)
    }

    /// Keeps an instance for its tenant's next call, dropping the least
    /// recently used one beyond the cap.
    fn keep_warm(&self, kept: Warm) {
        if self.config.warm_instances == 0 || kept.calls >= CALLS_PER_WARM_INSTANCE {
            return;
        }
        let evicted = {
            let mut warm = self.warm.lock().unwrap_or_else(PoisonError::into_inner);
            // Out before in: the pool never holds more than it was sized for.
            let evicted = (warm.len() >= self.config.warm_instances as usize).then(|| warm.pop_front()).flatten();
            warm.push_back(kept);
            evicted
        };
        // Dropped outside the lock: dropping resets the instance's memory.
        drop(evicted);
    }
}

/// A counting semaphore over the instance pool's slots.
struct Slots {
    free: Mutex<u32>,
    freed: Condvar,
}

impl Slots {
    /// Waits up to `patience` for a slot; `None` if none came free.
    fn acquire(&self, patience: Duration) -> Option<SlotGuard<'_>> {
        let deadline = Instant::now() + patience;
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            let left = deadline.checked_duration_since(Instant::now())?;
            free = self.freed.wait_timeout(free, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        *free -= 1;
        Some(SlotGuard(self))
    }
}

struct SlotGuard<'a>(&'a Slots);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.0.freed.notify_one();
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("config", &self.inner.config)
            .field("component_size", &self.inner.component_size)
            .field("load_time", &self.inner.load_time)
            .finish_non_exhaustive()
    }
}

fn engine(config: &RuntimeConfig) -> anyhow::Result<Engine> {
    // Calls running at once, plus the instances kept warm between calls.
    let n = config.max_instances.max(1).saturating_add(config.warm_instances);
    let mut pool = PoolingAllocationConfig::new();
    // A component is a handful of core instances (the module, shims, fixups);
    // the plugin has one linear memory and a few tables.
    pool.total_component_instances(n)
        .total_core_instances(n.saturating_mul(16))
        .total_memories(n.saturating_mul(2))
        .total_tables(n.saturating_mul(16))
        .max_memory_size(config.memory_limit)
        .table_elements(config.table_elements)
        .max_unused_warm_slots(n)
        .linear_memory_keep_resident(config.keep_resident_bytes)
        .table_keep_resident(64 << 10)
        // Where the kernel can say which pages a call wrote (Linux 6.7+),
        // only those are reset, and they stay mapped; elsewhere this is a
        // no-op and `keep_resident_bytes` is memset whole.
        .pagemap_scan(Enabled::Auto);
    let mut wasm = Config::new();
    wasm.wasm_component_model(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Ok(Engine::new(&wasm)?)
}

/// Advances the engine's epoch every `tick` until the engine is dropped.
fn spawn_epoch_ticker(engine: &Engine, tick: Duration) -> anyhow::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || loop {
            std::thread::sleep(tick);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        })
        .context("starting the epoch ticker")?;
    Ok(())
}

/// Epoch ticks in `d`, rounded up.
fn ticks(d: Duration, tick: Duration) -> u64 {
    let tick = tick.as_nanos().max(1);
    d.as_nanos().div_ceil(tick).try_into().unwrap_or(u64::MAX)
}

impl Runtime {
    /// Loads [`RuntimeConfig::component`], from the cache folder when one is
    /// configured and holds it compiled, and starts the epoch ticker thread.
    /// Compiling takes seconds: do it once at start-up.
    ///
    /// # Errors
    ///
    /// The file cannot be read, the bytes are not a valid component, or its
    /// imports and exports do not match the `smartlock-plugin` world this
    /// host was built for.
    pub fn new(config: RuntimeConfig) -> anyhow::Result<Runtime> {
        let bytes = config.component.bytes()?;
        match config.cache_dir.clone() {
            Some(dir) => Self::from_cache_or_bytes(&bytes, &dir, config),
            None => Self::from_component_bytes(&bytes, config),
        }
    }

    /// Compiles a component from its bytes ([`RuntimeConfig::component`] is
    /// not read).
    pub fn from_component_bytes(bytes: &[u8], config: RuntimeConfig) -> anyhow::Result<Runtime> {
        let engine = engine(&config)?;
        let started = Instant::now();
        let component = Component::from_binary(&engine, bytes)
            .map_err(anyhow::Error::from)
            .context("compiling the plugin component")?;
        Self::assemble(engine, component, bytes.len(), started.elapsed(), config)
    }

    /// Loads a component compiled earlier by [`Runtime::serialize`] with the
    /// same engine settings.
    ///
    /// # Safety
    ///
    /// `bytes` must come from [`Runtime::serialize`] (wasmtime checks the
    /// format and version, but runs the machine code it holds as is).
    pub unsafe fn from_precompiled(bytes: &[u8], config: RuntimeConfig) -> anyhow::Result<Runtime> {
        let engine = engine(&config)?;
        let started = Instant::now();
        // SAFETY: the caller vouches that the bytes are a serialized component.
        let component = unsafe { Component::deserialize(&engine, bytes) }
            .map_err(anyhow::Error::from)
            .context("loading the precompiled plugin")?;
        Self::assemble(engine, component, bytes.len(), started.elapsed(), config)
    }

    /// The compiled component, for [`Runtime::from_precompiled`].
    pub fn serialize(&self) -> anyhow::Result<Vec<u8>> {
        Ok(self.inner.component.serialize()?)
    }

    fn from_cache_or_bytes(bytes: &[u8], dir: &Path, config: RuntimeConfig) -> anyhow::Result<Runtime> {
        let engine = engine(&config)?;
        let mut hasher = DefaultHasher::new();
        bytes.hash(&mut hasher);
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let path = dir.join(format!("smartlock-plugin-{:016x}.cwasm", hasher.finish()));
        if path.is_file() {
            let started = Instant::now();
            // SAFETY: the file was written by this function from
            // `Component::serialize`, named after the component's bytes and
            // the engine's settings.
            match unsafe { Component::deserialize_file(&engine, &path) } {
                Ok(component) => {
                    tracing::debug!(path = %path.display(), "plugin loaded from the compile cache");
                    return Self::assemble(engine, component, bytes.len(), started.elapsed(), config);
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "ignoring an unusable compile cache file")
                }
            }
        }
        let started = Instant::now();
        let component = Component::from_binary(&engine, bytes)
            .map_err(anyhow::Error::from)
            .context("compiling the plugin component")?;
        let load_time = started.elapsed();
        let written = component.serialize().map_err(anyhow::Error::from).and_then(|compiled| {
            std::fs::create_dir_all(dir)?;
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, compiled)?;
            std::fs::rename(&tmp, &path)?;
            Ok(())
        });
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), error = %e, "could not write the compile cache");
        }
        Self::assemble(engine, component, bytes.len(), load_time, config)
    }

    fn assemble(
        engine: Engine,
        component: Component,
        component_size: usize,
        load_time: Duration,
        config: RuntimeConfig,
    ) -> anyhow::Result<Runtime> {
        let mut linker = Linker::<HostState>::new(&engine);
        // Exactly the contract and wasi:random: a component that imports
        // anything else (a WASI filesystem, environment, stdio) fails to
        // instantiate here, at load, instead of being handed something (R23).
        crate::add_to_linker(&mut linker).map_err(anyhow::Error::from).context("linking the host imports")?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .context("the component's imports do not match the host")?;
        let exports = ExportIndices::new(&pre)
            .map_err(anyhow::Error::from)
            .context("the component does not export the smartlock-plugin world")?;
        spawn_epoch_ticker(&engine, config.epoch_tick)?;
        let config_slots = config.max_instances.max(1);
        tracing::info!(component_size, load_ms = load_time.as_millis() as u64, "plugin component loaded");
        Ok(Runtime {
            inner: Arc::new(Inner {
                engine,
                component,
                pre,
                exports,
                config,
                component_size,
                load_time,
                turns: Mutex::new(HashMap::new()),
                slots: Slots { free: Mutex::new(config_slots), freed: Condvar::new() },
                wake_ups: Arc::default(),
                brands: std::sync::OnceLock::new(),
                warm: Mutex::new(std::collections::VecDeque::new()),
            }),
        })
    }

    /// Size in bytes of the component this runtime was built from (the
    /// `.wasm`, or the precompiled artifact).
    pub fn component_size(&self) -> usize {
        self.inner.component_size
    }

    /// How long compiling (or loading the precompiled component) took.
    pub fn load_time(&self) -> Duration {
        self.inner.load_time
    }

    /// The configuration it was built with (limits apply to every call;
    /// changing them needs a new runtime, except the per-handle
    /// [`TenantHandle::with_call_timeout`]).
    pub fn config(&self) -> &RuntimeConfig {
        &self.inner.config
    }

    /// The wake-ups the plugin asked for, per tenant (R21): a host ticks a
    /// tenant at its wake-up as well as on its regular schedule.
    pub fn wake_ups(&self) -> &WakeUps {
        &self.inner.wake_ups
    }

    /// The names of the interfaces the loaded component imports, e.g.
    /// `pms:smartlock/http@0.2.0` (R23: the contract's and
    /// `wasi:random/random@0.2.0`, nothing else).
    pub fn imports(&self) -> Vec<String> {
        let ty = self.inner.component.component_type();
        ty.imports(&self.inner.engine).map(|(name, _)| name.to_string()).collect()
    }

    /// The wasmtime engine (shared by every instance of this runtime).
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The brands the component manages, as data (R30): connect forms and
    /// the default HTTP allow-list are built from it. Asked once, on a
    /// scratch instance that can reach nothing; empty if that call fails
    /// (logged).
    pub fn brands(&self) -> &[api::BrandInfo] {
        self.inner.brands.get_or_init(|| {
            let scratch =
                Tenant::new("brands", Arc::new(crate::MemoryStore::new())).with_routes(crate::VendorRoutes::new());
            let handle = self.handle(scratch);
            match handle.call("brands", |p, s| p.admin(s)?.call_brands(s)) {
                Ok(brands) => {
                    crate::error::learn_brand_names(&brands);
                    brands
                }
                Err(e) => {
                    tracing::error!(error = %e, "the component did not list its brands");
                    Vec::new()
                }
            }
        })
    }

    /// The brand of that id, if the component has it.
    pub fn brand(&self, id: &str) -> Option<&api::BrandInfo> {
        self.brands().iter().find(|b| b.id == id)
    }

    /// A handle to call the plugin as `tenant`. Handles of the same tenant id
    /// take turns, whichever handle they are made from. Cheap: make one per
    /// request or keep one per account. A tenant with the default
    /// allow-list ([`VendorRoutes::all_brands`](crate::VendorRoutes::all_brands))
    /// gets every origin of [`Runtime::brands`].
    pub fn tenant(&self, mut tenant: Tenant) -> TenantHandle {
        match tenant.routes.expanded(self.brands()) {
            Ok(routes) => tenant.routes = routes,
            Err(e) => tracing::error!(error = %e, "a brand lists an origin that is not a URL; it stays unreachable"),
        }
        self.handle(tenant)
    }

    fn handle(&self, tenant: Tenant) -> TenantHandle {
        let mut turns = self.inner.turns.lock().unwrap_or_else(PoisonError::into_inner);
        if turns.len() >= TURNS_BEFORE_PRUNING && !turns.contains_key(&tenant.id) {
            // A turn no handle holds guards nothing: forget it, so a host
            // serving many tenants over time does not keep one per id ever seen.
            turns.retain(|_, turn| Arc::strong_count(turn) > 1);
        }
        let turn = turns.entry(tenant.id.clone()).or_default().clone();
        drop(turns);
        TenantHandle {
            runtime: self.clone(),
            tenant: Arc::new(tenant),
            turn,
            call_timeout: self.inner.config.call_timeout,
        }
    }
}

/// Tenants' turns kept before those no handle holds are forgotten.
const TURNS_BEFORE_PRUNING: usize = 1024;

/// Calls the plugin as one tenant. Clone it freely; every method waits for
/// the tenant's previous call to finish.
#[derive(Clone)]
pub struct TenantHandle {
    runtime: Runtime,
    tenant: Arc<Tenant>,
    turn: Arc<Mutex<()>>,
    call_timeout: Duration,
}

impl std::fmt::Debug for TenantHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantHandle")
            .field("tenant", &self.tenant.id)
            .field("call_timeout", &self.call_timeout)
            .finish_non_exhaustive()
    }
}

/// The result of an export: the plugin's answer, or why there is none.
pub type CallResult<T> = Result<Result<T, api::Error>, CallError>;

impl TenantHandle {
    /// The tenant id the handle calls as: the key of its turn, its
    /// [`WakeUps`] entry and the `tenant` field of every log line.
    pub fn id(&self) -> &str {
        &self.tenant.id
    }

    /// The backends this handle's calls use (e.g. to read the tenant's
    /// outbox through [`Tenant::storage`], or to move its [`SimClock`](crate::SimClock)).
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// The same tenant with another plugin-time limit per call.
    pub fn with_call_timeout(&self, call_timeout: Duration) -> TenantHandle {
        TenantHandle { call_timeout, ..self.clone() }
    }

    /// Call when a booking is created, changed or cancelled (send the whole
    /// booking and its property each time). The plugin records it and plans
    /// its code; vendor calls happen on later ticks, so this is fast.
    pub fn on_booking_changed(&self, event: &api::BookingEvent) -> CallResult<()> {
        self.call("on-booking-changed", |p, s| p.events(s)?.call_on_booking_changed(s, event))
    }

    /// Call when a property is created or its name, timezone or default
    /// check-in/out times change; its bookings' codes are re-planned (R14).
    pub fn on_property_changed(&self, property: &api::Property) -> CallResult<()> {
        self.call("on-property-changed", |p, s| p.events(s)?.call_on_property_changed(s, property))
    }

    /// The instant (seconds since the epoch) this tenant's plugin last asked
    /// to be ticked at (R21), `None` when it has nothing scheduled.
    pub fn wake_up(&self) -> Option<api::Instant> {
        self.runtime.wake_ups().next(&self.tenant.id)
    }

    /// The periodic tick at `now` (seconds since the epoch, normally the
    /// tenant clock's time): creates, confirms, moves and deletes the codes
    /// that are due and sends alerts, so it may wait on the vendor.
    ///
    /// Call it every 1 to 15 minutes per tenant, and at the tenant's
    /// [`wake_up`](Self::wake_up). When the summary says
    /// [`more_due`](api::TickSummary::more_due), call again right away.
    pub fn on_tick(&self, now: api::Instant) -> CallResult<api::TickSummary> {
        let result = self.call("on-tick", |p, s| p.events(s)?.call_on_tick(s, now));
        if !matches!(result, Ok(Ok(_))) && self.wake_up().is_some_and(|at| at <= now) {
            // A tick that failed left its wake-up in the past: drop it, so a
            // host loop does not tick this tenant again at once, forever; the
            // regular tick is the backstop.
            self.runtime.wake_ups().set(&self.tenant.id, None);
        }
        result
    }

    /// A message variable's value for a booking, e.g. `smartlock_code` (or
    /// its alias `nuki_code`): the booking's PIN once it is on the lock
    /// (R19). `None` (unknown name or booking, no code yet) means: leave the
    /// variable for other plugins. Usually called through
    /// [`template::substitute`](crate::template::substitute).
    pub fn render_variable(&self, name: &str, booking_id: &str) -> Result<Option<String>, CallError> {
        self.call("render-variable", |p, s| p.messages(s)?.call_render_variable(s, name, booking_id))
    }

    /// Dashboard: checks the vendor credentials (the plugin requests a token
    /// and loads the device list, so this waits on the vendor) and stores
    /// them (R1). [`api::Error::CredentialsRejected`] stores nothing. The
    /// secret is never returned or logged, by the plugin or this host.
    ///
    /// `credentials` are the brand's form fields by name
    /// ([`api::BrandInfo::credentials`]); every field is required.
    pub fn connect(&self, brand: &str, credentials: &[api::Credential]) -> CallResult<api::Account> {
        let brand = brand.to_owned();
        self.call("connect", |p, s| p.admin(s)?.call_connect(s, &brand, credentials))
    }

    /// Dashboard: forgets the provider's credentials and assignments and
    /// stops all code work; codes already on locks expire by themselves
    /// (R18). Makes no vendor call.
    pub fn disconnect(&self, brand: &str) -> CallResult<()> {
        let brand = brand.to_owned();
        self.call("disconnect", |p, s| p.admin(s)?.call_disconnect(s, &brand))
    }

    /// Dashboard: the connected vendor accounts (from storage, no vendor call).
    pub fn accounts(&self) -> CallResult<Vec<api::Account>> {
        self.call("accounts", |p, s| p.admin(s)?.call_accounts(s))
    }

    /// Dashboard: the locks of the connected account, each with what links
    /// it to the vendor's cloud (R3), fetched from the vendor; [`api::Error::NotConnected`] without
    /// an account.
    pub fn list_locks(&self, brand: &str) -> CallResult<Vec<api::LockInfo>> {
        let brand = brand.to_owned();
        self.call("list-locks", |p, s| p.admin(s)?.call_list_locks(s, &brand))
    }

    /// Dashboard: puts a lock on a property, or changes its lock or settings
    /// (R4, R5, R14, R17), and re-plans the property's codes.
    ///
    /// `days_before` (1 to 14) is how many days before check-in a code is
    /// created; `margin_minutes` (0 to 240) how long it is valid before
    /// check-in and after check-out. `None` keeps the current value, or the
    /// default (5 days, 30 minutes) on a new assignment; out-of-range values
    /// are [`api::Error::InvalidInput`]. A lock codes cannot reach remotely
    /// (nothing links it to the vendor's cloud) is
    /// [`api::Error::LockNotRemote`].
    pub fn assign(
        &self,
        property_id: &str,
        brand: &str,
        lock_id: &str,
        days_before: Option<i32>,
        margin_minutes: Option<i32>,
    ) -> CallResult<api::Assignment> {
        let settings = api::Settings { days_before, margin_minutes, backup_codes: None };
        self.assign_with(property_id, brand, lock_id, settings)
    }

    /// Dashboard: [`TenantHandle::assign`] with every setting of the
    /// contract's `settings` record, among them `backup_codes` (0 to 5 spare
    /// codes kept on the lock for guests whose own code could not be set,
    /// R25). A field left `None` keeps its current value or the default.
    pub fn assign_with(
        &self,
        property_id: &str,
        brand: &str,
        lock_id: &str,
        settings: api::Settings,
    ) -> CallResult<api::Assignment> {
        let brand = brand.to_owned();
        self.call("assign", |p, s| p.admin(s)?.call_assign(s, property_id, &brand, lock_id, settings))
    }

    /// Dashboard: adds a shared door (a building entrance, a gate) to a
    /// property (R26): its bookings also get a code on that lock, which may
    /// be of another brand than the property's own. At most 4 per property;
    /// adding a door the property has already changes nothing.
    pub fn share_door(&self, property_id: &str, brand: &str, lock_id: &str) -> CallResult<api::SharedDoor> {
        let brand = brand.to_owned();
        self.call("share-door", |p, s| p.admin(s)?.call_share_door(s, property_id, &brand, lock_id))
    }

    /// Dashboard: removes a shared door from a property; codes whose window
    /// has not started are deleted, a guest mid-stay keeps theirs (R17).
    pub fn unshare_door(&self, property_id: &str, brand: &str, lock_id: &str) -> CallResult<()> {
        let brand = brand.to_owned();
        self.call("unshare-door", |p, s| p.admin(s)?.call_unshare_door(s, property_id, &brand, lock_id))
    }

    /// Dashboard: the property's shared doors, in the order they were added.
    pub fn shared_doors(&self, property_id: &str) -> CallResult<Vec<api::SharedDoor>> {
        self.call("shared-doors", |p, s| p.admin(s)?.call_shared_doors(s, property_id))
    }

    /// Dashboard: removes the property's lock (R17); its bookings' codes
    /// are cleaned up on later ticks.
    pub fn unassign(&self, property_id: &str) -> CallResult<()> {
        self.call("unassign", |p, s| p.admin(s)?.call_unassign(s, property_id))
    }

    /// Dashboard: the property's lock and code settings, `None` when it has
    /// no lock (the WIT export `get-assignment`).
    pub fn assignment(&self, property_id: &str) -> CallResult<Option<api::Assignment>> {
        // Both bindgens call it `get-assignment`: the WIT function shares its
        // name with the `assignment` record.
        self.call("assignment", |p, s| p.admin(s)?.call_get_assignment(s, property_id))
    }

    /// Dashboard: where the booking's code is (state, PIN, window, last
    /// vendor error, next attempt); [`api::Error::NotFound`] for a booking
    /// the plugin was never told about.
    pub fn booking_status(&self, booking_id: &str) -> CallResult<api::CodeStatus> {
        self.call("booking-status", |p, s| p.admin(s)?.call_booking_status(s, booking_id))
    }

    /// Runs `f` with one fresh instance and its store (never a kept one,
    /// and not kept afterwards), under the same
    /// limits and turn as every call: several exports on one (warm) instance,
    /// or none at all (the benchmark's instantiation cost).
    ///
    /// Not needed for normal embedding. An `Err` from `f` (or a trap) is a
    /// [`CallError::Trap`]; the instance is dropped when `f` returns.
    pub fn with_instance<R>(
        &self,
        f: impl FnOnce(&SmartlockPlugin, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        self.run("with-instance", false, |exports, store| {
            let plugin = exports.world(store)?;
            f(&plugin, store)
        })
    }

    /// Runs one export in the tenant's turn, on its kept instance if it has
    /// one, else on a fresh one.
    fn call<R>(
        &self,
        export: &'static str,
        f: impl FnOnce(Exports<'_>, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        self.run(export, true, f)
    }

    /// Runs `f` in the tenant's turn; `warm`: on the tenant's kept instance
    /// if there is one, and the instance is kept afterwards unless it
    /// trapped.
    fn run<R>(
        &self,
        export: &'static str,
        warm: bool,
        f: impl FnOnce(Exports<'_>, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let _turn = self.turn.lock().unwrap_or_else(PoisonError::into_inner);
        let rt = &self.runtime.inner;
        let tenant = self.tenant.id.as_str();
        let Some(_slot) = rt.slots.acquire(rt.config.call_wall_limit) else {
            let message = format!("{export}: no free instance slot within {:?}", rt.config.call_wall_limit);
            tracing::error!(tenant, export, "plugin call refused: the instance pool stayed full");
            return Err(CallError::Instantiate { tenant: tenant.to_owned(), message });
        };
        let started = Instant::now();
        let limits = CallLimits {
            guest_time: self.call_timeout,
            wall_time: rt.config.call_wall_limit,
            memory_bytes: rt.config.memory_limit,
            table_elements: rt.config.table_elements,
        };
        let smartlock =
            SmartlockCtx::new(self.tenant.clone()).with_wake_ups(rt.wake_ups.clone()).with_wall_limit(limits.wall_time);
        let tick = rt.config.epoch_tick;
        let kept = if warm { rt.take_warm(tenant) } else { None };
        // `ran`: the plugin's code ran (a trap while instantiating is the
        // guest's start code trapping); otherwise the host could not make an
        // instance.
        let (mut store, instance, calls) = match kept {
            Some(Warm { mut store, instance, calls, .. }) => {
                // This call's imports' state, limits and clock budget.
                *store.data_mut() = HostState::new(smartlock, &limits);
                store.set_epoch_deadline(ticks(self.call_timeout, tick));
                (store, Ok(instance), calls)
            }
            None => {
                let mut store = Store::new(&rt.engine, HostState::new(smartlock, &limits));
                store.limiter(|state| &mut state.limits);
                store.set_epoch_deadline(ticks(self.call_timeout, tick));
                // At each deadline: interrupt if the plugin's own time (or the
                // call's wall time) is spent, else look again when it could be.
                store.epoch_deadline_callback(move |ctx| {
                    let state = ctx.data();
                    let guest_left = state.guest_time_limit.saturating_sub(state.smartlock.guest_elapsed());
                    let left = guest_left.min(state.smartlock.wall_remaining());
                    if left.is_zero() {
                        return Ok(UpdateDeadline::Interrupt);
                    }
                    Ok(UpdateDeadline::Continue(ticks(left, tick).max(1)))
                });
                let instance = rt.pre.instantiate(&mut store);
                (store, instance, 0)
            }
        };
        let outcome = match instance {
            Ok(instance) => match f(Exports { instance, indices: &rt.exports }, &mut store) {
                Ok(result) => {
                    if warm {
                        rt.keep_warm(Warm { tenant: tenant.to_owned(), store, instance, calls: calls + 1 });
                    }
                    Ok(result)
                }
                Err(e) => Err((true, e, store)),
            },
            Err(e) => Err((e.downcast_ref::<Trap>().is_some(), e, store)),
        };
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        match outcome {
            Ok(result) => {
                tracing::debug!(tenant, export, ms, "plugin call");
                Ok(result)
            }
            Err((ran, e, store)) => {
                // What the guest logged last at error level (its panic
                // message) goes into the error; the instance is dropped.
                let message = describe_failure(export, &e, &limits, store.data().smartlock.last_error_log());
                let tenant = tenant.to_owned();
                if ran {
                    tracing::error!(tenant, export, ms, message, "plugin call trapped");
                    Err(CallError::Trap { tenant, message })
                } else {
                    tracing::error!(tenant, export, message, "plugin instantiation failed");
                    Err(CallError::Instantiate { tenant, message })
                }
            }
        }
    }
}

/// Where the component's exports are, found once when it is loaded.
///
/// A call loads only the interface it uses: loading an interface checks the
/// types of each of its functions, and checking the whole world (about 25
/// functions) on every call was a fifth of a call's set-up in `host-harness
/// bench`.
struct ExportIndices {
    world: SmartlockPluginIndices,
    admin: admin::GuestIndices,
    events: events::GuestIndices,
    messages: messages::GuestIndices,
}

impl ExportIndices {
    fn new(pre: &InstancePre<HostState>) -> wasmtime::Result<ExportIndices> {
        Ok(ExportIndices {
            world: SmartlockPluginIndices::new(pre)?,
            admin: admin::GuestIndices::new(pre)?,
            events: events::GuestIndices::new(pre)?,
            messages: messages::GuestIndices::new(pre)?,
        })
    }
}

/// One instance's exports, each interface loaded when asked for.
struct Exports<'a> {
    instance: Instance,
    indices: &'a ExportIndices,
}

impl Exports<'_> {
    fn admin(&self, store: &mut Store<HostState>) -> wasmtime::Result<admin::Guest> {
        self.indices.admin.load(store, &self.instance)
    }

    fn events(&self, store: &mut Store<HostState>) -> wasmtime::Result<events::Guest> {
        self.indices.events.load(store, &self.instance)
    }

    fn messages(&self, store: &mut Store<HostState>) -> wasmtime::Result<messages::Guest> {
        self.indices.messages.load(store, &self.instance)
    }

    fn world(&self, store: &mut Store<HostState>) -> wasmtime::Result<SmartlockPlugin> {
        self.indices.world.load(store, &self.instance)
    }
}

/// Limits of one call, fixed when the call starts.
#[derive(Debug, Clone)]
struct CallLimits {
    /// Time the guest itself may run (time blocked in imports not counted).
    guest_time: Duration,
    /// Time the whole call may take, imports included.
    wall_time: Duration,
    memory_bytes: usize,
    table_elements: usize,
}

/// The runtime's store data for one call: the imports' [`SmartlockCtx`]
/// and the store's limits (memory, tables, the guest's own time).
///
/// Made by the runtime for every call and dropped with it; an embedder
/// meets it as the store type of [`TenantHandle::with_instance`]. An
/// embedder with its own store data uses [`crate::add_to_linker`] instead.
pub struct HostState {
    smartlock: SmartlockCtx,
    limits: StoreLimits,
    guest_time_limit: Duration,
}

impl HostState {
    fn new(smartlock: SmartlockCtx, limits: &CallLimits) -> Self {
        let store_limits = StoreLimitsBuilder::new()
            .memory_size(limits.memory_bytes)
            .table_elements(limits.table_elements)
            .instances(64)
            .tables(64)
            .memories(4)
            .trap_on_grow_failure(true)
            .build();
        HostState { smartlock, limits: store_limits, guest_time_limit: limits.guest_time }
    }

    /// The imports' state of this call (the tenant, its time accounting).
    pub fn ctx(&self) -> &SmartlockCtx {
        &self.smartlock
    }
}

impl SmartlockView for HostState {
    fn smartlock(&mut self) -> &mut SmartlockCtx {
        &mut self.smartlock
    }
}

/// A one-line account of a failed call, with the guest's last error log
/// line (its panic message) when it wrote one.
fn describe_failure(export: &str, error: &wasmtime::Error, limits: &CallLimits, last_error: Option<&str>) -> String {
    // The root cause says what happened; the outer layers are wasm
    // backtraces (addresses only: the component is stripped).
    let cause = error.root_cause().to_string();
    let what = match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => format!(
            "interrupted: exceeded the time limit ({:?} of plugin time, {:?} in all)",
            limits.guest_time, limits.wall_time
        ),
        _ if cause.contains("growing memory") => {
            format!("exceeded the memory limit of {} MiB ({cause})", limits.memory_bytes >> 20)
        }
        Some(Trap::UnreachableCodeReached) => "aborted (unreachable instruction: a panic or abort)".to_owned(),
        _ => cause,
    };
    let mut message = format!("{export}: {what}");
    if let Some(line) = last_error.map(str::trim).filter(|l| !l.is_empty()) {
        message.push_str(" — ");
        message.push_str(crate::imports::truncate(line, 1024));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_up() {
        let tick = Duration::from_millis(10);
        assert_eq!(ticks(Duration::ZERO, tick), 0);
        assert_eq!(ticks(Duration::from_millis(1), tick), 1);
        assert_eq!(ticks(Duration::from_secs(5), tick), 500);
        assert_eq!(ticks(Duration::from_millis(5001), tick), 501);
    }
}

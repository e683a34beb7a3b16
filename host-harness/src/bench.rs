//! `host-harness bench`: what the component costs, measured in one run.
//!
//! Every figure is a median over repeated runs. Run it with `--release`:
//! the host's own code is part of what is measured.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::json;
use smartlock_plugin::brands::{BrandId, Connection};
use smartlock_plugin::host as guest_host;
use smartlock_plugin::memory_host::MemoryHost;
use smartlock_plugin::model::{Assignment, BookingFacts, PropertyFacts};
use smartlock_plugin::store as guest_store;

use crate::imports::{
    HttpBackend, HttpError, HttpRequest, HttpResponse, KvStore, MemoryStore, SimClock, SqliteDb, Tenant, VendorRoutes,
    Write,
};
use crate::stubs::igloohome::{Igloohome, StubAccount, StubBridge, StubConfig, StubLock, StubRequest};
use crate::stubs::StubServer;
use crate::{api, Runtime, RuntimeConfig, TenantHandle};

pub mod multinode;
mod native;

const CLIENT_ID: &str = "bench-id";
const SECRET: &str = "bench-secret";
/// 2027-01-04T00:00:00Z: the benchmark's "now".
const NOW: i64 = 1_799_020_800;

pub fn run(config: RuntimeConfig, as_json: bool, profile_native: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    if profile_native {
        // Only the wasm/native workload, many times: something to point a
        // profiler at.
        let runtime = Runtime::new(config)?;
        println!("{}", storage_traffic(&runtime)?);
        for _ in 0..20 {
            let c = native_comparison(&runtime)?;
            println!(
                "lifecycle workload: {:.1} ms wasm, {:.1} ms native, {:.1} ms on the test host, ratios {:.2} and {:.2}",
                c.wasm_ms, c.native_ms, c.test_host_ms, c.ratio, c.test_host_ratio
            );
        }
        return Ok(());
    }
    let bytes = config.component.bytes()?;

    let mut compiles = Vec::new();
    let mut runtime = None;
    for _ in 0..3 {
        let t = Instant::now();
        runtime = Some(Runtime::from_component_bytes(&bytes, config.clone())?);
        compiles.push(t.elapsed());
    }
    let runtime = runtime.context("compiled")?;
    let precompiled = runtime.serialize()?;
    let mut loads = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        // SAFETY: the bytes come from `serialize` of this process's engine settings.
        drop(unsafe { Runtime::from_precompiled(&precompiled, config.clone())? });
        loads.push(t.elapsed());
    }

    // First, in a process that has done nothing else yet: after the
    // 100k-booking store below, the same builds measured a ratio about 0.1
    // higher, from what the process's allocator and caches held then.
    let comparison = native_comparison(&runtime)?;
    let (tick_1k, calls_1k) = tick_idle(&runtime, 1_000)?;
    let (tick_100k, calls_100k) = tick_idle(&runtime, 100_000)?;
    let (codes_per_second, requests_per_booking) = codes_through_loopback(&runtime)?;
    // The other pooling setting, measured in the same run (see
    // `RuntimeConfig::keep_resident_bytes`): pages returned with `madvise`
    // where the default keeps them, else 2 MiB kept (and memset whole).
    let other_resident = if config.keep_resident_bytes > 0 { 0 } else { 2 << 20 };
    let other =
        Runtime::from_component_bytes(&bytes, RuntimeConfig { keep_resident_bytes: other_resident, ..config.clone() })?;
    let (tick_1k_other, calls_other) = tick_idle(&other, 1_000)?;
    drop(other);
    let last_minute = last_minute_code_s(&runtime)?;
    let (burst_minutes, burst_requests) = burst_25(&runtime)?;

    let figures = json!({
        "component_bytes": bytes.len(),
        "compile_ms": round(ms(median(&mut compiles)), 1),
        "load_cached_ms": round(ms(median(&mut loads)), 2),
        "instantiate_us": round(calls_1k.instantiate_us, 1),
        "render_us": round(calls_1k.render_us, 2),
        "booking_changed_us": round(calls_1k.booking_changed_us, 1),
        "tick_idle_us_1k": round(tick_1k, 1),
        "tick_idle_us_100k": round(tick_100k, 1),
        "codes_per_second": round(codes_per_second, 0),
        "http_requests_per_booking": round(requests_per_booking, 3),
        "native_ratio": round(comparison.ratio, 2),
        "native_ratio_test_host": round(comparison.test_host_ratio, 2),
        "last_minute_code_s": last_minute,
        "burst_25_minutes": round(burst_minutes, 2),
        "burst_25_requests_per_booking": round(burst_requests, 2),
        "keep_resident_bytes": config.keep_resident_bytes,
        "warm_instances": config.warm_instances,
        "instantiate_us_other_pooling": round(calls_other.instantiate_us, 1),
        "tick_idle_us_1k_other_pooling": round(tick_1k_other, 1),
        "other_pooling_keep_resident_bytes": other_resident,
    });
    if as_json {
        println!("{figures}");
    } else {
        for (key, value) in figures.as_object().into_iter().flatten() {
            println!("{key:<28} {value}");
        }
        println!(
            "{:<28} {} (100k store), {} (1k store)",
            "render_us warm",
            calls_100k.render_us.round(),
            calls_1k.render_us.round()
        );
        println!(
            "{:<28} {:.1} ms wasm, {:.1} ms native, {:.1} ms native on the test host (medians), ratios {:.2} \
             and {:.2} (medians of {COMPARISON_ROUNDS} rounds)",
            "lifecycle workload",
            comparison.wasm_ms,
            comparison.native_ms,
            comparison.test_host_ms,
            comparison.ratio,
            comparison.test_host_ratio
        );
        println!("{:<28} {:.1} s", "bench took", started.elapsed().as_secs_f64());
    }
    Ok(())
}

/// Seconds from a last-minute booking (19:07 on the eve, bridge online) to
/// its PIN on the lock: a simulated-time scenario, so the figure is exact.
fn last_minute_code_s(runtime: &Runtime) -> anyhow::Result<i64> {
    let report = scenario_run(
        runtime,
        json!({
            "name": "bench: last-minute booking", "start": "2026-03-19T08:00:00Z",
            "igloohome": world_json(1),
            "steps": [
                {"at": "2026-03-19T08:00:00Z", "do": "connect", "client_id": CLIENT_ID, "client_secret": SECRET},
                {"at": "2026-03-19T08:01:00Z", "do": "property", "property": {"id": "p0", "name": "P", "timezone": "Europe/Paris"}},
                {"at": "2026-03-19T08:02:00Z", "do": "assign", "property": "p0", "lock": "L0"},
                {"at": "2026-03-19T18:07:00Z", "do": "booking", "booking": {"id": "late", "property": "p0", "check_in": "2026-03-20", "check_out": "2026-03-22", "status": "confirmed"}},
                {"at": "2026-03-19T20:00:00Z", "do": "end"}
            ]
        }),
    )?;
    let added = report.pins.first().context("the last-minute code never reached the lock")?.added_at;
    Ok(added - chrono::DateTime::parse_from_rfc3339("2026-03-19T18:07:00Z")?.timestamp())
}

/// 25 codes due at once on one bridge (5 locks, 5 bookings each): minutes
/// from the bookings to the last PIN on its lock, and requests per booking
/// over their whole lives (set-up excluded). Simulated time: exact.
fn burst_25(runtime: &Runtime) -> anyhow::Result<(f64, f64)> {
    let mut steps =
        vec![json!({"at": "2026-03-10T08:00:00Z", "do": "connect", "client_id": CLIENT_ID, "client_secret": SECRET})];
    for i in 0..5 {
        steps.push(json!({"at": "2026-03-10T08:01:00Z", "do": "property", "property": {"id": format!("p{i}"), "name": "P", "timezone": "Europe/Paris"}}));
    }
    for i in 0..5 {
        steps.push(json!({"at": "2026-03-10T08:02:00Z", "do": "assign", "property": format!("p{i}"), "lock": format!("L{i}"), "days_before": 14}));
    }
    for i in 0..5 {
        for j in 0..5 {
            steps.push(json!({"at": "2026-03-10T09:00:00Z", "do": "booking", "booking": {
                "id": format!("b{i}{j}"), "property": format!("p{i}"),
                "check_in": format!("2026-03-{:02}", 12 + 2 * j), "check_out": format!("2026-03-{:02}", 13 + 2 * j),
                "status": "confirmed"}}));
        }
    }
    steps.push(json!({"at": "2026-03-30T00:00:00Z", "do": "end"}));
    let mut world = world_json(5);
    world["locks"] = json!((0..5)
        .map(|i| json!({"id": format!("L{i}"), "name": format!("Lock {i}"), "bridge": "B0"}))
        .collect::<Vec<_>>());
    world["bridges"] = json!([{"id": "B0", "name": "Bridge", "online": true}]);
    let report = scenario_run(
        runtime,
        json!({"name": "bench: burst of 25", "start": "2026-03-10T08:00:00Z", "igloohome": world, "steps": steps}),
    )?;
    anyhow::ensure!(report.pins.len() == 25, "the burst put {} codes on the locks", report.pins.len());
    let last = report.pins.iter().map(|p| p.added_at).max().unwrap_or_default();
    let minutes = (last - chrono::DateTime::parse_from_rfc3339("2026-03-10T09:00:00Z")?.timestamp()) as f64 / 60.0;
    // Set-up: the connect's token, and every device list (connect and assignments).
    let setup = 1 + report.http.by_endpoint.get("devices").copied().unwrap_or_default();
    Ok((minutes, (report.http.requests - setup) as f64 / 25.0))
}

fn world_json(locks: usize) -> serde_json::Value {
    serde_json::to_value(world(locks)).unwrap_or_default()
}

fn scenario_run(runtime: &Runtime, file: serde_json::Value) -> anyhow::Result<crate::scenario::Report> {
    let scenario = crate::scenario::Scenario::parse(&file.to_string())?;
    crate::scenario::run(&scenario, &crate::scenario::RunOptions { runtime: Some(runtime.clone()) })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// A property, its lock and settings, and `n` future bookings, written by
/// the plugin's own logic (natively: filling 100k bookings through the
/// component would take minutes), then copied into `storage` in one batch.
fn fill(storage: &dyn KvStore, n: usize) -> anyhow::Result<()> {
    let host = MemoryHost::new(smartlock_plugin::memory_host::NoNetwork, NOW);
    let property = PropertyFacts {
        id: "p1".into(),
        name: "Bench House".into(),
        timezone: "Europe/Paris".into(),
        check_in_time: None,
        check_out_time: None,
    };
    let assignment = Assignment {
        property_id: "p1".into(),
        provider: igloohome(),
        lock_id: "L1".into(),
        lock_name: "Front door".into(),
        channel: "B1".into(),
        remote: None,
        days_before: 5,
        margin_minutes: 30,
        pin_rule: None,
        backup_codes: 0,
    };
    let credentials =
        igloohome().brand().credentials(credential_fields()).map_err(|e| anyhow::anyhow!("credentials: {e:?}"))?;
    let connection = Connection { credentials, account_name: "Bench".into() };
    let guest = guest_store::Store::new(&host);
    guest.put(&guest_store::connection_key(igloohome()), &connection)?;
    guest.put(&guest_store::property_key("p1"), &property)?;
    guest.put(&guest_store::assignment_key("p1"), &assignment)?;
    let day = chrono::NaiveDate::from_ymd_opt(2027, 1, 20).context("date")?;
    for i in 0..n {
        // Spread over ~3 years, from two weeks ahead: nothing is due now.
        let check_in = day + chrono::Days::new((i % 1000) as u64);
        let booking = BookingFacts {
            id: format!("bk-{i:06}"),
            property_id: "p1".into(),
            guest_name: Some(format!("Guest {i}")),
            check_in: check_in.to_string(),
            check_out: (check_in + chrono::Days::new(3)).to_string(),
            check_in_time: None,
            check_out_time: None,
            confirmed: true,
        };
        smartlock_plugin::events::on_booking_changed(&host, booking, property.clone())
            .map_err(|e| anyhow::anyhow!("filling bookings: {e}"))?;
    }
    // Each new booking is due at once (its first look); settle them all so
    // that what is stored is the steady state: everything due in the future.
    loop {
        let summary =
            smartlock_plugin::tick::on_tick(&host, NOW).map_err(|e| anyhow::anyhow!("settling bookings: {e}"))?;
        if summary.processed == 0 {
            break;
        }
    }
    // And hand over the events those calls queued, as the component's
    // exports do: a steady state has none queued.
    while smartlock_plugin::notify::flush(&host).map_err(|e| anyhow::anyhow!("handing over events: {e}"))? {}
    let writes: Vec<Write> =
        host.kv.borrow().iter().map(|(k, v)| Write::Set { key: k.clone(), value: v.clone() }).collect();
    storage.apply(&writes)?;
    Ok(())
}

struct WarmCalls {
    instantiate_us: f64,
    render_us: f64,
    booking_changed_us: f64,
}

/// `on-tick` with nothing due over `n` stored future bookings (SQLite), on
/// the instances the runtime's settings give (kept between calls unless
/// `warm_instances` is 0); plus per-call figures (`instantiate_us`: a fresh
/// instance).
fn tick_idle(runtime: &Runtime, n: usize) -> anyhow::Result<(f64, WarmCalls)> {
    let dir = tempfile::tempdir()?;
    let db = SqliteDb::open(dir.path().join("bench.sqlite"))?;
    let storage = Arc::new(db.tenant("bench"));
    fill(storage.as_ref(), n)?;
    let clock = Arc::new(SimClock::new(NOW));
    let tenant = runtime.tenant(Tenant::new("bench", storage).with_clock(clock).with_routes(VendorRoutes::new()));
    let mut ticks = Vec::new();
    for _ in 0..400 {
        let t = Instant::now();
        let summary = ok(tenant.on_tick(NOW))?;
        ticks.push(t.elapsed());
        anyhow::ensure!(summary.processed == 0, "nothing should be due");
    }
    let mut instantiations = Vec::new();
    for _ in 0..400 {
        let t = Instant::now();
        tenant.with_instance(|_, _| Ok(()))?;
        instantiations.push(t.elapsed());
    }
    let render = warm(&tenant, 2000, |p, s, _| {
        p.pms_smartlock_messages().call_render_variable(s, "smartlock_code", "bk-000001").map(drop)
    })?;
    let property = api::Property {
        id: "p1".into(),
        name: "Bench House".into(),
        timezone: "Europe/Paris".into(),
        check_in_time: None,
        check_out_time: None,
    };
    let changed = warm(&tenant, 500, |p, s, i| {
        let event = api::BookingEvent {
            booking: api::Booking {
                id: format!("new-{i}"),
                property_id: "p1".into(),
                guest_name: Some("Ana".into()),
                check_in: "2027-03-20".into(),
                check_out: "2027-03-22".into(),
                check_in_time: None,
                check_out_time: None,
                status: api::BookingStatus::Confirmed,
            },
            property: property.clone(),
        };
        p.pms_smartlock_events().call_on_booking_changed(s, &event).map(drop)
    })?;
    Ok((
        us(median(&mut ticks)),
        WarmCalls { instantiate_us: us(median(&mut instantiations)), render_us: render, booking_changed_us: changed },
    ))
}

type Plugin = crate::bindings::SmartlockPlugin;
type GuestStore = crate::wasmtime::Store<crate::HostState>;

/// Median of `n` calls of `f` on one warm instance, in µs.
fn warm(
    tenant: &TenantHandle,
    n: usize,
    f: impl Fn(&Plugin, &mut GuestStore, usize) -> crate::wasmtime::Result<()>,
) -> anyhow::Result<f64> {
    // Warm-up call, then the measured ones; the store's plugin-time budget
    // is per call, so keep the batch well under it.
    let mut samples = tenant.with_instance(|p, s| {
        f(p, s, usize::MAX)?;
        let mut samples = Vec::with_capacity(n);
        for i in 0..n {
            let t = Instant::now();
            f(p, s, i)?;
            samples.push(t.elapsed());
        }
        Ok(samples)
    })?;
    Ok(us(median(&mut samples)))
}

fn ok<T>(r: crate::runtime::CallResult<T>) -> anyhow::Result<T> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => anyhow::bail!("plugin error: {}", crate::PluginError::from(e)),
        Err(e) => Err(e.into()),
    }
}

/// A world of `locks` locks, each behind its own bridge.
fn world(locks: usize) -> StubConfig {
    StubConfig {
        accounts: vec![StubAccount { client_id: CLIENT_ID.into(), client_secret: SECRET.into(), name: "Bench".into() }],
        locks: (0..locks)
            .map(|i| StubLock { id: format!("L{i}"), name: format!("Lock {i}"), bridge: Some(format!("B{i}")) })
            .collect(),
        bridges: (0..locks)
            .map(|i| StubBridge {
                id: format!("B{i}"),
                name: format!("Bridge {i}"),
                online: true,
                offline_reply: Default::default(),
            })
            .collect(),
    }
}

/// The whole life of `per_lock` bookings on each of `locks` locks, through
/// whatever calls the plugin: connect, properties, assignments, bookings,
/// then ticks a minute apart until every code is on its lock, then ticks
/// after check-out until every code is gone. Returns the instant the codes
/// were all confirmed and the instant they were all deleted (wall time).
trait Lifecycle {
    fn connect(&self);
    fn property(&self, id: &str);
    fn assign(&self, property: &str, lock: &str);
    fn booking(&self, id: &str, property: &str);
    fn tick(&self, now: i64) -> bool;
}

struct Timings {
    all_on_locks: Duration,
    total: Duration,
    requests_after_setup: u64,
}

fn lifecycle(plugin: &dyn Lifecycle, stub: &Igloohome, locks: usize, per_lock: usize) -> anyhow::Result<Timings> {
    let started = Instant::now();
    stub.set_time(NOW);
    plugin.connect();
    for l in 0..locks {
        plugin.property(&format!("p{l}"));
        plugin.assign(&format!("p{l}"), &format!("L{l}"));
        for b in 0..per_lock {
            plugin.booking(&format!("b{l}-{b}"), &format!("p{l}"));
        }
    }
    let setup_requests = stub.http_counts().requests;
    let n = locks * per_lock;
    let mut now = NOW;
    let confirmed = |stub: &Igloohome| stub.pins().len() >= n;
    let mut guard = 0;
    // Codes are due at once (check-in in three days, days_before 5).
    loop {
        now += 60;
        stub.set_time(now);
        let busy = plugin.tick(now);
        guard += 1;
        anyhow::ensure!(guard < 10_000, "codes never all reached their locks");
        if confirmed(stub) && !busy {
            break;
        }
    }
    let all_on_locks = started.elapsed();
    // Jump to check-out + margin, then tick until every code is deleted.
    now = NOW + 6 * 86_400;
    loop {
        now += 60;
        stub.set_time(now);
        let busy = plugin.tick(now);
        guard += 1;
        anyhow::ensure!(guard < 20_000, "codes were never all deleted");
        if stub.pins().iter().all(|p| p.removed_at.is_some()) && !busy {
            break;
        }
    }
    Ok(Timings {
        all_on_locks,
        total: started.elapsed(),
        requests_after_setup: stub.http_counts().requests - setup_requests,
    })
}

/// The component through a tenant handle.
struct Wasm<'a> {
    tenant: &'a TenantHandle,
    clock: &'a SimClock,
}

fn event(id: &str, property: &str) -> api::BookingEvent {
    api::BookingEvent {
        booking: api::Booking {
            id: id.into(),
            property_id: property.into(),
            guest_name: Some("Ana".into()),
            check_in: "2027-01-07".into(),
            check_out: "2027-01-09".into(),
            check_in_time: None,
            check_out_time: None,
            status: api::BookingStatus::Confirmed,
        },
        property: api_property(property),
    }
}

fn api_property(id: &str) -> api::Property {
    api::Property {
        id: id.into(),
        name: format!("House {id}"),
        timezone: "Europe/Paris".into(),
        check_in_time: None,
        check_out_time: None,
    }
}

impl Lifecycle for Wasm<'_> {
    fn connect(&self) {
        self.clock.set(NOW);
        let credentials = api::credentials(&[("client_id", CLIENT_ID), ("client_secret", SECRET)]);
        expect(ok(self.tenant.connect("igloohome", &credentials)), "connect");
    }
    fn property(&self, id: &str) {
        expect(ok(self.tenant.on_property_changed(&api_property(id))), "property");
    }
    fn assign(&self, property: &str, lock: &str) {
        expect(ok(self.tenant.assign(property, "igloohome", lock, None, None)), "assign");
    }
    fn booking(&self, id: &str, property: &str) {
        expect(ok(self.tenant.on_booking_changed(&event(id, property))), "booking");
    }
    fn tick(&self, now: i64) -> bool {
        self.clock.set(now);
        let mut busy = false;
        loop {
            let summary = expect(ok(self.tenant.on_tick(now)), "tick");
            busy |= summary.vendor_requests > 0;
            if !summary.more_due {
                return busy;
            }
        }
    }
}

/// The same logic compiled natively, against the plugin's in-memory host.
/// The plugin's code linked natively, on a host whose clock the workload
/// sets.
struct Native<H> {
    host: H,
}

/// A native host the lifecycle workload can drive.
trait NativeHost: guest_host::Host {
    fn set_now(&self, now: i64);
}

impl<N: guest_host::Http> NativeHost for MemoryHost<N> {
    fn set_now(&self, now: i64) {
        self.now.set(now);
    }
}

impl<H: NativeHost> Lifecycle for Native<H> {
    fn connect(&self) {
        self.host.set_now(NOW);
        expect_native(smartlock_plugin::admin::connect(&self.host, igloohome(), credential_fields()), "connect");
    }
    fn property(&self, id: &str) {
        let p = api_property(id);
        let facts =
            PropertyFacts { id: p.id, name: p.name, timezone: p.timezone, check_in_time: None, check_out_time: None };
        expect_native(smartlock_plugin::events::on_property_changed(&self.host, facts), "property");
    }
    fn assign(&self, property: &str, lock: &str) {
        expect_native(smartlock_plugin::admin::assign(&self.host, property, igloohome(), lock, None, None), "assign");
    }
    fn booking(&self, id: &str, property: &str) {
        let e = event(id, property);
        let facts = BookingFacts {
            id: e.booking.id,
            property_id: e.booking.property_id,
            guest_name: e.booking.guest_name,
            check_in: e.booking.check_in,
            check_out: e.booking.check_out,
            check_in_time: None,
            check_out_time: None,
            confirmed: true,
        };
        let p = e.property;
        let property =
            PropertyFacts { id: p.id, name: p.name, timezone: p.timezone, check_in_time: None, check_out_time: None };
        expect_native(smartlock_plugin::events::on_booking_changed(&self.host, facts, property), "booking");
        // How the component ends the call: a new booking queues events and
        // moves the due index.
        smartlock_plugin::wake::end_call(&self.host, true, true);
    }
    fn tick(&self, now: i64) -> bool {
        self.host.set_now(now);
        let mut busy = false;
        loop {
            let summary = expect_native(smartlock_plugin::tick::on_tick(&self.host, now), "tick");
            // How the component's `on-tick` ends.
            let more_due = smartlock_plugin::wake::end_tick(&self.host, now, summary.more_due);
            busy |= summary.vendor_requests > 0;
            if !more_due {
                return busy;
            }
        }
    }
}

fn expect<T>(r: anyhow::Result<T>, what: &str) -> T {
    match r {
        Ok(v) => v,
        // The benchmark's own set-up is valid: a failure here is a bug.
        Err(e) => panic!("bench {what} failed: {e:#}"),
    }
}

/// The benchmark's brand: the one whose stub it runs against.
fn igloohome() -> BrandId {
    BrandId::parse("igloohome").expect("igloohome is registered")
}

fn credential_fields() -> smartlock_plugin::brands::Fields {
    [("client_id", CLIENT_ID), ("client_secret", SECRET)].into_iter().map(|(k, v)| (k.into(), v.into())).collect()
}

fn expect_native<T>(r: smartlock_plugin::Result<T>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("bench native {what} failed: {e}"),
    }
}

/// The stub answering in-process (no socket), for both sides of the native
/// comparison: the URL's path is all the stub needs.
#[derive(Clone)]
struct InProcessStub(Igloohome);

impl InProcessStub {
    fn answer(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let path = url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap_or_else(|| "/".into());
        let resp = self.0.handle(&StubRequest {
            method: method.to_string(),
            path_and_query: path,
            headers: headers.to_vec(),
            body: body.to_vec(),
        });
        (resp.status, resp.headers, resp.body)
    }
}

impl HttpBackend for InProcessStub {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        let (status, headers, body) =
            self.answer(request.method.as_str(), &request.url, &request.headers, &request.body);
        Ok(HttpResponse { status, headers, body })
    }
}

impl guest_host::Http for InProcessStub {
    fn send(&self, request: &guest_host::HttpRequest) -> Result<guest_host::HttpResponse, guest_host::HttpError> {
        let method = match request.method {
            guest_host::Method::Get => "GET",
            guest_host::Method::Post => "POST",
            guest_host::Method::Put => "PUT",
            guest_host::Method::Delete => "DELETE",
        };
        let (status, headers, body) = self.answer(method, &request.url, &request.headers, &request.body);
        Ok(guest_host::HttpResponse { status, headers, body })
    }
}

/// Codes per second through the stub over loopback HTTP, 40 locks and
/// bridges at once, and the vendor requests of one booking's whole life.
fn codes_through_loopback(runtime: &Runtime) -> anyhow::Result<(f64, f64)> {
    const LOCKS: usize = 40;
    const PER_LOCK: usize = 10;
    let stub = Igloohome::new(world(LOCKS), NOW);
    let server = StubServer::start(stub.clone())?;
    let clock = Arc::new(SimClock::new(NOW));
    let dir = tempfile::tempdir()?;
    let db = SqliteDb::open(dir.path().join("codes.sqlite"))?;
    let tenant = runtime.tenant(
        Tenant::new("bench-codes", Arc::new(db.tenant("bench-codes")))
            .with_clock(clock.clone())
            .with_routes(crate::stub_routes(runtime, &server.base_url())?),
    );
    let timings = lifecycle(&Wasm { tenant: &tenant, clock: &clock }, &stub, LOCKS, PER_LOCK)?;
    let n = (LOCKS * PER_LOCK) as f64;
    Ok((n / timings.all_on_locks.as_secs_f64(), timings.requests_after_setup as f64 / n))
}

/// The same lifecycle workload in wasm and natively, against the in-process
/// stub, as rounds of runs one right after the other (the sides take turns
/// going first).
///
/// Natively the plugin's code runs twice: on the host services the
/// component gets ([`native::Services`]: the tenant's in-memory storage,
/// event log, clock, transport), which is `native_ratio`, and on the
/// plugin's own in-memory test host ([`MemoryHost`]), which does less than a
/// host does (no key checks, events kept as values, no locks), the native
/// side of `native_ratio` before 2026-12-03.
struct Comparison {
    /// Medians of each side's runs, in ms.
    wasm_ms: f64,
    native_ms: f64,
    test_host_ms: f64,
    /// The median of the rounds' ratios (wasm ÷ native). A burst of load on
    /// a shared machine slows the runs of a round about alike, where it
    /// would move one side's median and not the other's: of 7 runs a side,
    /// the ratio of the medians moved by ±0.2 between runs.
    ratio: f64,
    /// The same against the plugin's test host.
    test_host_ratio: f64,
}

/// Rounds [`native_comparison`] makes.
const COMPARISON_ROUNDS: usize = 15;

fn native_comparison(runtime: &Runtime) -> anyhow::Result<Comparison> {
    const LOCKS: usize = 10;
    const PER_LOCK: usize = 10;
    let wasm_run = || -> anyhow::Result<Duration> {
        let stub = Igloohome::new(world(LOCKS), NOW);
        let clock = Arc::new(SimClock::new(NOW));
        let tenant = runtime.tenant(
            Tenant::new("bench-wasm", Arc::new(MemoryStore::new()))
                .with_http(Arc::new(InProcessStub(stub.clone())))
                .with_clock(clock.clone())
                .with_routes(crate::stub_routes(runtime, "http://stub.invalid")?),
        );
        Ok(lifecycle(&Wasm { tenant: &tenant, clock: &clock }, &stub, LOCKS, PER_LOCK)?.total)
    };
    let native_run = || -> anyhow::Result<Duration> {
        let stub = Igloohome::new(world(LOCKS), NOW);
        let tenant =
            Tenant::new("bench-native", Arc::new(MemoryStore::new())).with_http(Arc::new(InProcessStub(stub.clone())));
        let host = native::Services::new(tenant, Arc::new(SimClock::new(NOW)));
        Ok(lifecycle(&Native { host }, &stub, LOCKS, PER_LOCK)?.total)
    };
    let test_host_run = || -> anyhow::Result<Duration> {
        let stub = Igloohome::new(world(LOCKS), NOW);
        let host = MemoryHost::new(InProcessStub(stub.clone()), NOW);
        Ok(lifecycle(&Native { host }, &stub, LOCKS, PER_LOCK)?.total)
    };
    let mut wasm = Vec::new();
    let mut native = Vec::new();
    let mut test_host = Vec::new();
    let mut ratios = Vec::new();
    let mut test_host_ratios = Vec::new();
    for round in 0..COMPARISON_ROUNDS {
        let (w, n, t) = match round % 3 {
            0 => (wasm_run()?, native_run()?, test_host_run()?),
            1 => {
                let n = native_run()?;
                let t = test_host_run()?;
                (wasm_run()?, n, t)
            }
            _ => {
                let t = test_host_run()?;
                let w = wasm_run()?;
                (w, native_run()?, t)
            }
        };
        ratios.push(w.as_secs_f64() / n.as_secs_f64().max(f64::MIN_POSITIVE));
        test_host_ratios.push(w.as_secs_f64() / t.as_secs_f64().max(f64::MIN_POSITIVE));
        wasm.push(w);
        native.push(n);
        test_host.push(t);
    }
    ratios.sort_by(f64::total_cmp);
    test_host_ratios.sort_by(f64::total_cmp);
    Ok(Comparison {
        wasm_ms: ms(median(&mut wasm)),
        native_ms: ms(median(&mut native)),
        test_host_ms: ms(median(&mut test_host)),
        ratio: ratios[ratios.len() / 2],
        test_host_ratio: test_host_ratios[test_host_ratios.len() / 2],
    })
}

/// Storage calls the component makes over the wasm side of the lifecycle
/// workload, per kind of call, with the bytes that crossed: where a
/// profile's host time goes, and what a change in the plugin's storage use
/// would save.
fn storage_traffic(runtime: &Runtime) -> anyhow::Result<String> {
    const LOCKS: usize = 10;
    const PER_LOCK: usize = 10;
    let stub = Igloohome::new(world(LOCKS), NOW);
    let clock = Arc::new(SimClock::new(NOW));
    let counted = Arc::new(Counted::default());
    let tenant = runtime.tenant(
        Tenant::new("bench-traffic", counted.clone())
            .with_http(Arc::new(InProcessStub(stub.clone())))
            .with_clock(clock.clone())
            .with_routes(crate::stub_routes(runtime, "http://stub.invalid")?),
    );
    let phased =
        Phased { wasm: Wasm { tenant: &tenant, clock: &clock }, counted: &counted, processed: Default::default() };
    lifecycle(&phased, &stub, LOCKS, PER_LOCK)?;
    let phases = counted.phases.lock().map_err(|_| anyhow::anyhow!("counts poisoned"))?;
    let mut out = format!("storage calls over the lifecycle of {} bookings, per export call:", LOCKS * PER_LOCK);
    for (phase, c) in phases.iter() {
        let n = c.calls.max(1) as f64;
        out.push_str(&format!(
            "\n  {phase:<8} {:>4} calls: {:.1} get ({:.0} B), {:.1} list ({:.1} entries), {:.1} apply ({:.1} writes, {:.0} B)",
            c.calls,
            c.gets as f64 / n,
            c.get_bytes as f64 / n,
            c.lists as f64 / n,
            c.listed as f64 / n,
            c.applies as f64 / n,
            c.writes as f64 / n,
            c.write_bytes as f64 / n,
        ));
    }
    for (phase, c) in phases.iter() {
        let n = c.calls.max(1) as f64;
        let kinds: Vec<String> = c
            .by_prefix
            .iter()
            .map(|(kind, (gets, sets, lists))| {
                format!("{kind} {:.1}/{:.1}/{:.1}", *gets as f64 / n, *sets as f64 / n, *lists as f64 / n)
            })
            .collect();
        out.push_str(&format!("\n  {phase:<8} gets/sets/lists per call by key: {}", kinds.join(", ")));
    }
    if let Some(c) = phases.get("tick") {
        let n = phased.processed.get().max(1) as f64;
        out.push_str(&format!(
            "\n  per booking a tick processed ({}): {:.1} get, {:.1} apply ({:.0} B written)",
            phased.processed.get(),
            c.gets as f64 / n,
            c.applies as f64 / n,
            c.write_bytes as f64 / n
        ));
    }
    Ok(out)
}

/// The wasm side of the lifecycle, telling a [`Counted`] store which export
/// runs and counting the bookings ticks process.
struct Phased<'a> {
    wasm: Wasm<'a>,
    counted: &'a Counted,
    processed: std::cell::Cell<u32>,
}

impl Phased<'_> {
    fn phase(&self, phase: &'static str) {
        if let Ok(mut current) = self.counted.phase.lock() {
            *current = phase;
        }
        if let Ok(mut phases) = self.counted.phases.lock() {
            phases.entry(phase).or_default().calls += 1;
        }
    }
}

impl Lifecycle for Phased<'_> {
    fn connect(&self) {
        self.phase("connect");
        self.wasm.connect();
    }
    fn property(&self, id: &str) {
        self.phase("property");
        self.wasm.property(id);
    }
    fn assign(&self, property: &str, lock: &str) {
        self.phase("assign");
        self.wasm.assign(property, lock);
    }
    fn booking(&self, id: &str, property: &str) {
        self.phase("booking");
        self.wasm.booking(id, property);
    }
    fn tick(&self, now: i64) -> bool {
        self.wasm.clock.set(now);
        let mut busy = false;
        loop {
            self.phase("tick");
            let summary = expect(ok(self.wasm.tenant.on_tick(now)), "tick");
            self.processed.set(self.processed.get() + summary.processed);
            busy |= summary.vendor_requests > 0;
            if !summary.more_due {
                return busy;
            }
        }
    }
}

/// A [`MemoryStore`] that counts what goes through it, per phase.
#[derive(Default)]
struct Counted {
    inner: MemoryStore,
    phase: std::sync::Mutex<&'static str>,
    phases: std::sync::Mutex<std::collections::BTreeMap<&'static str, Counts>>,
}

#[derive(Default)]
struct Counts {
    calls: u64,
    gets: u64,
    get_bytes: u64,
    lists: u64,
    listed: u64,
    list_bytes: u64,
    applies: u64,
    writes: u64,
    write_bytes: u64,
    /// Gets, set writes and lists by the key's first segment (`bk`, `evq`, ...).
    by_prefix: std::collections::BTreeMap<String, (u64, u64, u64)>,
}

/// A key's first segment: the kind of record in the plugin's layout.
fn key_kind(key: &str) -> String {
    key.split('/').next().unwrap_or_default().to_owned()
}

impl Counted {
    fn count(&self, f: impl FnOnce(&mut Counts)) {
        let phase = self.phase.lock().map(|p| *p).unwrap_or("?");
        if let Ok(mut phases) = self.phases.lock() {
            f(phases.entry(phase).or_default());
        }
    }
}

impl KvStore for Counted {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, crate::StorageError> {
        let value = self.inner.get(key)?;
        self.count(|c| {
            c.gets += 1;
            c.get_bytes += value.as_ref().map_or(0, |v| v.len() as u64);
            c.by_prefix.entry(key_kind(key)).or_default().0 += 1;
        });
        Ok(value)
    }

    fn apply(&self, writes: &[Write]) -> Result<(), crate::StorageError> {
        self.apply_owned(writes.to_vec())
    }

    fn apply_owned(&self, writes: Vec<Write>) -> Result<(), crate::StorageError> {
        let bytes =
            writes.iter().map(|w| if let Write::Set { value, .. } = w { value.len() as u64 } else { 0 }).sum::<u64>();
        let n = writes.len() as u64;
        let kinds: Vec<String> = writes
            .iter()
            .filter_map(|w| if let Write::Set { key, .. } = w { Some(key_kind(key)) } else { None })
            .collect();
        self.inner.apply_owned(writes)?;
        self.count(|c| {
            for kind in kinds {
                c.by_prefix.entry(kind).or_default().1 += 1;
            }
            c.applies += 1;
            c.writes += n;
            c.write_bytes += bytes;
        });
        Ok(())
    }

    fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, Vec<u8>)>, crate::StorageError> {
        let entries = self.inner.list(prefix, start_after, limit)?;
        self.count(|c| {
            c.lists += 1;
            c.by_prefix.entry(key_kind(prefix)).or_default().2 += 1;
            c.listed += entries.len() as u64;
            c.list_bytes += entries.iter().map(|(_, v)| v.len() as u64).sum::<u64>();
        });
        Ok(entries)
    }

    fn record_email(&self, dedup_key: &str, at: i64, subject: &str, body: &str) -> Result<bool, crate::StorageError> {
        self.inner.record_email(dedup_key, at, subject, body)
    }

    fn emails(&self) -> Result<Vec<crate::Email>, crate::StorageError> {
        self.inner.emails()
    }

    fn record_event(&self, id: &str, at: i64, json: &str) -> Result<bool, crate::StorageError> {
        self.inner.record_event(id, at, json)
    }

    fn events_after(&self, after: i64, limit: u32) -> Result<Vec<crate::StoredEvent>, crate::StorageError> {
        self.inner.events_after(after, limit)
    }
}

//! The README's Rust embedding example ("From Rust: `smartlock-host`"),
//! run for real: for each brand, the example's `first_code` connects
//! the stub account, assigns its remote lock, sends a booking and ticks until
//! the code is on the lock; the stub's lock must then hold that PIN.
//!
//! `mod readme` is the README's code block, indented; the first test fails
//! when the two differ. The example's `main` is not run (its component
//! file, database file and real vendors are not here): the test makes the
//! same runtime from the component the build made, the database in a
//! temporary directory and each tenant with the same `Tenant::new` (the
//! default allow-list, which the test checks), giving it only a transport
//! that sends the allowed vendor URLs to the stubs over loopback and a clock
//! running [`SPEED`] times as fast, which the stubs follow.

use std::sync::Arc;
use std::time::Instant;

use smartlock_host::{
    api, Clock, HttpBackend, HttpError, HttpRequest, HttpResponse, Runtime, SqliteDb, Tenant, UreqBackend, VendorRoutes,
};
use smartlock_stubs::{StubServer, World, WorldConfig};

/// The README's block, verbatim but for the indentation.
#[allow(dead_code)] // `main`: what a PMS's binary would run
mod readme {
    use std::sync::Arc;
    use std::time::Duration;

    use smartlock_host::{api, template, PluginError, Runtime, RuntimeConfig, SqliteDb, Tenant};

    fn main() -> anyhow::Result<()> {
        // Once per process: compile the component (a file or its bytes), open the database.
        let runtime = Runtime::new(RuntimeConfig::new(std::path::Path::new("smartlock_plugin.wasm")))?;
        let db = SqliteDb::open("smartlock.sqlite")?;
        // A tenant per PMS account. It may reach every brand's real hosts and
        // nothing else (the default allow-list, `VendorRoutes::all_brands`).
        let tenant = Tenant::new("acct-42", Arc::new(db.tenant("acct-42")));
        // The brand's connect form is data (`runtime.brands()`): here Nuki's one field.
        let credentials = api::credentials(&[("api_token", "nuki-api-token")]);
        println!("{}", first_code(&runtime, tenant, "nuki", &credentials)?);
        Ok(())
    }

    /// Connects the vendor account, puts its first lock that takes codes remotely
    /// on a property, books a guest for tomorrow and runs the host's tick loop
    /// until the code is on the lock. Returns the guest's message with the code.
    pub fn first_code(
        runtime: &Runtime,
        tenant: Tenant,
        brand: &str,
        credentials: &[api::Credential],
    ) -> anyhow::Result<String> {
        let account = runtime.tenant(tenant);
        // A trap drops the call's instance: the next call gets a clean one. The
        // outer Result is a trap (`CallError`),
        // the inner the plugin's refusal: `PluginError` is a plain sentence.
        account.connect(brand, credentials)?.map_err(PluginError::from)?;
        let locks = account.list_locks(brand)?.map_err(PluginError::from)?;
        let lock = locks.iter().find(|lock| lock.remote.is_some()).ok_or(anyhow::anyhow!("no lock takes codes"))?;
        let property = api::Property {
            id: "villa-7".into(),
            name: "Villa 7".into(),
            timezone: "Europe/Vienna".into(),
            check_in_time: None,  // 15:00
            check_out_time: None, // 11:00
        };
        account.on_property_changed(&property)?.map_err(PluginError::from)?;
        // Codes 5 days before check-in, valid 30 minutes around the stay (the defaults).
        account.assign(&property.id, brand, &lock.id, None, None)?.map_err(PluginError::from)?;

        let clock = account.tenant().clock.clone();
        let today = chrono::DateTime::from_timestamp(clock.now(), 0).unwrap_or_default().date_naive();
        let booking = api::Booking {
            id: "bk-1001".into(),
            property_id: property.id.clone(),
            guest_name: Some("Ana Silva".into()),
            check_in: (today + chrono::Days::new(1)).to_string(), // YYYY-MM-DD, property-local
            check_out: (today + chrono::Days::new(4)).to_string(),
            check_in_time: None,
            check_out_time: None,
            status: api::BookingStatus::Confirmed,
        };
        // Events only plan (no vendor call); the plugin asks to be woken now.
        let event = api::BookingEvent { booking: booking.clone(), property };
        account.on_booking_changed(&event)?.map_err(PluginError::from)?;

        // The host's loop: tick the tenant at the wake-up its plugin asked for and
        // every 5 minutes as the backstop, again at once while it answers `more_due`.
        // A real host sleeps until `runtime.wake_ups().earliest()`.
        let (started, mut backstop) = (clock.now(), clock.now());
        loop {
            let now = clock.now();
            if now >= backstop || runtime.wake_ups().due(now).iter().any(|id| id == account.id()) {
                while account.on_tick(now)?.map_err(PluginError::from)?.more_due {}
                backstop = now + 5 * 60;
            }
            let status = account.booking_status(&booking.id)?.map_err(PluginError::from)?;
            if status.state == api::CodeState::OnLock {
                break;
            }
            anyhow::ensure!(now < started + 15 * 60, "no code on the lock after 15 minutes: {status:?}");
            std::thread::sleep(Duration::from_secs(1));
        }

        // A guest message: the plugin fills {{smartlock_code}}, the PMS its own variables.
        let text = "Hello {{guest_name}}, your door code is {{smartlock_code}}.";
        Ok(template::substitute(text, |name| match name {
            "guest_name" => booking.guest_name.clone(),
            _ => account.render_variable(name, &booking.id).ok().flatten(), // None: left as written
        }))
    }
}

/// The README's second block (an embedder's own store data and linker),
/// verbatim but for the indentation.
mod readme_view {
    use std::sync::Arc;

    use smartlock_host::bindings::generated::pms::smartlock::log;
    use smartlock_host::bindings::{SmartlockPlugin, SmartlockPluginPre};
    use smartlock_host::wasmtime::component::{Component, HasSelf, Linker};
    use smartlock_host::wasmtime::{self, Engine, Store, StoreLimits, StoreLimitsBuilder};
    use smartlock_host::{SmartlockCtx, SmartlockView, Tenant, WakeUps};

    /// The PMS's own store data: the plugin imports' state, and its own.
    pub struct PmsState {
        smartlock: SmartlockCtx,
        limits: StoreLimits,
        /// The plugin's log lines of this call, for the PMS's audit trail.
        pub audit: Vec<String>,
    }

    impl SmartlockView for PmsState {
        fn smartlock(&mut self) -> &mut SmartlockCtx {
            &mut self.smartlock
        }
    }

    /// The PMS serves the `log` import itself: into the call's audit trail.
    impl log::Host for PmsState {
        fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
            self.audit.push(format!("{level:?}: {message}"));
            Ok(())
        }
    }

    /// Once per process: the PMS's linker with every import of the plugin,
    /// its own `log` in place of the library's, and the component checked
    /// against it.
    pub fn load(engine: &Engine, component: &[u8]) -> anyhow::Result<SmartlockPluginPre<PmsState>> {
        let mut linker = Linker::new(engine);
        smartlock_host::add_to_linker(&mut linker)?;
        linker.allow_shadowing(true);
        log::add_to_linker::<PmsState, HasSelf<PmsState>>(&mut linker, |state| state)?;
        let component = Component::new(engine, component)?;
        Ok(SmartlockPluginPre::new(linker.instantiate_pre(&component)?)?)
    }

    /// Runs `f` on a fresh instance for `tenant` with 64 MiB of memory at
    /// most; returns its result and the plugin's log lines. One tenant's
    /// calls must not overlap, and a production host also limits the
    /// plugin's time (an epoch deadline, as `Runtime` does).
    pub fn call<R>(
        pre: &SmartlockPluginPre<PmsState>,
        tenant: Arc<Tenant>,
        wake_ups: &Arc<WakeUps>,
        f: impl FnOnce(&SmartlockPlugin, &mut Store<PmsState>) -> wasmtime::Result<R>,
    ) -> anyhow::Result<(R, Vec<String>)> {
        let smartlock = SmartlockCtx::new(tenant).with_wake_ups(wake_ups.clone());
        let limits = StoreLimitsBuilder::new().memory_size(64 << 20).trap_on_grow_failure(true).build();
        let mut store = Store::new(pre.engine(), PmsState { smartlock, limits, audit: Vec::new() });
        store.limiter(|state| &mut state.limits);
        let plugin = pre.instantiate(&mut store)?;
        let result = f(&plugin, &mut store)?;
        Ok((result, std::mem::take(&mut store.data_mut().audit)))
    }
}

/// How much faster than the wall clock the tenants' and the stubs' clock runs:
/// the example's 1-second loop then steps a minute of vendor time.
const SPEED: i64 = 60;

/// A clock starting at the wall clock's now and running [`SPEED`] times as fast.
struct FastClock {
    start: i64,
    started: Instant,
}

impl Clock for FastClock {
    fn now(&self) -> i64 {
        self.start + self.started.elapsed().as_millis() as i64 * SPEED / 1000
    }
}

/// The tenants' transport: what passed the tenant's own allow-list (the real
/// vendor URLs) goes to the stub world's place for that origin, after the
/// stubs' clock is moved to the tenants'.
struct ToStubs {
    routes: VendorRoutes,
    world: World,
    clock: Arc<dyn Clock>,
    inner: UreqBackend,
}

impl HttpBackend for ToStubs {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        self.world.set_time(self.clock.now());
        let url = self.routes.resolve(&request.url)?;
        self.inner.send(&HttpRequest { url, ..request.clone() })
    }
}

/// Each brand's account with one lock that takes codes remotely and one
/// that cannot (the example must pick the first).
fn world_config() -> WorldConfig {
    serde_json::from_value(serde_json::json!({
        "igloohome": {
            "accounts": [{"client_id": "igloo-id", "client_secret": "igloo-secret", "name": "Seaside Rentals"}],
            "locks": [
                {"id": "OE1X000003", "name": "Garden gate"},
                {"id": "OE1X000001", "name": "Front door", "bridge": "EB1X000001"}
            ],
            "bridges": [{"id": "EB1X000001", "name": "Hall bridge", "online": true}]
        },
        "nuki": {
            "accounts": [{"api_token": "nuki-api-token", "name": "Alpine Stays"}],
            "locks": [
                {"id": "17000002", "name": "Ski room", "keypad": false},
                {"id": "17000001", "name": "Chalet entrance", "keypad": true, "online": true}
            ]
        },
        "ttlock": {
            "app": {"client_id": "pms-ttlock-app", "client_secret": "pms-ttlock-secret"},
            "accounts": [{"username": "owner@example.com", "password": "owner-password", "name": "City Flats"}],
            "locks": [
                {"id": "3000003", "name": "Storage room"},
                {"id": "3000001", "name": "Studio door", "gateway": "4000001"}
            ],
            "gateways": [{"id": "4000001", "name": "Lobby gateway", "online": true}]
        }
    }))
    .expect("the stub world")
}

/// Per brand: its name in the stubs' records, the credentials the panel
/// would send, and the lock the example must put the code on.
fn brands() -> [(&'static str, Vec<api::Credential>, &'static str); 3] {
    [
        ("igloohome", api::credentials(&[("client_id", "igloo-id"), ("client_secret", "igloo-secret")]), "OE1X000001"),
        ("nuki", api::credentials(&[("api_token", "nuki-api-token")]), "17000001"),
        (
            "ttlock",
            api::credentials(&[
                ("username", "owner@example.com"),
                ("password", "owner-password"),
                ("client_id", "pms-ttlock-app"),
                ("client_secret", "pms-ttlock-secret"),
            ]),
            "3000001",
        ),
    ]
}

/// The README's `n`th Rust block of its Rust section, without its fences.
fn readme_block(n: usize) -> String {
    const FENCE: &str = "```rust,no_run\n";
    let readme = include_str!("../../README.md");
    let mut section = &readme[readme.find("### From Rust: `smartlock-host`").expect("the README's Rust section")..];
    section = &section[..section[1..].find("\n### ").map_or(section.len(), |end| end + 1)];
    let mut blocks = section.match_indices(FENCE).map(|(at, _)| at + FENCE.len());
    let start = blocks.nth(n).unwrap_or_else(|| panic!("rust,no_run block {n} in the section"));
    let len = section[start..].find("\n```\n").expect("the block's end") + 1;
    section[start..start + len].to_owned()
}

/// The body of `mod {name}` in this file, one indentation level out.
fn readme_module(name: &str) -> String {
    let source = include_str!("embedding_example.rs");
    let head = format!("\nmod {name} {{\n");
    let start = source.find(&head).unwrap_or_else(|| panic!("mod {name}")) + head.len();
    let len = source[start..].find("\n}\n").expect("the module's end") + 1;
    source[start..start + len].lines().map(|line| format!("{}\n", line.strip_prefix("    ").unwrap_or(line))).collect()
}

fn assert_same(readme: &str, module: &str, name: &str) {
    assert!(
        readme == module,
        "README.md's Rust example and `mod {name}` in {} differ: copy the README's block into it\n\
         --- README ---\n{readme}\n--- test ---\n{module}",
        file!()
    );
}

#[test]
fn the_test_runs_the_readme_block_as_written() {
    let (readme, module) = (readme_block(0), readme_module("readme"));
    assert!(readme.contains("Tenant::new(") && readme.contains("pub fn first_code("), "{readme}");
    assert_same(&readme, &module, "readme");
}

#[test]
fn the_test_runs_the_readme_view_block_as_written() {
    let (readme, module) = (readme_block(1), readme_module("readme_view"));
    assert!(readme.contains("impl SmartlockView for PmsState") && readme.contains("add_to_linker("), "{readme}");
    assert_same(&readme, &module, "readme_view");
}

/// An embedder's own store data and linker (`mod readme_view`): the plugin
/// runs through them from connect to the PIN on the stub's lock, a fresh
/// instance per call, with the embedder's `log` collecting the plugin's
/// lines and its `WakeUps` the plugin's wake-ups.
#[test]
fn an_embedder_runs_the_plugin_on_its_own_store_data_and_linker() {
    use smartlock_host::wasmtime::{Config, Engine};
    use smartlock_host::{MemoryStore, SimClock, WakeUps};
    use smartlock_stubs::Vendor;

    let engine = Engine::new(&Config::new()).expect("an engine");
    let bytes = std::fs::read(host_harness::plugin_component_path()).expect("the component the build made");
    let pre = readme_view::load(&engine, &bytes).expect("the component links against the embedder's linker");
    let now = 1_800_000_000; // 2027-01-15T08:00:00Z
    let world = World::new(world_config(), now);
    let server = StubServer::start(world.clone()).expect("the stubs serve on loopback");
    let clock = Arc::new(SimClock::new(now));
    let wake_ups = Arc::new(WakeUps::default());
    let storage = Arc::new(MemoryStore::new());

    // The brands, asked of a tenant that may reach nothing; then the real one.
    let nowhere = Arc::new(Tenant::new("brands", Arc::new(MemoryStore::new())).with_routes(VendorRoutes::new()));
    let (brands, _) =
        readme_view::call(&pre, nowhere, &wake_ups, |p, s| p.pms_smartlock_admin().call_brands(s)).expect("brands");
    let routes = VendorRoutes::from_brands(&brands, |id| Vendor::of(id).map(|v| v.base_url(&server.base_url())))
        .expect("routes");
    let tenant = Arc::new(Tenant::new("acct-own", storage.clone()).with_clock(clock.clone()).with_routes(routes));
    let mut pms = Pms { pre: &pre, tenant, wake_ups: wake_ups.clone(), audit: Vec::new() };

    let brand = "igloohome".to_string();
    let credentials = api::credentials(&[("client_id", "igloo-id"), ("client_secret", "igloo-secret")]);
    pms.call("connect", |p, s| p.pms_smartlock_admin().call_connect(s, &brand, &credentials));
    let property = api::Property {
        id: "villa-7".into(),
        name: "Villa 7".into(),
        timezone: "Europe/Vienna".into(),
        check_in_time: None,
        check_out_time: None,
    };
    pms.call("property", |p, s| p.pms_smartlock_events().call_on_property_changed(s, &property));
    let settings = api::Settings { days_before: None, margin_minutes: None, backup_codes: None };
    pms.call("assign", |p, s| p.pms_smartlock_admin().call_assign(s, "villa-7", &brand, "OE1X000001", settings));
    let booking = api::Booking {
        id: "bk-own".into(),
        property_id: "villa-7".into(),
        guest_name: Some("Ana Silva".into()),
        check_in: "2027-01-16".into(),
        check_out: "2027-01-19".into(),
        check_in_time: None,
        check_out_time: None,
        status: api::BookingStatus::Confirmed,
    };
    let event = api::BookingEvent { booking, property };
    pms.call("booking", |p, s| p.pms_smartlock_events().call_on_booking_changed(s, &event));
    // The plugin's wake-up went to the embedder's `WakeUps`.
    assert_eq!(wake_ups.due(now), ["acct-own"], "the booking is due at once");

    let mut status = None;
    for _ in 0..30 {
        let at = clock.advance(60);
        world.set_time(at);
        while pms.call("tick", |p, s| p.pms_smartlock_events().call_on_tick(s, at)).more_due {}
        let now_status = pms.call("status", |p, s| p.pms_smartlock_admin().call_booking_status(s, "bk-own"));
        if now_status.state == api::CodeState::OnLock {
            status = Some(now_status);
            break;
        }
    }
    let status = status.expect("the code reached the lock within 30 minutes");
    let pin = status.pin.clone().expect("a PIN");
    let window = status.window.clone().expect("a window");

    // The lock-side truth: the PIN opens the lock in its window.
    world.set_time(window.start);
    let opens = world.try_pin(Vendor::Igloohome, "OE1X000001", &pin).expect("the stub's lock");
    assert!(opens, "PIN {pin} does not open the lock at {}: {:?}", window.start, world.pins());
    // The embedder's own state: its `log` got the plugin's lines, its storage the records.
    assert!(
        pms.audit.iter().any(|line| line.ends_with("Info: PIN of booking bk-own confirmed on lock OE1X000001")),
        "{:#?}",
        pms.audit
    );
    assert!(storage.entries().iter().any(|(key, _)| key == "bk/bk-own"));
}

/// The embedder's side of the test: its calls, and the log lines they gave.
struct Pms<'a> {
    pre: &'a smartlock_host::bindings::SmartlockPluginPre<readme_view::PmsState>,
    tenant: Arc<Tenant>,
    wake_ups: Arc<smartlock_host::WakeUps>,
    audit: Vec<String>,
}

type PmsStore = smartlock_host::wasmtime::Store<readme_view::PmsState>;

impl Pms<'_> {
    /// One export on a fresh instance; a trap or a refusal fails the test.
    fn call<T>(
        &mut self,
        what: &str,
        f: impl FnOnce(
            &smartlock_host::bindings::SmartlockPlugin,
            &mut PmsStore,
        ) -> smartlock_host::wasmtime::Result<Result<T, api::Error>>,
    ) -> T {
        let (result, lines) = readme_view::call(self.pre, self.tenant.clone(), &self.wake_ups, f)
            .unwrap_or_else(|e| panic!("{what}: {e:#}"));
        self.audit.extend(lines);
        result.unwrap_or_else(|e| panic!("{what}: {}", smartlock_host::PluginError::from(e)))
    }
}
#[test]
fn the_readme_example_puts_the_code_on_every_brands_lock() {
    let runtime = Runtime::new(host_harness::default_runtime_config()).expect("the plugin component loads");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = SqliteDb::open(dir.path().join("smartlock.sqlite")).expect("the database opens");
    let wall = smartlock_host::SystemClock.now();
    let clock: Arc<dyn Clock> = Arc::new(FastClock { start: wall, started: Instant::now() });
    let world = World::new(world_config(), wall);
    let server = StubServer::start(world.clone()).expect("the stubs serve on loopback");
    let http: Arc<dyn HttpBackend> = Arc::new(ToStubs {
        routes: host_harness::stub_routes(&runtime, &server.base_url()).expect("stub routes"),
        world: world.clone(),
        clock: clock.clone(),
        inner: UreqBackend::default(),
    });

    let started = Instant::now();
    let results: Vec<_> = std::thread::scope(|scope| {
        let runs: Vec<_> = brands()
            .into_iter()
            .map(|(brand, credentials, lock)| {
                let id = format!("acct-{brand}");
                let tenant = Tenant::new(id.clone(), Arc::new(db.tenant(&id)));
                // The README's tenant: its allow-list is the default one.
                assert_eq!(tenant.routes, VendorRoutes::all_brands(), "Tenant::new's allow-list");
                let tenant = tenant.with_http(http.clone()).with_clock(clock.clone());
                let runtime = &runtime;
                scope.spawn(move || {
                    let message = readme::first_code(runtime, tenant.clone(), brand, &credentials)
                        .unwrap_or_else(|e| panic!("{brand}: the README example failed: {e:#}"));
                    let status = runtime.tenant(tenant).booking_status("bk-1001").expect("no trap").expect("a status");
                    (brand, lock, message, status)
                })
            })
            .collect();
        runs.into_iter().map(|run| run.join().expect("the example's thread")).collect()
    });
    eprintln!("three brands' first codes in {:?} of wall time", started.elapsed());

    // The lock-side truth, once the stubs' clock is at the tenants'.
    world.set_time(clock.now());
    let on_locks = world.pins();
    for (brand, lock, message, status) in results {
        assert_eq!(status.state, api::CodeState::OnLock, "{brand}: {status:?}");
        let pin = status.pin.clone().unwrap_or_else(|| panic!("{brand}: no PIN in {status:?}"));
        assert_eq!(message, format!("Hello Ana Silva, your door code is {pin}."), "{brand}");
        assert_eq!(status.lock_id.as_deref(), Some(lock), "{brand}: the first lock that takes codes");
        let pins: Vec<_> = on_locks.iter().filter(|p| p.provider == brand).collect();
        assert_eq!(pins.len(), 1, "{brand}: one PIN on the brand's locks: {on_locks:?}");
        let window = status.window.as_ref().unwrap_or_else(|| panic!("{brand}: no window in {status:?}"));
        let p = pins[0];
        assert_eq!((p.lock.as_str(), p.pin.as_str(), p.removed_at), (lock, pin.as_str(), None), "{brand}: {p:?}");
        assert_eq!((p.start, p.end), (window.start, window.end), "{brand}: the window on the lock: {p:?}");
        assert!(p.added_at <= clock.now(), "{brand}: {p:?}");
    }
}

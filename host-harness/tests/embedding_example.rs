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
        // Each call gets a fresh instance. The outer Result is a trap (`CallError`),
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

/// The README's Rust block, without its fences.
fn readme_block() -> String {
    let readme = include_str!("../../README.md");
    let section = &readme[readme.find("### From Rust: `smartlock-host`").expect("the README's Rust section")..];
    let start =
        section.find("```rust,no_run\n").expect("a rust,no_run block in the section") + "```rust,no_run\n".len();
    let len = section[start..].find("\n```\n").expect("the block's end") + 1;
    section[start..start + len].to_owned()
}

/// `mod readme`'s body, one indentation level out.
fn readme_module() -> String {
    let source = include_str!("embedding_example.rs");
    let start = source.find("\nmod readme {\n").expect("mod readme") + "\nmod readme {\n".len();
    let len = source[start..].find("\n}\n").expect("the module's end") + 1;
    source[start..start + len].lines().map(|line| format!("{}\n", line.strip_prefix("    ").unwrap_or(line))).collect()
}

#[test]
fn the_test_runs_the_readme_block_as_written() {
    let (readme, module) = (readme_block(), readme_module());
    assert!(readme.contains("Tenant::new(") && readme.contains("pub fn first_code("), "{readme}");
    assert!(
        readme == module,
        "README.md's Rust example and `mod readme` in {} differ: copy the README's block into it\n\
         --- README ---\n{readme}\n--- test ---\n{module}",
        file!()
    );
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

//! Conformance with Seam's own fake (`@seamapi/fake-seam-connect`, pinned in
//! `host-harness/seam-fake/package-lock.json`): Seam's server code for
//! request and response shapes, started here on a loopback port with its
//! default seed (workspace `seed_workspace_1`, API key `seam_apikey1_token`,
//! two August locks, a thermostat and a sensor).
//!
//! The fake has no clock (codes never leave `unset`), lists every code
//! whatever device is asked for and accepts any PIN, so it checks shapes
//! only; the lifecycle is tested on the project's own Seam stub. What is
//! checked here: the routes and fields the plugin's Seam client sends and
//! reads — connect (a good key, and 401 for a bad one), the device list,
//! create, update keeping the PIN, delete, 404 and 409.
//!
//! Three tests: the raw requests (`r29_seams_fake_takes_…`), the plugin's
//! Seam client natively (`client::…`), and the real component through
//! `smartlock_host` with Seam's origin routed to the fake (`component::…`).
//!
//! Needs Node.js and npm. Without them it prints one line and passes on a
//! developer's machine, but fails in CI (`CI` set), as `browser.rs` does.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

use serde_json::{json, Value};

/// The seed's API key of `seed_workspace_1` (a value of the fake, not a secret).
const KEY: &str = "seam_apikey1_token";
/// A seeded August lock that takes online access codes.
const LOCK: &str = "august_device_1";

/// Whether this run is CI's (`CI` set to anything but empty, `0` or `false`).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// Seam's fake as a child process on a loopback port; killed when dropped.
struct FakeSeam {
    child: Child,
    base: String,
}

impl FakeSeam {
    /// Installs the fake (`npm ci`) and starts it seeded. `None`: no Node.js
    /// here, outside CI (the caller skips).
    fn start() -> Option<FakeSeam> {
        if Command::new("node").arg("--version").output().is_err() {
            assert!(!in_ci(), "CI must run the Seam conformance test, but there is no node: install Node.js 20");
            println!("Seam conformance test skipped: no node (install Node.js 20 and npm)");
            return None;
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seam-fake");
        // Once per test binary: the tests run in parallel, and two `npm ci`
        // in one directory remove each other's files.
        static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
        let installed = INSTALLED.get_or_init(|| {
            let npm = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .output()
                .expect("npm runs (the Seam conformance test needs Node.js and npm)");
            npm.status.success().then_some(()).ok_or_else(|| String::from_utf8_lossy(&npm.stderr).into_owned())
        });
        if let Err(stderr) = installed {
            panic!("npm ci failed:\n{stderr}");
        }
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let mut child = Command::new("node")
            .args(["node_modules/@seamapi/fake-seam-connect/dist/server.js", "--seed"])
            .current_dir(&dir)
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts the fake");
        // The fake logs its URL once it listens; its log is read to the end
        // so that it never blocks on a full pipe.
        let stdout = child.stdout.take().expect("the fake's stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("http://") {
                    let _ = tx.send(());
                }
            }
        });
        let fake = FakeSeam { child, base: format!("http://127.0.0.1:{port}") };
        rx.recv_timeout(Duration::from_secs(60)).expect("the fake listens within a minute");
        Some(fake)
    }

    /// A POST with a JSON body, as the plugin sends every request: status and body.
    fn post(&self, key: &str, path: &str, body: Value) -> (u16, Value) {
        self.send("POST", key, path, body)
    }

    fn send(&self, method: &str, key: &str, path: &str, body: Value) -> (u16, Value) {
        let req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {key}"))
            .header("Content-Type", "application/json")
            .body(body.to_string().into_bytes())
            .expect("a request");
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut resp = agent.run(req).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (resp.status().as_u16(), serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

impl Drop for FakeSeam {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn error_type(answer: &(u16, Value)) -> &str {
    answer.1.pointer("/error/type").and_then(Value::as_str).unwrap_or("")
}

/// The requests the Seam client sends (`plugin/src/brands/seam.rs`), their
/// fields as it writes them, and the answers' fields it reads.
#[test]
fn r29_seams_fake_takes_the_clients_requests_and_answers_the_fields_it_reads() {
    let Some(fake) = FakeSeam::start() else { return };

    // Connect: the device list first (401 for a bad key, here as on the
    // real API), then the workspace's name.
    let bad = fake.post("seam_wrongkey_0000", "/devices/list", json!({"limit": 500}));
    assert_eq!((bad.0, error_type(&bad)), (401, "unauthorized"), "{bad:?}");
    let (status, list) = fake.post(KEY, "/devices/list", json!({"limit": 500}));
    assert_eq!(status, 200, "{list}");
    let devices = list["devices"].as_array().expect("devices");
    let lock = devices.iter().find(|d| d["device_id"] == LOCK).expect("the seeded August lock");
    assert_eq!(lock["can_program_online_access_codes"], json!(true), "{lock}");
    assert!(lock["properties"]["name"].is_string() && lock["properties"]["online"].is_boolean(), "{lock}");
    assert!(lock["errors"].is_array() && lock["warnings"].is_array(), "{lock}");
    let thermostat = devices.iter().find(|d| d["device_id"] == "ecobee_device_1").expect("the seeded thermostat");
    assert!(thermostat.get("can_program_online_access_codes").is_none_or(|v| v != &json!(true)), "{thermostat}");
    let (status, ws) = fake.post(KEY, "/workspaces/get", json!({}));
    assert_eq!(status, 200, "{ws}");
    assert!(ws["workspace"]["name"].as_str().is_some_and(|n| !n.is_empty()), "{ws}");
    let (status, one) = fake.post(KEY, "/devices/get", json!({"device_id": LOCK}));
    assert_eq!((status, &one["device"]["device_id"]), (200, &json!(LOCK)), "{one}");
    let missing = fake.post(KEY, "/devices/get", json!({"device_id": "no_such_device"}));
    assert_eq!((missing.0, error_type(&missing)), (404, "device_not_found"), "{missing:?}");

    // Create: the id at once; the window as sent.
    let create = json!({"device_id": LOCK, "name": "Ana Silva (bk-1)", "code": "482957",
        "starts_at": "2030-03-20T13:30:00Z", "ends_at": "2030-03-22T10:30:00Z"});
    let (status, made) = fake.post(KEY, "/access_codes/create", create.clone());
    assert_eq!(status, 200, "{made}");
    let code = &made["access_code"];
    let id = code["access_code_id"].as_str().expect("access_code_id").to_string();
    assert_eq!((&code["device_id"], &code["code"], &code["status"]), (&json!(LOCK), &json!("482957"), &json!("unset")));
    assert_eq!(
        (&code["starts_at"], &code["ends_at"]),
        (&json!("2030-03-20T13:30:00.000Z"), &json!("2030-03-22T10:30:00.000Z"))
    );
    assert!(code["errors"].is_array() && code["warnings"].is_array(), "{code}");

    // The same PIN on the same lock: 409 duplicate_access_code (R8).
    let mut again = create.clone();
    again["name"] = json!("Other guest (bk-2)");
    let taken = fake.post(KEY, "/access_codes/create", again);
    assert_eq!((taken.0, error_type(&taken)), (409, "duplicate_access_code"), "{taken:?}");

    // Update in place: the whole code, both dates, the same PIN (R14). A
    // POST, as the client sends it (the official clients' PUT is refused).
    let moved = json!({"access_code_id": id, "name": "Ana Silva (bk-1)", "code": "482957",
        "starts_at": "2030-03-21T13:30:00Z", "ends_at": "2030-03-23T10:30:00Z"});
    let put = fake.send("PUT", KEY, "/access_codes/update", moved.clone());
    assert_eq!(put.0, 405, "{put:?}");
    let (status, updated) = fake.post(KEY, "/access_codes/update", moved);
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["action_attempt"]["action_type"], json!("UPDATE_ACCESS_CODE"), "{updated}");
    let (status, got) = fake.post(KEY, "/access_codes/get", json!({"access_code_id": id}));
    assert_eq!(status, 200, "{got}");
    let code = &got["access_code"];
    assert_eq!(
        (&code["access_code_id"], &code["code"], &code["type"]),
        (&json!(id), &json!("482957"), &json!("time_bound"))
    );
    assert_eq!(
        (&code["starts_at"], &code["ends_at"]),
        (&json!("2030-03-21T13:30:00.000Z"), &json!("2030-03-23T10:30:00.000Z"))
    );

    // The listing the client resolves unknown outcomes from (it filters by
    // device itself: the fake lists every device's codes).
    let (status, listed) = fake.post(KEY, "/access_codes/list", json!({"device_id": LOCK}));
    assert_eq!(status, 200, "{listed}");
    assert!(listed["access_codes"].as_array().expect("access_codes").iter().any(|c| c["access_code_id"] == json!(id)));

    // Delete, then the 404s the client takes as done (R16).
    let (status, deleted) = fake.post(KEY, "/access_codes/delete", json!({"access_code_id": id}));
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["action_attempt"]["action_type"], json!("DELETE_ACCESS_CODE"), "{deleted}");
    let twice = fake.post(KEY, "/access_codes/delete", json!({"access_code_id": id}));
    assert_eq!((twice.0, error_type(&twice)), (404, "access_code_not_found"), "{twice:?}");
    let gone = fake.post(KEY, "/access_codes/get", json!({"access_code_id": id}));
    assert_eq!(gone.0, 404, "{gone:?}");
    let moved_gone = fake.post(
        KEY,
        "/access_codes/update",
        json!({"access_code_id": id,
        "starts_at": "2030-03-21T13:30:00Z", "ends_at": "2030-03-23T10:30:00Z"}),
    );
    assert_eq!(moved_gone.0, 404, "{moved_gone:?}");
}

/// The plugin's own Seam client, natively, over loopback against the fake.
mod client {
    use smartlock_plugin::brands::{seam, CodeSpec, Confirmed, Found, Op, Submitted, Vendor, VendorError};
    use smartlock_plugin::host::{Http, HttpError, HttpRequest, HttpResponse, Method};
    use smartlock_plugin::memory_host::MemoryHost;

    /// The client's requests, sent to the fake instead of Seam's origin.
    struct ToFake(String);

    impl Http for ToFake {
        fn send(&self, r: &HttpRequest) -> Result<HttpResponse, HttpError> {
            assert_eq!(r.method, Method::Post, "every Seam request is a POST");
            let url = r.url.strip_prefix(seam::API_BASE).map(|p| format!("{}{p}", self.0));
            let url = url.unwrap_or_else(|| panic!("a request outside Seam's origin: {}", r.url));
            let mut req = ureq::http::Request::builder().method("POST").uri(url);
            for (k, v) in &r.headers {
                req = req.header(k, v);
            }
            let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
            let mut resp = agent
                .run(req.body(r.body.clone()).expect("request"))
                .map_err(|e| HttpError::Transport(e.to_string()))?;
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("").to_string()))
                .collect();
            let body = resp.body_mut().read_to_vec().map_err(|e| HttpError::Transport(e.to_string()))?;
            Ok(HttpResponse { status: resp.status().as_u16(), headers, body })
        }
    }

    /// 2030-03-20T13:30:00Z and two days on.
    const START: i64 = 1_900_330_200;

    fn spec<'a>(pin: &'a str, start: i64, code_id: Option<&'a str>) -> CodeSpec<'a> {
        CodeSpec {
            lock_id: super::LOCK,
            channel: super::LOCK,
            pin,
            name: "Ana Silva (bk-1)",
            start,
            end: start + 2 * 86_400,
            timezone: chrono_tz::UTC,
            code_id,
        }
    }

    #[test]
    fn r29_the_seam_client_connects_creates_moves_and_deletes_on_seams_fake() {
        let Some(fake) = super::FakeSeam::start() else { return };
        let host = MemoryHost::new(ToFake(fake.base.clone()), START - 3 * 86_400);

        let mut bad = seam::Client::new(&host, "seam_wrongkey_0000");
        assert!(matches!(bad.verify(), Err(VendorError::Unauthorized { .. })));

        let mut c = seam::Client::new(&host, super::KEY);
        assert_eq!(c.verify().expect("connects"), Some("My Workspace".to_string()));
        let locks = c.locks().expect("locks");
        let lock = locks.iter().find(|l| l.id == super::LOCK).expect("the August lock");
        assert!(lock.remote.is_some() && lock.needs.is_none(), "{lock:?}");
        assert!(!locks.iter().any(|l| l.id == "ecobee_device_1"), "a thermostat is no lock: {locks:?}");

        let Submitted::Pending(id) = c.create(&spec("482957", START, None)).expect("created") else { panic!() };
        // Unset and not scheduled on an August lock: not yet created (R29).
        assert_eq!(c.confirm(Op::Create, &spec("482957", START, Some(&id)), &id), Ok(Confirmed::Pending));
        assert_eq!(c.find(&spec("482957", START, None)), Ok(Found::Pending(id.clone())));
        // The PIN again, for another booking: taken (409).
        assert!(matches!(c.create(&spec("482957", START + 86_400, None)), Err(VendorError::PinTaken(_))));

        // Moved in place, same PIN.
        let moved = spec("482957", START + 86_400, Some(&id));
        assert_eq!(c.update(&moved), Ok(Submitted::Pending(id.clone())));
        assert_eq!(c.find(&moved), Ok(Found::Pending(id.clone())));

        assert_eq!(c.delete(&moved), Ok(Submitted::Pending(id.clone())));
        assert_eq!(c.confirm(Op::Delete, &moved, &id), Ok(Confirmed::Done(None)));
        assert_eq!(c.delete(&moved), Ok(Submitted::Done(None)), "a 404 on delete is done");
    }
}

/// The real component in `smartlock_host` (wasmtime, the tenant's allow-list
/// with Seam's origin routed to the fake), driven as a PMS host drives it:
/// connect, list, create, update keeping the PIN, delete, and the 401, 404
/// and 409 answers, each judged on what the fake then holds.
mod component {
    use std::sync::{Arc, Mutex};

    use serde_json::{json, Value};
    use smartlock_host::{
        api, HttpBackend, HttpError, HttpRequest, HttpResponse, KvStore, MemoryStore, PluginError, Runtime, SimClock,
        Tenant, UreqBackend, VendorRoutes,
    };

    use super::{FakeSeam, KEY, LOCK};

    /// The real transport, but the first time the plugin creates bk-2's code a
    /// front-desk clerk has just put the same PIN on the lock in Seam: the
    /// plugin's create meets Seam's 409 `duplicate_access_code`.
    struct ClerkFirst {
        inner: UreqBackend,
        taken: Mutex<Option<String>>,
    }

    impl HttpBackend for ClerkFirst {
        fn send(&self, r: &HttpRequest) -> Result<HttpResponse, HttpError> {
            let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
            if r.url.ends_with("/access_codes/create")
                && taken.is_none()
                && String::from_utf8_lossy(&r.body).contains("(bk-2)")
            {
                let mut body: Value = serde_json::from_slice(&r.body).expect("a JSON create");
                *taken = body["code"].as_str().map(str::to_string);
                // The clerk's own window (the same window would read as this
                // very code from an earlier attempt whose answer was lost).
                body["name"] = json!("Front desk");
                body["starts_at"] = json!("2030-03-13T00:00:00Z");
                body["ends_at"] = json!("2030-03-20T00:00:00Z");
                let clerk = HttpRequest { body: body.to_string().into_bytes(), ..r.clone() };
                assert_eq!(self.inner.send(&clerk)?.status, 200, "the clerk's code is made");
            }
            drop(taken);
            self.inner.send(r)
        }
    }

    /// 2030-03-12T12:00:00Z: two days before the first stay below starts
    /// (check-ins March 14 and 16; created five days before, 00:00 UTC, so
    /// at once). Inside Seam's 72 h, where Seam would load a code at once:
    /// the plugin neither counts it as held until then (`Deferred`) nor as
    /// created while it is `unset`, so the create stays unconfirmed.
    const NOW: i64 = 1_899_547_200;

    /// The fake's codes on the seeded lock holding `pin` (it lists every
    /// device's codes whatever is asked: filtered here).
    fn codes_with(fake: &FakeSeam, pin: &str) -> Vec<Value> {
        let (status, listed) = fake.post(KEY, "/access_codes/list", json!({"device_id": LOCK}));
        assert_eq!(status, 200, "{listed}");
        let all = listed["access_codes"].as_array().cloned().unwrap_or_default();
        all.into_iter().filter(|c| c["device_id"] == LOCK && c["code"] == pin).collect()
    }

    fn booking(id: &str, check_in: &str, check_out: &str, status: api::BookingStatus) -> api::BookingEvent {
        api::BookingEvent {
            booking: api::Booking {
                id: id.into(),
                property_id: "villa-7".into(),
                guest_name: Some("Ana Silva".into()),
                check_in: check_in.into(),
                check_out: check_out.into(),
                check_in_time: None,
                check_out_time: None,
                status,
            },
            property: property(),
        }
    }

    fn property() -> api::Property {
        api::Property {
            id: "villa-7".into(),
            name: "Villa 7".into(),
            timezone: "UTC".into(),
            check_in_time: None,
            check_out_time: None,
        }
    }

    #[test]
    fn r29_the_component_through_smartlock_host_connects_lists_and_creates_on_seams_fake() {
        drive_component(false);
    }

    /// A booking changed, then cancelled, while its code is still `unset`
    /// on the fake (the fake never schedules codes, so the plugin's create
    /// stays unconfirmed): the move is sent to `access_codes/update` keeping
    /// the PIN, the cancellation to `access_codes/delete`, and a delete
    /// answered 404 is done. The project's stub proves the same from the
    /// lock's side (tests/seam, `r14_seam_…unset…`, `r15_seam_…unset…`).
    #[test]
    fn r14_r16_the_component_moves_keeping_the_pin_and_deletes_on_seams_fake() {
        drive_component(true);
    }

    fn drive_component(with_move: bool) {
        let Some(fake) = FakeSeam::start() else { return };
        let runtime = Runtime::new(host_harness::default_runtime_config()).expect("the component loads");
        let base = fake.base.clone();
        let routes = VendorRoutes::from_brands(runtime.brands(), |id| (id == "seam").then(|| base.clone()))
            .expect("Seam routed to the fake");
        let storage = Arc::new(MemoryStore::new());
        let clock = Arc::new(SimClock::new(NOW));
        let http = Arc::new(ClerkFirst { inner: UreqBackend::default(), taken: Mutex::new(None) });
        let tenant = Tenant::new("seam-fake", storage.clone())
            .with_clock(clock.clone())
            .with_http(http.clone())
            .with_routes(routes);
        let account = runtime.tenant(tenant);
        let tick = |at: i64| {
            clock.set(at);
            while account.on_tick(at).expect("no trap").expect("tick").more_due {}
        };
        let state = |b: &str| account.booking_status(b).expect("no trap").expect("status");

        // 401: a key the fake does not know is refused, nothing stored.
        let bad = api::credentials(&[("api_key", "seam_wrongkey_0000")]);
        let refused = account.connect("seam", &bad).expect("no trap").expect_err("a bad key is refused");
        let sentence = PluginError::from(refused).to_string();
        assert!(sentence.contains("401") || sentence.contains("refused"), "{sentence}");
        assert!(storage.list("", None, 10).expect("lists").is_empty(), "nothing stored after a refused key");

        // Connect and list: the workspace's name, the August lock usable, no thermostat.
        let good = api::credentials(&[("api_key", KEY)]);
        let connected = account.connect("seam", &good).expect("no trap").expect("the seed's key connects");
        assert_eq!(connected.name, "My Workspace");
        let locks = account.list_locks("seam").expect("no trap").expect("locks");
        let lock = locks.iter().find(|l| l.id == LOCK).expect("the seeded August lock");
        assert!(lock.remote.is_some() && lock.needs.is_none(), "{lock:?}");
        assert!(!locks.iter().any(|l| l.id == "ecobee_device_1"), "a thermostat is no lock: {locks:?}");
        account.on_property_changed(&property()).expect("no trap").expect("property");
        account.assign("villa-7", "seam", LOCK, Some(5), Some(30)).expect("no trap").expect("assigned");

        // Create.
        account
            .on_booking_changed(&booking("bk-1", "2030-03-14", "2030-03-16", api::BookingStatus::Confirmed))
            .expect("no trap")
            .expect("booking");
        tick(NOW);
        tick(NOW + 120);
        let pin = state("bk-1").pin.expect("a PIN");
        let made = codes_with(&fake, &pin);
        assert_eq!(made.len(), 1, "one code for bk-1 on the fake: {made:?}");
        let id = made[0]["access_code_id"].as_str().expect("access_code_id").to_string();
        // 15:00 - 30 min to 11:00 + 30 min, UTC.
        assert_eq!(
            (&made[0]["starts_at"], &made[0]["ends_at"]),
            (&json!("2030-03-14T14:30:00.000Z"), &json!("2030-03-16T11:30:00.000Z")),
            "{made:?}"
        );

        if with_move {
            // Update keeping the PIN: one more night, moved in place.
            account
                .on_booking_changed(&booking("bk-1", "2030-03-14", "2030-03-17", api::BookingStatus::Confirmed))
                .expect("no trap")
                .expect("booking");
            tick(NOW + 600);
            tick(NOW + 720);
            assert_eq!(state("bk-1").pin.as_deref(), Some(pin.as_str()), "the same PIN");
            let moved = codes_with(&fake, &pin);
            assert_eq!(moved.len(), 1, "{moved:?}");
            assert_eq!(moved[0]["access_code_id"], json!(id), "moved in place, not made anew");
            assert_eq!(moved[0]["ends_at"], json!("2030-03-17T11:30:00.000Z"), "{moved:?}");
        }

        if with_move {
            // Delete: cancelled, gone from the fake.
            account
                .on_booking_changed(&booking(
                    "bk-1",
                    "2030-03-14",
                    if with_move { "2030-03-17" } else { "2030-03-16" },
                    api::BookingStatus::Cancelled,
                ))
                .expect("no trap")
                .expect("booking");
            tick(NOW + 1200);
            tick(NOW + 1320);
            for h in 1..=6 {
                tick(NOW + 1320 + h * 3600);
            }
            assert!(codes_with(&fake, &pin).is_empty(), "deleted on the fake");
            let gone = fake.post(KEY, "/access_codes/get", json!({"access_code_id": id}));
            assert_eq!(gone.0, 404, "{gone:?}");
        }

        // 404 on delete is done: bk-2's code is deleted in Seam behind the
        // plugin's back, then bk-2 is cancelled. The clock only moves on:
        // after the hourly ticks above, bk-2 comes later.
        let later = if with_move { NOW + 8 * 3600 } else { NOW };
        account
            .on_booking_changed(&booking("bk-2", "2030-03-16", "2030-03-18", api::BookingStatus::Confirmed))
            .expect("no trap")
            .expect("booking");
        tick(later + 1800);
        tick(later + 1920);
        // 409: the PIN the plugin first chose for bk-2 was just taken on
        // the lock in Seam; it gets a new PIN at once.
        let chosen = http.taken.lock().unwrap_or_else(|e| e.into_inner()).clone().expect("a create was sent");
        let pin2 = state("bk-2").pin.expect("a PIN");
        assert_ne!(pin2, chosen, "a PIN taken on the lock (409) is replaced by a new one");
        assert_eq!(codes_with(&fake, &chosen).len(), 1, "only the clerk's code holds the first PIN");
        if !with_move {
            return;
        }
        let made = codes_with(&fake, &pin2);
        assert_eq!(made.len(), 1, "{made:?}");
        let (status, _) = fake.post(KEY, "/access_codes/delete", json!({"access_code_id": made[0]["access_code_id"]}));
        assert_eq!(status, 200);
        account
            .on_booking_changed(&booking("bk-2", "2030-03-16", "2030-03-18", api::BookingStatus::Cancelled))
            .expect("no trap")
            .expect("booking");
        tick(later + 2400);
        tick(later + 2520);
        let s = state("bk-2");
        assert!(matches!(s.state, api::CodeState::None | api::CodeState::Removed), "{s:?}");
        assert_eq!(s.last_error, None, "a 404 on delete is done: {s:?}");
        assert!(s.next_attempt.is_none_or(|n| n > later + 86_400), "nothing retried: {s:?}");
    }
}

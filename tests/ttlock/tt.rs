//! TTLock set-up shared by this binary's tests: the TTLock world (and the
//! three-brand world), step builders, a step-by-step driver for tests that
//! look inside mid-run, and a look at TTLock's cloud records.

use host_harness::scenario::{Harness, Report, Step, StepReport};
use host_harness::stubs::{StubRequest, WorldConfig};
use serde_json::{json, Value};

use crate::common::*;

/// The PMS's own TTLock application, filled in by the host (the world's `app`).
pub const APP_ID: &str = "pms-app-4711";
/// Distinctive, so that R2 can look for it anywhere.
pub const APP_SECRET: &str = "app-s3cr3t-Kx93-never-shown";
/// The TTLock app account that owns the locks.
pub const USERNAME: &str = "host@example.com";
pub const PASSWORD: &str = "tt-Passw0rd-Qv27-never-shown";

/// The hall gateway and the locks it reaches.
pub const GATEWAY: &str = "78979";
/// Behind [`GATEWAY`].
pub const LOCK: &str = "532323";
/// A Wi-Fi lock: no gateway needed.
pub const WIFI_LOCK: &str = "532324";
/// Neither gateway nor Wi-Fi.
pub const BARE_LOCK: &str = "532325";
/// Behind the yard gateway [`GATEWAY2`].
pub const LOCK2: &str = "532326";
pub const GATEWAY2: &str = "78980";

/// The start of most runs, and the standard stay: Paris, March 20-22,
/// days_before 5, margin 30 → created 2026-03-14T23:00Z, window
/// 13:30Z-10:30Z, alert 2026-03-19T17:00Z, retry deadline 2026-03-19T23:00Z.
pub const START: &str = "2026-03-01T08:00:00Z";
pub const CREATE_AT: &str = "2026-03-14T23:00:00Z";
pub const WINDOW_START: &str = "2026-03-20T13:30:00Z";
pub const WINDOW_END: &str = "2026-03-22T10:30:00Z";

/// The `ttlock` object of a scenario file.
pub fn ttlock_world() -> Value {
    json!({
        "app": {"client_id": APP_ID, "client_secret": APP_SECRET},
        "accounts": [{"username": USERNAME, "password": PASSWORD, "name": "Sea View Rentals"}],
        "locks": [
            {"id": LOCK, "name": "Studio door", "gateway": GATEWAY},
            {"id": WIFI_LOCK, "name": "Loft door", "wifi": true},
            {"id": BARE_LOCK, "name": "Cellar door"},
            {"id": LOCK2, "name": "Garage door", "gateway": GATEWAY2}
        ],
        "gateways": [
            {"id": GATEWAY, "name": "G2 hall", "online": true},
            {"id": GATEWAY2, "name": "G2 yard", "online": true}
        ]
    })
}

/// The Nuki lock of the three-brand world.
pub const NUKI_LOCK: &str = "18205286116";
pub const NUKI_TOKEN: &str = "nuki-t0ken-Wm52-never-shown";

pub fn nuki_world() -> Value {
    json!({
        "accounts": [{"api_token": NUKI_TOKEN, "name": "Sea View Rentals"}],
        "locks": [
            {"id": NUKI_LOCK, "name": "Garden gate", "keypad": true, "online": true},
            {"id": "18205286117", "name": "Side gate", "keypad": true, "online": true}
        ]
    })
}

pub fn tt_connect(at: &str) -> Value {
    step(at, "connect", json!({"provider": "ttlock", "username": USERNAME, "password": PASSWORD}))
}

pub fn tt_assign(at: &str, property: &str, lock: &str, days_before: i64, margin: i64) -> Value {
    step(
        at,
        "assign",
        json!({"property": property, "lock": lock, "provider": "ttlock", "days_before": days_before, "margin_minutes": margin}),
    )
}

pub fn gateway(at: &str, id: &str, online: bool) -> Value {
    step(at, "bridge", json!({"bridge": id, "online": online, "provider": "ttlock"}))
}

/// The next `count` calls to `endpoint` answer HTTP 200 with `errcode`.
pub fn errcode(at: &str, endpoint: &str, errcode: i64, count: u32) -> Value {
    step(at, "fault", json!({"provider": "ttlock", "endpoint": endpoint, "errcode": errcode, "count": count}))
}

/// The next `count` calls to `endpoint` answer HTTP `status` (0 = hang).
pub fn http_fault(at: &str, endpoint: &str, status: u16, count: u32) -> Value {
    step(at, "fault", json!({"provider": "ttlock", "endpoint": endpoint, "status": status, "count": count}))
}

pub fn render(at: &str, booking: &str) -> Value {
    step(at, "render", json!({"booking": booking, "template": "Code: {{smartlock_code}}"}))
}

/// Connect, property p1 in Paris and [`LOCK`] assigned, from `start`.
pub fn paris_tt(start: &str, days_before: i64, margin: i64) -> Vec<Value> {
    let s = t(start);
    vec![
        tt_connect(&utc(s)),
        property(&utc(s + 60), "p1", "Europe/Paris", None, None),
        tt_assign(&utc(s + 120), "p1", LOCK, days_before, margin),
    ]
}

/// [`paris_tt`] and the standard booking b1 (March 20-22).
pub fn standard() -> Vec<Value> {
    let mut steps = paris_tt(START, 5, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps
}

/// Runs a scenario on the TTLock world alone.
pub fn run_tt(name: &str, steps: Vec<Value>) -> Report {
    run_file(json!({"name": name, "start": START, "tick_minutes": 15, "ttlock": ttlock_world(), "steps": steps}))
}

/// Runs a scenario on the three-brand world.
pub fn run_three(name: &str, steps: Vec<Value>) -> Report {
    run_file(json!({
        "name": name, "start": START, "tick_minutes": 15,
        "igloohome": world(), "nuki": nuki_world(), "ttlock": ttlock_world(), "steps": steps
    }))
}

/// A harness on the TTLock world alone.
pub fn harness_tt() -> Harness {
    harness_on(WorldConfig {
        ttlock: Some(serde_json::from_value(ttlock_world()).expect("ttlock world")),
        ..Default::default()
    })
}

/// A harness on the three-brand world.
pub fn harness_three() -> Harness {
    harness_on(WorldConfig {
        igloohome: Some(serde_json::from_value(world()).expect("igloohome world")),
        nuki: Some(serde_json::from_value(nuki_world()).expect("nuki world")),
        ttlock: Some(serde_json::from_value(ttlock_world()).expect("ttlock world")),
        ..Default::default()
    })
}

fn harness_on(world: WorldConfig) -> Harness {
    Harness::start(&runtime(), world, t(START), 15).expect("harness starts")
}

/// Applies `steps` as a scenario run would (clock advanced tick by tick up
/// to each step, then the step); an `end` step only advances the clock.
pub fn drive(h: &mut Harness, steps: &[Value]) -> Vec<StepReport> {
    let mut out = Vec::new();
    for v in steps {
        let s: Step = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("step {v}: {e}"));
        h.advance_to(s.at.timestamp());
        if s.action.name() == "end" {
            continue;
        }
        let outcome = h.apply(&s.action);
        out.push(StepReport {
            at: utc(s.at.timestamp()),
            kind: s.action.name().to_string(),
            ok: outcome.is_ok(),
            error: outcome.as_ref().err().cloned(),
            result: outcome.ok(),
        });
    }
    out
}

/// One step that must succeed; its result.
pub fn apply_ok(h: &mut Harness, v: Value) -> Value {
    let at = v["at"].as_str().unwrap_or_default().to_string();
    let r = drive(h, &[v]).remove(0);
    assert!(r.ok, "step {} at {at} failed: {:?}", r.kind, r.error);
    r.result.unwrap_or(Value::Null)
}

/// One step that must fail; its error sentence.
pub fn apply_err(h: &mut Harness, v: Value) -> String {
    let r = drive(h, &[v]).remove(0);
    assert!(!r.ok, "step {} should have failed: {:?}", r.kind, r.result);
    r.error.unwrap_or_default()
}

/// Requests TTLock received at `endpoint` (`pwd_add`, ...) so far.
pub fn tt_count(h: &Harness, endpoint: &str) -> u64 {
    h.world.http_counts().by_endpoint.get(&format!("ttlock.{endpoint}")).copied().unwrap_or(0)
}

/// Requests TTLock received, all endpoints.
pub fn tt_total(h: &Harness) -> u64 {
    h.world.ttlock().expect("ttlock stub").http_requests()
}

/// A report count by endpoint (0 when absent).
pub fn count(report: &Report, endpoint: &str) -> u64 {
    report.http.by_endpoint.get(endpoint).copied().unwrap_or(0)
}

/// Asks the TTLock stub itself (as the account owner would in the TTLock
/// app): the lock's passcode records in the cloud, custom ones only. Counts
/// as requests to the stub, so read counters before calling it.
pub fn cloud_custom_codes(h: &Harness, lock: &str) -> Vec<Value> {
    let tt = h.world.ttlock().expect("ttlock stub");
    let md5 = smartlock_plugin::vendor::ttlock::password_md5(PASSWORD);
    let form =
        format!("clientId={APP_ID}&clientSecret={APP_SECRET}&username={}&password={md5}", USERNAME.replace('@', "%40"));
    let resp = tt.handle(&StubRequest {
        method: "POST".into(),
        path_and_query: "/oauth2/token".into(),
        headers: vec![("Content-Type".into(), "application/x-www-form-urlencoded".into())],
        body: form.into_bytes(),
    });
    let token = resp.json_body()["access_token"].as_str().expect("the owner gets a token").to_string();
    let query = format!(
        "/v3/lock/listKeyboardPwd?clientId={APP_ID}&accessToken={token}&lockId={lock}&pageNo=1&pageSize=200&orderBy=1&date={}",
        tt.now() * 1000
    );
    let resp = tt.handle(&StubRequest { method: "GET".into(), path_and_query: query, ..Default::default() });
    let body = resp.json_body();
    let list = body["list"].as_array().unwrap_or_else(|| panic!("passcode list: {body}"));
    list.iter().filter(|c| c["isCustom"] == 1).cloned().collect()
}

/// Whether TTLock still takes `refresh_token` (each one works once). Counts
/// as a request; a successful probe rotates it, so probe only at the end.
pub fn refresh_token_works(h: &Harness, refresh_token: &str) -> bool {
    let tt = h.world.ttlock().expect("ttlock stub");
    let form =
        format!("clientId={APP_ID}&clientSecret={APP_SECRET}&grant_type=refresh_token&refresh_token={refresh_token}");
    let resp = tt.handle(&StubRequest {
        method: "POST".into(),
        path_and_query: "/oauth2/token".into(),
        headers: vec![("Content-Type".into(), "application/x-www-form-urlencoded".into())],
        body: form.into_bytes(),
    });
    resp.json_body().get("access_token").is_some()
}

/// A stored JSON record of the plugin, if any.
pub fn stored(h: &Harness, key: &str) -> Option<Value> {
    h.storage.get(key).expect("storage reads").map(|b| serde_json::from_slice(&b).expect("stored JSON"))
}

/// TTLock's PINs of the report (lock-side truth).
pub fn tt_pins(report: &Report) -> Vec<&host_harness::stubs::PinRecord> {
    report.pins.iter().filter(|p| p.provider == "ttlock").collect()
}

/// The booking's status through the admin export.
pub fn status(h: &Harness, booking: &str) -> host_harness::api::CodeStatus {
    h.plugin.booking_status(booking).expect("no trap").expect("status")
}

/// What `{{smartlock_code}}` renders to now (`None`: left to others).
pub fn rendered(h: &Harness, booking: &str) -> Option<String> {
    h.plugin.render_variable("smartlock_code", booking).expect("no trap")
}

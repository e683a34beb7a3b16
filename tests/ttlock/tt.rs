//! TTLock set-up shared by this binary's tests: the TTLock world (and the
//! three-brand world), step builders, a step-by-step driver for tests that
//! look inside mid-run, and a look at TTLock's cloud records.

use host_harness::scenario::{Harness, Report, Step, StepReport};
use host_harness::stubs::{PinRecord, StubRequest, WorldConfig};
use serde_json::{json, Value};

use crate::common::*;

/// The PMS's own TTLock application, filled in by the host (the world's `app`).
pub const APP_ID: &str = "pms-app-4711";
/// Distinctive, so that R2 can look for it anywhere.
pub const APP_SECRET: &str = "app-s3cr3t-Kx93-never-shown";
/// The TTLock app account that owns the locks.
pub const USERNAME: &str = "host@example.com";
pub const PASSWORD: &str = "tt-Passw0rd-Qv27-never-shown";
/// MD5 of [`PASSWORD`], lowercase hex as TTLock wants it, worked out
/// outside the plugin: `printf %s 'tt-Passw0rd-Qv27-never-shown' | md5sum`.
pub const PASSWORD_MD5: &str = "aadbdf6c85e8a8633a9b8a5ec0e74781";

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
    tt_assign_settings(at, property, lock, Some(days_before), Some(margin))
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
    render_template(at, booking, "Code: {{smartlock_code}}")
}

/// A `render` step: the host substitutes `template` through the plugin.
pub fn render_template(at: &str, booking: &str, template: &str) -> Value {
    step(at, "render", json!({"booking": booking, "template": template}))
}

/// The output of a `render` step's report.
pub fn render_output(r: &StepReport) -> String {
    assert!(r.ok, "render at {} failed: {:?}", r.at, r.error);
    let result = r.result.clone().unwrap_or(Value::Null);
    result["output"].as_str().unwrap_or_else(|| panic!("render output: {result}")).to_string()
}

/// An assignment step with the settings left out where `None` (the
/// plugin's defaults apply).
pub fn tt_assign_settings(
    at: &str,
    property: &str,
    lock: &str,
    days_before: Option<i64>,
    margin: Option<i64>,
) -> Value {
    step(
        at,
        "assign",
        json!({"property": property, "lock": lock, "provider": "ttlock", "days_before": days_before, "margin_minutes": margin}),
    )
}

/// The PMS cancels `booking` (Ana Silva's stay from `check_in` to `check_out`).
pub fn cancel(at: &str, booking: &str, property: &str, check_in: &str, check_out: &str) -> Value {
    let mut cancelled = crate::common::booking(at, booking, property, check_in, check_out);
    cancelled["booking"]["status"] = json!("cancelled");
    cancelled
}

/// A booking step with negotiated check-in and check-out times (`None`:
/// not negotiated).
pub fn booking_at_times(
    at: &str,
    id: &str,
    property: &str,
    stay: (&str, &str),
    times: (Option<&str>, Option<&str>),
) -> Value {
    let mut negotiated = crate::common::booking(at, id, property, stay.0, stay.1);
    negotiated["booking"]["check_in_time"] = json!(times.0);
    negotiated["booking"]["check_out_time"] = json!(times.1);
    negotiated
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

/// A lock without passcode data (errcode -1007 on `keyboardPwd/get`): no
/// offline code (R24), so R11-R13 run as they do without a fallback.
pub fn without_offline_codes() -> Value {
    errcode("2026-03-01T08:05:00Z", "pwd_get", -1007, 1_000_000)
}

/// `steps` sorted by instant; steps at one instant keep their order.
pub fn in_time_order(mut steps: Vec<Value>) -> Vec<Value> {
    steps.sort_by_key(|s| t(s["at"].as_str().unwrap_or_default()));
    steps
}

/// Runs a scenario on the TTLock world alone.
pub fn run_tt(name: &str, steps: Vec<Value>) -> Report {
    run_tt_from(name, START, true, steps)
}

/// Runs a scenario on the TTLock world alone from `start`, as a host that
/// honours the plugin's wake-ups (R21) or, `wake_ups` false, one that only
/// ticks every 15 minutes.
pub fn run_tt_from(name: &str, start: &str, wake_ups: bool, steps: Vec<Value>) -> Report {
    run_file(json!({
        "name": name, "start": start, "tick_minutes": 15, "wake_ups": wake_ups, "ttlock": ttlock_world(), "steps": steps
    }))
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
    harness_tt_from(START)
}

/// A harness on the TTLock world alone, its clock at `start`.
pub fn harness_tt_from(start: &str) -> Harness {
    let world = WorldConfig {
        ttlock: Some(serde_json::from_value(ttlock_world()).expect("ttlock world")),
        ..Default::default()
    };
    Harness::start(&runtime(), world, t(start), 15).expect("harness starts")
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
/// Every step must succeed; their reports. For steps expected to fail, see
/// [`drive_reports`].
pub fn drive(h: &mut Harness, steps: &[Value]) -> Vec<StepReport> {
    let reports = drive_reports(h, steps);
    for r in &reports {
        assert!(r.ok, "step {} at {} failed: {:?}", r.kind, r.at, r.error);
    }
    reports
}

/// [`drive`] without judging: each step's report, failed or not.
pub fn drive_reports(h: &mut Harness, steps: &[Value]) -> Vec<StepReport> {
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
    let r = drive_reports(h, &[v]).remove(0);
    assert!(r.ok, "step {} at {at} failed: {:?}", r.kind, r.error);
    r.result.unwrap_or(Value::Null)
}

/// One step that must fail; its error sentence.
pub fn apply_err(h: &mut Harness, v: Value) -> String {
    let r = drive_reports(h, &[v]).remove(0);
    assert!(!r.ok, "step {} should have failed: {:?}", r.kind, r.result);
    r.error.unwrap_or_default()
}

/// Requests TTLock received at `endpoint` (`pwd_add`, ...) so far. The
/// stub lists each endpoint it knows, even at 0: a name it does not know
/// (a misspelling) panics instead of reading as 0.
pub fn tt_count(h: &Harness, endpoint: &str) -> u64 {
    counted(&h.world.http_counts().by_endpoint, &format!("ttlock.{endpoint}"))
}

/// Requests TTLock received, all endpoints.
pub fn tt_total(h: &Harness) -> u64 {
    h.world.ttlock().expect("ttlock stub").http_requests()
}

/// A report count by endpoint (`ttlock.pwd_add`, `jobs`, ...); like
/// [`tt_count`], an endpoint no stub of the run knows panics.
pub fn count(report: &Report, endpoint: &str) -> u64 {
    counted(&report.http.by_endpoint, endpoint)
}

fn counted(by_endpoint: &std::collections::BTreeMap<String, u64>, key: &str) -> u64 {
    *by_endpoint
        .get(key)
        .unwrap_or_else(|| panic!("no stub of this run counts {key:?}; it knows {:?}", by_endpoint.keys()))
}

/// Asks the TTLock stub itself (as the account owner would in the TTLock
/// app): the lock's passcode records in the cloud, custom ones only. Counts
/// as requests to the stub, so read counters before calling it.
pub fn cloud_custom_codes(h: &Harness, lock: &str) -> Vec<Value> {
    let tt = h.world.ttlock().expect("ttlock stub");
    let form = format!(
        "clientId={APP_ID}&clientSecret={APP_SECRET}&username={}&password={PASSWORD_MD5}",
        USERNAME.replace('@', "%40")
    );
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

/// The codes the locks held for `booking` (its access name ends in
/// "(id)"), in the order they got there: lock-side truth.
pub fn codes_of(pins: &[PinRecord], booking: &str) -> Vec<PinRecord> {
    let tag = format!("({booking})");
    pins.iter().filter(|p| p.access_name.ends_with(&tag)).cloned().collect()
}

/// The one code that was ever on a lock for `booking`.
pub fn the_code(pins: &[PinRecord], booking: &str) -> PinRecord {
    let mut codes = codes_of(pins, booking);
    assert_eq!(codes.len(), 1, "one code for {booking}: {pins:?}");
    codes.remove(0)
}

/// The window a code holds on its lock is `start` to `end` (UTC, RFC 3339).
pub fn assert_window(code: &PinRecord, start: &str, end: &str) {
    assert_eq!((utc(code.start), utc(code.end)), (start.to_string(), end.to_string()), "{code:?}");
}

/// Whether `pin` opens `lock` at `at`, by the TTLock stub's own table.
pub fn opens(h: &Harness, lock: &str, pin: &str, at: &str) -> bool {
    h.world.ttlock().expect("ttlock stub").opens(lock, pin, t(at))
}

/// Lock-side truth at TTLock's minute precision: `pin` opens `lock` from
/// `start` on, not the minute before, and up to the minute before `end`,
/// not at `end`. Ask once the clock is past `end`.
pub fn assert_opens_exactly(h: &Harness, lock: &str, pin: &str, start: &str, end: &str) {
    let (s, e) = (t(start), t(end));
    let at = |secs: i64| opens(h, lock, pin, &utc(secs));
    assert!(!at(s - 60), "{pin} opens {lock} a minute before {start}");
    assert!(at(s), "{pin} does not open {lock} at {start}");
    assert!(at(e - 60), "{pin} does not open {lock} a minute before {end}");
    assert!(!at(e), "{pin} still opens {lock} at {end}");
}

/// For each `(booking, lock, start, end)`: the booking's one code was on
/// that lock with that window and opened it exactly then. Ask once the
/// clock is past every end. The codes, in the same order.
pub fn assert_stays(h: &Harness, stays: &[(&str, &str, &str, &str)]) -> Vec<PinRecord> {
    let pins = h.world.pins();
    stays
        .iter()
        .map(|&(booking, lock, start, end)| {
            let code = the_code(&pins, booking);
            assert_eq!(code.lock, lock, "{booking}: {code:?}");
            assert_window(&code, start, end);
            assert_opens_exactly(h, lock, &code.pin, start, end);
            code
        })
        .collect()
}

/// The cumulative number of requests TTLock received at `endpoint` when
/// the clock reaches each of `instants` (advanced through them in order).
pub fn counts_at(h: &mut Harness, endpoint: &str, instants: &[&str]) -> Vec<u64> {
    instants
        .iter()
        .map(|at| {
            h.advance_to(t(at));
            tt_count(h, endpoint)
        })
        .collect()
}

/// Runs the standard Paris set-up (days_before 5, margin 30) and `extra`
/// steps on a harness, every step succeeding.
pub fn harness_with(extra: Vec<Value>) -> Harness {
    let mut h = harness_tt();
    let mut steps = paris_tt(START, 5, 30);
    steps.extend(extra);
    drive(&mut h, &steps);
    h
}

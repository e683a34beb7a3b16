//! Seam set-up shared by this binary's tests: the Seam world (a workspace
//! and devices of several brands), step builders, harnesses, and looks at
//! the stub's lock-side truth. The step-by-step driver is TTLock's
//! (`../ttlock/tt.rs`): it is brand-free.

use host_harness::scenario::{Harness, Report};
use host_harness::stubs::{PinRecord, WorldConfig};
use serde_json::{json, Value};

use crate::common::*;

/// The workspace's API key: distinctive, so that R2 can look for it anywhere.
pub const KEY: &str = "seam_live_Kq47zT9wRx_never_shown";
pub const WORKSPACE: &str = "Sea View workspace";

/// Schlage: Seam loads its codes 72 h before the start (native scheduling).
pub const SCHLAGE: &str = "5d9c6f0e-0000-4000-8000-000000000001";
/// Nuki: six digits, no zeros, no leading "12".
pub const NUKI: &str = "5d9c6f0e-0000-4000-8000-000000000002";
/// Kwikset: no straight runs, at least three different digits.
pub const KWIKSET: &str = "5d9c6f0e-0000-4000-8000-000000000003";
/// Lockly: Seam programs its codes only 60 min before the start.
pub const LOCKLY: &str = "5d9c6f0e-0000-4000-8000-000000000004";
/// A Schlage that cannot take online access codes.
pub const NO_CODES: &str = "5d9c6f0e-0000-4000-8000-000000000005";
/// A Yale that is offline from the start (`device_disconnected`).
pub const OFFLINE: &str = "5d9c6f0e-0000-4000-8000-000000000006";
/// A Yale, online: the one taken off line mid-run.
pub const YALE: &str = "5d9c6f0e-0000-4000-8000-000000000007";

// The standard stay is TTLock's: Paris, March 20-22 (CET), days_before 5,
// margin 30 → created 2026-03-14T23:00Z, window 13:30Z-10:30Z.
pub use crate::tt::{CREATE_AT, START, WINDOW_END, WINDOW_START};
// The brand-free driver and looks at the plugin.
pub use crate::tt::{apply_err, apply_ok, cancel, codes_of, drive, render, rendered, status, the_code};

/// [`WINDOW_START`] − 72 h: Seam loads a natively scheduled code.
pub const LOAD_AT: &str = "2026-03-17T13:30:00Z";
/// 18:00 Paris on the eve of check-in.
pub const EVE_ALERT: &str = "2026-03-19T17:00:00Z";

/// The `seam` object of a scenario file.
pub fn seam_world() -> Value {
    json!({
        "accounts": [{"api_key": KEY, "name": WORKSPACE}],
        "locks": [
            {"id": SCHLAGE, "name": "Front door", "brand": "schlage"},
            {"id": NUKI, "name": "Garden gate", "brand": "nuki"},
            {"id": KWIKSET, "name": "Side door", "brand": "kwikset"},
            {"id": LOCKLY, "name": "Loft door", "brand": "lockly"},
            {"id": NO_CODES, "name": "Cellar door", "brand": "schlage", "codes": false},
            {"id": OFFLINE, "name": "Shed", "brand": "yale", "online": false},
            {"id": YALE, "name": "Studio door", "brand": "yale"}
        ]
    })
}

pub fn sm_connect(at: &str) -> Value {
    sm_connect_with(at, KEY)
}

pub fn sm_connect_with(at: &str, key: &str) -> Value {
    step(at, "connect", json!({"provider": "seam", "api_key": key}))
}

pub fn sm_disconnect(at: &str) -> Value {
    step(at, "disconnect", json!({"provider": "seam"}))
}

pub fn sm_assign(at: &str, property: &str, lock: &str, days_before: i64, margin: i64) -> Value {
    step(
        at,
        "assign",
        json!({"property": property, "lock": lock, "provider": "seam", "days_before": days_before, "margin_minutes": margin}),
    )
}

/// The device's own connection goes off or on line.
pub fn device_online(at: &str, lock: &str, online: bool) -> Value {
    step(at, "bridge", json!({"bridge": lock, "online": online, "provider": "seam"}))
}

/// The next `count` calls to `endpoint` (`access_codes_create`, ...) answer HTTP `status`.
pub fn sm_fault(at: &str, endpoint: &str, status: u16, count: u32) -> Value {
    step(at, "fault", json!({"provider": "seam", "endpoint": endpoint, "status": status, "count": count}))
}

/// A guest at the lock types `pin` now.
pub fn try_pin(at: &str, lock: &str, pin: &str) -> Value {
    step(at, "try_pin", json!({"lock": lock, "provider": "seam", "pin": pin}))
}

/// A guest at the lock types the codes of the booking's last message now.
pub fn try_booking(at: &str, lock: &str, booking: &str) -> Value {
    step(at, "try_pin", json!({"lock": lock, "provider": "seam", "booking": booking}))
}

/// Connect, property p1 in Paris and `lock` assigned, from `start`.
pub fn paris_on(start: &str, lock: &str, days_before: i64, margin: i64) -> Vec<Value> {
    let s = t(start);
    vec![
        sm_connect(&utc(s)),
        property(&utc(s + 60), "p1", "Europe/Paris", None, None),
        sm_assign(&utc(s + 120), "p1", lock, days_before, margin),
    ]
}

/// [`paris_on`] from [`START`] (days_before 5, margin 30) and the standard booking b1 (March 20-22).
pub fn standard_on(lock: &str) -> Vec<Value> {
    let mut steps = paris_on(START, lock, 5, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps
}

/// Days_before 2: created March 17 23:00Z, inside Seam's 72 h, so Seam
/// loads the code at once (an offline device shows it at once).
pub const CREATE_IN_72H: &str = "2026-03-17T23:00:00Z";

/// [`paris_on`] from [`START`] with days_before 2 (margin 30) and the
/// standard booking b1 (March 20-22): created at [`CREATE_IN_72H`].
pub fn in_72h_on(lock: &str) -> Vec<Value> {
    let mut steps = paris_on(START, lock, 2, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps
}

/// A harness on the Seam world, its clock at [`START`].
pub fn harness_sm() -> Harness {
    harness_sm_on(seam_world())
}

/// A harness on the Seam world `seam` (a `seam` object), its clock at [`START`].
pub fn harness_sm_on(seam: Value) -> Harness {
    let world = WorldConfig { seam: Some(serde_json::from_value(seam).expect("seam world")), ..Default::default() };
    Harness::start(&runtime(), world, t(START), 15).expect("harness starts")
}

/// A harness that ran `steps`, every one succeeding.
pub fn harness_with(steps: &[Value]) -> Harness {
    let mut h = harness_sm();
    drive(&mut h, steps);
    h
}

/// Runs a scenario on the Seam world from [`START`].
pub fn run_sm(name: &str, steps: Vec<Value>) -> Report {
    run_file(json!({"name": name, "start": START, "tick_minutes": 15, "seam": seam_world(), "steps": steps}))
}

/// Requests Seam received at `endpoint` (`access_codes_create`, ...); an
/// endpoint the stub does not know panics.
pub fn sm_count(h: &Harness, endpoint: &str) -> u64 {
    *h.world
        .http_counts()
        .by_endpoint
        .get(&format!("seam.{endpoint}"))
        .unwrap_or_else(|| panic!("the Seam stub counts no {endpoint:?}"))
}

/// Seam's PINs of the run so far (lock-side truth).
pub fn sm_pins(h: &Harness) -> Vec<PinRecord> {
    h.world.pins().into_iter().filter(|p| p.provider == "seam").collect()
}

/// Whether `pin` opens `lock` at `at`, by the Seam stub: its own answer
/// for the current instant (as `try_pin` asks), its record of what each
/// device held and when for any other (the device forgets a removed code).
pub fn opens(h: &Harness, lock: &str, pin: &str, at: &str) -> bool {
    let at = t(at);
    if at == h.world.now() {
        return h.world.seam().expect("seam stub").opens(lock, pin, at);
    }
    sm_pins(h).iter().any(|p| p.lock == lock && p.pin == pin && p.holds_at(at))
}

/// Lock-side truth to the minute: `pin` opens `lock` from `start` on, not
/// the minute before, up to the minute before `end`, not at `end`. Ask
/// once the clock is past `end`.
pub fn assert_opens_exactly(h: &Harness, lock: &str, pin: &str, start: &str, end: &str) {
    let (s, e) = (t(start), t(end));
    for (at, expected) in [(s - 60, false), (s, true), (e - 60, true), (e, false)] {
        assert_eq!(opens(h, lock, pin, &utc(at)), expected, "{pin} on {lock} at {} (window {start} to {end})", utc(at));
    }
}

/// The code events the plugin reported so far for `booking`, as `(at, state)`.
pub fn events_of(h: &Harness, booking: &str) -> Vec<(String, String)> {
    let events = host_harness::scenario::report_events(h.storage.as_ref()).expect("events read");
    events
        .iter()
        .filter(|e| e["booking"] == booking)
        .map(|e| {
            (e["at"].as_str().unwrap_or_default().to_string(), e["state"].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

/// The e-mails the plugin queued so far.
pub fn emails(h: &Harness) -> Vec<host_harness::imports::Email> {
    h.storage.emails().expect("outbox reads")
}

/// How Seam's programming of codes on `lock` goes from now on (the stub's
/// knob: normal, never confirmed, failing for good, a false `set`).
pub fn set_programming(h: &Harness, lock: &str, mode: host_harness::stubs::seam::Programming) {
    h.world.seam().expect("seam stub").set_programming(lock, mode).expect("known device");
}

/// Asks the Seam stub itself, as the workspace owner would in Seam Console:
/// `path` (`/access_codes/list`, ...) with `body`. Counts as a request to
/// the stub, so read counters before calling it.
pub fn console(h: &Harness, path: &str, body: Value) -> Value {
    let resp = h.world.seam().expect("seam stub").handle(&host_harness::stubs::StubRequest {
        method: "POST".into(),
        path_and_query: path.into(),
        headers: vec![
            ("Authorization".into(), format!("Bearer {KEY}")),
            ("Content-Type".into(), "application/json".into()),
        ],
        body: body.to_string().into_bytes(),
    });
    resp.json_body()
}

/// Seam's access-code objects on `lock` now.
pub fn seam_codes(h: &Harness, lock: &str) -> Vec<Value> {
    let v = console(h, "/access_codes/list", json!({"device_id": lock}));
    v["access_codes"].as_array().unwrap_or_else(|| panic!("access code list: {v}")).clone()
}

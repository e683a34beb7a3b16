//! Nuki worlds, steps with `provider`, runners and harnesses. The generic
//! helpers (`step`, `property`, `booking`, `t`, `utc`, ...) come from
//! `e2e/common.rs`.

use host_harness::scenario::{Action, Harness, Report};
use host_harness::stubs::nuki::Nuki;
use host_harness::stubs::{PinRecord, WorldConfig};
use serde_json::{json, Value};

use crate::common::*;

/// Distinctive, so that R2 can look for it anywhere.
pub const NUKI_TOKEN: &str = "nuki-Tk7w-9fQz-token-never-shown";
/// A mistyped token: a secret too, never to be logged either.
pub const WRONG_TOKEN: &str = "nuki-Tk7w-9fQz-mistyped-never-shown";

/// Front door: keypad (`keypadPaired`), id above 2^32.
pub const N1: &str = "18205286116";
/// Back door: keypad (`keypad2Paired`, the stub alternates the flags).
pub const N2: &str = "18205286125";
/// Cellar: no keypad.
pub const N3: &str = "18205286134";

/// The standard Nuki account: N1 and N2 with a keypad, N3 without.
pub fn nuki_world() -> Value {
    json!({
        "accounts": [{"api_token": NUKI_TOKEN, "name": "Sea View Rentals"}],
        "locks": [
            {"id": N1, "name": "Front door", "keypad": true, "online": true},
            {"id": N2, "name": "Back door", "keypad": true},
            {"id": N3, "name": "Cellar", "keypad": false}
        ]
    })
}

/// [`nuki_world`] with `knobs` (e.g. `{"ghost_deletes": true}`) set on `lock`.
pub fn nuki_world_with(lock: &str, knobs: Value) -> Value {
    let mut world = nuki_world();
    let l = world["locks"]
        .as_array_mut()
        .and_then(|locks| locks.iter_mut().find(|l| l["id"] == lock))
        .unwrap_or_else(|| panic!("lock {lock} in the world"));
    if let (Some(obj), Value::Object(extra)) = (l.as_object_mut(), knobs) {
        obj.extend(extra);
    }
    world
}

pub fn connect_nuki(at: &str) -> Value {
    connect_nuki_with(at, NUKI_TOKEN)
}

pub fn connect_nuki_with(at: &str, token: &str) -> Value {
    step(at, "connect", json!({"provider": "nuki", "api_token": token}))
}

pub fn disconnect(at: &str, provider: &str) -> Value {
    step(at, "disconnect", json!({"provider": provider}))
}

pub fn assign_nuki(at: &str, property: &str, lock: &str, days_before: i64, margin: i64) -> Value {
    step(
        at,
        "assign",
        json!({"property": property, "lock": lock, "provider": "nuki", "days_before": days_before, "margin_minutes": margin}),
    )
}

/// A Nuki lock's own link to the cloud (`serverState` 0 or 4).
pub fn nuki_online(at: &str, lock: &str, online: bool) -> Value {
    step(at, "bridge", json!({"bridge": lock, "online": online, "provider": "nuki"}))
}

pub fn nuki_fault(at: &str, endpoint: &str, status: u16, count: u32) -> Value {
    step(at, "fault", json!({"endpoint": endpoint, "status": status, "count": count, "provider": "nuki"}))
}

pub fn cancel(at: &str, id: &str, property: &str, check_in: &str, check_out: &str) -> Value {
    booking_with(
        at,
        json!({"id": id, "property": property, "guest_name": "Ana Silva", "check_in": check_in, "check_out": check_out, "status": "cancelled"}),
    )
}

pub fn render(at: &str, booking: &str) -> Value {
    step(at, "render", json!({"booking": booking, "template": "Code: {{smartlock_code}}"}))
}

pub fn status(at: &str, booking: &str) -> Value {
    step(at, "status", json!({"booking": booking}))
}

/// Connect Nuki, property p1 in Paris, N1 assigned, from `start`.
pub fn nuki_setup(start: &str, days_before: i64, margin: i64) -> Vec<Value> {
    let s = t(start);
    vec![
        connect_nuki(&utc(s)),
        property(&utc(s + 60), "p1", "Europe/Paris", None, None),
        assign_nuki(&utc(s + 120), "p1", N1, days_before, margin),
    ]
}

/// Runs `steps` on the standard Nuki world.
pub fn run_nuki(name: &str, start: &str, steps: Vec<Value>) -> Report {
    run_nuki_world(name, start, nuki_world(), steps)
}

pub fn run_nuki_world(name: &str, start: &str, nuki: Value, steps: Vec<Value>) -> Report {
    run_file(json!({"name": name, "start": start, "tick_minutes": 15, "nuki": nuki, "steps": steps}))
}

/// Runs `steps` on one account with the standard igloohome and Nuki worlds.
pub fn run_brands(name: &str, start: &str, steps: Vec<Value>) -> Report {
    run_file(
        json!({"name": name, "start": start, "tick_minutes": 15, "igloohome": world(), "nuki": nuki_world(), "steps": steps}),
    )
}

/// A harness on a Nuki world (and igloohome's standard one if `with_igloohome`).
pub fn harness_with(start: &str, nuki: Value, with_igloohome: bool) -> Harness {
    let config = WorldConfig {
        nuki: Some(serde_json::from_value(nuki).expect("nuki world")),
        igloohome: with_igloohome.then(|| serde_json::from_value(world()).expect("igloohome world")),
        ..Default::default()
    };
    Harness::start(&runtime(), config, t(start), 15).expect("harness starts")
}

pub fn nuki_harness(start: &str) -> Harness {
    harness_with(start, nuki_world(), false)
}

/// One action on the harness at its current instant.
pub fn act(h: &mut Harness, v: Value) -> Result<Value, String> {
    let action: Action = serde_json::from_value(v).expect("action");
    h.apply(&action)
}

/// Advances to `at` (ticking on the way) and applies the step, which must succeed.
pub fn apply_at(h: &mut Harness, v: Value) -> Value {
    let at = v["at"].as_str().expect("step has `at`").to_string();
    h.advance_to(t(&at));
    let mut action = v;
    action.as_object_mut().expect("step").remove("at");
    act(h, action).unwrap_or_else(|e| panic!("{at}: {e}"))
}

pub fn nuki_stub(h: &Harness) -> &Nuki {
    h.world.nuki().expect("the world has a Nuki stub")
}

/// Requests Nuki received at `endpoint` (`"auth_create"`, ...).
pub fn nuki_count(counts: &host_harness::stubs::HttpCounts, endpoint: &str) -> u64 {
    counts.by_endpoint.get(&format!("nuki.{endpoint}")).copied().unwrap_or_else(|| panic!("nuki.{endpoint} counted"))
}

/// The PIN records of one booking (its id is in the access name).
pub fn of_booking<'a>(pins: &'a [PinRecord], booking: &str) -> Vec<&'a PinRecord> {
    pins.iter().filter(|p| p.access_name.contains(&format!("({booking})"))).collect()
}

/// Nuki's keypad rule (R8): six digits 1-9, not starting with "12".
pub fn assert_nuki_pin(pin: &str) {
    assert_eq!(pin.len(), 6, "six digits: {pin}");
    assert!(pin.bytes().all(|b| (b'1'..=b'9').contains(&b)), "digits 1-9 only: {pin}");
    assert!(!pin.starts_with("12"), "never starts with 12: {pin}");
}

/// The plugin's code status for `booking` (what the dashboard shows).
pub fn status_of(h: &Harness, booking: &str) -> host_harness::api::CodeStatus {
    h.plugin.booking_status(booking).expect("no trap").expect("status")
}

/// What `{{smartlock_code}}` renders to right now.
pub fn rendered(h: &mut Harness, booking: &str) -> String {
    let v = act(h, json!({"do": "render", "booking": booking, "template": "{{smartlock_code}}"})).expect("render");
    v["output"].as_str().expect("output").to_string()
}

// ------------------------------------------- rule tests (R5-R21) helpers

/// Two more keypad locks, online, for tests that need a lock per setting.
pub const N4: &str = "18205286143";
pub const N5: &str = "18205286152";

/// [`nuki_world`] plus N4 and N5 (keypad, online).
pub fn nuki_world_more_locks() -> Value {
    let mut world = nuki_world();
    let locks = world["locks"].as_array_mut().expect("locks");
    locks.push(json!({"id": N4, "name": "Garden door", "keypad": true, "online": true}));
    locks.push(json!({"id": N5, "name": "Studio door", "keypad": true, "online": true}));
    world
}

/// A property `id` in `tz` with default times `(check_in, check_out)`, and
/// the Nuki `lock` assigned to it with the settings, all at `at`.
pub fn nuki_property(
    at: &str,
    id: &str,
    tz: &str,
    times: (Option<&str>, Option<&str>),
    lock: &str,
    days_before: i64,
    margin: i64,
) -> Vec<Value> {
    vec![property(at, id, tz, times.0, times.1), assign_nuki(at, id, lock, days_before, margin)]
}

/// A Nuki harness on `nuki`, connected at `start`, with `steps` applied.
pub fn nuki_harness_with_steps(start: &str, nuki: Value, steps: Vec<Value>) -> Harness {
    let mut h = harness_with(start, nuki, false);
    apply_at(&mut h, connect_nuki(start));
    for s in steps {
        apply_at(&mut h, s);
    }
    h
}

/// [`run_nuki`] as a host that ignores wake-ups: regular 15-minute ticks only.
pub fn run_nuki_without_wake_ups(name: &str, start: &str, steps: Vec<Value>) -> Report {
    run_file(
        json!({"name": name, "start": start, "tick_minutes": 15, "wake_ups": false, "nuki": nuki_world(), "steps": steps}),
    )
}

/// The one PIN record of `booking` (panics if there is none or several).
pub fn only_pin<'a>(pins: &'a [PinRecord], booking: &str) -> &'a PinRecord {
    let of = of_booking(pins, booking);
    assert_eq!(of.len(), 1, "one code of {booking} ever on a lock: {pins:?}");
    of[0]
}

/// The window a PIN record holds, as RFC 3339 UTC.
pub fn window_of(p: &PinRecord) -> (String, String) {
    (utc(p.start), utc(p.end))
}

/// Lock-side truth: `p`'s PIN opens its lock from `start` (inclusive) to
/// `end` (exclusive), and not a minute outside.
pub fn assert_opens_from_to(nuki: &Nuki, p: &PinRecord, start: &str, end: &str) {
    let (start, end) = (t(start), t(end));
    let opens = |at: i64| nuki.opens(&p.lock, &p.pin, at);
    assert!(!opens(start - 60), "{}: closed a minute before {}", p.access_name, utc(start));
    assert!(opens(start), "{}: opens at {}", p.access_name, utc(start));
    assert!(opens(end - 60), "{}: opens a minute before {}", p.access_name, utc(end));
    assert!(!opens(end), "{}: closed at {}", p.access_name, utc(end));
}

/// Advances to `until`, returning the instant of every `auth_create`
/// request Nuki received on the way (one entry per request, from the
/// stub's own counter read after each tick).
pub fn create_attempts_until(h: &mut Harness, until: &str) -> Vec<i64> {
    requests_until(h, "nuki.auth_create", until)
}

/// What the plugin answers for the message variable `name` of `booking`.
pub fn variable(h: &Harness, name: &str, booking: &str) -> Option<String> {
    h.plugin.render_variable(name, booking).expect("no trap")
}

/// `attempts` (instants, from [`create_attempts_until`]) start at `first`,
/// follow each other hourly, and stop within the hour before `until`.
pub fn assert_at_once_then_hourly_until(attempts: &[i64], first: &str, until: &str) {
    let shown: Vec<String> = attempts.iter().map(|&a| utc(a)).collect();
    assert_eq!(shown.first().map(String::as_str), Some(first), "tried at once: {shown:?}");
    assert_hourly(attempts);
    let last = *attempts.last().expect("attempts");
    assert!(last >= t(until) - 3600 && last < t(until), "the last attempt within the hour before {until}: {shown:?}");
}

/// A booking of Ana Silva with negotiated times (`None`: not negotiated).
pub fn booking_at_times(
    at: &str,
    id: &str,
    property: &str,
    dates: (&str, &str),
    times: (Option<&str>, Option<&str>),
) -> Value {
    let mut negotiated = booking(at, id, property, dates.0, dates.1);
    negotiated["booking"]["check_in_time"] = json!(times.0);
    negotiated["booking"]["check_out_time"] = json!(times.1);
    negotiated
}

/// `booking`'s one code holds the window `start`..`end` and opens its lock
/// exactly then ([`assert_opens_from_to`]).
pub fn assert_holds<'a>(nuki: &Nuki, pins: &'a [PinRecord], booking: &str, start: &str, end: &str) -> &'a PinRecord {
    let p = only_pin(pins, booking);
    assert_eq!(window_of(p), (start.to_string(), end.to_string()), "{booking}");
    assert_opens_from_to(nuki, p, start, end);
    p
}

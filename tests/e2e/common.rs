//! Shared set-up: one compiled plugin per test process, scenario builders
//! and time helpers. Every test judges the stub's lock-side truth.

use std::sync::{Mutex, OnceLock};

use chrono::DateTime;
use host_harness::scenario::{self, Harness, Report, RunOptions, Scenario};
use host_harness::Runtime;
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "demo-id";
/// Distinctive, so that R2 can look for it anywhere.
pub const SECRET: &str = "s3cr3t-Zq81-never-shown";

/// The plugin, compiled once for the whole test process.
pub fn runtime() -> Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            capture_logs();
            Runtime::new(host_harness::default_runtime_config()).expect("the plugin component loads")
        })
        .clone()
}

/// Every log line of the process (harness and plugin), for R2.
pub fn logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

fn log_buffer() -> &'static Mutex<Vec<u8>> {
    static BUF: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    BUF.get_or_init(|| Mutex::new(Vec::new()))
}

struct BufWriter;

impl std::io::Write for BufWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        log_buffer().lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace,wasmtime=info,cranelift=info"))
        .with_writer(|| BufWriter)
        .with_ansi(false)
        .try_init();
}

/// Unix seconds of an RFC 3339 instant.
pub fn t(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("bad instant {s}: {e}")).timestamp()
}

pub fn utc(secs: i64) -> String {
    scenario::utc(secs)
}

/// The standard igloohome account: L1..L4 behind bridges B1 (L1, L3) and
/// B2 (L2, L4); L5 has no bridge.
pub fn world() -> Value {
    json!({
        "accounts": [{"client_id": CLIENT_ID, "client_secret": SECRET, "name": "Sea View Rentals"}],
        "locks": [
            {"id": "L1", "name": "Front door", "bridge": "B1"},
            {"id": "L2", "name": "Back door", "bridge": "B2"},
            {"id": "L3", "name": "Garden door", "bridge": "B1"},
            {"id": "L4", "name": "Studio door", "bridge": "B2"},
            {"id": "L5", "name": "Shed", "bridge": null}
        ],
        "bridges": [
            {"id": "B1", "name": "Hall bridge", "online": true},
            {"id": "B2", "name": "Yard bridge", "online": true}
        ]
    })
}

/// A step at an instant.
pub fn step(at: &str, action: &str, fields: Value) -> Value {
    let mut v = json!({"at": at, "do": action});
    if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), fields) {
        obj.extend(extra);
    }
    v
}

pub fn connect(at: &str) -> Value {
    step(at, "connect", json!({"client_id": CLIENT_ID, "client_secret": SECRET}))
}

pub fn property(at: &str, id: &str, tz: &str, check_in: Option<&str>, check_out: Option<&str>) -> Value {
    step(
        at,
        "property",
        json!({"property": {"id": id, "name": format!("Property {id}"), "timezone": tz, "check_in_time": check_in, "check_out_time": check_out}}),
    )
}

pub fn assign(at: &str, property: &str, lock: &str, days_before: i64, margin: i64) -> Value {
    step(
        at,
        "assign",
        json!({"property": property, "lock": lock, "days_before": days_before, "margin_minutes": margin}),
    )
}

pub fn booking(at: &str, id: &str, property: &str, check_in: &str, check_out: &str) -> Value {
    booking_with(
        at,
        json!({"id": id, "property": property, "guest_name": "Ana Silva", "check_in": check_in, "check_out": check_out, "status": "confirmed"}),
    )
}

pub fn booking_with(at: &str, booking: Value) -> Value {
    step(at, "booking", json!({"booking": booking}))
}

pub fn bridge(at: &str, id: &str, online: bool) -> Value {
    step(at, "bridge", json!({"bridge": id, "online": online}))
}

pub fn end(at: &str) -> Value {
    step(at, "end", json!({}))
}

/// Connect, one property in `tz` and lock L1 assigned, from `start`.
pub fn paris_setup(start: &str, days_before: i64, margin: i64) -> Vec<Value> {
    let s = t(start);
    vec![
        connect(&utc(s)),
        property(&utc(s + 60), "p1", "Europe/Paris", None, None),
        assign(&utc(s + 120), "p1", "L1", days_before, margin),
    ]
}

/// Runs a scenario built from `steps` on the standard world.
pub fn run(name: &str, start: &str, steps: Vec<Value>) -> Report {
    run_file(json!({"name": name, "start": start, "tick_minutes": 15, "igloohome": world(), "steps": steps}))
}

/// [`run`] as a host that ignores wake-ups would: regular ticks only.
pub fn run_without_wake_ups(name: &str, start: &str, steps: Vec<Value>) -> Report {
    run_file(
        json!({"name": name, "start": start, "tick_minutes": 15, "wake_ups": false, "igloohome": world(), "steps": steps}),
    )
}

pub fn run_file(file: Value) -> Report {
    let scenario = Scenario::parse(&file.to_string()).unwrap_or_else(|e| panic!("scenario is valid: {e}"));
    scenario::run(&scenario, &RunOptions { runtime: Some(runtime()) }).expect("scenario runs")
}

/// A harness on the standard world, for tests that look inside mid-run.
pub fn harness(start: &str) -> Harness {
    let world = host_harness::stubs::WorldConfig {
        igloohome: Some(serde_json::from_value(world()).expect("world")),
        ..Default::default()
    };
    Harness::start(&runtime(), world, t(start), 15).expect("harness starts")
}

/// Applies `steps` to `h` in order, advancing (and ticking) to each one's
/// `at` first; every step must succeed.
pub fn apply_steps(h: &mut Harness, steps: Vec<Value>) {
    for s in steps {
        let at = s["at"].as_str().expect("step has `at`").to_owned();
        h.advance_to(t(&at));
        let mut action = s;
        action.as_object_mut().expect("step").remove("at");
        h.apply(&serde_json::from_value(action).expect("action")).unwrap_or_else(|e| panic!("{at}: {e}"));
    }
}

/// Advances `h` to `until`, returning the instant of every request the
/// stubs counted under `endpoint` on the way (one entry per request, read
/// from the stubs' own counters after each tick). The stubs list every
/// endpoint they know, so a name they do not know is a mistake: it panics.
pub fn requests_until(h: &mut Harness, endpoint: &str, until: &str) -> Vec<i64> {
    let world = h.world.clone();
    let count = move || -> u64 {
        let counts = world.http_counts();
        *counts
            .by_endpoint
            .get(endpoint)
            .unwrap_or_else(|| panic!("no endpoint {endpoint:?} in the stubs' counts: {:?}", counts.by_endpoint.keys()))
    };
    let mut seen = count();
    let mut at = Vec::new();
    let now = h.world.clone();
    h.advance_with(t(until), |_| {
        let c = count();
        at.extend(std::iter::repeat_n(now.now(), (c - seen) as usize));
        seen = c;
    });
    at
}

/// Consecutive `attempts` (instants) are about an hour apart: 55 to 65
/// minutes, neither a tick's 15 minutes nor a skipped hour.
pub fn assert_hourly(attempts: &[i64]) {
    let shown: Vec<String> = attempts.iter().map(|&a| utc(a)).collect();
    assert!(attempts.len() >= 2, "at least two attempts to space: {shown:?}");
    for pair in attempts.windows(2) {
        assert!((55 * 60..=65 * 60).contains(&(pair[1] - pair[0])), "about an hour apart: {shown:?}");
    }
}

/// SPEC R8 re-stated here, apart from the plugin's own check: a trivially
/// guessable PIN is one digit six times (111111) or a straight run, each
/// digit one more (123456) or one less (987654) than the one before.
pub fn guessable_by_spec(pin: &str) -> bool {
    let d = pin.as_bytes();
    let all_steps = |step: i16| d.windows(2).all(|w| i16::from(w[1]) - i16::from(w[0]) == step);
    all_steps(0) || all_steps(1) || all_steps(-1)
}

/// Asserts that every step succeeded.
pub fn assert_steps_ok(report: &Report) {
    for s in &report.steps {
        assert!(s.ok, "step {} at {} failed: {:?}", s.kind, s.at, s.error);
    }
}

/// No two PINs of one booking on a lock at once, and no PIN twice on a
/// lock at once: the core safety property.
pub fn assert_no_overlapping_duplicates(report: &Report) {
    for (i, a) in report.pins.iter().enumerate() {
        for b in report.pins.iter().skip(i + 1) {
            if a.lock != b.lock {
                continue;
            }
            let a_end = a.removed_at.unwrap_or(i64::MAX);
            let b_end = b.removed_at.unwrap_or(i64::MAX);
            let overlap = a.added_at < b_end && b.added_at < a_end;
            assert!(!(overlap && a.pin == b.pin), "PIN {} twice on {} at once: {a:?} {b:?}", a.pin, a.lock);
            assert!(
                !(overlap && a.access_name == b.access_name),
                "two PINs for one booking on {} at once: {a:?} {b:?}",
                a.lock
            );
        }
    }
}

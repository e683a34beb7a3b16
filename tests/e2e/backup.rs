//! R25: backup codes. A lock with `backup_codes` N keeps N spare codes
//! (access name `Backup code N`, the report's kind "backup") while it can be
//! reached, each valid for 30 days from when it is made and moved forward
//! before fewer than 7 days are left. A guest whose own code could not be
//! set by the eve gets one (a brand without offline codes: Nuki here); once
//! the lock can be reached it is narrowed to the stay and named after the
//! guest (kind "code"), deleted after check-out + margin and replaced.
//! Judged on the stub's lock-side truth and `try_pin`.

use host_harness::scenario::{Report, StepReport};
use host_harness::stubs::{PinKind, PinRecord};
use serde_json::{json, Value};

use crate::common::*;

const LOCK: &str = "18205286300";
const TOKEN: &str = "nuki-backup-token";
const DAY: i64 = 24 * 3600;

fn opens(s: &StepReport) -> bool {
    let result = s.result.clone().unwrap_or(Value::Null);
    result["opens"].as_bool().unwrap_or_else(|| panic!("try_pin result: {result}"))
}

fn backups(report: &Report) -> Vec<&PinRecord> {
    report.pins.iter().filter(|p| p.kind == PinKind::Backup).collect()
}

/// `examples/backup-nuki.json`: Vienna (15:00 / 11:00, margin 30), two
/// spare codes from May 1; stay-1 May 12-14 (window 12:30Z-09:30Z), the
/// lock unreachable from May 8 20:00Z to May 12 16:00Z, the eve's alert at
/// 18:00 Vienna = 16:00Z on May 11; the run goes on to June 1, past the
/// first spare codes' 30 days.
pub fn judge_backup_nuki(report: &Report) {
    let steps = &report.steps;
    // R25: out of range is refused naming the field, and saves nothing.
    let refused = steps[2].error.clone().unwrap_or_default();
    assert!(!steps[2].ok && refused.contains("backup_codes") && refused.contains("between 0 and 5"), "{refused}");
    for (i, s) in steps.iter().enumerate().filter(|(i, _)| *i != 2) {
        assert!(s.ok, "step {} ({}) failed: {:?}", i + 1, s.kind, s.error);
    }
    assert_eq!(steps[3].result.as_ref().unwrap()["backup_codes"], 2);
    assert_no_overlapping_duplicates(report);

    // Two spare codes from the start, each for 30 days.
    let pool = backups(report);
    let first: Vec<&PinRecord> = pool.iter().copied().filter(|p| p.added_at < t("2026-05-01T09:00:00Z")).collect();
    assert_eq!(first.len(), 2, "two spare codes at once: {pool:?}");
    for p in &first {
        assert!(p.access_name.starts_with("Backup code"), "{p:?}");
        assert!((p.end - p.start - 30 * DAY).abs() <= 3600, "valid for 30 days: {p:?}");
        assert!(!guessable_by_spec(&p.pin), "R8: {p:?}");
    }

    // The eve: one alert, naming one of the spare codes; the message and
    // the status give it to the guest.
    assert_eq!(report.emails.len(), 1, "{:?}", report.emails);
    let alert = &report.emails[0];
    assert_eq!(utc(alert.at), "2026-05-11T16:00:00Z");
    let given: Vec<&PinRecord> = first.iter().copied().filter(|p| alert.body.contains(&p.pin)).collect();
    assert_eq!(given.len(), 1, "the alert names one spare code: {}", alert.body);
    let pin = given[0].pin.clone();
    assert_eq!(report.steps[6].result.as_ref().unwrap()["output"], format!("Hallo Lena, your door code is {pin}."));
    let status = report.steps[7].result.clone().unwrap();
    assert_eq!((status["fallback"]["kind"].clone(), status["fallback"]["pin"].clone()), (json!("backup"), json!(pin)));
    assert_eq!(status["alert_sent"], true);

    // Once the lock is back: narrowed to the stay, named after the guest.
    let narrowed: Vec<&PinRecord> = report.pins.iter().filter(|p| p.pin == pin && p.kind == PinKind::Code).collect();
    assert_eq!(narrowed.len(), 1, "{:?}", report.pins);
    let n = narrowed[0];
    assert!(n.access_name.contains("(stay-1)"), "{n:?}");
    assert_eq!((utc(n.start), utc(n.end)), ("2026-05-12T12:30:00Z".into(), "2026-05-14T09:30:00Z".into()));
    assert!(n.added_at >= t("2026-05-12T16:00:00Z") && n.added_at <= t("2026-05-12T17:00:00Z"), "{n:?}");
    let gone = n.removed_at.expect("deleted after check-out");
    assert!(gone >= t("2026-05-14T09:30:00Z") && gone <= t("2026-05-14T09:45:00Z"), "{n:?}");
    // The guest's code opened during the stay (lock offline, then back)
    // and not after check-out.
    let tried: Vec<bool> = report.step("try_pin").into_iter().map(opens).collect();
    assert_eq!(tried, [true, true, false]);

    // Replaced by a fresh spare code once deleted; never the given PIN.
    assert!(
        pool.iter().any(|p| p.added_at >= gone && p.pin != pin && p.added_at <= gone + DAY),
        "a fresh spare code after check-out: {pool:?}"
    );
    assert!(pool.iter().filter(|p| p.added_at > t("2026-05-12T16:00:00Z")).all(|p| p.pin != pin), "{pool:?}");

    // Rolled forward: no spare code ever has fewer than 7 days left while
    // on the lock (a tick's slack allowed), and two are there at the end.
    for p in &pool {
        let until = p.removed_at.unwrap_or(t("2026-06-01T00:00:00Z"));
        assert!(p.end - until >= 7 * DAY - 3600, "moved forward before 7 days were left: {p:?}");
    }
    let at_end: Vec<&PinRecord> = pool.iter().copied().filter(|p| p.removed_at.is_none()).collect();
    assert_eq!(at_end.len(), 2, "{pool:?}");
    assert!(pool.len() >= 4, "the two first, the replacement and the other one moved: {pool:?}");
}

fn nuki_file(name: &str, steps: Vec<Value>) -> Value {
    json!({
        "name": name,
        "start": "2026-05-01T08:00:00Z",
        "tick_minutes": 15,
        "nuki": {
            "accounts": [{"api_token": TOKEN, "name": "Alpine Stays"}],
            "locks": [{"id": LOCK, "name": "Chalet door", "keypad": true, "online": true}]
        },
        "steps": steps,
    })
}

fn assign_backups(at: &str, n: Value) -> Value {
    step(
        at,
        "assign",
        json!({"property": "chalet", "lock": LOCK, "provider": "nuki", "days_before": 3, "margin_minutes": 30, "backup_codes": n}),
    )
}

fn chalet_setup() -> Vec<Value> {
    vec![
        step("2026-05-01T08:00:00Z", "connect", json!({"provider": "nuki", "api_token": TOKEN})),
        step(
            "2026-05-01T08:01:00Z",
            "property",
            json!({"property": {"id": "chalet", "name": "Chalet", "timezone": "Europe/Vienna", "check_in_time": "15:00", "check_out_time": "11:00"}}),
        ),
    ]
}

fn stay(at: &str, id: &str, check_in: &str, check_out: &str) -> Value {
    booking_with(
        at,
        json!({"id": id, "property": "chalet", "guest_name": "Lena Huber", "check_in": check_in, "check_out": check_out, "status": "confirmed"}),
    )
}

#[test]
fn r25_nuki_backup_codes_out_of_range_are_refused_naming_the_field_and_zero_keeps_no_pool() {
    let mut steps = chalet_setup();
    steps.push(assign_backups("2026-05-01T08:02:00Z", json!(-1)));
    steps.push(assign_backups("2026-05-01T08:02:30Z", json!(6)));
    steps.push(assign_backups("2026-05-01T08:03:00Z", json!(0)));
    steps.push(stay("2026-05-01T09:00:00Z", "stay-1", "2026-05-12", "2026-05-14"));
    steps.push(step("2026-05-08T20:00:00Z", "bridge", json!({"provider": "nuki", "bridge": LOCK, "online": false})));
    steps.push(step("2026-05-11T16:05:00Z", "status", json!({"booking": "stay-1"})));
    steps.push(end("2026-05-15T00:00:00Z"));
    let report = run_file(nuki_file("r25 range and zero", steps));
    for s in &report.steps[2..4] {
        let error = s.error.clone().unwrap_or_default();
        assert!(!s.ok && error.contains("backup_codes") && error.contains("between 0 and 5"), "{error}");
    }
    for s in report.steps.iter().skip(4) {
        assert!(s.ok, "{s:?}");
    }
    let assigned = report.steps[4].result.clone().unwrap();
    assert!(assigned.get("backup_codes").is_none(), "0 is not reported: {assigned}");
    assert!(backups(&report).is_empty(), "no spare code ever: {:?}", report.pins);
    // Without a pool the eve is R12 unchanged: the alert, no fallback.
    assert_eq!(report.emails.len(), 1);
    let status = report.step("status")[0].result.clone().unwrap();
    assert_eq!(status["fallback"], Value::Null, "{status}");
}

#[test]
fn r25_nuki_a_backup_code_is_never_given_to_two_bookings() {
    // Two guests back to back, the lock unreachable through both eves: each
    // gets its own spare code from the pool of two.
    let mut steps = chalet_setup();
    steps.push(assign_backups("2026-05-01T08:02:00Z", json!(2)));
    steps.push(stay("2026-05-01T09:00:00Z", "stay-1", "2026-05-12", "2026-05-13"));
    steps.push(stay("2026-05-01T09:01:00Z", "stay-2", "2026-05-13", "2026-05-15"));
    steps.push(step("2026-05-08T20:00:00Z", "bridge", json!({"provider": "nuki", "bridge": LOCK, "online": false})));
    steps.push(step("2026-05-12T16:05:00Z", "status", json!({"booking": "stay-1"})));
    steps.push(step("2026-05-12T16:06:00Z", "status", json!({"booking": "stay-2"})));
    steps.push(step("2026-05-13T14:00:00Z", "try_pin", json!({"lock": LOCK, "provider": "nuki", "booking": "stay-2"})));
    steps.push(end("2026-05-16T00:00:00Z"));
    let report = run_file(nuki_file("r25 given once", steps));
    assert_steps_ok(&report);
    let statuses = report.step("status");
    let pin = |s: &StepReport| {
        let v = s.result.clone().unwrap();
        assert_eq!(v["fallback"]["kind"], "backup", "{v}");
        v["fallback"]["pin"].as_str().expect("pin").to_owned()
    };
    let (one, two) = (pin(statuses[0]), pin(statuses[1]));
    assert_ne!(one, two, "each booking its own backup code");
    assert!(opens(report.step("try_pin")[0]));
    assert_eq!(report.emails.len(), 2, "{:?}", report.emails);
    assert!(report.emails[0].body.contains(&one) && !report.emails[0].body.contains(&two));
}

//! R21, time to code: the plugin's wake-ups get a code that is due now onto
//! the lock within about a minute, jobs are looked at when the bridge should
//! have done them, and a burst is carried out at the bridge's own pace. A
//! host that ignores wake-ups still ends correctly at its regular ticks.

use serde_json::{json, Value};

use crate::common::*;

fn render(at: &str, booking: &str) -> Value {
    step(at, "render", json!({"booking": booking, "template": "Code: {{smartlock_code}}"}))
}

/// A booking made at 19:07 on the eve of check-in (Paris), bridge online.
fn last_minute_steps() -> Vec<Value> {
    let mut steps = paris_setup("2026-03-01T08:00:00Z", 5, 30);
    steps.push(booking("2026-03-19T18:07:00Z", "late", "p1", "2026-03-20", "2026-03-22"));
    steps.push(render("2026-03-19T18:08:30Z", "late"));
    steps.push(end("2026-03-20T00:00:00Z"));
    steps
}

#[test]
fn r21_a_last_minute_booking_is_on_the_lock_within_a_minute_and_renders_within_90_s() {
    let report = run("r21 last minute", "2026-03-01T08:00:00Z", last_minute_steps());
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 1);
    let event = t("2026-03-19T18:07:00Z");
    let added = report.pins[0].added_at;
    assert!(added - event <= 60, "on the lock {} s after the booking", added - event);
    let pin = &report.pins[0].pin;
    assert_eq!(report.step("render")[0].result.as_ref().expect("render")["output"], format!("Code: {pin}"));
    assert!(report.emails.is_empty(), "{:?}", report.emails);
}

#[test]
fn r21_without_wake_ups_the_last_minute_code_comes_at_the_next_regular_tick() {
    let report = run_without_wake_ups("r21 last minute, regular ticks", "2026-03-01T08:00:00Z", last_minute_steps());
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 1);
    assert_eq!(utc(report.pins[0].added_at), "2026-03-19T18:15:30Z");
    // Queued at 18:15, confirmed only by the 18:30 tick: nothing to render at 18:08:30.
    assert_eq!(report.step("render")[0].result.as_ref().expect("render")["output"], "Code: {{smartlock_code}}");
}

fn assignment_steps() -> Vec<Value> {
    vec![
        connect("2026-03-01T08:00:00Z"),
        property("2026-03-01T08:01:00Z", "p1", "Europe/Paris", None, None),
        booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"),
        // 04:04 on March 17: creation was due March 15, so at once.
        assign("2026-03-17T03:04:00Z", "p1", "L1", 5, 30),
        end("2026-03-18T00:00:00Z"),
    ]
}

#[test]
fn r21_an_assignment_that_makes_a_booking_due_gets_its_code_within_90_s() {
    let report = run("r21 assign", "2026-03-01T08:00:00Z", assignment_steps());
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 1);
    let added = report.pins[0].added_at - t("2026-03-17T03:04:00Z");
    assert!((0..=90).contains(&added), "on the lock {added} s after the assignment");
    let report = run_without_wake_ups("r21 assign, regular ticks", "2026-03-01T08:00:00Z", assignment_steps());
    assert_eq!(report.pins.len(), 1);
    assert_eq!(utc(report.pins[0].added_at), "2026-03-17T03:15:30Z");
}

/// Five locks on one bridge (the most a bridge serves), five bookings each,
/// all made after their creation time: 25 codes due at once.
fn burst_file(wake_ups: bool) -> Value {
    let locks: Vec<Value> =
        (1..=5).map(|i| json!({"id": format!("L{i}"), "name": format!("Door {i}"), "bridge": "B1"})).collect();
    let mut steps = vec![connect("2026-03-10T08:00:00Z")];
    for i in 1..=5 {
        steps.push(property("2026-03-10T08:01:00Z", &format!("p{i}"), "Europe/Paris", None, None));
    }
    for i in 1..=5 {
        steps.push(assign("2026-03-10T08:02:00Z", &format!("p{i}"), &format!("L{i}"), 14, 30));
    }
    for i in 1..=5 {
        for j in 1..=5 {
            // Stays of one night, a week apart on each lock.
            let (d_in, d_out) = (12 + j * 2, 13 + j * 2);
            steps.push(booking(
                "2026-03-10T09:00:00Z",
                &format!("b{i}{j}"),
                &format!("p{i}"),
                &format!("2026-03-{d_in:02}"),
                &format!("2026-03-{d_out:02}"),
            ));
        }
    }
    steps.push(end("2026-03-30T00:00:00Z"));
    json!({
        "name": "r21 burst", "start": "2026-03-10T08:00:00Z", "tick_minutes": 15, "wake_ups": wake_ups,
        "igloohome": {
            "accounts": [{"client_id": CLIENT_ID, "client_secret": SECRET, "name": "Sea View Rentals"}],
            "locks": locks,
            "bridges": [{"id": "B1", "name": "Hall bridge", "online": true}]
        },
        "steps": steps
    })
}

/// Requests after the set-up (connect and assignments), per booking.
fn requests_per_booking(report: &host_harness::scenario::Report) -> f64 {
    // Set-up: the connect's token, and the device lists of the connect and
    // the five assignments (three pages each at the stub's page size of 2);
    // no device list is fetched after that.
    let device_lists = report.http.by_endpoint["devices"];
    assert_eq!(device_lists, 6 * 3, "{:?}", report.http);
    (report.http.requests - 1 - device_lists) as f64 / 25.0
}

#[test]
fn r21_25_codes_on_one_bridge_reach_the_lock_at_its_pace_within_15_minutes() {
    let report = run_file(burst_file(true));
    assert_steps_ok(&report);
    assert_no_overlapping_duplicates(&report);
    assert_eq!(report.pins.len(), 25, "{:?}", report.pins);
    let last = report.pins.iter().map(|p| p.added_at).max().expect("pins");
    let minutes = (last - t("2026-03-10T09:00:00Z")) as f64 / 60.0;
    assert!(minutes <= 15.0, "the last code reached its lock {minutes:.1} minutes after the bookings");
    assert!(report.pins.iter().all(|p| p.removed_at.is_some()), "every code deleted after its stay");
    let per_booking = requests_per_booking(&report);
    assert!(per_booking <= 4.5, "{per_booking:.2} requests per booking over their whole lives: {:?}", report.http);
}

#[test]
fn r21_without_wake_ups_the_burst_still_ends_correctly() {
    let report = run_file(burst_file(false));
    assert_steps_ok(&report);
    assert_no_overlapping_duplicates(&report);
    assert_eq!(report.pins.len(), 25);
    assert!(report.pins.iter().all(|p| p.removed_at.is_some()));
    assert!(report.emails.is_empty(), "{:?}", report.emails);
}

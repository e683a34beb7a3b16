//! R14-R18: changes, cancellations, removal after check-out, lock changes
//! and disconnect.

use serde_json::json;

use crate::common::*;

fn base() -> Vec<serde_json::Value> {
    let mut steps = paris_setup("2026-03-01T08:00:00Z", 5, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps
}

/// The booking's code moved: old entry removed, new one with the same PIN.
fn assert_moved(report: &host_harness::scenario::Report, changed_at: &str, start: &str, end: &str) {
    assert_steps_ok(report);
    let pins = report.pins_on("L1");
    assert_eq!(pins.len(), 2, "old and new entry: {pins:?}");
    let (old, new) = (pins[0], pins[1]);
    assert_eq!(old.pin, new.pin, "the guest keeps the PIN");
    let removed = old.removed_at.expect("old entry gone");
    assert!(
        removed >= t(changed_at) && removed <= t(changed_at) + 15 * 60 + 30,
        "old removed promptly: {}",
        utc(removed)
    );
    assert!(new.added_at >= removed, "never two entries at once");
    assert!(new.added_at <= removed + 15 * 60 + 30, "new added promptly: {}", utc(new.added_at));
    assert_eq!((utc(new.start), utc(new.end)), (start.to_string(), end.to_string()));
    assert_no_overlapping_duplicates(report);
}

#[test]
fn r14_date_change_after_creation_moves_the_code_keeping_the_pin() {
    let mut steps = base();
    steps.push(booking("2026-03-16T10:00:00Z", "b1", "p1", "2026-03-21", "2026-03-24"));
    steps.push(step("2026-03-16T12:00:00Z", "render", json!({"booking": "b1", "template": "{{smartlock_code}}"})));
    steps.push(end("2026-03-20T00:00:00Z"));
    let report = run("r14 dates", "2026-03-01T08:00:00Z", steps);
    assert_moved(&report, "2026-03-16T10:00:00Z", "2026-03-21T13:30:00Z", "2026-03-24T10:30:00Z");
    let rendered = report.step("render")[0].result.clone().unwrap();
    assert_eq!(rendered["output"], report.pins[0].pin.as_str());
}

#[test]
fn r14_margin_change_after_creation_moves_the_code() {
    let mut steps = base();
    steps.push(assign("2026-03-16T10:00:00Z", "p1", "L1", 5, 120));
    steps.push(end("2026-03-20T00:00:00Z"));
    let report = run("r14 margin", "2026-03-01T08:00:00Z", steps);
    assert_moved(&report, "2026-03-16T10:00:00Z", "2026-03-20T12:00:00Z", "2026-03-22T12:00:00Z");
}

#[test]
fn r14_property_default_time_change_moves_the_code() {
    let mut steps = base();
    steps.push(property("2026-03-16T10:00:00Z", "p1", "Europe/Paris", Some("17:00"), Some("10:00")));
    steps.push(end("2026-03-20T00:00:00Z"));
    let report = run("r14 property", "2026-03-01T08:00:00Z", steps);
    assert_moved(&report, "2026-03-16T10:00:00Z", "2026-03-20T15:30:00Z", "2026-03-22T09:30:00Z");
}

#[test]
fn r14_timezone_change_moves_the_code() {
    let mut steps = base();
    steps.push(property("2026-03-16T10:00:00Z", "p1", "Europe/London", None, None));
    steps.push(end("2026-03-20T00:00:00Z"));
    let report = run("r14 timezone", "2026-03-01T08:00:00Z", steps);
    assert_moved(&report, "2026-03-16T10:00:00Z", "2026-03-20T14:30:00Z", "2026-03-22T11:30:00Z");
}

#[test]
fn r14_change_before_creation_is_simply_rescheduled() {
    let mut steps = base();
    steps.push(booking("2026-03-10T10:00:00Z", "b1", "p1", "2026-03-25", "2026-03-27"));
    steps.push(end("2026-03-26T00:00:00Z"));
    let report = run("r14 reschedule", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 1);
    // March 20 00:00 Paris.
    assert_eq!(utc(report.pins[0].added_at), "2026-03-19T23:00:30Z");
    assert_eq!(utc(report.pins[0].start), "2026-03-25T13:30:00Z");
}

#[test]
fn r15_cancelled_before_creation_never_reaches_the_lock() {
    let mut steps = base();
    steps.push(booking_with("2026-03-10T10:00:00Z", json!({"id": "b1", "property": "p1", "check_in": "2026-03-20", "check_out": "2026-03-22", "status": "cancelled"})));
    steps.push(end("2026-03-25T00:00:00Z"));
    let report = run("r15 before", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    assert!(report.pins.is_empty());
    assert_eq!(report.http.by_endpoint["jobs"], 0);
}

#[test]
fn r15_cancelled_after_creation_is_deleted_at_the_next_tick() {
    let mut steps = base();
    steps.push(booking_with("2026-03-16T10:05:00Z", json!({"id": "b1", "property": "p1", "check_in": "2026-03-20", "check_out": "2026-03-22", "status": "cancelled"})));
    steps.push(step("2026-03-16T11:00:00Z", "render", json!({"booking": "b1", "template": "{{smartlock_code}}"})));
    steps.push(end("2026-03-25T00:00:00Z"));
    let report = run("r15 after", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 1);
    // The cancellation asks for a wake-up (R21): deleted by the tick right after it.
    assert_eq!(report.pins[0].removed_at.map(utc).as_deref(), Some("2026-03-16T10:05:30Z"));
    assert_eq!(report.step("render")[0].result.clone().unwrap()["output"], "{{smartlock_code}}");
}

#[test]
fn r16_code_deleted_after_check_out_plus_margin() {
    let mut steps = base();
    steps.push(end("2026-03-25T00:00:00Z"));
    let report = run("r16", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 1);
    let removed = report.pins[0].removed_at.expect("deleted");
    // End 10:30Z; the 10:30 tick queues the delete.
    assert_eq!(utc(removed), "2026-03-22T10:30:30Z");
}

#[test]
fn r16_a_failed_delete_is_retried_hourly() {
    // The stay ends 22 Mar 11:30 Paris (10:30Z); the bridge is off line
    // from 09:00Z to 14:20Z: the delete is tried at 10:30Z, then hourly.
    let mut h = harness("2026-03-01T08:00:00Z");
    let mut steps = base();
    steps.push(bridge("2026-03-22T09:00:00Z", "B1", false));
    apply_steps(&mut h, steps);
    requests_until(&mut h, "jobs", "2026-03-22T10:00:00Z");
    let attempts = requests_until(&mut h, "jobs", "2026-03-22T14:20:00Z");
    let shown: Vec<String> = attempts.iter().map(|&a| utc(a)).collect();
    assert_eq!(attempts.len(), 4, "10:30, 11:30, 12:30, 13:30: one an hour, not one per tick: {shown:?}");
    assert_eq!(shown[0].get(..16), Some("2026-03-22T10:30"), "the first at check-out + margin");
    assert_hourly(&attempts);
    apply_steps(&mut h, vec![bridge("2026-03-22T14:20:00Z", "B1", true)]);
    h.advance_to(t("2026-03-25T00:00:00Z"));
    let pins = h.world.pins();
    let removed = pins[0].removed_at.expect("deleted once the bridge is back");
    assert!(removed > t("2026-03-22T14:20:00Z") && removed <= t("2026-03-22T15:30:30Z"), "{}", utc(removed));
}

#[test]
fn r17_lock_change_moves_future_codes_and_leaves_a_guest_mid_stay_alone() {
    let mut steps = base();
    // b2 is mid-stay when the lock changes; b1's code is not created yet.
    steps.push(booking("2026-03-01T09:01:00Z", "b2", "p1", "2026-03-10", "2026-03-14"));
    steps.push(assign("2026-03-12T10:00:00Z", "p1", "L3", 5, 30));
    steps.push(end("2026-03-25T00:00:00Z"));
    let report = run("r17 change", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    let of = |lock: &str, booking: &str| {
        report
            .pins
            .iter()
            .filter(|p| p.lock == lock && p.access_name.contains(&format!("({booking})")))
            .collect::<Vec<_>>()
    };
    // Mid-stay: keeps L1 until check-out (March 14 11:30 local = 10:30Z).
    assert_eq!(of("L1", "b2").len(), 1);
    assert_eq!(of("L1", "b2")[0].removed_at.map(utc).as_deref(), Some("2026-03-14T10:30:30Z"));
    assert!(of("L3", "b2").is_empty());
    // Not started: created on L3 on the normal schedule (March 15 00:00 local).
    assert!(of("L1", "b1").is_empty(), "b1 was not created on L1 yet when the lock changed");
    let b1 = of("L3", "b1");
    assert_eq!(b1.len(), 1);
    assert_eq!(utc(b1[0].added_at), "2026-03-14T23:00:30Z");
}

#[test]
fn r17_lock_change_after_creation_uses_the_same_pin_on_the_new_lock() {
    let mut steps = base();
    steps.push(assign("2026-03-16T10:00:00Z", "p1", "L3", 5, 30));
    steps.push(end("2026-03-25T00:00:00Z"));
    let report = run("r17 same pin", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    let (l1, l3) = (report.pins_on("L1"), report.pins_on("L3"));
    assert_eq!((l1.len(), l3.len()), (1, 1));
    assert_eq!(l1[0].pin, l3[0].pin);
    assert!(l1[0].removed_at.expect("deleted from L1") <= l3[0].added_at);
}

#[test]
fn r17_unassign_deletes_future_codes_and_keeps_a_guest_mid_stay() {
    let mut steps = base();
    steps.push(booking("2026-03-01T09:01:00Z", "b2", "p1", "2026-03-14", "2026-03-18"));
    steps.push(step("2026-03-16T10:00:00Z", "unassign", json!({"property": "p1"})));
    steps.push(end("2026-03-25T00:00:00Z"));
    let report = run("r17 unassign", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    let of = |booking: &str| report.pins.iter().find(|p| p.access_name.contains(&format!("({booking})"))).expect("pin");
    assert_eq!(of("b1").removed_at.map(utc).as_deref(), Some("2026-03-16T10:00:30Z"));
    assert_eq!(
        of("b2").removed_at.map(utc).as_deref(),
        Some("2026-03-18T10:30:30Z"),
        "mid-stay keeps it until check-out"
    );
    assert_eq!(report.pins.len(), 2, "nothing new created");
}

#[test]
fn r18_disconnect_makes_no_vendor_call_and_leaves_codes_to_expire() {
    let mut h = harness("2026-03-01T08:00:00Z");
    let apply = |h: &mut host_harness::scenario::Harness, at: &str, v: serde_json::Value| {
        h.advance_to(t(at));
        h.apply(&serde_json::from_value(v).expect("action")).unwrap_or_else(|e| panic!("{at}: {e}"))
    };
    apply(&mut h, "2026-03-01T08:00:00Z", json!({"do": "connect", "client_id": CLIENT_ID, "client_secret": SECRET}));
    apply(
        &mut h,
        "2026-03-01T08:01:00Z",
        json!({"do": "property", "property": {"id": "p1", "name": "Sea View", "timezone": "Europe/Paris"}}),
    );
    apply(&mut h, "2026-03-01T08:02:00Z", json!({"do": "assign", "property": "p1", "lock": "L1"}));
    apply(
        &mut h,
        "2026-03-01T09:00:00Z",
        json!({"do": "booking", "booking": {"id": "b1", "property": "p1", "check_in": "2026-03-16", "check_out": "2026-03-18", "status": "confirmed"}}),
    );
    apply(
        &mut h,
        "2026-03-01T09:00:00Z",
        json!({"do": "booking", "booking": {"id": "b2", "property": "p1", "check_in": "2026-03-20", "check_out": "2026-03-22", "status": "confirmed"}}),
    );
    apply(
        &mut h,
        "2026-03-01T09:00:00Z",
        json!({"do": "booking", "booking": {"id": "b3", "property": "p1", "check_in": "2026-03-28", "check_out": "2026-03-30", "status": "confirmed"}}),
    );
    apply(&mut h, "2026-03-16T16:00:00Z", json!({"do": "disconnect"}));
    let requests_at_disconnect = h.world.http_counts().requests;
    // New bookings and changes after the disconnect do nothing either.
    apply(
        &mut h,
        "2026-03-17T09:00:00Z",
        json!({"do": "booking", "booking": {"id": "b4", "property": "p1", "check_in": "2026-03-19", "check_out": "2026-03-21", "status": "confirmed"}}),
    );
    apply(
        &mut h,
        "2026-03-17T09:00:00Z",
        json!({"do": "booking", "booking": {"id": "b2", "property": "p1", "check_in": "2026-03-20", "check_out": "2026-03-23", "status": "cancelled"}}),
    );
    h.advance_to(t("2026-04-05T00:00:00Z"));
    assert_eq!(h.world.http_counts().requests, requests_at_disconnect, "no vendor call after disconnect");
    let pins = h.world.pins();
    assert_eq!(pins.len(), 2, "b1 (mid-stay) and b2 (created) were on the lock: {pins:?}");
    assert!(pins.iter().all(|p| p.removed_at.is_none()), "left to expire naturally");
    assert_eq!(h.plugin.assignment("p1").unwrap().unwrap(), None, "assignments removed");
    assert!(h.plugin.accounts().unwrap().unwrap().is_empty());
    assert!(h.storage.get("acct/igloohome").unwrap().is_none(), "credentials erased");
    assert!(h.storage.get("token/igloohome").unwrap().is_none(), "token erased");
    let status = h.plugin.booking_status("b2").unwrap().unwrap();
    assert_eq!(status.state, host_harness::api::CodeState::LeftToExpire);
}

/// A stay of b1 (and b2) from March 20 to March 24 on L1; mid-stay, on
/// March 21 at 10:00Z, p1's lock is removed: the guests keep their codes
/// until check-out (R17).
fn kept_mid_stay_without_a_lock(ids: &[&str]) -> Vec<serde_json::Value> {
    let mut steps = paris_setup("2026-03-01T08:00:00Z", 5, 30);
    for id in ids {
        steps.push(booking("2026-03-01T09:00:00Z", id, "p1", "2026-03-20", "2026-03-24"));
    }
    steps.push(step("2026-03-21T10:00:00Z", "unassign", json!({"property": "p1"})));
    steps
}

#[test]
fn r15_cancelled_mid_stay_while_the_property_has_no_lock_loses_its_code_at_the_next_tick() {
    let mut steps = kept_mid_stay_without_a_lock(&["b1"]);
    steps.push(booking_with(
        "2026-03-21T12:05:00Z",
        json!({"id": "b1", "property": "p1", "check_in": "2026-03-20", "check_out": "2026-03-24", "status": "cancelled"}),
    ));
    steps.push(step("2026-03-21T13:00:00Z", "render", json!({"booking": "b1", "template": "{{smartlock_code}}"})));
    steps.push(end("2026-03-26T00:00:00Z"));
    let report = run("r15 cancelled mid-stay, no lock", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 1, "{:?}", report.pins);
    let code = &report.pins[0];
    assert_eq!(code.lock, "L1");
    // Kept through the unassign, deleted by the tick the cancellation asks
    // for (R21), not at the old check-out (March 24 10:30Z).
    assert_eq!(code.removed_at.map(utc).as_deref(), Some("2026-03-21T12:05:30Z"), "{code:?}");
    assert_eq!(report.step("render")[0].result.clone().unwrap()["output"], "{{smartlock_code}}");
}

#[test]
fn r16_shortened_mid_stay_while_the_property_has_no_lock_loses_its_code_at_the_new_check_out() {
    let mut steps = kept_mid_stay_without_a_lock(&["b1", "b2"]);
    // b1 now leaves on March 22: its code goes at 11:30 Paris (10:30Z).
    steps.push(booking("2026-03-21T12:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    // b2 now left on March 21 at 11:00 Paris, already past: its code goes now.
    steps.push(booking("2026-03-21T12:00:00Z", "b2", "p1", "2026-03-20", "2026-03-21"));
    steps.push(end("2026-03-26T00:00:00Z"));
    let report = run("r16 shortened mid-stay, no lock", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    let of = |booking: &str| {
        let codes: Vec<_> = report.pins.iter().filter(|p| p.access_name.contains(&format!("({booking})"))).collect();
        assert_eq!(codes.len(), 1, "one code of {booking}, never re-created: {:?}", report.pins);
        codes[0].clone()
    };
    let (b1, b2) = (of("b1"), of("b2"));
    assert_eq!((b1.lock.as_str(), b2.lock.as_str()), ("L1", "L1"));
    assert_eq!(b1.removed_at.map(utc).as_deref(), Some("2026-03-22T10:30:30Z"), "b1 at its new check-out: {b1:?}");
    assert_eq!(b2.removed_at.map(utc).as_deref(), Some("2026-03-21T12:00:30Z"), "b2 at the next tick: {b2:?}");
    assert_no_overlapping_duplicates(&report);
}

//! R6-R10: when the code is created and the window it carries, on the
//! stub's lock-side truth.

use serde_json::json;

use crate::common::*;

/// One booking (check-in March 20, out March 22, Paris) with `days_before`.
fn created_at_for(days_before: i64) -> i64 {
    let mut steps = paris_setup("2026-03-01T08:00:00Z", days_before, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(end("2026-03-23T00:00:00Z"));
    let report = run("r6", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 1, "{:?}", report.pins);
    report.pins[0].added_at
}

#[test]
fn r6_code_created_at_local_midnight_five_days_before() {
    // March 15 00:00 Paris = March 14 23:00Z; the bridge takes 30 s.
    assert_eq!(utc(created_at_for(5)), "2026-03-14T23:00:30Z");
}

#[test]
fn r6_code_created_at_local_midnight_one_day_before() {
    assert_eq!(utc(created_at_for(1)), "2026-03-18T23:00:30Z");
}

#[test]
fn r6_code_created_at_local_midnight_fourteen_days_before() {
    assert_eq!(utc(created_at_for(14)), "2026-03-05T23:00:30Z");
}

#[test]
fn r6_midnight_that_does_not_exist_takes_the_first_instant_of_the_day() {
    // Chile skips 2026-09-06 00:00-00:59 (-04 -> -03): the day starts 01:00-03 = 04:00Z.
    let steps = vec![
        connect("2026-09-01T08:00:00Z"),
        property("2026-09-01T08:01:00Z", "cl", "America/Santiago", None, None),
        assign("2026-09-01T08:02:00Z", "cl", "L1", 1, 30),
        booking("2026-09-01T09:00:00Z", "b1", "cl", "2026-09-07", "2026-09-09"),
        end("2026-09-10T00:00:00Z"),
    ];
    let report = run("r6 midnight gap", "2026-09-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 1);
    assert_eq!(utc(report.pins[0].added_at), "2026-09-06T04:00:30Z");
    // 15:00-03 minus 30 minutes.
    assert_eq!(utc(report.pins[0].start), "2026-09-07T17:30:00Z");
}

#[test]
fn r7_a_booking_made_after_its_creation_time_gets_its_code_at_the_next_tick() {
    let mut steps = paris_setup("2026-03-01T08:00:00Z", 5, 30);
    steps.push(booking("2026-03-17T10:07:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(end("2026-03-18T00:00:00Z"));
    let report = run("r7", "2026-03-01T08:00:00Z", steps.clone());
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 1);
    // The event asks for a wake-up (R21): queued at once, done 30 s later.
    assert_eq!(utc(report.pins[0].added_at), "2026-03-17T10:07:30Z");
    let report = run_without_wake_ups("r7, regular ticks", "2026-03-01T08:00:00Z", steps);
    assert_eq!(utc(report.pins[0].added_at), "2026-03-17T10:15:30Z");
}

#[test]
fn r7_assigning_a_lock_makes_existing_bookings_eligible() {
    let steps = vec![
        connect("2026-03-01T08:00:00Z"),
        property("2026-03-01T08:01:00Z", "p1", "Europe/Paris", None, None),
        booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"),
        assign("2026-03-17T10:07:00Z", "p1", "L1", 5, 30),
        end("2026-03-18T00:00:00Z"),
    ];
    let report = run("r7 assign", "2026-03-01T08:00:00Z", steps.clone());
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 1);
    assert_eq!(utc(report.pins[0].added_at), "2026-03-17T10:07:30Z");
    let report = run_without_wake_ups("r7 assign, regular ticks", "2026-03-01T08:00:00Z", steps);
    assert_eq!(utc(report.pins[0].added_at), "2026-03-17T10:15:30Z");
}

#[test]
fn r8_pins_are_six_unguessable_digits_unique_on_the_lock() {
    // The re-stated rule (common.rs) itself, on the cases SPEC names.
    for pin in ["111111", "000000", "999999", "123456", "456789", "012345", "987654", "543210"] {
        assert!(guessable_by_spec(pin), "{pin}");
    }
    for pin in ["123457", "112233", "024680", "909090", "654322"] {
        assert!(!guessable_by_spec(pin), "{pin}");
    }
    let mut steps = paris_setup("2026-03-01T08:00:00Z", 14, 30);
    // 24 overlapping bookings on one lock.
    for i in 0..24 {
        let day = 16 + (i % 6);
        steps.push(booking(
            &format!("2026-03-01T09:{:02}:00Z", i),
            &format!("b{i}"),
            "p1",
            &format!("2026-03-{day}"),
            &format!("2026-03-{}", day + 3),
        ));
    }
    steps.push(end("2026-03-12T00:00:00Z"));
    let report = run("r8", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 24, "one PIN per booking");
    let mut seen = std::collections::HashSet::new();
    for p in &report.pins {
        assert_eq!(p.pin.len(), 6);
        assert!(p.pin.bytes().all(|b| b.is_ascii_digit()));
        assert!(!guessable_by_spec(&p.pin), "guessable {}", p.pin);
        assert!(seen.insert(p.pin.clone()), "PIN {} twice on the lock", p.pin);
    }
    assert_no_overlapping_duplicates(&report);
}

#[test]
fn r9_negotiated_then_property_default_then_15_and_11() {
    let steps = vec![
        connect("2026-03-01T08:00:00Z"),
        property("2026-03-01T08:01:00Z", "p1", "Europe/Paris", Some("16:00"), Some("10:00")),
        property("2026-03-01T08:01:00Z", "p2", "Europe/Paris", None, None),
        assign("2026-03-01T08:02:00Z", "p1", "L1", 5, 0),
        assign("2026-03-01T08:02:00Z", "p2", "L2", 5, 0),
        booking_with(
            "2026-03-01T09:00:00Z",
            json!({"id": "neg", "property": "p1", "check_in": "2026-03-20", "check_out": "2026-03-22", "check_in_time": "13:00", "check_out_time": "12:15", "status": "confirmed"}),
        ),
        booking("2026-03-01T09:00:00Z", "def", "p1", "2026-03-10", "2026-03-12"),
        booking("2026-03-01T09:00:00Z", "std", "p2", "2026-03-20", "2026-03-22"),
        end("2026-03-23T00:00:00Z"),
    ];
    let report = run("r9", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    let window = |name: &str| {
        let p = report
            .pins
            .iter()
            .find(|p| p.access_name.contains(&format!("({name})")))
            .unwrap_or_else(|| panic!("pin of {name}"));
        (utc(p.start), utc(p.end))
    };
    assert_eq!(window("neg"), ("2026-03-20T12:00:00Z".into(), "2026-03-22T11:15:00Z".into()));
    assert_eq!(window("def"), ("2026-03-10T15:00:00Z".into(), "2026-03-12T09:00:00Z".into()));
    assert_eq!(window("std"), ("2026-03-20T14:00:00Z".into(), "2026-03-22T10:00:00Z".into()));
}

/// The window the lock holds for a Paris stay March 20-22.
fn window_for(check_in: Option<&str>, check_out: Option<&str>, margin: i64) -> (String, String) {
    let steps = vec![
        connect("2026-03-01T08:00:00Z"),
        property("2026-03-01T08:01:00Z", "p1", "Europe/Paris", check_in, check_out),
        assign("2026-03-01T08:02:00Z", "p1", "L1", 5, margin),
        booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"),
        end("2026-03-16T00:00:00Z"),
    ];
    let report = run("r10", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 1);
    (utc(report.pins[0].start), utc(report.pins[0].end))
}

#[test]
fn r10_margin_30_gives_14_30_to_11_30() {
    assert_eq!(window_for(None, None, 30), ("2026-03-20T13:30:00Z".into(), "2026-03-22T10:30:00Z".into()));
}

#[test]
fn r10_margin_120_gives_13_00_to_13_00() {
    assert_eq!(
        window_for(Some("15:00"), Some("11:00"), 120),
        ("2026-03-20T12:00:00Z".into(), "2026-03-22T12:00:00Z".into())
    );
}

#[test]
fn r10_margin_0_is_exact() {
    assert_eq!(
        window_for(Some("16:00"), Some("10:00"), 0),
        ("2026-03-20T15:00:00Z".into(), "2026-03-22T09:00:00Z".into())
    );
}

#[test]
fn r10_a_stay_across_the_dst_change_has_two_offsets() {
    // Paris springs forward on March 29: in at 15:00+01:00, out at 11:00+02:00.
    let mut steps = paris_setup("2026-03-01T08:00:00Z", 5, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-27", "2026-03-30"));
    steps.push(step("2026-03-25T12:00:00Z", "status", json!({"booking": "b1"})));
    steps.push(end("2026-03-31T00:00:00Z"));
    let report = run("r10 dst", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 1);
    assert_eq!(utc(report.pins[0].start), "2026-03-27T13:30:00Z");
    assert_eq!(utc(report.pins[0].end), "2026-03-30T09:30:00Z");
    let status = report.steps.iter().find(|s| s.kind == "status").and_then(|s| s.result.clone()).expect("status");
    assert_eq!(status["window"]["start_local"], "2026-03-27T14:30:00+01:00");
    assert_eq!(status["window"]["end_local"], "2026-03-30T11:30:00+02:00");
}

#[test]
fn r8_a_pin_set_on_the_lock_by_hand_is_not_reused() {
    // b1's code moves to L3 (lock change before its window); meanwhile the
    // same PIN was set on L3 by hand in the igloohome app. The create fails
    // on the lock ("already exists"): the plugin draws another PIN at once.
    let mut h = harness("2026-03-01T08:00:00Z");
    let steps = [
        ("2026-03-01T08:00:00Z", json!({"do": "connect", "client_id": CLIENT_ID, "client_secret": SECRET})),
        (
            "2026-03-01T08:01:00Z",
            json!({"do": "property", "property": {"id": "p1", "name": "Sea View", "timezone": "Europe/Paris"}}),
        ),
        ("2026-03-01T08:02:00Z", json!({"do": "assign", "property": "p1", "lock": "L1"})),
        (
            "2026-03-01T09:00:00Z",
            json!({"do": "booking", "booking": {"id": "b1", "property": "p1", "check_in": "2026-03-20", "check_out": "2026-03-22", "status": "confirmed"}}),
        ),
    ];
    for (at, action) in steps {
        h.advance_to(t(at));
        h.apply(&serde_json::from_value(action).unwrap()).unwrap_or_else(|e| panic!("{at}: {e}"));
    }
    // The guest's PIN is set on L3 by hand, then the property moves to L3.
    h.advance_to(t("2026-03-16T09:59:00Z"));
    let original = h.world.pins()[0].pin.clone();
    h.world.igloohome().expect("igloohome world").set_pin_by_hand(
        "L3",
        &original,
        t("2026-03-16T00:00:00Z"),
        t("2026-04-16T00:00:00Z"),
    );
    h.advance_to(t("2026-03-16T10:00:00Z"));
    h.apply(&serde_json::from_value(json!({"do": "assign", "property": "p1", "lock": "L3"})).unwrap()).unwrap();
    h.advance_to(t("2026-03-17T00:00:00Z"));
    let on_l3: Vec<_> =
        h.world.pins().into_iter().filter(|p| p.lock == "L3" && p.access_name.contains("(b1)")).collect();
    assert_eq!(on_l3.len(), 1, "{:?}", h.world.pins());
    assert_ne!(on_l3[0].pin, original, "a fresh PIN, not the one set by hand");
    assert!(on_l3[0].added_at <= t("2026-03-16T11:00:30Z"), "at once, not an hour later: {}", utc(on_l3[0].added_at));
    let status = h.plugin.booking_status("b1").unwrap().unwrap();
    assert_eq!(status.pin.as_deref(), Some(on_l3[0].pin.as_str()));
}

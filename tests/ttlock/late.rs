//! R7, R13, R21 on TTLock locks: bookings and assignments that come after
//! the creation time, after 18:00 on the eve or after the retry deadline,
//! and how soon their code is on the lock. TTLock's gateway writes are
//! synchronous, so a code is on the lock at the instant of the tick that
//! sent it. Paris, check-in March 20 (UTC+1): eve alert 18:00 = 17:00Z,
//! retry deadline 00:00 = March 19 23:00Z, window 14:30 = 13:30Z.

use host_harness::scenario::Report;
use serde_json::Value;

use crate::common::*;
use crate::tt::*;

/// The Paris set-up, the standard stay booked at `booked_at` as `id`, and
/// `extra` steps, to `end_at`.
fn booked_at(booked_at: &str, id: &str, extra: Vec<Value>, end_at: &str) -> Vec<Value> {
    let mut steps = paris_tt(START, 5, 30);
    steps.extend(extra);
    steps.push(booking(booked_at, id, "p1", "2026-03-20", "2026-03-22"));
    steps.push(end(end_at));
    in_time_order(steps)
}

/// The one code of `booking` in `report`, after every step succeeded.
fn code_in(report: &Report, booking: &str) -> host_harness::stubs::PinRecord {
    assert_steps_ok(report);
    the_code(&report.pins, booking)
}

/// The property's lock assigned only at `assigned_at`, the stay booked before.
fn assigned_at(assigned_at: &str) -> Vec<Value> {
    vec![
        tt_connect(START),
        property("2026-03-01T08:01:00Z", "p1", "Europe/Paris", None, None),
        booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"),
        tt_assign(assigned_at, "p1", LOCK, 5, 30),
        end("2026-03-18T00:00:00Z"),
    ]
}

#[test]
fn r7_ttlock_a_booking_made_after_its_creation_time_is_on_the_lock_at_the_next_tick() {
    // Due March 14 23:00Z, booked March 17 10:07Z.
    let steps = booked_at("2026-03-17T10:07:00Z", "b1", vec![], "2026-03-18T00:00:00Z");
    let code = code_in(&run_tt_from("r7", START, true, steps.clone()), "b1");
    // The booking event asks for a tick at once.
    assert_eq!((code.lock.as_str(), utc(code.added_at)), (LOCK, "2026-03-17T10:07:00Z".to_string()));
    assert_window(&code, WINDOW_START, WINDOW_END);
    // A host ticking every 15 minutes from 08:00Z: its 10:15Z tick.
    let code = code_in(&run_tt_from("r7, regular ticks", START, false, steps), "b1");
    assert_eq!(utc(code.added_at), "2026-03-17T10:15:00Z");
    assert_window(&code, WINDOW_START, WINDOW_END);
}

#[test]
fn r7_ttlock_assigning_a_lock_late_puts_the_codes_already_due_on_it_at_the_next_tick() {
    let code = code_in(&run_tt_from("r7 assign", START, true, assigned_at("2026-03-17T03:04:00Z")), "b1");
    assert_eq!((code.lock.as_str(), utc(code.added_at)), (LOCK, "2026-03-17T03:04:00Z".to_string()));
    assert_window(&code, WINDOW_START, WINDOW_END);
    let report = run_tt_from("r7 assign, regular ticks", START, false, assigned_at("2026-03-17T03:04:00Z"));
    assert_eq!(utc(code_in(&report, "b1").added_at), "2026-03-17T03:15:00Z");
    // Assigned before the creation time: on the normal schedule, not at the assignment.
    let report = run_tt_from("r7 assign early", START, true, assigned_at("2026-03-10T03:04:00Z"));
    assert_eq!(utc(code_in(&report, "b1").added_at), CREATE_AT);
}

#[test]
fn r13_ttlock_a_booking_made_after_six_pm_on_the_eve_is_tried_at_once_and_alerted_at_once_if_the_gateway_is_offline() {
    // The hall gateway is unplugged at noon; booked at 21:05 Paris on the eve.
    let mut h = harness_with(vec![without_offline_codes(), gateway("2026-03-19T11:00:00Z", GATEWAY, false)]);
    apply_ok(&mut h, booking("2026-03-19T20:05:00Z", "late", "p1", "2026-03-20", "2026-03-22"));
    h.advance_to(t("2026-03-19T20:05:00Z"));
    assert_eq!(tt_count(&h, "pwd_add"), 1, "tried at once");
    let alerts_at_once = h.storage.emails().unwrap();
    // Then hourly up to the retry deadline (00:00 Paris = 23:00Z), no more.
    let counts = counts_at(
        &mut h,
        "pwd_add",
        &["2026-03-19T21:04:00Z", "2026-03-19T21:05:00Z", "2026-03-19T22:05:00Z", "2026-03-20T12:00:00Z"],
    );
    assert_eq!(counts, [1, 2, 3, 3]);
    apply_ok(&mut h, gateway("2026-03-20T12:00:00Z", GATEWAY, true));
    h.advance_to(t("2026-03-21T00:00:00Z"));
    assert_eq!(tt_count(&h, "pwd_add"), 3, "nothing after the deadline");
    assert!(h.world.pins().is_empty(), "{:?}", h.world.pins());
    let emails = h.storage.emails().unwrap();
    assert_eq!(emails.len(), 1, "one alert: {emails:?}");
    assert!(emails[0].body.contains("gateway"), "{}", emails[0].body);
    assert_eq!(utc(emails[0].at), "2026-03-19T20:05:00Z", "alerted at once, with the failed attempt");
    assert_eq!(alerts_at_once.len(), 1, "the alert was out when the attempt had failed: {alerts_at_once:?}");
}

#[test]
fn r13_ttlock_a_booking_made_after_six_pm_on_the_eve_with_the_gateway_up_is_on_the_lock_at_once_without_alert() {
    let report =
        run_tt("r13 eve, gateway up", booked_at("2026-03-19T20:05:00Z", "late", vec![], "2026-03-20T03:00:00Z"));
    let code = code_in(&report, "late");
    assert_eq!(utc(code.added_at), "2026-03-19T20:05:00Z");
    assert_window(&code, WINDOW_START, WINDOW_END);
    assert!(report.emails.is_empty(), "{:?}", report.emails);
}

#[test]
fn r13_ttlock_a_booking_made_after_the_retry_deadline_is_tried_at_once_then_hourly_until_its_window_starts() {
    // Booked at 02:05 Paris on the check-in day (01:05Z), the gateway
    // unplugged since the day before: tried at 01:05Z, 02:05Z, ... 13:05Z;
    // the window starts at 13:30Z.
    let mut h = harness_with(vec![without_offline_codes(), gateway("2026-03-19T11:00:00Z", GATEWAY, false)]);
    apply_ok(&mut h, booking("2026-03-20T01:05:00Z", "sameday", "p1", "2026-03-20", "2026-03-22"));
    let mut instants = vec!["2026-03-20T01:05:00Z".to_string()];
    for hour in 2..=13 {
        instants.push(format!("2026-03-20T{hour:02}:04:00Z"));
        instants.push(format!("2026-03-20T{hour:02}:05:00Z"));
    }
    instants.push("2026-03-20T13:30:00Z".into());
    instants.push("2026-03-21T13:30:00Z".into());
    let refs: Vec<&str> = instants.iter().map(String::as_str).collect();
    let counts = counts_at(&mut h, "pwd_add", &refs);
    // One attempt at once, then exactly one in each hour after it.
    let mut expected = vec![1];
    for n in 2..=13 {
        expected.extend([n - 1, n]);
    }
    expected.extend([13, 13]);
    assert_eq!(counts, expected, "at {refs:?}");
    assert!(h.world.pins().is_empty());
    let emails = h.storage.emails().unwrap();
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(utc(emails[0].at), "2026-03-20T01:05:00Z", "alerted after the first failed attempt");
}

#[test]
fn r13_ttlock_a_booking_made_after_the_retry_deadline_gets_its_code_once_the_gateway_is_back_before_the_window() {
    let report = run_tt(
        "r13 same day",
        booked_at(
            "2026-03-20T01:05:00Z",
            "sameday",
            vec![
                without_offline_codes(),
                gateway("2026-03-19T11:00:00Z", GATEWAY, false),
                gateway("2026-03-20T12:10:00Z", GATEWAY, true),
            ],
            "2026-03-20T18:00:00Z",
        ),
    );
    let code = code_in(&report, "sameday");
    // Attempts at 01:05Z .. 12:05Z fail; the 13:05Z one works.
    assert_eq!(utc(code.added_at), "2026-03-20T13:05:00Z");
    assert_window(&code, WINDOW_START, WINDOW_END);
    assert_eq!(count(&report, "ttlock.pwd_add"), 13);
    assert_eq!(report.emails.len(), 1, "{:?}", report.emails);
}

#[test]
fn r21_ttlock_a_last_minute_booking_is_on_the_lock_within_a_minute() {
    // Booked at 19:07 Paris on the eve; the guest's message goes out 90 s later.
    let mut steps = booked_at("2026-03-19T18:07:00Z", "late", vec![], "2026-03-20T00:00:00Z");
    steps.insert(steps.len() - 1, render("2026-03-19T18:08:30Z", "late"));
    let report = run_tt_from("r21 last minute", START, true, steps.clone());
    let code = code_in(&report, "late");
    let after = code.added_at - t("2026-03-19T18:07:00Z");
    assert!((0..=60).contains(&after), "on the lock {after} s after the booking");
    assert_eq!(render_output(report.step("render")[0]), format!("Code: {}", code.pin));
    assert!(report.emails.is_empty(), "{:?}", report.emails);
    // A host that ignores wake-ups: the next regular tick, 18:15Z; nothing to render before.
    let report = run_tt_from("r21 last minute, regular ticks", START, false, steps);
    assert_eq!(utc(code_in(&report, "late").added_at), "2026-03-19T18:15:00Z");
    assert_eq!(render_output(report.step("render")[0]), "Code: {{smartlock_code}}");
}

#[test]
fn r21_ttlock_an_assignment_that_makes_a_code_due_gets_it_on_the_lock_within_a_minute() {
    let report = run_tt_from("r21 assign", START, true, assigned_at("2026-03-17T03:04:30Z"));
    let after = code_in(&report, "b1").added_at - t("2026-03-17T03:04:30Z");
    assert!((0..=60).contains(&after), "on the lock {after} s after the assignment");
}

#[test]
fn r21_ttlock_two_dozen_codes_due_at_once_are_all_on_their_locks_within_a_minute() {
    // Three locks (two gateways and a Wi-Fi lock), eight stays each, all
    // booked at 09:00Z on March 17 for check-ins March 18-21: due at once.
    let mut steps = vec![tt_connect(START)];
    for (p, lock) in [("pa", LOCK), ("pb", LOCK2), ("pc", WIFI_LOCK)] {
        steps.push(property("2026-03-01T08:01:00Z", p, "Europe/Paris", None, None));
        steps.push(tt_assign("2026-03-01T08:02:00Z", p, lock, 5, 30));
        for i in 0..8 {
            let day = 18 + i % 4;
            let stay = (format!("2026-03-{day}"), format!("2026-03-{}", day + 2));
            steps.push(booking("2026-03-17T09:00:00Z", &format!("{p}{i}"), p, &stay.0, &stay.1));
        }
    }
    steps.push(end("2026-03-17T12:00:00Z"));
    let report = run_tt("r21 burst", in_time_order(steps));
    assert_steps_ok(&report);
    assert_no_overlapping_duplicates(&report);
    assert_eq!(report.pins.len(), 24, "{:?}", report.pins);
    let last = report.pins.iter().map(|p| p.added_at).max().unwrap_or_default();
    assert!(last - t("2026-03-17T09:00:00Z") <= 60, "the last code reached its lock at {}", utc(last));
    assert_eq!(count(&report, "ttlock.pwd_add"), 24, "each sent once: the gateways were never busy");
}

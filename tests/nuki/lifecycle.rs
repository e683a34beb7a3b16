//! Last-minute bookings on an offline Nuki lock (R13), cancellations (R15)
//! and lock changes and removal (R17), judged on the Nuki stub's lock-side
//! truth and its request counters.
//!
//! Paris is CET (UTC+1) in March: 00:00 local is 23:00Z the day before,
//! 18:00 local is 17:00Z. A stay March 20-22 with margin 30 has the window
//! 14:30 / 11:30 local = 13:30Z / 10:30Z. The stub carries out a write 30 s
//! after it accepts it; an offline lock drops it after 120 s.

use host_harness::api;
use host_harness::scenario::Harness;
use serde_json::json;

use crate::common::*;
use crate::setup::*;

const START: &str = "2026-03-01T08:00:00Z";
const EVE: &str = "2026-03-19T08:00:00Z";
const WINDOW: (&str, &str) = ("2026-03-20T13:30:00Z", "2026-03-22T10:30:00Z");

// ----------------------------------------------------------------- R13

/// p1 on N1 from March 19 08:00Z, N1 offline from 12:00Z, and `id` booked
/// at `at` for March 20-22.
fn booked_while_offline(id: &str, at: &str) -> Harness {
    let mut steps = nuki_property(EVE, "p1", "Europe/Paris", (None, None), N1, 5, 30);
    steps.push(nuki_online("2026-03-19T12:00:00Z", N1, false));
    steps.push(booking(at, id, "p1", "2026-03-20", "2026-03-22"));
    nuki_harness_with_steps(EVE, nuki_world(), steps)
}

/// Exactly one alert e-mail, sent within `[from, to]`, about the offline Front door.
fn assert_one_alert_between(h: &Harness, from: &str, to: &str) {
    let emails = h.storage.emails().unwrap();
    assert_eq!(emails.len(), 1, "exactly one alert: {emails:?}");
    let mail = &emails[0];
    assert!(mail.at >= t(from) && mail.at <= t(to), "alert at once: {}", utc(mail.at));
    for needle in ["Ana Silva", "2026-03-20", "Front door", "offline"] {
        assert!(mail.body.contains(needle) || mail.subject.contains(needle), "alert mentions {needle}: {}", mail.body);
    }
}

#[test]
fn r13_nuki_a_booking_made_after_six_pm_on_the_eve_is_tried_at_once_and_alerted_at_once_if_the_lock_is_offline() {
    // 21:05 Paris on the eve (20:05Z), after the 18:00 alert time.
    let mut h = booked_while_offline("late", "2026-03-19T20:05:00Z");
    let attempts = create_attempts_until(&mut h, "2026-03-20T03:00:00Z");
    // At once, then R11's hourly retries up to midnight local (23:00Z), none after.
    assert_at_once_then_hourly_until(&attempts, "2026-03-19T20:05:00Z", "2026-03-19T23:00:00Z");
    // The offline lock drops the write 120 s after it was accepted (20:07Z):
    // the alert follows that failure, not the next day.
    assert_one_alert_between(&h, "2026-03-19T20:05:00Z", "2026-03-19T20:10:00Z");
    assert!(h.world.pins().is_empty());
    assert_eq!(status_of(&h, "late").state, api::CodeState::Failed);
    assert!(status_of(&h, "late").alert_sent);
}

#[test]
fn r13_nuki_a_booking_made_after_the_retry_deadline_is_tried_at_once_then_hourly_until_its_window_starts() {
    // 02:05 Paris on the check-in day (01:05Z): after midnight, R11's deadline.
    let mut h = booked_while_offline("sameday", "2026-03-20T01:05:00Z");
    let attempts = create_attempts_until(&mut h, "2026-03-21T00:00:00Z");
    // Hourly until the window starts at 13:30Z, none after (to March 21).
    assert_at_once_then_hourly_until(&attempts, "2026-03-20T01:05:00Z", WINDOW.0);
    assert!(h.world.pins().is_empty());
    // Eligible after 18:00 on the eve too: its alert at once.
    assert_one_alert_between(&h, "2026-03-20T01:05:00Z", "2026-03-20T01:10:00Z");
}

#[test]
fn r13_nuki_a_booking_made_after_the_retry_deadline_gets_its_code_when_the_lock_returns_before_the_window() {
    let mut h = booked_while_offline("sameday", "2026-03-20T01:05:00Z");
    apply_at(&mut h, nuki_online("2026-03-20T09:10:00Z", N1, true));
    h.advance_to(t("2026-03-20T13:00:00Z"));
    let pins = h.world.pins();
    let code = only_pin(&pins, "sameday");
    // The next hourly attempt after 09:10Z, at the latest 10:10Z.
    assert!(
        code.added_at > t("2026-03-20T09:10:00Z") && code.added_at <= t("2026-03-20T10:10:30Z"),
        "{}",
        utc(code.added_at)
    );
    assert_opens_from_to(nuki_stub(&h), code, WINDOW.0, WINDOW.1);
    assert_eq!(rendered(&mut h, "sameday"), code.pin);
}

#[test]
fn r13_nuki_a_booking_made_after_its_window_started_is_tried_once_and_not_hourly() {
    // 16:05 Paris on the check-in day (15:05Z): the window began at 13:30Z.
    let mut h = booked_while_offline("walkin", "2026-03-20T15:05:00Z");
    let attempts = create_attempts_until(&mut h, "2026-03-21T12:00:00Z");
    assert_eq!(attempts.iter().map(|&a| utc(a)).collect::<Vec<_>>(), vec!["2026-03-20T15:05:00Z".to_string()]);
    assert!(h.world.pins().is_empty());
}

// ----------------------------------------------------------------- R15

/// p1 on N1 from March 1 with b1 (March 20-22) booked, then `later`.
fn b1_then(later: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    let mut steps = nuki_setup(START, 5, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.extend(later);
    steps
}

#[test]
fn r15_nuki_a_booking_cancelled_before_creation_never_reaches_the_lock() {
    let mut steps = b1_then(vec![cancel("2026-03-10T10:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22")]);
    steps.push(render("2026-03-16T10:00:00Z", "b1"));
    steps.push(end("2026-03-25T00:00:00Z"));
    let report = run_nuki("r15 nuki before", START, steps);
    assert_steps_ok(&report);
    assert!(report.pins.is_empty(), "{:?}", report.pins);
    assert_eq!(nuki_count(&report.http, "auth_create"), 0, "no create ever sent");
    assert_eq!(report.step("render")[0].result.as_ref().unwrap()["output"], "Code: {{smartlock_code}}");
}

#[test]
fn r15_nuki_a_cancelled_code_is_deleted_at_the_next_tick() {
    // Created March 14 23:00:30Z; cancelled March 16 at 10:05Z.
    let later = vec![
        cancel("2026-03-16T10:05:00Z", "b1", "p1", "2026-03-20", "2026-03-22"),
        render("2026-03-16T10:20:00Z", "b1"),
        end("2026-03-25T00:00:00Z"),
    ];
    // A host honouring wake-ups ticks right after the event; one that ticks
    // every 15 minutes (08:00, 08:15, ...) at 10:15.
    for (report, removed) in [
        (run_nuki("r15 nuki after", START, b1_then(later.clone())), "2026-03-16T10:05:30Z"),
        (run_nuki_without_wake_ups("r15 nuki after, regular ticks", START, b1_then(later)), "2026-03-16T10:15:30Z"),
    ] {
        assert_steps_ok(&report);
        let code = only_pin(&report.pins, "b1");
        assert_eq!(utc(code.added_at), "2026-03-14T23:00:30Z");
        assert_eq!(window_of(code), (WINDOW.0.to_string(), WINDOW.1.to_string()));
        assert_eq!(code.removed_at.map(utc).as_deref(), Some(removed), "{}", report.scenario);
        assert_eq!((nuki_count(&report.http, "auth_create"), nuki_count(&report.http, "auth_delete")), (1, 1));
        assert_eq!(report.step("render")[0].result.as_ref().unwrap()["output"], "Code: {{smartlock_code}}");
    }
}

// ----------------------------------------------------------------- R17

/// Paris p1 on N1 with `days_before`, booked on March 1: `mid` for
/// `mid_stay` (in the house when `change` comes), b1 March 20-22 and b3
/// March 28-30; then `change`.
fn three_stays(days_before: i64, mid_stay: (&str, &str), change: Vec<serde_json::Value>) -> Harness {
    let mut steps = nuki_property(START, "p1", "Europe/Paris", (None, None), N1, days_before, 30);
    for (id, (check_in, check_out)) in
        [("mid", mid_stay), ("b1", ("2026-03-20", "2026-03-22")), ("b3", ("2026-03-28", "2026-03-30"))]
    {
        steps.push(booking("2026-03-01T09:00:00Z", id, "p1", check_in, check_out));
    }
    steps.extend(change);
    nuki_harness_with_steps(START, nuki_world(), steps)
}

/// The records of `booking` on `lock`.
fn on<'a>(
    pins: &'a [host_harness::stubs::PinRecord],
    lock: &str,
    booking: &str,
) -> Vec<&'a host_harness::stubs::PinRecord> {
    of_booking(pins, booking).into_iter().filter(|p| p.lock == lock).collect()
}

#[test]
fn r17_nuki_moving_to_another_nuki_lock_moves_future_codes_keeps_a_mid_stay_guest() {
    // days_before 14. mid: March 10-14, on N1 since March 1 (its creation
    // was past), in the house when the lock changes. b1: March 20-22, on N1
    // since March 6 00:00 CET = March 5 23:00Z. b3: March 28-30, due March
    // 14 00:00 CET = March 13 23:00Z, after the change.
    let mut h =
        three_stays(14, ("2026-03-10", "2026-03-14"), vec![assign_nuki("2026-03-12T10:00:00Z", "p1", N2, 14, 30)]);
    h.advance_to(t("2026-03-13T12:00:00Z"));
    let pins = h.world.pins();
    let mid = only_pin(&pins, "mid");
    assert_eq!(mid.lock, N1, "the guest in the house is not moved");
    assert!(nuki_stub(&h).opens(N1, &mid.pin, t("2026-03-13T12:00:00Z")), "and still gets in");
    h.advance_to(t("2026-03-31T00:00:00Z"));
    let pins = h.world.pins();
    // mid: kept on N1 until check-out + margin (March 14 11:30 CET = 10:30Z).
    assert_eq!(only_pin(&pins, "mid").removed_at.map(utc).as_deref(), Some("2026-03-14T10:30:30Z"));
    // b1: off N1 and onto N2 at once (its creation time has passed: R7, and
    // within about a minute with wake-ups: R21), same PIN.
    let (old, new) = (on(&pins, N1, "b1"), on(&pins, N2, "b1"));
    assert_eq!((old.len(), new.len()), (1, 1), "{pins:?}");
    assert_eq!(utc(old[0].added_at), "2026-03-05T23:00:30Z");
    let removed = old[0].removed_at.expect("deleted from the old lock");
    assert!(removed <= t("2026-03-12T10:01:00Z"), "{}", utc(removed));
    assert!(new[0].added_at <= t("2026-03-12T10:02:00Z"), "{}", utc(new[0].added_at));
    assert_eq!(new[0].pin, old[0].pin, "the PIN is free on N2: the guest keeps it");
    assert_eq!(window_of(new[0]), (WINDOW.0.to_string(), WINDOW.1.to_string()));
    // b3: on the new lock only, on its normal schedule.
    assert!(on(&pins, N1, "b3").is_empty());
    assert_eq!(on(&pins, N2, "b3").iter().map(|p| utc(p.added_at)).collect::<Vec<_>>(), vec!["2026-03-13T23:00:30Z"]);
    assert_eq!(nuki_count(&h.world.http_counts(), "auth_create"), 4, "mid, b1 on N1; b1, b3 on N2");
}

#[test]
fn r17_nuki_removing_the_lock_deletes_future_codes_keeps_a_mid_stay_guest_and_creates_nothing() {
    // days_before 5. mid: March 14-18 (on N1 since March 8 23:00Z), in the
    // house on March 16. b1: March 20-22 (on N1 since March 14 23:00Z). b3:
    // March 28-30 (would be due March 22 23:00Z). Unassigned March 16 10:00Z.
    let mut h = three_stays(
        5,
        ("2026-03-14", "2026-03-18"),
        vec![
            step("2026-03-16T10:00:00Z", "unassign", json!({"property": "p1"})),
            booking("2026-03-17T09:00:00Z", "b4", "p1", "2026-03-19", "2026-03-21"),
        ],
    );
    h.advance_to(t("2026-03-17T12:00:00Z"));
    let mid = only_pin(&h.world.pins(), "mid").clone();
    assert!(nuki_stub(&h).opens(N1, &mid.pin, t("2026-03-17T12:00:00Z")), "the guest in the house still gets in");
    assert_eq!(rendered(&mut h, "mid"), mid.pin, "and still has the code in messages");
    h.advance_to(t("2026-04-01T00:00:00Z"));
    let pins = h.world.pins();
    assert_eq!(utc(mid.added_at), "2026-03-08T23:00:30Z");
    // mid: until check-out + margin, March 18 11:30 CET = 10:30Z.
    assert_eq!(only_pin(&pins, "mid").removed_at.map(utc).as_deref(), Some("2026-03-18T10:30:30Z"));
    // b1: deleted at once.
    assert_eq!(only_pin(&pins, "b1").removed_at.map(utc).as_deref(), Some("2026-03-16T10:00:30Z"));
    assert_eq!(pins.len(), 2, "nothing new created: {pins:?}");
    assert_eq!(nuki_count(&h.world.http_counts(), "auth_create"), 2);
    assert_eq!(rendered(&mut h, "b1"), "{{smartlock_code}}");
}

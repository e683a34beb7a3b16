//! When a Nuki code is created and the window the lock holds (R5-R10), and
//! how soon a code that is due now reaches the lock (R21), judged on the
//! Nuki stub's lock-side truth.
//!
//! Every expected instant is written out with its derivation. Vienna and
//! Paris are CET (UTC+1) until 2026-03-29 02:00 local and from 2026-10-25
//! 03:00 local, CEST (UTC+2) in between. The stub carries out a write 30 s
//! after it accepts it, so a code created at T is on the lock at T + 30 s.

use host_harness::api;
use host_harness::scenario::Harness;
use serde_json::json;

use crate::common::*;
use crate::setup::*;

const START: &str = "2026-03-01T08:00:00Z";

// ------------------------------------------------------------------ R5

/// Assigns through the admin export and returns the refusal's field.
fn refused_field(h: &Harness, lock: &str, days: Option<i32>, margin: Option<i32>) -> String {
    match h.plugin.assign("p1", "nuki", lock, days, margin).expect("no trap") {
        Err(api::Error::InvalidInput(f)) => {
            assert!(f.reason.contains("between"), "the reason gives the range: {f:?}");
            f.field
        }
        other => panic!("days {days:?}, margin {margin:?} on {lock}: refused as invalid input, got {other:?}"),
    }
}

#[test]
fn r5_nuki_out_of_range_settings_are_refused_naming_the_field_and_nothing_is_half_saved() {
    let mut h = nuki_harness_with_steps(
        START,
        nuki_world(),
        vec![property("2026-03-01T08:01:00Z", "p1", "Europe/Vienna", None, None)],
    );
    // days_before 1..=14, margin 0..=240: one bad value refuses the whole call.
    let bad = [
        (Some(0), None, "days-before"),
        (Some(15), Some(30), "days-before"),
        (Some(-1), None, "days-before"),
        (None, Some(-1), "margin-minutes"),
        (Some(5), Some(241), "margin-minutes"),
        (Some(i32::MAX), Some(i32::MIN), "days-before"),
    ];
    let empty = h.storage.list("", None, 1000).unwrap();
    for (days, margin, field) in bad {
        assert_eq!(refused_field(&h, N1, days, margin), field, "days {days:?}, margin {margin:?}");
        assert_eq!(h.storage.list("", None, 1000).unwrap(), empty, "nothing saved");
    }
    assert_eq!(h.plugin.assignment("p1").unwrap().unwrap(), None);
    // Left out: the defaults, 5 days and 30 minutes. The edges are accepted.
    let a = h.plugin.assign("p1", "nuki", N1, None, None).unwrap().expect("defaults");
    assert_eq!((a.days_before, a.margin_minutes), (5, 30));
    for (days, margin) in [(1, 0), (14, 240), (7, 45)] {
        let a = h.plugin.assign("p1", "nuki", N1, Some(days), Some(margin)).unwrap().expect("in range");
        assert_eq!((a.days_before, a.margin_minutes), (days as u32, margin as u32));
    }
    apply_at(&mut h, booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    // A change of lock and settings with one bad setting changes nothing at all.
    let saved = h.storage.list("", None, 1000).unwrap();
    for (days, margin, field) in [(Some(2), Some(241), "margin-minutes"), (Some(0), Some(60), "days-before")] {
        assert_eq!(refused_field(&h, N2, days, margin), field);
        assert_eq!(h.storage.list("", None, 1000).unwrap(), saved, "nothing half-saved");
    }
    let a = h.plugin.assignment("p1").unwrap().unwrap().expect("still assigned");
    assert_eq!((a.lock_id.as_str(), a.days_before, a.margin_minutes), (N1, 7, 45));
    h.advance_to(t("2026-03-14T00:00:00Z"));
    // The lock shows the saved settings at work: 7 days before March 20 is
    // March 13 00:00 Vienna = March 12 23:00Z; 15:00 - 45 min = 14:15 CET =
    // 13:15Z, 11:00 + 45 min = 11:45 CET = 10:45Z. Nothing on N2.
    let pins = h.world.pins();
    let b1 = only_pin(&pins, "b1");
    assert_eq!((b1.lock.as_str(), utc(b1.added_at).as_str()), (N1, "2026-03-12T23:00:30Z"));
    assert_eq!(window_of(b1), ("2026-03-20T13:15:00Z".into(), "2026-03-22T10:45:00Z".into()));
}

// ------------------------------------------------------------------ R6

#[test]
fn r6_nuki_codes_are_created_at_local_midnight_days_before_check_in() {
    let mut steps = nuki_property(START, "pa", "Europe/Vienna", (None, None), N1, 1, 30);
    steps.push(property(START, "pb", "Europe/Vienna", None, None));
    // No settings given: the default, 5 days.
    steps.push(step(START, "assign", json!({"property": "pb", "lock": N2, "provider": "nuki"})));
    steps.extend(nuki_property(START, "pc", "Europe/Vienna", (None, None), N4, 14, 30));
    steps.extend(nuki_property(START, "pd", "Europe/Vienna", (None, None), N5, 5, 30));
    for (id, property, check_in, check_out) in [
        ("a1", "pa", "2026-03-20", "2026-03-22"),
        ("b1", "pb", "2026-03-20", "2026-03-22"),
        ("c1", "pc", "2026-03-20", "2026-03-22"),
        ("d1", "pd", "2026-04-04", "2026-04-06"),
    ] {
        steps.push(booking("2026-03-01T09:00:00Z", id, property, check_in, check_out));
    }
    let mut h = nuki_harness_with_steps(START, nuki_world_more_locks(), steps);
    h.advance_to(t("2026-03-31T00:00:00Z"));
    let pins = h.world.pins();
    for (booking, lock, on_lock) in [
        // 1 day: March 19 00:00 CET = March 18 23:00Z.
        ("a1", N1, "2026-03-18T23:00:30Z"),
        // 5 days: March 15 00:00 CET = March 14 23:00Z.
        ("b1", N2, "2026-03-14T23:00:30Z"),
        // 14 days: March 6 00:00 CET = March 5 23:00Z.
        ("c1", N4, "2026-03-05T23:00:30Z"),
        // 5 days before April 4: March 30 00:00, already CEST = March 29 22:00Z.
        ("d1", N5, "2026-03-29T22:00:30Z"),
    ] {
        let p = only_pin(&pins, booking);
        assert_eq!((p.lock.as_str(), utc(p.added_at).as_str()), (lock, on_lock), "{booking}");
        assert_nuki_pin(&p.pin);
    }
    // d1 is in CEST: 15:00 - 30 min = 14:30 CEST = 12:30Z; 11:30 CEST = 09:30Z.
    assert_eq!(window_of(only_pin(&pins, "d1")), ("2026-04-04T12:30:00Z".into(), "2026-04-06T09:30:00Z".into()));
    let defaults = h.plugin.assignment("pb").unwrap().unwrap().expect("assigned");
    assert_eq!((defaults.days_before, defaults.margin_minutes), (5, 30));
}

#[test]
fn r6_nuki_a_midnight_that_does_not_exist_takes_the_first_instant_of_the_day() {
    // Chile springs forward on Sunday 2026-09-06 at 00:00 (-04 -> -03):
    // that day starts at 01:00-03 = 04:00Z.
    const SEPT: &str = "2026-09-01T08:00:00Z";
    let mut steps = nuki_property(SEPT, "cl", "America/Santiago", (None, None), N1, 1, 30);
    for (id, check_in, check_out) in
        [("c5", "2026-09-05", "2026-09-06"), ("c6", "2026-09-06", "2026-09-07"), ("c7", "2026-09-07", "2026-09-08")]
    {
        steps.push(booking("2026-09-01T09:00:00Z", id, "cl", check_in, check_out));
    }
    let mut h = nuki_harness_with_steps(SEPT, nuki_world(), steps);
    h.advance_to(t("2026-09-07T12:00:00Z"));
    let pins = h.world.pins();
    // c5: Sept 4 00:00-04 = 04:00Z. c6: Sept 5 00:00-04 = 04:00Z.
    // c7: Sept 6 has no 00:00; its first instant 01:00-03 = 04:00Z.
    for (booking, on_lock) in
        [("c5", "2026-09-04T04:00:30Z"), ("c6", "2026-09-05T04:00:30Z"), ("c7", "2026-09-06T04:00:30Z")]
    {
        assert_eq!(utc(only_pin(&pins, booking).added_at), on_lock, "{booking}");
    }
    // c7's window is in -03: 15:00 - 30 min = 14:30-03 = 17:30Z.
    assert_eq!(utc(only_pin(&pins, "c7").start), "2026-09-07T17:30:00Z");
}

// ------------------------------------------------------------------ R7

#[test]
fn r7_nuki_a_booking_made_or_moved_after_its_creation_time_gets_its_code_at_the_next_tick() {
    // A host that ticks every 15 minutes (08:00, 08:15, ...) and ignores
    // wake-ups: the next tick after 10:07 is 10:15.
    let mut steps = nuki_setup(START, 5, 30);
    steps.extend(nuki_property("2026-03-01T08:03:00Z", "p2", "Europe/Paris", (None, None), N2, 5, 30));
    // b2 is booked for April (created April 5) and moved on March 17 to
    // March 19: its creation time (March 14 00:00) has passed.
    steps.push(booking("2026-03-01T09:00:00Z", "b2", "p2", "2026-04-10", "2026-04-12"));
    steps.push(booking("2026-03-17T10:07:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(booking("2026-03-17T10:07:00Z", "b2", "p2", "2026-03-19", "2026-03-21"));
    steps.push(end("2026-03-18T00:00:00Z"));
    let report = run_nuki_without_wake_ups("r7 nuki late", START, steps);
    assert_steps_ok(&report);
    assert_eq!(report.wake_ticks, 0);
    let b1 = only_pin(&report.pins, "b1");
    let b2 = only_pin(&report.pins, "b2");
    assert_eq!((b1.lock.as_str(), utc(b1.added_at).as_str()), (N1, "2026-03-17T10:15:30Z"));
    assert_eq!((b2.lock.as_str(), utc(b2.added_at).as_str()), (N2, "2026-03-17T10:15:30Z"));
    // 14:30 / 11:30 Paris (CET) = 13:30Z / 10:30Z.
    assert_eq!(window_of(b1), ("2026-03-20T13:30:00Z".into(), "2026-03-22T10:30:00Z".into()));
    assert_eq!(window_of(b2), ("2026-03-19T13:30:00Z".into(), "2026-03-21T10:30:00Z".into()));
}

#[test]
fn r7_nuki_assigning_a_lock_makes_existing_bookings_eligible_at_the_next_tick() {
    let steps = vec![
        connect_nuki(START),
        property("2026-03-01T08:01:00Z", "p1", "Europe/Paris", None, None),
        booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"),
        assign_nuki("2026-03-17T10:07:00Z", "p1", N1, 5, 30),
        end("2026-03-18T00:00:00Z"),
    ];
    let report = run_nuki_without_wake_ups("r7 nuki assign", START, steps);
    assert_steps_ok(&report);
    let b1 = only_pin(&report.pins, "b1");
    // Nothing before the assignment; at the 10:15 tick after it.
    assert_eq!((b1.lock.as_str(), utc(b1.added_at).as_str()), (N1, "2026-03-17T10:15:30Z"));
    assert_eq!(window_of(b1), ("2026-03-20T13:30:00Z".into(), "2026-03-22T10:30:00Z".into()));
    assert_eq!(nuki_count(&report.http, "auth_create"), 1);
}

// ------------------------------------------------------------------ R9

#[test]
fn r9_nuki_negotiated_times_then_property_defaults_then_15_and_11() {
    // Margin 0: the lock holds the check-in and check-out times exactly.
    // pn has defaults 16:00 / 10:00, ps none. Vienna in March is UTC+1.
    let mut steps = nuki_property(START, "pn", "Europe/Vienna", (Some("16:00"), Some("10:00")), N1, 14, 0);
    steps.extend(nuki_property(START, "ps", "Europe/Vienna", (None, None), N2, 14, 0));
    let stay = |id, property, dates, times| booking_at_times("2026-03-01T09:00:00Z", id, property, dates, times);
    steps.push(stay("neg", "pn", ("2026-03-20", "2026-03-22"), (Some("13:00"), Some("12:15"))));
    steps.push(stay("half", "pn", ("2026-03-24", "2026-03-26"), (Some("17:30"), None)));
    steps.push(stay("def", "pn", ("2026-03-12", "2026-03-14"), (None, None)));
    steps.push(stay("std", "ps", ("2026-03-20", "2026-03-22"), (None, None)));
    steps.push(stay("out", "ps", ("2026-03-24", "2026-03-26"), (None, Some("09:30"))));
    let mut h = nuki_harness_with_steps(START, nuki_world(), steps);
    h.advance_to(t("2026-03-11T00:00:00Z"));
    let pins = h.world.pins();
    let nuki = nuki_stub(&h);
    for (booking, start, end) in [
        // Negotiated both: 13:00 = 12:00Z, 12:15 = 11:15Z.
        ("neg", "2026-03-20T12:00:00Z", "2026-03-22T11:15:00Z"),
        // Negotiated check-in 17:30 = 16:30Z; out: pn's 10:00 = 09:00Z.
        ("half", "2026-03-24T16:30:00Z", "2026-03-26T09:00:00Z"),
        // pn's defaults: 16:00 = 15:00Z, 10:00 = 09:00Z.
        ("def", "2026-03-12T15:00:00Z", "2026-03-14T09:00:00Z"),
        // No times anywhere: 15:00 = 14:00Z, 11:00 = 10:00Z.
        ("std", "2026-03-20T14:00:00Z", "2026-03-22T10:00:00Z"),
        // In: 15:00 = 14:00Z; negotiated out 09:30 = 08:30Z.
        ("out", "2026-03-24T14:00:00Z", "2026-03-26T08:30:00Z"),
    ] {
        assert_holds(nuki, &pins, booking, start, end);
    }
}

// ----------------------------------------------------------------- R10

#[test]
fn r10_nuki_the_margin_is_applied_symmetrically_around_the_stay() {
    const MID: &str = "2026-03-10T08:00:00Z";
    let mut steps = nuki_property(MID, "m30", "Europe/Vienna", (None, None), N1, 5, 30);
    steps.extend(nuki_property(MID, "m120", "Europe/Vienna", (Some("15:00"), Some("11:00")), N2, 5, 120));
    steps.extend(nuki_property(MID, "m0", "Europe/Vienna", (Some("16:00"), Some("10:00")), N4, 5, 0));
    steps.extend(nuki_property(MID, "m240", "Europe/Vienna", (None, None), N5, 5, 240));
    for p in ["m30", "m120", "m0", "m240"] {
        steps.push(booking("2026-03-10T09:00:00Z", &format!("{p}-b"), p, "2026-03-20", "2026-03-22"));
    }
    let mut h = nuki_harness_with_steps(MID, nuki_world_more_locks(), steps);
    h.advance_to(t("2026-03-16T00:00:00Z"));
    let pins = h.world.pins();
    let nuki = nuki_stub(&h);
    for (booking, start, end) in [
        // 14:30 to 11:30 CET.
        ("m30-b", "2026-03-20T13:30:00Z", "2026-03-22T10:30:00Z"),
        // 13:00 to 13:00 CET the next day.
        ("m120-b", "2026-03-20T12:00:00Z", "2026-03-22T12:00:00Z"),
        // 16:00 / 10:00 exactly.
        ("m0-b", "2026-03-20T15:00:00Z", "2026-03-22T09:00:00Z"),
        // 11:00 to 15:00 CET.
        ("m240-b", "2026-03-20T10:00:00Z", "2026-03-22T14:00:00Z"),
    ] {
        assert_holds(nuki, &pins, booking, start, end);
    }
}

/// A stay and its expected window (UTC) on the lock.
type Expected<'a> = ((&'a str, &'a str), (&'a str, &'a str));

/// Vienna from `start`, days_before 1, advanced to `until`. On `v` (N1,
/// margin 30, default times) the stay `stay` must hold its window and
/// open the lock exactly then, put there at `created`; on `x` (N2, margin
/// 0) each `(id, negotiated times, stay)` must hold its window.
fn assert_vienna_dst(start: &str, until: &str, stay: Expected, created: &str, x: [(&str, (&str, &str), Expected); 2]) {
    let booked = utc(t(start) + 3600);
    let mut steps = nuki_property(start, "v", "Europe/Vienna", (None, None), N1, 1, 30);
    steps.extend(nuki_property(start, "x", "Europe/Vienna", (None, None), N2, 1, 0));
    steps.push(booking(&booked, "stay", "v", stay.0 .0, stay.0 .1));
    for (id, times, (dates, _)) in x {
        steps.push(booking_at_times(&booked, id, "x", dates, (Some(times.0), Some(times.1))));
    }
    let mut h = nuki_harness_with_steps(start, nuki_world(), steps);
    h.advance_to(t(until));
    let pins = h.world.pins();
    let on_v = assert_holds(nuki_stub(&h), &pins, "stay", stay.1 .0, stay.1 .1);
    assert_eq!(utc(on_v.added_at), created);
    for (id, _, (_, (from, to))) in x {
        assert_eq!(window_of(only_pin(&pins, id)), (from.to_string(), to.to_string()), "{id}");
    }
}

#[test]
fn r10_nuki_a_stay_across_the_spring_dst_change_has_two_offsets() {
    assert_vienna_dst(
        "2026-03-20T08:00:00Z",
        "2026-03-29T00:30:00Z",
        // In at 15:00 CET (+1) = 14:00Z, minus 30 min; out at 11:00 CEST
        // (+2) = 09:00Z, plus 30 min.
        (("2026-03-27", "2026-03-30"), ("2026-03-27T13:30:00Z", "2026-03-30T09:30:00Z")),
        // March 26 00:00 CET = March 25 23:00Z.
        "2026-03-25T23:00:30Z",
        [
            // 02:30 on March 29 does not exist (02:00 CET -> 03:00 CEST): the
            // first valid instant, 03:00 CEST = 01:00Z; out 11:00 CEST = 09:00Z.
            (
                "gap",
                ("02:30", "11:00"),
                (("2026-03-29", "2026-03-31"), ("2026-03-29T01:00:00Z", "2026-03-31T09:00:00Z")),
            ),
            // Both ends before the change, in CET: 14:00Z and 10:00Z.
            (
                "cet",
                ("15:00", "11:00"),
                (("2026-03-25", "2026-03-26"), ("2026-03-25T14:00:00Z", "2026-03-26T10:00:00Z")),
            ),
        ],
    );
}

#[test]
fn r10_nuki_a_stay_across_the_autumn_dst_change_has_two_offsets_and_ambiguous_times_never_shorten_it() {
    assert_vienna_dst(
        "2026-10-20T08:00:00Z",
        "2026-10-24T23:00:00Z",
        // In at 15:00 CEST (+2) = 13:00Z, minus 30 min; out at 11:00 CET
        // (+1) = 10:00Z, plus 30 min.
        (("2026-10-23", "2026-10-26"), ("2026-10-23T12:30:00Z", "2026-10-26T10:30:00Z")),
        // October 22 00:00 CEST = October 21 22:00Z.
        "2026-10-21T22:00:30Z",
        [
            // 02:30 on October 25 happens twice, 02:30 CEST = 00:30Z and
            // 02:30 CET = 01:30Z. A start takes the earlier; out Oct 27 11:00
            // CET = 10:00Z.
            (
                "amb-in",
                ("02:30", "11:00"),
                (("2026-10-25", "2026-10-27"), ("2026-10-25T00:30:00Z", "2026-10-27T10:00:00Z")),
            ),
            // An end takes the later; in Oct 23 15:00 CEST = 13:00Z.
            (
                "amb-out",
                ("15:00", "02:30"),
                (("2026-10-23", "2026-10-25"), ("2026-10-23T13:00:00Z", "2026-10-25T01:30:00Z")),
            ),
        ],
    );
}

// ----------------------------------------------------------------- R21

/// Paris, p1 on N1 from March 19 08:00Z; `late` booked at 18:07Z (19:07
/// local on the eve of its March 20 check-in), lock online.
fn last_minute(wake_ups: bool) -> Harness {
    const EVE: &str = "2026-03-19T08:00:00Z";
    let mut h = harness_with(EVE, nuki_world(), false);
    h.wake_ups = wake_ups;
    for s in nuki_setup(EVE, 5, 30) {
        apply_at(&mut h, s);
    }
    apply_at(&mut h, booking("2026-03-19T18:07:00Z", "late", "p1", "2026-03-20", "2026-03-22"));
    h
}

#[test]
fn r21_nuki_a_last_minute_booking_is_on_the_lock_within_a_minute() {
    let mut h = last_minute(true);
    h.advance_to(t("2026-03-19T18:08:00Z"));
    let pins = h.world.pins();
    let late = only_pin(&pins, "late");
    assert!(late.added_at <= t("2026-03-19T18:08:00Z"), "on the lock within a minute: {}", utc(late.added_at));
    assert_eq!(window_of(late), ("2026-03-20T13:30:00Z".into(), "2026-03-22T10:30:00Z".into()));
    assert!(h.wake_ticks > 0, "the plugin's wake-ups did it, not the 18:15 tick");
    // Confirmed and in the guest's message within 90 s of the booking.
    h.advance_to(t("2026-03-19T18:08:30Z"));
    assert_eq!(rendered(&mut h, "late"), late.pin);
    assert_eq!(status_of(&h, "late").state, api::CodeState::OnLock);
    h.advance_to(t("2026-03-20T00:00:00Z"));
    assert!(h.storage.emails().unwrap().is_empty(), "no alert for a code made in time");
    assert_eq!(nuki_count(&h.world.http_counts(), "auth_create"), 1);
}

#[test]
fn r21_nuki_a_host_that_ignores_wake_ups_gets_the_last_minute_code_at_its_next_tick() {
    let mut h = last_minute(false);
    h.advance_to(t("2026-03-19T18:08:30Z"));
    assert!(h.world.pins().is_empty(), "nothing before the 18:15 tick");
    assert_eq!(rendered(&mut h, "late"), "{{smartlock_code}}");
    h.advance_to(t("2026-03-19T19:00:00Z"));
    let pins = h.world.pins();
    assert_eq!(utc(only_pin(&pins, "late").added_at), "2026-03-19T18:15:30Z");
    assert_eq!(h.wake_ticks, 0);
}

#[test]
fn r21_nuki_an_assignment_that_makes_bookings_due_gets_their_codes_within_a_minute() {
    // 04:04 Paris on March 17: b1's creation was due March 15 00:00, b2's
    // March 16 00:00; the lock takes one write at a time.
    let steps = vec![
        property("2026-03-01T08:01:00Z", "p1", "Europe/Paris", None, None),
        booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"),
        booking("2026-03-01T09:00:00Z", "b2", "p1", "2026-03-21", "2026-03-23"),
        assign_nuki("2026-03-17T03:04:00Z", "p1", N1, 5, 30),
    ];
    let mut h = nuki_harness_with_steps(START, nuki_world(), steps);
    h.advance_to(t("2026-03-17T03:05:00Z"));
    let pins = h.world.pins();
    for b in ["b1", "b2"] {
        let p = only_pin(&pins, b);
        assert!(p.added_at <= t("2026-03-17T03:05:00Z"), "{b} on the lock within a minute: {}", utc(p.added_at));
    }
    h.advance_to(t("2026-03-17T03:05:30Z"));
    for b in ["b1", "b2"] {
        assert_eq!(rendered(&mut h, b), only_pin(&pins, b).pin, "{b} confirmed within 90 s");
    }
}

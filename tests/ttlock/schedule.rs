//! R5, R6, R8, R9, R10 on TTLock locks: the assignment's settings, when a
//! code reaches the lock, its PIN, and the window the lock holds. Every
//! expected instant is a literal derived in a comment (TTLock windows are
//! minute-precise), judged on the stub's lock table.

use host_harness::scenario::Harness;

use crate::common::*;
use crate::tt::*;

/// A Paris property on its own TTLock lock: (property, lock, days_before,
/// margin, default check-in time, default check-out time).
type Prop<'a> = (&'a str, &'a str, i64, i64, Option<&'a str>, Option<&'a str>);

/// A stay: (booking, property, check-in date, check-out date, negotiated
/// check-in time, negotiated check-out time).
type Stay<'a> = (&'a str, &'a str, &'a str, &'a str, Option<&'a str>, Option<&'a str>);

/// A TTLock harness from `start` (08:00Z): connected, `props` made and
/// assigned, `stays` booked at 09:00Z; its clock then moved to `until`.
fn stays_until(start: &str, props: &[Prop], stays: &[Stay], until: &str) -> Harness {
    let s = t(start);
    let mut h = harness_tt_from(start);
    let mut steps = vec![tt_connect(start)];
    for &(id, lock, days_before, margin, check_in, check_out) in props {
        steps.push(property(&utc(s + 60), id, "Europe/Paris", check_in, check_out));
        steps.push(tt_assign(&utc(s + 120), id, lock, days_before, margin));
    }
    for &(id, prop, check_in, check_out, time_in, time_out) in stays {
        steps.push(booking_at_times(&utc(s + 3600), id, prop, (check_in, check_out), (time_in, time_out)));
    }
    drive(&mut h, &steps);
    h.advance_to(t(until));
    h
}

#[test]
fn r5_ttlock_settings_out_of_range_are_refused_and_nothing_is_half_saved() {
    // The standard booking's code is on LOCK (5 days, 30 minutes) when the
    // manager tries settings out of range, with and without a lock change.
    let mut h = harness_with(vec![booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22")]);
    h.advance_to(t("2026-03-16T10:00:00Z"));
    let stored_before = h.storage.list("", None, 1000).unwrap();
    let pins_before = h.world.pins();
    assert_eq!(pins_before.len(), 1, "{pins_before:?}");
    let writes = |h: &Harness| ["pwd_add", "pwd_change", "pwd_delete"].map(|e| tt_count(h, e));
    let writes_before = writes(&h);
    // SPEC R5: days_before 1..=14, margin_minutes 0..=240.
    for (days, margin, field) in [
        (Some(0), Some(30), "days_before"),
        (Some(15), Some(30), "days_before"),
        (Some(-1), None, "days_before"),
        (Some(5), Some(241), "margin_minutes"),
        (None, Some(-1), "margin_minutes"),
        (Some(99), Some(999), "days_before"),
    ] {
        for lock in [LOCK, LOCK2] {
            let err = apply_err(&mut h, tt_assign_settings("2026-03-16T10:00:00Z", "p1", lock, days, margin));
            assert!(err.starts_with(field) && err.contains("between"), "{days:?}/{margin:?} on {lock}: {err}");
            assert_eq!(
                h.storage.list("", None, 1000).unwrap(),
                stored_before,
                "state unchanged after {days:?}/{margin:?}"
            );
        }
    }
    let a = h.plugin.assignment("p1").unwrap().unwrap().expect("still assigned");
    assert_eq!((a.lock_id.as_str(), a.days_before, a.margin_minutes), (LOCK, 5, 30));
    // The lock never heard of any of it: the code keeps its window, on LOCK only.
    h.advance_to(t("2026-03-23T00:00:00Z"));
    assert_eq!(writes(&h), [writes_before[0], writes_before[1], writes_before[2] + 1], "only the check-out delete");
    let code = the_code(&h.world.pins(), "b1");
    assert_eq!(code.lock, LOCK);
    assert_opens_exactly(&h, LOCK, &code.pin, WINDOW_START, WINDOW_END);

    // A refused first assignment leaves none: p2's booking reaches no lock.
    drive(
        &mut h,
        &[
            property("2026-03-23T00:00:00Z", "p2", "Europe/Paris", None, None),
            booking("2026-03-23T00:00:00Z", "b2", "p2", "2026-03-26", "2026-03-28"),
        ],
    );
    apply_err(&mut h, tt_assign_settings("2026-03-23T00:01:00Z", "p2", LOCK2, None, Some(300)));
    assert_eq!(h.plugin.assignment("p2").unwrap().unwrap(), None);
    h.advance_to(t("2026-03-29T00:00:00Z"));
    assert!(codes_of(&h.world.pins(), "b2").is_empty(), "{:?}", h.world.pins());
}

#[test]
fn r5_ttlock_settings_at_their_bounds_are_kept_and_left_out_they_are_five_days_and_thirty_minutes() {
    let mut h = harness_tt();
    drive(
        &mut h,
        &[
            tt_connect(START),
            property(START, "p1", "Europe/Paris", None, None),
            property(START, "p2", "Europe/Paris", None, None),
            property(START, "p3", "Europe/Paris", None, None),
        ],
    );
    let a = apply_ok(&mut h, tt_assign_settings(START, "p1", LOCK, None, None));
    assert_eq!((a["days_before"].as_i64(), a["margin_minutes"].as_i64()), (Some(5), Some(30)));
    let a = apply_ok(&mut h, tt_assign_settings(START, "p2", WIFI_LOCK, Some(14), Some(240)));
    assert_eq!((a["days_before"].as_i64(), a["margin_minutes"].as_i64()), (Some(14), Some(240)));
    let a = apply_ok(&mut h, tt_assign_settings(START, "p3", LOCK2, Some(1), Some(0)));
    assert_eq!((a["days_before"].as_i64(), a["margin_minutes"].as_i64()), (Some(1), Some(0)));
    for p in ["p1", "p2", "p3"] {
        apply_ok(&mut h, booking("2026-03-01T09:00:00Z", &format!("b{p}"), p, "2026-03-20", "2026-03-22"));
    }
    h.advance_to(t("2026-03-23T00:00:00Z"));
    // Paris is UTC+1 all stay long.
    let codes = assert_stays(
        &h,
        &[
            // Defaults: 14:30 to 11:30 local.
            ("bp1", LOCK, WINDOW_START, WINDOW_END),
            // 15:00 - 4 h = 11:00 (10:00Z) to 11:00 + 4 h = 15:00 (14:00Z).
            ("bp2", WIFI_LOCK, "2026-03-20T10:00:00Z", "2026-03-22T14:00:00Z"),
            // Exactly 15:00 (14:00Z) to 11:00 (10:00Z).
            ("bp3", LOCK2, "2026-03-20T14:00:00Z", "2026-03-22T10:00:00Z"),
        ],
    );
    // Created at 00:00 local: 5 days before (March 15), 14 (March 6), 1 (March 19).
    let created: Vec<String> = codes.iter().map(|c| utc(c.added_at)).collect();
    assert_eq!(created, [CREATE_AT, "2026-03-05T23:00:00Z", "2026-03-18T23:00:00Z"]);
}

#[test]
fn r6_ttlock_codes_reach_the_lock_at_local_midnight_days_before_check_in() {
    // Paris moves to UTC+2 on March 29: check-in April 5, five days before
    // is March 31 00:00+02 = March 30 22:00Z (the creation date's offset).
    let mut h = stays_until(
        START,
        &[("p5", LOCK, 5, 30, None, None), ("p1", WIFI_LOCK, 1, 30, None, None), ("p14", LOCK2, 14, 30, None, None)],
        &[
            ("p5", "p5", "2026-03-20", "2026-03-22", None, None),
            ("p1", "p1", "2026-03-20", "2026-03-22", None, None),
            ("p14", "p14", "2026-03-20", "2026-03-22", None, None),
            ("summer", "p5", "2026-04-05", "2026-04-07", None, None),
        ],
        START,
    );
    // (booking, lock, local midnight in UTC), in time order: March 6, 15
    // and 19 00:00+01, then March 31 00:00+02.
    let due = [
        ("p14", LOCK2, "2026-03-05T23:00:00Z"),
        ("p5", LOCK, "2026-03-14T23:00:00Z"),
        ("p1", WIFI_LOCK, "2026-03-18T23:00:00Z"),
        ("summer", LOCK, "2026-03-30T22:00:00Z"),
    ];
    for (booking, lock, at) in due {
        h.advance_to(t(at) - 60);
        assert!(codes_of(&h.world.pins(), booking).is_empty(), "{booking} on the lock before {at}");
        h.advance_to(t(at));
        let code = the_code(&h.world.pins(), booking);
        assert_eq!((code.lock.as_str(), utc(code.added_at)), (lock, at.to_string()), "{booking}");
    }
}

#[test]
fn r6_ttlock_a_midnight_skipped_by_dst_takes_the_first_instant_of_the_day() {
    // Santiago skips 2026-09-06 00:00-00:59 (-04 -> -03): one day before a
    // September 7 check-in the day starts at 01:00-03 = 04:00Z.
    let mut h = harness_tt_from("2026-09-01T08:00:00Z");
    drive(
        &mut h,
        &[
            tt_connect("2026-09-01T08:00:00Z"),
            property("2026-09-01T08:01:00Z", "cl", "America/Santiago", None, None),
            tt_assign("2026-09-01T08:02:00Z", "cl", LOCK, 1, 30),
            booking("2026-09-01T09:00:00Z", "b1", "cl", "2026-09-07", "2026-09-09"),
        ],
    );
    h.advance_to(t("2026-09-06T03:59:00Z"));
    assert!(h.world.pins().is_empty(), "{:?}", h.world.pins());
    h.advance_to(t("2026-09-10T00:00:00Z"));
    let code = the_code(&h.world.pins(), "b1");
    assert_eq!(utc(code.added_at), "2026-09-06T04:00:00Z");
    // 15:00-03 - 30 min = 17:30Z; September 9 11:00-03 + 30 min = 14:30Z.
    assert_opens_exactly(&h, LOCK, &code.pin, "2026-09-07T17:30:00Z", "2026-09-09T14:30:00Z");
}

#[test]
fn r8_ttlock_pins_are_six_unguessable_digits_unique_on_the_lock() {
    // The re-stated rule itself, on the cases SPEC names.
    for pin in ["111111", "000000", "123456", "456789", "987654", "543210"] {
        assert!(guessable_by_spec(pin), "{pin}");
    }
    for pin in ["123457", "112233", "024680", "909090"] {
        assert!(!guessable_by_spec(pin), "{pin}");
    }
    // 30 overlapping stays on one lock (14 days before: all created by
    // March 7), next to a code the owner set by hand in the TTLock app.
    let mut h = harness_tt();
    let mut steps = paris_tt(START, 14, 30);
    for i in 0..30 {
        let day = 16 + i % 6;
        let (check_in, check_out) = (format!("2026-03-{day}"), format!("2026-03-{}", day + 3));
        steps.push(booking(&format!("2026-03-01T09:{i:02}:00Z"), &format!("b{i}"), "p1", &check_in, &check_out));
    }
    drive(&mut h, &steps);
    h.world
        .ttlock()
        .unwrap()
        .set_passcode_by_hand(LOCK, "305917", t("2026-03-01T10:00:00Z"), t("2026-04-30T00:00:00Z"))
        .expect("set by hand");
    // March 16 12:00Z: every stay's window is still open (the first ends March 19).
    h.advance_to(t("2026-03-16T12:00:00Z"));
    let pins = h.world.pins();
    let live: Vec<_> = pins.iter().filter(|p| p.lock == LOCK && p.removed_at.is_none()).collect();
    assert_eq!(live.len(), 31, "30 guests and the owner's code: {pins:?}");
    let mut seen = std::collections::HashSet::new();
    for i in 0..30 {
        let code = the_code(&pins, &format!("b{i}"));
        let pin = code.pin.as_str();
        assert!(pin.len() == 6 && pin.bytes().all(|b| b.is_ascii_digit()), "six digits: {pin:?}");
        assert!(!guessable_by_spec(pin), "guessable: {pin}");
        assert_eq!(status(&h, &format!("b{i}")).pin.as_deref(), Some(pin), "the PIN the guest is given is the lock's");
        assert!(opens(&h, LOCK, pin, &utc(code.start)), "{pin} opens the door at its start");
    }
    for p in &live {
        assert!(seen.insert(p.pin.as_str()), "PIN {} twice among the live codes on the lock: {live:?}", p.pin);
    }
    assert_no_overlapping_duplicates(&h.report("r8", Vec::new()).unwrap());
}

#[test]
fn r9_ttlock_negotiated_times_then_the_property_defaults_then_15_00_and_11_00() {
    // p1 has defaults 16:00/10:00, p2 none; margin 0 so the lock holds the
    // times themselves. Paris is UTC+1 until March 29.
    let h = stays_until(
        START,
        &[("p1", LOCK, 5, 0, Some("16:00"), Some("10:00")), ("p2", WIFI_LOCK, 5, 0, None, None)],
        &[
            ("neg", "p1", "2026-03-20", "2026-03-22", Some("13:00"), Some("12:15")),
            ("half", "p1", "2026-03-25", "2026-03-27", Some("18:30"), None),
            ("def", "p1", "2026-03-10", "2026-03-12", None, None),
            ("std", "p2", "2026-03-20", "2026-03-22", None, None),
            ("std-neg", "p2", "2026-03-23", "2026-03-24", None, Some("09:45")),
        ],
        "2026-03-28T00:00:00Z",
    );
    assert_stays(
        &h,
        &[
            // Negotiated 13:00 and 12:15.
            ("neg", LOCK, "2026-03-20T12:00:00Z", "2026-03-22T11:15:00Z"),
            // Negotiated check-in 18:30, the property's check-out 10:00.
            ("half", LOCK, "2026-03-25T17:30:00Z", "2026-03-27T09:00:00Z"),
            // The property's 16:00 and 10:00.
            ("def", LOCK, "2026-03-10T15:00:00Z", "2026-03-12T09:00:00Z"),
            // No defaults: 15:00 and 11:00.
            ("std", WIFI_LOCK, "2026-03-20T14:00:00Z", "2026-03-22T10:00:00Z"),
            // 15:00, and the negotiated check-out 09:45.
            ("std-neg", WIFI_LOCK, "2026-03-23T14:00:00Z", "2026-03-24T08:45:00Z"),
        ],
    );
}

#[test]
fn r10_ttlock_the_margin_widens_the_window_on_both_sides() {
    let h = stays_until(
        START,
        &[
            ("m30", LOCK, 5, 30, None, None),
            ("m120", WIFI_LOCK, 5, 120, None, None),
            ("m0", LOCK2, 5, 0, Some("16:00"), Some("10:00")),
        ],
        &[
            ("m30", "m30", "2026-03-20", "2026-03-22", None, None),
            ("m120", "m120", "2026-03-20", "2026-03-22", None, None),
            ("m0", "m0", "2026-03-20", "2026-03-22", None, None),
        ],
        "2026-03-23T00:00:00Z",
    );
    assert_stays(
        &h,
        &[
            // 15:00 - 30 min = 14:30+01; 11:00 + 30 min = 11:30+01.
            ("m30", LOCK, "2026-03-20T13:30:00Z", "2026-03-22T10:30:00Z"),
            // 15:00 - 2 h = 13:00+01; 11:00 + 2 h = 13:00+01.
            ("m120", WIFI_LOCK, "2026-03-20T12:00:00Z", "2026-03-22T12:00:00Z"),
            // Exactly 16:00+01 and 10:00+01.
            ("m0", LOCK2, "2026-03-20T15:00:00Z", "2026-03-22T09:00:00Z"),
        ],
    );
}

#[test]
fn r10_ttlock_a_stay_across_spring_forward_has_two_offsets_and_a_time_in_the_gap_moves_forward() {
    // Paris: March 29 02:00+01 is 03:00+02.
    let h = stays_until(
        START,
        &[("p1", LOCK, 5, 30, None, None), ("p2", WIFI_LOCK, 5, 0, None, None)],
        &[
            ("across", "p1", "2026-03-27", "2026-03-30", None, None),
            // Check-in at 02:30 on March 29, which does not exist: 03:00+02.
            ("gap", "p2", "2026-03-29", "2026-03-30", Some("02:30"), None),
        ],
        "2026-03-31T00:00:00Z",
    );
    assert_stays(
        &h,
        &[
            // In 15:00+01 - 30 min = 13:30Z; out 11:00+02 + 30 min = 09:30Z.
            ("across", LOCK, "2026-03-27T13:30:00Z", "2026-03-30T09:30:00Z"),
            // 03:00+02 = 01:00Z to 11:00+02 = 09:00Z.
            ("gap", WIFI_LOCK, "2026-03-29T01:00:00Z", "2026-03-30T09:00:00Z"),
        ],
    );
    let w = status(&h, "across").window.expect("window");
    assert_eq!(
        (w.start_local.as_str(), w.end_local.as_str()),
        ("2026-03-27T14:30:00+01:00", "2026-03-30T11:30:00+02:00")
    );
}

#[test]
fn r10_ttlock_a_stay_across_fall_back_never_gets_shorter() {
    // Paris: October 25 03:00+02 is 02:00+01; 02:30 happens twice.
    let h = stays_until(
        "2026-10-15T08:00:00Z",
        &[("p1", LOCK, 5, 30, None, None), ("p2", WIFI_LOCK, 5, 0, None, None)],
        &[
            ("across", "p1", "2026-10-23", "2026-10-26", None, None),
            // An ambiguous check-in takes the earlier 02:30 (+02), an
            // ambiguous check-out the later one (+01).
            ("in-twice", "p2", "2026-10-25", "2026-10-27", Some("02:30"), None),
            ("out-twice", "p2", "2026-10-22", "2026-10-25", None, Some("02:30")),
        ],
        "2026-10-28T00:00:00Z",
    );
    let codes = assert_stays(
        &h,
        &[
            // In 15:00+02 - 30 min = 12:30Z; out 11:00+01 + 30 min = 10:30Z.
            ("across", LOCK, "2026-10-23T12:30:00Z", "2026-10-26T10:30:00Z"),
            // 02:30+02 = 00:30Z to October 27 11:00+01 = 10:00Z.
            ("in-twice", WIFI_LOCK, "2026-10-25T00:30:00Z", "2026-10-27T10:00:00Z"),
            // October 22 15:00+02 = 13:00Z to 02:30+01 = 01:30Z.
            ("out-twice", WIFI_LOCK, "2026-10-22T13:00:00Z", "2026-10-25T01:30:00Z"),
        ],
    );
    // Created October 18 00:00+02 = 17 22:00Z.
    assert_eq!(utc(codes[0].added_at), "2026-10-17T22:00:00Z");
}

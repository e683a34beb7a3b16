//! R15 and R17 on TTLock locks: cancellations, a property's lock changed to
//! another TTLock lock, and its lock removed, judged on which PIN opens
//! which lock when. Paris (UTC+1 in March), days_before 5, margin 30.

use host_harness::scenario::Harness;

use crate::common::*;
use crate::tt::*;

/// The standard stay b1 (March 20-22, its code created March 14 23:00Z)
/// and b2, a guest in the middle of a stay from March 14 to 18 (created
/// March 9 00:00 local = 8 23:00Z, window March 14 13:30Z to 18 10:30Z),
/// then `extra` steps.
fn b1_and_mid_stay_b2(extra: Vec<serde_json::Value>) -> Harness {
    let mut steps = vec![
        booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"),
        booking("2026-03-01T09:00:00Z", "b2", "p1", "2026-03-14", "2026-03-18"),
    ];
    steps.extend(extra);
    harness_with(steps)
}

const B2_START: &str = "2026-03-14T13:30:00Z";
const B2_END: &str = "2026-03-18T10:30:00Z";

#[test]
fn r15_ttlock_a_booking_cancelled_before_its_creation_never_reaches_the_lock() {
    let mut h = harness_with(vec![
        booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"),
        cancel("2026-03-10T10:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"),
    ]);
    h.advance_to(t("2026-03-25T00:00:00Z"));
    assert!(h.world.pins().is_empty(), "{:?}", h.world.pins());
    assert_eq!(tt_count(&h, "pwd_add"), 0, "TTLock never asked");
    assert!(cloud_custom_codes(&h, LOCK).is_empty());
}

#[test]
fn r15_ttlock_a_cancelled_booking_whose_creation_is_being_retried_is_never_created() {
    // The gateway is down at the creation; the booking is cancelled while
    // the plugin retries hourly; the gateway comes back afterwards.
    let mut h = harness_with(vec![
        gateway("2026-03-14T20:00:00Z", GATEWAY, false),
        booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"),
    ]);
    h.advance_to(t("2026-03-15T02:30:00Z"));
    // 23:00Z, 00:00Z, 01:00Z and 02:00Z, all refused by the offline gateway.
    assert_eq!(tt_count(&h, "pwd_add"), 4);
    apply_ok(&mut h, cancel("2026-03-15T02:30:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    apply_ok(&mut h, gateway("2026-03-15T02:40:00Z", GATEWAY, true));
    h.advance_to(t("2026-03-25T00:00:00Z"));
    assert_eq!(tt_count(&h, "pwd_add"), 4, "no attempt after the cancellation");
    assert!(h.world.pins().is_empty(), "{:?}", h.world.pins());
    assert!(h.storage.emails().unwrap().is_empty(), "no alert for a cancelled booking");
}

#[test]
fn r15_ttlock_a_booking_cancelled_after_creation_is_deleted_from_the_lock_at_the_next_tick() {
    let mut h = harness_with(vec![booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22")]);
    h.advance_to(t("2026-03-16T10:00:00Z"));
    let pin = the_code(&h.world.pins(), "b1").pin;
    apply_ok(&mut h, cancel("2026-03-16T10:05:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    h.advance_to(t("2026-03-16T10:05:00Z"));
    // The cancellation asks for a tick at once; TTLock deletes synchronously.
    let code = the_code(&h.world.pins(), "b1");
    assert_eq!(code.removed_at.map(utc).as_deref(), Some("2026-03-16T10:05:00Z"));
    assert_eq!(rendered(&h, "b1"), None, "no code for a cancelled booking");
    h.advance_to(t("2026-03-23T00:00:00Z"));
    assert!(!opens(&h, LOCK, &pin, "2026-03-20T14:00:00Z"), "the cancelled guest's PIN no longer opens the door");
    assert_eq!((tt_count(&h, "pwd_add"), tt_count(&h, "pwd_delete")), (1, 1));
    assert!(cloud_custom_codes(&h, LOCK).is_empty(), "{:?}", cloud_custom_codes(&h, LOCK));

    // A host ticking every 15 minutes from 08:00Z: its 10:15Z tick.
    let mut steps = paris_tt(START, 5, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(cancel("2026-03-16T10:05:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(end("2026-03-17T00:00:00Z"));
    let report = run_tt_from("r15 regular ticks", START, false, steps);
    assert_steps_ok(&report);
    assert_eq!(the_code(&report.pins, "b1").removed_at.map(utc).as_deref(), Some("2026-03-16T10:15:00Z"));
}

#[test]
fn r17_ttlock_moving_a_live_code_to_another_ttlock_lock_keeps_the_pin_and_leaves_a_mid_stay_guest_alone() {
    // b3's stay (March 28-30) has no code yet when the lock changes: due
    // March 23 00:00 local = 22 23:00Z.
    let mut h = b1_and_mid_stay_b2(vec![booking("2026-03-01T09:00:00Z", "b3", "p1", "2026-03-28", "2026-03-30")]);
    h.advance_to(t("2026-03-16T10:00:00Z"));
    let b1_pin = the_code(&h.world.pins(), "b1").pin;
    let b2_pin = the_code(&h.world.pins(), "b2").pin;
    // To the garage door, behind the yard gateway.
    apply_ok(&mut h, tt_assign("2026-03-16T10:00:00Z", "p1", LOCK2, 5, 30));
    h.advance_to(t("2026-03-31T00:00:00Z"));
    let pins = h.world.pins();

    // b1: off the old lock and on the new one at once (its creation time
    // is past), same PIN, never on both.
    let b1 = codes_of(&pins, "b1");
    assert_eq!(b1.len(), 2, "{b1:?}");
    assert_eq!((b1[0].lock.as_str(), b1[1].lock.as_str()), (LOCK, LOCK2));
    assert_eq!(b1[0].removed_at.map(utc).as_deref(), Some("2026-03-16T10:00:00Z"));
    assert_eq!(utc(b1[1].added_at), "2026-03-16T10:00:00Z");
    assert_eq!(b1[1].pin, b1_pin, "the guest keeps the PIN");
    assert_opens_exactly(&h, LOCK2, &b1_pin, WINDOW_START, WINDOW_END);
    assert!(!opens(&h, LOCK, &b1_pin, "2026-03-20T14:00:00Z"), "not on the old lock");

    // b2, mid-stay: keeps the old lock's code to check-out, nothing on the new one.
    let b2 = the_code(&pins, "b2");
    assert_eq!((b2.lock.as_str(), b2.pin.as_str()), (LOCK, b2_pin.as_str()));
    assert_opens_exactly(&h, LOCK, &b2_pin, B2_START, B2_END);
    assert_eq!(b2.removed_at.map(utc).as_deref(), Some(B2_END));

    // b3: on the new lock only, on its normal schedule. Paris is UTC+2
    // from March 29: in 15:00+01 - 30 min = 13:30Z, out 11:00+02 + 30 min = 09:30Z.
    let b3 = the_code(&pins, "b3");
    assert_eq!((b3.lock.as_str(), utc(b3.added_at)), (LOCK2, "2026-03-22T23:00:00Z".to_string()));
    assert_opens_exactly(&h, LOCK2, &b3.pin, "2026-03-28T13:30:00Z", "2026-03-30T09:30:00Z");
    assert_no_overlapping_duplicates(&h.report("r17", Vec::new()).unwrap());
}

#[test]
fn r17_ttlock_moving_a_code_to_a_lock_where_its_pin_is_taken_gives_the_guest_another_pin() {
    let mut h = harness_with(vec![booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22")]);
    h.advance_to(t("2026-03-16T09:00:00Z"));
    let old_pin = the_code(&h.world.pins(), "b1").pin;
    // The owner already uses that PIN on the Wi-Fi lock.
    h.world
        .ttlock()
        .unwrap()
        .set_passcode_by_hand(WIFI_LOCK, &old_pin, t("2026-03-16T00:00:00Z"), t("2026-04-30T00:00:00Z"))
        .expect("set by hand");
    apply_ok(&mut h, tt_assign("2026-03-16T10:00:00Z", "p1", WIFI_LOCK, 5, 30));
    h.advance_to(t("2026-03-21T00:00:00Z"));
    let b1 = codes_of(&h.world.pins(), "b1");
    assert_eq!(b1.len(), 2, "{b1:?}");
    assert_eq!(b1[0].removed_at.map(utc).as_deref(), Some("2026-03-16T10:00:00Z"));
    let new = &b1[1];
    assert_eq!(new.lock, WIFI_LOCK);
    assert_ne!(new.pin, old_pin, "the owner's PIN is not the guest's");
    assert!(new.added_at <= t("2026-03-16T10:01:00Z"), "at once, not an hour later: {}", utc(new.added_at));
    assert_opens_exactly(&h, WIFI_LOCK, &new.pin, WINDOW_START, WINDOW_END);
    assert_eq!(rendered(&h, "b1").as_deref(), Some(new.pin.as_str()), "the guest is given the new PIN");
}

#[test]
fn r17_ttlock_removing_the_lock_deletes_codes_not_started_keeps_a_mid_stay_guest_and_creates_nothing() {
    let mut h = b1_and_mid_stay_b2(vec![booking("2026-03-01T09:00:00Z", "b3", "p1", "2026-03-28", "2026-03-30")]);
    h.advance_to(t("2026-03-16T10:00:00Z"));
    let adds = tt_count(&h, "pwd_add");
    apply_ok(&mut h, step("2026-03-16T10:00:00Z", "unassign", serde_json::json!({"property": "p1"})));
    h.advance_to(t("2026-03-31T00:00:00Z"));
    let pins = h.world.pins();
    let b1 = the_code(&pins, "b1");
    assert_eq!(b1.removed_at.map(utc).as_deref(), Some("2026-03-16T10:00:00Z"), "deleted at once");
    assert!(!opens(&h, LOCK, &b1.pin, "2026-03-20T14:00:00Z"));
    let b2 = the_code(&pins, "b2");
    assert_opens_exactly(&h, LOCK, &b2.pin, B2_START, B2_END);
    assert_eq!(b2.removed_at.map(utc).as_deref(), Some(B2_END), "kept until check-out, then deleted");
    assert!(codes_of(&pins, "b3").is_empty(), "nothing new: {pins:?}");
    assert_eq!(tt_count(&h, "pwd_add"), adds, "no add after the unassign");
    assert!(cloud_custom_codes(&h, LOCK).is_empty());
}

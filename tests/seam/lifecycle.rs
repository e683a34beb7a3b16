//! R29 and a code's life on devices Seam schedules itself: unset until
//! Seam loads it (72 h ahead, or 60 min for just-in-time devices), moved in
//! place (R14), deleted (R15), removed by Seam at its end (R16).

use host_harness::stubs::seam::Programming;
use serde_json::json;

use crate::common::*;
use crate::sm::*;

/// The code events of `booking` in one state.
fn at_state(h: &host_harness::scenario::Harness, booking: &str, state: &str) -> Vec<String> {
    events_of(h, booking).into_iter().filter(|(_, s)| s == state).map(|(at, _)| at).collect()
}

#[test]
fn r29_seam_a_time_bound_code_is_unset_until_72h_before_its_start_and_counts_once_scheduled() {
    let mut h = harness_with(&standard_on(SCHLAGE));
    h.advance_to(t(CREATE_AT) + 300);
    assert_eq!(sm_count(&h, "access_codes_create"), 1, "created five days before");
    let codes = seam_codes(&h, SCHLAGE);
    assert_eq!(codes.len(), 1, "{codes:?}");
    assert_eq!(codes[0]["status"], "unset", "Seam holds it: {}", codes[0]);
    assert_ne!(codes[0]["is_scheduled_on_device"], json!(true), "{}", codes[0]);
    assert!(sm_pins(&h).is_empty(), "nothing on the lock before start - 72 h");
    assert_eq!(rendered(&h, "b1"), None, "no PIN for the guest while the code is neither set nor scheduled");

    h.advance_to(t(LOAD_AT) - 60);
    assert!(sm_pins(&h).is_empty(), "still nothing on the lock a minute before start - 72 h");
    h.advance_to(t("2026-03-18T00:00:00Z"));
    let code = the_code(&sm_pins(&h), "b1");
    assert_eq!(utc(code.added_at), "2026-03-17T13:30:20Z", "Seam loads it 72 h before the start");
    let seam = &seam_codes(&h, SCHLAGE)[0];
    assert_eq!(seam["is_scheduled_on_device"], json!(true), "{seam}");
    assert_eq!(status(&h, "b1").state, host_harness::api::CodeState::OnLock, "scheduled on the device counts");
    assert_eq!(rendered(&h, "b1").as_deref(), Some(code.pin.as_str()));
    assert_eq!(at_state(&h, "b1", "on_lock").len(), 1);

    h.advance_to(t(WINDOW_START) + 60);
    assert_eq!(seam_codes(&h, SCHLAGE)[0]["status"], "set", "set from its start");
    h.advance_to(t("2026-03-23T00:00:00Z"));
    assert_opens_exactly(&h, SCHLAGE, &code.pin, WINDOW_START, WINDOW_END);
    assert_eq!(sm_count(&h, "access_codes_create"), 1, "one create in all");
    assert!(emails(&h).is_empty(), "{:?}", emails(&h));
}

/// The lead's `Confirmed::Deferred(until)`: a code Seam holds until start −
/// 72 h is neither a lost write nor polled while it waits.
#[test]
fn r29_seam_a_code_held_until_72h_before_its_start_is_not_a_lost_write() {
    let mut h = harness_with(&standard_on(SCHLAGE));
    h.advance_to(t(CREATE_AT) + 120);
    let looks = sm_count(&h, "access_codes_get") + sm_count(&h, "access_codes_list");
    h.advance_to(t(LOAD_AT) - 60);
    let s = status(&h, "b1");
    assert_eq!(s.last_error, None, "Seam holding the code is no error: {s:?}");
    assert!(at_state(&h, "b1", "retrying").is_empty(), "{:?}", events_of(&h, "b1"));
    let waited = sm_count(&h, "access_codes_get") + sm_count(&h, "access_codes_list") - looks;
    assert!(waited <= 3, "{waited} looks at a code Seam said it holds until start - 72 h");
    h.advance_to(t("2026-03-18T00:00:00Z"));
    let on_lock = at_state(&h, "b1", "on_lock");
    assert_eq!(on_lock.len(), 1, "{:?}", events_of(&h, "b1"));
    assert!(
        t(&on_lock[0]) <= t(LOAD_AT) + 15 * 60,
        "on the lock at {}, looked at within a tick of the load",
        on_lock[0]
    );
}

#[test]
fn r29_seam_a_just_in_time_code_counts_once_held_without_warning_and_reaches_the_lock_60_min_ahead() {
    let mut h = harness_with(&standard_on(LOCKLY));
    h.advance_to(t(CREATE_AT) + 15 * 60);
    assert_eq!(status(&h, "b1").state, host_harness::api::CodeState::OnLock, "held with no warning counts (R29)");
    assert!(sm_pins(&h).is_empty(), "Lockly gets nothing until 60 min before the start");
    h.advance_to(t("2026-03-23T00:00:00Z"));
    let code = the_code(&sm_pins(&h), "b1");
    assert_eq!(utc(code.added_at), "2026-03-20T12:30:20Z", "programmed 60 min before the start");
    assert!(opens(&h, LOCKLY, &code.pin, WINDOW_START));
    assert!(opens(&h, LOCKLY, &code.pin, &utc(t(WINDOW_END) - 60)));
    assert!(!opens(&h, LOCKLY, &code.pin, WINDOW_END), "removed at its end");
    assert_eq!(sm_count(&h, "access_codes_create"), 1);
    assert!(emails(&h).is_empty(), "no alert for a device Seam programs just in time: {:?}", emails(&h));
}

#[test]
fn r14_seam_a_code_is_moved_in_place_with_the_same_pin() {
    let mut steps = standard_on(SCHLAGE);
    // Moved once Seam holds it (before the load) and once on the lock.
    steps.push(booking("2026-03-16T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-23"));
    steps.push(booking("2026-03-18T09:00:00Z", "b1", "p1", "2026-03-19", "2026-03-23"));
    let mut h = harness_sm();
    drive(&mut h, &steps[..4]);
    h.advance_to(t("2026-03-16T08:00:00Z"));
    let pin = status(&h, "b1").pin.expect("the PIN is chosen");
    drive(&mut h, &steps[4..5]);
    h.advance_to(t("2026-03-18T08:00:00Z"));
    drive(&mut h, &steps[5..]);
    h.advance_to(t("2026-03-24T00:00:00Z"));
    assert_eq!(sm_count(&h, "access_codes_create"), 1, "never made anew");
    assert_eq!(sm_count(&h, "access_codes_update"), 2, "moved in place twice");
    let codes = codes_of(&sm_pins(&h), "b1");
    assert!(!codes.is_empty() && codes.iter().all(|c| c.pin == pin), "same PIN throughout: {codes:?}");
    let last = codes.last().expect("a code");
    // March 19, 15:00 − 30 min CET to March 23, 11:00 + 30 min CET.
    assert_opens_exactly(&h, SCHLAGE, &pin, "2026-03-19T13:30:00Z", "2026-03-23T10:30:00Z");
    assert_eq!(last.lock, SCHLAGE);
    for pair in codes.windows(2) {
        assert_eq!(pair[0].removed_at, Some(pair[1].added_at), "moved in place, not removed and re-added: {codes:?}");
    }
}

#[test]
fn r15_seam_a_cancelled_booking_is_deleted_from_the_lock_and_one_not_yet_created_never_is() {
    let mut steps = standard_on(SCHLAGE);
    steps.push(booking("2026-03-01T09:00:00Z", "b2", "p1", "2026-03-25", "2026-03-27"));
    steps.push(cancel("2026-03-12T09:00:00Z", "b2", "p1", "2026-03-25", "2026-03-27"));
    let mut h = harness_with(&steps);
    h.advance_to(t("2026-03-18T09:00:00Z"));
    let code = the_code(&sm_pins(&h), "b1");
    apply_ok(&mut h, cancel("2026-03-18T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    h.advance_to(t("2026-03-18T09:20:00Z"));
    let gone = the_code(&sm_pins(&h), "b1");
    assert!(gone.removed_at.is_some_and(|r| r <= t("2026-03-18T09:20:00Z")), "deleted at the next tick: {gone:?}");
    h.advance_to(t("2026-03-28T00:00:00Z"));
    assert!(!opens(&h, SCHLAGE, &code.pin, "2026-03-20T14:00:00Z"), "the cancelled guest's PIN opens nothing");
    assert!(seam_codes(&h, SCHLAGE).is_empty(), "gone from Seam too");
    assert!(codes_of(&sm_pins(&h), "b2").is_empty(), "b2 was cancelled before its creation");
    assert_eq!(sm_count(&h, "access_codes_create"), 1, "b2 never created");
    assert_eq!(sm_count(&h, "access_codes_delete"), 1);
}

#[test]
fn r16_seam_a_code_seam_removed_at_its_end_is_done_on_a_404() {
    let mut h = harness_with(&standard_on(SCHLAGE));
    h.advance_to(t(WINDOW_END) + 60);
    let code = the_code(&sm_pins(&h), "b1");
    assert_eq!(code.removed_at.map(utc).as_deref(), Some("2026-03-22T10:30:20Z"), "Seam removes it at its end");
    h.advance_to(t("2026-03-23T12:00:00Z"));
    let s = status(&h, "b1");
    assert_eq!(s.state, host_harness::api::CodeState::Removed, "{s:?}");
    assert_eq!(s.last_error, None, "a 404 on delete is done: {s:?}");
    assert!(sm_count(&h, "access_codes_delete") <= 1, "asked once at most");
    let asked = h.world.http_counts().requests;
    h.advance_to(t("2026-03-26T00:00:00Z"));
    assert_eq!(h.world.http_counts().requests, asked, "nothing left to do");
    assert_eq!(at_state(&h, "b1", "deleted").len(), 1, "{:?}", events_of(&h, "b1"));
    assert!(emails(&h).is_empty());
}

/// b1 created inside Seam's 72 h on a Schlage whose programming Seam never
/// confirms: at `changed_at` Seam still holds the code `unset`, neither set
/// nor scheduled, and the plugin's create is unconfirmed. The harness, and
/// the PIN Seam holds.
fn held_unset_until(changed_at: &str) -> (host_harness::scenario::Harness, String) {
    let mut h = harness_with(&in_72h_on(SCHLAGE));
    set_programming(&h, SCHLAGE, Programming::NeverConfirm);
    h.advance_to(t(changed_at) - 60);
    let codes = seam_codes(&h, SCHLAGE);
    assert_eq!(codes.len(), 1, "{codes:?}");
    assert_eq!(codes[0]["status"], "unset", "{}", codes[0]);
    assert_ne!(codes[0]["is_scheduled_on_device"], json!(true), "{}", codes[0]);
    assert!(sm_pins(&h).is_empty(), "nothing on the lock");
    assert_ne!(status(&h, "b1").state, host_harness::api::CodeState::OnLock, "not confirmed");
    let pin = codes[0]["code"].as_str().expect("the PIN Seam holds").to_string();
    assert_eq!(status(&h, "b1").pin.as_deref(), Some(pin.as_str()));
    (h, pin)
}

/// Seam keeps a code `unset` until it is on the lock (and a time-bound one
/// until its start): a cancellation meanwhile deletes it from Seam at the
/// next tick, so Seam never sets it on the lock later.
#[test]
fn r15_seam_a_cancelled_booking_whose_code_seam_holds_unset_is_deleted_and_never_reaches_the_lock() {
    let changed = "2026-03-18T09:00:00Z";
    let (mut h, pin) = held_unset_until(changed);
    apply_ok(&mut h, cancel(changed, "b1", "p1", "2026-03-20", "2026-03-22"));
    h.advance_to(t(changed) + 20 * 60);
    assert!(seam_codes(&h, SCHLAGE).is_empty(), "deleted from Seam at the next tick");
    assert_eq!(sm_count(&h, "access_codes_delete"), 1);
    // Seam would now program what it still held: nothing is left to program.
    set_programming(&h, SCHLAGE, Programming::Normal);
    h.advance_to(t("2026-03-23T00:00:00Z"));
    assert!(sm_pins(&h).is_empty(), "the cancelled guest's code never reached the lock: {:?}", sm_pins(&h));
    assert!(!opens(&h, SCHLAGE, &pin, WINDOW_START));
    assert_eq!(sm_count(&h, "access_codes_create"), 1, "never made anew");
    let s = status(&h, "b1");
    assert_eq!(s.last_error, None, "{s:?}");
}

/// A stay moved while Seam holds its code `unset` is moved in place at
/// Seam keeping the PIN; once Seam programs it, the lock opens for the
/// new window only.
#[test]
fn r14_seam_a_code_seam_holds_unset_is_moved_in_place_keeping_its_pin() {
    let changed = "2026-03-18T09:00:00Z";
    let (mut h, pin) = held_unset_until(changed);
    apply_ok(&mut h, booking(changed, "b1", "p1", "2026-03-20", "2026-03-23"));
    h.advance_to(t(changed) + 20 * 60);
    assert_eq!(sm_count(&h, "access_codes_update"), 1, "moved at Seam at the next tick");
    let codes = seam_codes(&h, SCHLAGE);
    assert_eq!(codes.len(), 1, "{codes:?}");
    assert_eq!(codes[0]["code"], json!(pin), "the same PIN");
    // March 23, 11:00 + 30 min CET.
    assert_eq!(t(codes[0]["ends_at"].as_str().expect("ends_at")), t("2026-03-23T10:30:00Z"), "{}", codes[0]);
    set_programming(&h, SCHLAGE, Programming::Normal);
    h.advance_to(t("2026-03-24T00:00:00Z"));
    assert_opens_exactly(&h, SCHLAGE, &pin, WINDOW_START, "2026-03-23T10:30:00Z");
    let codes = codes_of(&sm_pins(&h), "b1");
    assert!(!codes.is_empty() && codes.iter().all(|c| c.pin == pin), "same PIN throughout: {codes:?}");
    assert_eq!(sm_count(&h, "access_codes_create"), 1, "never made anew");
}

//! TTLock's failure modes through the stub: a busy or offline gateway, a PIN
//! already on the lock, an expired token, writes whose outcome is unknown
//! (hang, lost answer) and 5xx. The plugin keeps R8, R11-R14 and never
//! leaves two codes for one booking.

use host_harness::api::CodeState;
use host_harness::stubs::ttlock::TtlockEndpoint;
use serde_json::json;

use crate::common::*;
use crate::tt::*;

/// The standard booking with `extra` steps, to `end_at`.
fn run_with(extra: Vec<serde_json::Value>, end_at: &str) -> host_harness::scenario::Report {
    let mut steps = standard();
    steps.extend(extra);
    steps.push(end(end_at));
    let report = run_tt("ttlock faults", steps);
    assert_steps_ok(&report);
    assert_no_overlapping_duplicates(&report);
    report
}

/// [`run_with`], and one live TTLock code for b1 at the end, with the
/// promised window.
fn with(extra: Vec<serde_json::Value>, end_at: &str) -> host_harness::scenario::Report {
    let report = run_with(extra, end_at);
    let live: Vec<_> = report.pins.iter().filter(|p| p.removed_at.is_none()).collect();
    assert_eq!(live.len(), 1, "one live code: {:?}", report.pins);
    assert_eq!((utc(live[0].start), utc(live[0].end)), (WINDOW_START.to_string(), WINDOW_END.to_string()));
    report
}

#[test]
fn faults_ttlock_busy_gateway_is_retried_soon_with_the_same_pin_and_no_alert() {
    let mut h = harness_tt();
    drive(&mut h, &standard());
    apply_ok(&mut h, errcode("2026-03-14T22:59:00Z", "pwd_add", -3003, 1));
    h.advance_to(t("2026-03-14T23:00:30Z"));
    assert!(h.world.pins().is_empty());
    let s = status(&h, "b1");
    let pin = s.pin.clone().expect("the PIN was chosen before the call");
    assert!(s.last_error.unwrap_or_default().contains("busy"), "the last error says why");
    assert_eq!(s.next_attempt.map(utc).as_deref(), Some("2026-03-14T23:01:00Z"), "soon, not in an hour");
    h.advance_to(t("2026-03-20T00:00:00Z"));
    let pins = h.world.pins();
    assert_eq!(pins.len(), 1, "{pins:?}");
    assert_eq!(utc(pins[0].added_at), "2026-03-14T23:01:00Z");
    assert_eq!(pins[0].pin, pin, "same PIN");
    assert_eq!(tt_count(&h, "pwd_add"), 2);
    assert!(h.storage.emails().unwrap().is_empty(), "no alert for a busy gateway");
}

#[test]
fn faults_ttlock_offline_gateway_errcodes_are_retried_hourly() {
    let report = with(
        vec![
            errcode("2026-03-14T22:59:00Z", "pwd_add", -3002, 1),
            errcode("2026-03-14T22:59:00Z", "pwd_add", -2012, 1),
            errcode("2026-03-14T22:59:00Z", "pwd_add", -3002, 1),
        ],
        "2026-03-15T06:00:00Z",
    );
    assert_eq!(report.pins.len(), 1);
    assert_eq!(utc(report.pins[0].added_at), "2026-03-15T02:00:00Z", "23:00, 00:00, 01:00 offline; 02:00 created");
    assert_eq!(count(&report, "ttlock.pwd_add"), 4);
    assert!(report.emails.is_empty());
}

#[test]
fn faults_ttlock_duplicate_pin_gets_a_new_pin_at_once() {
    // The owner types the guest's chosen PIN into the TTLock app between the
    // first (busy) attempt and the retry: TTLock answers -3007.
    let mut h = harness_tt();
    drive(&mut h, &standard());
    apply_ok(&mut h, errcode("2026-03-14T22:59:00Z", "pwd_add", -3003, 1));
    h.advance_to(t("2026-03-14T23:00:30Z"));
    let taken = status(&h, "b1").pin.expect("PIN chosen");
    h.world
        .ttlock()
        .unwrap()
        .set_passcode_by_hand(LOCK, &taken, t("2026-03-14T23:00:00Z"), t("2026-04-01T00:00:00Z"))
        .expect("set by hand");
    h.advance_to(t("2026-03-15T06:00:00Z"));
    let pins = h.world.pins();
    assert_eq!(pins.len(), 2, "the owner's code and the guest's: {pins:?}");
    let by_hand = pins.iter().find(|p| p.pin == taken).expect("the owner's code");
    assert_eq!(by_hand.removed_at, None, "the owner's code is left alone");
    let guest = pins.iter().find(|p| p.access_name.contains("(b1)")).expect("the guest's code");
    assert_ne!(guest.pin, taken, "another PIN");
    let added = guest.added_at;
    assert!(
        added >= t("2026-03-14T23:01:00Z") && added <= t("2026-03-14T23:02:00Z"),
        "right after the refusal, not at the next hourly attempt: {}",
        utc(added)
    );
    assert_eq!(tt_count(&h, "pwd_add"), 3, "busy, taken, created");
    assert_eq!(status(&h, "b1").pin.as_deref(), Some(guest.pin.as_str()));
    assert_eq!(rendered(&h, "b1").as_deref(), Some(guest.pin.as_str()));

    // The same as a scenario file spells it.
    let report = with(vec![errcode("2026-03-14T22:59:00Z", "pwd_add", -3007, 1)], "2026-03-15T06:00:00Z");
    assert_eq!(report.pins.len(), 1);
    let added = report.pins[0].added_at;
    assert!(added >= t(CREATE_AT) && added <= t("2026-03-14T23:01:00Z"), "at once: {}", utc(added));
    assert_eq!(count(&report, "ttlock.pwd_add"), 2);
}

#[test]
fn faults_ttlock_expired_token_is_refreshed_without_a_password_grant() {
    let mut h = harness_tt();
    drive(&mut h, &standard());
    let before = stored(&h, "token/ttlock").expect("token cached at connect");
    let refresh = before["refresh_token"].as_str().expect("a refresh token is kept").to_string();
    assert_eq!(tt_count(&h, "token"), 1);
    // Every access token TTLock issued stops working (10004).
    apply_ok(&mut h, step("2026-03-14T22:00:00Z", "revoke_tokens", json!({"provider": "ttlock"})));
    h.advance_to(t("2026-03-15T06:00:00Z"));
    let pins = h.world.pins();
    assert_eq!(pins.len(), 1);
    assert_eq!(utc(pins[0].added_at), CREATE_AT, "no delay: refreshed and sent again at once");
    assert_eq!(tt_count(&h, "token"), 2, "connect, then one refresh");
    let after = stored(&h, "token/ttlock").expect("token cached");
    assert_ne!(after["access_token"], before["access_token"]);
    assert!(!refresh_token_works(&h, &refresh), "the old refresh token was used (a refresh, not the password)");
}

#[test]
fn faults_ttlock_token_past_its_90_days_is_refreshed_not_re_issued() {
    let mut h = harness_tt();
    let mut steps = paris_tt(START, 5, 30);
    // Created June 15 00:00 Paris (22:00Z June 14), 105 days after the connect.
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-06-20", "2026-06-22"));
    drive(&mut h, &steps);
    let refresh = stored(&h, "token/ttlock").unwrap()["refresh_token"].as_str().unwrap().to_string();
    h.advance_to(t("2026-06-15T06:00:00Z"));
    let pins = h.world.pins();
    assert_eq!(pins.len(), 1);
    assert_eq!(utc(pins[0].added_at), "2026-06-14T22:00:00Z");
    assert_eq!(tt_count(&h, "token"), 2, "connect, then one refresh");
    assert!(!refresh_token_works(&h, &refresh), "refreshed with the refresh token, not the password");
}

#[test]
fn faults_ttlock_lost_answer_on_add_is_resolved_from_the_passcode_list() {
    // The add reaches the lock, then the answer is lost (timeout): the
    // plugin must find it on the list, not add a second code.
    let mut h = harness_tt();
    drive(&mut h, &standard());
    h.advance_to(t("2026-03-14T22:59:00Z"));
    h.world.ttlock().unwrap().inject_lost_answer(TtlockEndpoint::PwdAdd, 1);
    h.advance_to(t("2026-03-14T23:00:30Z"));
    let pins = h.world.pins();
    assert_eq!(pins.len(), 1, "the add was carried out: {pins:?}");
    assert_eq!(utc(pins[0].added_at), CREATE_AT);
    h.advance_to(t("2026-03-15T06:00:00Z"));
    assert!(tt_count(&h, "pwd_list") >= 1, "resolved from the passcode list");
    assert_eq!(tt_count(&h, "pwd_add"), 1, "never sent twice");
    let s = status(&h, "b1");
    assert_eq!((s.state, s.pin.as_deref()), (CodeState::OnLock, Some(pins[0].pin.as_str())));
    h.advance_to(t("2026-03-23T00:00:00Z"));
    let pins = h.world.pins();
    assert_eq!(pins.len(), 1, "one code for the booking, ever: {pins:?}");
    assert_eq!(pins[0].removed_at.map(utc).as_deref(), Some(WINDOW_END), "and it is deleted at check-out");
    assert!(cloud_custom_codes(&h, LOCK).is_empty());
}

#[test]
fn faults_ttlock_hung_add_is_resolved_from_the_list_and_sent_again_with_the_same_pin() {
    // The add hangs without reaching the lock (timeout, outcome unknown).
    let mut h = harness_tt();
    drive(&mut h, &standard());
    apply_ok(&mut h, http_fault("2026-03-14T22:59:00Z", "pwd_add", 0, 1));
    h.advance_to(t("2026-03-14T23:00:30Z"));
    assert!(h.world.pins().is_empty());
    let pin = status(&h, "b1").pin.expect("PIN chosen");
    assert_eq!(rendered(&h, "b1"), None, "not counted as created");
    h.advance_to(t("2026-03-15T06:00:00Z"));
    let pins = h.world.pins();
    assert_eq!(pins.len(), 1, "{pins:?}");
    assert_eq!(pins[0].pin, pin, "the same PIN sent again");
    assert_eq!(utc(pins[0].added_at), "2026-03-15T00:00:00Z", "looked up and sent again at the hourly retry");
    assert!(tt_count(&h, "pwd_list") >= 1, "the list was asked before sending again");
    assert_eq!(tt_count(&h, "pwd_add"), 2);
    let cloud = cloud_custom_codes(&h, LOCK);
    assert_eq!(cloud.len(), 1, "{cloud:?}");
}

#[test]
fn faults_ttlock_5xx_is_retried_hourly_until_it_passes() {
    // 500 with the framework's JSON, 502 and 503 with nginx's HTML page.
    let report = with(
        vec![
            http_fault("2026-03-14T22:59:00Z", "pwd_add", 500, 1),
            http_fault("2026-03-14T22:59:00Z", "pwd_add", 502, 1),
            http_fault("2026-03-14T22:59:00Z", "pwd_add", 503, 1),
        ],
        "2026-03-15T06:00:00Z",
    );
    assert_eq!(report.pins.len(), 1);
    assert_eq!(utc(report.pins[0].added_at), "2026-03-15T02:00:00Z");
    assert_eq!(count(&report, "ttlock.pwd_add"), 4);
    assert!(count(&report, "ttlock.pwd_list") >= 3, "each unknown outcome looked up before sending again");
    assert!(report.emails.is_empty());
}

#[test]
fn faults_ttlock_5xx_on_the_passcode_list_during_a_lookup_is_looked_at_again() {
    let report = with(
        vec![
            http_fault("2026-03-14T22:59:00Z", "pwd_add", 503, 1),
            http_fault("2026-03-14T23:59:00Z", "pwd_list", 503, 2),
        ],
        "2026-03-15T06:00:00Z",
    );
    assert_eq!(report.pins.len(), 1);
    let added = report.pins[0].added_at;
    assert!(added > t("2026-03-15T00:00:00Z") && added <= t("2026-03-15T00:05:00Z"), "{}", utc(added));
    assert_eq!(count(&report, "ttlock.pwd_add"), 2);
}

#[test]
fn faults_ttlock_5xx_on_a_move_is_resolved_and_moved_again_in_place() {
    let report = run_with(
        vec![
            http_fault("2026-03-16T09:59:00Z", "pwd_change", 503, 1),
            booking("2026-03-16T10:00:00Z", "b1", "p1", "2026-03-20", "2026-03-23"),
        ],
        "2026-03-18T00:00:00Z",
    );
    let pins = report.pins_on(LOCK);
    assert_eq!(pins.len(), 2, "{pins:?}");
    assert_eq!(pins[0].pin, pins[1].pin);
    assert_eq!(pins[0].removed_at, Some(pins[1].added_at), "moved in place");
    assert_eq!(pins[1].removed_at, None);
    assert_eq!(utc(pins[1].added_at), "2026-03-16T11:00:00Z", "at the hourly retry");
    assert_eq!(utc(pins[1].end), "2026-03-23T10:30:00Z");
    assert_eq!(count(&report, "ttlock.pwd_change"), 2);
    assert_eq!((count(&report, "ttlock.pwd_delete"), count(&report, "ttlock.pwd_add")), (0, 1));
}

#[test]
fn faults_ttlock_lost_answers_on_a_move_and_a_delete_are_resolved_from_the_list() {
    let mut h = harness_tt();
    drive(&mut h, &standard());
    h.advance_to(t("2026-03-16T09:59:00Z"));
    let tt = h.world.ttlock().unwrap().clone();
    tt.inject_lost_answer(TtlockEndpoint::PwdChange, 1);
    apply_ok(&mut h, booking("2026-03-16T10:00:00Z", "b1", "p1", "2026-03-20", "2026-03-23"));
    h.advance_to(t("2026-03-23T10:00:00Z"));
    tt.inject_lost_answer(TtlockEndpoint::PwdDelete, 1);
    h.advance_to(t("2026-03-25T00:00:00Z"));
    let pins = h.world.pins();
    assert_eq!(pins.len(), 2, "created, moved once: {pins:?}");
    assert_eq!(pins[0].pin, pins[1].pin);
    assert_eq!(pins[0].removed_at.map(utc).as_deref(), Some("2026-03-16T10:00:00Z"));
    assert_eq!(utc(pins[1].added_at), "2026-03-16T10:00:00Z");
    assert_eq!(utc(pins[1].end), "2026-03-23T10:30:00Z");
    assert_eq!(pins[1].removed_at.map(utc).as_deref(), Some("2026-03-23T10:30:00Z"), "deleted once, at check-out");
    assert_eq!((tt_count(&h, "pwd_change"), tt_count(&h, "pwd_delete"), tt_count(&h, "pwd_add")), (1, 1, 1));
    assert!(tt_count(&h, "pwd_list") >= 2, "both outcomes looked up on the list");
    assert_eq!(status(&h, "b1").state, CodeState::Removed);
}

#[test]
fn faults_ttlock_change_refused_as_never_used_falls_back_to_delete_and_add_with_the_same_pin() {
    // -3008 "cannot modify a passcode never used on the lock": the doc
    // leaves open whether it hits gateway-added codes; if it does, the code
    // is replaced, same PIN, never two at once.
    let mut h = harness_tt();
    drive(&mut h, &standard());
    h.world.ttlock().unwrap().set_change_needs_prior_use(true);
    drive(
        &mut h,
        &[booking("2026-03-16T10:00:00Z", "b1", "p1", "2026-03-21", "2026-03-24"), end("2026-03-20T00:00:00Z")],
    );
    let pins = h.world.pins();
    assert_eq!(pins.len(), 2, "{pins:?}");
    assert_eq!(pins[0].pin, pins[1].pin, "the guest keeps the PIN");
    let removed = pins[0].removed_at.expect("old code deleted");
    assert_eq!(utc(removed), "2026-03-16T10:00:00Z");
    assert!(pins[1].added_at >= removed, "never two codes for the booking at once");
    assert!(pins[1].added_at <= removed + 60, "replaced at once: {}", utc(pins[1].added_at));
    assert_eq!((utc(pins[1].start), utc(pins[1].end)), ("2026-03-21T13:30:00Z".into(), "2026-03-24T10:30:00Z".into()));
    assert_eq!((tt_count(&h, "pwd_change"), tt_count(&h, "pwd_delete"), tt_count(&h, "pwd_add")), (1, 1, 2));
}

//! The SPEC rules on Nuki locks (R1, R3, R8, R11, R12, R14, R16, R18),
//! judged on the Nuki stub's lock-side truth.
//!
//! Unless a test says otherwise: Paris (UTC+1 in March), check-in March 20
//! 15:00, check-out March 22 11:00, days_before 5, margin 30: created March
//! 14 23:00Z, window 13:30Z to 10:30Z, alert March 19 17:00Z, retries until
//! March 19 23:00Z. A Nuki write is carried out 30 s after it is accepted.

use std::collections::HashSet;

use host_harness::api;
use serde_json::json;

use crate::common::*;
use crate::setup::*;

const START: &str = "2026-03-01T08:00:00Z";
const WINDOW: (&str, &str) = ("2026-03-20T13:30:00Z", "2026-03-22T10:30:00Z");

/// A Nuki harness with p1 on N1 and booking b1 (March 20-22).
fn harness_with_b1() -> host_harness::scenario::Harness {
    let mut h = nuki_harness(START);
    for s in nuki_setup(START, 5, 30) {
        apply_at(&mut h, s);
    }
    apply_at(&mut h, booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    h
}

fn window(p: &host_harness::stubs::PinRecord) -> (String, String) {
    (utc(p.start), utc(p.end))
}

fn expected_window() -> (String, String) {
    (WINDOW.0.to_string(), WINDOW.1.to_string())
}

// ------------------------------------------------------------------ R1

#[test]
fn r1_nuki_a_bad_token_is_refused_and_nothing_is_stored() {
    let mut h = nuki_harness(START);
    let err = act(&mut h, json!({"do": "connect", "provider": "nuki", "api_token": WRONG_TOKEN})).unwrap_err();
    assert!(err.contains("refused"), "clear error: {err}");
    assert!(nuki_count(&h.world.http_counts(), "smartlock") >= 1, "the token was checked with Nuki");
    let err = act(&mut h, json!({"do": "connect", "provider": "nuki", "api_token": "   "})).unwrap_err();
    assert!(err.contains("api_token"), "names the field: {err}");
    // A token that a password change in Nuki Web killed is refused too.
    assert_eq!(nuki_stub(&h).revoke_tokens(), 1);
    let err = act(&mut h, json!({"do": "connect", "provider": "nuki", "api_token": NUKI_TOKEN})).unwrap_err();
    assert!(err.contains("refused"), "clear error: {err}");
    let stored = h.storage.list("", None, 100).expect("storage lists");
    assert!(
        stored.is_empty(),
        "nothing stored after refused connects: {:?}",
        stored.iter().map(|e| &e.0).collect::<Vec<_>>()
    );
    assert!(h.plugin.accounts().unwrap().unwrap().is_empty());
    act(&mut h, json!({"do": "property", "property": {"id": "p1", "name": "Sea View", "timezone": "Europe/Paris"}}))
        .unwrap();
    let err = act(&mut h, json!({"do": "assign", "property": "p1", "lock": N1, "provider": "nuki"})).unwrap_err();
    assert!(err.contains("Nuki") && err.contains("connected"), "{err}");
}

#[test]
fn r1_nuki_a_good_token_connects_and_a_bad_one_later_changes_nothing() {
    let mut h = nuki_harness(START);
    let ok = act(&mut h, json!({"do": "connect", "provider": "nuki", "api_token": NUKI_TOKEN})).unwrap();
    let name = ok["account"].as_str().expect("account name").to_string();
    assert!(!name.is_empty(), "the account is shown");
    assert!(nuki_count(&h.world.http_counts(), "smartlock") >= 1, "the lock list was loaded");
    let accounts = h.plugin.accounts().unwrap().unwrap();
    assert_eq!(accounts.len(), 1, "only Nuki is connected: {accounts:?}");
    assert_eq!((accounts[0].brand.as_str(), accounts[0].name.as_str()), ("nuki", name.as_str()));
    assert!(h.storage.get("acct/nuki").unwrap().is_some(), "credentials stored");
    assert!(h.storage.get("acct/igloohome").unwrap().is_none());
    let before = h.storage.list("", None, 1000).unwrap();
    // A refused token later leaves the working connection as it was.
    let err = act(&mut h, json!({"do": "connect", "provider": "nuki", "api_token": WRONG_TOKEN})).unwrap_err();
    assert!(err.contains("refused"), "{err}");
    assert_eq!(h.storage.list("", None, 1000).unwrap(), before, "nothing changed");
    let locks = h.plugin.list_locks("nuki").unwrap().expect("still connected with the good token");
    assert_eq!(locks.len(), 3);
}

// ------------------------------------------------------------------ R3

/// Above 2^53: exact only as an integer, never as a JSON double.
const BIG: &str = "9007199254740993";

fn world_with_big_lock() -> serde_json::Value {
    let mut w = nuki_world();
    w["locks"].as_array_mut().expect("locks").push(json!({"id": BIG, "name": "Loft"}));
    w
}

#[test]
fn r3_nuki_locks_are_listed_with_their_keypad_and_one_without_cannot_be_assigned() {
    let mut h = harness_with(START, world_with_big_lock(), false);
    act(&mut h, json!({"do": "connect", "provider": "nuki", "api_token": NUKI_TOKEN})).unwrap();
    let locks = h.plugin.list_locks("nuki").unwrap().unwrap();
    let find = |id: &str| locks.iter().find(|l| l.id == id).unwrap_or_else(|| panic!("lock {id} listed: {locks:?}"));
    assert_eq!(locks.len(), 4, "{locks:?}");
    assert!(locks.iter().all(|l| l.brand == "nuki"));
    assert_eq!(
        (find(N1).name.as_str(), find(N1).remote.clone()),
        ("Front door", Some(api::RemotePath { kind: "keypad".into(), via: None }))
    );
    // Keypad 2.0 pairing shows in `keypad2Paired` only.
    assert_eq!(find(N2).remote, Some(api::RemotePath { kind: "keypad".into(), via: None }));
    assert_eq!(
        find(BIG).remote,
        Some(api::RemotePath { kind: "keypad".into(), via: None }),
        "an id beyond 2^53 is kept exactly"
    );
    assert_eq!(find(N1).needs, None);
    assert_eq!(find(N3).remote, None, "no keypad, no remote path");
    assert_eq!(find(N3).needs.as_deref(), Some("a keypad"));
    act(&mut h, json!({"do": "property", "property": {"id": "p1", "name": "Sea View", "timezone": "Europe/Paris"}}))
        .unwrap();
    let before = h.storage.list("", None, 1000).unwrap();
    let err = act(&mut h, json!({"do": "assign", "property": "p1", "lock": N3, "provider": "nuki"})).unwrap_err();
    assert!(err.contains("needs a keypad"), "{err}");
    assert_eq!(h.plugin.assignment("p1").unwrap().unwrap(), None);
    assert_eq!(h.storage.list("", None, 1000).unwrap(), before, "nothing saved");
    let err =
        act(&mut h, json!({"do": "assign", "property": "p1", "lock": "99999999999", "provider": "nuki"})).unwrap_err();
    assert!(err.contains("lock_id"), "{err}");
    let a = act(&mut h, json!({"do": "assign", "property": "p1", "lock": N1, "provider": "nuki"})).unwrap();
    assert_eq!((a["lock"].as_str(), a["provider"].as_str()), (Some(N1), Some("nuki")));
    assert_eq!(a["remote"], json!({"keypad": true}));
}

#[test]
fn r3_nuki_lock_ids_beyond_2_pow_32_carry_codes_end_to_end() {
    let mut steps = nuki_setup(START, 5, 30);
    steps.push(property("2026-03-01T08:03:00Z", "p2", "Europe/Paris", None, None));
    steps.push(assign_nuki("2026-03-01T08:04:00Z", "p2", BIG, 5, 30));
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(booking("2026-03-01T09:01:00Z", "b2", "p2", "2026-03-20", "2026-03-22"));
    steps.push(end("2026-03-25T00:00:00Z"));
    let report = run_nuki_world("r3 big ids", START, world_with_big_lock(), steps);
    assert_steps_ok(&report);
    assert_eq!(report.step("assign")[1].result.as_ref().unwrap()["lock"], BIG);
    for (lock, b) in [(N1, "b1"), (BIG, "b2")] {
        let pins = report.pins_on(lock);
        assert_eq!(pins.len(), 1, "{lock}: {pins:?}");
        assert!(pins[0].access_name.contains(&format!("({b})")));
        assert_eq!(pins[0].provider, "nuki");
        assert_eq!(utc(pins[0].added_at), "2026-03-14T23:00:30Z", "{lock}");
        assert_eq!(window(pins[0]), expected_window());
        assert!(pins[0].removed_at.is_some(), "{lock}: deleted after check-out");
    }
}

// ------------------------------------------------------------------ R8

#[test]
fn r8_nuki_pins_use_only_digits_1_to_9_and_never_start_with_12() {
    const BOOKINGS: i64 = 40;
    let mut steps = nuki_setup(START, 5, 30);
    for i in 0..BOOKINGS {
        steps.push(booking(&utc(t("2026-03-01T09:00:00Z") + i), &format!("b{i}"), "p1", "2026-03-20", "2026-03-22"));
    }
    steps.push(end("2026-03-16T00:00:00Z"));
    let report = run_nuki("r8 nuki pins", START, steps);
    assert_steps_ok(&report);
    let pins = report.pins_on(N1);
    // With digits 0-9 about half of 40 PINs would hold a 0: none may.
    assert_eq!(pins.len(), BOOKINGS as usize, "every booking's code reached the lock");
    for p in &pins {
        assert_nuki_pin(&p.pin);
        assert!(!guessable_by_spec(&p.pin), "not trivially guessable: {}", p.pin);
        assert!(p.removed_at.is_none());
    }
    let distinct: HashSet<&str> = pins.iter().map(|p| p.pin.as_str()).collect();
    assert_eq!(distinct.len(), pins.len(), "no PIN twice on one lock");
    assert_eq!(nuki_count(&report.http, "auth_create"), BOOKINGS as u64, "no create refused for its PIN");
}

#[test]
fn r8_nuki_a_pin_set_by_hand_in_the_nuki_app_makes_the_plugin_draw_another_at_once() {
    let mut h = harness_with_b1();
    h.advance_to(t("2026-03-15T06:00:00Z"));
    let first = h.world.pins();
    assert_eq!(first.len(), 1, "{first:?}");
    let pin = first[0].pin.clone();
    // The manager puts the same PIN on the Back door by hand: Nuki answers
    // 409 when the plugin brings the guest's PIN there.
    nuki_stub(&h)
        .set_code_by_hand(N2, &pin, t("2026-03-01T00:00:00Z"), t("2026-04-30T00:00:00Z"))
        .expect("code set by hand");
    apply_at(&mut h, assign_nuki("2026-03-16T10:00:00Z", "p1", N2, 5, 30));
    h.advance_to(t("2026-03-16T12:00:00Z"));
    let pins = h.world.pins();
    let on_n1: Vec<_> = of_booking(&pins, "b1").into_iter().filter(|p| p.lock == N1).collect();
    let on_n2: Vec<_> = of_booking(&pins, "b1").into_iter().filter(|p| p.lock == N2).collect();
    assert_eq!(on_n1.len(), 1);
    assert!(on_n1[0].removed_at.is_some(), "deleted from the old lock");
    assert_eq!(on_n2.len(), 1, "{pins:?}");
    let new = on_n2[0];
    assert_ne!(new.pin, pin, "another PIN than the one set by hand");
    assert_nuki_pin(&new.pin);
    assert!(new.added_at <= t("2026-03-16T10:05:00Z"), "at once, not at the next hourly retry: {}", utc(new.added_at));
    assert_eq!(window(new), expected_window());
    let by_hand: Vec<_> = pins.iter().filter(|p| p.lock == N2 && p.pin == pin).collect();
    assert_eq!(by_hand.len(), 1, "the manager's code is left alone");
    assert!(by_hand[0].removed_at.is_none());
    // Created on N1, refused with 409 on N2, created on N2 with a new PIN.
    assert_eq!(nuki_count(&h.world.http_counts(), "auth_create"), 3);
    let status = status_of(&h, "b1");
    assert_eq!((status.state, status.pin.as_deref()), (api::CodeState::OnLock, Some(new.pin.as_str())));
    assert_eq!(rendered(&mut h, "b1"), new.pin);
}

// ----------------------------------------------------------------- R11

#[test]
fn r11_nuki_an_offline_lock_is_retried_hourly_until_midnight_before_check_in() {
    let mut h = harness_with_b1();
    apply_at(&mut h, nuki_online("2026-03-14T20:00:00Z", N1, false));
    h.advance_to(t("2026-03-15T00:30:00Z"));
    let creates = |h: &host_harness::scenario::Harness| nuki_count(&h.world.http_counts(), "auth_create");
    assert_eq!(creates(&h), 2, "23:00 and 00:00");
    h.advance_to(t("2026-03-16T00:30:00Z"));
    assert_eq!(creates(&h), 26, "one attempt an hour, not one per tick");
    let status = status_of(&h, "b1");
    assert_eq!(status.state, api::CodeState::Retrying);
    assert!(status.last_error.as_deref().is_some_and(|e| e.contains("offline")), "{:?}", status.last_error);
    assert_eq!(status.next_attempt.map(utc).as_deref(), Some("2026-03-16T01:00:00Z"));
    assert_eq!(rendered(&mut h, "b1"), "{{smartlock_code}}", "no code to give the guest");
    h.advance_to(t("2026-03-19T22:30:00Z"));
    // March 14 23:00Z to March 19 22:00Z, every hour.
    assert_eq!(creates(&h), 120);
    // Back on the check-in day, before the window: too late (R11).
    apply_at(&mut h, nuki_online("2026-03-20T08:00:00Z", N1, true));
    h.advance_to(t("2026-03-21T00:00:00Z"));
    assert_eq!(creates(&h), 120, "no attempt after midnight of the check-in date");
    assert!(h.world.pins().is_empty(), "{:?}", h.world.pins());
    assert_eq!(status_of(&h, "b1").state, api::CodeState::Failed);
}

#[test]
fn r11_nuki_a_204_without_effect_is_not_counted_as_created() {
    let mut h = harness_with_b1();
    apply_at(&mut h, nuki_online("2026-03-14T20:00:00Z", N1, false));
    h.advance_to(t("2026-03-14T23:10:00Z"));
    // Nuki accepted the create (204) and dropped it: the lock never had it.
    assert_eq!(nuki_count(&h.world.http_counts(), "auth_create"), 1);
    assert!(h.world.pins().is_empty());
    let status = status_of(&h, "b1");
    assert_ne!(status.state, api::CodeState::OnLock, "a 204 is no proof");
    assert_eq!(status.next_attempt.map(utc).as_deref(), Some("2026-03-15T00:00:00Z"), "retried in an hour");
    assert_eq!(rendered(&mut h, "b1"), "{{smartlock_code}}");
    apply_at(&mut h, nuki_online("2026-03-15T00:30:00Z", N1, true));
    h.advance_to(t("2026-03-15T02:00:00Z"));
    let pins = h.world.pins();
    assert_eq!(pins.len(), 1, "{pins:?}");
    assert_eq!(utc(pins[0].added_at), "2026-03-15T01:00:30Z", "the 01:00 attempt");
    assert_eq!(window(&pins[0]), expected_window());
    assert_eq!(nuki_count(&h.world.http_counts(), "auth_create"), 3);
    assert_eq!(status_of(&h, "b1").state, api::CodeState::OnLock);
    assert_eq!(rendered(&mut h, "b1"), pins[0].pin);
}

// ----------------------------------------------------------------- R12

fn offline_until(back: &str, end_at: &str) -> host_harness::scenario::Report {
    let mut steps = nuki_setup(START, 5, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(nuki_online("2026-03-14T20:00:00Z", N1, false));
    steps.push(nuki_online(back, N1, true));
    steps.push(end(end_at));
    let report = run_nuki("nuki offline", START, steps);
    assert_steps_ok(&report);
    report
}

#[test]
fn r12_nuki_exactly_one_alert_at_six_pm_on_the_eve_when_the_lock_is_still_offline() {
    let report = offline_until("2026-03-19T19:30:00Z", "2026-03-23T00:00:00Z");
    assert_eq!(report.emails.len(), 1, "{:?}", report.emails);
    let mail = &report.emails[0];
    assert_eq!(utc(mail.at), "2026-03-19T17:00:00Z", "18:00 Paris");
    for needle in ["Property p1", "Ana Silva", "2026-03-20", "Front door", "offline"] {
        assert!(mail.body.contains(needle) || mail.subject.contains(needle), "alert mentions {needle}: {}", mail.body);
    }
    // Back at 20:30 local: the next hourly attempt, before midnight.
    assert_eq!(report.pins.len(), 1);
    assert_eq!(utc(report.pins[0].added_at), "2026-03-19T20:00:30Z");
    assert_eq!(window(&report.pins[0]), expected_window());
}

#[test]
fn r12_nuki_the_alert_tells_what_to_do_with_a_nuki_lock() {
    let report = offline_until("2026-03-21T00:00:00Z", "2026-03-21T00:00:00Z");
    assert_eq!(report.emails.len(), 1, "{:?}", report.emails);
    let body = &report.emails[0].body;
    assert!(body.contains("What to do"), "{body}");
    assert!(body.contains("Nuki"), "the steps name the lock's brand: {body}");
    assert!(!body.contains("igloohome"), "a Nuki lock's manager is not sent to the igloohome app: {body}");
}

// ----------------------------------------------------------------- R14

#[test]
fn r14_nuki_a_date_change_moves_the_code_in_place_with_the_same_pin() {
    let mut h = harness_with_b1();
    h.advance_to(t("2026-03-16T09:00:00Z"));
    let pin = h.world.pins()[0].pin.clone();
    apply_at(&mut h, booking("2026-03-16T10:00:00Z", "b1", "p1", "2026-03-21", "2026-03-24"));
    h.advance_to(t("2026-03-16T12:00:00Z"));
    let pins = h.world.pins();
    assert_eq!(pins.len(), 2, "old entry and new entry: {pins:?}");
    let (old, new) = (&pins[0], &pins[1]);
    assert_eq!((old.pin.as_str(), new.pin.as_str()), (pin.as_str(), pin.as_str()), "the guest keeps the PIN");
    assert_eq!(window(old), expected_window());
    assert_eq!(old.removed_at, Some(new.added_at), "moved in place: one instant, no gap, no overlap");
    assert!(new.added_at <= t("2026-03-16T10:01:00Z"), "promptly: {}", utc(new.added_at));
    assert_eq!(window(new), ("2026-03-21T13:30:00Z".into(), "2026-03-24T10:30:00Z".into()));
    let counts = h.world.http_counts();
    assert_eq!(nuki_count(&counts, "auth_update"), 1, "nuki.auth_update moved it");
    assert_eq!(nuki_count(&counts, "auth_create"), 1, "no re-create");
    assert_eq!(nuki_count(&counts, "auth_delete"), 0, "no delete");
    // The lock holds the complete code: the new window, every day, at any hour.
    let nuki = nuki_stub(&h);
    assert!(!nuki.opens(N1, &pin, t("2026-03-20T14:00:00Z")), "the old check-in day no longer opens");
    for at in ["2026-03-21T13:30:00Z", "2026-03-22T03:00:00Z", "2026-03-23T12:00:00Z", "2026-03-24T10:29:00Z"] {
        assert!(nuki.opens(N1, &pin, t(at)), "opens at {at}");
    }
    assert!(!nuki.opens(N1, &pin, t("2026-03-24T10:31:00Z")), "closed after the new check-out");
    let status = status_of(&h, "b1");
    assert_eq!((status.state, status.pin.as_deref()), (api::CodeState::OnLock, Some(pin.as_str())));
    h.advance_to(t("2026-03-25T00:00:00Z"));
    let pins = h.world.pins();
    assert_eq!(pins[1].removed_at.map(utc).as_deref(), Some("2026-03-24T10:30:30Z"));
    assert_eq!(nuki_count(&h.world.http_counts(), "auth_delete"), 1, "one delete, after check-out");
}

#[test]
fn r14_nuki_a_stay_extended_mid_stay_keeps_the_door_open_throughout() {
    let mut h = harness_with_b1();
    h.advance_to(t("2026-03-21T08:00:00Z"));
    let pin = h.world.pins()[0].pin.clone();
    apply_at(&mut h, booking("2026-03-21T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-24"));
    h.advance_to(t("2026-03-22T12:00:00Z"));
    let pins = h.world.pins();
    assert_eq!(pins.len(), 2, "{pins:?}");
    assert_eq!(pins[0].removed_at, Some(pins[1].added_at), "no instant without a code");
    assert_eq!(pins[1].pin, pin);
    assert_eq!(window(&pins[1]), (WINDOW.0.into(), "2026-03-24T10:30:00Z".into()));
    // Past the old check-out the guest still gets in.
    assert!(nuki_stub(&h).opens(N1, &pin, t("2026-03-22T12:00:00Z")));
    assert_eq!(nuki_count(&h.world.http_counts(), "auth_delete"), 0);
}

// ----------------------------------------------------------------- R16

#[test]
fn r16_nuki_the_code_is_deleted_after_check_out_plus_margin() {
    let mut steps = nuki_setup(START, 5, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(status("2026-03-22T10:29:00Z", "b1"));
    steps.push(end("2026-03-25T00:00:00Z"));
    let report = run_nuki("r16 nuki", START, steps);
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 1);
    let p = &report.pins[0];
    assert_eq!(window(p), expected_window());
    // Nuki keeps expired codes for ever: the plugin's delete removes it.
    assert_eq!(p.removed_at.map(utc).as_deref(), Some("2026-03-22T10:30:30Z"));
    assert_eq!(nuki_count(&report.http, "auth_delete"), 1);
    assert_eq!(report.step("status")[0].result.as_ref().unwrap()["state"], "on_lock", "kept until the end");
}

#[test]
fn r16_nuki_a_delete_the_offline_lock_never_got_is_retried_hourly() {
    let mut steps = nuki_setup(START, 5, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(nuki_online("2026-03-22T09:00:00Z", N1, false));
    steps.push(nuki_online("2026-03-22T14:20:00Z", N1, true));
    steps.push(end("2026-03-25T00:00:00Z"));
    let report = run_nuki("r16 nuki retry", START, steps);
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 1);
    let removed = report.pins[0].removed_at.expect("deleted once the lock is back");
    assert!(removed > t("2026-03-22T14:20:00Z") && removed <= t("2026-03-22T15:30:30Z"), "{}", utc(removed));
    // 10:30, 11:30, 12:30, 13:30 (dropped) and 14:30: hourly, not per tick.
    let deletes = nuki_count(&report.http, "auth_delete");
    assert!((4..=6).contains(&deletes), "delete attempts: {deletes}");
}

// ----------------------------------------------------------------- R18

/// The storage keys whose value contains `secret`.
fn keys_holding(h: &host_harness::scenario::Harness, secret: &str) -> Vec<String> {
    let entries = h.storage.list("", None, 1000).expect("storage lists");
    assert!(entries.len() < 1000, "every entry listed");
    entries
        .into_iter()
        .filter(|(_, v)| v.windows(secret.len()).any(|w| w == secret.as_bytes()))
        .map(|(k, _)| k)
        .collect()
}

#[test]
fn r18_nuki_disconnect_leaves_codes_to_expire_and_makes_no_further_nuki_call() {
    let mut h = nuki_harness(START);
    for s in nuki_setup(START, 5, 30) {
        apply_at(&mut h, s);
    }
    apply_at(&mut h, booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-16", "2026-03-18"));
    apply_at(&mut h, booking("2026-03-01T09:00:00Z", "b2", "p1", "2026-03-20", "2026-03-22"));
    apply_at(&mut h, booking("2026-03-01T09:00:00Z", "b3", "p1", "2026-03-28", "2026-03-30"));
    // What the plugin keeps for Nuki: the connection, holding the API token,
    // under `acct/nuki` (Nuki issues no tokens of its own to cache), and p1's
    // assignment of the Nuki lock under `asg/p1`.
    h.advance_to(t("2026-03-16T15:59:00Z"));
    assert_eq!(keys_holding(&h, NUKI_TOKEN), ["acct/nuki"], "the token is stored with the connection, only there");
    assert!(h.storage.get("asg/p1").unwrap().is_some(), "p1's assignment is stored");
    apply_at(&mut h, disconnect("2026-03-16T16:00:00Z", "nuki"));
    let requests_at_disconnect = nuki_stub(&h).requests_total();
    // New bookings and changes after the disconnect do nothing either.
    apply_at(&mut h, booking("2026-03-17T09:00:00Z", "b4", "p1", "2026-03-19", "2026-03-21"));
    apply_at(&mut h, cancel("2026-03-17T09:00:00Z", "b2", "p1", "2026-03-20", "2026-03-23"));
    h.advance_to(t("2026-04-05T00:00:00Z"));
    assert_eq!(nuki_stub(&h).requests_total(), requests_at_disconnect, "no Nuki call after disconnect");
    let pins = h.world.pins();
    assert_eq!(pins.len(), 2, "b1 (mid-stay) and b2 (created) were on the lock: {pins:?}");
    assert!(pins.iter().all(|p| p.removed_at.is_none()), "left to expire naturally: {pins:?}");
    // The lock's own end date is what ends them.
    let b2 = of_booking(&pins, "b2")[0];
    assert!(nuki_stub(&h).opens(N1, &b2.pin, t("2026-03-21T12:00:00Z")));
    assert!(!nuki_stub(&h).opens(N1, &b2.pin, t("2026-03-22T10:31:00Z")));
    assert_eq!(h.plugin.assignment("p1").unwrap().unwrap(), None, "assignment removed");
    assert!(h.plugin.accounts().unwrap().unwrap().is_empty());
    assert!(h.storage.get("acct/nuki").unwrap().is_none(), "connection and token erased");
    assert!(h.storage.get("asg/p1").unwrap().is_none(), "assignment erased");
    assert_eq!(keys_holding(&h, NUKI_TOKEN), [] as [String; 0], "the token is nowhere in storage");
    assert_eq!(status_of(&h, "b1").state, api::CodeState::LeftToExpire);
    assert_ne!(status_of(&h, "b3").state, api::CodeState::OnLock);
}

//! Nuki's field failures through the stub: 204s without effect (writes that
//! never confirm, writes an offline lock drops or keeps), 409 and 423
//! answers, ghost deletes, 5xx bursts, a hung create and a lock offline
//! through the eve. The plugin keeps R8, R11-R16 and never leaves two PINs
//! for one booking.
//!
//! Paris, March 20-22, days_before 5: creation due March 14 23:00Z, window
//! 13:30Z to 10:30Z, alert March 19 17:00Z.

use host_harness::api;
use host_harness::scenario::{Harness, Report};
use host_harness::stubs::PinRecord;
use serde_json::{json, Value};

use crate::common::*;
use crate::setup::*;

const START: &str = "2026-03-01T08:00:00Z";

/// b1 on N1 of `nuki`, then `extra`, to `end_at`.
fn with(nuki: Value, mut extra: Vec<Value>, end_at: &str) -> Report {
    let mut steps = nuki_setup(START, 5, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.append(&mut extra);
    steps.push(end(end_at));
    let report = run_nuki_world("nuki faults", START, nuki, steps);
    assert_steps_ok(&report);
    assert_no_overlapping_duplicates(&report);
    report
}

fn harness_on(nuki: Value) -> Harness {
    let mut h = harness_with(START, nuki, false);
    for s in nuki_setup(START, 5, 30) {
        apply_at(&mut h, s);
    }
    apply_at(&mut h, booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    h
}

/// Exactly one PIN is on the lock at the end, with the promised window.
fn assert_one_live_code(pins: &[PinRecord]) -> &PinRecord {
    let live: Vec<_> = pins.iter().filter(|p| p.removed_at.is_none()).collect();
    assert_eq!(live.len(), 1, "one live PIN: {pins:?}");
    assert_eq!((utc(live[0].start), utc(live[0].end)), ("2026-03-20T13:30:00Z".into(), "2026-03-22T10:30:00Z".into()));
    assert_nuki_pin(&live[0].pin);
    live[0]
}

// ------------------------------------------------- 204 without effect

#[test]
fn faults_nuki_a_204_that_never_takes_effect_is_not_counted_until_the_lock_carries_it_out() {
    let mut h = harness_on(nuki_world_with(N1, json!({"never_confirm": true})));
    h.advance_to(t("2026-03-15T06:00:00Z"));
    assert_eq!(nuki_count(&h.world.http_counts(), "auth_create"), 1, "accepted with 204");
    assert!(h.world.pins().is_empty());
    assert_ne!(status_of(&h, "b1").state, api::CodeState::OnLock, "a 204 is no proof");
    assert_eq!(rendered(&mut h, "b1"), "{{smartlock_code}}");
    // The write finally goes through: the plugin sees it and sends nothing twice.
    h.advance_to(t("2026-03-16T10:00:00Z"));
    nuki_stub(&h).set_never_confirm(N1, false).expect("knob");
    h.advance_to(t("2026-03-16T12:00:00Z"));
    let pins = h.world.pins();
    let pin = assert_one_live_code(&pins);
    assert_eq!(utc(pin.added_at), "2026-03-16T10:00:30Z");
    assert_eq!(nuki_count(&h.world.http_counts(), "auth_create"), 1, "no second create while the first was pending");
    assert_eq!(status_of(&h, "b1").state, api::CodeState::OnLock);
    assert_eq!(rendered(&mut h, "b1"), pin.pin);
    h.advance_to(t("2026-03-20T00:00:00Z"));
    assert!(h.storage.emails().unwrap().is_empty(), "the code was there before the eve");
}

#[test]
fn faults_nuki_a_write_that_never_takes_effect_through_the_eve_gets_one_alert() {
    let report = with(
        nuki_world_with(N1, json!({"never_confirm": true})),
        vec![status("2026-03-19T18:00:00Z", "b1")],
        "2026-03-21T00:00:00Z",
    );
    assert!(report.pins.is_empty());
    assert_eq!(report.emails.len(), 1, "the code does not exist at 18:00 on the eve: {:?}", report.emails);
    assert_eq!(utc(report.emails[0].at), "2026-03-19T17:00:00Z");
    let status = report.step("status")[0].result.clone().unwrap();
    assert_ne!(status["state"], "on_lock");
    assert_eq!(status["alert_sent"], true);
}

#[test]
fn faults_nuki_a_write_that_never_takes_effect_is_looked_at_hourly_not_every_minute() {
    // After the first minutes, a pending write is looked at on R11's hourly
    // pace (`docs/brands/nuki.md`: poll for about 10 minutes, then hourly).
    let mut h = harness_on(nuki_world_with(N1, json!({"never_confirm": true})));
    h.advance_to(t("2026-03-16T00:00:00Z"));
    let before = h.world.http_counts();
    h.advance_to(t("2026-03-17T00:00:00Z"));
    let after = h.world.http_counts();
    let looks = nuki_count(&after, "auth_list") - nuki_count(&before, "auth_list");
    assert!(looks <= 48, "listing requests in one day for one pending code: {looks}");
    assert_eq!(nuki_count(&after, "auth_create"), 1);
}

#[test]
fn faults_nuki_writes_an_offline_lock_keeps_land_once_when_it_returns() {
    // Beds24's reading: Nuki keeps the write and carries it out later.
    let report = with(
        nuki_world_with(N1, json!({"offline_writes": "apply"})),
        vec![nuki_online("2026-03-14T20:00:00Z", N1, false), nuki_online("2026-03-15T05:00:00Z", N1, true)],
        "2026-03-16T00:00:00Z",
    );
    let pin = assert_one_live_code(&report.pins);
    assert_eq!(utc(pin.added_at), "2026-03-15T05:00:30Z");
    assert_eq!(report.pins.len(), 1);
    assert_eq!(nuki_count(&report.http, "auth_create"), 1, "the kept write is not sent again");
    assert!(report.emails.is_empty());
}

// ------------------------------------------------------------- 409, 423

#[test]
fn faults_nuki_409_on_create_draws_another_pin_at_once() {
    let report =
        with(nuki_world(), vec![nuki_fault("2026-03-14T22:59:00Z", "auth_create", 409, 1)], "2026-03-15T06:00:00Z");
    let pin = assert_one_live_code(&report.pins);
    assert!(pin.added_at <= t("2026-03-14T23:02:00Z"), "at once, not an hour later: {}", utc(pin.added_at));
    assert_eq!(nuki_count(&report.http, "auth_create"), 2);
}

#[test]
fn faults_nuki_409_on_a_move_keeps_the_guests_pin_and_retries_hourly() {
    let report = with(
        nuki_world(),
        vec![
            nuki_fault("2026-03-16T09:59:00Z", "auth_update", 409, 1),
            booking("2026-03-16T10:00:00Z", "b1", "p1", "2026-03-21", "2026-03-23"),
        ],
        "2026-03-17T00:00:00Z",
    );
    assert_eq!(report.pins.len(), 2, "{:?}", report.pins);
    let (old, new) = (&report.pins[0], &report.pins[1]);
    assert_eq!(old.pin, new.pin, "the guest already has this PIN");
    assert_eq!(old.removed_at, Some(new.added_at));
    assert_eq!(utc(new.added_at), "2026-03-16T11:00:30Z", "the hourly retry");
    assert_eq!(utc(new.start), "2026-03-21T13:30:00Z");
    assert_eq!(nuki_count(&report.http, "auth_create"), 1);
}

#[test]
fn faults_nuki_423_on_a_move_is_tried_again_shortly() {
    let report = with(
        nuki_world(),
        vec![
            nuki_fault("2026-03-16T09:59:00Z", "auth_update", 423, 1),
            booking("2026-03-16T10:00:00Z", "b1", "p1", "2026-03-21", "2026-03-23"),
        ],
        "2026-03-17T00:00:00Z",
    );
    assert_eq!(report.pins.len(), 2, "{:?}", report.pins);
    let (old, new) = (&report.pins[0], &report.pins[1]);
    assert_eq!(old.pin, new.pin);
    assert_eq!(old.removed_at, Some(new.added_at));
    assert!(
        new.added_at > t("2026-03-16T10:00:30Z") && new.added_at <= t("2026-03-16T10:05:00Z"),
        "a busy code is retried within minutes, not hourly: {}",
        utc(new.added_at)
    );
    assert_eq!(nuki_count(&report.http, "auth_update"), 2);
    assert_eq!(nuki_count(&report.http, "auth_delete"), 0, "still moved in place");
    assert!(report.emails.is_empty());
}

// --------------------------------------------------------- ghost deletes

#[test]
fn faults_nuki_ghost_deletes_are_cleared_by_a_sync_and_free_the_pin() {
    // N1 keeps deleted codes listed (blocking their PIN with 409) until a sync.
    let mut h = harness_on(nuki_world_with(N1, json!({"ghost_deletes": true})));
    h.advance_to(t("2026-03-15T06:00:00Z"));
    let pin = h.world.pins()[0].pin.clone();
    // Away to N2 and back: the return to N1 is refused (409) if the ghost is still listed.
    apply_at(&mut h, assign_nuki("2026-03-16T10:00:00Z", "p1", N2, 5, 30));
    apply_at(&mut h, assign_nuki("2026-03-17T10:00:00Z", "p1", N1, 5, 30));
    h.advance_to(t("2026-03-17T12:00:00Z"));
    let pins = h.world.pins();
    let on = |lock: &str| pins.iter().filter(|p| p.lock == lock).collect::<Vec<_>>();
    assert_eq!((on(N1).len(), on(N2).len()), (2, 1), "{pins:?}");
    assert!(pins.iter().all(|p| p.pin == pin), "the PIN was free again on N1: {pins:?}");
    let removed = on(N1)[0].removed_at.expect("deleted from N1");
    assert!(removed <= t("2026-03-16T10:01:00Z"), "{}", utc(removed));
    assert!(on(N1)[1].removed_at.is_none() && on(N2)[0].removed_at.is_some());
    let counts = h.world.http_counts();
    assert!(nuki_count(&counts, "sync") >= 1, "the ghost was cleared by a sync");
    assert_eq!(nuki_count(&counts, "auth_create"), 3, "N1, N2, N1: no create refused");
    // The server copy lists the one live code only.
    let listed = list_codes(&h, N1);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["code"].to_string(), pin);
}

/// The keypad codes Nuki's server lists for `lock` (its copy, not the lock's).
fn list_codes(h: &Harness, lock: &str) -> Vec<Value> {
    let req = host_harness::stubs::StubRequest {
        method: "GET".into(),
        path_and_query: format!("/smartlock/{lock}/auth?types=13"),
        headers: vec![("Authorization".into(), format!("Bearer {NUKI_TOKEN}"))],
        body: Vec::new(),
    };
    let resp = nuki_stub(h).handle(&req);
    assert_eq!(resp.status, 200);
    serde_json::from_slice::<Vec<Value>>(&resp.body).expect("a list")
}

// ------------------------------------------------------------ 5xx, hang

#[test]
fn faults_nuki_a_5xx_burst_on_auth_create_is_retried_hourly_until_it_passes() {
    let report =
        with(nuki_world(), vec![nuki_fault("2026-03-14T22:59:00Z", "auth_create", 503, 3)], "2026-03-15T06:00:00Z");
    let pin = assert_one_live_code(&report.pins);
    // 23:00, 00:00 and 01:00 answered 503 (outcome unknown: looked up in the
    // listing before the next create), then created.
    assert_eq!(utc(pin.added_at), "2026-03-15T02:00:30Z");
    assert_eq!(report.pins.len(), 1);
    assert_eq!(nuki_count(&report.http, "auth_create"), 4);
}

#[test]
fn faults_nuki_a_5xx_burst_on_auth_list_only_delays_the_confirmation() {
    let report =
        with(nuki_world(), vec![nuki_fault("2026-03-14T23:00:10Z", "auth_list", 502, 3)], "2026-03-15T06:00:00Z");
    let pin = assert_one_live_code(&report.pins);
    assert_eq!(utc(pin.added_at), "2026-03-14T23:00:30Z");
    assert_eq!(report.pins.len(), 1);
    assert_eq!(nuki_count(&report.http, "auth_create"), 1, "the code on the lock is not created again");
    assert!(nuki_count(&report.http, "auth_list") >= 4, "looked again after each 502");
    assert!(report.emails.is_empty());
}

#[test]
fn faults_nuki_a_5xx_burst_on_auth_list_before_check_in_is_confirmed_later() {
    // Every poll for an hour fails: the code is on the lock all the same and
    // the plugin must end up knowing it (no duplicate, status on_lock).
    let mut h = harness_on(nuki_world());
    apply_at(&mut h, nuki_fault("2026-03-14T23:00:10Z", "auth_list", 500, 60));
    h.advance_to(t("2026-03-15T06:00:00Z"));
    let pins = h.world.pins();
    assert_one_live_code(&pins);
    assert_eq!(pins.len(), 1);
    assert_eq!(status_of(&h, "b1").state, api::CodeState::OnLock);
    assert_eq!(rendered(&mut h, "b1"), pins[0].pin);
}

#[test]
fn faults_nuki_a_hung_create_is_looked_up_and_leaves_one_pin() {
    let report =
        with(nuki_world(), vec![nuki_fault("2026-03-14T22:59:00Z", "auth_create", 0, 1)], "2026-03-15T06:00:00Z");
    let pin = assert_one_live_code(&report.pins);
    assert_eq!(report.pins.len(), 1);
    assert!(pin.added_at <= t("2026-03-15T00:00:30Z"), "by the next hourly attempt: {}", utc(pin.added_at));
}

// ------------------------------------------------- offline through the eve

#[test]
fn faults_nuki_a_lock_offline_through_the_eve_alerts_once_even_across_restarts() {
    let report = with(
        nuki_world(),
        vec![
            nuki_online("2026-03-14T20:00:00Z", N1, false),
            step("2026-03-19T17:00:00Z", "restart", json!({})),
            step("2026-03-19T17:05:00Z", "restart", json!({})),
            // A change after the alert: still no second alert.
            booking("2026-03-19T17:20:00Z", "b1", "p1", "2026-03-20", "2026-03-23"),
            step("2026-03-19T18:00:00Z", "restart", json!({})),
            status("2026-03-20T06:00:00Z", "b1"),
        ],
        "2026-03-23T00:00:00Z",
    );
    assert!(report.pins.is_empty(), "{:?}", report.pins);
    assert_eq!(report.emails.len(), 1, "{:?}", report.emails);
    assert_eq!(utc(report.emails[0].at), "2026-03-19T17:00:00Z");
    let status = report.step("status")[0].result.clone().unwrap();
    assert_eq!(status["state"], "failed", "given up at midnight: {status}");
    assert_eq!(status["alert_sent"], true);
}

//! igloohome and Nuki on one account: one lock per property whatever the
//! brand (R4), each brand disconnected on its own (R18), and the Nuki API
//! token kept secret everywhere (R2).

use host_harness::api;
use host_harness::scenario::Harness;
use serde_json::json;

use crate::common::*;
use crate::setup::*;

const START: &str = "2026-03-01T08:00:00Z";

// ------------------------------------------------------------------ R4

#[test]
fn r4_nuki_a_property_with_an_igloohome_lock_refuses_a_nuki_lock_until_it_is_removed() {
    let mut steps = paris_setup(START, 5, 30);
    steps.insert(1, connect_nuki("2026-03-01T08:00:30Z"));
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(assign_nuki("2026-03-16T10:00:00Z", "p1", N1, 5, 30));
    steps.push(step("2026-03-16T10:10:00Z", "unassign", json!({"property": "p1"})));
    steps.push(assign_nuki("2026-03-16T10:20:00Z", "p1", N1, 5, 30));
    steps.push(end("2026-03-25T00:00:00Z"));
    let report = run_brands("r4 brands", START, steps);
    let assigns = report.step("assign");
    assert!(assigns[0].ok, "{:?}", assigns[0].error);
    assert!(!assigns[1].ok, "refused while the igloohome lock is there");
    let err = assigns[1].error.as_deref().unwrap_or_default();
    assert!(err.contains("igloohome") && err.contains("remove"), "a clear error: {err}");
    assert!(assigns[2].ok, "{:?}", assigns[2].error);
    assert_eq!(assigns[2].result.as_ref().unwrap()["provider"], "nuki");
    assert!(report.steps.iter().filter(|s| s.kind != "assign").all(|s| s.ok), "{:?}", report.steps);
    // The igloohome code stayed through the refused assign, went with the unassign.
    let on_l1 = report.pins_on("L1");
    assert_eq!(on_l1.len(), 1, "{:?}", report.pins);
    assert_eq!(on_l1[0].provider, "igloohome");
    assert_eq!(on_l1[0].removed_at.map(utc).as_deref(), Some("2026-03-16T10:10:30Z"));
    // Then the Nuki lock took over: created at once (its creation time is past).
    let on_n1 = report.pins_on(N1);
    assert_eq!(on_n1.len(), 1, "{:?}", report.pins);
    assert_eq!(on_n1[0].provider, "nuki");
    assert_nuki_pin(&on_n1[0].pin);
    assert!(on_n1[0].added_at <= t("2026-03-16T10:21:00Z"), "{}", utc(on_n1[0].added_at));
    assert_eq!(
        (utc(on_n1[0].start), utc(on_n1[0].end)),
        ("2026-03-20T13:30:00Z".into(), "2026-03-22T10:30:00Z".into())
    );
    assert_eq!(on_n1[0].removed_at.map(utc).as_deref(), Some("2026-03-22T10:30:30Z"));
    assert_no_overlapping_duplicates(&report);
}

#[test]
fn r4_nuki_a_property_with_a_nuki_lock_refuses_an_igloohome_lock_and_changes_nothing() {
    let mut h = harness_with(START, nuki_world(), true);
    apply_at(&mut h, connect(START));
    apply_at(&mut h, connect_nuki(START));
    apply_at(&mut h, property("2026-03-01T08:01:00Z", "p1", "Europe/Paris", None, None));
    apply_at(&mut h, assign_nuki("2026-03-01T08:02:00Z", "p1", N1, 5, 30));
    let before = h.storage.list("", None, 1000).unwrap();
    let err = act(&mut h, json!({"do": "assign", "property": "p1", "lock": "L1"})).unwrap_err();
    assert!(err.contains("Nuki") && err.contains("remove"), "a clear error: {err}");
    assert_eq!(h.storage.list("", None, 1000).unwrap(), before, "nothing changed");
    let a = h.plugin.assignment("p1").unwrap().unwrap().expect("still assigned");
    assert_eq!((a.brand.as_str(), a.lock_id.as_str()), ("nuki", N1));
}

// ----------------------------------------------------------------- R18

/// igloohome L1 on p1 and Nuki N1 on p2, one booking each (March 20-22),
/// both codes on their locks by March 16.
fn two_brands() -> Harness {
    let mut h = harness_with(START, nuki_world(), true);
    apply_at(&mut h, connect(START));
    apply_at(&mut h, connect_nuki(START));
    apply_at(&mut h, property("2026-03-01T08:01:00Z", "p1", "Europe/Paris", None, None));
    apply_at(&mut h, property("2026-03-01T08:01:00Z", "p2", "Europe/Paris", None, None));
    apply_at(&mut h, assign("2026-03-01T08:02:00Z", "p1", "L1", 5, 30));
    apply_at(&mut h, assign_nuki("2026-03-01T08:02:00Z", "p2", N1, 5, 30));
    apply_at(&mut h, booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    apply_at(&mut h, booking("2026-03-01T09:00:00Z", "b2", "p2", "2026-03-20", "2026-03-22"));
    h.advance_to(t("2026-03-16T09:00:00Z"));
    let pins = h.world.pins();
    assert_eq!(pins.len(), 2, "both codes created: {pins:?}");
    h
}

fn igloohome_requests(h: &Harness) -> u64 {
    h.world.igloohome().expect("igloohome stub").http_counts().requests
}

#[test]
fn r18_nuki_disconnecting_nuki_leaves_igloohome_connected_assigned_and_working() {
    let mut h = two_brands();
    apply_at(&mut h, disconnect("2026-03-16T10:00:00Z", "nuki"));
    let nuki_requests = nuki_stub(&h).requests_total();
    // igloohome carries on: a move and a new booking; Nuki's booking changes too.
    apply_at(&mut h, booking("2026-03-17T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-23"));
    apply_at(&mut h, booking("2026-03-17T09:00:00Z", "b3", "p1", "2026-03-27", "2026-03-29"));
    apply_at(&mut h, booking("2026-03-17T09:00:00Z", "b2", "p2", "2026-03-20", "2026-03-23"));
    h.advance_to(t("2026-04-02T00:00:00Z"));
    assert_eq!(nuki_stub(&h).requests_total(), nuki_requests, "no Nuki call after its disconnect");
    let pins = h.world.pins();
    let b2 = of_booking(&pins, "b2");
    assert_eq!(b2.len(), 1, "the Nuki code was not moved: {pins:?}");
    assert!(b2[0].removed_at.is_none(), "left to expire");
    let b1 = of_booking(&pins, "b1");
    assert_eq!(b1.len(), 2, "the igloohome code was moved: {pins:?}");
    assert_eq!(b1[0].pin, b1[1].pin);
    assert_eq!(utc(b1[1].end), "2026-03-23T10:30:00Z");
    assert_eq!(b1[1].removed_at.map(utc).as_deref(), Some("2026-03-23T10:30:30Z"));
    let b3 = of_booking(&pins, "b3");
    assert_eq!(b3.len(), 1, "{pins:?}");
    assert_eq!((b3[0].provider, b3[0].lock.as_str()), ("igloohome", "L1"));
    assert_eq!(utc(b3[0].added_at), "2026-03-21T23:00:30Z", "March 22 00:00 Paris");
    assert!(b3[0].removed_at.is_some());
    let accounts = h.plugin.accounts().unwrap().unwrap();
    assert_eq!(accounts.iter().map(|a| a.brand.as_str()).collect::<Vec<_>>(), vec!["igloohome"]);
    assert_eq!(h.plugin.assignment("p1").unwrap().unwrap().map(|a| a.lock_id), Some("L1".to_string()));
    assert_eq!(h.plugin.assignment("p2").unwrap().unwrap(), None);
    assert!(h.storage.get("acct/igloohome").unwrap().is_some());
    assert!(h.storage.get("acct/nuki").unwrap().is_none());
    assert_eq!(status_of(&h, "b2").state, api::CodeState::LeftToExpire);
}

#[test]
fn r18_nuki_disconnecting_igloohome_leaves_nuki_connected_assigned_and_working() {
    let mut h = two_brands();
    apply_at(&mut h, disconnect("2026-03-16T10:00:00Z", "igloohome"));
    let igloo_requests = igloohome_requests(&h);
    apply_at(&mut h, booking("2026-03-17T09:00:00Z", "b2", "p2", "2026-03-20", "2026-03-23"));
    apply_at(&mut h, booking("2026-03-17T09:00:00Z", "b4", "p2", "2026-03-27", "2026-03-29"));
    apply_at(&mut h, booking("2026-03-17T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-23"));
    h.advance_to(t("2026-04-02T00:00:00Z"));
    assert_eq!(igloohome_requests(&h), igloo_requests, "no igloohome call after its disconnect");
    let pins = h.world.pins();
    let b1 = of_booking(&pins, "b1");
    assert_eq!(b1.len(), 1, "the igloohome code was not moved: {pins:?}");
    assert!(b1[0].removed_at.is_none(), "left to expire");
    let b2 = of_booking(&pins, "b2");
    assert_eq!(b2.len(), 2, "the Nuki code was moved: {pins:?}");
    assert_eq!(b2[0].pin, b2[1].pin);
    assert_eq!(b2[0].removed_at, Some(b2[1].added_at), "in place");
    assert_eq!(utc(b2[1].end), "2026-03-23T10:30:00Z");
    assert_eq!(b2[1].removed_at.map(utc).as_deref(), Some("2026-03-23T10:30:30Z"));
    let b4 = of_booking(&pins, "b4");
    assert_eq!(b4.len(), 1, "{pins:?}");
    assert_eq!((b4[0].provider, b4[0].lock.as_str()), ("nuki", N1));
    assert_eq!(utc(b4[0].added_at), "2026-03-21T23:00:30Z");
    assert!(b4[0].removed_at.is_some());
    let counts = h.world.http_counts();
    assert_eq!(nuki_count(&counts, "auth_update"), 1);
    let accounts = h.plugin.accounts().unwrap().unwrap();
    assert_eq!(accounts.iter().map(|a| a.brand.as_str()).collect::<Vec<_>>(), vec!["nuki"]);
    assert_eq!(h.plugin.assignment("p2").unwrap().unwrap().map(|a| a.lock_id), Some(N1.to_string()));
    assert_eq!(h.plugin.assignment("p1").unwrap().unwrap(), None);
    assert!(h.storage.get("acct/nuki").unwrap().is_some());
    assert!(h.storage.get("acct/igloohome").unwrap().is_none());
    assert_eq!(status_of(&h, "b1").state, api::CodeState::LeftToExpire);
}

// ------------------------------------------------------------------ R2

#[test]
fn r2_nuki_the_api_token_appears_in_no_log_line_report_email_or_result() {
    // A run with every kind of output on both brands: results, a refused
    // token, statuses, renders, failures and a Nuki alert.
    let mut steps = paris_setup(START, 5, 30);
    steps.insert(1, connect_nuki_with("2026-03-01T08:00:10Z", WRONG_TOKEN));
    steps.insert(2, connect_nuki("2026-03-01T08:00:20Z"));
    steps.push(property("2026-03-01T08:03:00Z", "p2", "Europe/Paris", None, None));
    steps.push(assign_nuki("2026-03-01T08:04:00Z", "p2", N1, 5, 30));
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(booking("2026-03-01T09:00:00Z", "b2", "p2", "2026-03-20", "2026-03-22"));
    steps.push(nuki_online("2026-03-14T20:00:00Z", N1, false));
    steps.push(status("2026-03-19T18:00:00Z", "b2"));
    steps.push(render("2026-03-19T18:01:00Z", "b1"));
    steps.push(render("2026-03-19T18:01:00Z", "b2"));
    steps.push(end("2026-03-21T00:00:00Z"));
    let report = run_brands("r2 nuki", START, steps);
    assert!(!report.step("connect")[1].ok, "the mistyped token was refused");
    assert_eq!(report.emails.len(), 1, "the Nuki alert was sent: {:?}", report.emails);
    let text = report.to_json().to_string();
    for secret in [NUKI_TOKEN, WRONG_TOKEN] {
        assert!(!text.contains(secret), "token in the report (steps, pins, e-mails)");
        for mail in &report.emails {
            assert!(!mail.body.contains(secret) && !mail.subject.contains(secret), "token in an e-mail");
        }
    }
    // Every admin export of a connected Nuki account.
    let mut h = nuki_harness(START);
    let result = act(&mut h, json!({"do": "connect", "provider": "nuki", "api_token": NUKI_TOKEN})).unwrap();
    apply_at(&mut h, property("2026-03-01T08:01:00Z", "p1", "Europe/Paris", None, None));
    let assigned = apply_at(&mut h, assign_nuki("2026-03-01T08:02:00Z", "p1", N1, 5, 30));
    apply_at(&mut h, booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    h.advance_to(t("2026-03-15T06:00:00Z"));
    let exports = format!(
        "{result}{assigned}{:?}{:?}{:?}{:?}",
        h.plugin.accounts().unwrap(),
        h.plugin.list_locks("nuki").unwrap(),
        h.plugin.assignment("p1").unwrap(),
        h.plugin.booking_status("b1").unwrap()
    );
    assert!(!exports.contains(NUKI_TOKEN), "token in an export: {exports}");
    let logs = logs();
    assert!(logs.contains("Nuki account"), "the plugin's logs are captured");
    for secret in [NUKI_TOKEN, WRONG_TOKEN] {
        let line = logs.lines().find(|l| l.contains(secret));
        assert!(line.is_none(), "token in a log line: {line:?}");
    }
}

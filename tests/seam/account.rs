//! R1, R2, R3, R18: connecting a Seam workspace with its API key, what its
//! devices lack, the key kept out of every output, and disconnecting.

use std::collections::BTreeSet;

use serde_json::json;

use crate::common::*;
use crate::sm::*;

#[test]
fn r1_seam_a_bad_key_is_refused_and_nothing_is_stored() {
    let mut h = harness_sm();
    // A key Seam does not know: asked, refused (401).
    let err = apply_err(&mut h, sm_connect_with(START, "seam_wrong_Key0000000_abc"));
    assert!(err.contains("refused") || err.contains("401") || err.contains("wrong"), "clear error: {err}");
    assert!(sm_count(&h, "devices_list") >= 1, "checked with Seam, not guessed");
    // A publishable key is another kind of key: refused without asking Seam.
    let asked = h.world.http_counts().requests;
    let err = apply_err(&mut h, sm_connect_with(START, "seam_pk1_publishable_0000"));
    assert!(err.contains("publishable"), "says what kind of key it is: {err}");
    assert_eq!(h.world.http_counts().requests, asked, "not sent to Seam");
    // An empty key names the field.
    let err = apply_err(&mut h, sm_connect_with(START, ""));
    assert!(err.contains("api_key"), "names the field: {err}");

    let stored = h.storage.list("", None, 100).expect("storage lists");
    assert!(stored.is_empty(), "nothing stored: {:?}", stored.iter().map(|e| &e.0).collect::<Vec<_>>());
    assert!(h.plugin.accounts().unwrap().unwrap().is_empty());
    apply_ok(&mut h, property(START, "p1", "Europe/Paris", None, None));
    let err = apply_err(&mut h, sm_assign(START, "p1", SCHLAGE, 5, 30));
    assert!(err.to_lowercase().contains("no seam account is connected"), "{err}");

    // The right key connects, with the workspace's name.
    let ok = apply_ok(&mut h, sm_connect(START));
    assert_eq!(ok, json!({"account": WORKSPACE}));
    let accounts = h.plugin.accounts().unwrap().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!((accounts[0].brand.as_str(), accounts[0].name.as_str()), ("seam", WORKSPACE));
}

#[test]
fn r3_seam_devices_that_take_online_codes_are_usable_the_others_say_what_they_lack() {
    let mut h = harness_sm();
    apply_ok(&mut h, sm_connect(START));
    let locks = h.plugin.list_locks("seam").unwrap().unwrap();
    let find = |id: &str| locks.iter().find(|l| l.id == id).unwrap_or_else(|| panic!("lock {id} listed: {locks:?}"));
    assert_eq!(locks.len(), 7, "every device of the workspace: {locks:?}");
    for usable in [SCHLAGE, NUKI, KWIKSET, LOCKLY, YALE] {
        let l = find(usable);
        assert!(l.remote.is_some() && l.needs.is_none(), "usable: {l:?}");
    }
    assert_eq!(find(SCHLAGE).name, "Front door");
    let no_codes = find(NO_CODES);
    assert!(no_codes.remote.is_none(), "{no_codes:?}");
    assert!(no_codes.needs.as_deref().is_some_and(|n| n.contains("online access codes")), "{no_codes:?}");
    let offline = find(OFFLINE);
    assert!(offline.remote.is_none(), "{offline:?}");
    assert!(offline.needs.as_deref().is_some_and(|n| n.contains("offline")), "{offline:?}");
    assert!(locks.iter().all(|l| l.brand == "seam"));

    // An unusable device cannot be assigned; the error says what it lacks.
    for p in ["p1", "p2", "p3"] {
        apply_ok(&mut h, property(START, p, "Europe/Paris", None, None));
    }
    let err = apply_err(&mut h, sm_assign(START, "p1", NO_CODES, 5, 30));
    assert!(err.contains("online access codes"), "{err}");
    let err = apply_err(&mut h, sm_assign(START, "p2", OFFLINE, 5, 30));
    assert!(err.contains("offline"), "{err}");
    assert_eq!(h.plugin.assignment("p1").unwrap().unwrap(), None, "nothing assigned");
    apply_ok(&mut h, sm_assign(START, "p3", SCHLAGE, 5, 30));

    // Usable: the guest's code reaches the lock and opens it in the stay.
    apply_ok(&mut h, booking("2026-03-01T09:00:00Z", "b1", "p3", "2026-03-20", "2026-03-22"));
    h.advance_to(t("2026-03-23T00:00:00Z"));
    let code = the_code(&sm_pins(&h), "b1");
    assert_eq!(code.lock, SCHLAGE);
    assert_opens_exactly(&h, SCHLAGE, &code.pin, WINDOW_START, WINDOW_END);
    assert!(sm_pins(&h).iter().all(|p| p.lock == SCHLAGE));
}

#[test]
fn r2_seam_the_api_key_is_in_no_log_line_report_or_answer() {
    // Every kind of output: refused and accepted connects, lock lists,
    // refused assignments, codes created, moved, deleted, an offline device
    // with its alert, Seam's errors, statuses, renders, a restart.
    let steps = vec![
        sm_connect_with(START, "seam_wrong_Key0000000_abc"),
        sm_connect(START),
        property("2026-03-01T08:01:00Z", "p1", "Europe/Paris", None, None),
        property("2026-03-01T08:01:00Z", "p2", "Europe/Paris", None, None),
        sm_assign("2026-03-01T08:02:00Z", "p1", SCHLAGE, 5, 30),
        sm_assign("2026-03-01T08:02:00Z", "p2", OFFLINE, 5, 30),
        sm_assign("2026-03-01T08:02:00Z", "p2", YALE, 5, 30),
        booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"),
        booking("2026-03-01T09:00:00Z", "b2", "p2", "2026-03-20", "2026-03-22"),
        booking("2026-03-01T09:00:00Z", "b3", "p1", "2026-03-25", "2026-03-27"),
        device_online("2026-03-10T00:00:00Z", YALE, false),
        sm_fault("2026-03-14T22:50:00Z", "access_codes_create", 500, 1),
        render("2026-03-18T12:00:00Z", "b1"),
        step("2026-03-18T12:00:00Z", "status", json!({"booking": "b2"})),
        booking("2026-03-18T13:00:00Z", "b1", "p1", "2026-03-20", "2026-03-23"),
        step("2026-03-18T14:00:00Z", "restart", json!({})),
        cancel("2026-03-21T09:00:00Z", "b3", "p1", "2026-03-25", "2026-03-27"),
        sm_disconnect("2026-03-24T00:00:00Z"),
        end("2026-03-28T00:00:00Z"),
    ];
    let report = run_sm("r2 seam", steps);
    assert!(!report.steps[0].ok && report.steps[1].ok, "{:?}", &report.steps[..2]);
    assert!(!report.pins.is_empty() && !report.emails.is_empty(), "the run made codes and an alert: {report:?}");
    let text = serde_json::to_string(&report.to_json()).expect("report JSON");
    let logs = logs();
    assert!(logs.contains("seam"), "the plugin's lines were captured");
    let mut leaks = BTreeSet::new();
    for (what, haystack) in [("report", &text), ("log", &logs)] {
        // The key, and any long piece of it.
        for piece in [KEY, &KEY[5..], &KEY[KEY.len() - 12..]] {
            if haystack.contains(piece) {
                leaks.insert(format!("{what} holds {piece:?}"));
            }
        }
    }
    assert!(leaks.is_empty(), "{leaks:?}");
    // Nor any answer of the admin exports.
    let mut h = harness_with(&paris_on(START, SCHLAGE, 5, 30));
    let answers = format!(
        "{:?}{:?}{:?}{:?}",
        h.plugin.accounts(),
        h.plugin.list_locks("seam"),
        h.plugin.assignment("p1"),
        apply_ok(&mut h, sm_connect("2026-03-01T08:05:00Z"))
    );
    assert!(!answers.contains(&KEY[5..]), "{answers}");
}

#[test]
fn r18_seam_disconnect_stops_every_call_erases_the_key_and_leaves_codes_to_expire() {
    let mut steps = standard_on(SCHLAGE);
    steps.push(property("2026-03-01T08:01:00Z", "p2", "Europe/Paris", None, None));
    steps.push(sm_assign("2026-03-01T08:02:00Z", "p2", YALE, 5, 30));
    steps.push(booking("2026-03-01T09:00:00Z", "b2", "p2", "2026-03-25", "2026-03-27"));
    let mut h = harness_with(&steps);
    // b1's code reaches the lock (Seam loads it 72 h ahead).
    h.advance_to(t("2026-03-18T00:00:00Z"));
    let b1 = the_code(&sm_pins(&h), "b1");
    apply_ok(&mut h, sm_disconnect("2026-03-18T00:00:00Z"));
    let asked = h.world.http_counts().requests;
    assert!(h.plugin.accounts().unwrap().unwrap().is_empty());
    for (key, value) in h.storage.list("", None, 1000).unwrap() {
        assert!(!String::from_utf8_lossy(&value).contains(KEY), "the key is still stored under {key}");
    }
    assert_eq!(h.plugin.assignment("p1").unwrap().unwrap(), None, "assignments removed");
    assert_eq!(h.plugin.assignment("p2").unwrap().unwrap(), None, "assignments removed");
    h.advance_to(t("2026-03-28T00:00:00Z"));
    assert_eq!(h.world.http_counts().requests, asked, "no call to Seam after the disconnect");
    // b1 keeps its code to its own end (Seam removes it then); b2 never got one.
    assert_opens_exactly(&h, SCHLAGE, &b1.pin, WINDOW_START, WINDOW_END);
    assert!(codes_of(&sm_pins(&h), "b2").is_empty(), "{:?}", sm_pins(&h));
    assert!(emails(&h).is_empty(), "no alert for a disconnected brand: {:?}", emails(&h));
}

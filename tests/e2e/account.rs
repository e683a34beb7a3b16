//! R1-R5: connecting, locks and assignments.

use host_harness::api;
use host_harness::scenario::Action;
use serde_json::json;

use crate::common::*;

fn act(h: &mut host_harness::scenario::Harness, v: serde_json::Value) -> Result<serde_json::Value, String> {
    let action: Action = serde_json::from_value(v).expect("action");
    h.apply(&action)
}

#[test]
fn r1_bad_credentials_are_refused_and_nothing_is_stored() {
    let mut h = harness("2026-03-01T08:00:00Z");
    let err =
        act(&mut h, json!({"do": "connect", "client_id": CLIENT_ID, "client_secret": "wrong-secret"})).unwrap_err();
    assert!(err.contains("refused"), "clear error: {err}");
    let err = act(&mut h, json!({"do": "connect", "client_id": "nobody", "client_secret": SECRET})).unwrap_err();
    assert!(err.contains("refused"), "clear error: {err}");
    let err = act(&mut h, json!({"do": "connect", "client_id": CLIENT_ID, "client_secret": ""})).unwrap_err();
    assert!(err.contains("client_secret"), "names the field: {err}");
    let stored = h.storage.list("", None, 100).expect("storage lists");
    assert!(
        stored.is_empty(),
        "nothing stored after refused connects: {:?}",
        stored.iter().map(|e| &e.0).collect::<Vec<_>>()
    );
    assert!(h.plugin.accounts().unwrap().unwrap().is_empty());
    // An assignment now is refused: not connected.
    act(&mut h, json!({"do": "property", "property": {"id": "p1", "name": "Sea View", "timezone": "Europe/Paris"}}))
        .unwrap();
    let err = act(&mut h, json!({"do": "assign", "property": "p1", "lock": "L1"})).unwrap_err();
    assert!(err.contains("connected"), "{err}");
}

#[test]
fn r1_connect_checks_token_and_devices_and_shows_the_account_name() {
    let mut h = harness("2026-03-01T08:00:00Z");
    let ok = act(&mut h, json!({"do": "connect", "client_id": CLIENT_ID, "client_secret": SECRET})).unwrap();
    assert_eq!(ok, json!({"account": "Sea View Rentals"}));
    let counts = h.world.http_counts();
    assert_eq!(counts.by_endpoint["token"], 1, "one token");
    assert!(counts.by_endpoint["devices"] >= 1, "the device list was loaded");
    let accounts = h.plugin.accounts().unwrap().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].name, "Sea View Rentals");
}

#[test]
fn r1_device_list_failure_refuses_the_connection() {
    let mut h = harness("2026-03-01T08:00:00Z");
    act(&mut h, json!({"do": "fault", "endpoint": "devices", "status": 500, "count": 1})).unwrap();
    let err = act(&mut h, json!({"do": "connect", "client_id": CLIENT_ID, "client_secret": SECRET})).unwrap_err();
    assert!(err.contains("unavailable"), "{err}");
    assert!(h.storage.list("", None, 100).unwrap().is_empty(), "nothing stored");
}

#[test]
fn r2_the_secret_appears_in_no_result_log_email_or_report() {
    // A run with every kind of output: results, statuses, failures, an alert.
    let mut steps = paris_setup("2026-03-01T08:00:00Z", 5, 30);
    steps.push(step(
        "2026-03-01T08:03:00Z",
        "connect",
        json!({"client_id": CLIENT_ID, "client_secret": "wrong-secret"}),
    ));
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(bridge("2026-03-14T12:00:00Z", "B1", false));
    steps.push(step("2026-03-19T18:00:00Z", "status", json!({"booking": "b1"})));
    steps.push(step("2026-03-19T18:01:00Z", "render", json!({"booking": "b1", "template": "{{smartlock_code}}"})));
    steps.push(end("2026-03-21T00:00:00Z"));
    let report = run("r2", "2026-03-01T08:00:00Z", steps);
    assert_eq!(report.emails.len(), 1, "the alert was sent");
    let text = report.to_json().to_string();
    assert!(!text.contains(SECRET), "secret in the report");
    for mail in &report.emails {
        assert!(!mail.body.contains(SECRET) && !mail.subject.contains(SECRET), "secret in an e-mail");
    }
    // Admin exports of a connected account.
    let mut h = harness("2026-03-01T08:00:00Z");
    let result = act(&mut h, json!({"do": "connect", "client_id": CLIENT_ID, "client_secret": SECRET})).unwrap();
    assert!(!result.to_string().contains(SECRET));
    let exports = format!("{:?}{:?}", h.plugin.accounts().unwrap(), h.plugin.list_locks("igloohome").unwrap());
    assert!(!exports.contains(SECRET), "secret in an export");
    let logs = logs();
    assert!(logs.contains("connected"), "the plugin's logs are captured");
    assert!(!logs.contains(SECRET), "secret in the logs");
}

#[test]
fn r3_locks_are_listed_with_their_bridge_and_a_lock_without_one_is_refused() {
    let mut h = harness("2026-03-01T08:00:00Z");
    act(&mut h, json!({"do": "connect", "client_id": CLIENT_ID, "client_secret": SECRET})).unwrap();
    let locks = h.plugin.list_locks("igloohome").unwrap().unwrap();
    let find = |id: &str| locks.iter().find(|l| l.id == id).unwrap_or_else(|| panic!("lock {id} listed"));
    assert_eq!(locks.len(), 5, "every lock, across pages: {locks:?}");
    assert_eq!(find("L1").remote, Some(api::RemotePath { kind: "bridge".into(), via: Some("B1".into()) }));
    assert_eq!(find("L4").remote, Some(api::RemotePath { kind: "bridge".into(), via: Some("B2".into()) }));
    assert_eq!(find("L1").name, "Front door");
    assert_eq!(find("L5").remote, None);
    assert_eq!(find("L5").needs.as_deref(), Some("a bridge"));
    act(&mut h, json!({"do": "property", "property": {"id": "p1", "name": "Sea View", "timezone": "Europe/Paris"}}))
        .unwrap();
    let err = act(&mut h, json!({"do": "assign", "property": "p1", "lock": "L5"})).unwrap_err();
    assert!(err.contains("needs a bridge"), "{err}");
    assert_eq!(h.plugin.assignment("p1").unwrap().unwrap(), None);
    let err = act(&mut h, json!({"do": "assign", "property": "p1", "lock": "NOPE"})).unwrap_err();
    assert!(err.contains("lock_id"), "{err}");
}

#[test]
fn r4_assigning_again_replaces_the_lock_and_moves_future_codes() {
    let mut steps = paris_setup("2026-03-01T08:00:00Z", 5, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(assign("2026-03-16T10:00:00Z", "p1", "L2", 5, 30));
    steps.push(end("2026-03-25T00:00:00Z"));
    let report = run("r4", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    let on_l1 = report.pins_on("L1");
    let on_l2 = report.pins_on("L2");
    assert_eq!(on_l1.len(), 1);
    assert_eq!(on_l2.len(), 1);
    let removed = on_l1[0].removed_at.expect("removed from the old lock");
    assert!(removed >= t("2026-03-16T10:00:00Z") && removed <= t("2026-03-16T10:15:30Z"), "{}", utc(removed));
    assert_eq!(on_l2[0].pin, on_l1[0].pin, "same PIN where it is free");
    assert_eq!(on_l2[0].start, t("2026-03-20T13:30:00Z"));
    assert!(on_l2[0].removed_at.is_some(), "deleted after check-out");
}

#[test]
fn r4_a_lock_of_another_provider_must_be_removed_first() {
    let mut h = harness("2026-03-01T08:00:00Z");
    act(&mut h, json!({"do": "connect", "client_id": CLIENT_ID, "client_secret": SECRET})).unwrap();
    act(&mut h, json!({"do": "property", "property": {"id": "p1", "name": "Sea View", "timezone": "Europe/Paris"}}))
        .unwrap();
    // A Nuki assignment, as the Nuki provider of a later version stores it.
    let nuki = json!({"property_id": "p1", "provider": "nuki", "lock_id": "N1", "lock_name": "Nuki", "bridge_id": "", "days_before": 5, "margin_minutes": 30});
    h.storage.set("asg/p1", nuki.to_string().as_bytes()).unwrap();
    let before = h.storage.list("", None, 1000).unwrap();
    let err = act(&mut h, json!({"do": "assign", "property": "p1", "lock": "L1"})).unwrap_err();
    assert!(err.contains("Nuki") && err.contains("remove"), "{err}");
    assert_eq!(h.storage.list("", None, 1000).unwrap(), before, "nothing changed");
}

#[test]
fn r5_settings_out_of_range_are_refused_and_nothing_is_half_saved() {
    let mut h = harness("2026-03-01T08:00:00Z");
    act(&mut h, json!({"do": "connect", "client_id": CLIENT_ID, "client_secret": SECRET})).unwrap();
    act(&mut h, json!({"do": "property", "property": {"id": "p1", "name": "Sea View", "timezone": "Europe/Paris"}}))
        .unwrap();
    // Defaults on a new assignment.
    let a = act(&mut h, json!({"do": "assign", "property": "p1", "lock": "L1"})).unwrap();
    assert_eq!((a["days_before"].as_u64(), a["margin_minutes"].as_u64()), (Some(5), Some(30)));
    let before = h.storage.list("", None, 1000).unwrap();
    for (days, margin, field) in [
        (0, 30, "days_before"),
        (15, 30, "days_before"),
        (-3, 30, "days_before"),
        (5, 241, "margin_minutes"),
        (5, -1, "margin_minutes"),
        (99, 999, "days_before"),
    ] {
        // Also with a lock change, which must not happen half-way either.
        for lock in ["L1", "L2"] {
            let err = act(
                &mut h,
                json!({"do": "assign", "property": "p1", "lock": lock, "days_before": days, "margin_minutes": margin}),
            )
            .unwrap_err();
            assert!(err.starts_with(field) && err.contains("between"), "{days}/{margin}: {err}");
            assert_eq!(h.storage.list("", None, 1000).unwrap(), before, "state unchanged after {days}/{margin}");
        }
    }
    let a =
        act(&mut h, json!({"do": "assign", "property": "p1", "lock": "L1", "days_before": 14, "margin_minutes": 240}))
            .unwrap();
    assert_eq!((a["days_before"].as_u64(), a["margin_minutes"].as_u64()), (Some(14), Some(240)));
    let a = act(&mut h, json!({"do": "assign", "property": "p1", "lock": "L1", "days_before": 1, "margin_minutes": 0}))
        .unwrap();
    assert_eq!((a["days_before"].as_u64(), a["margin_minutes"].as_u64()), (Some(1), Some(0)));
    // A failed first assignment leaves none.
    act(&mut h, json!({"do": "property", "property": {"id": "p2", "name": "Dune", "timezone": "Europe/Paris"}}))
        .unwrap();
    act(&mut h, json!({"do": "assign", "property": "p2", "lock": "L2", "margin_minutes": 300})).unwrap_err();
    assert_eq!(h.plugin.assignment("p2").unwrap().unwrap(), None);
}

//! R27 code events and R28 lock health, as the host records them (the
//! report's `events`), judged with the stub's lock-side truth.

use serde_json::Value;

use crate::common::*;

fn states(events: &[Value], booking: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["booking"] == booking)
        .map(|e| e["state"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// R27: a code's life as events — planned, written, on the lock, moved,
/// deleted — in order, each id once, with the booking, property, brand and
/// lock, and never the PIN.
#[test]
fn r27_a_codes_life_is_reported_in_order_without_the_pin() {
    let mut steps = paris_setup("2026-03-01T08:00:00Z", 5, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    // Moved to a later check-out after the code is on the lock (R14).
    steps.push(booking("2026-03-16T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-23"));
    steps.push(end("2026-03-24T00:00:00Z"));
    let report = run("r27", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    let json = report.to_json();
    let events = json["events"].as_array().expect("events").clone();
    let b1 = states(&events, "b1");
    let at = |s: &str| b1.iter().position(|x| x == s).unwrap_or_else(|| panic!("no {s} in {b1:?}"));
    assert!(at("scheduled") < at("writing") && at("writing") < at("on_lock"), "{b1:?}");
    assert!(at("on_lock") < at("moved") && at("moved") < at("deleted"), "{b1:?}");
    // Every id once; every event of b1 names its property, brand and lock.
    let mut ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().expect("id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "a repeated id");
    for e in events.iter().filter(|e| e["booking"] == "b1") {
        assert_eq!(
            (e["property"].as_str(), e["provider"].as_str(), e["lock"].as_str()),
            (Some("p1"), Some("igloohome"), Some("L1")),
            "{e}"
        );
        assert!(!e["detail"].as_str().unwrap_or_default().is_empty(), "{e}");
    }
    // Instants never go back.
    let times: Vec<&str> = events.iter().map(|e| e["at"].as_str().expect("at")).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    // No PIN anywhere in the events (R27).
    let text = serde_json::to_string(&events).expect("json");
    for p in &report.pins {
        assert!(!text.contains(&p.pin), "the PIN {} is in an event", p.pin);
    }
}

/// R28: a lock with a code due within 3 days that cannot be reached gives
/// one `lock_unreachable` event per outage, with the bookings at risk, and
/// one `lock_reachable` once a write reaches it again. No e-mail for it.
#[test]
fn r28_an_unreachable_lock_is_reported_once_per_outage_and_again_when_back() {
    let mut steps = paris_setup("2026-03-01T08:00:00Z", 2, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(booking("2026-03-01T09:01:00Z", "b2", "p1", "2026-03-22", "2026-03-24"));
    // Offline from before b1's creation (March 18 00:00 local) for a day.
    steps.push(bridge("2026-03-17T20:00:00Z", "B1", false));
    steps.push(bridge("2026-03-18T20:00:00Z", "B1", true));
    steps.push(end("2026-03-19T06:00:00Z"));
    let report = run("r28", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    let json = report.to_json();
    let events = json["events"].as_array().expect("events");
    let health: Vec<&Value> =
        events.iter().filter(|e| e["state"].as_str().is_some_and(|s| s.starts_with("lock_"))).collect();
    let kinds: Vec<&str> = health.iter().map(|e| e["state"].as_str().unwrap_or_default()).collect();
    assert_eq!(kinds, ["lock_unreachable", "lock_reachable"], "{health:?}");
    let down = health[0];
    assert_eq!((down["provider"].as_str(), down["lock"].as_str()), (Some("igloohome"), Some("L1")));
    assert!(down["at_risk"].as_u64().is_some_and(|n| n >= 1), "{down}");
    assert!(down.get("booking").is_none(), "a lock event names no booking: {down}");
    let (went, back) = (t(down["at"].as_str().unwrap()), t(health[1]["at"].as_str().unwrap()));
    assert!(went >= t("2026-03-17T23:00:00Z") && back >= t("2026-03-18T20:00:00Z"), "{went} {back}");
    // b1's code reached the lock once the bridge was back; nobody was mailed.
    assert!(report.pins.iter().any(|p| p.access_name.contains("(b1)") && p.added_at >= back - 3600));
    assert!(report.emails.is_empty(), "R28 sends no e-mail: {:?}", report.emails);
}

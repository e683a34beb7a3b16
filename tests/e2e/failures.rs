//! R11-R13: retries while the bridge is offline, the evening alert, and
//! last-minute bookings — as they stand without a fallback code (R24: the
//! igloohome API client here owns no algoPIN scope, so the stub refuses
//! offline codes with 403). `fallback.rs` has the same timelines with one.

use serde_json::json;

use crate::common::*;

/// [`paris_setup`] for an API client that may not issue algoPINs.
fn setup_without_offline_codes() -> Vec<serde_json::Value> {
    let mut steps = paris_setup("2026-03-01T08:00:00Z", 5, 30);
    steps.push(step(
        "2026-03-01T08:05:00Z",
        "fault",
        json!({"endpoint": "algopin", "status": 403, "count": 1_000_000}),
    ));
    steps
}

/// Paris, check-in March 20 (15:00+01), days_before 5: creation March 14
/// 23:00Z, alert March 19 17:00Z (18:00 local), retry deadline March 19
/// 23:00Z (midnight local). B1 goes offline before the creation.
fn offline_until(back: &str, end_at: &str) -> host_harness::scenario::Report {
    let mut steps = setup_without_offline_codes();
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(bridge("2026-03-14T20:00:00Z", "B1", false));
    steps.push(bridge(back, "B1", true));
    steps.push(end(end_at));
    let report = run("offline", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    report
}

#[test]
fn r11_bridge_back_before_the_eve_code_created_by_an_hourly_retry_and_no_email() {
    let report = offline_until("2026-03-17T10:10:00Z", "2026-03-18T00:00:00Z");
    assert_eq!(report.pins.len(), 1);
    let added = report.pins[0].added_at;
    assert!(added >= t("2026-03-17T10:10:00Z") && added <= t("2026-03-17T11:15:30Z"), "hourly retry: {}", utc(added));
    assert_eq!(report.pins[0].start, t("2026-03-20T13:30:00Z"));
    assert!(report.emails.is_empty(), "no alert: {:?}", report.emails);
    // Hourly: ~59 hours offline, one create job an hour (not one per tick).
    let jobs = report.http.by_endpoint["jobs"];
    assert!((55..=65).contains(&jobs), "create attempts: {jobs}");
}

#[test]
fn r11_retries_stop_at_midnight_of_the_check_in_date() {
    let report = offline_until("2026-03-21T12:00:00Z", "2026-03-23T00:00:00Z");
    assert!(report.pins.is_empty(), "no code after the deadline: {:?}", report.pins);
    // Offline 20:00Z March 14 .. deadline 23:00Z March 19: ~120 hourly attempts, none after.
    let jobs = report.http.by_endpoint["jobs"];
    assert!((115..=125).contains(&jobs), "create attempts: {jobs}");
}

#[test]
fn r12_bridge_back_after_six_pm_one_email_and_code_before_midnight() {
    let report = offline_until("2026-03-19T19:30:00Z", "2026-03-23T00:00:00Z");
    assert_eq!(report.emails.len(), 1, "{:?}", report.emails);
    let mail = &report.emails[0];
    assert_eq!(utc(mail.at), "2026-03-19T17:00:00Z");
    assert_eq!(report.pins.len(), 1);
    assert!(
        report.pins[0].added_at < t("2026-03-19T23:00:00Z"),
        "before midnight local: {}",
        utc(report.pins[0].added_at)
    );
    // What a busy manager needs.
    for needle in ["Property p1", "Ana Silva", "2026-03-20", "Front door", "bridge", "What to do"] {
        assert!(mail.body.contains(needle) || mail.subject.contains(needle), "alert mentions {needle}: {}", mail.body);
    }
}

#[test]
fn r12_bridge_back_after_midnight_no_code_and_one_email() {
    let report = offline_until("2026-03-20T01:00:00Z", "2026-03-23T00:00:00Z");
    assert!(report.pins.is_empty(), "{:?}", report.pins);
    assert_eq!(report.emails.len(), 1);
    assert_eq!(utc(report.emails[0].at), "2026-03-19T17:00:00Z");
}

#[test]
fn r12_at_most_one_alert_even_across_restarts() {
    let mut steps = setup_without_offline_codes();
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(bridge("2026-03-14T20:00:00Z", "B1", false));
    steps.push(step("2026-03-19T17:00:00Z", "restart", json!({})));
    steps.push(step("2026-03-19T17:05:00Z", "restart", json!({})));
    // The booking changes after the alert: still no second alert.
    steps.push(booking_with("2026-03-19T17:20:00Z", json!({"id": "b1", "property": "p1", "guest_name": "Ana Silva", "check_in": "2026-03-20", "check_out": "2026-03-23", "status": "confirmed"})));
    steps.push(step("2026-03-19T18:00:00Z", "restart", json!({})));
    steps.push(end("2026-03-21T00:00:00Z"));
    let report = run("r12 restarts", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    assert_eq!(report.emails.len(), 1, "{:?}", report.emails);
}

#[test]
fn r13_booking_after_six_pm_on_the_eve_is_tried_at_once_and_alerted_at_once() {
    let mut steps = setup_without_offline_codes();
    steps.push(bridge("2026-03-19T12:00:00Z", "B1", false));
    steps.push(booking("2026-03-19T20:05:00Z", "late", "p1", "2026-03-20", "2026-03-22"));
    steps.push(end("2026-03-20T03:00:00Z"));
    let report = run("r13 eve", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    assert!(report.pins.is_empty());
    assert_eq!(report.emails.len(), 1, "{:?}", report.emails);
    // Attempt at once (20:05, a wake-up), its job expires unstarted two
    // minutes later and is seen then: alert at once.
    let at = report.emails[0].at;
    assert!(at >= t("2026-03-19T20:05:00Z") && at <= t("2026-03-19T20:10:00Z"), "alert at once: {}", utc(at));
}

#[test]
fn r13_booking_after_six_pm_with_the_bridge_up_gets_its_code_at_once_and_no_alert() {
    let mut steps = setup_without_offline_codes();
    steps.push(booking("2026-03-19T20:05:00Z", "late", "p1", "2026-03-20", "2026-03-22"));
    steps.push(end("2026-03-20T03:00:00Z"));
    let report = run("r13 eve ok", "2026-03-01T08:00:00Z", steps.clone());
    assert_eq!(report.pins.len(), 1);
    assert_eq!(utc(report.pins[0].added_at), "2026-03-19T20:05:30Z");
    assert!(report.emails.is_empty());
    // A host that only ticks every 15 minutes: at its next tick.
    let report = run_without_wake_ups("r13 eve ok, regular ticks", "2026-03-01T08:00:00Z", steps);
    assert_eq!(report.pins.len(), 1);
    assert_eq!(utc(report.pins[0].added_at), "2026-03-19T20:15:30Z");
    assert!(report.emails.is_empty());
}

#[test]
fn r13_booking_after_the_retry_deadline_is_tried_hourly_until_its_window_starts() {
    // Booked on check-in day 02:05 local; bridge offline until 12:10Z
    // (13:10 local), window starts 14:30 local: created by an hourly retry.
    let mut h = harness("2026-03-01T08:00:00Z");
    let mut steps = setup_without_offline_codes();
    steps.push(bridge("2026-03-19T12:00:00Z", "B1", false));
    apply_steps(&mut h, steps);
    let jobs = |h: &host_harness::scenario::Harness| h.world.http_counts().by_endpoint["jobs"];
    assert_eq!(requests_until(&mut h, "jobs", "2026-03-20T01:05:00Z"), [] as [i64; 0]);
    let before = jobs(&h);
    apply_steps(&mut h, vec![booking("2026-03-20T01:05:00Z", "sameday", "p1", "2026-03-20", "2026-03-22")]);
    // Tried at once: in the event's own call or at the wake-up it asks for.
    let mut attempts = vec![h.now(); (jobs(&h) - before) as usize];
    attempts.extend(requests_until(&mut h, "jobs", "2026-03-20T12:10:00Z"));
    assert_eq!(attempts.first().map(|&a| utc(a)).as_deref(), Some("2026-03-20T01:05:00Z"), "tried at once");
    // 01:05 at once, then 02:05 .. 12:05: one an hour, not one per tick.
    assert_eq!(attempts.len(), 12, "{:?}", attempts.iter().map(|&a| utc(a)).collect::<Vec<_>>());
    assert_hourly(&attempts);
    apply_steps(&mut h, vec![bridge("2026-03-20T12:10:00Z", "B1", true)]);
    attempts.extend(requests_until(&mut h, "jobs", "2026-03-20T18:00:00Z"));
    // The next hourly attempt after the bridge came back created it.
    assert_eq!(attempts.len(), 13, "{:?}", attempts.iter().map(|&a| utc(a)).collect::<Vec<_>>());
    assert_hourly(&attempts);
    let pins = h.world.pins();
    assert_eq!(pins.len(), 1);
    let added = pins[0].added_at;
    assert!(added > t("2026-03-20T12:10:00Z") && added <= t("2026-03-20T13:15:30Z"), "{}", utc(added));
    assert!(added >= attempts[12], "created by that attempt: {}", utc(added));
    assert_eq!(h.storage.emails().unwrap().len(), 1, "alerted after the first failed attempt");
    // And one whose window already started: one attempt, then no more.
    let mut steps = setup_without_offline_codes();
    steps.push(bridge("2026-03-19T12:00:00Z", "B1", false));
    steps.push(booking("2026-03-20T15:05:00Z", "walkin", "p1", "2026-03-20", "2026-03-22"));
    steps.push(bridge("2026-03-20T18:10:00Z", "B1", true));
    steps.push(end("2026-03-21T18:00:00Z"));
    let report = run("r13 walk-in", "2026-03-01T08:00:00Z", steps);
    assert!(report.pins.is_empty(), "{:?}", report.pins);
    assert_eq!(report.http.by_endpoint["jobs"], 1, "tried once");
}

//! Vendor faults through the stub (issue: failure-proofing): 5xx bursts,
//! 429 with Retry-After, hung connections, malformed and truncated JSON,
//! revoked tokens, expiring jobs and a flapping bridge. The plugin keeps
//! R11-R16 and never leaves two PINs for one booking.

use serde_json::json;

use crate::common::*;

fn fault(at: &str, endpoint: &str, status: u16, count: u32) -> serde_json::Value {
    step(at, "fault", json!({"endpoint": endpoint, "status": status, "count": count}))
}

fn spoil(at: &str, endpoint: &str, kind: &str, count: u32) -> serde_json::Value {
    step(at, "fault", json!({"endpoint": endpoint, "kind": kind, "count": count}))
}

/// Paris, March 20-22, days_before 5: creation due March 14 23:00Z.
fn with(mut extra: Vec<serde_json::Value>, end_at: &str) -> host_harness::scenario::Report {
    let mut steps = paris_setup("2026-03-01T08:00:00Z", 5, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.append(&mut extra);
    steps.push(end(end_at));
    let report = run("faults", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    assert_no_overlapping_duplicates(&report);
    report
}

/// Exactly one PIN of b1 is on the lock at the end, with the promised window.
fn assert_one_live_code(report: &host_harness::scenario::Report) -> &smartlock_pin::Pin {
    let live: Vec<_> = report.pins.iter().filter(|p| p.removed_at.is_none()).collect();
    assert_eq!(live.len(), 1, "one live PIN: {:?}", report.pins);
    assert_eq!((utc(live[0].start), utc(live[0].end)), ("2026-03-20T13:30:00Z".into(), "2026-03-22T10:30:00Z".into()));
    live[0]
}

mod smartlock_pin {
    pub type Pin = host_harness::stubs::igloohome::PinRecord;
}

#[test]
fn faults_a_5xx_burst_is_retried_hourly_until_it_passes() {
    let report = with(vec![fault("2026-03-14T22:59:00Z", "jobs", 503, 3)], "2026-03-15T06:00:00Z");
    let pin = assert_one_live_code(&report);
    // Attempts at 23:00, 00:00, 01:00 answered 503 (outcome unknown: each is
    // undone by a delete before the next create), then created.
    assert!(
        pin.added_at >= t("2026-03-15T02:00:00Z") && pin.added_at <= t("2026-03-15T03:15:30Z"),
        "{}",
        utc(pin.added_at)
    );
}

#[test]
fn faults_429_honours_retry_after_instead_of_waiting_an_hour() {
    let report = with(vec![fault("2026-03-14T22:59:00Z", "jobs", 429, 1)], "2026-03-15T06:00:00Z");
    let pin = assert_one_live_code(&report);
    // Retry-After: 30, honoured by a wake-up: queued at 23:00:30, done 30 s later.
    assert_eq!(utc(pin.added_at), "2026-03-14T23:01:00Z");
}

#[test]
fn faults_a_hung_job_request_times_out_and_leaves_one_pin() {
    let report = with(vec![fault("2026-03-14T22:59:00Z", "jobs", 0, 1)], "2026-03-15T06:00:00Z");
    assert_one_live_code(&report);
    assert!(report.pins.len() == 1, "{:?}", report.pins);
}

#[test]
fn faults_a_hung_status_poll_is_polled_again() {
    let report = with(vec![fault("2026-03-14T23:05:00Z", "job_status", 0, 1)], "2026-03-15T06:00:00Z");
    let pin = assert_one_live_code(&report);
    assert_eq!(utc(pin.added_at), "2026-03-14T23:00:30Z");
}

#[test]
fn faults_a_malformed_job_answer_is_undone_and_redone_with_the_same_pin() {
    // The job really was queued, only its answer is garbage: the plugin
    // cannot know, so it deletes the PIN before creating it again.
    let report = with(vec![spoil("2026-03-14T22:59:00Z", "jobs", "malformed", 1)], "2026-03-15T06:00:00Z");
    let live = assert_one_live_code(&report);
    assert!(report.pins.len() <= 2, "{:?}", report.pins);
    assert!(report.pins.iter().all(|p| p.pin == live.pin), "same PIN re-sent: {:?}", report.pins);
}

#[test]
fn faults_truncated_status_answers_are_retried() {
    let report = with(vec![spoil("2026-03-14T23:05:00Z", "job_status", "truncated", 3)], "2026-03-15T06:00:00Z");
    let pin = assert_one_live_code(&report);
    assert_eq!(utc(pin.added_at), "2026-03-14T23:00:30Z");
}

#[test]
fn faults_a_revoked_token_is_replaced_once() {
    // The 23:00 tick fetched a token (the connect's had expired); revoked
    // before the 23:00:32 poll, which gets a 401 and fetches one new token.
    let report = with(vec![step("2026-03-14T23:00:15Z", "revoke_tokens", json!({}))], "2026-03-15T06:00:00Z");
    let pin = assert_one_live_code(&report);
    assert_eq!(utc(pin.added_at), "2026-03-14T23:00:30Z");
    assert_eq!(report.http.by_endpoint["token"], 3, "connect, creation, then one re-fetch after the 401");
}

#[test]
fn faults_token_endpoint_down_at_creation_time_is_retried() {
    let report = with(
        vec![step("2026-03-14T22:00:00Z", "revoke_tokens", json!({})), fault("2026-03-14T22:01:00Z", "token", 500, 2)],
        "2026-03-15T06:00:00Z",
    );
    let pin = assert_one_live_code(&report);
    // No token, no request: nothing to undo, the hourly retry just creates.
    assert_eq!(report.http.by_endpoint["jobs"], 1);
    assert_eq!(utc(pin.added_at), "2026-03-15T01:00:30Z");
}

#[test]
fn faults_jobs_that_expire_on_a_briefly_offline_bridge_are_retried() {
    let report = with(
        vec![bridge("2026-03-14T22:58:00Z", "B1", false), bridge("2026-03-14T23:10:00Z", "B1", true)],
        "2026-03-15T06:00:00Z",
    );
    let pin = assert_one_live_code(&report);
    assert_eq!(utc(pin.added_at), "2026-03-15T00:00:30Z", "next hourly attempt");
}

#[test]
fn faults_a_flapping_bridge_never_leaves_two_pins_and_the_code_still_lands() {
    let mut extra = Vec::new();
    // Off and on every 20 minutes for two days around the creation time,
    // then a date change and a cancellation-free check-out.
    let mut at = t("2026-03-14T20:00:00Z");
    let mut online = false;
    while at < t("2026-03-16T20:00:00Z") {
        extra.push(bridge(&utc(at), "B1", online));
        online = !online;
        at += 20 * 60;
    }
    extra.push(bridge(&utc(at), "B1", true));
    let report = with(extra, "2026-03-19T00:00:00Z");
    assert_one_live_code(&report);
    assert!(report.emails.is_empty());
}

#[test]
fn faults_a_delete_with_a_malformed_answer_still_removes_the_code() {
    let report = with(vec![spoil("2026-03-22T10:29:00Z", "jobs", "malformed", 2)], "2026-03-23T12:00:00Z");
    assert_eq!(report.pins.len(), 1);
    let removed = report.pins[0].removed_at.expect("removed after check-out");
    assert!(removed <= t("2026-03-22T12:45:30Z"), "{}", utc(removed));
}

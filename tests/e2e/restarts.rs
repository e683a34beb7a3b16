//! `restart` steps at awkward moments: never a second PIN for a booking.

use serde_json::json;

use crate::common::*;

#[test]
fn restarts_while_jobs_are_queued_and_mid_move_leave_one_pin_per_booking() {
    let mut steps = paris_setup("2026-03-01T08:00:00Z", 5, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(booking("2026-03-01T09:00:00Z", "b2", "p1", "2026-03-20", "2026-03-21"));
    // Right after the creation tick queued the jobs, before they are confirmed.
    steps.push(step("2026-03-14T23:00:00Z", "restart", json!({})));
    steps.push(step("2026-03-14T23:00:10Z", "restart", json!({})));
    // A move, restarted while its delete is queued and while its create is.
    steps.push(booking("2026-03-16T10:00:00Z", "b1", "p1", "2026-03-20", "2026-03-23"));
    steps.push(step("2026-03-16T10:15:00Z", "restart", json!({})));
    steps.push(step("2026-03-16T10:30:00Z", "restart", json!({})));
    steps.push(step("2026-03-16T10:30:05Z", "status", json!({"booking": "b1"})));
    steps.push(step("2026-03-22T10:30:00Z", "restart", json!({})));
    steps.push(end("2026-03-25T00:00:00Z"));
    let report = run("restarts", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    assert_no_overlapping_duplicates(&report);
    let b1: Vec<_> = report.pins.iter().filter(|p| p.access_name.contains("(b1)")).collect();
    let b2: Vec<_> = report.pins.iter().filter(|p| p.access_name.contains("(b2)")).collect();
    assert_eq!(b2.len(), 1);
    assert_eq!(b1.len(), 2, "original and moved: {b1:?}");
    assert_eq!(b1[0].pin, b1[1].pin);
    assert_eq!(utc(b1[1].end), "2026-03-23T10:30:00Z");
    assert!(report.pins.iter().all(|p| p.removed_at.is_some()), "all removed after check-out");
}

//! The TTLock and three-brand example scenarios (examples/) give what
//! docs/rules.md says they should.

use std::path::Path;

use host_harness::scenario::{self, Report, RunOptions, Scenario};

use crate::common::*;
use crate::tt::count;

fn example(name: &str) -> Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name);
    let scenario = Scenario::load(&path).expect("example is valid");
    scenario::run(&scenario, &RunOptions { runtime: Some(runtime()) }).expect("example runs")
}

/// The report's PINs of one booking (its access name ends in "(id)").
fn of<'r>(report: &'r Report, booking: &str) -> Vec<&'r host_harness::stubs::PinRecord> {
    report.pins.iter().filter(|p| p.access_name.ends_with(&format!("({booking})"))).collect()
}

fn assert_failed_with(report: &Report, index: usize, needle: &str) {
    let s = &report.steps[index];
    assert!(!s.ok, "step {index} ({}) should have been refused", s.kind);
    let error = s.error.clone().unwrap_or_default();
    assert!(error.contains(needle), "step {index}: {error}");
}

#[test]
fn ttlock_walkthrough_example_busy_retry_move_in_place_outage_and_check_out() {
    let report = example("ttlock-walkthrough.json");
    assert_failed_with(&report, 0, "username or password");
    assert_failed_with(&report, 4, "needs a gateway");
    for (i, s) in report.steps.iter().enumerate().filter(|(i, _)| ![0, 4].contains(i)) {
        assert!(s.ok, "step {i} ({}) failed: {:?}", s.kind, s.error);
    }
    assert_no_overlapping_duplicates(&report);
    assert!(report.pins.iter().all(|p| p.provider == "ttlock"));

    // s1 (Lisbon, WEST): due April 17 00:00 local; the gateway was busy, retried a minute later.
    let s1 = of(&report, "s1");
    assert_eq!(s1.len(), 2, "created, then moved in place: {s1:?}");
    assert!(s1.iter().all(|p| p.lock == "532323" && p.pin == s1[0].pin), "same lock, same PIN: {s1:?}");
    assert_eq!(utc(s1[0].added_at), "2026-04-16T23:01:00Z");
    assert_eq!((utc(s1[0].start), utc(s1[0].end)), ("2026-04-20T14:30:00Z".into(), "2026-04-23T09:30:00Z".into()));
    // One more night: the window moved in place at the change, no gap.
    assert_eq!(s1[0].removed_at.map(utc).as_deref(), Some("2026-04-18T10:00:00Z"));
    assert_eq!(utc(s1[1].added_at), "2026-04-18T10:00:00Z");
    assert_eq!(utc(s1[1].end), "2026-04-24T09:30:00Z");
    assert_eq!(s1[1].removed_at.map(utc).as_deref(), Some("2026-04-24T09:30:00Z"), "deleted after check-out");
    let renders = report.step("render");
    assert_eq!(renders[0].result.as_ref().unwrap()["output"], "Your door code is {{smartlock_code}}.");
    assert_eq!(renders[1].result.as_ref().unwrap()["output"], format!("Your door code is {}.", s1[0].pin));

    // l1 on the Wi-Fi lock: no gateway needed.
    let l1 = of(&report, "l1");
    assert_eq!(l1.len(), 1);
    assert_eq!((l1[0].lock.as_str(), utc(l1[0].added_at)), ("532324", "2026-04-17T23:00:00Z".to_string()));
    assert_eq!(l1[0].removed_at.map(utc).as_deref(), Some("2026-04-22T09:30:00Z"));

    // s2: the gateway was down at its creation; created by the first hourly retry after it came back.
    let status = report.step("status")[1].result.clone().unwrap();
    assert_eq!(status["state"], "retrying");
    assert!(status["last_error"].as_str().unwrap_or_default().contains("gateway"), "{status}");
    let s2 = of(&report, "s2");
    assert_eq!(s2.len(), 1);
    assert_eq!(utc(s2[0].added_at), "2026-04-23T10:00:00Z");
    assert_eq!(s2[0].removed_at.map(utc).as_deref(), Some("2026-04-28T09:30:00Z"));
    assert!(report.emails.is_empty(), "recovered before the eve: no alert");

    // Busy + created (s1), l1, and s2's 11 failed hourly attempts + the one that worked.
    assert_eq!(count(&report, "ttlock.pwd_add"), 15);
    assert_eq!(count(&report, "ttlock.pwd_change"), 1);
    assert_eq!(count(&report, "ttlock.pwd_delete"), 3);
}

#[test]
fn three_brands_example_switch_brands_and_disconnect_igloohome() {
    let report = example("three-brands.json");
    assert_failed_with(&report, 12, "remove");
    assert_failed_with(&report, 12, "TTLock");
    for (i, s) in report.steps.iter().enumerate().filter(|(i, _)| *i != 12) {
        assert!(s.ok, "step {i} ({}) failed: {:?}", s.kind, s.error);
    }
    assert_no_overlapping_duplicates(&report);
    let accounts: Vec<_> =
        report.step("connect").iter().map(|s| s.result.clone().unwrap()["account"].clone()).collect();
    assert_eq!(accounts, ["Sea View Rentals", "Nuki Web account", "host@example.com"], "one account, three brands");

    // Madrid (CEST): created May 5 00:00 local = May 4 22:00Z.
    let v1 = of(&report, "v1");
    assert_eq!(v1.len(), 1);
    assert_eq!((v1[0].provider, v1[0].lock.as_str()), ("igloohome", "OE1X000001"));
    assert_eq!(v1[0].removed_at, None, "igloohome disconnected: left to expire on the lock");
    let g1 = of(&report, "g1");
    assert_eq!((g1.len(), g1[0].provider), (1, "nuki"));
    assert!(g1[0].removed_at.is_some_and(|r| r >= t("2026-05-12T09:30:00Z")), "{g1:?}");

    // The brand switch: the studio's TTLock code (window not started) is
    // deleted at the unassign and the code goes to the Nuki lock at once.
    let s1 = of(&report, "s1");
    assert_eq!(s1.len(), 2, "{s1:?}");
    assert_eq!((s1[0].provider, s1[0].lock.as_str()), ("ttlock", "532323"));
    assert_eq!(utc(s1[0].added_at), "2026-05-04T22:00:00Z");
    assert_eq!(s1[0].removed_at.map(utc).as_deref(), Some("2026-05-06T10:01:00Z"));
    assert_eq!((s1[1].provider, s1[1].lock.as_str()), ("nuki", "18205286117"));
    assert!(
        s1[1].added_at >= t("2026-05-06T10:02:00Z") && s1[1].added_at <= t("2026-05-06T10:05:00Z"),
        "{}",
        utc(s1[1].added_at)
    );
    assert_eq!(report.step("render")[0].result.clone().unwrap()["output"], format!("Studio code: {}", s1[1].pin));

    // After the disconnect: the villa gets nothing, the others carry on.
    let status = report.step("status")[0].result.clone().unwrap();
    assert_eq!(status["state"], "left_to_expire");
    assert!(of(&report, "v2").is_empty(), "no igloohome code after the disconnect");
    for (b, lock) in [("g2", "18205286116"), ("s2", "18205286117")] {
        let p = of(&report, b);
        assert_eq!(p.len(), 1, "{b}: {p:?}");
        assert_eq!((p[0].provider, p[0].lock.as_str()), ("nuki", lock));
        assert!(p[0].added_at >= t("2026-05-12T22:00:00Z") && p[0].added_at <= t("2026-05-12T22:05:00Z"));
        assert!(p[0].removed_at.is_some(), "{b} deleted after check-out");
    }
    assert_eq!(count(&report, "jobs"), 1, "igloohome: v1's create only, nothing after the disconnect");
    assert_eq!(count(&report, "ttlock.pwd_add"), 1);
    assert_eq!(count(&report, "ttlock.pwd_delete"), 1);
    assert!(report.emails.is_empty());
}

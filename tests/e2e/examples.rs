//! The shared scenarios (examples/) give what docs/rules.md says they should.

use std::path::Path;

use host_harness::scenario::{self, RunOptions, Scenario};

use crate::common::*;

fn example(name: &str) -> host_harness::scenario::Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name);
    let scenario = Scenario::load(&path).expect("example is valid");
    scenario::run(&scenario, &RunOptions { runtime: Some(runtime()) }).expect("example runs")
}

#[test]
fn seed_walkthrough_creates_five_days_before_and_removes_after_check_out() {
    let report = example("seed-walkthrough.json");
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 1);
    let p = &report.pins[0];
    assert_eq!(p.lock, "OE1X000001");
    assert_eq!(utc(p.added_at), "2026-03-14T23:00:30Z");
    assert_eq!((utc(p.start), utc(p.end)), ("2026-03-20T13:30:00Z".into(), "2026-03-22T10:30:00Z".into()));
    assert_eq!(p.removed_at.map(utc).as_deref(), Some("2026-03-22T10:30:30Z"));
    let renders = report.step("render");
    assert_eq!(renders[0].result.as_ref().unwrap()["output"], "Your door code is {{smartlock_code}}.");
    assert_eq!(
        renders[1].result.as_ref().unwrap()["output"],
        format!("Your door code is {}. Legacy: {}. Other: {{{{guest_name}}}}.", p.pin, p.pin)
    );
    let status = report.step("status")[0].result.clone().unwrap();
    assert_eq!(status["state"], "on_lock");
    assert_eq!(status["pin"], p.pin.as_str());
    assert!(report.emails.is_empty());
    // Happy path: token once, devices at connect and assign, two jobs, two polls.
    assert_eq!(report.http.by_endpoint["jobs"], 2);
    assert_eq!(report.http.by_endpoint["job_status"], 2);
}

#[test]
fn r24_bridge_offline_alert_one_email_naming_an_offline_code_that_covers_the_stay() {
    let report = example("bridge-offline-alert.json");
    assert_steps_ok(&report);
    // Lisbon (WEST, +01): alert at 18:00 local on June 9, with the algoPIN
    // issued in the same step (R24); the regular code is no longer tried.
    assert_eq!(report.emails.len(), 1);
    assert_eq!(utc(report.emails[0].at), "2026-06-09T17:00:00Z");
    assert_eq!(report.pins.len(), 1, "{:?}", report.pins);
    let p = &report.pins[0];
    assert_eq!(p.kind, host_harness::stubs::PinKind::Offline);
    assert_eq!(utc(p.added_at), "2026-06-09T17:00:00Z");
    assert!(report.emails[0].body.contains(&p.pin), "the alert names the offline code");
    // The stay's window (13:00Z..11:00Z) in whole hours; never removed.
    assert_eq!((utc(p.start), utc(p.end)), ("2026-06-10T13:00:00Z".into(), "2026-06-12T11:00:00Z".into()));
    assert_eq!(p.removed_at, None);
}

/// The steps the examples make fail on purpose: (file, step number from 1,
/// part of the error). Every other step of every example must succeed.
const EXPECTED_ERRORS: [(&str, usize, &str); 4] = [
    // R25: 9 backup codes is out of range.
    ("backup-nuki.json", 3, "backup_codes must be between 0 and 5"),
    // R4: studio holds a TTLock lock; Nuki's is refused until it is removed.
    ("three-brands.json", 13, "already has a TTLock lock"),
    // R1: a wrong password first.
    ("ttlock-walkthrough.json", 1, "credentials were refused"),
    // R3: Cellar door has neither gateway nor Wi-Fi.
    ("ttlock-walkthrough.json", 5, "needs a gateway"),
];

#[test]
fn every_example_file_is_valid_and_runs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            let report = scenario::run(&scenario, &RunOptions { runtime: Some(runtime()) }).expect("runs");
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            assert!(!report.steps.is_empty(), "{name}: no step ran");
            for (i, s) in report.steps.iter().enumerate() {
                let expected = EXPECTED_ERRORS.iter().find(|e| e.0 == name && e.1 == i + 1);
                match (expected, s.ok) {
                    (None, ok) => assert!(ok, "{name}: step {} ({} at {}) failed: {:?}", i + 1, s.kind, s.at, s.error),
                    (Some((_, _, why)), false) => {
                        let error = s.error.as_deref().unwrap_or_default();
                        assert!(error.contains(why), "{name}: step {} refused for another reason: {error}", i + 1);
                    }
                    (Some((_, _, why)), true) => {
                        panic!("{name}: step {} ({} at {}) should be refused ({why})", i + 1, s.kind, s.at)
                    }
                }
            }
            assert_no_overlapping_duplicates(&report);
            count += 1;
        }
    }
    assert!(count >= 7, "examples run: {count}");
}

#[test]
fn r26_shared_entrance_example_each_guest_opens_their_flat_and_the_entrance_with_different_pins() {
    crate::doors::judge_shared_entrance(&example("shared-entrance.json"));
}

#[test]
fn r25_nuki_backup_example_gives_a_spare_code_narrows_replaces_and_rolls_the_pool() {
    crate::backup::judge_backup_nuki(&example("backup-nuki.json"));
}

#[test]
fn changes_and_lock_swap_moves_keeps_mid_stay_and_cancels() {
    let report = example("changes-and-lock-swap.json");
    assert_steps_ok(&report);
    let of = |id: &str| report.pins.iter().filter(|p| p.access_name.contains(&format!("({id})"))).collect::<Vec<_>>();
    // Moved after creation: same PIN, new window (13:00 check-in, one more night), old entry gone first.
    let a = of("stay-a");
    assert_eq!(a.len(), 2);
    assert_eq!(a[0].pin, a[1].pin);
    assert!(a[0].removed_at.expect("old window removed") <= a[1].added_at);
    assert_eq!((utc(a[1].start), utc(a[1].end)), ("2026-04-08T10:30:00Z".into(), "2026-04-13T08:30:00Z".into()));
    // Mid-stay when the lock was swapped: kept on the old lock until its check-out.
    assert!(a.iter().all(|p| p.lock == "OE1X000010"));
    assert_eq!(a[1].removed_at.map(utc).as_deref(), Some("2026-04-13T08:30:30Z"));
    // Not started yet: created on the new lock on the normal schedule (April 11 00:00 Amsterdam).
    let b = of("stay-b");
    assert_eq!((b.len(), b[0].lock.as_str()), (1, "OE1X000011"));
    assert_eq!(utc(b[0].added_at), "2026-04-10T22:00:30Z");
    // Cancelled after creation: deleted by the wake-up tick right after it.
    let c = of("stay-c");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].removed_at.map(utc).as_deref(), Some("2026-04-15T09:00:30Z"));
    assert!(report.emails.is_empty());
}

#[test]
fn vendor_faults_example_ends_with_one_code_per_booking() {
    let report = example("vendor-faults.json");
    assert_steps_ok(&report);
    assert_no_overlapping_duplicates(&report);
    assert_eq!(report.pins_on("OE1X000020").len(), 1);
    assert_eq!(report.pins_on("OE1X000021").len(), 1);
    for p in &report.pins {
        // 14:00 EDT (15:00 - 60 min), before the eve's 18:00 alert.
        assert_eq!(utc(p.start), "2026-05-10T18:00:00Z");
        assert!(p.added_at < t("2026-05-09T22:00:00Z"));
    }
    assert!(report.emails.is_empty());
}

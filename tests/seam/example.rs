//! examples/seam-walkthrough.json gives what docs/rules.md says it should (R29).

use std::path::Path;

use host_harness::scenario::{self, RunOptions, Scenario};

use crate::common::*;

#[test]
fn r29_seam_walkthrough_codes_reach_both_locks_and_open_only_in_the_stay() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/seam-walkthrough.json");
    let scenario = Scenario::load(&path).expect("example is valid");
    let report = scenario::run(&scenario, &RunOptions { runtime: Some(runtime()) }).expect("example runs");
    assert_steps_ok(&report);
    assert_no_overlapping_duplicates(&report);
    assert_eq!(report.pins.len(), 2, "{:?}", report.pins);
    let tries: Vec<_> = report.step("try_pin").iter().map(|s| s.result.clone().unwrap_or_default()).collect();
    assert_eq!(tries[0]["opens"], true, "b1's message opens the Schlage in the stay");
    assert_eq!(tries[1]["opens"], true, "b2's message opens the Lockly in the stay");
    assert_eq!(tries[2]["opens"], false, "not after check-out");
    // The Schlage's code is loaded 72 h before its 15:30 CET start.
    let front = report.pins.iter().find(|p| p.access_name.contains("(b1)")).expect("b1's code");
    assert_eq!(utc(front.added_at), "2026-03-17T14:30:20Z");
    assert!(report.emails.is_empty(), "{:?}", report.emails);
}

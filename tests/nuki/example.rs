//! `examples/nuki-walkthrough.json` gives what the SPEC says it should.

use std::path::Path;

use host_harness::scenario::{self, Report, RunOptions, Scenario};

use crate::common::*;
use crate::setup::*;

const FRONT: &str = "18205286116";
const GARDEN: &str = "18205286125";

fn walkthrough() -> Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/nuki-walkthrough.json");
    let scenario = Scenario::load(&path).expect("example is valid");
    scenario::run(&scenario, &RunOptions { runtime: Some(runtime()) }).expect("example runs")
}

#[test]
fn nuki_walkthrough_moves_in_place_cancels_and_alerts_once_for_the_offline_lock() {
    let report = walkthrough();
    assert_steps_ok(&report);
    assert_no_overlapping_duplicates(&report);
    assert!(report.pins.iter().all(|p| p.provider == "nuki"));
    for p in &report.pins {
        assert_nuki_pin(&p.pin);
    }
    // Vienna in May is UTC+2: created May 7 00:00 local, 14:30 to 11:30 local.
    let a = of_booking(&report.pins, "stay-a");
    assert_eq!(a.len(), 2, "{:?}", report.pins);
    assert!(a.iter().all(|p| p.lock == FRONT));
    assert_eq!(utc(a[0].added_at), "2026-05-06T22:00:30Z");
    assert_eq!((utc(a[0].start), utc(a[0].end)), ("2026-05-10T12:30:00Z".into(), "2026-05-12T09:30:00Z".into()));
    // Moved in place: same PIN, old entry out and new entry in at one instant.
    assert_eq!(a[0].pin, a[1].pin);
    assert_eq!(a[0].removed_at.map(utc).as_deref(), Some("2026-05-08T09:00:30Z"));
    assert_eq!(a[0].removed_at, Some(a[1].added_at));
    assert_eq!((utc(a[1].start), utc(a[1].end)), ("2026-05-11T12:30:00Z".into(), "2026-05-13T09:30:00Z".into()));
    assert_eq!(a[1].removed_at.map(utc).as_deref(), Some("2026-05-13T09:30:30Z"));
    let render = report.step("render")[0].result.clone().unwrap();
    assert_eq!(render["output"], format!("Hallo Lena, your door code is {}.", a[0].pin));
    let status = report.step("status")[0].result.clone().unwrap();
    assert_eq!((status["state"].as_str(), status["pin"].as_str()), (Some("on_lock"), Some(a[0].pin.as_str())));
    // Cancelled after creation: deleted by the tick right after it.
    let b = of_booking(&report.pins, "stay-b");
    assert_eq!(b.len(), 1);
    assert_ne!(b[0].pin, a[0].pin, "one PIN per guest on a lock");
    assert_eq!(utc(b[0].added_at), "2026-05-11T22:00:30Z");
    assert_eq!(b[0].removed_at.map(utc).as_deref(), Some("2026-05-13T08:00:30Z"));
    // The Garden door was offline through the eve: one alert at 18:00 local,
    // then the code at the first hourly attempt after it came back.
    assert_eq!(report.emails.len(), 1, "{:?}", report.emails);
    assert_eq!(utc(report.emails[0].at), "2026-05-19T16:00:00Z");
    assert!(report.emails[0].body.contains("Ida Berg") && report.emails[0].body.contains("Garden door"));
    let c = of_booking(&report.pins, "stay-c");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].lock, GARDEN);
    assert_eq!(utc(c[0].added_at), "2026-05-19T20:00:30Z");
    assert_eq!((utc(c[0].start), utc(c[0].end)), ("2026-05-20T12:30:00Z".into(), "2026-05-22T09:30:00Z".into()));
    assert_eq!(c[0].removed_at.map(utc).as_deref(), Some("2026-05-22T09:30:30Z"));
    let status = report.step("status")[1].result.clone().unwrap();
    assert_eq!((status["state"].as_str(), status["alert_sent"].as_bool()), (Some("on_lock"), Some(true)));
    // Moved with an update, never deleted and re-created.
    assert_eq!(nuki_count(&report.http, "auth_update"), 1);
    assert_eq!(nuki_count(&report.http, "auth_delete"), 3, "after check-out (a, c) and the cancellation (b)");
    // The report is the public format.
    let json = report.to_json();
    assert_eq!(json["pins"][0]["provider"], "nuki");
    assert_eq!(json["pins"][0]["lock"], FRONT);
    assert!(json["http"]["by_endpoint"]["nuki.auth_create"].as_u64().is_some_and(|n| n >= 3));
}

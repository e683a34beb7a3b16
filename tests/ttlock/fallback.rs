//! R24 on a TTLock lock: when the eve's alert fires with the gateway
//! offline, the guest gets an offline period passcode (`keyboardPwd/get`,
//! type 3) that the lock checks by itself. Judged on the stub's lock-side
//! truth and on `try_pin` (a guest typing the code of the rendered message).
//!
//! The standard stay (Paris, March 20-22, days_before 5, margin 30): window
//! 13:30Z-10:30Z; the passcode covers it in whole hours, 13:00Z-11:00Z, and
//! must be typed once before March 21 13:00Z (TTLock's first-use rule).

use host_harness::scenario::Report;
use host_harness::stubs::{PinKind, PinRecord};
use serde_json::{json, Value};

use crate::common::*;
use crate::tt::*;

const ALERT: &str = "2026-03-19T17:00:00Z";
const CODE_START: &str = "2026-03-20T13:00:00Z";
const CODE_END: &str = "2026-03-22T11:00:00Z";

/// A guest types the code(s) of `booking`'s last rendered message on [`LOCK`].
fn guest_types(at: &str, booking: &str) -> Value {
    step(at, "try_pin", json!({"lock": LOCK, "provider": "ttlock", "booking": booking}))
}

/// Each `try_pin` step's instant and whether the lock opened.
fn tries(report: &Report) -> Vec<(String, bool)> {
    report
        .step("try_pin")
        .iter()
        .map(|s| {
            let r = s.result.clone().unwrap_or(Value::Null);
            assert!(r["tried"].as_u64().is_some_and(|n| n >= 1), "the guest had a code to type: {r}");
            (s.at.clone(), r["opens"].as_bool().unwrap_or_else(|| panic!("try_pin: {r}")))
        })
        .collect()
}

fn expect(tries: &[(&str, bool)]) -> Vec<(String, bool)> {
    tries.iter().map(|&(at, o)| (at.to_string(), o)).collect()
}

/// The standard stay with the hall gateway unplugged before its creation
/// and never back, the guest's message rendered after the alert, `extra`
/// steps, to March 23.
fn gateway_offline_through_the_eve(extra: Vec<Value>) -> Report {
    let mut steps = standard();
    steps.push(gateway("2026-03-14T20:00:00Z", GATEWAY, false));
    steps.push(render("2026-03-19T17:05:00Z", "b1"));
    steps.extend(extra);
    steps.push(end("2026-03-23T00:00:00Z"));
    let report = run_tt("r24 ttlock gateway offline", in_time_order(steps));
    assert_steps_ok(&report);
    report
}

/// The one offline passcode the stub issued for `booking`, on [`LOCK`],
/// the stay in whole hours; and no regular passcode ever reached the lock.
fn the_offline_code<'r>(report: &'r Report, booking: &str) -> &'r PinRecord {
    let pins = tt_pins(report);
    assert!(pins.iter().all(|p| p.kind == PinKind::Offline), "no regular passcode on the lock: {pins:?}");
    assert_eq!(pins.len(), 1, "{pins:?}");
    let p = pins[0];
    assert_eq!(p.lock, LOCK);
    assert!(p.access_name.ends_with(&format!("({booking})")), "{p:?}");
    assert_window(p, CODE_START, CODE_END);
    assert_eq!(p.removed_at, None, "{p:?}");
    p
}

#[test]
fn r24_ttlock_gateway_offline_through_the_eve_the_alert_names_an_offline_passcode_that_opens_during_the_stay() {
    let report = gateway_offline_through_the_eve(vec![
        guest_types("2026-03-20T12:30:00Z", "b1"),
        guest_types("2026-03-20T14:00:00Z", "b1"),
        guest_types("2026-03-22T10:59:00Z", "b1"),
        guest_types("2026-03-22T11:00:00Z", "b1"),
    ]);
    let code = the_offline_code(&report, "b1");
    assert_eq!(utc(code.added_at), ALERT, "issued in the alert's own step");
    assert_eq!(count(&report, "ttlock.pwd_get"), 1, "asked once");
    assert_eq!(report.emails.len(), 1, "{:?}", report.emails);
    let mail = &report.emails[0];
    assert_eq!(utc(mail.at), ALERT);
    for needle in [
        code.pin.as_str(),
        "Studio door",
        "Fri 20 Mar 2026, 14:00 CET",
        "Sun 22 Mar 2026, 12:00 CET",
        "within 24 hours",
    ] {
        assert!(mail.body.contains(needle), "the alert says {needle:?}: {}", mail.body);
    }
    for secret in [APP_SECRET, PASSWORD, PASSWORD_MD5] {
        assert!(!mail.body.contains(secret) && !mail.subject.contains(secret), "R2");
    }
    assert_eq!(render_output(report.step("render")[0]), format!("Code: {}", code.pin));
    assert_eq!(
        tries(&report),
        expect(&[
            ("2026-03-20T12:30:00Z", false),
            ("2026-03-20T14:00:00Z", true),
            ("2026-03-22T10:59:00Z", true),
            ("2026-03-22T11:00:00Z", false),
        ])
    );
    let states: Vec<&str> = report.events.iter().filter_map(|e| e["state"].as_str()).collect();
    assert!(states.contains(&"fallback") && states.contains(&"alert_sent"), "{states:?}");
    assert!(report.events.iter().all(|e| !e.to_string().contains(&code.pin)), "no event carries the PIN");
}

#[test]
fn r24_ttlock_an_offline_passcode_not_typed_within_24_hours_of_its_start_no_longer_opens() {
    let late = gateway_offline_through_the_eve(vec![
        guest_types("2026-03-21T13:00:00Z", "b1"),
        guest_types("2026-03-22T09:00:00Z", "b1"),
    ]);
    the_offline_code(&late, "b1");
    assert_eq!(tries(&late), expect(&[("2026-03-21T13:00:00Z", false), ("2026-03-22T09:00:00Z", false)]));
    let in_time = gateway_offline_through_the_eve(vec![
        guest_types("2026-03-21T12:59:00Z", "b1"),
        guest_types("2026-03-22T09:00:00Z", "b1"),
    ]);
    assert_eq!(tries(&in_time), expect(&[("2026-03-21T12:59:00Z", true), ("2026-03-22T09:00:00Z", true)]));
}

#[test]
fn r24_ttlock_a_booking_made_after_six_pm_on_the_eve_with_the_gateway_offline_gets_an_offline_passcode_at_once() {
    // The hall gateway unplugged at noon; booked at 21:05 Paris on the eve
    // (R13): tried at once, alerted at once, with the offline passcode.
    let mut steps = paris_tt(START, 5, 30);
    steps.push(gateway("2026-03-19T11:00:00Z", GATEWAY, false));
    steps.push(booking("2026-03-19T20:05:00Z", "late", "p1", "2026-03-20", "2026-03-22"));
    steps.push(render_template("2026-03-19T20:10:00Z", "late", "Your door code: {{smartlock_code}}"));
    steps.push(guest_types("2026-03-20T14:00:00Z", "late"));
    steps.push(end("2026-03-21T00:00:00Z"));
    let report = run_tt("r24 ttlock late booking", steps);
    assert_steps_ok(&report);
    assert_eq!(count(&report, "ttlock.pwd_add"), 1, "the one attempt at once, none after the fallback");
    let code = the_offline_code(&report, "late");
    assert_eq!(utc(code.added_at), "2026-03-19T20:05:00Z", "at once");
    assert_eq!(report.emails.len(), 1, "{:?}", report.emails);
    assert_eq!(utc(report.emails[0].at), "2026-03-19T20:05:00Z");
    assert!(report.emails[0].body.contains(&code.pin), "{}", report.emails[0].body);
    assert_eq!(render_output(report.step("render")[0]), format!("Your door code: {}", code.pin));
    assert_eq!(tries(&report), expect(&[("2026-03-20T14:00:00Z", true)]));
}

#[test]
fn r24_ttlock_cancelled_after_the_offline_passcode_one_more_email_saying_until_when_it_opens() {
    let report = gateway_offline_through_the_eve(vec![
        cancel("2026-03-19T20:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"),
        // The gateway is down: nothing reaches the lock; the guest's code opens.
        guest_types("2026-03-20T14:00:00Z", "b1"),
    ]);
    the_offline_code(&report, "b1");
    assert_eq!(tries(&report), expect(&[("2026-03-20T14:00:00Z", true)]));
    assert_eq!(report.emails.len(), 2, "{:?}", report.emails);
    let notice = &report.emails[1];
    assert_eq!(notice.dedup_key, "fallback-notice/b1");
    let at = notice.at;
    assert!(at >= t("2026-03-19T20:00:00Z") && at <= t("2026-03-19T20:15:00Z"), "at once: {}", utc(at));
    assert!(notice.subject.contains("cancelled"), "{}", notice.subject);
    assert!(notice.body.contains("Sun 22 Mar 2026, 12:00 CET"), "until when: {}", notice.body);
}

#[test]
fn r24_ttlock_a_lock_without_passcode_data_gets_no_fallback_and_the_eve_is_r12_unchanged() {
    // -1007: the lock has no passcode key data, so no offline code.
    let report = gateway_offline_through_the_eve(vec![errcode("2026-03-19T16:00:00Z", "pwd_get", -1007, 1_000)]);
    assert!(tt_pins(&report).is_empty(), "{:?}", report.pins);
    assert_eq!(report.emails.len(), 1, "{:?}", report.emails);
    assert_eq!(utc(report.emails[0].at), ALERT);
    assert!(report.emails[0].subject.starts_with("Action needed: no door code yet"), "{}", report.emails[0].subject);
    let states: Vec<&str> = report.events.iter().filter_map(|e| e["state"].as_str()).collect();
    assert!(states.contains(&"alert_sent") && !states.contains(&"fallback"), "{states:?}");
}

#[test]
fn r24_ttlock_example_a_last_minute_booking_gets_an_offline_passcode_and_a_notice_when_shortened() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/fallback-ttlock.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let report = run_file(serde_json::from_str(&text).expect("the example is JSON"));
    assert_steps_ok(&report);
    // Mia's regular code came and went; Jonas, booked at 20:40 Vienna on
    // the eve with the gateway unplugged, got an offline passcode at once.
    let v1 = the_code(&report.pins, "v1");
    assert_eq!((v1.kind, utc(v1.added_at)), (PinKind::Code, "2026-08-01T09:00:00Z".to_string()));
    let v2 = the_code(&report.pins, "v2");
    assert_eq!((v2.kind, utc(v2.added_at)), (PinKind::Offline, "2026-08-06T18:40:00Z".to_string()));
    assert_window(&v2, "2026-08-07T12:00:00Z", "2026-08-09T09:00:00Z");
    assert_eq!(v2.removed_at, None);
    let keys: Vec<(&str, String)> = report.emails.iter().map(|e| (e.dedup_key.as_str(), utc(e.at))).collect();
    assert_eq!(
        keys,
        [("alert/v2", "2026-08-06T18:40:00Z".to_string()), ("fallback-notice/v2", "2026-08-07T16:00:00Z".to_string())]
    );
    assert!(report.emails[0].body.contains(&v2.pin), "{}", report.emails[0].body);
    assert!(report.emails[1].body.contains("Sun 9 Aug 2026, 11:00 CEST"), "{}", report.emails[1].body);
    assert_eq!(count(&report, "ttlock.pwd_add"), 2, "v1 once, v2 once (at once), none after the fallback");
    assert_eq!(
        tries(&report),
        expect(&[("2026-08-03T14:30:00Z", true), ("2026-08-07T13:30:00Z", true), ("2026-08-09T10:00:00Z", false)])
    );
}

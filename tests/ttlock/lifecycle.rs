//! R11-R18 on a TTLock lock: gateway outages and their hourly retries, the
//! eve's alert, moves in place, removal after check-out and disconnect.

use host_harness::api::CodeState;
use serde_json::json;

use crate::common::*;
use crate::tt::*;

#[test]
fn r11_ttlock_gateway_offline_is_retried_hourly_until_midnight_before_check_in() {
    let mut h = harness_tt();
    drive(&mut h, &in_time_order([standard(), vec![without_offline_codes()]].concat()));
    // Unplugged 15 minutes before the creation: the cloud still links the
    // gateway (-3002 "gateway offline"), later "no gateway near" (-2012).
    apply_ok(&mut h, gateway("2026-03-14T22:45:00Z", GATEWAY, false));
    h.advance_to(t("2026-03-14T23:00:30Z"));
    assert_eq!(tt_count(&h, "pwd_add"), 1, "attempted at 00:00 local");
    let s = status(&h, "b1");
    assert_eq!(s.state, CodeState::Retrying);
    let last_error = s.last_error.clone().unwrap_or_default();
    assert!(last_error.contains("gateway is offline"), "{last_error}");
    assert_eq!(s.next_attempt.map(utc).as_deref(), Some("2026-03-15T00:00:00Z"), "an hour later");
    // Never counted as created: nothing renders, nothing is on the lock.
    assert_eq!(rendered(&h, "b1"), None);
    assert!(h.world.pins().is_empty());

    h.advance_to(t("2026-03-19T23:00:00Z"));
    let attempts = tt_count(&h, "pwd_add");
    // Hourly from 23:00Z March 14 to 22:00Z March 19: 120 attempts, not one per tick.
    assert_eq!(attempts, 120, "hourly attempts until midnight local before check-in");
    let s = status(&h, "b1");
    assert!(s.last_error.unwrap_or_default().contains("gateway"), "the last error is about the gateway");

    // Back after the deadline: no more attempts, no code.
    apply_ok(&mut h, gateway("2026-03-20T01:00:00Z", GATEWAY, true));
    h.advance_to(t("2026-03-23T00:00:00Z"));
    assert_eq!(tt_count(&h, "pwd_add"), attempts, "no attempt after the deadline");
    assert!(h.world.pins().is_empty(), "{:?}", h.world.pins());
    assert_eq!(status(&h, "b1").state, CodeState::Failed);
    assert_eq!(rendered(&h, "b1"), None);
    // No add ever left a cloud-only record behind (addType 2 or nothing).
    assert!(cloud_custom_codes(&h, LOCK).is_empty(), "{:?}", cloud_custom_codes(&h, LOCK));
}

#[test]
fn r11_ttlock_gateway_back_before_the_eve_code_created_by_the_next_hourly_retry() {
    let mut steps = standard();
    steps.push(gateway("2026-03-14T20:00:00Z", GATEWAY, false));
    steps.push(gateway("2026-03-17T10:10:00Z", GATEWAY, true));
    steps.push(render("2026-03-17T12:00:00Z", "b1"));
    steps.push(end("2026-03-18T00:00:00Z"));
    let report = run_tt("r11 gateway back", steps);
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 1, "{:?}", report.pins);
    let p = &report.pins[0];
    assert_eq!(utc(p.added_at), "2026-03-17T11:00:00Z", "the next hourly attempt after the gateway came back");
    assert_eq!((utc(p.start), utc(p.end)), (WINDOW_START.to_string(), WINDOW_END.to_string()));
    assert!(report.emails.is_empty(), "no alert: {:?}", report.emails);
    // 23:00Z March 14 to 11:00Z March 17, hourly.
    assert_eq!(count(&report, "ttlock.pwd_add"), 61);
    assert_eq!(report.step("render")[0].result.clone().unwrap()["output"], format!("Code: {}", p.pin));
}

#[test]
fn r11_ttlock_a_success_answer_without_a_passcode_is_not_counted_as_created() {
    // TTLock answers `{"errcode": 0}` to the add but nothing reached the
    // lock (a write accepted but never carried out): not created.
    let mut h = harness_tt();
    drive(&mut h, &standard());
    apply_ok(&mut h, errcode("2026-03-14T22:59:00Z", "pwd_add", 0, 1));
    h.advance_to(t("2026-03-14T23:30:00Z"));
    assert!(h.world.pins().is_empty());
    let s = status(&h, "b1");
    assert_ne!(s.state, CodeState::OnLock, "{s:?}");
    assert_eq!(rendered(&h, "b1"), None, "no PIN for the guest before it is on the lock");
    h.advance_to(t("2026-03-15T06:00:00Z"));
    let pins = h.world.pins();
    assert_eq!(pins.len(), 1, "{pins:?}");
    assert_eq!(utc(pins[0].added_at), "2026-03-15T00:00:00Z", "looked up, found missing, created an hour later");
    assert!(tt_count(&h, "pwd_list") >= 1, "the outcome was resolved from the passcode list");
    assert_eq!(tt_count(&h, "pwd_add"), 2);
    let s = status(&h, "b1");
    assert_eq!((s.state, s.pin.as_deref()), (CodeState::OnLock, Some(pins[0].pin.as_str())));
    let cloud = cloud_custom_codes(&h, LOCK);
    assert_eq!(cloud.len(), 1, "{cloud:?}");
    assert_eq!(cloud[0]["keyboardPwd"], pins[0].pin.as_str());
}

/// Gateway unplugged before the creation and back at `back`, on a lock
/// without offline codes (R24's fallback is in fallback.rs).
fn offline_until(back: &str, end_at: &str) -> host_harness::scenario::Report {
    let mut steps = in_time_order([standard(), vec![without_offline_codes()]].concat());
    steps.push(gateway("2026-03-14T20:00:00Z", GATEWAY, false));
    steps.push(step("2026-03-19T17:30:00Z", "restart", json!({})));
    steps.push(gateway(back, GATEWAY, true));
    steps.push(end(end_at));
    let report = run_tt("r12", steps);
    assert_steps_ok(&report);
    report
}

#[test]
fn r12_ttlock_one_alert_at_six_pm_on_the_eve_and_the_code_when_the_gateway_is_back() {
    let report = offline_until("2026-03-19T19:30:00Z", "2026-03-21T00:00:00Z");
    assert_eq!(report.emails.len(), 1, "exactly one alert, even across a restart: {:?}", report.emails);
    let mail = &report.emails[0];
    assert_eq!(utc(mail.at), "2026-03-19T17:00:00Z", "18:00 Paris on the eve");
    for needle in ["Property p1", "Ana Silva", "2026-03-20", "Studio door", "gateway", "What to do"] {
        assert!(mail.body.contains(needle) || mail.subject.contains(needle), "alert mentions {needle}: {}", mail.body);
    }
    assert_eq!(report.pins.len(), 1);
    assert_eq!(utc(report.pins[0].added_at), "2026-03-19T20:00:00Z", "the next hourly attempt, before midnight");
}

#[test]
fn r12_ttlock_alert_advice_is_about_the_gateway_and_the_ttlock_app() {
    let report = offline_until("2026-03-20T01:00:00Z", "2026-03-21T00:00:00Z");
    assert!(report.pins.is_empty());
    assert_eq!(report.emails.len(), 1);
    let mail = &report.emails[0];
    // What to do on a TTLock lock: its gateway, in the TTLock app.
    let advice = mail.body.split("What to do").nth(1).unwrap_or_default();
    assert!(advice.contains("TTLock") && advice.contains("gateway"), "advice for a TTLock lock: {}", mail.body);
    assert!(!mail.body.contains("igloohome"), "a TTLock alert sends the manager to another brand's app: {}", mail.body);
}

#[test]
fn r14_ttlock_date_change_moves_the_code_in_place_keeping_the_pin() {
    let mut steps = standard();
    steps.push(booking("2026-03-16T10:00:00Z", "b1", "p1", "2026-03-21", "2026-03-24"));
    steps.push(render("2026-03-16T12:00:00Z", "b1"));
    steps.push(end("2026-03-20T00:00:00Z"));
    let report = run_tt("r14 ttlock", steps);
    assert_steps_ok(&report);
    let pins = report.pins_on(LOCK);
    assert_eq!(pins.len(), 2, "old entry and new entry: {pins:?}");
    let (old, new) = (pins[0], pins[1]);
    assert_eq!(old.pin, new.pin, "the guest keeps the PIN");
    assert_eq!(old.access_name, new.access_name, "the complete code was sent (name kept)");
    assert_eq!(utc(old.added_at), CREATE_AT);
    assert_eq!((utc(old.start), utc(old.end)), (WINDOW_START.to_string(), WINDOW_END.to_string()));
    // Moved in place, at once (the change asks for a wake-up): removed and
    // added at the same instant, never absent in between.
    assert_eq!(old.removed_at.map(utc).as_deref(), Some("2026-03-16T10:00:00Z"));
    assert_eq!(new.added_at, old.removed_at.unwrap());
    assert_eq!((utc(new.start), utc(new.end)), ("2026-03-21T13:30:00Z".into(), "2026-03-24T10:30:00Z".into()));
    assert_eq!(new.removed_at, None);
    // keyboardPwd/change, not delete + add.
    assert_eq!(count(&report, "ttlock.pwd_change"), 1);
    assert_eq!(count(&report, "ttlock.pwd_delete"), 0);
    assert_eq!(count(&report, "ttlock.pwd_add"), 1);
    assert_eq!(report.step("render")[0].result.clone().unwrap()["output"], format!("Code: {}", new.pin));
    assert_no_overlapping_duplicates(&report);
}

#[test]
fn r14_ttlock_margin_change_moves_the_code_in_place() {
    let mut steps = standard();
    steps.push(tt_assign("2026-03-16T10:00:00Z", "p1", LOCK, 5, 120));
    steps.push(end("2026-03-20T00:00:00Z"));
    let report = run_tt("r14 ttlock margin", steps);
    assert_steps_ok(&report);
    let pins = report.pins_on(LOCK);
    assert_eq!(pins.len(), 2, "{pins:?}");
    assert_eq!(pins[0].pin, pins[1].pin);
    assert_eq!(pins[0].removed_at, Some(pins[1].added_at));
    assert_eq!((utc(pins[1].start), utc(pins[1].end)), ("2026-03-20T12:00:00Z".into(), "2026-03-22T12:00:00Z".into()));
    assert_eq!((count(&report, "ttlock.pwd_change"), count(&report, "ttlock.pwd_delete")), (1, 0));
}

#[test]
fn r16_ttlock_code_deleted_after_check_out_plus_margin() {
    let mut steps = standard();
    steps.push(end("2026-03-25T00:00:00Z"));
    let report = run_tt("r16 ttlock", steps);
    assert_steps_ok(&report);
    assert_eq!(report.pins.len(), 1);
    let p = &report.pins[0];
    assert_eq!(utc(p.added_at), CREATE_AT);
    // Check-out 11:00 + 30 min Paris = 10:30Z: deleted through the gateway then.
    assert_eq!(p.removed_at.map(utc).as_deref(), Some(WINDOW_END));
    assert_eq!(count(&report, "ttlock.pwd_delete"), 1);
    assert_eq!(count(&report, "ttlock.pwd_add"), 1);
}

#[test]
fn r16_ttlock_a_failed_delete_is_retried_hourly() {
    let mut h = harness_tt();
    let mut steps = standard();
    steps.push(gateway("2026-03-22T10:00:00Z", GATEWAY, false));
    steps.push(gateway("2026-03-22T13:20:00Z", GATEWAY, true));
    steps.push(end("2026-03-25T00:00:00Z"));
    drive(&mut h, &steps);
    let pins = h.world.pins();
    assert_eq!(pins.len(), 1);
    // 10:30 (-3002), 11:30, 12:30 (-2012), 13:30 done.
    assert_eq!(pins[0].removed_at.map(utc).as_deref(), Some("2026-03-22T13:30:00Z"));
    assert_eq!(tt_count(&h, "pwd_delete"), 4);
    assert!(cloud_custom_codes(&h, LOCK).is_empty(), "the cloud record went with it");
}

#[test]
fn r18_ttlock_disconnect_leaves_codes_on_the_lock_and_makes_no_further_calls() {
    let mut h = harness_tt();
    let mut steps = paris_tt(START, 5, 30);
    for (id, check_in, check_out) in
        [("b1", "2026-03-16", "2026-03-18"), ("b2", "2026-03-20", "2026-03-22"), ("b3", "2026-03-28", "2026-03-30")]
    {
        steps.push(booking("2026-03-01T09:00:00Z", id, "p1", check_in, check_out));
    }
    drive(&mut h, &steps);
    h.advance_to(t("2026-03-16T16:00:00Z"));
    assert_eq!(h.world.pins().len(), 2, "b1 (mid-stay) and b2 are on the lock");
    apply_ok(&mut h, step("2026-03-16T16:00:00Z", "disconnect", json!({"provider": "ttlock"})));
    let calls = tt_total(&h);
    // Changes after the disconnect: a new booking, a cancellation, a gateway outage.
    drive(
        &mut h,
        &[
            booking("2026-03-17T09:00:00Z", "b4", "p1", "2026-03-19", "2026-03-21"),
            booking_with(
                "2026-03-17T09:00:00Z",
                json!({"id": "b2", "property": "p1", "check_in": "2026-03-20", "check_out": "2026-03-22", "status": "cancelled"}),
            ),
            gateway("2026-03-18T09:00:00Z", GATEWAY, false),
            gateway("2026-03-18T12:00:00Z", GATEWAY, true),
        ],
    );
    h.advance_to(t("2026-04-05T00:00:00Z"));
    assert_eq!(tt_total(&h), calls, "no TTLock call after the disconnect: {:?}", h.world.http_counts());
    let pins = h.world.pins();
    assert_eq!(pins.len(), 2, "{pins:?}");
    assert!(pins.iter().all(|p| p.removed_at.is_none()), "left to expire on the lock: {pins:?}");
    assert_eq!(h.plugin.assignment("p1").unwrap().unwrap(), None, "the assignment is gone");
    assert!(h.plugin.accounts().unwrap().unwrap().is_empty());
    assert!(h.storage.get("acct/ttlock").unwrap().is_none(), "credentials erased");
    assert!(h.storage.get("token/ttlock").unwrap().is_none(), "token erased");
    for b in ["b1", "b2"] {
        assert_eq!(status(&h, b).state, CodeState::LeftToExpire, "{b}");
    }
    assert_eq!(status(&h, "b3").pin, None, "b3 never got a code");
}

#[test]
fn r18_ttlock_status_of_a_code_left_to_expire_keeps_the_property_local_window() {
    let mut h = harness_tt();
    drive(&mut h, &standard());
    h.advance_to(t("2026-03-16T16:00:00Z"));
    let s = status(&h, "b1");
    let w = s.window.clone().expect("window");
    assert_eq!(
        (w.start_local.as_str(), w.end_local.as_str()),
        ("2026-03-20T14:30:00+01:00", "2026-03-22T11:30:00+01:00")
    );
    apply_ok(&mut h, step("2026-03-16T16:00:00Z", "disconnect", json!({"provider": "ttlock"})));
    let s = status(&h, "b1");
    assert_eq!(s.state, CodeState::LeftToExpire);
    let w = s.window.expect("the window the code keeps on the lock");
    assert_eq!((utc(w.start), utc(w.end)), (WINDOW_START.to_string(), WINDOW_END.to_string()));
    // admin.wit: "RFC 3339 with the property's UTC offset of that date".
    assert_eq!(
        (w.start_local.as_str(), w.end_local.as_str()),
        ("2026-03-20T14:30:00+01:00", "2026-03-22T11:30:00+01:00"),
        "Paris time, as before the disconnect"
    );
}

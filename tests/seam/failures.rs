//! R11 and R12 on Seam: a device offline or a set that fails is retried
//! hourly until the code lands; one alert on the eve for a code neither set
//! nor scheduled; none for a device Seam programs just in time while all is
//! well, and an alert at the look after the start when Seam then failed.

use host_harness::scenario::Harness;
use host_harness::stubs::seam::Programming;

use crate::common::*;
use crate::sm::*;

fn states(h: &Harness, booking: &str, state: &str) -> Vec<String> {
    events_of(h, booking).into_iter().filter(|(_, s)| s == state).map(|(at, _)| at).collect()
}

/// After check-out: `pin` opened the Yale exactly in the stay, the only
/// code that reached it, and no alert went out (it landed before the eve).
fn opens_in_the_stay_without_alert(h: &mut Harness, pin: &str) {
    h.advance_to(t("2026-03-23T00:00:00Z"));
    assert_opens_exactly(h, YALE, pin, WINDOW_START, WINDOW_END);
    assert_eq!(sm_pins(h).len(), 1, "one code on the lock: {:?}", sm_pins(h));
    assert!(emails(h).is_empty(), "landed before the eve: {:?}", emails(h));
}

#[test]
fn r11_seam_a_device_offline_is_retried_hourly_and_the_code_lands_once_it_is_back() {
    let mut steps = in_72h_on(YALE);
    steps.push(device_online("2026-03-17T20:00:00Z", YALE, false));
    let mut h = harness_with(&steps);
    h.advance_to(t(CREATE_IN_72H) - 60);
    // While the device is offline the plugin asks about it hourly and sends
    // no code it could not hold.
    let looks = requests_until(&mut h, "seam.devices_get", "2026-03-18T04:10:00Z");
    assert_hourly(&looks);
    assert!(looks.len() >= 5, "{looks:?}");
    assert_eq!(looks[0], t(CREATE_IN_72H), "first attempt at the creation time");
    assert!(sm_pins(&h).is_empty());
    let s = status(&h, "b1");
    assert!(s.last_error.as_deref().is_some_and(|e| !e.is_empty()), "{s:?}");
    let creates_offline = sm_count(&h, "access_codes_create");

    drive(&mut h, &[device_online("2026-03-18T04:20:00Z", YALE, true)]);
    h.advance_to(t("2026-03-18T06:00:00Z"));
    let code = the_code(&sm_pins(&h), "b1");
    assert!(code.added_at <= t("2026-03-18T05:20:00Z") + 15 * 60, "on the lock within the hour: {code:?}");
    assert_eq!(status(&h, "b1").state, host_harness::api::CodeState::OnLock);
    assert!(sm_count(&h, "access_codes_create") <= creates_offline + 1, "one create once it is back");
    opens_in_the_stay_without_alert(&mut h, &code.pin);
}

#[test]
fn r11_seam_failed_to_set_on_device_is_retried_hourly_and_the_code_lands_once_seam_can_set_it() {
    let mut h = harness_with(&in_72h_on(YALE));
    set_programming(&h, YALE, Programming::FailForGood);
    h.advance_to(t(CREATE_IN_72H) - 60);
    let creates = requests_until(&mut h, "seam.access_codes_create", "2026-03-18T04:10:00Z");
    assert!(!creates.is_empty() && creates[0] == t(CREATE_IN_72H), "{creates:?}");
    let s = status(&h, "b1");
    assert!(s.last_error.as_deref().is_some_and(|e| !e.is_empty()), "the failure is named: {s:?}");
    let retries = states(&h, "b1", "retrying");
    let retried: Vec<i64> = retries.iter().map(|r| t(r)).collect();
    assert_hourly(&retried);
    assert!(sm_pins(&h).is_empty(), "nothing on the lock while Seam fails");

    set_programming(&h, YALE, Programming::Normal);
    h.advance_to(t("2026-03-18T06:30:00Z"));
    let code = the_code(&sm_pins(&h), "b1");
    assert!(code.added_at <= t("2026-03-18T05:30:00Z"), "on the lock at the next retry: {code:?}");
    assert_eq!(status(&h, "b1").state, host_harness::api::CodeState::OnLock);
    opens_in_the_stay_without_alert(&mut h, &code.pin);
}

#[test]
fn r12_seam_one_alert_at_18_on_the_eve_for_a_code_neither_set_nor_scheduled() {
    let mut h = harness_with(&standard_on(SCHLAGE));
    set_programming(&h, SCHLAGE, Programming::NeverConfirm);
    h.advance_to(t(EVE_ALERT) - 60);
    assert!(emails(&h).is_empty(), "no alert before 18:00 on the eve: {:?}", emails(&h));
    assert!(sm_pins(&h).is_empty());
    h.advance_to(t(EVE_ALERT) + 15 * 60);
    let sent = emails(&h);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].at >= t(EVE_ALERT) && sent[0].at <= t(EVE_ALERT) + 15 * 60, "sent at {}", utc(sent[0].at));
    assert!(sent[0].body.contains("Front door"), "names the lock: {}", sent[0].body);
    assert_eq!(states(&h, "b1", "alert_sent").len(), 1, "{:?}", events_of(&h, "b1"));
    h.advance_to(t("2026-03-23T00:00:00Z"));
    assert_eq!(emails(&h).len(), 1, "never a second alert: {:?}", emails(&h));
    assert!(sm_pins(&h).is_empty(), "the device never got it");
}

#[test]
fn r12_seam_no_alert_for_a_just_in_time_device_when_all_is_well() {
    let mut h = harness_with(&standard_on(LOCKLY));
    let looks = requests_until(&mut h, "seam.access_codes_get", "2026-03-20T14:00:00Z");
    assert!(emails(&h).is_empty(), "no alert on the eve: {:?}", emails(&h));
    assert!(
        looks.iter().any(|&l| l >= t(WINDOW_START) && l <= t(WINDOW_START) + 20 * 60),
        "looked at again after the start: {:?}",
        looks.iter().map(|&l| utc(l)).collect::<Vec<_>>()
    );
    let code = the_code(&sm_pins(&h), "b1");
    assert_eq!(utc(code.added_at), "2026-03-20T12:30:20Z", "programmed 60 min ahead");
    h.advance_to(t("2026-03-23T00:00:00Z"));
    assert!(opens(&h, LOCKLY, &code.pin, WINDOW_START));
    assert!(emails(&h).is_empty(), "{:?}", emails(&h));
    assert!(states(&h, "b1", "alert_sent").is_empty(), "{:?}", events_of(&h, "b1"));
}

#[test]
fn r12_seam_a_just_in_time_code_seam_then_fails_alerts_at_the_look_after_the_start() {
    let mut h = harness_with(&standard_on(LOCKLY));
    h.advance_to(t(EVE_ALERT) + 60 * 60);
    assert!(emails(&h).is_empty(), "held cleanly on the eve: no alert {:?}", emails(&h));
    h.advance_to(t("2026-03-20T10:00:00Z"));
    set_programming(&h, LOCKLY, Programming::FailForGood);
    h.advance_to(t(WINDOW_START) + 20 * 60);
    let sent = emails(&h);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let look = t(WINDOW_START) + 5 * 60;
    assert!(
        sent[0].at >= t("2026-03-20T12:30:00Z") && sent[0].at <= look + 60,
        "alert at the look 5 min after the start, sent at {}",
        utc(sent[0].at)
    );
    assert!(sm_pins(&h).is_empty(), "Seam never set it");
    h.advance_to(t("2026-03-23T00:00:00Z"));
    assert_eq!(emails(&h).len(), 1, "{:?}", emails(&h));
}

//! R19, R20 on a TTLock lock: `{{smartlock_code}}` in guest messages gives
//! the PIN exactly while it is on the lock, as the stub's table says.

use crate::common::*;
use crate::tt::*;

#[test]
fn r19_ttlock_smartlock_code_renders_the_pin_once_it_is_on_the_lock_and_nothing_before() {
    // The hall gateway is down at the creation (March 14 23:00Z) and back
    // at 01:30Z: the code reaches the lock at the 02:00Z hourly retry.
    let mut h = harness_with(vec![
        booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"),
        gateway("2026-03-14T20:00:00Z", GATEWAY, false),
        gateway("2026-03-15T01:30:00Z", GATEWAY, true),
    ]);
    let on_lock_now = |h: &host_harness::scenario::Harness| {
        let now = h.now();
        codes_of(&h.world.pins(), "b1")
            .into_iter()
            .find(|p| p.added_at <= now && p.removed_at.is_none_or(|r| now < r))
            .map(|p| p.pin)
    };
    for at in [
        "2026-03-10T12:00:00Z",
        "2026-03-14T23:00:00Z",
        "2026-03-15T01:59:00Z",
        "2026-03-15T02:00:00Z",
        "2026-03-18T12:00:00Z",
        "2026-03-22T10:29:00Z",
        "2026-03-22T10:30:00Z",
        "2026-03-23T12:00:00Z",
    ] {
        h.advance_to(t(at));
        let on_lock = on_lock_now(&h);
        assert_eq!(rendered(&h, "b1"), on_lock, "at {at}: renders what is on the lock");
        let legacy = h.plugin.render_variable("nuki_code", "b1").expect("no trap");
        assert_eq!(legacy, on_lock, "at {at}: the legacy alias");
        if at == "2026-03-15T01:59:00Z" {
            assert!(status(&h, "b1").pin.is_some(), "the PIN is chosen, only the lock does not have it yet");
        }
    }
    // It was on the lock from the retry to check-out + margin.
    let code = the_code(&h.world.pins(), "b1");
    assert_eq!(utc(code.added_at), "2026-03-15T02:00:00Z");
    assert_eq!(code.removed_at.map(utc).as_deref(), Some(WINDOW_END));
    assert_eq!(tt_count(&h, "pwd_add"), 4, "23:00Z, 00:00Z, 01:00Z refused; 02:00Z on the lock");
}

#[test]
fn r19_ttlock_unknown_names_and_bookings_without_a_ttlock_code_render_nothing() {
    let mut h = harness_with(vec![
        booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"),
        property("2026-03-01T09:01:00Z", "p2", "Europe/Paris", None, None),
        booking("2026-03-01T09:02:00Z", "nolock", "p2", "2026-03-20", "2026-03-22"),
    ]);
    h.advance_to(t("2026-03-16T12:00:00Z"));
    let pin = the_code(&h.world.pins(), "b1").pin;
    assert_eq!(rendered(&h, "b1"), Some(pin), "b1's code is on the lock");
    for name in ["guest_name", "smartlock", "SMARTLOCK_CODE", "", " smartlock_code", "ttlock_code"] {
        assert_eq!(h.plugin.render_variable(name, "b1").unwrap(), None, "{name:?}");
    }
    assert_eq!(rendered(&h, "nolock"), None, "a property without a lock");
    assert_eq!(rendered(&h, "nobody"), None, "an unknown booking");
}

#[test]
fn r20_ttlock_spaces_in_braces_are_substituted_and_unknown_variables_left_alone() {
    let template = "Dear {{ guest_first_name }}, door: {{smartlock_code}}. Again: {{ smartlock_code }} / \
                    {{nuki_code  }}. Wi-Fi: {{wifi.password}}; {{ smartlock_code";
    let mut h = harness_with(vec![booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22")]);
    let before = render_output(&drive(&mut h, &[render_template("2026-03-14T22:00:00Z", "b1", template)])[0]);
    assert_eq!(before, template, "nothing on the lock yet: every variable left for others");
    let after = render_output(&drive(&mut h, &[render_template("2026-03-16T12:00:00Z", "b1", template)])[0]);
    let pin = the_code(&h.world.pins(), "b1").pin;
    assert_eq!(
        after,
        format!(
            "Dear {{{{ guest_first_name }}}}, door: {pin}. Again: {pin} / {pin}. Wi-Fi: {{{{wifi.password}}}}; \
             {{{{ smartlock_code"
        )
    );
}

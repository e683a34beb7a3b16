//! The Nuki code in guest messages (R19, R20): `{{smartlock_code}}` and its
//! legacy alias `{{nuki_code}}` give the PIN only once the lock holds it,
//! and whatever is not the plugin's is left for other plugins.
//!
//! Paris (CET, UTC+1), b1 March 20-22, days_before 5: created March 15
//! 00:00 local = March 14 23:00Z; the stub carries the write out at
//! 23:00:30Z; deleted after 11:30 local on March 22 = 10:30Z.

use host_harness::scenario::Harness;
use serde_json::json;

use crate::common::*;
use crate::setup::*;

const START: &str = "2026-03-14T12:00:00Z";
const NAMES: [&str; 2] = ["smartlock_code", "nuki_code"];

/// p1 on N1 with b1; p2 without a lock, with `nolock`.
fn b1_booked() -> Harness {
    let mut steps = nuki_property(START, "p1", "Europe/Paris", (None, None), N1, 5, 30);
    steps.push(booking("2026-03-14T12:05:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(property("2026-03-14T12:06:00Z", "p2", "Europe/Paris", None, None));
    steps.push(booking("2026-03-14T12:07:00Z", "nolock", "p2", "2026-03-20", "2026-03-22"));
    nuki_harness_with_steps(START, nuki_world(), steps)
}

/// b1's PIN record while it is on the lock, if it is.
fn live_b1(h: &Harness) -> Option<host_harness::stubs::PinRecord> {
    h.world.pins().into_iter().find(|p| p.access_name.contains("(b1)") && p.removed_at.is_none())
}

#[test]
fn r19_nuki_the_code_renders_only_once_it_is_on_the_lock_and_nuki_code_is_its_alias() {
    let mut h = b1_booked();
    h.advance_to(t("2026-03-14T22:59:00Z"));
    for name in NAMES {
        assert_eq!(variable(&h, name, "b1"), None, "{name} before creation");
    }
    // Every 5 s around the creation: a value only while the lock holds that
    // PIN; both names always agree.
    let mut first_rendered = None;
    for at in (t("2026-03-14T23:00:00Z")..=t("2026-03-14T23:03:00Z")).step_by(5) {
        h.advance_to(at);
        let values = NAMES.map(|name| variable(&h, name, "b1"));
        assert_eq!(values[0], values[1], "the alias renders the same at {}", utc(at));
        if let Some(pin) = &values[0] {
            let live = live_b1(&h).unwrap_or_else(|| panic!("{} rendered a PIN the lock does not hold", utc(at)));
            assert_eq!(&live.pin, pin);
            first_rendered.get_or_insert(at);
        }
    }
    let first = first_rendered.expect("rendered within three minutes of the creation");
    assert!(first >= t("2026-03-14T23:00:30Z"), "not before the lock holds it: {}", utc(first));
    let code = live_b1(&h).expect("on the lock");
    assert_opens_from_to(nuki_stub(&h), &code, "2026-03-20T13:30:00Z", "2026-03-22T10:30:00Z");
    // No lock, or a booking the plugin never heard of: nothing.
    for (booking, name) in [("nolock", "smartlock_code"), ("nolock", "nuki_code"), ("nobody", "smartlock_code")] {
        assert_eq!(variable(&h, name, booking), None, "{name} of {booking}");
    }
    // Deleted after check-out: nothing any more.
    h.advance_to(t("2026-03-22T11:00:00Z"));
    assert!(live_b1(&h).is_none(), "deleted from the lock");
    for name in NAMES {
        assert_eq!(variable(&h, name, "b1"), None, "{name} after check-out");
    }
}

#[test]
fn r19_nuki_unknown_variable_names_return_nothing_even_for_a_booking_with_a_code() {
    let mut h = b1_booked();
    h.advance_to(t("2026-03-15T06:00:00Z"));
    let pin = live_b1(&h).expect("on the lock").pin;
    assert_eq!(variable(&h, "smartlock_code", "b1").as_deref(), Some(pin.as_str()));
    for name in
        ["guest_name", "smartlock", "nuki", "code", "SMARTLOCK_CODE", "Nuki_Code", "", " smartlock_code", "nuki_code "]
    {
        assert_eq!(variable(&h, name, "b1"), None, "{name:?}");
    }
}

#[test]
fn r20_nuki_spaces_in_braces_and_unknown_variables_are_left_for_other_plugins() {
    const TEMPLATE: &str = "Hi {{guest_name}}! {{ smartlock_code }} {{  nuki_code}} {{smartlock_code}} \
                            {{ other_plugin.var }} {{nuki_code }} {{ not closed";
    let mut h = b1_booked();
    let render = |h: &mut Harness| {
        let out = act(h, json!({"do": "render", "booking": "b1", "template": TEMPLATE})).expect("render");
        out["output"].as_str().expect("output").to_string()
    };
    // Before the code exists even the plugin's own variables stay for later.
    h.advance_to(t("2026-03-14T22:00:00Z"));
    assert_eq!(render(&mut h), TEMPLATE);
    h.advance_to(t("2026-03-15T06:00:00Z"));
    let pin = live_b1(&h).expect("on the lock").pin;
    assert_eq!(
        render(&mut h),
        format!("Hi {{{{guest_name}}}}! {pin} {pin} {pin} {{{{ other_plugin.var }}}} {pin} {{{{ not closed")
    );
}

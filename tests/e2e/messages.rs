//! R19, R20: the code in guest messages.

use serde_json::json;

use crate::common::*;

fn render(at: &str, booking: &str, template: &str) -> serde_json::Value {
    step(at, "render", json!({"booking": booking, "template": template}))
}

#[test]
fn r19_the_code_renders_once_it_is_on_the_lock_with_the_legacy_alias() {
    let mut steps = paris_setup("2026-03-01T08:00:00Z", 5, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(booking("2026-03-01T09:00:00Z", "nolock", "p2-missing", "2026-03-20", "2026-03-22"));
    steps.push(property("2026-03-01T09:01:00Z", "p2", "Europe/Paris", None, None));
    steps.push(booking("2026-03-01T09:02:00Z", "unassigned", "p2", "2026-03-20", "2026-03-22"));
    steps.push(render("2026-03-10T12:00:00Z", "b1", "Code: {{smartlock_code}}"));
    // Queued at 23:00Z, on the lock at 23:00:30, confirmed by the 23:00:32 wake-up.
    steps.push(render("2026-03-14T23:00:15Z", "b1", "Code: {{smartlock_code}}"));
    steps.push(render("2026-03-16T12:00:00Z", "b1", "Code: {{smartlock_code}} / {{nuki_code}}"));
    steps.push(render("2026-03-16T12:00:00Z", "unassigned", "Code: {{smartlock_code}}"));
    steps.push(render("2026-03-16T12:00:00Z", "nobody", "Code: {{smartlock_code}}"));
    steps.push(render("2026-03-23T12:00:00Z", "b1", "Code: {{smartlock_code}}"));
    steps.push(end("2026-03-24T00:00:00Z"));
    let report = run("r19", "2026-03-01T08:00:00Z", steps);
    let pin = report.pins[0].pin.clone();
    let outputs: Vec<String> = report
        .step("render")
        .iter()
        .map(|s| s.result.as_ref().expect("render ok")["output"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(outputs[0], "Code: {{smartlock_code}}", "nothing before creation");
    assert_eq!(outputs[1], "Code: {{smartlock_code}}", "nothing while the job is only queued");
    assert_eq!(outputs[2], format!("Code: {pin} / {pin}"));
    assert_eq!(outputs[3], "Code: {{smartlock_code}}", "no lock, no code");
    assert_eq!(outputs[4], "Code: {{smartlock_code}}", "unknown booking");
    assert_eq!(outputs[5], "Code: {{smartlock_code}}", "removed after check-out");
    // The booking for an unknown property was refused by the host.
    assert!(!report.step("booking")[1].ok);
}

#[test]
fn r19_unknown_variable_names_return_nothing() {
    // A real booking, asked about before and while its code is on the lock:
    // the known names give its PIN once it is there, other names never do.
    const UNKNOWN: [&str; 5] = ["guest_name", "smartlock", "SMARTLOCK_CODE", "", "smartlock_code "];
    let mut h = harness("2026-03-01T08:00:00Z");
    let mut steps = paris_setup("2026-03-01T08:00:00Z", 5, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    apply_steps(&mut h, steps);
    let variable =
        |h: &host_harness::scenario::Harness, name: &str| h.plugin.render_variable(name, "b1").expect("no trap");
    h.advance_to(t("2026-03-10T12:00:00Z"));
    assert!(h.plugin.booking_status("b1").expect("no trap").is_ok(), "b1 is a booking the plugin knows");
    assert!(h.world.pins().is_empty(), "no code on the lock yet");
    for name in UNKNOWN.iter().chain(&["smartlock_code", "nuki_code"]) {
        assert_eq!(variable(&h, name), None, "{name:?} before the code is on the lock");
    }
    h.advance_to(t("2026-03-16T12:00:00Z"));
    let pins = h.world.pins();
    assert_eq!(pins.len(), 1, "b1's code is on the lock: {pins:?}");
    assert!(pins[0].removed_at.is_none());
    for name in ["smartlock_code", "nuki_code"] {
        assert_eq!(variable(&h, name).as_deref(), Some(pins[0].pin.as_str()), "{name:?} with the code on the lock");
    }
    for name in UNKNOWN {
        assert_eq!(variable(&h, name), None, "{name:?} with the code on the lock");
    }
}

#[test]
fn r20_spaces_in_braces_and_unknown_variables_left_for_other_plugins() {
    let mut steps = paris_setup("2026-03-01T08:00:00Z", 5, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(render("2026-03-16T12:00:00Z", "b1", "Hi {{guest_name}}! {{ smartlock_code }} {{  nuki_code}} {{smartlock_code}} {{ other_plugin.var }} {{ not closed"));
    steps.push(end("2026-03-17T00:00:00Z"));
    let report = run("r20", "2026-03-01T08:00:00Z", steps);
    let pin = &report.pins[0].pin;
    let out = report.step("render")[0].result.clone().unwrap()["output"].as_str().unwrap().to_string();
    assert_eq!(out, format!("Hi {{{{guest_name}}}}! {pin} {pin} {pin} {{{{ other_plugin.var }}}} {{{{ not closed"));
}

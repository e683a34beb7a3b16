//! R26: shared doors. A property's bookings get a code on its own lock and
//! on each of its shared doors (a building entrance of another brand here:
//! igloohome flats, a Nuki entrance), all with the stay's window. Judged on
//! the stubs' lock-side truth (`pins`) and on `try_pin` with the message
//! the guest holds.

use host_harness::scenario::{Report, StepReport};
use host_harness::stubs::{PinKind, PinRecord};
use serde_json::{json, Value};

use crate::common::*;

/// The Nuki entrance every test shares.
const ENTRANCE: &str = "18205286200";
/// A second Nuki door (a garden gate).
const GATE: &str = "18205286201";
const NUKI_TOKEN: &str = "nuki-door-token";

/// The standard igloohome world plus a Nuki account with the entrance.
fn file(name: &str, start: &str, steps: Vec<Value>) -> Value {
    json!({
        "name": name,
        "start": start,
        "tick_minutes": 15,
        "igloohome": world(),
        "nuki": {
            "accounts": [{"api_token": NUKI_TOKEN, "name": "Sea View Rentals"}],
            "locks": [
                {"id": ENTRANCE, "name": "Entrance", "keypad": true, "online": true},
                {"id": GATE, "name": "Gate", "keypad": true, "online": true}
            ]
        },
        "steps": steps,
    })
}

fn connect_nuki(at: &str) -> Value {
    step(at, "connect", json!({"provider": "nuki", "api_token": NUKI_TOKEN}))
}

fn share_entrance(at: &str, property: &str) -> Value {
    step(at, "share_door", json!({"property": property, "lock": ENTRANCE, "provider": "nuki"}))
}

fn nuki_link(at: &str, online: bool) -> Value {
    step(at, "bridge", json!({"provider": "nuki", "bridge": ENTRANCE, "online": online}))
}

/// Connect both brands, p1 (Paris) on L1 with days_before 3, margin 30,
/// the entrance shared with p1; from March 1.
fn setup() -> Vec<Value> {
    vec![
        connect("2026-03-01T08:00:00Z"),
        connect_nuki("2026-03-01T08:00:30Z"),
        property("2026-03-01T08:01:00Z", "p1", "Europe/Paris", None, None),
        assign("2026-03-01T08:02:00Z", "p1", "L1", 3, 30),
        share_entrance("2026-03-01T08:03:00Z", "p1"),
    ]
}

fn opens(s: &StepReport) -> bool {
    let result = s.result.clone().unwrap_or(Value::Null);
    result["opens"].as_bool().unwrap_or_else(|| panic!("try_pin result: {result}"))
}

/// The codes of `booking` ever on `lock` (guest codes carry the booking id
/// in their access name).
fn codes_of<'r>(report: &'r Report, booking: &str, lock: &str) -> Vec<&'r PinRecord> {
    report.pins.iter().filter(|p| p.lock == lock && p.access_name.contains(&format!("({booking})"))).collect()
}

/// The one code of `booking` on `lock`, with the window `start..end`.
fn the_code<'r>(report: &'r Report, booking: &str, lock: &str, window: (&str, &str)) -> &'r PinRecord {
    let codes = codes_of(report, booking, lock);
    assert_eq!(codes.len(), 1, "one code of {booking} on {lock}: {:?}", report.pins);
    let p = codes[0];
    assert_eq!((utc(p.start), utc(p.end)), (window.0.to_string(), window.1.to_string()), "{p:?}");
    assert_eq!(p.kind, PinKind::Code);
    p
}

/// `examples/shared-entrance.json`: two igloohome flats (Berlin, 15:00 /
/// 11:00, margin 30) sharing a Nuki entrance, stays overlapping on May
/// 11-13. Each guest's message opens their own flat and the entrance during
/// the stay and never the other flat; the entrance holds both guests'
/// (different) PINs at once; every code leaves every door at its check-out
/// + margin.
pub fn judge_shared_entrance(report: &Report) {
    const FLAT_1: &str = "OE1X000101";
    const FLAT_2: &str = "OE1X000102";
    const DOOR: &str = "18205286200";
    assert_steps_ok(report);
    assert_no_overlapping_duplicates(report);
    let shared = report.step("share_door");
    assert_eq!(
        shared[0].result.clone().unwrap(),
        json!({"property": "flat-1", "provider": "nuki", "lock": DOOR, "name": "Entrance"})
    );
    let stay_1 = ("2026-05-10T12:30:00Z", "2026-05-13T09:30:00Z");
    let stay_2 = ("2026-05-11T12:30:00Z", "2026-05-14T09:30:00Z");
    let own_1 = the_code(report, "stay-1", FLAT_1, stay_1);
    let own_2 = the_code(report, "stay-2", FLAT_2, stay_2);
    let door_1 = the_code(report, "stay-1", DOOR, stay_1);
    let door_2 = the_code(report, "stay-2", DOOR, stay_2);
    // Nothing of one flat's guest on the other flat.
    assert!(codes_of(report, "stay-1", FLAT_2).is_empty() && codes_of(report, "stay-2", FLAT_1).is_empty());
    // The same PIN on a guest's doors; two guests on the entrance at once
    // with different PINs.
    assert_eq!(own_1.pin, door_1.pin);
    assert_eq!(own_2.pin, door_2.pin);
    assert_ne!(door_1.pin, door_2.pin, "the entrance's PINs differ");
    let both_held = t("2026-05-11T18:00:00Z");
    assert!(door_1.holds_at(both_held) && door_2.holds_at(both_held));
    // Created on each guest's schedule (3 days before, Berlin midnight), on
    // every door; gone from every door at check-out + margin.
    for (p, created, gone) in [
        (own_1, "2026-05-06T22:00:00Z", stay_1.1),
        (door_1, "2026-05-06T22:00:00Z", stay_1.1),
        (own_2, "2026-05-07T22:00:00Z", stay_2.1),
        (door_2, "2026-05-07T22:00:00Z", stay_2.1),
    ] {
        assert!(p.added_at >= t(created) && p.added_at <= t(created) + 15 * 60, "created on time: {p:?}");
        let removed = p.removed_at.unwrap_or_else(|| panic!("removed after check-out: {p:?}"));
        assert!(removed >= t(gone) && removed <= t(gone) + 15 * 60, "removed at check-out + margin: {p:?}");
    }
    // One PIN per guest, so the message is just the PIN.
    let renders = report.step("render");
    assert_eq!(
        renders[0].result.clone().unwrap()["output"],
        format!("Your code for the entrance and your flat: {}", own_1.pin)
    );
    // The status lists the door's code beside the own lock's.
    let status = report.step("status")[0].result.clone().unwrap();
    assert_eq!(status["state"], "on_lock");
    let doors = status["doors"].as_array().expect("doors in the status");
    assert_eq!(doors.len(), 1);
    assert_eq!(
        (&doors[0]["provider"], &doors[0]["lock"], &doors[0]["door"], &doors[0]["state"], &doors[0]["pin"]),
        (&json!("nuki"), &json!(DOOR), &json!("Entrance"), &json!("on_lock"), &json!(door_1.pin))
    );
    assert_eq!(doors[0]["window"]["start"], stay_1.0);
    // try_pin, in file order: stay-1 on flat 1, entrance, flat 2; stay-2 on
    // flat 2, entrance, flat 1; after stay-1's check-out: stay-1 and stay-2
    // on the entrance; after stay-2's: stay-2 on the entrance.
    let tried: Vec<bool> = report.step("try_pin").into_iter().map(opens).collect();
    assert_eq!(tried, [true, true, false, true, true, false, false, true, false]);
    assert!(report.emails.is_empty(), "{:?}", report.emails);
}

#[test]
fn r26_a_door_that_refuses_the_pin_as_taken_gets_its_own_and_the_message_names_each_door() {
    // Paris, March 20-22 (15:00 / 11:00 by default, margin 30): window
    // 13:30Z-10:30Z; created March 17 00:00 Paris = March 16 23:00Z, on L1
    // and the gate (one PIN both brands' rules accept). Then someone sets
    // that very PIN on the entrance by hand, and the entrance is shared
    // with p1 too: it refuses the PIN as taken.
    let start = "2026-03-01T08:00:00Z";
    let mut h = harness_with_entrance(start);
    let mut steps = setup();
    steps.pop(); // the entrance is shared later; the gate from the start
    steps.push(step("2026-03-01T08:03:00Z", "share_door", json!({"property": "p1", "lock": GATE, "provider": "nuki"})));
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    apply_steps(&mut h, steps);
    h.advance_to(t("2026-03-17T06:00:00Z"));
    let status = h.plugin.booking_status("b1").expect("no trap").expect("status");
    assert_eq!(status.state, host_harness::api::CodeState::OnLock, "{status:?}");
    let own_pin = status.pin.clone().expect("the flat's PIN");
    let nuki = h.world.nuki().expect("nuki stub");
    nuki.set_code_by_hand(ENTRANCE, &own_pin, t("2026-03-01T00:00:00Z"), t("2026-04-30T00:00:00Z"))
        .expect("set by hand");
    apply_steps(&mut h, vec![share_entrance("2026-03-17T06:05:00Z", "p1")]);
    h.advance_to(t("2026-03-18T12:00:00Z"));

    let status = h.plugin.booking_status("b1").expect("no trap").expect("status");
    assert_eq!(status.doors.len(), 2, "{status:?}");
    let gate = &status.doors[0];
    assert_eq!((gate.door_name.as_str(), gate.pin.as_deref()), ("Gate", Some(own_pin.as_str())), "{gate:?}");
    let door = &status.doors[1];
    assert_eq!((door.door_name.as_str(), door.state), ("Entrance", host_harness::api::CodeState::OnLock), "{door:?}");
    let door_pin = door.pin.clone().expect("the entrance's PIN");
    assert_ne!(door_pin, own_pin, "the entrance refused the flat's PIN");
    // The entrance holds its own PIN for the stay's window.
    let pins = h.world.pins();
    let on_door: Vec<&PinRecord> =
        pins.iter().filter(|p| p.lock == ENTRANCE && p.access_name.contains("(b1)")).collect();
    assert_eq!(on_door.len(), 1, "{pins:?}");
    assert_eq!(on_door[0].pin, door_pin);
    assert_eq!(
        (utc(on_door[0].start), utc(on_door[0].end)),
        ("2026-03-20T13:30:00Z".into(), "2026-03-22T10:30:00Z".into())
    );

    // The message names each door with its PIN; typed as it stands it
    // opens both doors during the stay.
    apply_steps(
        &mut h,
        vec![step("2026-03-18T12:05:00Z", "render", json!({"booking": "b1", "template": "Codes: {{smartlock_code}}"}))],
    );
    let message = h.plugin.render_variable("smartlock_code", "b1").expect("no trap").expect("rendered");
    assert!(message.contains(&format!("Front door: {own_pin}")), "{message}");
    assert!(message.contains(&format!("Entrance: {door_pin}")), "{message}");
    assert!(message.contains(&format!("Gate: {own_pin}")), "{message}");
    h.advance_to(t("2026-03-20T15:00:00Z"));
    for (lock, provider) in [("L1", "igloohome"), (ENTRANCE, "nuki"), (GATE, "nuki")] {
        let tried = h
            .apply(
                &serde_json::from_value(json!({"do": "try_pin", "lock": lock, "provider": provider, "booking": "b1"}))
                    .unwrap(),
            )
            .expect("try_pin");
        assert_eq!(tried["opens"], true, "the guest's message opens {lock}: {tried}");
    }
    // The hand-set code was never touched.
    let pins = h.world.pins();
    assert!(pins.iter().any(|p| p.lock == ENTRANCE && p.pin == own_pin && p.removed_at.is_none()), "{pins:?}");
}

/// A harness on the igloohome world plus the Nuki entrance.
fn harness_with_entrance(start: &str) -> host_harness::scenario::Harness {
    let f = file("r26 harness", start, Vec::new());
    let world = host_harness::stubs::WorldConfig {
        igloohome: Some(serde_json::from_value(f["igloohome"].clone()).expect("igloohome world")),
        nuki: Some(serde_json::from_value(f["nuki"].clone()).expect("nuki world")),
        ..Default::default()
    };
    host_harness::scenario::Harness::start(&runtime(), world, t(start), 15).expect("harness starts")
}

#[test]
fn r26_unshare_before_the_window_deletes_the_door_code_and_mid_stay_keeps_it_until_check_out() {
    // Paris, days_before 3, margin 30. At the unshare (March 11 12:00Z):
    // mid: mid-stay (March 10-12), keeps its entrance code to 10:30Z on the
    // 12th; early: created (March 13-15, code since March 9 23:00Z) but not
    // started: its entrance code goes at once; late: March 20-22, not created
    // yet, never gets one. Every own-lock code is untouched.
    let mut steps = setup();
    steps.push(booking("2026-03-01T09:00:00Z", "mid", "p1", "2026-03-10", "2026-03-12"));
    steps.push(booking("2026-03-01T09:01:00Z", "early", "p1", "2026-03-13", "2026-03-15"));
    steps.push(booking("2026-03-01T09:02:00Z", "late", "p1", "2026-03-20", "2026-03-22"));
    steps.push(step(
        "2026-03-11T12:00:00Z",
        "unshare_door",
        json!({"property": "p1", "lock": ENTRANCE, "provider": "nuki"}),
    ));
    steps.push(step("2026-03-11T12:01:00Z", "status", json!({"booking": "mid"})));
    steps.push(step("2026-03-11T12:02:00Z", "status", json!({"booking": "late"})));
    steps.push(end("2026-03-23T00:00:00Z"));
    let report = run_file(file("r26 unshare", "2026-03-01T08:00:00Z", steps));
    assert_steps_ok(&report);
    assert_eq!(report.step("unshare_door")[0].result, Some(json!({})));

    let mid = codes_of(&report, "mid", ENTRANCE);
    assert_eq!(mid.len(), 1, "{:?}", report.pins);
    assert_eq!(utc(mid[0].end), "2026-03-12T10:30:00Z");
    let removed = mid[0].removed_at.expect("removed after check-out");
    assert!(removed >= t("2026-03-12T10:30:00Z") && removed <= t("2026-03-12T10:45:00Z"), "{:?}", mid[0]);

    let early = codes_of(&report, "early", ENTRANCE);
    assert_eq!(early.len(), 1, "created before the unshare: {:?}", report.pins);
    let removed = early[0].removed_at.expect("deleted after the unshare");
    assert!(removed >= t("2026-03-11T12:00:00Z") && removed <= t("2026-03-11T12:30:00Z"), "{:?}", early[0]);

    assert!(codes_of(&report, "late", ENTRANCE).is_empty(), "never created: {:?}", report.pins);
    for booking in ["mid", "early", "late"] {
        assert_eq!(codes_of(&report, booking, "L1").len(), 1, "{booking}'s own code is unaffected");
    }
    let statuses = report.step("status");
    assert!(statuses[0].result.as_ref().unwrap()["doors"].is_array(), "mid still has its door code");
    assert!(statuses[1].result.as_ref().unwrap().get("doors").is_none(), "late has no door code");
}

#[test]
fn r26_a_door_offline_on_the_eve_gets_its_own_alert_naming_the_door_and_the_flat_code_is_unaffected() {
    // Paris, March 20-22: created March 16 23:00Z; the entrance is
    // unreachable from March 15 to the end. The eve's alert (18:00 Paris =
    // 17:00Z on the 19th) is about the entrance only.
    let mut steps = setup();
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(nuki_link("2026-03-15T12:00:00Z", false));
    steps.push(step("2026-03-19T17:05:00Z", "status", json!({"booking": "b1"})));
    steps.push(step("2026-03-20T15:00:00Z", "try_pin", json!({"lock": "L1", "booking": "b1"})));
    steps.push(end("2026-03-23T00:00:00Z"));
    let report = run_file(file("r26 door offline", "2026-03-01T08:00:00Z", steps));
    assert_steps_ok(&report);

    assert_eq!(report.emails.len(), 1, "{:?}", report.emails);
    let mail = &report.emails[0];
    assert_eq!(utc(mail.at), "2026-03-19T17:00:00Z");
    assert!(mail.subject.contains("Entrance") || mail.body.contains("Entrance"), "names the door: {mail:?}");
    // The key the service's outbox reads the booking from (serve::api's DOOR_ALERT_MARK).
    assert!(mail.dedup_key.starts_with("alert/b1%1Fdoor%1F"), "{}", mail.dedup_key);
    assert!(!mail.body.contains(SECRET) && !mail.subject.contains(SECRET), "R2");

    let own = the_code(&report, "b1", "L1", ("2026-03-20T13:30:00Z", "2026-03-22T10:30:00Z"));
    assert!(own.added_at <= t("2026-03-16T23:15:00Z"), "{own:?}");
    assert!(codes_of(&report, "b1", ENTRANCE).is_empty(), "{:?}", report.pins);
    let status = report.step("status")[0].result.clone().unwrap();
    assert_eq!((status["state"].clone(), status["alert_sent"].clone()), (json!("on_lock"), json!(false)), "{status}");
    assert_eq!(status["doors"][0]["alert_sent"], true, "{status}");
    assert_eq!(status["doors"][0]["door"], "Entrance");
    assert!(opens(report.step("try_pin")[0]), "the flat's code opens");
    // The door's events name it.
    assert!(
        report.events.iter().any(|e| e["door"] == "Entrance" && e["state"] == "alert_sent"),
        "{:#?}",
        report.events
    );
}

#[test]
fn r26_a_door_is_refused_when_it_is_the_own_lock_or_not_remote_and_added_twice_changes_nothing() {
    let mut steps = setup();
    steps.push(share_entrance("2026-03-01T08:04:00Z", "p1"));
    steps.push(step("2026-03-01T08:05:00Z", "share_door", json!({"property": "p1", "lock": "L1"})));
    steps.push(step("2026-03-01T08:06:00Z", "share_door", json!({"property": "p1", "lock": "L5"})));
    steps.push(step("2026-03-01T08:07:00Z", "share_door", json!({"property": "nowhere", "lock": "L2"})));
    steps.push(step("2026-03-01T08:08:00Z", "unshare_door", json!({"property": "p1", "lock": "L3"})));
    steps.push(end("2026-03-01T09:00:00Z"));
    let report = run_file(file("r26 refusals", "2026-03-01T08:00:00Z", steps));
    let shares = report.step("share_door");
    assert!(shares[0].ok && shares[1].ok, "{shares:?}");
    assert_eq!(shares[0].result, shares[1].result, "adding it again returns the same door");
    let refused: Vec<String> = report.steps[6..].iter().map(|s| s.error.clone().unwrap_or_default()).collect();
    assert!(refused[0].contains("lock_id"), "own lock: {refused:?}");
    assert!(!refused[1].is_empty(), "not remote: {refused:?}");
    assert!(refused[2].contains("property_id"), "unknown property: {refused:?}");
    assert!(!refused[3].is_empty(), "not a door of p1: {refused:?}");
}

//! R8 on Seam: PINs within each device's own constraints, a PIN Seam
//! refuses as taken replaced at once; and Seam's per-device rate limit
//! respected when many codes fall due together.

use std::collections::HashSet;

use host_harness::scenario::Harness;
use host_harness::stubs::seam::{Brand, CREATES_PER_MINUTE};
use serde_json::{json, Value};

use crate::common::*;
use crate::sm::*;

/// Connect, p1 (Nuki) and p2 (Kwikset) in Paris, days_before 5, margin 30.
fn two_properties() -> Vec<Value> {
    let s = t(START);
    vec![
        sm_connect(&utc(s)),
        property(&utc(s + 60), "p1", "Europe/Paris", None, None),
        property(&utc(s + 60), "p2", "Europe/Paris", None, None),
        sm_assign(&utc(s + 120), "p1", NUKI, 5, 30),
        sm_assign(&utc(s + 120), "p2", KWIKSET, 5, 30),
    ]
}

/// `2026-03-20` + `days`.
fn day(days: i64) -> String {
    chrono::NaiveDate::from_ymd_opt(2026, 3, 20)
        .and_then(|d| d.checked_add_days(chrono::Days::new(days as u64)))
        .expect("a date")
        .to_string()
}

/// Two creates: the first refused as taken at `first`, the second with a
/// new PIN at once (the same tick or the wake-up right after it, well
/// before R11's hourly retry).
fn assert_at_once(creates: &[i64], first: i64) {
    let shown: Vec<String> = creates.iter().map(|&c| utc(c)).collect();
    assert_eq!(creates.len(), 2, "409, then one create with a new PIN: {shown:?}");
    assert_eq!(creates[0], first, "{shown:?}");
    assert!(creates[1] - creates[0] <= 60, "the new PIN at once, not an hourly retry: {shown:?}");
}

#[test]
fn r8_seam_pins_keep_within_each_devices_code_constraints_across_many_bookings() {
    const STAYS: i64 = 12;
    let mut steps = two_properties();
    // Two-night stays one day apart: each lock holds two codes at once.
    for k in 0..STAYS {
        for p in ["p1", "p2"] {
            steps.push(booking("2026-03-01T09:00:00Z", &format!("{p}-b{k}"), p, &day(k), &day(k + 2)));
        }
    }
    let mut h = harness_with(&steps);
    h.advance_to(t("2026-04-05T00:00:00Z"));

    let pins = sm_pins(&h);
    for (lock, brand) in [(NUKI, Brand::Nuki), (KWIKSET, Brand::Kwikset)] {
        let on: Vec<_> = pins.iter().filter(|p| p.lock == lock).collect();
        assert_eq!(on.len(), STAYS as usize, "one code per stay on {lock}: {on:?}");
        for p in &on {
            let pin = p.pin.as_str();
            assert!(
                brand.code_lengths().contains(&pin.len()),
                "{pin} on {lock}: length not in {:?}",
                brand.code_lengths()
            );
            assert!(pin.bytes().all(|b| b.is_ascii_digit()), "{pin}");
            assert!(!guessable_by_spec(pin), "{pin} is trivially guessable");
            match brand {
                Brand::Nuki => {
                    assert!(!pin.contains('0'), "{pin} breaks no_zeros");
                    assert!(!pin.starts_with("12"), "{pin} breaks cannot_start_with_12");
                }
                _ => {
                    let unique: HashSet<char> = pin.chars().collect();
                    assert!(unique.len() >= 3, "{pin} breaks at_least_three_unique_digits");
                }
            }
        }
        // Lock-side truth: each guest's PIN opens the door on the check-in
        // afternoon (15:00 or 16:00 local, inside the window either side of
        // the DST change).
        for k in 0..STAYS {
            let booking = format!("{}-b{k}", if lock == NUKI { "p1" } else { "p2" });
            let code = the_code(&pins, &booking);
            assert_eq!(code.lock, lock);
            assert!(opens(&h, lock, &code.pin, &format!("{}T14:00:00Z", day(k))), "{booking}: {code:?}");
        }
        // Overlapping stays never share a PIN.
        for (i, a) in on.iter().enumerate() {
            for b in on.iter().skip(i + 1) {
                let overlap =
                    a.added_at < b.removed_at.unwrap_or(i64::MAX) && b.added_at < a.removed_at.unwrap_or(i64::MAX);
                assert!(!(overlap && a.pin == b.pin), "{} twice on {lock} at once", a.pin);
            }
        }
    }
    // Every PIN sent was one the device takes: no create refused.
    assert_eq!(sm_count(&h, "access_codes_create"), 2 * STAYS as u64, "a create per code, none refused");
    assert!(emails(&h).is_empty(), "{:?}", emails(&h));
}

#[test]
fn r8_seam_a_duplicate_access_code_answer_is_met_with_a_new_pin_at_once() {
    let mut h = harness_with(&standard_on(SCHLAGE));
    h.advance_to(t(CREATE_AT) - 60);
    drive(&mut h, &[sm_fault(&utc(t(CREATE_AT) - 60), "access_codes_create", 409, 1)]);
    let creates = requests_until(&mut h, "seam.access_codes_create", &utc(t(CREATE_AT) + 14 * 60));
    assert_at_once(&creates, t(CREATE_AT));
    let codes = seam_codes(&h, SCHLAGE);
    assert_eq!(codes.len(), 1, "{codes:?}");
    let s = status(&h, "b1");
    assert_eq!(s.pin.as_deref(), codes[0]["code"].as_str(), "{s:?}");
    assert!(events_of(&h, "b1").iter().all(|(_, st)| st != "retrying" && st != "failed"), "{:?}", events_of(&h, "b1"));
    h.advance_to(t("2026-03-23T00:00:00Z"));
    let code = the_code(&sm_pins(&h), "b1");
    assert_eq!(Some(code.pin.as_str()), s.pin.as_deref());
    assert_opens_exactly(&h, SCHLAGE, &code.pin, WINDOW_START, WINDOW_END);
    assert_eq!(sm_count(&h, "access_codes_create"), 2);
    assert!(emails(&h).is_empty(), "{:?}", emails(&h));
}

#[test]
fn r8_seam_a_pin_set_in_seam_console_on_the_new_lock_gets_the_guest_a_new_pin_at_once() {
    let mut h = harness_with(&standard_on(SCHLAGE));
    h.advance_to(t("2026-03-16T09:00:00Z"));
    let pin = status(&h, "b1").pin.expect("b1 has its PIN");
    // The owner, in Seam Console, gives the Yale a code with that very PIN;
    // then the property moves to the Yale, where the plugin would keep the
    // guest's PIN if it could.
    let made = console(
        &h,
        "/access_codes/create",
        json!({"device_id": YALE, "name": "Cleaner", "code": pin,
               "starts_at": "2026-03-16T10:00:00Z", "ends_at": "2026-04-30T10:00:00Z"}),
    );
    assert_eq!(made["ok"], true, "{made}");
    let before = sm_count(&h, "access_codes_create");
    let moved = utc(t("2026-03-16T09:30:00Z"));
    drive(&mut h, &[sm_assign(&moved, "p1", YALE, 5, 30)]);
    let creates = requests_until(&mut h, "seam.access_codes_create", "2026-03-16T10:44:00Z");
    assert_eq!(before, 2, "b1's create on the Schlage and the owner's in Seam Console");
    assert_at_once(&creates, creates[0]);
    assert!(creates[0] <= t(&moved) + 15 * 60, "moved at the next tick: {}", utc(creates[0]));
    let new_pin = status(&h, "b1").pin.expect("b1 has a PIN");
    assert_ne!(new_pin, pin, "the taken PIN is not kept");
    let mine: Vec<Value> = seam_codes(&h, YALE).into_iter().filter(|c| c["name"] != "Cleaner").collect();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["code"].as_str(), Some(new_pin.as_str()));
    h.advance_to(t("2026-03-23T00:00:00Z"));
    assert_opens_exactly(&h, YALE, &new_pin, WINDOW_START, WINDOW_END);
    assert!(opens(&h, YALE, &pin, "2026-03-21T12:00:00Z"), "the cleaner's code stays");
    assert!(!opens(&h, SCHLAGE, &pin, "2026-03-21T12:00:00Z"), "nothing left on the old lock");
    assert!(events_of(&h, "b1").iter().all(|(_, st)| st != "retrying"), "{:?}", events_of(&h, "b1"));
}

const BURST: usize = 25;

/// 25 bookings due at once on the Schlage, run from just before their
/// creation time to `until`; the instants of every create Seam received.
fn burst(until: &str) -> (Harness, Vec<i64>) {
    let mut steps = standard_on(SCHLAGE);
    for k in 2..=BURST {
        steps.push(booking("2026-03-01T09:00:00Z", &format!("b{k}"), "p1", "2026-03-20", "2026-03-22"));
    }
    let mut h = harness_with(&steps);
    h.advance_to(t(CREATE_AT) - 60);
    let creates = requests_until(&mut h, "seam.access_codes_create", until);
    (h, creates)
}

#[test]
fn rate_limit_seam_a_burst_of_25_codes_on_one_device_lands_without_a_429_storm() {
    let (mut h, creates) = burst(&utc(t(CREATE_AT) + 30 * 60));
    let shown: Vec<String> = creates.iter().map(|&c| utc(c)).collect();
    let listed = seam_codes(&h, SCHLAGE);
    assert_eq!(listed.len(), BURST, "every code accepted by Seam: {shown:?}");
    // Every create is counted, refused ones too: those beyond the 25 Seam
    // accepted were 429s.
    let refused = creates.len() - BURST;
    assert!(refused <= 2, "{refused} creates refused (429) in the burst: {shown:?}");
    for (i, &at) in creates.iter().enumerate() {
        let in_minute = creates[i..].iter().filter(|&&c| c < at + 60).count();
        assert!(in_minute <= CREATES_PER_MINUTE, "{in_minute} creates within a minute from {}: {shown:?}", utc(at));
    }
    let last = *creates.last().expect("creates");
    assert!(last - t(CREATE_AT) <= 20 * 60, "all by the tick after next, last at {}: {shown:?}", utc(last));

    h.advance_to(t("2026-03-23T00:00:00Z"));
    let pins = sm_pins(&h);
    let distinct: HashSet<&str> = pins.iter().map(|p| p.pin.as_str()).collect();
    assert_eq!((pins.len(), distinct.len()), (BURST, BURST), "25 different PINs on the lock: {pins:?}");
    for k in 1..=BURST {
        let code = the_code(&pins, &format!("b{k}"));
        assert_eq!(utc(code.added_at), "2026-03-17T13:30:20Z", "b{k} loaded 72 h ahead");
        assert!(opens(&h, SCHLAGE, &code.pin, WINDOW_START), "b{k}");
        assert!(!opens(&h, SCHLAGE, &code.pin, WINDOW_END), "b{k}");
    }
    assert!(emails(&h).is_empty(), "{:?}", emails(&h));
}

/// Seam takes 10 creates a minute per device, so 25 codes need three
/// minutes: 10, 10, 5.
#[test]
fn rate_limit_seam_a_burst_of_25_codes_on_one_device_is_accepted_within_a_few_minutes() {
    let (h, creates) = burst(&utc(t(CREATE_AT) + 30 * 60));
    let shown: Vec<String> = creates.iter().map(|&c| utc(c)).collect();
    assert_eq!(seam_codes(&h, SCHLAGE).len(), BURST, "{shown:?}");
    let last = *creates.last().expect("creates");
    assert!(last - t(CREATE_AT) <= 5 * 60, "all within a few minutes, last at {}: {shown:?}", utc(last));
}

//! The three brands on one account: R4 (one lock per property, whatever
//! the brand) and R18 per vendor (disconnecting one leaves the others).

use host_harness::scenario::Harness;
use host_harness::stubs::Vendor;
use serde_json::{json, Value};

use crate::common::*;
use crate::tt::*;

/// Each brand's property, its lock, and a spare lock of the same brand.
const BRANDS: [(Vendor, &str, &str, &str); 3] = [
    (Vendor::Igloohome, "pi", "L1", "L2"),
    (Vendor::Nuki, "pn", NUKI_LOCK, "18205286117"),
    (Vendor::Ttlock, "pt", LOCK, LOCK2),
];

fn assign_to(at: &str, property: &str, vendor: Vendor, lock: &str) -> Value {
    step(at, "assign", json!({"property": property, "lock": lock, "provider": vendor.as_str()}))
}

/// The three brands connected, one Paris property per brand with its lock.
fn three_setup() -> Vec<Value> {
    let s = t(START);
    let at = |m: i64| utc(s + m * 60);
    let mut steps = vec![
        connect(&at(0)),
        step(&at(0), "connect", json!({"provider": "nuki", "api_token": NUKI_TOKEN})),
        tt_connect(&at(0)),
    ];
    for (i, (vendor, prop, lock, _)) in BRANDS.into_iter().enumerate() {
        steps.push(property(&at(1), prop, "Europe/Paris", None, None));
        steps.push(assign_to(&at(2 + i as i64), prop, vendor, lock));
    }
    steps
}

fn requests_of(h: &Harness, vendor: Vendor) -> u64 {
    match vendor {
        Vendor::Igloohome => h.world.igloohome().expect("igloohome").http_counts().requests,
        Vendor::Nuki => h.world.nuki().expect("nuki").http_totals().requests,
        Vendor::Ttlock => h.world.ttlock().expect("ttlock").http_requests(),
        Vendor::Seam => unreachable!("this world has no Seam devices"),
    }
}

/// The brand id the contract names the vendor by.
fn provider(vendor: Vendor) -> String {
    vendor.as_str().to_string()
}

fn brand_name(vendor: Vendor) -> &'static str {
    match vendor {
        Vendor::Igloohome => "igloohome",
        Vendor::Nuki => "Nuki",
        Vendor::Ttlock => "TTLock",
        Vendor::Seam => "Seam",
    }
}

#[test]
fn r4_three_brands_a_property_holding_one_brand_refuses_the_others_until_unassigned() {
    let mut h = harness_three();
    drive(&mut h, &three_setup());
    let before = h.storage.list("", None, 1000).unwrap();
    for (held, prop, lock, _) in BRANDS {
        for (other, _, _, spare) in BRANDS.into_iter().filter(|b| b.0 != held) {
            let err = apply_err(&mut h, assign_to("2026-03-02T10:00:00Z", prop, other, spare));
            assert!(
                err.contains(brand_name(held)) && err.contains("remove") && err.contains(brand_name(other)),
                "{prop} holds {held}, {other} refused clearly: {err}"
            );
            assert_eq!(h.storage.list("", None, 1000).unwrap(), before, "nothing changed by the refusal");
            let a = h.plugin.assignment(prop).unwrap().unwrap().expect("still assigned");
            assert_eq!((a.brand, a.lock_id.as_str()), (provider(held), lock));
        }
    }
    // Another lock of the same brand simply replaces it (the dropdown).
    let a = apply_ok(&mut h, assign_to("2026-03-02T11:00:00Z", "pt", Vendor::Ttlock, LOCK2));
    assert_eq!((a["provider"].as_str(), a["lock"].as_str()), (Some("ttlock"), Some(LOCK2)));
    // Once removed, a lock of another brand is taken; then the old brand is refused in turn.
    apply_ok(&mut h, step("2026-03-02T12:00:00Z", "unassign", json!({"property": "pt"})));
    let a = apply_ok(&mut h, assign_to("2026-03-02T12:01:00Z", "pt", Vendor::Nuki, "18205286117"));
    assert_eq!((a["provider"].as_str(), a["remote"].clone()), (Some("nuki"), json!({"keypad": true})));
    let err = apply_err(&mut h, assign_to("2026-03-02T12:02:00Z", "pt", Vendor::Ttlock, LOCK));
    assert!(err.contains("Nuki") && err.contains("remove"), "{err}");
    let a = h.plugin.assignment("pt").unwrap().unwrap().expect("assigned");
    assert_eq!((a.brand.as_str(), a.lock_id.as_str()), ("nuki", "18205286117"));
    // The other two properties never moved.
    for (vendor, prop, lock, _) in &BRANDS[..2] {
        let a = h.plugin.assignment(prop).unwrap().unwrap().expect("assigned");
        assert_eq!((a.brand, a.lock_id.as_str()), (provider(*vendor), *lock));
    }
}

#[test]
fn r18_three_brands_disconnecting_one_vendor_leaves_the_other_two_working() {
    for gone in [Vendor::Igloohome, Vendor::Nuki, Vendor::Ttlock] {
        let mut h = harness_three();
        let mut steps = three_setup();
        for (_, prop, _, _) in BRANDS {
            steps.push(booking("2026-03-01T09:00:00Z", &format!("{prop}-1"), prop, "2026-03-20", "2026-03-22"));
        }
        drive(&mut h, &steps);
        h.advance_to(t("2026-03-16T16:00:00Z"));
        assert_eq!(h.world.pins().len(), 3, "one code per brand: {:?}", h.world.pins());
        apply_ok(&mut h, step("2026-03-16T16:00:00Z", "disconnect", json!({"provider": gone.as_str()})));
        let calls = requests_of(&h, gone);
        let mut later = Vec::new();
        for (_, prop, _, _) in BRANDS {
            later.push(booking("2026-03-17T09:00:00Z", &format!("{prop}-2"), prop, "2026-03-25", "2026-03-27"));
        }
        drive(&mut h, &later);
        h.advance_to(t("2026-03-30T00:00:00Z"));

        assert_eq!(requests_of(&h, gone), calls, "{gone}: no call after its disconnect");
        let pins = h.world.pins();
        for (vendor, prop, lock, _) in BRANDS {
            let first: Vec<_> = pins.iter().filter(|p| p.access_name.ends_with(&format!("({prop}-1)"))).collect();
            let second: Vec<_> = pins.iter().filter(|p| p.access_name.ends_with(&format!("({prop}-2)"))).collect();
            assert_eq!(first.len(), 1, "{gone} gone, {vendor}: {pins:?}");
            assert_eq!((first[0].provider, first[0].lock.as_str()), (vendor.as_str(), lock));
            let a = h.plugin.assignment(prop).unwrap().unwrap();
            if vendor == gone {
                assert_eq!(first[0].removed_at, None, "{vendor}: left to expire on the lock");
                assert!(second.is_empty(), "{vendor}: nothing new after its disconnect: {second:?}");
                assert_eq!(a, None, "{vendor}: its assignment is gone");
            } else {
                assert!(first[0].removed_at.is_some_and(|r| r >= t(WINDOW_END)), "{vendor}: deleted at check-out");
                assert_eq!(second.len(), 1, "{gone} gone, {vendor} still creates codes: {pins:?}");
                // March 25, five days before: March 20 00:00 Paris.
                assert!(
                    second[0].added_at >= t("2026-03-19T23:00:00Z") && second[0].added_at <= t("2026-03-19T23:05:00Z")
                );
                assert!(second[0].removed_at.is_some_and(|r| r >= t("2026-03-27T10:30:00Z")));
                assert_eq!(a.map(|a| a.brand), Some(provider(vendor)), "{vendor}: assignment kept");
            }
        }
        let accounts: Vec<_> = h.plugin.accounts().unwrap().unwrap().into_iter().map(|a| a.brand).collect();
        assert_eq!(accounts.len(), 2);
        assert!(!accounts.contains(&provider(gone)), "{accounts:?}");
        let key = format!("acct/{}", gone.as_str());
        assert!(h.storage.get(&key).unwrap().is_none(), "{key} erased");
    }
}

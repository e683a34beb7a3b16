//! Contract 0.3.0 reads a tenant's 0.2 state as it is (no migration step):
//! records written by the 0.2 plugin, byte for byte as it stored them
//! (brands as lower-case enum names, remote paths as 0.2's enum,
//! credentials tagged by provider, 0.1's igloohome-only account), are read,
//! shown, rendered and ticked by this plugin.

use smartlock_plugin::admin::{self, CodeState};
use smartlock_plugin::memory_host::{MemoryHost, NoNetwork};
use smartlock_plugin::{render, tick};

// 2026-03-16T12:00:00Z: the stay of March 20-22 in Paris is ahead.
const NOW: i64 = 1_773_662_400;

fn put(host: &MemoryHost<NoNetwork>, key: &str, json: &str) {
    let value: serde_json::Value = serde_json::from_str(json).expect("the 0.2 record is JSON");
    host.kv.borrow_mut().insert(key.to_string(), serde_json::to_vec(&value).expect("bytes"));
}

/// A tenant as the 0.2 plugin left it: TTLock and Nuki accounts in 0.2's
/// shape, an igloohome account still in 0.1's, a Nuki lock (remote
/// "keypad") and an igloohome lock (remote `{"bridge": ...}`), and a
/// booking whose code is on the igloohome lock.
fn v0_2_tenant() -> MemoryHost<NoNetwork> {
    let host = MemoryHost::new(NoNetwork, NOW);
    // 0.1's igloohome account (no brand recorded).
    put(
        &host,
        "acct/igloohome",
        r#"{"client_id": "demo-id", "client_secret": "demo-secret", "account_name": "Sea View Rentals"}"#,
    );
    put(
        &host,
        "acct/ttlock",
        r#"{"credentials": {"provider": "ttlock", "username": "host@example.com",
        "password_md5": "5f4dcc3b5aa765d61d8327deb882cf99", "client_id": "app", "client_secret": "app-secret"},
        "account_name": "host@example.com"}"#,
    );
    put(
        &host,
        "acct/nuki",
        r#"{"credentials": {"provider": "nuki", "api_token": "nuki-token"}, "account_name": "Nuki Web account"}"#,
    );
    put(
        &host,
        "prop/p1",
        r#"{"id": "p1", "name": "Sea View", "timezone": "Europe/Paris", "check_in_time": null, "check_out_time": null}"#,
    );
    put(
        &host,
        "prop/p2",
        r#"{"id": "p2", "name": "Garden", "timezone": "Europe/Paris", "check_in_time": null, "check_out_time": null}"#,
    );
    put(
        &host,
        "asg/p1",
        r#"{"property_id": "p1", "provider": "igloohome", "lock_id": "L1", "lock_name": "Front door",
        "channel": "B1", "remote": {"bridge": "B1"}, "days_before": 5, "margin_minutes": 30}"#,
    );
    put(
        &host,
        "asg/p2",
        r#"{"property_id": "p2", "provider": "nuki", "lock_id": "17000001", "lock_name": "Garden door",
        "channel": "17000001", "remote": "keypad", "days_before": 5, "margin_minutes": 30}"#,
    );
    let placement =
        r#"{"provider": "igloohome", "lock_id": "L1", "channel": "B1", "start": 1774013400, "end": 1774175400}"#;
    let booking = format!(
        r#"{{"facts": {{"id": "b1", "property_id": "p1", "guest_name": "Ana Silva", "check_in": "2026-03-20",
            "check_out": "2026-03-22", "check_in_time": null, "check_out_time": null, "confirmed": true}},
          "target": {{"placement": {placement}, "plan": {{"create_at": 1773529200, "window_start": 1774013400,
            "window_end": 1774175400, "retry_deadline": 1773961200, "alert_at": 1773939600}},
            "timezone": "Europe/Paris", "lock_name": "Front door", "property_name": "Sea View"}},
          "eligible_at": 1773529200, "pin": "482913", "on_lock": {{"pin": "482913", "placement": {placement}}},
          "job": null, "issued_on": "L1", "attempts_failed": 0, "retry_at": null, "last_error": null,
          "alert_sent": false, "left_to_expire": false, "next_due": 1774175400,
          "indexed": {{"due": 1774175400, "pins": [["L1", "482913"]], "in_flight": null, "property": "p1"}},
          "timezone": "Europe/Paris"}}"#
    );
    put(&host, "bk/b1", &booking);
    host.kv.borrow_mut().insert("due/001774175400/b1".into(), Vec::new());
    host.kv.borrow_mut().insert("pin/L1/482913".into(), b"b1".to_vec());
    host.kv.borrow_mut().insert("pb/p1/b1".into(), Vec::new());
    host
}

#[test]
fn r30_a_0_2_tenant_is_read_shown_rendered_and_ticked_as_it_is() {
    let host = v0_2_tenant();
    let brands: Vec<&str> = admin::accounts(&host).expect("accounts").iter().map(|a| a.provider.id()).collect();
    assert_eq!(brands, ["igloohome", "nuki", "ttlock"], "every 0.2 account reads, in the registry's order");

    let a = admin::assignment(&host, "p1").expect("read").expect("assigned");
    assert_eq!(
        (a.provider.id(), a.remote().kind.as_str(), a.remote().via.as_deref()),
        ("igloohome", "bridge", Some("B1"))
    );
    let n = admin::assignment(&host, "p2").expect("read").expect("assigned");
    assert_eq!((n.provider.id(), n.remote().kind.as_str(), n.remote().via), ("nuki", "keypad", None));

    let status = admin::booking_status(&host, "b1").expect("status");
    assert_eq!(
        (status.state, status.pin.as_deref(), status.lock_id.as_deref()),
        (CodeState::OnLock, Some("482913"), Some("L1"))
    );
    assert_eq!(status.brand.map(|b| b.id()), Some("igloohome"));
    assert_eq!(render::render_variable(&host, "smartlock_code", "b1").as_deref(), Some("482913"));

    // A tick before anything is due makes no vendor call and changes nothing.
    let before = host.kv.borrow().clone();
    let summary = tick::on_tick(&host, NOW).expect("tick");
    assert_eq!(summary.vendor_requests, 0);
    assert_eq!(*host.kv.borrow(), before);
}

/// 0.1 stored a lock's channel under its legacy brand's name: an assignment
/// and a booking's placements written so are read as the channel still.
#[test]
fn r30_a_0_1_channel_name_is_read_as_the_channel() {
    let host = v0_2_tenant();
    let legacy = |key: &str| {
        let raw = String::from_utf8(host.kv.borrow()[key].clone()).unwrap();
        put(&host, key, &raw.replace("\"channel\"", "\"bridge_id\""));
    };
    legacy("asg/p1");
    legacy("bk/b1");
    assert!(String::from_utf8(host.kv.borrow()["bk/b1"].clone()).unwrap().contains("bridge_id"));
    let a = admin::assignment(&host, "p1").expect("read").expect("assigned");
    assert_eq!((a.channel.as_str(), a.remote().via.as_deref()), ("B1", Some("B1")));
    let status = admin::booking_status(&host, "b1").expect("status");
    assert_eq!((status.state, status.lock_id.as_deref()), (CodeState::OnLock, Some("L1")));
    assert_eq!(render::render_variable(&host, "smartlock_code", "b1").as_deref(), Some("482913"));
}

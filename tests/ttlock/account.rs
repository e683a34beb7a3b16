//! R1, R3: connecting a TTLock account, its locks and what they need.

use host_harness::api;
use serde_json::json;

use crate::common::*;
use crate::tt::*;

#[test]
fn r1_ttlock_wrong_password_is_refused_and_nothing_is_stored() {
    let mut h = harness_tt();
    let err = apply_err(
        &mut h,
        step(START, "connect", json!({"provider": "ttlock", "username": USERNAME, "password": "wrong-password"})),
    );
    assert!(err.contains("refused") && err.contains("username or password"), "clear error: {err}");
    let err = apply_err(
        &mut h,
        step(START, "connect", json!({"provider": "ttlock", "username": "nobody@example.com", "password": PASSWORD})),
    );
    assert!(err.contains("refused") && err.contains("username or password"), "clear error: {err}");
    // Both were checked with TTLock (a token must be issued), not guessed.
    assert_eq!(tt_count(&h, "token"), 2);
    assert_eq!(tt_count(&h, "lock_list"), 0, "no token, no lock list");
    let err =
        apply_err(&mut h, step(START, "connect", json!({"provider": "ttlock", "username": USERNAME, "password": ""})));
    assert!(err.starts_with("password"), "names the field: {err}");
    assert_eq!(tt_count(&h, "token"), 2, "an empty password is refused before asking TTLock");
    let stored = h.storage.list("", None, 100).expect("storage lists");
    assert!(
        stored.is_empty(),
        "nothing stored after refused connects: {:?}",
        stored.iter().map(|e| &e.0).collect::<Vec<_>>()
    );
    assert!(h.plugin.accounts().unwrap().unwrap().is_empty());
    apply_ok(&mut h, property(START, "p1", "Europe/Paris", None, None));
    let err = apply_err(&mut h, tt_assign(START, "p1", LOCK, 5, 30));
    assert!(err.contains("no TTLock account is connected"), "{err}");
}

#[test]
fn r1_ttlock_connect_adds_the_worlds_app_and_stores_the_password_only_as_md5() {
    let mut h = harness_tt();
    // The step names only username and password: the harness adds the
    // world's app, as a PMS host adds its own TTLock application.
    let ok = apply_ok(&mut h, tt_connect(START));
    assert_eq!(ok, json!({"account": USERNAME}), "TTLock gives no account name: the login is shown");
    assert_eq!(tt_count(&h, "token"), 1, "one password grant");
    assert!(tt_count(&h, "lock_list") >= 1, "the lock list was loaded");
    let accounts = h.plugin.accounts().unwrap().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!((accounts[0].brand.as_str(), accounts[0].name.as_str()), ("ttlock", USERNAME));
    let acct = stored(&h, "acct/ttlock").expect("credentials stored");
    let creds = &acct["credentials"];
    assert_eq!(creds["client_id"], APP_ID, "{acct}");
    assert_eq!(creds["client_secret"], APP_SECRET, "{acct}");
    assert_eq!(creds["username"], USERNAME);
    assert_eq!(creds["password_md5"], PASSWORD_MD5, "the password's MD5, lowercase hex");
    for (key, value) in h.storage.list("", None, 1000).unwrap() {
        assert!(!String::from_utf8_lossy(&value).contains(PASSWORD), "plain password stored under {key}");
    }
    assert!(stored(&h, "token/ttlock").is_some(), "the token is cached");

    // The app's secret is really checked: another one is refused.
    let mut h = harness_tt();
    let err = apply_err(
        &mut h,
        step(
            START,
            "connect",
            json!({"provider": "ttlock", "username": USERNAME, "password": PASSWORD, "client_id": APP_ID, "client_secret": "not-the-app-secret"}),
        ),
    );
    assert!(err.contains("refused") && err.contains("client id or secret"), "{err}");
    assert!(h.storage.list("", None, 100).unwrap().is_empty(), "nothing stored");
}

#[test]
fn r3_ttlock_gateway_and_wifi_locks_are_usable_and_a_lock_with_neither_is_refused() {
    let mut h = harness_tt();
    apply_ok(&mut h, tt_connect(START));
    let locks = h.plugin.list_locks("ttlock").unwrap().unwrap();
    assert_eq!(locks.len(), 4, "{locks:?}");
    let find = |id: &str| locks.iter().find(|l| l.id == id).unwrap_or_else(|| panic!("lock {id} listed: {locks:?}"));
    assert_eq!(find(LOCK).name, "Studio door", "the alias, not the Bluetooth name");
    assert_eq!(find(LOCK).remote, Some(api::RemotePath { kind: "gateway".into(), via: Some(GATEWAY.into()) }));
    assert_eq!(find(LOCK2).remote, Some(api::RemotePath { kind: "gateway".into(), via: Some(GATEWAY2.into()) }));
    assert_eq!(find(WIFI_LOCK).remote, Some(api::RemotePath { kind: "wifi".into(), via: None }));
    assert_eq!(find(BARE_LOCK).remote, None);
    assert_eq!(find(BARE_LOCK).needs.as_deref(), Some("a gateway"));
    assert!(locks.iter().all(|l| l.brand == "ttlock"));

    for p in ["p1", "p2", "p3"] {
        apply_ok(&mut h, property(START, p, "Europe/Paris", None, None));
    }
    let err = apply_err(&mut h, tt_assign(START, "p3", BARE_LOCK, 5, 30));
    assert!(err.contains("needs a gateway"), "says what the lock needs: {err}");
    assert_eq!(h.plugin.assignment("p3").unwrap().unwrap(), None, "nothing assigned");
    let a = apply_ok(&mut h, tt_assign(START, "p1", LOCK, 5, 30));
    assert_eq!(a["remote"], json!({"gateway": GATEWAY}));
    let a = apply_ok(&mut h, tt_assign(START, "p2", WIFI_LOCK, 5, 30));
    assert_eq!(a["remote"], json!({"wifi": true}));

    // Usable: both get their guest's code on the lock at 00:00 local five days before.
    apply_ok(&mut h, booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    apply_ok(&mut h, booking("2026-03-01T09:00:00Z", "b2", "p2", "2026-03-20", "2026-03-22"));
    h.advance_to(t("2026-03-15T06:00:00Z"));
    let pins = h.world.pins();
    assert_eq!(pins.len(), 2, "{pins:?}");
    for (lock, b) in [(LOCK, "b1"), (WIFI_LOCK, "b2")] {
        let p = pins.iter().find(|p| p.lock == lock).unwrap_or_else(|| panic!("a code on {lock}: {pins:?}"));
        assert_eq!(p.provider, "ttlock");
        assert_eq!(utc(p.added_at), CREATE_AT);
        assert_eq!((utc(p.start), utc(p.end)), (WINDOW_START.to_string(), WINDOW_END.to_string()));
        assert!(p.access_name.contains(&format!("({b})")), "{p:?}");
        assert!(h.world.ttlock().unwrap().opens(lock, &p.pin, t("2026-03-20T14:00:00Z")), "opens the door");
    }
    assert!(pins.iter().all(|p| p.lock != BARE_LOCK));
}

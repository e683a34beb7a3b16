//! Tests of the core through `handle()` on the simulated clock.

use chrono::DateTime;
use serde_json::{json, Value};

use super::*;
use crate::Service;

/// 2026-03-01T08:00:00Z, a Sunday.
fn t0() -> i64 {
    ts("2026-03-01T08:00:00Z")
}

fn ts(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).expect("test instant").timestamp()
}

/// `secs` in the API's own style, `2026-03-20T13:30:00.000Z`.
fn iso(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0).expect("instant").to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

const TOKEN: &str = "nuki-demo-token";
const OTHER: &str = "other-token";
/// Above 2^32, as real smartlockIds are.
const L1: &str = "18205286116";
const L1N: u64 = 18_205_286_116;
const L2: &str = "4294967297";
const L2N: u64 = 4_294_967_297;
/// No keypad.
const L3: &str = "123";
/// Offline (`serverState` 4).
const L4: &str = "456";

fn config() -> NukiConfig {
    serde_json::from_value(json!({
        "accounts": [
            {"api_token": TOKEN, "name": "Sea View Rentals"},
            {"api_token": OTHER, "name": "Other"}
        ],
        "locks": [
            {"id": L1, "name": "Garden door", "keypad": true, "online": true},
            {"id": L2, "name": "Front door"},
            {"id": L3, "name": "Shed", "keypad": false},
            {"id": L4, "name": "Cabin", "online": false}
        ]
    }))
    .expect("config")
}

fn stub() -> Nuki {
    Nuki::new(config(), t0())
}

fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> StubRequest {
    StubRequest {
        method: method.into(),
        path_and_query: path.into(),
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        body: body.to_vec(),
    }
}

/// A call as a client sends it: Bearer token, JSON accept, JSON body.
fn call(s: &Nuki, method: &str, path: &str, body: Option<&Value>) -> StubResponse {
    let auth = format!("Bearer {TOKEN}");
    let mut headers = vec![("Authorization", auth.as_str()), ("Accept", "application/json")];
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    s.handle(&request(method, path, &headers, &body))
}

fn get(s: &Nuki, path: &str) -> StubResponse {
    call(s, "GET", path, None)
}

/// The complete keypad-code body the plugin sends.
fn code_body(code: u32, name: &str, from: i64, until: i64) -> Value {
    json!({"name": name, "type": 13, "code": code,
           "allowedFromDate": iso(from), "allowedUntilDate": iso(until),
           "allowedWeekDays": 127, "allowedFromTime": 0, "allowedUntilTime": 0})
}

/// The complete update body (replace semantics: everything, `enabled` too).
fn update_body(code: u32, name: &str, from: i64, until: i64) -> Value {
    json!({"name": name, "code": code,
           "allowedFromDate": iso(from), "allowedUntilDate": iso(until),
           "allowedWeekDays": 127, "allowedFromTime": 0, "allowedUntilTime": 0, "enabled": true})
}

/// A stay from 20 to 22 March.
fn window() -> (i64, i64) {
    (ts("2026-03-20T13:30:00Z"), ts("2026-03-22T10:30:00Z"))
}

fn create(s: &Nuki, lock: &str, code: u32) -> StubResponse {
    let (from, until) = window();
    call(s, "PUT", &format!("/smartlock/{lock}/auth"), Some(&code_body(code, "Bk 4711 Meier", from, until)))
}

/// Creates and asserts the 204.
fn created(s: &Nuki, lock: &str, code: u32) {
    let r = create(s, lock, code);
    assert_eq!(r.status, 204, "{:?}", r.json_body());
    assert!(r.body.is_empty(), "a create answers no body and no id");
}

/// The lock's keypad codes as listed (`?types=13`).
fn codes(s: &Nuki, lock: &str) -> Vec<Value> {
    let r = get(s, &format!("/smartlock/{lock}/auth?types=13"));
    assert_eq!(r.status, 200);
    r.json_body().as_array().cloned().unwrap_or_default()
}

/// The listed auth with that code, if any.
fn listed(s: &Nuki, lock: &str, code: u32) -> Option<Value> {
    codes(s, lock).into_iter().find(|a| a["code"] == json!(code))
}

fn auth_id(s: &Nuki, lock: &str, code: u32) -> String {
    listed(s, lock, code).and_then(|a| a["id"].as_str().map(String::from)).expect("listed auth")
}

fn pending(a: &Value) -> bool {
    a.get("operationId").is_some_and(Value::is_string)
}

fn detail(r: &StubResponse) -> String {
    r.json_body()["detailMessage"].as_str().unwrap_or_default().to_string()
}

/// (pin, added_at, removed_at) of every record on a lock.
fn history(s: &Nuki, lock: &str) -> Vec<(String, i64, Option<i64>)> {
    s.pins().into_iter().filter(|p| p.lock == lock).map(|p| (p.pin, p.added_at, p.removed_at)).collect()
}

/// Distinct valid keypad codes: 3 then five digits 1-9.
fn nth_code(i: u32) -> u32 {
    let mut n = i;
    let mut code = 3;
    for _ in 0..5 {
        code = code * 10 + n % 9 + 1;
        n /= 9;
    }
    code
}

// ---------------------------------------------------------------- config

#[test]
fn config_matches_scenario_shape() {
    let c = config();
    assert!(c.locks[1].keypad && c.locks[1].online, "keypad and online default to true");
    assert!(!c.locks[2].keypad);
    assert!(!c.locks[3].online);
    assert_eq!(c.locks[0].offline_writes, OfflineWrites::Drop);
    c.validate().expect("valid");
    // Round trip keeps the scenario's shape (no knobs when default).
    let v = serde_json::to_value(&c).expect("ser");
    assert!(v["locks"][0].get("ghost_deletes").is_none());
    assert!(v["locks"][0].get("offline_writes").is_none());
    assert_eq!(serde_json::from_value::<NukiConfig>(v).expect("de"), c);
    let knobs: NukiConfig = serde_json::from_value(json!({"locks": [
        {"id": "7", "name": "x", "offline_writes": "apply", "ghost_deletes": true, "never_confirm": true}]}))
    .expect("knobs");
    assert_eq!(knobs.locks[0].offline_writes, OfflineWrites::Apply);
    assert!(knobs.locks[0].ghost_deletes && knobs.locks[0].never_confirm);

    let typo = json!({"locks": [{"id": "1", "name": "x", "keypd": true}]});
    assert!(serde_json::from_value::<NukiConfig>(typo).is_err());
    assert!(serde_json::from_value::<NukiConfig>(json!({"bridges": []})).is_err());

    let bad = |f: &dyn Fn(&mut NukiConfig)| {
        let mut c = config();
        f(&mut c);
        c.validate()
    };
    assert!(matches!(bad(&|c| c.locks[0].id = "ABC".into()), Err(StubError::InvalidConfig(m)) if m.contains("ABC")));
    assert!(bad(&|c| c.locks[0].id = "0123".into()).is_err());
    assert!(bad(&|c| c.locks[0].id = "0".into()).is_err());
    assert!(bad(&|c| c.locks[0].id = "99999999999999999999999".into()).is_err());
    assert!(bad(&|c| c.locks[1].id = L1.into()).is_err());
    assert!(bad(&|c| c.accounts[1].api_token = TOKEN.into()).is_err());
    assert!(bad(&|c| c.accounts[0].api_token = String::new()).is_err());
    assert!(bad(&|c| c.accounts[0].api_token = "a b".into()).is_err());

    // A lock the stub cannot address is left out rather than panicking.
    let mut c = config();
    c.locks[0].id = "nope".into();
    let s = Nuki::new(c, t0());
    assert_eq!(get(&s, "/smartlock").json_body().as_array().map(Vec::len), Some(3));
}

// ----------------------------------------------------------------- auth

#[test]
fn a_bearer_api_token_is_required() {
    let s = stub();
    let r = s.handle(&request("GET", "/smartlock", &[], b""));
    assert_eq!((r.status, r.header("WWW-Authenticate")), (401, Some("Bearer")));
    assert!(r.body.is_empty());
    for auth in ["Bearer wrong", "Basic bnVraS1kZW1vLXRva2Vu", "Bearer", TOKEN, "bearer  nuki-demo-token "] {
        let r = s.handle(&request("GET", "/smartlock/18205286116/auth", &[("Authorization", auth)], b""));
        let want = if auth.starts_with("bearer ") { 200 } else { 401 };
        assert_eq!(r.status, want, "{auth}");
    }
    assert_eq!(get(&s, "/smartlock").status, 200);
    let other = s.handle(&request("GET", "/smartlock", &[("Authorization", "Bearer other-token")], b""));
    assert_eq!(other.status, 200);

    // A write with a bad token does nothing.
    let (from, until) = window();
    let body = code_body(482_957, "x", from, until).to_string();
    let r = s.handle(&request(
        "PUT",
        &format!("/smartlock/{L1}/auth"),
        &[("Authorization", "Bearer wrong"), ("Content-Type", "application/json")],
        body.as_bytes(),
    ));
    assert_eq!(r.status, 401);
    assert!(codes(&s, L1).is_empty());

    // API tokens never expire; a password change kills them all.
    s.set_time(t0() + 400 * 86_400);
    assert_eq!(get(&s, "/smartlock").status, 200);
    s.revoke_tokens();
    assert_eq!(get(&s, "/smartlock").status, 401);
    let other = s.handle(&request("GET", "/smartlock", &[("Authorization", "Bearer other-token")], b""));
    assert_eq!(other.status, 401);
}

// ------------------------------------------------------------ smartlocks

#[test]
fn smartlocks_show_big_ids_keypads_and_reachability() {
    let s = stub();
    let r = get(&s, "/smartlock");
    assert_eq!(r.status, 200);
    // The id is a JSON number beyond 2^32, not a string.
    let text = String::from_utf8_lossy(&r.body).to_string();
    assert!(text.contains("\"smartlockId\":18205286116"), "{text}");
    let list = r.json_body().as_array().cloned().expect("array");
    assert_eq!(list.len(), 4);
    let ids: Vec<u64> = list.iter().filter_map(|l| l["smartlockId"].as_u64()).collect();
    assert_eq!(ids, vec![L1N, L2N, 123, 456]);
    let keypad = |l: &Value| l["config"]["keypadPaired"] == json!(true) || l["config"]["keypad2Paired"] == json!(true);
    assert_eq!(list.iter().map(keypad).collect::<Vec<_>>(), vec![true, true, false, true]);
    // The second lock carries its keypad in the other flag.
    assert_eq!(list[1]["config"]["keypadPaired"], json!(false));
    assert_eq!(list[1]["config"]["keypad2Paired"], json!(true));
    let states: Vec<Value> = list.iter().map(|l| l["serverState"].clone()).collect();
    assert_eq!(states, vec![json!(0), json!(0), json!(0), json!(4)]);
    let l = &list[0];
    assert_eq!((l["name"].clone(), l["type"].clone()), (json!("Garden door"), json!(4)));
    assert_eq!(l["config"]["name"], json!("Garden door"));
    assert!(l["operationId"].is_null());
    assert!(l["state"]["batteryCharge"].is_number());
    assert!(DateTime::parse_from_rfc3339(l["creationDate"].as_str().expect("date")).is_ok());

    let one = get(&s, &format!("/smartlock/{L2}"));
    assert_eq!((one.status, one.json_body()["smartlockId"].as_u64()), (200, Some(L2N)));
    assert_eq!(get(&s, "/smartlock/999").status, 404);
    assert_eq!(get(&s, "/smartlock/abc").status, 404);
    assert_eq!(get(&s, "/smartlock?type=4").json_body().as_array().map(Vec::len), Some(4));
    assert_eq!(get(&s, "/smartlock?type=2").json_body(), json!([]));
    assert_eq!(get(&s, "/smartlock?type=x").status, 400);

    // Each account sees its own accountId.
    let mine = list[0]["accountId"].clone();
    let r = s.handle(&request("GET", "/smartlock", &[("Authorization", "Bearer other-token")], b""));
    assert_ne!(r.json_body()[0]["accountId"], mine);

    s.set_online(L1, false).expect("lock");
    assert_eq!(get(&s, &format!("/smartlock/{L1}")).json_body()["serverState"], json!(4));
    s.set_online(L4, true).expect("lock");
    assert_eq!(get(&s, &format!("/smartlock/{L4}")).json_body()["serverState"], json!(0));
    assert!(matches!(s.set_online("nope", true), Err(StubError::UnknownLock(_))));
}

// ------------------------------------------------------------- listing

#[test]
fn listing_filters_types_and_shows_the_app_authorization() {
    let s = stub();
    created(&s, L1, 482_957);
    created(&s, L2, 482_957); // the same code on another lock is fine
    let all = get(&s, &format!("/smartlock/{L1}/auth")).json_body();
    let all = all.as_array().expect("array");
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["type"], json!(0));
    assert!(all[0].get("code").is_none(), "an app user has no code");
    assert_eq!(all[1]["type"], json!(13));

    let keypad = codes(&s, L1);
    assert_eq!(keypad.len(), 1);
    let a = &keypad[0];
    assert_eq!(a["smartlockId"].as_u64(), Some(L1N));
    assert_eq!(a["code"], json!(482_957), "the code is a number");
    assert_eq!(a["name"], json!("Bk 4711 Meier"));
    assert_eq!(a["allowedFromDate"], json!("2026-03-20T13:30:00.000Z"));
    assert_eq!(a["allowedUntilDate"], json!("2026-03-22T10:30:00.000Z"));
    assert_eq!((a["allowedWeekDays"].clone(), a["allowedFromTime"].clone()), (json!(127), json!(0)));
    assert_eq!(a["enabled"], json!(true));
    assert!(a["lastActiveDate"].is_null());
    assert!(a["authId"].is_number());
    let id = a["id"].as_str().expect("id");
    assert!(id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");

    let one = get(&s, &format!("/smartlock/{L1}/auth/{id}"));
    assert_eq!((one.status, one.json_body()["code"].clone()), (200, json!(482_957)));
    assert_eq!(get(&s, &format!("/smartlock/{L2}/auth/{id}")).status, 404, "another lock's auth");
    assert_eq!(get(&s, &format!("/smartlock/{L1}/auth/ffffffffffffffffffffffff")).status, 404);
    assert_eq!(get(&s, "/smartlock/999/auth").status, 404);
    assert_eq!(get(&s, &format!("/smartlock/{L1}/auth?types=0,13")).json_body().as_array().map(Vec::len), Some(2));
    assert_eq!(get(&s, &format!("/smartlock/{L1}/auth?types=abc")).status, 400);

    // Every lock of the account at once.
    let every = get(&s, "/smartlock/auth?types=13").json_body();
    let locks: Vec<u64> = every.as_array().expect("array").iter().filter_map(|a| a["smartlockId"].as_u64()).collect();
    assert_eq!(locks, vec![L1N, L2N]);

    // The paged form real clients use: same entries, a page at a time.
    let lists_before = s.http_counts()["nuki.auth_list"];
    let paged = get(&s, "/smartlock/auth/paged?page=0&size=100&types=13");
    assert_eq!(paged.status, 200);
    assert_eq!(paged.json_body(), every, "one page of 100 holds the whole list");
    let second = get(&s, "/smartlock/auth/paged?page=1&size=1&types=13").json_body();
    let second = second.as_array().expect("array");
    assert_eq!((second.len(), second[0]["smartlockId"].as_u64()), (1, Some(L2N)));
    assert_eq!(get(&s, "/smartlock/auth/paged?page=5&size=100&types=13").json_body(), json!([]));
    assert_eq!(get(&s, "/smartlock/auth/paged?page=0&size=0").status, 400);
    assert_eq!(get(&s, "/smartlock/auth/paged?page=x").status, 400);
    assert_eq!(call(&s, "PUT", "/smartlock/auth/paged", Some(&json!({}))).status, 405);
    assert_eq!(s.http_counts()["nuki.auth_list"], lists_before + 5, "each paged GET counts as a list");
}

// -------------------------------------------------------------- create

#[test]
fn a_create_is_204_then_pending_then_on_the_lock_30_s_later() {
    let s = stub();
    created(&s, L1, 482_957);
    let a = listed(&s, L1, 482_957).expect("listed at once");
    assert!(pending(&a), "{a}");
    let lock = get(&s, &format!("/smartlock/{L1}")).json_body();
    assert_eq!(lock["operationId"], a["operationId"], "the device is busy with it");
    assert!(s.pins().is_empty(), "a 204 proves nothing");
    s.set_time(t0() + WRITE_SECONDS - 1);
    assert!(pending(&listed(&s, L1, 482_957).expect("listed")));
    assert!(s.pins().is_empty());

    s.set_time(t0() + WRITE_SECONDS);
    let a = listed(&s, L1, 482_957).expect("listed");
    assert!(a.get("operationId").is_none(), "{a}");
    assert!(get(&s, &format!("/smartlock/{L1}")).json_body()["operationId"].is_null());
    let (from, until) = window();
    let pins = s.pins();
    assert_eq!(
        pins,
        vec![PinRecord {
            provider: "nuki",
            lock: L1.into(),
            pin: "482957".into(),
            access_name: "Bk 4711 Meier".into(),
            start: from,
            end: until,
            added_at: t0() + 30,
            removed_at: None,
            kind: crate::PinKind::Code,
        }]
    );
    assert!(s.opens(L1, "482957", from));
    assert!(s.opens(L1, "482957", until - 1));
    assert!(!s.opens(L1, "482957", from - 1));
    assert!(!s.opens(L1, "482957", until));
    assert!(!s.opens(L2, "482957", from));
}

#[test]
fn a_lock_carries_out_one_write_at_a_time() {
    let s = stub();
    created(&s, L1, 311_111);
    created(&s, L1, 322_222);
    created(&s, L2, 333_333); // another lock works in parallel
    s.set_time(t0() + 1000);
    let added: Vec<(String, i64)> = s.pins().into_iter().map(|p| (p.pin, p.added_at)).collect();
    assert_eq!(added, vec![("311111".into(), t0() + 30), ("333333".into(), t0() + 30), ("322222".into(), t0() + 60)]);
}

#[test]
fn creates_are_validated_like_the_real_api() {
    let s = stub();
    let (from, until) = window();
    let path = format!("/smartlock/{L1}/auth");
    let with = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut b = code_body(482_957, "Bk 4711 Meier", from, until);
        if let Some(m) = b.as_object_mut() {
            f(m);
        }
        b
    };
    let set = |k: &'static str, v: Value| {
        move |m: &mut serde_json::Map<String, Value>| {
            m.insert(k.into(), v.clone());
        }
    };
    let del = |k: &'static str| {
        move |m: &mut serde_json::Map<String, Value>| {
            m.remove(k);
        }
    };
    let msg = |v: &str, p: &str| format!("The supplied value '{v}' for parameter '{p}' is not valid");
    let cases: Vec<(Value, u16, String)> = vec![
        (with(&set("code", json!(124_567))), 400, msg("124567", "code")),
        (with(&set("code", json!(482_950))), 400, msg("482950", "code")),
        (with(&set("code", json!(48_295))), 400, msg("48295", "code")),
        (with(&set("code", json!(4_829_571))), 400, msg("4829571", "code")),
        (with(&set("code", json!("482957"))), 400, msg("482957", "code")),
        (with(&set("code", json!(482_957.5))), 400, msg("482957.5", "code")),
        (with(&del("code")), 400, msg("null", "code")),
        (with(&set("code", Value::Null)), 400, msg("null", "code")),
        (with(&del("type")), 400, msg("null", "type")),
        (with(&set("type", json!(0))), 400, msg("0", "type")),
        (with(&del("name")), 400, msg("null", "name")),
        (with(&set("name", json!(""))), 400, msg("", "name")),
        (with(&set("name", json!("x".repeat(21)))), 422, String::new()),
        (with(&set("name", json!("é".repeat(21)))), 422, String::new()),
        (with(&set("allowedFromDate", json!("2026-03-20T14:30:00+01:00"))), 400, String::new()),
        (with(&set("allowedFromDate", json!("2026-03-20"))), 400, msg("2026-03-20", "allowedFromDate")),
        (with(&set("allowedFromDate", json!(1_774_013_400))), 400, String::new()),
        (with(&set("allowedUntilDate", json!(iso(from)))), 400, String::new()),
        (with(&set("allowedWeekDays", json!(128))), 400, msg("128", "allowedWeekDays")),
        (with(&set("allowedWeekDays", json!(-1))), 400, String::new()),
        (with(&set("allowedFromTime", json!(1440))), 400, msg("1440", "allowedFromTime")),
        (with(&set("allowedFromTime", json!(600))), 400, msg("0", "allowedUntilTime")),
        (with(&set("enabled", json!("yes"))), 400, msg("yes", "enabled")),
    ];
    for (body, status, want) in cases {
        let r = call(&s, "PUT", &path, Some(&body));
        assert_eq!(r.status, status, "{body}");
        if status == 400 {
            assert_eq!(r.json_body()["stackTrace"], json!([]), "{body}");
            assert_eq!(r.json_body()["suppressedExceptions"], json!([]), "{body}");
            if !want.is_empty() {
                assert_eq!(detail(&r), want, "{body}");
            }
        }
        if status == 422 {
            let b = r.json_body();
            assert_eq!((b["code"].clone(), b["reasonPhrase"].clone()), (json!(422), json!("Unprocessable Entity")));
            assert!(b["description"].as_str().is_some_and(|d| d.contains("unable to process")));
            assert!(b["uri"].is_string());
        }
    }
    // The doc's error example quotes 245678, which obeys every documented
    // rule: the stub invents no other rule and accepts it (below).

    // A lock without keypad blames `type`.
    let r = call(&s, "PUT", &format!("/smartlock/{L3}/auth"), Some(&code_body(482_957, "x", from, until)));
    assert_eq!((r.status, detail(&r)), (400, msg("13", "type")));

    // Not JSON, or not said to be JSON.
    let auth = format!("Bearer {TOKEN}");
    let r = s.handle(&request(
        "PUT",
        &path,
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        b"{\"name\": ",
    ));
    assert_eq!(r.status, 400);
    let r = s.handle(&request("PUT", &path, &[("Authorization", &auth), ("Content-Type", "text/plain")], b"{}"));
    assert_eq!(r.status, 415);
    assert_eq!(call(&s, "PUT", "/smartlock/999/auth", Some(&code_body(482_957, "x", from, until))).status, 404);

    // Nothing of that was queued.
    assert!(codes(&s, L1).is_empty());
    s.set_time(t0() + 1000);
    assert!(s.pins().is_empty());

    // The accepted spellings: 20 characters, minutes-only and millisecond dates.
    let ok = with(&|m| {
        m.insert("name".into(), json!("n".repeat(20)));
        m.insert("allowedFromDate".into(), json!("2026-03-20T13:30Z"));
        m.insert("allowedUntilDate".into(), json!("2026-03-22T10:30:00Z"));
    });
    assert_eq!(call(&s, "PUT", &path, Some(&ok)).status, 204);
    assert_eq!(call(&s, "PUT", &path, Some(&with(&set("code", json!(245_678))))).status, 204);
    s.set_time(t0() + 1060);
    let p = &s.pins()[0];
    assert_eq!((p.start, p.end, p.access_name.as_str()), (from, until, "nnnnnnnnnnnnnnnnnnnn"));
    assert_eq!(s.pins()[1].pin, "245678");
}

#[test]
fn a_code_already_on_the_lock_is_409_pending_ones_included() {
    let s = stub();
    created(&s, L1, 482_957);
    let r = create(&s, L1, 482_957);
    assert_eq!(r.status, 409, "pending create blocks its PIN");
    assert_eq!(r.json_body()["stackTrace"], json!([]));
    s.set_time(t0() + 30);
    assert_eq!(create(&s, L1, 482_957).status, 409);
    assert_eq!(create(&s, L2, 482_957).status, 204, "another lock is fine");
    s.set_time(t0() + 100);
    assert_eq!(s.pins().len(), 2);
}

#[test]
fn a_lock_lists_at_most_100_codes() {
    let s = stub();
    s.set_offline_writes(L4, OfflineWrites::Apply).expect("lock");
    for i in 0..MAX_CODES_PER_LOCK as u32 {
        assert_eq!(create(&s, L4, nth_code(i)).status, 204, "{i}");
    }
    let r = create(&s, L4, nth_code(100));
    assert_eq!(r.status, 422);
    assert_eq!(codes(&s, L4).len(), 100);
}

#[test]
fn dates_without_week_days_give_a_code_valid_at_any_time() {
    let s = stub();
    let (from, until) = window();
    let body = json!({"name": "Bk 1", "type": 13, "code": 482_957,
                      "allowedFromDate": iso(from), "allowedUntilDate": iso(until)});
    assert_eq!(call(&s, "PUT", &format!("/smartlock/{L1}/auth"), Some(&body)).status, 204);
    s.set_time(t0() + 30);
    // The listing shows the dates it was sent...
    let a = listed(&s, L1, 482_957).expect("listed");
    assert_eq!(a["allowedFromDate"], json!(iso(from)));
    assert_eq!(a["allowedWeekDays"], json!(0));
    // ...the lock applies none of them.
    let p = &s.pins()[0];
    assert_eq!((p.start, p.end), (UNRESTRICTED_START, UNRESTRICTED_END));
    assert!(s.opens(L1, "482957", t0() + 60));
    assert!(s.opens(L1, "482957", until + 86_400));
}

#[test]
fn week_days_and_daily_times_restrict_the_code() {
    let s = stub();
    let (from, until) = (ts("2026-03-02T00:00:00Z"), ts("2026-03-16T00:00:00Z"));
    // Mondays 10:00-12:00 (the stub's locks keep UTC).
    let mut body = code_body(482_957, "Cleaner", from, until);
    body["allowedWeekDays"] = json!(64);
    body["allowedFromTime"] = json!(600);
    body["allowedUntilTime"] = json!(720);
    assert_eq!(call(&s, "PUT", &format!("/smartlock/{L1}/auth"), Some(&body)).status, 204);
    s.set_time(t0() + 30);
    assert!(s.opens(L1, "482957", ts("2026-03-02T10:00:00Z")));
    assert!(s.opens(L1, "482957", ts("2026-03-09T11:59:00Z")));
    assert!(!s.opens(L1, "482957", ts("2026-03-02T12:00:00Z")));
    assert!(!s.opens(L1, "482957", ts("2026-03-03T10:30:00Z")), "a Tuesday");
    assert!(!s.opens(L1, "482957", ts("2026-03-16T10:30:00Z")), "after the window");
}

// -------------------------------------------------------------- update

#[test]
fn an_update_moves_the_code_in_place_and_a_second_write_meanwhile_is_423() {
    let s = stub();
    created(&s, L1, 482_957);
    s.set_time(t0() + 30);
    let id = auth_id(&s, L1, 482_957);
    let path = format!("/smartlock/{L1}/auth/{id}");
    let (from, until) = window();
    let (from2, until2) = (from + 86_400, until + 86_400);
    let r = call(&s, "POST", &path, Some(&update_body(482_957, "Bk 4711 Meier", from2, until2)));
    assert_eq!((r.status, r.body.is_empty()), (204, true));

    // The server copy shows the new window at once, pending.
    let a = listed(&s, L1, 482_957).expect("listed");
    assert!(pending(&a));
    assert_eq!(a["allowedFromDate"], json!(iso(from2)));
    // The lock still holds the old one.
    assert!(s.opens(L1, "482957", from));
    assert!(!s.opens(L1, "482957", until2 - 1));

    let r = call(&s, "POST", &path, Some(&update_body(482_957, "Bk 4711 Meier", from, until)));
    assert_eq!((r.status, r.json_body()), (423, json!({"stackTrace": [], "suppressedExceptions": []})));
    assert_eq!(call(&s, "DELETE", &path, None).status, 423);

    s.set_time(t0() + 60);
    assert!(!pending(&listed(&s, L1, 482_957).expect("listed")));
    let pins = s.pins();
    assert_eq!(pins.len(), 2);
    assert_eq!((pins[0].start, pins[0].removed_at), (from, Some(t0() + 60)));
    assert_eq!((pins[1].start, pins[1].end, pins[1].added_at), (from2, until2, t0() + 60));
    assert_eq!((pins[1].pin.as_str(), pins[1].removed_at), ("482957", None));
    assert_eq!(auth_id(&s, L1, 482_957), id, "same auth, same id");

    // An update that changes nothing the lock shows adds no record.
    assert_eq!(call(&s, "POST", &path, Some(&update_body(482_957, "Bk 4711 Meier", from2, until2))).status, 204);
    s.set_time(t0() + 90);
    assert_eq!(s.pins().len(), 2);
}

#[test]
fn an_update_is_a_replace() {
    let s = stub();
    created(&s, L1, 482_957);
    s.set_time(t0() + 30);
    let id = auth_id(&s, L1, 482_957);
    let path = format!("/smartlock/{L1}/auth/{id}");
    let (from, until) = window();

    // Only a date: 422, nothing queued.
    let r = call(&s, "POST", &path, Some(&json!({"allowedFromDate": iso(from)})));
    assert_eq!(r.status, 422);
    assert_eq!(call(&s, "POST", &path, Some(&json!({"name": "x", "allowedFromDate": iso(from)}))).status, 422);
    assert!(!pending(&listed(&s, L1, 482_957).expect("listed")));

    // Name and code only: the window is wiped and, `enabled` being
    // omitted, the code is disabled.
    let r = call(&s, "POST", &path, Some(&json!({"name": "Renamed", "code": 482_957})));
    assert_eq!(r.status, 204);
    s.set_time(t0() + 60);
    let a = listed(&s, L1, 482_957).expect("listed");
    assert!(a["allowedFromDate"].is_null() && a["allowedUntilDate"].is_null());
    assert_eq!((a["allowedWeekDays"].clone(), a["enabled"].clone()), (json!(0), json!(false)));
    assert!(!s.opens(L1, "482957", from));
    assert_eq!(history(&s, L1), vec![("482957".into(), t0() + 30, Some(t0() + 60))]);

    // Enabled again without week days: valid at any time.
    let mut body = update_body(482_957, "Renamed", from, until);
    body.as_object_mut().map(|m| m.remove("allowedWeekDays"));
    assert_eq!(call(&s, "POST", &path, Some(&body)).status, 204);
    s.set_time(t0() + 90);
    let last = s.pins().pop().expect("record");
    assert_eq!((last.start, last.end, last.added_at), (UNRESTRICTED_START, UNRESTRICTED_END, t0() + 90));

    // `null` clears the end date.
    let mut body = update_body(482_957, "Renamed", from, until);
    body["allowedUntilDate"] = Value::Null;
    assert_eq!(call(&s, "POST", &path, Some(&body)).status, 204);
    s.set_time(t0() + 120);
    let last = s.pins().pop().expect("record");
    assert_eq!((last.start, last.end), (from, UNRESTRICTED_END));
}

#[test]
fn an_update_to_another_auths_code_is_409_and_bad_targets_are_404() {
    let s = stub();
    created(&s, L1, 482_957);
    created(&s, L1, 593_868);
    s.set_time(t0() + 60);
    let id = auth_id(&s, L1, 593_868);
    let (from, until) = window();
    let path = format!("/smartlock/{L1}/auth/{id}");
    assert_eq!(call(&s, "POST", &path, Some(&update_body(482_957, "x", from, until))).status, 409);
    let r = call(&s, "POST", &path, Some(&update_body(124_444, "x", from, until)));
    assert_eq!((r.status, detail(&r)), (400, "The supplied value '124444' for parameter 'code' is not valid".into()));
    assert_eq!(call(&s, "POST", &path, Some(&update_body(593_868, &"x".repeat(21), from, until))).status, 422);
    // Changing its own code to a free one is fine.
    assert_eq!(call(&s, "POST", &path, Some(&update_body(611_111, "x", from, until))).status, 204);
    s.set_time(t0() + 90);
    assert_eq!(
        history(&s, L1),
        vec![
            ("482957".into(), t0() + 30, None),
            ("593868".into(), t0() + 60, Some(t0() + 90)),
            ("611111".into(), t0() + 90, None),
        ]
    );
    let body = update_body(611_111, "x", from, until);
    assert_eq!(call(&s, "POST", &format!("/smartlock/{L2}/auth/{id}"), Some(&body)).status, 404);
    assert_eq!(call(&s, "POST", &format!("/smartlock/{L1}/auth/nope"), Some(&body)).status, 404);
    // The owner's app authorization is not a keypad code.
    let all = get(&s, &format!("/smartlock/{L1}/auth")).json_body();
    let app = all[0]["id"].as_str().expect("app id").to_string();
    assert_eq!(call(&s, "POST", &format!("/smartlock/{L1}/auth/{app}"), Some(&body)).status, 400);
    assert_eq!(call(&s, "DELETE", &format!("/smartlock/{L1}/auth/{app}"), None).status, 400);
}

// -------------------------------------------------------------- delete

#[test]
fn a_delete_is_pending_then_gone_and_frees_the_pin() {
    let s = stub();
    created(&s, L1, 482_957);
    s.set_time(t0() + 30);
    let id = auth_id(&s, L1, 482_957);
    let path = format!("/smartlock/{L1}/auth/{id}");
    let r = call(&s, "DELETE", &path, None);
    assert_eq!((r.status, r.body.is_empty()), (204, true));
    assert!(pending(&listed(&s, L1, 482_957).expect("still listed while pending")));
    assert_eq!(create(&s, L1, 482_957).status, 409, "the PIN is taken until the delete is done");
    assert_eq!(call(&s, "DELETE", &path, None).status, 423);
    s.set_time(t0() + 60);
    assert!(listed(&s, L1, 482_957).is_none());
    assert_eq!(history(&s, L1), vec![("482957".into(), t0() + 30, Some(t0() + 60))]);
    assert!(!s.opens(L1, "482957", window().0));
    assert_eq!(call(&s, "DELETE", &path, None).status, 404);
    assert_eq!(get(&s, &format!("/smartlock/{L1}/auth/{id}")).status, 404);
    created(&s, L1, 482_957);
    s.set_time(t0() + 90);
    assert_eq!(history(&s, L1).len(), 2);
}

#[test]
fn ghost_deletes_stay_listed_and_block_the_pin_until_a_sync() {
    let s = stub();
    s.set_ghost_deletes(L1, true).expect("lock");
    created(&s, L1, 482_957);
    s.set_time(t0() + 30);
    let id = auth_id(&s, L1, 482_957);
    let path = format!("/smartlock/{L1}/auth/{id}");
    assert_eq!(call(&s, "DELETE", &path, None).status, 204);
    s.set_time(t0() + 60);
    // Gone from the lock...
    assert_eq!(history(&s, L1), vec![("482957".into(), t0() + 30, Some(t0() + 60))]);
    assert!(!s.opens(L1, "482957", window().0));
    // ...but listed as if nothing happened, and its PIN still blocked.
    let ghost = listed(&s, L1, 482_957).expect("ghost");
    assert!(!pending(&ghost));
    assert_eq!(create(&s, L1, 482_957).status, 409);
    // Deleting it again is accepted and changes nothing; updating it fails
    // on the lock and leaves it as it was.
    assert_eq!(call(&s, "DELETE", &path, None).status, 204);
    s.set_time(t0() + 90);
    let (from, until) = window();
    assert_eq!(call(&s, "POST", &path, Some(&update_body(482_957, "x", from + 60, until))).status, 204);
    s.set_time(t0() + 120);
    assert_eq!(listed(&s, L1, 482_957).expect("ghost")["allowedFromDate"], json!(iso(from)));
    assert_eq!(s.pins().len(), 1);

    let r = call(&s, "POST", &format!("/smartlock/{L1}/sync"), None);
    assert_eq!((r.status, r.body.is_empty()), (204, true));
    assert!(listed(&s, L1, 482_957).is_none());
    created(&s, L1, 482_957);
    assert_eq!(call(&s, "POST", "/smartlock/999/sync", None).status, 404);
    assert_eq!(s.http_counts()["nuki.sync"], 2);
}

// ------------------------------------------------------- offline locks

#[test]
fn writes_for_an_offline_lock_are_accepted_and_never_carried_out() {
    let s = stub();
    created(&s, L4, 482_957);
    assert!(pending(&listed(&s, L4, 482_957).expect("listed")));
    s.set_time(t0() + PUSH_TIMEOUT - 1);
    assert!(pending(&listed(&s, L4, 482_957).expect("listed")));
    s.set_time(t0() + PUSH_TIMEOUT);
    assert!(listed(&s, L4, 482_957).is_none(), "the failed create vanishes");
    // Coming back does not revive it.
    s.set_online(L4, true).expect("lock");
    s.set_time(t0() + 1000);
    assert!(s.pins().is_empty());
    assert!(codes(&s, L4).is_empty());

    // Back within the timeout: carried out 30 s after it returns.
    s.set_online(L4, false).expect("lock");
    created(&s, L4, 482_957);
    s.set_time(t0() + 1060);
    s.set_online(L4, true).expect("lock");
    s.set_time(t0() + 1089);
    assert!(s.pins().is_empty());
    s.set_time(t0() + 1090);
    assert_eq!(history(&s, L4), vec![("482957".into(), t0() + 1090, None)]);

    // An update made while offline reverts; a delete stays listed.
    s.set_online(L4, false).expect("lock");
    let id = auth_id(&s, L4, 482_957);
    let path = format!("/smartlock/{L4}/auth/{id}");
    let (from, until) = window();
    assert_eq!(call(&s, "POST", &path, Some(&update_body(482_957, "Moved", from + 3600, until))).status, 204);
    assert_eq!(listed(&s, L4, 482_957).expect("listed")["name"], json!("Moved"));
    s.set_time(t0() + 1300);
    let a = listed(&s, L4, 482_957).expect("listed");
    assert_eq!((a["name"].clone(), pending(&a)), (json!("Bk 4711 Meier"), false));
    assert_eq!(call(&s, "DELETE", &path, None).status, 204);
    s.set_time(t0() + 1500);
    assert!(!pending(&listed(&s, L4, 482_957).expect("still listed")));
    assert_eq!(history(&s, L4), vec![("482957".into(), t0() + 1090, None)]);
}

#[test]
fn going_offline_aborts_the_write_under_way() {
    let s = stub();
    created(&s, L1, 482_957);
    s.set_time(t0() + 10);
    s.set_online(L1, false).expect("lock");
    assert!(listed(&s, L1, 482_957).is_none());
    s.set_online(L1, true).expect("lock");
    s.set_time(t0() + 1000);
    assert!(s.pins().is_empty());
}

#[test]
fn an_apply_lock_carries_out_its_writes_when_it_returns() {
    let s = stub();
    s.set_offline_writes(L4, OfflineWrites::Apply).expect("lock");
    created(&s, L4, 482_957);
    created(&s, L4, 593_868);
    s.set_time(t0() + 86_400);
    assert!(s.pins().is_empty());
    assert!(codes(&s, L4).iter().all(pending));
    s.set_online(L4, true).expect("lock");
    s.set_time(t0() + 86_400 + 60);
    assert_eq!(history(&s, L4), vec![("482957".into(), t0() + 86_430, None), ("593868".into(), t0() + 86_460, None)]);
}

#[test]
fn a_never_confirming_lock_keeps_writes_pending() {
    let s = stub();
    s.set_never_confirm(L1, true).expect("lock");
    created(&s, L1, 482_957);
    s.set_time(t0() + 7 * 86_400);
    let a = listed(&s, L1, 482_957).expect("listed");
    assert!(pending(&a));
    assert!(s.pins().is_empty());
    let path = format!("/smartlock/{L1}/auth/{}", a["id"].as_str().expect("id"));
    assert_eq!(call(&s, "DELETE", &path, None).status, 423);
    s.set_never_confirm(L1, false).expect("lock");
    s.set_time(t0() + 7 * 86_400 + 30);
    assert_eq!(history(&s, L1), vec![("482957".into(), t0() + 7 * 86_400 + 30, None)]);
}

// ---------------------------------------------------------- by hand

#[test]
fn a_code_set_by_hand_is_on_the_lock_and_blocks_its_pin() {
    let s = stub();
    let (from, until) = window();
    let id = s.set_code_by_hand(L1, "593868", from, until).expect("hand code");
    assert_eq!(history(&s, L1), vec![("593868".into(), t0(), None)]);
    assert!(s.opens(L1, "593868", from));
    let a = listed(&s, L1, 593_868).expect("listed");
    assert_eq!((a["id"].as_str(), pending(&a)), (Some(id.as_str()), false));
    assert_eq!(create(&s, L1, 593_868).status, 409);
    assert!(matches!(s.set_code_by_hand(L1, "593868", from, until), Err(StubError::CodeTaken { .. })));
    assert!(matches!(s.set_code_by_hand(L1, "120000", from, until), Err(StubError::InvalidCode(_))));
    assert!(matches!(s.set_code_by_hand(L1, "12345", from, until), Err(StubError::InvalidCode(_))));
    assert!(matches!(s.set_code_by_hand("nope", "593868", from, until), Err(StubError::UnknownLock(_))));
}

// ---------------------------------------------------------------- faults

#[test]
fn faults_answer_the_next_calls_and_do_nothing() {
    let s = stub();
    s.inject_fault(NukiEndpoint::AuthList, 502, 2);
    let r = get(&s, &format!("/smartlock/{L1}/auth"));
    assert_eq!((r.status, r.header("Content-Type")), (502, Some("text/html")));
    assert!(String::from_utf8_lossy(&r.body).contains("502 Bad Gateway"));
    assert_eq!(get(&s, "/smartlock/auth").status, 502);
    assert_eq!(get(&s, "/smartlock/auth").status, 200);

    s.inject_fault(NukiEndpoint::AuthCreate, 429, 1);
    assert_eq!(create(&s, L1, 482_957).status, 429);
    s.inject_fault(NukiEndpoint::AuthCreate, 423, 1);
    assert_eq!(create(&s, L1, 482_957).json_body(), json!({"stackTrace": [], "suppressedExceptions": []}));
    s.inject_fault(NukiEndpoint::AuthCreate, 0, 1);
    assert_eq!(create(&s, L1, 482_957), StubResponse::hang());
    s.set_time(t0() + 100);
    assert!(s.pins().is_empty() && codes(&s, L1).is_empty(), "faulted writes do nothing");

    // Faults come before authentication, queue in order; count 0 disarms.
    s.inject_fault(NukiEndpoint::Smartlock, 500, 1);
    s.inject_fault(NukiEndpoint::Smartlock, 503, 1);
    let r = s.handle(&request("GET", "/smartlock", &[], b""));
    assert_eq!((r.status, detail(&r)), (500, "Injected fault".into()));
    assert_eq!(get(&s, "/smartlock").status, 503);
    s.inject_fault(NukiEndpoint::Smartlock, 500, 5);
    s.inject_fault(NukiEndpoint::Smartlock, 500, 0);
    assert_eq!(get(&s, "/smartlock").status, 200);

    s.inject_fault(NukiEndpoint::AuthUpdate, 422, 1);
    created(&s, L1, 482_957);
    s.set_time(t0() + 130);
    let id = auth_id(&s, L1, 482_957);
    let (from, until) = window();
    let path = format!("/smartlock/{L1}/auth/{id}");
    let r = call(&s, "POST", &path, Some(&update_body(482_957, "x", from, until)));
    assert_eq!((r.status, r.json_body()["reasonPhrase"].clone()), (422, json!("Unprocessable Entity")));
    s.inject_fault(NukiEndpoint::AuthDelete, 401, 1);
    assert_eq!(call(&s, "DELETE", &path, None).status, 401);
    assert!(!pending(&listed(&s, L1, 482_957).expect("listed")));

    let names: Vec<NukiEndpoint> = ["smartlock", "auth_list", "auth_create", "auth_update", "auth_delete", "sync"]
        .iter()
        .map(|n| n.parse().expect("endpoint"))
        .collect();
    assert_eq!(names, NukiEndpoint::ALL.to_vec());
    assert!(matches!("token".parse::<NukiEndpoint>(), Err(StubError::UnknownEndpoint(_))));
}

// ---------------------------------------------------------------- counts

#[test]
fn every_request_is_counted_by_endpoint() {
    let s = stub();
    let zero: Vec<(String, u64)> = s.http_counts().into_iter().collect();
    assert_eq!(
        zero,
        vec![
            ("nuki.auth_create".into(), 0),
            ("nuki.auth_delete".into(), 0),
            ("nuki.auth_list".into(), 0),
            ("nuki.auth_update".into(), 0),
            ("nuki.smartlock".into(), 0),
            ("nuki.sync".into(), 0),
        ]
    );
    get(&s, "/smartlock");
    s.handle(&request("GET", &format!("/smartlock/{L1}"), &[], b"")); // 401, still counted
    s.inject_fault(NukiEndpoint::AuthList, 500, 1);
    get(&s, &format!("/smartlock/{L1}/auth"));
    get(&s, "/smartlock/auth");
    created(&s, L1, 482_957);
    s.set_time(t0() + 30);
    let path = format!("/smartlock/{L1}/auth/{}", auth_id(&s, L1, 482_957)); // a list call
    let (from, until) = window();
    call(&s, "POST", &path, Some(&update_body(482_957, "x", from, until)));
    call(&s, "DELETE", &path, None); // 423, counted
    call(&s, "PATCH", &path, None); // 405: total only
    get(&s, "/nowhere"); // 404: total only
    get(&s, "/_admin/pins"); // not the plugin's traffic: not counted
    s.count_refused("/_admin/time");
    s.count_refused(&format!("/smartlock/{L1}/auth"));
    s.count_refused(&format!("/smartlock/{L1}/sync"));
    let c = s.http_counts();
    assert_eq!(c["nuki.smartlock"], 2);
    assert_eq!(c["nuki.auth_list"], 3);
    assert_eq!(c["nuki.auth_create"], 1);
    assert_eq!(c["nuki.auth_update"], 1);
    assert_eq!(c["nuki.auth_delete"], 1);
    assert_eq!(c["nuki.sync"], 1);
    assert_eq!(s.requests_total(), 12);
}

// ---------------------------------------------------------------- misc

#[test]
fn the_clock_never_moves_backwards() {
    let s = stub();
    s.set_time(t0() + 100);
    s.set_time(t0());
    assert_eq!(s.now(), t0() + 100);
}

#[test]
fn bulk_writes_and_wrong_methods_are_refused_plainly() {
    let s = stub();
    let (from, until) = window();
    let mut body = code_body(482_957, "x", from, until);
    body["smartlockIds"] = json!([L1N]);
    let r = call(&s, "PUT", "/smartlock/auth", Some(&body));
    assert_eq!(r.status, 501);
    assert_eq!(s.http_counts()["nuki.auth_create"], 1);
    let r = call(&s, "PATCH", "/smartlock", None);
    assert_eq!((r.status, r.header("Allow")), (405, Some("GET")));
    assert_eq!(call(&s, "POST", &format!("/smartlock/{L1}/auth"), Some(&body)).status, 405);
    assert!(codes(&s, L1).is_empty());
}

#[test]
fn bad_requests_do_not_panic() {
    let s = stub();
    let auth = format!("Bearer {TOKEN}");
    let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
    for (method, path) in [
        ("GET", ""),
        ("GET", "/"),
        ("GET", "%"),
        ("GET", "/smartlock/%FF"),
        ("GET", "/smartlock/99999999999999999999999999"),
        ("GET", "http://api.nuki.io/smartlock"),
        ("GET", "/smartlock/18205286116/auth?types=%FF%FE"),
        ("PUT", "/smartlock/18205286116/auth"),
        ("POST", "/smartlock/18205286116/auth/%zz"),
        ("DELETE", "/smartlock/18205286116/auth/"),
        ("", "/smartlock"),
    ] {
        for body in [&b"\xff\xfe"[..], b"[]", b"null", b"{\"code\": 1e400}", b"{\"code\": 99999999999999999999}"] {
            let r = s.handle(&request(method, path, &headers, body));
            assert!(r.status >= 200, "{method} {path}");
        }
    }
    let r = s.handle(&request("GET", "/smartlock", &[("Authorization", "Bearer \u{0}")], b""));
    assert_eq!(r.status, 401);
    assert!(s.pins().is_empty());
}

//! Tests of the core through `handle()` on the simulated clock.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use chrono::DateTime;
use serde_json::{json, Value};

use super::*;

/// 2026-03-01T08:00:00Z.
fn t0() -> i64 {
    ts("2026-03-01T08:00:00Z")
}

fn ts(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).expect("test instant").timestamp()
}

/// md5("s3cret"), computed outside (`printf s3cret | md5sum`).
const S3CRET_MD5: &str = "33e1b232a4e6fa0028a6670753749a17";
/// md5("wrong").
const WRONG_MD5: &str = "2bda2998d9b0ee197da142a0447f6725";

const APP_ID: &str = "pms-app-id";
const APP_SECRET: &str = "pms-app-secret";
const USER: &str = "host@example.com";

/// Two locks on gateway G1, a Wi-Fi lock, a lock with nothing, and a lock
/// on a gateway that starts offline.
const L1: &str = "532323";
const L2: &str = "532324";
const WIFI: &str = "532325";
const BARE: &str = "532326";
const L5: &str = "532327";
const G1: &str = "78979";
const G2: &str = "78980";

fn config() -> TtlockConfig {
    serde_json::from_value(json!({
        "app": {"client_id": APP_ID, "client_secret": APP_SECRET},
        "accounts": [
            {"username": USER, "password": "s3cret", "name": "host@example.com"},
            {"username": "+4915112345678", "password": "other-pass", "name": "Second host"}
        ],
        "locks": [
            {"id": L1, "name": "Studio door", "gateway": G1, "wifi": false},
            {"id": L2, "name": "Back door", "gateway": G1, "utc_offset_minutes": 60},
            {"id": WIFI, "name": "Wifi door", "wifi": true},
            {"id": BARE, "name": "Shed"},
            {"id": L5, "name": "Garden gate", "gateway": G2}
        ],
        "gateways": [
            {"id": G1, "name": "G2 hall"},
            {"id": G2, "name": "G2 garden", "online": false}
        ]
    }))
    .expect("config")
}

fn stub() -> Ttlock {
    Ttlock::new(config(), t0())
}

fn request(method: &str, path: &str, content_type: Option<&str>, body: &str) -> StubRequest {
    StubRequest {
        method: method.into(),
        path_and_query: path.into(),
        headers: content_type.map(|c| vec![("Content-Type".to_string(), c.to_string())]).unwrap_or_default(),
        body: body.as_bytes().to_vec(),
    }
}

fn encode(params: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish()
}

const FORM: &str = "application/x-www-form-urlencoded";

/// A form-encoded POST.
fn post(s: &Ttlock, path: &str, params: &[(&str, &str)]) -> StubResponse {
    s.handle(&request("POST", path, Some(FORM), &encode(params)))
}

/// A GET with a query string.
fn get(s: &Ttlock, path: &str, params: &[(&str, &str)]) -> StubResponse {
    s.handle(&request("GET", &format!("{path}?{}", encode(params)), None, ""))
}

fn now_ms(s: &Ttlock) -> String {
    (s.now() * 1000).to_string()
}

/// An API read with clientId, accessToken and a current date.
fn read(s: &Ttlock, tok: &str, path: &str, extra: &[(&str, &str)]) -> StubResponse {
    let date = now_ms(s);
    let mut params = vec![("clientId", APP_ID), ("accessToken", tok), ("date", date.as_str())];
    params.extend_from_slice(extra);
    get(s, path, &params)
}

/// An API write with clientId, accessToken and a current date.
fn write(s: &Ttlock, tok: &str, path: &str, extra: &[(&str, &str)]) -> StubResponse {
    let date = now_ms(s);
    let mut params = vec![("clientId", APP_ID), ("accessToken", tok), ("date", date.as_str())];
    params.extend_from_slice(extra);
    post(s, path, &params)
}

/// The answer's errcode (a missing one means success, as clients read it).
fn errcode(r: &StubResponse) -> i64 {
    assert_eq!(r.status, 200, "TTLock answers 200 even on errors: {:?}", String::from_utf8_lossy(&r.body));
    r.json_body()["errcode"].as_i64().unwrap_or(0)
}

fn password_grant(s: &Ttlock) -> Value {
    let r = post(
        s,
        "/oauth2/token",
        &[("clientId", APP_ID), ("clientSecret", APP_SECRET), ("username", USER), ("password", S3CRET_MD5)],
    );
    assert_eq!(errcode(&r), 0, "{}", r.json_body());
    r.json_body()
}

fn token(s: &Ttlock) -> String {
    password_grant(s)["access_token"].as_str().expect("access_token").to_string()
}

/// The 2-day window starting 5 days after t0, in epoch ms.
fn stay() -> (i64, i64) {
    let start = (t0() + 5 * 86_400) * 1000;
    (start, start + 2 * 86_400_000)
}

fn add(s: &Ttlock, tok: &str, lock: &str, pwd: &str, add_type: Option<&str>) -> StubResponse {
    let (start, end) = stay();
    let (start, end) = (start.to_string(), end.to_string());
    let mut params = vec![
        ("lockId", lock),
        ("keyboardPwd", pwd),
        ("keyboardPwdName", "Bk 4711 Meier"),
        ("keyboardPwdType", "3"),
        ("startDate", start.as_str()),
        ("endDate", end.as_str()),
    ];
    if let Some(t) = add_type {
        params.push(("addType", t));
    }
    write(s, tok, "/v3/keyboardPwd/add", &params)
}

/// Adds through the gateway and returns the keyboardPwdId.
fn add_ok(s: &Ttlock, tok: &str, lock: &str, pwd: &str) -> i64 {
    let r = add(s, tok, lock, pwd, Some("2"));
    assert_eq!(errcode(&r), 0, "{}", r.json_body());
    r.json_body()["keyboardPwdId"].as_i64().expect("keyboardPwdId")
}

fn list_codes(s: &Ttlock, tok: &str, lock: &str) -> Vec<Value> {
    let r = read(
        s,
        tok,
        "/v3/lock/listKeyboardPwd",
        &[("lockId", lock), ("pageNo", "1"), ("pageSize", "200"), ("orderBy", "1")],
    );
    assert_eq!(errcode(&r), 0, "{}", r.json_body());
    r.json_body()["list"].as_array().expect("list").clone()
}

/// The lock's current PINs.
fn on_lock(s: &Ttlock, lock: &str) -> Vec<String> {
    s.pins().into_iter().filter(|p| p.lock == lock && p.removed_at.is_none()).map(|p| p.pin).collect()
}

// ---------------------------------------------------------------- config

#[test]
fn config_matches_scenario_shape() {
    let c = config();
    c.validate().expect("valid");
    assert!(c.gateways[0].online, "online defaults to true");
    assert!(!c.locks[1].wifi, "wifi defaults to false");
    assert_eq!(c.locks[3].gateway, None);
    let v = serde_json::to_value(&c).expect("ser");
    assert!(v["locks"][0].get("wifi").is_none());
    assert_eq!(serde_json::from_value::<TtlockConfig>(v).expect("round trip"), c);

    let typo =
        json!({"app": {"client_id": "a", "client_secret": "b"}, "gateways": [{"id": "1", "name": "g", "onlin": true}]});
    assert!(serde_json::from_value::<TtlockConfig>(typo).is_err());
    assert!(serde_json::from_value::<TtlockConfig>(json!({"locks": []})).is_err(), "app is required");

    for (field, bad) in [
        ("lock id", {
            let mut c = config();
            c.locks[0].id = "OE1X".into();
            c
        }),
        ("leading zero", {
            let mut c = config();
            c.locks[0].id = "0532323".into();
            c
        }),
        ("unknown gateway", {
            let mut c = config();
            c.locks[0].gateway = Some("1".into());
            c
        }),
        ("duplicate", {
            let mut c = config();
            c.locks[1].id = L1.into();
            c
        }),
        ("offset", {
            let mut c = config();
            c.locks[0].utc_offset_minutes = 900;
            c
        }),
        ("secret", {
            let mut c = config();
            c.app.client_secret.clear();
            c
        }),
    ] {
        assert!(matches!(bad.validate(), Err(StubError::InvalidConfig(_))), "{field}");
    }
}

// ----------------------------------------------------------------- token

#[test]
fn password_grant_issues_a_90_day_token() {
    let s = stub();
    let body = password_grant(&s);
    assert!(body.get("errcode").is_none(), "success carries the data alone");
    let access = body["access_token"].as_str().expect("access_token");
    assert_eq!(access.len(), 32);
    assert!(access.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(body["refresh_token"].as_str().map(str::len), Some(32));
    assert_eq!(body["expires_in"], json!(7_776_000));
    assert_eq!(body["uid"], json!(2340));
    assert_eq!(errcode(&read(&s, access, "/v3/lock/list", &[("pageNo", "1"), ("pageSize", "20")])), 0);

    // Snake-case client credentials, grant_type=password, and parameters in
    // the query string of a POST all work.
    let r = s.handle(&request(
        "POST",
        &format!("/oauth2/token?{}", encode(&[("client_id", APP_ID), ("client_secret", APP_SECRET)])),
        Some(FORM),
        &encode(&[
            ("grant_type", "password"),
            ("username", "+4915112345678"),
            ("password", "2d4c89a9bb17261cc348b6098ebe0aef"),
        ]),
    ));
    assert_eq!(errcode(&r), 0, "{}", r.json_body());
    assert_eq!(r.json_body()["uid"], json!(2341));
}

#[test]
fn token_errors_are_http_200_with_errcode() {
    let s = stub();
    let grant = |id: &str, secret: &str, user: &str, pw: &str| {
        errcode(&post(
            &s,
            "/oauth2/token",
            &[("clientId", id), ("clientSecret", secret), ("username", user), ("password", pw)],
        ))
    };
    assert_eq!(grant(APP_ID, APP_SECRET, USER, WRONG_MD5), 10007, "wrong password");
    assert_eq!(grant(APP_ID, APP_SECRET, "nobody@example.com", S3CRET_MD5), 10007, "unknown user");
    assert_eq!(grant(APP_ID, APP_SECRET, USER, &S3CRET_MD5.to_uppercase()), 10007, "upper-case digest");
    assert_eq!(grant(APP_ID, APP_SECRET, USER, "s3cret"), 30005, "plain password");
    assert_eq!(grant(APP_ID, "nope", USER, S3CRET_MD5), 10001);
    assert_eq!(grant("other-app", APP_SECRET, USER, S3CRET_MD5), 10000);
    assert_eq!(grant(APP_ID, APP_SECRET, "", S3CRET_MD5), -3);
    let r = post(
        &s,
        "/oauth2/token",
        &[("clientId", APP_ID), ("clientSecret", APP_SECRET), ("grant_type", "client_credentials")],
    );
    assert_eq!(errcode(&r), -3);
    let body = r.json_body();
    assert!(body["errmsg"].is_string() && body["description"].is_string());

    // A JSON body is not read at all: TTLock takes forms.
    let json_body = json!({"clientId": APP_ID, "clientSecret": APP_SECRET, "username": USER, "password": S3CRET_MD5});
    let r = s.handle(&request("POST", "/oauth2/token", Some("application/json"), &json_body.to_string()));
    assert_eq!(errcode(&r), 10000);
    assert_eq!(s.handle(&request("GET", "/oauth2/token", None, "")).status, 405);
}

#[test]
fn refresh_grant_rotates_both_tokens() {
    let s = stub();
    let first = password_grant(&s);
    let (access, refresh) = (first["access_token"].as_str().expect("a"), first["refresh_token"].as_str().expect("r"));
    let refresh_with = |rt: &str| {
        post(
            &s,
            "/oauth2/token",
            &[
                ("clientId", APP_ID),
                ("clientSecret", APP_SECRET),
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
            ],
        )
    };
    let r = refresh_with(refresh);
    assert_eq!(errcode(&r), 0);
    let body = r.json_body();
    assert_eq!(body["expires_in"], json!(7_776_000));
    assert!(body.get("uid").is_none(), "the refresh answer has only the documented fields");
    let new_access = body["access_token"].as_str().expect("access_token");
    assert_ne!(new_access, access);
    let list = [("pageNo", "1"), ("pageSize", "20")];
    assert_eq!(errcode(&read(&s, new_access, "/v3/lock/list", &list)), 0);
    assert_eq!(errcode(&read(&s, access, "/v3/lock/list", &list)), 10004, "the old access token is revoked");
    assert_eq!(errcode(&refresh_with(refresh)), 10011, "a refresh token works once");
    assert_eq!(errcode(&refresh_with("0123456789abcdef0123456789abcdef")), 10011);
    let new_refresh = body["refresh_token"].as_str().expect("refresh_token");
    assert_eq!(errcode(&refresh_with(new_refresh)), 0);
}

#[test]
fn tokens_expire_after_90_days_of_simulated_time() {
    let s = stub();
    let body = password_grant(&s);
    let tok = body["access_token"].as_str().expect("tok");
    let list = [("pageNo", "1"), ("pageSize", "20")];
    s.set_time(t0() + TOKEN_LIFETIME - 1);
    assert_eq!(errcode(&read(&s, tok, "/v3/lock/list", &list)), 0);
    s.set_time(t0() + TOKEN_LIFETIME);
    let r = read(&s, tok, "/v3/lock/list", &list);
    assert_eq!((errcode(&r), r.json_body()["errmsg"].clone()), (10004, json!("invalid grant")));
    let r = read(&s, "0123456789abcdef0123456789abcdef", "/v3/lock/list", &list);
    assert_eq!((errcode(&r), r.json_body()["errmsg"].clone()), (10003, json!("invalid token")));
    let r =
        get(&s, "/v3/lock/list", &[("clientId", APP_ID), ("date", &now_ms(&s)), ("pageNo", "1"), ("pageSize", "20")]);
    assert_eq!(errcode(&r), 10003, "no token at all");

    // The refresh token outlives it, for 10 years.
    let rt = body["refresh_token"].as_str().expect("rt");
    let r = post(
        &s,
        "/oauth2/token",
        &[("clientId", APP_ID), ("clientSecret", APP_SECRET), ("grant_type", "refresh_token"), ("refresh_token", rt)],
    );
    assert_eq!(errcode(&r), 0);
    let rt = r.json_body()["refresh_token"].as_str().expect("rt").to_string();
    s.set_time(s.now() + REFRESH_LIFETIME);
    let r = post(
        &s,
        "/oauth2/token",
        &[("clientId", APP_ID), ("clientSecret", APP_SECRET), ("grant_type", "refresh_token"), ("refresh_token", &rt)],
    );
    assert_eq!(errcode(&r), 10011);

    let tok = token(&s);
    s.revoke_tokens();
    assert_eq!(errcode(&read(&s, &tok, "/v3/lock/list", &list)), 10004);
}

#[test]
fn date_must_be_within_5_minutes_of_the_stub_clock() {
    let s = stub();
    let tok = token(&s);
    s.set_time(t0() + 86_400);
    let call = |date: String| {
        errcode(&get(
            &s,
            "/v3/lock/list",
            &[("clientId", APP_ID), ("accessToken", &tok), ("date", &date), ("pageNo", "1"), ("pageSize", "20")],
        ))
    };
    let now = s.now() * 1000;
    assert_eq!(call(now.to_string()), 0);
    assert_eq!(call((now - DATE_TOLERANCE_MS).to_string()), 0);
    assert_eq!(call((now + DATE_TOLERANCE_MS).to_string()), 0);
    assert_eq!(call((now + DATE_TOLERANCE_MS + 1).to_string()), 80000);
    assert_eq!(call((t0() * 1000).to_string()), 80000, "the stub's clock, not the wall clock");
    assert_eq!(call(s.now().to_string()), 80000, "seconds are not milliseconds");
    assert_eq!(call("soon".into()), -3);
    assert_eq!(call(String::new()), -3);
    assert_eq!(call(i64::MIN.to_string()), 80000);
}

#[test]
fn client_id_is_checked_on_every_call() {
    let s = stub();
    let tok = token(&s);
    let r = get(
        &s,
        "/v3/lock/list",
        &[("clientId", "nope"), ("accessToken", &tok), ("date", &now_ms(&s)), ("pageNo", "1"), ("pageSize", "20")],
    );
    assert_eq!(errcode(&r), 10000);
}

// ---------------------------------------------------------------- locks

#[test]
fn lock_list_pages_and_shapes() {
    let s = stub();
    let tok = token(&s);
    let page =
        |no: &str, size: &str| read(&s, &tok, "/v3/lock/list", &[("pageNo", no), ("pageSize", size)]).json_body();
    let p1 = page("1", "2");
    assert_eq!(
        (p1["pageNo"].clone(), p1["pageSize"].clone(), p1["pages"].clone(), p1["total"].clone()),
        (json!(1), json!(2), json!(3), json!(5))
    );
    assert_eq!(p1["list"].as_array().map(Vec::len), Some(2));
    assert_eq!(page("3", "2")["list"].as_array().map(Vec::len), Some(1));
    assert_eq!(page("4", "2")["list"], json!([]));
    let all = page("1", "1000")["list"].as_array().expect("list").clone();
    assert_eq!(all.len(), 5);

    let studio = &all[0];
    assert_eq!(studio["lockId"], json!(532_323), "lockId is a number on the wire");
    assert_eq!(studio["lockAlias"], json!("Studio door"));
    assert!(studio["lockName"].as_str().expect("lockName").starts_with("YS1003_"));
    assert_eq!(studio["hasGateway"], json!(1));
    assert!(studio["electricQuantity"].is_number());
    assert!(studio["lockMac"].as_str().expect("mac").len() == 17);
    let feature = |v: &Value| u64::from_str_radix(v["featureValue"].as_str().expect("featureValue"), 16).expect("hex");
    assert_eq!((feature(studio) >> 56) & 1, 0);
    assert_eq!((feature(&all[2]) >> 56) & 1, 1, "the Wi-Fi lock has bit 56");
    assert_eq!(all[2]["hasGateway"], json!(0));
    assert_eq!(all[3]["hasGateway"], json!(0));
    assert_eq!(all[4]["hasGateway"], json!(1), "a gateway that just went offline is still linked");

    let r = read(&s, &tok, "/v3/lock/list", &[("pageNo", "1"), ("pageSize", "20"), ("lockAlias", "door")]);
    assert_eq!(r.json_body()["total"], json!(3));
    for bad in [
        [("pageNo", "1"), ("pageSize", "1001")],
        [("pageNo", "0"), ("pageSize", "20")],
        [("pageNo", "1"), ("pageSize", "x")],
    ] {
        assert_eq!(errcode(&read(&s, &tok, "/v3/lock/list", &bad)), -3, "{bad:?}");
    }
    assert_eq!(errcode(&read(&s, &tok, "/v3/lock/list", &[("pageSize", "20")])), -3, "pageNo is required");
}

#[test]
fn lock_detail_has_offset_and_admin_secrets() {
    let s = stub();
    let tok = token(&s);
    let r = read(&s, &tok, "/v3/lock/detail", &[("lockId", L2)]);
    assert_eq!(errcode(&r), 0);
    let d = r.json_body();
    assert_eq!(d["lockId"], json!(532_324));
    assert_eq!(d["timezoneRawOffset"], json!(3_600_000));
    assert_eq!(d["keyboardPwdVersion"], json!(4));
    let secrets = s.lock_secrets(L2);
    assert_eq!(secrets.len(), 5);
    for (field, secret) in ["noKeyPwd", "adminPwd", "lockKey", "aesKeyStr", "lockData"].iter().zip(&secrets) {
        assert_eq!(d[field].as_str(), Some(secret.as_str()), "{field}");
        assert!(secret.len() >= 7, "{field} looks real");
    }
    assert_ne!(s.lock_secrets(L1), secrets, "every lock has its own keys");
    assert!(s.lock_secrets("1").is_empty());
    assert_eq!(errcode(&read(&s, &tok, "/v3/lock/detail", &[("lockId", "1")])), -1003);
    assert_eq!(errcode(&read(&s, &tok, "/v3/lock/detail", &[("lockId", "abc")])), -3);
    assert_eq!(errcode(&read(&s, &tok, "/v3/lock/detail", &[])), -3);
}

// ------------------------------------------------------------- gateways

#[test]
fn gateway_views_go_stale_as_documented() {
    let s = stub();
    let tok = token(&s);
    let gateways = |s: &Ttlock| {
        read(s, &tok, "/v3/gateway/list", &[("pageNo", "1"), ("pageSize", "20"), ("orderBy", "2")]).json_body()["list"]
            .clone()
    };
    let by_lock = |s: &Ttlock, lock: &str| {
        read(s, &tok, "/v3/gateway/listByLock", &[("lockId", lock)]).json_body()["list"].clone()
    };
    let has_gateway = |s: &Ttlock| {
        read(s, &tok, "/v3/lock/detail", &[("lockId", L1)]).json_body()["hasGateway"].as_i64().expect("hasGateway")
    };

    let list = gateways(&s);
    assert_eq!(list[0]["gatewayId"], json!(78_979), "orderBy 2: name descending");
    assert_eq!(list[0]["gatewayName"], json!("G2 hall"));
    assert_eq!(list[0]["isOnline"], json!(1));
    assert_eq!(list[0]["lockNum"], json!(2));
    assert_eq!(list[1]["isOnline"], json!(1), "G2 lost power at the start: still reported online");
    assert_eq!(by_lock(&s, L1)[0]["gatewayId"], json!(78_979));
    assert!(by_lock(&s, L1)[0]["rssi"].is_number());
    assert_eq!(by_lock(&s, WIFI), json!([]));

    s.set_gateway_online(G1, false).expect("gateway");
    s.set_time(t0() + HEARTBEAT - 1);
    assert_eq!(gateways(&s)[0]["isOnline"], json!(1));
    s.set_time(t0() + HEARTBEAT);
    assert_eq!(gateways(&s)[0]["isOnline"], json!(0));
    assert_eq!(has_gateway(&s), 1);
    s.set_time(t0() + LINK_CACHE - 1);
    assert_eq!(has_gateway(&s), 1);
    assert_eq!(by_lock(&s, L1).as_array().map(Vec::len), Some(1));
    s.set_time(t0() + LINK_CACHE);
    assert_eq!(has_gateway(&s), 0);
    assert_eq!(by_lock(&s, L1), json!([]));
    assert_eq!(gateways(&s)[0]["lockNum"], json!(0));

    s.set_gateway_online(G1, true).expect("gateway");
    assert_eq!(has_gateway(&s), 1);
    assert_eq!(gateways(&s)[0]["isOnline"], json!(1));

    let r = read(&s, &tok, "/v3/gateway/listLock", &[("gatewayId", G1)]);
    let locks: Vec<Value> =
        r.json_body()["list"].as_array().expect("list").iter().map(|l| l["lockId"].clone()).collect();
    assert_eq!(locks, vec![json!(532_323), json!(532_324)]);
    let r = read(&s, &tok, "/v3/gateway/detail", &[("gatewayId", G1)]);
    assert_eq!(r.json_body()["gatewayName"], json!("G2 hall"));
    assert_eq!(errcode(&read(&s, &tok, "/v3/gateway/detail", &[("gatewayId", "5")])), -4037);
    assert_eq!(errcode(&read(&s, &tok, "/v3/gateway/listLock", &[("gatewayId", "5")])), -4037);
    assert_eq!(errcode(&read(&s, &tok, "/v3/gateway/listByLock", &[("lockId", "5")])), -1003);
    let newest = read(&s, &tok, "/v3/gateway/list", &[("pageNo", "1"), ("pageSize", "20")]).json_body();
    assert_eq!(newest["list"][0]["gatewayId"], json!(78_980), "orderBy defaults to newest first");
    assert_eq!(errcode(&read(&s, &tok, "/v3/gateway/list", &[("pageNo", "1"), ("pageSize", "201")])), -3);

    assert_eq!(s.set_gateway_online("1", true), Err(StubError::UnknownGateway("1".into())));
}

// ------------------------------------------------------------ passcodes

#[test]
fn add_through_the_gateway_is_on_the_lock_at_once() {
    let s = stub();
    let tok = token(&s);
    s.set_time(t0() + 7);
    let id = add_ok(&s, &tok, L1, "482957");
    let pins = s.pins();
    assert_eq!(pins.len(), 1);
    let (start, end) = stay();
    let p = &pins[0];
    assert_eq!(
        (p.provider, p.lock.as_str(), p.pin.as_str(), p.access_name.as_str()),
        ("ttlock", L1, "482957", "Bk 4711 Meier")
    );
    assert_eq!((p.start, p.end), (start / 1000, end / 1000));
    assert_eq!((p.added_at, p.removed_at), (t0() + 7, None));
    assert!(s.opens(L1, "482957", start / 1000));
    assert!(!s.opens(L1, "482957", start / 1000 - 1));
    assert!(!s.opens(L1, "482957", end / 1000));
    assert!(!s.opens(L2, "482957", start / 1000));

    let code = list_codes(&s, &tok, L1).into_iter().find(|c| c["keyboardPwdId"] == json!(id)).expect("listed");
    assert_eq!(code["keyboardPwd"], json!("482957"));
    assert_eq!(code["keyboardPwdType"], json!("3"), "a string, as in the doc's example");
    assert_eq!(code["isCustom"], json!(1));
    assert_eq!((code["startDate"].clone(), code["endDate"].clone()), (json!(start), json!(end)));
    assert_eq!(code["senderUsername"], json!(USER));
    assert_eq!(code["lockId"], json!(532_323));

    // Validity is kept to the minute; leading zeros survive.
    let (start, end) = ((start + 59_999).to_string(), (end + 30_000).to_string());
    let r = write(
        &s,
        &tok,
        "/v3/keyboardPwd/add",
        &[("lockId", L2), ("keyboardPwd", "034234"), ("startDate", &start), ("endDate", &end), ("addType", "2")],
    );
    assert_eq!(errcode(&r), 0);
    let p = s.pins().pop().expect("pin");
    assert_eq!((p.pin.as_str(), p.start, p.end), ("034234", stay().0 / 1000, stay().1 / 1000));

    // A Wi-Fi lock needs no gateway.
    assert_eq!(errcode(&add(&s, &tok, WIFI, "582041", Some("2"))), 0);
    assert_eq!(on_lock(&s, WIFI), vec!["582041".to_string()]);
}

#[test]
fn a_cloud_only_add_never_reaches_the_lock() {
    let s = stub();
    let tok = token(&s);
    for add_type in [None, Some("1")] {
        let pwd = if add_type.is_none() { "482957" } else { "582957" };
        let r = add(&s, &tok, L1, pwd, add_type);
        assert_eq!(errcode(&r), 0);
        assert!(r.json_body()["keyboardPwdId"].is_i64(), "it looks like a success");
        assert!(list_codes(&s, &tok, L1).iter().any(|c| c["keyboardPwd"] == json!(pwd)), "and is listed");
    }
    assert!(s.pins().is_empty(), "but nothing is on the lock");
    assert!(!s.opens(L1, "482957", stay().0 / 1000 + 60));
    // It even works on a lock nothing can reach.
    assert_eq!(errcode(&add(&s, &tok, BARE, "682957", None)), 0);
    assert!(s.pins().is_empty());
    assert_eq!(errcode(&add(&s, &tok, L1, "782957", Some("4"))), -4043);
    assert_eq!(errcode(&add(&s, &tok, L1, "782957", Some("7"))), -3);
}

#[test]
fn gateway_state_decides_the_add() {
    let s = stub();
    let tok = token(&s);
    assert_eq!(errcode(&add(&s, &tok, BARE, "482957", Some("2"))), -2012, "no gateway, not Wi-Fi");
    let r = add(&s, &tok, L5, "482957", Some("2"));
    assert_eq!(errcode(&r), -3002, "G2 is offline but still linked");
    assert_eq!(r.json_body()["errmsg"], json!("The Gateway is offline. Please check and try again."));

    s.set_gateway_online(G1, false).expect("gateway");
    s.set_time(t0() + 60);
    assert_eq!(errcode(&add(&s, &tok, L1, "482957", Some("2"))), -3002, "offline at once, even while isOnline is 1");
    s.set_time(t0() + LINK_CACHE);
    assert_eq!(errcode(&add(&s, &tok, L1, "482957", Some("2"))), -2012, "the link expired");
    assert!(s.pins().is_empty(), "nothing was queued");
    s.set_gateway_online(G1, true).expect("gateway");
    assert_eq!(errcode(&add(&s, &tok, L1, "482957", Some("2"))), 0);
    assert_eq!(on_lock(&s, L1), vec!["482957".to_string()]);
}

#[test]
fn a_busy_gateway_answers_3003() {
    let s = stub();
    let tok = token(&s);
    s.set_command_delay(Duration::from_millis(1500));
    let (tx, rx) = mpsc::channel();
    let (s2, tok2) = (s.clone(), tok.clone());
    let first = thread::spawn(move || {
        tx.send(()).expect("send");
        errcode(&add(&s2, &tok2, L1, "482957", Some("2")))
    });
    rx.recv().expect("started");
    thread::sleep(Duration::from_millis(300));
    // Same gateway (L2 is on G1 too): busy. Another route is not.
    assert_eq!(errcode(&add(&s, &tok, L2, "582957", Some("2"))), -3003);
    assert_eq!(on_lock(&s, L1), Vec::<String>::new(), "the first write is still in flight");
    assert_eq!(errcode(&add(&s, &tok, L1, "682957", None)), 0, "cloud-only writes need no gateway");
    assert_eq!(first.join().expect("thread"), 0);
    assert_eq!(on_lock(&s, L1), vec!["482957".to_string()]);
    s.set_command_delay(Duration::ZERO);
    assert_eq!(errcode(&add(&s, &tok, L2, "582957", Some("2"))), 0, "free again");
}

#[test]
fn a_gateway_lost_mid_write_fails_it() {
    let s = stub();
    let tok = token(&s);
    s.set_command_delay(Duration::from_millis(1000));
    let (s2, tok2) = (s.clone(), tok.clone());
    let write = thread::spawn(move || errcode(&add(&s2, &tok2, L1, "482957", Some("2"))));
    thread::sleep(Duration::from_millis(300));
    s.set_gateway_online(G1, false).expect("gateway");
    assert_eq!(write.join().expect("thread"), -3002);
    assert!(s.pins().is_empty());
}

#[test]
fn passcode_rules() {
    let s = stub();
    let tok = token(&s);
    for bad in ["123", "1234567890", "48a957", "４８２９５７"] {
        assert_eq!(errcode(&add(&s, &tok, L1, bad, Some("2"))), -3006, "{bad}");
    }
    for simple in ["111111", "123456", "987654", "0000"] {
        assert_eq!(errcode(&add(&s, &tok, L1, simple, Some("2"))), -2032, "{simple}");
    }
    assert_eq!(errcode(&add(&s, &tok, "999", "482957", Some("2"))), -1003);

    add_ok(&s, &tok, L1, "482957");
    let r = add(&s, &tok, L1, "482957", Some("2"));
    assert_eq!(errcode(&r), -3007);
    assert_eq!(r.json_body()["errmsg"], json!("The same passcode already exists. Please use another one."));
    assert_eq!(errcode(&add(&s, &tok, L1, "482957", None)), -3007, "taken for cloud-only adds too");
    assert_eq!(errcode(&add(&s, &tok, L2, "482957", Some("2"))), 0, "other locks are separate");

    // A code set by hand in the TTLock app is taken too (R8).
    let id = s.set_passcode_by_hand(L1, "736194", t0(), t0() + 86_400).expect("by hand");
    assert_eq!(errcode(&add(&s, &tok, L1, "736194", Some("2"))), -3007);
    assert!(list_codes(&s, &tok, L1).iter().any(|c| c["keyboardPwdId"] == json!(id)));
    assert!(s.opens(L1, "736194", t0() + 60));
    assert!(matches!(s.set_passcode_by_hand(L1, "736194", t0(), t0() + 60), Err(StubError::InvalidPasscode(_))));
    assert!(matches!(s.set_passcode_by_hand("1", "736194", t0(), t0() + 60), Err(StubError::UnknownLock(_))));

    // Windows: both dates required for type 3, not empty, not over.
    let (start, end) = (stay().0.to_string(), stay().1.to_string());
    let past = ((t0() - 60) * 1000).to_string();
    for params in [
        vec![("startDate", start.as_str())],
        vec![("startDate", end.as_str()), ("endDate", start.as_str())],
        vec![("startDate", past.as_str()), ("endDate", past.as_str())],
        vec![("startDate", start.as_str()), ("endDate", end.as_str()), ("keyboardPwdType", "1")],
        vec![("startDate", start.as_str()), ("endDate", end.as_str()), ("keyboardPwdName", &"x".repeat(51))],
    ] {
        let mut all = vec![("lockId", L2), ("keyboardPwd", "592715"), ("addType", "2")];
        all.extend(params.iter().copied());
        assert_eq!(errcode(&write(&s, &tok, "/v3/keyboardPwd/add", &all)), -3, "{params:?}");
    }
    // A permanent code needs no dates.
    let r = write(
        &s,
        &tok,
        "/v3/keyboardPwd/add",
        &[("lockId", L2), ("keyboardPwd", "592715"), ("keyboardPwdType", "2"), ("addType", "2")],
    );
    assert_eq!(errcode(&r), 0);
    assert_eq!(s.pins().last().map(|p| p.end), Some(PERMANENT_END));
}

#[test]
fn a_lock_holds_at_most_250_custom_passcodes() {
    let s = stub();
    let tok = token(&s);
    for i in 0..MAX_CUSTOM_PASSCODES {
        assert_eq!(errcode(&add(&s, &tok, WIFI, &format!("{}", 500_000 + i * 7), None)), 0);
    }
    assert_eq!(errcode(&add(&s, &tok, WIFI, "482957", Some("2"))), -3009);
}

#[test]
fn change_moves_the_window_in_place() {
    let s = stub();
    let tok = token(&s);
    let id = add_ok(&s, &tok, L1, "482957").to_string();
    s.set_time(t0() + 3600);
    let (start, end) = stay();
    let (new_start, new_end) = ((start + 86_400_000).to_string(), (end + 86_400_000).to_string());
    let change = |extra: &[(&str, &str)]| {
        let mut params = vec![("lockId", L1), ("keyboardPwdId", id.as_str())];
        params.extend_from_slice(extra);
        write(&s, &tok, "/v3/keyboardPwd/change", &params)
    };

    // Without startDate: success, and nothing changes.
    let r = change(&[("endDate", &new_end), ("changeType", "2")]);
    assert_eq!(errcode(&r), 0);
    assert_eq!(r.json_body()["errmsg"], json!("none error message or means yes"));
    assert_eq!(s.pins().len(), 1);

    // changeType 1 (the default) changes the cloud record only.
    assert_eq!(errcode(&change(&[("startDate", &new_start), ("endDate", &new_end)])), 0);
    let listed = list_codes(&s, &tok, L1).into_iter().find(|c| c["keyboardPwd"] == json!("482957")).expect("listed");
    assert_eq!(listed["startDate"], json!(start + 86_400_000));
    assert_eq!(s.pins().len(), 1);
    assert_eq!(s.pins()[0].start, start / 1000, "the lock still has the old window");

    // changeType 2 through the gateway: old entry removed, new one added.
    assert_eq!(errcode(&change(&[("startDate", &new_start), ("endDate", &new_end), ("changeType", "2")])), 0);
    let pins = s.pins();
    assert_eq!(pins.len(), 2);
    assert_eq!((pins[0].start, pins[0].removed_at), (start / 1000, Some(t0() + 3600)));
    assert_eq!(
        (pins[1].pin.as_str(), pins[1].start, pins[1].end),
        ("482957", start / 1000 + 86_400, end / 1000 + 86_400)
    );
    assert_eq!((pins[1].added_at, pins[1].removed_at), (t0() + 3600, None));
    assert!(s.opens(L1, "482957", end / 1000 + 3600));

    // The same window again changes nothing on the lock.
    assert_eq!(errcode(&change(&[("startDate", &new_start), ("endDate", &new_end), ("changeType", "2")])), 0);
    assert_eq!(s.pins().len(), 2);

    // Gateway offline: -3002 and the lock keeps its window.
    s.set_gateway_online(G1, false).expect("gateway");
    let r = change(&[("startDate", &start.to_string()), ("endDate", &end.to_string()), ("changeType", "2")]);
    assert_eq!(errcode(&r), -3002);
    assert_eq!(s.pins().len(), 2);
    s.set_gateway_online(G1, true).expect("gateway");

    // A new PIN in place, checked like an add.
    s.set_passcode_by_hand(L1, "736194", t0(), t0() + 86_400).expect("by hand");
    assert_eq!(errcode(&change(&[("newKeyboardPwd", "736194"), ("changeType", "2")])), -3007);
    assert_eq!(errcode(&change(&[("newKeyboardPwd", "592716"), ("changeType", "2")])), 0);
    assert_eq!(on_lock(&s, L1), vec!["736194".to_string(), "592716".to_string()]);

    assert_eq!(errcode(&change(&[("keyboardPwdId", "1"), ("changeType", "2")])), -2009);
    assert_eq!(errcode(&change(&[("changeType", "3")])), -4043);
    s.set_change_needs_prior_use(true);
    assert_eq!(errcode(&change(&[("startDate", &new_start), ("endDate", &new_end), ("changeType", "2")])), -3008);
}

#[test]
fn a_cloud_only_code_cannot_be_changed_on_the_lock() {
    let s = stub();
    let tok = token(&s);
    let r = add(&s, &tok, L1, "482957", None);
    let id = r.json_body()["keyboardPwdId"].as_i64().expect("id").to_string();
    let (start, end) = ((stay().0 + 3_600_000).to_string(), (stay().1 + 3_600_000).to_string());
    let r = write(
        &s,
        &tok,
        "/v3/keyboardPwd/change",
        &[("lockId", L1), ("keyboardPwdId", &id), ("startDate", &start), ("endDate", &end), ("changeType", "2")],
    );
    assert_eq!(errcode(&r), -3008);
    assert!(s.pins().is_empty());
}

#[test]
fn delete_through_the_gateway_empties_the_slot() {
    let s = stub();
    let tok = token(&s);
    let a = add_ok(&s, &tok, L1, "482957").to_string();
    let b = add_ok(&s, &tok, L1, "582957").to_string();
    s.set_time(t0() + 600);
    let delete = |id: &str, delete_type: Option<&str>| {
        let mut params = vec![("lockId", L1), ("keyboardPwdId", id)];
        if let Some(t) = delete_type {
            params.push(("deleteType", t));
        }
        errcode(&write(&s, &tok, "/v3/keyboardPwd/delete", &params))
    };

    s.set_gateway_online(G1, false).expect("gateway");
    assert_eq!(delete(&a, Some("2")), -3002);
    s.set_gateway_online(G1, true).expect("gateway");
    assert_eq!(delete(&a, Some("2")), 0);
    let pins = s.pins();
    assert_eq!(pins[0].removed_at, Some(t0() + 600));
    assert!(!s.opens(L1, "482957", stay().0 / 1000 + 60));
    assert_eq!(delete(&a, Some("2")), -2009, "already gone");

    // deleteType 1 (the default) forgets the code in the cloud only: it
    // stays on the lock, unlisted, and still taken.
    assert_eq!(delete(&b, None), 0);
    assert!(!list_codes(&s, &tok, L1).iter().any(|c| c["keyboardPwd"] == json!("582957")));
    assert_eq!(on_lock(&s, L1), vec!["582957".to_string()]);
    assert_eq!(errcode(&add(&s, &tok, L1, "582957", Some("2"))), -3007);
    assert_eq!(delete(&b, Some("2")), -2009);
    assert_eq!(delete("x", Some("2")), -3);
}

#[test]
fn passcode_list_holds_every_kind_of_code() {
    let s = stub();
    let tok = token(&s);
    add_ok(&s, &tok, L1, "482957");
    let list = list_codes(&s, &tok, L1);
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["keyboardPwd"], json!("482957"), "newest first");
    let random = &list[1];
    assert_eq!(random["isCustom"], json!(0), "the owner's random one-time code");
    assert_eq!(random["keyboardPwdType"], json!("1"));
    assert!(s.pins().len() == 1, "a random code is no PIN in the lock's table");

    let search = |q: &str| {
        read(
            &s,
            &tok,
            "/v3/lock/listKeyboardPwd",
            &[("lockId", L1), ("pageNo", "1"), ("pageSize", "20"), ("orderBy", "0"), ("searchStr", q)],
        )
        .json_body()["total"]
            .clone()
    };
    assert_eq!(search("meier"), json!(1));
    assert_eq!(search("482957"), json!(1));
    assert_eq!(search("4829"), json!(0), "codes match exactly");
    let page = read(
        &s,
        &tok,
        "/v3/lock/listKeyboardPwd",
        &[("lockId", L1), ("pageNo", "2"), ("pageSize", "1"), ("orderBy", "1")],
    )
    .json_body();
    assert_eq!((page["pages"].clone(), page["list"][0]["isCustom"].clone()), (json!(2), json!(0)));
    let base = [("lockId", L1), ("pageNo", "1"), ("pageSize", "20")];
    // Real clients leave `orderBy` out: the list still comes, newest first.
    let unordered = read(&s, &tok, "/v3/lock/listKeyboardPwd", &base).json_body();
    assert_eq!(unordered["total"], json!(2), "listed without orderBy: {unordered}");
    assert_eq!(unordered["list"][0]["keyboardPwd"], json!("482957"), "orderBy defaults to newest first");
    let bad_order = [("lockId", L1), ("pageNo", "1"), ("pageSize", "20"), ("orderBy", "7")];
    assert_eq!(errcode(&read(&s, &tok, "/v3/lock/listKeyboardPwd", &bad_order)), -3, "an unknown orderBy is -3");
    assert_eq!(
        errcode(&read(
            &s,
            &tok,
            "/v3/lock/listKeyboardPwd",
            &[("lockId", L1), ("pageNo", "1"), ("pageSize", "201"), ("orderBy", "1")]
        )),
        -3
    );
    assert_eq!(
        errcode(&read(
            &s,
            &tok,
            "/v3/lock/listKeyboardPwd",
            &[("lockId", "7"), ("pageNo", "1"), ("pageSize", "20"), ("orderBy", "1")]
        )),
        -1003
    );
}

#[test]
fn params_may_come_from_query_and_form_together() {
    let s = stub();
    let tok = token(&s);
    let (start, end) = (stay().0.to_string(), stay().1.to_string());
    let query = encode(&[("clientId", APP_ID), ("accessToken", &tok), ("date", &now_ms(&s))]);
    let body = encode(&[
        ("lockId", L1),
        ("keyboardPwd", "482957"),
        ("startDate", &start),
        ("endDate", &end),
        ("addType", "2"),
    ]);
    let r = s.handle(&request(
        "POST",
        &format!("/v3/keyboardPwd/add?{query}"),
        Some("application/x-www-form-urlencoded; charset=UTF-8"),
        &body,
    ));
    assert_eq!(errcode(&r), 0);
    assert_eq!(on_lock(&s, L1), vec!["482957".to_string()]);
    // A JSON body is ignored: the write misses its parameters.
    let json_body = json!({"lockId": 532_324, "keyboardPwd": "482957"}).to_string();
    let r = s.handle(&request("POST", &format!("/v3/keyboardPwd/add?{query}"), Some("application/json"), &json_body));
    assert_eq!(errcode(&r), -3);
    // Reads are GET, writes POST.
    let r = s.handle(&request("GET", &format!("/v3/keyboardPwd/add?{query}&{body}"), None, ""));
    assert_eq!((r.status, r.header("Allow")), (405, Some("POST")));
}

// ---------------------------------------------------------------- faults

#[test]
fn errcode_faults_answer_200_and_do_nothing() {
    let s = stub();
    let tok = token(&s);
    s.inject_errcode(TtlockEndpoint::PwdAdd, -3003, 2);
    for _ in 0..2 {
        let r = add(&s, &tok, L1, "482957", Some("2"));
        assert_eq!(errcode(&r), -3003);
        assert_eq!(r.json_body()["errmsg"], json!("The Gateway is busy. Please try again later."));
    }
    assert!(s.pins().is_empty());
    assert_eq!(errcode(&add(&s, &tok, L1, "482957", Some("2"))), 0);

    // errcode 0: "success" for a write that never happened.
    let id = list_codes(&s, &tok, L1)[0]["keyboardPwdId"].to_string();
    s.inject_errcode(TtlockEndpoint::PwdDelete, 0, 1);
    let r = write(&s, &tok, "/v3/keyboardPwd/delete", &[("lockId", L1), ("keyboardPwdId", &id), ("deleteType", "2")]);
    assert_eq!(errcode(&r), 0);
    assert_eq!(on_lock(&s, L1), vec!["482957".to_string()], "still on the lock");

    s.inject_errcode(TtlockEndpoint::Token, 10001, 1);
    let r = post(
        &s,
        "/oauth2/token",
        &[("clientId", APP_ID), ("clientSecret", APP_SECRET), ("username", USER), ("password", S3CRET_MD5)],
    );
    assert_eq!(errcode(&r), 10001);
    s.inject_errcode(TtlockEndpoint::LockList, 30006, 1);
    assert_eq!(errcode(&read(&s, &tok, "/v3/lock/list", &[("pageNo", "1"), ("pageSize", "20")])), 30006);
    s.inject_errcode(TtlockEndpoint::Gateway, 90000, 1);
    assert_eq!(errcode(&read(&s, &tok, "/v3/gateway/listByLock", &[("lockId", L1)])), 90000);

    s.inject_errcode(TtlockEndpoint::PwdChange, -3002, 5);
    s.inject_errcode(TtlockEndpoint::PwdChange, -3002, 0);
    let r =
        write(&s, &tok, "/v3/keyboardPwd/change", &[("lockId", L1), ("keyboardPwdId", &id), ("keyboardPwdName", "x")]);
    assert_eq!(errcode(&r), 0, "count 0 disarms");
}

#[test]
fn http_faults_answer_their_status_and_do_nothing() {
    let s = stub();
    let tok = token(&s);
    s.inject_fault(TtlockEndpoint::PwdAdd, 502, 1);
    let r = add(&s, &tok, L1, "482957", Some("2"));
    assert_eq!((r.status, r.header("Content-Type")), (502, Some("text/html")));
    assert!(s.pins().is_empty());
    s.inject_fault(TtlockEndpoint::PwdAdd, 500, 1);
    let r = add(&s, &tok, L1, "482957", Some("2"));
    assert_eq!((r.status, r.json_body()["path"].clone()), (500, json!("/v3/keyboardPwd/add")));
    s.inject_fault(TtlockEndpoint::PwdAdd, 0, 1);
    assert_eq!(add(&s, &tok, L1, "482957", Some("2")).status, 0, "hang");
    assert!(s.pins().is_empty());
    s.inject_fault(TtlockEndpoint::Token, 503, 1);
    let r = post(
        &s,
        "/oauth2/token",
        &[("clientId", APP_ID), ("clientSecret", APP_SECRET), ("username", USER), ("password", S3CRET_MD5)],
    );
    assert_eq!(r.status, 503);
    assert_eq!(errcode(&add(&s, &tok, L1, "482957", Some("2"))), 0);
}

#[test]
fn a_lost_answer_still_carries_the_write_out() {
    let s = stub();
    let tok = token(&s);
    s.inject_lost_answer(TtlockEndpoint::PwdAdd, 1);
    assert_eq!(add(&s, &tok, L1, "482957", Some("2")).status, 0, "the client times out");
    assert_eq!(on_lock(&s, L1), vec!["482957".to_string()], "yet the code is on the lock");
    assert!(list_codes(&s, &tok, L1).iter().any(|c| c["keyboardPwd"] == json!("482957")), "and listed");
    assert_eq!(errcode(&add(&s, &tok, L1, "482957", Some("2"))), -3007, "a blind retry collides with itself");

    s.inject_malformed(TtlockEndpoint::PwdAdd, 1, MalformedKind::Truncated);
    let r = add(&s, &tok, L1, "582957", Some("2"));
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    assert_eq!(on_lock(&s, L1).len(), 2);
}

#[test]
fn endpoint_names_parse() {
    for (name, ep) in [
        ("token", TtlockEndpoint::Token),
        ("lock_list", TtlockEndpoint::LockList),
        ("gateway", TtlockEndpoint::Gateway),
        ("pwd_add", TtlockEndpoint::PwdAdd),
        ("pwd_change", TtlockEndpoint::PwdChange),
        ("pwd_delete", TtlockEndpoint::PwdDelete),
    ] {
        assert_eq!(name.parse::<TtlockEndpoint>(), Ok(ep));
        assert_eq!(ep.to_string(), name);
    }
    assert!(matches!("devices".parse::<TtlockEndpoint>(), Err(StubError::UnknownEndpoint(_))));
}

// ------------------------------------------------------ counts and quota

#[test]
fn every_request_is_counted_per_endpoint() {
    let s = stub();
    assert_eq!(
        serde_json::to_value(s.http_counts()).expect("json"),
        json!({"ttlock.token": 0, "ttlock.lock_list": 0, "ttlock.lock_detail": 0, "ttlock.gateway": 0,
               "ttlock.pwd_add": 0, "ttlock.pwd_change": 0, "ttlock.pwd_delete": 0, "ttlock.pwd_list": 0,
               "ttlock.month_count": 0})
    );
    let tok = token(&s);
    s.inject_fault(TtlockEndpoint::LockList, 500, 1);
    read(&s, &tok, "/v3/lock/list", &[("pageNo", "1"), ("pageSize", "20")]);
    read(&s, &tok, "/v3/lock/list", &[]);
    read(&s, &tok, "/v3/gateway/list", &[]);
    read(&s, &tok, "/v3/gateway/listByLock", &[]);
    add(&s, &tok, BARE, "482957", Some("2"));
    read(&s, &tok, "/v3/nowhere", &[]);
    crate::Service::count_refused(&s, "/v3/keyboardPwd/delete");
    let c = s.http_counts();
    assert_eq!((c["ttlock.token"], c["ttlock.lock_list"], c["ttlock.gateway"], c["ttlock.pwd_add"]), (1, 2, 2, 1));
    assert_eq!((c["ttlock.pwd_delete"], c["ttlock.pwd_change"]), (1, 0));
    assert_eq!(s.http_requests(), 8);
}

#[test]
fn the_monthly_quota_runs_out_and_resets_in_beijing_time() {
    let s = Ttlock::new(config(), ts("2026-03-31T15:00:00Z"));
    s.set_monthly_quota(Some(3));
    let tok = token(&s);
    let list = [("pageNo", "1"), ("pageSize", "20")];
    assert_eq!(errcode(&read(&s, &tok, "/v3/lock/list", &list)), 0);
    assert_eq!(errcode(&read(&s, &tok, "/v3/lock/list", &list)), 0);
    let r = read(&s, &tok, "/v3/lock/list", &list);
    assert_eq!(errcode(&r), 30007);
    let meter =
        || post(&s, "/app/getMonthRequestCount", &[("clientId", APP_ID), ("clientSecret", APP_SECRET)]).json_body();
    assert_eq!(meter(), json!({"monthRequestCount": 3}));
    assert_eq!(errcode(&post(&s, "/app/getMonthRequestCount", &[("clientId", APP_ID), ("clientSecret", "x")])), 10001);
    // 16:00 UTC on the 31st is midnight of April 1st in Beijing.
    s.set_time(ts("2026-03-31T16:00:00Z"));
    assert_eq!(meter(), json!({"monthRequestCount": 0}));
    assert_eq!(errcode(&read(&s, &tok, "/v3/lock/list", &list)), 0);
    assert_eq!(s.month_request_count(), 1);
    s.set_monthly_quota(None);
    for _ in 0..5 {
        assert_eq!(errcode(&read(&s, &tok, "/v3/lock/list", &list)), 0);
    }
}

// ------------------------------------------------------------------ misc

#[test]
fn the_clock_never_moves_backwards() {
    let s = stub();
    s.set_time(t0() + 100);
    s.set_time(t0());
    assert_eq!(s.now(), t0() + 100);
}

#[test]
fn bad_requests_do_not_panic() {
    let s = stub();
    let tok = token(&s);
    for path in
        ["", "/", "%", "x", "/v3/lock/list?%FF%FE=%ZZ", "http://x/v3/lock/list", "/v3/lock/list#frag", "/v3/lock/list/"]
    {
        let r = s.handle(&request("GET", path, Some(FORM), "\u{fffd}&&=&lockId=%FF"));
        assert!(r.status >= 200, "{path}");
    }
    let huge = "9".repeat(40);
    let max = i64::MAX.to_string();
    for (k, v) in [("pageNo", max.as_str()), ("pageSize", huge.as_str()), ("lockId", "-1"), ("lockId", max.as_str())] {
        let r = read(
            &s,
            &tok,
            "/v3/lock/listKeyboardPwd",
            &[("lockId", L1), ("pageNo", "1"), ("pageSize", "20"), ("orderBy", "1"), (k, v)],
        );
        assert_eq!(r.status, 200, "{k}={v}");
    }
    let r = read(&s, &tok, "/v3/lock/list", &[("pageNo", &max), ("pageSize", "1000")]);
    assert_eq!(r.json_body()["list"], json!([]));
    let r = write(
        &s,
        &tok,
        "/v3/keyboardPwd/add",
        &[("lockId", L1), ("keyboardPwd", "482957"), ("startDate", &max), ("endDate", &huge), ("addType", "2")],
    );
    assert_eq!(errcode(&r), -3);
    let r = write(
        &s,
        &tok,
        "/v3/keyboardPwd/add",
        &[
            ("lockId", L1),
            ("keyboardPwd", "482957"),
            ("startDate", &i64::MIN.to_string()),
            ("endDate", &max),
            ("addType", "2"),
        ],
    );
    assert_eq!(errcode(&r), -3);
}

// ------------------------------------------------- offline period passcodes

/// `keyboardPwd/get` for a period code (type 3) with the given window (ms).
fn get_offline(s: &Ttlock, tok: &str, lock: &str, start_ms: i64, end_ms: i64) -> StubResponse {
    let (start, end) = (start_ms.to_string(), end_ms.to_string());
    let params = [
        ("lockId", lock),
        ("keyboardPwdType", "3"),
        ("keyboardPwdVersion", "4"),
        ("keyboardPwdName", "Bk 4711 Meier"),
        ("startDate", start.as_str()),
        ("endDate", end.as_str()),
    ];
    write(s, tok, "/v3/keyboardPwd/get", &params)
}

/// An offline period code: `(keyboardPwd, keyboardPwdId)`.
fn offline_ok(s: &Ttlock, tok: &str, lock: &str, start_ms: i64, end_ms: i64) -> (String, i64) {
    let r = get_offline(s, tok, lock, start_ms, end_ms);
    assert_eq!(errcode(&r), 0, "{}", r.json_body());
    let v = r.json_body();
    (v["keyboardPwd"].as_str().expect("keyboardPwd").to_string(), v["keyboardPwdId"].as_i64().expect("id"))
}

const HOUR_MS: i64 = 3_600_000;

#[test]
fn an_offline_passcode_needs_no_gateway_and_is_recorded_as_offline() {
    let s = stub();
    let tok = token(&s);
    assert!(!s.http_counts().contains_key("ttlock.pwd_get"), "listed only once called");
    s.set_time(t0() + 600);
    let (start, end) = stay();
    // Minutes are floored to the lock's hour, both ends.
    let (code, id) = offline_ok(&s, &tok, BARE, start + 20 * 60_000, end + 30 * 60_000);
    assert!(code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    let p = &s.pins()[0];
    assert_eq!((p.lock.as_str(), p.pin.as_str(), p.kind), (BARE, code.as_str(), crate::PinKind::Offline));
    assert_eq!((p.start, p.end, p.added_at, p.removed_at), (start / 1000, end / 1000, t0() + 600, None));

    // The same window gives the same code and id; nothing new on record.
    assert_eq!(offline_ok(&s, &tok, BARE, start, end), (code.clone(), id));
    assert_eq!(s.pins().len(), 1);
    let listed: Vec<Value> =
        list_codes(&s, &tok, BARE).into_iter().filter(|c| c["keyboardPwdId"] == json!(id)).collect();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0]["isCustom"].clone(), listed[0]["keyboardPwdType"].clone()), (json!(0), json!("3")));
    assert_eq!((listed[0]["startDate"].clone(), listed[0]["endDate"].clone()), (json!(start), json!(end)));

    // A lock whose gateway is offline, and a busy gateway's lock, get theirs at once.
    let (other, _) = offline_ok(&s, &tok, L5, start, end);
    assert_ne!(other, code, "another lock, another code");
    assert_ne!(offline_ok(&s, &tok, BARE, start, end + HOUR_MS).0, code, "another window, another code");
    assert_eq!(s.http_counts()["ttlock.pwd_get"], 4);
}

#[test]
fn an_offline_passcode_opens_if_first_typed_within_24_hours() {
    let s = stub();
    let tok = token(&s);
    let (start, end) = stay();
    let (code, _) = offline_ok(&s, &tok, BARE, start, end);
    let (late, _) = offline_ok(&s, &tok, BARE, start + HOUR_MS, end);
    let (start, end, late_start) = (start / 1000, end / 1000, start / 1000 + 3600);

    assert!(!s.opens(BARE, &code, start - 1));
    assert!(!s.opens(L1, &code, start + 60), "only on its own lock");
    assert!(s.would_open(BARE, &late, late_start + 24 * 3600 - 1), "asking does not type it");
    assert!(s.opens(BARE, &code, start + 3600));
    assert!(s.opens(BARE, &code, start + 40 * 3600), "used in time: opens until the end");
    assert!(!s.opens(BARE, &code, end));
    assert!(!s.opens(BARE, &late, late_start + 24 * 3600), "not typed in time: suspended for good");
    assert!(!s.opens(BARE, &late, late_start + 30 * 3600));
}

#[test]
fn offline_passcode_requests_are_checked() {
    let s = stub();
    let tok = token(&s);
    let (start, end) = stay();
    let get = |params: &[(&str, &str)]| errcode(&write(&s, &tok, "/v3/keyboardPwd/get", params));
    let (st, en) = (start.to_string(), end.to_string());
    assert_eq!(get(&[("lockId", BARE), ("keyboardPwdType", "3"), ("startDate", &st)]), -3, "no end");
    assert_eq!(get(&[("lockId", BARE), ("startDate", &st), ("endDate", &en)]), -3, "no type");
    for t in ["1", "2", "4", "5"] {
        assert_eq!(get(&[("lockId", BARE), ("keyboardPwdType", t), ("startDate", &st), ("endDate", &en)]), -3);
    }
    let v3 =
        [("lockId", BARE), ("keyboardPwdType", "3"), ("keyboardPwdVersion", "3"), ("startDate", &st), ("endDate", &en)];
    assert_eq!(get(&v3), -3);
    // The current page leaves keyboardPwdVersion out: accepted.
    assert_eq!(get(&[("lockId", BARE), ("keyboardPwdType", "3"), ("startDate", &st), ("endDate", &en)]), 0);
    assert_eq!(errcode(&get_offline(&s, &tok, "999999", start, end)), -1003);
    assert_eq!(errcode(&get_offline(&s, &tok, BARE, start, start + 30 * 60_000)), -3, "empty once floored");
    assert_eq!(errcode(&get_offline(&s, &tok, BARE, end, start)), -3);
    assert_eq!(errcode(&get_offline(&s, &tok, BARE, t0() * 1000 - 48 * HOUR_MS, t0() * 1000 - HOUR_MS)), -3);
    let a_year = 365 * 24 * HOUR_MS;
    assert_eq!(errcode(&get_offline(&s, &tok, BARE, start, start + a_year)), 0, "2026-27: 365 days is a year");
    assert_eq!(errcode(&get_offline(&s, &tok, BARE, start, start + a_year + HOUR_MS)), -3);
    assert_eq!(errcode(&get_offline(&s, &tok, BARE, i64::MAX - 5, i64::MAX)), -3);
    assert_eq!(errcode(&get_offline(&s, &tok, BARE, i64::MIN, i64::MAX)), -3);
    s.set_passcode_data(WIFI, false).expect("lock");
    assert_eq!(errcode(&get_offline(&s, &tok, WIFI, start, end)), -1007);
    assert!(matches!(s.set_passcode_data("1", false), Err(StubError::UnknownLock(_))));
    // The usual checks of every call still apply.
    let r = post(&s, "/v3/keyboardPwd/get", &[("clientId", APP_ID), ("accessToken", "nope"), ("date", &now_ms(&s))]);
    assert_eq!(errcode(&r), 10003);
    assert_eq!(s.handle(&request("GET", "/v3/keyboardPwd/get", None, "")).status, 405);
}

#[test]
fn an_offline_passcode_is_deleted_from_the_lock_only_after_use_and_through_the_gateway() {
    let s = stub();
    let tok = token(&s);
    let (start, end) = stay();
    let (code, id) = offline_ok(&s, &tok, L1, start, end);
    let id = id.to_string();
    let delete = |lock: &str, id: &str, delete_type: &str| {
        let params = [("lockId", lock), ("keyboardPwdId", id), ("deleteType", delete_type)];
        errcode(&write(&s, &tok, "/v3/keyboardPwd/delete", &params))
    };
    let at = start / 1000 + 3600;

    assert_eq!(delete(L1, &id, "2"), 1, "never used: cannot be deleted");
    assert!(s.would_open(L1, &code, at), "still good");
    s.set_gateway_online(G1, false).expect("gateway");
    assert!(s.opens(L1, &code, at), "no gateway needed to open");
    assert_eq!(delete(L1, &id, "2"), -3002, "the delete needs the gateway");
    s.set_gateway_online(G1, true).expect("gateway");
    s.set_time(at + 60);
    assert_eq!(delete(L1, &id, "2"), 0, "used: deleted from the lock");
    assert_eq!(s.pins()[0].removed_at, Some(at + 60));
    assert!(!s.opens(L1, &code, at + 120));
    assert_eq!(errcode(&get_offline(&s, &tok, L1, start, end)), -1026, "the window is burnt");

    // deleteType 1 forgets the cloud record only: the lock keeps the code.
    let (kept, kept_id) = offline_ok(&s, &tok, BARE, start, end);
    assert_eq!(delete(BARE, &kept_id.to_string(), "1"), 0);
    assert!(!list_codes(&s, &tok, BARE).iter().any(|c| c["keyboardPwdId"] == json!(kept_id)));
    assert!(s.opens(BARE, &kept, at + 120));
    assert_eq!(s.pins()[1].removed_at, None);
    assert_eq!(errcode(&get_offline(&s, &tok, BARE, start, end)), -1026);
}

#[test]
fn an_offline_passcode_changes_only_after_use() {
    let s = stub();
    let tok = token(&s);
    let (start, end) = stay();
    let (code, id) = offline_ok(&s, &tok, L1, start, end);
    let id = id.to_string();
    let (new_end, st) = ((end + 2 * HOUR_MS).to_string(), start.to_string());
    let change = || {
        let params =
            [("lockId", L1), ("keyboardPwdId", &id), ("changeType", "2"), ("startDate", &st), ("endDate", &new_end)];
        errcode(&write(&s, &tok, "/v3/keyboardPwd/change", &params))
    };
    assert_eq!(change(), -3008, "never used on the lock");
    let at = start / 1000 + 600;
    s.set_time(at);
    assert!(s.opens(L1, &code, at));
    assert_eq!(change(), 0);
    let pins = s.pins();
    assert_eq!(pins.len(), 2);
    assert_eq!((pins[1].kind, pins[1].end, pins[1].removed_at), (crate::PinKind::Offline, end / 1000 + 7200, None));
    assert!(s.opens(L1, &code, end / 1000 + 3600), "moved, and still counted as used");
}

#[test]
fn offline_passcode_faults() {
    let s = stub();
    let tok = token(&s);
    let (start, end) = stay();
    let world = crate::World::from_stubs(None, None, Some(s.clone()));
    let fault = crate::Fault { endpoint: "pwd_get".into(), count: 1, errcode: Some(90000), ..Default::default() };
    world.inject_fault(crate::Vendor::Ttlock, &fault).expect("fault");
    assert_eq!(errcode(&get_offline(&s, &tok, BARE, start, end)), 90000);
    s.inject_fault(TtlockEndpoint::PwdGet, 502, 1);
    assert_eq!(get_offline(&s, &tok, BARE, start, end).status, 502);
    assert!(s.pins().is_empty(), "faulted calls issue nothing");
    s.inject_malformed(TtlockEndpoint::PwdGet, 1, MalformedKind::Malformed);
    assert!(serde_json::from_slice::<Value>(&get_offline(&s, &tok, BARE, start, end).body).is_err());
    assert_eq!(s.pins().len(), 1, "a spoiled answer, the code issued");
    let (code, _) = offline_ok(&s, &tok, BARE, start, end);
    assert_eq!(s.pins()[0].pin, code, "the identical retry gets it back");
    assert_eq!(s.http_counts()["ttlock.pwd_get"], 4);
    assert_eq!("pwd_get".parse::<TtlockEndpoint>(), Ok(TtlockEndpoint::PwdGet));
}

/// The fallback over loopback HTTP through a world, as a host would: the
/// gateway is offline, the code comes anyway, and a guest's typing is
/// judged through `/_admin/try-pin`.
#[test]
fn an_offline_passcode_over_http_while_the_gateway_is_offline() {
    let world = crate::World::from_stubs(None, None, Some(stub()));
    let server = crate::StubServer::start(world).expect("start");
    let base = server.base_url();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .http_status_as_error(false)
        .build()
        .into();
    let json_of = |r: Result<ureq::http::Response<ureq::Body>, ureq::Error>| -> Value {
        let mut r = r.expect("answer");
        assert_eq!(r.status().as_u16(), 200);
        serde_json::from_str(&r.body_mut().read_to_string().expect("body")).expect("json")
    };
    let admin = |path: &str, body: Value| json_of(agent.post(format!("{base}/_admin/{path}")).send(body.to_string()));
    admin("online", json!({"provider": "ttlock", "id": G1, "online": false}));
    let form = |params: &[(&str, &str)]| {
        json_of(agent.post(format!("{base}/ttlock/{}", params[0].1)).send_form(params[1..].to_vec()))
    };
    let tok = form(&[
        ("path", "oauth2/token"),
        ("clientId", APP_ID),
        ("clientSecret", APP_SECRET),
        ("username", USER),
        ("password", S3CRET_MD5),
    ])["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    let (start, end) = stay();
    let (date, st, en) = ((t0() * 1000).to_string(), start.to_string(), end.to_string());
    let v = form(&[
        ("path", "v3/keyboardPwd/get"),
        ("clientId", APP_ID),
        ("accessToken", &tok),
        ("date", &date),
        ("lockId", L1),
        ("keyboardPwdType", "3"),
        ("keyboardPwdName", "Bk 4711 Meier"),
        ("startDate", &st),
        ("endDate", &en),
    ]);
    let code = v["keyboardPwd"].as_str().expect("keyboardPwd").to_string();
    assert!(v["keyboardPwdId"].is_i64(), "{v}");

    let try_pin = || admin("try-pin", json!({"provider": "ttlock", "lock": L1, "pin": code}));
    assert_eq!(try_pin(), json!({"opens": false}), "before its start");
    admin("time", json!({"now": start / 1000 + 3600}));
    assert_eq!(try_pin(), json!({"opens": true}));
    admin("time", json!({"now": start / 1000 + 30 * 3600}));
    assert_eq!(try_pin(), json!({"opens": true}), "used in time");
    let pins = json_of(agent.get(format!("{base}/_admin/pins")).call());
    assert_eq!(
        (pins[0]["kind"].clone(), pins[0]["added_at"].clone()),
        (json!("offline"), json!("2026-03-01T08:00:00Z"))
    );
    let http = json_of(agent.get(format!("{base}/_admin/http")).call());
    assert_eq!(http["by_endpoint"]["ttlock.pwd_get"], json!(1));
}

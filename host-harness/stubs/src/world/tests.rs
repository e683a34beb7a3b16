//! Tests of the world through `handle()` on the simulated clock, and over
//! real HTTP.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::DateTime;
use serde_json::{json, Value};

use super::*;
use crate::igloohome::Endpoint;
use crate::nuki::NukiEndpoint;
use crate::ttlock::TtlockEndpoint;

/// 2026-03-01T08:00:00Z.
fn t0() -> i64 {
    ts("2026-03-01T08:00:00Z")
}

fn ts(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).expect("test instant").timestamp()
}

const IGLOO_LOCK: &str = "OE1X000001";
const BRIDGE: &str = "EB1X000001";
const NUKI_TOKEN: &str = "nuki-demo-token";
const NUKI_LOCK: &str = "18205286116";
const TT_LOCK: &str = "532323";
const GATEWAY: &str = "78979";
/// md5("s3cret").
const S3CRET_MD5: &str = "33e1b232a4e6fa0028a6670753749a17";

/// A whole scenario file, as docs/scenarios.md spells one with all three vendors.
fn scenario() -> Value {
    json!({
        "name": "three vendors",
        "start": "2026-03-01T08:00:00Z",
        "tick_minutes": 15,
        "igloohome": {
            "accounts": [{"client_id": "demo-id", "client_secret": "demo-secret", "name": "Sea View Rentals"}],
            "locks": [{"id": IGLOO_LOCK, "name": "Front door", "bridge": BRIDGE}],
            "bridges": [{"id": BRIDGE, "name": "Hall bridge", "online": true}]
        },
        "nuki": {
            "accounts": [{"api_token": NUKI_TOKEN, "name": "Sea View Rentals"}],
            "locks": [{"id": NUKI_LOCK, "name": "Garden door", "keypad": true, "online": true}]
        },
        "ttlock": {
            "app": {"client_id": "pms-app-id", "client_secret": "pms-app-secret"},
            "accounts": [{"username": "host@example.com", "password": "s3cret", "name": "host@example.com"}],
            "locks": [{"id": TT_LOCK, "name": "Studio door", "gateway": GATEWAY, "wifi": false}],
            "gateways": [{"id": GATEWAY, "name": "G2 hall", "online": true}]
        },
        "steps": [{"at": "2026-03-28T00:00:00Z", "do": "end"}]
    })
}

fn config_of(v: Value) -> WorldConfig {
    serde_json::from_value(v).expect("world config")
}

fn world() -> World {
    World::from_config(config_of(scenario())).expect("world")
}

/// A world of the scenario's `vendors` only.
fn world_of(vendors: &[&str]) -> World {
    let mut v = scenario();
    for name in ["igloohome", "nuki", "ttlock"] {
        if !vendors.contains(&name) {
            v.as_object_mut().expect("object").remove(name);
        }
    }
    World::from_config(config_of(v)).expect("world")
}

fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> StubRequest {
    StubRequest {
        method: method.into(),
        path_and_query: path.into(),
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        body: body.to_vec(),
    }
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

fn igloohome_token(w: &World) -> StubResponse {
    let auth = format!("Basic {}", STANDARD.encode("demo-id:demo-secret"));
    w.handle(&request("POST", "/oauth2/token", &[("Authorization", &auth), FORM], b"grant_type=client_credentials"))
}

fn nuki_get(w: &World, path: &str) -> StubResponse {
    let auth = format!("Bearer {NUKI_TOKEN}");
    w.handle(&request("GET", path, &[("Authorization", &auth), ("Accept", "application/json")], b""))
}

fn ttlock_token_body() -> String {
    format!("clientId=pms-app-id&clientSecret=pms-app-secret&username=host%40example.com&password={S3CRET_MD5}")
}

fn ttlock_token(w: &World) -> StubResponse {
    w.handle(&request("POST", "/ttlock/oauth2/token", &[FORM], ttlock_token_body().as_bytes()))
}

fn admin(w: &World, method: &str, path: &str, body: &str) -> StubResponse {
    w.handle(&request(method, path, &[], body.as_bytes()))
}

fn status_fault(endpoint: &str, status: u16, count: u32) -> Fault {
    Fault { endpoint: endpoint.into(), status, count, ..Fault::default() }
}

// --------------------------------------------------------------- config

#[test]
fn a_scenario_file_is_a_world_config() {
    let c = config_of(scenario());
    assert_eq!(c.start.map(|s| s.timestamp()), Some(t0()));
    assert_eq!(c.igloohome.as_ref().map(|i| i.locks.len()), Some(1));
    assert!(c.nuki.as_ref().is_some_and(|n| n.locks[0].keypad));
    assert_eq!(c.ttlock.as_ref().map(|t| t.gateways[0].id.as_str()), Some(GATEWAY));
    assert_eq!(world().vendors(), [Vendor::Igloohome, Vendor::Nuki, Vendor::Ttlock]);
    assert_eq!(world().now(), t0());

    let bare = config_of(json!({"nuki": {"locks": [{"id": "7", "name": "Shed"}]}}));
    assert_eq!(World::from_config(bare.clone()).unwrap_err(), WorldError::MissingStart);
    let w = World::new(bare, t0());
    assert_eq!((w.vendors(), w.now()), (vec![Vendor::Nuki], t0()));
    assert!(w.igloohome().is_none() && w.nuki().is_some() && w.ttlock().is_none());

    let mut bad = scenario();
    bad["ttlock"]["locks"][0]["gateway"] = json!("999");
    let e = World::from_config(config_of(bad)).unwrap_err();
    assert!(matches!(e, WorldError::Ttlock(ttlock::StubError::InvalidConfig(_))), "{e}");
    assert!(e.to_string().contains("ttlock"), "{e}");
    let mut bad = scenario();
    bad["igloohome"]["locks"][0]["typo"] = json!(1);
    assert!(serde_json::from_value::<WorldConfig>(bad).is_err(), "a vendor's object is spelt strictly");
}

#[test]
fn vendors_parse_and_print_as_in_scenario_files() {
    for v in Vendor::ALL {
        assert_eq!(v.to_string().parse::<Vendor>(), Ok(v));
        assert_eq!(serde_json::to_value(v).expect("json"), json!(v.as_str()));
    }
    assert_eq!(["igloohome", "nuki", "ttlock", "seam"].map(|s| s.parse::<Vendor>().ok()), Vendor::ALL.map(Some));
    assert!("Nuki".parse::<Vendor>().unwrap_err().to_string().contains("expected igloohome, nuki, ttlock or seam"));
}

// -------------------------------------------------------------- routing

#[test]
fn each_vendor_is_served_under_its_prefix() {
    let w = world();
    let r = igloohome_token(&w);
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    assert!(r.json_body()["access_token"].is_string());

    let r = nuki_get(&w, "/nuki/smartlock");
    assert_eq!(r.status, 200);
    assert_eq!(r.json_body()[0]["smartlockId"], json!(18_205_286_116_u64));
    assert_eq!(nuki_get(&w, &format!("http://api.nuki.io/nuki/smartlock/{NUKI_LOCK}")).status, 200);

    let r = ttlock_token(&w);
    assert_eq!(r.status, 200);
    assert!(r.json_body()["access_token"].is_string(), "{:?}", r.json_body());

    // Each stub saw its own paths: igloohome never saw the others.
    let c = w.http_counts();
    assert_eq!(c.requests, 4);
    assert_eq!((c.by_endpoint["token"], c.by_endpoint["nuki.smartlock"], c.by_endpoint["ttlock.token"]), (1, 2, 1));

    // A prefix is a whole segment; the rest is igloohome's (a 404 there).
    assert_eq!(nuki_get(&w, "/nukiz/smartlock").status, 404);
    assert_eq!(nuki_get(&w, "/nuki").status, 404, "Nuki's own 404 for `/`");
    assert_eq!(nuki_get(&w, "/nuki?x=1").status, 404);
    assert_eq!(w.igloohome().expect("igloohome").http_counts().requests, 2);
    assert_eq!(w.nuki().expect("nuki").requests_total(), 4);
}

#[test]
fn routes_of_an_absent_vendor_answer_404_and_count_nowhere() {
    let w = world_of(&["nuki"]);
    for path in ["/oauth2/token", "/igloohome/devices", "/ttlock/oauth2/token", "/ttlock"] {
        let r = nuki_get(&w, path);
        assert_eq!(r.status, 404, "{path}");
        assert!(r.json_body()["message"].as_str().is_some_and(|m| m.contains("no")), "{path}");
    }
    w.count_refused("/igloohome/devices");
    w.count_refused("/ttlock/v3/lock/list");
    w.count_refused("/_admin/time");
    assert_eq!(w.http_counts().requests, 0);
    w.count_refused("/nuki/smartlock");
    let c = w.http_counts();
    assert_eq!((c.requests, c.by_endpoint["nuki.smartlock"]), (1, 1));
    assert!(c.by_endpoint.keys().all(|k| k.starts_with("nuki.")), "{c:?}");
    assert_eq!(c.by_endpoint.len(), NukiEndpoint::ALL.len());
}

// ------------------------------------------------------------- controls

#[test]
fn the_clock_moves_every_stub_and_never_back() {
    let w = world();
    w.set_time(t0() + 600);
    assert_eq!(w.now(), t0() + 600);
    assert_eq!(w.igloohome().map(Igloohome::now), Some(t0() + 600));
    assert_eq!(w.nuki().map(Nuki::now), Some(t0() + 600));
    assert_eq!(w.ttlock().map(Ttlock::now), Some(t0() + 600));
    w.set_time(t0());
    assert_eq!(w.now(), t0() + 600);
    assert_eq!(w.nuki().map(Nuki::now), Some(t0() + 600));
    assert_eq!(World::from_stubs(None, w.nuki().cloned(), None).now(), t0() + 600);
}

#[test]
fn links_go_off_line_per_vendor() {
    let w = world();
    w.set_online(Vendor::Igloohome, BRIDGE, false).expect("bridge");
    w.set_online(Vendor::Nuki, NUKI_LOCK, false).expect("nuki lock");
    w.set_online(Vendor::Ttlock, GATEWAY, false).expect("gateway");
    assert_eq!(nuki_get(&w, &format!("/nuki/smartlock/{NUKI_LOCK}")).json_body()["serverState"], json!(4));
    assert!(matches!(
        w.set_online(Vendor::Igloohome, NUKI_LOCK, true),
        Err(WorldError::Igloohome(igloohome::StubError::UnknownBridge(_)))
    ));
    let e = w.set_online(Vendor::Ttlock, "1", true).unwrap_err();
    assert!(e.is_not_found(), "{e}");
    let e = world_of(&["igloohome"]).set_online(Vendor::Nuki, NUKI_LOCK, true).unwrap_err();
    assert_eq!(e, WorldError::Absent(Vendor::Nuki));
    assert_eq!(e.to_string(), "this world has no nuki stub");
}

#[test]
fn faults_go_to_the_named_vendor() {
    let w = world();
    w.inject_fault(Vendor::Nuki, &status_fault("smartlock", 503, 1)).expect("nuki fault");
    w.inject_fault(Vendor::Igloohome, &status_fault("token", 500, 1)).expect("igloohome fault");
    let errcode = Fault { errcode: Some(-3003), ..status_fault("token", 200, 1) };
    w.inject_fault(Vendor::Ttlock, &errcode).expect("ttlock errcode");
    assert_eq!(nuki_get(&w, "/nuki/smartlock").status, 503);
    assert_eq!(nuki_get(&w, "/nuki/smartlock").status, 200, "one call only");
    assert_eq!(igloohome_token(&w).status, 500);
    let r = ttlock_token(&w);
    assert_eq!((r.status, r.json_body()["errcode"].clone()), (200, json!(-3003)));
    assert_eq!(ttlock_token(&w).json_body()["errcode"], Value::Null);

    let truncated = Fault { kind: Some("truncated".into()), ..status_fault("token", 0, 1) };
    w.inject_fault(Vendor::Ttlock, &truncated).expect("ttlock truncated");
    assert_eq!(ttlock_token(&w).json_body(), Value::Null, "cut in half: no JSON");
    w.inject_fault(Vendor::Igloohome, &Fault { kind: Some("malformed".into()), ..truncated.clone() }).expect("ok");
    assert_eq!(igloohome_token(&w).json_body(), Value::Null);
    w.inject_fault(Vendor::Igloohome, &status_fault("token", 0, 1)).expect("hang");
    assert_eq!(igloohome_token(&w).status, 0, "the hang marker");

    let unsupported = |r: Result<(), WorldError>| matches!(r, Err(WorldError::Unsupported { .. }));
    assert!(unsupported(w.inject_fault(Vendor::Nuki, &Fault { endpoint: "auth_create".into(), ..truncated.clone() })));
    assert!(unsupported(w.inject_fault(Vendor::Nuki, &Fault { endpoint: "sync".into(), ..errcode.clone() })));
    assert!(unsupported(w.inject_fault(Vendor::Igloohome, &errcode)));
    let e = w.inject_fault(Vendor::Nuki, &status_fault("token", 500, 1)).unwrap_err();
    assert!(matches!(e, WorldError::Nuki(nuki::StubError::UnknownEndpoint(_))), "{e}");
    let e = w.inject_fault(Vendor::Ttlock, &status_fault("pwd_add", 1000, 1)).unwrap_err();
    assert_eq!(e, WorldError::InvalidStatus(1000));
    let e = w.inject_fault(Vendor::Ttlock, &Fault { kind: Some("lost".into()), ..status_fault("pwd_add", 500, 1) });
    assert_eq!(e.unwrap_err(), WorldError::UnknownFaultKind("lost".into()));
    let both = Fault { errcode: Some(-3003), ..truncated };
    assert!(matches!(w.inject_fault(Vendor::Ttlock, &both), Err(WorldError::ErrcodeWithBody(_))));
    assert_eq!(
        world_of(&["ttlock"]).inject_fault(Vendor::Igloohome, &status_fault("token", 500, 1)),
        Err(WorldError::Absent(Vendor::Igloohome))
    );
    // Disarming.
    w.inject_fault(Vendor::Nuki, &status_fault("smartlock", 500, 3)).expect("arm");
    w.inject_fault(Vendor::Nuki, &status_fault("smartlock", 500, 0)).expect("disarm");
    assert_eq!(nuki_get(&w, "/nuki/smartlock").status, 200);
}

#[test]
fn tokens_are_revoked_per_vendor() {
    let w = world();
    let tok = igloohome_token(&w).json_body()["access_token"].as_str().expect("token").to_string();
    ttlock_token(&w);
    assert_eq!(w.revoke_tokens(Vendor::Igloohome), Ok(1));
    assert_eq!(w.revoke_tokens(Vendor::Igloohome), Ok(0));
    let auth = format!("Bearer {tok}");
    let r = w.handle(&request("GET", "/igloohome/devices", &[("Authorization", &auth)], b""));
    assert_eq!(r.status, 401);
    assert_eq!(nuki_get(&w, "/nuki/smartlock").status, 200, "Nuki's token is untouched");
    assert_eq!(w.revoke_tokens(Vendor::Nuki), Ok(1));
    assert_eq!(nuki_get(&w, "/nuki/smartlock").status, 401);
    assert_eq!(w.revoke_tokens(Vendor::Ttlock), Ok(1));
    assert_eq!(world_of(&[]).revoke_tokens(Vendor::Ttlock), Err(WorldError::Absent(Vendor::Ttlock)));
}

// -------------------------------------------------------------- reports

#[test]
fn pins_of_every_vendor_merge_by_time_then_provider() {
    let w = world();
    let (start, end) = (ts("2026-03-20T14:00:00Z"), ts("2026-03-22T09:00:00Z"));
    let (igloo, nuki, tt) = (w.igloohome().expect("i"), w.nuki().expect("n"), w.ttlock().expect("t"));
    tt.set_passcode_by_hand(TT_LOCK, "482957", start, end).expect("ttlock pin");
    nuki.set_code_by_hand(NUKI_LOCK, "593868", start, end).expect("nuki pin");
    igloo.set_pin_by_hand(IGLOO_LOCK, "111111", start, end);
    w.set_time(t0() + 60);
    nuki.set_code_by_hand(NUKI_LOCK, "593869", start, end).expect("nuki pin");
    igloo.set_pin_by_hand(IGLOO_LOCK, "222222", start, end);
    igloo.set_pin_by_hand(IGLOO_LOCK, "333333", start, end);

    let order: Vec<(&str, String, i64)> = w.pins().into_iter().map(|p| (p.provider, p.pin, p.added_at)).collect();
    assert_eq!(
        order,
        vec![
            ("igloohome", "111111".to_string(), t0()),
            ("nuki", "593868".to_string(), t0()),
            ("ttlock", "482957".to_string(), t0()),
            ("igloohome", "222222".to_string(), t0() + 60),
            ("igloohome", "333333".to_string(), t0() + 60),
            ("nuki", "593869".to_string(), t0() + 60),
        ]
    );
    let report = w.report_pins_json();
    assert_eq!(report.as_array().map(Vec::len), Some(6));
    assert_eq!(
        report[2],
        json!({"provider": "ttlock", "lock": TT_LOCK, "pin": "482957", "access_name": "Set by hand in the TTLock app",
               "start": "2026-03-20T14:00:00Z", "end": "2026-03-22T09:00:00Z",
               "added_at": "2026-03-01T08:00:00Z", "removed_at": null, "kind": "code"})
    );
    assert_eq!(world_of(&["nuki"]).report_pins_json(), json!([]));
}

#[test]
fn http_counts_merge_plain_and_prefixed_keys_of_present_vendors() {
    let fresh = world();
    let keys: Vec<String> = fresh.http_counts().by_endpoint.into_keys().collect();
    let mut expected: Vec<String> =
        Endpoint::ALL.iter().filter(|e| e.listed_at_zero()).map(|e| e.as_str().to_string()).collect();
    expected.extend(NukiEndpoint::ALL.map(NukiEndpoint::report_key));
    expected.extend(TtlockEndpoint::ALL.into_iter().filter(|e| e.listed_at_zero()).map(TtlockEndpoint::report_key));
    expected.sort();
    assert_eq!(keys, expected);

    let w = world_of(&["igloohome", "ttlock"]);
    igloohome_token(&w);
    ttlock_token(&w);
    ttlock_token(&w);
    nuki_get(&w, "/nuki/smartlock"); // absent: not counted
    nuki_get(&w, "/nowhere"); // igloohome's 404: total only
    let c = w.http_counts();
    assert_eq!(c.requests, 4);
    assert!(!c.by_endpoint.keys().any(|k| k.starts_with("nuki.")));
    assert_eq!(c.by_endpoint.len(), expected.len() - NukiEndpoint::ALL.len());
    let http = w.http_json();
    assert_eq!(http["requests"], json!(4));
    assert_eq!(http["by_endpoint"]["token"], json!(1));
    assert_eq!(http["by_endpoint"]["ttlock.token"], json!(2));
    assert_eq!(http["by_endpoint"]["devices"], json!(0));
}

// ---------------------------------------------------------- admin API

/// The prefix `GET /_admin/layout` gives a vendor, checked to be a string.
fn prefix_of(layout: &Value, vendor: Vendor) -> String {
    layout["brands"][vendor.as_str()].as_str().expect("a prefix string").to_string()
}

#[test]
fn admin_layout_tells_where_every_vendor_is_served() {
    let w = world_of(&["nuki"]);
    let r = admin(&w, "GET", "/_admin/layout", "");
    assert_eq!(r.status, 200);
    let layout = r.json_body();
    assert_eq!(layout, json!({"brands": {"igloohome": "", "nuki": "/nuki", "ttlock": "/ttlock", "seam": "/seam"}}));
    for vendor in Vendor::ALL {
        let prefix = prefix_of(&layout, vendor);
        assert_eq!(format!("http://127.0.0.1:9{prefix}"), vendor.base_url("http://127.0.0.1:9/"), "{vendor}");
    }
    // What it says is where the world serves a vendor it holds ...
    let nuki = prefix_of(&layout, Vendor::Nuki);
    assert_eq!(nuki_get(&w, &format!("{nuki}/smartlock/{NUKI_LOCK}")).status, 200);
    // ... and every vendor is listed, held or not: one the world lacks answers 404 there.
    let ttlock = prefix_of(&layout, Vendor::Ttlock);
    let r = w.handle(&request("POST", &format!("{ttlock}/oauth2/token"), &[FORM], ttlock_token_body().as_bytes()));
    assert_eq!(r.status, 404);
    assert_eq!(admin(&world(), "GET", "/_admin/layout", "").json_body(), layout, "the same whatever the world holds");
    // Read-only, and not counted as a request.
    assert_eq!(admin(&w, "POST", "/_admin/layout", "{}").status, 404);
    assert_eq!(w.http_json()["requests"], json!(1), "only the Nuki call");
}

#[test]
fn admin_routes_drive_every_vendor() {
    let w = world();
    let a = |method: &str, path: &str, body: &str| admin(&w, method, path, body);

    let r = a("POST", "/_admin/time", r#"{"now": "2026-03-01T08:10:00Z"}"#);
    let exact = (t0() + 600) as f64;
    let expected = json!({"now": t0() + 600, "time": "2026-03-01T08:10:00Z", "now_exact": exact, "speed": null});
    assert_eq!((r.status, r.json_body()), (200, expected));
    assert_eq!(w.ttlock().map(Ttlock::now), Some(t0() + 600));
    assert_eq!(a("GET", "/_admin/time", "").json_body()["now"], json!(t0() + 600));
    assert_eq!(a("POST", "/_admin/time", &format!(r#"{{"now": {}}}"#, t0())).status, 409);
    assert_eq!(a("POST", "/_admin/time", "[]").status, 400);

    let r = a("POST", "/_admin/online", &format!(r#"{{"provider": "nuki", "id": "{NUKI_LOCK}", "online": false}}"#));
    assert_eq!((r.status, r.json_body()), (200, json!({"provider": "nuki", "id": NUKI_LOCK, "online": false})));
    assert_eq!(nuki_get(&w, &format!("/nuki/smartlock/{NUKI_LOCK}")).json_body()["serverState"], json!(4));
    let r = a("POST", "/_admin/online", &format!(r#"{{"provider": "ttlock", "id": "{GATEWAY}", "online": false}}"#));
    assert_eq!(r.status, 200);
    let r = a("POST", "/_admin/bridge", &format!(r#"{{"bridge": "{BRIDGE}", "online": false}}"#));
    assert_eq!((r.status, r.json_body()), (200, json!({"provider": "igloohome", "bridge": BRIDGE, "online": false})));
    let r = a("POST", "/_admin/bridge", &format!(r#"{{"provider": "nuki", "bridge": "{NUKI_LOCK}", "online": true}}"#));
    assert_eq!(r.status, 200);
    assert_eq!(a("POST", "/_admin/online", r#"{"id": "NOPE", "online": true}"#).status, 404);
    assert_eq!(a("POST", "/_admin/online", r#"{"provider": "august", "id": "x", "online": true}"#).status, 400);
    assert_eq!(a("POST", "/_admin/online", r#"{"id": 1, "online": true}"#).status, 400);

    let r = a("POST", "/_admin/fault", r#"{"provider": "nuki", "endpoint": "smartlock", "status": 502, "count": 1}"#);
    assert_eq!((r.status, r.json_body()), (200, json!({"provider": "nuki", "armed": 1})));
    assert_eq!(nuki_get(&w, "/nuki/smartlock").status, 502);
    let r = a("POST", "/_admin/fault", r#"{"provider": "ttlock", "endpoint": "token", "errcode": -3003, "count": 1}"#);
    assert_eq!(r.status, 200, "no status needed with an errcode");
    assert_eq!(ttlock_token(&w).json_body()["errcode"], json!(-3003));
    let r = a("POST", "/_admin/fault", r#"{"endpoint": "token", "kind": "truncated", "count": 1}"#);
    assert_eq!(r.status, 200);
    assert_eq!(igloohome_token(&w).json_body(), Value::Null);
    for bad in [
        r#"{"endpoint": "token", "count": 1}"#,
        r#"{"endpoint": "token", "status": 70000, "count": 1}"#,
        r#"{"endpoint": "token", "status": 500, "count": -1}"#,
        r#"{"endpoint": "token", "status": 500, "count": 1, "errcode": "x"}"#,
        r#"{"endpoint": "token", "status": 500, "count": 1, "errcode": -3003}"#,
        r#"{"provider": "nuki", "endpoint": "auth_create", "kind": "malformed", "count": 1}"#,
        r#"{"provider": "ttlock", "endpoint": "nope", "status": 500, "count": 1}"#,
    ] {
        let r = a("POST", "/_admin/fault", bad);
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.json_body()["error"].is_string(), "{bad}");
    }

    ttlock_token(&w);
    let r = a("POST", "/_admin/revoke-tokens", r#"{"provider": "ttlock"}"#);
    assert_eq!(r.json_body(), json!({"provider": "ttlock", "revoked": 1}));
    assert_eq!(a("POST", "/_admin/revoke-tokens", "").json_body()["provider"], json!("igloohome"));
    assert_eq!(a("POST", "/_admin/revoke-tokens", "nope").status, 400);

    assert_eq!(a("POST", "/_admin/page-size", r#"{"page_size": 5}"#).status, 200);
    assert_eq!(a("POST", "/_admin/page-size", r#"{"page_size": 5, "provider": "nuki"}"#).status, 400);
    assert_eq!(a("POST", "/_admin/page-size", r#"{"page_size": 0}"#).status, 400);

    w.nuki().expect("nuki").set_code_by_hand(NUKI_LOCK, "593868", t0(), t0() + 86_400).expect("code");
    assert_eq!(a("GET", "/_admin/pins", "").json_body(), w.report_pins_json());
    assert_eq!(a("GET", "/_admin/pins", "").json_body()[0]["provider"], json!("nuki"));
    let before = w.http_counts();
    let mut http = a("GET", "/_admin/http", "").json_body();
    assert!(http.as_object_mut().and_then(|o| o.remove("max_in_flight_per_account")).is_some());
    assert_eq!(http, w.http_json());
    assert_eq!(a("GET", "/_admin/nope", "").status, 404);
    assert_eq!(a("DELETE", "/_admin/time", "").status, 404);
    assert_eq!(w.http_counts(), before, "admin traffic is not counted");
}

#[test]
fn a_lone_igloohome_stub_answers_the_world_admin_routes() {
    let s = world_of(&["igloohome"]).igloohome().cloned().expect("igloohome");
    let r = s.handle(&request(
        "POST",
        "/_admin/online",
        &[],
        format!(r#"{{"id": "{BRIDGE}", "online": false}}"#).as_bytes(),
    ));
    assert_eq!(r.status, 200);
    let r = s.handle(&request("POST", "/_admin/revoke-tokens", &[], br#"{"provider": "nuki"}"#));
    assert_eq!((r.status, r.json_body()["error"].clone()), (404, json!("this world has no nuki stub")));
    let r = s.handle(&request("GET", "/_admin/time", &[], b""));
    assert_eq!(r.json_body()["now"], json!(t0()));
}

// ------------------------------------------------------- the real server

mod over_http {
    use std::time::Duration;

    use super::*;
    use crate::StubServer;

    fn read_json(r: &mut ureq::http::Response<ureq::Body>) -> Value {
        let text = r.body_mut().read_to_string().expect("body");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    #[test]
    fn one_server_serves_every_vendor_and_the_admin_api() {
        let server = StubServer::start(world()).expect("start");
        let base = server.base_url();
        let a: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .http_status_as_error(false)
            .build()
            .into();

        let mut r = a
            .post(format!("{base}/oauth2/token"))
            .header("Authorization", format!("Basic {}", STANDARD.encode("demo-id:demo-secret")))
            .send_form([("grant_type", "client_credentials")])
            .expect("igloohome token");
        assert_eq!(r.status().as_u16(), 200);
        assert!(read_json(&mut r)["access_token"].is_string());

        let mut r = a
            .get(format!("{base}/nuki/smartlock"))
            .header("Authorization", format!("Bearer {NUKI_TOKEN}"))
            .call()
            .expect("nuki list");
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(read_json(&mut r)[0]["name"], json!("Garden door"));

        let mut r = a
            .post(format!("{base}/ttlock/oauth2/token"))
            .header("Content-Type", FORM.1)
            .send(ttlock_token_body())
            .expect("ttlock token");
        assert_eq!(r.status().as_u16(), 200);
        assert!(read_json(&mut r)["access_token"].is_string());

        // Refused by the server before the world: still counted, as TTLock's.
        let big = vec![b'x'; crate::MAX_BODY_BYTES + 10];
        let r = a.post(format!("{base}/ttlock/oauth2/token")).send(&big[..]).expect("big");
        assert_eq!(r.status().as_u16(), 413);

        let r = a
            .post(format!("{base}/_admin/time"))
            .send(json!({"now": "2026-03-02T08:00:00Z"}).to_string())
            .expect("admin time");
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(server.stub().nuki().map(Nuki::now), Some(t0() + 86_400));
        let http = read_json(&mut a.get(format!("{base}/_admin/http")).call().expect("admin http"));
        assert_eq!(http["requests"], json!(4));
        assert_eq!(
            [
                &http["by_endpoint"]["token"],
                &http["by_endpoint"]["nuki.smartlock"],
                &http["by_endpoint"]["ttlock.token"]
            ],
            [&json!(1), &json!(1), &json!(2)]
        );
        assert_eq!(a.get(format!("{base}/ttlock/nope")).call().expect("404").status().as_u16(), 404);
        assert_eq!(server.stub().http_counts().requests, 5);
    }
}

#[test]
fn requests_in_flight_are_counted_per_vendor_account() {
    let w = world();
    let token = igloohome_token(&w).json_body()["access_token"].as_str().expect("token").to_string();
    let auth = format!("Bearer {token}");
    assert_eq!(w.handle(&request("GET", "/igloohome/devices", &[("Authorization", &auth)], b"")).status, 200);
    assert_eq!(nuki_get(&w, "/nuki/smartlock").status, 200);
    let tt = ttlock_token(&w).json_body();
    let access = tt["access_token"].as_str().expect("ttlock token");
    let list = format!("/ttlock/v3/lock/list?clientId=pms-app-id&accessToken={access}&pageNo=1&pageSize=20&date=1");
    assert_eq!(w.handle(&request("GET", &list, &[], b"")).status, 200);
    // An admin request and one without credentials are nobody's.
    admin(&w, "GET", "/_admin/pins", "");
    w.handle(&request("GET", "/nuki/smartlock", &[], b""));
    let max = w.max_in_flight_per_account();
    assert_eq!(
        max.into_iter().collect::<Vec<_>>(),
        [
            ("igloohome:demo-id".to_string(), 1),
            ("nuki:Sea View Rentals".to_string(), 1),
            ("ttlock:host@example.com".to_string(), 1)
        ]
    );
    // Two at once of one account count 2; the admin report says so.
    let (a, b) = (w.enter(Vendor::Nuki, Some("x".into())), w.enter(Vendor::Nuki, Some("x".into())));
    drop((a, b));
    let _c = w.enter(Vendor::Nuki, Some("x".into()));
    let http = admin(&w, "GET", "/_admin/http", "").json_body();
    assert_eq!(http["max_in_flight_per_account"]["nuki:x"], 2);
    assert_eq!(http["max_in_flight_per_account"]["igloohome:demo-id"], 1);
}

#[test]
fn a_running_clock_moves_by_itself_and_cannot_be_set() {
    let w = world();
    assert!(w.run_clock(3600));
    assert!(!w.run_clock(10), "once per world");
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(w.now() >= t0() + 300, "100 ms at 3600x is 360 s: {}", w.now() - t0());
    let time = admin(&w, "GET", "/_admin/time", "").json_body();
    assert_eq!(time["speed"], 3600);
    assert!(time["now_exact"].as_f64().expect("exact") >= (t0() + 300) as f64);
    // The stubs follow it: a request sees the clock where it runs.
    assert!(w.igloohome().expect("igloohome").now() >= t0() + 300);
    assert_eq!(admin(&w, "POST", "/_admin/time", &format!("{{\"now\": {}}}", t0() + 999_999)).status, 409);
    let before = w.now();
    w.set_time(before + 999_999);
    assert!(w.now() < before + 999_999, "set_time does not move a running clock");
}

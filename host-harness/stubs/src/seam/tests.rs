//! Tests of the Seam stub over real HTTP on loopback, served by a
//! [`World`] under `/seam` as the hosts reach it, on the simulated clock.

use std::time::Duration;

use chrono::DateTime;
use serde_json::{json, Value};

use super::*;
use crate::world::{Fault, World, WorldConfig};
use crate::{StubServer, Vendor};

/// 2026-03-01T08:00:00Z.
fn t0() -> i64 {
    ts("2026-03-01T08:00:00Z")
}

fn ts(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).expect("test instant").timestamp()
}

fn iso(secs: i64) -> String {
    crate::rfc3339_utc(secs)
}

const KEY: &str = "seam_test_key_1";
const OTHER_KEY: &str = "seam_live_key_2";
/// Schlage, online, natively scheduled.
const L1: &str = "5d9c6f0e-0000-4000-8000-000000000001";
/// Nuki: 6 digits, no zeros, not starting with 12, names up to 20.
const L2: &str = "5d9c6f0e-0000-4000-8000-000000000002";
/// Lockly: just in time.
const L3: &str = "5d9c6f0e-0000-4000-8000-000000000003";
/// Offline.
const L4: &str = "5d9c6f0e-0000-4000-8000-000000000004";
/// Cannot take online codes.
const L5: &str = "5d9c6f0e-0000-4000-8000-000000000005";

fn config() -> SeamConfig {
    serde_json::from_value(json!({
        "accounts": [
            {"api_key": KEY, "name": "Sea View workspace"},
            {"api_key": OTHER_KEY, "name": "Other workspace"}
        ],
        "locks": [
            {"id": L1, "name": "Lobby door", "brand": "schlage", "online": true, "codes": true},
            {"id": L2, "name": "Garden door", "brand": "nuki"},
            {"id": L3, "name": "Studio door", "brand": "lockly"},
            {"id": L4, "name": "Cabin", "brand": "yale", "online": false},
            {"id": L5, "name": "Shed", "brand": "august", "codes": false}
        ]
    }))
    .expect("config")
}

/// A world holding only the Seam stub, served over loopback.
struct Api {
    server: StubServer<World>,
    agent: ureq::Agent,
}

impl Api {
    fn start() -> Api {
        let world = World::new(WorldConfig { seam: Some(config()), ..WorldConfig::default() }, t0());
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .build()
            .into();
        Api { server: StubServer::start(world).expect("server"), agent }
    }

    fn world(&self) -> &World {
        self.server.stub()
    }

    fn seam(&self) -> &Seam {
        self.world().seam().expect("seam stub")
    }

    fn at(&self, t: i64) {
        self.world().set_time(t);
    }

    /// One request: `method` on `/seam{path}` with `key` as Bearer (none
    /// when `None`) and `body` as JSON.
    fn send(&self, method: &str, path: &str, key: Option<&str>, body: Option<&Value>) -> (u16, Value) {
        let url = format!("{}/seam{path}", self.server.base_url());
        let mut req = ureq::http::Request::builder().method(method).uri(url).header("Content-Type", "application/json");
        if let Some(k) = key {
            req = req.header("Authorization", format!("Bearer {k}"));
        }
        let req = req.body(body.map(Value::to_string).unwrap_or_default()).expect("request");
        let mut r = self.agent.run(req).expect("response");
        let text = r.body_mut().read_to_string().unwrap_or_default();
        (r.status().as_u16(), serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send("POST", path, Some(KEY), Some(&body))
    }

    fn create(&self, device: &str, code: &str, window: Option<(i64, i64)>) -> (u16, Value) {
        let mut body = json!({"device_id": device, "name": "Bk 4711 Meier", "code": code});
        if let Some((s, e)) = window {
            body["starts_at"] = json!(iso(s));
            body["ends_at"] = json!(iso(e));
        }
        self.post("/access_codes/create", body)
    }

    /// A created code's id.
    fn created(&self, device: &str, code: &str, window: Option<(i64, i64)>) -> String {
        let (status, v) = self.create(device, code, window);
        assert_eq!(status, 200, "{v}");
        v["access_code"]["access_code_id"].as_str().expect("id").to_string()
    }

    fn get(&self, id: &str) -> (u16, Value) {
        let (status, v) = self.post("/access_codes/get", json!({"access_code_id": id}));
        (status, v["access_code"].clone())
    }

    fn pins(&self, lock: &str) -> Vec<PinRecord> {
        self.seam().pins().into_iter().filter(|p| p.lock == lock).collect()
    }
}

fn error_type(v: &Value) -> &str {
    v["error"]["type"].as_str().unwrap_or("")
}

// ------------------------------------------------------------- config

#[test]
fn config_matches_the_scenario_shape_and_is_checked() {
    let c = config();
    assert!(c.validate().is_ok());
    assert_eq!((c.locks[1].online, c.locks[1].codes), (true, true), "online and codes default to true");
    let bad = |f: &dyn Fn(&mut SeamConfig)| {
        let mut c = config();
        f(&mut c);
        c.validate().expect_err("invalid").to_string()
    };
    assert!(bad(&|c| c.accounts[0].api_key = "key".into()).contains("seam_"));
    assert!(bad(&|c| c.accounts[1].api_key = KEY.into()).contains("share"));
    assert!(bad(&|c| c.locks[0].id = "lock-1".into()).contains("UUID"));
    assert!(bad(&|c| c.locks[1].id = L1.to_uppercase()).contains("duplicate"));
    assert!(bad(&|c| c.locks[0].brand = "acme".into()).contains("unknown brand \"acme\""));
    assert!(serde_json::from_value::<SeamConfig>(json!({"locks": [{"id": L1, "name": "x", "brand": "nuki", "x": 1}]}))
        .is_err());
    assert!(World::from_config(WorldConfig { seam: Some(SeamConfig::default()), ..WorldConfig::default() }).is_err());
}

// --------------------------------------------------- auth and routing

#[test]
fn a_bearer_api_key_is_required_and_answers_carry_ok() {
    let api = Api::start();
    let (status, v) = api.post("/workspaces/get", json!({}));
    assert_eq!(status, 200);
    assert_eq!(v["ok"], json!(true));
    assert_eq!(v["workspace"]["name"], json!("Sea View workspace"));
    assert_eq!(v["workspace"]["is_sandbox"], json!(true), "a key with `test` is a sandbox key");
    assert!(config::is_uuid(v["workspace"]["workspace_id"].as_str().expect("id")));
    let (_, other) = api.send("POST", "/workspaces/get", Some(OTHER_KEY), None);
    assert_eq!(other["workspace"]["name"], json!("Other workspace"), "an empty body is {{}}");

    for key in [None, Some("seam_wrong"), Some("")] {
        let (status, v) = api.send("POST", "/devices/list", key, Some(&json!({})));
        assert_eq!((status, error_type(&v)), (401, "unauthorized"), "{key:?}");
        assert_eq!(v["ok"], json!(false));
    }
    assert_eq!(api.world().revoke_tokens(Vendor::Seam), Ok(2));
    assert_eq!(api.post("/workspaces/get", json!({})).0, 401, "a revoked key");
}

#[test]
fn every_route_takes_post_and_only_seams_other_methods() {
    let api = Api::start();
    assert_eq!(api.send("GET", "/workspaces/get", Some(KEY), None).0, 200, "reads take GET");
    let (status, v) = api.send("GET", &format!("/devices/get?device_id={L2}"), Some(KEY), None);
    assert_eq!((status, v["device"]["device_id"].clone()), (200, json!(L2)));
    let (status, v) = api.send("GET", "/access_codes/create", Some(KEY), None);
    assert_eq!((status, error_type(&v)), (405, "method_not_allowed"));
    assert_eq!(api.send("PUT", "/access_codes/create", Some(KEY), Some(&json!({}))).0, 405);
    assert_eq!(api.send("DELETE", "/devices/list", Some(KEY), None).0, 405);

    let id = api.created(L1, "4829", None);
    // The official clients PUT (JS) and PATCH (Python) updates.
    let (status, _) =
        api.send("PUT", "/access_codes/update", Some(KEY), Some(&json!({"access_code_id": id, "name": "A"})));
    assert_eq!(status, 200);
    let (status, _) =
        api.send("PATCH", "/access_codes/update", Some(KEY), Some(&json!({"access_code_id": id, "name": "B"})));
    assert_eq!(status, 200);
    assert_eq!(api.get(&id).1["name"], json!("B"));
    let (status, _) = api.send("DELETE", "/access_codes/delete", Some(KEY), Some(&json!({"access_code_id": id})));
    assert_eq!(status, 200);

    assert_eq!(api.post("/locks/unlock_door", json!({})).0, 404);
    let (status, v) = api.send("POST", "/workspaces/get", Some(KEY), None);
    assert_eq!(status, 200, "{v}");
    let (status, v) = api.send("POST", "/devices/get", Some(KEY), Some(&json!("not an object")));
    assert_eq!((status, error_type(&v)), (400, "invalid_input"));
    let http = api.world().http_counts();
    assert_eq!(http.by_endpoint["seam.access_codes_update"], 2);
    assert_eq!(http.by_endpoint["seam.access_codes_create"], 3, "refused methods count on their endpoint");
}

// ------------------------------------------------------------ devices

#[test]
fn devices_show_brands_reachability_and_constraints() {
    let api = Api::start();
    let (status, v) = api.post("/devices/list", json!({}));
    assert_eq!(status, 200);
    let devices = v["devices"].as_array().expect("devices");
    assert_eq!(devices.len(), 5);
    assert_eq!(v["pagination"]["has_next_page"], json!(false));
    let nuki = &devices[1];
    assert_eq!(nuki["device_type"], json!("nuki_lock"));
    assert_eq!(nuki["can_program_online_access_codes"], json!(true));
    assert_eq!(nuki["properties"]["supported_code_lengths"], json!([6]));
    assert_eq!(nuki["properties"]["code_constraints"][0], json!({"constraint_type": "no_zeros"}));
    assert_eq!(nuki["properties"]["nuki_metadata"]["keypad_paired"], json!(true));
    let offline = &devices[3];
    assert_eq!(offline["properties"]["online"], json!(false));
    assert_eq!(offline["errors"][0]["error_code"], json!("device_disconnected"));
    assert_eq!(offline["errors"][0]["is_device_error"], json!(true));
    assert_eq!(devices[4]["can_program_online_access_codes"], json!(false));
    assert_eq!(devices[0]["errors"], json!([]));

    let (_, v) = api.post("/devices/list", json!({"device_ids": [L2, L3], "limit": 1}));
    assert_eq!(v["devices"].as_array().map(Vec::len), Some(1));
    let cursor = v["pagination"]["next_page_cursor"].clone();
    let (_, next) = api.post("/devices/list", json!({"device_ids": [L2, L3], "limit": 1, "page_cursor": cursor}));
    assert_eq!(next["devices"][0]["device_id"], json!(L3));
    assert_eq!(next["pagination"]["has_next_page"], json!(false));
    let (_, v) = api.post("/devices/list", json!({"manufacturer": "lockly"}));
    assert_eq!(v["devices"][0]["device_id"], json!(L3));

    let (status, v) = api.post("/devices/get", json!({"device_id": "5d9c6f0e-0000-4000-8000-0000000000ff"}));
    assert_eq!((status, error_type(&v)), (404, "device_not_found"));

    // The `bridge` step's path: the device goes on line, its error goes.
    api.world().set_online(Vendor::Seam, L4, true).expect("online");
    let (_, v) = api.post("/devices/get", json!({"device_id": L4}));
    assert_eq!((v["device"]["properties"]["online"].clone(), v["device"]["errors"].clone()), (json!(true), json!([])));
    assert!(api.world().set_online(Vendor::Seam, "nope", true).expect_err("unknown").is_not_found());
}

// ------------------------------------------------------------- create

#[test]
fn creates_are_validated_against_the_device() {
    let api = Api::start();
    let w = Some((t0() + 86_400, t0() + 3 * 86_400));
    let refused = |device: &str, body: Value| {
        let mut b = json!({"device_id": device, "name": "Bk 4711", "code": "482957",
                           "starts_at": iso(t0() + 86_400), "ends_at": iso(t0() + 2 * 86_400)});
        for (k, v) in body.as_object().expect("object") {
            b[k] = v.clone();
        }
        if b["starts_at"].is_null() {
            b.as_object_mut().map(|o| o.remove("starts_at"));
        }
        let (status, v) = api.post("/access_codes/create", b);
        assert_eq!((status, error_type(&v)), (400, "invalid_input"), "{v}");
        v["error"]["message"].as_str().unwrap_or("").to_string()
    };
    assert!(refused(L1, json!({"code": "12ab"})).contains("code"));
    assert!(refused(L1, json!({"code": 482957})).contains("code"));
    assert!(refused(L1, json!({"code": "123456789"})).contains("lengths"), "Schlage: 4-8 digits");
    assert!(refused(L2, json!({"code": "482950"})).contains("no_zeros"));
    assert!(refused(L2, json!({"code": "124829"})).contains("cannot_start_with_12"));
    assert!(refused(L2, json!({"name": "A name that is far too long"})).contains("name_length"));
    assert!(refused(L1, json!({"starts_at": null})).contains("starts_at"));
    assert!(refused(L1, json!({"ends_at": iso(t0())})).contains("after starts_at"));
    assert!(refused(L1, json!({"starts_at": iso(t0() - 7200), "ends_at": iso(t0() - 3600)})).contains("future"));
    assert!(refused(L1, json!({"starts_at": "2026-03-02 10:00"})).contains("ISO 8601"));
    assert!(refused(L5, json!({})).contains("cannot program"));
    let (status, v) = api.create("5d9c6f0e-0000-4000-8000-0000000000ff", "4829", w);
    assert_eq!((status, error_type(&v)), (404, "device_not_found"));

    // Accepted: the id at once, a pending action attempt, `unset`.
    let (status, v) = api.create(L2, "482957", w);
    assert_eq!(status, 200, "{v}");
    let code = &v["access_code"];
    assert_eq!((code["status"].clone(), code["type"].clone()), (json!("unset"), json!("time_bound")));
    assert_eq!(code["code"], json!("482957"), "the code is a string");
    assert_eq!(code["starts_at"], json!("2026-03-02T08:00:00.000Z"));
    assert_eq!(v["action_attempt"]["action_type"], json!("CREATE_ACCESS_CODE"));
    assert_eq!(v["action_attempt"]["status"], json!("pending"));
    // One PIN per device, codes not yet on it included; other devices may.
    let (status, v) = api.create(L2, "482957", None);
    assert_eq!((status, error_type(&v)), (409, "duplicate_access_code"));
    assert_eq!(api.create(L1, "482957", None).0, 200);
    // No code given: Seam picks one that fits.
    let (status, v) = api.post("/access_codes/create", json!({"device_id": L2, "name": "Auto"}));
    assert_eq!(status, 200);
    let picked = v["access_code"]["code"].as_str().expect("code");
    assert!(picked.len() == 6 && !picked.contains('0') && !picked.starts_with("12"), "{picked}");
}

#[test]
fn above_ten_creates_a_minute_per_device_is_429() {
    let api = Api::start();
    for i in 0..CREATES_PER_MINUTE {
        assert_eq!(api.create(L1, &format!("48{i:02}"), None).0, 200);
    }
    let (status, v) = api.create(L1, "5900", None);
    assert_eq!((status, error_type(&v)), (429, "rate_limit_exceeded"));
    assert_eq!(api.create(L3, "5900", None).0, 200, "per device");
    api.at(t0() + 60);
    assert_eq!(api.create(L1, "5900", None).0, 200, "a minute later");
}

// ---------------------------------------------------------- lifecycle

#[test]
fn seam_loads_a_code_72_h_ahead_sets_it_at_the_start_and_removes_it_at_the_end() {
    let api = Api::start();
    let (start, end) = (ts("2026-03-06T15:00:00Z"), ts("2026-03-08T10:00:00Z"));
    let id = api.created(L1, "482957", Some((start, end)));
    let (_, c) = api.get(&id);
    assert_eq!((c["status"].clone(), c["is_scheduled_on_device"].clone()), (json!("unset"), json!(false)));
    assert_eq!(c["pending_mutations"][0]["mutation_code"], json!("deferring_creation"));
    assert_eq!(c["pending_mutations"][0]["scheduled_at"], json!("2026-03-03T15:00:00.000Z"));

    let load = start - NATIVE_LEAD;
    api.at(load + PROGRAM_SECONDS - 1);
    assert!(api.pins(L1).is_empty(), "not before the load is done");
    api.at(load + PROGRAM_SECONDS);
    let (_, c) = api.get(&id);
    assert_eq!((c["status"].clone(), c["is_scheduled_on_device"].clone()), (json!("unset"), json!(true)));
    assert_eq!(c["pending_mutations"], json!([]));
    let pins = api.pins(L1);
    assert_eq!(pins.len(), 1);
    assert_eq!((pins[0].start, pins[0].end, pins[0].added_at), (start, end, load + PROGRAM_SECONDS));
    assert_eq!((pins[0].provider, pins[0].pin.as_str(), pins[0].kind), ("seam", "482957", crate::PinKind::Code));
    assert!(!api.seam().opens(L1, "482957", start - 1), "the device keeps its own schedule");

    api.at(start);
    assert_eq!(api.get(&id).1["status"], json!("set"));
    assert!(api.seam().opens(L1, "482957", start));
    assert!(!api.seam().opens(L1, "482958", start));

    api.at(end);
    let (status, v) = api.post("/access_codes/get", json!({"access_code_id": id}));
    assert_eq!((status, error_type(&v)), (404, "access_code_not_found"), "Seam removes it at its end");
    let (status, _) = api.post("/access_codes/delete", json!({"access_code_id": id}));
    assert_eq!(status, 404, "a delete after the end: 404 = done");
    assert!(!api.seam().opens(L1, "482957", end));
    api.at(end + PROGRAM_SECONDS);
    assert_eq!(api.pins(L1)[0].removed_at, Some(end + PROGRAM_SECONDS));
    let (_, list) = api.post("/access_codes/list", json!({"device_id": L1}));
    assert_eq!(list["access_codes"], json!([]));
}

#[test]
fn a_just_in_time_brand_gets_the_code_an_hour_ahead() {
    let api = Api::start();
    let (start, end) = (t0() + 10 * 3600, t0() + 30 * 3600);
    let id = api.created(L3, "4829", Some((start, end)));
    api.at(start - JIT_LEAD - 1);
    assert!(api.pins(L3).is_empty(), "not 72 h ahead");
    api.at(start - JIT_LEAD + PROGRAM_SECONDS);
    let pins = api.pins(L3);
    assert_eq!((pins[0].start, pins[0].end), (start - JIT_LEAD + PROGRAM_SECONDS, end));
    let (_, c) = api.get(&id);
    assert_eq!((c["status"].clone(), c["is_scheduled_on_device"].clone()), (json!("unset"), json!(false)));
    assert!(api.seam().opens(L3, "4829", start - 600), "programmed without a schedule: it opens already");
    api.at(start);
    assert_eq!(api.get(&id).1["status"], json!("set"));
}

#[test]
fn an_ongoing_code_goes_setting_then_set() {
    let api = Api::start();
    let id = api.created(L1, "4829", None);
    let (_, c) = api.get(&id);
    assert_eq!((c["status"].clone(), c["type"].clone()), (json!("setting"), json!("ongoing")));
    assert_eq!(c["pending_mutations"][0]["mutation_code"], json!("creating"));
    assert!(c.get("starts_at").is_none());
    api.at(t0() + PROGRAM_SECONDS);
    assert_eq!(api.get(&id).1["status"], json!("set"));
    assert_eq!(api.pins(L1)[0].end, UNRESTRICTED_END);
    assert!(api.seam().opens(L1, "4829", t0() + 400 * 86_400));
}

#[test]
fn an_offline_device_fails_to_set_and_seam_retries_when_it_returns() {
    let api = Api::start();
    let (start, end) = (t0() + 86_400, t0() + 3 * 86_400);
    let id = api.created(L4, "4829", Some((start, end)));
    api.at(t0() + PROGRAM_SECONDS);
    let (_, c) = api.get(&id);
    let errors: Vec<&str> =
        c["errors"].as_array().expect("errors").iter().filter_map(|e| e["error_code"].as_str()).collect();
    assert_eq!(errors, ["failed_to_set_on_device", "device_disconnected"]);
    assert_eq!(c["errors"][0]["is_access_code_error"], json!(true));
    assert_eq!(c["is_scheduled_on_device"], json!(false));
    assert!(api.pins(L4).is_empty());

    api.at(t0() + 3600);
    api.world().set_online(Vendor::Seam, L4, true).expect("online");
    api.at(t0() + 3600 + PROGRAM_SECONDS);
    let (_, c) = api.get(&id);
    assert_eq!((c["errors"].clone(), c["is_scheduled_on_device"].clone()), (json!([]), json!(true)));
    assert_eq!(api.pins(L4)[0].added_at, t0() + 3600 + PROGRAM_SECONDS);

    // A delete while it is off line again: `removing` until it returns.
    api.world().set_online(Vendor::Seam, L4, false).expect("offline");
    assert_eq!(api.post("/access_codes/delete", json!({"access_code_id": id})).0, 200);
    api.at(t0() + 7200);
    let (_, c) = api.get(&id);
    assert_eq!(c["status"], json!("removing"));
    assert_eq!(c["warnings"][0]["warning_code"], json!("being_deleted"));
    assert_eq!(c["errors"][0]["error_code"], json!("failed_to_remove_from_device"));
    assert!(api.seam().opens(L4, "4829", start), "still on the device");
    api.world().set_online(Vendor::Seam, L4, true).expect("online");
    api.at(t0() + 7200 + PROGRAM_SECONDS);
    assert_eq!(api.get(&id).0, 404);
    assert_eq!(api.pins(L4)[0].removed_at, Some(t0() + 7200 + PROGRAM_SECONDS));
    assert!(!api.seam().opens(L4, "4829", start));
}

#[test]
fn an_update_merges_and_moves_the_code_in_place() {
    let api = Api::start();
    let (start, end) = (t0() + 86_400, t0() + 3 * 86_400);
    let id = api.created(L1, "4829", Some((start, end)));
    api.at(t0() + PROGRAM_SECONDS);
    // The name alone keeps the window.
    let (status, v) = api.post("/access_codes/update", json!({"access_code_id": id, "name": "Renamed"}));
    assert_eq!((status, v["action_attempt"]["action_type"].clone()), (200, json!("UPDATE_ACCESS_CODE")));
    let (_, c) = api.get(&id);
    assert_eq!(
        (c["starts_at"].clone(), c["pending_mutations"][0]["mutation_code"].clone()),
        (json!(crate::rfc3339_utc(start).replace('Z', ".000Z")), json!("updating_name"))
    );
    // One date alone is refused.
    let (status, _) = api.post("/access_codes/update", json!({"access_code_id": id, "ends_at": iso(end + 3600)}));
    assert_eq!(status, 400);
    // Both dates: the window moves, the PIN stays.
    let t = t0() + 60;
    api.at(t);
    let moved = json!({"access_code_id": id, "starts_at": iso(start + 3600), "ends_at": iso(end + 3600)});
    assert_eq!(api.post("/access_codes/update", moved).0, 200);
    api.at(t + PROGRAM_SECONDS);
    let pins = api.pins(L1);
    assert_eq!(pins.len(), 3, "{pins:?}");
    assert_eq!(pins[1].removed_at, Some(pins[2].added_at), "moved in place: no gap, no overlap");
    assert_eq!((pins[2].start, pins[2].end, pins[2].pin.as_str()), (start + 3600, end + 3600, "4829"));
    assert!(!api.seam().opens(L1, "4829", start + 1800));
    // `type: ongoing` clears the window.
    assert_eq!(api.post("/access_codes/update", json!({"access_code_id": id, "type": "ongoing"})).0, 200);
    assert_eq!(api.get(&id).1["type"], json!("ongoing"));
    // A PIN another code holds: 409.
    api.created(L1, "5930", None);
    let (status, v) = api.post("/access_codes/update", json!({"access_code_id": id, "code": "5930"}));
    assert_eq!((status, error_type(&v)), (409, "duplicate_access_code"));
}

#[test]
fn a_delete_removes_then_404s() {
    let api = Api::start();
    let id = api.created(L1, "4829", None);
    let never = api.created(L1, "5930", Some((t0() + 10 * 86_400, t0() + 11 * 86_400)));
    api.at(t0() + PROGRAM_SECONDS);
    assert_eq!(
        api.post("/access_codes/delete", json!({"access_code_id": id})).1["action_attempt"]["action_type"],
        json!("DELETE_ACCESS_CODE")
    );
    assert_eq!(api.get(&id).1["status"], json!("removing"));
    api.at(t0() + 2 * PROGRAM_SECONDS);
    let (status, v) = api.post("/access_codes/delete", json!({"access_code_id": id}));
    assert_eq!((status, error_type(&v)), (404, "access_code_not_found"), "a second delete");
    assert_eq!(api.pins(L1)[0].removed_at, Some(t0() + 2 * PROGRAM_SECONDS));
    // Never on the device: gone at once.
    assert_eq!(api.post("/access_codes/delete", json!({"access_code_id": never})).0, 200);
    assert_eq!(api.get(&never).0, 404);
    assert_eq!(api.pins(L1).len(), 1);
}

#[test]
fn lists_hold_the_devices_managed_codes() {
    let api = Api::start();
    let a = api.created(L1, "4829", None);
    let b = api.created(L2, "482957", None);
    let (_, v) = api.post("/access_codes/list", json!({"device_id": L1}));
    let ids: Vec<&str> =
        v["access_codes"].as_array().expect("list").iter().filter_map(|c| c["access_code_id"].as_str()).collect();
    assert_eq!(ids, [a.as_str()]);
    let (_, v) = api.post("/access_codes/list", json!({"access_code_ids": [b]}));
    assert_eq!(v["access_codes"][0]["device_id"], json!(L2));
    assert_eq!(api.post("/access_codes/list", json!({})).0, 400);
    let (status, v) = api.post("/access_codes/get", json!({"device_id": L2, "code": "482957"}));
    assert_eq!((status, v["access_code"]["access_code_id"].clone()), (200, json!(b)));
}

// --------------------------------------------------- faults and knobs

#[test]
fn faults_answer_per_endpoint_and_do_nothing() {
    let api = Api::start();
    let fault = |endpoint: &str, status: u16, kind: Option<&str>| Fault {
        endpoint: endpoint.into(),
        status,
        count: 1,
        kind: kind.map(str::to_string),
        errcode: None,
    };
    api.world().inject_fault(Vendor::Seam, &fault("access_codes_create", 503, None)).expect("armed");
    let (status, v) = api.create(L1, "4829", None);
    assert_eq!((status, error_type(&v)), (503, "internal_server_error"));
    assert_eq!(api.post("/access_codes/list", json!({"device_id": L1})).1["access_codes"], json!([]));
    api.world().inject_fault(Vendor::Seam, &fault("devices_list", 0, Some("malformed"))).expect("armed");
    let (status, v) = api.post("/devices/list", json!({}));
    assert_eq!((status, v), (200, Value::Null), "not JSON");
    assert!(api.world().inject_fault(Vendor::Seam, &fault("access_codes_frobnicate", 500, None)).is_err());
    let http = api.world().http_counts();
    assert_eq!((http.by_endpoint["seam.access_codes_create"], http.by_endpoint["seam.devices_list"]), (1, 1));
}

#[test]
fn knobs_never_confirm_fail_for_good_and_false_set() {
    let api = Api::start();
    api.seam().set_programming(L1, Programming::NeverConfirm).expect("knob");
    let a = api.created(L1, "4829", None);
    api.at(t0() + 3600);
    assert_eq!((api.get(&a).1["status"].clone(), api.get(&a).1["errors"].clone()), (json!("setting"), json!([])));

    api.seam().set_programming(L1, Programming::FailForGood).expect("knob");
    api.at(t0() + 3600 + PROGRAM_SECONDS);
    assert_eq!(api.get(&a).1["errors"][0]["error_code"], json!("failed_to_set_on_device"));

    api.seam().set_programming(L1, Programming::FalseSet).expect("knob");
    api.at(t0() + 7200);
    assert_eq!(api.get(&a).1["status"], json!("set"), "Seam says set");
    assert!(api.pins(L1).is_empty() && !api.seam().opens(L1, "4829", t0() + 7200), "the device has nothing");

    api.seam().set_programming(L1, Programming::Normal).expect("knob");
    api.at(t0() + 7200 + PROGRAM_SECONDS);
    assert!(api.seam().opens(L1, "4829", t0() + 7200 + PROGRAM_SECONDS));
}

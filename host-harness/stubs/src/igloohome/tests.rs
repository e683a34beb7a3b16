//! Tests of the core through `handle()` on the simulated clock, and of the
//! real server over loopback HTTP.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chrono::DateTime;
use serde_json::{json, Value};

use super::*;

/// 2026-03-01T08:00:00Z (a whole hour, so "current hour" checks are simple).
fn t0() -> i64 {
    ts("2026-03-01T08:00:00Z")
}

fn ts(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).expect("test instant").timestamp()
}

/// `secs` as `...+01:00`, the plugin's style.
fn iso(secs: i64) -> String {
    let off = chrono::FixedOffset::east_opt(3600).expect("offset");
    DateTime::from_timestamp(secs, 0)
        .expect("instant")
        .with_timezone(&off)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

fn config() -> StubConfig {
    serde_json::from_value(json!({
        "accounts": [
            {"client_id": "demo-id", "client_secret": "demo-secret", "name": "Sea View Rentals"},
            {"client_id": "other-id", "client_secret": "other-secret", "name": "Other"}
        ],
        "locks": [
            {"id": "OE1X000001", "name": "Front door", "bridge": "EB1X000001"},
            {"id": "OE1X000002", "name": "Back door", "bridge": "EB1X000001"},
            {"id": "OE1X000003", "name": "Garage", "bridge": "EB1X000002"},
            {"id": "OE1X000004", "name": "Shed"}
        ],
        "bridges": [
            {"id": "EB1X000001", "name": "Hall bridge"},
            {"id": "EB1X000002", "name": "Garage bridge", "online": true},
            {"id": "EB1X000003", "name": "Picky bridge", "online": false, "offline_reply": "reject"}
        ]
    }))
    .expect("config")
}

fn stub() -> Igloohome {
    Igloohome::new(config(), t0())
}

const L1: &str = "OE1X000001";
const L2: &str = "OE1X000002";
const L3: &str = "OE1X000003";
const L4: &str = "OE1X000004";
const B1: &str = "EB1X000001";
const B2: &str = "EB1X000002";
const B3: &str = "EB1X000003";

fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> StubRequest {
    StubRequest {
        method: method.into(),
        path_and_query: path.into(),
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        body: body.to_vec(),
    }
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

fn token_request(id: &str, secret: &str, body: &str) -> StubRequest {
    let auth = basic(id, secret);
    request("POST", "/oauth2/token", &[("Authorization", &auth), FORM], body.as_bytes())
}

fn token(s: &Igloohome) -> String {
    let r = s.handle(&token_request("demo-id", "demo-secret", "grant_type=client_credentials"));
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    r.json_body()["access_token"].as_str().expect("access_token").to_string()
}

fn get(s: &Igloohome, tok: &str, path: &str) -> StubResponse {
    let auth = format!("Bearer {tok}");
    s.handle(&request("GET", path, &[("Authorization", &auth), ("Accept", "application/json")], b""))
}

/// A JSON POST with a bearer token.
fn post_json(s: &Igloohome, tok: &str, path: &str, body: &Value) -> StubResponse {
    let auth = format!("Bearer {tok}");
    let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
    s.handle(&request("POST", path, &headers, body.to_string().as_bytes()))
}

fn post_job(s: &Igloohome, tok: &str, lock: &str, bridge: &str, body: &Value) -> StubResponse {
    post_json(s, tok, &format!("/igloohome/devices/{lock}/jobs/bridges/{bridge}"), body)
}

fn create_body(pin: &str, start: i64, end: i64) -> Value {
    json!({"jobType": 4, "jobData": {
        "accessName": format!("Guest {pin}"), "pin": pin, "pinType": 4,
        "startDate": iso(start), "endDate": iso(end)}})
}

fn delete_body(pin: &str) -> Value {
    json!({"jobType": 5, "jobData": {"pin": pin}})
}

/// Posts a create-PIN job for a 2-day window starting next hour; the job id.
fn create(s: &Igloohome, tok: &str, lock: &str, bridge: &str, pin: &str) -> String {
    let start = s.now() - s.now().rem_euclid(3600) + 3600;
    let r = post_job(s, tok, lock, bridge, &create_body(pin, start, start + 2 * 86_400));
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    r.json_body()["jobId"].as_str().expect("jobId").to_string()
}

fn delete(s: &Igloohome, tok: &str, lock: &str, bridge: &str, pin: &str) -> String {
    let r = post_job(s, tok, lock, bridge, &delete_body(pin));
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    r.json_body()["jobId"].as_str().expect("jobId").to_string()
}

fn status(s: &Igloohome, tok: &str, job: &str) -> Value {
    let r = get(s, tok, &format!("/igloohome/jobs/{job}"));
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    r.json_body()
}

fn is_pending(v: &Value) -> bool {
    v["completed"] == json!(false) && v["jobResponse"].is_null()
}

fn succeeded(v: &Value) -> bool {
    v["completed"] == json!(true) && v["jobResponse"]["jobStatus"] == json!(0)
}

fn failed(v: &Value) -> bool {
    v["completed"] == json!(true) && v["jobResponse"]["jobStatus"] == json!(2)
}

fn message(r: &StubResponse) -> String {
    r.json_body()["message"].as_str().unwrap_or_default().to_string()
}

// ---------------------------------------------------------------- config

#[test]
fn config_matches_scenario_shape() {
    let c = config();
    assert!(c.bridges[0].online, "online defaults to true");
    assert_eq!(c.bridges[0].offline_reply, OfflineReply::Queue);
    assert_eq!(c.bridges[2].offline_reply, OfflineReply::Reject);
    assert_eq!(c.locks[3].bridge, None);
    c.validate().expect("valid");
    // Round trip keeps the scenario's shape (no offline_reply when default).
    let v = serde_json::to_value(&c).expect("ser");
    assert!(v["bridges"][0].get("offline_reply").is_none());
    assert_eq!(serde_json::from_value::<StubConfig>(v).expect("de"), c);

    let typo = json!({"accounts": [], "locks": [], "bridges": [{"id": "B", "name": "b", "onlin": true}]});
    assert!(serde_json::from_value::<StubConfig>(typo).is_err());

    let mut bad = config();
    bad.locks[0].bridge = Some("NOPE".into());
    assert!(matches!(bad.validate(), Err(StubError::InvalidConfig(m)) if m.contains("NOPE")));
    let mut dup = config();
    dup.bridges[0].id = L1.into();
    assert!(dup.validate().is_err());
}

// ----------------------------------------------------------------- token

#[test]
fn token_is_a_jwt_with_exp_scope_and_account_name() {
    let s = stub();
    let r = s.handle(&token_request("demo-id", "demo-secret", "grant_type=client_credentials"));
    assert_eq!(r.status, 200);
    let body = r.json_body();
    assert_eq!(body["expires_in"], json!(86_400));
    assert_eq!(body["token_type"], json!("Bearer"));
    let jwt = body["access_token"].as_str().expect("token");
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert!(parts.iter().all(|p| !p.contains('=')), "no padding");
    let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
    assert_eq!(payload["exp"], json!(t0() + 86_400));
    assert_eq!(payload["name"], json!("Sea View Rentals"));
    assert_eq!(payload["client_id"], json!("demo-id"));
    let scope = payload["scope"].as_str().expect("scope");
    assert!(scope.contains("igloohomeapi/get-devices"));
    assert!(scope.contains("igloohomeapi/get-job-status"));

    let r = s.handle(&token_request(
        "demo-id",
        "demo-secret",
        "grant_type=client_credentials&scope=igloohomeapi%2Fget-devices+igloohomeapi%2Fget-job-status",
    ));
    assert_eq!(r.status, 200);
}

#[test]
fn token_errors() {
    let s = stub();
    let r = s.handle(&token_request("demo-id", "wrong", "grant_type=client_credentials"));
    assert_eq!((r.status, r.json_body()["error"].clone()), (401, json!("invalid_client")));
    let r = s.handle(&request("POST", "/oauth2/token", &[FORM], b"grant_type=client_credentials"));
    assert_eq!((r.status, r.json_body()["error"].clone()), (401, json!("invalid_client")));
    let r = s.handle(&token_request("demo-id", "demo-secret", "scope=igloohomeapi%2Fget-devices"));
    assert_eq!((r.status, r.json_body()["error"].clone()), (400, json!("unsupported_grant_type")));
    let r = s.handle(&token_request("demo-id", "demo-secret", "grant_type=password"));
    assert_eq!(r.status, 400);
    let r = s.handle(&token_request(
        "demo-id",
        "demo-secret",
        "grant_type=client_credentials&scope=igloohomeapi%2Fget-devices+igloohomeapi%2Funlock",
    ));
    assert_eq!((r.status, r.json_body()["error"].clone()), (400, json!("invalid_scope")));
    let auth = basic("demo-id", "demo-secret");
    let r = s.handle(&request(
        "POST",
        "/oauth2/token",
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        br#"{"grant_type":"client_credentials"}"#,
    ));
    assert_eq!((r.status, r.json_body()["error"].clone()), (400, json!("invalid_request")));
    let r = s.handle(&request("GET", "/oauth2/token", &[("Authorization", &auth)], b""));
    assert_eq!(r.status, 405);
}

#[test]
fn token_expires_on_the_simulated_clock_and_can_be_revoked() {
    let s = stub();
    let tok = token(&s);
    assert_eq!(get(&s, &tok, "/igloohome/devices").status, 200);
    s.set_time(t0() + 86_399);
    assert_eq!(get(&s, &tok, "/igloohome/devices").status, 200);
    s.set_time(t0() + 86_400);
    let r = get(&s, &tok, "/igloohome/devices");
    assert_eq!((r.status, message(&r)), (401, "Unauthorized".to_string()));

    let tok = token(&s);
    assert_eq!(get(&s, &tok, "/igloohome/devices").status, 200);
    s.revoke_tokens();
    assert_eq!(get(&s, &tok, "/igloohome/devices").status, 401);
    assert_eq!(get(&s, "garbage", "/igloohome/devices").status, 401);
    let r = s.handle(&request("GET", "/igloohome/devices", &[], b""));
    assert_eq!(r.status, 401);
}

#[test]
fn scopes_are_enforced() {
    let s = stub();
    let r = s.handle(&token_request(
        "demo-id",
        "demo-secret",
        "grant_type=client_credentials&scope=igloohomeapi/get-devices",
    ));
    let tok = r.json_body()["access_token"].as_str().expect("tok").to_string();
    assert_eq!(get(&s, &tok, "/igloohome/devices").status, 200);
    let r = post_job(&s, &tok, L1, B1, &delete_body("1234"));
    assert_eq!(r.status, 403);
    assert!(message(&r).contains("delete-pin-bridge-proxied-job"));
    assert_eq!(get(&s, &tok, "/igloohome/jobs/x").status, 403);
}

// --------------------------------------------------------------- devices

#[test]
fn devices_are_paginated_and_shaped_like_the_api() {
    let s = stub();
    let tok = token(&s);
    let mut all = Vec::new();
    let mut path = "/igloohome/devices".to_string();
    let mut pages = 0;
    loop {
        let r = get(&s, &tok, &path);
        assert_eq!(r.status, 200);
        let body = r.json_body();
        let payload = body["payload"].as_array().expect("payload").clone();
        assert!(payload.len() <= 2);
        all.extend(payload);
        pages += 1;
        let next = body["nextCursor"].as_str().expect("nextCursor");
        if next.is_empty() {
            break;
        }
        path = format!("/igloohome/devices?cursor={next}");
    }
    assert_eq!(pages, 4);
    assert_eq!(all.len(), 7);
    let lock = &all[0];
    assert_eq!(lock["type"], json!("Lock"));
    assert_eq!(lock["deviceId"], json!(L1));
    assert_eq!(lock["deviceName"], json!("Front door"));
    assert!(lock["id"].as_str().expect("id").bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(lock["homeId"], json!([]));
    assert!(lock["batteryLevel"].is_number());
    assert!(DateTime::parse_from_rfc3339(lock["pairedAt"].as_str().expect("pairedAt")).is_ok());

    let bridges: Vec<&Value> = all.iter().filter(|d| d["type"] == json!("Bridge")).collect();
    assert_eq!(bridges.len(), 3);
    assert_eq!(
        bridges[0]["linkedDevices"],
        json!([{"type": "Lock", "deviceId": L1}, {"type": "Lock", "deviceId": L2}])
    );
    assert_eq!(bridges[1]["linkedDevices"], json!([{"type": "Lock", "deviceId": L3}]));
    for d in &all {
        assert!(DateTime::parse_from_rfc3339(d["lastSync"].as_str().expect("lastSync")).is_ok(), "{d}");
    }
    assert_eq!(bridges[2]["linkedDevices"], json!([]));

    s.set_page_size(10);
    let body = get(&s, &tok, "/igloohome/devices").json_body();
    assert_eq!(body["payload"].as_array().map(Vec::len), Some(7));
    assert_eq!(body["nextCursor"], json!(""));

    let r = get(&s, &tok, "/igloohome/devices?cursor=%21%21bogus");
    assert_eq!((r.status, message(&r)), (400, "'cursor' is invalid".to_string()));

    let r = get(&s, &tok, &format!("/igloohome/devices/{B2}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json_body()["deviceId"], json!(B2));
    assert_eq!(get(&s, &tok, "/igloohome/devices/NOPE").status, 404);
}

// ------------------------------------------------------- job lifecycle

#[test]
fn a_job_takes_30_simulated_seconds() {
    let s = stub();
    let tok = token(&s);
    let job = create(&s, &tok, L1, B1, "482913");
    let st = status(&s, &tok, &job);
    assert!(is_pending(&st), "{st}");
    assert_eq!(st["jobType"], json!(4));
    assert_eq!(st["jobId"], json!(job));
    assert!(DateTime::parse_from_rfc3339(st["expiryDate"].as_str().expect("expiry")).is_ok());
    s.set_time(t0() + 29);
    assert!(is_pending(&status(&s, &tok, &job)));
    assert!(s.pins().is_empty());
    s.set_time(t0() + 30);
    assert!(succeeded(&status(&s, &tok, &job)));
    let pins = s.pins();
    assert_eq!(pins.len(), 1);
    assert_eq!(pins[0].lock, L1);
    assert_eq!(pins[0].pin, "482913");
    assert_eq!(pins[0].access_name, "Guest 482913");
    assert_eq!(pins[0].start, t0() + 3600);
    assert_eq!(pins[0].end, t0() + 3600 + 2 * 86_400);
    assert_eq!((pins[0].added_at, pins[0].removed_at), (t0() + 30, None));
}

#[test]
fn a_bridge_works_its_queue_one_job_at_a_time() {
    let s = stub();
    let tok = token(&s);
    let a = create(&s, &tok, L1, B1, "1111");
    let b = create(&s, &tok, L2, B1, "2222");
    let c = create(&s, &tok, L1, B1, "3333");
    // Another bridge works in parallel.
    let d = create(&s, &tok, L3, B2, "4444");
    s.set_time(t0() + 59);
    assert!(succeeded(&status(&s, &tok, &a)));
    assert!(is_pending(&status(&s, &tok, &b)));
    assert!(succeeded(&status(&s, &tok, &d)));
    s.set_time(t0() + 1000); // one big step plays every event in order
    assert!(succeeded(&status(&s, &tok, &b)));
    assert!(succeeded(&status(&s, &tok, &c)));
    let added: Vec<(String, i64)> = s.pins().into_iter().map(|p| (p.pin, p.added_at)).collect();
    assert_eq!(
        added,
        vec![
            ("1111".to_string(), t0() + 30),
            ("4444".to_string(), t0() + 30),
            ("2222".to_string(), t0() + 60),
            ("3333".to_string(), t0() + 90),
        ]
    );
    // An idle bridge starts a new job at the instant it is enqueued.
    let e = create(&s, &tok, L1, B1, "5555");
    s.set_time(t0() + 1029);
    assert!(is_pending(&status(&s, &tok, &e)));
    s.set_time(t0() + 1030);
    assert!(succeeded(&status(&s, &tok, &e)));
}

#[test]
fn a_job_not_started_within_120_s_expires() {
    let s = stub();
    let tok = token(&s);
    // Starts at +0, +30, +60, +90; the fifth would start at +120: too late.
    let jobs: Vec<String> = (1..=5).map(|i| create(&s, &tok, L1, B1, &format!("{i}{i}{i}{i}"))).collect();
    s.set_time(t0() + 119);
    assert!(is_pending(&status(&s, &tok, &jobs[4])));
    s.set_time(t0() + 120);
    for j in &jobs[..4] {
        assert!(succeeded(&status(&s, &tok, j)));
    }
    let st = status(&s, &tok, &jobs[4]);
    assert!(failed(&st), "{st}");
    assert!(st["jobResponse"]["message"].as_str().unwrap_or("").contains("expired"));
    assert_eq!(s.pins().len(), 4);
}

#[test]
fn jobs_on_an_offline_bridge_wait_then_expire() {
    let s = stub();
    let tok = token(&s);
    s.set_bridge_online(B1, false).expect("bridge");
    let job = create(&s, &tok, L1, B1, "1234");
    s.set_time(t0() + 119);
    assert!(is_pending(&status(&s, &tok, &job)));
    s.set_time(t0() + 120);
    assert!(failed(&status(&s, &tok, &job)));
    // Coming back does not revive an expired job.
    s.set_bridge_online(B1, true).expect("bridge");
    s.set_time(t0() + 500);
    assert!(failed(&status(&s, &tok, &job)));
    assert!(s.pins().is_empty());

    // Back online within the window: processing resumes from that instant.
    s.set_bridge_online(B1, false).expect("bridge");
    let job = create(&s, &tok, L1, B1, "1234");
    s.set_time(t0() + 560);
    s.set_bridge_online(B1, true).expect("bridge");
    s.set_time(t0() + 589);
    assert!(is_pending(&status(&s, &tok, &job)));
    s.set_time(t0() + 590);
    assert!(succeeded(&status(&s, &tok, &job)));
    assert_eq!(s.pins()[0].added_at, t0() + 590);

    assert!(matches!(s.set_bridge_online("NOPE", true), Err(StubError::UnknownBridge(_))));
}

#[test]
fn going_offline_aborts_the_running_job() {
    let s = stub();
    let tok = token(&s);
    let job = create(&s, &tok, L1, B1, "1234");
    s.set_time(t0() + 10);
    s.set_bridge_online(B1, false).expect("bridge");
    let st = status(&s, &tok, &job);
    assert!(failed(&st), "{st}");
    s.set_time(t0() + 1000);
    assert!(s.pins().is_empty());
}

#[test]
fn a_bridge_refuses_a_21st_pending_job() {
    let s = stub();
    let tok = token(&s);
    s.set_bridge_online(B1, false).expect("bridge");
    for i in 0..20 {
        create(&s, &tok, L1, B1, &format!("{:04}", 1000 + i));
    }
    let r = post_job(&s, &tok, L1, B1, &delete_body("1234"));
    assert_eq!(r.status, 429);
    assert_eq!(message(&r), "too many pending jobs on bridge");
    assert_eq!(r.header("Retry-After"), Some("60"));
    // Once they expire the bridge takes jobs again.
    s.set_time(t0() + 120);
    assert_eq!(post_job(&s, &tok, L1, B1, &delete_body("1234")).status, 200);
}

#[test]
fn an_offline_bridge_can_reject_at_once() {
    let s = Igloohome::new(
        serde_json::from_value(json!({
            "accounts": [{"client_id": "demo-id", "client_secret": "demo-secret", "name": "A"}],
            "locks": [{"id": "L", "name": "Lock", "bridge": B3}],
            "bridges": [{"id": B3, "name": "b", "online": false, "offline_reply": "reject"}]
        }))
        .expect("config"),
        t0(),
    );
    let tok = token(&s);
    let r = post_job(&s, &tok, "L", B3, &delete_body("1234"));
    assert_eq!((r.status, message(&r)), (406, "bridge is offline".to_string()));
    s.set_bridge_online(B3, true).expect("bridge");
    assert_eq!(post_job(&s, &tok, "L", B3, &delete_body("1234")).status, 200);
}

#[test]
fn a_duplicate_pin_fails_the_job() {
    let s = stub();
    let tok = token(&s);
    let a = create(&s, &tok, L1, B1, "123456");
    let b = create(&s, &tok, L1, B1, "123456");
    let c = create(&s, &tok, L2, B1, "123456"); // another lock: fine
    s.set_time(t0() + 100);
    assert!(succeeded(&status(&s, &tok, &a)));
    let st = status(&s, &tok, &b);
    assert!(failed(&st), "{st}");
    assert!(st["jobResponse"]["message"].as_str().unwrap_or("").contains("already exists"));
    assert!(succeeded(&status(&s, &tok, &c)));
    assert_eq!(s.pins().len(), 2);

    // Once deleted, the same PIN can be put back.
    delete(&s, &tok, L1, B1, "123456");
    let d = create(&s, &tok, L1, B1, "123456");
    s.set_time(t0() + 200);
    assert!(succeeded(&status(&s, &tok, &d)));
    let pins: Vec<(String, i64, Option<i64>)> =
        s.pins().into_iter().filter(|p| p.lock == L1).map(|p| (p.pin, p.added_at, p.removed_at)).collect();
    assert_eq!(pins, vec![("123456".into(), t0() + 30, Some(t0() + 130)), ("123456".into(), t0() + 160, None)]);
}

#[test]
fn delete_is_idempotent() {
    let s = stub();
    let tok = token(&s);
    let missing = delete(&s, &tok, L1, B1, "9999");
    s.set_time(t0() + 30);
    assert!(succeeded(&status(&s, &tok, &missing)));
    assert!(s.pins().is_empty());

    create(&s, &tok, L1, B1, "9999");
    let del = delete(&s, &tok, L1, B1, "9999");
    let again = delete(&s, &tok, L1, B1, "9999");
    s.set_time(t0() + 300);
    assert!(succeeded(&status(&s, &tok, &del)));
    assert!(succeeded(&status(&s, &tok, &again)));
    let pins = s.pins();
    assert_eq!(pins.len(), 1);
    assert_eq!(pins[0].removed_at, Some(t0() + 90));
    assert_eq!(status(&s, &tok, &del)["jobType"], json!(5));
}

#[test]
fn job_posts_are_validated() {
    let s = stub();
    s.set_time(t0() + 20 * 60); // 08:20: the current hour began at 08:00
    let tok = token(&s);
    let hour = t0();
    let data = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut b = create_body("123456", hour + 3600, hour + 7200);
        if let Some(d) = b["jobData"].as_object_mut() {
            f(d);
        }
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!({"jobType": 3, "jobData": {"pin": "1234"}}), "'jobType'"),
        (json!({"jobData": {"pin": "1234"}}), "'jobType'"),
        (json!({"jobType": 5}), "'jobData'"),
        (json!({"jobType": 5, "jobData": {"pin": "123"}}), "'pin' length is 4-6 digits"),
        (json!({"jobType": 5, "jobData": {"pin": "1234567"}}), "'pin' length is 4-6 digits"),
        (json!({"jobType": 5, "jobData": {"pin": "12a4"}}), "'pin' length is 4-6 digits"),
        (json!({"jobType": 5, "jobData": {"pin": 1234}}), "'pin' length is 4-6 digits"),
        (
            data(&|d| {
                d.insert("pinType".into(), json!(2));
            }),
            "'pinType'",
        ),
        (
            data(&|d| {
                d.remove("pinType");
            }),
            "'pinType'",
        ),
        (
            data(&|d| {
                d.remove("startDate");
            }),
            "'startDate' is required",
        ),
        (
            data(&|d| {
                d.remove("endDate");
            }),
            "'endDate' is required",
        ),
        (
            data(&|d| {
                d.insert("startDate".into(), json!("2026-03-01T10:00:00Z"));
            }),
            "'startDate' must be ISO 8601",
        ),
        (
            data(&|d| {
                d.insert("startDate".into(), json!("2026-03-01T10:00:00"));
            }),
            "'startDate' must be ISO 8601",
        ),
        (
            data(&|d| {
                d.insert("endDate".into(), json!("2026-03-01T10:00+01:00"));
            }),
            "'endDate' must be ISO 8601",
        ),
        (
            data(&|d| {
                d.insert("startDate".into(), json!(iso(hour - 1)));
            }),
            "'startDate' must not be before the current hour",
        ),
        (
            data(&|d| {
                d.insert("endDate".into(), json!(iso(hour + 3600)));
            }),
            "'endDate' must be after 'startDate'",
        ),
        (
            data(&|d| {
                d.insert("endDate".into(), json!(iso(hour + 3600 + 367 * 86_400 + 1)));
            }),
            "367 days",
        ),
        (
            data(&|d| {
                d.insert("accessName".into(), json!(42));
            }),
            "'accessName'",
        ),
    ];
    for (body, expected) in cases {
        let r = post_job(&s, &tok, L1, B1, &body);
        assert_eq!(r.status, 400, "{body} -> {:?}", r.json_body());
        assert!(message(&r).contains(expected), "{body}: {:?} lacks {expected:?}", message(&r));
    }
    // Within the current hour (even before now) and exactly 367 days: fine.
    let ok = data(&|d| {
        d.insert("startDate".into(), json!(iso(hour)));
        d.insert("endDate".into(), json!(iso(hour + 367 * 86_400)));
    });
    assert_eq!(post_job(&s, &tok, L1, B1, &ok).status, 200);
    let minus5 = data(&|d| {
        d.insert("startDate".into(), json!("2026-03-01T04:00:00-05:00"));
    });
    assert_eq!(post_job(&s, &tok, L1, B1, &minus5).status, 200);

    let del = delete_body("1234");
    let r = post_job(&s, &tok, "NOPE", B1, &del);
    assert_eq!((r.status, message(&r)), (404, "lock not found".to_string()));
    let r = post_job(&s, &tok, L1, "NOPE", &del);
    assert_eq!((r.status, message(&r)), (404, "bridge not found".to_string()));
    let r = post_job(&s, &tok, L3, B1, &del);
    assert_eq!((r.status, message(&r)), (400, "lock is not linked to bridge".to_string()));
    let r = post_job(&s, &tok, L4, B1, &del);
    assert_eq!((r.status, message(&r)), (400, "lock is not linked to bridge".to_string()));
    let auth = format!("Bearer {tok}");
    let r = s.handle(&request(
        "POST",
        &format!("/igloohome/devices/{L1}/jobs/bridges/{B1}"),
        &[("Authorization", &auth)],
        b"{not json",
    ));
    assert_eq!(r.status, 400);
    let r = post_job(&s, "bad", L1, B1, &del);
    assert_eq!(r.status, 401);
}

#[test]
fn job_status_of_an_unknown_job_is_404() {
    let s = stub();
    let tok = token(&s);
    assert_eq!(get(&s, &tok, "/igloohome/jobs/nope").status, 404);
    assert_eq!(get(&s, "bad", "/igloohome/jobs/nope").status, 401);
}

// ---------------------------------------------------------------- faults

#[test]
fn status_faults_answer_the_next_calls_and_do_nothing() {
    let s = stub();
    let tok = token(&s);
    s.inject_fault(Endpoint::Devices, 503, 2);
    assert_eq!(get(&s, &tok, "/igloohome/devices").status, 503);
    let r = get(&s, &tok, "/igloohome/devices/OE1X000001");
    assert_eq!(r.status, 503);
    assert!(r.json_body()["message"].is_string());
    assert_eq!(get(&s, &tok, "/igloohome/devices").status, 200);

    s.inject_fault(Endpoint::Jobs, 429, 1);
    let r = post_job(&s, &tok, L1, B1, &delete_body("1234"));
    assert_eq!((r.status, r.header("Retry-After")), (429, Some("30")));
    s.set_time(t0() + 100);
    assert!(s.pins().is_empty());

    s.inject_fault(Endpoint::JobStatus, 0, 1);
    let r = get(&s, &tok, "/igloohome/jobs/x");
    assert_eq!(r.status, 0, "hang");

    s.inject_fault(Endpoint::Token, 500, 1);
    let r = s.handle(&token_request("demo-id", "demo-secret", "grant_type=client_credentials"));
    assert_eq!((r.status, r.json_body()["error"].clone()), (500, json!("server_error")));

    // Faults queue in order; count 0 disarms.
    s.inject_fault(Endpoint::Devices, 500, 1);
    s.inject_fault(Endpoint::Devices, 502, 1);
    assert_eq!(get(&s, &tok, "/igloohome/devices").status, 500);
    assert_eq!(get(&s, &tok, "/igloohome/devices").status, 502);
    s.inject_fault(Endpoint::Devices, 500, 5);
    s.inject_fault(Endpoint::Devices, 500, 0);
    assert_eq!(get(&s, &tok, "/igloohome/devices").status, 200);

    assert_eq!("job_status".parse::<Endpoint>(), Ok(Endpoint::JobStatus));
    assert!("nope".parse::<Endpoint>().is_err());
}

#[test]
fn malformed_and_truncated_responses_still_carry_the_request_out() {
    let s = stub();
    let tok = token(&s);
    s.inject_malformed(Endpoint::Devices, 1, MalformedKind::Malformed);
    let r = get(&s, &tok, "/igloohome/devices");
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());

    s.inject_malformed(Endpoint::Jobs, 1, MalformedKind::Truncated);
    let r = post_job(&s, &tok, L1, B1, &create_body("4321", t0() + 3600, t0() + 7200));
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    assert!(!r.body.is_empty());
    s.set_time(t0() + 30);
    assert_eq!(s.pins().len(), 1, "the job was queued all the same");
}

// ---------------------------------------------------- counts and reports

#[test]
fn every_api_request_is_counted_but_admin_is_not() {
    let s = stub();
    let tok = token(&s);
    s.inject_fault(Endpoint::Devices, 500, 1);
    get(&s, &tok, "/igloohome/devices");
    get(&s, &tok, "/igloohome/devices");
    post_job(&s, &tok, L1, B1, &delete_body("1234"));
    get(&s, &tok, "/igloohome/jobs/x");
    get(&s, &tok, "/nowhere");
    s.handle(&request("GET", "/_admin/http", &[], b""));
    s.handle(&request("POST", "/_admin/time", &[], br#"{"now": 1900000000}"#));
    let c = s.http_counts();
    assert_eq!(c.requests, 6);
    let by: Vec<(&str, u64)> = c.by_endpoint.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(by, vec![("devices", 2), ("job_status", 1), ("jobs", 1), ("token", 1)]);
    assert_eq!(
        s.http_json(),
        json!({"requests": 6, "by_endpoint": {"token": 1, "devices": 2, "jobs": 1, "job_status": 1}})
    );
    assert_eq!(
        Igloohome::new(config(), t0()).http_json()["by_endpoint"],
        json!({"token": 0, "devices": 0, "jobs": 0, "job_status": 0})
    );
}

#[test]
fn pins_report_uses_rfc3339_utc() {
    let s = stub();
    let tok = token(&s);
    let start = ts("2026-03-20T15:30:00+01:00");
    post_job(&s, &tok, L1, B1, &create_body("482913", start, start + 3600));
    s.set_time(t0() + 30);
    assert_eq!(
        s.report_pins_json(),
        json!([{"provider": "igloohome", "lock": L1, "pin": "482913", "access_name": "Guest 482913",
                "start": "2026-03-20T14:30:00Z", "end": "2026-03-20T15:30:00Z",
                "added_at": "2026-03-01T08:00:30Z", "removed_at": null, "kind": "code"}])
    );
    delete(&s, &tok, L1, B1, "482913");
    s.set_time(t0() + 60);
    assert_eq!(s.report_pins_json()[0]["removed_at"], json!("2026-03-01T08:01:00Z"));
}

#[test]
fn the_clock_never_moves_backwards() {
    let s = stub();
    s.set_time(t0() + 100);
    s.set_time(t0());
    assert_eq!(s.now(), t0() + 100);
}

#[test]
fn admin_routes_drive_the_stub() {
    let s = stub();
    let admin = |method: &str, path: &str, body: &str| s.handle(&request(method, path, &[], body.as_bytes()));
    let tok = token(&s);
    let job = create(&s, &tok, L1, B1, "1234");

    let r = admin("POST", "/_admin/time", &format!(r#"{{"now": {}}}"#, t0() + 30));
    assert_eq!(r.json_body()["now"], json!(t0() + 30));
    assert!(succeeded(&status(&s, &tok, &job)));
    let r = admin("POST", "/_admin/time", r#"{"now": "2026-03-01T08:01:00Z"}"#);
    assert_eq!((r.status, r.json_body()["now"].clone()), (200, json!(t0() + 60)));
    assert_eq!(admin("POST", "/_admin/time", r#"{"now": 5}"#).status, 409);
    assert_eq!(admin("POST", "/_admin/time", "nope").status, 400);
    assert_eq!(admin("GET", "/_admin/time", "").json_body()["time"], json!("2026-03-01T08:01:00Z"));

    assert_eq!(admin("POST", "/_admin/bridge", r#"{"bridge": "EB1X000001", "online": false}"#).status, 200);
    let job = create(&s, &tok, L1, B1, "5678");
    s.set_time(t0() + 500);
    assert!(failed(&status(&s, &tok, &job)));
    assert_eq!(admin("POST", "/_admin/bridge", r#"{"bridge": "NOPE", "online": false}"#).status, 404);

    let r = admin("POST", "/_admin/fault", r#"{"endpoint": "devices", "status": 502, "count": 1}"#);
    assert_eq!(r.status, 200);
    assert_eq!(get(&s, &tok, "/igloohome/devices").status, 502);
    let r = admin("POST", "/_admin/fault", r#"{"endpoint": "devices", "kind": "truncated", "count": 1}"#);
    assert_eq!(r.status, 200);
    assert_eq!(get(&s, &tok, "/igloohome/devices").json_body(), Value::Null);
    assert_eq!(admin("POST", "/_admin/fault", r#"{"endpoint": "nope", "status": 500, "count": 1}"#).status, 400);
    assert_eq!(admin("POST", "/_admin/fault", r#"{"endpoint": "jobs", "status": 1000, "count": 1}"#).status, 400);

    assert_eq!(admin("GET", "/_admin/pins", "").json_body(), s.report_pins_json());
    let mut http = admin("GET", "/_admin/http", "").json_body();
    assert!(http.as_object_mut().and_then(|o| o.remove("max_in_flight_per_account")).is_some());
    assert_eq!(http, s.http_json());
    assert_eq!(admin("POST", "/_admin/page-size", r#"{"page_size": 50}"#).status, 200);
    assert_eq!(get(&s, &tok, "/igloohome/devices").json_body()["nextCursor"], json!(""));
    assert_eq!(admin("POST", "/_admin/revoke-tokens", "").json_body()["revoked"], json!(1));
    assert_eq!(get(&s, &tok, "/igloohome/devices").status, 401);
    assert_eq!(admin("GET", "/_admin/nope", "").status, 404);
}

#[test]
fn bad_requests_do_not_panic() {
    let s = stub();
    let tok = token(&s);
    let auth = format!("Bearer {tok}");
    for path in [
        "",
        "/",
        "%",
        "/igloohome/devices/%FF",
        "/igloohome/jobs/%zz",
        "http://x/igloohome/devices",
        "/igloohome/devices?cursor=%FF%FE",
    ] {
        let r = s.handle(&request("GET", path, &[("Authorization", &auth)], b"\xff\xfe"));
        assert!(r.status >= 200, "{path}");
    }
    let r = s.handle(&request("POST", "/oauth2/token", &[("Authorization", "Basic ####"), FORM], b"\xff"));
    assert_eq!(r.status, 401);
    let r = s.handle(&request("POST", "/oauth2/token", &[("Authorization", "Basic"), FORM], b""));
    assert_eq!(r.status, 401);
}

// -------------------------------------------------------------- algoPIN

fn post_algopin(s: &Igloohome, tok: &str, device: &str, kind: &str, body: &Value) -> StubResponse {
    post_json(s, tok, &format!("/igloohome/devices/{device}/algopin/{kind}"), body)
}

fn hourly_body(start: i64, end: i64, variance: i64) -> Value {
    json!({"variance": variance, "startDate": iso(start), "endDate": iso(end), "accessName": "Bk 4711 Meier"})
}

/// Issues an hourly algoPIN; its `pin`.
fn algopin(s: &Igloohome, tok: &str, lock: &str, start: i64, end: i64, variance: i64) -> String {
    let r = post_algopin(s, tok, lock, "hourly", &hourly_body(start, end, variance));
    assert_eq!(r.status, 200, "{}", r.json_body());
    r.json_body()["pin"].as_str().expect("pin").to_string()
}

#[test]
fn an_algopin_is_issued_with_the_bridge_offline_and_recorded_as_offline() {
    let s = stub();
    let tok = token(&s);
    s.set_bridge_online(B1, false).expect("bridge");
    assert!(!s.http_counts().by_endpoint.contains_key("algopin"), "listed only once called");
    s.set_time(t0() + 600);
    let (start, end) = (t0() + 3 * 3600, t0() + 51 * 3600);
    let r = post_algopin(&s, &tok, L1, "hourly", &hourly_body(start, end, 1));
    assert_eq!(r.status, 200, "{}", r.json_body());
    let v = r.json_body();
    let pin = v["pin"].as_str().expect("pin").to_string();
    assert!(pin.len() == 9 && pin.bytes().all(|b| b.is_ascii_digit()), "{pin}");
    assert!(v["pinId"].as_str().is_some_and(|id| !id.is_empty()));

    let pins = s.pins();
    assert_eq!(pins.len(), 1);
    let p = &pins[0];
    assert_eq!((p.lock.as_str(), p.pin.as_str(), p.kind), (L1, pin.as_str(), crate::PinKind::Offline));
    assert_eq!((p.start, p.end, p.added_at, p.removed_at), (start, end, t0() + 600, None));
    assert_eq!(s.report_pins_json()[0]["kind"], json!("offline"));

    // A retry of the very same request: the same code and id, no second record.
    let again = post_algopin(&s, &tok, L1, "hourly", &hourly_body(start, end, 1)).json_body();
    assert_eq!(again, v);
    assert_eq!(s.pins().len(), 1);
    // Another variance is another code for the same window (a shared door).
    let other = algopin(&s, &tok, L1, start, end, 2);
    assert_ne!(other, pin);
    // Another lock, same window: another code.
    assert_ne!(algopin(&s, &tok, L2, start, end, 1), pin);
    assert_eq!(s.http_counts().by_endpoint["algopin"], 4);

    // No bridge job is involved, and nothing revokes it: past its end it is
    // still on record, never removed.
    s.set_bridge_online(B1, true).expect("bridge");
    s.set_time(end + 86_400);
    assert!(s.pins().iter().all(|p| p.removed_at.is_none()));
    assert_eq!(s.http_counts().by_endpoint["jobs"], 0);
}

#[test]
fn an_algopin_opens_in_its_window_if_first_typed_within_24_hours() {
    let s = stub();
    let tok = token(&s);
    let (start, end) = (t0() + 3600, t0() + 3600 + 72 * 3600);
    let never_typed = algopin(&s, &tok, L1, start, end, 1);
    let typed_early = algopin(&s, &tok, L1, start, end, 2);

    assert!(!s.opens(L1, &typed_early, start - 1), "not before its start");
    assert!(!s.opens(L2, &typed_early, start + 60), "only on its own lock");
    assert!(s.would_open(L1, &never_typed, start + 24 * 3600 - 1), "still activatable");
    assert!(s.opens(L1, &typed_early, start + 2 * 3600));
    assert!(s.opens(L1, &typed_early, start + 60 * 3600), "activated: opens until the end");
    assert!(!s.opens(L1, &typed_early, end), "the end is exclusive");
    assert!(!s.opens(L1, &never_typed, start + 24 * 3600), "not activated in time: refused for good");
    assert!(!s.opens(L1, &never_typed, start + 30 * 3600));

    // A window of 24 h or less needs no activation: it opens throughout.
    let short = algopin(&s, &tok, L3, start, start + 24 * 3600, 1);
    assert!(s.opens(L3, &short, start + 24 * 3600 - 1));
    assert!(!s.opens(L3, &short, start + 24 * 3600));
}

#[test]
fn onetime_and_permanent_algopins_follow_their_own_rules() {
    let s = stub();
    let tok = token(&s);
    let start = t0() + 3600;
    let body = json!({"variance": 5, "startDate": iso(start), "accessName": "Cleaner"});
    let r = post_algopin(&s, &tok, L4, "onetime", &body);
    assert_eq!(r.status, 200, "{}", r.json_body());
    let once = r.json_body()["pin"].as_str().expect("pin").to_string();
    assert!(!s.opens(L4, &once, start + 24 * 3600), "only within 24 h of its start");
    assert!(s.opens(L4, &once, start + 3600));
    assert!(!s.opens(L4, &once, start + 7200), "it opens once");

    let body = json!({"variance": 1, "startDate": iso(start), "accessName": "Owner"});
    let r = post_algopin(&s, &tok, L4, "permanent", &body);
    assert_eq!(r.status, 200, "{}", r.json_body());
    let forever = r.json_body()["pin"].as_str().expect("pin").to_string();
    assert!(s.opens(L4, &forever, start + 600));
    assert!(s.opens(L4, &forever, start + 400 * 86_400));
    let kinds: Vec<_> = s.pins().iter().map(|p| (p.kind, p.end)).collect();
    assert_eq!(kinds, [(crate::PinKind::Offline, start + 86_400), (crate::PinKind::Offline, algopin::PERMANENT_END)]);
}

#[test]
fn algopin_requests_are_validated() {
    let s = stub();
    let tok = token(&s);
    s.set_time(t0() + 1800);
    let start = t0() + 3600;
    let refused = |device: &str, kind: &str, body: Value, status: u16, text: &str| {
        let r = post_algopin(&s, &tok, device, kind, &body);
        assert_eq!(r.status, status, "{body}: {}", r.json_body());
        assert!(message(&r).contains(text), "{body}: {:?} lacks {text:?}", message(&r));
    };
    let with = |field: &str, value: Value| {
        let mut b = hourly_body(start, start + 48 * 3600, 1);
        b[field] = value;
        b
    };
    let format = "'startDate' must be in format";
    refused(L1, "hourly", with("startDate", json!("2026-03-01T10:30:00+01:00")), 400, format);
    refused(L1, "hourly", with("startDate", json!("2026-03-01T09:00:00Z")), 400, format);
    refused(L1, "hourly", with("startDate", json!("2026-03-01T10:00:00")), 400, format);
    refused(L1, "hourly", with("startDate", json!(start)), 400, format);
    refused(L1, "hourly", with("endDate", json!("2026-03-03T10:00:00.000+01:00")), 400, "'endDate' must be in format");
    refused(L1, "hourly", with("startDate", json!(iso(t0() - 3600))), 400, "before the current hour");
    refused(L1, "hourly", with("endDate", json!(iso(start))), 400, "after 'startDate'");
    refused(L1, "hourly", with("endDate", json!(iso(start + 673 * 3600))), 400, "1 to 672 hours");
    refused(L1, "hourly", with("variance", json!(4)), 400, "'variance'");
    refused(L1, "hourly", with("variance", json!("1")), 400, "'variance'");
    refused(L1, "hourly", with("accessName", json!("")), 400, "'accessName'");
    refused(L1, "hourly", with("accessName", json!("x".repeat(61))), 400, "'accessName'");
    let mut no_end = hourly_body(start, start + 3600, 1);
    no_end.as_object_mut().expect("object").remove("endDate");
    refused(L1, "hourly", no_end, 400, "'endDate' is required");
    refused(L1, "onetime", hourly_body(start, start + 3600, 1), 400, "'endDate' is not allowed");
    refused(L1, "daily", hourly_body(start, start + 28 * 86_400, 1), 400, "29 to 367 days");
    refused(L1, "daily", hourly_body(start, start + 368 * 86_400, 1), 422, "367 days");
    refused(L1, "daily", hourly_body(start, start + 40 * 86_400 + 3600, 1), 400, "same hour of day");
    refused("OE1X999999", "hourly", hourly_body(start, start + 3600, 1), 404, "device not found");
    refused(B1, "hourly", hourly_body(start, start + 3600, 1), 400, "must be a lock");

    // The current hour is accepted; so are exactly 672 hours.
    algopin(&s, &tok, L1, t0(), t0() + 3600, 1);
    algopin(&s, &tok, L1, start, start + 672 * 3600, 1);
    // Daily across a change of offset (DST): the same wall hour, 31 days.
    let body = json!({"variance": 1, "startDate": "2026-03-20T15:00:00+01:00",
                      "endDate": "2026-04-20T15:00:00+02:00", "accessName": "Long stay"});
    let r = post_algopin(&s, &tok, L1, "daily", &body);
    assert_eq!(r.status, 200, "{}", r.json_body());

    // Not JSON; another method; an unknown type; no token; no scope.
    let auth = format!("Bearer {tok}");
    let path = format!("/igloohome/devices/{L1}/algopin/hourly");
    let body = hourly_body(start, start + 3600, 1).to_string();
    let r = s.handle(&request("POST", &path, &[("Authorization", &auth), FORM], body.as_bytes()));
    assert_eq!(r.status, 415);
    let r = s.handle(&request("DELETE", &path, &[("Authorization", &auth)], b""));
    assert_eq!((r.status, r.header("Allow")), (405, Some("POST")));
    assert_eq!(post_algopin(&s, &tok, L1, "weekly", &hourly_body(start, start + 3600, 1)).status, 404);
    assert_eq!(post_algopin(&s, "nope", L1, "hourly", &hourly_body(start, start + 3600, 1)).status, 401);
    let r = s.handle(&token_request(
        "demo-id",
        "demo-secret",
        "grant_type=client_credentials&scope=igloohomeapi/algopin-daily",
    ));
    let daily_only = r.json_body()["access_token"].as_str().expect("tok").to_string();
    let r = post_algopin(&s, &daily_only, L1, "hourly", &hourly_body(start, start + 3600, 1));
    assert_eq!(r.status, 403);
    assert!(message(&r).contains("algopin-hourly"));
    assert_eq!(s.pins().len(), 3, "only the accepted requests left a code");
}

#[test]
fn algopin_faults_answer_without_a_code_or_spoil_the_answer_of_one() {
    let s = stub();
    let tok = token(&s);
    let start = t0() + 3600;
    let world = World::from_stubs(Some(s.clone()), None, None);
    let fault = crate::Fault { endpoint: "algopin".into(), status: 503, count: 1, ..Default::default() };
    world.inject_fault(crate::Vendor::Igloohome, &fault).expect("fault");
    let r = post_algopin(&s, &tok, L1, "hourly", &hourly_body(start, start + 3600, 1));
    assert_eq!(r.status, 503);
    assert!(s.pins().is_empty());
    s.inject_fault(Endpoint::Algopin, 0, 1);
    assert_eq!(post_algopin(&s, &tok, L1, "hourly", &hourly_body(start, start + 3600, 1)).status, 0);
    assert!(s.pins().is_empty());
    // A spoiled answer: the code exists; the identical retry gets it back.
    s.inject_malformed(Endpoint::Algopin, 1, MalformedKind::Truncated);
    let r = post_algopin(&s, &tok, L1, "hourly", &hourly_body(start, start + 3600, 1));
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    assert_eq!(s.pins().len(), 1);
    let pin = algopin(&s, &tok, L1, start, start + 3600, 1);
    assert_eq!(s.pins()[0].pin, pin);
    assert_eq!(s.http_counts().by_endpoint["algopin"], 4);
    assert_eq!("algopin".parse::<Endpoint>(), Ok(Endpoint::Algopin));
}

// ------------------------------------------------------- the real server

mod over_http {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::StubServer;

    fn agent(timeout: Duration) -> ureq::Agent {
        ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(false).build().into()
    }

    fn read_json(r: &mut ureq::http::Response<ureq::Body>) -> Value {
        let text = r.body_mut().read_to_string().expect("body");
        serde_json::from_str(&text).expect("json")
    }

    fn http_token(agent: &ureq::Agent, base: &str) -> String {
        let mut r = agent
            .post(format!("{base}/oauth2/token"))
            .header("Authorization", basic("demo-id", "demo-secret"))
            .send_form([("grant_type", "client_credentials")])
            .expect("token request");
        assert_eq!(r.status().as_u16(), 200);
        let v: Value = read_json(&mut r);
        v["access_token"].as_str().expect("token").to_string()
    }

    #[test]
    fn serves_the_api_and_admin_over_http() {
        let server = StubServer::start(stub()).expect("start");
        let base = server.base_url();
        assert!(base.starts_with("http://127.0.0.1:"));
        let a = agent(Duration::from_secs(5));
        let tok = http_token(&a, &base);
        let mut r = a
            .post(format!("{base}/igloohome/devices/{L1}/jobs/bridges/{B1}"))
            .header("Authorization", format!("Bearer {tok}"))
            .header("Content-Type", "application/json")
            .send(create_body("482913", t0() + 3600, t0() + 7200).to_string())
            .expect("job");
        assert_eq!(r.status().as_u16(), 200);
        assert!(read_json(&mut r)["jobId"].is_string());
        let r = a.post(format!("{base}/_admin/time")).send(json!({"now": t0() + 30}).to_string()).expect("time");
        assert_eq!(r.status().as_u16(), 200);
        let pins = read_json(&mut a.get(format!("{base}/_admin/pins")).call().expect("pins"));
        assert_eq!(pins[0]["added_at"], json!("2026-03-01T08:00:30Z"));

        // Oversized bodies are refused (and still counted).
        let big = vec![b'x'; crate::MAX_BODY_BYTES + 10];
        let r = a
            .post(format!("{base}/igloohome/devices/{L1}/jobs/bridges/{B1}"))
            .header("Authorization", format!("Bearer {tok}"))
            .send(&big[..])
            .expect("big");
        assert_eq!(r.status().as_u16(), 413);
        assert_eq!(server.stub().http_counts().requests, 3);
        assert_eq!(server.stub().http_counts().by_endpoint["jobs"], 2);
    }

    /// The fallback as the plugin would run it on the eve: the bridge is
    /// offline, the algoPIN is issued over HTTP, and a guest's typed code is
    /// judged through the admin API.
    #[test]
    fn issues_an_algopin_over_http_while_the_bridge_is_offline() {
        let server = StubServer::start(stub()).expect("start");
        let base = server.base_url();
        let a = agent(Duration::from_secs(5));
        let tok = http_token(&a, &base);
        let admin = |path: &str, body: Value| {
            let mut r = a.post(format!("{base}/_admin/{path}")).send(body.to_string()).expect("admin");
            assert_eq!(r.status().as_u16(), 200, "{path}");
            read_json(&mut r)
        };
        admin("online", json!({"id": B1, "online": false}));
        let (start, end) = (t0() + 3600, t0() + 49 * 3600);
        let mut r = a
            .post(format!("{base}/igloohome/devices/{L1}/algopin/hourly"))
            .header("Authorization", format!("Bearer {tok}"))
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .send(hourly_body(start, end, 1).to_string())
            .expect("algopin");
        assert_eq!(r.status().as_u16(), 200);
        let pin = read_json(&mut r)["pin"].as_str().expect("pin").to_string();

        let pins = read_json(&mut a.get(format!("{base}/_admin/pins")).call().expect("pins"));
        assert_eq!(pins[0]["kind"], json!("offline"));
        assert_eq!(pins[0]["added_at"], json!("2026-03-01T08:00:00Z"));
        assert_eq!(pins[0]["removed_at"], json!(null));
        assert_eq!(admin("try-pin", json!({"lock": L1, "pin": pin})), json!({"opens": false}), "before its start");
        admin("time", json!({"now": start + 3 * 3600}));
        assert_eq!(admin("try-pin", json!({"lock": L1, "pin": pin})), json!({"opens": true}));
        admin("time", json!({"now": start + 30 * 3600}));
        assert_eq!(admin("try-pin", json!({"lock": L1, "pin": pin})), json!({"opens": true}), "used in time");
        assert_eq!(admin("try-pin", json!({"lock": L1, "pin": "000000"})), json!({"opens": false}));
        let http = read_json(&mut a.get(format!("{base}/_admin/http")).call().expect("http"));
        assert_eq!(http["by_endpoint"]["algopin"], json!(1));
    }

    #[test]
    fn a_hang_times_the_client_out_without_blocking_others() {
        let server = StubServer::start(stub()).expect("start");
        let base = server.base_url();
        let tok = http_token(&agent(Duration::from_secs(5)), &base);
        server.stub().inject_fault(Endpoint::Devices, 0, 1);

        let hung = {
            let (base, tok) = (base.clone(), tok.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                let r = agent(Duration::from_millis(800))
                    .get(format!("{base}/igloohome/devices"))
                    .header("Authorization", format!("Bearer {tok}"))
                    .call();
                (r.is_err(), started.elapsed())
            })
        };
        std::thread::sleep(Duration::from_millis(200));
        // While that request hangs, another one is served at once.
        let started = Instant::now();
        let r = agent(Duration::from_secs(5))
            .get(format!("{base}/igloohome/devices"))
            .header("Authorization", format!("Bearer {tok}"))
            .call()
            .expect("devices");
        assert_eq!(r.status().as_u16(), 200);
        assert!(started.elapsed() < Duration::from_millis(500));

        let (timed_out, took) = hung.join().expect("thread");
        assert!(timed_out, "the hung request must time out on the client");
        assert!(took >= Duration::from_millis(700), "{took:?}");
        assert_eq!(server.stub().http_counts().by_endpoint["devices"], 2);
    }

    #[test]
    fn shutdown_with_a_hang_in_progress_is_quick() {
        let server = StubServer::start(stub()).expect("start");
        let base = server.base_url();
        server.stub().inject_fault(Endpoint::Token, 0, 1);
        let client = std::thread::spawn(move || {
            let started = Instant::now();
            let r = agent(Duration::from_secs(30))
                .post(format!("{base}/oauth2/token"))
                .header("Authorization", basic("demo-id", "demo-secret"))
                .send_form([("grant_type", "client_credentials")]);
            (r.map(|r| r.status().as_u16()).ok(), started.elapsed())
        });
        // Wait until the request is in (hung) before shutting down.
        let deadline = Instant::now() + Duration::from_secs(5);
        while server.stub().http_counts().requests == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let started = Instant::now();
        drop(server);
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        let (status, took) = client.join().expect("thread");
        assert!(took < Duration::from_secs(5), "the hang ended with the server: {took:?}");
        assert!(matches!(status, None | Some(503)), "{status:?}");
    }

    #[test]
    fn admin_shutdown_ends_wait() {
        let server = StubServer::start(stub()).expect("start");
        let base = server.base_url();
        let r = agent(Duration::from_secs(5)).post(format!("{base}/_admin/shutdown")).send_empty().expect("shutdown");
        assert_eq!(r.status().as_u16(), 200);
        server.wait().expect("clean stop");
    }

    /// One raw HTTP/1.1 exchange on a fresh connection: the request exactly
    /// as `raw` spells it, the response's status and JSON body.
    fn exchange(base: &str, raw: &[u8]) -> (u16, Value) {
        use std::io::{Read as _, Write as _};
        let addr = base.trim_start_matches("http://");
        let mut conn = std::net::TcpStream::connect(addr).expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        conn.write_all(raw).expect("send");
        let mut answer = Vec::new();
        conn.read_to_end(&mut answer).expect("read");
        let text = String::from_utf8(answer).expect("utf-8");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status");
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// The requests of the vendor's public Python client (aiohttp), byte for
    /// byte as `docs/brands/igloohome.md` records them: the token request asks for the
    /// whole scope catalogue, and every device must carry the fields that
    /// client types as required.
    #[test]
    fn serves_the_vendor_public_client_unchanged() {
        let server = StubServer::start(stub()).expect("start");
        let base = server.base_url();
        let host = base.trim_start_matches("http://").to_string();
        let scope = [
            "algopin-hourly",
            "algopin-daily",
            "algopin-permanent",
            "algopin-onetime",
            "create-pin-bridge-proxied-job",
            "delete-pin-bridge-proxied-job",
            "lock-bridge-proxied-job",
            "unlock-bridge-proxied-job",
            "get-devices",
            "get-job-status",
            "get-properties",
        ]
        .map(|s| format!("igloohomeapi%2F{s}"))
        .join("+");
        let form = format!("grant_type=client_credentials&scope={scope}");
        let raw = format!(
            "POST /oauth2/token HTTP/1.1\r\nHost: {host}\r\nAuthorization: {}\r\nAccept: */*\r\n\
             Accept-Encoding: gzip, deflate\r\nUser-Agent: Python/3.12 aiohttp/3.11.11\r\n\
             Content-Length: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n{form}",
            basic("demo-id", "demo-secret"),
            form.len()
        );
        let (status, token) = exchange(&base, raw.as_bytes());
        assert_eq!(status, 200, "{token}");
        assert_eq!(token["token_type"], json!("Bearer"));
        let bearer = token["access_token"].as_str().expect("access_token").to_string();
        let get = |path: &str| {
            let raw = format!(
                "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {bearer}\r\nAccept: application/json\r\n\
                 Accept-Encoding: gzip, deflate\r\nUser-Agent: Python/3.12 aiohttp/3.11.11\r\nConnection: close\r\n\r\n"
            );
            exchange(&base, raw.as_bytes())
        };

        let (status, page) = get("/igloohome/devices");
        assert_eq!(status, 200, "{page}");
        let mut devices: Vec<Value> = page["payload"].as_array().expect("payload").clone();
        let mut cursor = page["nextCursor"].as_str().expect("nextCursor").to_string();
        while !cursor.is_empty() {
            let (status, page) = get(&format!("/igloohome/devices?cursor={cursor}"));
            assert_eq!(status, 200, "{page}");
            devices.extend(page["payload"].as_array().expect("payload").iter().cloned());
            cursor = page["nextCursor"].as_str().expect("nextCursor").to_string();
        }
        assert_eq!(devices.len(), 7);
        // The fields the public client's device type requires.
        for d in &devices {
            for field in ["id", "type", "deviceId", "deviceName"] {
                assert!(d[field].is_string(), "{field} of {d}");
            }
            for field in ["pairedAt", "lastSync"] {
                assert!(DateTime::parse_from_rfc3339(d[field].as_str().unwrap_or("")).is_ok(), "{field} of {d}");
            }
            assert!(d["homeId"].as_array().is_some_and(|h| h.iter().all(Value::is_string)), "homeId of {d}");
            let linked = d["linkedDevices"].as_array().expect("linkedDevices");
            assert!(linked.iter().all(|l| l["type"].is_string() && l["deviceId"].is_string()), "{d}");
            assert!(d["batteryLevel"].is_number() || d["batteryLevel"].is_null(), "{d}");
        }
        let (status, one) = get(&format!("/igloohome/devices/{L1}"));
        assert_eq!((status, one["deviceId"].clone()), (200, json!(L1)));

        // Job creation as the client's JSON encoder spells it.
        let body = "{\"jobType\": 4, \"jobData\": {\"accessName\": \"Guest\", \"pin\": \"482913\", \"pinType\": 4, \
             \"startDate\": \"2026-03-01T10:00:00+01:00\", \"endDate\": \"2026-03-02T10:00:00+01:00\"}}";
        let raw = format!(
            "POST /igloohome/devices/{L1}/jobs/bridges/{B1} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {bearer}\r\n\
             Accept: application/json\r\nAccept-Encoding: gzip, deflate\r\nUser-Agent: Python/3.12 aiohttp/3.11.11\r\n\
             Content-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let (status, job) = exchange(&base, raw.as_bytes());
        assert_eq!(status, 200, "{job}");
        let job_id = job["jobId"].as_str().expect("jobId").to_string();
        let (status, pending) = get(&format!("/igloohome/jobs/{job_id}"));
        assert_eq!((status, pending["completed"].clone()), (200, json!(false)), "{pending}");
    }
}

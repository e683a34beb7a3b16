//! `host-harness serve` through its JSON API, as a PMS in another language
//! would call it: the binary on port 0 (its base URL is the first line on
//! stdout), every route, the operator's token, the plugin's sentences on bad
//! input with nothing half-saved, and no secret ever coming back out (R2).

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod support;
use support::*;

/// The demo stubs' own record of every PIN on every lock (lock-side truth,
/// not the plugin's belief).
fn stub_pins(server: &Server) -> Vec<Value> {
    let service = send("GET", &format!("{}/api/service", server.base), None, None, &[]);
    let stubs = service.body["demo_stubs"].as_str().expect("a demo names its stubs").to_string();
    let pins = send("GET", &format!("{stubs}/_admin/pins"), None, None, &[]);
    pins.body.as_array().expect("the stub lists its pins").clone()
}

/// Waits (on the simulated clock) until `what` holds of the stub's pins.
fn wait_for_pins(server: &Server, what: &str, ok: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pins = stub_pins(server);
        if ok(&pins) {
            return pins;
        }
        assert!(Instant::now() < deadline, "the locks never showed {what}: {pins:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn wait_for_state(api: &Api, booking: &str, state: &str) -> Value {
    wait_for(api, booking, |code| code["state"] == state)
}

/// Waits (on the simulated clock) until the booking's code status satisfies `ok`.
fn wait_for(api: &Api, booking: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let a = api.get(&format!("/bookings/{booking}/code"));
        assert_eq!(a.status, 200, "{a:?}");
        if ok(&a.body) {
            return a.body;
        }
        assert!(Instant::now() < deadline, "booking {booking}'s code never got there: {}", a.body);
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn every_route_of_the_api() {
    let server = start_demo(&[]);
    let base = &server.base;
    let demo = Api { server: &server, tenant: "demo" };

    // The panel, its files and the OpenAPI document.
    let page = send("GET", &format!("{base}/"), None, None, &[]);
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.text.contains("Smart locks"));
    assert!(page.csp.as_deref().is_some_and(|c| c.contains("script-src 'self'")), "{:?}", page.csp);
    for (path, kind) in [("/panel.js", "text/javascript"), ("/panel.css", "text/css")] {
        let a = send("GET", &format!("{base}{path}"), None, None, &[]);
        assert_eq!((a.status, a.content_type.starts_with(kind)), (200, true), "{path}");
    }
    let openapi = send("GET", &format!("{base}/openapi.json"), None, None, &[]);
    assert_eq!(openapi.body["openapi"], "3.0.3");
    let paths = openapi.body["paths"].as_object().unwrap();
    let documented = [
        ("/api/service", "get"),
        ("/api/brands", "get"),
        ("/api/tenants", "get"),
        ("/api/tenants/{tenant}/properties", "get"),
        ("/api/tenants/{tenant}/properties/{property}", "get"),
        ("/api/tenants/{tenant}/properties/{property}", "put"),
        ("/api/tenants/{tenant}/properties/{property}/assignment", "get"),
        ("/api/tenants/{tenant}/properties/{property}/assignment", "put"),
        ("/api/tenants/{tenant}/properties/{property}/assignment", "delete"),
        ("/api/tenants/{tenant}/properties/{property}/doors", "get"),
        ("/api/tenants/{tenant}/properties/{property}/doors", "post"),
        ("/api/tenants/{tenant}/properties/{property}/doors/{provider}/{lock_id}", "delete"),
        ("/api/tenants/{tenant}/bookings/{booking}", "get"),
        ("/api/tenants/{tenant}/bookings/{booking}", "put"),
        ("/api/tenants/{tenant}/bookings/{booking}/cancel", "post"),
        ("/api/tenants/{tenant}/bookings/{booking}/code", "get"),
        ("/api/tenants/{tenant}/bookings/{booking}/render", "post"),
        ("/api/tenants/{tenant}/accounts", "get"),
        ("/api/tenants/{tenant}/accounts/{provider}", "post"),
        ("/api/tenants/{tenant}/accounts/{provider}", "delete"),
        ("/api/tenants/{tenant}/accounts/{provider}/locks", "get"),
        ("/api/tenants/{tenant}/outbox", "get"),
        ("/api/tenants/{tenant}/keys", "get"),
        ("/api/tenants/{tenant}/keys", "post"),
        ("/api/tenants/{tenant}/keys/{key_id}", "delete"),
        // Feed and webhooks: exercised in serve_events.rs.
        ("/api/tenants/{tenant}/events", "get"),
        ("/api/tenants/{tenant}/webhook", "get"),
        ("/api/tenants/{tenant}/webhook", "put"),
        ("/api/tenants/{tenant}/webhook", "delete"),
    ];
    for (path, method) in documented {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is documented");
    }
    let operations: usize =
        paths.values().map(|p| p.as_object().unwrap().keys().filter(|k| *k != "parameters").count()).sum();
    assert_eq!(operations, documented.len(), "every documented route is tested here");

    // R30: the brands as data, without a key; the connect forms come from it.
    let brands = send("GET", &format!("{base}/api/brands"), None, None, &[]);
    assert_eq!(brands.status, 200);
    let ids: Vec<&str> = brands.body["brands"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["igloohome", "nuki", "ttlock", "seam"]);
    for b in brands.body["brands"].as_array().unwrap() {
        assert!(b["credentials"].as_array().is_some_and(|f| !f.is_empty()) && b["origins"].is_array(), "{b}");
    }

    // The service, its clock and the tenants.
    let service = send("GET", &format!("{base}/api/service"), None, None, &[]);
    assert_eq!(service.body["clock"]["speed"], 120);
    assert_eq!(service.body["clock"]["simulated"], true);
    assert_eq!(service.body["demo"], true);
    assert_eq!(service.body["default_tenant"], "demo");
    let tenants = send("GET", &format!("{base}/api/tenants"), None, Some(TOKEN), &[]);
    assert_eq!(tenants.body, json!({"tenants": ["demo"]}));
    refused(&send("GET", &format!("{base}/api/tenants"), None, None, &[]), 401, "unauthorized", None);

    // Credentials need the operator's token: 401 without it or with another.
    let accounts_url = demo.url("/accounts");
    for token in [None, Some("wrong-token")] {
        let a = send("GET", &accounts_url, None, token, &[]);
        refused(&a, 401, "unauthorized", None);
        assert_eq!(a.www_authenticate.as_deref(), Some("Bearer"));
        let body = json!({"client_id": "demo-igloohome-id", "client_secret": "demo-igloohome-secret"}).to_string();
        refused(&send("POST", &demo.url("/accounts/igloohome"), Some(&body), token, &[]), 401, "unauthorized", None);
        refused(&send("DELETE", &demo.url("/accounts/igloohome"), None, token, &[]), 401, "unauthorized", None);
        refused(&send("GET", &demo.url("/accounts/igloohome/locks"), None, token, &[]), 401, "unauthorized", None);
    }
    assert_eq!(demo.get("/accounts").body, json!({"accounts": []}), "nothing was connected without the token");

    // Connect: bad input, refused credentials (nothing stored), then the right ones.
    let missing = demo.post("/accounts/igloohome", json!({"client_id": "demo-igloohome-id"}));
    assert_eq!(refused(&missing, 400, "invalid_input", Some("client_secret")), "client_secret is required");
    let stray = demo.post("/accounts/igloohome", json!({"client_id": "a", "client_secret": "b", "secret": "c"}));
    refused(&stray, 400, "invalid_input", Some("secret"));
    let empty = demo.post("/accounts/igloohome", json!({"client_id": " ", "client_secret": "x"}));
    assert_eq!(refused(&empty, 400, "invalid_input", Some("client_id")), "client_id must not be empty");
    refused(&demo.post("/accounts/august", json!({})), 400, "invalid_input", Some("provider"));
    let wrong = demo.post("/accounts/igloohome", json!({"client_id": "demo-igloohome-id", "client_secret": "nope"}));
    assert!(refused(&wrong, 422, "credentials_rejected", None).starts_with("the credentials were refused"));
    assert_eq!(demo.get("/accounts").body, json!({"accounts": []}));
    let ok = demo.post(
        "/accounts/igloohome",
        json!({"client_id": "demo-igloohome-id", "client_secret": "demo-igloohome-secret"}),
    );
    assert_eq!((ok.status, ok.body.clone()), (200, json!({"provider": "igloohome", "name": "Seaside Rentals"})));
    let nuki = demo.post("/accounts/nuki", json!({"api_token": "demo-nuki-token"}));
    assert_eq!(nuki.status, 200, "{nuki:?}");
    let ttlock = demo.post("/accounts/ttlock", json!({"username": "owner@example.com", "password": "demo-password"}));
    assert_eq!(ttlock.status, 200, "the host adds its TTLock application: {ttlock:?}");
    let accounts = demo.get("/accounts");
    assert_eq!(accounts.body["accounts"].as_array().unwrap().len(), 3);
    for secret in ["demo-igloohome-secret", "demo-nuki-token", "demo-password", "demo-ttlock-app-secret"] {
        assert!(!accounts.text.contains(secret) && !ok.text.contains(secret), "R2: {secret} never comes back");
    }

    // Locks, with what the unassignable ones need (R3).
    let locks = demo.get("/accounts/igloohome/locks");
    let gate = locks.body["locks"].as_array().unwrap().iter().find(|l| l["id"] == "OE1X000003").unwrap().clone();
    assert_eq!(
        gate,
        json!({"provider": "igloohome", "id": "OE1X000003", "name": "Garden gate", "remote": null, "assignable": false, "needs": "a bridge", "unreachable_since": null})
    );
    let chalet = demo.get("/accounts/nuki/locks");
    assert!(chalet.body["locks"].as_array().unwrap().iter().any(|l| l["remote"] == json!({"kind": "keypad"})));

    // Assign: refusals save nothing; then an assignment with its settings.
    let lock_needs =
        demo.put("/properties/seaside-loft/assignment", json!({"provider": "igloohome", "lock_id": "OE1X000003"}));
    assert!(refused(&lock_needs, 422, "lock_not_remote", None).contains("needs a bridge"));
    let out_of_range = demo.put(
        "/properties/seaside-loft/assignment",
        json!({"provider": "igloohome", "lock_id": "OE1X000001", "days_before": 20, "margin_minutes": 60}),
    );
    assert_eq!(
        refused(&out_of_range, 400, "invalid_input", Some("days_before")),
        "days_before must be between 1 and 14"
    );
    let margin = demo.put(
        "/properties/seaside-loft/assignment",
        json!({"provider": "igloohome", "lock_id": "OE1X000001", "margin_minutes": 241}),
    );
    assert_eq!(
        refused(&margin, 400, "invalid_input", Some("margin_minutes")),
        "margin_minutes must be between 0 and 240"
    );
    let fraction = demo.put(
        "/properties/seaside-loft/assignment",
        json!({"provider": "igloohome", "lock_id": "OE1X000001", "days_before": 2.5}),
    );
    refused(&fraction, 400, "invalid_input", Some("days_before"));
    assert_eq!(
        demo.get("/properties/seaside-loft/assignment").body,
        json!({"property_id": "seaside-loft", "assignment": null})
    );
    let unknown_lock =
        demo.put("/properties/seaside-loft/assignment", json!({"provider": "igloohome", "lock_id": "NOPE"}));
    assert_eq!(unknown_lock.status, 404, "{unknown_lock:?}");
    let assigned = demo.put(
        "/properties/seaside-loft/assignment",
        json!({"provider": "igloohome", "lock_id": "OE1X000001", "days_before": 3, "margin_minutes": 45}),
    );
    assert_eq!(assigned.status, 200, "{assigned:?}");
    assert_eq!(
        assigned.body,
        json!({"property_id": "seaside-loft", "provider": "igloohome", "lock_id": "OE1X000001", "lock_name": "Front door",
               "remote": {"kind": "bridge", "id": "EB1X000001"}, "days_before": 3, "margin_minutes": 45, "backup_codes": 0})
    );
    let backups = demo.put(
        "/properties/seaside-loft/assignment",
        json!({"provider": "igloohome", "lock_id": "OE1X000001", "backup_codes": 6}),
    );
    assert_eq!(refused(&backups, 400, "invalid_input", Some("backup_codes")), "backup_codes must be between 0 and 5");
    assert_eq!(demo.get("/properties/seaside-loft/assignment").body["assignment"]["backup_codes"], 0);
    assert_eq!(demo.get("/properties/seaside-loft/assignment").body["assignment"], assigned.body);

    // R4 across brands: refused until the other brand's lock is removed.
    let other = demo.put("/properties/seaside-loft/assignment", json!({"provider": "nuki", "lock_id": "17000001"}));
    refused(&other, 409, "other_provider_assigned", None);
    assert_eq!(demo.get("/properties/seaside-loft/assignment").body["assignment"]["provider"], "igloohome");

    // R26: the property's shared doors, under the tenant's key.
    let doors = demo.url("/properties/seaside-loft/doors");
    let annex = json!({"provider": "nuki", "lock_id": "17000003"});
    refused(&send("GET", &doors, None, None, &[]), 401, "unauthorized", None);
    refused(&send("POST", &doors, Some(&annex.to_string()), None, &[]), 401, "unauthorized", None);
    refused(&send("DELETE", &format!("{doors}/nuki/17000003"), None, None, &[]), 401, "unauthorized", None);
    refused(
        &demo.post("/properties/seaside-loft/doors", json!({"provider": "nuki"})),
        400,
        "invalid_input",
        Some("lock_id"),
    );
    let august = json!({"provider": "august", "lock_id": "1"});
    refused(&demo.post("/properties/seaside-loft/doors", august), 400, "invalid_input", Some("provider"));
    let stray = json!({"provider": "nuki", "lock_id": "17000003", "name": "Annex"});
    refused(&demo.post("/properties/seaside-loft/doors", stray), 400, "invalid_input", Some("name"));
    let own = json!({"provider": "igloohome", "lock_id": "OE1X000001"});
    refused(&demo.post("/properties/seaside-loft/doors", own), 400, "invalid_input", Some("lock_id"));
    refused(&demo.post("/properties/nowhere/doors", annex.clone()), 404, "not_found", Some("property_id"));
    assert_eq!(demo.get("/properties/seaside-loft/doors").body, json!({"property_id": "seaside-loft", "doors": []}));
    let shared = demo.post("/properties/seaside-loft/doors", annex.clone());
    assert_eq!(
        (shared.status, shared.body.clone()),
        (
            200,
            json!({"property_id": "seaside-loft", "provider": "nuki", "lock_id": "17000003", "lock_name": "Annex door",
                   "remote": {"kind": "keypad"}})
        )
    );
    assert_eq!(demo.post("/properties/seaside-loft/doors", annex).body, shared.body, "adding it again: the same door");
    assert_eq!(demo.get("/properties/seaside-loft/doors").body["doors"], json!([shared.body]));
    assert_eq!(demo.get("/properties/seaside-loft").body["doors"], json!([shared.body]));

    // The code reaches the lock on the simulated clock (wake-ups, R21), and renders (R19, R20).
    let code = wait_for_state(&demo, "seaside-loft-1", "on_lock");
    let pin = code["pin"].as_str().unwrap().to_string();
    assert_eq!(pin.len(), 6);
    assert_eq!(code["lock_id"], "OE1X000001");
    assert!(code["window"]["start_local"].as_str().unwrap().ends_with("T14:15:00+00:00"), "{code}");
    // The lock itself holds that PIN for that window (the stub's truth).
    let on_lock: Vec<Value> = stub_pins(&server)
        .into_iter()
        .filter(|p| p["lock"] == "OE1X000001" && p["pin"] == pin.as_str() && p["removed_at"].is_null())
        .collect();
    assert_eq!(on_lock.len(), 1, "{on_lock:?}");
    assert_eq!((&on_lock[0]["start"], &on_lock[0]["end"]), (&code["window"]["start"], &code["window"]["end"]));
    let rendered = demo.post(
        "/bookings/seaside-loft-1/render",
        json!({"template": "Code {{ smartlock_code }}, {{nuki_code}}, {{guest_name}}"}),
    );
    assert_eq!(rendered.body["text"], format!("Code {pin}, {pin}, {{{{guest_name}}}}"));
    assert_eq!(rendered.body["filled"], json!(["smartlock_code", "nuki_code"]));
    let none_yet = demo.post("/bookings/seaside-loft-3/render", json!({"template": "Code {{smartlock_code}}"}));
    assert_eq!(none_yet.body["text"], "Code {{smartlock_code}}", "no code yet: left for other plugins");
    refused(&demo.post("/bookings/seaside-loft-1/render", json!({})), 400, "invalid_input", Some("template"));

    // The booking's code on the shared door is in its status, and on that lock.
    let door_code = wait_for(&demo, "seaside-loft-1", |code| code["doors"][0]["state"] == "on_lock");
    assert_eq!(
        (&door_code["doors"][0]["door"], &door_code["doors"][0]["lock"]),
        (&json!("Annex door"), &json!("17000003"))
    );
    let door_pin = door_code["doors"][0]["pin"].as_str().expect("the door's PIN").to_string();
    wait_for_pins(&server, "the code on the shared door", |pins| {
        pins.iter().any(|p| p["lock"] == "17000003" && p["pin"] == door_pin.as_str() && p["removed_at"].is_null())
    });
    assert_eq!(demo.delete("/properties/seaside-loft/doors/nuki/17000003").status, 204);
    assert_eq!(demo.get("/properties/seaside-loft/doors").body["doors"], json!([]));
    refused(&demo.delete("/properties/seaside-loft/doors/nuki/17000003"), 404, "not_found", Some("lock_id"));
    refused(&demo.delete("/properties/seaside-loft/doors/august/1"), 400, "invalid_input", Some("provider"));

    // Reads: a property with its bookings and codes, the list, a booking.
    let property = demo.get("/properties/seaside-loft");
    assert_eq!(property.body["assignment"]["lock_id"], "OE1X000001");
    assert_eq!(property.body["bookings"].as_array().unwrap().len(), 3);
    assert_eq!(property.body["bookings"][0]["code"]["pin"], pin.as_str());
    let list = demo.get("/properties");
    let names: Vec<&str> =
        list.body["properties"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 8);
    assert!(names.windows(2).all(|w| w[0].to_lowercase() <= w[1].to_lowercase()), "sorted by name: {names:?}");
    refused(&demo.get("/properties/nowhere"), 404, "not_found", Some("property_id"));
    let booking = demo.get("/bookings/seaside-loft-1");
    assert_eq!(
        (booking.body["guest_name"].clone(), booking.body["code"]["state"].clone()),
        (json!("Ana Silva"), json!("on_lock"))
    );
    let unknown = demo.get("/bookings/nobody/code");
    assert!(refused(&unknown, 404, "not_found", Some("booking_id")).starts_with("booking_id"));

    // A new tenant: property and booking upserts, with nothing half-saved on refusal.
    let acme = Api { server: &server, tenant: "acme" };
    let bad_tz = acme.put("/properties/p1", json!({"name": "Canal House", "timezone": "Mars/Olympus"}));
    let sentence = refused(&bad_tz, 400, "invalid_input", bad_tz.body["field"].as_str());
    assert!(bad_tz.body["field"].as_str().unwrap().contains("timezone") && sentence.contains("timezone"), "{sentence}");
    assert_eq!(acme.get("/properties").body, json!({"properties": []}), "nothing saved");
    refused(
        &acme.put("/properties/p1", json!({"name": 7, "timezone": "Europe/Amsterdam"})),
        400,
        "invalid_input",
        Some("name"),
    );
    let p1 = acme.put(
        "/properties/p1",
        json!({"name": "Canal House", "timezone": "Europe/Amsterdam", "check_in_time": "16:00"}),
    );
    assert_eq!(p1.status, 200, "{p1:?}");
    let orphan =
        acme.put("/bookings/b1", json!({"property_id": "p9", "check_in": "2030-03-20", "check_out": "2030-03-22"}));
    refused(&orphan, 404, "not_found", Some("property_id"));
    let backwards =
        acme.put("/bookings/b1", json!({"property_id": "p1", "check_in": "2030-03-20", "check_out": "2030-03-19"}));
    assert!(refused(&backwards, 400, "invalid_input", backwards.body["field"].as_str()).contains("check_out"));
    refused(&acme.get("/bookings/b1"), 404, "not_found", Some("booking_id"));
    let status = acme.put(
        "/bookings/b1",
        json!({"property_id": "p1", "check_in": "2030-03-20", "check_out": "2030-03-22", "status": "maybe"}),
    );
    refused(&status, 400, "invalid_input", Some("status"));
    let b1 = acme.put(
        "/bookings/b1",
        json!({"property_id": "p1", "guest_name": "Ana", "check_in": "2030-03-20", "check_out": "2030-03-22"}),
    );
    assert_eq!((b1.status, b1.body["status"].clone()), (200, json!("confirmed")), "{b1:?}");
    assert_eq!(acme.get("/properties/p1").body["bookings"][0]["id"], "b1");
    let not_connected =
        acme.put("/properties/p1/assignment", json!({"provider": "igloohome", "lock_id": "OE1X000001"}));
    assert_eq!(refused(&not_connected, 409, "not_connected", None), "no igloohome account is connected");
    let cancelled = acme.post("/bookings/b1/cancel", json!({}));
    assert_eq!((cancelled.status, cancelled.body["status"].clone()), (200, json!("cancelled")));
    refused(&acme.post("/bookings/b2/cancel", json!({})), 404, "not_found", Some("booking_id"));
    assert_eq!(acme.get("/outbox").body, json!({"emails": []}));
    let tenants = send("GET", &format!("{base}/api/tenants"), None, Some(TOKEN), &[]);
    assert_eq!(tenants.body, json!({"tenants": ["acme", "demo"]}));

    // Unassign (R17): the code whose window has not started leaves the lock.
    assert_eq!(demo.delete("/properties/seaside-loft/assignment").status, 204);
    let gone = |p: &Value| p["lock"] == "OE1X000001" && p["pin"] == pin.as_str() && !p["removed_at"].is_null();
    wait_for_pins(&server, "the unassigned lock's code deleted", |pins| pins.iter().any(gone));
    // The other brand is accepted; its code reaches the Nuki lock.
    let switched = demo.put("/properties/seaside-loft/assignment", json!({"provider": "nuki", "lock_id": "17000001"}));
    assert_eq!(switched.status, 200, "{switched:?}");
    let live_nuki = |p: &Value| p["provider"] == "nuki" && p["lock"] == "17000001" && p["removed_at"].is_null();
    let before = wait_for_pins(&server, "a code on the Nuki lock", |pins| pins.iter().any(live_nuki));
    // Disconnect (R18): no further calls, codes stay on the lock to expire.
    let nuki_requests = || {
        let service = send("GET", &format!("{base}/api/service"), None, None, &[]);
        let http =
            send("GET", &format!("{}/_admin/http", service.body["demo_stubs"].as_str().unwrap()), None, None, &[]);
        let by_endpoint = http.body["by_endpoint"].as_object().cloned().unwrap_or_default();
        by_endpoint.iter().filter(|(k, _)| k.starts_with("nuki.")).map(|(_, v)| v.as_u64().unwrap()).sum::<u64>()
    };
    assert_eq!(demo.delete("/accounts/nuki").status, 204);
    let requests_at_disconnect = nuki_requests();
    assert!(requests_at_disconnect > 0, "the Nuki stub counted the calls before");
    let service_now =
        || send("GET", &format!("{base}/api/service"), None, None, &[]).body["clock"]["unix"].as_i64().unwrap();
    let disconnected_at = service_now();
    while service_now() < disconnected_at + 20 * 60 {
        std::thread::sleep(Duration::from_millis(200)); // 20 simulated minutes: several ticks
    }
    assert_eq!(nuki_requests(), requests_at_disconnect, "R18: no call to Nuki after the disconnect");
    // (A write sent before the disconnect may still land: Nuki carries writes out later.)
    let after = stub_pins(&server);
    for code in before.iter().filter(|p| live_nuki(p)) {
        assert!(after.contains(code), "R18: {code} stays on the lock, untouched: {after:?}");
    }
    assert_eq!(demo.get("/properties/seaside-loft/assignment").body["assignment"], Value::Null, "R18");
    assert_eq!(demo.get("/accounts").body["accounts"].as_array().unwrap().len(), 2);
    let locks = demo.get("/accounts/nuki/locks");
    assert_eq!(refused(&locks, 409, "not_connected", None), "no Nuki account is connected");
    assert_eq!(demo.get("/outbox").status, 200);

    // What the HTTP layer refuses before the API.
    refused(&send("GET", &format!("{base}/api/nothing"), None, None, &[]), 404, "no_route", None);
    refused(&demo.get("/teapots"), 404, "no_route", None);
    refused(
        &send("GET", &format!("{base}/api/tenants/a%20b/properties"), None, Some(TOKEN), &[]),
        400,
        "invalid_input",
        Some("tenant"),
    );
    let text = send("PUT", &demo.url("/properties/x"), Some("name=x"), None, &[("Content-Type", "text/plain")]);
    refused(&text, 415, "unsupported_media_type", None);
    refused(&send("PUT", &demo.url("/properties/x"), Some("{not json"), Some(TOKEN), &[]), 400, "invalid_input", None);
    refused(&send("PUT", &demo.url("/properties/x"), Some("[1]"), Some(TOKEN), &[]), 400, "invalid_input", None);
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(70_000));
    refused(&send("PUT", &demo.url("/properties/x"), Some(&big), None, &[]), 413, "too_large", None);
    let rebinding = send("GET", &format!("{base}/api/service"), None, None, &[("Host", "attacker.example")]);
    refused(&rebinding, 421, "wrong_host", None);
    let cross = send(
        "PUT",
        &demo.url("/properties/x"),
        Some(r#"{"name": "x", "timezone": "UTC"}"#),
        None,
        &[("Origin", "http://attacker.example")],
    );
    refused(&cross, 403, "cross_origin", None);
    assert_eq!(demo.get("/properties/x").status, 404, "nothing saved by refused requests");
    let same_origin = send(
        "PUT",
        &demo.url("/properties/x"),
        Some(r#"{"name": "X", "timezone": "UTC"}"#),
        Some(TOKEN),
        &[("Origin", base.as_str())],
    );
    assert_eq!(same_origin.status, 200, "the panel's own origin is fine: {same_origin:?}");

    // R2: no secret in the host's log either (but for the demo's own stub
    // credentials, printed once at start for whoever runs the demo).
    let log = std::fs::read_to_string(&server.stderr).unwrap();
    let log: String = log.lines().filter(|l| !l.starts_with("demo credentials: ")).collect();
    for secret in ["demo-igloohome-secret", "demo-nuki-token", "demo-password", "demo-ttlock-app-secret"] {
        assert!(!log.contains(secret), "{secret} is not logged");
    }
}

#[test]
fn r32_a_generated_token_goes_to_a_private_file_not_the_log_and_the_speed_needs_a_demo() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plain.sqlite");
    let server = start_with_token(&[], &db, None, None);
    let token_file = dir.path().join("plain.sqlite.token");
    let token = std::fs::read_to_string(&token_file).expect("the token file is made at start");
    let token = token.trim();
    assert!(token.len() >= 32, "{token}");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777, 0o600);
    let stderr = || std::fs::read_to_string(&server.stderr).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !stderr().contains("operator token") {
        assert!(Instant::now() < deadline, "where the token is, is said on stderr: {}", stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(stderr().contains(&token_file.display().to_string()), "{}", stderr());
    assert!(!stderr().contains(token), "the token itself is not logged");
    let url = format!("{}/api/tenants/t1/accounts", server.base);
    assert_eq!(send("GET", &url, None, Some(token), &[]).body, json!({"accounts": []}));
    assert_eq!(send("GET", &url, None, None, &[]).status, 401);
    let service = send("GET", &format!("{}/api/service", server.base), None, None, &[]);
    assert_eq!(
        service.body["clock"],
        json!({"now": service.body["clock"]["now"], "unix": service.body["clock"]["unix"], "speed": 1, "simulated": false})
    );
    assert_eq!(service.body["demo"], false);
    // Without the host's TTLock application, TTLock cannot be connected.
    let ttlock = send(
        "POST",
        &format!("{}/api/tenants/t1/accounts/ttlock", server.base),
        Some(r#"{"username": "u", "password": "p"}"#),
        Some(token),
        &[],
    );
    refused(&ttlock, 503, "not_configured", None);
    drop(server);
    // A restart reads the same token back from its file.
    let again = start_with_token(&[], &db, None, None);
    assert_eq!(send("GET", &format!("{}/api/tenants/t1/accounts", again.base), None, Some(token), &[]).status, 200);
    drop(again);

    let out = Command::new(BIN).args(["serve", "--port", "0", "--speed", "10", "--db"]).arg(&db).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.lines().last().unwrap().starts_with("error: --speed needs --demo"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn state_is_kept_in_the_sqlite_file_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kept.sqlite");
    let args = ["--demo", "--speed", "60"];
    let first = start(&args, &db, None);
    let api = Api { server: &first, tenant: "acme" };
    assert_eq!(api.put("/properties/p1", json!({"name": "Canal House", "timezone": "Europe/Amsterdam"})).status, 200);
    let before =
        send("GET", &format!("{}/api/service", first.base), None, None, &[]).body["clock"]["unix"].as_i64().unwrap();
    // A demo saves its simulated clock every second; then it is killed (SIGKILL).
    std::thread::sleep(Duration::from_millis(2500));
    drop(first);

    let second = start(&args, &db, None);
    let api = Api { server: &second, tenant: "acme" };
    assert_eq!(api.get("/properties").body["properties"][0]["name"], "Canal House");
    let tenants = send("GET", &format!("{}/api/tenants", second.base), None, Some(TOKEN), &[]);
    assert_eq!(tenants.body, json!({"tenants": ["acme", "demo"]}));
    let demo = Api { server: &second, tenant: "demo" };
    assert_eq!(demo.get("/properties").body["properties"].as_array().unwrap().len(), 8, "demo data not added twice");
    let after =
        send("GET", &format!("{}/api/service", second.base), None, None, &[]).body["clock"]["unix"].as_i64().unwrap();
    assert!(after >= before, "a restarted demo's clock does not go back");
}

#[test]
fn a_demo_prints_a_panel_url_whose_key_reaches_the_demo_tenant_only() {
    let server = start_demo(&[]);
    let log = || std::fs::read_to_string(&server.stderr).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !log().contains("#key=") {
        assert!(Instant::now() < deadline, "the demo prints its panel URL: {}", log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = log();
    let line = text.lines().find(|l| l.contains("#key=")).unwrap();
    let url = line.rsplit(' ').next().unwrap();
    let (page, key) = url.split_once("#key=").unwrap();
    assert_eq!(page, format!("{}/", server.base), "{line}");
    assert!(!text.contains(TOKEN), "the operator token is never printed");
    let demo = send("GET", &format!("{}/api/tenants/demo/properties", server.base), None, Some(key), &[]);
    assert_eq!(demo.status, 200, "{demo:?}");
    let other = send("GET", &format!("{}/api/tenants/acme/properties", server.base), None, Some(key), &[]);
    refused(&other, 403, "wrong_tenant", None);
    refused(&send("GET", &format!("{}/api/tenants", server.base), None, Some(key), &[]), 401, "unauthorized", None);
}

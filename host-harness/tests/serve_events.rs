//! `host-harness serve`'s code events (R27, R33) and brand routes (R30),
//! against the real binary over loopback: the feed with its cursors, a
//! tenant's signed webhook delivered to a receiver in this test that fails
//! at first and then recovers, the webhook secret shown once and never
//! again, and `--route BRAND=URL`.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit as _, Mac as _};
use serde_json::{json, Value};
use sha2::Sha256;

mod support;
use support::*;

/// One request a [`Receiver`] got: its method and path, headers (names in
/// lower case), body, and the status it answered.
#[derive(Debug, Clone)]
struct Received {
    line: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
    status: u16,
}

/// An HTTP server on a loopback port that records every request and
/// answers `status(n)` to the n-th (from 0), closing each connection.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(path: &str, status: impl Fn(usize) -> u16 + Send + 'static) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let n = log.lock().unwrap().len();
                if let Some(mut received) = read_request(&stream) {
                    received.status = status(n);
                    let reason = if received.status < 300 { "OK" } else { "Failing" };
                    let answer = format!(
                        "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}",
                        received.status
                    );
                    let _ = (&stream).write_all(answer.as_bytes());
                    log.lock().unwrap().push(received);
                }
            }
        });
        Receiver { url, got }
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

fn read_request(stream: &TcpStream) -> Option<Received> {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received { line: line.trim_end().to_string(), headers, body, status: 0 })
}

/// Checks `Smartlock-Signature: t=<unix>,v1=<hex>` over `"<t>.<body>"`
/// with `secret`, and that `t` is within five minutes of now.
fn signed_by(r: &Received, secret: &str) -> bool {
    let Some(header) = r.headers.get("smartlock-signature") else { return false };
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = value.parse::<u64>().ok(),
            Some(("v1", value)) => v1 = Some(value.to_string()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    if t.abs_diff(now) > 300 {
        return false;
    }
    let Ok(expected) = (0..v1.len())
        .step_by(2)
        .map(|i| v1.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or(()))
        .collect::<Result<Vec<u8>, ()>>()
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&r.body);
    mac.verify_slice(&expected).is_ok()
}

fn wait_until<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Connects the demo's igloohome account and assigns "Front door" to
/// `seaside-loft`: its first booking's code goes on the lock, with events.
fn code_on_lock(demo: &Api) -> Value {
    let ok = demo.post(
        "/accounts/igloohome",
        json!({"client_id": "demo-igloohome-id", "client_secret": "demo-igloohome-secret"}),
    );
    assert_eq!(ok.status, 200, "{ok:?}");
    let assigned =
        demo.put("/properties/seaside-loft/assignment", json!({"provider": "igloohome", "lock_id": "OE1X000001"}));
    assert_eq!(assigned.status, 200, "{assigned:?}");
    wait_until("seaside-loft-1's code on the lock", 90, || {
        let code = demo.get("/bookings/seaside-loft-1/code").body;
        (code["state"] == "on_lock").then_some(code)
    })
}

/// The whole feed, page by page (`limit` each) with `key`, checking each
/// page's `next`.
fn whole_feed(demo: &Api, key: &str, limit: u32) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = 0i64;
    loop {
        let page = send("GET", &demo.url(&format!("/events?after={after}&limit={limit}")), None, Some(key), &[]);
        assert_eq!(page.status, 200, "{page:?}");
        let events = page.body["events"].as_array().unwrap().clone();
        assert!(events.len() <= limit as usize);
        let next = page.body["next"].as_i64().unwrap();
        match events.last() {
            Some(last) => assert_eq!(last["cursor"].as_i64(), Some(next), "next is the last entry's cursor"),
            None => {
                assert_eq!(next, after, "an empty page keeps the cursor");
                return all;
            }
        }
        all.extend(events);
        after = next;
    }
}

#[test]
fn r33_feed_in_order_with_cursors_and_401_without_a_key() {
    let server = start_demo(&[]);
    let demo = Api { server: &server, tenant: "demo" };

    // No key: 401 and nothing read; another tenant's key: 403.
    let none = send("GET", &demo.url("/events"), None, None, &[]);
    refused(&none, 401, "unauthorized", None);
    assert_eq!(none.www_authenticate.as_deref(), Some("Bearer"));
    refused(&send("GET", &demo.url("/events"), None, Some("wrong-token-000000"), &[]), 401, "unauthorized", None);
    let made = |tenant: &str| {
        let a = send("POST", &format!("{}/api/tenants/{tenant}/keys", server.base), Some("{}"), Some(TOKEN), &[]);
        assert_eq!(a.status, 201, "{a:?}");
        a.body["key"].as_str().unwrap().to_string()
    };
    let (demo_key, other_key) = (made("demo"), made("other"));
    refused(&send("GET", &demo.url("/events"), None, Some(&other_key), &[]), 403, "wrong_tenant", None);

    let code = code_on_lock(&demo);
    let pin = code["pin"].as_str().unwrap().to_string();

    // Paged with the tenant's key, and in one page with the operator's
    // token: the same events in the same order, cursors increasing.
    let paged = whole_feed(&demo, &demo_key, 3);
    let single = send("GET", &demo.url("/events?limit=500"), None, Some(TOKEN), &[]);
    let single = single.body["events"].as_array().unwrap().clone();
    assert!(single.len() >= paged.len() && !paged.is_empty());
    assert_eq!(&single[..paged.len()], &paged[..], "paging changes nothing");
    let cursors: Vec<i64> = paged.iter().map(|e| e["cursor"].as_i64().unwrap()).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
    let ids: HashSet<&str> = paged.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), paged.len(), "an event is recorded once");
    for e in &paged {
        for field in ["id", "at", "state", "detail"] {
            assert!(e.get(field).is_some(), "{field} in {e}");
        }
    }
    // The booking's code reached the lock: its event says where, never the PIN (R27).
    let on_lock = paged
        .iter()
        .find(|e| e["booking"] == "seaside-loft-1" && e["state"] == "on_lock")
        .unwrap_or_else(|| panic!("an on_lock event for seaside-loft-1 in {paged:?}"));
    assert_eq!(
        (&on_lock["property"], &on_lock["provider"], &on_lock["lock"]),
        (&json!("seaside-loft"), &json!("igloohome"), &json!("OE1X000001"))
    );
    let text = serde_json::to_string(&single).unwrap();
    assert!(!text.contains(&pin), "R27: events carry no PIN");
    // After the last cursor: nothing, and the same cursor back.
    let last = *cursors.last().unwrap();
    let tail = send("GET", &demo.url(&format!("/events?after={}", last + 1_000_000)), None, Some(TOKEN), &[]);
    assert_eq!(tail.body, json!({"events": [], "next": last + 1_000_000}));

    // Bad parameters name themselves.
    refused(&demo.get("/events?after=-1"), 400, "invalid_input", Some("after"));
    refused(&demo.get("/events?after=x"), 400, "invalid_input", Some("after"));
    refused(&demo.get("/events?limit=0"), 400, "invalid_input", Some("limit"));
    refused(&demo.get("/events?limit=501"), 400, "invalid_input", Some("limit"));
    refused(&demo.get("/events?from=1"), 400, "invalid_input", Some("from"));

    // The documentation names the feed and the webhook.
    let openapi = send("GET", &format!("{}/openapi.json", server.base), None, None, &[]);
    for path in ["/api/tenants/{tenant}/events", "/api/tenants/{tenant}/webhook"] {
        assert!(openapi.body["paths"].get(path).is_some(), "{path} documented");
    }
}

#[test]
fn r33_webhook_signed_retried_in_order_secret_never_shown() {
    // The first three deliveries fail (500), then every one is accepted.
    let receiver = Receiver::start("/hooks/smartlock?src=test", |n| if n < 3 { 500 } else { 200 });
    let server = start_demo(&[]);
    let demo = Api { server: &server, tenant: "demo" };

    // The URL: http or https, no credentials in it.
    for bad in ["ftp://127.0.0.1/x", "https://user:pw@127.0.0.1/x", "127.0.0.1/x", "javascript:alert(1)"] {
        refused(&demo.put("/webhook", json!({"url": bad})), 400, "invalid_input", Some("url"));
    }
    refused(
        &demo.put("/webhook", json!({"url": receiver.url, "secret": "mine"})),
        400,
        "invalid_input",
        Some("secret"),
    );
    refused(&demo.get("/webhook"), 404, "not_found", Some("webhook"));
    refused(
        &send("PUT", &demo.url("/webhook"), Some(&json!({"url": receiver.url}).to_string()), None, &[]),
        401,
        "unauthorized",
        None,
    );

    // Made: the secret shown this once; from the feed's start (`after: 0`).
    let made = demo.put("/webhook", json!({"url": receiver.url, "after": 0}));
    assert_eq!(made.status, 201, "{made:?}");
    let secret = made.body["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_") && secret.len() == 6 + 48, "{secret}");
    let shown = demo.get("/webhook");
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body["url"], receiver.url.as_str());
    assert!(shown.body.get("secret").is_none());
    let again = demo.put("/webhook", json!({"url": receiver.url}));
    assert_eq!(again.status, 200, "{again:?}");
    assert!(again.body.get("secret").is_none(), "an existing secret is not shown again: {again:?}");

    code_on_lock(&demo);
    let feed = whole_feed(&demo, TOKEN, 100);
    assert!(feed.iter().any(|e| e["state"] == "on_lock"), "{feed:?}");
    let want: Vec<&str> = feed.iter().map(|e| e["id"].as_str().unwrap()).collect();

    // Every event of the feed accepted once the receiver recovered.
    let got = wait_until("every event delivered", 90, || {
        let got = receiver.got();
        let accepted: HashSet<String> = got
            .iter()
            .filter(|r| r.status == 200)
            .map(|r| r.headers.get("smartlock-event-id").cloned().unwrap_or_default())
            .collect();
        want.iter().all(|id| accepted.contains(*id)).then_some(got)
    });
    // Every request signed with the secret, POSTed as JSON, its id in a header.
    for r in &got {
        assert!(r.line.starts_with("POST /hooks/smartlock?src=test "), "{}", r.line);
        assert_eq!(r.headers.get("content-type").map(String::as_str), Some("application/json"));
        assert!(signed_by(r, &secret), "R33: signed with the tenant's secret: {r:?}");
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(r.headers.get("smartlock-event-id").map(String::as_str), body["id"].as_str());
        assert_eq!(body["tenant"], "demo");
        assert!(!String::from_utf8_lossy(&r.body).contains(&secret));
    }
    // The three failures were the first event, sent again until answered.
    assert!(got[..3].iter().all(|r| r.status == 500));
    let first_ids: Vec<&String> = got[..4].iter().map(|r| &r.headers["smartlock-event-id"]).collect();
    assert!(first_ids.iter().all(|id| *id == first_ids[0]), "retried from the same event: {first_ids:?}");
    // Accepted in the feed's order (so per booking); a repeat only of the same event.
    let mut seen: HashMap<String, Vec<u8>> = HashMap::new();
    let mut order = Vec::new();
    for r in got.iter().filter(|r| r.status == 200) {
        let id = r.headers["smartlock-event-id"].clone();
        match seen.get(&id) {
            Some(body) => assert_eq!(body, &r.body, "a duplicate is the same event"),
            None => {
                seen.insert(id.clone(), r.body.clone());
                order.push(id);
            }
        }
    }
    assert_eq!(&order[..want.len()], &want[..], "delivered in the order recorded");
    let mut per_booking: HashMap<String, Vec<i64>> = HashMap::new();
    for id in &order {
        let body: Value = serde_json::from_slice(&seen[id]).unwrap();
        if let Some(b) = body["booking"].as_str() {
            per_booking.entry(b.to_string()).or_default().push(body["cursor"].as_i64().unwrap());
        }
    }
    for (booking, cursors) in &per_booking {
        assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{booking}: {cursors:?}");
    }
    let delivered = wait_until("the delivery cursor stored", 10, || {
        let d = demo.get("/webhook").body["delivered"].as_i64().unwrap();
        (d >= feed.last().unwrap()["cursor"].as_i64().unwrap()).then_some(d)
    });
    assert!(delivered > 0);

    // A new secret only when asked, shown once; then removal.
    let rotated = demo.put("/webhook", json!({"url": receiver.url, "rotate_secret": true}));
    assert_eq!(rotated.status, 200, "{rotated:?}");
    let new_secret = rotated.body["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);

    // R2: neither secret in any other answer, nor in the log.
    let service = send("GET", &format!("{}/api/service", server.base), None, None, &[]);
    let answers = [demo.get("/webhook").text, demo.get("/events?limit=500").text, again.text, shown.text, service.text];
    for text in &answers {
        assert!(!text.contains(&secret) && !text.contains(&new_secret), "{text}");
    }
    let log = std::fs::read_to_string(&server.stderr).unwrap();
    assert!(!log.contains(&secret) && !log.contains(&new_secret), "R2: no webhook secret in the log");
    assert!(log.contains("webhook delivery failed"), "failures are logged");

    assert_eq!(demo.delete("/webhook").status, 204);
    refused(&demo.get("/webhook"), 404, "not_found", Some("webhook"));
    refused(&demo.delete("/webhook"), 404, "not_found", Some("webhook"));
}

#[test]
fn r30_route_sends_a_brands_requests_to_its_url() {
    // A stand-in for Seam's API that refuses every key.
    let fake = Receiver::start("/seam-proxy", |_| 401);
    let route = format!("seam={}", fake.url);
    let server = start_demo(&["--route", &route]);
    let demo = Api { server: &server, tenant: "demo" };

    let connect = demo.post("/accounts/seam", json!({"api_key": "seam_route_test_key"}));
    assert_eq!(connect.status, 422, "the routed fake refused the key: {connect:?}");
    let got = fake.got();
    assert!(!got.is_empty(), "Seam's requests went to the --route URL");
    for r in &got {
        assert!(r.line.contains(" /seam-proxy/"), "the brand's paths follow the route: {}", r.line);
        assert_eq!(r.headers.get("authorization").map(String::as_str), Some("Bearer seam_route_test_key"));
    }
    // The other brands still go to the demo's stubs.
    let igloohome = demo.post(
        "/accounts/igloohome",
        json!({"client_id": "demo-igloohome-id", "client_secret": "demo-igloohome-secret"}),
    );
    assert_eq!(igloohome.status, 200, "{igloohome:?}");
    assert_eq!(fake.got().len(), got.len(), "only Seam is routed");
    let log = std::fs::read_to_string(&server.stderr).unwrap();
    assert!(!log.contains("seam_route_test_key"), "R2: the key is not logged");
}

#[test]
fn r30_route_to_an_unknown_brand_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.sqlite");
    for (route, says) in [("acme=http://127.0.0.1:9", "unknown brand \"acme\""), ("seam", "is not BRAND=URL")] {
        let out = Command::new(BIN)
            .env("SMARTLOCK_TOKEN", TOKEN)
            .args(["--cache-dir", &cache_dir(), "serve", "--port", "0", "--demo", "--db"])
            .arg(&db)
            .args(["--route", route])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert!(out.stdout.is_empty(), "no base URL: it never served");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
        assert_eq!(errors.len(), 1, "one line: {stderr}");
        assert!(errors[0].contains(says), "{stderr}");
    }
}

#[test]
fn r29_demo_has_a_seam_workspace_with_a_usable_and_an_unusable_device() {
    let server = start_demo(&[]);
    let demo = Api { server: &server, tenant: "demo" };
    let brands = send("GET", &format!("{}/api/brands", server.base), None, None, &[]);
    assert!(brands.body["brands"].as_array().unwrap().iter().any(|b| b["id"] == "seam"));
    let connected = demo.post("/accounts/seam", json!({"api_key": "seam_demo_key"}));
    assert_eq!(connected.body, json!({"provider": "seam", "name": "Harbour Homes workspace"}), "{connected:?}");
    let locks = demo.get("/accounts/seam/locks");
    let locks = locks.body["locks"].as_array().unwrap();
    assert_eq!(locks.len(), 2, "{locks:?}");
    let usable: Vec<bool> = locks.iter().map(|l| l["assignable"].as_bool().unwrap()).collect();
    assert_eq!(usable.iter().filter(|u| **u).count(), 1, "{locks:?}");
    let lobby = locks.iter().find(|l| l["name"] == "Lobby door").unwrap();
    assert_eq!(lobby["assignable"], true);
    let shed = locks.iter().find(|l| l["name"] == "Bike shed").unwrap();
    assert_eq!(shed["assignable"], false);
    assert!(shed["needs"].as_str().is_some_and(|n| !n.is_empty()), "{shed}");
    // The usable one takes a booking's code.
    let assigned = demo.put("/properties/harbour-view/assignment", json!({"provider": "seam", "lock_id": lobby["id"]}));
    assert_eq!(assigned.status, 200, "{assigned:?}");
    let code = wait_until("harbour-view-1's code on the Seam lock", 90, || {
        let code = demo.get("/bookings/harbour-view-1/code").body;
        (code["state"] == "on_lock").then_some(code)
    });
    assert_eq!(code["lock_id"], lobby["id"]);
}

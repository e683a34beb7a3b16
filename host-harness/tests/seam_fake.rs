//! Conformance with Seam's own fake (`@seamapi/fake-seam-connect`, pinned in
//! `host-harness/seam-fake/package-lock.json`): Seam's server code for
//! request and response shapes, started here on a loopback port with its
//! default seed (workspace `seed_workspace_1`, API key `seam_apikey1_token`,
//! two August locks, a thermostat and a sensor).
//!
//! The fake has no clock (codes never leave `unset`), lists every code
//! whatever device is asked for and accepts any PIN, so it checks shapes
//! only; the lifecycle is tested on the project's own Seam stub. What is
//! checked here: the routes and fields the plugin's Seam client sends and
//! reads — connect (a good key, and 401 for a bad one), the device list,
//! create, update keeping the PIN, delete, 404 and 409.
//!
//! Needs Node.js and npm. Without them it prints one line and passes on a
//! developer's machine, but fails in CI (`CI` set), as `browser.rs` does.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

/// The seed's API key of `seed_workspace_1` (a value of the fake, not a secret).
const KEY: &str = "seam_apikey1_token";
/// A seeded August lock that takes online access codes.
const LOCK: &str = "august_device_1";

/// Whether this run is CI's (`CI` set to anything but empty, `0` or `false`).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// Seam's fake as a child process on a loopback port; killed when dropped.
struct FakeSeam {
    child: Child,
    base: String,
}

impl FakeSeam {
    /// Installs the fake (`npm ci`) and starts it seeded. `None`: no Node.js
    /// here, outside CI (the caller skips).
    fn start() -> Option<FakeSeam> {
        if Command::new("node").arg("--version").output().is_err() {
            assert!(!in_ci(), "CI must run the Seam conformance test, but there is no node: install Node.js 20");
            println!("Seam conformance test skipped: no node (install Node.js 20 and npm)");
            return None;
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seam-fake");
        let npm = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .output()
            .expect("npm runs (the Seam conformance test needs Node.js and npm)");
        assert!(npm.status.success(), "npm ci failed:\n{}", String::from_utf8_lossy(&npm.stderr));
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let mut child = Command::new("node")
            .args(["node_modules/@seamapi/fake-seam-connect/dist/server.js", "--seed"])
            .current_dir(&dir)
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts the fake");
        // The fake logs its URL once it listens; its log is read to the end
        // so that it never blocks on a full pipe.
        let stdout = child.stdout.take().expect("the fake's stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("http://") {
                    let _ = tx.send(());
                }
            }
        });
        let fake = FakeSeam { child, base: format!("http://127.0.0.1:{port}") };
        rx.recv_timeout(Duration::from_secs(60)).expect("the fake listens within a minute");
        Some(fake)
    }

    /// A POST with a JSON body, as the plugin sends every request: status and body.
    fn post(&self, key: &str, path: &str, body: Value) -> (u16, Value) {
        self.send("POST", key, path, body)
    }

    fn send(&self, method: &str, key: &str, path: &str, body: Value) -> (u16, Value) {
        let req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {key}"))
            .header("Content-Type", "application/json")
            .body(body.to_string().into_bytes())
            .expect("a request");
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut resp = agent.run(req).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (resp.status().as_u16(), serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

impl Drop for FakeSeam {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn error_type(answer: &(u16, Value)) -> &str {
    answer.1.pointer("/error/type").and_then(Value::as_str).unwrap_or("")
}

/// The requests the Seam client sends (`plugin/src/brands/seam.rs`), their
/// fields as it writes them, and the answers' fields it reads.
#[test]
fn r29_seams_fake_takes_the_clients_requests_and_answers_the_fields_it_reads() {
    let Some(fake) = FakeSeam::start() else { return };

    // Connect: the device list first (401 for a bad key, here as on the
    // real API), then the workspace's name.
    let bad = fake.post("seam_wrongkey_0000", "/devices/list", json!({"limit": 500}));
    assert_eq!((bad.0, error_type(&bad)), (401, "unauthorized"), "{bad:?}");
    let (status, list) = fake.post(KEY, "/devices/list", json!({"limit": 500}));
    assert_eq!(status, 200, "{list}");
    let devices = list["devices"].as_array().expect("devices");
    let lock = devices.iter().find(|d| d["device_id"] == LOCK).expect("the seeded August lock");
    assert_eq!(lock["can_program_online_access_codes"], json!(true), "{lock}");
    assert!(lock["properties"]["name"].is_string() && lock["properties"]["online"].is_boolean(), "{lock}");
    assert!(lock["errors"].is_array() && lock["warnings"].is_array(), "{lock}");
    let thermostat = devices.iter().find(|d| d["device_id"] == "ecobee_device_1").expect("the seeded thermostat");
    assert!(thermostat.get("can_program_online_access_codes").is_none_or(|v| v != &json!(true)), "{thermostat}");
    let (status, ws) = fake.post(KEY, "/workspaces/get", json!({}));
    assert_eq!(status, 200, "{ws}");
    assert!(ws["workspace"]["name"].as_str().is_some_and(|n| !n.is_empty()), "{ws}");
    let (status, one) = fake.post(KEY, "/devices/get", json!({"device_id": LOCK}));
    assert_eq!((status, &one["device"]["device_id"]), (200, &json!(LOCK)), "{one}");
    let missing = fake.post(KEY, "/devices/get", json!({"device_id": "no_such_device"}));
    assert_eq!((missing.0, error_type(&missing)), (404, "device_not_found"), "{missing:?}");

    // Create: the id at once; the window as sent.
    let create = json!({"device_id": LOCK, "name": "Ana Silva (bk-1)", "code": "482957",
        "starts_at": "2030-03-20T13:30:00Z", "ends_at": "2030-03-22T10:30:00Z"});
    let (status, made) = fake.post(KEY, "/access_codes/create", create.clone());
    assert_eq!(status, 200, "{made}");
    let code = &made["access_code"];
    let id = code["access_code_id"].as_str().expect("access_code_id").to_string();
    assert_eq!((&code["device_id"], &code["code"], &code["status"]), (&json!(LOCK), &json!("482957"), &json!("unset")));
    assert_eq!(
        (&code["starts_at"], &code["ends_at"]),
        (&json!("2030-03-20T13:30:00.000Z"), &json!("2030-03-22T10:30:00.000Z"))
    );
    assert!(code["errors"].is_array() && code["warnings"].is_array(), "{code}");

    // The same PIN on the same lock: 409 duplicate_access_code (R8).
    let mut again = create.clone();
    again["name"] = json!("Other guest (bk-2)");
    let taken = fake.post(KEY, "/access_codes/create", again);
    assert_eq!((taken.0, error_type(&taken)), (409, "duplicate_access_code"), "{taken:?}");

    // Update in place: the whole code, both dates, the same PIN (R14). A
    // POST, as the client sends it (the official clients' PUT is refused).
    let moved = json!({"access_code_id": id, "name": "Ana Silva (bk-1)", "code": "482957",
        "starts_at": "2030-03-21T13:30:00Z", "ends_at": "2030-03-23T10:30:00Z"});
    let put = fake.send("PUT", KEY, "/access_codes/update", moved.clone());
    assert_eq!(put.0, 405, "{put:?}");
    let (status, updated) = fake.post(KEY, "/access_codes/update", moved);
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["action_attempt"]["action_type"], json!("UPDATE_ACCESS_CODE"), "{updated}");
    let (status, got) = fake.post(KEY, "/access_codes/get", json!({"access_code_id": id}));
    assert_eq!(status, 200, "{got}");
    let code = &got["access_code"];
    assert_eq!(
        (&code["access_code_id"], &code["code"], &code["type"]),
        (&json!(id), &json!("482957"), &json!("time_bound"))
    );
    assert_eq!(
        (&code["starts_at"], &code["ends_at"]),
        (&json!("2030-03-21T13:30:00.000Z"), &json!("2030-03-23T10:30:00.000Z"))
    );

    // The listing the client resolves unknown outcomes from (it filters by
    // device itself: the fake lists every device's codes).
    let (status, listed) = fake.post(KEY, "/access_codes/list", json!({"device_id": LOCK}));
    assert_eq!(status, 200, "{listed}");
    assert!(listed["access_codes"].as_array().expect("access_codes").iter().any(|c| c["access_code_id"] == json!(id)));

    // Delete, then the 404s the client takes as done (R16).
    let (status, deleted) = fake.post(KEY, "/access_codes/delete", json!({"access_code_id": id}));
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["action_attempt"]["action_type"], json!("DELETE_ACCESS_CODE"), "{deleted}");
    let twice = fake.post(KEY, "/access_codes/delete", json!({"access_code_id": id}));
    assert_eq!((twice.0, error_type(&twice)), (404, "access_code_not_found"), "{twice:?}");
    let gone = fake.post(KEY, "/access_codes/get", json!({"access_code_id": id}));
    assert_eq!(gone.0, 404, "{gone:?}");
    let moved_gone = fake.post(
        KEY,
        "/access_codes/update",
        json!({"access_code_id": id,
        "starts_at": "2030-03-21T13:30:00Z", "ends_at": "2030-03-23T10:30:00Z"}),
    );
    assert_eq!(moved_gone.0, 404, "{moved_gone:?}");
}

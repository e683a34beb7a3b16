//! What the tests of `host-harness serve` share: the binary on port 0 (its
//! base URL is the first line on stdout) with a compile cache and the
//! operator token in its environment, and requests over loopback.
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub mod rng;

pub const BIN: &str = env!("CARGO_BIN_EXE_host-harness");
pub const TOKEN: &str = "api-test-operator-token";

/// A `serve` process, killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub stderr: PathBuf,
    pub _dir: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn cache_dir() -> String {
    format!("{}/serve-component-cache", env!("CARGO_TARGET_TMPDIR"))
}

/// Starts `serve` with `args` (and a compile cache) and the operator token
/// [`TOKEN`] in its environment; waits for its base URL.
pub fn start(args: &[&str], db: &Path, dir: Option<tempfile::TempDir>) -> Server {
    start_with_token(args, db, dir, Some(TOKEN))
}

/// [`start`], with `token` (or none) in `SMARTLOCK_TOKEN`.
pub fn start_with_token(args: &[&str], db: &Path, dir: Option<tempfile::TempDir>, token: Option<&str>) -> Server {
    let stderr = db.with_extension("stderr.log");
    let mut command = Command::new(BIN);
    match token {
        Some(t) => command.env("SMARTLOCK_TOKEN", t),
        None => command.env_remove("SMARTLOCK_TOKEN"),
    };
    let mut child = command
        .args(["--cache-dir", &cache_dir(), "serve", "--port", "0", "--db"])
        .arg(db)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(120)).expect("serve printed its base URL");
    let base = line.trim().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "first line is the base URL: {line:?}");
    Server { child, base, stderr, _dir: dir }
}

pub fn start_demo(extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.sqlite");
    let mut args = vec!["--demo", "--speed", "120"];
    args.extend_from_slice(extra);
    start(&args, &db, Some(dir))
}

/// One answer: status, body (JSON or `Null`), headers we check.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub content_type: String,
    pub www_authenticate: Option<String>,
    pub csp: Option<String>,
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A request; `token` adds the operator's bearer token; `headers` more headers.
pub fn send(method: &str, url: &str, body: Option<&str>, token: Option<&str>, headers: &[(&str, &str)]) -> Answer {
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    if body.is_some() && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        req = req.header("Content-Type", "application/json");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(body.unwrap_or("").as_bytes().to_vec()).unwrap();
    let mut resp = agent().run(req).unwrap();
    let header = |name: &str| resp.headers().get(name).map(|v| v.to_str().unwrap_or_default().to_string());
    let content_type = header("content-type").unwrap_or_default();
    let www_authenticate = header("www-authenticate");
    let csp = header("content-security-policy");
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer { status: resp.status().as_u16(), body, text, content_type, www_authenticate, csp }
}

/// The API of one tenant.
pub struct Api<'a> {
    pub server: &'a Server,
    pub tenant: &'a str,
}

impl Api<'_> {
    pub fn url(&self, path: &str) -> String {
        format!("{}/api/tenants/{}{path}", self.server.base, self.tenant)
    }
    pub fn get(&self, path: &str) -> Answer {
        send("GET", &self.url(path), None, Some(TOKEN), &[])
    }
    pub fn put(&self, path: &str, body: Value) -> Answer {
        send("PUT", &self.url(path), Some(&body.to_string()), Some(TOKEN), &[])
    }
    pub fn post(&self, path: &str, body: Value) -> Answer {
        send("POST", &self.url(path), Some(&body.to_string()), Some(TOKEN), &[])
    }
    pub fn delete(&self, path: &str) -> Answer {
        send("DELETE", &self.url(path), None, Some(TOKEN), &[])
    }
}

/// Asserts a refusal: status, kind, the sentence, and the field it names.
#[track_caller]
pub fn refused(a: &Answer, status: u16, kind: &str, field: Option<&str>) -> String {
    assert_eq!(a.status, status, "{a:?}");
    assert_eq!(a.body["kind"], kind, "{a:?}");
    assert_eq!(a.body["field"].as_str(), field, "{a:?}");
    let sentence = a.body["error"].as_str().expect("an error sentence").to_string();
    assert!(!sentence.is_empty());
    sentence
}

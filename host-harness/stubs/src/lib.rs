//! Faithful stubs of the lock vendors' cloud APIs, on a simulated clock, for
//! end-to-end tests and demos: [`igloohome`] (see `shared/IGLOOHOME_API.md`).
//!
//! Each vendor stub is a transport-independent core (a [`Service`]: one HTTP
//! request in, one response out) whose locks' PIN tables are the truth that
//! scenarios are judged on ([`PinRecord`]). [`StubServer`] serves a
//! [`Service`] over real HTTP on loopback.
//!
//! The stubs are test tooling: the embeddable host (`smartlock-host`) does
//! not depend on them.

pub mod igloohome;
pub mod nuki;
mod server;
pub mod ttlock;

use chrono::{DateTime, SecondsFormat};
use serde::Serialize;

pub use server::{serve_forever, StubServer, MAX_BODY_BYTES, MAX_HANG};

/// A vendor cloud as the server sees it: answers one request at a time.
pub trait Service: Clone + Send + Sync + 'static {
    /// Answers one HTTP request (API routes and `/_admin/` routes).
    fn handle(&self, req: &StubRequest) -> StubResponse;
    /// Counts a request the server refused before handling it.
    fn count_refused(&self, path_and_query: &str);
}

/// One HTTP request, transport-independent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StubRequest {
    pub method: String,
    /// The request target, e.g. `/igloohome/devices?cursor=abc`.
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl StubRequest {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One HTTP response. `status == 0` means "hang": the transport must hold
/// the connection without answering until the client gives up (the server
/// caps this at 120 s).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StubResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl StubResponse {
    /// A JSON response with `Content-Type: application/json`.
    pub fn json(status: u16, value: &serde_json::Value) -> StubResponse {
        StubResponse {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            // Serialising a Value cannot fail.
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    /// The hang marker (see the type's doc).
    pub fn hang() -> StubResponse {
        StubResponse::default()
    }

    pub fn with_header(mut self, name: &str, value: &str) -> StubResponse {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`Null` if it is not JSON); handy in tests.
    pub fn json_body(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// One PIN as the lock holds it; all instants are unix seconds UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinRecord {
    /// The vendor: "igloohome", "nuki" or "ttlock".
    pub provider: &'static str,
    pub lock: String,
    pub pin: String,
    pub access_name: String,
    pub start: i64,
    pub end: i64,
    /// When the bridge put it on the lock (the create job's completion).
    pub added_at: i64,
    /// When the bridge deleted it (the delete job's completion).
    pub removed_at: Option<i64>,
}

/// `2026-03-20T14:30:00Z` (reports).
pub fn rfc3339_utc(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `2026-03-20T14:30:00+00:00` (the API's own style).
pub fn rfc3339_offset(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, false)
}

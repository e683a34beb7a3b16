//! Faithful stubs of the lock vendors' cloud APIs, on a simulated clock, for
//! end-to-end tests and demos: [`igloohome`] (see `docs/brands/igloohome.md`),
//! [`nuki`] (`docs/brands/nuki.md`), [`ttlock`] (`docs/brands/ttlock.md`) and
//! [`seam`] (`docs/brands/seam.md`), and the [`World`] that serves any of
//! them together.
//!
//! Each vendor stub is a transport-independent core (a [`Service`]: one HTTP
//! request in, one response out) whose locks' PIN tables are the truth that
//! scenarios are judged on ([`PinRecord`]). [`StubServer`] serves a
//! [`Service`] over real HTTP on loopback. What the stubs share lives here:
//! the report types ([`HttpCounts`], [`PinRecord`]), the fault queue and
//! [`MalformedKind`], and the simulated clock behind each stub's mutex.
//!
//! The stubs are test tooling: the embeddable host (`smartlock-host`) does
//! not depend on them.

mod faults;
pub mod igloohome;
pub mod nuki;
mod offline;
pub mod seam;
mod server;
mod sim;
pub mod ttlock;
pub mod world;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use faults::{MalformedKind, UnknownMalformedKind};
pub use server::{serve_forever, StubServer, MAX_BODY_BYTES, MAX_HANG};
pub use world::{Fault, World, WorldConfig, WorldError};

/// A lock vendor with a stub, as scenario files and reports name it
/// (`"igloohome"`, `"nuki"`, `"ttlock"`, `"seam"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    Igloohome,
    Nuki,
    Ttlock,
    Seam,
}

impl Vendor {
    pub const ALL: [Vendor; 4] = [Vendor::Igloohome, Vendor::Nuki, Vendor::Ttlock, Vendor::Seam];

    /// The name in scenario files and reports (a [`PinRecord`]'s `provider`).
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Igloohome => "igloohome",
            Vendor::Nuki => "nuki",
            Vendor::Ttlock => "ttlock",
            Vendor::Seam => "seam",
        }
    }
}

impl Vendor {
    /// The path below a world's base at which the world serves this
    /// vendor's real paths: `""` for igloohome (served at the root), and
    /// `/{name}` for the others. The one statement of the world's layout:
    /// [`Vendor::base_url`], the world's routing and `GET /_admin/layout`
    /// all follow it.
    pub fn path_prefix(self) -> String {
        match self {
            Vendor::Igloohome => String::new(),
            other => format!("/{}", other.as_str()),
        }
    }

    /// The vendor a world serves at its root: the one whose
    /// [`Vendor::path_prefix`] is empty.
    pub fn root() -> Vendor {
        Vendor::ALL.into_iter().find(|v| v.path_prefix().is_empty()).expect("path_prefix serves one vendor at the root")
    }

    /// Where a world served at `base` serves this vendor's real paths: the
    /// base URL a host routes the brand's origins to ([`Vendor::path_prefix`]
    /// below `base`).
    pub fn base_url(self, base: &str) -> String {
        format!("{}{}", base.trim_end_matches('/'), self.path_prefix())
    }

    /// The vendor a brand id names.
    pub fn of(brand: &str) -> Option<Vendor> {
        Vendor::ALL.into_iter().find(|v| v.as_str() == brand)
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A provider name that is none of the [`Vendor`]s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider {0:?} (expected igloohome, nuki, ttlock or seam)")]
pub struct UnknownVendor(pub String);

impl FromStr for Vendor {
    type Err = UnknownVendor;
    fn from_str(s: &str) -> Result<Vendor, UnknownVendor> {
        Vendor::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| UnknownVendor(s.to_string()))
    }
}

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

/// What a [`PinRecord`] is (the report's `kind`, docs/scenarios.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PinKind {
    /// A PIN the plugin set on the lock (the default).
    #[default]
    Code,
    /// A backup code the plugin set (R25).
    Backup,
    /// An offline code the vendor computed and the lock checks on its own
    /// (R24): `added_at` is when it was issued.
    Offline,
}

/// How a spare backup code's access name starts on the lock (R25): `Backup code N`.
pub const BACKUP_NAME_PREFIX: &str = "Backup code";

impl PinKind {
    /// The kind of a PIN the plugin set, from its access name: "backup" for
    /// a spare code of the lock's pool (named `Backup code N`), "code"
    /// otherwise, so a backup code given to a guest and renamed after them
    /// reads as that guest's code.
    pub fn of_access_name(name: &str) -> PinKind {
        if name.starts_with(BACKUP_NAME_PREFIX) {
            PinKind::Backup
        } else {
            PinKind::Code
        }
    }

    /// The name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            PinKind::Code => "code",
            PinKind::Backup => "backup",
            PinKind::Offline => "offline",
        }
    }
}

/// One PIN as the lock holds it; all instants are unix seconds UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinRecord {
    /// The vendor: "igloohome", "nuki", "ttlock" or "seam".
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
    /// A PIN the plugin set (a guest's code or a spare backup code, told
    /// apart by the access name), or an offline code the vendor issued.
    pub kind: PinKind,
}

impl PinRecord {
    /// Whether the lock holds it at `at` and `at` is in its window: a PIN
    /// in the lock's table opens then. (An offline code's first-use rule is
    /// its vendor's, kept beside the record.)
    pub fn holds_at(&self, at: i64) -> bool {
        self.added_at <= at && self.removed_at.is_none_or(|r| at < r) && self.start <= at && at < self.end
    }
}

/// Requests a stub received (admin routes excluded), in total and per
/// endpoint, keyed as in the report's `http.by_endpoint`: igloohome's
/// endpoints by their plain names, the others prefixed `nuki.`, `ttlock.`
/// and `seam.`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HttpCounts {
    /// Every API request, including faulted, rejected and unknown-route ones.
    pub requests: u64,
    /// Requests per endpoint; a stub lists each of its endpoints, even at 0
    /// (a request that matched no route counts in `requests` only).
    pub by_endpoint: BTreeMap<String, u64>,
}

impl HttpCounts {
    /// No request yet, with each of `endpoints` listed at 0.
    pub fn zero<K: Into<String>>(endpoints: impl IntoIterator<Item = K>) -> HttpCounts {
        HttpCounts { requests: 0, by_endpoint: endpoints.into_iter().map(|k| (k.into(), 0)).collect() }
    }

    /// Counts one request, also under `endpoint` when it matched one.
    pub fn record(&mut self, endpoint: Option<&str>) {
        self.requests += 1;
        if let Some(ep) = endpoint {
            *self.by_endpoint.entry(ep.to_string()).or_default() += 1;
        }
    }

    /// Adds `other`'s counts to these (keys are kept apart by their prefix).
    pub fn merge(&mut self, other: &HttpCounts) {
        self.requests += other.requests;
        for (k, n) in &other.by_endpoint {
            *self.by_endpoint.entry(k.clone()).or_default() += n;
        }
    }

    /// The report's `http` object (docs/scenarios.md).
    pub fn to_json(&self) -> Value {
        json!({"requests": self.requests, "by_endpoint": self.by_endpoint})
    }
}

/// The report's `pins` array (docs/scenarios.md): instants as RFC 3339 UTC,
/// `removed_at` null while the PIN is still on the lock, `kind` as
/// [`PinKind`] names it.
pub fn report_pins_json(pins: &[PinRecord]) -> Value {
    Value::Array(
        pins.iter()
            .map(|p| {
                json!({
                    "provider": p.provider,
                    "lock": p.lock,
                    "pin": p.pin,
                    "access_name": p.access_name,
                    "start": rfc3339_utc(p.start),
                    "end": rfc3339_utc(p.end),
                    "added_at": rfc3339_utc(p.added_at),
                    "removed_at": p.removed_at.map(rfc3339_utc),
                    "kind": p.kind.as_str(),
                })
            })
            .collect(),
    )
}

/// A request target in origin form: an absolute-form target
/// (`http://host/path?q`, legal in HTTP/1.1) reduced to `/path?q`.
pub(crate) fn origin_form(target: &str) -> &str {
    match target.find("://") {
        Some(i) => target[i + 3..].find('/').map_or("/", |j| &target[i + 3 + j..]),
        None => target,
    }
}

/// Splits a request target into its decoded path segments and raw query.
/// `None` when a segment is not valid UTF-8 once percent-decoded.
pub(crate) fn split_target(target: &str) -> Option<(Vec<String>, &str)> {
    let target = origin_form(target);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = path.split('#').next().unwrap_or("");
    let segments = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned()))
        .collect::<Option<Vec<String>>>()?;
    Some((segments, query))
}

/// The route below `/_admin/` when `target` is an admin request (control
/// traffic, never counted as what the plugin did).
pub(crate) fn admin_route(target: &str) -> Option<Vec<String>> {
    let (mut segments, _) = split_target(target)?;
    (segments.first().map(String::as_str) == Some("_admin")).then(|| segments.split_off(1))
}

/// A random version-4 UUID in its usual text form. Should the OS entropy
/// source fail (it should not), `counter` and `now` keep ids unique, just
/// not unguessable.
pub(crate) fn random_uuid(counter: &mut u64, now: i64) -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        *counter += 1;
        b[..8].copy_from_slice(&counter.to_be_bytes());
        b[8..].copy_from_slice(&now.to_be_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid_text(&b)
}

/// 16 bytes as `8-4-4-4-12` lower-case hex.
pub(crate) fn uuid_text(b: &[u8; 16]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// `2026-03-20T14:30:00Z` (reports).
pub fn rfc3339_utc(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `2026-03-20T14:30:00+00:00` (the API's own style).
pub fn rfc3339_offset(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, false)
}

#[cfg(test)]
mod pin_kind_tests {
    use super::PinKind;

    #[test]
    fn a_spare_code_is_told_apart_by_its_access_name() {
        assert_eq!(PinKind::of_access_name("Backup code 1"), PinKind::Backup);
        assert_eq!(PinKind::of_access_name("Backup code 5"), PinKind::Backup);
        // Given to a guest and renamed after them: the guest's code.
        assert_eq!(PinKind::of_access_name("Ana Silva (b1)"), PinKind::Code);
        assert_eq!(PinKind::of_access_name("Guest (b1)"), PinKind::Code);
        assert_eq!(PinKind::of_access_name("backup code 1"), PinKind::Code, "as the plugin names it, exactly");
    }
}

//! The igloohome cloud API client (see shared/IGLOOHOME_API.md).
//!
//! It caches the bearer token in storage until shortly before it expires,
//! fetches a new one once when the API answers 401, follows device-list
//! pagination and reads bridge links from the bridge's `linkedDevices`.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::host::{Host, HttpError, HttpRequest, HttpResponse, Method};
use crate::store::{CachedToken, Store, TOKEN_KEY};

pub const TOKEN_URL: &str = "https://auth.igloohome.co/oauth2/token";
pub const API_BASE: &str = "https://api.igloodeveloper.co/igloohome";
pub const SCOPES: &str = "igloohomeapi/get-devices igloohomeapi/create-pin-bridge-proxied-job \
igloohomeapi/delete-pin-bridge-proxied-job igloohomeapi/get-job-status";

/// A token is renewed this long before it expires, so that a request never
/// leaves with a token that dies on the way.
const TOKEN_RENEW_BEFORE_SECS: i64 = 300;
/// Device listing stops after this many pages (a malicious or broken cursor
/// must not loop forever).
const MAX_DEVICE_PAGES: usize = 50;

const JOB_CREATE_PIN: u32 = 4;
const JOB_DELETE_PIN: u32 = 5;
const PIN_TYPE_DURATION: u32 = 4;

/// What went wrong talking to igloohome, in words a property manager can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VendorError {
    /// The credentials were refused (token endpoint 4xx, or 401 after a fresh token).
    #[error("igloohome refused the API credentials ({0})")]
    Unauthorized(String),
    /// igloohome refused the request for good (a 4xx): the job was not queued.
    #[error("igloohome refused the request: {message} (HTTP {status})")]
    Rejected { status: u16, message: String },
    /// The bridge is offline or unreachable.
    #[error("the bridge is offline or unreachable ({0})")]
    BridgeOffline(String),
    /// Too many requests or jobs; try again later.
    #[error("igloohome asked to slow down (HTTP 429)")]
    RateLimited { retry_after_secs: Option<i64> },
    /// No usable answer (5xx, timeout, connection failure): whether the
    /// request had an effect is unknown.
    #[error("igloohome did not answer properly: {0}")]
    Unavailable(String),
    /// A 2xx whose body is not what the API documents.
    #[error("igloohome sent a malformed response: {0}")]
    Malformed(String),
    /// No usable access token, so the request itself was never sent.
    #[error("igloohome issued no access token: {0}")]
    NoToken(String),
    /// The host refused the request (allow-list) or the storage failed.
    #[error("{0}")]
    Host(String),
}

impl VendorError {
    /// Whether a request that failed this way may still have been carried
    /// out by igloohome (so a retry must first undo it).
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, VendorError::Unavailable(_) | VendorError::Malformed(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceKind {
    Lock,
    Bridge,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub device_id: String,
    pub name: String,
    pub kind: DeviceKind,
    /// For a bridge: the device ids of the locks it serves.
    pub linked: Vec<String>,
}

/// A lock with the bridge that serves it (the link is on the bridge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockWithBridge {
    pub id: String,
    pub name: String,
    pub bridge_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Pending,
    Done,
    Failed(String),
}

pub struct Credentials<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a str,
}

/// A fresh token and what the JWT says about the account.
pub struct IssuedToken {
    pub token: CachedToken,
    pub account_name: Option<String>,
}

pub struct Client<'h, H: Host + ?Sized> {
    host: &'h H,
    creds: Credentials<'h>,
    /// Counts requests for the tick summary.
    pub requests: u32,
    /// Set once the credentials were refused: every later call fails the
    /// same way without asking again (one tick must not hammer the token
    /// endpoint once per booking).
    refused: Option<VendorError>,
}

impl<'h, H: Host + ?Sized> Client<'h, H> {
    pub fn new(host: &'h H, creds: Credentials<'h>) -> Self {
        Client { host, creds, requests: 0, refused: None }
    }

    /// Fetches a new token from the auth server (never cached here).
    pub fn issue_token(&mut self) -> Result<IssuedToken, VendorError> {
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.creds.client_id, self.creds.client_secret));
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("scope", SCOPES)
            .finish();
        let resp = self.send(HttpRequest {
            method: Method::Post,
            url: TOKEN_URL.to_string(),
            headers: vec![
                ("Authorization".into(), format!("Basic {basic}")),
                ("Content-Type".into(), "application/x-www-form-urlencoded".into()),
                ("Accept".into(), "application/json".into()),
            ],
            body: body.into_bytes(),
        })?;
        match resp.status {
            200..=299 => {}
            400..=499 => {
                let detail = error_text(&resp);
                return Err(VendorError::Unauthorized(format!("HTTP {}: {detail}", resp.status)));
            }
            s => return Err(VendorError::Unavailable(format!("token endpoint answered HTTP {s}"))),
        }
        #[derive(Deserialize)]
        struct TokenBody {
            access_token: String,
            expires_in: i64,
        }
        let parsed: TokenBody = parse_json(&resp.body, "token response")?;
        if parsed.access_token.is_empty() || parsed.expires_in <= 0 {
            return Err(VendorError::Malformed("token response without a usable token".into()));
        }
        let now = self.host.now();
        let account_name = jwt_claim(&parsed.access_token, "name");
        Ok(IssuedToken {
            token: CachedToken { access_token: parsed.access_token, expires_at: now.saturating_add(parsed.expires_in) },
            account_name,
        })
    }

    /// The cached token while it is fresh, else a new one (stored).
    fn token(&mut self, renew: bool) -> Result<String, VendorError> {
        if let Some(e) = &self.refused {
            return Err(e.clone());
        }
        let store = Store::new(self.host);
        if !renew {
            if let Some(t) = store.get::<CachedToken>(TOKEN_KEY).map_err(host_err)? {
                if self.host.now() < t.expires_at - TOKEN_RENEW_BEFORE_SECS {
                    return Ok(t.access_token);
                }
            }
        }
        let issued = self.issue_token().inspect_err(|e| {
            if matches!(e, VendorError::Unauthorized(_)) {
                self.refused = Some(e.clone());
            }
        })?;
        store.put(TOKEN_KEY, &issued.token).map_err(host_err)?;
        Ok(issued.token.access_token)
    }

    /// An API call with the cached token; on 401 a new token once.
    fn api(&mut self, method: Method, path: &str, body: Option<&Value>) -> Result<HttpResponse, VendorError> {
        let mut renewed = false;
        loop {
            // A token failure happens before the request leaves: its outcome
            // is known (nothing happened), unlike a failure of the request.
            let token = self.token(renewed).map_err(|e| match e {
                VendorError::Unavailable(m) | VendorError::Malformed(m) => VendorError::NoToken(m),
                other => other,
            })?;
            let mut headers = vec![
                ("Authorization".to_string(), format!("Bearer {token}")),
                ("Accept".to_string(), "application/json".to_string()),
            ];
            let bytes = match body {
                Some(v) => {
                    headers.push(("Content-Type".into(), "application/json".into()));
                    serde_json::to_vec(v).map_err(|e| VendorError::Host(e.to_string()))?
                }
                None => Vec::new(),
            };
            let resp = self.send(HttpRequest { method, url: format!("{API_BASE}{path}"), headers, body: bytes })?;
            if resp.status == 401 {
                if renewed {
                    let e = VendorError::Unauthorized("the API refused a freshly issued token".into());
                    self.refused = Some(e.clone());
                    return Err(e);
                }
                renewed = true;
                continue;
            }
            return Ok(resp);
        }
    }

    fn send(&mut self, req: HttpRequest) -> Result<HttpResponse, VendorError> {
        self.requests += 1;
        self.host.send(&req).map_err(|e| match e {
            HttpError::Forbidden(m) => VendorError::Host(format!("the host refused the request: {m}")),
            HttpError::Timeout => VendorError::Unavailable("no answer in time".into()),
            HttpError::TooLarge(n) => VendorError::Malformed(format!("response larger than {n} bytes")),
            HttpError::Transport(m) => VendorError::Unavailable(m),
        })
    }

    /// Every device of the account, following `nextCursor`.
    pub fn devices(&mut self) -> Result<Vec<Device>, VendorError> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        for _ in 0..MAX_DEVICE_PAGES {
            let path = if cursor.is_empty() {
                "/devices".to_string()
            } else {
                let q: String = form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
                format!("/devices?cursor={q}")
            };
            let resp = self.api(Method::Get, &path, None)?;
            check_status(&resp)?;
            let page: Value = parse_json(&resp.body, "device list")?;
            let payload = page
                .get("payload")
                .and_then(Value::as_array)
                .ok_or_else(|| VendorError::Malformed("device list without a payload array".into()))?;
            for d in payload {
                out.push(parse_device(d)?);
            }
            cursor = page.get("nextCursor").and_then(Value::as_str).unwrap_or_default().to_string();
            if cursor.is_empty() {
                return Ok(out);
            }
        }
        Err(VendorError::Malformed(format!("device list longer than {MAX_DEVICE_PAGES} pages")))
    }

    /// Locks with their bridges.
    pub fn locks(&mut self) -> Result<Vec<LockWithBridge>, VendorError> {
        Ok(locks_with_bridges(&self.devices()?))
    }

    /// Queues a duration PIN on the lock through the bridge; returns the job id.
    #[allow(clippy::too_many_arguments)]
    pub fn create_pin(
        &mut self,
        lock: &str,
        bridge: &str,
        pin: &str,
        access_name: &str,
        start_rfc3339: &str,
        end_rfc3339: &str,
    ) -> Result<String, VendorError> {
        let body = json!({
            "jobType": JOB_CREATE_PIN,
            "jobData": {
                "accessName": access_name,
                "pin": pin,
                "pinType": PIN_TYPE_DURATION,
                "startDate": start_rfc3339,
                "endDate": end_rfc3339,
            }
        });
        self.submit_job(lock, bridge, &body)
    }

    /// Queues the deletion of a PIN; returns the job id.
    pub fn delete_pin(&mut self, lock: &str, bridge: &str, pin: &str) -> Result<String, VendorError> {
        self.submit_job(lock, bridge, &json!({"jobType": JOB_DELETE_PIN, "jobData": {"pin": pin}}))
    }

    fn submit_job(&mut self, lock: &str, bridge: &str, body: &Value) -> Result<String, VendorError> {
        let path = format!("/devices/{}/jobs/bridges/{}", path_segment(lock), path_segment(bridge));
        let resp = self.api(Method::Post, &path, Some(body))?;
        check_status(&resp)?;
        let v: Value = parse_json(&resp.body, "job response")?;
        match v.get("jobId") {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            _ => Err(VendorError::Malformed("job response without a jobId".into())),
        }
    }

    /// Whether a queued job has been carried out by the bridge.
    pub fn job_status(&mut self, job_id: &str) -> Result<JobState, VendorError> {
        let resp = self.api(Method::Get, &format!("/jobs/{}", path_segment(job_id)), None)?;
        if resp.status == 404 {
            // A job the cloud no longer knows cannot have succeeded.
            return Ok(JobState::Failed("igloohome no longer knows the job".into()));
        }
        check_status(&resp)?;
        let v: Value = parse_json(&resp.body, "job status")?;
        let status = v.get("jobResponse").and_then(|r| r.get("jobStatus")).and_then(Value::as_i64);
        let completed = v.get("completed").and_then(Value::as_bool);
        match (completed, status) {
            (Some(false), Some(0) | None) => Ok(JobState::Pending),
            (_, Some(0)) => Ok(JobState::Done),
            (_, Some(s)) => {
                let msg = v
                    .get("jobResponse")
                    .and_then(|r| r.get("message"))
                    .and_then(Value::as_str)
                    .unwrap_or("the bridge did not carry out the job (failed or expired)");
                Ok(JobState::Failed(format!(
                    "the bridge did not carry out the job ({}, job status {s})",
                    crate::model::clip_to(msg, 160)
                )))
            }
            (Some(true), None) => Err(VendorError::Malformed("completed job without a jobStatus".into())),
            (None, None) => Err(VendorError::Malformed("job status without `completed`".into())),
        }
    }
}

fn host_err(e: crate::host::StorageError) -> VendorError {
    VendorError::Host(e.to_string())
}

/// Maps a non-2xx API answer to the error a caller can act on.
fn check_status(resp: &HttpResponse) -> Result<(), VendorError> {
    match resp.status {
        200..=299 => Ok(()),
        429 => Err(VendorError::RateLimited {
            retry_after_secs: resp.header("retry-after").and_then(|v| v.trim().parse().ok()),
        }),
        406 => Err(VendorError::BridgeOffline(error_text(resp))),
        s @ 400..=499 => {
            let message = error_text(resp);
            if message.to_ascii_lowercase().contains("bridge") && message.to_ascii_lowercase().contains("offline") {
                Err(VendorError::BridgeOffline(message))
            } else {
                Err(VendorError::Rejected { status: s, message })
            }
        }
        s => Err(VendorError::Unavailable(format!("HTTP {s}"))),
    }
}

/// The `message` (or `error`) of an error body, else a generic text.
fn error_text(resp: &HttpResponse) -> String {
    let v: Option<Value> = serde_json::from_slice(&resp.body).ok();
    v.as_ref()
        .and_then(|v| v.get("message").or_else(|| v.get("error")))
        .and_then(Value::as_str)
        .map(crate::model::clip)
        .unwrap_or_else(|| format!("HTTP {}", resp.status))
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, VendorError> {
    serde_json::from_slice(body).map_err(|e| VendorError::Malformed(format!("{what}: {e}")))
}

fn parse_device(d: &Value) -> Result<Device, VendorError> {
    let device_id = d
        .get("deviceId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| VendorError::Malformed("device without a deviceId".into()))?
        .to_string();
    let kind = match d.get("type").and_then(Value::as_str) {
        Some(t) if t.eq_ignore_ascii_case("lock") => DeviceKind::Lock,
        Some(t) if t.eq_ignore_ascii_case("bridge") => DeviceKind::Bridge,
        _ => DeviceKind::Other,
    };
    let name = d.get("deviceName").and_then(Value::as_str).unwrap_or(&device_id).to_string();
    // linkedDevices comes as objects {"type","deviceId"} or as plain strings.
    let linked = d
        .get("linkedDevices")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| match item {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(o) => o.get("deviceId").and_then(Value::as_str).map(str::to_string),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Device { device_id, name, kind, linked })
}

/// Joins locks to the bridges whose `linkedDevices` name them.
pub fn locks_with_bridges(devices: &[Device]) -> Vec<LockWithBridge> {
    devices
        .iter()
        .filter(|d| d.kind == DeviceKind::Lock)
        .map(|lock| LockWithBridge {
            id: lock.device_id.clone(),
            name: lock.name.clone(),
            bridge_id: devices
                .iter()
                .find(|b| b.kind == DeviceKind::Bridge && b.linked.iter().any(|l| l == &lock.device_id))
                .map(|b| b.device_id.clone()),
        })
        .collect()
}

fn path_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Reads one string claim of a JWT's payload, without verifying it: the
/// account name is for display only.
fn jwt_claim(jwt: &str, claim: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get(claim).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

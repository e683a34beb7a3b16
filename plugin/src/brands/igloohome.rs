//! The igloohome cloud API client (see docs/brands/igloohome.md).
//!
//! It caches the bearer token in storage until shortly before it expires,
//! fetches a new one once when the API answers 401, follows device-list
//! pagination and reads bridge links from the bridge's `linkedDevices`.
//! Writes are bridge jobs: queued, then confirmed by polling the job.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    Brand, CachedToken, Capabilities, CodeSpec, Confirmation, Confirmed, CredentialField, Credentials as Stored,
    Fields, Found, LockInfo, OfflineCode, Op, Remote, Submitted, TokenCache, Vendor, VendorError,
};
use crate::host::{Host, HttpRequest, HttpResponse, Method};
use crate::pin::PinRule;
use crate::schedule;

/// The brand's name in error texts.
const NAME: &str = "igloohome";

/// igloohome as the core and the hosts see it (R30).
pub static BRAND: Brand = Brand {
    id: "igloohome",
    name: NAME,
    fields: &[
        CredentialField {
            name: "client_id",
            label: "Client ID",
            help: "from the igloohome developer portal (API access)",
            secret: false,
            host_supplied: false,
        },
        CredentialField {
            name: "client_secret",
            label: "Client Secret",
            help: "shown once when the API client is made in the igloohome developer portal",
            secret: true,
            host_supplied: false,
        },
    ],
    seal: |_| {},
    login: |f: &Fields| f.get("client_id").cloned().unwrap_or_default(),
    origins: &["https://auth.igloohome.co", "https://api.igloodeveloper.co"],
    capabilities: CAPABILITIES,
};

/// The client of a stored igloohome connection.
pub fn client<'h, H: Host + ?Sized>(
    host: &'h H,
    stored: &'h Stored,
    tokens: TokenCache<'h, H>,
) -> Box<dyn Vendor + 'h> {
    Box::new(Client::new(
        host,
        Credentials { client_id: stored.field("client_id"), client_secret: stored.field("client_secret") },
        tokens,
    ))
}

/// Bridge jobs: queued, polled; a bridge works one at a time, about 30 s
/// each, and may let a job expire that it has not started within 2 minutes
/// (four in flight keep it busy without a gap). No listing of PINs.
const CAPABILITIES: Capabilities = Capabilities {
    pin_rule: PinRule::any_digits,
    confirmation: Confirmation::Job,
    moves_in_place: false,
    amends_unconfirmed: false,
    lists_codes: false,
    channel_capacity: 4,
    write_budget: None,
    write_secs: 30,
    queue_expiry_secs: 120,
    max_name_chars: 60,
    needs: "a bridge",
    app: "the igloohome app",
    link_check: "the lock's bridge is plugged in and online in the igloohome app",
    fallback: "an offline code from the igloohome app",
    credentials: "the Client ID and Client Secret from the igloohome developer portal",
};

pub const TOKEN_URL: &str = "https://auth.igloohome.co/oauth2/token";
pub const API_BASE: &str = "https://api.igloodeveloper.co/igloohome";
pub const SCOPES: &str = "igloohomeapi/get-devices igloohomeapi/create-pin-bridge-proxied-job \
igloohomeapi/delete-pin-bridge-proxied-job igloohomeapi/get-job-status igloohomeapi/algopin-hourly \
igloohomeapi/algopin-daily";

/// An hourly algoPIN covers at most this many hours; longer stays get a
/// daily one (whole days, the same local hour at both ends).
const ALGOPIN_MAX_HOURS: i64 = 672;
/// Longest accessName an algoPIN takes.
const ALGOPIN_NAME_CHARS: usize = 60;
/// An algoPIN valid for longer must be typed once within this long after
/// its start.
const ALGOPIN_FIRST_USE_SECS: i64 = 24 * 3600;

/// A token is renewed this long before it expires, so that a request never
/// leaves with a token that dies on the way.
const TOKEN_RENEW_BEFORE_SECS: i64 = 300;
/// Device listing stops after this many pages (a malicious or broken cursor
/// must not loop forever).
const MAX_DEVICE_PAGES: usize = 50;

const JOB_CREATE_PIN: u32 = 4;
const JOB_DELETE_PIN: u32 = 5;
const PIN_TYPE_DURATION: u32 = 4;

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
    tokens: TokenCache<'h, H>,
    /// Counts requests for the tick summary.
    pub requests: u32,
    /// Set once the credentials were refused: every later call fails the
    /// same way without asking again (one tick must not hammer the token
    /// endpoint once per booking).
    refused: Option<VendorError>,
}

impl<'h, H: Host + ?Sized> Client<'h, H> {
    pub fn new(host: &'h H, creds: Credentials<'h>, tokens: TokenCache<'h, H>) -> Self {
        Client { host, creds, tokens, requests: 0, refused: None }
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
                return Err(VendorError::Unauthorized {
                    brand: NAME,
                    detail: format!("the Client ID or Client Secret is wrong (HTTP {}: {detail})", resp.status),
                });
            }
            s => return Err(unavailable(format!("token endpoint answered HTTP {s}"))),
        }
        #[derive(Deserialize)]
        struct TokenBody {
            access_token: String,
            expires_in: i64,
        }
        let parsed: TokenBody = parse_json(&resp.body, "token response")?;
        if parsed.access_token.is_empty() || parsed.expires_in <= 0 {
            return Err(malformed("token response without a usable token"));
        }
        let now = self.host.now();
        let account_name = jwt_claim(&parsed.access_token, "name");
        Ok(IssuedToken {
            token: CachedToken {
                access_token: parsed.access_token,
                expires_at: now.saturating_add(parsed.expires_in),
                refresh_token: None,
            },
            account_name,
        })
    }

    /// The cached token while it is fresh, else a new one (stored).
    fn token(&mut self, renew: bool) -> Result<String, VendorError> {
        if let Some(e) = &self.refused {
            return Err(e.clone());
        }
        if !renew {
            if let Some(t) = self.tokens.load()? {
                if self.host.now() < t.expires_at - TOKEN_RENEW_BEFORE_SECS {
                    return Ok(t.access_token);
                }
            }
        }
        let issued = self.issue_token().inspect_err(|e| {
            if matches!(e, VendorError::Unauthorized { .. }) {
                self.refused = Some(e.clone());
            }
        })?;
        self.tokens.save(&issued.token)?;
        Ok(issued.token.access_token)
    }

    /// An API call with the cached token; on 401 a new token once.
    fn api(&mut self, method: Method, path: &str, body: Option<&Value>) -> Result<HttpResponse, VendorError> {
        let mut renewed = false;
        loop {
            // A token failure happens before the request leaves: its outcome
            // is known (nothing happened), unlike a failure of the request.
            let token = self.token(renewed).map_err(|e| match e {
                VendorError::Unavailable { detail, .. } | VendorError::Malformed { detail, .. } => {
                    VendorError::NoToken { brand: NAME, detail }
                }
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
                    let e = VendorError::Unauthorized {
                        brand: NAME,
                        detail: "the API refused a freshly issued token".into(),
                    };
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
        self.host.send(&req).map_err(|e| VendorError::from_http(NAME, e))
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
                .ok_or_else(|| malformed("device list without a payload array"))?;
            for d in payload {
                out.push(parse_device(d)?);
            }
            cursor = page.get("nextCursor").and_then(Value::as_str).unwrap_or_default().to_string();
            if cursor.is_empty() {
                return Ok(out);
            }
        }
        Err(malformed(format!("device list longer than {MAX_DEVICE_PAGES} pages")))
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
            _ => Err(malformed("job response without a jobId")),
        }
    }

    /// Whether a queued job has been carried out by the bridge.
    pub fn job_status(&mut self, job_id: &str) -> Result<Confirmed, VendorError> {
        let resp = self.api(Method::Get, &format!("/jobs/{}", path_segment(job_id)), None)?;
        if resp.status == 404 {
            // A job the cloud no longer knows cannot have succeeded.
            return Ok(Confirmed::Failed("igloohome no longer knows the job".into()));
        }
        check_status(&resp)?;
        let v: Value = parse_json(&resp.body, "job status")?;
        let status = v.get("jobResponse").and_then(|r| r.get("jobStatus")).and_then(Value::as_i64);
        let completed = v.get("completed").and_then(Value::as_bool);
        match (completed, status) {
            (Some(false), Some(0) | None) => Ok(Confirmed::Pending),
            (_, Some(0)) => Ok(Confirmed::Done(None)),
            (_, Some(s)) => {
                let msg = v
                    .get("jobResponse")
                    .and_then(|r| r.get("message"))
                    .and_then(Value::as_str)
                    .unwrap_or("the bridge did not carry out the job (failed or expired)");
                let reason = format!(
                    "the bridge did not put the code on the lock ({}, job status {s})",
                    crate::text::clip_to(msg, 160)
                );
                Ok(if is_pin_taken(msg) {
                    Confirmed::PinTaken(reason)
                } else if is_link_down(msg) {
                    Confirmed::Unreachable(reason)
                } else {
                    Confirmed::Failed(reason)
                })
            }
            (Some(true), None) => Err(malformed("completed job without a jobStatus")),
            (None, None) => Err(malformed("job status without `completed`")),
        }
    }
}

impl<H: Host + ?Sized> Vendor for Client<'_, H> {
    fn capabilities(&self) -> &'static Capabilities {
        &BRAND.capabilities
    }

    fn requests(&self) -> u32 {
        self.requests
    }

    fn verify(&mut self) -> Result<Option<String>, VendorError> {
        let issued = self.issue_token()?;
        let name = issued.account_name.clone();
        self.tokens.save(&issued.token)?;
        Ok(name)
    }

    fn locks(&mut self) -> Result<Vec<LockInfo>, VendorError> {
        Ok(locks_with_bridges(&self.devices()?)
            .into_iter()
            .map(|l| LockInfo {
                remote: l.bridge_id.map(|b| Remote::through("bridge", &b)),
                id: l.id,
                name: l.name,
                needs: None,
                pin_rule: None,
            })
            .collect())
    }

    fn create(&mut self, code: &CodeSpec) -> Result<Submitted, VendorError> {
        // igloohome refuses a start before the current hour: a code created
        // late (or moved mid-stay) starts now, to the minute (not the UTC
        // hour, which is before the local hour in half-hour zones).
        let now = self.host.now();
        let start = code.start.max(now - now.rem_euclid(60));
        self.create_pin(
            code.lock_id,
            code.channel,
            code.pin,
            code.name,
            &schedule::format_local(code.timezone, start),
            &schedule::format_local(code.timezone, code.end),
        )
        .map(Submitted::Pending)
    }

    fn update(&mut self, _code: &CodeSpec) -> Result<Submitted, VendorError> {
        Err(VendorError::Rejected { brand: NAME, message: "bridge PINs cannot be changed in place".into() })
    }

    fn delete(&mut self, code: &CodeSpec) -> Result<Submitted, VendorError> {
        self.delete_pin(code.lock_id, code.channel, code.pin).map(Submitted::Pending)
    }

    fn confirm(&mut self, _op: Op, _code: &CodeSpec, handle: &str) -> Result<Confirmed, VendorError> {
        self.job_status(handle)
    }

    fn find(&mut self, _code: &CodeSpec) -> Result<Found, VendorError> {
        Err(VendorError::Rejected { brand: NAME, message: "bridge PINs cannot be listed".into() })
    }

    /// An algoPIN: computed by the cloud, checked by the lock on its own
    /// clock, no bridge. Whole local hours (the start not before the current
    /// hour), hourly up to 28 days, else daily; it cannot be revoked.
    fn offline_code(&mut self, code: &CodeSpec) -> Result<Option<OfflineCode>, VendorError> {
        let tz = code.timezone;
        let start = schedule::floor_local_hour(tz, code.start.max(self.host.now()));
        let mut end = schedule::ceil_local_hour(tz, code.end).max(start + 3600);
        let kind = if (end - start) / 3600 <= ALGOPIN_MAX_HOURS {
            "hourly"
        } else {
            end = start + (end - start + 86_399) / 86_400 * 86_400;
            "daily"
        };
        let name: String = code.name.chars().take(ALGOPIN_NAME_CHARS).collect();
        let body = json!({
            "variance": 1,
            "startDate": schedule::format_local(tz, start),
            "endDate": schedule::format_local(tz, end),
            "accessName": if name.is_empty() { "Guest".to_string() } else { name },
        });
        let path = format!("/devices/{}/algopin/{kind}", path_segment(code.lock_id));
        let resp = self.api(Method::Post, &path, Some(&body))?;
        check_status(&resp)?;
        let v: Value = parse_json(&resp.body, "algoPIN")?;
        let pin = v
            .get("pin")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| malformed("algoPIN answer without a numeric pin"))?
            .to_string();
        let code_id = match v.get("pinId") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Ok(Some(OfflineCode {
            pin,
            start,
            end,
            code_id,
            revocable: false,
            first_use_within_secs: (end - start > ALGOPIN_FIRST_USE_SECS).then_some(ALGOPIN_FIRST_USE_SECS),
        }))
    }
}

/// Whether a failed create job says the PIN is already on the lock.
fn is_pin_taken(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    reason.contains("pin") && (reason.contains("already exists") || reason.contains("duplicate"))
}

/// A failed job that says the bridge (the lock's link) was down: it went
/// offline, or the job expired unpicked, which is how an offline bridge
/// shows. A job without a message failed or expired: counted as down too.
fn is_link_down(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    reason.contains("offline") || reason.contains("expired")
}

fn unavailable(detail: impl Into<String>) -> VendorError {
    VendorError::Unavailable { brand: NAME, detail: detail.into() }
}

fn malformed(detail: impl Into<String>) -> VendorError {
    VendorError::Malformed { brand: NAME, detail: detail.into() }
}

/// Maps a non-2xx API answer to the error a caller can act on.
fn check_status(resp: &HttpResponse) -> Result<(), VendorError> {
    match resp.status {
        200..=299 => Ok(()),
        429 => Err(VendorError::RateLimited {
            brand: NAME,
            retry_after_secs: resp.header("retry-after").and_then(|v| v.trim().parse().ok()),
        }),
        406 => Err(bridge_offline(error_text(resp))),
        s @ 400..=499 => {
            let message = error_text(resp);
            if message.to_ascii_lowercase().contains("bridge") && message.to_ascii_lowercase().contains("offline") {
                Err(bridge_offline(message))
            } else {
                Err(VendorError::Rejected { brand: NAME, message: format!("{message} (HTTP {s})") })
            }
        }
        s => Err(unavailable(format!("HTTP {s}"))),
    }
}

/// The `message` (or `error`) of an error body, else a generic text.
fn error_text(resp: &HttpResponse) -> String {
    let v: Option<Value> = serde_json::from_slice(&resp.body).ok();
    v.as_ref()
        .and_then(|v| v.get("message").or_else(|| v.get("error")))
        .and_then(Value::as_str)
        .map(crate::text::clip)
        .unwrap_or_else(|| format!("HTTP {}", resp.status))
}

fn bridge_offline(detail: String) -> VendorError {
    VendorError::Offline(format!("the bridge is offline or unreachable ({detail})"))
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, VendorError> {
    serde_json::from_slice(body).map_err(|e| malformed(format!("{what}: {e}")))
}

fn parse_device(d: &Value) -> Result<Device, VendorError> {
    let device_id = d
        .get("deviceId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| malformed("device without a deviceId"))?
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

#[cfg(test)]
mod tests {
    use super::*;

    /// R28: a job that expired or whose bridge went offline says the link
    /// was down; a lock that refused the PIN does not.
    #[test]
    fn r28_a_failed_job_says_the_link_was_down_only_when_it_was() {
        assert!(is_link_down("job expired: the bridge did not pick it up in time"));
        assert!(is_link_down("bridge went offline while carrying out the job"));
        assert!(!is_link_down("the lock has no free PIN slot"));
        assert!(is_pin_taken("pin already exists on the lock") && !is_link_down("pin already exists on the lock"));
    }
}

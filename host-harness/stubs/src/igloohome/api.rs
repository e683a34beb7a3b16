//! The HTTP face of the stub: routing, counting, fault injection, and the
//! token / devices / jobs / job-status endpoints with their validation.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chrono::DateTime;
use serde_json::{json, Map, Value};

use super::algopin::{self, AlgoKind};
use super::config::OfflineReply;
use super::state::{JobAction, JobState, State, TokenInfo, MAX_PENDING_PER_BRIDGE, TOKEN_LIFETIME};
use super::{rfc3339_offset, Endpoint, FaultKind, MalformedKind, StubRequest, StubResponse};
use crate::sim::Simulation as _;
use crate::split_target;

/// The vendor's whole scope catalogue: every stub account owns all of it,
/// and the vendor's public client asks for all of it at once
/// (`docs/brands/igloohome.md`). A scope outside it is `invalid_scope`.
pub(crate) const SCOPES: [&str; 11] = [
    "igloohomeapi/get-devices",
    "igloohomeapi/create-pin-bridge-proxied-job",
    "igloohomeapi/delete-pin-bridge-proxied-job",
    "igloohomeapi/get-job-status",
    "igloohomeapi/algopin-hourly",
    "igloohomeapi/algopin-daily",
    "igloohomeapi/algopin-permanent",
    "igloohomeapi/algopin-onetime",
    "igloohomeapi/lock-bridge-proxied-job",
    "igloohomeapi/unlock-bridge-proxied-job",
    "igloohomeapi/get-properties",
];
const SCOPE_DEVICES: &str = SCOPES[0];
const SCOPE_CREATE_PIN: &str = SCOPES[1];
const SCOPE_DELETE_PIN: &str = SCOPES[2];
const SCOPE_JOB_STATUS: &str = SCOPES[3];

/// Longest `accessName` accepted (the real limit is unknown; be generous).
const MAX_ACCESS_NAME: usize = 255;
/// Longest PIN window accepted.
const MAX_WINDOW_SECONDS: i64 = 367 * 86_400;

/// The routes of the API, decoded from the path.
enum Route {
    Token,
    DeviceList,
    Device(String),
    CreateJob { lock: String, bridge: String },
    JobStatus(String),
    Algopin { device: String, kind: AlgoKind },
}

impl Route {
    fn endpoint(&self) -> Endpoint {
        match self {
            Route::Token => Endpoint::Token,
            Route::DeviceList | Route::Device(_) => Endpoint::Devices,
            Route::CreateJob { .. } => Endpoint::Jobs,
            Route::JobStatus(_) => Endpoint::JobStatus,
            Route::Algopin { .. } => Endpoint::Algopin,
        }
    }

    fn method(&self) -> &'static str {
        match self {
            Route::Token | Route::CreateJob { .. } | Route::Algopin { .. } => "POST",
            _ => "GET",
        }
    }
}

fn route(segments: &[String]) -> Option<Route> {
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    Some(match s.as_slice() {
        ["oauth2", "token"] => Route::Token,
        ["igloohome", "devices"] => Route::DeviceList,
        ["igloohome", "devices", id] => Route::Device(id.to_string()),
        ["igloohome", "devices", lock, "jobs", "bridges", bridge] => {
            Route::CreateJob { lock: lock.to_string(), bridge: bridge.to_string() }
        }
        ["igloohome", "jobs", id] => Route::JobStatus(id.to_string()),
        ["igloohome", "devices", id, "algopin", kind] => {
            Route::Algopin { device: id.to_string(), kind: AlgoKind::parse(kind)? }
        }
        _ => return None,
    })
}

fn message(status: u16, msg: &str) -> StubResponse {
    StubResponse::json(status, &json!({ "message": msg }))
}

fn oauth_error(status: u16, error: &str) -> StubResponse {
    StubResponse::json(status, &json!({ "error": error }))
}

/// Counts one API request (admin routes are not counted).
fn count(state: &mut State, route: Option<&Route>) {
    state.counts.record(route.map(|r| r.endpoint().as_str()));
}

/// Counts a request the transport refused before it reached [`handle`]
/// (e.g. an oversized body): it was still received.
pub(crate) fn count_refused(state: &mut State, target: &str) {
    match split_target(target) {
        Some((segments, _)) if segments.first().map(String::as_str) == Some("_admin") => {}
        Some((segments, _)) => count(state, route(&segments).as_ref()),
        None => count(state, None),
    }
}

/// Entry point: counting, faults and the API proper (`/_admin/` routes are
/// the world's, answered before this).
pub(crate) fn handle(state: &mut State, req: &StubRequest) -> StubResponse {
    let Some((segments, query)) = split_target(&req.path_and_query) else {
        count(state, None);
        return message(400, "malformed request path");
    };

    let route = route(&segments);
    count(state, route.as_ref());
    let Some(route) = route else {
        tracing::debug!(target = %req.path_and_query, "igloohome stub: no such route");
        return message(404, "Not Found");
    };
    let ep = route.endpoint();
    let fault = state.faults.take(ep);
    if let Some(FaultKind::Status(status)) = fault {
        tracing::debug!(endpoint = %ep, status, "igloohome stub: injected fault");
        return fault_response(ep, status);
    }

    let resp = if !req.method.eq_ignore_ascii_case(route.method()) {
        message(405, "Method Not Allowed").with_header("Allow", route.method())
    } else {
        match route {
            Route::Token => token(state, req),
            Route::DeviceList => device_list(state, req, query),
            Route::Device(id) => device(state, req, &id),
            Route::CreateJob { lock, bridge } => create_job(state, req, &lock, &bridge),
            Route::JobStatus(id) => job_status(state, req, &id),
            Route::Algopin { device, kind } => algopin(state, req, &device, kind),
        }
    };

    match fault {
        Some(FaultKind::Body(kind)) => spoil(resp, kind),
        _ => resp,
    }
}

/// The answer of an injected status fault: an error body in the endpoint's
/// own style, or the hang marker.
fn fault_response(ep: Endpoint, status: u16) -> StubResponse {
    if status == 0 {
        return StubResponse::hang();
    }
    let resp = if ep == Endpoint::Token {
        let error = match status {
            401 => "invalid_client",
            429 => "too_many_requests",
            500.. => "server_error",
            _ => "invalid_request",
        };
        oauth_error(status, error)
    } else {
        let text = match status {
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            429 => "Too Many Requests",
            500 => "Internal server error",
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            504 => "Endpoint request timed out",
            _ => "Injected fault",
        };
        message(status, text)
    };
    if status == 429 {
        resp.with_header("Retry-After", "30")
    } else {
        resp
    }
}

fn spoil(resp: StubResponse, kind: MalformedKind) -> StubResponse {
    kind.spoil(resp, b"{\"status\": \"ok\", \"data\": [1, 2,, }<html>")
}

// ---------------------------------------------------------------- token

fn token(state: &mut State, req: &StubRequest) -> StubResponse {
    let unauthorized = || oauth_error(401, "invalid_client").with_header("WWW-Authenticate", "Basic");
    let Some((client_id, secret)) = basic_credentials(req) else {
        return unauthorized();
    };
    let Some(account) = state.accounts.iter().find(|a| a.client_id == client_id && a.client_secret == secret) else {
        tracing::debug!(client_id, "igloohome stub: bad client credentials");
        return unauthorized();
    };
    let (client_id, name) = (account.client_id.clone(), account.name.clone());

    let form_type = req
        .header("Content-Type")
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
        .unwrap_or(false);
    if !form_type {
        return oauth_error(400, "invalid_request");
    }
    let mut grant_type = None;
    let mut scope = None;
    for (k, v) in form_urlencoded::parse(&req.body) {
        match k.as_ref() {
            "grant_type" => grant_type = Some(v.into_owned()),
            "scope" => scope = Some(v.into_owned()),
            _ => {}
        }
    }
    if grant_type.as_deref() != Some("client_credentials") {
        return oauth_error(400, "unsupported_grant_type");
    }
    let scopes: Vec<String> = match scope.as_deref().map(str::trim) {
        None | Some("") => SCOPES.iter().map(|s| s.to_string()).collect(),
        Some(s) => {
            let asked: Vec<&str> = s.split_whitespace().collect();
            // Asking for any scope the client does not own fails the request.
            if asked.iter().any(|a| !SCOPES.contains(a)) {
                return oauth_error(400, "invalid_scope");
            }
            let mut v: Vec<String> = asked.iter().map(|s| s.to_string()).collect();
            v.dedup();
            v
        }
    };

    let now = state.now();
    let exp = now + TOKEN_LIFETIME;
    let scope_text = scopes.join(" ");
    let jti: [u8; 12] = state.random_bytes();
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": "igloohome-stub"});
    let payload = json!({
        "sub": client_id,
        "client_id": client_id,
        "name": name,
        "scope": scope_text,
        "token_use": "access",
        "iat": now,
        "exp": exp,
        "jti": URL_SAFE_NO_PAD.encode(jti),
    });
    let sig: [u8; 32] = state.random_bytes();
    let token = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        URL_SAFE_NO_PAD.encode(sig)
    );
    state.tokens.insert(token.clone(), TokenInfo { scopes, expires_at: exp });
    tracing::debug!(client_id, exp, "igloohome stub: token issued");
    StubResponse::json(200, &json!({"access_token": token, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"}))
        .with_header("Cache-Control", "no-store")
}

/// The account (client id) a request speaks for: the Basic credentials of a
/// token request, or the `client_id` claim of a bearer token (a JWT whose
/// payload is read, not verified: for the world's in-flight accounting).
pub(crate) fn account_of(req: &StubRequest) -> Option<String> {
    if let Some((client_id, _)) = basic_credentials(req) {
        return Some(client_id);
    }
    let value = req.header("Authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let payload = URL_SAFE_NO_PAD.decode(token.trim().split('.').nth(1)?).ok()?;
    let claims: Value = serde_json::from_slice(&payload).ok()?;
    claims.get("client_id")?.as_str().map(str::to_string)
}

/// `Authorization: Basic base64(client_id:client_secret)`.
fn basic_credentials(req: &StubRequest) -> Option<(String, String)> {
    let value = req.header("Authorization")?.trim();
    let (scheme, b64) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = STANDARD.decode(b64.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// Checks the bearer token: missing, unknown, expired or revoked -> 401.
/// Returns the token's scopes.
fn authenticate(state: &State, req: &StubRequest) -> Result<Vec<String>, StubResponse> {
    let token = req.header("Authorization").and_then(|v| {
        let (scheme, t) = v.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| t.trim())
    });
    match token.and_then(|t| state.tokens.get(t)) {
        Some(info) if state.now() < info.expires_at => Ok(info.scopes.clone()),
        _ => Err(message(401, "Unauthorized")),
    }
}

fn require_scope(scopes: &[String], scope: &str) -> Result<(), StubResponse> {
    if scopes.iter().any(|s| s == scope) {
        Ok(())
    } else {
        Err(message(403, &format!("token lacks scope {scope}")))
    }
}

/// Token and scope in one go, for endpoints with a fixed scope.
fn authorize(state: &State, req: &StubRequest, scope: &str) -> Result<(), StubResponse> {
    require_scope(&authenticate(state, req)?, scope)
}

// -------------------------------------------------------------- devices

/// Numeric ids: locks 100001.., bridges 200001.. (stable per config order).
fn device_json(state: &State, index: usize) -> Value {
    // Paired a few days apart, starting from the API doc's example instant.
    const PAIRED_BASE: i64 = 1_731_151_165; // 2024-11-09T11:19:25Z
    let nlocks = state.locks.len();
    if let Some(l) = state.locks.get(index) {
        return json!({
            "id": (100_001 + index).to_string(),
            "type": "Lock",
            "deviceId": l.id,
            "deviceName": l.name,
            "pairedAt": rfc3339_offset(PAIRED_BASE + index as i64 * 3 * 86_400),
            "homeId": [],
            "linkedDevices": [],
            "batteryLevel": 100 - (index as i64 * 13) % 60,
            "lastSync": rfc3339_offset(last_sync(state)),
        });
    }
    let bi = index - nlocks;
    let b = &state.bridges[bi];
    let locks = state.linked_locks(&b.id);
    // Objects, as the vendor's public client requires (plain strings are
    // seen too; the plugin's own tests cover that shape).
    let linked: Vec<Value> = locks.iter().map(|l| json!({"type": "Lock", "deviceId": l.id})).collect();
    json!({
        "id": (200_001 + bi).to_string(),
        "type": "Bridge",
        "deviceId": b.id,
        "deviceName": b.name,
        "pairedAt": rfc3339_offset(PAIRED_BASE + 86_400 + bi as i64 * 3 * 86_400),
        "homeId": [],
        "linkedDevices": linked,
        "batteryLevel": null,
        "lastSync": rfc3339_offset(last_sync(state)),
    })
}

/// Devices report to the cloud every few minutes; the stub says a minute ago.
fn last_sync(state: &State) -> i64 {
    state.now() - 60
}

fn device_count(state: &State) -> usize {
    state.locks.len() + state.bridges.len()
}

fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.strip_prefix("offset:")?.parse().ok()
}

fn device_list(state: &mut State, req: &StubRequest, query: &str) -> StubResponse {
    if let Err(resp) = authorize(state, req, SCOPE_DEVICES) {
        return resp;
    }
    let cursor = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "cursor").map(|(_, v)| v.into_owned());
    let offset = match cursor.as_deref() {
        None | Some("") => 0,
        Some(c) => match decode_cursor(c) {
            Some(o) => o,
            None => return message(400, "'cursor' is invalid"),
        },
    };
    let total = device_count(state);
    let end = offset.saturating_add(state.page_size).min(total);
    let payload: Vec<Value> = (offset.min(end)..end).map(|i| device_json(state, i)).collect();
    let next = if end < total { encode_cursor(end) } else { String::new() };
    StubResponse::json(200, &json!({"nextCursor": next, "payload": payload}))
}

fn device(state: &mut State, req: &StubRequest, id: &str) -> StubResponse {
    if let Err(resp) = authorize(state, req, SCOPE_DEVICES) {
        return resp;
    }
    let index = state.locks.iter().map(|l| &l.id).chain(state.bridges.iter().map(|b| &b.id)).position(|d| d == id);
    match index {
        Some(i) => StubResponse::json(200, &device_json(state, i)),
        None => message(404, "device not found"),
    }
}

// ----------------------------------------------------------------- jobs

fn create_job(state: &mut State, req: &StubRequest, lock: &str, bridge: &str) -> StubResponse {
    // The scope depends on the job type: authenticate now, check the scope
    // once the body is read.
    let scopes = match authenticate(state, req) {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return message(400, "request body must be a JSON object");
    };
    if state.lock(lock).is_none() {
        return message(404, "lock not found");
    }
    let Some(bi) = state.bridge_index(bridge) else {
        return message(404, "bridge not found");
    };
    if state.lock(lock).and_then(|l| l.bridge.as_deref()) != Some(bridge) {
        return message(400, "lock is not linked to bridge");
    }
    let action = match parse_job(state.now(), &body) {
        Ok(a) => a,
        Err(msg) => return message(400, &msg),
    };
    let scope = match action {
        JobAction::CreatePin { .. } => SCOPE_CREATE_PIN,
        JobAction::DeletePin { .. } => SCOPE_DELETE_PIN,
    };
    if let Err(resp) = require_scope(&scopes, scope) {
        return resp;
    }
    let b = &state.bridges[bi];
    if !b.online && b.offline_reply == OfflineReply::Reject {
        return message(406, "bridge is offline");
    }
    if b.pending() >= MAX_PENDING_PER_BRIDGE {
        return message(429, "too many pending jobs on bridge").with_header("Retry-After", "60");
    }
    let id = state.enqueue(lock, bi, action);
    tracing::debug!(job = %id, lock, bridge, "igloohome stub: job queued");
    StubResponse::json(200, &json!({ "jobId": id }))
}

/// Validates a job body; the error names the field, as the API does.
fn parse_job(now: i64, body: &Map<String, Value>) -> Result<JobAction, String> {
    let job_type = body.get("jobType").and_then(Value::as_i64);
    if !matches!(job_type, Some(4) | Some(5)) {
        return Err("'jobType' must be 4 (create PIN) or 5 (delete PIN)".into());
    }
    let Some(Value::Object(data)) = body.get("jobData") else {
        return Err("'jobData' is required and must be an object".into());
    };
    let pin = match data.get("pin") {
        Some(Value::String(p)) if (4..=6).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) => p.clone(),
        _ => return Err("'pin' length is 4-6 digits".into()),
    };
    if job_type == Some(5) {
        return Ok(JobAction::DeletePin { pin });
    }

    let access_name = match data.get("accessName") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if s.chars().count() <= MAX_ACCESS_NAME => s.clone(),
        Some(_) => return Err(format!("'accessName' must be a string of at most {MAX_ACCESS_NAME} characters")),
    };
    match data.get("pinType").and_then(Value::as_i64) {
        Some(4) => {}
        Some(1) | Some(2) => {
            return Err(
                "'pinType' 1 (one-time) and 2 (permanent) are not supported for bridge PINs here; use 4 (duration)"
                    .into(),
            )
        }
        _ => return Err("'pinType' must be 4 (duration)".into()),
    }
    let start = parse_date(data, "startDate")?;
    let end = parse_date(data, "endDate")?;
    let hour_start = now - now.rem_euclid(3600);
    if start < hour_start {
        return Err("'startDate' must not be before the current hour".into());
    }
    if end <= start {
        return Err("'endDate' must be after 'startDate'".into());
    }
    if end - start > MAX_WINDOW_SECONDS {
        return Err("'endDate' must be at most 367 days after 'startDate'".into());
    }
    Ok(JobAction::CreatePin { pin, access_name, start, end })
}

/// ISO 8601 with seconds and an explicit numeric offset (`+01:00`); `Z`
/// and offset-less forms are refused (the stricter reading of the doc).
fn parse_date(data: &Map<String, Value>, field: &str) -> Result<i64, String> {
    let bad =
        || format!("'{field}' must be ISO 8601 with seconds and a numeric UTC offset, e.g. 2026-03-20T14:30:00+01:00");
    let Some(v) = data.get(field) else {
        return Err(format!("'{field}' is required for pinType 4"));
    };
    let s = v.as_str().ok_or_else(bad)?;
    let b = s.as_bytes();
    let numeric_offset = b.len() > 6 && matches!(b[b.len() - 6], b'+' | b'-') && b[b.len() - 3] == b':';
    if !numeric_offset {
        return Err(bad());
    }
    DateTime::parse_from_rfc3339(s).map(|d| d.timestamp()).map_err(|_| bad())
}

fn job_status(state: &mut State, req: &StubRequest, id: &str) -> StubResponse {
    if let Err(resp) = authorize(state, req, SCOPE_JOB_STATUS) {
        return resp;
    }
    let Some(job) = state.job(id) else {
        return message(404, "job not found");
    };
    // Finished jobs, failed or not, are `completed`; only jobStatus tells
    // success (0) from failure or expiry (2).
    let (completed, response) = match &job.state {
        JobState::Queued | JobState::Running { .. } => (false, Value::Null),
        JobState::Succeeded { .. } => (true, json!({"jobStatus": 0})),
        JobState::Failed { message, .. } => (true, json!({"jobStatus": 2, "message": message})),
    };
    StubResponse::json(
        200,
        &json!({
            "jobId": job.id,
            "jobType": job.action.job_type(),
            "completed": completed,
            "expiryDate": rfc3339_offset(job.expires_at()),
            "jobResponse": response,
        }),
    )
}

// -------------------------------------------------------------- algoPIN

/// `POST /igloohome/devices/{deviceId}/algopin/{type}`: an offline code,
/// whatever the state of the lock's bridge (see [`algopin`]).
fn algopin(state: &mut State, req: &StubRequest, device: &str, kind: AlgoKind) -> StubResponse {
    if let Err(resp) = authorize(state, req, kind.scope()) {
        return resp;
    }
    let json_type = req
        .header("Content-Type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json_type {
        return message(415, "Unsupported Media Type: the body must be application/json");
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return message(400, "request body must be a JSON object");
    };
    if state.lock(device).is_none() {
        return if state.bridge_index(device).is_some() {
            message(400, "'deviceId' must be a lock: algoPINs are computed by the lock")
        } else {
            message(404, "device not found")
        };
    }
    match algopin::issue(state, device, kind, &body) {
        Ok((pin, pin_id)) => StubResponse::json(200, &json!({"pin": pin, "pinId": pin_id})),
        Err(r) => message(r.status, &r.message),
    }
}

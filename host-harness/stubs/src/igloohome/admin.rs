//! `/_admin/` routes: drive a stub running in another process (clock,
//! bridges, faults, tokens) and read its truth (PINs, request counts).
//! These requests are not counted in the `http` report.
//!
//! - `GET  /_admin/time` -> `{"now": secs, "time": "RFC 3339"}`
//! - `POST /_admin/time` `{"now": secs | "RFC 3339"}` -> same as GET
//! - `POST /_admin/bridge` `{"bridge": id, "online": bool}`
//! - `POST /_admin/fault` `{"endpoint", "status", "count", "kind"?}` where
//!   `kind` is `"status"` (default), `"malformed"` or `"truncated"`
//! - `POST /_admin/revoke-tokens`
//! - `POST /_admin/page-size` `{"page_size": n}`
//! - `GET  /_admin/pins` -> the report's `pins` array
//! - `GET  /_admin/http` -> the report's `http` object
//! - `POST /_admin/shutdown` (served by [`super::StubServer`] only)

use chrono::DateTime;
use serde_json::{json, Value};

use super::state::State;
use super::{rfc3339_utc, Endpoint, FaultKind, HttpCounts, MalformedKind, PinRecord};
use super::{StubRequest, StubResponse};

pub(crate) fn pins_json(pins: &[PinRecord]) -> Value {
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
                })
            })
            .collect(),
    )
}

pub(crate) fn http_json(counts: &HttpCounts) -> Value {
    json!({"requests": counts.requests, "by_endpoint": counts.by_endpoint})
}

fn error(status: u16, msg: &str) -> StubResponse {
    StubResponse::json(status, &json!({ "error": msg }))
}

fn time_json(now: i64) -> StubResponse {
    StubResponse::json(200, &json!({"now": now, "time": rfc3339_utc(now)}))
}

pub(crate) fn handle(state: &mut State, req: &StubRequest, route: &[String]) -> StubResponse {
    let route: Vec<&str> = route.iter().map(String::as_str).collect();
    let method = req.method.to_ascii_uppercase();
    let body = || -> Result<Value, StubResponse> {
        serde_json::from_slice::<Value>(&req.body)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| error(400, "body must be a JSON object"))
    };
    let result = match (method.as_str(), route.as_slice()) {
        ("GET", ["time"]) => Ok(time_json(state.now())),
        ("POST", ["time"]) => body().and_then(|b| set_time(state, &b)),
        ("POST", ["bridge"]) => body().and_then(|b| bridge(state, &b)),
        ("POST", ["fault"]) => body().and_then(|b| fault(state, &b)),
        ("POST", ["revoke-tokens"]) => {
            let n = state.tokens.len();
            state.tokens.clear();
            Ok(StubResponse::json(200, &json!({ "revoked": n })))
        }
        ("POST", ["page-size"]) => body().and_then(|b| {
            let n = b
                .get("page_size")
                .and_then(Value::as_u64)
                .filter(|&n| (1..=1000).contains(&n))
                .ok_or_else(|| error(400, "'page_size' must be an integer from 1 to 1000"))?;
            state.page_size = n as usize;
            Ok(StubResponse::json(200, &json!({ "page_size": n })))
        }),
        ("GET", ["pins"]) => Ok(StubResponse::json(200, &pins_json(&state.pins))),
        ("GET", ["http"]) => Ok(StubResponse::json(200, &http_json(&state.counts))),
        _ => Err(error(404, "no such admin route")),
    };
    result.unwrap_or_else(|e| e)
}

fn set_time(state: &mut State, b: &Value) -> Result<StubResponse, StubResponse> {
    let now = match b.get("now") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s).ok().map(|d| d.timestamp()),
        _ => None,
    }
    .ok_or_else(|| error(400, "'now' must be unix seconds or an RFC 3339 instant"))?;
    if now < state.now() {
        return Err(error(409, "the simulated clock cannot move backwards"));
    }
    state.set_time(now);
    Ok(time_json(state.now()))
}

fn bridge(state: &mut State, b: &Value) -> Result<StubResponse, StubResponse> {
    let id = b.get("bridge").and_then(Value::as_str).ok_or_else(|| error(400, "'bridge' must be a string"))?;
    let online = b.get("online").and_then(Value::as_bool).ok_or_else(|| error(400, "'online' must be a boolean"))?;
    state.set_bridge_online(id, online).map_err(|e| error(404, &e.to_string()))?;
    Ok(StubResponse::json(200, &json!({"bridge": id, "online": online})))
}

fn fault(state: &mut State, b: &Value) -> Result<StubResponse, StubResponse> {
    let endpoint: Endpoint = b
        .get("endpoint")
        .and_then(Value::as_str)
        .ok_or_else(|| error(400, "'endpoint' must be a string"))?
        .parse()
        .map_err(|e: super::StubError| error(400, &e.to_string()))?;
    let count = b
        .get("count")
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok())
        .ok_or_else(|| error(400, "'count' must be a non-negative integer"))?;
    let kind = match b.get("kind").and_then(Value::as_str).unwrap_or("status") {
        "status" => {
            let status = b
                .get("status")
                .and_then(Value::as_u64)
                .filter(|&s| s == 0 || (100..=599).contains(&s))
                .ok_or_else(|| error(400, "'status' must be 0 (hang) or an HTTP status"))?;
            FaultKind::Status(status as u16)
        }
        other => FaultKind::Body(other.parse::<MalformedKind>().map_err(|e| error(400, &e.to_string()))?),
    };
    state.add_fault(endpoint, kind, count);
    Ok(StubResponse::json(200, &json!({"armed": count})))
}

//! `/_admin/` routes: drive a world (or a lone igloohome stub) running in
//! another process (clock, links, faults, tokens) and read its truth (PINs,
//! request counts). These requests are not counted in the `http` report.
//! `provider` is `"igloohome"` (the default), `"nuki"`, `"ttlock"` or `"seam"`.
//!
//! - `GET  /_admin/time` -> `{"now": secs, "time": "RFC 3339", "now_exact":
//!   secs with the fraction, "speed": N | null}` (`speed`: the clock runs by
//!   itself N times as fast as the wall clock, `stub --speed N`)
//! - `POST /_admin/time` `{"now": secs | "RFC 3339"}` -> same as GET; 409
//!   if it would move the clock back, or while it runs by itself
//! - `POST /_admin/online` `{"provider"?, "id", "online"}`: an igloohome
//!   bridge, a TTLock gateway, a Nuki lock or a Seam device (see
//!   [`World::set_online`])
//! - `POST /_admin/bridge` `{"bridge", "online", "provider"?}`: the same,
//!   under its older name
//! - `POST /_admin/fault` `{"provider"?, "endpoint", "status", "count",
//!   "kind"?, "errcode"?}` -> `{"armed": count}` (see [`super::Fault`];
//!   `status` may be left out with a body `kind` or an `errcode`)
//! - `POST /_admin/revoke-tokens` `{"provider"?}` (or no body) ->
//!   `{"revoked": n}`
//! - `POST /_admin/page-size` `{"page_size": n}` (igloohome)
//! - `POST /_admin/try-pin` `{"provider"?, "lock", "pin"}` -> `{"opens":
//!   bool}`: a guest types `pin` on the lock now (see [`World::try_pin`])
//! - `GET  /_admin/layout` -> `{"brands": {"igloohome": "", "nuki":
//!   "/nuki", ...}}`: for every vendor the stubs serve, the path below the
//!   world's base URL at which its real API is served
//!   ([`Vendor::path_prefix`]), so a host can route each brand's origins
//!   without knowing the layout. Every vendor is listed, held by this world
//!   or not (one it does not hold answers 404 there), so the answer does not
//!   depend on the scenario; a brand not listed has no stub.
//! - `GET  /_admin/pins` -> the report's `pins` array, every vendor's
//! - `GET  /_admin/http` -> the report's `http` object, every vendor's,
//!   with `max_in_flight_per_account`: the most requests ever in flight at
//!   once per vendor account (`{"nuki:Alpine Stays": 1, ...}`)
//! - `POST /_admin/shutdown` (served by [`crate::StubServer`] only)
//!
//! Errors are `{"error": "..."}`: 404 for an unknown route or a vendor,
//! bridge, gateway or lock the world does not have, 400 for a bad body.

use chrono::DateTime;
use serde_json::{json, Map, Value};

use super::{Fault, World, WorldError};
use crate::{rfc3339_utc, StubRequest, StubResponse, Vendor};

type Body = Map<String, Value>;

fn error(status: u16, msg: &str) -> StubResponse {
    StubResponse::json(status, &json!({ "error": msg }))
}

fn world_error(e: &WorldError) -> StubResponse {
    error(if e.is_not_found() { 404 } else { 400 }, &e.to_string())
}

fn time_json(world: &World) -> StubResponse {
    let exact = world.now_exact();
    let now = world.now();
    StubResponse::json(
        200,
        &json!({"now": now, "time": rfc3339_utc(now), "now_exact": exact, "speed": world.clock_speed()}),
    )
}

/// The request body as a JSON object; an empty body is `{}` when
/// `empty_ok`.
fn body(req: &StubRequest, empty_ok: bool) -> Result<Body, StubResponse> {
    if empty_ok && req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Body::new());
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(error(400, "body must be a JSON object")),
    }
}

/// `provider`, igloohome when absent.
fn provider(b: &Body) -> Result<Vendor, StubResponse> {
    match b.get("provider") {
        None | Some(Value::Null) => Ok(Vendor::Igloohome),
        Some(Value::String(s)) => s.parse().map_err(|e: crate::UnknownVendor| error(400, &e.to_string())),
        Some(_) => Err(error(400, "'provider' must be a string")),
    }
}

fn string<'a>(b: &'a Body, key: &str) -> Result<&'a str, StubResponse> {
    b.get(key).and_then(Value::as_str).ok_or_else(|| error(400, &format!("'{key}' must be a string")))
}

fn boolean(b: &Body, key: &str) -> Result<bool, StubResponse> {
    b.get(key).and_then(Value::as_bool).ok_or_else(|| error(400, &format!("'{key}' must be a boolean")))
}

/// Answers one admin request; `route` is the path below `/_admin/`.
pub(crate) fn handle(world: &World, req: &StubRequest, route: &[String]) -> StubResponse {
    let route: Vec<&str> = route.iter().map(String::as_str).collect();
    let method = req.method.to_ascii_uppercase();
    let result = match (method.as_str(), route.as_slice()) {
        ("GET", ["time"]) => Ok(time_json(world)),
        ("POST", ["time"]) => body(req, false).and_then(|b| set_time(world, &b)),
        ("POST", ["online"]) => body(req, false).and_then(|b| online(world, &b, "id")),
        ("POST", ["bridge"]) => body(req, false).and_then(|b| online(world, &b, "bridge")),
        ("POST", ["fault"]) => body(req, false).and_then(|b| fault(world, &b)),
        ("POST", ["revoke-tokens"]) => body(req, true).and_then(|b| {
            let vendor = provider(&b)?;
            let n = world.revoke_tokens(vendor).map_err(|e| world_error(&e))?;
            Ok(StubResponse::json(200, &json!({"provider": vendor, "revoked": n})))
        }),
        ("POST", ["page-size"]) => body(req, false).and_then(|b| page_size(world, &b)),
        ("POST", ["try-pin"]) => body(req, false).and_then(|b| {
            let vendor = provider(&b)?;
            let opens = world.try_pin(vendor, string(&b, "lock")?, string(&b, "pin")?).map_err(|e| world_error(&e))?;
            Ok(StubResponse::json(200, &json!({ "opens": opens })))
        }),
        ("GET", ["layout"]) => Ok(StubResponse::json(200, &layout_json())),
        ("GET", ["pins"]) => Ok(StubResponse::json(200, &world.report_pins_json())),
        ("GET", ["http"]) => {
            let mut http = world.http_json();
            http["max_in_flight_per_account"] = json!(world.max_in_flight_per_account());
            Ok(StubResponse::json(200, &http))
        }
        _ => Err(error(404, "no such admin route")),
    };
    result.unwrap_or_else(|e| e)
}

/// `GET /_admin/layout`'s answer: every vendor's path prefix.
fn layout_json() -> Value {
    let brands: Map<String, Value> =
        Vendor::ALL.into_iter().map(|v| (v.as_str().to_string(), Value::String(v.path_prefix()))).collect();
    json!({ "brands": brands })
}

fn set_time(world: &World, b: &Body) -> Result<StubResponse, StubResponse> {
    let now = match b.get("now") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s).ok().map(|d| d.timestamp()),
        _ => None,
    }
    .ok_or_else(|| error(400, "'now' must be unix seconds or an RFC 3339 instant"))?;
    if world.clock_speed().is_some() {
        return Err(error(409, "the simulated clock runs by itself (stub --speed): it cannot be set"));
    }
    if now < world.now() {
        return Err(error(409, "the simulated clock cannot move backwards"));
    }
    world.set_time(now);
    Ok(time_json(world))
}

/// `/online` (the id under `id`) and its older name `/bridge` (under
/// `bridge`); the answer echoes the request's names.
fn online(world: &World, b: &Body, id_key: &str) -> Result<StubResponse, StubResponse> {
    let vendor = provider(b)?;
    let id = string(b, id_key)?;
    let online = boolean(b, "online")?;
    world.set_online(vendor, id, online).map_err(|e| world_error(&e))?;
    Ok(StubResponse::json(200, &json!({"provider": vendor, id_key: id, "online": online})))
}

fn fault(world: &World, b: &Body) -> Result<StubResponse, StubResponse> {
    let vendor = provider(b)?;
    let endpoint = string(b, "endpoint")?.to_string();
    let count = b
        .get("count")
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok())
        .ok_or_else(|| error(400, "'count' must be a non-negative integer"))?;
    let kind = match b.get("kind") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(error(400, "'kind' must be a string")),
    };
    let errcode = match b.get("errcode") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| error(400, "'errcode' must be an integer"))?),
    };
    let bad_status = || error(400, "'status' must be 0 (hang) or an HTTP status");
    let status = match b.get("status") {
        Some(v) => v.as_u64().and_then(|s| u16::try_from(s).ok()).ok_or_else(bad_status)?,
        // Only a status fault needs one.
        None if matches!(kind.as_deref(), None | Some("status")) && errcode.is_none() => return Err(bad_status()),
        None => 0,
    };
    let fault = Fault { endpoint, status, count, kind, errcode };
    world.inject_fault(vendor, &fault).map_err(|e| world_error(&e))?;
    Ok(StubResponse::json(200, &json!({"provider": vendor, "armed": count})))
}

fn page_size(world: &World, b: &Body) -> Result<StubResponse, StubResponse> {
    let vendor = provider(b)?;
    if vendor != Vendor::Igloohome {
        return Err(world_error(&WorldError::Unsupported { vendor, what: "a device page size" }));
    }
    let n = b
        .get("page_size")
        .and_then(Value::as_u64)
        .filter(|&n| (1..=1000).contains(&n))
        .ok_or_else(|| error(400, "'page_size' must be an integer from 1 to 1000"))?;
    world.set_page_size(n as usize).map_err(|e| world_error(&e))?;
    Ok(StubResponse::json(200, &json!({ "page_size": n })))
}

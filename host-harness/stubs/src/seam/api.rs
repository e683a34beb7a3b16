//! The HTTP face of the stub: routing, counting, fault injection, Bearer
//! authentication, and the workspace, device and access-code endpoints
//! with Seam's validation and error bodies (`docs/brands/seam.md`).

use chrono::{DateTime, SecondsFormat};
use serde_json::{json, Map, Value};

use super::state::{AccessCode, Spec, State, WriteKind};
use super::{Brand, MalformedKind, SeamEndpoint, StubRequest, StubResponse};
use crate::sim::Simulation;
use crate::split_target;

/// What an armed fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// Answer this status (0 = hang), no effect.
    Status(u16),
    /// Carry the call out, spoil the answer.
    Body(MalformedKind),
}

/// Most items a list gives at once (`limit`'s default and maximum).
const MAX_LIMIT: u64 = 500;

type Body = Map<String, Value>;
type Answer = Result<StubResponse, StubResponse>;

// ----------------------------------------------------------- responses

/// Seam's error body.
fn error(status: u16, kind: &str, message: &str) -> StubResponse {
    StubResponse::json(status, &json!({"error": {"type": kind, "message": message}, "ok": false}))
}

/// 400 `invalid_input` naming the field and the reason.
fn invalid(field: &str, reason: &str) -> StubResponse {
    StubResponse::json(
        400,
        &json!({
            "error": {
                "type": "invalid_input",
                "message": format!("Invalid input: {field} {reason}"),
                "validation_errors": {field: {"_errors": [reason]}},
            },
            "ok": false,
        }),
    )
}

fn unauthorized() -> StubResponse {
    error(401, "unauthorized", "Unauthorized")
}

fn code_not_found() -> StubResponse {
    error(404, "access_code_not_found", "Access code not found")
}

fn device_not_found() -> StubResponse {
    error(404, "device_not_found", "Device not found")
}

/// 200 with `"ok": true` added.
fn ok(mut v: Value) -> StubResponse {
    if let Some(o) = v.as_object_mut() {
        o.insert("ok".into(), Value::Bool(true));
    }
    StubResponse::json(200, &v)
}

fn fault_response(status: u16) -> StubResponse {
    let kind = match status {
        0 => return StubResponse::hang(),
        400 => "invalid_input",
        401 => "unauthorized",
        404 => "not_found",
        409 => "duplicate_access_code",
        429 => "rate_limit_exceeded",
        500..=599 => "internal_server_error",
        _ => "injected_fault",
    };
    error(status, kind, "Injected fault")
}

/// `2026-03-20T13:30:00.000Z`, the API's own style.
fn iso(secs: i64) -> Value {
    DateTime::from_timestamp(secs, 0)
        .map_or(Value::Null, |d| Value::String(d.to_rfc3339_opts(SecondsFormat::Millis, true)))
}

// ------------------------------------------------------------ routing

fn endpoint_of(segments: &[String]) -> Option<SeamEndpoint> {
    let path = format!("/{}", segments.join("/"));
    SeamEndpoint::ALL.into_iter().find(|e| e.path() == path)
}

/// The methods a route takes, as the `Allow` header lists them.
fn allowed(ep: SeamEndpoint) -> &'static str {
    match ep {
        SeamEndpoint::AccessCodesUpdate => "POST, PUT, PATCH",
        SeamEndpoint::AccessCodesDelete => "POST, DELETE",
        SeamEndpoint::AccessCodesCreate => "POST",
        _ => "GET, POST",
    }
}

fn count(state: &mut State, ep: Option<SeamEndpoint>) {
    state.counts.record(ep.map(SeamEndpoint::report_key).as_deref());
}

/// Counts a request the transport refused before [`handle`].
pub(crate) fn count_refused(state: &mut State, target: &str) {
    match split_target(target) {
        Some((segments, _)) if segments.first().is_some_and(|s| s == "_admin") => {}
        Some((segments, _)) => count(state, endpoint_of(&segments)),
        None => count(state, None),
    }
}

/// The workspace a request's key names (its index).
fn authenticate(state: &State, req: &StubRequest) -> Option<usize> {
    let header = req.header("Authorization")?;
    let (scheme, key) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    state.accounts.iter().position(|a| a.key_valid && a.key == key.trim())
}

pub(crate) fn account_of(state: &State, req: &StubRequest) -> Option<String> {
    authenticate(state, req).map(|i| state.accounts[i].name.clone())
}

/// The parameters: the JSON body (an empty body is `{}`), or the query
/// string of a GET (a list parameter may repeat or be comma-separated).
fn params(req: &StubRequest, query: &str) -> Result<Body, StubResponse> {
    if req.method.eq_ignore_ascii_case("GET") {
        let mut m = Body::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let (k, v) = (k.trim_end_matches("[]").to_string(), v.into_owned());
            if k.ends_with("_ids") || k == "device_types" {
                let list = m.entry(k).or_insert_with(|| json!([]));
                if let Some(a) = list.as_array_mut() {
                    a.extend(v.split(',').map(|x| Value::String(x.to_string())));
                }
            } else if let Ok(n) = v.parse::<u64>() {
                m.insert(k, json!(n));
            } else {
                m.insert(k, Value::String(v));
            }
        }
        return Ok(m);
    }
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Body::new());
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(invalid("body", "must be a JSON object")),
    }
}

/// Entry point: counting, routing, faults, authentication, the API.
pub(crate) fn handle(state: &mut State, req: &StubRequest) -> StubResponse {
    let Some((segments, query)) = split_target(&req.path_and_query) else {
        count(state, None);
        return error(404, "not_found", "Not found");
    };
    if segments.first().is_some_and(|s| s == "_admin") {
        return error(404, "not_found", "Not found");
    }
    let ep = endpoint_of(&segments);
    count(state, ep);
    let Some(ep) = ep else {
        return error(404, "not_found", "Not found");
    };
    let method = req.method.to_ascii_uppercase();
    let method_ok = match method.as_str() {
        "POST" => true,
        "GET" => ep.is_read(),
        "PUT" | "PATCH" => ep == SeamEndpoint::AccessCodesUpdate,
        "DELETE" => ep == SeamEndpoint::AccessCodesDelete,
        _ => false,
    };
    if !method_ok {
        return error(405, "method_not_allowed", &format!("{method} is not allowed on {}", ep.path()))
            .with_header("Allow", allowed(ep));
    }
    let fault = state.faults.take(ep);
    if let Some(FaultKind::Status(status)) = fault {
        tracing::debug!(endpoint = %ep, status, "seam stub: injected fault");
        return fault_response(status);
    }
    let request_id = state.new_uuid();
    let resp = answer(state, req, ep, query).unwrap_or_else(|e| e).with_header("seam-request-id", &request_id);
    match fault {
        Some(FaultKind::Body(kind)) => kind.spoil(resp, b"<html><body>Bad Gateway</body></html>"),
        _ => resp,
    }
}

fn answer(state: &mut State, req: &StubRequest, ep: SeamEndpoint, query: &str) -> Answer {
    let Some(workspace) = authenticate(state, req) else { return Err(unauthorized()) };
    let p = params(req, query)?;
    match ep {
        SeamEndpoint::WorkspacesGet => {
            let a = &state.accounts[workspace];
            Ok(ok(json!({"workspace": {
                "workspace_id": a.workspace_id, "name": a.name, "company_name": a.name,
                "is_sandbox": a.key.contains("test"), "connect_partner_name": null,
            }})))
        }
        SeamEndpoint::DevicesList => devices_list(state, &p),
        SeamEndpoint::DevicesGet => {
            let di = device_param(state, &p)?;
            Ok(ok(json!({"device": device_json(state, di)})))
        }
        SeamEndpoint::AccessCodesCreate => create(state, &p),
        SeamEndpoint::AccessCodesGet => {
            let ci = match (p.get("access_code_id"), p.get("device_id"), p.get("code")) {
                (Some(id), _, _) => state.code(id.as_str().unwrap_or("")).ok_or_else(code_not_found)?,
                (None, Some(_), Some(code)) => {
                    let di = device_param(state, &p)?;
                    let code = code.as_str().ok_or_else(|| invalid("code", "must be a string"))?;
                    state
                        .listed_on(di)
                        .find(|(_, _, s)| s.code == code)
                        .map(|(i, _, _)| i)
                        .ok_or_else(code_not_found)?
                }
                _ => return Err(invalid("access_code_id", "is required (or device_id and code)")),
            };
            Ok(ok(json!({"access_code": code_json(state, ci)})))
        }
        SeamEndpoint::AccessCodesList => codes_list(state, &p),
        SeamEndpoint::AccessCodesUpdate => update(state, &p),
        SeamEndpoint::AccessCodesDelete => {
            let id = p
                .get("access_code_id")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("access_code_id", "is required"))?;
            let ci = state.code(id).ok_or_else(code_not_found)?;
            let device = state.codes[ci].device;
            if !state.take_rate(device, WriteKind::Delete) {
                return Err(rate_limited("delete"));
            }
            state.delete_code(ci);
            Ok(ok(json!({"action_attempt": action_attempt(state, "DELETE_ACCESS_CODE")})))
        }
    }
}

fn rate_limited(what: &str) -> StubResponse {
    error(429, "rate_limit_exceeded", &format!("Too many {what} requests for this device; retry in a minute"))
}

fn action_attempt(state: &mut State, kind: &str) -> Value {
    json!({"action_attempt_id": state.new_uuid(), "action_type": kind, "status": "pending", "result": null, "error": null})
}

// ------------------------------------------------------------ devices

fn device_param(state: &State, p: &Body) -> Result<usize, StubResponse> {
    let id = p.get("device_id").and_then(Value::as_str).ok_or_else(|| invalid("device_id", "is required"))?;
    state.device(id).ok_or_else(device_not_found)
}

/// The `connected_account_id` of a brand's account (one per brand).
fn account_id(brand: Brand) -> String {
    super::state::fixed_uuid(0xacc0, Brand::NAMES.iter().position(|n| *n == brand.as_str()).unwrap_or(0) as u64)
}

fn device_errors(state: &State, di: usize) -> Vec<Value> {
    let d = &state.devices[di];
    match d.offline_since {
        Some(since) if !d.online => vec![json!({
            "error_code": "device_disconnected", "message": "Device is disconnected",
            "is_device_error": true, "created_at": iso(since),
        })],
        _ => Vec::new(),
    }
}

fn device_json(state: &State, di: usize) -> Value {
    let d = &state.devices[di];
    let mut properties = json!({
        "name": d.name, "online": d.online, "manufacturer": d.brand.as_str(),
        "online_access_codes_enabled": d.codes, "offline_access_codes_enabled": false,
        "supported_code_lengths": d.brand.code_lengths(), "max_active_codes_supported": 100,
        "code_constraints": d.brand.constraints(), "supports_backup_access_code_pool": false,
        "has_native_entry_events": true,
    });
    let meta = match d.brand {
        Brand::Nuki => Some(("nuki_metadata", json!({"keypad_paired": d.codes, "device_name": d.name}))),
        Brand::Ttlock => Some(("ttlock_metadata", json!({"has_gateway": d.codes, "lock_alias": d.name}))),
        Brand::Igloohome => Some(("igloohome_metadata", json!({"bridge_id": d.codes.then_some("EB1X000001")}))),
        _ => None,
    };
    if let (Some((k, v)), Some(o)) = (meta, properties.as_object_mut()) {
        o.insert(k.into(), v);
    }
    let capabilities: Vec<&str> = if d.codes { vec!["access_code", "lock"] } else { vec!["lock"] };
    json!({
        "device_id": d.id, "device_type": d.brand.device_type(), "display_name": d.name,
        "connected_account_id": account_id(d.brand), "workspace_id": state.accounts.first().map(|a| a.workspace_id.clone()),
        "can_program_online_access_codes": d.codes, "can_program_offline_access_codes": false,
        "can_remotely_lock": true, "can_remotely_unlock": true,
        "capabilities_supported": capabilities, "properties": properties,
        "errors": device_errors(state, di), "warnings": [], "is_managed": true,
        "created_at": iso(1_715_677_200 + di as i64 * 86_400),
    })
}

/// `limit` and `page_cursor` (the offset, base64 of its decimal).
fn page<T>(items: Vec<T>, p: &Body) -> Result<(Vec<T>, Value), StubResponse> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let limit = match p.get("limit") {
        None | Some(Value::Null) => MAX_LIMIT,
        Some(v) => {
            v.as_u64().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| invalid("limit", "must be 1-500"))?
        }
    };
    let offset = match p.get("page_cursor") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_str()
            .and_then(|c| b64.decode(c).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| invalid("page_cursor", "is not a cursor this API gave"))?,
    };
    let total = items.len();
    let end = offset.saturating_add(limit as usize).min(total);
    let has_next = end < total;
    let page: Vec<T> = items.into_iter().skip(offset).take(limit as usize).collect();
    let next = has_next.then(|| b64.encode(end.to_string()));
    Ok((page, json!({"has_next_page": has_next, "next_page_cursor": next, "next_page_url": null})))
}

fn string_list(p: &Body, key: &str) -> Result<Option<Vec<String>>, StubResponse> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(|| invalid(key, "must be a list of strings")))
            .collect::<Result<_, _>>()
            .map(Some),
        Some(_) => Err(invalid(key, "must be a list of strings")),
    }
}

fn devices_list(state: &State, p: &Body) -> Answer {
    let ids = string_list(p, "device_ids")?;
    let types = string_list(p, "device_types")?;
    let manufacturer = p.get("manufacturer").and_then(Value::as_str);
    let account = p.get("connected_account_id").and_then(Value::as_str);
    let found: Vec<usize> = (0..state.devices.len())
        .filter(|&i| {
            let d = &state.devices[i];
            ids.as_ref().is_none_or(|ids| ids.iter().any(|x| x.eq_ignore_ascii_case(&d.id)))
                && types.as_ref().is_none_or(|t| t.contains(&d.brand.device_type()))
                && manufacturer.is_none_or(|m| m == d.brand.as_str())
                && account.is_none_or(|a| a == account_id(d.brand))
        })
        .collect();
    let (found, pagination) = page(found, p)?;
    let devices: Vec<Value> = found.into_iter().map(|i| device_json(state, i)).collect();
    Ok(ok(json!({"devices": devices, "pagination": pagination})))
}

// ------------------------------------------------------- access codes

/// What the object shows; a `FalseSet` device shows its codes as applied.
fn code_json(state: &State, ci: usize) -> Value {
    let now = state.now();
    let c = &state.codes[ci];
    let d = &state.devices[c.device];
    let Some(spec) = &c.listed else { return Value::Null };
    let on = c.on_device.as_ref().is_some_and(|(s, _)| s == spec)
        || (d.programming == super::Programming::FalseSet && super_desired(c, now));
    let status = match (c.deleting, spec.window) {
        (true, _) => "removing",
        (false, Some((start, _))) if now < start => "unset",
        (false, _) if on => "set",
        (false, _) => "setting",
    };
    let mut mutations = Vec::new();
    if c.deleting {
        mutations.push(json!({"mutation_code": "deleting"}));
    } else if !on {
        match (&c.on_device, spec.load_at()) {
            (None, Some(load)) if now < load => {
                mutations.push(json!({"mutation_code": "deferring_creation", "scheduled_at": iso(load)}))
            }
            (None, _) => mutations.push(json!({"mutation_code": "creating"})),
            (Some((old, _)), _) => {
                if old.window != spec.window {
                    mutations.push(json!({"mutation_code": "updating_time_frame",
                        "from": window_json(old.window), "to": window_json(spec.window)}));
                }
                if old.code != spec.code {
                    mutations.push(json!({"mutation_code": "updating_code", "from": {"code": old.code}, "to": {"code": spec.code}}));
                }
                if old.name != spec.name {
                    mutations.push(json!({"mutation_code": "updating_name", "from": {"name": old.name}, "to": {"name": spec.name}}));
                }
            }
        }
    }
    let mut errors: Vec<Value> = c
        .errors
        .iter()
        .map(|(e, at)| json!({"error_code": e, "message": error_text(e), "is_access_code_error": true, "created_at": iso(*at)}))
        .collect();
    errors.extend(device_errors(state, c.device));
    let warnings: Vec<Value> = if c.deleting {
        vec![json!({"warning_code": "being_deleted", "message": "Access code is being deleted"})]
    } else {
        Vec::new()
    };
    let (starts_at, ends_at) = spec.window.map_or((Value::Null, Value::Null), |(s, e)| (iso(s), iso(e)));
    let mut v = json!({
        "access_code_id": c.id, "device_id": d.id, "name": spec.name, "code": spec.code,
        "type": if spec.window.is_some() { "time_bound" } else { "ongoing" },
        "status": status, "is_scheduled_on_device": spec.window.is_some() && spec.native && on,
        "pending_mutations": mutations, "errors": errors, "warnings": warnings,
        "is_managed": true, "is_backup": false, "is_backup_access_code_available": false,
        "is_offline_access_code": false, "is_one_time_use": false, "is_external_modification_allowed": false,
        "is_waiting_for_code_assignment": false, "created_at": iso(c.created_at),
    });
    if let Some(o) = v.as_object_mut().filter(|_| spec.window.is_some()) {
        o.insert("starts_at".into(), starts_at);
        o.insert("ends_at".into(), ends_at);
    }
    v
}

/// Whether Seam would want the code on the device at `now` (for `FalseSet`).
fn super_desired(c: &AccessCode, now: i64) -> bool {
    c.listed.as_ref().is_some_and(|s| match (s.window, s.load_at()) {
        (Some((_, end)), Some(load)) => now >= load && now < end,
        _ => true,
    })
}

fn window_json(w: Option<(i64, i64)>) -> Value {
    w.map_or(json!({"starts_at": null, "ends_at": null}), |(s, e)| json!({"starts_at": iso(s), "ends_at": iso(e)}))
}

fn error_text(code: &str) -> &'static str {
    match code {
        "failed_to_set_on_device" => "Failed to set code on device",
        "failed_to_remove_from_device" => "Failed to remove code from device",
        _ => "Access code error",
    }
}

fn codes_list(state: &State, p: &Body) -> Answer {
    let ids = string_list(p, "access_code_ids")?;
    let device = match p.get("device_id") {
        None | Some(Value::Null) => None,
        Some(_) => Some(device_param(state, p)?),
    };
    if device.is_none() && ids.is_none() {
        return Err(invalid("device_id", "or access_code_ids is required"));
    }
    let found: Vec<usize> = (0..state.codes.len())
        .filter(|&i| {
            let c = &state.codes[i];
            c.listed.is_some()
                && device.is_none_or(|d| c.device == d)
                && ids.as_ref().is_none_or(|ids| ids.iter().any(|x| x.eq_ignore_ascii_case(&c.id)))
        })
        .collect();
    let (found, pagination) = page(found, p)?;
    let codes: Vec<Value> = found.into_iter().map(|i| code_json(state, i)).collect();
    Ok(ok(json!({"access_codes": codes, "pagination": pagination})))
}

/// An instant field: RFC 3339 with `Z` or an offset.
fn instant(p: &Body, key: &str) -> Result<Option<i64>, StubResponse> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|d| Some(d.timestamp()))
            .map_err(|_| invalid(key, "must be an ISO 8601 instant with a time zone")),
        Some(_) => Err(invalid(key, "must be a string")),
    }
}

/// Both dates or neither; the end after the start and in the future.
fn window(state: &State, p: &Body) -> Result<Option<Option<(i64, i64)>>, StubResponse> {
    match (instant(p, "starts_at")?, instant(p, "ends_at")?) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(invalid("ends_at", "is required with starts_at")),
        (None, Some(_)) => Err(invalid("starts_at", "is required with ends_at")),
        (Some(s), Some(e)) if e <= s => Err(invalid("ends_at", "must be after starts_at")),
        (Some(_), Some(e)) if e <= state.now() => Err(invalid("ends_at", "must be in the future")),
        (Some(s), Some(e)) => Ok(Some(Some((s, e)))),
    }
}

fn name_param(p: &Body) -> Result<Option<String>, StubResponse> {
    match p.get("name") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid("name", "must be a string")),
    }
}

fn code_param(p: &Body) -> Result<Option<String>, StubResponse> {
    match p.get("code") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if (4..=12).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Some(s.clone()))
        }
        Some(Value::String(_)) => Err(invalid("code", "must be 4 to 12 digits")),
        Some(_) => Err(invalid("code", "must be a string of digits")),
    }
}

/// The device's rules on a code (length, `code_constraints`), the name's
/// length and uniqueness, and a start in the future where required.
fn check_rules(state: &State, di: usize, spec: &Spec, except: Option<usize>, chosen: bool) -> Result<(), StubResponse> {
    let brand = state.devices[di].brand;
    if !brand.code_lengths().contains(&spec.code.len()) {
        return Err(invalid(
            "code",
            &format!("must have one of the lengths {:?} on this device", brand.code_lengths()),
        ));
    }
    for c in brand.constraints() {
        let kind = c["constraint_type"].as_str().unwrap_or("");
        if let Some(reason) = violates(state, di, kind, &c, spec, except, chosen) {
            return Err(invalid(if kind.starts_with("name") { "name" } else { "code" }, &reason));
        }
    }
    Ok(())
}

fn violates(
    state: &State,
    di: usize,
    kind: &str,
    c: &Value,
    spec: &Spec,
    except: Option<usize>,
    chosen: bool,
) -> Option<String> {
    let code = spec.code.as_bytes();
    let digits: Vec<i32> = code.iter().map(|b| i32::from(b - b'0')).collect();
    let steps: Vec<i32> = digits.windows(2).map(|w| w[1] - w[0]).collect();
    let broken = match kind {
        "no_zeros" => code.contains(&b'0'),
        "cannot_start_with_12" => code.starts_with(b"12"),
        "no_triple_consecutive_ints" => steps.windows(2).any(|w| w[0] == 1 && w[1] == 1),
        "no_ascending_or_descending_sequence" => steps.iter().all(|&s| s == 1) || steps.iter().all(|&s| s == -1),
        "at_least_three_unique_digits" => {
            let mut u = digits.clone();
            u.sort_unstable();
            u.dedup();
            u.len() < 3
        }
        "no_all_same_digits" => steps.iter().all(|&s| s == 0),
        "unique_first_four_digits" => {
            state.listed_on(di).any(|(i, _, s)| Some(i) != except && s.code.get(..4) == spec.code.get(..4))
        }
        "cannot_contain_089" => code.iter().any(|b| b"089".contains(b)),
        "cannot_contain_0789" => code.iter().any(|b| b"0789".contains(b)),
        "cannot_specify_pin_code" => chosen,
        "start_date_in_future" => spec.window.is_some_and(|(s, _)| s <= state.now()),
        "name_length" => {
            let n = spec.name.chars().count() as u64;
            n < c["min_length"].as_u64().unwrap_or(0) || n > c["max_length"].as_u64().unwrap_or(u64::MAX)
        }
        "name_must_be_unique" => state.listed_on(di).any(|(i, _, s)| Some(i) != except && s.name == spec.name),
        _ => false,
    };
    broken.then(|| format!("breaks the device's constraint {kind}"))
}

/// A code fitting the device's rules and free on it (Seam picks one when
/// the create names none).
fn generate_code(state: &mut State, di: usize, spec: &Spec, preferred: Option<usize>) -> Option<String> {
    let lengths = state.devices[di].brand.code_lengths();
    let len = preferred
        .filter(|l| lengths.contains(l))
        .unwrap_or_else(|| *lengths.iter().find(|&&l| l >= 6).unwrap_or(&lengths[0]));
    for _ in 0..200 {
        let mut b = [0u8; 12];
        if getrandom::fill(&mut b).is_err() {
            return None;
        }
        let code: String = b[..len].iter().map(|x| char::from(b'1' + x % 9)).collect();
        let candidate = Spec { code, ..spec.clone() };
        if !state.pin_taken(di, &candidate.code, None) && check_rules(state, di, &candidate, None, false).is_ok() {
            return Some(candidate.code);
        }
    }
    None
}

fn create(state: &mut State, p: &Body) -> Answer {
    let di = device_param(state, p)?;
    if !state.devices[di].codes {
        return Err(invalid("device_id", "is a device that cannot program online access codes"));
    }
    if p.get("is_offline_access_code").and_then(Value::as_bool) == Some(true) {
        return Err(invalid("is_offline_access_code", "is not supported on this device"));
    }
    let window = window(state, p)?.flatten();
    let name = name_param(p)?.unwrap_or_default();
    let chosen = code_param(p)?;
    let prefer_native = p.get("prefer_native_scheduling").and_then(Value::as_bool).unwrap_or(true);
    let native = prefer_native && state.devices[di].brand.native_scheduling();
    let mut spec = Spec { name, code: chosen.clone().unwrap_or_default(), window, native };
    match &chosen {
        Some(_) => check_rules(state, di, &spec, None, true)?,
        None => {
            let preferred = p.get("preferred_code_length").and_then(Value::as_u64).map(|n| n as usize);
            spec.code = generate_code(state, di, &spec, preferred)
                .ok_or_else(|| invalid("code", "cannot be generated for this device"))?;
            // The name's constraints still apply.
            check_rules(state, di, &spec, None, false)?;
        }
    }
    // Seam's 409: one PIN per device, codes not yet on it included.
    if state.pin_taken(di, &spec.code, None) {
        return Err(error(409, "duplicate_access_code", "An access code with this code already exists on the device"));
    }
    if !state.take_rate(di, WriteKind::Create) {
        return Err(rate_limited("create"));
    }
    tracing::debug!(device = %state.devices[di].id, "seam stub: access code create accepted");
    let ci = state.add_code(di, spec);
    let attempt = action_attempt(state, "CREATE_ACCESS_CODE");
    Ok(ok(json!({"access_code": code_json(state, ci), "action_attempt": attempt})))
}

fn update(state: &mut State, p: &Body) -> Answer {
    let id = p.get("access_code_id").and_then(Value::as_str).ok_or_else(|| invalid("access_code_id", "is required"))?;
    let ci = state.code(id).ok_or_else(code_not_found)?;
    if state.codes[ci].deleting {
        return Err(invalid("access_code_id", "names a code being deleted"));
    }
    let di = state.codes[ci].device;
    let Some(mut spec) = state.codes[ci].listed.clone() else { return Err(code_not_found()) };
    if let Some(w) = window(state, p)? {
        spec.window = w;
    }
    match p.get("type").and_then(Value::as_str) {
        None => {}
        Some("ongoing") => spec.window = None,
        Some("time_bound") if spec.window.is_some() => {}
        Some("time_bound") => return Err(invalid("starts_at", "and ends_at are required for a time_bound code")),
        Some(_) => return Err(invalid("type", "must be ongoing or time_bound")),
    }
    if let Some(name) = name_param(p)? {
        spec.name = name;
    }
    let chosen = code_param(p)?;
    if let Some(code) = &chosen {
        spec.code = code.clone();
    }
    if let Some(native) = p.get("prefer_native_scheduling").and_then(Value::as_bool) {
        spec.native = native && state.devices[di].brand.native_scheduling();
    }
    check_rules(state, di, &spec, Some(ci), chosen.is_some())?;
    if state.pin_taken(di, &spec.code, Some(ci)) {
        return Err(error(409, "duplicate_access_code", "An access code with this code already exists on the device"));
    }
    if !state.take_rate(di, WriteKind::Update) {
        return Err(rate_limited("update"));
    }
    state.update_code(ci, spec);
    Ok(ok(json!({"action_attempt": action_attempt(state, "UPDATE_ACCESS_CODE")})))
}

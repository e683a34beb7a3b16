//! The HTTP face of the stub: routing, counting, fault injection, Bearer
//! authentication, and the smartlock / auth / sync endpoints with Nuki's
//! validation and error bodies (`docs/brands/nuki.md`, "Errors").

use chrono::{DateTime, NaiveDateTime, SecondsFormat};
use serde_json::{json, Map, Value};

use super::state::{pin_text, Code, OpAction, State, MAX_CODES_PER_LOCK};
use super::{NukiEndpoint, StubRequest, StubResponse};
use crate::split_target;

/// Longest keypad-code name (the general auth model allows 32; keypad codes
/// are held to 20 and a longer one gets 422).
const MAX_NAME_CHARS: usize = 20;
/// The type of a keypad-code authorization.
const TYPE_KEYPAD_CODE: u64 = 13;
/// Minutes in a day: `allowedFromTime` / `allowedUntilTime` are below it.
const MINUTES_PER_DAY: u64 = 1440;
/// The 422 body's `uri` (what Nuki's server framework puts there).
const URI_422: &str = "http://tools.ietf.org/html/rfc4918#section-11.2";

/// The routes of the API, decoded from method and path.
enum Route {
    /// `GET /smartlock`
    Smartlocks,
    /// `GET /smartlock/{smartlockId}`
    Smartlock(u64),
    /// `GET /smartlock/auth`: every lock's authorizations.
    AuthsAll,
    /// `GET /smartlock/auth/paged?page=0&size=100`: the same, one page.
    AuthsPaged,
    /// `GET /smartlock/{smartlockId}/auth`
    Auths(u64),
    /// `GET /smartlock/{smartlockId}/auth/{id}`
    Auth(u64, String),
    /// `PUT /smartlock/{smartlockId}/auth`
    Create(u64),
    /// `POST /smartlock/{smartlockId}/auth/{id}`
    Update(u64, String),
    /// `DELETE /smartlock/{smartlockId}/auth/{id}`
    Delete(u64, String),
    /// `PUT`, `POST` or `DELETE /smartlock/auth` (bulk writes): not
    /// simulated, answered 501 so that a client using them notices.
    Bulk(NukiEndpoint),
    /// `POST /smartlock/{smartlockId}/sync`
    Sync(u64),
}

impl Route {
    fn endpoint(&self) -> NukiEndpoint {
        match self {
            Route::Smartlocks | Route::Smartlock(_) => NukiEndpoint::Smartlock,
            Route::AuthsAll | Route::AuthsPaged | Route::Auths(_) | Route::Auth(..) => NukiEndpoint::AuthList,
            Route::Create(_) => NukiEndpoint::AuthCreate,
            Route::Update(..) => NukiEndpoint::AuthUpdate,
            Route::Delete(..) => NukiEndpoint::AuthDelete,
            Route::Bulk(ep) => *ep,
            Route::Sync(_) => NukiEndpoint::Sync,
        }
    }
}

/// Why a request matched no route.
enum Miss {
    NotFound,
    /// The path exists with other methods (the `Allow` header).
    Method(&'static str),
}

/// A path's `smartlockId`: a decimal number (anything else matches no
/// route, as a numeric path parameter does on the real server).
fn lock_param(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn route(method: &str, segments: &[String]) -> Result<Route, Miss> {
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let m = method.to_ascii_uppercase();
    let m = m.as_str();
    match s.as_slice() {
        ["smartlock"] => match m {
            "GET" => Ok(Route::Smartlocks),
            _ => Err(Miss::Method("GET")),
        },
        ["smartlock", "auth"] => match m {
            "GET" => Ok(Route::AuthsAll),
            "PUT" => Ok(Route::Bulk(NukiEndpoint::AuthCreate)),
            "POST" => Ok(Route::Bulk(NukiEndpoint::AuthUpdate)),
            "DELETE" => Ok(Route::Bulk(NukiEndpoint::AuthDelete)),
            _ => Err(Miss::Method("GET, PUT, POST, DELETE")),
        },
        ["smartlock", "auth", "paged"] => match m {
            "GET" => Ok(Route::AuthsPaged),
            _ => Err(Miss::Method("GET")),
        },
        ["smartlock", id] => {
            let id = lock_param(id).ok_or(Miss::NotFound)?;
            match m {
                "GET" => Ok(Route::Smartlock(id)),
                _ => Err(Miss::Method("GET")),
            }
        }
        ["smartlock", id, "auth"] => {
            let id = lock_param(id).ok_or(Miss::NotFound)?;
            match m {
                "GET" => Ok(Route::Auths(id)),
                "PUT" => Ok(Route::Create(id)),
                _ => Err(Miss::Method("GET, PUT")),
            }
        }
        ["smartlock", id, "auth", auth] => {
            let id = lock_param(id).ok_or(Miss::NotFound)?;
            let auth = auth.to_string();
            match m {
                "GET" => Ok(Route::Auth(id, auth)),
                "POST" => Ok(Route::Update(id, auth)),
                "DELETE" => Ok(Route::Delete(id, auth)),
                _ => Err(Miss::Method("GET, POST, DELETE")),
            }
        }
        ["smartlock", id, "sync"] => {
            let id = lock_param(id).ok_or(Miss::NotFound)?;
            match m {
                "POST" => Ok(Route::Sync(id)),
                _ => Err(Miss::Method("POST")),
            }
        }
        _ => Err(Miss::NotFound),
    }
}

// ---------------------------------------------------------- responses

fn empty(status: u16) -> StubResponse {
    StubResponse { status, headers: Vec::new(), body: Vec::new() }
}

/// 204: "valid and queued", never proof of anything.
fn no_content() -> StubResponse {
    empty(204)
}

/// Nuki's 401 carries no documented body: give none, so that a client
/// cannot come to depend on one.
fn unauthorized() -> StubResponse {
    empty(401).with_header("WWW-Authenticate", "Bearer")
}

fn not_found() -> StubResponse {
    empty(404)
}

/// The body of Nuki's Java exceptions (400, and the stub's other
/// detailed errors).
fn exception(status: u16, detail: &str) -> StubResponse {
    StubResponse::json(status, &json!({"detailMessage": detail, "stackTrace": [], "suppressedExceptions": []}))
}

/// 400 in Nuki's exact words.
fn invalid(param: &str, value: &str) -> StubResponse {
    exception(400, &format!("The supplied value '{value}' for parameter '{param}' is not valid"))
}

/// 422 as Nuki's framework writes it (names longer than 20 characters,
/// incomplete updates): generic, naming no field.
fn unprocessable() -> StubResponse {
    StubResponse::json(
        422,
        &json!({
            "code": 422,
            "description": "The server understands the content type of the request entity, and the syntax of \
                            the request entity is correct but was unable to process the contained instructions",
            "reasonPhrase": "Unprocessable Entity",
            "uri": URI_422,
        }),
    )
}

/// 423: an earlier operation on this auth is still under way.
fn locked() -> StubResponse {
    StubResponse::json(423, &json!({"stackTrace": [], "suppressedExceptions": []}))
}

fn conflict() -> StubResponse {
    exception(409, "A keypad code with this code already exists on the smartlock")
}

/// The answer of an injected fault, in the style that status has on the
/// real service (5xx from its gateway are HTML pages, not JSON).
fn fault_response(status: u16) -> StubResponse {
    match status {
        0 => StubResponse::hang(),
        401 => unauthorized(),
        404 | 429 => empty(status),
        409 => conflict(),
        422 => unprocessable(),
        423 => locked(),
        502..=504 => {
            let text = match status {
                502 => "502 Bad Gateway",
                503 => "503 Service Temporarily Unavailable",
                _ => "504 Gateway Time-out",
            };
            StubResponse {
                status,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: format!(
                    "<html>\r\n<head><title>{text}</title></head>\r\n<body>\r\n\
                     <center><h1>{text}</h1></center>\r\n</body>\r\n</html>\r\n"
                )
                .into_bytes(),
            }
        }
        _ => exception(status, "Injected fault"),
    }
}

/// A JSON value as Nuki quotes it in a 400 message.
fn raw(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "null".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// `2026-03-20T13:30:00.000Z`, the API's own date style.
fn date(secs: i64) -> Value {
    match DateTime::from_timestamp(secs, 0) {
        Some(d) => Value::String(d.to_rfc3339_opts(SecondsFormat::Millis, true)),
        None => Value::Null,
    }
}

fn opt_date(secs: Option<i64>) -> Value {
    secs.map_or(Value::Null, date)
}

// ------------------------------------------------------------ counting

fn count(state: &mut State, ep: Option<NukiEndpoint>) {
    state.counts.record(ep.map(NukiEndpoint::report_key).as_deref());
}

/// Counts a request the transport refused before it reached [`handle`]
/// (e.g. an oversized body): it was still received. Only the path is known,
/// so the endpoint is counted where the path alone names it; the auth paths
/// (list or write, by method) count in the total only.
pub(crate) fn count_refused(state: &mut State, target: &str) {
    if split_target(target).is_some_and(|(segments, _)| is_admin(&segments)) {
        return;
    }
    let ep = split_target(target).and_then(|(segments, _)| {
        let s: Vec<&str> = segments.iter().map(String::as_str).collect();
        match s.as_slice() {
            ["smartlock"] => Some(NukiEndpoint::Smartlock),
            ["smartlock", id] if lock_param(id).is_some() => Some(NukiEndpoint::Smartlock),
            ["smartlock", id, "sync"] if lock_param(id).is_some() => Some(NukiEndpoint::Sync),
            _ => None,
        }
    });
    count(state, ep);
}

// --------------------------------------------------------- entry point

fn is_admin(segments: &[String]) -> bool {
    segments.first().is_some_and(|s| s == "_admin")
}

/// Entry point: counting, faults, authentication, then the API proper.
pub(crate) fn handle(state: &mut State, req: &StubRequest) -> StubResponse {
    let Some((segments, query)) = split_target(&req.path_and_query) else {
        count(state, None);
        return not_found();
    };
    if is_admin(&segments) {
        // Control traffic belongs to the harness's admin layer, which sits in
        // front of the stubs: a misrouted call is no part of what the plugin
        // did, so it is not counted.
        return not_found();
    }
    let route = route(&req.method, &segments);
    count(state, route.as_ref().ok().map(Route::endpoint));
    let route = match route {
        Ok(r) => r,
        Err(Miss::NotFound) => {
            tracing::debug!(target = %req.path_and_query, "nuki stub: no such route");
            return not_found();
        }
        Err(Miss::Method(allow)) => return empty(405).with_header("Allow", allow),
    };
    let ep = route.endpoint();
    if let Some(status) = state.faults.take(ep) {
        tracing::debug!(endpoint = %ep, status, "nuki stub: injected fault");
        return fault_response(status);
    }
    let Some(account) = authenticate(state, req) else {
        return unauthorized();
    };
    let writes_json = matches!(route, Route::Create(_) | Route::Update(..) | Route::Bulk(_));
    if writes_json && !is_json(req) {
        return empty(415);
    }
    match route {
        Route::Smartlocks => smartlocks(state, account, query),
        Route::Smartlock(id) => match state.lock_by_wire_id(id) {
            Some(li) => StubResponse::json(200, &smartlock_json(state, li, account)),
            None => not_found(),
        },
        Route::AuthsAll => auths(state, None, query),
        Route::AuthsPaged => auths_paged(state, query),
        Route::Auths(id) => match state.lock_by_wire_id(id) {
            Some(li) => auths(state, Some(li), query),
            None => not_found(),
        },
        Route::Auth(id, auth) => one_auth(state, id, &auth),
        Route::Create(id) => create(state, req, id),
        Route::Update(id, auth) => update(state, req, id, &auth),
        Route::Delete(id, auth) => delete(state, id, &auth),
        Route::Bulk(_) => exception(501, "bulk authorization writes are not simulated by this stub"),
        Route::Sync(id) => match state.lock_by_wire_id(id) {
            Some(li) => {
                state.sync(li);
                no_content()
            }
            None => not_found(),
        },
    }
}

/// `Authorization: Bearer <api token>` of an account whose token was not
/// revoked; the account's index.
fn authenticate(state: &State, req: &StubRequest) -> Option<usize> {
    let value = req.header("Authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    state.accounts.iter().position(|a| a.token_valid && a.token == token)
}

/// The account (its name) whose API token a request carries, revoked or not.
pub(crate) fn account_of(state: &State, req: &StubRequest) -> Option<String> {
    let value = req.header("Authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    state.accounts.iter().find(|a| a.token == token.trim()).map(|a| a.name.clone())
}

fn is_json(req: &StubRequest) -> bool {
    req.header("Content-Type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// The query parameter `name`, if given.
fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

// ----------------------------------------------------------- smartlocks

/// One lock as `GET /smartlock` shows it. Locks alternate which keypad
/// flag carries the pairing (a Keypad 2.0 is `keypad2Paired`), so clients
/// must read both.
fn smartlock_json(state: &State, li: usize, account: usize) -> Value {
    // Paired a few days apart from a fixed instant (2024-05-14T09:00:00Z).
    const PAIRED_BASE: i64 = 1_715_677_200;
    let l = &state.locks[li];
    let created = PAIRED_BASE + li as i64 * 3 * 86_400;
    let keypad2 = li % 2 == 1;
    json!({
        "smartlockId": l.id,
        "accountId": state.accounts.get(account).map_or(0, |a| a.id),
        "type": 4,
        "lmType": 0,
        "authId": 1,
        "name": l.name,
        "favorite": false,
        "firmwareVersion": 263_172,
        "hardwareVersion": 1_283,
        "serverState": if l.online { 0 } else { 4 },
        "adminPinState": 0,
        "virtualDevice": false,
        "operationId": l.busy_with().map(|op| state.ops[op].id.clone()),
        "state": {
            "mode": 2, "state": 1, "trigger": 0, "lastAction": 2,
            "batteryCritical": false, "batteryCharging": false,
            "batteryCharge": 90 - (li as i64 * 7) % 50,
            "keypadBatteryCritical": false, "doorState": 2,
        },
        "config": {
            "name": l.name,
            "latitude": 47.07, "longitude": 15.43,
            "autoUnlatch": false, "pairingEnabled": true, "buttonEnabled": true, "ledEnabled": true,
            "ledBrightness": 3, "fobPaired": false, "singleLock": false, "advertisingMode": 0,
            "keypadPaired": l.keypad && !keypad2,
            "keypad2Paired": l.keypad && keypad2,
            // The stub's locks keep UTC, so daily times are UTC minutes.
            "timezoneId": 37, "timezoneOffset": 0, "daylightSavingMode": 0,
            "deviceType": 4, "wifiEnabled": true, "homekitState": 0,
        },
        "advancedConfig": {
            "totalDegrees": 900, "unlockedPositionOffsetDegrees": 0, "lockedPositionOffsetDegrees": 0,
            "singleLockedPositionOffsetDegrees": 0, "unlockedToLockedTransitionOffsetDegrees": 0,
            "lngTimeout": 20, "singleButtonPressAction": 1, "doubleButtonPressAction": 4,
            "automaticBatteryTypeDetection": true, "batteryType": 1, "autoLockTimeout": 0,
        },
        "creationDate": date(created),
        "updateDate": date(created + 3600),
    })
}

fn smartlocks(state: &State, account: usize, query: &str) -> StubResponse {
    // Every stub lock is a Smart Lock 3.0/4.0 (type 4).
    let wanted = match query_param(query, "type") {
        None => None,
        Some(t) => match t.parse::<u64>() {
            Ok(t) => Some(t),
            Err(_) => return invalid("type", &t),
        },
    };
    let list: Vec<Value> = (0..state.locks.len())
        .filter(|_| wanted.is_none_or(|t| t == 4))
        .map(|li| smartlock_json(state, li, account))
        .collect();
    StubResponse::json(200, &Value::Array(list))
}

// ---------------------------------------------------------------- auths

/// The owner's app authorization (type 0) every lock lists first: clients
/// that forget `?types=13` meet an entry without `code`.
fn app_auth_json(state: &State, li: usize) -> Value {
    let l = &state.locks[li];
    let created = date(1_715_677_200 + li as i64 * 3 * 86_400);
    json!({
        "id": l.app_auth_id,
        "smartlockId": l.id,
        "accountUserId": 1,
        "authId": 1,
        "type": 0,
        "name": state.accounts.first().map_or("Owner", |a| a.name.as_str()),
        "enabled": true,
        "remoteAllowed": true,
        "lockCount": 12,
        "allowedFromDate": null,
        "allowedUntilDate": null,
        "allowedWeekDays": 127,
        "allowedFromTime": 0,
        "allowedUntilTime": 0,
        "lastActiveDate": null,
        "creationDate": created,
        "updateDate": created,
    })
}

fn auth_json(state: &State, ai: usize, code: &Code) -> Value {
    let a = &state.auths[ai];
    let mut v = json!({
        "id": a.id,
        "smartlockId": state.locks[a.lock].id,
        "authId": a.slot,
        "type": TYPE_KEYPAD_CODE,
        "name": code.name,
        "code": code.code,
        "enabled": code.enabled,
        "remoteAllowed": false,
        "lockCount": 0,
        "allowedFromDate": opt_date(code.from),
        "allowedUntilDate": opt_date(code.until),
        "allowedWeekDays": code.week_days,
        "allowedFromTime": code.from_time,
        "allowedUntilTime": code.until_time,
        "lastActiveDate": null,
        "creationDate": date(a.created_at),
        "updateDate": date(a.updated_at),
    });
    // Present only while a write on this auth is under way.
    if let (Some(op), Some(obj)) = (a.pending, v.as_object_mut()) {
        obj.insert("operationId".into(), Value::String(state.ops[op].id.clone()));
    }
    v
}

/// `?types=0,13`: which authorization types to list (all when absent).
fn parse_types(query: &str) -> Result<Option<Vec<u64>>, StubResponse> {
    let Some(t) = query_param(query, "types") else { return Ok(None) };
    t.split(',').map(|x| x.trim().parse::<u64>().map_err(|_| invalid("types", &t))).collect::<Result<_, _>>().map(Some)
}

fn auths(state: &State, lock: Option<usize>, query: &str) -> StubResponse {
    let types = match parse_types(query) {
        Ok(t) => t,
        Err(resp) => return resp,
    };
    let wants = |t: u64| types.as_ref().is_none_or(|ts| ts.contains(&t));
    let mut list = Vec::new();
    for li in (0..state.locks.len()).filter(|&li| lock.is_none_or(|l| l == li)) {
        if wants(0) {
            list.push(app_auth_json(state, li));
        }
        if wants(TYPE_KEYPAD_CODE) {
            list.extend(state.listed_on(li).map(|(ai, _, code)| auth_json(state, ai, code)));
        }
    }
    StubResponse::json(200, &Value::Array(list))
}

/// Largest `size` of `GET /smartlock/auth/paged`.
const MAX_PAGE_SIZE: u64 = 100;

/// `GET /smartlock/auth/paged?page=0&size=100&types=13`: every lock's
/// authorizations as [`auths`] lists them, one page of them. `page` counts
/// from 0 and defaults to 0, `size` to 100 (at most 100). The doc gives no
/// shape: the stub answers a plain array, as the unpaged list does, so a
/// client reading one reads the other; past the end the array is empty.
fn auths_paged(state: &State, query: &str) -> StubResponse {
    let number = |name: &str, default: u64| -> Result<u64, StubResponse> {
        match query_param(query, name) {
            None => Ok(default),
            Some(v) => v.trim().parse::<u64>().map_err(|_| invalid(name, &v)),
        }
    };
    let (page, size) = match (number("page", 0), number("size", MAX_PAGE_SIZE)) {
        (Ok(p), Ok(s)) if (1..=MAX_PAGE_SIZE).contains(&s) => (p, s),
        (Ok(_), Ok(s)) => return invalid("size", &s.to_string()),
        (Err(resp), _) | (_, Err(resp)) => return resp,
    };
    let all = auths(state, None, query);
    if all.status != 200 {
        return all;
    }
    let Value::Array(list) = all.json_body() else { return all };
    let skip = usize::try_from(page.saturating_mul(size)).unwrap_or(usize::MAX);
    let page: Vec<Value> = list.into_iter().skip(skip).take(size as usize).collect();
    StubResponse::json(200, &Value::Array(page))
}

/// The listed keypad auth `auth` of lock `id`: its lock and auth indices.
/// `Err` is the 404 (unknown lock, unknown auth, another lock's auth, or
/// an auth gone from the list).
fn find_auth(state: &State, id: u64, auth: &str) -> Result<(usize, usize), StubResponse> {
    let li = state.lock_by_wire_id(id).ok_or_else(not_found)?;
    let ai = state.auth(auth).ok_or_else(not_found)?;
    let a = &state.auths[ai];
    if a.lock != li || a.listed.is_none() {
        return Err(not_found());
    }
    Ok((li, ai))
}

fn one_auth(state: &State, id: u64, auth: &str) -> StubResponse {
    if let Some(li) = state.lock_by_wire_id(id) {
        if state.locks[li].app_auth_id == auth {
            return StubResponse::json(200, &app_auth_json(state, li));
        }
    }
    match find_auth(state, id, auth) {
        Ok((_, ai)) => match &state.auths[ai].listed {
            Some(code) => StubResponse::json(200, &auth_json(state, ai, code)),
            None => not_found(),
        },
        Err(resp) => resp,
    }
}

// ---------------------------------------------------------- validation

/// Create and update read the same fields with different rules for what
/// is missing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Create,
    /// A replace: omitted fields are cleared, a missing name or code is 422.
    Update,
}

fn body_object(req: &StubRequest) -> Result<Map<String, Value>, StubResponse> {
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(exception(400, "The request body is not a valid JSON object")),
    }
}

/// Nuki's keypad-code rule: 6 digits, each 1-9, not starting with "12".
fn valid_code(n: u64) -> bool {
    let s = n.to_string();
    s.len() == 6 && s.bytes().all(|b| (b'1'..=b'9').contains(&b)) && !s.starts_with("12")
}

/// A date field: ISO 8601 in UTC with `Z`, with seconds, milliseconds or
/// minutes only. Numeric offsets are refused (the doc only shows `Z`; the
/// stricter reading). Absent or `null` is "no limit".
fn parse_date(body: &Map<String, Value>, field: &str) -> Result<Option<i64>, StubResponse> {
    let v = body.get(field);
    let s = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s,
        Some(_) => return Err(invalid(field, &raw(v))),
    };
    let parsed = s.strip_suffix('Z').and_then(|t| {
        NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M"))
            .ok()
    });
    match parsed {
        Some(d) => Ok(Some(d.and_utc().timestamp())),
        None => Err(invalid(field, s)),
    }
}

/// An optional integer field in `0..limit`, 0 when absent or `null`.
fn small_int(body: &Map<String, Value>, field: &str, limit: u64) -> Result<u64, StubResponse> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => v.as_u64().filter(|&n| n < limit).ok_or_else(|| invalid(field, &raw(Some(v)))),
    }
}

/// Reads a keypad code from a create or update body.
fn parse_code(body: &Map<String, Value>, mode: Mode) -> Result<Code, StubResponse> {
    let name = match body.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        None | Some(Value::Null) if mode == Mode::Update => return Err(unprocessable()),
        v => return Err(invalid("name", &raw(v))),
    };
    let code = match body.get("code") {
        // A quoted code was accepted in one report; the stricter reading
        // takes a JSON number only.
        Some(v @ Value::Number(_)) => match v.as_u64().filter(|&n| valid_code(n)) {
            Some(n) => n as u32,
            None => return Err(invalid("code", &raw(Some(v)))),
        },
        None | Some(Value::Null) if mode == Mode::Update => return Err(unprocessable()),
        v => return Err(invalid("code", &raw(v))),
    };
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(unprocessable());
    }
    let enabled = match body.get("enabled") {
        Some(Value::Bool(b)) => *b,
        // A replace clears an omitted flag: an update without `enabled`
        // disables the code (the stricter reading of "omitted fields are
        // cleared"). A create is enabled unless told otherwise.
        None | Some(Value::Null) => mode == Mode::Create,
        v => return Err(invalid("enabled", &raw(v))),
    };
    let from = parse_date(body, "allowedFromDate")?;
    let until = parse_date(body, "allowedUntilDate")?;
    if let (Some(f), Some(u)) = (from, until) {
        // Whether the real API refuses an inverted window is unknown: the
        // stricter reading refuses it. A start in the past is accepted (a
        // code moved during a stay has one).
        if u <= f {
            return Err(invalid("allowedUntilDate", &raw(body.get("allowedUntilDate"))));
        }
    }
    // Absent = 0 = no restriction at all on the lock: users who sent dates
    // without it got a code valid at any time.
    let week_days = small_int(body, "allowedWeekDays", 128)? as u8;
    let from_time = small_int(body, "allowedFromTime", MINUTES_PER_DAY)? as u16;
    let until_time = small_int(body, "allowedUntilTime", MINUTES_PER_DAY)? as u16;
    // 0/0 is "no daily limit"; otherwise the stricter reading wants a
    // same-day span (an overnight span is refused).
    if (from_time, until_time) != (0, 0) && from_time >= until_time {
        return Err(invalid("allowedUntilTime", &until_time.to_string()));
    }
    Ok(Code { name, code, from, until, week_days, from_time, until_time, enabled })
}

// --------------------------------------------------------------- writes

fn create(state: &mut State, req: &StubRequest, id: u64) -> StubResponse {
    let Some(li) = state.lock_by_wire_id(id) else { return not_found() };
    let body = match body_object(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    // The stub manages keypad codes only; other types need app users.
    let ty = body.get("type");
    if ty.and_then(Value::as_u64) != Some(TYPE_KEYPAD_CODE) {
        return invalid("type", &raw(ty));
    }
    // Without a keypad the refusal blames `type`, as the real API does.
    if !state.locks[li].keypad {
        return invalid("type", "13");
    }
    let code = match parse_code(&body, Mode::Create) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    if state.code_taken(li, code.code, None) {
        return conflict();
    }
    // The refusal's status is undocumented: 422 ("semantically refused"),
    // not 409, which clients read as "PIN taken, pick another".
    if state.listed_on(li).count() >= MAX_CODES_PER_LOCK {
        return unprocessable();
    }
    tracing::debug!(lock = id, pin = %pin_text(code.code), "nuki stub: keypad code create accepted");
    let ai = state.new_auth(li, code.clone());
    state.submit(ai, OpAction::Create(code));
    no_content()
}

fn update(state: &mut State, req: &StubRequest, id: u64, auth: &str) -> StubResponse {
    if writes_app_auth(state, id, auth) {
        return invalid("type", "0");
    }
    let (li, ai) = match find_auth(state, id, auth) {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let body = match body_object(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let new = match parse_code(&body, Mode::Update) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    if state.auths[ai].pending.is_some() {
        return locked();
    }
    if state.code_taken(li, new.code, Some(ai)) {
        return conflict();
    }
    let Some(previous) = state.auths[ai].listed.clone() else { return not_found() };
    tracing::debug!(lock = id, auth, "nuki stub: keypad code update accepted");
    state.submit(ai, OpAction::Update { new, previous });
    no_content()
}

fn delete(state: &mut State, id: u64, auth: &str) -> StubResponse {
    if writes_app_auth(state, id, auth) {
        return invalid("type", "0");
    }
    let (_, ai) = match find_auth(state, id, auth) {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    if state.auths[ai].pending.is_some() {
        return locked();
    }
    tracing::debug!(lock = id, auth, "nuki stub: keypad code delete accepted");
    state.submit(ai, OpAction::Delete);
    no_content()
}

/// The owner's app authorization is not the stub's to change.
fn writes_app_auth(state: &State, id: u64, auth: &str) -> bool {
    state.lock_by_wire_id(id).is_some_and(|li| state.locks[li].app_auth_id == auth)
}

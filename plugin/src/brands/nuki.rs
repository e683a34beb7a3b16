//! The Nuki Web API client (see docs/brands/nuki.md): keypad codes as type-13
//! authorizations, written store-and-forward and confirmed from the listing.
//!
//! - One API token (`Authorization: Bearer`), which never expires; a 401
//!   is final for the whole client (no later call is sent).
//! - Writes answer 204 with no body and no id: a 204 proves nothing. A write
//!   is confirmed from one `GET /smartlock/{id}/auth?types=13`: the auth is
//!   listed with our PIN, the window asked for and no `operationId`.
//! - Every create and update sends the complete code (name, code, dates,
//!   every day, no daily limit, enabled): an update is a replace (R14).
//! - Deleted codes may stay listed ("ghosts", still blocking their PIN)
//!   until `POST /smartlock/{id}/sync`, which the confirmation sends.

use chrono::{DateTime, NaiveDateTime, SecondsFormat};
use serde_json::{json, Value};

use super::{
    Brand, Capabilities, CodeSpec, Confirmation, Confirmed, CredentialField, Credentials as Stored, Fields, Found,
    LockInfo, Op, Remote, Submitted, TokenCache, Vendor, VendorError,
};
use crate::host::{Host, HttpRequest, HttpResponse, Method};
use crate::pin::PinRule;
use crate::schedule::Instant;

/// The brand's name in error texts.
const NAME: &str = "Nuki";

/// Nuki as the core and the hosts see it (R30).
pub static BRAND: Brand = Brand {
    id: "nuki",
    name: NAME,
    fields: &[CredentialField {
        name: "api_token",
        label: "API token",
        help: "made in Nuki Web (API > API token) with the scopes to view devices and manage authorizations",
        secret: true,
        host_supplied: false,
    }],
    seal: |f: &mut Fields| {
        if let Some(t) = f.get_mut("api_token") {
            *t = t.trim().to_string();
        }
    },
    login: |_| "Nuki Web account".to_string(),
    origins: &[API_BASE],
    capabilities: CAPABILITIES,
};

/// The client of a stored Nuki connection (the token never expires: no cache).
pub fn client<'h, H: Host + ?Sized>(
    host: &'h H,
    stored: &'h Stored,
    _tokens: TokenCache<'h, H>,
) -> Box<dyn Vendor + 'h> {
    Box::new(Client::new(host, stored.field("api_token")))
}

/// Keypad codes: six digits 1-9, never starting with "12".
fn keypad_rule() -> PinRule {
    PinRule {
        digits: "123456789".into(),
        length: crate::pin::PIN_LEN,
        forbidden_prefixes: vec!["12".into()],
        no_triple_repeat: false,
    }
}

/// Writes are accepted with 204 and pushed to the lock later; one write per
/// code at a time (423 otherwise); confirmed only from the listing.
const CAPABILITIES: Capabilities = Capabilities {
    pin_rule: keypad_rule,
    confirmation: Confirmation::Listing,
    moves_in_place: true,
    amends_unconfirmed: false,
    lists_codes: true,
    channel_capacity: 4,
    write_budget: None,
    write_secs: 30,
    queue_expiry_secs: 0,
    max_name_chars: 20,
    needs: "a keypad",
    app: "the Nuki app (pair a Nuki Keypad)",
    link_check: "the Nuki lock is online (through its Nuki Bridge or Wi-Fi) and its keypad is paired, in the Nuki app",
    fallback: "a code entered by hand in the Nuki app, next to the lock",
    credentials: "the API token from Nuki Web",
};

pub const API_BASE: &str = "https://api.nuki.io";

/// The authorization type of a keypad code.
const TYPE_KEYPAD_CODE: u64 = 13;
/// Every day of the week (Mon 64 .. Sun 1).
const ALL_WEEK_DAYS: u64 = 127;
/// Longest name Nuki takes for a keypad code (longer gets 422).
const MAX_NAME_CHARS: usize = 20;
/// `serverState` of a lock Nuki Web cannot reach.
const SERVER_STATE_OFFLINE: i64 = 4;

/// What R11's alert says when the lock cannot be reached.
pub const OFFLINE: &str = "the Nuki lock is offline (not reachable through its bridge or Wi-Fi)";

pub struct Client<'h, H: Host + ?Sized> {
    host: &'h H,
    token: &'h str,
    requests: u32,
    /// Set once the token was refused: every later call fails the same way
    /// without asking again (one tick must not send a refused token once
    /// per booking).
    refused: Option<VendorError>,
    /// The lock list `verify` loaded (connect asks for it right after).
    locks: Option<Vec<LockInfo>>,
}

/// A write to an existing auth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Update,
    Delete,
}

/// One keypad-code authorization as the listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Auth {
    id: Option<String>,
    code: Option<u64>,
    from: Option<Value>,
    until: Option<Value>,
    week_days: Option<u64>,
    from_time: Option<u64>,
    until_time: Option<u64>,
    enabled: Option<bool>,
    /// An `operationId` is present: a write on it is still under way.
    pending: bool,
}

impl Auth {
    fn id(&self) -> Result<String, VendorError> {
        self.id.clone().ok_or_else(|| malformed("a keypad code in the list has no id"))
    }

    /// Whether it holds `code`'s window, every day, enabled.
    fn holds_window(&self, code: &CodeSpec) -> Result<bool, VendorError> {
        let from = listed_instant(self.from.as_ref(), "allowedFromDate")?;
        let until = listed_instant(self.until.as_ref(), "allowedUntilDate")?;
        Ok(same_minute(from, code.start)
            && same_minute(until, code.end)
            && self.enabled != Some(false)
            && self.week_days.is_none_or(|d| d == ALL_WEEK_DAYS)
            && self.from_time.is_none_or(|t| t == 0)
            && self.until_time.is_none_or(|t| t == 0))
    }
}

impl<'h, H: Host + ?Sized> Client<'h, H> {
    pub fn new(host: &'h H, token: &'h str) -> Self {
        Client { host, token, requests: 0, refused: None, locks: None }
    }

    fn send(&mut self, method: Method, path: &str, body: Option<&Value>) -> Result<HttpResponse, VendorError> {
        if let Some(e) = &self.refused {
            return Err(e.clone());
        }
        let mut headers = vec![
            ("Authorization".to_string(), format!("Bearer {}", self.token)),
            ("Accept".to_string(), "application/json".to_string()),
        ];
        let bytes = match body {
            Some(v) => {
                headers.push(("Content-Type".into(), "application/json".into()));
                serde_json::to_vec(v).map_err(|e| VendorError::Host(e.to_string()))?
            }
            None => Vec::new(),
        };
        self.requests += 1;
        let resp = self
            .host
            .send(&HttpRequest { method, url: format!("{API_BASE}{path}"), headers, body: bytes })
            .map_err(|e| VendorError::from_http(NAME, e))?;
        if resp.status == 401 {
            let e = VendorError::Unauthorized {
                brand: NAME,
                detail: "the API token is wrong or was revoked (HTTP 401); generate a new one in Nuki Web".into(),
            };
            self.refused = Some(e.clone());
            return Err(e);
        }
        Ok(resp)
    }

    /// Every lock of the account.
    fn load_locks(&mut self) -> Result<Vec<LockInfo>, VendorError> {
        let resp = self.send(Method::Get, "/smartlock", None)?;
        check_status(&resp)?;
        let v: Value = parse_json(&resp.body, "lock list")?;
        let items = v.as_array().ok_or_else(|| malformed("the lock list is not an array"))?;
        items.iter().map(parse_lock).collect()
    }

    /// The lock's keypad codes; `Ok(None)` when Nuki does not know the lock.
    fn list(&mut self, lock_id: &str) -> Result<Option<Vec<Auth>>, VendorError> {
        let resp = self.send(Method::Get, &format!("/smartlock/{}/auth?types=13", segment(lock_id)), None)?;
        if resp.status == 404 {
            return Ok(None);
        }
        check_status(&resp)?;
        let v: Value = parse_json(&resp.body, "keypad code list")?;
        let items = v.as_array().ok_or_else(|| malformed("the keypad code list is not an array"))?;
        Ok(Some(items.iter().filter_map(parse_auth).collect()))
    }

    /// [`Self::list`], with an unknown lock as an error.
    fn list_known(&mut self, lock_id: &str) -> Result<Vec<Auth>, VendorError> {
        self.list(lock_id)?.ok_or_else(|| unknown_lock(lock_id))
    }

    /// Why a write did not reach the lock when the lock's `serverState`
    /// (one request) says it is unreachable: `"{OFFLINE}: {tail}"`. `None`
    /// when it is online or its state cannot be read.
    fn unreachable(&mut self, lock_id: &str, tail: &str) -> Option<String> {
        let state = self
            .send(Method::Get, &format!("/smartlock/{}", segment(lock_id)), None)
            .ok()
            .filter(|r| (200..300).contains(&r.status))
            .and_then(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .and_then(|v| v.get("serverState").and_then(Value::as_i64))?;
        match state {
            0 => None,
            SERVER_STATE_OFFLINE => Some(format!("{OFFLINE}: {tail}")),
            s => Some(format!(
                "the Nuki lock is not properly registered with Nuki Web (server state {s}; check it in the Nuki \
                 app): {tail}"
            )),
        }
    }

    /// A write that did not happen: the lock unreachable where its state
    /// says so ([`Self::unreachable`]), else failed for `fallback`.
    fn failure(&mut self, lock_id: &str, tail: &str, fallback: &str) -> Confirmed {
        match self.unreachable(lock_id, tail) {
            Some(reason) => Confirmed::Unreachable(reason),
            None => Confirmed::Failed(fallback.to_string()),
        }
    }

    fn put_code(&mut self, code: &CodeSpec) -> Result<Submitted, VendorError> {
        let mut body = code_body(code)?;
        if let Some(o) = body.as_object_mut() {
            o.insert("type".into(), json!(TYPE_KEYPAD_CODE));
        }
        let resp = self.send(Method::Put, &format!("/smartlock/{}/auth", segment(code.lock_id)), Some(&body))?;
        check_write(&resp)?;
        Ok(Submitted::Pending(String::new()))
    }

    fn post_code(&mut self, code: &CodeSpec, id: &str) -> Result<HttpResponse, VendorError> {
        let body = code_body(code)?;
        self.send(Method::Post, &format!("/smartlock/{}/auth/{}", segment(code.lock_id), segment(id)), Some(&body))
    }

    fn delete_code(&mut self, code: &CodeSpec, id: &str) -> Result<HttpResponse, VendorError> {
        self.send(Method::Delete, &format!("/smartlock/{}/auth/{}", segment(code.lock_id), segment(id)), None)
    }

    /// Sends an update or delete to the code's auth: to `code_id`, else to
    /// the listed auth holding the PIN. An id Nuki no longer knows (404) is
    /// looked up once by PIN. `Ok(None)`: the PIN is not listed (nothing
    /// was sent to it); `Ok(Some(id))`: accepted for that auth.
    fn write_listed(&mut self, code: &CodeSpec, write: Write) -> Result<Option<String>, VendorError> {
        let pin = pin_number(code.pin)?;
        let mut id = match code.code_id.filter(|id| !id.is_empty()) {
            Some(id) => id.to_string(),
            None => match pick(&self.list_known(code.lock_id)?, pin, None) {
                Some(a) => a.id()?,
                None => return Ok(None),
            },
        };
        let mut looked_up = code.code_id.is_none_or(str::is_empty);
        loop {
            let resp = match write {
                Write::Update => self.post_code(code, &id)?,
                Write::Delete => self.delete_code(code, &id)?,
            };
            if resp.status != 404 || looked_up {
                check_write(&resp)?;
                return Ok(Some(id));
            }
            looked_up = true;
            match pick(&self.list_known(code.lock_id)?, pin, None) {
                Some(a) if a.id.as_deref() != Some(id.as_str()) => id = a.id()?,
                // Listed under that very id, yet unknown to the write: a
                // refusal as it stands.
                Some(_) => return check_write(&resp).map(|()| Some(id)),
                None => return Ok(None),
            }
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

    /// `GET /smartlock` answers 200 with this token (the stub serves no
    /// `/account`, and an API token names no account): no account name.
    fn verify(&mut self) -> Result<Option<String>, VendorError> {
        self.locks = Some(self.load_locks()?);
        Ok(None)
    }

    fn locks(&mut self) -> Result<Vec<LockInfo>, VendorError> {
        match self.locks.take() {
            Some(locks) => Ok(locks),
            None => self.load_locks(),
        }
    }

    fn create(&mut self, code: &CodeSpec) -> Result<Submitted, VendorError> {
        self.put_code(code)
    }

    /// The complete code to the auth's id (found by listing when unknown).
    /// A code that is no longer listed is created again with the same PIN.
    fn update(&mut self, code: &CodeSpec) -> Result<Submitted, VendorError> {
        match self.write_listed(code, Write::Update)? {
            Some(id) => Ok(Submitted::Pending(id)),
            None => self.put_code(code),
        }
    }

    /// Deletes the auth (found by listing when its id is unknown); a code
    /// that is not listed is already gone.
    fn delete(&mut self, code: &CodeSpec) -> Result<Submitted, VendorError> {
        Ok(match self.write_listed(code, Write::Delete)? {
            Some(id) => Submitted::Pending(id),
            None => Submitted::Done(None),
        })
    }

    fn confirm(&mut self, op: Op, code: &CodeSpec, handle: &str) -> Result<Confirmed, VendorError> {
        let pin = pin_number(code.pin)?;
        let list = self.list_known(code.lock_id)?;
        let prefer = Some(handle).filter(|h| !h.is_empty());
        match op {
            Op::Create | Op::Update => {
                let Some(auth) = pick(&list, pin, prefer) else {
                    // Listed with the new values as soon as it was accepted:
                    // gone now means the server dropped the write.
                    return Ok(match op {
                        Op::Create => self.failure(
                            code.lock_id,
                            "the code did not reach it",
                            "the Nuki lock did not take the code (was it offline for a while?)",
                        ),
                        _ => self.failure(
                            code.lock_id,
                            "the code did not reach it",
                            "the code is no longer on the Nuki lock",
                        ),
                    });
                };
                if auth.pending {
                    return Ok(Confirmed::Pending);
                }
                if auth.code == Some(pin) && auth.holds_window(code)? {
                    return Ok(Confirmed::Done(Some(auth.id()?)));
                }
                match op {
                    // The server shows the old values again: the move was lost.
                    Op::Update => Ok(self.failure(
                        code.lock_id,
                        "the new dates did not reach it",
                        "the Nuki lock did not take the new dates of the code (was it offline for a while?)",
                    )),
                    // Listed with our PIN but not as we asked (changed by
                    // hand?): the lifecycle's lost-job timeout resolves it.
                    _ => Ok(Confirmed::Pending),
                }
            }
            Op::Delete => {
                let listed = match prefer {
                    Some(id) => list.iter().find(|a| a.id.as_deref() == Some(id)),
                    None => pick(&list, pin, None),
                };
                let Some(auth) = listed else { return Ok(Confirmed::Done(None)) };
                if auth.pending {
                    return Ok(Confirmed::Pending);
                }
                // Accepted, yet listed with nothing under way: a ghost the
                // server copy keeps until a sync, or a delete an offline
                // lock never got.
                if let Some(reason) = self.unreachable(code.lock_id, "the code is still on it") {
                    return Ok(Confirmed::Unreachable(reason));
                }
                let resp = self.send(Method::Post, &format!("/smartlock/{}/sync", segment(code.lock_id)), None)?;
                check_status(&resp)?;
                Ok(Confirmed::Pending)
            }
        }
    }

    fn find(&mut self, code: &CodeSpec) -> Result<Found, VendorError> {
        let pin = pin_number(code.pin)?;
        let list = self.list_known(code.lock_id)?;
        let Some(auth) = pick(&list, pin, code.code_id) else { return Ok(Found::Absent) };
        let id = auth.id()?;
        Ok(if auth.pending {
            Found::Pending(id)
        } else if auth.holds_window(code)? {
            Found::OnLock(id)
        } else {
            Found::OtherWindow(id)
        })
    }
}

// ------------------------------------------------------------------ wire

/// The complete keypad code (R14): name, code, window, every day, no daily
/// limit, enabled (an update without `enabled` disables the code).
fn code_body(code: &CodeSpec) -> Result<Value, VendorError> {
    Ok(json!({
        "name": code_name(code.name),
        "code": pin_number(code.pin)?,
        "allowedFromDate": format_date(code.start)?,
        "allowedUntilDate": format_date(code.end)?,
        "allowedWeekDays": ALL_WEEK_DAYS,
        "allowedFromTime": 0,
        "allowedUntilTime": 0,
        "enabled": true,
    }))
}

/// At most 20 characters, never empty.
fn code_name(name: &str) -> String {
    let name: String = name.trim().chars().take(MAX_NAME_CHARS).collect();
    let name = name.trim_end();
    if name.is_empty() {
        "Guest".to_string()
    } else {
        name.to_string()
    }
}

/// The PIN as the JSON number Nuki takes.
fn pin_number(pin: &str) -> Result<u64, VendorError> {
    if pin.len() == 6 && pin.bytes().all(|b| (b'1'..=b'9').contains(&b)) && !pin.starts_with("12") {
        pin.parse().map_err(|_| invalid_pin())
    } else {
        Err(invalid_pin())
    }
}

fn invalid_pin() -> VendorError {
    VendorError::Rejected {
        brand: NAME,
        message: "the PIN is not a valid Nuki keypad code (6 digits 1-9, not starting with 12)".into(),
    }
}

/// `2026-03-20T13:30:00.000Z`.
fn format_date(t: Instant) -> Result<String, VendorError> {
    DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Millis, true))
        .ok_or_else(|| VendorError::Rejected { brand: NAME, message: format!("instant {t} is out of range") })
}

/// A listed date: RFC 3339 (seconds, milliseconds, any offset) or minutes
/// only (`2026-03-20T13:30Z`); absent or null is "no limit".
fn listed_instant(v: Option<&Value>, field: &str) -> Result<Option<Instant>, VendorError> {
    let s = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.trim(),
        Some(_) => return Err(malformed(format!("{field} is not a date"))),
    };
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Ok(Some(d.timestamp()));
    }
    let bare = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')).unwrap_or(s);
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(bare, f).ok())
        .map(|d| Some(d.and_utc().timestamp()))
        .ok_or_else(|| malformed(format!("{field} {:?} is not a date", crate::text::clip(s))))
}

/// The same instant to the minute (Nuki may list minutes only).
fn same_minute(listed: Option<Instant>, asked: Instant) -> bool {
    listed.is_some_and(|l| l.div_euclid(60) == asked.div_euclid(60))
}

/// One lock of `GET /smartlock`.
fn parse_lock(v: &Value) -> Result<LockInfo, VendorError> {
    let id = match v.get("smartlockId") {
        Some(Value::Number(n)) if n.as_u64().is_some() => n.to_string(),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.clone(),
        _ => return Err(malformed("a lock without a numeric smartlockId")),
    };
    let config = v.get("config");
    let name = [v.get("name"), config.and_then(|c| c.get("name"))]
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::trim)
        .find(|s| !s.is_empty())
        .map_or_else(|| format!("Nuki {id}"), str::to_string);
    let paired = |field: &str| config.and_then(|c| c.get(field)).and_then(Value::as_bool) == Some(true);
    // R3: codes reach the lock through a paired keypad (an offline lock is
    // still a keypad lock: its writes are retried, R11).
    let keypad = paired("keypadPaired") || paired("keypad2Paired");
    Ok(LockInfo { id, name, remote: keypad.then(|| Remote::direct("keypad")), needs: None, pin_rule: None })
}

/// One entry of the auth listing; `None` for what is not a keypad code.
fn parse_auth(v: &Value) -> Option<Auth> {
    let o = v.as_object()?;
    if o.get("type").and_then(Value::as_u64).is_some_and(|t| t != TYPE_KEYPAD_CODE) {
        return None;
    }
    let id = match o.get("id") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Some(Auth {
        id,
        code: o.get("code").and_then(listed_code),
        from: o.get("allowedFromDate").cloned(),
        until: o.get("allowedUntilDate").cloned(),
        week_days: o.get("allowedWeekDays").and_then(Value::as_u64),
        from_time: o.get("allowedFromTime").and_then(Value::as_u64),
        until_time: o.get("allowedUntilTime").and_then(Value::as_u64),
        enabled: o.get("enabled").and_then(Value::as_bool),
        pending: o.get("operationId").is_some_and(|v| !v.is_null()),
    })
}

/// `code` as a number, a numeric string or a one-element array.
fn listed_code(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Array(a) if a.len() == 1 => match &a[0] {
            Value::Array(_) => None,
            inner => listed_code(inner),
        },
        _ => None,
    }
}

/// The listed auth with id `prefer` if there is one, else the one holding `pin`.
fn pick<'a>(list: &'a [Auth], pin: u64, prefer: Option<&str>) -> Option<&'a Auth> {
    prefer
        .filter(|p| !p.is_empty())
        .and_then(|p| list.iter().find(|a| a.id.as_deref() == Some(p)))
        .or_else(|| list.iter().find(|a| a.code == Some(pin)))
}

// ---------------------------------------------------------------- errors

fn malformed(detail: impl Into<String>) -> VendorError {
    VendorError::Malformed { brand: NAME, detail: detail.into() }
}

fn unknown_lock(lock_id: &str) -> VendorError {
    VendorError::Rejected {
        brand: NAME,
        message: format!("lock {} is not in this Nuki Web account (HTTP 404)", crate::text::clip(lock_id)),
    }
}

fn parse_json(body: &[u8], what: &str) -> Result<Value, VendorError> {
    serde_json::from_slice(body).map_err(|e| malformed(format!("{what}: {e}")))
}

/// A write's answer: 2xx is "valid and queued", nothing more.
fn check_write(resp: &HttpResponse) -> Result<(), VendorError> {
    match resp.status {
        409 => Err(VendorError::PinTaken("Nuki already has a keypad code with this PIN on the lock".into())),
        423 => Err(VendorError::Busy(
            "the Nuki lock is still carrying out an earlier change to this code; trying again shortly".into(),
        )),
        400 => {
            let detail = detail_message(resp);
            let message = if detail.as_deref().is_some_and(|d| d.contains("'type'")) {
                "the lock has no paired keypad, so it takes no keypad codes (pair a Nuki Keypad in the Nuki app)"
                    .to_string()
            } else {
                format!("Nuki refused the code: {}", detail.as_deref().unwrap_or("invalid value (HTTP 400)"))
            };
            Err(VendorError::Rejected { brand: NAME, message })
        }
        422 => Err(VendorError::Rejected {
            brand: NAME,
            message: "Nuki refused the code as it was sent (HTTP 422: a name over 20 characters, an incomplete \
                      code or a lock holding 100 codes)"
                .into(),
        }),
        _ => check_status(resp),
    }
}

/// Maps a non-2xx answer to the error a caller can act on (401 is handled
/// where the request is sent).
fn check_status(resp: &HttpResponse) -> Result<(), VendorError> {
    let rejected = |message: String| Err(VendorError::Rejected { brand: NAME, message });
    match resp.status {
        200..=299 => Ok(()),
        401 => Err(VendorError::Unauthorized { brand: NAME, detail: "the API token was refused (HTTP 401)".into() }),
        403 => Err(VendorError::Unauthorized {
            brand: NAME,
            detail: "the API token may not do this: give it the scopes to view devices and manage authorizations \
                     in Nuki Web (HTTP 403)"
                .into(),
        }),
        402 => rejected(
            "the Nuki account has no active subscription for this (HTTP 402); check Smart Hosting in Nuki Web".into(),
        ),
        404 => rejected("the lock or code is not in this Nuki Web account (HTTP 404)".into()),
        429 => Err(VendorError::RateLimited {
            brand: NAME,
            retry_after_secs: resp.header("retry-after").and_then(|v| v.trim().parse().ok()),
        }),
        s @ 400..=499 => {
            let detail = detail_message(resp);
            rejected(match detail {
                Some(d) => format!("{d} (HTTP {s})"),
                None => format!("HTTP {s}"),
            })
        }
        s => Err(VendorError::Unavailable { brand: NAME, detail: format!("HTTP {s}") }),
    }
}

/// The `detailMessage` of Nuki's error body, clipped.
fn detail_message(resp: &HttpResponse) -> Option<String> {
    let v: Value = serde_json::from_slice(&resp.body).ok()?;
    v.get("detailMessage").and_then(Value::as_str).map(|s| crate::text::clip_to(s, 120))
}

fn segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn listed_codes_come_as_numbers_strings_or_one_element_arrays() {
        assert_eq!(listed_code(&json!(482957)), Some(482957));
        assert_eq!(listed_code(&json!("482957")), Some(482957));
        assert_eq!(listed_code(&json!([482957])), Some(482957));
        assert_eq!(listed_code(&json!(["482957"])), Some(482957));
        assert_eq!(listed_code(&json!([482957, 1])), None);
        assert_eq!(listed_code(&json!([[482957]])), None);
        assert_eq!(listed_code(&json!(null)), None);
        assert_eq!(listed_code(&json!(-1)), None);
    }

    #[test]
    fn listed_dates_are_read_in_every_format_nuki_takes() {
        let at = 1_774_013_400; // 2026-03-20T13:30:00Z
        for s in [
            "2026-03-20T13:30:00.000Z",
            "2026-03-20T13:30:00Z",
            "2026-03-20T13:30Z",
            "2026-03-20T14:30:00+01:00",
            "2026-03-20T13:30:00.000",
        ] {
            assert_eq!(listed_instant(Some(&json!(s)), "d"), Ok(Some(at)), "{s}");
        }
        assert_eq!(listed_instant(None, "d"), Ok(None));
        assert_eq!(listed_instant(Some(&Value::Null), "d"), Ok(None));
        assert!(matches!(listed_instant(Some(&json!("soon")), "d"), Err(VendorError::Malformed { .. })));
        assert!(matches!(listed_instant(Some(&json!(5)), "d"), Err(VendorError::Malformed { .. })));
        assert_eq!(format_date(at).as_deref(), Ok("2026-03-20T13:30:00.000Z"));
        assert!(same_minute(Some(at + 59), at) && !same_minute(Some(at + 60), at) && !same_minute(None, at));
    }

    #[test]
    fn locks_parse_ids_names_and_both_keypad_flags() {
        let l =
            parse_lock(&json!({"smartlockId": 18_205_286_116u64, "name": "Front", "config": {"keypadPaired": true}}))
                .expect("lock");
        assert_eq!(
            (l.id.as_str(), l.name.as_str(), l.remote),
            ("18205286116", "Front", Some(Remote::direct("keypad")))
        );
        let l =
            parse_lock(&json!({"smartlockId": "42", "config": {"name": "Back", "keypad2Paired": true}})).expect("lock");
        assert_eq!((l.id.as_str(), l.name.as_str(), l.remote), ("42", "Back", Some(Remote::direct("keypad"))));
        let l = parse_lock(&json!({"smartlockId": 7, "serverState": 4})).expect("lock");
        assert_eq!((l.name.as_str(), l.remote), ("Nuki 7", None));
        for bad in [json!({}), json!({"smartlockId": -3}), json!({"smartlockId": 1.5}), json!({"smartlockId": "x"})] {
            assert!(matches!(parse_lock(&bad), Err(VendorError::Malformed { .. })), "{bad}");
        }
    }

    #[test]
    fn names_and_pins_are_checked_before_they_are_sent() {
        assert_eq!(code_name("  Maximilian Mustermann-Schmidt "), "Maximilian Musterman");
        assert_eq!(code_name("Anna Bolena Lucia (b1)").chars().count(), 20);
        assert_eq!(code_name("Ann                 x"), "Ann");
        assert_eq!(code_name("  "), "Guest");
        assert_eq!(pin_number("482957"), Ok(482957));
        for bad in ["123456", "482950", "48295", "4829577", "48a957", ""] {
            assert!(matches!(pin_number(bad), Err(VendorError::Rejected { .. })), "{bad}");
        }
    }

    #[test]
    fn auths_other_than_keypad_codes_are_skipped() {
        assert_eq!(parse_auth(&json!({"id": "a", "type": 0, "name": "Owner"})), None);
        let a = parse_auth(&json!({"id": "b", "type": 13, "code": 482957, "operationId": null})).expect("auth");
        assert!(!a.pending);
        let a = parse_auth(&json!({"id": "b", "code": "482957", "operationId": "op"})).expect("auth");
        assert!(a.pending && a.code == Some(482957));
    }
}

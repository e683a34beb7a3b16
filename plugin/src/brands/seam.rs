//! The Seam Connect client (see `docs/brands/seam.md`): one API in front of many
//! lock brands (August, Yale, Schlage, Kwikset, igloohome, Nuki, TTLock, ...),
//! reached with one API key of the manager's Seam workspace (R29).
//!
//! - Every request is a POST with a JSON body (the real API takes that on
//!   every route; Seam's own fake refuses the PUT/PATCH/DELETE the official
//!   clients use on some). `Authorization: Bearer <key>`; a 401 is final for
//!   the whole client (no later call is sent).
//! - Locks are the workspace's devices; a device takes our codes when it can
//!   program online access codes, takes six-digit PINs chosen by the caller
//!   and has no device error; the others are listed with what they lack.
//!   Each device reports its own PIN constraints: they become the lock's
//!   [`PinRule`] and are checked in full before a create is sent.
//! - Seam schedules codes itself. A code counts as created (R29) when Seam
//!   reports it `set`, or `is_scheduled_on_device` before its start, with no
//!   error; for devices Seam programs only about 60 minutes before the
//!   start, when Seam holds it with no error and no warning. Once the window
//!   has started only `set` counts, so a look after the start catches a
//!   code Seam then failed to program.
//! - `access_codes/update` moves a code in place keeping its PIN (R14); a
//!   code Seam no longer knows is created anew with the same PIN. A create's
//!   answer names the code (`access_code_id`), so a move or delete is sent
//!   while Seam still holds the code unconfirmed
//!   ([`Capabilities::amends_unconfirmed`]).
//! - Seam removes a time-bound code itself at its end: a delete answered 404
//!   is done (R16).
//! - 409 `duplicate_access_code` is the PIN taken on that lock (R8), unless
//!   the code holding it is this very code from an earlier attempt; 429 is
//!   Seam's per-device rate limit (10 creates a minute).

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat};
use serde_json::{json, Value};

use super::{
    Brand, Capabilities, CodeSpec, Confirmation, Confirmed, CredentialField, Credentials as Stored, Fields, Found,
    LockInfo, Op, Remote, Submitted, TokenCache, Vendor, VendorError, WriteBudget,
};
use crate::host::{Host, HttpRequest, HttpResponse, Method};
use crate::pin::{PinRule, PIN_LEN};
use crate::schedule::Instant;
use crate::text::clip_to;

/// The brand's name in error texts.
const NAME: &str = "Seam";

pub const API_BASE: &str = "https://connect.getseam.com";

/// Seam as the core and the hosts see it (R30).
pub static BRAND: Brand = Brand {
    id: "seam",
    name: NAME,
    fields: &[CredentialField {
        name: "api_key",
        label: "API key",
        help: "made in Seam Console (Developer > API Keys) for the workspace your lock accounts are connected to",
        secret: true,
        host_supplied: false,
    }],
    seal: |f: &mut Fields| {
        if let Some(k) = f.get_mut("api_key") {
            *k = k.trim().to_string();
        }
    },
    login: |_| "Seam workspace".to_string(),
    origins: &[API_BASE],
    capabilities: CAPABILITIES,
};

/// The client of a stored Seam connection (an API key does not expire: no cache).
pub fn client<'h, H: Host + ?Sized>(
    host: &'h H,
    stored: &'h Stored,
    _tokens: TokenCache<'h, H>,
) -> Box<dyn Vendor + 'h> {
    Box::new(Client::new(host, stored.field("api_key")))
}

/// Writes are accepted at once and carried out by Seam on its own schedule;
/// confirmed from the code itself. Seam allows 10 creates (and 10 updates,
/// 20 deletes) a minute per device: at most 10 writes a minute on a lock,
/// whether Seam still works on them or holds them for later, and ten
/// unconfirmed at once, one looked at every 6 s (a minute's budget spread).
const CAPABILITIES: Capabilities = Capabilities {
    pin_rule: PinRule::any_digits,
    confirmation: Confirmation::Listing,
    moves_in_place: true,
    amends_unconfirmed: true,
    lists_codes: true,
    channel_capacity: 10,
    write_budget: Some(WriteBudget { writes: 10, window_secs: 60 }),
    write_secs: 6,
    queue_expiry_secs: 0,
    max_name_chars: 40,
    needs: "online access codes through Seam",
    app: "Seam Console and the lock brand's own app",
    link_check: "the lock is online and its account is connected in Seam Console",
    fallback: "a backup code from Seam's backup code pool, or a code set in the lock brand's own app",
    credentials: "the API key of your Seam workspace (Seam Console, Developer > API Keys)",
};

/// Device types Seam programs only about 60 minutes before a code's start
/// ("just in time") instead of loading it 72 hours ahead.
const JUST_IN_TIME_TYPES: [&str; 3] = ["lockly_", "smartthings_", "dormakaba_oracode_"];
/// A deferred creation scheduled this close to the start is just in time.
const JUST_IN_TIME_SECS: i64 = 2 * 3600;
/// Devices listed per page.
const PAGE_LIMIT: u64 = 500;
/// Pages followed at most (a workspace of 25 000 devices).
const MAX_PAGES: usize = 50;

pub struct Client<'h, H: Host + ?Sized> {
    host: &'h H,
    key: &'h str,
    requests: u32,
    /// Set once the key was refused: every later call fails the same way
    /// without asking again.
    refused: Option<VendorError>,
    /// The lock list `verify` loaded (connect asks for it right after).
    locks: Option<Vec<LockInfo>>,
    /// Devices read in this client's life, by id.
    devices: HashMap<String, Device>,
}

impl<'h, H: Host + ?Sized> Client<'h, H> {
    pub fn new(host: &'h H, key: &'h str) -> Self {
        Client { host, key, requests: 0, refused: None, locks: None, devices: HashMap::new() }
    }

    /// A POST with a JSON body to `path`.
    fn post(&mut self, path: &str, body: &Value) -> Result<HttpResponse, VendorError> {
        if let Some(e) = &self.refused {
            return Err(e.clone());
        }
        if let Some(kind) = wrong_kind_of_key(self.key) {
            let e = VendorError::Unauthorized {
                brand: NAME,
                detail: format!("the api_key is {kind}, not an API key of a workspace"),
            };
            self.refused = Some(e.clone());
            return Err(e);
        }
        let headers = vec![
            ("Authorization".to_string(), format!("Bearer {}", self.key)),
            ("Accept".to_string(), "application/json".to_string()),
            ("Content-Type".to_string(), "application/json".to_string()),
        ];
        let bytes = serde_json::to_vec(body).map_err(|e| VendorError::Host(e.to_string()))?;
        self.requests += 1;
        let resp = self
            .host
            .send(&HttpRequest { method: Method::Post, url: format!("{API_BASE}{path}"), headers, body: bytes })
            .map_err(|e| VendorError::from_http(NAME, e))?;
        if resp.status == 401 {
            let e = VendorError::Unauthorized {
                brand: NAME,
                detail: "the API key is wrong or was revoked (HTTP 401); make a new one in Seam Console".into(),
            };
            self.refused = Some(e.clone());
            return Err(e);
        }
        Ok(resp)
    }

    /// Every lock-like device of the workspace, page by page.
    fn load_devices(&mut self) -> Result<Vec<Device>, VendorError> {
        let mut devices = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut body = json!({ "limit": PAGE_LIMIT });
            if let Some(c) = &cursor {
                body["page_cursor"] = json!(c);
            }
            let resp = self.post("/devices/list", &body)?;
            let v = success(&resp, "device list")?;
            let items = v.get("devices").and_then(Value::as_array).ok_or_else(|| malformed("no `devices` list"))?;
            for item in items {
                let d = Device::parse(item)?;
                self.devices.insert(d.id.clone(), d.clone());
                if d.is_lock() {
                    devices.push(d);
                }
            }
            let page = v.get("pagination");
            let next = page
                .filter(|p| p.get("has_next_page").and_then(Value::as_bool) == Some(true))
                .and_then(|p| p.get("next_page_cursor"))
                .and_then(Value::as_str);
            match next {
                Some(c) if cursor.as_deref() != Some(c) => cursor = Some(c.to_string()),
                _ => return Ok(devices),
            }
        }
        Ok(devices)
    }

    /// One device, read once per client.
    fn device(&mut self, id: &str) -> Result<Device, VendorError> {
        if let Some(d) = self.devices.get(id) {
            return Ok(d.clone());
        }
        let resp = self.post("/devices/get", &json!({ "device_id": id }))?;
        if resp.status == 404 {
            return Err(VendorError::Rejected {
                brand: NAME,
                message: format!("lock {} is not in this Seam workspace (HTTP 404)", crate::text::clip(id)),
            });
        }
        let v = success(&resp, "device")?;
        let d = Device::parse(v.get("device").ok_or_else(|| malformed("no `device` in the answer"))?)?;
        self.devices.insert(d.id.clone(), d.clone());
        Ok(d)
    }

    /// A code by id; `Ok(None)` when Seam no longer knows it.
    fn get_code(&mut self, id: &str) -> Result<Option<AccessCode>, VendorError> {
        let resp = self.post("/access_codes/get", &json!({ "access_code_id": id }))?;
        if resp.status == 404 {
            return Ok(None);
        }
        let v = success(&resp, "access code")?;
        AccessCode::parse(v.get("access_code").ok_or_else(|| malformed("no `access_code` in the answer"))?).map(Some)
    }

    /// The device's codes (filtered here too: Seam's fake lists every code
    /// whatever device is asked for).
    fn list_codes(&mut self, device_id: &str) -> Result<Vec<AccessCode>, VendorError> {
        let resp = self.post("/access_codes/list", &json!({ "device_id": device_id }))?;
        if resp.status == 404 {
            return Err(VendorError::Rejected {
                brand: NAME,
                message: format!("lock {} is not in this Seam workspace (HTTP 404)", crate::text::clip(device_id)),
            });
        }
        let v = success(&resp, "access code list")?;
        let items =
            v.get("access_codes").and_then(Value::as_array).ok_or_else(|| malformed("no `access_codes` list"))?;
        let codes: Vec<AccessCode> = items.iter().map(AccessCode::parse).collect::<Result<_, _>>()?;
        Ok(codes.into_iter().filter(|c| c.device_id == device_id).collect())
    }

    /// The code on the device with id `prefer` if listed, else the one holding `pin`.
    fn listed(&mut self, code: &CodeSpec, prefer: Option<&str>) -> Result<Option<AccessCode>, VendorError> {
        let list = self.list_codes(code.lock_id)?;
        let by_id = prefer.filter(|p| !p.is_empty()).and_then(|p| list.iter().find(|c| c.id == p));
        Ok(by_id.or_else(|| list.iter().find(|c| c.code.as_deref() == Some(code.pin))).cloned())
    }

    /// The id to write to: `code_id`, else the listed code holding the PIN.
    fn code_id(&mut self, code: &CodeSpec) -> Result<Option<String>, VendorError> {
        match code.code_id.filter(|id| !id.is_empty()) {
            Some(id) => Ok(Some(id.to_string())),
            None => Ok(self.listed(code, None)?.map(|c| c.id)),
        }
    }

    /// Refuses a create or move the device cannot take, before anything is
    /// sent: offline (retried hourly, R11), unusable, or a PIN outside the
    /// device's constraints (a new PIN at once, R8).
    fn check_device(&mut self, code: &CodeSpec) -> Result<Device, VendorError> {
        let device = self.device(code.lock_id)?;
        if let Some(issue) = device.errors.first() {
            return Err(match issue_kind(&issue.code) {
                IssueKind::Offline | IssueKind::Retry => VendorError::Offline(issue_sentence(issue)),
                _ => VendorError::Rejected { brand: NAME, message: issue_sentence(issue) },
            });
        }
        if let Some(lacks) = device.lacks() {
            return Err(VendorError::Rejected { brand: NAME, message: format!("the lock takes no codes: {lacks}") });
        }
        if let Err(why) = device.fits(code.pin) {
            return Err(VendorError::PinTaken(format!("the lock's own PIN rules refuse it: {why}")));
        }
        Ok(device)
    }

    /// `access_codes/create`; a 409 for this very code (an earlier attempt
    /// whose answer was lost) is that code.
    fn create_code(&mut self, code: &CodeSpec) -> Result<Submitted, VendorError> {
        let device = self.check_device(code)?;
        let body = json!({
            "device_id": code.lock_id,
            "name": device.name_for(code.name),
            "code": code.pin,
            "starts_at": format_date(code.start)?,
            "ends_at": format_date(code.end)?,
        });
        let resp = self.post("/access_codes/create", &body)?;
        if resp.status == 409 {
            if let Some(own) = self.listed(code, None)?.filter(|c| c.holds_window(code)) {
                return Ok(Submitted::Pending(own.id));
            }
            return Err(VendorError::PinTaken(error_sentence(
                &resp,
                "Seam already has a code with this PIN on the lock",
            )));
        }
        let v = write_success(&resp)?;
        let made = AccessCode::parse(v.get("access_code").ok_or_else(|| malformed("no `access_code` in the answer"))?)?;
        attempt_failed(&v)?;
        Ok(Submitted::Pending(made.id))
    }
}

impl<H: Host + ?Sized> Vendor for Client<'_, H> {
    fn capabilities(&self) -> &'static Capabilities {
        &BRAND.capabilities
    }

    fn requests(&self) -> u32 {
        self.requests
    }

    /// `devices/list` first (it answers 401 to a bad key on the real API and
    /// on Seam's fake alike), then the workspace's name.
    fn verify(&mut self) -> Result<Option<String>, VendorError> {
        let devices = self.load_devices()?;
        self.locks = Some(devices.iter().map(Device::lock_info).collect());
        let resp = self.post("/workspaces/get", &json!({}))?;
        let v = success(&resp, "workspace")?;
        Ok(v.pointer("/workspace/name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| clip_to(s, 80)))
    }

    fn locks(&mut self) -> Result<Vec<LockInfo>, VendorError> {
        match self.locks.take() {
            Some(locks) => Ok(locks),
            None => Ok(self.load_devices()?.iter().map(Device::lock_info).collect()),
        }
    }

    fn create(&mut self, code: &CodeSpec) -> Result<Submitted, VendorError> {
        self.create_code(code)
    }

    /// The whole code (name, same PIN, both dates) to `access_codes/update`;
    /// a code Seam no longer knows is created anew with the same PIN.
    fn update(&mut self, code: &CodeSpec) -> Result<Submitted, VendorError> {
        let device = self.check_device(code)?;
        let Some(mut id) = self.code_id(code)? else { return self.create_code(code) };
        let mut looked_up = code.code_id.is_none_or(str::is_empty);
        loop {
            let body = json!({
                "access_code_id": id,
                "name": device.name_for(code.name),
                "code": code.pin,
                "starts_at": format_date(code.start)?,
                "ends_at": format_date(code.end)?,
            });
            let resp = self.post("/access_codes/update", &body)?;
            if resp.status == 404 {
                if looked_up {
                    return self.create_code(code);
                }
                looked_up = true;
                match self.listed(code, None)? {
                    Some(c) if c.id != id => id = c.id,
                    _ => return self.create_code(code),
                }
                continue;
            }
            if resp.status == 409 {
                return Err(VendorError::PinTaken(error_sentence(&resp, "the PIN is taken on the lock")));
            }
            let v = write_success(&resp)?;
            attempt_failed(&v)?;
            return Ok(Submitted::Pending(id));
        }
    }

    /// `access_codes/delete`; a code Seam no longer knows (it removes codes
    /// itself at their end) is gone, which is what was asked.
    fn delete(&mut self, code: &CodeSpec) -> Result<Submitted, VendorError> {
        let Some(id) = self.code_id(code)? else { return Ok(Submitted::Done(None)) };
        let resp = self.post("/access_codes/delete", &json!({ "access_code_id": id }))?;
        if resp.status == 404 {
            return Ok(Submitted::Done(None));
        }
        let v = write_success(&resp)?;
        attempt_failed(&v)?;
        Ok(Submitted::Pending(id))
    }

    fn confirm(&mut self, op: Op, code: &CodeSpec, handle: &str) -> Result<Confirmed, VendorError> {
        let id = Some(handle).filter(|h| !h.is_empty()).or(code.code_id.filter(|c| !c.is_empty()));
        let found = match id {
            Some(id) => self.get_code(id)?,
            None => self.listed(code, None)?,
        };
        let now = self.host.now();
        match op {
            Op::Delete => Ok(match found {
                None => Confirmed::Done(None),
                Some(c) => match c.errors.iter().find(|e| e.code == "failed_to_remove_from_device") {
                    Some(e) => failed(e),
                    None => Confirmed::Pending,
                },
            }),
            Op::Create | Op::Update => {
                let Some(c) = found else {
                    return Ok(Confirmed::Failed(if now >= code.end {
                        "Seam removed the code at the end of its window".into()
                    } else {
                        "the code is no longer in Seam (deleted in Seam Console?)".into()
                    }));
                };
                // Device errors count too (Seam copies most onto the code,
                // not all of them at once).
                let device = self.device(&c.device_id).ok();
                let jit = device.as_ref().is_some_and(Device::just_in_time) || c.deferred_just_in_time(code.start);
                let device_errors = device.map(|d| d.errors).unwrap_or_default();
                Ok(judge(&c, &device_errors, code, jit, now))
            }
        }
    }

    fn find(&mut self, code: &CodeSpec) -> Result<Found, VendorError> {
        let Some(c) = self.listed(code, code.code_id)? else { return Ok(Found::Absent) };
        if !c.holds_window(code) {
            return Ok(if c.pending() { Found::Pending(c.id) } else { Found::OtherWindow(c.id) });
        }
        let now = self.host.now();
        let jit = self.device(code.lock_id).is_ok_and(|d| d.just_in_time()) || c.deferred_just_in_time(code.start);
        Ok(match judge(&c, &[], code, jit, now) {
            Confirmed::Done(_) => Found::OnLock(c.id),
            _ => Found::Pending(c.id),
        })
    }
}

// ------------------------------------------------------------------ rule

/// How long before a code's start Seam loads it onto a lock that keeps its
/// own schedule (`is_scheduled_on_device` from then on).
const LOAD_AHEAD_SECS: i64 = 72 * 3600;
/// Looked at this long after Seam should have loaded it.
const LOAD_SLACK_SECS: i64 = 120;
/// A just-in-time code is looked at again this long after its start (R29).
const RECHECK_AFTER_START_SECS: i64 = 5 * 60;

/// R29: where a created or moved code stands. Errors first (the code's and
/// its device's); then `set`, or before the start `is_scheduled_on_device`,
/// or for a just-in-time device before the start, held with no warning.
fn judge(c: &AccessCode, device_errors: &[Issue], asked: &CodeSpec, jit: bool, now: Instant) -> Confirmed {
    if let Some(e) = c.errors.iter().chain(device_errors).next() {
        return match issue_kind(&e.code) {
            IssueKind::PinClash => Confirmed::PinTaken(issue_sentence(e)),
            _ => failed(e),
        };
    }
    if c.code.as_deref() != Some(asked.pin) || !c.holds_window(asked) {
        // A move Seam has not applied yet (`updating_time_frame`).
        return Confirmed::Pending;
    }
    let done = Confirmed::Done(Some(c.id.clone()));
    match c.status.as_str() {
        "set" => done,
        "removing" => Confirmed::Failed("Seam is removing the code from the lock".into()),
        "unknown" => Confirmed::Failed(
            "Seam lost touch with the lock's account, so the code's state is unknown (unknown)".into(),
        ),
        _ if now >= asked.start => Confirmed::Pending,
        _ if c.scheduled_on_device => done,
        // Held cleanly for a device Seam programs just before the start:
        // created, and looked at again once the window has started.
        _ if jit && c.warnings.is_empty() => {
            Confirmed::Provisional(Some(c.id.clone()), asked.start + RECHECK_AFTER_START_SECS)
        }
        // Seam loads time-bound codes onto the lock this long before their
        // start: until then it holds the code, which is not a lost write.
        _ if now < asked.start - LOAD_AHEAD_SECS => {
            Confirmed::Deferred(asked.start - LOAD_AHEAD_SECS + LOAD_SLACK_SECS)
        }
        _ => Confirmed::Pending,
    }
}

// ------------------------------------------------------------------ wire

/// An error or warning Seam reports on a device or a code.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Issue {
    code: String,
    message: String,
}

fn issues(v: Option<&Value>, key: &str) -> Vec<Issue> {
    v.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    let code = i.get(key).and_then(Value::as_str)?;
                    let message = i.get("message").and_then(Value::as_str).unwrap_or("");
                    Some(Issue { code: code.to_string(), message: clip_to(message, 120) })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One device of `devices/list` or `devices/get`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Device {
    id: String,
    name: String,
    device_type: String,
    capabilities: Vec<String>,
    can_program_online_access_codes: bool,
    online: Option<bool>,
    lengths: Vec<usize>,
    /// `(constraint_type, min_length, max_length)`.
    constraints: Vec<(String, Option<usize>, Option<usize>)>,
    errors: Vec<Issue>,
    warnings: Vec<Issue>,
    /// Brand facts saying why online codes are missing.
    keypad_paired: Option<bool>,
    has_gateway: Option<bool>,
    has_bridge: Option<bool>,
}

impl Device {
    fn parse(v: &Value) -> Result<Device, VendorError> {
        let id = v.get("device_id").and_then(Value::as_str).filter(|s| !s.is_empty());
        let id = id.ok_or_else(|| malformed("a device without a device_id"))?.to_string();
        let props = v.get("properties");
        let prop = |k: &str| props.and_then(|p| p.get(k));
        let name = [prop("name"), v.get("display_name"), props.and_then(|p| p.pointer("/appearance/name"))]
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::trim)
            .find(|s| !s.is_empty())
            .map_or_else(|| format!("Seam device {}", clip_to(&id, 12)), |s| clip_to(s, 80));
        let strings = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default()
        };
        let constraints = prop("code_constraints")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| {
                        let t = c.get("constraint_type").and_then(Value::as_str)?;
                        let len = |k: &str| c.get(k).and_then(Value::as_u64).map(|n| n as usize);
                        Some((t.to_string(), len("min_length"), len("max_length")))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let meta = |brand: &str, field: &str| prop(brand).and_then(|m| m.get(field));
        Ok(Device {
            name,
            device_type: v.get("device_type").and_then(Value::as_str).unwrap_or("").to_string(),
            capabilities: strings(v.get("capabilities_supported")),
            can_program_online_access_codes: v.get("can_program_online_access_codes").and_then(Value::as_bool)
                == Some(true),
            online: prop("online").and_then(Value::as_bool),
            lengths: prop("supported_code_lengths")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_u64).map(|n| n as usize).collect())
                .unwrap_or_default(),
            constraints,
            errors: issues(v.get("errors"), "error_code"),
            warnings: issues(v.get("warnings"), "warning_code"),
            keypad_paired: meta("nuki_metadata", "keypad_paired").and_then(Value::as_bool),
            has_gateway: meta("ttlock_metadata", "has_gateway").and_then(Value::as_bool),
            has_bridge: prop("igloohome_metadata").map(|m| m.get("bridge_id").is_some_and(|b| !b.is_null())),
            id,
        })
    }

    /// A lock, not a thermostat or a sensor.
    fn is_lock(&self) -> bool {
        self.can_program_online_access_codes
            || self.device_type.ends_with("_lock")
            || self.capabilities.iter().any(|c| c == "access_code")
                && !self.device_type.contains("thermostat")
                && !self.device_type.contains("sensor")
    }

    fn has(&self, constraint: &str) -> bool {
        self.constraints.iter().any(|(t, _, _)| t == constraint)
    }

    /// Why codes cannot be put on this lock through Seam (R3); `None` when
    /// they can.
    fn lacks(&self) -> Option<String> {
        if let Some(e) = self.errors.first() {
            return Some(plain_issue(e));
        }
        if !self.can_program_online_access_codes {
            let why = if self.keypad_paired == Some(false)
                || self.warnings.iter().any(|w| w.code == "accessory_keypad_setup_required")
            {
                "a keypad set up on the lock"
            } else if self.has_gateway == Some(false) {
                "a gateway (a TTLock lock takes online codes only through one)"
            } else if self.has_bridge == Some(false) {
                "a bridge (an igloohome lock takes online codes only through one)"
            } else {
                "online access codes (Seam cannot program codes on it remotely)"
            };
            return Some(why.to_string());
        }
        if !self.lengths.is_empty() && !self.lengths.contains(&PIN_LEN) {
            return Some(format!("six-digit PINs (it takes {} digits)", join_lengths(&self.lengths)));
        }
        if self.has("cannot_specify_pin_code") || self.has("pin_code_matches_existing_set") {
            return Some("PINs chosen by the plugin (the lock picks its own codes)".into());
        }
        if self.online == Some(false) {
            return Some("a connection: it is offline in Seam".into());
        }
        None
    }

    fn lock_info(&self) -> LockInfo {
        let needs = self.lacks();
        LockInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            remote: needs.is_none().then(|| Remote::direct("cloud")),
            needs,
            pin_rule: Some(self.pin_rule()),
        }
    }

    /// What of the device's constraints a [`PinRule`] can say; [`Self::fits`]
    /// checks the rest before a create is sent.
    fn pin_rule(&self) -> PinRule {
        let mut digits: String = "0123456789".into();
        for (t, _, _) in &self.constraints {
            let banned = match t.as_str() {
                "no_zeros" => "0",
                "cannot_contain_089" => "089",
                "cannot_contain_0789" => "0789",
                _ => "",
            };
            digits.retain(|d| !banned.contains(d));
        }
        PinRule {
            digits,
            length: PIN_LEN,
            forbidden_prefixes: if self.has("cannot_start_with_12") { vec!["12".into()] } else { Vec::new() },
            no_triple_repeat: self.has("no_triple_consecutive_ints"),
        }
    }

    /// Whether the device takes `pin` (every constraint Seam documents; an
    /// unknown one is left to Seam, which then reports it on the code).
    fn fits(&self, pin: &str) -> Result<(), String> {
        if !pin.bytes().all(|b| b.is_ascii_digit()) || !(4..=12).contains(&pin.len()) {
            return Err("a PIN is 4 to 12 digits".into());
        }
        if !self.lengths.is_empty() && !self.lengths.contains(&pin.len()) {
            return Err(format!("the lock takes PINs of {} digits", join_lengths(&self.lengths)));
        }
        if !self.pin_rule().accepts(pin) {
            return Err("it uses a digit or a start the lock forbids".into());
        }
        let d: Vec<i16> = pin.bytes().map(|b| i16::from(b - b'0')).collect();
        let step = |w: &[i16]| w[1] - w[0];
        for (t, _, _) in &self.constraints {
            let broken = match t.as_str() {
                // [guess] three consecutive integers, either way ("345", "543").
                "no_triple_consecutive_ints" => {
                    d.windows(3).any(|w| step(&w[..2]).abs() == 1 && step(&w[..2]) == step(&w[1..]))
                }
                "no_ascending_or_descending_sequence" => {
                    d.windows(2).all(|w| step(w) == 1) || d.windows(2).all(|w| step(w) == -1)
                }
                "at_least_three_unique_digits" => {
                    let mut seen = d.clone();
                    seen.sort_unstable();
                    seen.dedup();
                    seen.len() < 3
                }
                "no_all_same_digits" => d.windows(2).all(|w| w[0] == w[1]),
                _ => false,
            };
            if broken {
                return Err(format!("the lock's constraint {t}"));
            }
        }
        Ok(())
    }

    /// The code's name as the device takes it (`name_length`).
    fn name_for(&self, name: &str) -> String {
        let max = self.constraints.iter().filter(|(t, _, _)| t == "name_length").find_map(|(_, _, max)| *max);
        let name: String = name.trim().chars().take(max.unwrap_or(CAPABILITIES.max_name_chars)).collect();
        let name = name.trim_end();
        if name.is_empty() {
            "Guest".into()
        } else {
            name.to_string()
        }
    }

    /// Seam programs its codes only shortly before their start.
    fn just_in_time(&self) -> bool {
        JUST_IN_TIME_TYPES.iter().any(|p| self.device_type.starts_with(p))
    }
}

fn join_lengths(lengths: &[usize]) -> String {
    lengths.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
}

/// One access code of `access_codes/get|list|create`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AccessCode {
    id: String,
    device_id: String,
    code: Option<String>,
    status: String,
    starts_at: Option<Instant>,
    ends_at: Option<Instant>,
    scheduled_on_device: bool,
    /// `(mutation_code, scheduled_at)`.
    mutations: Vec<(String, Option<Instant>)>,
    errors: Vec<Issue>,
    warnings: Vec<Issue>,
}

impl AccessCode {
    fn parse(v: &Value) -> Result<AccessCode, VendorError> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        let id = text("access_code_id").ok_or_else(|| malformed("an access code without an access_code_id"))?;
        let date = |k: &str| -> Result<Option<Instant>, VendorError> {
            match v.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => DateTime::parse_from_rfc3339(s.trim())
                    .map(|d| Some(d.timestamp()))
                    .map_err(|_| malformed(format!("{k} {:?} is not a date", crate::text::clip(s)))),
                Some(_) => Err(malformed(format!("{k} is not a date"))),
            }
        };
        let mutations = v
            .get("pending_mutations")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|m| {
                        let code = m.get("mutation_code").and_then(Value::as_str)?.to_string();
                        let at = m
                            .get("scheduled_at")
                            .and_then(Value::as_str)
                            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                            .map(|d| d.timestamp());
                        Some((code, at))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(AccessCode {
            device_id: text("device_id").unwrap_or_default(),
            code: match v.get("code") {
                Some(Value::String(s)) => Some(s.trim().to_string()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            },
            status: text("status").unwrap_or_else(|| "unknown".into()),
            starts_at: date("starts_at")?,
            ends_at: date("ends_at")?,
            scheduled_on_device: v.get("is_scheduled_on_device").and_then(Value::as_bool) == Some(true),
            mutations,
            errors: issues(v.get("errors"), "error_code"),
            warnings: issues(v.get("warnings"), "warning_code"),
            id,
        })
    }

    /// Holds the window asked for, to the minute.
    fn holds_window(&self, asked: &CodeSpec) -> bool {
        let same = |listed: Option<Instant>, t: Instant| listed.is_some_and(|l| l.div_euclid(60) == t.div_euclid(60));
        same(self.starts_at, asked.start) && same(self.ends_at, asked.end)
    }

    /// A change Seam has yet to carry out.
    fn pending(&self) -> bool {
        self.mutations.iter().any(|(m, _)| m.starts_with("updating_") || m == "creating")
    }

    /// Seam defers the creation to shortly before the start: a
    /// just-in-time device whatever its type says.
    fn deferred_just_in_time(&self, start: Instant) -> bool {
        self.mutations
            .iter()
            .any(|(m, at)| m == "deferring_creation" && at.is_some_and(|at| start - at <= JUST_IN_TIME_SECS))
    }
}

/// `2026-03-20T13:30:00Z`.
fn format_date(t: Instant) -> Result<String, VendorError> {
    DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
        .ok_or_else(|| VendorError::Rejected { brand: NAME, message: format!("instant {t} is out of range") })
}

/// Keys of other kinds Seam issues, which this plugin cannot use.
fn wrong_kind_of_key(key: &str) -> Option<&'static str> {
    if key.starts_with("seam_at") {
        Some("a personal access token (it needs a workspace header)")
    } else if key.starts_with("seam_cst") {
        Some("a client session token")
    } else if key.starts_with("seam_pk") {
        Some("a publishable key")
    } else {
        None
    }
}

// ---------------------------------------------------------------- errors

/// How an error on a code or device is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IssueKind {
    /// The lock, its hub or its account cannot be reached: retried hourly.
    Offline,
    /// Seam could not program the code (yet): retried hourly.
    Retry,
    /// The PIN is already on the lock (set outside Seam): a new PIN at once.
    PinClash,
    /// The manager must act (memory full, subscription, permissions).
    Manager,
}

fn issue_kind(code: &str) -> IssueKind {
    match code {
        "device_disconnected"
        | "device_offline"
        | "hub_disconnected"
        | "bridge_disconnected"
        | "igloohome_bridge_offline"
        | "account_disconnected"
        | "ttlock_lock_not_paired_to_gateway" => IssueKind::Offline,
        "duplicate_code_on_device" => IssueKind::PinClash,
        "no_space_for_access_code_on_device"
        | "august_device_slots_full"
        | "max_access_codes_reached"
        | "subscription_required"
        | "insufficient_permissions"
        | "device_removed" => IssueKind::Manager,
        _ => IssueKind::Retry,
    }
}

/// A write the issue stopped: the lock unreachable where the issue says the
/// lock or its link is offline (R28), else failed.
fn failed(e: &Issue) -> Confirmed {
    match issue_kind(&e.code) {
        IssueKind::Offline => Confirmed::Unreachable(issue_sentence(e)),
        _ => Confirmed::Failed(issue_sentence(e)),
    }
}

/// The issue in plain words, its code in parentheses (cut by
/// [`super::plain`] for the manager, kept for the log).
fn issue_sentence(e: &Issue) -> String {
    format!("{} ({})", plain_issue(e), e.code)
}

fn plain_issue(e: &Issue) -> String {
    match e.code.as_str() {
        "device_disconnected" | "device_offline" => "the lock is offline in Seam".into(),
        "hub_disconnected" | "bridge_disconnected" => "the lock's hub or bridge is offline in Seam".into(),
        "igloohome_bridge_offline" => "the igloohome bridge is offline or the lock is not linked to it".into(),
        "ttlock_lock_not_paired_to_gateway" => "the TTLock lock is not paired to a gateway".into(),
        "account_disconnected" => "the lock brand's account is disconnected from Seam; reconnect it".into(),
        "failed_to_set_on_device" => "Seam could not set the code on the lock yet".into(),
        "duplicate_code_on_device" => "the PIN is already on the lock, set outside Seam".into(),
        "no_space_for_access_code_on_device" | "august_device_slots_full" | "max_access_codes_reached" => {
            "the lock's code memory is full; remove unused codes in the brand's app".into()
        }
        "subscription_required" => "the lock needs the brand's subscription for remote codes".into(),
        "insufficient_permissions" => "Seam may not manage codes on this lock".into(),
        "device_removed" => "the lock was removed from its account".into(),
        "igloohome_bridge_too_many_pending_jobs" => "the igloohome bridge has too many changes queued".into(),
        "failed_to_remove_from_device" => "Seam could not remove the code from the lock yet".into(),
        _ if !e.message.is_empty() => format!("Seam reports: {}", e.message.trim_end_matches('.')),
        _ => "Seam reports a problem with the code".into(),
    }
}

fn malformed(detail: impl Into<String>) -> VendorError {
    VendorError::Malformed { brand: NAME, detail: detail.into() }
}

/// Seam's error body: `{"error": {"type", "message"}, "ok": false}`.
fn error_of(resp: &HttpResponse) -> (Option<String>, Option<String>) {
    let v: Option<Value> = serde_json::from_slice(&resp.body).ok();
    let field = |k: &str| {
        v.as_ref().and_then(|v| v.pointer(&format!("/error/{k}"))).and_then(Value::as_str).map(|s| clip_to(s, 120))
    };
    (field("type"), field("message"))
}

/// `fallback` with Seam's error type and status for the log.
fn error_sentence(resp: &HttpResponse, fallback: &str) -> String {
    match error_of(resp).0 {
        Some(t) => format!("{fallback} (HTTP {}: {t})", resp.status),
        None => format!("{fallback} (HTTP {})", resp.status),
    }
}

/// A 2xx's JSON body, or the error a caller can act on.
fn success(resp: &HttpResponse, what: &str) -> Result<Value, VendorError> {
    check_status(resp)?;
    let v: Value = serde_json::from_slice(&resp.body).map_err(|e| malformed(format!("{what}: {e}")))?;
    if v.get("ok").and_then(Value::as_bool) == Some(false) {
        return Err(malformed(format!("{what}: a success status with \"ok\": false")));
    }
    Ok(v)
}

/// A write's answer: 400 is a refusal naming what Seam found wrong.
fn write_success(resp: &HttpResponse) -> Result<Value, VendorError> {
    if resp.status == 400 {
        let (t, m) = error_of(resp);
        return Err(VendorError::Rejected {
            brand: NAME,
            message: format!(
                "Seam refused the code: {} (HTTP 400: {})",
                m.as_deref().unwrap_or("invalid input"),
                t.as_deref().unwrap_or("invalid_input")
            ),
        });
    }
    success(resp, "write")
}

/// An `action_attempt` Seam already marked failed.
fn attempt_failed(v: &Value) -> Result<(), VendorError> {
    let Some(a) = v.get("action_attempt") else { return Ok(()) };
    if a.get("status").and_then(Value::as_str) != Some("error") {
        return Ok(());
    }
    let t = a.pointer("/error/type").and_then(Value::as_str).unwrap_or("error");
    let m = a.pointer("/error/message").and_then(Value::as_str).unwrap_or("the action failed");
    Err(VendorError::Rejected { brand: NAME, message: format!("{} ({t})", clip_to(m, 120)) })
}

/// Maps a non-2xx answer to the error a caller can act on (401 is handled
/// where the request is sent; 404 and 409 where they mean something).
fn check_status(resp: &HttpResponse) -> Result<(), VendorError> {
    match resp.status {
        200..=299 => Ok(()),
        401 | 403 => Err(VendorError::Unauthorized {
            brand: NAME,
            detail: error_sentence(resp, "the API key may not do this; use an API key of the workspace"),
        }),
        409 => Err(VendorError::PinTaken(error_sentence(resp, "Seam already has a code with this PIN on the lock"))),
        429 => Err(VendorError::RateLimited {
            brand: NAME,
            retry_after_secs: resp.header("retry-after").and_then(|v| v.trim().parse().ok()),
        }),
        s @ 400..=499 => {
            let (t, m) = error_of(resp);
            Err(VendorError::Rejected {
                brand: NAME,
                message: format!(
                    "{} (HTTP {s}{})",
                    m.as_deref().unwrap_or("Seam refused the request"),
                    t.map(|t| format!(": {t}")).unwrap_or_default()
                ),
            })
        }
        s => Err(VendorError::Unavailable { brand: NAME, detail: format!("HTTP {s}") }),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;

    use serde_json::json;

    use super::*;
    use crate::host::{Http, HttpError};
    use crate::memory_host::MemoryHost;

    /// 2026-03-20T13:30:00Z.
    const START: Instant = 1_774_013_400;
    const END: Instant = START + 2 * 86_400 - 3 * 3600;
    const KEY: &str = "seam_test2bMS_94SrGUXuNR2JmJkjtvBQDg5";

    /// A request as sent: method, URL, JSON body, headers.
    type Sent = (Method, String, Value, Vec<(String, String)>);

    /// Answers in order, each for the path it expects; records what was sent.
    #[derive(Default)]
    struct Canned {
        answers: RefCell<VecDeque<(&'static str, u16, Value)>>,
        sent: RefCell<Vec<Sent>>,
    }

    impl Canned {
        fn with(answers: Vec<(&'static str, u16, Value)>) -> Self {
            Canned { answers: RefCell::new(answers.into()), sent: RefCell::default() }
        }
    }

    impl Http for Canned {
        fn send(&self, r: &HttpRequest) -> Result<HttpResponse, HttpError> {
            let body: Value = serde_json::from_slice(&r.body).expect("every request has a JSON body");
            self.sent.borrow_mut().push((r.method, r.url.clone(), body, r.headers.clone()));
            let (path, status, answer) = self.answers.borrow_mut().pop_front().expect("an answer left");
            assert_eq!(r.url, format!("{API_BASE}{path}"), "the request's route");
            let headers = if status == 429 { vec![("retry-after".into(), "7".into())] } else { Vec::new() };
            Ok(HttpResponse { status, headers, body: serde_json::to_vec(&answer).expect("json") })
        }
    }

    fn host(answers: Vec<(&'static str, u16, Value)>, now: Instant) -> MemoryHost<Canned> {
        MemoryHost::new(Canned::with(answers), now)
    }

    fn spec<'a>(code_id: Option<&'a str>) -> CodeSpec<'a> {
        CodeSpec {
            lock_id: "dev-1",
            channel: "dev-1",
            pin: "482957",
            name: "Ana Silva (bk-1)",
            start: START,
            end: END,
            timezone: chrono_tz::UTC,
            code_id,
        }
    }

    fn device(extra: Value) -> Value {
        let mut d = json!({
            "device_id": "dev-1", "device_type": "august_lock", "display_name": "Front door",
            "can_program_online_access_codes": true, "capabilities_supported": ["access_code", "lock"],
            "properties": {"name": "Front door", "online": true, "supported_code_lengths": [4, 5, 6, 7, 8]},
            "errors": [], "warnings": []
        });
        merge(&mut d, extra);
        d
    }

    fn code(extra: Value) -> Value {
        let mut c = json!({
            "access_code_id": "ac-1", "device_id": "dev-1", "name": "Ana Silva (bk-1)", "code": "482957",
            "type": "time_bound", "status": "unset", "starts_at": "2026-03-20T13:30:00.000Z",
            "ends_at": "2026-03-22T10:30:00.000Z", "is_scheduled_on_device": false, "errors": [], "warnings": []
        });
        merge(&mut c, extra);
        c
    }

    fn merge(into: &mut Value, extra: Value) {
        if let (Some(o), Value::Object(e)) = (into.as_object_mut(), extra) {
            for (k, v) in e {
                if let (Some(Value::Object(inner)), Value::Object(v)) = (o.get_mut(&k), &v) {
                    inner.extend(v.clone());
                } else {
                    o.insert(k, v);
                }
            }
        }
    }

    fn err(t: &str) -> Value {
        json!({"error": {"type": t, "message": format!("{t} happened")}, "ok": false})
    }

    #[test]
    fn every_request_is_a_post_with_a_json_body_and_the_bearer_key() {
        let h = host(
            vec![
                ("/devices/list", 200, json!({"devices": [device(json!({}))], "ok": true})),
                ("/workspaces/get", 200, json!({"workspace": {"workspace_id": "w", "name": "Seaside"}, "ok": true})),
            ],
            START - 86_400,
        );
        let mut c = Client::new(&h, KEY);
        assert_eq!(c.verify(), Ok(Some("Seaside".into())));
        let locks = c.locks().expect("the locks verify loaded");
        assert_eq!(locks.len(), 1);
        assert_eq!((locks[0].name.as_str(), locks[0].remote.clone()), ("Front door", Some(Remote::direct("cloud"))));
        assert_eq!(c.requests(), 2);
        for (method, _, body, headers) in h.http.sent.borrow().iter() {
            assert_eq!(*method, Method::Post);
            assert!(body.is_object());
            assert!(headers.contains(&("Authorization".into(), format!("Bearer {KEY}"))));
            assert!(headers.contains(&("Content-Type".into(), "application/json".into())));
        }
    }

    #[test]
    fn r1_a_refused_key_is_final_and_other_kinds_of_key_are_refused_unsent() {
        let h = host(vec![("/devices/list", 401, err("unauthorized"))], START);
        let mut c = Client::new(&h, "seam_wrong_key");
        let e = c.verify().expect_err("refused");
        assert!(matches!(e, VendorError::Unauthorized { .. }), "{e:?}");
        assert_eq!(c.locks(), Err(e.clone()));
        assert_eq!(c.requests(), 1, "no second request with a refused key");
        let text = e.for_manager(c.capabilities());
        assert!(!text.contains("seam_wrong_key") && !text.contains("HTTP"), "{text}");

        let h = host(vec![], START);
        let mut c = Client::new(&h, "seam_at1_personal");
        let e = c.verify().expect_err("refused");
        assert!(e.to_string().contains("api_key is a personal access token"), "{e}");
        assert_eq!(c.requests(), 0);
    }

    #[test]
    fn r3_unusable_devices_say_what_they_lack() {
        let cases = [
            (
                json!({"can_program_online_access_codes": false, "properties": {"nuki_metadata": {"keypad_paired": false}}}),
                "keypad",
            ),
            (
                json!({"can_program_online_access_codes": false, "properties": {"ttlock_metadata": {"has_gateway": false}}}),
                "gateway",
            ),
            (json!({"errors": [{"error_code": "subscription_required", "message": "m"}]}), "subscription"),
            (json!({"errors": [{"error_code": "device_disconnected", "message": "m"}]}), "offline"),
            (json!({"properties": {"online": false}}), "offline"),
            (json!({"properties": {"supported_code_lengths": [4]}}), "six-digit"),
            (
                json!({"properties": {"code_constraints": [{"constraint_type": "cannot_specify_pin_code"}]}}),
                "own codes",
            ),
        ];
        for (extra, word) in cases {
            let d = Device::parse(&device(extra.clone())).expect("device");
            let info = d.lock_info();
            assert_eq!(info.remote, None, "{extra}");
            let needs = info.needs.unwrap_or_default();
            assert!(needs.contains(word), "{extra}: {needs}");
        }
        let thermostat = Device::parse(&json!({"device_id": "t", "device_type": "ecobee_thermostat",
            "capabilities_supported": ["lock", "access_code"]}))
        .expect("device");
        assert!(!thermostat.is_lock());
    }

    #[test]
    fn r8_the_devices_constraints_become_its_pin_rule_and_are_checked_before_a_create() {
        let d = Device::parse(&device(json!({"properties": {"code_constraints": [
            {"constraint_type": "no_zeros"}, {"constraint_type": "cannot_start_with_12"},
            {"constraint_type": "no_triple_consecutive_ints"}, {"constraint_type": "at_least_three_unique_digits"},
            {"constraint_type": "name_length", "max_length": 12}
        ]}})))
        .expect("device");
        let rule = d.pin_rule();
        assert_eq!(rule.digits, "123456789");
        assert_eq!(rule.forbidden_prefixes, vec!["12".to_string()]);
        assert_eq!(d.fits("482957"), Ok(()));
        for bad in ["482950", "124957", "483457", "482227", "484848", "4829", "48295a"] {
            assert!(d.fits(bad).is_err(), "{bad}");
        }
        assert_eq!(d.name_for("Ana Silva (bk-1)"), "Ana Silva (b");
        let ttlock = Device::parse(&device(json!({"properties": {"code_constraints": [
            {"constraint_type": "cannot_contain_0789"}]}})))
        .expect("device");
        assert_eq!(ttlock.pin_rule().digits, "123456");

        // A PIN outside the rules is a new PIN at once; nothing is created.
        let h = host(vec![("/devices/get", 200, json!({"device": d_value_no_zeros(), "ok": true}))], START - 86_400);
        let mut c = Client::new(&h, KEY);
        let bad = CodeSpec { pin: "480957", ..spec(None) };
        assert!(matches!(c.create(&bad), Err(VendorError::PinTaken(_))));
        assert_eq!(c.requests(), 1);
    }

    fn d_value_no_zeros() -> Value {
        device(json!({"properties": {"code_constraints": [{"constraint_type": "no_zeros"}]}}))
    }

    #[test]
    fn r8_a_409_is_the_pin_taken_unless_it_is_this_very_code() {
        let h = host(
            vec![
                ("/devices/get", 200, json!({"device": device(json!({})), "ok": true})),
                ("/access_codes/create", 409, err("duplicate_access_code")),
                ("/access_codes/list", 200, json!({"access_codes": [code(json!({"code": "111111"}))], "ok": true})),
            ],
            START - 86_400,
        );
        let mut c = Client::new(&h, KEY);
        assert!(matches!(c.create(&spec(None)), Err(VendorError::PinTaken(_))));
        let sent = h.http.sent.borrow();
        assert_eq!(
            sent[1].2,
            json!({"device_id": "dev-1", "name": "Ana Silva (bk-1)", "code": "482957",
                   "starts_at": "2026-03-20T13:30:00Z", "ends_at": "2026-03-22T10:30:00Z"})
        );
        drop(sent);

        // An earlier attempt of this code (its answer lost): that code.
        let h = host(
            vec![
                ("/devices/get", 200, json!({"device": device(json!({})), "ok": true})),
                ("/access_codes/create", 409, err("duplicate_access_code")),
                ("/access_codes/list", 200, json!({"access_codes": [code(json!({}))], "ok": true})),
            ],
            START - 86_400,
        );
        assert_eq!(Client::new(&h, KEY).create(&spec(None)), Ok(Submitted::Pending("ac-1".into())));
    }

    #[test]
    fn r11_an_offline_device_is_not_written_to_and_is_retried() {
        let offline = device(json!({"errors": [{"error_code": "device_disconnected", "message": "m"}]}));
        let h = host(vec![("/devices/get", 200, json!({"device": offline, "ok": true}))], START - 86_400);
        let mut c = Client::new(&h, KEY);
        let e = c.create(&spec(None)).expect_err("offline");
        assert!(matches!(e, VendorError::Offline(_)), "{e:?}");
        let text = e.for_manager(c.capabilities());
        assert!(text.starts_with("the lock is offline in Seam: check that") && text.contains("every hour"), "{text}");
    }

    #[test]
    fn r11_r29_a_code_counts_as_created_when_set_or_scheduled_or_held_just_in_time() {
        let c = |extra: Value| AccessCode::parse(&code(extra)).expect("code");
        let s = spec(Some("ac-1"));
        let before = START - 20 * 3600;
        let done = Confirmed::Done(Some("ac-1".into()));
        // Native scheduling: loaded 72 h ahead.
        assert_eq!(judge(&c(json!({})), &[], &s, false, before), Confirmed::Pending);
        assert_eq!(judge(&c(json!({"is_scheduled_on_device": true})), &[], &s, false, before), done);
        assert_eq!(judge(&c(json!({"status": "set"})), &[], &s, false, START + 60), done);
        // Scheduled is no proof once the window started: only `set` is.
        assert_eq!(judge(&c(json!({"is_scheduled_on_device": true})), &[], &s, false, START + 60), Confirmed::Pending);
        // Before Seam loads it (72 h ahead) it holds the code: not lost,
        // looked at again once it should be on the lock.
        let early = START - 4 * 86_400;
        assert_eq!(
            judge(&c(json!({})), &[], &s, false, early),
            Confirmed::Deferred(START - LOAD_AHEAD_SECS + LOAD_SLACK_SECS)
        );
        // Just in time: held with no error or warning before the start counts,
        // with a look again once the window has started.
        let provisional = Confirmed::Provisional(Some("ac-1".into()), START + RECHECK_AFTER_START_SECS);
        assert_eq!(judge(&c(json!({})), &[], &s, true, before), provisional);
        let warned = c(json!({"warnings": [{"warning_code": "delay_in_setting_on_device", "message": "m"}]}));
        assert_eq!(judge(&warned, &[], &s, true, before), Confirmed::Pending);
        // ... and the look after the start sees Seam's failure at once.
        let failed = c(json!({"errors": [{"error_code": "failed_to_set_on_device", "message": "m"}]}));
        match judge(&failed, &[], &s, true, START + 300) {
            Confirmed::Failed(r) => assert_eq!(crate::brands::plain(&r), "Seam could not set the code on the lock yet"),
            other => panic!("{other:?}"),
        }
        // Errors win over `set`; the device's errors count too.
        let offline = Issue { code: "device_disconnected".into(), message: String::new() };
        assert!(matches!(
            judge(&c(json!({"status": "set"})), &[offline], &s, false, before),
            Confirmed::Unreachable(_)
        ));
        // R28: a lock that refuses the code is not an unreachable one.
        let full = c(json!({"errors": [{"error_code": "no_space_for_access_code_on_device", "message": "m"}]}));
        assert!(matches!(judge(&full, &[], &s, false, before), Confirmed::Failed(_)));
        let clash = c(json!({"errors": [{"error_code": "duplicate_code_on_device", "message": "m"}]}));
        assert!(matches!(judge(&clash, &[], &s, false, before), Confirmed::PinTaken(_)));
        // A move not yet applied: the old window is still listed.
        let moved = CodeSpec { start: START + 86_400, end: END + 86_400, ..s.clone() };
        assert_eq!(judge(&c(json!({"status": "set"})), &[], &moved, false, before), Confirmed::Pending);
        // A deferred creation scheduled an hour ahead marks a just-in-time device.
        let jit = c(json!({"pending_mutations": [{"mutation_code": "deferring_creation",
            "scheduled_at": "2026-03-20T12:30:00.000Z"}]}));
        assert!(jit.deferred_just_in_time(START));
        let native = c(json!({"pending_mutations": [{"mutation_code": "deferring_creation",
            "scheduled_at": "2026-03-17T13:30:00.000Z"}]}));
        assert!(!native.deferred_just_in_time(START));
    }

    #[test]
    fn r14_a_move_updates_in_place_with_the_same_pin_and_a_vanished_code_is_made_again() {
        let h = host(
            vec![
                ("/devices/get", 200, json!({"device": device(json!({})), "ok": true})),
                ("/access_codes/update", 200, json!({"action_attempt": {"status": "pending"}, "ok": true})),
            ],
            START - 86_400,
        );
        let moved = CodeSpec { start: START + 86_400, end: END + 86_400, ..spec(Some("ac-1")) };
        assert_eq!(Client::new(&h, KEY).update(&moved), Ok(Submitted::Pending("ac-1".into())));
        assert_eq!(
            h.http.sent.borrow()[1].2,
            json!({"access_code_id": "ac-1", "name": "Ana Silva (bk-1)", "code": "482957",
                   "starts_at": "2026-03-21T13:30:00Z", "ends_at": "2026-03-23T10:30:00Z"})
        );

        let h = host(
            vec![
                ("/devices/get", 200, json!({"device": device(json!({})), "ok": true})),
                ("/access_codes/update", 404, err("access_code_not_found")),
                ("/access_codes/list", 200, json!({"access_codes": [], "ok": true})),
                (
                    "/access_codes/create",
                    200,
                    json!({"access_code": code(json!({"access_code_id": "ac-2"})), "ok": true}),
                ),
            ],
            START - 86_400,
        );
        assert_eq!(Client::new(&h, KEY).update(&spec(Some("ac-1"))), Ok(Submitted::Pending("ac-2".into())));
        assert_eq!(h.http.sent.borrow()[3].2["code"], json!("482957"), "the same PIN");
    }

    #[test]
    fn r16_a_delete_of_a_code_seam_removed_itself_is_done() {
        let h = host(vec![("/access_codes/delete", 404, err("access_code_not_found"))], END + 3600);
        assert_eq!(Client::new(&h, KEY).delete(&spec(Some("ac-1"))), Ok(Submitted::Done(None)));

        let h = host(
            vec![
                ("/access_codes/delete", 200, json!({"action_attempt": {"status": "pending"}, "ok": true})),
                ("/access_codes/get", 200, json!({"access_code": code(json!({"status": "removing"})), "ok": true})),
                ("/access_codes/get", 404, err("access_code_not_found")),
            ],
            END,
        );
        let mut c = Client::new(&h, KEY);
        assert_eq!(c.delete(&spec(Some("ac-1"))), Ok(Submitted::Pending("ac-1".into())));
        assert_eq!(c.confirm(Op::Delete, &spec(Some("ac-1")), "ac-1"), Ok(Confirmed::Pending));
        assert_eq!(c.confirm(Op::Delete, &spec(Some("ac-1")), "ac-1"), Ok(Confirmed::Done(None)));

        // Not listed at all: nothing to delete.
        let h = host(vec![("/access_codes/list", 200, json!({"access_codes": [], "ok": true}))], END);
        assert_eq!(Client::new(&h, KEY).delete(&spec(None)), Ok(Submitted::Done(None)));
    }

    #[test]
    fn rate_limits_and_outages_map_to_retries() {
        let h = host(
            vec![
                ("/devices/get", 200, json!({"device": device(json!({})), "ok": true})),
                ("/access_codes/create", 429, json!({"error": {"type": "rate_limited"}})),
                ("/access_codes/create", 503, json!({})),
            ],
            START - 86_400,
        );
        let mut c = Client::new(&h, KEY);
        assert_eq!(c.create(&spec(None)), Err(VendorError::RateLimited { brand: NAME, retry_after_secs: Some(7) }));
        let e = c.create(&spec(None)).expect_err("outage");
        assert!(e.outcome_unknown(), "{e:?}");
    }

    #[test]
    fn the_fakes_codes_of_other_devices_are_not_ours() {
        let h = host(
            vec![(
                "/access_codes/list",
                200,
                json!({"access_codes": [code(json!({"device_id": "dev-2", "access_code_id": "x"}))], "ok": true}),
            )],
            START,
        );
        assert_eq!(Client::new(&h, KEY).find(&spec(None)), Ok(Found::Absent));
    }
}

//! The API's JSON: the contract's types as the API spells them, request
//! bodies read field by field (a wrong field is named in the error), and
//! errors as `{"error": sentence, "kind", "field"?}`.

use serde_json::{json, Map, Value};

use crate::{api, CallError, CallResult, PluginError, Runtime};

/// An API failure: the HTTP status and a plain sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// A stable name for programs (`invalid_input`, `not_found`, ...).
    pub kind: &'static str,
    /// The request field at fault, as the API spells it (`margin_minutes`).
    pub field: Option<String>,
    /// One sentence a panel can show as it is.
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, kind, field: None, message: message.into() }
    }

    /// Bad input in `field`: 400 with "`field` `reason`".
    pub fn invalid(field: &str, reason: &str) -> ApiError {
        ApiError {
            status: 400,
            kind: "invalid_input",
            field: Some(field.to_string()),
            message: format!("{field} {reason}"),
        }
    }

    /// `field` names something unknown: 404.
    pub fn not_found(field: &str, message: impl Into<String>) -> ApiError {
        ApiError { status: 404, kind: "not_found", field: Some(field.to_string()), message: message.into() }
    }

    /// The host's storage failed: 503.
    pub fn storage(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "host records: storage failed");
        ApiError::new(503, "storage_failed", "the host's storage is unavailable; try again shortly")
    }

    /// The plugin names a field by its path in the contract
    /// (`booking.check_in`); a request spells it without the record's name
    /// (`check_in`). Drops `record.` from the field and the sentence.
    pub fn in_request(mut self, record: &str) -> ApiError {
        let prefix = format!("{record}.");
        if let Some(field) = self.field.as_deref().and_then(|f| f.strip_prefix(&prefix)).map(str::to_string) {
            if let Some(rest) = self.message.strip_prefix(&prefix) {
                self.message = rest.to_string();
            }
            self.field = Some(field);
        }
        self
    }

    pub fn to_json(&self) -> Value {
        let mut body = json!({"error": self.message, "kind": self.kind});
        if let Some(field) = &self.field {
            body["field"] = json!(field);
        }
        body
    }
}

/// Longest id (property, booking) the host accepts, in bytes: the plugin's own limit.
pub const MAX_ID_BYTES: usize = 128;
/// Longest id once `/` and `%` are escaped for the host's record keys.
const MAX_ESCAPED_ID_BYTES: usize = 250;

/// Whether `c` reorders or hides text (bidirectional controls and marks):
/// an id holding one would read differently from what it is.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks an id from a path or body before any storage access: 1 to
/// [`MAX_ID_BYTES`] bytes, no control or bidirectional-control characters.
pub fn check_id(field: &str, id: &str) -> Result<(), ApiError> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(ApiError::invalid(field, &format!("must be 1 to {MAX_ID_BYTES} bytes long")));
    }
    if id.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Err(ApiError::invalid(field, "must not contain control or text-direction characters"));
    }
    if super::records::esc(id).len() > MAX_ESCAPED_ID_BYTES {
        return Err(ApiError::invalid(field, "has too many '/' and '%' characters (each counts as three bytes)"));
    }
    Ok(())
}

/// The plugin's refusal: its sentence ([`PluginError`]'s `Display`), with a
/// status that says whose move it is.
pub fn plugin_error(e: api::Error) -> ApiError {
    let field = match &e {
        api::Error::InvalidInput(f) | api::Error::NotFound(f) => Some(f.field.replace('-', "_")),
        _ => None,
    };
    let (status, kind) = match &e {
        api::Error::InvalidInput(_) => (400, "invalid_input"),
        api::Error::NotFound(_) => (404, "not_found"),
        api::Error::NotConnected(_) => (409, "not_connected"),
        api::Error::CredentialsRejected(_) => (422, "credentials_rejected"),
        api::Error::LockNotRemote(_) => (422, "lock_not_remote"),
        api::Error::OtherBrandAssigned(_) => (409, "other_provider_assigned"),
        api::Error::UnknownBrand(_) => (422, "provider_unsupported"),
        api::Error::VendorUnavailable(_) => (502, "vendor_unavailable"),
        api::Error::StorageFailed(_) => (503, "storage_failed"),
    };
    ApiError { status, kind, field, message: PluginError::from(e).to_string() }
}

/// A call that produced no answer: the details go to the log (the runtime
/// logs traps), the user gets a generic sentence.
pub fn call_error(e: CallError) -> ApiError {
    match e {
        CallError::Trap { .. } => ApiError::new(
            500,
            "internal_error",
            "the lock plugin failed while handling this request; the operator will find the details in the host's log",
        ),
        CallError::Instantiate { .. } => {
            ApiError::new(503, "busy", "the host is too busy to run the lock plugin right now; try again shortly")
        }
    }
}

/// The plugin's answer, or the API error for its refusal or failure.
pub fn answer<T>(r: CallResult<T>) -> Result<T, ApiError> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(plugin_error(e)),
        Err(e) => Err(call_error(e)),
    }
}

/// RFC 3339 UTC with seconds, `2026-03-20T13:30:00Z`.
pub fn utc(t: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| t.to_string())
}

/// A brand id the component lists; the error names `field` and the brands.
pub fn parse_brand<'r>(runtime: &'r Runtime, field: &str, s: &str) -> Result<&'r api::BrandInfo, ApiError> {
    runtime.brand(s).ok_or_else(|| {
        let ids: Vec<&str> = runtime.brands().iter().map(|b| b.id.as_str()).collect();
        ApiError::invalid(field, &format!("must be one of {}", ids.join(", ")))
    })
}

pub fn account_json(a: &api::Account) -> Value {
    json!({"provider": a.brand, "name": a.name})
}

/// How codes reach a lock: `{"kind": "bridge", "id": "..."}`, `{"kind": "keypad"}`, ...
pub fn remote_json(r: &api::RemotePath) -> Value {
    match &r.via {
        Some(id) => json!({"kind": r.kind, "id": id}),
        None => json!({"kind": r.kind}),
    }
}

/// A brand as the panel builds its connect form from it (R30); whether the
/// host has the fields it supplies itself.
pub fn brand_json(b: &api::BrandInfo, supplied: impl Fn(&str) -> bool) -> Value {
    let fields: Vec<Value> = b
        .credentials
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "label": f.label,
                "help": f.help,
                "secret": f.secret,
                "host_supplied": f.host_supplied,
            })
        })
        .collect();
    let configured = b.credentials.iter().filter(|f| f.host_supplied).all(|f| supplied(&f.name));
    json!({
        "id": b.id,
        "name": b.name,
        "credentials": fields,
        "lock_needs": b.lock_needs,
        "origins": b.origins,
        "configured": configured,
    })
}

pub fn lock_json(l: &api::LockInfo) -> Value {
    json!({
        "provider": l.brand,
        "id": l.id,
        "name": l.name,
        "remote": l.remote.as_ref().map(remote_json),
        "assignable": l.remote.is_some(),
        "needs": l.needs,
        "unreachable_since": l.unreachable_since.map(utc),
    })
}

pub fn assignment_json(a: &api::Assignment) -> Value {
    json!({
        "property_id": a.property_id,
        "provider": a.brand,
        "lock_id": a.lock_id,
        "lock_name": a.lock_name,
        "remote": remote_json(&a.remote),
        "days_before": a.days_before,
        "margin_minutes": a.margin_minutes,
        "backup_codes": a.backup_codes,
    })
}

pub fn code_state_name(s: api::CodeState) -> &'static str {
    match s {
        api::CodeState::None => "none",
        api::CodeState::Scheduled => "scheduled",
        api::CodeState::Creating => "creating",
        api::CodeState::OnLock => "on_lock",
        api::CodeState::Moving => "moving",
        api::CodeState::Deleting => "deleting",
        api::CodeState::Retrying => "retrying",
        api::CodeState::Failed => "failed",
        api::CodeState::Removed => "removed",
        api::CodeState::LeftToExpire => "left_to_expire",
    }
}

/// A code window: instants as RFC 3339 UTC, and in the property's local time.
fn window_json(w: &api::Window) -> Value {
    json!({
        "start": utc(w.start),
        "end": utc(w.end),
        "start_local": w.start_local,
        "end_local": w.end_local,
    })
}

/// The code a guest got instead of their own (R24, R25).
fn fallback_json(f: &api::FallbackCode) -> Value {
    json!({
        "kind": f.kind,
        "pin": f.pin,
        "window": window_json(&f.window),
        "rule": f.rule,
        "revocable": f.revocable,
    })
}

/// A booking's code on one shared door (R26).
pub fn door_code_json(d: &api::DoorCode) -> Value {
    json!({
        "provider": d.brand,
        "lock": d.lock_id,
        "door": d.door_name,
        "state": code_state_name(d.state),
        "pin": d.pin,
        "window": d.window.as_ref().map(window_json),
        "last_error": d.last_error,
        "next_attempt": d.next_attempt.map(utc),
        "alert_sent": d.alert_sent,
        "fallback": d.fallback.as_ref().map(fallback_json),
    })
}

/// A booking's code status: the one JSON shape of it, for the API and the
/// scenario reports (SCENARIOS: `status`). Instants are RFC 3339 UTC, the
/// window also in the property's local time. `doors` (R26) is there only
/// when the booking has codes on shared doors, so a booking without any
/// reads as it always did.
pub fn status_json(s: &api::CodeStatus) -> Value {
    let mut v = json!({
        "booking_id": s.booking_id,
        "state": code_state_name(s.state),
        "pin": s.pin,
        "provider": s.brand,
        "lock_id": s.lock_id,
        "window": s.window.as_ref().map(window_json),
        "create_at": s.create_at.map(utc),
        "last_error": s.last_error,
        "next_attempt": s.next_attempt.map(utc),
        "alert_sent": s.alert_sent,
        "fallback": s.fallback.as_ref().map(fallback_json),
    });
    if !s.doors.is_empty() {
        v["doors"] = s.doors.iter().map(door_code_json).collect();
    }
    v
}

/// A property's shared door (R26).
pub fn shared_door_json(d: &api::SharedDoor) -> Value {
    json!({
        "property_id": d.property_id,
        "provider": d.brand,
        "lock_id": d.lock_id,
        "lock_name": d.lock_name,
        "remote": remote_json(&d.remote),
    })
}

/// A request body: a JSON object, read field by field.
#[derive(Debug, Default)]
pub struct Body(Map<String, Value>);

impl Body {
    /// Parses `bytes` as a JSON object (an empty body is `{}` when `empty_ok`).
    pub fn parse(bytes: &[u8], empty_ok: bool) -> Result<Body, ApiError> {
        if empty_ok && bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body::default());
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Body(map)),
            Ok(_) => Err(ApiError::new(400, "invalid_input", "the request body must be a JSON object")),
            Err(e) => Err(ApiError::new(400, "invalid_input", format!("the request body is not valid JSON: {e}"))),
        }
    }

    /// Refuses fields other than `allowed` (a misspelt setting must not be
    /// silently ignored).
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(ApiError {
                status: 400,
                kind: "invalid_input",
                field: Some(k.clone()),
                message: format!("{k} is not a field of this request (expected {})", allowed.join(", ")),
            }),
            None => Ok(()),
        }
    }

    /// A required string.
    pub fn string(&self, field: &str) -> Result<String, ApiError> {
        match self.0.get(field) {
            Some(Value::String(s)) => Ok(s.clone()),
            None | Some(Value::Null) => Err(ApiError::invalid(field, "is required")),
            Some(_) => Err(ApiError::invalid(field, "must be a string")),
        }
    }

    /// An optional string (absent or null: `None`).
    pub fn opt_string(&self, field: &str) -> Result<Option<String>, ApiError> {
        match self.0.get(field) {
            Some(Value::String(s)) => Ok(Some(s.clone())),
            None | Some(Value::Null) => Ok(None),
            Some(_) => Err(ApiError::invalid(field, "must be a string or null")),
        }
    }

    /// An optional boolean (absent or null: `None`).
    pub fn opt_bool(&self, field: &str) -> Result<Option<bool>, ApiError> {
        match self.0.get(field) {
            Some(Value::Bool(b)) => Ok(Some(*b)),
            None | Some(Value::Null) => Ok(None),
            Some(_) => Err(ApiError::invalid(field, "must be true or false")),
        }
    }

    /// An optional whole number of at least 0 (absent or null: `None`).
    pub fn opt_cursor(&self, field: &str) -> Result<Option<i64>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) if i >= 0 => Ok(Some(i)),
                _ => Err(ApiError::invalid(field, "must be a whole number of at least 0")),
            },
            Some(_) => Err(ApiError::invalid(field, "must be a whole number of at least 0")),
        }
    }

    /// An optional whole number, saturated to `i32` (the plugin says what
    /// range it accepts).
    pub fn opt_int(&self, field: &str) -> Result<Option<i32>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => {
                if let Some(i) = n.as_i64() {
                    Ok(Some(i32::try_from(i).unwrap_or(if i < 0 { i32::MIN } else { i32::MAX })))
                } else if n.as_u64().is_some() {
                    Ok(Some(i32::MAX))
                } else {
                    Err(ApiError::invalid(field, "must be a whole number"))
                }
            }
            Some(_) => Err(ApiError::invalid(field, "must be a whole number")),
        }
    }
}

#[cfg(test)]
mod id_tests {
    use super::*;

    #[test]
    fn ids_are_bounded_and_plain() {
        assert!(check_id("booking_id", "HMX-42/b").is_ok());
        assert!(check_id("booking_id", &"é".repeat(64)).is_ok());
        for bad in
            [String::new(), "x".repeat(129), "a\nb".into(), "a\u{202E}b".into(), "\u{2066}x".into(), "/".repeat(90)]
        {
            assert_eq!(check_id("booking_id", &bad).unwrap_err().field.as_deref(), Some("booking_id"), "{bad:?}");
        }
    }

    #[test]
    fn contract_paths_become_request_fields() {
        let e = ApiError::invalid("booking.check_out", "must be after check-in").in_request("booking");
        assert_eq!((e.field.as_deref(), e.message.as_str()), (Some("check_out"), "check_out must be after check-in"));
        let other = ApiError::invalid("property.timezone", "is unknown").in_request("booking");
        assert_eq!(other.field.as_deref(), Some("property.timezone"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_errors_keep_the_plugin_sentence_and_name_the_field() {
        let e = plugin_error(api::Error::InvalidInput(api::FieldError {
            field: "margin-minutes".into(),
            reason: "must be between 0 and 240".into(),
        }));
        assert_eq!(e.status, 400);
        assert_eq!(
            e.to_json(),
            json!({"error": "margin_minutes must be between 0 and 240", "kind": "invalid_input", "field": "margin_minutes"})
        );
        let e = plugin_error(api::Error::OtherBrandAssigned("remove the Nuki lock first".into()));
        assert_eq!((e.status, e.message.as_str()), (409, "remove the Nuki lock first"));
    }

    #[test]
    fn traps_get_a_generic_sentence() {
        let e = call_error(CallError::Trap { tenant: "t".into(), message: "on-tick: secret detail".into() });
        assert_eq!(e.status, 500);
        assert!(!e.message.contains("secret detail"));
    }

    #[test]
    fn bodies_name_the_wrong_field() {
        let b = Body::parse(br#"{"name": 3, "days_before": 1.5, "margin_minutes": 99999999999}"#, false).unwrap();
        assert_eq!(b.string("name").unwrap_err().message, "name must be a string");
        assert_eq!(b.string("timezone").unwrap_err().message, "timezone is required");
        assert_eq!(b.opt_int("days_before").unwrap_err().field.as_deref(), Some("days_before"));
        assert_eq!(b.opt_int("margin_minutes").unwrap(), Some(i32::MAX));
        assert_eq!(b.only(&["name"]).unwrap_err().field.as_deref(), Some("days_before"));
        assert!(Body::parse(b"[1]", false).is_err());
        assert!(Body::parse(b"", true).is_ok());
    }
}

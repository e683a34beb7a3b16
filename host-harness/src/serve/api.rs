//! The JSON API (documented in `openapi.json`, served at `/openapi.json`)
//! and the panel's static files.
//!
//! Every route under `/api/tenants/{tenant}/` acts as that PMS account and
//! needs a key (R31, `Authorization: Bearer ...`): the operator's token, or
//! an API key of that tenant ([`keys`](super::keys)); without one the answer
//! is 401 and nothing is read or changed. Listing the tenants and managing
//! their keys needs the operator's token. No answer ever carries a secret
//! (R2). The plugin's refusals are 4xx with its sentence
//! ([`PluginError`](crate::PluginError)'s `Display`), and a refused call
//! saves nothing: the host keeps its own records only once the plugin has
//! accepted the change. A tenant's request runs in that tenant's turn (R33),
//! from reading the host's records to writing them back.

use serde_json::{json, Value};

use crate::api;
use crate::template;

use super::host::{Host, TenantEntry};
use super::json::{
    account_json, answer, assignment_json, brand_json, call_error, check_id, lock_json, parse_brand, plugin_error,
    shared_door_json, status_json, utc, ApiError, Body,
};
use super::keys::{self, Caller};
use super::records::{BookingRecord, PropertyRecord};
use super::webhooks;

/// The panel, the OpenAPI document: served from the binary.
pub const PANEL_HTML: &str = include_str!("panel/index.html");
pub const PANEL_CSS: &str = include_str!("panel/panel.css");
pub const PANEL_JS: &str = include_str!("panel/panel.js");
pub const OPENAPI: &str = include_str!("openapi.json");

/// Most distinct variables one template may use (each is a plugin call).
const MAX_TEMPLATE_VARIABLES: usize = 50;
/// Longest template accepted, in bytes.
const MAX_TEMPLATE_BYTES: usize = 16 * 1024;

/// One API request, as the HTTP layer hands it over.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Upper-case method.
    pub method: String,
    /// Percent-decoded path segments (`/api/tenants/a%2Fb` has three).
    pub segments: Vec<String>,
    /// The query's parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    pub body: Vec<u8>,
}

/// One answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, value: &Value) -> Reply {
        Reply { status, content_type: "application/json", body: serde_json::to_vec(value).unwrap_or_default() }
    }

    fn ok(value: Value) -> Result<Reply, ApiError> {
        Ok(Reply::json(200, &value))
    }

    fn no_content() -> Result<Reply, ApiError> {
        Ok(Reply { status: 204, content_type: "application/json", body: Vec::new() })
    }

    fn text(content_type: &'static str, text: &'static str) -> Reply {
        Reply { status: 200, content_type, body: text.as_bytes().to_vec() }
    }

    pub fn error(e: &ApiError) -> Reply {
        Reply::json(e.status, &e.to_json())
    }
}

/// Answers one request.
pub fn handle(host: &Host, req: &Request) -> Reply {
    let segments: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let result = match (req.method.as_str(), segments.as_slice()) {
        ("GET", []) => Ok(Reply::text("text/html; charset=utf-8", PANEL_HTML)),
        ("GET", ["panel.css"]) => Ok(Reply::text("text/css; charset=utf-8", PANEL_CSS)),
        ("GET", ["panel.js"]) => Ok(Reply::text("text/javascript; charset=utf-8", PANEL_JS)),
        ("GET", ["favicon.ico"]) => Reply::no_content(),
        ("GET", ["openapi.json"]) => Ok(Reply::text("application/json", OPENAPI)),
        ("GET", ["api", "service"]) => Reply::ok(service_json(host)),
        // The brands as data (R30): no tenant's data, so no key.
        ("GET", ["api", "brands"]) => {
            let brands: Vec<Value> = host
                .runtime
                .brands()
                .iter()
                .map(|b| brand_json(b, |field| host.supplied(&b.id, field).is_some()))
                .collect();
            Reply::ok(json!({ "brands": brands }))
        }
        ("GET", ["api", "tenants"]) => {
            operator(host, req).and_then(|()| Reply::ok(json!({"tenants": host.registered()})))
        }
        (method, ["api", "tenants", tenant, "keys", rest @ ..]) => {
            operator(host, req).and_then(|()| key_route(host, req, method, tenant, rest))
        }
        (method, ["api", "tenants", tenant, rest @ ..]) => tenant_route(host, req, method, tenant, rest),
        (method, _) => {
            Err(ApiError::new(404, "no_route", format!("there is no route {method} /{}", segments.join("/"))))
        }
    };
    result.unwrap_or_else(|e| Reply::error(&e))
}

fn service_json(host: &Host) -> Value {
    let now = host.clock.now_secs();
    json!({
        "service": "smartlock reference host",
        "version": env!("CARGO_PKG_VERSION"),
        "contract": "pms:smartlock@0.3.0",
        "clock": {
            "now": utc(now),
            "unix": now,
            "speed": host.clock.speed(),
            "simulated": host.clock.is_simulated(),
        },
        "demo": host.demo.is_some(),
        // `--stub URL`: every brand goes to that stub process, and the
        // clock is its clock (shared by every service process using it).
        "stub": host.stub,
        "database": host.db.kind(),
        // The demo's vendor stubs (fakes, no secrets): tests and curious
        // users read the locks' own truth at `{demo_stubs}/_admin/pins`.
        "demo_stubs": host.demo.as_ref().map(|d| d.base_url()),
        "default_tenant": host.demo.as_ref().map(|_| super::demo::DEMO_TENANT),
        "ttlock_app_configured": host.supplied("ttlock", "client_id").is_some(),
        "max_nights": host.max_nights,
        "tenants_in_memory": host.resident_tenants(),
    })
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(401, "unauthorized", message)
}

/// Only the operator's token passes.
fn operator(host: &Host, req: &Request) -> Result<(), ApiError> {
    match host.caller(req.authorization.as_deref()) {
        Some(Caller::Operator) => Ok(()),
        _ => Err(unauthorized("this operation needs the operator's token (header Authorization: Bearer <token>)")),
    }
}

/// The operator's token or an API key of `tenant` passes (R31).
fn tenant_caller(host: &Host, req: &Request, tenant: &str) -> Result<(), ApiError> {
    match host.caller(req.authorization.as_deref()) {
        Some(caller) if caller.reaches(tenant) => Ok(()),
        Some(_) => Err(ApiError::new(403, "wrong_tenant", "this API key belongs to another PMS account")),
        None => Err(unauthorized(
            "this operation needs a key: the operator's token or an API key of this PMS account \
             (header Authorization: Bearer <key>)",
        )),
    }
}

/// `/api/tenants/{t}/keys...`: the operator makes, lists and revokes a
/// tenant's API keys.
fn key_route(host: &Host, req: &Request, method: &str, tenant_id: &str, rest: &[&str]) -> Result<Reply, ApiError> {
    let t = host.tenant(tenant_id)?;
    let store = host.service_store();
    let key_json = |k: &keys::KeyInfo| json!({"id": k.id, "label": k.label, "created": utc(k.created)});
    match (method, rest) {
        ("GET", []) => {
            let list = keys::list(store, tenant_id).map_err(ApiError::storage)?;
            Reply::ok(json!({"keys": list.iter().map(key_json).collect::<Vec<_>>()}))
        }
        ("POST", []) => {
            let body = Body::parse(&req.body, true)?;
            body.only(&["label"])?;
            let label = body.opt_string("label")?;
            if label
                .as_ref()
                .is_some_and(|l| l.chars().count() > keys::MAX_LABEL_CHARS || l.chars().any(char::is_control))
            {
                return Err(ApiError::invalid(
                    "label",
                    &format!("must be at most {} characters, without control characters", keys::MAX_LABEL_CHARS),
                ));
            }
            let (info, key) = keys::create(store, tenant_id, label, host.clock.now_secs()).map_err(|e| match e {
                keys::CreateError::TooMany => ApiError::new(
                    409,
                    "too_many_keys",
                    format!("a PMS account may have at most {} API keys: revoke one first", keys::MAX_KEYS_PER_TENANT),
                ),
                keys::CreateError::Storage(e) => ApiError::storage(e),
            })?;
            tracing::info!(tenant = tenant_id, key_id = %info.id, "API key made");
            host.touched(t.handle.id());
            let mut value = key_json(&info);
            value["key"] = json!(key);
            Ok(Reply::json(201, &value))
        }
        ("DELETE", [id]) => {
            if !keys::valid_id(id) || !keys::revoke(store, tenant_id, id).map_err(ApiError::storage)? {
                return Err(ApiError::not_found("key_id", format!("this PMS account has no API key \"{id}\"")));
            }
            tracing::info!(tenant = tenant_id, key_id = %id, "API key revoked");
            Reply::no_content()
        }
        _ => Err(ApiError::new(
            404,
            "no_route",
            format!("there is no route {method} /api/tenants/{tenant_id}/keys/{}", rest.join("/")),
        )),
    }
}

fn tenant_route(host: &Host, req: &Request, method: &str, tenant_id: &str, rest: &[&str]) -> Result<Reply, ApiError> {
    tenant_caller(host, req, tenant_id)?;
    match rest {
        ["properties", p, ..] => check_id("property_id", p)?,
        ["bookings", b, ..] => check_id("booking_id", b)?,
        _ => {}
    }
    // The feed and the webhook read and write the service's own records,
    // not the plugin's: no turn, so a tick never holds them up.
    match (method, rest) {
        ("GET", ["events"]) => return events(host, req, tenant_id),
        ("GET", ["webhook"]) => return Reply::ok(webhooks::get(host, tenant_id)?),
        ("PUT", ["webhook"]) => {
            let body = Body::parse(&req.body, false)?;
            body.only(&["url", "rotate_secret", "after"])?;
            let rotate = body.opt_bool("rotate_secret")?.unwrap_or(false);
            let (status, value) =
                webhooks::put(host, tenant_id, body.string("url")?, rotate, body.opt_cursor("after")?)?;
            host.touched(tenant_id);
            return Ok(Reply::json(status, &value));
        }
        ("DELETE", ["webhook"]) => {
            if !webhooks::delete(host, tenant_id)? {
                return Err(ApiError::not_found("webhook", "this PMS account has no webhook"));
            }
            return Reply::no_content();
        }
        _ => {}
    }
    let t = host.tenant(tenant_id)?;
    let _turn = t.turn()?;
    let body = || Body::parse(&req.body, false);
    match (method, rest) {
        ("GET", ["properties"]) => list_properties(&t),
        ("GET", ["properties", p]) => get_property(&t, p),
        ("PUT", ["properties", p]) => put_property(host, &t, p, &body()?),
        ("GET", ["properties", p, "assignment"]) => {
            let a = answer(t.handle.assignment(p))?;
            Reply::ok(json!({"property_id": p, "assignment": a.as_ref().map(assignment_json)}))
        }
        ("PUT", ["properties", p, "assignment"]) => assign(host, &t, p, &body()?),
        ("DELETE", ["properties", p, "assignment"]) => {
            answer(t.handle.unassign(p))?;
            host.touched(t.handle.id());
            Reply::no_content()
        }
        ("GET", ["properties", p, "doors"]) => {
            let doors = answer(t.handle.shared_doors(p))?;
            Reply::ok(json!({"property_id": p, "doors": doors.iter().map(shared_door_json).collect::<Vec<_>>()}))
        }
        ("POST", ["properties", p, "doors"]) => share_door(host, &t, p, &body()?),
        ("DELETE", ["properties", p, "doors", provider, lock_id]) => {
            let brand = parse_brand(&host.runtime, "provider", provider)?;
            check_id("lock_id", lock_id)?;
            answer(t.handle.unshare_door(p, &brand.id, lock_id))?;
            host.touched(t.handle.id());
            Reply::no_content()
        }
        ("GET", ["bookings", b]) => get_booking(&t, b),
        ("PUT", ["bookings", b]) => put_booking(host, &t, b, &body()?),
        ("POST", ["bookings", b, "cancel"]) => cancel_booking(host, &t, b, &Body::parse(&req.body, true)?),
        ("GET", ["bookings", b, "code"]) => Reply::ok(status_json(&answer(t.handle.booking_status(b))?)),
        ("POST", ["bookings", b, "render"]) => render(&t, b, &body()?),
        ("GET", ["accounts"]) => {
            let accounts = answer(t.handle.accounts())?;
            Reply::ok(json!({"accounts": accounts.iter().map(account_json).collect::<Vec<_>>()}))
        }
        ("POST", ["accounts", provider]) => connect(host, &t, provider, &body()?),
        ("DELETE", ["accounts", provider]) => {
            answer(t.handle.disconnect(&parse_brand(&host.runtime, "provider", provider)?.id))?;
            host.touched(t.handle.id());
            Reply::no_content()
        }
        ("GET", ["accounts", provider, "locks"]) => {
            let locks = answer(t.handle.list_locks(&parse_brand(&host.runtime, "provider", provider)?.id))?;
            Reply::ok(json!({"locks": locks.iter().map(lock_json).collect::<Vec<_>>()}))
        }
        ("GET", ["outbox"]) => {
            let emails = t.handle.tenant().storage.emails().map_err(ApiError::storage)?;
            let emails: Vec<Value> = emails.iter().map(email_json).collect();
            Reply::ok(json!({ "emails": emails }))
        }
        _ => Err(ApiError::new(
            404,
            "no_route",
            format!("there is no route {method} /api/tenants/{tenant_id}/{}", rest.join("/")),
        )),
    }
}

/// The plugin's e-mail dedup key of a booking's alert (R12): `alert/{booking}`.
const ALERT_KEY_PREFIX: &str = "alert/";
/// What follows the booking id in the dedup key of the alert about one of
/// its shared doors (R26): `alert/{booking}%1Fdoor%1F...`, the plugin's
/// record id of that door's code, percent-escaped as a whole (a booking id
/// never holds the unit separator `%1F` stands for).
const DOOR_ALERT_MARK: &str = "%1Fdoor%1F";

/// The booking an alert's dedup key (after `alert/`) is about.
fn alert_booking(key: &str) -> String {
    match key.split_once(DOOR_ALERT_MARK) {
        Some((escaped, _)) => percent_encoding::percent_decode_str(escaped).decode_utf8_lossy().into_owned(),
        None => key.to_string(),
    }
}

/// One outbox entry; an alert names its booking (`kind` `"alert"`,
/// `booking_id`), whether it is about the booking's own lock or one of its
/// shared doors; any other e-mail has `kind` `"other"`.
fn email_json(e: &crate::imports::Email) -> Value {
    let mut value = json!({"at": utc(e.at), "subject": e.subject, "body": e.body});
    match e.dedup_key.strip_prefix(ALERT_KEY_PREFIX) {
        Some(key) => {
            let booking = alert_booking(key);
            value["kind"] = json!("alert");
            value["booking_id"] = json!(booking);
        }
        None => value["kind"] = json!("other"),
    }
    value
}

/// `GET /api/tenants/{t}/events?after=CURSOR&limit=N`: the tenant's code
/// events after the cursor, in the order recorded (R27, R33).
fn events(host: &Host, req: &Request, tenant_id: &str) -> Result<Reply, ApiError> {
    if !super::host::valid_tenant_id(tenant_id) {
        return Err(ApiError::invalid("tenant", "must be 1 to 64 letters, digits, '.', '_' or '-'"));
    }
    let mut after = 0i64;
    let mut limit = webhooks::DEFAULT_PAGE;
    for (name, value) in &req.query {
        match name.as_str() {
            "after" => {
                after = value
                    .parse()
                    .ok()
                    .filter(|a: &i64| *a >= 0)
                    .ok_or_else(|| ApiError::invalid("after", "must be a cursor: a whole number of at least 0"))?;
            }
            "limit" => {
                limit = value.parse().ok().filter(|l| (1..=webhooks::MAX_PAGE).contains(l)).ok_or_else(|| {
                    ApiError::invalid("limit", &format!("must be a whole number from 1 to {}", webhooks::MAX_PAGE))
                })?;
            }
            other => {
                return Err(ApiError::invalid(other, "is not a parameter of this request (expected after, limit)"))
            }
        }
    }
    Reply::ok(webhooks::feed(host, tenant_id, after, limit)?)
}

/// The property's record, its assignment, its shared doors and its bookings
/// with their code status, read on one plugin instance.
fn property_json(t: &TenantEntry, property: &PropertyRecord) -> Result<Value, ApiError> {
    let bookings = t.records.bookings_of(&property.id).map_err(ApiError::storage)?;
    let (assignment, doors, statuses) = t
        .handle
        .with_instance(|plugin, store| {
            let admin = plugin.pms_smartlock_admin();
            let assignment = admin.call_get_assignment(&mut *store, &property.id)?;
            let doors = admin.call_shared_doors(&mut *store, &property.id)?;
            let mut statuses = Vec::with_capacity(bookings.len());
            for b in &bookings {
                statuses.push(admin.call_booking_status(&mut *store, &b.id)?);
            }
            Ok((assignment, doors, statuses))
        })
        .map_err(call_error)?;
    let mut value = property.to_json();
    match assignment {
        Ok(a) => value["assignment"] = json!(a.as_ref().map(assignment_json)),
        Err(e) => {
            value["assignment"] = Value::Null;
            value["assignment_error"] = json!(plugin_error(e).message);
        }
    }
    match doors {
        Ok(doors) => value["doors"] = doors.iter().map(shared_door_json).collect(),
        Err(e) => {
            value["doors"] = json!([]);
            value["doors_error"] = json!(plugin_error(e).message);
        }
    }
    value["bookings"] = bookings
        .iter()
        .zip(statuses)
        .map(|(b, status)| {
            let mut v = b.to_json();
            match status {
                Ok(s) => v["code"] = status_json(&s),
                Err(api::Error::NotFound(_)) => v["code"] = Value::Null,
                Err(e) => {
                    v["code"] = Value::Null;
                    v["code_error"] = json!(plugin_error(e).message);
                }
            }
            v
        })
        .collect();
    Ok(value)
}

fn unknown_property(id: &str) -> ApiError {
    ApiError::not_found(
        "property_id",
        format!("property_id \"{id}\" is not known to the host: upsert the property first"),
    )
}

fn list_properties(t: &TenantEntry) -> Result<Reply, ApiError> {
    let mut properties = t.records.properties().map_err(ApiError::storage)?;
    properties.sort_by_cached_key(|p| (p.name.to_lowercase(), p.id.clone()));
    let list = properties.iter().map(|p| property_json(t, p)).collect::<Result<Vec<_>, _>>()?;
    Reply::ok(json!({ "properties": list }))
}

fn get_property(t: &TenantEntry, id: &str) -> Result<Reply, ApiError> {
    let property = t.records.property(id).map_err(ApiError::storage)?.ok_or_else(|| unknown_property(id))?;
    Reply::ok(property_json(t, &property)?)
}

fn put_property(host: &Host, t: &TenantEntry, id: &str, body: &Body) -> Result<Reply, ApiError> {
    body.only(&["name", "timezone", "check_in_time", "check_out_time"])?;
    let property = PropertyRecord {
        id: id.to_string(),
        name: body.string("name")?,
        timezone: body.string("timezone")?,
        check_in_time: body.opt_string("check_in_time")?,
        check_out_time: body.opt_string("check_out_time")?,
    };
    answer(t.handle.on_property_changed(&property.to_api())).map_err(|e| e.in_request("property"))?;
    t.records.put_property(&property).map_err(ApiError::storage)?;
    host.touched(t.handle.id());
    Reply::ok(property.to_json())
}

fn assign(host: &Host, t: &TenantEntry, property: &str, body: &Body) -> Result<Reply, ApiError> {
    body.only(&["provider", "lock_id", "days_before", "margin_minutes", "backup_codes"])?;
    let brand = parse_brand(&host.runtime, "provider", &body.string("provider")?)?;
    let lock_id = body.string("lock_id")?;
    let settings = api::Settings {
        days_before: body.opt_int("days_before")?,
        margin_minutes: body.opt_int("margin_minutes")?,
        backup_codes: body.opt_int("backup_codes")?,
    };
    let a = answer(t.handle.assign_with(property, &brand.id, &lock_id, settings))?;
    host.touched(t.handle.id());
    Reply::ok(assignment_json(&a))
}

/// Adds a shared door to the property (R26); adding one it has already
/// answers the same door.
fn share_door(host: &Host, t: &TenantEntry, property: &str, body: &Body) -> Result<Reply, ApiError> {
    body.only(&["provider", "lock_id"])?;
    let brand = parse_brand(&host.runtime, "provider", &body.string("provider")?)?;
    let lock_id = body.string("lock_id")?;
    check_id("lock_id", &lock_id)?;
    let door = answer(t.handle.share_door(property, &brand.id, &lock_id))?;
    host.touched(t.handle.id());
    Reply::ok(shared_door_json(&door))
}

/// The booking's record and its code status (`null` when the plugin has none).
fn booking_json(t: &TenantEntry, b: &BookingRecord) -> Result<Value, ApiError> {
    let mut value = b.to_json();
    value["code"] = match t.handle.booking_status(&b.id) {
        Ok(Err(api::Error::NotFound(_))) => Value::Null,
        other => status_json(&answer(other)?),
    };
    Ok(value)
}

fn unknown_booking(id: &str) -> ApiError {
    ApiError::not_found("booking_id", format!("booking_id \"{id}\" is not known to the host"))
}

fn get_booking(t: &TenantEntry, id: &str) -> Result<Reply, ApiError> {
    let booking = t.records.booking(id).map_err(ApiError::storage)?.ok_or_else(|| unknown_booking(id))?;
    Reply::ok(booking_json(t, &booking)?)
}

/// Sends the booking with its property to the plugin, then keeps it.
fn save_booking(
    host: &Host,
    t: &TenantEntry,
    booking: &BookingRecord,
    previous: Option<&BookingRecord>,
) -> Result<Reply, ApiError> {
    let property = t
        .records
        .property(&booking.property_id)
        .map_err(ApiError::storage)?
        .ok_or_else(|| unknown_property(&booking.property_id))?;
    let event = api::BookingEvent { booking: booking.to_api(), property: property.to_api() };
    answer(t.handle.on_booking_changed(&event)).map_err(|e| e.in_request("booking"))?;
    t.records.put_booking(booking, previous).map_err(ApiError::storage)?;
    host.touched(t.handle.id());
    Reply::ok(booking_json(t, booking)?)
}

fn put_booking(host: &Host, t: &TenantEntry, id: &str, body: &Body) -> Result<Reply, ApiError> {
    body.only(&["property_id", "guest_name", "check_in", "check_out", "check_in_time", "check_out_time", "status"])?;
    let status = body.opt_string("status")?.unwrap_or_else(|| "confirmed".into());
    if status != "confirmed" && status != "cancelled" {
        return Err(ApiError::invalid("status", "must be confirmed or cancelled"));
    }
    let property_id = body.string("property_id")?;
    check_id("property_id", &property_id)?;
    let booking = BookingRecord {
        id: id.to_string(),
        property_id,
        guest_name: body.opt_string("guest_name")?,
        check_in: body.string("check_in")?,
        check_out: body.string("check_out")?,
        check_in_time: body.opt_string("check_in_time")?,
        check_out_time: body.opt_string("check_out_time")?,
        status,
    };
    check_stay(host, &booking)?;
    let previous = t.records.booking(id).map_err(ApiError::storage)?;
    save_booking(host, t, &booking, previous.as_ref())
}

/// Refuses a stay longer than the host's maximum (`--max-nights`); dates
/// that do not parse are left for the plugin to name.
fn check_stay(host: &Host, b: &BookingRecord) -> Result<(), ApiError> {
    let date = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    if let (Some(check_in), Some(check_out)) = (date(&b.check_in), date(&b.check_out)) {
        let nights = (check_out - check_in).num_days();
        if nights > i64::from(host.max_nights) {
            return Err(ApiError::invalid(
                "check_out",
                &format!("must be at most {} nights after check_in (this stay has {nights})", host.max_nights),
            ));
        }
    }
    Ok(())
}

fn cancel_booking(host: &Host, t: &TenantEntry, id: &str, body: &Body) -> Result<Reply, ApiError> {
    body.only(&[])?;
    let previous = t.records.booking(id).map_err(ApiError::storage)?.ok_or_else(|| unknown_booking(id))?;
    let booking = BookingRecord { status: "cancelled".into(), ..previous.clone() };
    save_booking(host, t, &booking, Some(&previous))
}

/// R20: `{{smartlock_code}}` (and `{{nuki_code}}`) filled in by the plugin,
/// other variables left as written; each distinct name is asked once.
fn render(t: &TenantEntry, booking: &str, body: &Body) -> Result<Reply, ApiError> {
    body.only(&["template"])?;
    let text = body.string("template")?;
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(ApiError::invalid("template", &format!("must be at most {MAX_TEMPLATE_BYTES} bytes")));
    }
    let names = template::variables(&text);
    if names.len() > MAX_TEMPLATE_VARIABLES {
        return Err(ApiError::invalid("template", &format!("must use at most {MAX_TEMPLATE_VARIABLES} variables")));
    }
    let mut values = std::collections::HashMap::new();
    for name in &names {
        let value = t.handle.render_variable(name, booking).map_err(call_error)?;
        values.insert(name.clone(), value);
    }
    let output = template::substitute(&text, |name| values.get(name).cloned().flatten());
    let filled: Vec<&String> = names.iter().filter(|n| values.get(*n).is_some_and(Option::is_some)).collect();
    Reply::ok(json!({"booking_id": booking, "text": output, "filled": filled}))
}

/// Connects a brand with the fields of its form (R30): those the manager
/// types from the body, those the host supplies (an application's id and
/// secret) from the host's configuration.
fn connect(host: &Host, t: &TenantEntry, provider: &str, body: &Body) -> Result<Reply, ApiError> {
    let brand = parse_brand(&host.runtime, "provider", provider)?;
    let typed: Vec<&str> = brand.credentials.iter().filter(|f| !f.host_supplied).map(|f| f.name.as_str()).collect();
    body.only(&typed)?;
    let mut credentials = Vec::new();
    for field in &brand.credentials {
        let value = if field.host_supplied {
            host.supplied(&brand.id, &field.name).ok_or_else(|| {
                ApiError::new(
                    503,
                    "not_configured",
                    format!(
                        "{} is not set up on this host: its {} comes from the host's configuration",
                        brand.name, field.label
                    ),
                )
            })?
        } else {
            body.string(&field.name)?
        };
        credentials.push(api::Credential { name: field.name.clone(), value });
    }
    let account = answer(t.handle.connect(&brand.id, &credentials))?;
    tracing::info!(tenant = t.handle.id(), provider = %brand.id, "account connected");
    host.touched(t.handle.id());
    Reply::ok(account_json(&account))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_names_its_booking_whether_about_its_own_lock_or_a_shared_door() {
        assert_eq!(alert_booking("HMX-42/b"), "HMX-42/b");
        assert_eq!(alert_booking("HMX-42%2Fb%1Fdoor%1Fnuki%1F18205286200"), "HMX-42/b");
    }
}

//! Property-based tests of SPEC section 4 ("Errors and bad input") on the
//! plugin's native build: random and malformed events, settings and vendor
//! answers never make the plugin panic; bad input is refused with an error
//! naming the field and leaves storage byte-for-byte as it was.
//!
//! The plugin runs on [`MemoryHost`] with a small igloohome fake whose
//! answers can be switched from "good" to a scripted list of garbage.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use chrono::{Days, NaiveDate};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

use smartlock_plugin::admin::{self, CodeState};
use smartlock_plugin::brands::igloohome::{API_BASE, TOKEN_URL};
use smartlock_plugin::brands::{self, BrandId};
use smartlock_plugin::events;
use smartlock_plugin::host::{Http, HttpError, HttpRequest, HttpResponse, Method};
use smartlock_plugin::memory_host::MemoryHost;
use smartlock_plugin::model::{BookingFacts, PropertyFacts, MAX_ID_LEN, MAX_NAME_LEN};
use smartlock_plugin::schedule::Instant;
use smartlock_plugin::tick;
use smartlock_plugin::PluginError;

const CLIENT_ID: &str = "fake-client";
const SECRET: &str = "fake-s3cr3t-never-logged";

// ---------------------------------------------------------------------------
// The igloohome fake
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Answers like igloohome: token, devices L1..L3 behind B1, jobs
    /// accepted and done at once.
    Good,
    /// Every request gets the next scripted answer (cycling).
    Script,
    /// The token endpoint answers well, the API from the script.
    GoodTokenScriptedApi,
}

#[derive(Debug, Clone)]
enum Answer {
    Resp { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    Fail(HttpError),
}

struct Fake {
    mode: Cell<Mode>,
    script: RefCell<Vec<Answer>>,
    next: Cell<usize>,
    jobs: Cell<u64>,
    /// Every URL asked for, in order.
    urls: RefCell<Vec<String>>,
}

impl Fake {
    fn new() -> Fake {
        Fake {
            mode: Cell::new(Mode::Good),
            script: RefCell::new(Vec::new()),
            next: Cell::new(0),
            jobs: Cell::new(0),
            urls: RefCell::new(Vec::new()),
        }
    }

    fn play(&self, mode: Mode, script: Vec<Answer>) {
        self.mode.set(mode);
        *self.script.borrow_mut() = script;
        self.next.set(0);
    }

    fn calls(&self) -> usize {
        self.urls.borrow().len()
    }

    fn scripted(&self) -> Result<HttpResponse, HttpError> {
        let script = self.script.borrow();
        if script.is_empty() {
            return Err(HttpError::Transport("the script is empty".into()));
        }
        let i = self.next.get();
        self.next.set(i + 1);
        match &script[i % script.len()] {
            Answer::Resp { status, headers, body } => {
                Ok(HttpResponse { status: *status, headers: headers.clone(), body: body.clone() })
            }
            Answer::Fail(e) => Err(e.clone()),
        }
    }

    fn good(&self, req: &HttpRequest) -> Result<HttpResponse, HttpError> {
        if req.url == TOKEN_URL {
            return Ok(ok_json(&good_token()));
        }
        let Some(path) = req.url.strip_prefix(API_BASE) else {
            return Ok(resp(404, json!({"message": "unknown host"})));
        };
        match req.method {
            Method::Get if path == "/devices" || path.starts_with("/devices?") => Ok(ok_json(&good_devices())),
            Method::Post if path.starts_with("/devices/") && path.contains("/jobs/bridges/") => {
                self.jobs.set(self.jobs.get() + 1);
                Ok(ok_json(&json!({"jobId": format!("job-{}", self.jobs.get())})))
            }
            Method::Get if path.starts_with("/jobs/") => Ok(ok_json(&json!({
                "jobId": &path[6..], "jobType": 4, "completed": true, "jobResponse": {"jobStatus": 0}
            }))),
            _ => Ok(resp(404, json!({"message": "Not Found"}))),
        }
    }
}

impl Http for Fake {
    fn send(&self, req: &HttpRequest) -> Result<HttpResponse, HttpError> {
        self.urls.borrow_mut().push(req.url.clone());
        match self.mode.get() {
            Mode::Good => self.good(req),
            Mode::GoodTokenScriptedApi if req.url == TOKEN_URL => self.good(req),
            Mode::Script | Mode::GoodTokenScriptedApi => self.scripted(),
        }
    }
}

#[allow(non_snake_case)]
fn IGLOOHOME() -> BrandId {
    BrandId::parse("igloohome").expect("registered")
}

fn igloohome(client_id: &str, client_secret: &str) -> brands::Fields {
    brands::fields([("client_id", client_id), ("client_secret", client_secret)])
}

fn resp(status: u16, body: Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

fn ok_json(body: &Value) -> HttpResponse {
    resp(200, body.clone())
}

fn good_token() -> Value {
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"name":"Fake Rentals"}"#);
    json!({"access_token": format!("eyJhbGciOiJub25lIn0.{payload}.c2ln"), "expires_in": 86_400, "token_type": "Bearer"})
}

fn good_devices() -> Value {
    json!({"nextCursor": "", "payload": [
        {"id": "1", "type": "Lock", "deviceId": "L1", "deviceName": "Front door", "linkedDevices": []},
        {"id": "2", "type": "Lock", "deviceId": "L2", "deviceName": "Back door", "batteryLevel": null},
        {"id": "3", "type": "Lock", "deviceId": "L3", "deviceName": "Garden door"},
        {"id": "4", "type": "Bridge", "deviceId": "B1", "deviceName": "Hall bridge",
         "linkedDevices": [{"type": "Lock", "deviceId": "L1"}, "L2", {"type": "Lock", "deviceId": "L3"}]}
    ]})
}

// ---------------------------------------------------------------------------
// Set-up and helpers
// ---------------------------------------------------------------------------

type Host = MemoryHost<Fake>;

fn instant(date: &str, h: u32, m: u32) -> Instant {
    NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap().and_hms_opt(h, m, 0).unwrap().and_utc().timestamp()
}

fn property(id: &str, tz: &str) -> PropertyFacts {
    PropertyFacts {
        id: id.into(),
        name: format!("Property {id}"),
        timezone: tz.into(),
        check_in_time: None,
        check_out_time: None,
    }
}

fn booking(id: &str, property: &str, check_in: &str, check_out: &str, confirmed: bool) -> BookingFacts {
    BookingFacts {
        id: id.into(),
        property_id: property.into(),
        guest_name: Some("Ana Silva".into()),
        check_in: check_in.into(),
        check_out: check_out.into(),
        check_in_time: None,
        check_out_time: None,
        confirmed,
    }
}

fn tick_at(host: &Host, t: Instant) {
    host.now.set(t);
    tick::on_tick(host, t).expect("tick");
}

/// Connected; p1 (Paris) with L1 assigned (7 days, 45 min) and p2 (New
/// York) without a lock; b1 has its code on L1, b2 is scheduled, b3 is
/// cancelled, b4 is on p2. The clock reads 2026-03-16T01:00Z.
fn setup() -> Host {
    let host = MemoryHost::new(Fake::new(), instant("2026-03-16", 0, 0));
    admin::connect(&host, IGLOOHOME(), igloohome(CLIENT_ID, SECRET)).expect("connect");
    events::on_property_changed(&host, property("p1", "Europe/Paris")).expect("p1");
    events::on_property_changed(&host, property("p2", "America/New_York")).expect("p2");
    admin::assign(&host, "p1", IGLOOHOME(), "L1", Some(7), Some(45)).expect("assign");
    let p1 = property("p1", "Europe/Paris");
    events::on_booking_changed(&host, booking("b1", "p1", "2026-03-20", "2026-03-22", true), p1.clone()).expect("b1");
    events::on_booking_changed(&host, booking("b2", "p1", "2026-04-02", "2026-04-05", true), p1.clone()).expect("b2");
    events::on_booking_changed(&host, booking("b3", "p1", "2026-03-18", "2026-03-19", false), p1).expect("b3");
    events::on_booking_changed(
        &host,
        booking("b4", "p2", "2026-03-21", "2026-03-23", true),
        property("p2", "America/New_York"),
    )
    .expect("b4");
    tick_at(&host, instant("2026-03-16", 0, 0));
    tick_at(&host, instant("2026-03-16", 0, 15));
    host.now.set(instant("2026-03-16", 1, 0));
    assert_eq!(admin::booking_status(&host, "b1").unwrap().state, CodeState::OnLock, "set-up: b1 on the lock");
    host
}

fn snapshot(host: &Host) -> BTreeMap<String, Vec<u8>> {
    host.kv.borrow().clone()
}

/// The first differing key, for a readable failure.
fn diff(before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) -> String {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for k in keys {
        let (a, b) = (before.get(k), after.get(k));
        if a != b {
            let show =
                |v: Option<&Vec<u8>>| v.map(|v| String::from_utf8_lossy(v).chars().take(300).collect::<String>());
            return format!("key {k:?}: before {:?}, after {:?}", show(a), show(b));
        }
    }
    "no difference".into()
}

fn assert_unchanged(host: &Host, before: &BTreeMap<String, Vec<u8>>, what: &str) -> Result<(), TestCaseError> {
    let after = snapshot(host);
    prop_assert!(&after == before, "{what}: storage changed after an error: {}", diff(before, &after));
    Ok(())
}

fn assert_secret_never_logged(host: &Host) -> Result<(), TestCaseError> {
    let logs = host.logs.borrow();
    prop_assert!(!logs.iter().any(|(_, m)| m.contains(SECRET)), "R2: the secret is in a log line");
    Ok(())
}

/// Short text of a possibly huge input, for failure messages.
fn short(s: &str) -> String {
    if s.len() <= 80 {
        format!("{s:?}")
    } else {
        format!("{:?}... ({} bytes)", s.chars().take(40).collect::<String>(), s.len())
    }
}

// ---------------------------------------------------------------------------
// Oracles: what the spec calls valid, written independently of the plugin
// ---------------------------------------------------------------------------

fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID_LEN && !s.chars().any(char::is_control)
}

fn valid_text(s: &str) -> bool {
    s.len() <= MAX_NAME_LEN && !s.chars().any(char::is_control)
}

fn two_digits(b: &[u8]) -> Option<u32> {
    match b {
        [x, y] if x.is_ascii_digit() && y.is_ascii_digit() => Some(u32::from(x - b'0') * 10 + u32::from(y - b'0')),
        _ => None,
    }
}

/// Strictly `YYYY-MM-DD`, a real calendar date.
fn strict_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = two_digits(&b[0..2])? * 100 + two_digits(&b[2..4])?;
    NaiveDate::from_ymd_opt(year as i32, two_digits(&b[5..7])?, two_digits(&b[8..10])?)
}

/// Strictly `HH:MM`, 00:00 to 23:59.
fn strict_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 5
        && b[2] == b':'
        && two_digits(&b[0..2]).is_some_and(|h| h < 24)
        && two_digits(&b[3..5]).is_some_and(|m| m < 60)
}

fn valid_tz(s: &str) -> bool {
    s.parse::<chrono_tz::Tz>().is_ok()
}

/// The fields of a property that are bad, named as the plugin's errors name them.
fn bad_property_fields(p: &PropertyFacts) -> BTreeSet<String> {
    let mut bad = BTreeSet::new();
    let mut flag = |ok: bool, field: &str| {
        if !ok {
            bad.insert(format!("property.{field}"));
        }
    };
    flag(valid_id(&p.id), "id");
    flag(valid_text(&p.name), "name");
    flag(valid_tz(&p.timezone), "timezone");
    flag(p.check_in_time.as_deref().is_none_or(strict_time), "check-in-time");
    flag(p.check_out_time.as_deref().is_none_or(strict_time), "check-out-time");
    bad
}

fn bad_booking_fields(b: &BookingFacts, p: &PropertyFacts) -> BTreeSet<String> {
    let mut bad = bad_property_fields(p);
    let mut flag = |ok: bool, field: &str| {
        if !ok {
            bad.insert(field.to_string());
        }
    };
    flag(valid_id(&b.id), "booking.id");
    flag(valid_id(&b.property_id), "booking.property-id");
    flag(b.guest_name.as_deref().is_none_or(valid_text), "booking.guest-name");
    let (check_in, check_out) = (strict_date(&b.check_in), strict_date(&b.check_out));
    flag(check_in.is_some(), "booking.check-in");
    flag(check_out.is_some(), "booking.check-out");
    if let (Some(i), Some(o)) = (check_in, check_out) {
        flag(o > i, "booking.check-out");
    }
    flag(b.check_in_time.as_deref().is_none_or(strict_time), "booking.check-in-time");
    flag(b.check_out_time.as_deref().is_none_or(strict_time), "booking.check-out-time");
    flag(b.property_id == p.id, "property.id");
    bad
}

fn invalid_field(e: &PluginError) -> Option<&str> {
    match e {
        PluginError::InvalidInput { field, .. } => Some(field),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Input strategies
// ---------------------------------------------------------------------------

fn huge(unit: &'static str) -> impl Strategy<Value = String> {
    (0usize..3).prop_map(move |extra| unit.repeat(10 * 1024 / unit.len() + extra))
}

/// Ids: plausible, boundary lengths, unicode, control characters, empty, huge.
fn any_id(usual: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        60 => proptest::sample::select(usual).prop_map(str::to_string),
        6 => "[a-zA-Z0-9 _./%:-]{1,24}",
        4 => "\\PC{1,24}",
        1 => Just(String::new()),
        1 => "[a-z]{0,6}[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}][a-z]{0,6}",
        1 => Just("x".repeat(MAX_ID_LEN)),
        1 => Just("x".repeat(MAX_ID_LEN + 1)),
        1 => Just("€".repeat(MAX_ID_LEN / 3 + 1)),
        1 => Just("a\u{200b}b\u{202e}c\u{feff}".to_string()),
        1 => huge("\u{1F511}"),
        1 => huge("k"),
    ]
    .boxed()
}

fn any_text() -> BoxedStrategy<String> {
    prop_oneof![
        30 => "[A-Za-z ,.'-]{0,30}",
        4 => "\\PC{0,30}",
        1 => "[a-z ]{0,6}[\\x00-\\x1f\\x7f\\u{85}][a-z]{0,6}",
        1 => Just("n".repeat(MAX_NAME_LEN)),
        1 => Just("n".repeat(MAX_NAME_LEN + 1)),
        1 => huge("Ω"),
    ]
    .boxed()
}

const BAD_DATES: &[&str] = &[
    "2026-02-30",
    "20260320",
    "",
    "2026-13-01",
    "2026-00-10",
    "2026-03-00",
    "2026-03-32",
    "2026-3-20",
    "26-03-20",
    "2026-03-20T15:00",
    " 2026-03-20",
    "2026-03-20 ",
    "2026/03/20",
    "２０２６-０３-２０",
    "+2026-03-20",
    "2026-03-2x",
    "2025-02-29",
    "1900-02-29",
    "9999-99-99",
    "-001-01-01",
    "2026-W12-5",
    "2026-079",
    "0000-00-00",
];

fn date_string(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

fn valid_date() -> BoxedStrategy<NaiveDate> {
    let base = NaiveDate::from_ymd_opt(2026, 2, 1).unwrap();
    prop_oneof![
        8 => (0u64..120).prop_map(move |d| base + Days::new(d)),
        1 => (0i32..=9999, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap()),
        1 => proptest::sample::select(&["2024-02-29", "0000-01-01", "9999-12-31", "2026-03-29", "2026-10-25", "2026-04-05"][..])
            .prop_map(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()),
    ]
    .boxed()
}

fn bad_date() -> BoxedStrategy<String> {
    prop_oneof![
        6 => proptest::sample::select(BAD_DATES).prop_map(str::to_string),
        2 => ".{0,12}",
        1 => "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        1 => huge("9"),
    ]
    .boxed()
}

/// (check-in, check-out): mostly real dates, check-out from 3 days before
/// to 10 days after check-in, sometimes spoiled.
fn stay() -> BoxedStrategy<(String, String)> {
    let nights = prop_oneof![9 => 1i64..10, 1 => -3i64..=0];
    (valid_date(), nights, prop::option::weighted(0.05, bad_date()), prop::option::weighted(0.05, bad_date()))
        .prop_map(|(check_in, nights, bad_in, bad_out)| {
            let out = if nights >= 0 {
                check_in.checked_add_days(Days::new(nights as u64))
            } else {
                check_in.checked_sub_days(Days::new(nights.unsigned_abs()))
            };
            (
                bad_in.unwrap_or_else(|| date_string(check_in)),
                bad_out.unwrap_or_else(|| out.map(date_string).unwrap_or_else(|| "overflow".into())),
            )
        })
        .boxed()
}

const BAD_TIMES: &[&str] = &[
    "24:00",
    "9:00",
    "12:60",
    "",
    "12:00:00",
    "12h00",
    " 12:00",
    "12:0",
    "１２:００",
    "-1:00",
    "99:99",
    "12:5a",
    "12.30",
    "noon",
];

fn any_time() -> BoxedStrategy<Option<String>> {
    prop_oneof![
        16 => Just(None),
        20 => (0u32..24, 0u32..60).prop_map(|(h, m)| Some(format!("{h:02}:{m:02}"))),
        2 => proptest::sample::select(BAD_TIMES).prop_map(|s| Some(s.to_string())),
        1 => ".{0,6}".prop_map(Some),
        1 => huge("0").prop_map(Some),
    ]
    .boxed()
}

const ZONES: &[&str] = &[
    "Europe/Paris",
    "America/New_York",
    "Australia/Sydney",
    "UTC",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Europe/London",
];
const BAD_ZONES: &[&str] = &[
    "",
    "Europe/Atlantis",
    "Mars/Olympus",
    "UTC+2",
    "+02:00",
    " Europe/Paris",
    "Europe/Paris ",
    "europe/paris",
    "Europe//Paris",
    "Europe/Paris\0",
    "../../etc/localtime",
];

fn any_zone() -> BoxedStrategy<String> {
    prop_oneof![
        30 => proptest::sample::select(ZONES).prop_map(str::to_string),
        3 => proptest::sample::select(BAD_ZONES).prop_map(str::to_string),
        1 => "[A-Za-z/_]{0,20}",
        1 => huge("Z"),
    ]
    .boxed()
}

fn any_property() -> BoxedStrategy<PropertyFacts> {
    (any_id(&["p1", "p1", "p2", "p3"]), any_text(), any_zone(), any_time(), any_time())
        .prop_map(|(id, name, timezone, check_in_time, check_out_time)| PropertyFacts {
            id,
            name,
            timezone,
            check_in_time,
            check_out_time,
        })
        .boxed()
}

/// A booking event: the booking and the property it carries (usually the
/// booking's own property, sometimes another id).
fn any_booking_event() -> BoxedStrategy<(BookingFacts, PropertyFacts)> {
    (
        any_id(&["b1", "b2", "b3", "b4", "b5"]),
        prop::option::of(any_text()),
        stay(),
        any_time(),
        any_time(),
        any::<bool>(),
        any_property(),
        prop::option::weighted(0.1, any_id(&["p1", "p2", "p9"])),
    )
        .prop_map(
            |(
                id,
                guest_name,
                (check_in, check_out),
                check_in_time,
                check_out_time,
                confirmed,
                property,
                other_property,
            )| {
                let booking = BookingFacts {
                    id,
                    property_id: other_property.unwrap_or_else(|| property.id.clone()),
                    guest_name,
                    check_in,
                    check_out,
                    check_in_time,
                    check_out_time,
                    confirmed,
                };
                (booking, property)
            },
        )
        .boxed()
}

// ---------------------------------------------------------------------------
// Vendor-answer strategies
// ---------------------------------------------------------------------------

const KEYS: &[&str] = &[
    "access_token",
    "expires_in",
    "token_type",
    "payload",
    "nextCursor",
    "deviceId",
    "type",
    "deviceName",
    "linkedDevices",
    "jobId",
    "completed",
    "jobResponse",
    "jobStatus",
    "message",
    "error",
    "id",
];

fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(i64::MAX)),
        Just(json!(u64::MAX)),
        Just(json!(1e300)),
        ".{0,12}".prop_map(Value::from),
        proptest::sample::select(
            &["Lock", "Bridge", "Keypad", "lock", "L1", "B1", "", "job-1", "bridge offline", "Unauthorized"][..]
        )
        .prop_map(Value::from),
    ]
    .boxed()
}

fn json_value() -> BoxedStrategy<Value> {
    json_leaf()
        .prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![3 => proptest::sample::select(KEYS).prop_map(str::to_string), 1 => "[a-z]{0,5}"],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
        .boxed()
}

/// Well-formed answers of every endpoint (good and bad news).
fn good_bodies() -> Vec<Value> {
    vec![
        good_token(),
        good_devices(),
        json!({"jobId": "job-1"}),
        json!({"jobId": 12345}),
        json!({"jobId": "job-1", "completed": true, "jobResponse": {"jobStatus": 0}}),
        json!({"jobId": "job-1", "completed": false}),
        json!({"jobId": "job-1", "completed": true, "jobResponse": {"jobStatus": 2, "message": "expired"}}),
        json!({"message": "bridge is offline"}),
        json!({"error": "invalid_client"}),
        json!({"nextCursor": "again", "payload": []}),
    ]
}

/// Counts the positions (values) in a JSON tree.
fn positions(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(positions).sum(),
        Value::Object(o) => o.values().map(positions).sum(),
        _ => 0,
    }
}

enum Walk {
    Next,
    Done,
    Remove,
}

/// Replaces the value at pre-order position `at` (0 = the root) with `with`,
/// or removes it from its parent when `with` is `None`.
fn mutate(v: &mut Value, at: &mut usize, with: &Option<Value>) -> Walk {
    if *at == 0 {
        return match with {
            Some(w) => {
                *v = w.clone();
                Walk::Done
            }
            None => Walk::Remove,
        };
    }
    *at -= 1;
    match v {
        Value::Array(items) => {
            for i in 0..items.len() {
                match mutate(&mut items[i], at, with) {
                    Walk::Next => {}
                    Walk::Done => return Walk::Done,
                    Walk::Remove => {
                        items.remove(i);
                        return Walk::Done;
                    }
                }
            }
        }
        Value::Object(fields) => {
            let keys: Vec<String> = fields.keys().cloned().collect();
            for k in keys {
                let Some(child) = fields.get_mut(&k) else { continue };
                match mutate(child, at, with) {
                    Walk::Next => {}
                    Walk::Done => return Walk::Done,
                    Walk::Remove => {
                        fields.remove(&k);
                        return Walk::Done;
                    }
                }
            }
        }
        _ => {}
    }
    Walk::Next
}

/// A well-formed answer with one value replaced by random JSON or removed.
fn spoiled_good_body() -> BoxedStrategy<Vec<u8>> {
    (proptest::sample::select(good_bodies()), any::<Index>(), prop::option::weighted(0.75, json_value()))
        .prop_map(|(mut v, at, with)| {
            let mut at = at.index(positions(&v));
            match mutate(&mut v, &mut at, &with) {
                Walk::Remove => Vec::new(),
                Walk::Next | Walk::Done => v.to_string().into_bytes(),
            }
        })
        .boxed()
}

fn truncated_good_body() -> BoxedStrategy<Vec<u8>> {
    (proptest::sample::select(good_bodies()), any::<Index>())
        .prop_map(|(v, at)| {
            let bytes = v.to_string().into_bytes();
            let cut = at.index(bytes.len());
            bytes[..cut].to_vec()
        })
        .boxed()
}

fn any_body() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..48),
        3 => json_value().prop_map(|v| v.to_string().into_bytes()),
        3 => truncated_good_body(),
        4 => spoiled_good_body(),
        2 => proptest::sample::select(good_bodies()).prop_map(|v| v.to_string().into_bytes()),
        1 => proptest::sample::select(&[
            r#"{"access_token":"x","expires_in":1e400}"#,
            r#"{"access_token":"x","expires_in":99999999999999999999999}"#,
            r#"{"access_token":"x","expires_in":9223372036854775807}"#,
            r#"{"access_token":"x","expires_in":-9223372036854775808}"#,
            r#"{"access_token":"","expires_in":3600}"#,
            r#"{"payload":{"deviceId":"L1"}}"#,
            r#"{"payload":[{"deviceId":"L1","type":"Lock"}],"nextCursor":"x"}"#,
            r#"{"payload":[{"type":"Lock"}]}"#,
            r#"{"payload":[null]}"#,
            r#"{"jobId":1e999}"#,
            r#"{"jobId":""}"#,
            r#"{"jobId":"../../oauth2/token?x=1#"}"#,
            r#"{"completed":"yes","jobResponse":{"jobStatus":"0"}}"#,
            r#"{"completed":true,"jobResponse":{"jobStatus":18446744073709551615}}"#,
            r#"{"completed":true}"#,
            "\u{feff}{}",
            "null",
            "[]",
        ][..])
        .prop_map(|s| s.as_bytes().to_vec()),
    ]
    .boxed()
}

fn any_status() -> BoxedStrategy<u16> {
    prop_oneof![
        6 => Just(200u16),
        1 => Just(201),
        1 => Just(204),
        1 => Just(400),
        1 => Just(401),
        1 => Just(403),
        1 => Just(404),
        1 => Just(406),
        1 => Just(429),
        1 => Just(500),
        1 => Just(503),
        1 => any::<u16>(),
    ]
    .boxed()
}

fn any_headers() -> BoxedStrategy<Vec<(String, String)>> {
    prop::option::weighted(
        0.3,
        prop_oneof![
            proptest::sample::select(
                &[
                    "-5",
                    "0",
                    "60",
                    "99999999999999999999",
                    "1e3",
                    "",
                    "Wed, 21 Oct 2026 07:28:00 GMT",
                    "9223372036854775807"
                ][..]
            )
            .prop_map(str::to_string),
            ".{0,8}",
        ],
    )
    .prop_map(|retry| retry.into_iter().map(|r| ("retry-after".to_string(), r)).collect())
    .boxed()
}

fn any_answer() -> BoxedStrategy<Answer> {
    prop_oneof![
        12 => (any_status(), any_headers(), any_body()).prop_map(|(status, headers, body)| Answer::Resp { status, headers, body }),
        1 => Just(Answer::Fail(HttpError::Timeout)),
        1 => Just(Answer::Fail(HttpError::TooLarge(1 << 20))),
        1 => Just(Answer::Fail(HttpError::Transport("connection reset".into()))),
        1 => Just(Answer::Fail(HttpError::Forbidden("not on the allow-list".into()))),
    ]
    .boxed()
}

/// Answers to `GET /devices` that can never be a usable device list.
fn broken_device_answer() -> BoxedStrategy<Answer> {
    let resp = |status: u16, body: Vec<u8>| Answer::Resp { status, headers: Vec::new(), body };
    prop_oneof![
        // A status that is not a 2xx (401 twice is a refusal too).
        (prop_oneof![300u16..400, 400u16..600, 0u16..200, 600u16..=u16::MAX], any_body())
            .prop_map(move |(s, b)| resp(s, b)),
        // Not JSON at all, or JSON cut short.
        (
            200u16..300,
            prop::collection::vec(any::<u8>(), 0..24)
                .prop_filter("not JSON", |b| serde_json::from_slice::<Value>(b).is_err())
        )
            .prop_map(move |(s, b)| resp(s, b)),
        (200u16..300, truncated_good_body().prop_filter("not JSON", |b| serde_json::from_slice::<Value>(b).is_err()))
            .prop_map(move |(s, b)| resp(s, b)),
        // JSON without a payload array.
        (200u16..300, json_value().prop_filter("no payload array", |v| !v.get("payload").is_some_and(Value::is_array)))
            .prop_map(move |(s, v)| resp(s, v.to_string().into_bytes())),
        // A payload with a device that has no usable deviceId.
        (
            200u16..300,
            prop_oneof![
                Just(Value::Null),
                json_leaf().prop_filter("not a non-empty string", |v| v.as_str().is_none_or(str::is_empty))
            ],
            any::<Index>()
        )
            .prop_map(move |(s, id, at)| {
                let mut payload = good_devices()["payload"].as_array().cloned().unwrap_or_default();
                let i = at.index(payload.len());
                if id.is_null() {
                    payload[i].as_object_mut().map(|o| o.remove("deviceId"));
                } else {
                    payload[i]["deviceId"] = id;
                }
                resp(s, json!({"nextCursor": "", "payload": payload}).to_string().into_bytes())
            }),
        // A cursor that never ends.
        Just(resp(200, br#"{"nextCursor":"again","payload":[]}"#.to_vec())),
        Just(Answer::Fail(HttpError::Timeout)),
        Just(Answer::Fail(HttpError::TooLarge(1 << 20))),
    ]
    .boxed()
}

/// Only the shapes of request the client documents; nothing a garbage
/// answer (job id, cursor) could steer elsewhere.
fn allowed_url(url: &str) -> bool {
    if url == TOKEN_URL {
        return true;
    }
    let Some(path) = url.strip_prefix(API_BASE) else { return false };
    let segment = |s: &str| !s.is_empty() && !s.contains(['/', '?', '#']) && s != "." && s != "..";
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["", "devices"] => true,
        ["", d] if d.starts_with("devices?cursor=") => {
            !d.contains('#') && d.matches('?').count() == 1 && !d[15..].contains('&')
        }
        ["", "devices", lock, "jobs", "bridges", bridge] => segment(lock) && segment(bridge),
        ["", "jobs", job] => segment(job),
        _ => false,
    }
}

fn assert_urls_allowed(host: &Host) -> Result<(), TestCaseError> {
    for url in host.http.urls.borrow().iter() {
        prop_assert!(allowed_url(url), "a request went to an undocumented URL: {url}");
    }
    Ok(())
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

// ---------------------------------------------------------------------------
// Properties: events
// ---------------------------------------------------------------------------

fn check_booking_event(host: &Host, booking: BookingFacts, property: PropertyFacts) -> Result<(), TestCaseError> {
    let bad = bad_booking_fields(&booking, &property);
    let before = snapshot(host);
    let calls = host.http.calls();
    let what = format!(
        "booking {} on {} ({} / {})",
        short(&booking.id),
        short(&property.id),
        short(&booking.check_in),
        short(&booking.check_out)
    );
    let result = events::on_booking_changed(host, booking.clone(), property.clone());
    prop_assert_eq!(host.http.calls(), calls, "{}: an event made a vendor call", &what);
    match result {
        Ok(()) => {
            prop_assert!(bad.is_empty(), "{what}: accepted although {bad:?} are bad");
            let status = admin::booking_status(host, &booking.id);
            prop_assert!(
                status.as_ref().is_ok_and(|s| s.booking_id == booking.id),
                "{what}: accepted but not readable: {status:?}"
            );
        }
        Err(e) => {
            assert_unchanged(host, &before, &what)?;
            let field = invalid_field(&e);
            prop_assert!(field.is_some(), "{what}: refused with {e:?}, not InvalidInput");
            prop_assert!(
                bad.contains(field.unwrap_or_default()),
                "{what}: error {e:?} names a field that is not bad (bad: {bad:?})"
            );
        }
    }
    Ok(())
}

fn check_property_event(host: &Host, property: PropertyFacts) -> Result<(), TestCaseError> {
    let bad = bad_property_fields(&property);
    let before = snapshot(host);
    let calls = host.http.calls();
    let what = format!("property {} in {}", short(&property.id), short(&property.timezone));
    let result = events::on_property_changed(host, property.clone());
    prop_assert_eq!(host.http.calls(), calls, "{}: an event made a vendor call", &what);
    match result {
        Ok(()) => prop_assert!(bad.is_empty(), "{what}: accepted although {bad:?} are bad"),
        Err(e) => {
            assert_unchanged(host, &before, &what)?;
            let field = invalid_field(&e);
            prop_assert!(field.is_some(), "{what}: refused with {e:?}, not InvalidInput");
            prop_assert!(
                bad.contains(field.unwrap_or_default()),
                "{what}: error {e:?} names a field that is not bad (bad: {bad:?})"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(1024))]

    /// SPEC 4: any booking event either is valid and accepted, or is refused
    /// with InvalidInput naming one of its bad fields, storage unchanged.
    #[test]
    fn bad_input_random_bookings_never_panic_and_leave_state_unchanged_on_error(
        events in prop::collection::vec(any_booking_event(), 1..5),
    ) {
        let host = setup();
        for (booking, property) in events {
            check_booking_event(&host, booking, property)?;
        }
        // Whatever was accepted, the tick can still work on it.
        tick::on_tick(&host, host.now.get() + 60).map_err(|e| TestCaseError::fail(format!("tick after the events: {e}")))?;
        assert_secret_never_logged(&host)?;
    }

    /// SPEC 4: the same for property events.
    #[test]
    fn bad_input_random_properties_never_panic_and_leave_state_unchanged_on_error(
        properties in prop::collection::vec(any_property(), 1..5),
    ) {
        let host = setup();
        for property in properties {
            check_property_event(&host, property)?;
        }
        tick::on_tick(&host, host.now.get() + 60).map_err(|e| TestCaseError::fail(format!("tick after the events: {e}")))?;
    }

    /// R5 + SPEC 4: settings in range are saved as given; out of range they
    /// are refused naming the setting, with nothing half-saved.
    #[test]
    fn bad_input_assign_settings_in_range_saved_out_of_range_refused_unchanged(
        reassign in any::<bool>(),
        lock in proptest::sample::select(&["L1", "L2", "L3"][..]),
        days in prop::option::weighted(0.9, prop_oneof![any::<i32>(), -3i32..20, Just(i32::MIN), Just(i32::MAX), Just(0), Just(1), Just(14), Just(15)]),
        margin in prop::option::weighted(0.9, prop_oneof![any::<i32>(), -3i32..260, Just(i32::MIN), Just(i32::MAX), Just(-1), Just(0), Just(240), Just(241)]),
    ) {
        let host = setup();
        let property = if reassign { "p1" } else { "p2" };
        // p1 holds (7, 45) from the set-up; p2 has no lock yet: the defaults.
        let (current_days, current_margin) = if reassign { (7, 45) } else { (5, 30) };
        let expected_days = days.unwrap_or(current_days);
        let expected_margin = margin.unwrap_or(current_margin);
        let days_ok = (1..=14).contains(&expected_days);
        let margin_ok = (0..=240).contains(&expected_margin);
        let before = snapshot(&host);
        let previous = admin::assignment(&host, property).expect("read");
        match admin::assign(&host, property, IGLOOHOME(), lock, days, margin) {
            Ok(a) => {
                prop_assert!(days_ok && margin_ok, "accepted days {days:?} margin {margin:?}");
                prop_assert_eq!((a.days_before, a.margin_minutes), (expected_days as u32, expected_margin as u32));
                prop_assert_eq!((a.lock_id.as_str(), a.channel.as_str()), (lock, "B1"));
                prop_assert_eq!(admin::assignment(&host, property).expect("read"), Some(a));
            }
            Err(e) => {
                assert_unchanged(&host, &before, "assign")?;
                prop_assert_eq!(admin::assignment(&host, property).expect("read"), previous);
                let mut bad = Vec::new();
                if !days_ok { bad.push("days-before"); }
                if !margin_ok { bad.push("margin-minutes"); }
                let field = invalid_field(&e).unwrap_or_default().to_string();
                prop_assert!(bad.contains(&field.as_str()), "days {days:?} margin {margin:?}: refused with {e:?} (bad: {bad:?})");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Properties: vendor answers
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    /// R1 + SPEC 4: whatever igloohome answers, connect does not panic; when
    /// it fails nothing is stored (nor the previous connection disturbed),
    /// when it succeeds the account is connected.
    #[test]
    fn vendor_random_answers_to_connect_never_panic_and_store_nothing_on_error(
        already_connected in any::<bool>(),
        token_first in any::<bool>(),
        script in prop::collection::vec(any_answer(), 0..8),
    ) {
        let host = if already_connected { setup() } else { MemoryHost::new(Fake::new(), instant("2026-03-16", 0, 0)) };
        // Half the cases get a token, so the device list is what is random.
        let mut script = script;
        if token_first {
            script.insert(0, Answer::Resp { status: 200, headers: Vec::new(), body: good_token().to_string().into_bytes() });
        }
        host.http.play(Mode::Script, script);
        let before = snapshot(&host);
        match admin::connect(&host, IGLOOHOME(), igloohome("other-client", SECRET)) {
            Ok(account) => {
                prop_assert!(!account.name.is_empty());
                let accounts = admin::accounts(&host).expect("accounts");
                prop_assert_eq!(accounts.len(), 1);
            }
            Err(e) => {
                assert_unchanged(&host, &before, &format!("connect failing with {e:?}"))?;
                prop_assert!(matches!(e, PluginError::CredentialsRejected(_) | PluginError::VendorUnavailable(_)), "unexpected error {e:?}");
            }
        }
        assert_urls_allowed(&host)?;
        assert_secret_never_logged(&host)?;
    }

    /// R1: a token but no usable device list is a failed connect that
    /// stores nothing.
    #[test]
    fn vendor_broken_device_lists_make_connect_fail_and_store_nothing(
        already_connected in any::<bool>(),
        script in prop::collection::vec(broken_device_answer(), 1..4),
    ) {
        let host = if already_connected { setup() } else { MemoryHost::new(Fake::new(), instant("2026-03-16", 0, 0)) };
        host.http.play(Mode::GoodTokenScriptedApi, script);
        let before = snapshot(&host);
        let result = admin::connect(&host, IGLOOHOME(), igloohome("other-client", SECRET));
        prop_assert!(result.is_err(), "connected on a broken device list: {result:?}");
        assert_unchanged(&host, &before, "connect")?;
        assert_urls_allowed(&host)?;
    }

    /// R3 + SPEC 4: list-locks never panics on any answer; on any well-formed
    /// list every lock it returns is a Lock device of the list, and its
    /// bridge is a Bridge whose linkedDevices (objects or strings) name it.
    #[test]
    fn vendor_random_answers_to_list_locks_never_panic_and_stay_on_the_api(
        script in prop::collection::vec(any_answer(), 0..6),
    ) {
        let host = setup();
        host.http.play(Mode::Script, script);
        if let Ok(locks) = admin::list_locks(&host, IGLOOHOME()) {
            for lock in &locks {
                prop_assert!(!lock.id.is_empty());
            }
        }
        assert_urls_allowed(&host)?;
    }

    #[test]
    fn vendor_device_lists_with_odd_linked_devices_give_exactly_the_linked_locks(
        devices in prop::collection::vec(any_device(), 0..7),
        cursor in prop_oneof![Just(None), Just(Some(json!(""))), Just(Some(Value::Null)), Just(Some(json!(5))), Just(Some(json!({})))],
    ) {
        let host = setup();
        let mut page = json!({"payload": devices.clone()});
        if let Some(c) = cursor {
            page["nextCursor"] = c;
        }
        host.http.play(Mode::Script, vec![Answer::Resp { status: 200, headers: Vec::new(), body: page.to_string().into_bytes() }]);
        let result = admin::list_locks(&host, IGLOOHOME());
        let id_of = |d: &Value| d.get("deviceId").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        if devices.iter().any(|d| id_of(d).is_none()) {
            prop_assert!(result.is_err(), "a device without a deviceId was accepted: {result:?}");
            return Ok(());
        }
        let locks = result.map_err(|e| TestCaseError::fail(format!("a well-formed list was refused: {e}")))?;
        let kind = |d: &Value| d.get("type").and_then(Value::as_str).map(str::to_ascii_lowercase);
        let expected: Vec<String> = devices.iter().filter(|d| kind(d).as_deref() == Some("lock")).filter_map(id_of).collect();
        prop_assert_eq!(locks.iter().map(|l| l.id.clone()).collect::<Vec<_>>(), expected);
        let links = |bridge: &Value, lock: &str| {
            bridge.get("linkedDevices").and_then(Value::as_array).is_some_and(|items| {
                items.iter().any(|i| i.as_str() == Some(lock) || i.get("deviceId").and_then(Value::as_str) == Some(lock))
            })
        };
        let lock_devices = devices.iter().filter(|d| kind(d).as_deref() == Some("lock"));
        for (lock, device) in locks.iter().zip(lock_devices) {
            let name = device.get("deviceName").and_then(Value::as_str).unwrap_or(&lock.id);
            prop_assert_eq!(&lock.name, name);
            let serving: Vec<String> = devices.iter().filter(|d| kind(d).as_deref() == Some("bridge") && links(d, &lock.id)).filter_map(id_of).collect();
            let bridge = lock.remote.as_ref().filter(|r| r.kind == "bridge").and_then(|r| r.via.as_ref());
            match bridge {
                Some(b) => prop_assert!(serving.contains(b), "lock {} given bridge {b}, which does not link it ({serving:?})", lock.id),
                None => prop_assert!(serving.is_empty(), "lock {} has bridges {serving:?} but none was found", lock.id),
            }
        }
    }
}

fn any_device() -> BoxedStrategy<Value> {
    let id = prop_oneof![
        8 => proptest::sample::select(&["L1", "L2", "L3", "B1", "B2", "K1"][..]).prop_map(Value::from),
        1 => Just(Value::Null),
        1 => json_leaf(),
    ];
    let kind = prop_oneof![
        4 => proptest::sample::select(&["Lock", "Bridge", "Keypad", "lock", "BRIDGE", "Locks", ""][..]).prop_map(Value::from),
        1 => json_leaf(),
    ];
    let item = prop_oneof![
        4 => proptest::sample::select(&["L1", "L2", "L3", "B1", ""][..]).prop_map(Value::from),
        4 => proptest::sample::select(&["L1", "L2", "L3"][..]).prop_map(|l| json!({"type": "Lock", "deviceId": l})),
        1 => proptest::sample::select(&["L1", "L2"][..]).prop_map(|l| json!({"id": l})),
        1 => json_value(),
    ];
    let linked = prop_oneof![
        6 => prop::collection::vec(item, 0..4).prop_map(Value::Array),
        1 => Just(json!({"deviceId": "L1"})),
        1 => Just(json!("L1")),
        1 => json_leaf(),
    ];
    (id, kind, prop::option::of(json_leaf()), prop::option::weighted(0.8, linked), any::<bool>())
        .prop_map(|(id, kind, name, linked, name_is_text)| {
            let mut d = serde_json::Map::new();
            if !id.is_null() {
                d.insert("deviceId".into(), id);
            }
            d.insert("type".into(), kind);
            if let Some(name) = name {
                d.insert("deviceName".into(), if name_is_text { json!("A door") } else { name });
            }
            if let Some(linked) = linked {
                d.insert("linkedDevices".into(), linked);
            }
            Value::Object(d)
        })
        .boxed()
}

// ---------------------------------------------------------------------------
// Properties: ticks against a misbehaving vendor
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    /// SPEC 4 + R11: garbage from igloohome during the creation ticks never
    /// panics or fails a tick, never steers a request elsewhere, and is
    /// retried: once igloohome answers well again every booking gets its code
    /// with the planned window before the alert time, with distinct PINs.
    #[test]
    fn vendor_random_answers_during_ticks_never_panic_and_are_retried(
        bookings in 1usize..=3,
        script in prop::collection::vec(any_answer(), 1..16),
        bad_ticks in 1usize..10,
        step_minutes in proptest::sample::select(&[1i64, 5, 15, 60][..]),
    ) {
        let host = MemoryHost::new(Fake::new(), instant("2026-03-16", 0, 0));
        admin::connect(&host, IGLOOHOME(), igloohome(CLIENT_ID, SECRET)).expect("connect");
        let p1 = property("p1", "Europe/Paris");
        events::on_property_changed(&host, p1.clone()).expect("p1");
        admin::assign(&host, "p1", IGLOOHOME(), "L1", Some(1), Some(30)).expect("assign");
        let ids: Vec<String> = (1..=bookings).map(|i| format!("b{i}")).collect();
        for id in &ids {
            events::on_booking_changed(&host, booking(id, "p1", "2026-03-20", "2026-03-22", true), p1.clone()).expect("booking");
        }
        // Creation: March 19 00:00 Paris = March 18 23:00Z.
        let create_at = instant("2026-03-18", 23, 0);
        host.http.play(Mode::Script, script);
        let mut t = create_at;
        for _ in 0..bad_ticks {
            host.now.set(t);
            let r = tick::on_tick(&host, t);
            prop_assert!(r.is_ok(), "a tick failed on vendor garbage: {r:?}");
            for id in &ids {
                let s = admin::booking_status(&host, id);
                prop_assert!(s.is_ok(), "status of {id} unreadable: {s:?}");
            }
            t += step_minutes * 60;
        }
        host.http.play(Mode::Good, Vec::new());
        // Good answers until 17:00 Paris on the eve (before the alert).
        t = t.div_euclid(900) * 900 + 900;
        while t <= instant("2026-03-19", 16, 0) {
            host.now.set(t);
            let r = tick::on_tick(&host, t);
            prop_assert!(r.is_ok(), "a tick failed: {r:?}");
            t += 900;
        }
        let mut pins = BTreeSet::new();
        for id in &ids {
            let s = admin::booking_status(&host, id).expect("status");
            prop_assert_eq!(s.state, CodeState::OnLock, "{} did not recover: {:?}", id, s);
            let w = s.window.clone().expect("window");
            prop_assert_eq!((w.start, w.end), (instant("2026-03-20", 13, 30), instant("2026-03-22", 10, 30)));
            let pin = s.pin.clone().unwrap_or_default();
            prop_assert!(pin.len() == 6 && pin.bytes().all(|b| b.is_ascii_digit()), "bad PIN {pin:?}");
            prop_assert!(pins.insert(pin.clone()), "PIN {pin} given twice on L1");
        }
        prop_assert!(host.mails.borrow().is_empty(), "an alert went out: {:?}", host.mails.borrow());
        assert_urls_allowed(&host)?;
        assert_secret_never_logged(&host)?;
    }
}

// ---------------------------------------------------------------------------
// Deterministic edge cases
// ---------------------------------------------------------------------------

/// Pacific/Apia skipped 2011-12-30: a stay from the 30th to 00:00 on the
/// 31st with no margin has an empty window, which the plugin rightly
/// refuses. But a booking event whose property facts changed (Paris ->
/// Apia) is refused only after the property change was saved and the
/// property's other bookings re-planned: SPEC 4 says stored state stays
/// unchanged.
#[test]
fn bad_input_impossible_window_refuses_the_whole_booking_event() {
    let host = MemoryHost::new(Fake::new(), instant("2026-03-16", 0, 0));
    admin::connect(&host, IGLOOHOME(), igloohome(CLIENT_ID, SECRET)).expect("connect");
    events::on_property_changed(&host, property("p1", "Europe/Paris")).expect("p1");
    admin::assign(&host, "p1", IGLOOHOME(), "L1", Some(5), Some(0)).expect("margin 0");
    let before = snapshot(&host);
    let apia = PropertyFacts { check_out_time: Some("00:00".into()), ..property("p1", "Pacific/Apia") };
    let result = events::on_booking_changed(&host, booking("b9", "p1", "2011-12-30", "2011-12-31", true), apia);
    let field = result.as_ref().err().and_then(invalid_field).map(str::to_string);
    assert!(
        field.as_deref().is_some_and(|f| f.contains("check-out") || f.contains("check-in")),
        "refused naming a date: {result:?}"
    );
    let after = snapshot(&host);
    assert!(after == before, "storage changed: {}", diff(&before, &after));
}

/// The same impossible window reached through an assignment or a property
/// change: refused naming the date, nothing half-saved.
#[test]
fn bad_input_impossible_window_through_assign_or_property_change_is_refused_unchanged() {
    let host = MemoryHost::new(Fake::new(), instant("2026-03-16", 0, 0));
    admin::connect(&host, IGLOOHOME(), igloohome(CLIENT_ID, SECRET)).expect("connect");
    let apia =
        |check_out: &str| PropertyFacts { check_out_time: Some(check_out.into()), ..property("p2", "Pacific/Apia") };
    events::on_booking_changed(&host, booking("b9", "p2", "2011-12-30", "2011-12-31", true), apia("00:00"))
        .expect("no lock yet: stored");

    let before = snapshot(&host);
    let refused = admin::assign(&host, "p2", IGLOOHOME(), "L2", Some(5), Some(0));
    assert!(refused.as_ref().err().and_then(invalid_field).is_some_and(|f| f.contains("check-")), "{refused:?}");
    assert!(snapshot(&host) == before, "assign half-saved: {}", diff(&before, &snapshot(&host)));

    admin::assign(&host, "p2", IGLOOHOME(), "L2", Some(5), Some(30)).expect("margin 30 works");
    let before = snapshot(&host);
    let refused = admin::assign(&host, "p2", IGLOOHOME(), "L2", None, Some(0));
    assert!(refused.as_ref().err().and_then(invalid_field).is_some_and(|f| f.contains("check-")), "{refused:?}");
    assert!(snapshot(&host) == before, "settings change half-saved: {}", diff(&before, &snapshot(&host)));

    // Margin 0 with an 11:00 check-out is fine; moving check-out to 00:00 is not.
    events::on_property_changed(&host, apia("11:00")).expect("11:00");
    admin::assign(&host, "p2", IGLOOHOME(), "L2", None, Some(0)).expect("margin 0 with 11:00");
    let before = snapshot(&host);
    let refused = events::on_property_changed(&host, apia("00:00"));
    assert!(refused.as_ref().err().and_then(invalid_field).is_some_and(|f| f.contains("check-")), "{refused:?}");
    assert!(snapshot(&host) == before, "property change half-saved: {}", diff(&before, &snapshot(&host)));
}

/// R5 (and the first hour of a new user): every refused setting is named
/// in one answer, and nothing is saved.
#[test]
fn r5_every_refused_setting_is_named_at_once() {
    let host = setup();
    let before = host.kv.borrow().clone();
    match admin::assign(&host, "p1", IGLOOHOME(), "L1", Some(0), Some(500)) {
        Err(smartlock_plugin::PluginError::InvalidInput { field, reason }) => {
            assert_eq!(field, "days-before");
            assert!(
                reason.contains("between 1 and 14") && reason.contains("margin_minutes must be between 0 and 240"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(*host.kv.borrow(), before, "nothing half-saved");
}

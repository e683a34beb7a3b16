//! The Nuki Web API client against the faithful Nuki stub, in-process: the
//! plugin's `HttpRequest` becomes a `StubRequest` for `Service::handle`, on
//! a `MemoryHost` whose clock moves together with the stub's.

use serde_json::Value;

mod common;
use common::{lock, StubHttp, END, START, T0};

use smartlock_plugin::brands::nuki::{Client, API_BASE, OFFLINE};
use smartlock_plugin::brands::{CodeSpec, Confirmed, Found, Op, Remote, Submitted, Vendor, VendorError};
use smartlock_plugin::host::Method;
use smartlock_plugin::memory_host::MemoryHost;
use smartlock_plugin::schedule::Instant;
use smartlock_stubs::nuki::{Nuki, NukiAccount, NukiConfig, NukiEndpoint, PUSH_TIMEOUT};
use smartlock_stubs::PinRecord;

const TOKEN: &str = "nuki-t0ken-s3cret-never-logged";
/// A write is carried out 30 s after its 204; the plugin looks 2 s later.
const SETTLE: i64 = 32;

/// Keypad, online, id above 2^32.
const L1: &str = "18205286116";
/// Keypad 2.0 (`keypad2Paired`: the stub alternates), id above 2^32.
const L2: &str = "4294967297";
/// No keypad.
const L3: &str = "123";
/// Offline (`serverState` 4), keypad paired.
const L4: &str = "456";
/// Deletes leave ghosts until a sync.
const L5: &str = "789";

const PIN: &str = "482957";
const NAME: &str = "Meier (bk-4711)";

struct World {
    stub: Nuki,
    host: MemoryHost<StubHttp>,
}

fn world() -> World {
    let mut ghosts = lock(L5, "Ghost house", true, true);
    ghosts.ghost_deletes = true;
    let config = NukiConfig {
        accounts: vec![NukiAccount { api_token: TOKEN.into(), name: "Sea View Rentals".into() }],
        locks: vec![
            lock(L1, "Garden door", true, true),
            lock(L2, "Front door", true, true),
            lock(L3, "Shed", false, true),
            lock(L4, "Cabin", true, false),
            ghosts,
        ],
    };
    let stub = Nuki::new(config, T0);
    let host = MemoryHost::new(StubHttp::new(stub.clone()), T0);
    World { stub, host }
}

impl World {
    fn client(&self) -> Client<'_, MemoryHost<StubHttp>> {
        Client::new(&self.host, TOKEN)
    }

    /// Moves both clocks forward.
    fn advance(&self, secs: i64) {
        let t = self.host.now.get() + secs;
        self.stub.set_time(t);
        self.host.now.set(t);
    }

    fn count(&self, ep: NukiEndpoint) -> u64 {
        self.stub.http_counts().get(&ep.report_key()).copied().unwrap_or(0)
    }

    fn pins(&self, lock: &str) -> Vec<PinRecord> {
        self.stub.pins().into_iter().filter(|p| p.lock == lock).collect()
    }

    fn last_body(&self) -> Value {
        let sent = self.host.http.sent.borrow();
        sent.last().map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null)).unwrap_or(Value::Null)
    }

    /// Creates the PIN and waits until the lock has it; returns the auth id.
    fn put_on_lock(&self, lock: &str, pin: &str) -> String {
        let mut c = self.client();
        let code = spec(lock, pin, START, END, None);
        assert_eq!(c.create(&code), Ok(Submitted::Pending(String::new())));
        self.advance(SETTLE);
        match c.confirm(Op::Create, &code, "") {
            Ok(Confirmed::Done(Some(id))) => id,
            other => panic!("create not confirmed: {other:?}"),
        }
    }
}

fn spec<'a>(lock: &'a str, pin: &'a str, start: Instant, end: Instant, code_id: Option<&'a str>) -> CodeSpec<'a> {
    CodeSpec { lock_id: lock, channel: lock, pin, name: NAME, start, end, timezone: chrono_tz::UTC, code_id }
}

// ------------------------------------------------------------ connecting

#[test]
fn verify_loads_the_locks_with_one_request_and_names_no_account() {
    let w = world();
    let mut c = w.client();
    assert_eq!(c.verify(), Ok(None));
    let locks = c.locks().expect("locks");
    assert_eq!(locks.len(), 5);
    assert_eq!(c.requests(), 1, "connect's lock list comes from verify's request");
    assert_eq!(w.count(NukiEndpoint::Smartlock), 1);
    let sent = w.host.http.sent.borrow();
    let headers = &sent[0].headers;
    let header = |n: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.as_str());
    assert_eq!(header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!(header("accept"), Some("application/json"));
    assert_eq!(sent[0].url, format!("{API_BASE}/smartlock"));
}

#[test]
fn a_wrong_or_revoked_token_is_unauthorized_and_not_sent_again() {
    let w = world();
    let mut bad = Client::new(&w.host, "not-the-token");
    assert!(matches!(bad.verify(), Err(VendorError::Unauthorized { brand: "Nuki", .. })));
    assert!(matches!(bad.locks(), Err(VendorError::Unauthorized { .. })));
    assert_eq!(bad.requests(), 1, "a refused token is not sent twice by one client");

    let mut good = w.client();
    assert_eq!(good.verify(), Ok(None));
    w.stub.revoke_tokens();
    let mut after = w.client();
    let err = after.verify().expect_err("revoked");
    assert!(matches!(err, VendorError::Unauthorized { .. }), "{err:?}");
    assert!(err.to_string().contains("Nuki Web"), "{err}");
    let mut c = w.client();
    let e = c.create(&spec(L1, PIN, START, END, None)).expect_err("revoked");
    assert!(matches!(e, VendorError::Unauthorized { .. }));
}

#[test]
fn locks_report_keypads_names_and_ids_above_two_to_the_32() {
    let w = world();
    let locks = w.client().locks().expect("locks");
    let by_id = |id: &str| locks.iter().find(|l| l.id == id).unwrap_or_else(|| panic!("lock {id} missing"));
    assert_eq!(by_id(L1).name, "Garden door");
    assert_eq!(by_id(L1).remote, Some(Remote::direct("keypad")));
    // keypad2Paired counts as well.
    assert_eq!(by_id(L2).remote, Some(Remote::direct("keypad")));
    assert!(L2.parse::<u64>().expect("id") > 1u64 << 32);
    assert_eq!(by_id(L3).name, "Shed");
    assert_eq!(by_id(L3).remote, None, "no keypad, no remote codes");
    // Offline is still a keypad lock: its writes are retried (R11).
    assert_eq!(by_id(L4).remote, Some(Remote::direct("keypad")));
    assert_eq!(by_id(L1).channel().as_deref(), Some(L1));
}

// --------------------------------------------------------------- create

#[test]
fn create_sends_the_complete_code_and_is_confirmed_from_the_listing_after_30_s() {
    let w = world();
    let mut c = w.client();
    let code = spec(L1, PIN, START, END, None);
    assert_eq!(c.create(&code), Ok(Submitted::Pending(String::new())));
    let body = w.last_body();
    assert_eq!(body["type"], 13);
    assert_eq!(body["code"], 482957, "the code is a JSON number");
    assert_eq!(body["name"], NAME);
    assert_eq!(body["allowedFromDate"], "2026-03-20T13:30:00.000Z");
    assert_eq!(body["allowedUntilDate"], "2026-03-22T10:30:00.000Z");
    assert_eq!(body["allowedWeekDays"], 127);
    assert_eq!(body["allowedFromTime"], 0);
    assert_eq!(body["allowedUntilTime"], 0);
    assert_eq!(body["enabled"], true);
    {
        let sent = w.host.http.sent.borrow();
        let last = sent.last().expect("sent");
        assert_eq!(last.method, Method::Put);
        assert_eq!(last.url, format!("{API_BASE}/smartlock/{L1}/auth"));
        assert!(last.headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v == "application/json"));
    }

    // A 204 proves nothing: listed with an operationId, not on the lock.
    assert_eq!(c.confirm(Op::Create, &code, ""), Ok(Confirmed::Pending));
    assert!(w.pins(L1).is_empty());

    w.advance(SETTLE);
    let id = match c.confirm(Op::Create, &code, "") {
        Ok(Confirmed::Done(Some(id))) => id,
        other => panic!("{other:?}"),
    };
    assert_eq!(id.len(), 24, "the auth's id, as URLs take it");
    assert_eq!(c.requests(), 3, "create, one listing per confirm");
    assert_eq!(w.count(NukiEndpoint::AuthCreate), 1);
    assert_eq!(w.count(NukiEndpoint::AuthList), 2);
    let pins = w.pins(L1);
    assert_eq!(pins.len(), 1);
    assert_eq!((pins[0].pin.as_str(), pins[0].start, pins[0].end), (PIN, START, END));
    assert!(w.stub.opens(L1, PIN, START + 60));
    assert!(!w.stub.opens(L1, PIN, START - 60));
    assert!(!w.stub.opens(L1, PIN, END));
}

#[test]
fn a_cycle_of_create_and_confirm_on_time_costs_two_requests() {
    let w = world();
    let mut c = w.client();
    let code = spec(L2, PIN, START, END, None);
    c.create(&code).expect("create");
    w.advance(SETTLE);
    assert!(matches!(c.confirm(Op::Create, &code, ""), Ok(Confirmed::Done(Some(_)))));
    assert_eq!(c.requests(), 2);
    assert_eq!(w.stub.requests_total(), 2);
}

#[test]
fn long_names_are_cut_to_20_characters() {
    let w = world();
    let mut c = w.client();
    let mut code = spec(L1, PIN, START, END, None);
    code.name = "Maximilian Mustermann-Schmidt (bk-99999999)";
    assert_eq!(c.create(&code), Ok(Submitted::Pending(String::new())));
    assert_eq!(w.last_body()["name"], "Maximilian Mustermann".chars().take(20).collect::<String>().trim_end());
    w.advance(SETTLE);
    assert!(matches!(c.confirm(Op::Create, &code, ""), Ok(Confirmed::Done(Some(_)))));
    assert!(w.pins(L1)[0].access_name.chars().count() <= 20);
}

#[test]
fn a_pin_already_on_the_lock_is_pin_taken() {
    let w = world();
    w.stub.set_code_by_hand(L1, PIN, T0, END).expect("by hand");
    let err = w.client().create(&spec(L1, PIN, START, END, None)).expect_err("409");
    assert!(matches!(err, VendorError::PinTaken(_)), "{err:?}");

    // A create still pending holds its PIN too.
    let mut c = w.client();
    c.create(&spec(L2, PIN, START, END, None)).expect("first");
    assert!(matches!(c.create(&spec(L2, PIN, START, END, None)), Err(VendorError::PinTaken(_))));
}

#[test]
fn a_lock_without_keypad_refuses_with_a_clear_message() {
    let w = world();
    let err = w.client().create(&spec(L3, PIN, START, END, None)).expect_err("400");
    match &err {
        VendorError::Rejected { brand: "Nuki", message } => assert!(message.contains("keypad"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(!err.outcome_unknown());
}

#[test]
fn status_errors_map_to_what_the_lifecycle_acts_on() {
    let w = world();
    let code = spec(L1, PIN, START, END, None);
    let mut c = w.client();

    w.stub.inject_fault(NukiEndpoint::AuthCreate, 422, 1);
    let e = c.create(&code).expect_err("422");
    assert!(matches!(&e, VendorError::Rejected { message, .. } if message.contains("422")), "{e:?}");

    w.stub.inject_fault(NukiEndpoint::AuthCreate, 429, 1);
    assert!(matches!(c.create(&code), Err(VendorError::RateLimited { brand: "Nuki", .. })));

    w.stub.inject_fault(NukiEndpoint::AuthCreate, 502, 1);
    let e = c.create(&code).expect_err("502");
    assert!(matches!(e, VendorError::Unavailable { .. }) && e.outcome_unknown(), "{e:?}");

    w.stub.inject_fault(NukiEndpoint::AuthCreate, 0, 1);
    let e = c.create(&code).expect_err("hang");
    assert!(e.outcome_unknown(), "{e:?}");

    w.stub.inject_fault(NukiEndpoint::AuthList, 503, 1);
    let e = c.confirm(Op::Create, &code, "").expect_err("503");
    assert!(matches!(e, VendorError::Unavailable { .. }), "{e:?}");

    // Nothing of it reached the lock.
    assert!(w.stub.pins().is_empty());
}

// --------------------------------------------------------------- update

#[test]
fn update_moves_the_window_in_place_keeping_the_pin() {
    let w = world();
    let id = w.put_on_lock(L1, PIN);
    let (start2, end2) = (START + 86_400, END + 86_400 + 1800);
    let moved = spec(L1, PIN, start2, end2, Some(&id));
    let mut c = w.client();
    assert_eq!(c.update(&moved), Ok(Submitted::Pending(id.clone())));
    let body = w.last_body();
    assert_eq!(body["code"], 482957);
    assert_eq!(body["name"], NAME);
    assert_eq!(body["enabled"], true);
    assert_eq!(body["allowedWeekDays"], 127);
    assert_eq!(body["allowedFromDate"], "2026-03-21T13:30:00.000Z");
    {
        let sent = w.host.http.sent.borrow();
        let last = sent.last().expect("sent");
        assert_eq!((last.method, last.url.clone()), (Method::Post, format!("{API_BASE}/smartlock/{L1}/auth/{id}")));
    }
    assert_eq!(c.confirm(Op::Update, &moved, &id), Ok(Confirmed::Pending));
    w.advance(SETTLE);
    assert_eq!(c.confirm(Op::Update, &moved, &id), Ok(Confirmed::Done(Some(id.clone()))));

    let pins = w.pins(L1);
    assert_eq!(pins.len(), 2, "{pins:?}");
    assert_eq!((pins[0].start, pins[0].end), (START, END));
    assert!(pins[0].removed_at.is_some());
    assert_eq!((pins[1].pin.as_str(), pins[1].start, pins[1].end), (PIN, start2, end2));
    assert_eq!(pins[1].removed_at, None);
    assert_eq!(pins[0].removed_at, Some(pins[1].added_at));
    assert!(w.stub.opens(L1, PIN, end2 - 60));
}

#[test]
fn update_without_an_id_finds_it_by_pin_and_recreates_a_vanished_code() {
    let w = world();
    let id = w.put_on_lock(L1, PIN);
    let moved = spec(L1, PIN, START + 3600, END, None);
    let mut c = w.client();
    assert_eq!(c.update(&moved), Ok(Submitted::Pending(id.clone())));
    assert_eq!(c.requests(), 2, "one listing, one update");
    w.advance(SETTLE);
    assert_eq!(c.confirm(Op::Update, &moved, &id), Ok(Confirmed::Done(Some(id.clone()))));

    // Gone from the lock (deleted in the app): the same PIN is created again.
    let mut d = w.client();
    d.delete(&spec(L1, PIN, START, END, Some(&id))).expect("delete");
    w.advance(SETTLE);
    let again = spec(L1, PIN, START + 7200, END, Some(&id));
    assert_eq!(d.update(&again), Ok(Submitted::Pending(String::new())));
    w.advance(SETTLE);
    match d.confirm(Op::Update, &again, "") {
        Ok(Confirmed::Done(Some(new_id))) => assert_ne!(new_id, id),
        other => panic!("{other:?}"),
    }
    assert!(w.stub.opens(L1, PIN, START + 7200 + 60));
}

#[test]
fn a_second_write_while_one_is_pending_is_busy() {
    let w = world();
    let mut c = w.client();
    let code = spec(L1, PIN, START, END, None);
    c.create(&code).expect("create");
    let id = match c.find(&code) {
        Ok(Found::Pending(id)) => id,
        other => panic!("{other:?}"),
    };
    let err = c.update(&spec(L1, PIN, START + 3600, END, Some(&id))).expect_err("423");
    assert!(matches!(&err, VendorError::Busy(m) if m.contains("Nuki")), "{err:?}");
    assert!(!err.outcome_unknown());
    let err = c.delete(&spec(L1, PIN, START, END, Some(&id))).expect_err("423");
    assert!(matches!(err, VendorError::Busy(_)), "{err:?}");
}

// --------------------------------------------------------------- delete

#[test]
fn delete_is_done_once_the_code_is_gone_from_the_listing() {
    let w = world();
    let id = w.put_on_lock(L1, PIN);
    let code = spec(L1, PIN, START, END, Some(&id));
    let mut c = w.client();
    assert_eq!(c.delete(&code), Ok(Submitted::Pending(id.clone())));
    assert_eq!(c.confirm(Op::Delete, &code, &id), Ok(Confirmed::Pending));
    assert!(w.stub.opens(L1, PIN, START + 60));
    w.advance(SETTLE);
    assert_eq!(c.confirm(Op::Delete, &code, &id), Ok(Confirmed::Done(None)));
    assert!(!w.stub.opens(L1, PIN, START + 60));
    assert!(w.pins(L1)[0].removed_at.is_some());
    assert_eq!(c.requests(), 3);

    // Already gone: nothing to send. By PIN, one listing; by a stale id, the
    // 404 is looked up once.
    let mut d = w.client();
    assert_eq!(d.delete(&spec(L1, PIN, START, END, None)), Ok(Submitted::Done(None)));
    assert_eq!(d.requests(), 1);
    assert_eq!(d.delete(&code), Ok(Submitted::Done(None)));
    assert_eq!(d.requests(), 3);
    assert_eq!(w.count(NukiEndpoint::AuthDelete), 2);
}

#[test]
fn a_ghost_delete_is_cleared_by_a_sync() {
    let w = world();
    let id = w.put_on_lock(L5, PIN);
    let code = spec(L5, PIN, START, END, Some(&id));
    let mut c = w.client();
    assert_eq!(c.delete(&code), Ok(Submitted::Pending(id.clone())));
    w.advance(SETTLE);
    // Off the lock, still listed without operationId (and blocking the PIN).
    assert!(!w.stub.opens(L5, PIN, START + 60));
    assert_eq!(c.confirm(Op::Delete, &code, &id), Ok(Confirmed::Pending));
    assert_eq!(w.count(NukiEndpoint::Sync), 1);
    assert_eq!(c.confirm(Op::Delete, &code, &id), Ok(Confirmed::Done(None)));
    assert_eq!(w.count(NukiEndpoint::Sync), 1);
    // The PIN is free again.
    let mut again = w.client();
    assert_eq!(again.create(&spec(L5, PIN, START, END, None)), Ok(Submitted::Pending(String::new())));
}

// ----------------------------------------------------------- offline lock

#[test]
fn a_create_to_an_offline_lock_fails_saying_the_lock_is_offline() {
    let w = world();
    let code = spec(L4, PIN, START, END, None);
    let mut c = w.client();
    assert_eq!(c.create(&code), Ok(Submitted::Pending(String::new())));
    w.advance(SETTLE);
    assert_eq!(c.confirm(Op::Create, &code, ""), Ok(Confirmed::Pending), "still queued by the server");
    w.advance(PUSH_TIMEOUT);
    match c.confirm(Op::Create, &code, "") {
        Ok(Confirmed::Unreachable(reason)) => {
            assert!(reason.contains(OFFLINE), "{reason}");
            assert!(reason.contains("the Nuki lock is offline (not reachable through its bridge or Wi-Fi)"));
        }
        other => panic!("{other:?}"),
    }
    assert!(w.pins(L4).is_empty());
    assert_eq!(c.find(&code), Ok(Found::Absent));
}

#[test]
fn updates_and_deletes_an_offline_lock_drops_fail_saying_so() {
    let w = world();
    let id = w.put_on_lock(L1, PIN);
    w.stub.set_online(L1, false).expect("offline");
    let moved = spec(L1, PIN, START + 3600, END, Some(&id));
    let mut c = w.client();
    assert_eq!(c.update(&moved), Ok(Submitted::Pending(id.clone())));
    w.advance(PUSH_TIMEOUT + 2);
    match c.confirm(Op::Update, &moved, &id) {
        Ok(Confirmed::Unreachable(reason)) => assert!(reason.starts_with(OFFLINE), "{reason}"),
        other => panic!("{other:?}"),
    }
    // The listing shows the old window again.
    assert_eq!(c.find(&moved), Ok(Found::OtherWindow(id.clone())));

    let code = spec(L1, PIN, START, END, Some(&id));
    assert_eq!(c.delete(&code), Ok(Submitted::Pending(id.clone())));
    w.advance(PUSH_TIMEOUT + 2);
    match c.confirm(Op::Delete, &code, &id) {
        Ok(Confirmed::Unreachable(reason)) => assert!(reason.starts_with(OFFLINE), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.count(NukiEndpoint::Sync), 0, "no sync for an unreachable lock");
    assert!(w.stub.opens(L1, PIN, START + 60), "the lock kept the code");
}

#[test]
fn a_vanished_create_on_an_online_lock_fails_in_plain_words() {
    let w = world();
    let code = spec(L1, PIN, START, END, None);
    let mut c = w.client();
    c.create(&code).expect("create");
    // The lock drops off before the push, then comes back after the server gave up.
    w.stub.set_online(L1, false).expect("offline");
    w.advance(PUSH_TIMEOUT + 2);
    w.stub.set_online(L1, true).expect("online");
    match c.confirm(Op::Create, &code, "") {
        Ok(Confirmed::Failed(reason)) => {
            assert!(reason.contains("did not take the code"), "{reason}");
            assert!(!reason.contains("offline ("), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

// ----------------------------------------------------------------- find

#[test]
fn find_reports_each_state_of_the_pin() {
    let w = world();
    let code = spec(L1, PIN, START, END, None);
    let mut c = w.client();
    assert_eq!(c.find(&code), Ok(Found::Absent));
    c.create(&code).expect("create");
    let id = match c.find(&code) {
        Ok(Found::Pending(id)) => id,
        other => panic!("{other:?}"),
    };
    w.advance(SETTLE);
    assert_eq!(c.find(&code), Ok(Found::OnLock(id.clone())));
    assert_eq!(c.find(&spec(L1, PIN, START, END + 3600, None)), Ok(Found::OtherWindow(id.clone())));
    // Another PIN on the same lock is not ours.
    assert_eq!(c.find(&spec(L1, "483958", START, END, None)), Ok(Found::Absent));
    // A resolved pending write is confirmed with the auth's id as handle.
    assert_eq!(c.confirm(Op::Create, &code, &id), Ok(Confirmed::Done(Some(id.clone()))));
    // An unknown lock is a clear refusal, not "absent".
    assert!(matches!(c.find(&spec("999", PIN, START, END, None)), Err(VendorError::Rejected { .. })));
}

// --------------------------------------------------------------- secrets

#[test]
fn the_token_never_reaches_logs_errors_urls_or_bodies() {
    let w = world();
    let mut errors = Vec::new();
    let mut c = w.client();
    c.verify().expect("verify");
    let code = spec(L1, PIN, START, END, None);
    c.create(&code).expect("create");
    errors.push(c.create(&code).expect_err("409").to_string());
    errors.push(c.create(&spec(L3, PIN, START, END, None)).expect_err("400").to_string());
    w.stub.inject_fault(NukiEndpoint::AuthList, 502, 1);
    errors.push(c.find(&code).expect_err("502").to_string());
    w.stub.revoke_tokens();
    errors.push(c.find(&code).expect_err("401").to_string());
    errors.push(w.client().verify().expect_err("401").to_string());

    for e in &errors {
        assert!(!e.contains(TOKEN), "token in error: {e}");
    }
    for (_, line) in w.host.logs.borrow().iter() {
        assert!(!line.contains(TOKEN), "token in log: {line}");
    }
    for r in w.host.http.sent.borrow().iter() {
        assert!(!r.url.contains(TOKEN));
        assert!(!String::from_utf8_lossy(&r.body).contains(TOKEN));
        for (k, v) in &r.headers {
            assert!(k.eq_ignore_ascii_case("authorization") || !v.contains(TOKEN), "token in header {k}");
        }
    }
}

// ------------------------------------------------- through the lifecycle

mod lifecycle {
    use super::*;
    use smartlock_plugin::admin::{self, CodeState};
    use smartlock_plugin::brands::{fields, BrandId};
    use smartlock_plugin::model::{BookingFacts, PropertyFacts};

    #[allow(non_snake_case)]
    fn NUKI() -> BrandId {
        BrandId::parse("nuki").expect("registered")
    }
    use smartlock_plugin::{events, tick, wake};

    fn property() -> PropertyFacts {
        PropertyFacts {
            id: "p1".into(),
            name: "Sea View".into(),
            timezone: "Europe/Berlin".into(),
            check_in_time: None,
            check_out_time: None,
        }
    }

    fn booking(check_out: &str) -> BookingFacts {
        BookingFacts {
            id: "bk-4711".into(),
            property_id: "p1".into(),
            guest_name: Some("Meier".into()),
            check_in: "2026-03-20".into(),
            check_out: check_out.into(),
            check_in_time: None,
            check_out_time: None,
            confirmed: true,
        }
    }

    /// Ticks whenever the plugin has work due, up to `until`.
    fn run(w: &World, until: Instant) {
        loop {
            let now = w.host.now.get();
            tick::on_tick(&w.host, now).expect("tick");
            let next = wake::next_due(&w.host).unwrap_or(until).max(now + 1);
            if next > until {
                w.advance(until - w.host.now.get());
                return;
            }
            w.advance(next - now);
        }
    }

    #[test]
    fn a_booking_gets_its_code_moved_in_place_and_removed_on_a_nuki_lock() {
        let w = world();
        let account = admin::connect(&w.host, NUKI(), fields([("api_token", TOKEN)])).expect("connect");
        assert_eq!(account.provider, NUKI());
        events::on_property_changed(&w.host, property()).expect("property");
        admin::assign(&w.host, "p1", NUKI(), L1, None, None).expect("assign");
        assert!(admin::assign(&w.host, "p1", NUKI(), L3, None, None).is_err(), "no keypad (R3)");
        events::on_booking_changed(&w.host, booking("2026-03-22"), property()).expect("booking");

        // Created at 00:00 local on March 15 (T0), confirmed from the listing.
        run(&w, T0 + 300);
        let status = admin::booking_status(&w.host, "bk-4711").expect("status");
        assert_eq!(status.state, CodeState::OnLock, "{status:?}");
        let pin = status.pin.clone().expect("pin");
        let pins = w.pins(L1);
        assert_eq!(pins.len(), 1);
        assert_eq!((pins[0].pin.as_str(), pins[0].start, pins[0].end), (pin.as_str(), START, END));
        assert!(pins[0].access_name.chars().count() <= 20);
        assert_eq!(w.count(NukiEndpoint::AuthCreate), 1);
        assert_eq!(w.count(NukiEndpoint::AuthList), 1, "one look, once the write should be done");

        // One more night: moved in place, same PIN (R14).
        events::on_booking_changed(&w.host, booking("2026-03-23"), property()).expect("change");
        run(&w, T0 + 600);
        let status = admin::booking_status(&w.host, "bk-4711").expect("status");
        assert_eq!((status.state, status.pin.as_deref()), (CodeState::OnLock, Some(pin.as_str())), "{status:?}");
        let pins = w.pins(L1);
        assert_eq!(pins.len(), 2, "{pins:?}");
        assert!(pins[0].removed_at.is_some());
        assert_eq!((pins[1].pin.as_str(), pins[1].start, pins[1].end), (pin.as_str(), START, END + 86_400));
        assert_eq!(w.count(NukiEndpoint::AuthUpdate), 1);
        assert_eq!(w.count(NukiEndpoint::AuthCreate), 1);

        // After check-out + margin it is deleted (R16).
        run(&w, END + 86_400 + 600);
        assert!(w.pins(L1).iter().all(|p| p.removed_at.is_some()), "{:?}", w.pins(L1));
        assert!(!w.stub.opens(L1, &pin, END + 86_400 - 60));
        assert_eq!(w.count(NukiEndpoint::AuthDelete), 1);
        assert!(w.host.mails.borrow().is_empty());
        assert!(w.host.logs.borrow().iter().all(|(_, l)| !l.contains(TOKEN)));
    }
}

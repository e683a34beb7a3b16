//! R27 code events and R28 lock health, as the host records them (the
//! report's `events`), judged with the stub's lock-side truth.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use host_harness::api;
use host_harness::imports::{Email, KvStore, MemoryStore, SimClock, StorageError, StoredEvent, Tenant, Write};
use host_harness::stubs::igloohome::{Igloohome, StubAccount, StubBridge, StubConfig, StubLock};
use host_harness::stubs::StubServer;
use serde_json::Value;

use crate::common::*;

fn states(events: &[Value], booking: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["booking"] == booking)
        .map(|e| e["state"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// R27: a code's life as events — planned, written, on the lock, moved,
/// deleted — in order, each id once, with the booking, property, brand and
/// lock, and never the PIN.
#[test]
fn r27_a_codes_life_is_reported_in_order_without_the_pin() {
    let mut steps = paris_setup("2026-03-01T08:00:00Z", 5, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    // Moved to a later check-out after the code is on the lock (R14).
    steps.push(booking("2026-03-16T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-23"));
    steps.push(end("2026-03-24T00:00:00Z"));
    let report = run("r27", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    let json = report.to_json();
    let events = json["events"].as_array().expect("events").clone();
    let b1 = states(&events, "b1");
    let at = |s: &str| b1.iter().position(|x| x == s).unwrap_or_else(|| panic!("no {s} in {b1:?}"));
    assert!(at("scheduled") < at("writing") && at("writing") < at("on_lock"), "{b1:?}");
    assert!(at("on_lock") < at("moved") && at("moved") < at("deleted"), "{b1:?}");
    // Every id once; every event of b1 names its property, brand and lock.
    let mut ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().expect("id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "a repeated id");
    for e in events.iter().filter(|e| e["booking"] == "b1") {
        assert_eq!(
            (e["property"].as_str(), e["provider"].as_str(), e["lock"].as_str()),
            (Some("p1"), Some("igloohome"), Some("L1")),
            "{e}"
        );
        assert!(!e["detail"].as_str().unwrap_or_default().is_empty(), "{e}");
    }
    // Instants never go back.
    let times: Vec<&str> = events.iter().map(|e| e["at"].as_str().expect("at")).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    // No PIN anywhere in the events (R27).
    let text = serde_json::to_string(&events).expect("json");
    for p in &report.pins {
        assert!(!text.contains(&p.pin), "the PIN {} is in an event", p.pin);
    }
}

/// R28: a lock with a code due within 3 days that cannot be reached gives
/// one `lock_unreachable` event per outage, with the bookings at risk, and
/// one `lock_reachable` once a write reaches it again. No e-mail for it.
#[test]
fn r28_an_unreachable_lock_is_reported_once_per_outage_and_again_when_back() {
    let mut steps = paris_setup("2026-03-01T08:00:00Z", 2, 30);
    steps.push(booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"));
    steps.push(booking("2026-03-01T09:01:00Z", "b2", "p1", "2026-03-22", "2026-03-24"));
    // Offline from before b1's creation (March 18 00:00 local) for a day.
    steps.push(bridge("2026-03-17T20:00:00Z", "B1", false));
    steps.push(bridge("2026-03-18T20:00:00Z", "B1", true));
    steps.push(end("2026-03-19T06:00:00Z"));
    let report = run("r28", "2026-03-01T08:00:00Z", steps);
    assert_steps_ok(&report);
    let json = report.to_json();
    let events = json["events"].as_array().expect("events");
    let health: Vec<&Value> =
        events.iter().filter(|e| e["state"].as_str().is_some_and(|s| s.starts_with("lock_"))).collect();
    let kinds: Vec<&str> = health.iter().map(|e| e["state"].as_str().unwrap_or_default()).collect();
    assert_eq!(kinds, ["lock_unreachable", "lock_reachable"], "{health:?}");
    let down = health[0];
    assert_eq!((down["provider"].as_str(), down["lock"].as_str()), (Some("igloohome"), Some("L1")));
    assert!(down["at_risk"].as_u64().is_some_and(|n| n >= 1), "{down}");
    assert!(down.get("booking").is_none(), "a lock event names no booking: {down}");
    let (went, back) = (t(down["at"].as_str().unwrap()), t(health[1]["at"].as_str().unwrap()));
    assert!(went >= t("2026-03-17T23:00:00Z") && back >= t("2026-03-18T20:00:00Z"), "{went} {back}");
    // b1's code reached the lock once the bridge was back; nobody was mailed.
    assert!(report.pins.iter().any(|p| p.access_name.contains("(b1)") && p.added_at >= back - 3600));
    assert!(report.emails.is_empty(), "R28 sends no e-mail: {:?}", report.emails);
}

/// Storage whose event log refuses events while `busy` is set (a host
/// that cannot take them for a while); everything else as [`MemoryStore`].
struct BusyEventLog {
    inner: MemoryStore,
    busy: AtomicBool,
}

impl KvStore for BusyEventLog {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.get(key)
    }
    fn apply(&self, writes: &[Write]) -> Result<(), StorageError> {
        self.inner.apply(writes)
    }
    fn apply_owned(&self, writes: Vec<Write>) -> Result<(), StorageError> {
        self.inner.apply_owned(writes)
    }
    fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        self.inner.list(prefix, start_after, limit)
    }
    fn record_email(&self, dedup_key: &str, at: i64, subject: &str, body: &str) -> Result<bool, StorageError> {
        self.inner.record_email(dedup_key, at, subject, body)
    }
    fn emails(&self) -> Result<Vec<Email>, StorageError> {
        self.inner.emails()
    }
    fn record_event(&self, id: &str, at: i64, json: &str) -> Result<bool, StorageError> {
        if self.busy.load(Ordering::SeqCst) {
            return Err(StorageError::Unavailable("the event log is busy".into()));
        }
        self.inner.record_event(id, at, json)
    }
    fn events_after(&self, after: i64, limit: u32) -> Result<Vec<StoredEvent>, StorageError> {
        self.inner.events_after(after, limit)
    }
}

/// R27: events a host could not take pile up, and the backlog is handed
/// over a bounded part per call (1,024 events), so no call spends its time
/// limit on it: the tick that leaves some asks to be called again at once
/// (`more-due`, a wake-up for now), and the next one hands over the rest,
/// each event once, every booking's in order. Meanwhile codes still reach
/// the lock.
#[test]
fn r27_a_backlog_of_events_goes_out_over_ticks_a_bounded_part_per_call() {
    let now = t("2026-03-01T10:00:00Z");
    let stub = Igloohome::new(
        StubConfig {
            accounts: vec![StubAccount {
                client_id: CLIENT_ID.into(),
                client_secret: SECRET.into(),
                name: "Backlog".into(),
            }],
            locks: vec![StubLock { id: "L1".into(), name: "Front door".into(), bridge: Some("B1".into()) }],
            bridges: vec![StubBridge {
                id: "B1".into(),
                name: "Hall bridge".into(),
                online: true,
                offline_reply: Default::default(),
            }],
        },
        now,
    );
    let server = StubServer::start(stub.clone()).expect("stub serves");
    let runtime = runtime();
    let store = Arc::new(BusyEventLog { inner: MemoryStore::new(), busy: AtomicBool::new(false) });
    let tenant = runtime.tenant(
        Tenant::new("backlog", store.clone())
            .with_clock(Arc::new(SimClock::new(now)))
            .with_routes(host_harness::stub_routes(&runtime, &server.base_url()).expect("routes")),
    );
    let credentials = [("client_id", CLIENT_ID), ("client_secret", SECRET)]
        .map(|(name, value)| api::Credential { name: name.into(), value: value.into() });
    tenant.connect("igloohome", &credentials).expect("call ran").expect("connected");
    let property = api::Property {
        id: "p1".into(),
        name: "Sea View".into(),
        timezone: "Europe/Paris".into(),
        check_in_time: None,
        check_out_time: None,
    };
    tenant.on_property_changed(&property).expect("call ran").expect("property");
    tenant.assign("p1", "igloohome", "L1", None, None).expect("call ran").expect("assigned");

    // 1,100 stays, one a day from a month ahead: each queues its events,
    // and the host takes none of them. One more stay is due now.
    store.busy.store(true, Ordering::SeqCst);
    let booking = |id: String, check_in: chrono::NaiveDate| api::BookingEvent {
        booking: api::Booking {
            id,
            property_id: "p1".into(),
            guest_name: Some("Ana".into()),
            check_in: check_in.to_string(),
            check_out: (check_in + chrono::Days::new(1)).to_string(),
            check_in_time: None,
            check_out_time: None,
            status: api::BookingStatus::Confirmed,
        },
        property: property.clone(),
    };
    let first = chrono::NaiveDate::from_ymd_opt(2026, 4, 1).expect("date");
    for i in 0..1_100u64 {
        let event = booking(format!("b{i:04}"), first + chrono::Days::new(i));
        tenant.on_booking_changed(&event).expect("call ran").expect("booking");
    }
    let soon = booking("soon".into(), chrono::NaiveDate::from_ymd_opt(2026, 3, 2).expect("date"));
    tenant.on_booking_changed(&soon).expect("call ran").expect("booking");
    assert!(store.events_after(0, u32::MAX).expect("read").is_empty(), "the host took no event");

    // The host takes events again. Each tick hands over 1,024 at most and,
    // while work is left, asks to be called again now.
    store.busy.store(false, Ordering::SeqCst);
    let recorded = || store.events_after(0, u32::MAX).expect("read").len();
    let mut handed = Vec::new();
    let mut at = now + 60;
    loop {
        let before = recorded();
        let summary = tenant.on_tick(at).expect("call ran").expect("tick");
        handed.push(recorded() - before);
        if !summary.more_due {
            break;
        }
        assert_eq!(tenant.wake_up(), Some(at), "work is left: the wake-up is now");
        at += 1;
        assert!(handed.len() < 10, "the backlog never drained: {handed:?}");
    }
    // (New stays are due at once for their first look, so the ticks have
    // their own work too: more calls than the events alone need.)
    assert_eq!(handed[0], 1_024, "the first call hands over 1,024: {handed:?}");
    assert!(handed.len() >= 2 && handed.iter().all(|&n| n <= 1_024), "1,024 per call at most: {handed:?}");

    let recorded = store.events_after(0, u32::MAX).expect("read");
    assert!(recorded.len() > 1_100, "every stay's events arrived: {}", recorded.len());
    let mut ids: Vec<&str> = recorded.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), recorded.len(), "each event once");
    for stay in ["b0000", "b1099", "soon"] {
        let states: Vec<Value> = recorded
            .iter()
            .map(|e| serde_json::from_str::<Value>(&e.json).expect("event JSON"))
            .filter(|e| e["booking-id"] == stay || e["booking_id"] == stay)
            .collect();
        assert!(!states.is_empty(), "{stay}'s events arrived");
        let at: Vec<i64> = states.iter().map(|e| e["at"].as_i64().expect("at")).collect();
        assert!(at.windows(2).all(|w| w[0] <= w[1]), "{stay}'s events in order: {at:?}");
    }

    // Codes are not held up meanwhile: the stay due now gets its PIN on
    // the lock (the stub's truth) as the ticks go on.
    while !stub.pins().iter().any(|p| p.lock == "L1" && p.removed_at.is_none()) {
        at += 60;
        assert!(at < now + 3_600, "the PIN never reached the lock");
        stub.set_time(at);
        tenant.on_tick(at).expect("call ran").expect("tick");
    }
    assert!(!tenant.on_tick(at + 60).expect("call ran").expect("tick").more_due, "the backlog is gone");
}

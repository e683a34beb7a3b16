//! Random timelines through the real component against the vendor stubs
//! (igloohome, Nuki and TTLock in one world): bookings created, moved,
//! re-timed, cancelled and re-confirmed; property times and timezones
//! changed; settings changed; a property's lock switched within its brand
//! (assign replaces it) or to another brand (refused while the property
//! holds a lock, then unassign + assign, R4, sometimes hours apart); a
//! lock removed during a stay for hours or days while the stay is
//! cancelled or changed; igloohome bridges, Nuki locks' own links and the
//! TTLock gateway taken off line and back, for a while or (to reach R12's
//! alert) from before a booking's code is due until past its eve; host
//! restarts. Each vendor is connected when a property first takes one of
//! its locks. After each timeline the stubs' lock-side truth (`pins`, each
//! naming its `provider`) is judged against invariants that hold whatever
//! happened, per provider and lock:
//!
//! - (a) R14/R17: never two PINs of one booking on the locks at once;
//! - (b) R8: never the same PIN twice on one lock at once, and every PIN
//!   obeys R8 and its vendor's own rule (Nuki: digits 1-9, not "12...");
//! - (c) R6/R10/R14: a confirmed booking whose facts and links were stable
//!   long enough before its window has exactly one code, on its final
//!   lock, with exactly the planned window, and it stays for the whole
//!   window;
//! - (d) R15/R16/R17: a cancelled booking's code is gone; a code whose
//!   window had not started when its property lost its lock is gone, and
//!   one kept mid-stay goes at the stay's current check-out + margin; no
//!   code outlives its window (nor the booking's final window) by more than
//!   75 minutes while its link is online;
//! - (e) R12: at most one alert e-mail per booking;
//! - (f) R12: a booking whose facts stood well before its eve and that has
//!   no code on a lock at 18:00 local on the eve has had its alert by then
//!   (a write already on its way may hold it back up to 30 minutes);
//! - R3/R4: assigning a lock of another brand while the property holds one
//!   is refused; a TTLock lock whose gateway link has lapsed (30 minutes
//!   off line) is refused for want of a gateway, and only then.
//!
//! [`shared`] runs timelines of two flats sharing an entrance of another
//! brand (R26), with spare codes on their own locks (R25), and judges that
//! two guests never hold one PIN on a door at once, that a flat's lock only
//! ever holds its own guests' codes, that no backup code goes to two
//! bookings, and that a cancelled stay's codes leave every lock.
//!
//! Each property runs 20 timelines from a fixed seed, the same on every
//! run; `PROPTEST_CASES` runs more (the first 20 stay the same) and
//! `PROPTEST_RNG_SEED` others. A failure prints the seed and case count
//! that replay it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Days, NaiveDate};
use chrono::{LocalResult, NaiveDateTime, NaiveTime, TimeZone as _};
use host_harness::scenario::{Action, Harness, StepOutcome};
use host_harness::stubs::{PinKind, PinRecord, WorldConfig};
use proptest::prelude::*;
use proptest::test_runner::{RngSeed, TestCaseError, TestRunner};
use serde_json::json;

use crate::common::*;

mod shared;

const MIN: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
/// The simulated span of a timeline.
const SPAN_DAYS: i64 = 42;
/// A code is deleted within this long after its end (next tick + job),
/// and a failed delete is retried hourly.
const DELETE_SLACK: i64 = 75 * MIN;
/// How long facts and links must have been stable before the code must
/// be right (hourly retries after an outage, then the job itself).
const SETTLE: i64 = 3 * HOUR;
/// A cancelled booking's code is deleted at the next tick (15 minutes),
/// after a job in flight settles and the bridge's queue moves.
const CANCEL_SLACK: i64 = 50 * MIN;
/// A TTLock gateway's link to its locks lasts this long after it went off
/// line (the stub's `LINK_CACHE`): until then the lock list still shows
/// the lock's gateway.
const TTLOCK_LINK_CACHE: i64 = 30 * MIN;
/// How late an alert may be (R12: at 18:00 on the eve): a write on its way
/// holds it back until it is carried out or 30 minutes old, then a poll.
const ALERT_SLACK: i64 = 35 * MIN;
/// A refused assignment is tried again this much later (the manager
/// retries from the dashboard).
const ASSIGN_RETRY: i64 = HOUR;

const START: &str = "2026-03-01T00:00:00Z";
const ZONES: &[&str] = &["Europe/Paris", "America/New_York", "Australia/Sydney"];
/// Check-in / check-out times, with ones in or near the 2026 DST changes
/// (New York March 8, Paris March 29, Sydney April 5).
const TIMES: &[Option<&str>] = &[
    None,
    None,
    Some("15:00"),
    Some("16:00"),
    Some("11:00"),
    Some("10:00"),
    Some("02:30"),
    Some("23:30"),
    Some("00:00"),
    Some("18:00"),
];

const NUKI_TOKEN: &str = "nuki-random-token-Jq27";
const TTLOCK_USER: &str = "host@example.com";
const TTLOCK_PASSWORD: &str = "tt-s3cret-Wm40";

/// A lock vendor of the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Brand {
    Igloohome,
    Nuki,
    Ttlock,
}

const BRANDS: [Brand; 3] = [Brand::Igloohome, Brand::Nuki, Brand::Ttlock];

impl Brand {
    /// As scenario steps and reports (`provider`) spell it.
    fn name(self) -> &'static str {
        match self {
            Brand::Igloohome => "igloohome",
            Brand::Nuki => "nuki",
            Brand::Ttlock => "ttlock",
        }
    }

    fn of(provider: &str) -> Brand {
        BRANDS.into_iter().find(|b| b.name() == provider).unwrap_or_else(|| panic!("unknown provider {provider}"))
    }

    /// The brand's two locks of the world.
    fn locks(self) -> [&'static str; 2] {
        match self {
            Brand::Igloohome => ["L1", "L2"],
            Brand::Nuki => ["101", "102"],
            Brand::Ttlock => ["201", "202"],
        }
    }

    /// Another brand: `by` (1 or 2) steps along.
    fn other(self, by: usize) -> Brand {
        let i = BRANDS.iter().position(|b| *b == self).unwrap_or(0);
        BRANDS[(i + by) % BRANDS.len()]
    }
}

/// The links to the cloud a `bridge` step takes off and on line: the
/// igloohome bridges (L1 behind B1, L2 behind B2), each Nuki lock's own
/// connection, and the TTLock gateway both TTLock locks share.
const CHANNELS: [(Brand, &str); 5] = [
    (Brand::Igloohome, "B1"),
    (Brand::Igloohome, "B2"),
    (Brand::Nuki, "101"),
    (Brand::Nuki, "102"),
    (Brand::Ttlock, "301"),
];

/// The index in [`CHANNELS`] of the link that reaches `lock`.
fn channel_of(brand: Brand, lock: &str) -> usize {
    match (brand, lock) {
        (Brand::Igloohome, "L1") => 0,
        (Brand::Igloohome, _) => 1,
        (Brand::Nuki, "101") => 2,
        (Brand::Nuki, _) => 3,
        (Brand::Ttlock, _) => 4,
    }
}

fn channel_of_pin(p: &PinRecord) -> usize {
    channel_of(Brand::of(p.provider), &p.lock)
}

/// The three vendors' accounts and locks.
fn world() -> WorldConfig {
    serde_json::from_value(world_json()).expect("the world is valid")
}

/// [`world`] as a scenario file spells it.
fn world_json() -> serde_json::Value {
    json!({
        "igloohome": {
            "accounts": [{"client_id": CLIENT_ID, "client_secret": SECRET, "name": "Sea View Rentals"}],
            "locks": [
                {"id": "L1", "name": "Front door", "bridge": "B1"},
                {"id": "L2", "name": "Back door", "bridge": "B2"}
            ],
            "bridges": [{"id": "B1", "name": "Hall bridge"}, {"id": "B2", "name": "Yard bridge"}]
        },
        "nuki": {
            "accounts": [{"api_token": NUKI_TOKEN, "name": "Sea View Rentals"}],
            "locks": [{"id": "101", "name": "Garden door"}, {"id": "102", "name": "Cellar door"}]
        },
        "ttlock": {
            "app": {"client_id": "pms-app-id", "client_secret": "pms-app-secret"},
            "accounts": [{"username": TTLOCK_USER, "password": TTLOCK_PASSWORD, "name": TTLOCK_USER}],
            "locks": [
                {"id": "201", "name": "Studio door", "gateway": "301"},
                {"id": "202", "name": "Loft door", "gateway": "301"}
            ],
            "gateways": [{"id": "301", "name": "G2 hall"}]
        }
    })
}

fn connect_action(brand: Brand) -> serde_json::Value {
    match brand {
        Brand::Igloohome => json!({"do": "connect", "client_id": CLIENT_ID, "client_secret": SECRET}),
        Brand::Nuki => json!({"do": "connect", "provider": "nuki", "api_token": NUKI_TOKEN}),
        Brand::Ttlock => {
            json!({"do": "connect", "provider": "ttlock", "username": TTLOCK_USER, "password": TTLOCK_PASSWORD})
        }
    }
}

/// A property's facts, as generated and then as they stand.
#[derive(Debug, Clone)]
struct PropertyInit {
    tz: &'static str,
    /// The lock the property has, or is to have once a brand switch's
    /// assign lands (while `assigned` is false).
    brand: Brand,
    lock: usize,
    /// Whether the plugin holds an assignment for it (not before the run
    /// assigns it).
    assigned: bool,
    days_before: i64,
    margin: i64,
    /// The margin of the last assignment the plugin took: what a code kept
    /// mid-stay without a lock is measured with (R17).
    applied_margin: i64,
    check_in: Option<&'static str>,
    check_out: Option<&'static str>,
}

#[derive(Debug, Clone)]
struct BookingInit {
    property: usize,
    /// Minutes after the start when the PMS first sends it.
    created: i64,
    /// Check-in as days after the start date.
    check_in_day: i64,
    nights: i64,
    check_in: Option<&'static str>,
    check_out: Option<&'static str>,
}

/// One thing that happens; booking and property numbers are taken modulo
/// the counts of the case. `SwitchLock` takes the other lock of the
/// property's brand (assign replaces it); `SwitchBrand` takes lock `lock` of
/// the brand `by` steps along (unassign, then assign `gap` minutes later);
/// `Outage` takes a link of [`CHANNELS`] off line for a while; `EveOutage`
/// takes the link of a booking's lock off line from `lead` minutes before
/// its code is due (or now, if later) until `after` minutes past 18:00
/// local on the eve of its check-in, as lock and plan stand now, sent or
/// not: that is an alert (R12), and a booking sent during it is first tried
/// at that odd instant (R7). `LockRemovedMidStay` removes the lock of a
/// booking's property `into` minutes after its window starts (or now, if
/// later), as lock and plan stand now, changes the stay `gap / 2` minutes
/// later and assigns the lock again after `gap` minutes: a guest who keeps
/// the code without a lock (R17) and then cancels or leaves earlier
/// (R15, R16).
#[derive(Debug, Clone)]
enum Event {
    Dates { booking: usize, check_in_day: i64, nights: i64 },
    Times { booking: usize, check_in: Option<&'static str>, check_out: Option<&'static str> },
    Cancel { booking: usize },
    Confirm { booking: usize },
    PropertyTimes { property: usize, check_in: Option<&'static str>, check_out: Option<&'static str> },
    Timezone { property: usize, tz: &'static str },
    Settings { property: usize, days_before: i64, margin: i64 },
    SwitchLock { property: usize },
    SwitchBrand { property: usize, by: usize, lock: usize, gap: i64 },
    Outage { channel: usize, minutes: i64 },
    EveOutage { booking: usize, lead: i64, after: i64 },
    LockRemovedMidStay { booking: usize, into: i64, gap: i64, change: StayChange },
    Restart,
}

/// What happens to a stay while its property has no lock.
#[derive(Debug, Clone, Copy)]
enum StayChange {
    Nothing,
    Cancel,
    /// One night fewer (none fewer than one).
    Shorten,
    /// Another check-out time.
    CheckOut(Option<&'static str>),
}

#[derive(Debug, Clone)]
struct Timeline {
    properties: Vec<PropertyInit>,
    bookings: Vec<BookingInit>,
    /// (minutes after the start, event), in time order.
    events: Vec<(i64, Event)>,
}

fn time() -> impl Strategy<Value = Option<&'static str>> {
    proptest::sample::select(TIMES)
}

fn margin() -> impl Strategy<Value = i64> {
    prop_oneof![proptest::sample::select(&[0i64, 15, 30, 60, 120, 240][..]), 0i64..=240]
}

fn property_init() -> impl Strategy<Value = PropertyInit> {
    (
        proptest::sample::select(ZONES),
        proptest::sample::select(&BRANDS[..]),
        0usize..2,
        1i64..=14,
        margin(),
        time(),
        time(),
    )
        .prop_map(|(tz, brand, lock, days_before, margin, check_in, check_out)| PropertyInit {
            tz,
            brand,
            lock,
            assigned: false,
            days_before,
            margin,
            applied_margin: margin,
            check_in,
            check_out,
        })
}

/// Where things fall in a timeline.
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// Bookings are first sent and events happen before this many days.
    events_before_day: i64,
    /// Check-in dates, as days after the start.
    first_check_in: i64,
    last_check_in: i64,
    /// Whether locks are removed during stays (`LockRemovedMidStay`).
    mid_stay_removals: bool,
}

/// Anything anywhere: changes during stays, after them, around creation.
const ANYTIME: Shape =
    Shape { events_before_day: SPAN_DAYS, first_check_in: 1, last_check_in: 48, mid_stay_removals: true };
/// Everything happens in the first three weeks, the stays come later:
/// every booking has settled long before its code is due.
const SETTLED: Shape = Shape { events_before_day: 21, first_check_in: 22, last_check_in: 40, mid_stay_removals: false };

fn booking_init(shape: Shape) -> impl Strategy<Value = BookingInit> {
    (
        0usize..2,
        0i64..shape.events_before_day.min(30) * 24 * 60,
        shape.first_check_in..=shape.last_check_in,
        1i64..=6,
        time(),
        time(),
    )
        .prop_map(|(property, created, check_in_day, nights, check_in, check_out)| BookingInit {
            property,
            created,
            check_in_day,
            nights,
            check_in,
            check_out,
        })
}

/// How long a brand switch leaves the property without a lock: mostly
/// not at all (both steps at one instant), else minutes to hours.
fn gap() -> impl Strategy<Value = i64> {
    prop_oneof![Just(0i64), 1i64..=6 * 60]
}

fn event(shape: Shape) -> BoxedStrategy<Event> {
    let common = prop_oneof![
        3 => (0usize..4, shape.first_check_in..=shape.last_check_in, 1i64..=6).prop_map(|(booking, check_in_day, nights)| Event::Dates { booking, check_in_day, nights }),
        2 => (0usize..4, time(), time()).prop_map(|(booking, check_in, check_out)| Event::Times { booking, check_in, check_out }),
        2 => (0usize..4).prop_map(|booking| Event::Cancel { booking }),
        2 => (0usize..4).prop_map(|booking| Event::Confirm { booking }),
        1 => (0usize..2, time(), time()).prop_map(|(property, check_in, check_out)| Event::PropertyTimes { property, check_in, check_out }),
        1 => (0usize..2, proptest::sample::select(ZONES)).prop_map(|(property, tz)| Event::Timezone { property, tz }),
        2 => (0usize..2, 1i64..=14, margin()).prop_map(|(property, days_before, margin)| Event::Settings { property, days_before, margin }),
        2 => (0usize..2).prop_map(|property| Event::SwitchLock { property }),
        2 => (0usize..2, 1usize..=2, 0usize..2, gap()).prop_map(|(property, by, lock, gap)| Event::SwitchBrand { property, by, lock, gap }),
        3 => (0..CHANNELS.len(), prop_oneof![30i64..180, 180i64..3 * 24 * 60]).prop_map(|(channel, minutes)| Event::Outage { channel, minutes }),
        2 => (0usize..4, 0i64..=12 * 60, 0i64..=6 * 60).prop_map(|(booking, lead, after)| Event::EveOutage { booking, lead, after }),
        1 => Just(Event::Restart),
    ];
    if !shape.mid_stay_removals {
        return common.boxed();
    }
    let change = prop_oneof![
        Just(StayChange::Nothing),
        Just(StayChange::Cancel),
        Just(StayChange::Shorten),
        time().prop_map(StayChange::CheckOut),
    ];
    let removal = (0usize..4, 0i64..=36 * 60, 60i64..=3 * 24 * 60, change)
        .prop_map(|(booking, into, gap, change)| Event::LockRemovedMidStay { booking, into, gap, change });
    prop_oneof![12 => common, 1 => removal].boxed()
}

fn timeline(shape: Shape) -> impl Strategy<Value = Timeline> {
    (
        prop::collection::vec(property_init(), 1..=2),
        prop::collection::vec(booking_init(shape), 1..=4),
        prop::collection::vec((0i64..shape.events_before_day * 24 * 60, event(shape)), 5..=25),
    )
        .prop_map(|(properties, mut bookings, mut events)| {
            for b in &mut bookings {
                b.property %= properties.len();
            }
            events.sort_by_key(|(at, _)| *at);
            Timeline { properties, bookings, events }
        })
}

// ---------------------------------------------------------------------------
// The PMS-side model of the timeline
// ---------------------------------------------------------------------------

/// A property's facts as they stand (they start as generated).
type PropertyNow = PropertyInit;

impl PropertyNow {
    fn lock_id(&self) -> &'static str {
        self.brand.locks()[self.lock]
    }
}

/// What a booking wants of the locks.
#[derive(Debug, Clone, PartialEq)]
enum Want {
    /// Nothing: it is cancelled.
    Cancelled,
    /// Nothing new: its property has no lock. A code kept mid-stay stays
    /// until the end of this window (the stay's current check-out plus the
    /// last assignment's margin) or its own, whichever is first.
    NoLock { stay_end: i64 },
    /// A code on this lock for this plan.
    Code(Brand, &'static str, Plan),
}

#[derive(Debug, Clone)]
struct BookingNow {
    property: usize,
    check_in_day: i64,
    nights: i64,
    check_in: Option<&'static str>,
    check_out: Option<&'static str>,
    confirmed: bool,
    /// Sent to the plugin at least once.
    created: bool,
    /// What it wants since it was first sent (`None` before).
    want: Option<Want>,
    /// The last instant `want` changed.
    last_change: i64,
}

/// What the run did, for the invariants.
struct Outcome {
    end: i64,
    bookings: Vec<BookingNow>,
    /// Per link of [`CHANNELS`], (instant, online) in order; links start
    /// online.
    channel_changes: Vec<Vec<(i64, bool)>>,
    pins: Vec<PinRecord>,
    /// Offline codes the brands issued as fallbacks (R24).
    offline: Vec<PinRecord>,
    /// The instants of the e-mails sent, by dedup key.
    alerts: BTreeMap<String, Vec<i64>>,
}

fn day(start: i64, n: i64) -> NaiveDate {
    let d = chrono::DateTime::from_timestamp(start, 0).expect("start").date_naive();
    d.checked_add_days(Days::new(n as u64)).expect("date")
}

fn date_str(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn booking_action(id: &str, b: &BookingNow, start: i64) -> serde_json::Value {
    json!({"do": "booking", "booking": {
        "id": id,
        "property": format!("p{}", b.property + 1),
        "guest_name": "Guest",
        "check_in": date_str(day(start, b.check_in_day)),
        "check_out": date_str(day(start, b.check_in_day + b.nights)),
        "check_in_time": b.check_in,
        "check_out_time": b.check_out,
        "status": if b.confirmed { "confirmed" } else { "cancelled" },
    }})
}

fn property_action(i: usize, p: &PropertyNow) -> serde_json::Value {
    json!({"do": "property", "property": {
        "id": format!("p{}", i + 1), "name": format!("Property {}", i + 1), "timezone": p.tz,
        "check_in_time": p.check_in, "check_out_time": p.check_out,
    }})
}

fn assign_action(i: usize, p: &PropertyNow) -> serde_json::Value {
    json!({
        "do": "assign", "property": format!("p{}", i + 1), "provider": p.brand.name(), "lock": p.lock_id(),
        "days_before": p.days_before, "margin_minutes": p.margin,
    })
}

/// The instants the rules give a booking, worked out here from SPEC R6 and
/// R9-R12 with chrono-tz directly — not with the plugin's `schedule`
/// module, so a slip in the plugin's time math shows up as a code on the
/// lock at the wrong instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan {
    /// R6: the first instant of the local date `days_before` days before check-in.
    create_at: i64,
    /// R10: local check-in date and time minus the margin.
    window_start: i64,
    /// R10: local check-out date and time plus the margin.
    window_end: i64,
    /// R11: the first instant of the local check-in date.
    retry_deadline: i64,
    /// R12: 18:00 local on the eve of check-in.
    alert_at: i64,
}

/// The plan the final facts give.
fn plan_of(b: &BookingNow, p: &PropertyNow) -> Plan {
    plan_with_margin(b, p, p.margin)
}

/// A local wall-clock time in `tz` as an instant: a time the clocks skip
/// (spring forward) is the first instant after the gap; a time they pass
/// twice (fall back) is the earlier pass, or the later one with `later`.
fn local_instant(tz: chrono_tz::Tz, wall: NaiveDateTime, later: bool) -> i64 {
    let mut at = wall;
    for _ in 0..=24 * 60 {
        match tz.from_local_datetime(&at) {
            LocalResult::Single(d) => return d.timestamp(),
            LocalResult::Ambiguous(first, second) => {
                return if later { second.timestamp() } else { first.timestamp() };
            }
            // In a gap: step to the first minute that exists, the gap's end.
            LocalResult::None => at += chrono::TimeDelta::minutes(1),
        }
    }
    panic!("no instant for {wall} in {tz}")
}

fn plan_with_margin(b: &BookingNow, p: &PropertyNow, margin: i64) -> Plan {
    let tz: chrono_tz::Tz = p.tz.parse().expect("zone");
    let hm = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").expect("time");
    // R9: the booking's negotiated time, else the property's, else 15:00 / 11:00.
    let check_in_time = b.check_in.or(p.check_in).map_or(NaiveTime::from_hms_opt(15, 0, 0).unwrap(), hm);
    let check_out_time = b.check_out.or(p.check_out).map_or(NaiveTime::from_hms_opt(11, 0, 0).unwrap(), hm);
    let start = t(START);
    let check_in = day(start, b.check_in_day);
    let check_out = day(start, b.check_in_day + b.nights);
    let midnight = |d: NaiveDate| local_instant(tz, d.and_time(NaiveTime::MIN), false);
    let margin = chrono::TimeDelta::minutes(margin);
    let eve = check_in.pred_opt().expect("date");
    Plan {
        create_at: midnight(check_in - Days::new(p.days_before as u64)),
        window_start: local_instant(tz, check_in.and_time(check_in_time) - margin, false),
        window_end: local_instant(tz, check_out.and_time(check_out_time) + margin, true),
        retry_deadline: midnight(check_in),
        alert_at: local_instant(tz, eve.and_time(NaiveTime::from_hms_opt(18, 0, 0).unwrap()), false),
    }
}

/// Whether a link's state, as the changes so far leave it, is online at
/// `at`, and since when it has been in that state.
fn link_state(changes: &[(i64, bool)], at: i64) -> (bool, i64) {
    let mut state = (true, i64::MIN);
    for &(t, on) in changes.iter().take_while(|(t, _)| *t <= at) {
        if on != state.0 {
            state = (on, t);
        }
    }
    state
}

/// Something that happens at an instant of the run.
#[derive(Debug, Clone)]
enum Step {
    /// The PMS first sends booking `i`.
    Create(usize),
    Event(Event),
    /// The start of an eve outage.
    ChannelOff(usize),
    /// The end of an outage.
    ChannelOn(usize),
    /// A brand switch's assign (or a refused assign tried again).
    Reassign(usize),
    /// A lock removed mid-stay (the property's, if it still has one).
    Unassign(usize),
}

/// A timeline being run: the harness and the PMS-side model.
struct Run {
    harness: Harness,
    start: i64,
    properties: Vec<PropertyNow>,
    bookings: Vec<BookingNow>,
    channel_changes: Vec<Vec<(i64, bool)>>,
    connected: BTreeSet<Brand>,
    /// (instant, sequence) of each step still to run, earliest first.
    queue: BinaryHeap<Reverse<(i64, usize)>>,
    steps: Vec<Step>,
}

impl Run {
    fn push(&mut self, at: i64, step: Step) {
        self.queue.push(Reverse((at, self.steps.len())));
        self.steps.push(step);
    }

    /// Applies one step at `at` and gives the plugin's answer.
    fn try_apply(&mut self, at: i64, action: serde_json::Value) -> Result<StepOutcome, TestCaseError> {
        let parsed: Action = serde_json::from_value(action.clone())
            .map_err(|e| TestCaseError::fail(format!("bad action {action}: {e}")))?;
        self.harness.advance_to(at);
        Ok(self.harness.apply(&parsed))
    }

    fn apply(&mut self, at: i64, action: serde_json::Value) -> Result<(), TestCaseError> {
        let outcome = self.try_apply(at, action.clone())?;
        prop_assert!(outcome.is_ok(), "step {} at {} failed: {:?}", action, utc(at), outcome);
        Ok(())
    }

    /// Connects the brand's account the first time one of its locks is
    /// to be assigned.
    fn connect(&mut self, at: i64, brand: Brand) -> Result<(), TestCaseError> {
        if self.connected.insert(brand) {
            self.apply(at, connect_action(brand))?;
        }
        Ok(())
    }

    /// Assigns property `i` the lock the model gives it. Only a TTLock lock
    /// whose gateway link has lapsed may be refused (R3: the lock list no
    /// longer shows its gateway), and it must be. Returns whether it was
    /// assigned.
    fn assign(&mut self, at: i64, i: usize) -> Result<bool, TestCaseError> {
        let p = self.properties[i].clone();
        self.connect(at, p.brand)?;
        let (online, since) = link_state(&self.channel_changes[channel_of(p.brand, p.lock_id())], at);
        let linked = p.brand != Brand::Ttlock || online || at < since + TTLOCK_LINK_CACHE;
        let action = assign_action(i, &p);
        let outcome = self.try_apply(at, action.clone())?;
        if linked {
            prop_assert!(outcome.is_ok(), "step {} at {} failed: {:?}", action, utc(at), outcome);
        } else {
            prop_assert!(
                outcome.as_ref().is_err_and(|e| e.contains("gateway")),
                "R3: step {} at {}: the gateway has been off line since {}, expected a refusal naming the gateway, got {:?}",
                action,
                utc(at),
                utc(since),
                outcome
            );
        }
        if linked {
            self.properties[i].applied_margin = p.margin;
        }
        Ok(linked)
    }

    fn booking_step(&mut self, at: i64, i: usize) -> Result<(), TestCaseError> {
        self.bookings[i].created = true;
        let action = booking_action(&format!("b{}", i + 1), &self.bookings[i], self.start);
        self.apply(at, action)
    }

    fn run_step(&mut self, at: i64, step: Step) -> Result<(), TestCaseError> {
        let nb = self.bookings.len();
        let np = self.properties.len();
        match step {
            Step::Create(i) => self.booking_step(at, i)?,
            Step::Event(Event::Confirm { booking }) => {
                self.bookings[booking % nb].confirmed = true;
                self.booking_step(at, booking % nb)?;
            }
            Step::Event(Event::Cancel { booking }) => {
                self.bookings[booking % nb].confirmed = false;
                self.booking_step(at, booking % nb)?;
            }
            Step::Event(Event::Dates { booking, check_in_day, nights }) => {
                let b = &mut self.bookings[booking % nb];
                b.check_in_day = check_in_day;
                b.nights = nights;
                self.booking_step(at, booking % nb)?;
            }
            Step::Event(Event::Times { booking, check_in, check_out }) => {
                let b = &mut self.bookings[booking % nb];
                b.check_in = check_in;
                b.check_out = check_out;
                self.booking_step(at, booking % nb)?;
            }
            Step::Event(Event::PropertyTimes { property, check_in, check_out }) => {
                let p = property % np;
                self.properties[p].check_in = check_in;
                self.properties[p].check_out = check_out;
                self.apply(at, property_action(p, &self.properties[p]))?;
            }
            Step::Event(Event::Timezone { property, tz }) => {
                let p = property % np;
                self.properties[p].tz = tz;
                self.apply(at, property_action(p, &self.properties[p]))?;
            }
            Step::Event(Event::Settings { property, days_before, margin }) => {
                let p = property % np;
                self.properties[p].days_before = days_before;
                self.properties[p].margin = margin;
                // Unassigned: the settings go with the coming assign.
                if self.properties[p].assigned {
                    self.apply(at, assign_action(p, &self.properties[p]))?;
                }
            }
            Step::Event(Event::SwitchLock { property }) => {
                let p = property % np;
                let old = self.properties[p].lock;
                self.properties[p].lock = 1 - old;
                if self.properties[p].assigned && !self.assign(at, p)? {
                    // Refused: the old lock stays.
                    self.properties[p].lock = old;
                }
            }
            Step::Event(Event::SwitchBrand { property, by, lock, gap }) => {
                let p = property % np;
                let to = self.properties[p].brand.other(by);
                if self.properties[p].assigned {
                    // R4: refused while the property holds a lock of another brand.
                    self.connect(at, to)?;
                    let mut other = self.properties[p].clone();
                    other.brand = to;
                    other.lock = lock;
                    let action = assign_action(p, &other);
                    let outcome = self.try_apply(at, action.clone())?;
                    prop_assert!(
                        outcome.as_ref().is_err_and(|e| e.contains("remove")),
                        "R4: {} at {} with a {} lock assigned: expected a refusal saying to remove it first, got {:?}",
                        action,
                        utc(at),
                        self.properties[p].brand.name(),
                        outcome
                    );
                    self.apply(at, json!({"do": "unassign", "property": format!("p{}", p + 1)}))?;
                    self.properties[p].assigned = false;
                }
                self.properties[p].brand = to;
                self.properties[p].lock = lock;
                self.push(at + gap * MIN, Step::Reassign(p));
            }
            Step::Reassign(p) => {
                if !self.properties[p].assigned {
                    if self.assign(at, p)? {
                        self.properties[p].assigned = true;
                    } else {
                        self.push(at + ASSIGN_RETRY, Step::Reassign(p));
                    }
                }
            }
            Step::Event(Event::Outage { channel, minutes }) => {
                let (brand, id) = CHANNELS[channel];
                self.channel_changes[channel].push((at, false));
                self.apply(at, json!({"do": "bridge", "provider": brand.name(), "bridge": id, "online": false}))?;
                self.push(at + minutes * MIN, Step::ChannelOn(channel));
            }
            Step::Event(Event::EveOutage { booking, lead, after }) => {
                // The booking's lock and plan as they stand (not yet sent: as
                // they will be when it is); none if it wants no code.
                let b = &self.bookings[booking % nb];
                let p = &self.properties[b.property];
                let target = match &b.want {
                    Some(Want::Code(brand, lock, plan)) => Some((*brand, *lock, *plan)),
                    None if p.assigned && b.confirmed => Some((p.brand, p.lock_id(), plan_of(b, p))),
                    _ => None,
                };
                if let Some((brand, lock, plan)) = target {
                    let channel = channel_of(brand, lock);
                    let off = (plan.create_at - lead * MIN).max(at);
                    let on = (plan.alert_at + after * MIN).max(off + 30 * MIN);
                    self.push(off, Step::ChannelOff(channel));
                    self.push(on, Step::ChannelOn(channel));
                }
            }
            Step::Event(Event::LockRemovedMidStay { booking, into, gap, change }) => {
                // The booking's plan as it stands (not yet sent: as it will
                // be when it is); none if it wants no code.
                let i = booking % nb;
                let b = &self.bookings[i];
                let p = &self.properties[b.property];
                if p.assigned && b.confirmed {
                    let off = (plan_of(b, p).window_start + into * MIN).max(at);
                    let change = match change {
                        StayChange::Nothing => None,
                        StayChange::Cancel => Some(Event::Cancel { booking: i }),
                        StayChange::Shorten => Some(Event::Dates {
                            booking: i,
                            check_in_day: b.check_in_day,
                            nights: (b.nights - 1).max(1),
                        }),
                        StayChange::CheckOut(check_out) => {
                            Some(Event::Times { booking: i, check_in: b.check_in, check_out })
                        }
                    };
                    let property = b.property;
                    self.push(off, Step::Unassign(property));
                    if let Some(e) = change {
                        self.push(off + gap * MIN / 2, Step::Event(e));
                    }
                    self.push(off + gap * MIN, Step::Reassign(property));
                }
            }
            Step::Unassign(p) => {
                if self.properties[p].assigned {
                    self.apply(at, json!({"do": "unassign", "property": format!("p{}", p + 1)}))?;
                    self.properties[p].assigned = false;
                }
            }
            Step::ChannelOff(channel) => {
                let (brand, id) = CHANNELS[channel];
                self.channel_changes[channel].push((at, false));
                self.apply(at, json!({"do": "bridge", "provider": brand.name(), "bridge": id, "online": false}))?;
            }
            Step::ChannelOn(channel) => {
                let (brand, id) = CHANNELS[channel];
                self.channel_changes[channel].push((at, true));
                self.apply(at, json!({"do": "bridge", "provider": brand.name(), "bridge": id, "online": true}))?;
            }
            Step::Event(Event::Restart) => self.apply(at, json!({"do": "restart"}))?,
        }
        Ok(())
    }

    /// Brings each sent booking's `want` up to date after a step at `at`.
    fn update_wants(&mut self, at: i64) {
        for b in &mut self.bookings {
            if !b.created {
                continue;
            }
            let p = &self.properties[b.property];
            let now = if !b.confirmed {
                Want::Cancelled
            } else if !p.assigned {
                Want::NoLock { stay_end: plan_with_margin(b, p, p.applied_margin).window_end }
            } else {
                Want::Code(p.brand, p.lock_id(), plan_of(b, p))
            };
            if b.want.as_ref() != Some(&now) {
                b.want = Some(now);
                b.last_change = at;
            }
        }
    }
}

/// Runs the timeline on a fresh harness and collects what happened.
fn run_timeline(tl: &Timeline) -> Result<Outcome, TestCaseError> {
    let start = t(START);
    let end = start + SPAN_DAYS * DAY;
    let harness = Harness::start(&runtime(), world(), start, 15).expect("harness starts");
    let properties: Vec<PropertyNow> = tl.properties.clone();
    let bookings: Vec<BookingNow> = tl
        .bookings
        .iter()
        .map(|b| BookingNow {
            property: b.property,
            check_in_day: b.check_in_day,
            nights: b.nights,
            check_in: b.check_in,
            check_out: b.check_out,
            confirmed: true,
            created: false,
            want: None,
            last_change: start,
        })
        .collect();
    let mut run = Run {
        harness,
        start,
        properties,
        bookings,
        channel_changes: vec![Vec::new(); CHANNELS.len()],
        connected: BTreeSet::new(),
        queue: BinaryHeap::new(),
        steps: Vec::new(),
    };

    for i in 0..run.properties.len() {
        run.apply(start, property_action(i, &run.properties[i]))?;
        prop_assert!(run.assign(start, i)?, "the first assign of p{} is refused", i + 1);
        run.properties[i].assigned = true;
    }

    // Everything that happens, in time order: first sends of bookings and
    // events, and what they bring (ends of outages, delayed assigns).
    for (i, b) in tl.bookings.iter().enumerate() {
        run.push(start + b.created * MIN, Step::Create(i));
    }
    for (at, e) in &tl.events {
        run.push(start + at * MIN, Step::Event(e.clone()));
    }
    while let Some(Reverse((at, seq))) = run.queue.pop() {
        if at > end {
            break;
        }
        let step = run.steps[seq].clone();
        run.run_step(at, step)?;
        run.update_wants(at);
    }
    run.harness.advance_to(end);

    let pins = run.harness.world.pins();
    let mut alerts = BTreeMap::new();
    for e in run.harness.storage.emails().map_err(|e| TestCaseError::fail(format!("outbox: {e}")))? {
        alerts.entry(e.dedup_key).or_insert_with(Vec::new).push(e.at);
    }
    Ok(Outcome {
        end,
        bookings: run.bookings,
        channel_changes: run.channel_changes,
        // Offline codes (R24) are judged on their own: the lock computes
        // them, nothing deletes them, and they may overlap the late regular
        // code the plugin then deletes.
        pins: pins.iter().filter(|p| p.kind != PinKind::Offline).cloned().collect(),
        offline: pins.into_iter().filter(|p| p.kind == PinKind::Offline).collect(),
        alerts,
    })
}

// ---------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------

impl Outcome {
    fn online_at(&self, channel: usize, at: i64) -> bool {
        link_state(&self.channel_changes[channel], at).0
    }

    /// Online during the whole of `[from, to]`.
    fn online_throughout(&self, channel: usize, from: i64, to: i64) -> bool {
        self.online_at(channel, from)
            && !self.channel_changes[channel].iter().any(|(t, on)| !on && *t > from && *t <= to)
    }

    /// When the links last came back (all online since), or `None` if
    /// one is offline at the end.
    fn stable_since(&self, channels: &[usize]) -> Option<i64> {
        let mut since = i64::MIN;
        for &c in channels {
            if !self.online_at(c, self.end) {
                return None;
            }
            if let Some((t, _)) = self.channel_changes[c].last() {
                since = since.max(*t);
            }
        }
        Some(since)
    }

    /// (d) Each of `pins` is gone by `bound(pin)`, judged where the links
    /// of all of them were online from two hours before `since` until then
    /// (a write pending on one link holds up the others' deletes).
    fn assert_gone(
        &self,
        pins: &[&PinRecord],
        since: i64,
        bound: impl Fn(&PinRecord) -> i64,
        failure: impl Fn(&PinRecord) -> String,
    ) -> Result<(), TestCaseError> {
        for p in pins {
            let by = bound(p);
            let up = pins.iter().all(|q| self.online_throughout(channel_of_pin(q), since - 2 * HOUR, by));
            if by <= self.end && up {
                prop_assert!(until(p) <= by, "{}", failure(p));
            }
        }
        Ok(())
    }

    fn pins_of(&self, id: &str) -> Vec<&PinRecord> {
        let tag = format!("({id})");
        self.pins.iter().filter(|p| p.access_name.contains(&tag)).collect()
    }
}

fn until(p: &PinRecord) -> i64 {
    p.removed_at.unwrap_or(i64::MAX)
}

fn overlap(a: &PinRecord, b: &PinRecord) -> bool {
    a.added_at < until(b) && b.added_at < until(a)
}

fn same_lock(a: &PinRecord, b: &PinRecord) -> bool {
    a.provider == b.provider && a.lock == b.lock
}

fn show(p: &PinRecord) -> String {
    format!(
        "{} {} {} \"{}\" window {}..{} on {}..{}",
        p.provider,
        p.lock,
        p.pin,
        p.access_name,
        utc(p.start),
        utc(p.end),
        utc(p.added_at),
        p.removed_at.map(utc).unwrap_or_else(|| "now".into())
    )
}

fn check(o: &Outcome) -> Result<usize, TestCaseError> {
    let mut judged = 0;
    // (a) and (b): pairwise over everything the locks ever held.
    for (i, a) in o.pins.iter().enumerate() {
        for b in o.pins.iter().skip(i + 1) {
            if !overlap(a, b) {
                continue;
            }
            prop_assert!(
                !(same_lock(a, b) && a.pin == b.pin),
                "(b) PIN twice on a lock at once: {} / {}",
                show(a),
                show(b)
            );
            prop_assert!(
                a.access_name != b.access_name,
                "(a) two PINs of one booking at once: {} / {}",
                show(a),
                show(b)
            );
        }
    }

    // R24: an offline code only ever goes to a booking whose alert went out.
    for p in &o.offline {
        prop_assert!(
            o.alerts
                .keys()
                .any(|k| k.strip_prefix("alert/").is_some_and(|b| p.access_name.contains(&format!("({b})")))),
            "R24: an offline code without its booking's alert: {}",
            show(p)
        );
    }

    // R8: six digits, not all the same, not a straight run; Nuki's own
    // rule on top.
    for p in &o.pins {
        let d: Vec<i16> = p.pin.bytes().map(|b| i16::from(b) - i16::from(b'0')).collect();
        prop_assert!(d.len() == 6 && d.iter().all(|x| (0..10).contains(x)), "R8: not six digits: {}", show(p));
        let steps: Vec<i16> = d.windows(2).map(|w| (w[1] - w[0]).rem_euclid(10)).collect();
        prop_assert!(!steps.iter().all(|s| *s == steps[0] && [0, 1, 9].contains(s)), "R8: guessable PIN {}", show(p));
        if Brand::of(p.provider) == Brand::Nuki {
            prop_assert!(!d.contains(&0) && !p.pin.starts_with("12"), "R8: not a Nuki keypad code: {}", show(p));
        }
    }

    // (d) every code goes within DELETE_SLACK of its own end while its
    // link is online around then.
    for p in &o.pins {
        let due = p.end + DELETE_SLACK;
        if due <= o.end && o.online_throughout(channel_of_pin(p), p.end - 2 * HOUR, due) {
            prop_assert!(
                p.removed_at.is_some_and(|r| r <= due),
                "(d) code left on the lock after its end: {}",
                show(p)
            );
        }
    }

    // (e) at most one alert per booking, and only for bookings.
    for (key, sent) in &o.alerts {
        prop_assert!(sent.len() <= 1, "(e) {} e-mails with key {key}", sent.len());
        // The alert (R12), and the note that a fallback code outlives a
        // cancelled or shortened stay (R24).
        let id = key.strip_prefix("alert/").or_else(|| key.strip_prefix("fallback-notice/"));
        prop_assert!(id.is_some_and(|id| id.starts_with('b')), "unexpected e-mail {key}");
    }

    for (i, b) in o.bookings.iter().enumerate() {
        let id = format!("b{}", i + 1);
        let pins = o.pins_of(&id);
        let Some(want) = &b.want else {
            prop_assert!(pins.is_empty(), "{id} was never sent but has codes");
            continue;
        };
        let live: Vec<&&PinRecord> = pins.iter().filter(|p| p.removed_at.is_none()).collect();
        let (lock, plan) = match want {
            Want::Cancelled => {
                // (d) R15: deleted at the next tick, if the links are up.
                let due = b.last_change + CANCEL_SLACK;
                o.assert_gone(
                    &pins,
                    b.last_change,
                    |_| due,
                    |p| format!("(d) {id} cancelled at {} still had {}", utc(b.last_change), show(p)),
                )?;
                let channels: Vec<usize> = pins.iter().map(|p| channel_of_pin(p)).collect();
                let settled = o.stable_since(&channels).map(|since| b.last_change.max(since) + SETTLE);
                if settled.is_some_and(|s| s <= o.end) {
                    prop_assert!(live.is_empty(), "(d) {id} is cancelled but has {}", show(live[0]));
                }
                continue;
            }
            Want::NoLock { stay_end } => {
                // (d) R17: its property lost its lock; a code whose window
                // had not started then is deleted at the next tick.
                let due = b.last_change + CANCEL_SLACK;
                let not_started: Vec<&PinRecord> = pins.iter().copied().filter(|p| p.start > b.last_change).collect();
                o.assert_gone(
                    &not_started,
                    b.last_change,
                    |_| due,
                    |p| {
                        let when = utc(b.last_change);
                        format!(
                            "(d) R17 {id}: without a lock since before its window (last change {when}), but {} stayed",
                            show(p)
                        )
                    },
                )?;
                // (d) R15-R17: one kept mid-stay goes at the stay's current
                // check-out + margin (or its own end, if sooner), or at the
                // next tick if that has passed.
                let kept_until = |p: &PinRecord| due.max(p.end.min(*stay_end) + DELETE_SLACK);
                o.assert_gone(&pins, b.last_change, kept_until, |p| {
                    let (since, end) = (utc(b.last_change), utc(*stay_end));
                    format!(
                        "(d) R16/R17 {id}: without a lock (last change {since}), its stay ending {end}, but {} stayed",
                        show(p)
                    )
                })?;
                continue;
            }
            Want::Code(brand, lock, plan) => ((*brand, *lock), plan),
        };
        let on_lock = |p: &PinRecord| Brand::of(p.provider) == lock.0 && p.lock == lock.1;
        // (f) R12: no code from 18:00 on the eve (and none on its way then)
        // and facts that stood before: the alert has gone out.
        let alert_by = plan.alert_at + ALERT_SLACK;
        let code_then = pins.iter().any(|p| p.added_at <= alert_by && until(p) > plan.alert_at);
        if b.last_change < plan.alert_at - HOUR && alert_by <= o.end && !code_then {
            let sent = o.alerts.get(&format!("alert/{id}"));
            prop_assert!(
                sent.is_some_and(|s| s.iter().any(|&at| at <= alert_by)),
                "(f) {id} on {} {} had no code at {} (its eve, 18:00 local) but no alert by {}: sent {:?}; codes: {:#?}",
                lock.0.name(),
                lock.1,
                utc(plan.alert_at),
                utc(alert_by),
                sent.map(|s| s.iter().map(|&at| utc(at)).collect::<Vec<_>>()),
                pins.iter().map(|p| show(p)).collect::<Vec<_>>()
            );
        }
        // The links the booking's codes were or are to be on.
        let mut channels = vec![channel_of(lock.0, lock.1)];
        channels.extend(pins.iter().map(|p| channel_of_pin(p)));
        let Some(channels_since) = o.stable_since(&channels) else { continue };
        let settled = b.last_change.max(channels_since) + SETTLE;
        if settled > o.end {
            continue;
        }
        // (d) R14/R16/R17: once the last change is carried out, no code of
        // the booking outlives its final window, whatever lock it is on.
        let bound = (b.last_change + CANCEL_SLACK).max(plan.window_end + DELETE_SLACK);
        o.assert_gone(
            &pins,
            b.last_change,
            |_| bound,
            |p| {
                let (changed, end) = (utc(b.last_change), utc(plan.window_end));
                format!("(d) {id}: last changed at {changed}, window ends {end}, but {} stayed", show(p))
            },
        )?;
        if plan.window_end + DELETE_SLACK <= o.end {
            // (d) R16: nothing of the booking outlives its final window.
            prop_assert!(live.is_empty(), "(d) {id} ended at {} but has {}", utc(plan.window_end), show(live[0]));
        }
        // (c) facts and links settled before the creation deadline and
        // the window: exactly the planned code on the final lock.
        // R17: a code on another lock that was still there when its window
        // started is kept "mid-stay" and may delay the new one: not judged.
        let kept_mid_stay = pins.iter().any(|p| !on_lock(p) && until(p) > p.start);
        if settled > plan.retry_deadline.min(plan.window_start) || kept_mid_stay {
            continue;
        }
        // R24: a booking that got an offline code instead holds that one,
        // covering its window; the regular code is no longer tried.
        let tag = format!("({id})");
        let fallback: Vec<&PinRecord> = o.offline.iter().filter(|p| p.access_name.contains(&tag)).collect();
        if !fallback.is_empty() {
            prop_assert!(
                fallback
                    .iter()
                    .any(|p| on_lock(p) && p.start <= plan.window_start.max(p.added_at) && p.end >= plan.window_end),
                "R24 {id}: its offline code does not cover {}..{}: {:#?}",
                utc(plan.window_start),
                utc(plan.window_end),
                fallback.iter().map(|p| show(p)).collect::<Vec<_>>()
            );
            continue;
        }
        let created_by = settled.max(plan.create_at + SETTLE);
        if created_by > o.end {
            continue;
        }
        let covering: Vec<&&PinRecord> = pins
            .iter()
            .filter(|p| {
                on_lock(p)
                    && p.start == plan.window_start
                    && p.end == plan.window_end
                    && p.added_at <= created_by.min(plan.window_start)
            })
            .filter(|p| until(p) >= plan.window_end.min(o.end))
            .collect();
        prop_assert!(
            covering.len() == 1,
            "(c) {id}: expected one code on {} {} for {}..{} by {}, created and kept, found {} among: {:#?}",
            lock.0.name(),
            lock.1,
            utc(plan.window_start),
            utc(plan.window_end),
            utc(created_by),
            covering.len(),
            pins.iter().map(|p| show(p)).collect::<Vec<_>>()
        );
        if plan.window_end > o.end {
            prop_assert!(live.len() == 1, "(c) {id}: {} live codes at the end", live.len());
        }
        judged += 1;
    }
    Ok(judged)
}

/// Cases per property when `PROPTEST_CASES` does not say: each is a fresh
/// harness (three vendor stubs) and six simulated weeks of ticks.
const DEFAULT_CASES: u32 = 20;
/// The seed when `PROPTEST_RNG_SEED` does not say: every run judges the
/// same timelines, and a failure replays.
const DEFAULT_SEED: u64 = 20_260_301;

/// Shrinking a failure stops after this many milliseconds (when
/// `PROPTEST_MAX_SHRINK_TIME` does not say), with the smallest timeline
/// found by then: a case takes seconds, so 256 steps can take many minutes.
const DEFAULT_SHRINK_MS: u32 = 5 * 60 * 1000;

fn config() -> ProptestConfig {
    // Config::default() reads the PROPTEST_* variables; ours apply where
    // they are not set.
    let mut config = ProptestConfig { failure_persistence: None, ..ProptestConfig::default() };
    let unset = |var: &str| std::env::var_os(var).is_none();
    if unset("PROPTEST_MAX_SHRINK_ITERS") {
        config.max_shrink_iters = 256;
    }
    if unset("PROPTEST_CASES") {
        config.cases = DEFAULT_CASES;
    }
    if unset("PROPTEST_RNG_SEED") {
        config.rng_seed = RngSeed::Fixed(DEFAULT_SEED);
    }
    if unset("PROPTEST_MAX_SHRINK_TIME") {
        config.max_shrink_time = DEFAULT_SHRINK_MS;
    }
    config
}

/// Runs and judges the configured number of random timelines of `shape`;
/// returns how many bookings (c) judged over all of them. A failure says
/// how to replay it.
fn check_timelines(shape: Shape) -> usize {
    let config = config();
    let (cases, seed) = (config.cases, config.rng_seed);
    let judged = AtomicUsize::new(0);
    let result = TestRunner::new(config).run(&timeline(shape), |tl| {
        judged.fetch_add(run_and_check(&tl)?, Ordering::Relaxed);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}\n{cases} cases from seed {seed}: PROPTEST_RNG_SEED={seed} PROPTEST_CASES={cases} replays them");
    }
    judged.into_inner()
}

/// Checks every invariant over the run; returns how many bookings (c)
/// judged, so a shape that never reaches (c) is noticed.
fn run_and_check(tl: &Timeline) -> Result<usize, TestCaseError> {
    let outcome = run_timeline(tl)?;
    check(&outcome)
}

/// (a), (b), (d), (e), (f) on timelines where anything happens at any
/// time, and (c) for the bookings that happen to settle in time.
#[test]
fn random_timelines_never_double_a_code_and_clean_up_after_each_window() {
    check_timelines(ANYTIME);
}

/// The same on timelines whose changes are all over three weeks before the
/// stays: (c) judges most confirmed bookings, and a run that judges none
/// proves nothing.
#[test]
fn random_settled_timelines_end_with_exactly_the_planned_code() {
    let judged = check_timelines(SETTLED);
    let cases = config().cases;
    eprintln!("(c) judged {judged} bookings over {cases} settled timelines");
    assert!(judged > 0, "(c) judged no booking over {cases} settled timelines");
}

/// Reduced from `random_timelines_never_double_a_code_and_clean_up_after_each_window`:
/// one `assign` switches p1 from L2 to L1 and the margin from 240 to 0 at
/// 08:50Z, before either window starts (old 09:00Z, new 13:00Z). The next
/// tick (09:00Z) finds the old code's window started and keeps it on L2
/// "mid-stay" (R17) with its old window, four hours past the new
/// check-out + margin (R16), and L1 never gets a code.
#[test]
fn r17_lock_and_margin_change_before_the_window_moves_the_code() {
    let steps = vec![
        connect("2026-03-20T08:00:00Z"),
        property("2026-03-20T08:01:00Z", "p1", "Europe/Paris", None, None),
        assign("2026-03-20T08:02:00Z", "p1", "L2", 5, 240),
        booking("2026-03-20T09:00:00Z", "b1", "p1", "2026-03-30", "2026-04-04"),
        assign("2026-03-30T08:50:00Z", "p1", "L1", 5, 0),
        end("2026-04-06T00:00:00Z"),
    ];
    let report = run("r17 lock + margin", "2026-03-20T08:00:00Z", steps);
    assert_steps_ok(&report);
    let show: Vec<String> = report.pins.iter().map(show).collect();
    let old = report.pins_on("L2");
    assert_eq!(old.len(), 1, "{show:#?}");
    assert!(
        old[0].removed_at.is_some_and(|r| r <= t("2026-03-30T09:15:30Z")),
        "old code deleted from L2 at the next tick: {show:#?}"
    );
    let new = report.pins_on("L1");
    assert_eq!(new.len(), 1, "{show:#?}");
    // March 30 15:00 to April 4 11:00 Paris (CEST).
    assert_eq!(
        (utc(new[0].start), utc(new[0].end)),
        ("2026-03-30T13:00:00Z".to_string(), "2026-04-04T09:00:00Z".to_string()),
        "{show:#?}"
    );
}

/// The same without any race: mid-stay, p1 is switched from L2 to L1 and
/// the stay is shortened from April 4 to April 2. The guest keeps the code
/// until check-out (R17), but that is now April 2 11:30 Paris: the code
/// must go then (R16), not at the old check-out two days later.
#[test]
fn r17_code_kept_mid_stay_goes_at_the_new_check_out() {
    let steps = vec![
        connect("2026-03-20T08:00:00Z"),
        property("2026-03-20T08:01:00Z", "p1", "Europe/Paris", None, None),
        assign("2026-03-20T08:02:00Z", "p1", "L2", 5, 30),
        booking("2026-03-20T09:00:00Z", "b1", "p1", "2026-03-30", "2026-04-04"),
        assign("2026-04-01T10:00:00Z", "p1", "L1", 5, 30),
        booking("2026-04-01T10:05:00Z", "b1", "p1", "2026-03-30", "2026-04-02"),
        end("2026-04-06T00:00:00Z"),
    ];
    let report = run("r17 kept mid-stay, shortened", "2026-03-20T08:00:00Z", steps);
    assert_steps_ok(&report);
    let show: Vec<String> = report.pins.iter().map(show).collect();
    let old = report.pins_on("L2");
    assert_eq!(old.len(), 1, "{show:#?}");
    // April 2 11:30 Paris (CEST) = 09:30Z, deleted at the next tick.
    assert!(
        old[0].removed_at.is_some_and(|r| r <= t("2026-04-02T09:45:30Z")),
        "kept past the new check-out: {show:#?}"
    );
}

/// Reduced from `random_settled_timelines_end_with_exactly_the_planned_code`
/// (f), for each brand: the lock's link is off line from before b1's code
/// is due (March 21 00:00 Paris) until 18:00 Paris on the eve (March 22
/// 17:00Z). b1 is sent at 16:36Z on March 21, after its creation instant,
/// so its first attempt is then (R7) and the hourly retries fall at :36.
/// At 18:00 on the eve the code does not exist: R12 wants the alert then,
/// not at the next retry 36 minutes later.
#[test]
fn r12_eve_alert_on_time_when_the_hourly_retries_are_off_the_hour() {
    let mut late = Vec::new();
    for brand in BRANDS {
        let lock = brand.locks()[0];
        let link = CHANNELS[channel_of(brand, lock)].1;
        let link = |at: &str, online: bool| {
            step(at, "bridge", json!({"provider": brand.name(), "bridge": link, "online": online}))
        };
        let mut connect = connect_action(brand);
        connect["at"] = json!("2026-03-20T08:00:00Z");
        let steps = vec![
            connect,
            property("2026-03-20T08:01:00Z", "p1", "Europe/Paris", None, None),
            step(
                "2026-03-20T08:02:00Z",
                "assign",
                json!({"property": "p1", "provider": brand.name(), "lock": lock, "days_before": 2, "margin_minutes": 0}),
            ),
            link("2026-03-20T20:00:00Z", false),
            booking("2026-03-21T16:36:00Z", "b1", "p1", "2026-03-23", "2026-03-25"),
            link("2026-03-22T17:00:00Z", true),
            end("2026-03-23T12:00:00Z"),
        ];
        let mut file = world_json();
        file["name"] = json!(format!("R12 eve alert, {}", brand.name()));
        file["start"] = json!("2026-03-20T08:00:00Z");
        file["steps"] = json!(steps);
        let report = run_file(file);
        assert_steps_ok(&report);
        let sent: Vec<(String, String)> = report.emails.iter().map(|e| (e.dedup_key.clone(), utc(e.at))).collect();
        if sent != [("alert/b1".to_string(), "2026-03-22T17:00:00Z".to_string())] {
            late.push(format!("{}: {sent:?}", brand.name()));
        }
    }
    assert!(
        late.is_empty(),
        "R12: the alert for b1 should go at 2026-03-22T17:00:00Z (18:00 Paris on the eve): {late:#?}"
    );
}

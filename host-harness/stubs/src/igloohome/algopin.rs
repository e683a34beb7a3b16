//! Offline algoPINs (`docs/brands/igloohome.md`, "Offline algoPIN"): `POST
//! /igloohome/devices/{deviceId}/algopin/{hourly|daily|onetime|permanent}`.
//!
//! The cloud computes the PIN from key data it shares with the lock since
//! pairing; the lock checks it on its own clock. So issuing needs no bridge
//! (its state is never read here), and nothing can revoke the code: no API
//! call and no bridge delete job reaches it. The stub's PIN is a keyed hash
//! of lock, type, window and variance, so the same request gives the same
//! PIN and `pinId` again (a retry after a timeout is safe).
//!
//! Validation, where the doc is unsure taking the stricter reading: whole
//! hours with an explicit numeric offset, `'startDate' must be in format …`
//! otherwise (400); a start before the current hour (400); hourly 1-672
//! elapsed hours; daily 29-367 days with start and end at the same wall
//! hour (422 beyond 367 days, as one PMS relays); `variance` 1-3 (1-5 for
//! onetime); `accessName` 1-60 characters; `endDate` required for hourly
//! and daily, refused for onetime and permanent; a JSON body (415).
//!
//! At the lock: a window over 24 h must be typed once before start + 24 h or
//! is refused for the rest of it; a one-time code opens once within 24 h of
//! its start; a permanent one opens from its start on, first use within
//! 24 h.

use chrono::{DateTime, FixedOffset};
use md5::{Digest, Md5};
use serde_json::{Map, Value};

use super::state::State;
use crate::offline::OfflineUse;
use crate::sim::Simulation as _;
use crate::{PinKind, PinRecord};

/// The end a permanent algoPIN has in the report (a [`PinRecord`] needs
/// one): 9999-12-31T23:59:59Z.
pub const PERMANENT_END: i64 = 253_402_300_799;
/// A code with a longer window must be typed once within this many seconds
/// of its start; a one-time code opens within this long of its start.
pub const ACTIVATION: i64 = 86_400;
/// Longest hourly window, in elapsed hours (28 days).
pub const MAX_HOURLY_HOURS: i64 = 672;
/// Daily windows span this many days, both ends included.
pub const DAILY_DAYS: std::ops::RangeInclusive<i64> = 29..=367;
/// Longest `accessName`, in characters.
const MAX_ACCESS_NAME: usize = 60;

/// The four algoPIN types, one endpoint and one scope each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlgoKind {
    Hourly,
    Daily,
    Onetime,
    Permanent,
}

impl AlgoKind {
    /// The last path segment.
    pub fn parse(segment: &str) -> Option<AlgoKind> {
        Some(match segment {
            "hourly" => AlgoKind::Hourly,
            "daily" => AlgoKind::Daily,
            "onetime" => AlgoKind::Onetime,
            "permanent" => AlgoKind::Permanent,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AlgoKind::Hourly => "hourly",
            AlgoKind::Daily => "daily",
            AlgoKind::Onetime => "onetime",
            AlgoKind::Permanent => "permanent",
        }
    }

    /// The token scope this type needs.
    pub fn scope(self) -> &'static str {
        match self {
            AlgoKind::Hourly => "igloohomeapi/algopin-hourly",
            AlgoKind::Daily => "igloohomeapi/algopin-daily",
            AlgoKind::Onetime => "igloohomeapi/algopin-onetime",
            AlgoKind::Permanent => "igloohomeapi/algopin-permanent",
        }
    }

    /// Highest `variance` (the number of PINs per slot).
    fn max_variance(self) -> i64 {
        if self == AlgoKind::Onetime {
            5
        } else {
            3
        }
    }

    fn has_end(self) -> bool {
        matches!(self, AlgoKind::Hourly | AlgoKind::Daily)
    }
}

/// One issued algoPIN: the request it answers and the lock's view of it.
#[derive(Debug, Clone)]
pub(crate) struct AlgoPin {
    pub lock: String,
    pub kind: AlgoKind,
    /// The window as requested (`end` is `None` for onetime and permanent).
    pub start: i64,
    pub end: Option<i64>,
    pub variance: i64,
    pub pin: String,
    pub pin_id: String,
    pub lock_side: OfflineUse,
}

/// Why a request is refused: the HTTP status and the `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub status: u16,
    pub message: String,
}

fn bad(message: String) -> Refusal {
    Refusal { status: 400, message }
}

/// A validated request.
struct Request {
    variance: i64,
    start: DateTime<FixedOffset>,
    end: Option<DateTime<FixedOffset>>,
    access_name: String,
}

/// Issues (or finds again) the algoPIN for `lock`, which the caller has
/// checked is a lock; returns its `pin` and `pinId`.
pub(crate) fn issue(
    state: &mut State,
    lock: &str,
    kind: AlgoKind,
    body: &Map<String, Value>,
) -> Result<(String, String), Refusal> {
    let req = parse(state.now(), kind, body)?;
    let (start, end) = (req.start.timestamp(), req.end.map(|e| e.timestamp()));
    if let Some(a) = state
        .algopins
        .iter()
        .find(|a| a.lock == lock && a.kind == kind && a.start == start && a.end == end && a.variance == req.variance)
    {
        return Ok((a.pin.clone(), a.pin_id.clone()));
    }
    let pin = derive_pin(lock, kind, start, end, req.variance);
    let pin_id = state.new_id();
    let (lock_end, lock_side) = match (kind, end) {
        (AlgoKind::Onetime, _) => (start + ACTIVATION, OfflineUse::once(start, start + ACTIVATION)),
        (AlgoKind::Permanent, _) => (PERMANENT_END, OfflineUse::new(start, PERMANENT_END, Some(start + ACTIVATION))),
        (_, Some(end)) => (end, OfflineUse::new(start, end, (end - start > ACTIVATION).then_some(start + ACTIVATION))),
        // Hourly and daily always have an end (checked in `parse`).
        (_, None) => return Err(bad("'endDate' is required".into())),
    };
    state.pins.push(PinRecord {
        provider: "igloohome",
        lock: lock.to_string(),
        pin: pin.clone(),
        access_name: req.access_name,
        start,
        end: lock_end,
        added_at: state.now(),
        removed_at: None,
        kind: PinKind::Offline,
    });
    state.algopins.push(AlgoPin {
        lock: lock.to_string(),
        kind,
        start,
        end,
        variance: req.variance,
        pin: pin.clone(),
        pin_id: pin_id.clone(),
        lock_side,
    });
    tracing::debug!(lock, kind = kind.as_str(), start, ?end, "igloohome stub: algoPIN issued");
    Ok((pin, pin_id))
}

fn parse(now: i64, kind: AlgoKind, body: &Map<String, Value>) -> Result<Request, Refusal> {
    let max = kind.max_variance();
    let variance = match body.get("variance").and_then(Value::as_i64) {
        Some(v) if (1..=max).contains(&v) => v,
        _ => return Err(bad(format!("'variance' must be an integer from 1 to {max}"))),
    };
    let access_name = match body.get("accessName") {
        Some(Value::String(s)) if (1..=MAX_ACCESS_NAME).contains(&s.chars().count()) => s.clone(),
        _ => return Err(bad(format!("'accessName' must be a string of 1 to {MAX_ACCESS_NAME} characters"))),
    };
    let start = hour_date(body, "startDate")?.ok_or_else(|| bad("'startDate' is required".into()))?;
    let end = hour_date(body, "endDate")?;
    let offset = i64::from(start.offset().local_minus_utc());
    let current_hour = now - (now + offset).rem_euclid(3600);
    if start.timestamp() < current_hour {
        return Err(bad("'startDate' must not be before the current hour".into()));
    }
    let end = match (kind.has_end(), end) {
        (true, None) => return Err(bad(format!("'endDate' is required for {} algoPINs", kind.as_str()))),
        (false, Some(_)) => return Err(bad(format!("'endDate' is not allowed for {} algoPINs", kind.as_str()))),
        (_, end) => end,
    };
    if let Some(end) = end {
        check_duration(kind, start, end)?;
    }
    Ok(Request { variance, start, end, access_name })
}

/// Hourly: 1 to 672 elapsed hours. Daily: 29 to 367 days by the wall
/// calendar, start and end at the same wall hour.
fn check_duration(kind: AlgoKind, start: DateTime<FixedOffset>, end: DateTime<FixedOffset>) -> Result<(), Refusal> {
    if end <= start {
        return Err(bad("'endDate' must be after 'startDate'".into()));
    }
    match kind {
        AlgoKind::Hourly => {
            let hours = (end.timestamp() - start.timestamp()) / 3600;
            if hours > MAX_HOURLY_HOURS {
                return Err(bad(format!(
                    "hourly algoPINs last 1 to {MAX_HOURLY_HOURS} hours; use a daily algoPIN for longer"
                )));
            }
        }
        AlgoKind::Daily => {
            let (s, e) = (start.naive_local(), end.naive_local());
            if s.time() != e.time() {
                return Err(bad("'startDate' and 'endDate' must be at the same hour of day for daily algoPINs".into()));
            }
            let days = (e.date() - s.date()).num_days();
            if days > *DAILY_DAYS.end() {
                return Err(Refusal { status: 422, message: "Exceeded the limit of 367 days".into() });
            }
            if days < *DAILY_DAYS.start() {
                return Err(bad("daily algoPINs last 29 to 367 days; use an hourly algoPIN for shorter".into()));
            }
        }
        AlgoKind::Onetime | AlgoKind::Permanent => {}
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:00:00±hh:mm`: a whole hour of wall time with an explicit
/// numeric offset. `None` when absent.
fn hour_date(body: &Map<String, Value>, field: &str) -> Result<Option<DateTime<FixedOffset>>, Refusal> {
    let Some(v) = body.get(field) else { return Ok(None) };
    let refuse = || {
        bad(format!("'{field}' must be in format YYYY-MM-DDTHH:00:00+hh:mm (a whole hour with a numeric UTC offset)"))
    };
    let s = v.as_str().ok_or_else(refuse)?;
    let b = s.as_bytes();
    let shape =
        b.len() == 25 && b[10] == b'T' && &b[13..19] == b":00:00" && matches!(b[19], b'+' | b'-') && b[22] == b':';
    if !shape {
        return Err(refuse());
    }
    DateTime::parse_from_rfc3339(s).map(Some).map_err(|_| refuse())
}

/// The PIN the lock's algorithm gives: 9 digits from a hash keyed with the
/// lock's pairing data (here derived from its id, so runs are repeatable).
fn derive_pin(lock: &str, kind: AlgoKind, start: i64, end: Option<i64>, variance: i64) -> String {
    let key = Md5::digest(format!("igloohome-stub pairing key data of {lock}").as_bytes());
    let mut h = Md5::new();
    h.update(key);
    h.update(format!("|{}|{start}|{end:?}|{variance}", kind.as_str()).as_bytes());
    let digest = h.finalize();
    let mut n = [0u8; 8];
    n.copy_from_slice(&digest[..8]);
    format!("{:09}", u64::from_be_bytes(n) % 1_000_000_000)
}

//! Schedule math for one booking's access code (SPEC R6, R9–R13).
//!
//! Everything here is pure: it turns booking and property facts (dates,
//! wall-clock times, an IANA timezone, the assignment's settings) into
//! absolute instants. There is no clock, no storage and no I/O, so the
//! lifecycle code calls [`plan`] once per change and stores the result.
//!
//! Times are wall-clock times in the property's timezone and are converted to
//! instants with that zone's real rules for that date. A wall time that does
//! not exist (DST gap) moves forward to the first instant after the gap; one
//! that exists twice (DST overlap) takes the earlier instant, except the end
//! of the validity window, which takes the later one so the code is never
//! valid for less than promised (R10).
//!
//! Nothing in this module panics: all date arithmetic is checked and every
//! failure is a [`ScheduleError`] naming the offending field.

use chrono::{
    DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, SecondsFormat, TimeDelta, TimeZone,
    Timelike, Utc,
};
use chrono_tz::Tz;

/// Unix seconds UTC.
pub type Instant = i64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ScheduleError {
    ScheduleError::Invalid { field, reason: reason.into() }
}

/// Quotes user input for an error message, cut short so an oversized field
/// cannot blow up logs or e-mails. `{:?}` also escapes control characters.
fn quoted(s: &str) -> String {
    const MAX_CHARS: usize = 64;
    if s.chars().count() <= MAX_CHARS {
        format!("{s:?}")
    } else {
        let cut: String = s.chars().take(MAX_CHARS).collect();
        format!("{cut:?}...")
    }
}

// ---------------------------------------------------------------------------
// Parsing (strict: these strings come from the host and end up in the plan)
// ---------------------------------------------------------------------------

/// An IANA timezone name, exactly as spelled in the tz database
/// (case-sensitive, no surrounding spaces), e.g. `Europe/Paris`.
pub fn parse_timezone(field: &'static str, s: &str) -> Result<Tz, ScheduleError> {
    s.parse::<Tz>().map_err(|_| invalid(field, format!("unknown IANA timezone {}", quoted(s))))
}

/// An IANA timezone parsed once: stored as its name, read back by parsing
/// it (a record's zone is not parsed again each time it is used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(pub Tz);

impl Zone {
    pub fn parse(field: &'static str, s: &str) -> Result<Zone, ScheduleError> {
        parse_timezone(field, s).map(Zone)
    }

    pub fn tz(self) -> Tz {
        self.0
    }
}

impl serde::Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name())
    }
}

impl<'de> serde::Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Zone, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Zone::parse("timezone", &name).map_err(serde::de::Error::custom)
    }
}

/// Parses two ASCII digits at `bytes[at..at + 2]`.
fn two_digits(bytes: &[u8], at: usize) -> Option<u32> {
    match bytes.get(at..at + 2)? {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => Some(u32::from(a - b'0') * 10 + u32::from(b - b'0')),
        _ => None,
    }
}

/// A calendar date, strictly `YYYY-MM-DD` (no sign, no time, no spaces).
pub fn parse_date(field: &'static str, s: &str) -> Result<NaiveDate, ScheduleError> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10 && b[4] == b'-' && b[7] == b'-';
    let parts = if shape_ok {
        two_digits(b, 0).zip(two_digits(b, 2)).zip(two_digits(b, 5)).zip(two_digits(b, 8))
    } else {
        None
    };
    let Some((((y_hi, y_lo), month), day)) = parts else {
        return Err(invalid(field, format!("expected a date as YYYY-MM-DD, got {}", quoted(s))));
    };
    // At most 9999, so the cast cannot truncate.
    let year = (y_hi * 100 + y_lo) as i32;
    NaiveDate::from_ymd_opt(year, month, day)
        .ok_or_else(|| invalid(field, format!("not a valid calendar date: {}", quoted(s))))
}

/// A wall-clock time, strictly `HH:MM` from `00:00` to `23:59`.
pub fn parse_time(field: &'static str, s: &str) -> Result<NaiveTime, ScheduleError> {
    let b = s.as_bytes();
    let parts = if b.len() == 5 && b[2] == b':' { two_digits(b, 0).zip(two_digits(b, 3)) } else { None };
    let Some((hour, minute)) = parts else {
        return Err(invalid(field, format!("expected a time as HH:MM, got {}", quoted(s))));
    };
    NaiveTime::from_hms_opt(hour, minute, 0)
        .ok_or_else(|| invalid(field, format!("not a valid time (00:00 to 23:59): {}", quoted(s))))
}

// ---------------------------------------------------------------------------
// R9: which check-in / check-out times apply
// ---------------------------------------------------------------------------

pub const DEFAULT_CHECK_IN: (u32, u32) = (15, 0);
pub const DEFAULT_CHECK_OUT: (u32, u32) = (11, 0);

/// `(hour, minute)` to a time at compile time (a bad constant fails the build).
const fn hm((hour, minute): (u32, u32)) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(t) => t,
        None => panic!("invalid default time"),
    }
}
const DEFAULT_CHECK_IN_TIME: NaiveTime = hm(DEFAULT_CHECK_IN);
const DEFAULT_CHECK_OUT_TIME: NaiveTime = hm(DEFAULT_CHECK_OUT);

/// R9: negotiated, else property default, else 15:00 / 11:00.
/// Each side is resolved on its own (a booking may negotiate only one).
pub fn resolve_times(
    booking_in: Option<NaiveTime>,
    booking_out: Option<NaiveTime>,
    property_in: Option<NaiveTime>,
    property_out: Option<NaiveTime>,
) -> (NaiveTime, NaiveTime) {
    (
        booking_in.or(property_in).unwrap_or(DEFAULT_CHECK_IN_TIME),
        booking_out.or(property_out).unwrap_or(DEFAULT_CHECK_OUT_TIME),
    )
}

// ---------------------------------------------------------------------------
// Local wall time -> instant
// ---------------------------------------------------------------------------

/// The instant(s) at which the zone's clocks show `local`. Done in plain i64
/// seconds from the zone's offset, so it works over chrono's whole
/// `NaiveDateTime` range without `DateTime` overflow.
fn instants_of(tz: Tz, local: NaiveDateTime) -> LocalResult<Instant> {
    let wall = local.and_utc().timestamp();
    tz.offset_from_local_datetime(&local).map(|off| wall - i64::from(off.fix().local_minus_utc()))
}

/// Search bounds for the end of a DST gap. The longest gap in tzdata is a
/// whole day (Pacific/Apia skipped 2011-12-30); 48 hours leaves slack. Steps of
/// 30 minutes never jump over a second transition (none are that close).
const MAX_GAP_SECS: i64 = 48 * 3600;
const GAP_STEP_SECS: i64 = 30 * 60;

/// `local` does not exist in `tz`. Returns the first instant after the gap,
/// i.e. the transition itself: the instant whose wall time is the first valid
/// one after `local`. Found by stepping forward to a wall time that exists and
/// then bisecting to the second, because historical transitions are not
/// always on whole minutes (Africa/Monrovia 1972 jumped 44 min 30 s).
fn first_instant_after_gap(tz: Tz, local: NaiveDateTime) -> Option<Instant> {
    let exists = |secs: i64| -> Option<bool> {
        let probe = local.checked_add_signed(TimeDelta::try_seconds(secs)?)?;
        Some(!matches!(tz.offset_from_local_datetime(&probe), LocalResult::None))
    };
    // Invariant: wall time local+lo does not exist, local+hi does.
    let mut lo = 0;
    let mut hi = GAP_STEP_SECS;
    while !exists(hi)? {
        lo = hi;
        hi += GAP_STEP_SECS;
        if hi > MAX_GAP_SECS {
            return None;
        }
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if exists(mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let end_of_gap = local.checked_add_signed(TimeDelta::try_seconds(hi)?)?;
    match instants_of(tz, end_of_gap) {
        LocalResult::Single(t) => Some(t),
        LocalResult::Ambiguous(a, b) => Some(a.min(b)),
        LocalResult::None => None,
    }
}

/// [`localize`] with the error attributed to `field`.
fn localize_field(
    field: &'static str,
    tz: Tz,
    local: NaiveDateTime,
    prefer_later: bool,
) -> Result<Instant, ScheduleError> {
    // Instants are whole seconds; drop any fraction up front so every branch
    // (including the gap search) agrees.
    let local = local.with_nanosecond(0).unwrap_or(local);
    match instants_of(tz, local) {
        LocalResult::Single(t) => Ok(t),
        LocalResult::Ambiguous(a, b) if prefer_later => Ok(a.max(b)),
        LocalResult::Ambiguous(a, b) => Ok(a.min(b)),
        LocalResult::None => first_instant_after_gap(tz, local)
            .ok_or_else(|| invalid(field, format!("{local} is out of the supported range"))),
    }
}

/// Localizes a naive local datetime with the R10 rules: a time in a DST gap
/// becomes the first valid instant after the gap; an ambiguous time becomes
/// the earlier instant, or the later one when `prefer_later`.
pub fn localize(tz: Tz, local: NaiveDateTime, prefer_later: bool) -> Result<Instant, ScheduleError> {
    localize_field("datetime", tz, local, prefer_later)
}

/// The first instant of a local date: 00:00, or when 00:00 falls in a DST gap
/// (zones that jump at midnight) the instant the clocks jump forward, or when
/// 00:00 happens twice the first occurrence.
pub fn first_instant_of(tz: Tz, date: NaiveDate) -> Result<Instant, ScheduleError> {
    first_instant_field("date", tz, date)
}

fn first_instant_field(field: &'static str, tz: Tz, date: NaiveDate) -> Result<Instant, ScheduleError> {
    localize_field(field, tz, date.and_time(NaiveTime::MIN), false)
}

// ---------------------------------------------------------------------------
// The plan (R6, R10, R11, R12)
// ---------------------------------------------------------------------------

/// Everything about one booking's code timing, computed once from facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    /// R6: first instant of local date (check_in - days_before).
    pub create_at: Instant,
    /// R10: local (check-in date + time) - margin; gap -> after the gap,
    /// ambiguous -> earlier.
    pub window_start: Instant,
    /// R10: local (check-out date + time) + margin; gap -> after the gap,
    /// ambiguous -> later.
    pub window_end: Instant,
    /// R11: first instant of the check-in date, local.
    pub retry_deadline: Instant,
    /// R12: 18:00 local on the day before check-in.
    pub alert_at: Instant,
}

/// The facts a plan is computed from (times already resolved with R9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanInput {
    pub tz: Tz,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub check_in_time: NaiveTime,
    pub check_out_time: NaiveTime,
    pub days_before: u32,
    pub margin_minutes: u32,
}

/// R5 bounds.
pub const DAYS_BEFORE_RANGE: std::ops::RangeInclusive<u32> = 1..=14;
pub const MARGIN_MINUTES_RANGE: std::ops::RangeInclusive<u32> = 0..=240;

/// R12: the alert goes out at this local time on the eve of check-in.
const ALERT_TIME: NaiveTime = hm((18, 0));

fn out_of_range(field: &'static str) -> ScheduleError {
    invalid(field, "date out of the supported range")
}

/// Computes a booking's [`Plan`]. Validates the inputs first, so a bad
/// booking or setting never yields a half-sensible plan.
pub fn plan(input: &PlanInput) -> Result<Plan, ScheduleError> {
    let PlanInput { tz, check_in, check_out, check_in_time, check_out_time, days_before, margin_minutes } = *input;

    if check_out <= check_in {
        return Err(invalid("check-out", "must be after check-in"));
    }
    if !DAYS_BEFORE_RANGE.contains(&days_before) {
        return Err(invalid("days-before", format!("must be between 1 and 14 days, got {days_before}")));
    }
    if !MARGIN_MINUTES_RANGE.contains(&margin_minutes) {
        return Err(invalid("margin-minutes", format!("must be between 0 and 240 minutes, got {margin_minutes}")));
    }
    let margin = TimeDelta::try_minutes(i64::from(margin_minutes)).ok_or_else(|| out_of_range("margin-minutes"))?;

    // R6: creation at the start of the local day `days_before` days earlier.
    let create_date =
        check_in.checked_sub_days(Days::new(u64::from(days_before))).ok_or_else(|| out_of_range("check-in"))?;
    let create_at = first_instant_field("check-in", tz, create_date)?;

    // R10: the margin is applied to the wall-clock time, then the result is
    // localized with that date's rules (so "14:30 local" stays 14:30 local on
    // either side of a DST change). Start resolves early, end resolves late:
    // the window is never shorter than promised.
    let start_local =
        check_in.and_time(check_in_time).checked_sub_signed(margin).ok_or_else(|| out_of_range("check-in"))?;
    let end_local =
        check_out.and_time(check_out_time).checked_add_signed(margin).ok_or_else(|| out_of_range("check-out"))?;
    let window_start = localize_field("check-in", tz, start_local, false)?;
    let window_end = localize_field("check-out", tz, end_local, true)?;
    if window_end <= window_start {
        // Only reachable when both ends land after the same DST gap
        // (e.g. a skipped calendar day); refuse rather than plan an empty code.
        return Err(invalid("check-out", "the validity window is empty in this timezone"));
    }

    // R11: retries stop at the start of the check-in date.
    let retry_deadline = first_instant_field("check-in", tz, check_in)?;

    // R12: alert at 18:00 on the eve of check-in.
    let eve = check_in.pred_opt().ok_or_else(|| out_of_range("check-in"))?;
    let alert_at = localize_field("check-in", tz, eve.and_time(ALERT_TIME), false)?;

    Ok(Plan { create_at, window_start, window_end, retry_deadline, alert_at })
}

/// R11 + R13: the last instant creation attempts may run until.
///
/// Normally that is the retry deadline (start of the check-in date). A booking
/// that only became eligible at or after that deadline (a late booking) is
/// still tried, hourly, until its window starts; if the window started even
/// earlier, the deadline stays the retry deadline (the caller still makes its
/// one immediate attempt).
pub fn attempt_deadline(plan: &Plan, eligible_at: Instant) -> Instant {
    if eligible_at >= plan.retry_deadline {
        plan.retry_deadline.max(plan.window_start)
    } else {
        plan.retry_deadline
    }
}

// ---------------------------------------------------------------------------
// Display helpers
// ---------------------------------------------------------------------------

/// RFC 3339 with the zone's offset at that instant and seconds, e.g.
/// `2026-03-20T14:30:00+01:00`. The offset is always numeric (`+00:00`, never
/// `Z`): the form brands that take local times with offsets expect.
/// An instant outside chrono's range (never produced by [`plan`]) is rendered
/// as its bare number rather than panicking.
pub fn format_local(tz: Tz, t: Instant) -> String {
    match DateTime::from_timestamp(t, 0) {
        Some(utc) => utc.with_timezone(&tz).to_rfc3339_opts(SecondsFormat::Secs, false),
        None => t.to_string(),
    }
}

/// The start of the local hour `t` falls in (offline codes count whole
/// hours of the lock's wall clock).
pub fn floor_local_hour(tz: Tz, t: Instant) -> Instant {
    match DateTime::from_timestamp(t, 0) {
        Some(utc) => {
            let local = utc.with_timezone(&tz);
            t - i64::from(local.minute()) * 60 - i64::from(local.second())
        }
        None => t,
    }
}

/// The first whole local hour at or after `t`.
pub fn ceil_local_hour(tz: Tz, t: Instant) -> Instant {
    let floor = floor_local_hour(tz, t);
    if floor == t {
        t
    } else {
        floor + 3600
    }
}

/// RFC 3339 UTC, e.g. `2026-03-20T13:30:00Z` (bare number if out of range).
pub fn format_utc(t: Instant) -> String {
    match DateTime::<Utc>::from_timestamp(t, 0) {
        Some(utc) => utc.to_rfc3339_opts(SecondsFormat::Secs, true),
        None => t.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_is_stored_by_its_name_and_read_back_parsed() {
        for name in ["Europe/Paris", "US/Eastern", "UTC"] {
            let json = serde_json::to_string(&Zone::parse("tz", name).unwrap()).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            let back: Zone = serde_json::from_str(&json).unwrap();
            assert_eq!(back.tz().name(), name);
        }
        let err = serde_json::from_str::<Zone>("\"Mars/Olympus\"").unwrap_err().to_string();
        assert!(err.contains("Mars/Olympus"), "{err}");
    }
    use chrono_tz::{Africa, America, Asia, Australia, Europe, Pacific};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("test date")
    }
    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).expect("test time")
    }
    fn dt(y: i32, m: u32, day: u32, h: u32, min: u32) -> NaiveDateTime {
        d(y, m, day).and_time(t(h, min))
    }
    /// Instant from an RFC 3339 string (any offset).
    fn at(s: &str) -> Instant {
        DateTime::parse_from_rfc3339(s).expect("test rfc3339").timestamp()
    }
    fn input(tz: Tz, check_in: NaiveDate, check_out: NaiveDate) -> PlanInput {
        PlanInput {
            tz,
            check_in,
            check_out,
            check_in_time: t(15, 0),
            check_out_time: t(11, 0),
            days_before: 5,
            margin_minutes: 30,
        }
    }
    fn err(field: &'static str, reason: &str) -> ScheduleError {
        ScheduleError::Invalid { field, reason: reason.to_string() }
    }
    fn field_of(e: ScheduleError) -> &'static str {
        match e {
            ScheduleError::Invalid { field, .. } => field,
        }
    }

    // --- parse_timezone -------------------------------------------------

    #[test]
    fn parse_timezone_accepts_iana_names() {
        assert_eq!(parse_timezone("timezone", "Europe/Paris"), Ok(Europe::Paris));
        assert_eq!(parse_timezone("timezone", "UTC"), Ok(Tz::UTC));
        assert_eq!(parse_timezone("timezone", "America/Argentina/Buenos_Aires"), Ok(America::Argentina::Buenos_Aires));
    }

    #[test]
    fn parse_timezone_unknown_name_names_the_field() {
        let e = parse_timezone("timezone", "Mars/Olympus_Mons").unwrap_err();
        assert_eq!(e, err("timezone", "unknown IANA timezone \"Mars/Olympus_Mons\""));
        assert_eq!(e.to_string(), "timezone: unknown IANA timezone \"Mars/Olympus_Mons\"");
    }

    #[test]
    fn parse_timezone_is_strict_about_spelling() {
        for bad in ["", "europe/paris", " Europe/Paris", "Europe/Paris ", "+01:00"] {
            assert_eq!(field_of(parse_timezone("property.timezone", bad).unwrap_err()), "property.timezone", "{bad:?}");
        }
    }

    #[test]
    fn parse_timezone_error_truncates_oversized_input() {
        let huge = "X".repeat(10_000);
        let msg = parse_timezone("timezone", &huge).unwrap_err().to_string();
        assert!(msg.len() < 200, "{msg}");
        assert!(msg.ends_with("..."), "{msg}");
    }

    // --- parse_date -----------------------------------------------------

    #[test]
    fn parse_date_accepts_strict_iso_dates() {
        assert_eq!(parse_date("check-in", "2026-03-20"), Ok(d(2026, 3, 20)));
        assert_eq!(parse_date("check-in", "2028-02-29"), Ok(d(2028, 2, 29)));
        assert_eq!(parse_date("check-in", "0001-01-01"), Ok(d(1, 1, 1)));
        assert_eq!(parse_date("check-in", "9999-12-31"), Ok(d(9999, 12, 31)));
    }

    #[test]
    fn parse_date_rejects_malformed_input_naming_the_field() {
        for bad in [
            "",
            "2026-3-20",
            "2026-03-2",
            "20-03-2026",
            "2026/03/20",
            "2026-03-20T00:00",
            " 2026-03-20",
            "2026-03-20 ",
            "+2026-03-20",
            "2026-0a-20",
            "2026-+3-20",
            "２０２６-03-20",
            "2026-03-20\n",
        ] {
            let e = parse_date("check-in", bad).unwrap_err();
            let msg = e.to_string();
            assert_eq!(field_of(e), "check-in", "{bad:?}");
            assert!(msg.contains("expected a date as YYYY-MM-DD"), "{bad:?}: {msg}");
        }
    }

    #[test]
    fn parse_date_rejects_impossible_calendar_dates() {
        for bad in ["2026-02-29", "2026-02-30", "2026-13-01", "2026-00-10", "2026-04-31", "2026-01-00"] {
            let e = parse_date("check-out", bad).unwrap_err();
            assert_eq!(e, err("check-out", &format!("not a valid calendar date: {bad:?}")), "{bad:?}");
        }
    }

    // --- parse_time -----------------------------------------------------

    #[test]
    fn parse_time_accepts_hh_mm() {
        assert_eq!(parse_time("check-in-time", "00:00"), Ok(t(0, 0)));
        assert_eq!(parse_time("check-in-time", "09:05"), Ok(t(9, 5)));
        assert_eq!(parse_time("check-in-time", "15:00"), Ok(t(15, 0)));
        assert_eq!(parse_time("check-in-time", "23:59"), Ok(t(23, 59)));
    }

    #[test]
    fn parse_time_rejects_malformed_input_naming_the_field() {
        for bad in ["", "9:00", "09:0", "0900", "09-00", "09:00:00", "ab:cd", "-1:00", " 9:00", "09:00 ", "9h00"] {
            let e = parse_time("check-out-time", bad).unwrap_err();
            assert_eq!(e, err("check-out-time", &format!("expected a time as HH:MM, got {bad:?}")), "{bad:?}");
        }
    }

    #[test]
    fn parse_time_rejects_out_of_range_values() {
        for bad in ["24:00", "12:60", "99:99", "23:60"] {
            let e = parse_time("check-in-time", bad).unwrap_err();
            let msg = e.to_string();
            assert_eq!(field_of(e), "check-in-time");
            assert!(msg.starts_with("check-in-time: not a valid time (00:00 to 23:59)"), "{msg}");
        }
    }

    // --- R9 resolve_times -----------------------------------------------

    #[test]
    fn r9_defaults_are_15_00_and_11_00() {
        assert_eq!(resolve_times(None, None, None, None), (t(15, 0), t(11, 0)));
        assert_eq!(DEFAULT_CHECK_IN, (15, 0));
        assert_eq!(DEFAULT_CHECK_OUT, (11, 0));
    }

    #[test]
    fn r9_property_default_beats_global_default() {
        assert_eq!(resolve_times(None, None, Some(t(16, 0)), Some(t(10, 0))), (t(16, 0), t(10, 0)));
    }

    #[test]
    fn r9_negotiated_time_beats_property_default() {
        assert_eq!(resolve_times(Some(t(18, 30)), Some(t(9, 0)), Some(t(16, 0)), Some(t(10, 0))), (t(18, 30), t(9, 0)));
    }

    #[test]
    fn r9_each_side_resolves_independently() {
        // Negotiated check-in only; property check-out only.
        assert_eq!(resolve_times(Some(t(13, 0)), None, None, Some(t(12, 0))), (t(13, 0), t(12, 0)));
        // Property check-in only; nothing for check-out.
        assert_eq!(resolve_times(None, None, Some(t(14, 0)), None), (t(14, 0), t(11, 0)));
    }

    // --- R6 creation instant --------------------------------------------

    #[test]
    fn r6_seed_five_days_before_march_20_is_march_15_midnight() {
        let p = plan(&input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 22))).unwrap();
        assert_eq!(format_local(Europe::Paris, p.create_at), "2026-03-15T00:00:00+01:00");
        assert_eq!(format_utc(p.create_at), "2026-03-14T23:00:00Z");
    }

    #[test]
    fn r6_seed_one_day_before_is_march_19_midnight() {
        let mut i = input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 22));
        i.days_before = 1;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(Europe::Paris, p.create_at), "2026-03-19T00:00:00+01:00");
        assert_eq!(p.create_at, at("2026-03-18T23:00:00Z"));
    }

    #[test]
    fn r6_fourteen_days_before_is_march_6_midnight() {
        let mut i = input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 22));
        i.days_before = 14;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(Europe::Paris, p.create_at), "2026-03-06T00:00:00+01:00");
    }

    #[test]
    fn r6_creation_date_crosses_year_boundary() {
        let p = plan(&input(Europe::Paris, d(2026, 1, 3), d(2026, 1, 5))).unwrap();
        assert_eq!(format_local(Europe::Paris, p.create_at), "2025-12-29T00:00:00+01:00");
    }

    #[test]
    fn r6_creation_uses_the_offset_of_the_creation_date_not_check_in() {
        // Check-in after the spring-forward, creation before it.
        let p = plan(&input(Europe::Paris, d(2026, 4, 1), d(2026, 4, 3))).unwrap();
        assert_eq!(format_local(Europe::Paris, p.create_at), "2026-03-27T00:00:00+01:00");
        assert_eq!(format_local(Europe::Paris, p.retry_deadline), "2026-04-01T00:00:00+02:00");
    }

    #[test]
    fn r6_midnight_gap_santiago_creation_is_first_instant_of_the_day() {
        // Chile springs forward at 24:00 on 2026-09-05: 00:00 on 09-06 does
        // not exist, the day starts at 01:00 -03:00.
        let mut i = input(America::Santiago, d(2026, 9, 11), d(2026, 9, 13));
        i.days_before = 5;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(America::Santiago, p.create_at), "2026-09-06T01:00:00-03:00");
        assert_eq!(p.create_at, at("2026-09-06T04:00:00Z"));
        // One second earlier is still Sept 5 (23:59:59 -04:00).
        assert_eq!(format_local(America::Santiago, p.create_at - 1), "2026-09-05T23:59:59-04:00");
    }

    #[test]
    fn r6_midnight_gap_havana_and_beirut() {
        assert_eq!(
            format_local(America::Havana, first_instant_of(America::Havana, d(2026, 3, 8)).unwrap()),
            "2026-03-08T01:00:00-04:00"
        );
        assert_eq!(
            format_local(Asia::Beirut, first_instant_of(Asia::Beirut, d(2026, 3, 29)).unwrap()),
            "2026-03-29T01:00:00+03:00"
        );
    }

    #[test]
    fn first_instant_of_ambiguous_midnight_is_the_first_occurrence() {
        // Havana falls back at 01:00 -> 00:00 on 2026-11-01: 00:00 happens twice.
        let first = first_instant_of(America::Havana, d(2026, 11, 1)).unwrap();
        assert_eq!(format_local(America::Havana, first), "2026-11-01T00:00:00-04:00");
        assert_eq!(format_local(America::Havana, first - 1), "2026-10-31T23:59:59-04:00");
    }

    #[test]
    fn first_instant_of_skipped_day_is_first_instant_after_it() {
        // Samoa skipped 2011-12-30 entirely.
        let first = first_instant_of(Pacific::Apia, d(2011, 12, 30)).unwrap();
        assert_eq!(format_local(Pacific::Apia, first), "2011-12-31T00:00:00+14:00");
        assert_eq!(format_local(Pacific::Apia, first - 1), "2011-12-29T23:59:59-10:00");
    }

    #[test]
    fn gap_end_is_found_to_the_second() {
        // Liberia moved from -00:44:30 to GMT at local midnight 1972-01-07:
        // the day starts at 00:44:30 GMT, not on a whole minute.
        let first = first_instant_of(Africa::Monrovia, d(1972, 1, 7)).unwrap();
        assert_eq!(format_utc(first), "1972-01-07T00:44:30Z");
        let mid_gap = localize(Africa::Monrovia, dt(1972, 1, 7, 0, 10), false).unwrap();
        assert_eq!(mid_gap, first);
    }

    // --- R10 validity window --------------------------------------------

    #[test]
    fn r10_seed_margin_30_is_14_30_to_11_30() {
        let p = plan(&input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 22))).unwrap();
        assert_eq!(format_local(Europe::Paris, p.window_start), "2026-03-20T14:30:00+01:00");
        assert_eq!(format_local(Europe::Paris, p.window_end), "2026-03-22T11:30:00+01:00");
        assert_eq!(format_utc(p.window_start), "2026-03-20T13:30:00Z");
        assert_eq!(format_utc(p.window_end), "2026-03-22T10:30:00Z");
    }

    #[test]
    fn r10_seed_margin_120_is_13_00_to_13_00_next_day() {
        let mut i = input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 21));
        i.margin_minutes = 120;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(Europe::Paris, p.window_start), "2026-03-20T13:00:00+01:00");
        assert_eq!(format_local(Europe::Paris, p.window_end), "2026-03-21T13:00:00+01:00");
        assert_eq!(p.window_start, at("2026-03-20T12:00:00Z"));
        assert_eq!(p.window_end, at("2026-03-21T12:00:00Z"));
        assert_eq!(p.window_end - p.window_start, 24 * 3600);
    }

    #[test]
    fn r10_seed_16_00_to_10_00_margin_0_is_exact() {
        let mut i = input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 22));
        i.check_in_time = t(16, 0);
        i.check_out_time = t(10, 0);
        i.margin_minutes = 0;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(Europe::Paris, p.window_start), "2026-03-20T16:00:00+01:00");
        assert_eq!(format_local(Europe::Paris, p.window_end), "2026-03-22T10:00:00+01:00");
        assert_eq!(p.window_start, at("2026-03-20T15:00:00Z"));
        assert_eq!(p.window_end, at("2026-03-22T09:00:00Z"));
    }

    #[test]
    fn r10_summer_offset_is_used_in_summer() {
        let p = plan(&input(Europe::Paris, d(2026, 7, 14), d(2026, 7, 16))).unwrap();
        assert_eq!(format_local(Europe::Paris, p.window_start), "2026-07-14T14:30:00+02:00");
        assert_eq!(format_utc(p.window_start), "2026-07-14T12:30:00Z");
    }

    #[test]
    fn r10_maximum_margin_crosses_midnight_backwards() {
        // 01:00 check-in with a 240 min margin starts the evening before.
        let mut i = input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 22));
        i.check_in_time = t(1, 0);
        i.check_out_time = t(22, 0);
        i.margin_minutes = 240;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(Europe::Paris, p.window_start), "2026-03-19T21:00:00+01:00");
        assert_eq!(format_local(Europe::Paris, p.window_end), "2026-03-23T02:00:00+01:00");
    }

    #[test]
    fn r10_stay_across_paris_spring_forward_has_two_offsets() {
        // Clocks go forward on Sunday 2026-03-29.
        let p = plan(&input(Europe::Paris, d(2026, 3, 27), d(2026, 3, 31))).unwrap();
        assert_eq!(format_local(Europe::Paris, p.window_start), "2026-03-27T14:30:00+01:00");
        assert_eq!(format_local(Europe::Paris, p.window_end), "2026-03-31T11:30:00+02:00");
        assert_eq!(format_utc(p.window_start), "2026-03-27T13:30:00Z");
        assert_eq!(format_utc(p.window_end), "2026-03-31T09:30:00Z");
        // Four wall-clock days minus 3 h, minus the lost hour.
        assert_eq!(p.window_end - p.window_start, 4 * 86400 - 3 * 3600 - 3600);
    }

    #[test]
    fn r10_stay_across_paris_fall_back_has_two_offsets() {
        let p = plan(&input(Europe::Paris, d(2026, 10, 23), d(2026, 10, 27))).unwrap();
        assert_eq!(format_local(Europe::Paris, p.window_start), "2026-10-23T14:30:00+02:00");
        assert_eq!(format_local(Europe::Paris, p.window_end), "2026-10-27T11:30:00+01:00");
        assert_eq!(p.window_end - p.window_start, 4 * 86400 - 3 * 3600 + 3600);
    }

    #[test]
    fn r10_check_in_time_in_paris_gap_moves_to_03_00() {
        let mut i = input(Europe::Paris, d(2026, 3, 29), d(2026, 3, 30));
        i.check_in_time = t(2, 30);
        i.margin_minutes = 0;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(Europe::Paris, p.window_start), "2026-03-29T03:00:00+02:00");
        assert_eq!(p.window_start, at("2026-03-29T01:00:00Z"));
    }

    #[test]
    fn r10_margin_is_applied_to_wall_clock_then_gap_rule() {
        // 03:30 check-in, 60 min margin -> wall 02:30, which does not exist
        // on spring-forward day -> 03:00 local.
        let mut i = input(Europe::Paris, d(2026, 3, 29), d(2026, 3, 30));
        i.check_in_time = t(3, 30);
        i.margin_minutes = 60;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(Europe::Paris, p.window_start), "2026-03-29T03:00:00+02:00");
    }

    #[test]
    fn r10_check_out_time_in_gap_moves_forward() {
        let mut i = input(Europe::Paris, d(2026, 3, 28), d(2026, 3, 29));
        i.check_out_time = t(2, 15);
        i.margin_minutes = 0;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(Europe::Paris, p.window_end), "2026-03-29T03:00:00+02:00");
    }

    #[test]
    fn r10_paris_ambiguous_start_earlier_end_later() {
        // 02:30 happens twice on 2026-10-25 in Paris.
        let mut i = input(Europe::Paris, d(2026, 10, 25), d(2026, 10, 26));
        i.check_in_time = t(2, 30);
        i.margin_minutes = 0;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(Europe::Paris, p.window_start), "2026-10-25T02:30:00+02:00");

        let mut i = input(Europe::Paris, d(2026, 10, 24), d(2026, 10, 25));
        i.check_out_time = t(2, 30);
        i.margin_minutes = 0;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(Europe::Paris, p.window_end), "2026-10-25T02:30:00+01:00");
    }

    #[test]
    fn r10_new_york_fall_back_ambiguous_start_takes_earlier() {
        // 2026-11-01: 01:00-01:59 happens twice (EDT then EST).
        let mut i = input(America::New_York, d(2026, 11, 1), d(2026, 11, 3));
        i.check_in_time = t(2, 0);
        i.margin_minutes = 30;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(America::New_York, p.window_start), "2026-11-01T01:30:00-04:00");
        assert_eq!(format_utc(p.window_start), "2026-11-01T05:30:00Z");
    }

    #[test]
    fn r10_new_york_fall_back_ambiguous_end_takes_later() {
        let mut i = input(America::New_York, d(2026, 10, 30), d(2026, 11, 1));
        i.check_out_time = t(1, 0);
        i.margin_minutes = 30;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(America::New_York, p.window_end), "2026-11-01T01:30:00-05:00");
        assert_eq!(format_utc(p.window_end), "2026-11-01T06:30:00Z");
        assert_eq!(format_local(America::New_York, p.window_start), "2026-10-30T14:30:00-04:00");
    }

    #[test]
    fn r10_new_york_spring_forward_gap() {
        let mut i = input(America::New_York, d(2026, 3, 8), d(2026, 3, 10));
        i.check_in_time = t(2, 30);
        i.margin_minutes = 0;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(America::New_York, p.window_start), "2026-03-08T03:00:00-04:00");
        assert_eq!(format_utc(p.window_start), "2026-03-08T07:00:00Z");
        assert_eq!(format_local(America::New_York, p.window_end), "2026-03-10T11:00:00-04:00");
    }

    #[test]
    fn localize_ambiguous_preference_differs_by_one_hour() {
        let local = dt(2026, 11, 1, 1, 30);
        let early = localize(America::New_York, local, false).unwrap();
        let late = localize(America::New_York, local, true).unwrap();
        assert_eq!(late - early, 3600);
        assert_eq!(early, at("2026-11-01T01:30:00-04:00"));
        assert_eq!(late, at("2026-11-01T01:30:00-05:00"));
    }

    #[test]
    fn localize_gap_is_same_for_both_preferences() {
        let local = dt(2026, 3, 8, 2, 30);
        assert_eq!(localize(America::New_York, local, false), localize(America::New_York, local, true));
    }

    #[test]
    fn localize_drops_sub_second_fraction() {
        let local = dt(2026, 3, 20, 12, 0).with_nanosecond(900_000_000).expect("nanos");
        assert_eq!(localize(Europe::Paris, local, false).unwrap(), at("2026-03-20T12:00:00+01:00"));
        let in_gap = dt(2026, 3, 29, 2, 30).with_nanosecond(500_000_000).expect("nanos");
        assert_eq!(localize(Europe::Paris, in_gap, false).unwrap(), at("2026-03-29T03:00:00+02:00"));
    }

    #[test]
    fn r10_sydney_fall_back_april_5_2026() {
        // 03:00 AEDT -> 02:00 AEST: 02:00-02:59 happens twice.
        let mut i = input(Australia::Sydney, d(2026, 4, 5), d(2026, 4, 6));
        i.check_in_time = t(2, 30);
        i.margin_minutes = 0;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(Australia::Sydney, p.window_start), "2026-04-05T02:30:00+11:00");

        let mut i = input(Australia::Sydney, d(2026, 4, 4), d(2026, 4, 5));
        i.check_out_time = t(2, 30);
        i.margin_minutes = 0;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(Australia::Sydney, p.window_end), "2026-04-05T02:30:00+10:00");
    }

    #[test]
    fn r10_sydney_spring_forward_october_4_2026() {
        let mut i = input(Australia::Sydney, d(2026, 10, 4), d(2026, 10, 5));
        i.check_in_time = t(2, 30);
        i.margin_minutes = 0;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(Australia::Sydney, p.window_start), "2026-10-04T03:00:00+11:00");
        assert_eq!(format_utc(p.window_start), "2026-10-03T16:00:00Z");
    }

    #[test]
    fn r10_sydney_stays_across_both_changes() {
        let p = plan(&input(Australia::Sydney, d(2026, 4, 3), d(2026, 4, 7))).unwrap();
        assert_eq!(format_local(Australia::Sydney, p.window_start), "2026-04-03T14:30:00+11:00");
        assert_eq!(format_local(Australia::Sydney, p.window_end), "2026-04-07T11:30:00+10:00");

        let p = plan(&input(Australia::Sydney, d(2026, 10, 2), d(2026, 10, 6))).unwrap();
        assert_eq!(format_local(Australia::Sydney, p.window_start), "2026-10-02T14:30:00+10:00");
        assert_eq!(format_local(Australia::Sydney, p.window_end), "2026-10-06T11:30:00+11:00");
    }

    #[test]
    fn r10_santiago_fall_back_at_midnight_is_ambiguous_late_evening() {
        // 2026-04-05 00:00 -03 -> 2026-04-04 23:00 -04: 23:xx on the 4th twice.
        let mut i = input(America::Santiago, d(2026, 4, 4), d(2026, 4, 6));
        i.check_in_time = t(23, 30);
        i.margin_minutes = 0;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(America::Santiago, p.window_start), "2026-04-04T23:30:00-03:00");

        let mut i = input(America::Santiago, d(2026, 4, 2), d(2026, 4, 4));
        i.check_out_time = t(23, 0);
        i.margin_minutes = 30;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(America::Santiago, p.window_end), "2026-04-04T23:30:00-04:00");
    }

    #[test]
    fn r10_santiago_stay_across_midnight_spring_forward() {
        let p = plan(&input(America::Santiago, d(2026, 9, 4), d(2026, 9, 8))).unwrap();
        assert_eq!(format_local(America::Santiago, p.window_start), "2026-09-04T14:30:00-04:00");
        assert_eq!(format_local(America::Santiago, p.window_end), "2026-09-08T11:30:00-03:00");
    }

    #[test]
    fn r10_santiago_check_in_at_missing_midnight_starts_at_01_00() {
        let mut i = input(America::Santiago, d(2026, 9, 6), d(2026, 9, 7));
        i.check_in_time = t(0, 30);
        i.margin_minutes = 0;
        let p = plan(&i).unwrap();
        assert_eq!(format_local(America::Santiago, p.window_start), "2026-09-06T01:00:00-03:00");
        assert_eq!(p.window_start, p.retry_deadline);
    }

    #[test]
    fn r10_half_hour_and_45_minute_zones() {
        let p = plan(&input(Asia::Kolkata, d(2026, 3, 20), d(2026, 3, 22))).unwrap();
        assert_eq!(format_local(Asia::Kolkata, p.window_start), "2026-03-20T14:30:00+05:30");
        assert_eq!(format_utc(p.window_start), "2026-03-20T09:00:00Z");
        let p = plan(&input(Asia::Kathmandu, d(2026, 3, 20), d(2026, 3, 22))).unwrap();
        assert_eq!(format_local(Asia::Kathmandu, p.window_start), "2026-03-20T14:30:00+05:45");
    }

    #[test]
    fn r10_window_emptied_by_a_skipped_day_is_refused() {
        // Samoa skipped 2011-12-30: a 15:00 check-in that day and a 00:00
        // check-out on the 31st both land on the same instant.
        let mut i = input(Pacific::Apia, d(2011, 12, 30), d(2011, 12, 31));
        i.check_out_time = t(0, 0);
        i.margin_minutes = 0;
        let e = plan(&i).unwrap_err();
        assert_eq!(field_of(e), "check-out");
    }

    // --- R11 retry deadline, R12 alert, R13 late bookings ----------------

    #[test]
    fn r11_retry_deadline_is_local_midnight_of_check_in() {
        let p = plan(&input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 22))).unwrap();
        assert_eq!(format_local(Europe::Paris, p.retry_deadline), "2026-03-20T00:00:00+01:00");
        assert_eq!(p.retry_deadline, at("2026-03-19T23:00:00Z"));
    }

    #[test]
    fn r11_retry_deadline_in_midnight_gap_is_first_instant() {
        let p = plan(&input(America::Santiago, d(2026, 9, 6), d(2026, 9, 8))).unwrap();
        assert_eq!(format_local(America::Santiago, p.retry_deadline), "2026-09-06T01:00:00-03:00");
    }

    #[test]
    fn r12_alert_is_18_00_local_on_the_eve() {
        let p = plan(&input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 22))).unwrap();
        assert_eq!(format_local(Europe::Paris, p.alert_at), "2026-03-19T18:00:00+01:00");
        assert_eq!(format_utc(p.alert_at), "2026-03-19T17:00:00Z");
    }

    #[test]
    fn r12_alert_eve_crosses_month_and_offset() {
        // Check-in April 1 (summer time); the eve is March 31, also summer time.
        let p = plan(&input(Europe::Paris, d(2026, 4, 1), d(2026, 4, 3))).unwrap();
        assert_eq!(format_local(Europe::Paris, p.alert_at), "2026-03-31T18:00:00+02:00");
        // Check-in the day after spring forward: eve is the change day itself.
        let p = plan(&input(Europe::Paris, d(2026, 3, 30), d(2026, 4, 1))).unwrap();
        assert_eq!(format_local(Europe::Paris, p.alert_at), "2026-03-29T18:00:00+02:00");
    }

    #[test]
    fn plan_instants_are_in_order() {
        let p = plan(&input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 22))).unwrap();
        assert!(p.create_at < p.alert_at);
        assert!(p.alert_at < p.retry_deadline);
        assert!(p.retry_deadline < p.window_start);
        assert!(p.window_start < p.window_end);
    }

    #[test]
    fn r13_early_eligibility_stops_at_retry_deadline() {
        let p = plan(&input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 22))).unwrap();
        assert_eq!(attempt_deadline(&p, p.create_at - 86400), p.retry_deadline);
        assert_eq!(attempt_deadline(&p, p.alert_at + 3600), p.retry_deadline);
        assert_eq!(attempt_deadline(&p, p.retry_deadline - 1), p.retry_deadline);
    }

    #[test]
    fn r13_late_eligibility_continues_until_window_start() {
        let p = plan(&input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 22))).unwrap();
        assert_eq!(attempt_deadline(&p, p.retry_deadline), p.window_start);
        assert_eq!(attempt_deadline(&p, p.retry_deadline + 3 * 3600), p.window_start);
        assert_eq!(format_local(Europe::Paris, attempt_deadline(&p, p.retry_deadline)), "2026-03-20T14:30:00+01:00");
        // Eligible after the window already started: deadline is in the past.
        assert_eq!(attempt_deadline(&p, p.window_start + 60), p.window_start);
    }

    #[test]
    fn r13_late_eligibility_when_window_starts_before_retry_deadline() {
        // 01:00 check-in with 120 min margin: window starts 23:00 on the eve,
        // before the retry deadline, so the deadline stays at midnight.
        let mut i = input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 22));
        i.check_in_time = t(1, 0);
        i.margin_minutes = 120;
        let p = plan(&i).unwrap();
        assert!(p.window_start < p.retry_deadline);
        assert_eq!(attempt_deadline(&p, p.retry_deadline + 10), p.retry_deadline);
    }

    // --- plan input validation ------------------------------------------

    #[test]
    fn check_out_equal_to_check_in_is_refused() {
        let e = plan(&input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 20))).unwrap_err();
        assert_eq!(e, err("check-out", "must be after check-in"));
        assert_eq!(e.to_string(), "check-out: must be after check-in");
    }

    #[test]
    fn check_out_before_check_in_is_refused() {
        let e = plan(&input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 18))).unwrap_err();
        assert_eq!(e, err("check-out", "must be after check-in"));
    }

    #[test]
    fn days_before_bounds() {
        for ok in [1, 5, 14] {
            let mut i = input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 22));
            i.days_before = ok;
            assert!(plan(&i).is_ok(), "{ok}");
        }
        for bad in [0, 15, 365, u32::MAX] {
            let mut i = input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 22));
            i.days_before = bad;
            let e = plan(&i).unwrap_err();
            assert_eq!(e, err("days-before", &format!("must be between 1 and 14 days, got {bad}")));
        }
    }

    #[test]
    fn margin_minutes_bounds() {
        for ok in [0, 30, 240] {
            let mut i = input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 22));
            i.margin_minutes = ok;
            assert!(plan(&i).is_ok(), "{ok}");
        }
        for bad in [241, 1440, u32::MAX] {
            let mut i = input(Europe::Paris, d(2026, 3, 20), d(2026, 3, 22));
            i.margin_minutes = bad;
            let e = plan(&i).unwrap_err();
            assert_eq!(e, err("margin-minutes", &format!("must be between 0 and 240 minutes, got {bad}")));
        }
    }

    #[test]
    fn extreme_dates_give_errors_not_panics() {
        let mut i = input(Europe::Paris, NaiveDate::MIN, d(2026, 1, 1));
        assert_eq!(field_of(plan(&i).unwrap_err()), "check-in");

        i.check_in = NaiveDate::MAX.pred_opt().expect("pred");
        i.check_out = NaiveDate::MAX;
        i.check_out_time = t(23, 59);
        i.margin_minutes = 240;
        assert_eq!(field_of(plan(&i).unwrap_err()), "check-out");

        // Far-but-representable dates still plan.
        let p = plan(&input(Europe::Paris, d(9999, 12, 20), d(9999, 12, 22))).unwrap();
        assert_eq!(format_local(Europe::Paris, p.create_at), "9999-12-15T00:00:00+01:00");
        let p = plan(&input(Europe::Paris, d(1, 1, 20), d(1, 1, 22))).unwrap();
        assert!(p.window_start < p.window_end);
    }

    #[test]
    fn localize_and_first_instant_of_at_chrono_limits_do_not_panic() {
        for tz in [Tz::UTC, Europe::Paris, Pacific::Apia, America::Santiago] {
            let _ = localize(tz, NaiveDateTime::MAX, true);
            let _ = localize(tz, NaiveDateTime::MIN, false);
            let _ = first_instant_of(tz, NaiveDate::MAX);
            let _ = first_instant_of(tz, NaiveDate::MIN);
        }
    }

    // --- formatting -------------------------------------------------------

    #[test]
    fn format_local_always_uses_a_numeric_offset() {
        let t0 = at("2026-01-15T10:00:00Z");
        assert_eq!(format_local(Tz::UTC, t0), "2026-01-15T10:00:00+00:00");
        assert_eq!(format_local(Europe::London, t0), "2026-01-15T10:00:00+00:00");
        assert_eq!(format_local(Europe::Paris, t0), "2026-01-15T11:00:00+01:00");
        assert_eq!(format_local(America::New_York, t0), "2026-01-15T05:00:00-05:00");
        assert_eq!(format_local(Asia::Kolkata, t0), "2026-01-15T15:30:00+05:30");
    }

    #[test]
    fn format_utc_uses_z() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(at("2026-03-20T14:30:00+01:00")), "2026-03-20T13:30:00Z");
    }

    #[test]
    fn format_out_of_range_instant_does_not_panic() {
        assert_eq!(format_utc(i64::MAX), i64::MAX.to_string());
        assert_eq!(format_local(Europe::Paris, i64::MIN), i64::MIN.to_string());
    }

    #[test]
    fn format_local_round_trips_through_rfc3339() {
        let p = plan(&input(America::New_York, d(2026, 11, 1), d(2026, 11, 3))).unwrap();
        for inst in [p.create_at, p.window_start, p.window_end, p.retry_deadline, p.alert_at] {
            assert_eq!(at(&format_local(America::New_York, inst)), inst);
            assert_eq!(at(&format_utc(inst)), inst);
        }
    }

    #[test]
    fn plan_serde_derives_exist() {
        fn assert_serde<T: serde::Serialize + for<'de> serde::Deserialize<'de>>() {}
        assert_serde::<Plan>();
    }

    // --- exhaustive invariants over real zones ---------------------------

    /// For every day of 2025-2027 in zones with assorted DST habits:
    /// create_at and retry_deadline are the first instant of their local
    /// date, the alert is on the eve, and the window is non-empty and shows
    /// the requested wall times whenever they exist.
    #[test]
    fn invariants_hold_for_every_day_in_many_zones() {
        let zones = [
            Europe::Paris,
            Europe::London,
            America::New_York,
            America::Santiago,
            America::Havana,
            America::Sao_Paulo,
            Asia::Beirut,
            Africa::Cairo,
            Australia::Sydney,
            Australia::Lord_Howe,
            Pacific::Chatham,
            Asia::Kolkata,
            Tz::UTC,
        ];
        let local_date = |tz: Tz, inst: Instant| {
            DateTime::from_timestamp(inst, 0).expect("in range").with_timezone(&tz).date_naive()
        };
        let local_wall = |tz: Tz, inst: Instant| {
            DateTime::from_timestamp(inst, 0).expect("in range").with_timezone(&tz).naive_local()
        };
        let times =
            [(t(15, 0), t(11, 0), 30), (t(0, 0), t(0, 0), 0), (t(2, 30), t(2, 30), 0), (t(1, 0), t(23, 59), 240)];
        for tz in zones {
            let mut day = d(2025, 1, 1);
            while day < d(2028, 1, 1) {
                for (cin, cout, margin) in times {
                    let i = PlanInput {
                        tz,
                        check_in: day,
                        check_out: day.succ_opt().expect("succ"),
                        check_in_time: cin,
                        check_out_time: cout,
                        days_before: 3,
                        margin_minutes: margin,
                    };
                    let p = plan(&i).unwrap_or_else(|e| panic!("{} {day}: {e}", tz.name()));
                    let ctx = format!("{} {day} {cin}", tz.name());

                    let create_date = day.checked_sub_days(Days::new(3)).expect("sub");
                    assert_eq!(local_date(tz, p.create_at), create_date, "{ctx}");
                    assert!(local_date(tz, p.create_at - 1) < create_date, "{ctx}");
                    assert_eq!(local_date(tz, p.retry_deadline), day, "{ctx}");
                    assert!(local_date(tz, p.retry_deadline - 1) < day, "{ctx}");

                    let eve = day.pred_opt().expect("pred");
                    assert_eq!(local_date(tz, p.alert_at), eve, "{ctx}");
                    assert!(p.create_at < p.alert_at && p.alert_at < p.retry_deadline, "{ctx}");
                    assert!(p.window_start < p.window_end, "{ctx}");

                    let want_start = day.and_time(cin) - TimeDelta::minutes(i64::from(margin));
                    let want_end = i.check_out.and_time(cout) + TimeDelta::minutes(i64::from(margin));
                    for (inst, want) in [(p.window_start, want_start), (p.window_end, want_end)] {
                        let got = local_wall(tz, inst);
                        match tz.offset_from_local_datetime(&want) {
                            // Exists: shown exactly as requested.
                            LocalResult::Single(_) | LocalResult::Ambiguous(..) => {
                                assert_eq!(got, want, "{ctx}")
                            }
                            // Gap: moved forward, by less than the gap, and the
                            // instant just before shows a time before `want`.
                            LocalResult::None => {
                                assert!(got > want && got - want <= TimeDelta::hours(2), "{ctx}");
                                assert!(local_wall(tz, inst - 1) < want, "{ctx}");
                            }
                        }
                    }
                }
                day = day.succ_opt().expect("succ");
            }
        }
    }

    /// Every minute of a year in a few zones: a gap result is the transition
    /// instant (its predecessor is before the requested wall time), an
    /// ambiguous result honours the preference.
    #[test]
    fn localize_every_minute_of_2026() {
        for tz in [Europe::Paris, America::Santiago, Australia::Lord_Howe] {
            let mut local = dt(2026, 1, 1, 0, 0);
            let end = dt(2027, 1, 1, 0, 0);
            while local < end {
                let early = localize(tz, local, false).unwrap();
                let late = localize(tz, local, true).unwrap();
                match tz.from_local_datetime(&local) {
                    LocalResult::Single(x) => {
                        assert_eq!((early, late), (x.timestamp(), x.timestamp()), "{local}");
                    }
                    LocalResult::Ambiguous(a, b) => {
                        assert_eq!(early, a.timestamp().min(b.timestamp()), "{local}");
                        assert_eq!(late, a.timestamp().max(b.timestamp()), "{local}");
                    }
                    LocalResult::None => {
                        assert_eq!(early, late, "{local}");
                        let before =
                            DateTime::from_timestamp(early - 1, 0).expect("range").with_timezone(&tz).naive_local();
                        let after = DateTime::from_timestamp(early, 0).expect("range").with_timezone(&tz).naive_local();
                        assert!(before < local && local < after, "{} {local}", tz.name());
                    }
                }
                local += TimeDelta::minutes(1);
            }
        }
    }
}

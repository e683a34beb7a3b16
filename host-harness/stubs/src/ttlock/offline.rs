//! Offline period passcodes (`docs/brands/ttlock.md`, "Offline period passcodes"):
//! `POST /v3/keyboardPwd/get` with `keyboardPwdType=3`.
//!
//! The cloud computes the code from the passcode key data the lock and the
//! cloud got when the lock was initialised; the lock checks it on its own.
//! So issuing needs no gateway (its state is never read here) and writes
//! nothing to the lock. What the stub does, as the doc's "faithful stub"
//! says:
//! - both dates are floored to the lock's whole hour (by its
//!   `timezoneRawOffset`); a missing end, an empty window, one already over
//!   or one longer than a year is -3;
//! - the code is derived from lock and window: the same window gives the
//!   same code and `keyboardPwdId` again; once its record was deleted the
//!   window is burnt (-1026);
//! - a lock flagged without passcode data (`Ttlock::set_passcode_data`)
//!   answers -1007;
//! - it is listed with `isCustom` 0 and `keyboardPwdType` 3, and recorded in
//!   the lock's table as `kind: offline`, `added_at` the issue instant.
//!
//! At the lock it opens in `[start, end)` only if first typed before
//! start + 24 h. Changing it needs a prior use (-3008) and the gateway;
//! deleting it with `deleteType` 2 reaches the lock only through the gateway
//! and only once it was used (a never-used one answers errcode 1, "failed
//! or means no", and stays; the stricter reading of "cannot be deleted");
//! `deleteType` 1 drops the cloud record while the lock keeps honouring it.

use chrono::{DateTime, Months};
use md5::{Digest, Md5};

use super::state::{State, PROVIDER};
use crate::offline::OfflineUse;
use crate::PinKind;

/// A period code must be typed once within this long of its start.
pub const ACTIVATION: i64 = 86_400;
const HOUR_MS: i64 = 3_600_000;

/// One offline code the cloud issued: its window (ms, as the cloud records
/// it), its entry in the lock's table and the lock's view of its uses.
#[derive(Debug, Clone)]
pub(crate) struct OfflineCode {
    /// Index into `State::locks`.
    pub lock: usize,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Index into `State::pins` of its record.
    pub pin: usize,
    pub lock_side: OfflineUse,
}

/// A request for a period code, its parameters read.
pub(crate) struct PeriodRequest {
    pub lock: usize,
    pub name: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub sender: String,
}

/// `ms` floored to a whole hour of a clock `offset_minutes` east of UTC.
pub(crate) fn floor_lock_hour_ms(ms: i64, offset_minutes: i32) -> i64 {
    let offset = i64::from(offset_minutes) * 60_000;
    // Wrapping and saturating: absurd inputs give absurd windows, refused
    // by the caller, never a panic.
    ms.saturating_sub(ms.wrapping_add(offset).rem_euclid(HOUR_MS))
}

/// Issues (or finds again) the period code; its `keyboardPwd` and
/// `keyboardPwdId`, or the errcode.
pub(crate) fn issue(state: &mut State, req: PeriodRequest) -> Result<(String, i64), i64> {
    let lock = req.lock;
    if !state.locks[lock].passcode_data {
        return Err(-1007);
    }
    let offset = state.locks[lock].utc_offset_minutes;
    let start_ms = floor_lock_hour_ms(req.start_ms, offset);
    let end_ms = floor_lock_hour_ms(req.end_ms, offset);
    let a_year_on = DateTime::from_timestamp_millis(start_ms)
        .and_then(|d| d.checked_add_months(Months::new(12)))
        .map_or(i64::MIN, |d| d.timestamp_millis());
    if start_ms < 0 || end_ms <= start_ms || end_ms <= state.now_ms() || end_ms > a_year_on {
        return Err(-3);
    }
    if state.burnt_windows.contains(&(lock, start_ms, end_ms)) {
        return Err(-1026);
    }
    if let Some(o) = state.offline.iter().find(|o| o.lock == lock && o.start_ms == start_ms && o.end_ms == end_ms) {
        let pin = o.pin;
        if let Some(rec) = state.passcodes.iter().find(|p| p.on_lock == Some(pin)) {
            return Ok((rec.pwd.clone(), rec.id));
        }
    }
    let code = derive_code(&state.locks[lock].id, start_ms, end_ms);
    let pin = state.put_on_lock(lock, &code, &req.name, start_ms, end_ms);
    state.pins[pin].kind = PinKind::Offline;
    let r = state.add_record(lock, code.clone(), req.name, 3, start_ms, end_ms, false, &req.sender);
    state.passcodes[r].on_lock = Some(pin);
    let (start, end) = (start_ms.div_euclid(1000), end_ms.div_euclid(1000));
    state.offline.push(OfflineCode {
        lock,
        start_ms,
        end_ms,
        pin,
        lock_side: OfflineUse::new(start, end, Some(start + ACTIVATION)),
    });
    tracing::debug!(lock = %state.locks[lock].id, start_ms, end_ms, "{PROVIDER} stub: offline period passcode issued");
    Ok((code, state.passcodes[r].id))
}

/// The code the lock's algorithm gives for a window: 8 digits from a hash
/// keyed with the lock's passcode data (here derived from its id, so runs
/// are repeatable).
fn derive_code(lock: &str, start_ms: i64, end_ms: i64) -> String {
    let key = Md5::digest(format!("ttlock-stub passcode key data of {lock}").as_bytes());
    let mut h = Md5::new();
    h.update(key);
    h.update(format!("|3|{start_ms}|{end_ms}").as_bytes());
    let digest = h.finalize();
    let mut n = [0u8; 8];
    n.copy_from_slice(&digest[..8]);
    format!("{:08}", u64::from_be_bytes(n) % 100_000_000)
}

impl State {
    /// The offline code whose record in the lock's table is `pin`.
    pub(crate) fn offline_code(&self, pin: usize) -> Option<usize> {
        self.offline.iter().position(|o| o.pin == pin)
    }

    /// Lock-side truth for a code typed at `at` (see `Ttlock::opens`).
    pub(crate) fn opens(&mut self, lock_id: &str, code: &str, at: i64, typed: bool) -> bool {
        let in_table = self
            .pins
            .iter()
            .any(|p| p.kind != PinKind::Offline && p.lock == lock_id && p.pin == code && p.holds_at(at));
        if in_table {
            return true;
        }
        let pins = &self.pins;
        self.offline.iter_mut().any(|o| {
            let p = &pins[o.pin];
            let there = p.lock == lock_id && p.pin == code && p.removed_at.is_none_or(|r| at < r);
            there && if typed { o.lock_side.type_at(at) } else { o.lock_side.would_accept(at) }
        })
    }
}

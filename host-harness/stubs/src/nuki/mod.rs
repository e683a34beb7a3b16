//! A faithful stub of the Nuki Web API (see `docs/brands/nuki.md`) on a
//! simulated clock.
//!
//! - [`Nuki`] is the transport-independent core: [`Nuki::handle`] answers
//!   one HTTP request with the real API's paths (`/smartlock`,
//!   `/smartlock/{id}/auth`, ...); the simulated clock moves only through
//!   [`Nuki::set_time`].
//! - Writes are store-and-forward, as on the real service: a create, update
//!   or delete answers 204 with no body and no id at once, the listing shows
//!   the new values with an `operationId`, and the lock carries the write
//!   out [`WRITE_SECONDS`] later (one write at a time per lock). Only then
//!   does the PIN reach the lock's truth ([`Nuki::pins`]) and the
//!   `operationId` disappear. A second write to an auth whose write is
//!   still under way gets 423. An offline lock (`serverState` 4) carries
//!   nothing out: by default its writes fail after [`PUSH_TIMEOUT`] and
//!   vanish from the listing.
//! - Per-lock knobs reproduce the field reports: writes kept until the lock
//!   returns ([`OfflineWrites::Apply`]), "ghost" deletes that stay listed
//!   until `POST /smartlock/{id}/sync`, and writes that never confirm.
//!
//! Where the API doc is uncertain the stub takes the stricter reading, so a
//! client that works here works against both readings; each such choice is
//! marked in the code where it is made.
//!
//! An update that leaves out the dates, `enabled` or `allowedWeekDays`: the
//! API doc calls `POST /smartlock/{id}/auth/{id}` a replace, and the one
//! field report (a name-and-code body) lost its window. The stub keeps that
//! reading for every field: an omitted field is cleared, not kept. Omitted
//! dates and week days leave a code with no date restriction (valid at any
//! time, as users who sent dates without `allowedWeekDays` found); an
//! omitted `enabled` disables the code. Whether the real server keeps
//! `enabled` is not known; clearing it is the reading under which an
//! incomplete body fails visibly (the guest's code stops opening) instead
//! of quietly, and a client that sends the complete set, as the doc says
//! to, gets the same result under either reading. A body without `name` or
//! `code` is refused with 422, as reported.

mod api;
mod config;
mod state;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::MutexGuard;

pub use crate::{HttpCounts, PinRecord, StubRequest, StubResponse};

pub use config::{NukiAccount, NukiConfig, NukiLock, OfflineWrites};
pub use state::{MAX_CODES_PER_LOCK, PUSH_TIMEOUT, UNRESTRICTED_END, UNRESTRICTED_START, WRITE_SECONDS};

use crate::sim::Shared;
use state::{Code, State};

/// Errors of the stub's control API (not HTTP answers: those are responses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StubError {
    #[error("unknown Nuki lock {0:?}")]
    UnknownLock(String),
    #[error(
        "unknown Nuki endpoint {0:?} (expected smartlock, auth_list, auth_create, auth_update, auth_delete or sync)"
    )]
    UnknownEndpoint(String),
    #[error("invalid Nuki keypad code {0:?} (6 digits 1-9, not starting with 12)")]
    InvalidCode(String),
    #[error("keypad code {pin:?} is already listed on Nuki lock {lock:?}")]
    CodeTaken { lock: String, pin: String },
    #[error("invalid nuki configuration: {0}")]
    InvalidConfig(String),
}

/// The API endpoints that are counted and can be faulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NukiEndpoint {
    /// `GET /smartlock` and `GET /smartlock/{smartlockId}`
    Smartlock,
    /// `GET /smartlock/{smartlockId}/auth`, `GET /smartlock/auth`,
    /// `GET /smartlock/auth/paged` and `GET /smartlock/{smartlockId}/auth/{id}`
    AuthList,
    /// `PUT /smartlock/{smartlockId}/auth` (and the bulk `PUT /smartlock/auth`)
    AuthCreate,
    /// `POST /smartlock/{smartlockId}/auth/{id}` (and the bulk `POST /smartlock/auth`)
    AuthUpdate,
    /// `DELETE /smartlock/{smartlockId}/auth/{id}` (and the bulk `DELETE /smartlock/auth`)
    AuthDelete,
    /// `POST /smartlock/{smartlockId}/sync`
    Sync,
}

impl NukiEndpoint {
    pub const ALL: [NukiEndpoint; 6] = [
        NukiEndpoint::Smartlock,
        NukiEndpoint::AuthList,
        NukiEndpoint::AuthCreate,
        NukiEndpoint::AuthUpdate,
        NukiEndpoint::AuthDelete,
        NukiEndpoint::Sync,
    ];

    /// The name used in scenario files (`fault` steps).
    pub fn as_str(self) -> &'static str {
        match self {
            NukiEndpoint::Smartlock => "smartlock",
            NukiEndpoint::AuthList => "auth_list",
            NukiEndpoint::AuthCreate => "auth_create",
            NukiEndpoint::AuthUpdate => "auth_update",
            NukiEndpoint::AuthDelete => "auth_delete",
            NukiEndpoint::Sync => "sync",
        }
    }

    /// The key in the report's `http.by_endpoint` (`nuki.auth_create`).
    pub fn report_key(self) -> String {
        format!("nuki.{}", self.as_str())
    }
}

impl fmt::Display for NukiEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NukiEndpoint {
    type Err = StubError;
    fn from_str(s: &str) -> Result<NukiEndpoint, StubError> {
        NukiEndpoint::ALL.into_iter().find(|e| e.as_str() == s).ok_or_else(|| StubError::UnknownEndpoint(s.to_string()))
    }
}

/// The stub: cheap to clone, all clones share one world.
#[derive(Clone)]
pub struct Nuki {
    inner: Shared<State>,
}

impl fmt::Debug for Nuki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nuki").field("now", &self.now()).finish_non_exhaustive()
    }
}

impl Nuki {
    /// A stub whose simulated clock reads `now` (unix seconds UTC). The
    /// configuration is taken as is (a lock whose id is not a number is
    /// left out); see [`NukiConfig::validate`].
    pub fn new(config: NukiConfig, now: i64) -> Nuki {
        Nuki { inner: Shared::new(State::new(config, now)) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.lock()
    }

    /// Answers one API request (paths as on `api.nuki.io`).
    pub fn handle(&self, req: &StubRequest) -> StubResponse {
        api::handle(&mut self.state(), req)
    }

    /// The account (its name) a request speaks for, if it names one.
    pub fn account_of(&self, req: &StubRequest) -> Option<String> {
        api::account_of(&self.state(), req)
    }

    /// The simulated clock.
    pub fn now(&self) -> i64 {
        self.inner.now()
    }

    /// Moves the simulated clock forward to `now` (a backward move is
    /// ignored with a warning) and carries out the locks' pending writes up
    /// to it.
    pub fn set_time(&self, now: i64) {
        self.inner.set_time(now);
    }

    /// Takes a lock off line (`serverState` 4: its writes are not carried
    /// out, the one under way is aborted) or back on line, at the current
    /// simulated instant. `lock_id` is the configured id.
    pub fn set_online(&self, lock_id: &str, online: bool) -> Result<(), StubError> {
        let mut state = self.state();
        let li = state.lock_by_key(lock_id)?;
        state.set_online(li, online);
        Ok(())
    }

    /// How the server treats writes for this lock while it is offline.
    pub fn set_offline_writes(&self, lock_id: &str, mode: OfflineWrites) -> Result<(), StubError> {
        let mut state = self.state();
        let li = state.lock_by_key(lock_id)?;
        state.locks[li].offline_writes = mode;
        Ok(())
    }

    /// Carried-out deletes on this lock stay listed until a sync.
    pub fn set_ghost_deletes(&self, lock_id: &str, ghosts: bool) -> Result<(), StubError> {
        let mut state = self.state();
        let li = state.lock_by_key(lock_id)?;
        state.locks[li].ghost_deletes = ghosts;
        Ok(())
    }

    /// Writes on this lock stay pending for ever (until turned off again,
    /// when they resume from that instant).
    pub fn set_never_confirm(&self, lock_id: &str, never: bool) -> Result<(), StubError> {
        let mut state = self.state();
        let li = state.lock_by_key(lock_id)?;
        state.set_never_confirm(li, never);
        Ok(())
    }

    /// The next `count` calls to `endpoint` answer `status` with that
    /// status's usual body and no effect (0 = hang). Faults queue after
    /// those already armed; `count == 0` disarms the endpoint.
    pub fn inject_fault(&self, endpoint: NukiEndpoint, status: u16, count: u32) {
        self.state().faults.arm(endpoint, status, count);
    }

    /// Invalidates every account's API token, as a password change in Nuki
    /// Web does: every later call gets 401. Returns how many were valid.
    pub fn revoke_tokens(&self) -> usize {
        let mut state = self.state();
        let valid = state.accounts.iter().filter(|a| a.token_valid).count();
        for a in &mut state.accounts {
            a.token_valid = false;
        }
        valid
    }

    /// Puts a keypad code on a lock as the Nuki app would: on the lock at
    /// once, every day from `start` to `end`, and listed (the app syncs to
    /// Nuki Web), so a create of the same PIN gets 409. Returns the auth's
    /// id. The plugin knows nothing of it.
    pub fn set_code_by_hand(&self, lock_id: &str, pin: &str, start: i64, end: i64) -> Result<String, StubError> {
        let mut state = self.state();
        let li = state.lock_by_key(lock_id)?;
        let code = pin
            .parse::<u32>()
            .ok()
            .filter(|_| valid_pin_text(pin))
            .ok_or_else(|| StubError::InvalidCode(pin.into()))?;
        if state.code_taken(li, code, None) {
            return Err(StubError::CodeTaken { lock: lock_id.to_string(), pin: pin.to_string() });
        }
        let code = Code {
            name: "Set in the Nuki app".to_string(),
            code,
            from: Some(start),
            until: Some(end),
            week_days: 127,
            from_time: 0,
            until_time: 0,
            enabled: true,
        };
        Ok(state.put_by_hand(li, code))
    }

    /// Whether `pin` would open the lock at instant `at`, from what the lock
    /// holds (window, week days, daily times, enabled). An unknown lock
    /// opens for no one.
    pub fn opens(&self, lock_id: &str, pin: &str, at: i64) -> bool {
        let state = self.state();
        state.lock_by_key(lock_id).is_ok_and(|li| state.opens(li, pin, at))
    }

    /// Every keypad code that was ever on a lock, in the order they were
    /// added, with the window as the lock applies it: a code without date
    /// restriction (no `allowedWeekDays`, or no dates) shows
    /// [`UNRESTRICTED_START`] / [`UNRESTRICTED_END`]. A code moved in place
    /// is its old record removed and a new one added at the same instant; a
    /// disabled code opens nothing and counts as removed.
    pub fn pins(&self) -> Vec<PinRecord> {
        self.state().pins.clone()
    }

    /// Requests received per endpoint, keyed as in the report
    /// (`nuki.smartlock`, ...); every endpoint is present.
    pub fn http_counts(&self) -> BTreeMap<String, u64> {
        self.state().counts.by_endpoint.clone()
    }

    /// Every API request received, including faulted, refused and
    /// unknown-route ones.
    pub fn requests_total(&self) -> u64 {
        self.state().counts.requests
    }

    /// [`Nuki::requests_total`] and [`Nuki::http_counts`] together.
    pub fn http_totals(&self) -> HttpCounts {
        self.state().counts.clone()
    }
}

/// The keypad-code rule on the PIN's text.
fn valid_pin_text(pin: &str) -> bool {
    pin.len() == 6 && pin.bytes().all(|b| (b'1'..=b'9').contains(&b)) && !pin.starts_with("12")
}

impl crate::Service for Nuki {
    fn handle(&self, req: &StubRequest) -> StubResponse {
        Nuki::handle(self, req)
    }

    fn count_refused(&self, path_and_query: &str) {
        api::count_refused(&mut self.state(), path_and_query);
    }
}

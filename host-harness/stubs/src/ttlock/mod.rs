//! A faithful stub of the TTLock Open Platform (cloud API v3, see
//! `docs/brands/ttlock.md`) on a simulated clock.
//!
//! - [`Ttlock`] is the transport-independent core: [`Ttlock::handle`]
//!   answers one HTTP request whose path is the real API's path
//!   (`/oauth2/token`, `/v3/lock/list`, `/v3/keyboardPwd/add`, ...); the
//!   simulated clock moves only through [`Ttlock::set_time`].
//! - Every API answer is HTTP 200, failures included: `{"errcode": -3002,
//!   "errmsg": ..., "description": ...}`; success is either the data alone
//!   (no `errcode`) or `{"errcode": 0, ...}`. Only injected faults, unknown
//!   routes and wrong methods give other statuses.
//! - Gateway writes are synchronous, as TTLock's are: a passcode added with
//!   `addType` 2 is on the lock when the answer says success, and a failure
//!   (-2012, -3002, -3003, ...) leaves nothing queued. A cloud-only add
//!   (`addType` 1, the default) is listed but never reaches the lock. The
//!   locks' PIN tables ([`Ttlock::pins`]) are the truth scenarios judge.
//! - Offline period passcodes (R24, `keyboardPwd/get`) need no gateway;
//!   the lock judges them by its own rules ([`Ttlock::opens`]); see the
//!   `offline` module.
//!
//! Where the API doc is unsure the stub takes the stricter reading, so a
//! client that works here works against both readings; each such choice is
//! marked "stricter reading" where it is made.

mod api;
mod config;
mod offline;
mod state;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::MutexGuard;
use std::time::Duration;

pub use crate::{HttpCounts, MalformedKind, PinRecord, StubRequest, StubResponse};

pub use config::{TtlockAccount, TtlockApp, TtlockConfig, TtlockGateway, TtlockLock};
pub use offline::ACTIVATION as OFFLINE_ACTIVATION;
pub use state::{
    DATE_TOLERANCE_MS, DEFAULT_MONTHLY_QUOTA, HEARTBEAT, LINK_CACHE, MAX_CUSTOM_PASSCODES, PERMANENT_END,
    REFRESH_LIFETIME, TOKEN_LIFETIME,
};

use crate::sim::Shared;
use state::State;

/// Errors of the stub's control API (not HTTP answers: those are responses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StubError {
    #[error("unknown TTLock gateway {0:?}")]
    UnknownGateway(String),
    #[error("unknown TTLock lock {0:?}")]
    UnknownLock(String),
    #[error(
        "unknown TTLock endpoint {0:?} (expected token, lock_list, lock_detail, gateway, pwd_add, pwd_change, \
         pwd_delete, pwd_list, month_count or pwd_get)"
    )]
    UnknownEndpoint(String),
    #[error("passcode refused: {0}")]
    InvalidPasscode(String),
    #[error("invalid ttlock configuration: {0}")]
    InvalidConfig(String),
}

/// The API endpoints that are counted and can be faulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TtlockEndpoint {
    /// `POST /oauth2/token` (password and refresh grants)
    Token,
    /// `GET /v3/lock/list`
    LockList,
    /// `GET /v3/lock/detail`
    LockDetail,
    /// `GET /v3/gateway/list`, `listByLock`, `listLock` and `detail`
    Gateway,
    /// `POST /v3/keyboardPwd/add`
    PwdAdd,
    /// `POST /v3/keyboardPwd/change`
    PwdChange,
    /// `POST /v3/keyboardPwd/delete`
    PwdDelete,
    /// `GET /v3/lock/listKeyboardPwd`
    PwdList,
    /// `POST /app/getMonthRequestCount`
    MonthCount,
    /// `POST /v3/keyboardPwd/get` (offline period passcodes, R24)
    PwdGet,
}

impl TtlockEndpoint {
    pub const ALL: [TtlockEndpoint; 10] = [
        TtlockEndpoint::Token,
        TtlockEndpoint::LockList,
        TtlockEndpoint::LockDetail,
        TtlockEndpoint::Gateway,
        TtlockEndpoint::PwdAdd,
        TtlockEndpoint::PwdChange,
        TtlockEndpoint::PwdDelete,
        TtlockEndpoint::PwdList,
        TtlockEndpoint::MonthCount,
        TtlockEndpoint::PwdGet,
    ];

    /// Whether a report lists it even at 0: all but `pwd_get`, which
    /// appears once called (reports from before it existed stay the same).
    pub fn listed_at_zero(self) -> bool {
        self != TtlockEndpoint::PwdGet
    }

    /// The name used in scenario files (`fault` steps).
    pub fn as_str(self) -> &'static str {
        match self {
            TtlockEndpoint::Token => "token",
            TtlockEndpoint::LockList => "lock_list",
            TtlockEndpoint::LockDetail => "lock_detail",
            TtlockEndpoint::Gateway => "gateway",
            TtlockEndpoint::PwdAdd => "pwd_add",
            TtlockEndpoint::PwdChange => "pwd_change",
            TtlockEndpoint::PwdDelete => "pwd_delete",
            TtlockEndpoint::PwdList => "pwd_list",
            TtlockEndpoint::MonthCount => "month_count",
            TtlockEndpoint::PwdGet => "pwd_get",
        }
    }

    /// The key in the report's `http.by_endpoint`: `ttlock.<name>`.
    pub fn report_key(self) -> String {
        format!("ttlock.{}", self.as_str())
    }
}

impl fmt::Display for TtlockEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TtlockEndpoint {
    type Err = StubError;
    fn from_str(s: &str) -> Result<TtlockEndpoint, StubError> {
        TtlockEndpoint::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| StubError::UnknownEndpoint(s.to_string()))
    }
}

/// An armed fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// Answer this HTTP status without doing anything (0 = hang).
    Status(u16),
    /// Answer HTTP 200 with this errcode without doing anything (0: a
    /// success body for a write that was never carried out).
    Errcode(i64),
    /// Carry the request out, then spoil the body.
    Body(MalformedKind),
    /// Carry the request out, then hang: the client never learns that it
    /// worked (the case `listKeyboardPwd` exists to resolve).
    LostAnswer,
}

/// The stub: cheap to clone, all clones share one world.
#[derive(Clone)]
pub struct Ttlock {
    inner: Shared<State>,
}

impl fmt::Debug for Ttlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ttlock").field("now", &self.now()).finish_non_exhaustive()
    }
}

impl Ttlock {
    /// A stub whose simulated clock reads `now` (unix seconds UTC). The
    /// configuration is taken as is; see [`TtlockConfig::validate`].
    pub fn new(config: TtlockConfig, now: i64) -> Ttlock {
        Ttlock { inner: Shared::new(State::new(config, now)) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.lock()
    }

    /// The account (its username) a request speaks for, if it names one.
    pub fn account_of(&self, req: &StubRequest) -> Option<String> {
        api::account_of(&self.state(), req)
    }

    /// Answers one HTTP request. A gateway or Wi-Fi write holds its channel
    /// busy for [`Ttlock::set_command_delay`] of real time with the world
    /// unlocked, so that a concurrent write through the same gateway gets
    /// -3003 as on the real cloud; everything else answers at once.
    pub fn handle(&self, req: &StubRequest) -> StubResponse {
        let outcome = api::handle(&mut self.state(), req);
        match outcome {
            api::Outcome::Done(resp) => resp,
            api::Outcome::Command(cmd) => {
                if !cmd.delay.is_zero() {
                    std::thread::sleep(cmd.delay);
                }
                api::finish(&mut self.state(), cmd)
            }
        }
    }

    /// The simulated clock (unix seconds UTC).
    pub fn now(&self) -> i64 {
        self.inner.now()
    }

    /// Moves the simulated clock forward to `now`; a backward move is
    /// ignored with a warning. Token expiry, the `date` check, the stale
    /// gateway views and the quota month all follow it.
    pub fn set_time(&self, now: i64) {
        self.inner.set_time(now);
    }

    /// Powers a gateway off or on at the current simulated instant. Off, it
    /// is still reported online for [`HEARTBEAT`] s and still linked to its
    /// locks for [`LINK_CACHE`] s (writes: -3002, then -2012); on, it is
    /// back at once.
    pub fn set_gateway_online(&self, gateway_id: &str, online: bool) -> Result<(), StubError> {
        self.state().set_gateway_online(gateway_id, online)
    }

    /// The next `count` calls to `endpoint` answer HTTP `status` with no
    /// effect (0 = hang). Faults queue after those already armed; `count ==
    /// 0` disarms the endpoint.
    pub fn inject_fault(&self, endpoint: TtlockEndpoint, status: u16, count: u32) {
        self.state().faults.arm(endpoint, FaultKind::Status(status), count);
    }

    /// The next `count` calls to `endpoint` answer HTTP 200 with `errcode`'s
    /// error body (e.g. -3003) and no effect. `errcode` 0 answers TTLock's
    /// success body without doing anything: a write the vendor "accepted"
    /// but never carried out.
    pub fn inject_errcode(&self, endpoint: TtlockEndpoint, errcode: i64, count: u32) {
        self.state().faults.arm(endpoint, FaultKind::Errcode(errcode), count);
    }

    /// The next `count` calls to `endpoint` are carried out but their
    /// response body is spoiled as `kind` says.
    pub fn inject_malformed(&self, endpoint: TtlockEndpoint, count: u32, kind: MalformedKind) {
        self.state().faults.arm(endpoint, FaultKind::Body(kind), count);
    }

    /// The next `count` calls to `endpoint` are carried out, then the
    /// connection hangs: the client times out not knowing the outcome.
    pub fn inject_lost_answer(&self, endpoint: TtlockEndpoint, count: u32) {
        self.state().faults.arm(endpoint, FaultKind::LostAnswer, count);
    }

    /// Whether the cloud holds passcode key data for a lock (default true).
    /// Without it `keyboardPwd/get` answers -1007, as for a lock whose
    /// passcodes were never reset in the TTLock app.
    pub fn set_passcode_data(&self, lock_id: &str, present: bool) -> Result<(), StubError> {
        let mut s = self.state();
        let lock = s.lock_index(lock_id).ok_or_else(|| StubError::UnknownLock(lock_id.to_string()))?;
        s.locks[lock].passcode_data = present;
        Ok(())
    }

    /// Real time a gateway or Wi-Fi write takes (default 0; the real ones
    /// take 3-8 s). Calls through the same gateway meanwhile get -3003.
    pub fn set_command_delay(&self, delay: Duration) {
        self.state().command_delay = delay;
    }

    /// The application's monthly call quota (`None`: unlimited; default
    /// [`DEFAULT_MONTHLY_QUOTA`]). Beyond it every call answers 30007 until
    /// the 1st of the next month, Beijing time.
    pub fn set_monthly_quota(&self, quota: Option<u64>) {
        self.state().quota = quota;
    }

    /// The calls charged to the quota this (Beijing) month.
    pub fn month_request_count(&self) -> u64 {
        self.state().month_request_count()
    }

    /// Whether `changeType` 2 answers -3008 ("cannot modify a passcode never
    /// used on the lock") for every passcode. The doc leaves open whether
    /// that rule hits custom passcodes added through a gateway; off by
    /// default (it then hits only codes that never reached the lock), on to
    /// test a client's fallback to delete + add.
    pub fn set_change_needs_prior_use(&self, on: bool) {
        self.state().change_needs_prior_use = on;
    }

    /// Revokes every access token issued so far (they answer 10004);
    /// refresh tokens keep working. Returns how many were not revoked yet.
    pub fn revoke_tokens(&self) -> usize {
        let mut state = self.state();
        let live = state.tokens.values().filter(|t| !t.revoked).count();
        for t in state.tokens.values_mut() {
            t.revoked = true;
        }
        live
    }

    /// Puts a passcode on a lock as its owner would in the TTLock app (over
    /// Bluetooth, then uploaded): the plugin does not know it, yet it is on
    /// the lock, in the cloud's list, and taken (-3007). `start`/`end` are
    /// unix seconds (kept to the minute). Returns its `keyboardPwdId`.
    pub fn set_passcode_by_hand(&self, lock_id: &str, pin: &str, start: i64, end: i64) -> Result<i64, StubError> {
        let mut s = self.state();
        let lock = s.lock_index(lock_id).ok_or_else(|| StubError::UnknownLock(lock_id.to_string()))?;
        if !api::valid_code(pin) {
            return Err(StubError::InvalidPasscode(format!("{pin:?} is not 4-9 digits")));
        }
        let start_ms = state::floor_minute_ms(start.saturating_mul(1000));
        let end_ms = state::floor_minute_ms(end.saturating_mul(1000));
        if end_ms <= start_ms {
            return Err(StubError::InvalidPasscode("the end must be at least a minute after the start".into()));
        }
        match s.check_code(lock, pin, None, true) {
            None => {}
            Some(-3007) => return Err(StubError::InvalidPasscode(format!("{pin} is already on lock {lock_id}"))),
            Some(-2032) => return Err(StubError::InvalidPasscode(format!("{pin} is too simple"))),
            Some(_) => return Err(StubError::InvalidPasscode(format!("lock {lock_id} has no room for another code"))),
        }
        let owner = s.accounts.first().map(|a| a.username.clone()).unwrap_or_default();
        let name = "Set by hand in the TTLock app";
        let r = s.add_record(lock, pin.to_string(), name.into(), 3, start_ms, end_ms, true, &owner);
        let p = s.put_on_lock(lock, pin, name, start_ms, end_ms);
        s.passcodes[r].on_lock = Some(p);
        Ok(s.passcodes[r].id)
    }

    /// Every passcode that was ever on a lock, in the order they got there,
    /// with the window the lock holds; a code changed in place appears as
    /// its old entry removed and a new one added at the same instant.
    pub fn pins(&self) -> Vec<PinRecord> {
        self.state().pins.clone()
    }

    /// Lock-side truth, as a guest typing `pin` on lock `lock_id` at `at`
    /// (unix seconds) finds out: a passcode written to the lock opens while
    /// it is in the lock's table and `at` is in its window; an offline
    /// period passcode opens in its window, gateway or not, only if first
    /// typed within [`OFFLINE_ACTIVATION`] of its start, and stops once a
    /// gateway delete removed it. An offline code that opens counts as used.
    /// Windows are absolute instants; the stub does not shift them by the
    /// lock's `timezoneRawOffset` (whether the real cloud does is unknown),
    /// though it floors offline windows to the lock's whole hours.
    pub fn opens(&self, lock_id: &str, pin: &str, at: i64) -> bool {
        self.state().opens(lock_id, pin, at, true)
    }

    /// What [`Ttlock::opens`] would answer, without typing the code (no
    /// offline code counts as used).
    pub fn would_open(&self, lock_id: &str, pin: &str, at: i64) -> bool {
        self.state().opens(lock_id, pin, at, false)
    }

    /// The admin secrets `lock/detail` shows for a lock (admin PIN,
    /// `adminPwd`, `lockKey`, `aesKeyStr`, `lockData`), for tests that check
    /// they never leak (R2). Empty for an unknown lock.
    pub fn lock_secrets(&self, lock_id: &str) -> Vec<String> {
        let s = self.state();
        s.lock_index(lock_id)
            .map(|l| {
                let k = &s.locks[l].secrets;
                vec![
                    k.admin_pin.clone(),
                    k.admin_pwd.clone(),
                    k.lock_key.clone(),
                    k.aes_key.clone(),
                    k.lock_data.clone(),
                ]
            })
            .unwrap_or_default()
    }

    /// API requests received per endpoint, keyed `ttlock.<endpoint>`; every
    /// endpoint [`TtlockEndpoint::listed_at_zero`] is present, `ttlock.pwd_get`
    /// once called. Faulted and refused requests count too.
    pub fn http_counts(&self) -> BTreeMap<String, u64> {
        self.state().counts.by_endpoint.clone()
    }

    /// Every API request received, unknown routes included.
    pub fn http_requests(&self) -> u64 {
        self.state().counts.requests
    }

    /// [`Ttlock::http_requests`] and [`Ttlock::http_counts`] together.
    pub fn http_totals(&self) -> HttpCounts {
        self.state().counts.clone()
    }
}

impl crate::Service for Ttlock {
    fn handle(&self, req: &StubRequest) -> StubResponse {
        Ttlock::handle(self, req)
    }

    fn count_refused(&self, path_and_query: &str) {
        api::count_refused(&mut self.state(), path_and_query);
    }
}

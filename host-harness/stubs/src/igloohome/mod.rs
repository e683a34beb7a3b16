//! A faithful stub of the igloohome cloud API (see `docs/brands/igloohome.md`)
//! on a simulated clock.
//!
//! - [`Igloohome`] is the transport-independent core: [`Igloohome::handle`]
//!   answers one HTTP request; the simulated clock moves only through
//!   [`Igloohome::set_time`]; bridges carry out queued jobs as the clock
//!   passes (30 s per job, one at a time, expiry 120 s after enqueue if not
//!   started) and the locks' PIN tables are the truth that scenarios judge.
//! - Offline algoPINs (R24, `algopin`) are computed as the lock would,
//!   whatever the bridge, and judged by the lock's own rules
//!   ([`Igloohome::opens`]); see the `algopin` module.
//! - [`StubServer`](crate::StubServer) serves it over real HTTP on
//!   loopback, and [`serve_forever`](crate::serve_forever) runs it as a
//!   process driven through the `/_admin/` routes, which are the world's
//!   (see [`crate::world`]): a lone igloohome stub answers them as a world
//!   holding only igloohome.
//!
//! Where the API doc is a guess the stub takes the stricter reading, so a
//! client that works here works against both readings. In particular a job
//! that failed or expired reports `completed: true` with `jobStatus: 2`:
//! `completed` alone never means success, clients must read `jobStatus`.

mod algopin;
mod api;
mod config;
mod state;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;
use std::sync::MutexGuard;

pub use crate::{rfc3339_offset, rfc3339_utc, HttpCounts, MalformedKind, PinRecord, StubRequest, StubResponse};

pub use config::{OfflineReply, StubAccount, StubBridge, StubConfig, StubLock};
pub use state::{JOB_SECONDS, MAX_PENDING_PER_BRIDGE, MAX_PINS_PER_LOCK, PICKUP_WINDOW, TOKEN_LIFETIME};

use crate::sim::{Shared, Simulation as _};
use crate::World;
use state::State;

/// Errors of the stub's control API (not HTTP answers: those are responses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StubError {
    #[error("unknown bridge {0:?}")]
    UnknownBridge(String),
    #[error("unknown endpoint {0:?} (expected token, devices, jobs, job_status or algopin)")]
    UnknownEndpoint(String),
    #[error("invalid igloohome configuration: {0}")]
    InvalidConfig(String),
}

/// The API endpoints that are counted and can be faulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    /// `POST /oauth2/token`
    Token,
    /// `GET /igloohome/devices` and `GET /igloohome/devices/{deviceId}`
    Devices,
    /// `POST /igloohome/devices/{lockId}/jobs/bridges/{bridgeId}`
    Jobs,
    /// `GET /igloohome/jobs/{jobId}`
    JobStatus,
    /// `POST /igloohome/devices/{deviceId}/algopin/{hourly|daily|onetime|permanent}`
    /// (offline codes, R24)
    Algopin,
}

impl Endpoint {
    pub const ALL: [Endpoint; 5] =
        [Endpoint::Token, Endpoint::Devices, Endpoint::Jobs, Endpoint::JobStatus, Endpoint::Algopin];

    /// Whether a report lists it even at 0: all but `algopin`, which
    /// appears once called (reports from before it existed stay the same).
    pub fn listed_at_zero(self) -> bool {
        self != Endpoint::Algopin
    }

    /// The name used in scenario files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Token => "token",
            Endpoint::Devices => "devices",
            Endpoint::Jobs => "jobs",
            Endpoint::JobStatus => "job_status",
            Endpoint::Algopin => "algopin",
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Endpoint {
    type Err = StubError;
    fn from_str(s: &str) -> Result<Endpoint, StubError> {
        Endpoint::ALL.into_iter().find(|e| e.as_str() == s).ok_or_else(|| StubError::UnknownEndpoint(s.to_string()))
    }
}

/// An armed fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// Answer this status without doing anything (0 = hang).
    Status(u16),
    /// Carry the request out, then spoil the body.
    Body(MalformedKind),
}

/// The stub: cheap to clone, all clones share one world.
#[derive(Clone)]
pub struct Igloohome {
    inner: Shared<State>,
}

impl fmt::Debug for Igloohome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Igloohome").field("now", &self.now()).finish_non_exhaustive()
    }
}

impl Igloohome {
    /// A stub whose simulated clock reads `now` (unix seconds UTC). The
    /// configuration is taken as is; see [`StubConfig::validate`].
    pub fn new(config: StubConfig, now: i64) -> Igloohome {
        Igloohome { inner: Shared::new(State::new(config, now)) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.lock()
    }

    /// Answers one HTTP request: API routes, and `/_admin/` routes as a
    /// [`World`] holding only this stub.
    pub fn handle(&self, req: &StubRequest) -> StubResponse {
        if let Some(route) = crate::admin_route(&req.path_and_query) {
            let world = World::from_stubs(Some(self.clone()), None, None);
            return crate::world::admin::handle(&world, req, &route);
        }
        api::handle(&mut self.state(), req)
    }

    /// The simulated clock.
    pub fn now(&self) -> i64 {
        self.inner.now()
    }

    /// The account (client id) a request speaks for, if it names one.
    pub fn account_of(&self, req: &StubRequest) -> Option<String> {
        api::account_of(req)
    }

    /// Moves the simulated clock forward to `now` (a backward move is
    /// ignored with a warning) and carries out the bridges' jobs up to it.
    pub fn set_time(&self, now: i64) {
        self.inner.set_time(now);
    }

    /// Takes a bridge off or on line at the current simulated instant.
    pub fn set_bridge_online(&self, bridge: &str, online: bool) -> Result<(), StubError> {
        self.state().set_bridge_online(bridge, online)
    }

    /// Devices per page of `GET /devices` (at least 1; default 2).
    pub fn set_page_size(&self, page_size: usize) {
        self.state().page_size = page_size.max(1);
    }

    /// The next `count` calls to `endpoint` answer `status` with a JSON error
    /// body and no effect (0 = hang; 429 carries `Retry-After: 30`). Faults
    /// queue after those already armed; `count == 0` disarms the endpoint.
    pub fn inject_fault(&self, endpoint: Endpoint, status: u16, count: u32) {
        self.state().faults.arm(endpoint, FaultKind::Status(status), count);
    }

    /// The next `count` calls to `endpoint` are carried out but their
    /// response body is spoiled as `kind` says.
    pub fn inject_malformed(&self, endpoint: Endpoint, count: u32, kind: MalformedKind) {
        self.state().faults.arm(endpoint, FaultKind::Body(kind), count);
    }

    /// Puts a PIN on a lock as the igloohome app would (not through the
    /// API): the plugin does not know it, the lock does.
    pub fn set_pin_by_hand(&self, lock: &str, pin: &str, start: i64, end: i64) {
        let mut state = self.state();
        let at = state.now();
        state.pins.push(PinRecord {
            provider: "igloohome",
            lock: lock.to_string(),
            pin: pin.to_string(),
            access_name: "set by hand in the igloohome app".to_string(),
            start,
            end,
            added_at: at,
            removed_at: None,
            kind: crate::PinKind::Code,
        });
    }

    /// Invalidates every access token issued so far; returns how many
    /// there were.
    pub fn revoke_tokens(&self) -> usize {
        let mut state = self.state();
        let n = state.tokens.len();
        state.tokens.clear();
        n
    }

    /// Lock-side truth, as a guest typing `pin` on lock `lock` at `at` (unix
    /// seconds) finds out: a PIN the bridge put on the lock opens within its
    /// window while it is there; an algoPIN opens within its window by the
    /// lock's clock, whatever the bridge, if a window over 24 h was first
    /// typed within 24 h of its start (a one-time code opens once). An
    /// algoPIN that opens counts as used, as it does on the lock.
    pub fn opens(&self, lock: &str, pin: &str, at: i64) -> bool {
        self.state().opens(lock, pin, at, true)
    }

    /// What [`Igloohome::opens`] would answer, without typing the code (no
    /// algoPIN counts as used).
    pub fn would_open(&self, lock: &str, pin: &str, at: i64) -> bool {
        self.state().opens(lock, pin, at, false)
    }

    /// Every PIN that was ever on a lock, in the order they were added.
    pub fn pins(&self) -> Vec<PinRecord> {
        self.state().pins.clone()
    }

    /// Requests received; `by_endpoint` always has the four keys `token`,
    /// `devices`, `jobs`, `job_status`, and `algopin` once it was called.
    pub fn http_counts(&self) -> HttpCounts {
        self.state().counts.clone()
    }

    /// The report's `pins` array (docs/scenarios.md): instants as RFC 3339 UTC,
    /// `removed_at` null while the PIN is still on the lock.
    pub fn report_pins_json(&self) -> serde_json::Value {
        crate::report_pins_json(&self.state().pins)
    }

    /// The report's `http` object (docs/scenarios.md).
    pub fn http_json(&self) -> serde_json::Value {
        self.state().counts.to_json()
    }
}

impl crate::Service for Igloohome {
    fn handle(&self, req: &StubRequest) -> StubResponse {
        Igloohome::handle(self, req)
    }

    fn count_refused(&self, path_and_query: &str) {
        api::count_refused(&mut self.state(), path_and_query);
    }
}

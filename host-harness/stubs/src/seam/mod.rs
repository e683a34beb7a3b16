//! A faithful stub of the Seam Connect API (see `docs/brands/seam.md`) on a
//! simulated clock, served under `/seam` by the [`crate::World`].
//!
//! - [`Seam`] is the transport-independent core: [`Seam::handle`] answers
//!   one HTTP request with Seam's RPC paths (`/workspaces/get`,
//!   `/devices/list`, `/access_codes/create`, ...). Every route takes POST
//!   with a JSON body; reads also take GET (parameters in the query
//!   string), update also PUT and PATCH (the official clients' methods),
//!   delete also DELETE, as the API doc says of Seam itself. Any other
//!   method is 405. (Seam's own fake refuses PUT and PATCH on update; the
//!   doc lists that among the fake's flaws, so the stub does not copy it.)
//! - Bearer API keys per workspace; 401 `unauthorized` otherwise. Answers
//!   are the resource under its key plus `"ok": true`; errors are
//!   `{"error": {"type", "message", ...}, "ok": false}`.
//! - Seam's own scheduling on the simulated clock: a time-bound code stays
//!   `unset` until Seam loads it onto the device, [`NATIVE_LEAD`] (72 h)
//!   before `starts_at` for brands that schedule natively, [`JIT_LEAD`]
//!   (60 min) before for the just-in-time ones ([`Brand::native_scheduling`]);
//!   loading takes [`PROGRAM_SECONDS`]. A natively scheduled code is then
//!   `is_scheduled_on_device` and the lock opens for it only within its
//!   window; a just-in-time code opens from the moment it is programmed.
//!   At `starts_at` the code is `set`. At `ends_at` Seam removes it: the
//!   object is gone (404) and the lock drops it. An offline device takes
//!   nothing: the code carries `failed_to_set_on_device` and the device's
//!   `device_disconnected` until the device returns, when Seam retries.
//! - The lock-side truth: [`Seam::pins`] (what reached each device, when)
//!   and [`Seam::opens`].
//!
//! Where the doc is uncertain the stub takes the stricter reading; each
//! such choice is marked where it is made.

mod api;
mod config;
mod state;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;
use std::sync::MutexGuard;

pub use crate::{HttpCounts, MalformedKind, PinRecord, StubRequest, StubResponse};

pub use config::{Programming, SeamAccount, SeamConfig, SeamLock};
pub use state::{
    CREATES_PER_MINUTE, DELETES_PER_MINUTE, JIT_LEAD, NATIVE_LEAD, PROGRAM_SECONDS, UNRESTRICTED_END,
    UNRESTRICTED_START, UPDATES_PER_MINUTE,
};

use crate::sim::Shared;
use state::State;

/// Errors of the stub's control API (not HTTP answers: those are responses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StubError {
    #[error("unknown Seam device {0:?}")]
    UnknownLock(String),
    #[error(
        "unknown Seam endpoint {0:?} (expected workspaces_get, devices_list, devices_get, access_codes_create, \
         access_codes_get, access_codes_list, access_codes_update or access_codes_delete)"
    )]
    UnknownEndpoint(String),
    #[error("invalid seam configuration: {0}")]
    InvalidConfig(String),
}

/// The API endpoints that are counted and can be faulted; each is one RPC
/// path (`access_codes_create` is `/access_codes/create`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SeamEndpoint {
    WorkspacesGet,
    DevicesList,
    DevicesGet,
    AccessCodesCreate,
    AccessCodesGet,
    AccessCodesList,
    AccessCodesUpdate,
    AccessCodesDelete,
}

impl SeamEndpoint {
    pub const ALL: [SeamEndpoint; 8] = [
        SeamEndpoint::WorkspacesGet,
        SeamEndpoint::DevicesList,
        SeamEndpoint::DevicesGet,
        SeamEndpoint::AccessCodesCreate,
        SeamEndpoint::AccessCodesGet,
        SeamEndpoint::AccessCodesList,
        SeamEndpoint::AccessCodesUpdate,
        SeamEndpoint::AccessCodesDelete,
    ];

    /// The name used in scenario files (`fault` steps).
    pub fn as_str(self) -> &'static str {
        match self {
            SeamEndpoint::WorkspacesGet => "workspaces_get",
            SeamEndpoint::DevicesList => "devices_list",
            SeamEndpoint::DevicesGet => "devices_get",
            SeamEndpoint::AccessCodesCreate => "access_codes_create",
            SeamEndpoint::AccessCodesGet => "access_codes_get",
            SeamEndpoint::AccessCodesList => "access_codes_list",
            SeamEndpoint::AccessCodesUpdate => "access_codes_update",
            SeamEndpoint::AccessCodesDelete => "access_codes_delete",
        }
    }

    /// The RPC path (`/access_codes/create`).
    pub fn path(self) -> &'static str {
        match self {
            SeamEndpoint::WorkspacesGet => "/workspaces/get",
            SeamEndpoint::DevicesList => "/devices/list",
            SeamEndpoint::DevicesGet => "/devices/get",
            SeamEndpoint::AccessCodesCreate => "/access_codes/create",
            SeamEndpoint::AccessCodesGet => "/access_codes/get",
            SeamEndpoint::AccessCodesList => "/access_codes/list",
            SeamEndpoint::AccessCodesUpdate => "/access_codes/update",
            SeamEndpoint::AccessCodesDelete => "/access_codes/delete",
        }
    }

    /// The key in the report's `http.by_endpoint` (`seam.access_codes_create`).
    pub fn report_key(self) -> String {
        format!("seam.{}", self.as_str())
    }

    /// Reads answer GET too.
    fn is_read(self) -> bool {
        matches!(
            self,
            SeamEndpoint::WorkspacesGet
                | SeamEndpoint::DevicesList
                | SeamEndpoint::DevicesGet
                | SeamEndpoint::AccessCodesGet
                | SeamEndpoint::AccessCodesList
        )
    }
}

impl fmt::Display for SeamEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SeamEndpoint {
    type Err = StubError;
    fn from_str(s: &str) -> Result<SeamEndpoint, StubError> {
        SeamEndpoint::ALL.into_iter().find(|e| e.as_str() == s).ok_or_else(|| StubError::UnknownEndpoint(s.to_string()))
    }
}

/// A lock brand behind Seam: what Seam tells about its devices and how it
/// schedules their codes (`docs/brands/seam.md`, "Devices" and "Lifecycle"). The
/// lengths and constraints are the stub's per-brand choice within what the
/// doc lists (Nuki's are Nuki's own keypad rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Brand {
    August,
    Yale,
    Schlage,
    Kwikset,
    Igloohome,
    Nuki,
    Ttlock,
    Salto,
    Tedee,
    Wyze,
    TwoN,
    Lockly,
    Smartthings,
    DormakabaOracode,
}

impl Brand {
    const ALL: [Brand; 14] = [
        Brand::August,
        Brand::Yale,
        Brand::Schlage,
        Brand::Kwikset,
        Brand::Igloohome,
        Brand::Nuki,
        Brand::Ttlock,
        Brand::Salto,
        Brand::Tedee,
        Brand::Wyze,
        Brand::TwoN,
        Brand::Lockly,
        Brand::Smartthings,
        Brand::DormakabaOracode,
    ];
    /// The brands' names in scenario files.
    pub const NAMES: [&'static str; 14] = [
        "august",
        "yale",
        "schlage",
        "kwikset",
        "igloohome",
        "nuki",
        "ttlock",
        "salto",
        "tedee",
        "wyze",
        "two_n",
        "lockly",
        "smartthings",
        "dormakaba_oracode",
    ];

    pub fn parse(s: &str) -> Option<Brand> {
        Brand::NAMES.iter().position(|n| n.eq_ignore_ascii_case(s)).map(|i| Brand::ALL[i])
    }

    pub fn as_str(self) -> &'static str {
        Brand::NAMES[Brand::ALL.iter().position(|b| *b == self).unwrap_or(0)]
    }

    /// Seam loads time-bound codes 72 h ahead with the lock's own schedule;
    /// the others are programmed 60 min ahead and removed at the end.
    pub fn native_scheduling(self) -> bool {
        !matches!(self, Brand::Lockly | Brand::Smartthings | Brand::DormakabaOracode)
    }

    /// `device_type` (`schlage_lock`, ...).
    pub fn device_type(self) -> String {
        format!("{}_lock", self.as_str())
    }

    /// `properties.supported_code_lengths`.
    pub fn code_lengths(self) -> &'static [usize] {
        match self {
            Brand::Nuki => &[6],
            Brand::Igloohome => &[6, 7, 8, 9],
            Brand::Ttlock => &[4, 5, 6, 7, 8, 9],
            Brand::Salto | Brand::TwoN => &[4, 5, 6, 7, 8, 9, 10, 11, 12],
            _ => &[4, 5, 6, 7, 8],
        }
    }

    /// `properties.code_constraints`.
    pub fn constraints(self) -> Vec<serde_json::Value> {
        use serde_json::json;
        match self {
            Brand::Nuki => vec![
                json!({"constraint_type": "no_zeros"}),
                json!({"constraint_type": "cannot_start_with_12"}),
                json!({"constraint_type": "name_length", "max_length": 20}),
            ],
            Brand::Igloohome => {
                vec![
                    json!({"constraint_type": "no_zeros"}),
                    json!({"constraint_type": "name_length", "max_length": 12}),
                ]
            }
            Brand::Kwikset => vec![
                json!({"constraint_type": "no_ascending_or_descending_sequence"}),
                json!({"constraint_type": "at_least_three_unique_digits"}),
            ],
            Brand::Lockly => vec![json!({"constraint_type": "no_all_same_digits"})],
            _ => Vec::new(),
        }
    }
}

/// The stub: cheap to clone, all clones share one world.
#[derive(Clone)]
pub struct Seam {
    inner: Shared<State>,
}

impl fmt::Debug for Seam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seam").field("now", &self.now()).finish_non_exhaustive()
    }
}

impl Seam {
    /// A stub whose simulated clock reads `now` (unix seconds UTC). The
    /// configuration is taken as is (a device of an unknown brand or with
    /// an id that is not a UUID is left out); see [`SeamConfig::validate`].
    pub fn new(config: SeamConfig, now: i64) -> Seam {
        Seam { inner: Shared::new(State::new(config, now)) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.lock()
    }

    /// Answers one API request (paths as on `connect.getseam.com`).
    pub fn handle(&self, req: &StubRequest) -> StubResponse {
        api::handle(&mut self.state(), req)
    }

    /// The workspace (its name) a request speaks for, if its key is known.
    pub fn account_of(&self, req: &StubRequest) -> Option<String> {
        api::account_of(&self.state(), req)
    }

    /// The simulated clock.
    pub fn now(&self) -> i64 {
        self.inner.now()
    }

    /// Moves the simulated clock forward to `now` (a backward move is
    /// ignored with a warning), playing Seam's scheduling up to it.
    pub fn set_time(&self, now: i64) {
        self.inner.set_time(now);
    }

    /// Takes a device off line (`device_disconnected`) or back on line at
    /// the current instant; Seam retries what it could not do meanwhile.
    pub fn set_online(&self, lock_id: &str, online: bool) -> Result<(), StubError> {
        let mut state = self.state();
        let di = state.device_by_key(lock_id)?;
        state.set_online(di, online);
        Ok(())
    }

    /// How programming goes on this device from now on.
    pub fn set_programming(&self, lock_id: &str, mode: Programming) -> Result<(), StubError> {
        let mut state = self.state();
        let di = state.device_by_key(lock_id)?;
        state.set_programming(di, mode);
        Ok(())
    }

    /// The next `count` calls to `endpoint` answer `status` with Seam's
    /// error body and no effect (0 = hang). Faults queue after those armed
    /// already; `count == 0` disarms the endpoint.
    pub fn inject_fault(&self, endpoint: SeamEndpoint, status: u16, count: u32) {
        self.state().faults.arm(endpoint, api::FaultKind::Status(status), count);
    }

    /// The next `count` calls to `endpoint` are carried out but their answer
    /// is spoiled (not JSON, or cut in half).
    pub fn inject_malformed(&self, endpoint: SeamEndpoint, count: u32, kind: MalformedKind) {
        self.state().faults.arm(endpoint, api::FaultKind::Body(kind), count);
    }

    /// Revokes every workspace's API key (as in Seam Console): every later
    /// call gets 401. Returns how many were valid.
    pub fn revoke_tokens(&self) -> usize {
        let mut state = self.state();
        let valid = state.accounts.iter().filter(|a| a.key_valid).count();
        for a in &mut state.accounts {
            a.key_valid = false;
        }
        valid
    }

    /// Whether `pin` would open the device at instant `at`, from what the
    /// device holds. An unknown device opens for no one.
    pub fn opens(&self, lock_id: &str, pin: &str, at: i64) -> bool {
        let state = self.state();
        state.device_by_key(lock_id).is_ok_and(|di| state.opens(di, pin, at))
    }

    /// Every code that was ever on a device, in the order they got there,
    /// with the window the device applies: a natively scheduled code's
    /// `starts_at`..`ends_at`; a just-in-time code's from its programming
    /// to `ends_at`; an ongoing code [`UNRESTRICTED_START`] ..
    /// [`UNRESTRICTED_END`]. A code changed in place is its old record
    /// removed and a new one added at the same instant.
    pub fn pins(&self) -> Vec<PinRecord> {
        self.state().pins.clone()
    }

    /// Every API request received and per endpoint (`seam.*`, each listed).
    pub fn http_totals(&self) -> HttpCounts {
        self.state().counts.clone()
    }
}

impl crate::Service for Seam {
    fn handle(&self, req: &StubRequest) -> StubResponse {
        Seam::handle(self, req)
    }

    fn count_refused(&self, path_and_query: &str) {
        api::count_refused(&mut self.state(), path_and_query);
    }
}

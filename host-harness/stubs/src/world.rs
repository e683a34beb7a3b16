//! The vendors of a scenario together: one [`Service`] holding an optional
//! igloohome, Nuki, TTLock and Seam stub on one simulated clock, with one
//! admin API and merged reports.
//!
//! Routing (the host sends each brand's origins to its place here,
//! [`Vendor::base_url`]; `GET /_admin/layout` tells it over HTTP):
//! - `/nuki/...` goes to the Nuki stub as `/...` (Nuki's real paths);
//! - `/ttlock/...` goes to the TTLock stub as `/...`;
//! - `/seam/...` goes to the Seam stub as `/...`;
//! - `/_admin/...` is the world's admin API ([`admin`]), never counted;
//! - everything else goes to igloohome, whose paths (`/oauth2/token`,
//!   `/igloohome/...`) are served at the root.
//!
//! A request for a vendor the world does not hold answers 404 (JSON) and is
//! counted nowhere.
//!
//! The world counts the requests in flight per vendor account (the account
//! a request's credentials or token name, e.g. `igloohome:CLIENT_ID`) and
//! keeps the highest count of each ([`World::max_in_flight_per_account`]):
//! a host that serialises each tenant's calls never has two at once.
//!
//! Its clock is set by the host ([`World::set_time`]), or runs by itself
//! `speed` times as fast as the wall clock ([`World::run_clock`]): then
//! several host processes can share one simulated world.

pub mod admin;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::igloohome::{self, Igloohome, StubConfig};
use crate::nuki::{self, Nuki, NukiConfig};
use crate::seam::{self, Seam, SeamConfig};
use crate::ttlock::{self, Ttlock, TtlockConfig};
use crate::{
    admin_route, origin_form, report_pins_json, HttpCounts, MalformedKind, PinRecord, Service, StubRequest,
    StubResponse, UnknownVendor, Vendor,
};

/// The vendor worlds of a scenario file, spelt exactly as the file spells
/// them (`docs/scenarios.md`), and its `start`. Other fields are ignored,
/// so a whole scenario file deserialises into one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorldConfig {
    /// Where the simulated clock starts (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub igloohome: Option<StubConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nuki: Option<NukiConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttlock: Option<TtlockConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seam: Option<SeamConfig>,
}

impl WorldConfig {
    /// Checks each vendor's configuration (what the stubs themselves
    /// tolerate); the error names the vendor.
    pub fn validate(&self) -> Result<(), WorldError> {
        if let Some(c) = &self.igloohome {
            c.validate()?;
        }
        if let Some(c) = &self.nuki {
            c.validate()?;
        }
        if let Some(c) = &self.ttlock {
            c.validate()?;
        }
        if let Some(c) = &self.seam {
            c.validate()?;
        }
        Ok(())
    }
}

/// An injected fault, as a scenario's `fault` step spells it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// The vendor's endpoint name (igloohome `"jobs"`, Nuki
    /// `"auth_create"`, TTLock `"pwd_add"`, ...).
    pub endpoint: String,
    /// The HTTP status to answer, 0 = the connection hangs. Ignored for a
    /// malformed or truncated body and with an `errcode`.
    pub status: u16,
    /// How many calls it answers; 0 disarms the endpoint.
    pub count: u32,
    /// `"status"` (the default), `"malformed"` or `"truncated"` (the call
    /// is carried out, its answer spoiled; not Nuki).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// TTLock only: answer HTTP 200 with this errcode's body instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errcode: Option<i64>,
}

/// What a [`Fault`] does, checked.
enum FaultEffect {
    Status(u16),
    Body(MalformedKind),
    Errcode(i64),
}

impl Fault {
    fn effect(&self) -> Result<FaultEffect, WorldError> {
        let body = match self.kind.as_deref() {
            None | Some("status") => None,
            Some(k) => Some(k.parse::<MalformedKind>().map_err(|_| WorldError::UnknownFaultKind(k.to_string()))?),
        };
        match (body, self.errcode) {
            (Some(kind), Some(_)) => Err(WorldError::ErrcodeWithBody(kind)),
            (Some(kind), None) => Ok(FaultEffect::Body(kind)),
            (None, Some(code)) => Ok(FaultEffect::Errcode(code)),
            (None, None) if self.status == 0 || (100..=599).contains(&self.status) => {
                Ok(FaultEffect::Status(self.status))
            }
            (None, None) => Err(WorldError::InvalidStatus(self.status)),
        }
    }
}

/// Errors of the world's control API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorldError {
    #[error("this world has no {0} stub")]
    Absent(Vendor),
    #[error("the {vendor} stub does not support {what}")]
    Unsupported { vendor: Vendor, what: &'static str },
    #[error("unknown fault kind {0:?} (expected status, malformed or truncated)")]
    UnknownFaultKind(String),
    #[error("a fault status must be 0 (hang) or an HTTP status from 100 to 599, not {0}")]
    InvalidStatus(u16),
    #[error("an errcode fault cannot also be {} (an errcode answers a well-formed body)", .0.as_str())]
    ErrcodeWithBody(MalformedKind),
    #[error("the world's configuration has no start instant")]
    MissingStart,
    #[error(transparent)]
    UnknownVendor(#[from] UnknownVendor),
    #[error(transparent)]
    Igloohome(#[from] igloohome::StubError),
    #[error(transparent)]
    Nuki(#[from] nuki::StubError),
    #[error(transparent)]
    Ttlock(#[from] ttlock::StubError),
    #[error(transparent)]
    Seam(#[from] seam::StubError),
}

impl WorldError {
    /// Whether the error names a thing that is not there (a vendor, a
    /// bridge, a lock): 404 on the admin API, 400 otherwise.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            WorldError::Absent(_)
                | WorldError::Igloohome(igloohome::StubError::UnknownBridge(_))
                | WorldError::Nuki(nuki::StubError::UnknownLock(_))
                | WorldError::Ttlock(ttlock::StubError::UnknownGateway(_) | ttlock::StubError::UnknownLock(_))
                | WorldError::Seam(seam::StubError::UnknownLock(_))
        )
    }
}

/// The stubs of one scenario on one simulated clock: cheap to clone, all
/// clones share the same stubs.
#[derive(Debug, Clone)]
pub struct World {
    igloohome: Option<Igloohome>,
    nuki: Option<Nuki>,
    ttlock: Option<Ttlock>,
    seam: Option<Seam>,
    /// The clock [`World::set_time`] last set (the stubs follow it).
    now: Arc<AtomicI64>,
    /// A clock running by itself ([`World::run_clock`]).
    running: Arc<OnceLock<RunningClock>>,
    /// Requests in flight per account, and the most there ever were.
    in_flight: Arc<Mutex<InFlight>>,
}

/// A clock that reads `start` at `wall` and runs `speed` times as fast.
#[derive(Debug, Clone, Copy)]
struct RunningClock {
    start: i64,
    wall: Instant,
    speed: u32,
}

impl RunningClock {
    fn now_exact(&self) -> f64 {
        self.start as f64 + self.wall.elapsed().as_secs_f64() * f64::from(self.speed)
    }
}

#[derive(Debug, Default)]
struct InFlight {
    now: HashMap<String, u32>,
    max: BTreeMap<String, u32>,
}

/// Ends one request's count in [`InFlight`].
struct InFlightGuard<'a> {
    world: &'a World,
    account: String,
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.world.in_flight.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = in_flight.now.get_mut(&self.account) {
            *n = n.saturating_sub(1);
        }
    }
}

impl World {
    /// A world of the configured vendors whose clock reads `now` (unix
    /// seconds UTC; `config.start` is not read). The configurations are
    /// taken as they are; see [`World::from_config`].
    pub fn new(config: WorldConfig, now: i64) -> World {
        World {
            igloohome: config.igloohome.map(|c| Igloohome::new(c, now)),
            nuki: config.nuki.map(|c| Nuki::new(c, now)),
            ttlock: config.ttlock.map(|c| Ttlock::new(c, now)),
            seam: config.seam.map(|c| Seam::new(c, now)),
            now: Arc::new(AtomicI64::new(now)),
            running: Arc::default(),
            in_flight: Arc::default(),
        }
    }

    /// A world of a validated configuration, its clock at `config.start`.
    pub fn from_config(config: WorldConfig) -> Result<World, WorldError> {
        config.validate()?;
        let start = config.start.ok_or(WorldError::MissingStart)?.timestamp();
        Ok(World::new(config, start))
    }

    /// A world of stubs built already; its clock reads the latest of theirs.
    /// [`World::with_seam`] adds a Seam stub.
    pub fn from_stubs(igloohome: Option<Igloohome>, nuki: Option<Nuki>, ttlock: Option<Ttlock>) -> World {
        let world = World {
            igloohome,
            nuki,
            ttlock,
            seam: None,
            now: Arc::default(),
            running: Arc::default(),
            in_flight: Arc::default(),
        };
        world.now.store(world.stubs().map(|s| s.now()).max().unwrap_or(0), Ordering::SeqCst);
        world
    }

    /// The igloohome stub, for its own knobs (drive the clock through the
    /// world, not through a stub).
    pub fn igloohome(&self) -> Option<&Igloohome> {
        self.igloohome.as_ref()
    }

    /// The Nuki stub, for its own knobs.
    pub fn nuki(&self) -> Option<&Nuki> {
        self.nuki.as_ref()
    }

    /// The TTLock stub, for its own knobs.
    pub fn ttlock(&self) -> Option<&Ttlock> {
        self.ttlock.as_ref()
    }

    /// The Seam stub, for its own knobs.
    pub fn seam(&self) -> Option<&Seam> {
        self.seam.as_ref()
    }

    /// This world with `seam` added (its clock moved up to the world's or
    /// the world's to it, whichever is later).
    pub fn with_seam(mut self, seam: Seam) -> World {
        let now = self.now.load(Ordering::SeqCst).max(seam.now());
        self.seam = Some(seam);
        self.stubs().for_each(|s| s.set_time(now));
        self.now.store(now, Ordering::SeqCst);
        self
    }

    /// The vendors this world holds, in [`Vendor`] order.
    pub fn vendors(&self) -> Vec<Vendor> {
        Vendor::ALL.into_iter().filter(|&v| self.has(v)).collect()
    }

    /// Whether this world holds `vendor`'s stub.
    pub fn has(&self, vendor: Vendor) -> bool {
        self.stub(vendor).is_ok()
    }

    /// The stubs the world holds, in [`Vendor`] order.
    fn stubs(&self) -> impl Iterator<Item = &dyn VendorStub> {
        Vendor::ALL.into_iter().filter_map(|v| self.stub(v).ok())
    }

    fn stub(&self, vendor: Vendor) -> Result<&dyn VendorStub, WorldError> {
        let stub = match vendor {
            Vendor::Igloohome => self.igloohome.as_ref().map(|s| s as &dyn VendorStub),
            Vendor::Nuki => self.nuki.as_ref().map(|s| s as &dyn VendorStub),
            Vendor::Ttlock => self.ttlock.as_ref().map(|s| s as &dyn VendorStub),
            Vendor::Seam => self.seam.as_ref().map(|s| s as &dyn VendorStub),
        };
        stub.ok_or(WorldError::Absent(vendor))
    }

    fn igloohome_stub(&self) -> Result<&Igloohome, WorldError> {
        self.igloohome.as_ref().ok_or(WorldError::Absent(Vendor::Igloohome))
    }

    fn nuki_stub(&self) -> Result<&Nuki, WorldError> {
        self.nuki.as_ref().ok_or(WorldError::Absent(Vendor::Nuki))
    }

    fn ttlock_stub(&self) -> Result<&Ttlock, WorldError> {
        self.ttlock.as_ref().ok_or(WorldError::Absent(Vendor::Ttlock))
    }

    fn seam_stub(&self) -> Result<&Seam, WorldError> {
        self.seam.as_ref().ok_or(WorldError::Absent(Vendor::Seam))
    }

    /// The simulated clock (unix seconds UTC).
    pub fn now(&self) -> i64 {
        self.follow_clock();
        self.now.load(Ordering::SeqCst)
    }

    /// From now on the clock runs by itself, `speed` times as fast as the
    /// wall clock (at least 1), from where it is; [`World::set_time`] then
    /// only moves it to where it runs anyway. Once per world: `false` if
    /// it runs already.
    pub fn run_clock(&self, speed: u32) -> bool {
        let clock = RunningClock { start: self.now.load(Ordering::SeqCst), wall: Instant::now(), speed: speed.max(1) };
        self.running.set(clock).is_ok()
    }

    /// The speed of a running clock ([`World::run_clock`]), `None` when the
    /// host sets the clock.
    pub fn clock_speed(&self) -> Option<u32> {
        self.running.get().map(|c| c.speed)
    }

    /// The clock with its fraction of a second (a running clock's exact
    /// reading; else the whole second it was set to).
    pub fn now_exact(&self) -> f64 {
        match self.running.get() {
            Some(clock) => {
                let exact = clock.now_exact();
                self.set_time_to(exact.floor() as i64);
                exact
            }
            None => self.now.load(Ordering::SeqCst) as f64,
        }
    }

    /// Moves the stubs to a running clock's reading.
    fn follow_clock(&self) {
        if let Some(clock) = self.running.get() {
            self.set_time_to(clock.now_exact().floor() as i64);
        }
    }

    fn set_time_to(&self, now: i64) {
        if now > self.now.load(Ordering::SeqCst) {
            self.stubs().for_each(|s| s.set_time(now));
            self.now.fetch_max(now, Ordering::SeqCst);
        }
    }

    /// The most requests that were ever in flight at once per vendor
    /// account, keyed `vendor:account` (e.g. `nuki:Alpine Stays`).
    pub fn max_in_flight_per_account(&self) -> BTreeMap<String, u32> {
        self.in_flight.lock().unwrap_or_else(PoisonError::into_inner).max.clone()
    }

    /// Counts a request of `account` in flight until the guard is dropped.
    fn enter(&self, vendor: Vendor, account: Option<String>) -> Option<InFlightGuard<'_>> {
        let account = format!("{vendor}:{}", account?);
        let mut in_flight = self.in_flight.lock().unwrap_or_else(PoisonError::into_inner);
        let n = in_flight.now.entry(account.clone()).or_default();
        *n += 1;
        let n = *n;
        let max = in_flight.max.entry(account.clone()).or_default();
        *max = (*max).max(n);
        Some(InFlightGuard { world: self, account })
    }

    /// Moves every stub's clock forward to `now` (each plays what falls
    /// due); a backward move is ignored with a warning.
    pub fn set_time(&self, now: i64) {
        let current = self.now();
        if self.running.get().is_some() {
            // The clock runs by itself; it is at `current` already.
            return;
        }
        if now < current {
            tracing::warn!(current, requested = now, "stub world: clock cannot move backwards; ignored");
            return;
        }
        self.stubs().for_each(|s| s.set_time(now));
        self.now.store(now, Ordering::SeqCst);
    }

    /// Takes a vendor's link to the cloud off or on line at the current
    /// instant: an igloohome bridge, a TTLock gateway, or a Nuki lock's or
    /// Seam device's own connection (`id` is then the lock's id).
    pub fn set_online(&self, vendor: Vendor, id: &str, online: bool) -> Result<(), WorldError> {
        match vendor {
            Vendor::Igloohome => self.igloohome_stub()?.set_bridge_online(id, online)?,
            Vendor::Nuki => self.nuki_stub()?.set_online(id, online)?,
            Vendor::Ttlock => self.ttlock_stub()?.set_gateway_online(id, online)?,
            Vendor::Seam => self.seam_stub()?.set_online(id, online)?,
        }
        Ok(())
    }

    /// Arms `fault` on one of `vendor`'s endpoints (see [`Fault`]). Nuki
    /// has status faults only; errcodes are TTLock's.
    pub fn inject_fault(&self, vendor: Vendor, fault: &Fault) -> Result<(), WorldError> {
        let unsupported = |what| Err(WorldError::Unsupported { vendor, what });
        let count = fault.count;
        match vendor {
            Vendor::Igloohome => {
                let stub = self.igloohome_stub()?;
                let ep: igloohome::Endpoint = fault.endpoint.parse()?;
                match fault.effect()? {
                    FaultEffect::Status(status) => stub.inject_fault(ep, status, count),
                    FaultEffect::Body(kind) => stub.inject_malformed(ep, count, kind),
                    FaultEffect::Errcode(_) => return unsupported("errcode faults (TTLock only)"),
                }
            }
            Vendor::Nuki => {
                let stub = self.nuki_stub()?;
                let ep: nuki::NukiEndpoint = fault.endpoint.parse()?;
                match fault.effect()? {
                    FaultEffect::Status(status) => stub.inject_fault(ep, status, count),
                    FaultEffect::Body(_) => return unsupported("malformed or truncated answers"),
                    FaultEffect::Errcode(_) => return unsupported("errcode faults (TTLock only)"),
                }
            }
            Vendor::Ttlock => {
                let stub = self.ttlock_stub()?;
                let ep: ttlock::TtlockEndpoint = fault.endpoint.parse()?;
                match fault.effect()? {
                    FaultEffect::Status(status) => stub.inject_fault(ep, status, count),
                    FaultEffect::Body(kind) => stub.inject_malformed(ep, count, kind),
                    FaultEffect::Errcode(code) => stub.inject_errcode(ep, code, count),
                }
            }
            Vendor::Seam => {
                let stub = self.seam_stub()?;
                let ep: seam::SeamEndpoint = fault.endpoint.parse()?;
                match fault.effect()? {
                    FaultEffect::Status(status) => stub.inject_fault(ep, status, count),
                    FaultEffect::Body(kind) => stub.inject_malformed(ep, count, kind),
                    FaultEffect::Errcode(_) => return unsupported("errcode faults (TTLock only)"),
                }
            }
        }
        Ok(())
    }

    /// Invalidates every access token `vendor` issued (igloohome, TTLock)
    /// or every API token (Nuki, as a password change does); returns how
    /// many were still valid.
    pub fn revoke_tokens(&self, vendor: Vendor) -> Result<usize, WorldError> {
        Ok(self.stub(vendor)?.revoke_tokens())
    }

    /// Devices per page of igloohome's `GET /devices` (at least 1).
    pub fn set_page_size(&self, page_size: usize) -> Result<(), WorldError> {
        self.igloohome_stub()?.set_page_size(page_size);
        Ok(())
    }

    /// Lock-side truth for the scenario's `try_pin` step: a guest types
    /// `pin` on `vendor`'s lock `lock` now. Whether it opens, by the lock's
    /// own rules (offline codes included, R24: an igloohome algoPIN or a
    /// TTLock offline passcode that opens counts as used, as on the lock).
    /// An unknown lock opens for nothing.
    pub fn try_pin(&self, vendor: Vendor, lock: &str, pin: &str) -> Result<bool, WorldError> {
        let at = self.now();
        Ok(self.stub(vendor)?.opens(lock, pin, at))
    }

    /// Every PIN that was ever on a lock, of every vendor (each record
    /// names its `provider`), ordered by `added_at`, then provider; a
    /// vendor's own order is kept among equals.
    pub fn pins(&self) -> Vec<PinRecord> {
        let mut pins: Vec<PinRecord> = self.stubs().flat_map(|s| s.pins()).collect();
        pins.sort_by_key(|p| (p.added_at, provider_rank(p.provider)));
        pins
    }

    /// Requests every stub of the world received: igloohome's endpoints by
    /// their plain names, the others prefixed `nuki.`, `ttlock.`, `seam.`
    /// (each present vendor's endpoints listed, even at 0).
    pub fn http_counts(&self) -> HttpCounts {
        let mut counts = HttpCounts::default();
        self.stubs().for_each(|s| counts.merge(&s.http_totals()));
        counts
    }

    /// The report's `pins` array (docs/scenarios.md), every vendor's.
    pub fn report_pins_json(&self) -> Value {
        report_pins_json(&self.pins())
    }

    /// The report's `http` object (docs/scenarios.md), every vendor's.
    pub fn http_json(&self) -> Value {
        self.http_counts().to_json()
    }

    /// Answers one HTTP request: a vendor's API (see the module doc for
    /// the routing) or the admin API.
    pub fn handle(&self, req: &StubRequest) -> StubResponse {
        if let Some(route) = admin_route(&req.path_and_query) {
            return admin::handle(self, req, &route);
        }
        self.follow_clock();
        let (vendor, target) = dispatch(&req.path_and_query);
        match self.stub(vendor) {
            Ok(s) => {
                let rewritten;
                let req = if target == req.path_and_query {
                    req
                } else {
                    rewritten = StubRequest { path_and_query: target, ..req.clone() };
                    &rewritten
                };
                let _in_flight = self.enter(vendor, s.account_of(req));
                s.handle(req)
            }
            Err(e) => StubResponse::json(404, &json!({ "message": e.to_string() })),
        }
    }
}

impl Service for World {
    fn handle(&self, req: &StubRequest) -> StubResponse {
        World::handle(self, req)
    }

    fn count_refused(&self, path_and_query: &str) {
        if admin_route(path_and_query).is_some() {
            return;
        }
        let (vendor, target) = dispatch(path_and_query);
        if let Ok(s) = self.stub(vendor) {
            s.count_refused(&target);
        }
    }
}

/// What the world asks of every vendor's stub alike.
trait VendorStub: Send + Sync {
    fn handle(&self, req: &StubRequest) -> StubResponse;
    fn count_refused(&self, target: &str);
    fn now(&self) -> i64;
    fn set_time(&self, now: i64);
    fn revoke_tokens(&self) -> usize;
    fn account_of(&self, req: &StubRequest) -> Option<String>;
    fn pins(&self) -> Vec<PinRecord>;
    fn opens(&self, lock: &str, pin: &str, at: i64) -> bool;
    fn http_totals(&self) -> HttpCounts;
}

macro_rules! vendor_stub {
    ($stub:ty, $http_totals:ident) => {
        impl VendorStub for $stub {
            fn handle(&self, req: &StubRequest) -> StubResponse {
                <$stub>::handle(self, req)
            }
            fn count_refused(&self, target: &str) {
                <$stub as Service>::count_refused(self, target)
            }
            fn now(&self) -> i64 {
                <$stub>::now(self)
            }
            fn set_time(&self, now: i64) {
                <$stub>::set_time(self, now)
            }
            fn revoke_tokens(&self) -> usize {
                <$stub>::revoke_tokens(self)
            }
            fn account_of(&self, req: &StubRequest) -> Option<String> {
                <$stub>::account_of(self, req)
            }
            fn pins(&self) -> Vec<PinRecord> {
                <$stub>::pins(self)
            }
            fn opens(&self, lock: &str, pin: &str, at: i64) -> bool {
                <$stub>::opens(self, lock, pin, at)
            }
            fn http_totals(&self) -> HttpCounts {
                <$stub>::$http_totals(self)
            }
        }
    };
}

vendor_stub!(Igloohome, http_counts);
vendor_stub!(Nuki, http_totals);
vendor_stub!(Ttlock, http_totals);
vendor_stub!(Seam, http_totals);

/// Which vendor a request target is for, and the target that vendor's stub
/// gets: its [`Vendor::path_prefix`] stripped (`/nuki/smartlock?x` ->
/// `/smartlock?x`); a target under no prefix goes unchanged to the vendor
/// served at the root ([`Vendor::root`]).
fn dispatch(target: &str) -> (Vendor, String) {
    let path = origin_form(target);
    for vendor in Vendor::ALL {
        let prefix = vendor.path_prefix();
        if prefix.is_empty() {
            continue;
        }
        if let Some(rest) = path.strip_prefix(prefix.as_str()) {
            if rest.starts_with('/') {
                return (vendor, rest.to_string());
            }
            if rest.is_empty() || rest.starts_with(['?', '#']) {
                return (vendor, format!("/{rest}"));
            }
        }
    }
    (Vendor::root(), target.to_string())
}

/// [`Vendor`] order of a [`PinRecord::provider`].
fn provider_rank(provider: &str) -> usize {
    Vendor::ALL.iter().position(|v| v.as_str() == provider).unwrap_or(Vendor::ALL.len())
}

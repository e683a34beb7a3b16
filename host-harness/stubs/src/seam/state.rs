//! The stub's mutable world and Seam's own scheduling on the simulated
//! clock: what Seam lists (the access-code objects), what each device really
//! holds, and Seam's work to bring the one to the other.
//!
//! Scheduling (exact to the simulated second):
//! - what a device should hold at `t` ([`State::desired`]): an ongoing code
//!   at once; a time-bound code from its load instant ([`NATIVE_LEAD`] or
//!   [`JIT_LEAD`] before `starts_at`) until `ends_at`; nothing once deleted;
//! - when that differs from what the device holds, Seam starts on it, and
//!   [`PROGRAM_SECONDS`] later an online device with [`Programming::Normal`]
//!   holds it (the record's `added_at` / `removed_at`). An offline device,
//!   or one that fails for good, gets the code error
//!   `failed_to_set_on_device` (`failed_to_remove_from_device` for a
//!   removal) at that instant instead; Seam starts again when the device
//!   returns or the knob changes;
//! - at `ends_at` Seam drops the object (later calls 404) and removes the
//!   code from the device like any removal;
//! - a delete marks the object `removing` until the device no longer holds
//!   the code; a code that never reached the device is gone at once.

use std::collections::VecDeque;

use super::config::{is_uuid, Programming, SeamConfig};
use super::{Brand, PinRecord, SeamEndpoint, StubError};
use crate::faults::FaultQueue;
use crate::sim::Simulation;
use crate::{HttpCounts, PinKind};

/// Seconds Seam takes to program or remove a code on a reachable device.
pub const PROGRAM_SECONDS: i64 = 20;
/// How long before `starts_at` Seam loads a natively scheduled code.
pub const NATIVE_LEAD: i64 = 72 * 3600;
/// How long before `starts_at` Seam programs a just-in-time code.
pub const JIT_LEAD: i64 = 3600;
/// Per-device rate limits (`docs/brands/seam.md`, "Rate limits"), per minute.
pub const CREATES_PER_MINUTE: usize = 10;
pub const UPDATES_PER_MINUTE: usize = 10;
pub const DELETES_PER_MINUTE: usize = 20;
/// A record's `start` for a code the device holds without a window.
pub const UNRESTRICTED_START: i64 = 0;
/// A record's `end` for a code the device holds without a window
/// (9999-12-31T23:59:59Z).
pub const UNRESTRICTED_END: i64 = 253_402_300_799;

/// A code's content as Seam lists it or a device holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    pub name: String,
    pub code: String,
    /// `starts_at`, `ends_at`; `None` for an ongoing code.
    pub window: Option<(i64, i64)>,
    /// Loaded 72 h ahead with the device's own schedule (else just in time).
    pub native: bool,
}

impl Spec {
    /// When Seam puts a time-bound code on the device.
    pub fn load_at(&self) -> Option<i64> {
        self.window.map(|(start, _)| start - if self.native { NATIVE_LEAD } else { JIT_LEAD })
    }
}

pub(crate) struct Account {
    pub workspace_id: String,
    pub key: String,
    pub name: String,
    /// False once revoked in Seam Console.
    pub key_valid: bool,
}

pub(crate) struct Device {
    /// The configured id, lower case (Seam's `device_id`).
    pub id: String,
    pub name: String,
    pub brand: Brand,
    pub online: bool,
    /// Since when it is offline (the device error's `created_at`).
    pub offline_since: Option<i64>,
    pub codes: bool,
    pub programming: Programming,
    /// Accepted writes per kind in the last minute, for the rate limits.
    pub recent: [VecDeque<i64>; 3],
}

/// The kinds of write the rate limits count per device.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WriteKind {
    Create = 0,
    Update = 1,
    Delete = 2,
}

impl WriteKind {
    fn limit(self) -> usize {
        match self {
            WriteKind::Create => CREATES_PER_MINUTE,
            WriteKind::Update => UPDATES_PER_MINUTE,
            WriteKind::Delete => DELETES_PER_MINUTE,
        }
    }
}

/// Seam's work on one code: bring the device to `target`.
#[derive(Debug, Clone)]
pub(crate) struct Op {
    pub target: Option<Spec>,
    pub since: i64,
    /// Its failure is already shown on the code.
    pub failed: bool,
}

pub(crate) struct AccessCode {
    pub id: String,
    pub device: usize,
    pub created_at: i64,
    /// What Seam lists; `None` once gone (deleted or expired): 404.
    pub listed: Option<Spec>,
    pub deleting: bool,
    /// What the device holds and since when.
    pub on_device: Option<(Spec, i64)>,
    /// Index in `State::pins` of `on_device`'s record.
    record: Option<usize>,
    pub op: Option<Op>,
    /// Code errors: (`error_code`, `created_at`).
    pub errors: Vec<(&'static str, i64)>,
}

/// Everything behind the `Seam` mutex.
pub(crate) struct State {
    now: i64,
    pub accounts: Vec<Account>,
    pub devices: Vec<Device>,
    pub codes: Vec<AccessCode>,
    pub pins: Vec<PinRecord>,
    pub faults: FaultQueue<SeamEndpoint, super::api::FaultKind>,
    /// Keyed `seam.*`, every endpoint present.
    pub counts: HttpCounts,
    /// Fallback entropy when the OS source fails (ids stay unique).
    id_counter: u64,
}

impl State {
    pub fn new(config: SeamConfig, now: i64) -> State {
        let accounts = config
            .accounts
            .into_iter()
            .enumerate()
            .map(|(i, a)| Account {
                workspace_id: fixed_uuid(0x5eaa, i as u64),
                key: a.api_key,
                name: a.name,
                key_valid: true,
            })
            .collect();
        let mut devices: Vec<Device> = Vec::new();
        for l in config.locks {
            let Some(brand) = Brand::parse(&l.brand) else {
                tracing::warn!(lock = %l.id, brand = %l.brand, "seam stub: unknown brand; device ignored");
                continue;
            };
            let id = l.id.to_ascii_lowercase();
            if !is_uuid(&id) || devices.iter().any(|d| d.id == id) {
                tracing::warn!(lock = %l.id, "seam stub: device id not a UUID or duplicate; device ignored");
                continue;
            }
            devices.push(Device {
                id,
                name: l.name,
                brand,
                online: l.online,
                offline_since: (!l.online).then_some(now),
                codes: l.codes,
                programming: l.programming,
                recent: Default::default(),
            });
        }
        State {
            now,
            accounts,
            devices,
            codes: Vec::new(),
            pins: Vec::new(),
            faults: FaultQueue::default(),
            counts: HttpCounts::zero(SeamEndpoint::ALL.map(SeamEndpoint::report_key)),
            id_counter: 0,
        }
    }

    pub fn device(&self, id: &str) -> Option<usize> {
        self.devices.iter().position(|d| d.id.eq_ignore_ascii_case(id))
    }

    /// A device by its configured id.
    pub fn device_by_key(&self, key: &str) -> Result<usize, StubError> {
        self.device(key).ok_or_else(|| StubError::UnknownLock(key.to_string()))
    }

    /// A listed (not gone) code by id.
    pub fn code(&self, id: &str) -> Option<usize> {
        self.codes.iter().position(|c| c.listed.is_some() && c.id.eq_ignore_ascii_case(id))
    }

    /// Listed codes of a device, in creation order.
    pub fn listed_on(&self, device: usize) -> impl Iterator<Item = (usize, &AccessCode, &Spec)> {
        self.codes
            .iter()
            .enumerate()
            .filter(move |(_, c)| c.device == device)
            .filter_map(|(i, c)| c.listed.as_ref().map(|s| (i, c, s)))
    }

    /// A listed code of `device` other than `except` already has `pin`
    /// (codes not yet on the device and codes being removed count).
    pub fn pin_taken(&self, device: usize, pin: &str, except: Option<usize>) -> bool {
        self.listed_on(device).any(|(i, _, s)| Some(i) != except && s.code == pin)
    }

    /// Whether one more write of `kind` on `device` is within the limit
    /// now; if so it is counted.
    pub fn take_rate(&mut self, device: usize, kind: WriteKind) -> bool {
        let now = self.now;
        let recent = &mut self.devices[device].recent[kind as usize];
        while recent.front().is_some_and(|&t| t <= now - 60) {
            recent.pop_front();
        }
        if recent.len() >= kind.limit() {
            return false;
        }
        recent.push_back(now);
        true
    }

    pub fn add_code(&mut self, device: usize, spec: Spec) -> usize {
        let id = self.new_uuid();
        self.codes.push(AccessCode {
            id,
            device,
            created_at: self.now,
            listed: Some(spec),
            deleting: false,
            on_device: None,
            record: None,
            op: None,
            errors: Vec::new(),
        });
        let i = self.codes.len() - 1;
        self.step(i, self.now);
        i
    }

    pub fn update_code(&mut self, i: usize, spec: Spec) {
        self.codes[i].listed = Some(spec);
        self.step(i, self.now);
    }

    pub fn delete_code(&mut self, i: usize) {
        self.codes[i].deleting = true;
        self.step(i, self.now);
    }

    pub fn set_online(&mut self, device: usize, online: bool) {
        let now = self.now;
        let d = &mut self.devices[device];
        if d.online == online {
            return;
        }
        d.online = online;
        d.offline_since = (!online).then_some(now);
        tracing::debug!(device = %d.id, online, now, "seam stub: device reachability changed");
        self.restart_ops(device);
    }

    pub fn set_programming(&mut self, device: usize, mode: Programming) {
        self.devices[device].programming = mode;
        self.restart_ops(device);
    }

    /// Seam starts again on every unfinished change of `device` now.
    fn restart_ops(&mut self, device: usize) {
        let now = self.now;
        for c in self.codes.iter_mut().filter(|c| c.device == device) {
            if let Some(op) = &mut c.op {
                op.since = now;
                op.failed = false;
            }
        }
        self.step_all(now);
    }

    /// What `c`'s device should hold at `t`.
    fn desired(c: &AccessCode, t: i64) -> Option<Spec> {
        let spec = c.listed.as_ref().filter(|_| !c.deleting)?;
        match (spec.window, spec.load_at()) {
            (Some((_, end)), Some(load)) if t >= load && t < end => Some(spec.clone()),
            (Some(_), _) => None,
            (None, _) => Some(spec.clone()),
        }
    }

    /// Brings code `i` up to date at instant `t`.
    fn step(&mut self, i: usize, t: i64) {
        let c = &mut self.codes[i];
        // Seam drops a time-bound code at its end.
        if c.listed.as_ref().and_then(|s| s.window).is_some_and(|(_, end)| t >= end) {
            c.listed = None;
        }
        let want = State::desired(c, t);
        if want.as_ref() == c.on_device.as_ref().map(|(s, _)| s) {
            c.op = None;
            c.errors.retain(|(e, _)| !e.starts_with("failed_to"));
            if c.deleting && c.on_device.is_none() {
                c.listed = None;
            }
            return;
        }
        if c.op.as_ref().map(|o| &o.target) != Some(&want) {
            c.op = Some(Op { target: want.clone(), since: t, failed: false });
        }
        let Some(op) = c.op.as_mut() else { return };
        if t < op.since + PROGRAM_SECONDS {
            return;
        }
        let device = &self.devices[c.device];
        match (device.online, device.programming) {
            (_, Programming::NeverConfirm | Programming::FalseSet) => {}
            (false, _) | (_, Programming::FailForGood) => {
                if !op.failed {
                    op.failed = true;
                    let error = if want.is_some() { "failed_to_set_on_device" } else { "failed_to_remove_from_device" };
                    c.errors.retain(|(e, _)| *e != error);
                    c.errors.push((error, t));
                }
            }
            (true, Programming::Normal) => {
                c.op = None;
                c.errors.retain(|(e, _)| !e.starts_with("failed_to"));
                if let Some(r) = c.record.take() {
                    self.pins[r].removed_at = Some(t);
                }
                match want {
                    Some(spec) => {
                        let (start, end) = match spec.window {
                            None => (UNRESTRICTED_START, UNRESTRICTED_END),
                            Some(w) if spec.native => w,
                            // Programmed without a schedule: it opens from now.
                            Some((_, end)) => (t, end),
                        };
                        self.pins.push(PinRecord {
                            provider: "seam",
                            lock: device.id.clone(),
                            pin: spec.code.clone(),
                            access_name: spec.name.clone(),
                            start,
                            end,
                            added_at: t,
                            removed_at: None,
                            kind: PinKind::of_access_name(&spec.name),
                        });
                        let c = &mut self.codes[i];
                        c.record = Some(self.pins.len() - 1);
                        c.on_device = Some((spec, t));
                    }
                    None => {
                        let c = &mut self.codes[i];
                        c.on_device = None;
                        if c.deleting {
                            c.listed = None;
                        }
                    }
                }
            }
        }
    }

    fn step_all(&mut self, t: i64) {
        for i in 0..self.codes.len() {
            self.step(i, t);
        }
    }

    /// The next instant after `now` at which code `c` changes by itself.
    fn next_due(c: &AccessCode, now: i64) -> Option<i64> {
        let mut due = Vec::with_capacity(3);
        if let Some(spec) = c.listed.as_ref().filter(|_| !c.deleting) {
            if let (Some((_, end)), Some(load)) = (spec.window, spec.load_at()) {
                due.extend([load, end]);
            }
        }
        if let Some(op) = &c.op {
            due.push(op.since + PROGRAM_SECONDS);
        }
        due.into_iter().filter(|&t| t > now).min()
    }

    /// Whether `pin` opens `device` at `at`, from what the device holds: a
    /// natively scheduled code within its window, any other code while it
    /// is there.
    pub fn opens(&self, device: usize, pin: &str, at: i64) -> bool {
        self.codes.iter().filter(|c| c.device == device).filter_map(|c| c.on_device.as_ref()).any(|(s, _)| {
            s.code == pin
                && match s.window {
                    Some((start, end)) if s.native => start <= at && at < end,
                    _ => true,
                }
        })
    }

    /// A random version-4 UUID.
    pub fn new_uuid(&mut self) -> String {
        crate::random_uuid(&mut self.id_counter, self.now)
    }
}

/// A stable UUID for the `n`th thing of a kind (workspaces, accounts).
pub(crate) fn fixed_uuid(kind: u16, n: u64) -> String {
    let mut b = [0u8; 16];
    b[..2].copy_from_slice(&kind.to_be_bytes());
    b[8..].copy_from_slice(&(n + 1).to_be_bytes());
    b[6] = 0x40;
    b[8] |= 0x80;
    crate::uuid_text(&b)
}

impl Simulation for State {
    const VENDOR: &'static str = "seam";

    fn now(&self) -> i64 {
        self.now
    }

    fn advance(&mut self, now: i64) {
        loop {
            let next = self.codes.iter().filter_map(|c| State::next_due(c, self.now)).filter(|&t| t <= now).min();
            let Some(t) = next else { break };
            self.now = t;
            self.step_all(t);
        }
        self.now = now;
        self.step_all(now);
    }
}

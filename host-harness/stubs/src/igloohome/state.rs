//! The stub's mutable world and its simulated clock: bridges working their
//! job queues, the locks' PIN tables, tokens, injected faults and counters.
//!
//! Bridge simulation (exact to the simulated second):
//! - each bridge works its FIFO queue one job at a time, [`JOB_SECONDS`] per
//!   job: a job enqueued at `t` on an idle online bridge starts at `t` and
//!   completes at `t + 30`; the next one starts when the previous finishes;
//! - a job must be *started* strictly less than [`PICKUP_WINDOW`] seconds
//!   after it was enqueued, otherwise it expires at `enqueued + 120`
//!   (an offline bridge starts nothing, so its queued jobs all expire);
//! - a bridge going offline aborts the job it is running (failed at that
//!   instant, no effect on the lock); coming back online, it resumes its
//!   queue from that instant;
//! - a job takes effect on the lock at its completion instant, which is the
//!   `added_at` / `removed_at` of the PIN record.

use std::collections::{HashMap, VecDeque};

use super::algopin::AlgoPin;
use super::config::{OfflineReply, StubConfig};
use super::{Endpoint, FaultKind, HttpCounts, PinRecord, StubError};
use crate::faults::FaultQueue;
use crate::sim::Simulation;
use crate::PinKind;

/// Seconds a bridge takes to carry out one job ("roughly 2 jobs per minute").
pub const JOB_SECONDS: i64 = 30;
/// A queued job not started within this many seconds expires.
pub const PICKUP_WINDOW: i64 = 120;
/// With this many jobs pending (queued or running) a bridge refuses more.
pub const MAX_PENDING_PER_BRIDGE: usize = 20;
/// PIN slots on a lock.
pub const MAX_PINS_PER_LOCK: usize = 199;
/// Access-token lifetime.
pub const TOKEN_LIFETIME: i64 = 86_400;

pub(crate) struct Account {
    pub client_id: String,
    pub client_secret: String,
    pub name: String,
}

pub(crate) struct Lock {
    pub id: String,
    pub name: String,
    pub bridge: Option<String>,
}

pub(crate) struct Bridge {
    pub id: String,
    pub name: String,
    pub online: bool,
    pub offline_reply: OfflineReply,
    /// Jobs waiting to start, oldest first (indices into `State::jobs`).
    queue: VecDeque<usize>,
    /// The job being carried out, if any.
    running: Option<usize>,
    /// Earliest instant the bridge may start its next job: when it last
    /// finished a job or came online (never later than the clock).
    free_from: i64,
}

impl Bridge {
    pub fn pending(&self) -> usize {
        self.queue.len() + usize::from(self.running.is_some())
    }
}

#[derive(Debug, Clone)]
pub(crate) enum JobAction {
    CreatePin { pin: String, access_name: String, start: i64, end: i64 },
    DeletePin { pin: String },
}

impl JobAction {
    pub fn job_type(&self) -> u8 {
        match self {
            JobAction::CreatePin { .. } => 4,
            JobAction::DeletePin { .. } => 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JobState {
    Queued,
    Running { finishes_at: i64 },
    Succeeded { at: i64 },
    Failed { at: i64, message: String },
}

pub(crate) struct Job {
    pub id: String,
    pub lock: String,
    pub bridge: String,
    pub enqueued_at: i64,
    pub action: JobAction,
    pub state: JobState,
}

impl Job {
    /// The pickup deadline, reported as the job's `expiryDate`.
    pub fn expires_at(&self) -> i64 {
        self.enqueued_at + PICKUP_WINDOW
    }
}

pub(crate) struct TokenInfo {
    pub scopes: Vec<String>,
    pub expires_at: i64,
}

/// Everything behind the `Igloohome` mutex.
pub(crate) struct State {
    now: i64,
    pub accounts: Vec<Account>,
    pub locks: Vec<Lock>,
    pub bridges: Vec<Bridge>,
    pub jobs: Vec<Job>,
    pub job_index: HashMap<String, usize>,
    pub pins: Vec<PinRecord>,
    /// Every algoPIN issued, oldest first; `pin` indexes its record in `pins`.
    pub algopins: Vec<AlgoPin>,
    pub tokens: HashMap<String, TokenInfo>,
    pub faults: FaultQueue<Endpoint, FaultKind>,
    pub counts: HttpCounts,
    pub page_size: usize,
    /// Fallback entropy when the OS source fails (it should not): ids stay
    /// unique, they are just not unguessable.
    id_counter: u64,
}

/// What happens next on a bridge, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Start,
    Finish,
    Expire,
}

impl State {
    pub fn new(config: StubConfig, now: i64) -> State {
        let accounts = config
            .accounts
            .into_iter()
            .map(|a| Account { client_id: a.client_id, client_secret: a.client_secret, name: a.name })
            .collect();
        let locks = config.locks.into_iter().map(|l| Lock { id: l.id, name: l.name, bridge: l.bridge }).collect();
        let bridges = config
            .bridges
            .into_iter()
            .map(|b| Bridge {
                id: b.id,
                name: b.name,
                online: b.online,
                offline_reply: b.offline_reply,
                queue: VecDeque::new(),
                running: None,
                free_from: now,
            })
            .collect();
        State {
            now,
            accounts,
            locks,
            bridges,
            jobs: Vec::new(),
            job_index: HashMap::new(),
            pins: Vec::new(),
            algopins: Vec::new(),
            tokens: HashMap::new(),
            faults: FaultQueue::default(),
            counts: HttpCounts::zero(Endpoint::ALL.into_iter().filter(|e| e.listed_at_zero()).map(Endpoint::as_str)),
            page_size: 2,
            id_counter: 0,
        }
    }

    pub fn lock(&self, id: &str) -> Option<&Lock> {
        self.locks.iter().find(|l| l.id == id)
    }

    pub fn bridge_index(&self, id: &str) -> Option<usize> {
        self.bridges.iter().position(|b| b.id == id)
    }

    /// Locks paired with a bridge, in configuration order.
    pub fn linked_locks(&self, bridge: &str) -> Vec<&Lock> {
        self.locks.iter().filter(|l| l.bridge.as_deref() == Some(bridge)).collect()
    }

    pub fn set_bridge_online(&mut self, bridge: &str, online: bool) -> Result<(), StubError> {
        let bi = self.bridge_index(bridge).ok_or_else(|| StubError::UnknownBridge(bridge.to_string()))?;
        let now = self.now;
        let b = &mut self.bridges[bi];
        if b.online == online {
            return Ok(());
        }
        b.online = online;
        if online {
            // Resume from this instant: nothing happened while it was away.
            b.free_from = now;
            tracing::debug!(bridge, now, "igloohome stub: bridge online");
        } else {
            tracing::debug!(bridge, now, "igloohome stub: bridge offline");
            if let Some(j) = b.running.take() {
                b.free_from = now;
                self.jobs[j].state =
                    JobState::Failed { at: now, message: "bridge went offline while carrying out the job".into() };
            }
        }
        // A job may start right now on a bridge that just came back.
        self.advance_to(now);
        Ok(())
    }

    /// Queues a job on a bridge at the current instant and returns its id.
    /// The caller has checked the link, the offline policy and the cap.
    pub fn enqueue(&mut self, lock: &str, bridge_idx: usize, action: JobAction) -> String {
        let id = self.new_id();
        let idx = self.jobs.len();
        self.jobs.push(Job {
            id: id.clone(),
            lock: lock.to_string(),
            bridge: self.bridges[bridge_idx].id.clone(),
            enqueued_at: self.now,
            action,
            state: JobState::Queued,
        });
        self.job_index.insert(id.clone(), idx);
        self.bridges[bridge_idx].queue.push_back(idx);
        // An idle bridge starts it at once (keeps the queue state normalised).
        self.advance_to(self.now);
        id
    }

    pub fn job(&self, id: &str) -> Option<&Job> {
        self.job_index.get(id).map(|&i| &self.jobs[i])
    }

    /// Plays bridge events in global time order (ties: configuration order
    /// of the bridges) so that `pins` stays in the order PINs were added.
    fn advance_to(&mut self, t: i64) {
        loop {
            let next = self
                .bridges
                .iter()
                .enumerate()
                .filter_map(|(i, b)| self.next_event(b).map(|(at, ev)| (at, i, ev)))
                .filter(|&(at, _, _)| at <= t)
                .min_by_key(|&(at, i, _)| (at, i));
            let Some((at, bi, ev)) = next else { break };
            self.apply(bi, at, ev);
        }
    }

    fn next_event(&self, b: &Bridge) -> Option<(i64, Event)> {
        if let Some(j) = b.running {
            return match self.jobs[j].state {
                JobState::Running { finishes_at } => Some((finishes_at, Event::Finish)),
                // Cannot happen: `running` always points at a Running job.
                _ => Some((b.free_from, Event::Finish)),
            };
        }
        let &head = b.queue.front()?;
        let job = &self.jobs[head];
        let deadline = job.expires_at();
        if b.online {
            let start = b.free_from.max(job.enqueued_at);
            if start < deadline {
                return Some((start, Event::Start));
            }
        }
        Some((deadline, Event::Expire))
    }

    fn apply(&mut self, bi: usize, at: i64, ev: Event) {
        match ev {
            Event::Start => {
                if let Some(j) = self.bridges[bi].queue.pop_front() {
                    self.bridges[bi].running = Some(j);
                    self.jobs[j].state = JobState::Running { finishes_at: at + JOB_SECONDS };
                }
            }
            Event::Expire => {
                if let Some(j) = self.bridges[bi].queue.pop_front() {
                    tracing::debug!(job = %self.jobs[j].id, bridge = %self.jobs[j].bridge, at, "igloohome stub: job expired");
                    self.jobs[j].state =
                        JobState::Failed { at, message: "job expired: the bridge did not pick it up in time".into() };
                }
            }
            Event::Finish => {
                let b = &mut self.bridges[bi];
                let Some(j) = b.running.take() else { return };
                b.free_from = at;
                let state = match self.carry_out(j, at) {
                    Ok(()) => JobState::Succeeded { at },
                    Err(message) => JobState::Failed { at, message },
                };
                tracing::debug!(job = %self.jobs[j].id, bridge = %self.jobs[j].bridge, at, ?state, "igloohome stub: job done");
                self.jobs[j].state = state;
            }
        }
    }

    /// The job's effect on the lock's PIN table, at its completion instant.
    fn carry_out(&mut self, j: usize, at: i64) -> Result<(), String> {
        let job = &self.jobs[j];
        let lock = job.lock.clone();
        match job.action.clone() {
            JobAction::CreatePin { pin, access_name, start, end } => {
                // AlgoPINs are computed by the lock, not held in its table.
                let current: Vec<&PinRecord> = self
                    .pins
                    .iter()
                    .filter(|p| p.lock == lock && p.removed_at.is_none() && p.kind != PinKind::Offline)
                    .collect();
                if current.iter().any(|p| p.pin == pin) {
                    return Err("pin already exists on the lock".into());
                }
                if current.len() >= MAX_PINS_PER_LOCK {
                    return Err("the lock has no free PIN slot".into());
                }
                let kind = PinKind::of_access_name(&access_name);
                self.pins.push(PinRecord {
                    provider: "igloohome",
                    lock,
                    pin,
                    access_name,
                    start,
                    end,
                    added_at: at,
                    removed_at: None,
                    kind,
                });
                Ok(())
            }
            JobAction::DeletePin { pin } => {
                // Deleting a PIN that is not there succeeds with no effect; a
                // delete job does not reach algoPINs (none is known to).
                if let Some(p) = self
                    .pins
                    .iter_mut()
                    .find(|p| p.lock == lock && p.pin == pin && p.removed_at.is_none() && p.kind != PinKind::Offline)
                {
                    p.removed_at = Some(at);
                }
                Ok(())
            }
        }
    }

    /// Lock-side truth for a PIN typed at `at` (see `Igloohome::opens`);
    /// `typed` counts an algoPIN that opens as used.
    pub fn opens(&mut self, lock: &str, pin: &str, at: i64, typed: bool) -> bool {
        let in_table =
            self.pins.iter().any(|p| p.kind != PinKind::Offline && p.lock == lock && p.pin == pin && p.holds_at(at));
        in_table
            || self.algopins.iter_mut().filter(|a| a.lock == lock && a.pin == pin).any(|a| {
                if typed {
                    a.lock_side.type_at(at)
                } else {
                    a.lock_side.would_accept(at)
                }
            })
    }

    /// A random UUID v4 in its usual text form.
    pub fn new_id(&mut self) -> String {
        crate::random_uuid(&mut self.id_counter, self.now)
    }

    /// Random bytes for token signatures and ids.
    pub fn random_bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        if getrandom::fill(&mut b).is_err() {
            self.id_counter += 1;
            for (i, x) in b.iter_mut().enumerate() {
                *x = (self.id_counter.rotate_left(i as u32 % 64) as u8) ^ (i as u8);
            }
        }
        b
    }
}

impl Simulation for State {
    const VENDOR: &'static str = "igloohome";

    fn now(&self) -> i64 {
        self.now
    }

    /// Plays every bridge event up to and including `now`.
    fn advance(&mut self, now: i64) {
        self.advance_to(now);
        self.now = now;
    }
}

//! The per-booking code lifecycle (R6-R18) as an explicit, persisted state
//! machine.
//!
//! A [`BookingRecord`] holds what the booking *wants* (its [`Target`]: lock,
//! window and schedule, recomputed by [`replan`] whenever a fact changes) and
//! what is *known* to be on a lock (`on_lock`) or on its way there (`job`).
//! [`decide`] is a pure function from the record and the time to the next
//! [`Decision`]; the tick (see `tick.rs`) carries decisions out, one vendor
//! call at a time, saving the record *before* each call that depends on it.
//!
//! One record is one code on one lock. A booking's code on the property's
//! own lock is its record of the default [`Role::Guest`]; its code on each
//! shared door (R26) and each slot of the own lock's backup pool (R25) are
//! records of their own ([`Role::Door`], [`Role::Backup`], with derived
//! [`BookingRecord::record_id`]s), planned by `events` and `pool` and
//! carried out by the same [`decide`] and tick; a slot's own replanning (a
//! spare code moved forward, a slot back from its guest) is one of its
//! decisions ([`Decision::Replan`]).
//!
//! Crash safety rests on one rule: a write whose outcome is unknown
//! (`handle: None` — saved before the request left, or the request got no
//! clear answer) is resolved before anything else is sent. Where the vendor
//! lists a lock's codes the listing says whether it happened; where it does
//! not the PIN is first deleted (idempotent), then
//! created again with the same PIN. So a restart never leaves a PIN the
//! plugin does not know about, and never two PINs for one booking.

use serde::{Deserialize, Serialize};

use crate::brands::{BrandId, Op};
use crate::model::{Assignment, BookingFacts, PropertyFacts};
use crate::schedule::{self, Instant, Plan, PlanInput};
pub use crate::status::CodeState;
use crate::status::Reported;

/// Hourly retries (R11, R16).
pub const RETRY_SECS: i64 = 3600;
/// A step that could not be taken (the alert, a full channel, a failed look)
/// is tried again this long after.
pub const POLL_SECS: i64 = 60;
/// A write is looked at this long after its channel should have done it.
pub const POLL_SLACK_SECS: i64 = 2;
/// A job still pending after this long is treated as lost: its outcome is
/// unknown, so it is undone and redone.
pub const JOB_LOST_SECS: i64 = 30 * 60;
/// The index entries a booking record owns; kept inside the record so a
/// save can write exactly the difference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indexed {
    pub due: Option<Instant>,
    /// Locks on which the booking's PIN is reserved.
    pub pins: Vec<(String, String)>,
    /// The channel with a write of this booking in flight.
    pub in_flight: Option<String>,
    /// When that job should be done (the in-flight entry's value).
    #[serde(default)]
    pub in_flight_done_by: Option<Instant>,
    pub property: Option<String>,
}

/// Where a code sits (or should sit) and for which window. `start`/`end` are
/// the window the booking promises (R10), not the clamped start sent to the
/// vendor, so comparisons stay stable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// The lock's brand (absent before 0.2: the legacy brand).
    #[serde(default = "crate::brands::legacy_brand")]
    pub provider: BrandId,
    pub lock_id: String,
    /// What serialises writes to the lock: the device linking it to the
    /// cloud, or the lock itself (0.1's name for it is read by
    /// [`crate::brands::legacy`]).
    pub channel: String,
    pub start: Instant,
    pub end: Instant,
}

/// A PIN at a placement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Code {
    pub pin: String,
    pub placement: Placement,
    /// The brand's id of the code on the lock, where it gives one, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_id: Option<String>,
}

/// A write of this booking on its way to the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub kind: Op,
    pub code: Code,
    /// The brand's handle of the pending write, to look it up by;
    /// `None` while the submission's outcome is unknown. Stored as
    /// `job_id`, its name before 0.3.0, so older state reads as it is.
    #[serde(rename = "job_id")]
    pub handle: Option<String>,
    pub submitted_at: Instant,
    /// When the channel should have carried it out, after the writes queued
    /// ahead of it (R21: it is looked at then, not before).
    #[serde(default)]
    pub done_by: Instant,
    /// The brand holds the write and carries it out only then
    /// ([`crate::brands::Confirmed::Deferred`]): no channel slot is taken
    /// meanwhile, and it counts as lost only from then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_until: Option<Instant>,
}

impl Job {
    /// Since when the write has been expected on the lock.
    pub fn expected_since(&self) -> Instant {
        self.held_until.map_or(self.submitted_at, |h| h.max(self.submitted_at))
    }
}

/// The code the guest got instead of the regular one (R24).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fallback {
    /// "offline": computed by the brand's cloud, checked by the lock alone.
    pub kind: String,
    pub pin: String,
    pub provider: BrandId,
    pub lock_id: String,
    pub start: Instant,
    pub end: Instant,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_id: Option<String>,
    pub revocable: bool,
    /// Seconds after its start within which the guest must first type it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_use_within_secs: Option<i64>,
    pub issued_at: Instant,
    /// The property's name when it was issued (for the notice, once the
    /// booking has no target any more).
    #[serde(default)]
    pub property_name: String,
    /// The end of the stay's window it was issued for (before rounding):
    /// a stay that now ends earlier was shortened.
    #[serde(default)]
    pub stay_end: Instant,
    /// The booking was cancelled or shortened while the code stays valid,
    /// and the manager has been told (one e-mail, R24).
    #[serde(default)]
    pub notice_sent: bool,
    /// For a backup code (R25): the record of the pool's slot it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
}

/// Separates the parts of a record id that is not a booking's own: booking
/// ids never contain control characters ([`crate::model::check_id`]).
pub const ID_SEP: char = '\u{1f}';

/// What a record's code is for. A booking's own-lock code is the default
/// (0.2 records have no role stored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The guest's code on the property's own lock.
    #[default]
    Guest,
    /// The booking's code on one of the property's shared doors (R26).
    Door { provider: BrandId, lock_id: String, name: String },
    /// A spare code of the property's own lock's pool (R25), given to at
    /// most one booking at a time.
    Backup {
        property_id: String,
        slot: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        given_to: Option<String>,
    },
}

impl Role {
    pub fn is_guest(&self) -> bool {
        matches!(self, Role::Guest)
    }

    /// The door's name, for a door's record.
    pub fn door_name(&self) -> Option<&str> {
        match self {
            Role::Door { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// The record id of a booking's code on a shared door.
pub fn door_record_id(booking: &str, provider: BrandId, lock_id: &str) -> String {
    format!("{booking}{ID_SEP}door{ID_SEP}{}{ID_SEP}{lock_id}", provider.id())
}

/// The record id of a backup pool's slot (1-based).
pub fn backup_record_id(property: &str, slot: u32) -> String {
    format!("{ID_SEP}backup{ID_SEP}{property}{ID_SEP}{slot}")
}

/// A shared door of a booking, as its own-lock record lists it (R26).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoorRef {
    pub provider: BrandId,
    pub lock_id: String,
}

/// Another lock of the same booking (R26): the PIN is drawn to suit it too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sibling {
    /// The record holding the booking's code there.
    pub record: String,
    pub lock_id: String,
    pub pin_rule: crate::pin::PinRule,
}

/// What the booking wants, computed from facts by [`replan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub placement: Placement,
    pub plan: Plan,
    pub timezone: schedule::Zone,
    pub lock_name: String,
    pub property_name: String,
    /// The lock's own PIN rule, where its brand reports one per lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_rule: Option<crate::pin::PinRule>,
    /// The booking's other locks (R26): its own lock and shared doors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub siblings: Vec<Sibling>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRecord {
    pub facts: BookingFacts,
    pub target: Option<Target>,
    /// When the booking last became eligible, or its target last changed
    /// (R7, R13).
    pub eligible_at: Option<Instant>,
    /// The guest's PIN, chosen at the first creation and kept (R14).
    pub pin: Option<String>,
    /// The code confirmed on a lock.
    pub on_lock: Option<Code>,
    pub job: Option<Job>,
    /// The lock on which the guest's PIN was last confirmed: re-creating it
    /// there is a move (immediate, R14), not a new code (scheduled, R17).
    pub issued_on: Option<String>,
    pub attempts_failed: u32,
    /// No new attempt before this instant (hourly retries, Retry-After).
    pub retry_at: Option<Instant>,
    pub last_error: Option<String>,
    pub alert_sent: bool,
    /// Disconnected: the code is left to expire on the lock (R18).
    pub left_to_expire: bool,
    pub next_due: Option<Instant>,
    /// Index entries in storage that belong to this record.
    #[serde(default)]
    pub indexed: Indexed,
    /// The property's timezone when the booking was last planned: the code
    /// status shows local times with it even once the target is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<schedule::Zone>,
    /// The margin (R10) of the property's assignment when the booking was
    /// last planned with one: once the property has no lock, a code kept
    /// mid-stay is held to the stay's current check-out plus it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin_minutes: Option<u32>,
    /// Without a target (the property has no lock) while a code of the
    /// booking is on a lock or on its way: the stay's current window
    /// (start, end), by [`replan`]. A code kept mid-stay (R17) goes at its
    /// end (R16), and once it moves, the booking is due at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stay: Option<(Instant, Instant)>,
    /// What the code events (R27) last said of this booking.
    #[serde(default)]
    pub reported: Reported,
    /// The brand confirmed the code ahead of the lock
    /// ([`crate::brands::Confirmed::Provisional`]): it is looked at again then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recheck_at: Option<Instant>,
    /// The guest's fallback code (R24): from then on the regular code is no
    /// longer tried, and deleted if it reaches the lock after all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    /// What the record's code is for (absent: the guest's own-lock code).
    #[serde(default, skip_serializing_if = "Role::is_guest")]
    pub role: Role,
    /// The booking's shared doors whose records exist (R26), in the order
    /// they were added; on the own-lock record only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub doors: Vec<DoorRef>,
    /// A PIN the lock refused as taken: not taken from the booking's other
    /// locks again (R26).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_pin: Option<String>,
    /// What storage holds of the record, as last loaded or saved (not
    /// stored): a save that would write it unchanged is skipped.
    #[serde(skip)]
    pub stored: Stored,
}

/// The bytes storage holds of a record, as last loaded or saved. Records
/// compare equal whatever they are: they say where the record came from,
/// not what it is.
#[derive(Debug, Clone, Default)]
pub struct Stored(Option<Vec<u8>>);

impl Stored {
    pub fn of(bytes: Vec<u8>) -> Self {
        Stored(Some(bytes))
    }

    /// Whether storage already holds exactly these bytes.
    pub fn holds(&self, bytes: &[u8]) -> bool {
        self.0.as_deref() == Some(bytes)
    }
}

impl PartialEq for Stored {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Stored {}

/// Why a backup pool's slot is planned anew (R25): its target follows from
/// its own record and the property's assignment, not from a booking's facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolReplan {
    /// The spare code has less than [`BookingRecord::POOL_ROLL_SECS`] left:
    /// it is moved forward.
    MoveForward,
    /// The code given to a guest is gone from the lock (the stay ended,
    /// R16, or the booking was cancelled, R15): the slot gets a fresh spare
    /// code if the pool still has it, else it is retired.
    BackFromGuest,
}

/// The next thing to do for a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Ask the vendor whether a pending write is done (its handle).
    Poll(String),
    /// A write's outcome is unknown: look for the code on the lock's listing.
    Resolve,
    /// Queue a job for this code.
    Submit(Op, Code),
    /// Send the one alert e-mail (R12, R13), with a fallback code where the
    /// brand has one (R24).
    Alert,
    /// Tell the manager a fallback code outlives a cancelled or shortened stay (R24).
    FallbackNotice,
    /// Look again at a code the brand confirmed ahead of the lock (R29).
    Recheck,
    /// Plan a backup pool's slot anew before its next step (R25).
    Replan(PoolReplan),
    /// Nothing to do before this instant (`None`: until something changes).
    Wait(Option<Instant>),
}

impl BookingRecord {
    pub fn new(facts: BookingFacts) -> Self {
        BookingRecord {
            facts,
            target: None,
            eligible_at: None,
            pin: None,
            on_lock: None,
            job: None,
            issued_on: None,
            attempts_failed: 0,
            retry_at: None,
            last_error: None,
            alert_sent: false,
            left_to_expire: false,
            next_due: None,
            indexed: Indexed::default(),
            timezone: None,
            margin_minutes: None,
            stay: None,
            reported: Reported::default(),
            recheck_at: None,
            fallback: None,
            role: Role::Guest,
            doors: Vec::new(),
            refused_pin: None,
            stored: Stored::default(),
        }
    }

    /// A record of `role` for the booking.
    pub fn with_role(facts: BookingFacts, role: Role) -> Self {
        BookingRecord { role, ..BookingRecord::new(facts) }
    }

    /// The key of this record in storage and in the indexes: the booking's
    /// id for its own-lock code, a derived id otherwise.
    pub fn record_id(&self) -> String {
        match &self.role {
            Role::Guest => self.facts.id.clone(),
            Role::Door { provider, lock_id, .. } => door_record_id(&self.facts.id, *provider, lock_id),
            Role::Backup { property_id, slot, .. } => backup_record_id(property_id, *slot),
        }
    }

    /// The record id in printable form (event ids, e-mail dedup keys): the
    /// booking's id for its own code, escaped otherwise.
    pub fn printable_id(&self) -> String {
        match &self.role {
            Role::Guest => self.facts.id.clone(),
            _ => crate::keys::esc(&self.record_id()),
        }
    }

    /// The index entries this record should own.
    pub fn wanted_index(&self) -> Indexed {
        let mut pins: Vec<(String, String)> = Vec::new();
        let mut hold = |lock: &str, pin: &str| {
            let entry = (lock.to_string(), pin.to_string());
            if !pins.contains(&entry) {
                pins.push(entry);
            }
        };
        if let Some(c) = &self.on_lock {
            hold(&c.placement.lock_id, &c.pin);
        }
        if let Some(j) = &self.job {
            hold(&j.code.placement.lock_id, &j.code.pin);
        }
        // While the guest's PIN is to be (re)created on the lock it was on,
        // keep it reserved there so no other booking takes it meanwhile.
        if let (Some(t), Some(pin), Some(issued)) = (&self.target, &self.pin, &self.issued_on) {
            if &t.placement.lock_id == issued && !self.left_to_expire {
                hold(issued, pin);
            }
        }
        Indexed {
            due: if self.left_to_expire { None } else { self.next_due },
            pins,
            in_flight: self.job.as_ref().filter(|j| j.held_until.is_none()).map(|j| j.code.placement.channel.clone()),
            in_flight_done_by: self.job.as_ref().filter(|j| j.held_until.is_none()).map(|j| j.done_by),
            property: Some(self.facts.property_id.clone()),
        }
    }

    /// Where the code should be at `now`, all rules considered.
    pub fn wanted_placement(&self, now: Instant) -> Option<Placement> {
        if !self.facts.confirmed {
            return None; // R15: cancelled, delete at once.
        }
        if self.fallback.is_some() {
            return None; // R24: the guest holds the fallback; the regular code goes.
        }
        if let Some(until) = self.kept_mid_stay_until(now) {
            return (now < until).then(|| self.on_lock.as_ref().map(|c| c.placement.clone())).flatten();
        }
        let t = self.target.as_ref().map(|t| &t.placement)?;
        (now < t.end).then(|| t.clone())
    }

    /// R17: a guest in the middle of the stay keeps the code on the old lock
    /// (the lock changed or was removed) until check-out — the stay's
    /// current check-out, if the booking was shortened since (R16). `None`
    /// when no code is kept that way. "Mid-stay" is judged on the booking's
    /// current window (the target's, or without a lock the [`Self::stay`]),
    /// not on the old code's.
    pub fn kept_mid_stay_until(&self, now: Instant) -> Option<Instant> {
        let cur = &self.on_lock.as_ref()?.placement;
        let target = self.target.as_ref().map(|t| &t.placement);
        if target.is_some_and(|t| t.lock_id == cur.lock_id) {
            return None;
        }
        let (stay_start, stay_end) = match (target, self.stay) {
            (Some(t), _) => (t.start, t.end.min(cur.end)),
            (None, Some((start, end))) => (start, end.min(cur.end)),
            // Stored before the stay was kept: the code's own window.
            (None, None) => (cur.start, cur.end),
        };
        (now >= stay_start).then_some(stay_end)
    }

    /// R24: a fallback code that cannot be withdrawn outlives the stay (the
    /// booking was cancelled, or now ends before the code does): the manager
    /// is told once.
    pub fn fallback_notice_due(&self, now: Instant) -> bool {
        let Some(fb) = &self.fallback else { return false };
        if fb.revocable || fb.notice_sent || now >= fb.end {
            return false;
        }
        let stay_end = self.target.as_ref().map(|t| t.placement.end).or(self.stay.map(|(_, end)| end));
        !self.facts.confirmed || stay_end.is_some_and(|end| end < fb.stay_end.min(fb.end))
    }

    /// Whether the one alert e-mail is due (R12, R13).
    pub fn alert_due(&self, now: Instant) -> bool {
        let Some(t) = self.target.as_ref().filter(|_| self.alerts()) else { return false };
        if self.alert_sent || !self.facts.confirmed || now < t.plan.alert_at || now >= t.placement.end {
            return false;
        }
        let on_target = self.on_lock.as_ref().is_some_and(|c| c.placement.lock_id == t.placement.lock_id);
        if on_target {
            return false;
        }
        let eligible_at = self.eligible_at.unwrap_or(now);
        // Eligible in time: the code should exist by 18:00 on the eve.
        // Eligible after that: alert only once the immediate attempt failed.
        eligible_at < t.plan.alert_at || self.attempts_failed > 0
    }

    /// When the alert will be due if the code is still not there (R12): a
    /// booking that waits for anything else wakes then too.
    pub fn alert_wake(&self, now: Instant) -> Option<Instant> {
        self.target
            .as_ref()
            .filter(|t| self.alerts() && !self.alert_sent && now < t.plan.alert_at && self.on_lock.is_none())
            .map(|t| t.plan.alert_at)
    }

    /// A spare backup code is moved forward when it has this long left (R25).
    pub const POOL_ROLL_SECS: i64 = 7 * 86_400;

    /// When a spare backup code's window is to be moved forward (R25).
    pub fn pool_roll_at(&self) -> Option<Instant> {
        match (&self.role, &self.target) {
            (Role::Backup { given_to: None, .. }, Some(t)) if self.facts.confirmed => {
                Some(t.placement.end - Self::POOL_ROLL_SECS)
            }
            _ => None,
        }
    }

    /// What a backup pool's slot needs planned before anything else (R25).
    pub fn pool_replan(&self, now: Instant) -> Option<PoolReplan> {
        let Role::Backup { given_to, .. } = &self.role else { return None };
        let t = &self.target.as_ref()?.placement;
        match given_to {
            None if self.facts.confirmed && t.end - now <= Self::POOL_ROLL_SECS => Some(PoolReplan::MoveForward),
            Some(_) if self.on_lock.is_none() && self.job.is_none() && (!self.facts.confirmed || now >= t.end) => {
                Some(PoolReplan::BackFromGuest)
            }
            _ => None,
        }
    }

    /// When the record is looked at next, given that it waits for `wake`: a
    /// spare backup code also wakes to be moved forward, whatever else it
    /// waits for (a slot whose creation gave up is made anew then, R25).
    pub fn wake(&self, wake: Option<Instant>, now: Instant) -> Option<Instant> {
        earliest([wake, self.pool_roll_at().map(|roll| roll.max(now + 1))])
    }

    /// Backup pool codes never alert (R25): they are nobody's code yet.
    fn alerts(&self) -> bool {
        !matches!(self.role, Role::Backup { .. })
    }

    /// Creation window for the target: from when, until when (R6, R11, R13, R14).
    fn creation_bounds(&self, t: &Target) -> (Instant, Instant) {
        let moving = self.issued_on.as_deref() == Some(t.placement.lock_id.as_str());
        if moving {
            // The guest already has this PIN: put it back at once, until the stay ends.
            (Instant::MIN, t.placement.end)
        } else {
            let eligible_at = self.eligible_at.unwrap_or(t.plan.create_at);
            (t.plan.create_at, schedule::attempt_deadline(&t.plan, eligible_at))
        }
    }

    /// Whether creation of the target has been given up (R11: after the deadline).
    pub fn gave_up(&self, now: Instant) -> bool {
        let Some(t) = &self.target else { return false };
        if self.on_lock.is_some() || self.job.is_some() || !self.facts.confirmed {
            return false;
        }
        let (_, deadline) = self.creation_bounds(t);
        let first_try = self.attempts_failed == 0;
        !(now < deadline || (first_try && now < t.placement.end))
    }
}

impl BookingRecord {
    /// The property's zone for showing the booking's times: the target's,
    /// else the one it was last planned with, else UTC.
    pub fn zone(&self) -> chrono_tz::Tz {
        self.target.as_ref().map(|t| t.timezone).or(self.timezone).map_or(chrono_tz::UTC, schedule::Zone::tz)
    }

    /// The code's state at `now` (one definition, for the status, the events
    /// and "is being moved").
    pub fn code_state(&self, now: Instant) -> CodeState {
        let target_lock = self.target.as_ref().map(|t| t.placement.lock_id.as_str());
        if self.left_to_expire {
            CodeState::LeftToExpire
        } else if let Some(job) = &self.job {
            let same = Some(job.code.placement.lock_id.as_str()) == target_lock;
            let wanted_after = self.wanted_placement(now).is_some();
            match job.kind {
                Op::Create if self.issued_on.as_deref() == target_lock => CodeState::Moving,
                Op::Create => CodeState::Creating,
                Op::Update => CodeState::Moving,
                Op::Delete if same && wanted_after => CodeState::Moving,
                Op::Delete => CodeState::Deleting,
            }
        } else if self.on_lock.is_some() {
            CodeState::OnLock
        } else if self.fallback.is_some() && self.facts.confirmed {
            // R24: the regular code failed for good; the guest holds the
            // fallback the status shows beside it.
            CodeState::Failed
        } else if let Some(t) = &self.target {
            if now >= t.placement.end && self.issued_on.is_some() {
                CodeState::Removed
            } else if self.gave_up(now) {
                CodeState::Failed
            } else if self.attempts_failed > 0 {
                CodeState::Retrying
            } else {
                CodeState::Scheduled
            }
        } else if self.issued_on.is_some() {
            CodeState::Removed
        } else {
            CodeState::None
        }
    }
}

/// A code at the brand, wanted at `want`: a new window on the same lock is
/// moved in place where the brand can (same PIN, the complete code, R14);
/// anything else deletes it.
fn move_or_delete(code: &Code, want: Option<Placement>) -> Decision {
    match want {
        Some(to)
            if to.lock_id == code.placement.lock_id
                && to.provider == code.placement.provider
                && to.provider.capabilities().moves_in_place =>
        {
            Decision::Submit(Op::Update, Code { placement: to, ..code.clone() })
        }
        _ => Decision::Submit(Op::Delete, code.clone()),
    }
}

/// The next step for a record at `now` (pure). The vendor's capabilities
/// come from the record's own placements.
pub fn decide(rec: &BookingRecord, now: Instant) -> Decision {
    // A pool's slot is planned by the tick (it reads the property's
    // assignment), before its next step.
    if let Some(why) = rec.pool_replan(now) {
        return Decision::Replan(why);
    }
    if rec.left_to_expire {
        return Decision::Wait(None);
    }
    let retry_wait = rec.retry_at.filter(|&r| r > now);
    // The alert waits for a write on its way, but not for one that may
    // never be carried out.
    let write_stuck = rec.job.as_ref().is_none_or(|j| now - j.expected_since() >= JOB_LOST_SECS);
    if rec.alert_due(now) && write_stuck {
        return Decision::Alert;
    }
    if rec.fallback_notice_due(now) {
        return Decision::FallbackNotice;
    }
    if let Some(job) = &rec.job {
        let caps = job.code.placement.provider.capabilities();
        // A write the brand holds (Deferred), or any unconfirmed write of a
        // brand whose handle is the code's own id, names the code at the
        // brand: a change of plan is made there at once, as for a code on the
        // lock, instead of waiting for a confirmation that may come only
        // near the start, or never, while the old code stays due to reach
        // the lock (R14, R15).
        let amendable = job.held_until.is_some() || caps.amends_unconfirmed;
        if let (true, Some(handle), Op::Create | Op::Update) = (amendable, &job.handle, job.kind) {
            let want = rec.wanted_placement(now);
            if want.as_ref() != Some(&job.code.placement) {
                return move_or_delete(&Code { code_id: Some(handle.clone()), ..job.code.clone() }, want);
            }
        }
        return match (&job.handle, retry_wait) {
            (Some(id), _) => Decision::Poll(id.clone()),
            // Unknown outcome, honouring the retry pace: look where the vendor
            // lists codes, else undo (delete is idempotent).
            (None, Some(r)) => Decision::Wait(earliest([Some(r), rec.alert_wake(now)])),
            (None, None) if caps.lists_codes => Decision::Resolve,
            (None, None) => Decision::Submit(Op::Delete, job.code.clone()),
        };
    }
    let want = rec.wanted_placement(now);
    let alert_wake = rec.alert_wake(now);

    if let Some(code) = &rec.on_lock {
        if want.as_ref() == Some(&code.placement) {
            if rec.recheck_at.is_some_and(|r| now >= r) {
                return Decision::Recheck;
            }
            // Wake to delete at the end of the window (R16), or a spare
            // backup code to move it forward (R25).
            let end = rec.kept_mid_stay_until(now).unwrap_or(code.placement.end);
            return Decision::Wait(earliest([Some(end), alert_wake, rec.recheck_at, rec.pool_roll_at()]));
        }
        if let Some(r) = retry_wait {
            return Decision::Wait(Some(r));
        }
        return move_or_delete(code, want);
    }

    let (Some(placement), Some(t)) = (want, rec.target.as_ref()) else {
        return Decision::Wait(None);
    };
    let (from, deadline) = rec.creation_bounds(t);
    if now < from {
        return Decision::Wait(earliest([Some(from), alert_wake]));
    }
    if rec.gave_up(now) {
        return Decision::Wait(None);
    }
    if let Some(r) = retry_wait {
        // The next hourly attempt, if it is still before the deadline.
        let next = (r < deadline).then_some(r);
        return Decision::Wait(earliest([next, alert_wake]));
    }
    let pin = rec.pin.clone().unwrap_or_default(); // chosen by the tick if empty
    Decision::Submit(Op::Create, Code { pin, placement, code_id: None })
}

fn earliest<const N: usize>(candidates: [Option<Instant>; N]) -> Option<Instant> {
    candidates.into_iter().flatten().min()
}

/// Recomputes what the booking wants from the current facts (R9, R10, R14,
/// R15, R17). Returns whether anything changed.
pub fn replan(
    rec: &mut BookingRecord,
    property: Option<&PropertyFacts>,
    assignment: Option<&Assignment>,
    now: Instant,
) -> Result<bool, schedule::ScheduleError> {
    replan_with(rec, property, assignment, Vec::new(), now)
}

/// [`replan`] for a booking with other locks (R26): `siblings` are the
/// booking's locks besides this record's, whose rules its PIN suits too.
pub fn replan_with(
    rec: &mut BookingRecord,
    property: Option<&PropertyFacts>,
    assignment: Option<&Assignment>,
    siblings: Vec<Sibling>,
    now: Instant,
) -> Result<bool, schedule::ScheduleError> {
    let target = match (rec.facts.confirmed, property, assignment) {
        (true, Some(p), Some(a)) => Some(Target { siblings, ..target_for(&rec.facts, p, a)? }),
        _ => None,
    };
    if let Some(t) = &target {
        rec.timezone = Some(t.timezone);
    }
    let margin_before = rec.margin_minutes;
    if let Some(a) = assignment {
        rec.margin_minutes = Some(a.margin_minutes);
    }
    // No lock, but a code on one (kept mid-stay, R17) or on its way: what
    // the stay's facts say now bound it (R15, R16), with the margin of the
    // property's last assignment; a record stored before that was kept
    // takes the largest, so the guest never gets less than promised.
    let holds_code = rec.on_lock.is_some() || rec.job.is_some();
    let stay = match (&target, rec.facts.confirmed, property) {
        (None, true, Some(p)) if holds_code => {
            let margin = rec.margin_minutes.unwrap_or(*schedule::MARGIN_MINUTES_RANGE.end());
            // The window does not depend on days_before.
            let zone = schedule::Zone::parse("property.timezone", &p.timezone)?;
            let plan = plan_for(&rec.facts, p, zone, crate::model::DEFAULT_DAYS_BEFORE, margin)?;
            Some((plan.window_start, plan.window_end))
        }
        _ => None,
    };
    let material = |t: &Option<Target>| t.as_ref().map(|t| (t.placement.clone(), t.plan));
    if material(&target) == material(&rec.target) && stay == rec.stay {
        // Names only (or nothing): keep the schedule and its progress.
        let changed = target != rec.target || rec.margin_minutes != margin_before;
        rec.target = target;
        // R15: a cancelled booking's code on a lock goes at the next tick,
        // whatever was planned before (a write on its way is looked at
        // when due, then this decides).
        let cancelled_on_lock =
            !rec.facts.confirmed && rec.on_lock.is_some() && rec.job.is_none() && !rec.left_to_expire;
        if cancelled_on_lock && rec.next_due.is_none_or(|due| due > now) {
            rec.next_due = Some(now);
            return Ok(true);
        }
        return Ok(changed);
    }
    rec.stay = stay;
    if target.is_some() {
        rec.eligible_at = Some(now);
        rec.left_to_expire = false;
    }
    rec.target = target;
    // A new plan deserves a prompt first attempt, not the old failure's pace.
    rec.retry_at = None;
    rec.attempts_failed = 0;
    rec.next_due = Some(now);
    Ok(true)
}

fn target_for(b: &BookingFacts, p: &PropertyFacts, a: &Assignment) -> Result<Target, schedule::ScheduleError> {
    let zone = schedule::Zone::parse("property.timezone", &p.timezone)?;
    let plan = plan_for(b, p, zone, a.days_before, a.margin_minutes)?;
    Ok(Target {
        placement: Placement {
            provider: a.provider,
            lock_id: a.lock_id.clone(),
            channel: a.channel.clone(),
            start: plan.window_start,
            end: plan.window_end,
        },
        plan,
        timezone: zone,
        lock_name: a.lock_name.clone(),
        property_name: p.name.clone(),
        pin_rule: a.pin_rule.clone(),
        siblings: Vec::new(),
    })
}

fn plan_for(
    b: &BookingFacts,
    p: &PropertyFacts,
    zone: schedule::Zone,
    days_before: u32,
    margin_minutes: u32,
) -> Result<Plan, schedule::ScheduleError> {
    let parse_opt =
        |field: &'static str, v: &Option<String>| v.as_deref().map(|s| schedule::parse_time(field, s)).transpose();
    let (check_in_time, check_out_time) = schedule::resolve_times(
        parse_opt("booking.check-in-time", &b.check_in_time)?,
        parse_opt("booking.check-out-time", &b.check_out_time)?,
        parse_opt("property.check-in-time", &p.check_in_time)?,
        parse_opt("property.check-out-time", &p.check_out_time)?,
    );
    schedule::plan(&PlanInput {
        tz: zone.tz(),
        check_in: schedule::parse_date("booking.check-in", &b.check_in)?,
        check_out: schedule::parse_date("booking.check-out", &b.check_out)?,
        check_in_time,
        check_out_time,
        days_before,
        margin_minutes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brands::BrandId;

    // Europe/Paris, March 2026 (UTC+1): check-in March 20 15:00, out March 22 11:00.
    const MAR15_0000: Instant = 1_773_529_200; // 2026-03-14T23:00:00Z
    const MAR19_1800: Instant = 1_773_939_600; // 2026-03-19T17:00:00Z
    const MAR20_0000: Instant = 1_773_961_200; // 2026-03-19T23:00:00Z
    const MAR20_1430: Instant = 1_774_013_400; // 2026-03-20T13:30:00Z
    const MAR22_1130: Instant = 1_774_175_400; // 2026-03-22T10:30:00Z

    fn property() -> PropertyFacts {
        PropertyFacts {
            id: "p1".into(),
            name: "Sea View".into(),
            timezone: "Europe/Paris".into(),
            check_in_time: None,
            check_out_time: None,
        }
    }

    fn assignment(lock: &str) -> Assignment {
        Assignment {
            property_id: "p1".into(),
            provider: BrandId::parse("igloohome").unwrap(),
            lock_id: lock.into(),
            lock_name: "Front door".into(),
            channel: "B1".into(),
            remote: None,
            days_before: 5,
            margin_minutes: 30,
            pin_rule: None,
            backup_codes: 0,
        }
    }

    fn booking(confirmed: bool) -> BookingFacts {
        BookingFacts {
            id: "b1".into(),
            property_id: "p1".into(),
            guest_name: Some("Ana".into()),
            check_in: "2026-03-20".into(),
            check_out: "2026-03-22".into(),
            check_in_time: None,
            check_out_time: None,
            confirmed,
        }
    }

    fn planned(now: Instant) -> BookingRecord {
        let mut rec = BookingRecord::new(booking(true));
        assert!(replan(&mut rec, Some(&property()), Some(&assignment("L1")), now).unwrap());
        rec
    }

    fn confirm_on_lock(rec: &mut BookingRecord) {
        let placement = rec.target.as_ref().unwrap().placement.clone();
        rec.pin = Some("482913".into());
        rec.issued_on = Some(placement.lock_id.clone());
        rec.on_lock = Some(Code { pin: "482913".into(), placement, code_id: None });
    }

    #[test]
    fn r6_r10_plan_is_the_seed_example() {
        let rec = planned(MAR15_0000 - 86_400);
        let t = rec.target.as_ref().unwrap();
        assert_eq!(t.plan.create_at, MAR15_0000);
        assert_eq!(t.placement.start, MAR20_1430);
        assert_eq!(t.placement.end, MAR22_1130);
        assert_eq!(decide(&rec, MAR15_0000 - 60), Decision::Wait(Some(MAR15_0000)));
    }

    #[test]
    fn r6_creation_is_submitted_at_the_creation_instant() {
        let rec = planned(MAR15_0000 - 86_400);
        assert!(matches!(decide(&rec, MAR15_0000), Decision::Submit(Op::Create, _)));
    }

    #[test]
    fn r7_late_arrival_is_created_at_once() {
        let rec = planned(MAR15_0000 + 3 * 86_400);
        assert!(matches!(decide(&rec, MAR15_0000 + 3 * 86_400), Decision::Submit(Op::Create, _)));
    }

    /// A pending write's handle is stored under `job_id`, its name before
    /// 0.3.0: a record saved by an earlier version reads with its handle,
    /// and one saved now reads in an earlier version.
    #[test]
    fn r30_a_jobs_handle_is_stored_under_its_earlier_name() {
        let placement = planned(MAR15_0000).target.unwrap().placement;
        let job = Job {
            kind: Op::Update,
            code: Code { pin: "482913".into(), placement, code_id: None },
            handle: Some("j1".into()),
            submitted_at: MAR15_0000,
            done_by: MAR15_0000 + 30,
            held_until: None,
        };
        let stored = serde_json::to_value(&job).unwrap();
        assert_eq!(stored["job_id"], "j1");
        assert!(stored.get("handle").is_none(), "{stored}");
        let read: Job = serde_json::from_value(stored).unwrap();
        assert_eq!(read, job);
    }

    #[test]
    fn queued_job_is_polled_and_unknown_outcome_is_undone_first() {
        let mut rec = planned(MAR15_0000);
        let placement = rec.target.as_ref().unwrap().placement.clone();
        let code = Code { pin: "482913".into(), placement, code_id: None };
        rec.job = Some(Job {
            kind: Op::Create,
            code: code.clone(),
            handle: Some("j1".into()),
            submitted_at: MAR15_0000,
            done_by: MAR15_0000 + 30,
            held_until: None,
        });
        assert_eq!(decide(&rec, MAR15_0000 + 900), Decision::Poll("j1".into()));
        rec.job = Some(Job {
            kind: Op::Create,
            code: code.clone(),
            handle: None,
            submitted_at: MAR15_0000,
            done_by: MAR15_0000 + 30,
            held_until: None,
        });
        assert_eq!(decide(&rec, MAR15_0000 + 900), Decision::Submit(Op::Delete, code));
    }

    #[test]
    fn r16_code_is_deleted_after_the_window() {
        let mut rec = planned(MAR15_0000);
        confirm_on_lock(&mut rec);
        assert_eq!(decide(&rec, MAR20_1430), Decision::Wait(Some(MAR22_1130)));
        assert!(matches!(decide(&rec, MAR22_1130), Decision::Submit(Op::Delete, _)));
    }

    #[test]
    fn r15_cancelled_code_is_deleted_and_pending_creation_dropped() {
        let mut rec = planned(MAR15_0000);
        rec.facts.confirmed = false;
        replan(&mut rec, Some(&property()), Some(&assignment("L1")), MAR15_0000).unwrap();
        assert_eq!(decide(&rec, MAR15_0000 + 60), Decision::Wait(None));
        let mut rec = planned(MAR15_0000);
        confirm_on_lock(&mut rec);
        rec.facts.confirmed = false;
        replan(&mut rec, Some(&property()), Some(&assignment("L1")), MAR15_0000).unwrap();
        assert!(matches!(decide(&rec, MAR15_0000 + 60), Decision::Submit(Op::Delete, _)));
    }

    #[test]
    fn r17_guest_mid_stay_keeps_the_old_lock_code() {
        let mut rec = planned(MAR15_0000);
        confirm_on_lock(&mut rec);
        replan(&mut rec, Some(&property()), Some(&assignment("L2")), MAR20_1430 + 3600).unwrap();
        assert_eq!(decide(&rec, MAR20_1430 + 3600), Decision::Wait(Some(MAR22_1130)));
        // Before the window: deleted from the old lock, created on the new one on schedule.
        let mut rec = planned(MAR15_0000);
        confirm_on_lock(&mut rec);
        replan(&mut rec, Some(&property()), Some(&assignment("L2")), MAR15_0000 + 3600).unwrap();
        assert!(
            matches!(decide(&rec, MAR15_0000 + 3600), Decision::Submit(Op::Delete, c) if c.placement.lock_id == "L1")
        );
    }

    /// Mid-stay, the property's lock is removed: the code is kept (R17)
    /// and the booking waits for check-out, as the tick leaves it.
    fn kept_after_unassign(now: Instant) -> BookingRecord {
        let mut rec = planned(MAR15_0000);
        confirm_on_lock(&mut rec);
        assert!(replan(&mut rec, Some(&property()), None, now).unwrap());
        assert_eq!(decide(&rec, now), Decision::Wait(Some(MAR22_1130)));
        rec.next_due = Some(MAR22_1130);
        rec
    }

    #[test]
    fn r15_cancelled_mid_stay_after_unassign_is_due_at_once() {
        let mid = MAR20_1430 + 3600;
        let mut rec = kept_after_unassign(mid);
        rec.facts.confirmed = false;
        assert!(replan(&mut rec, Some(&property()), None, mid + 60).unwrap());
        assert_eq!(rec.next_due, Some(mid + 60));
        assert!(matches!(decide(&rec, mid + 60), Decision::Submit(Op::Delete, c) if c.placement.lock_id == "L1"));
        // A record stored before the stay was kept: the same.
        let mut rec = kept_after_unassign(mid);
        rec.stay = None;
        rec.facts.confirmed = false;
        assert!(replan(&mut rec, Some(&property()), None, mid + 60).unwrap());
        assert_eq!(rec.next_due, Some(mid + 60));
    }

    #[test]
    fn r16_r17_code_kept_after_unassign_goes_at_the_new_check_out() {
        let mid = MAR20_1430 + 3600;
        let mut rec = kept_after_unassign(mid);
        rec.facts.check_out = "2026-03-21".into();
        assert!(replan(&mut rec, Some(&property()), None, mid + 60).unwrap());
        assert_eq!(rec.next_due, Some(mid + 60));
        let new_end = MAR22_1130 - 86_400; // March 21 11:30 Paris
        assert_eq!(decide(&rec, mid + 60), Decision::Wait(Some(new_end)));
        assert!(matches!(decide(&rec, new_end), Decision::Submit(Op::Delete, _)));
        // Longer again: the kept code is not extended past its own window.
        rec.facts.check_out = "2026-03-25".into();
        assert!(replan(&mut rec, Some(&property()), None, mid + 120).unwrap());
        assert_eq!(decide(&rec, mid + 120), Decision::Wait(Some(MAR22_1130)));
        // Moved to start later: no longer mid-stay, so it goes at once (R17).
        rec.facts.check_in = "2026-03-21".into();
        assert!(replan(&mut rec, Some(&property()), None, mid + 180).unwrap());
        assert!(matches!(decide(&rec, mid + 180), Decision::Submit(Op::Delete, _)));
    }

    #[test]
    fn r11_retries_stop_at_midnight_of_check_in() {
        let mut rec = planned(MAR15_0000);
        rec.attempts_failed = 3;
        rec.alert_sent = true;
        rec.retry_at = Some(MAR20_0000 + 600);
        assert_eq!(decide(&rec, MAR20_0000 - 600), Decision::Wait(None));
        assert!(rec.gave_up(MAR20_0000));
    }

    #[test]
    fn r12_alert_at_six_on_the_eve_when_no_code() {
        let mut rec = planned(MAR15_0000);
        rec.attempts_failed = 5;
        rec.retry_at = Some(MAR19_1800 + 1800);
        assert_eq!(decide(&rec, MAR19_1800 - 60), Decision::Wait(Some(MAR19_1800)));
        assert_eq!(decide(&rec, MAR19_1800), Decision::Alert);
        rec.alert_sent = true;
        assert_eq!(decide(&rec, MAR19_1800), Decision::Wait(Some(MAR19_1800 + 1800)));
    }

    #[test]
    fn r13_last_minute_booking_alerts_only_after_a_failed_attempt() {
        let mut rec = planned(MAR19_1800 + 3600);
        assert!(matches!(decide(&rec, MAR19_1800 + 3600), Decision::Submit(Op::Create, _)));
        rec.attempts_failed = 1;
        rec.retry_at = Some(MAR19_1800 + 7200);
        assert_eq!(decide(&rec, MAR19_1800 + 3700), Decision::Alert);
    }

    #[test]
    fn r13_after_the_deadline_tries_until_the_window_starts() {
        let mut rec = planned(MAR20_0000 + 3600);
        assert!(matches!(decide(&rec, MAR20_0000 + 3600), Decision::Submit(Op::Create, _)));
        rec.attempts_failed = 1;
        rec.alert_sent = true;
        rec.retry_at = Some(MAR20_0000 + 7200);
        assert_eq!(decide(&rec, MAR20_0000 + 3700), Decision::Wait(Some(MAR20_0000 + 7200)));
        rec.retry_at = Some(MAR20_1430 + 60);
        assert_eq!(decide(&rec, MAR20_1430 - 60), Decision::Wait(None));
    }

    #[test]
    fn r14_moved_code_is_recreated_at_once_with_the_same_pin() {
        let mut rec = planned(MAR15_0000);
        confirm_on_lock(&mut rec);
        rec.facts.check_out = "2026-03-23".into();
        replan(&mut rec, Some(&property()), Some(&assignment("L1")), MAR15_0000 + 3600).unwrap();
        assert!(matches!(decide(&rec, MAR15_0000 + 3600), Decision::Submit(Op::Delete, _)));
        rec.on_lock = None; // delete confirmed
        match decide(&rec, MAR15_0000 + 3700) {
            Decision::Submit(Op::Create, code) => {
                assert_eq!(code.pin, "482913");
                assert_eq!(code.placement.end, MAR22_1130 + 86_400);
            }
            other => panic!("expected a create, got {other:?}"),
        }
    }

    /// A create on `brand` accepted under handle "ac-1" and not confirmed yet
    /// (not held either), then the booking changed by `change`.
    fn unconfirmed_then(brand: &str, change: impl FnOnce(&mut BookingFacts)) -> BookingRecord {
        let a = Assignment { provider: BrandId::parse(brand).unwrap(), ..assignment("L1") };
        let mut rec = BookingRecord::new(booking(true));
        replan(&mut rec, Some(&property()), Some(&a), MAR15_0000).unwrap();
        let placement = rec.target.as_ref().unwrap().placement.clone();
        rec.pin = Some("482913".into());
        rec.job = Some(Job {
            kind: Op::Create,
            code: Code { pin: "482913".into(), placement, code_id: None },
            handle: Some("ac-1".into()),
            submitted_at: MAR15_0000,
            done_by: MAR15_0000 + 60,
            held_until: None,
        });
        change(&mut rec.facts);
        replan(&mut rec, Some(&property()), Some(&a), MAR15_0000 + 600).unwrap();
        rec
    }

    #[test]
    fn r14_r15_an_unconfirmed_code_the_brand_names_is_moved_or_deleted_at_once() {
        // Seam: the handle is the code's id, amendable before Seam confirms it.
        let moved = unconfirmed_then("seam", |f| f.check_out = "2026-03-23".into());
        match decide(&moved, MAR15_0000 + 600) {
            Decision::Submit(Op::Update, c) => {
                assert_eq!((c.pin.as_str(), c.code_id.as_deref()), ("482913", Some("ac-1")), "same PIN, same code");
                assert_eq!(c.placement.end, MAR22_1130 + 86_400);
            }
            other => panic!("expected an update, got {other:?}"),
        }
        let cancelled = unconfirmed_then("seam", |f| f.confirmed = false);
        assert!(matches!(
            decide(&cancelled, MAR15_0000 + 600),
            Decision::Submit(Op::Delete, c) if c.code_id.as_deref() == Some("ac-1")
        ));
        // A brand whose handle is a job's: the job is looked at first.
        let job = unconfirmed_then("igloohome", |f| f.confirmed = false);
        assert_eq!(decide(&job, MAR15_0000 + 600), Decision::Poll("ac-1".into()));
    }

    /// A spare code of slot 1 on L1, confirmed there, valid 30 days from `from`.
    fn spare(from: Instant) -> BookingRecord {
        let mut rec = planned(MAR15_0000);
        rec.role = Role::Backup { property_id: "p1".into(), slot: 1, given_to: None };
        let t = rec.target.as_mut().unwrap();
        (t.placement.start, t.placement.end) = (from, from + 30 * 86_400);
        confirm_on_lock(&mut rec);
        rec
    }

    #[test]
    fn r25_a_slot_is_replanned_before_its_next_step_and_a_spare_wakes_to_move_forward() {
        let rec = spare(MAR15_0000);
        let roll = MAR15_0000 + 23 * 86_400;
        assert_eq!(rec.pool_roll_at(), Some(roll));
        assert_eq!(decide(&rec, roll - 1), Decision::Wait(Some(roll)));
        assert_eq!(decide(&rec, roll), Decision::Replan(PoolReplan::MoveForward));
        // Whatever else it waits for, it wakes then (not for guests).
        assert_eq!(rec.wake(None, MAR15_0000), Some(roll));
        assert_eq!(rec.wake(Some(roll + 5), MAR15_0000), Some(roll));
        assert_eq!(rec.wake(None, roll + 60), Some(roll + 61));
        assert_eq!(planned(MAR15_0000).wake(None, MAR15_0000), None);

        // Given to a guest: back to the pool once its code is gone, and not
        // before (its delete comes first).
        let mut given = spare(MAR15_0000);
        given.role = Role::Backup { property_id: "p1".into(), slot: 1, given_to: Some("b1".into()) };
        given.facts.confirmed = false;
        assert!(matches!(decide(&given, MAR15_0000 + 60), Decision::Submit(Op::Delete, _)));
        given.on_lock = None;
        assert_eq!(decide(&given, MAR15_0000 + 60), Decision::Replan(PoolReplan::BackFromGuest));
        assert_eq!(planned(MAR15_0000).pool_replan(MAR22_1130 + 86_400), None, "a guest's record is no slot");
    }

    #[test]
    fn a_save_is_skipped_only_for_the_very_bytes_storage_holds() {
        let held = Stored::of(br#"{"pin":"482913"}"#.to_vec());
        assert!(held.holds(br#"{"pin":"482913"}"#));
        assert!(!held.holds(br#"{"pin":"482914"}"#), "same length, other bytes");
        assert!(!held.holds(br#"{"pin":"48291"}"#));
        assert!(!Stored::default().holds(b""), "a record never loaded or saved is always written");
    }

    #[test]
    fn r25_r26_record_ids_are_apart_from_booking_ids_and_0_2_records_are_guests() {
        let door = door_record_id("b1", BrandId::parse("nuki").unwrap(), "L9");
        let slot = backup_record_id("p1", 2);
        for id in [&door, &slot] {
            assert!(crate::model::check_id("booking.id", id).is_err(), "{id:?} could be a booking's");
        }
        let mut rec = planned(MAR15_0000);
        assert_eq!(rec.record_id(), "b1");
        let json = serde_json::to_value(&rec).unwrap();
        assert!(json.get("role").is_none() && json.get("doors").is_none(), "a guest's record is stored as in 0.2");
        rec.role = Role::Door { provider: BrandId::parse("nuki").unwrap(), lock_id: "L9".into(), name: "Gate".into() };
        assert_eq!(rec.record_id(), door);
        let back: BookingRecord = serde_json::from_value(serde_json::to_value(&rec).unwrap()).unwrap();
        assert_eq!(back, rec);
    }
}

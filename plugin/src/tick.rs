//! `on-tick`: finds the bookings that are due through the time-ordered due
//! index and carries out their [`Decision`]s against each booking's vendor,
//! through the [`Vendor`] trait only.

use crate::alert;
use crate::brands::{
    self, BrandId, Capabilities, CodeSpec, Confirmation, Confirmed, Connection, Found, Op, Submitted, Vendor,
    VendorError,
};
use crate::cache::Cached;
use crate::error::{PluginError, Result};
use crate::health;
use crate::host::{Host, Level, Log, Storage};
use crate::lifecycle::{
    decide, BookingRecord, Code, Decision, Fallback, Job, JOB_LOST_SECS, POLL_SECS, POLL_SLACK_SECS, RETRY_SECS,
};
use crate::pin;
use crate::schedule::Instant;
use crate::store::{self, Store, DUE_PREFIX};

/// Bookings looked at per tick, and vendor requests made per tick: a tick
/// must finish well inside the host's call deadline; the rest waits for the
/// next tick (`more_due` tells the host it may call again at once).
pub const MAX_BOOKINGS_PER_TICK: u32 = 200;
pub const MAX_REQUESTS_PER_TICK: u32 = 120;
/// Decisions carried out per booking per tick (e.g. poll, then delete);
/// a backup pool's slot planned anew (R25) gets as many again.
const MAX_STEPS_PER_BOOKING: usize = 4;
/// A backup pool's slot is planned anew (moved forward, or back from its
/// guest, R25) at most this often per tick: before its steps and once they
/// made it due. Neither is due right after the other, so the bound only
/// keeps a turn finite.
const MAX_REPLANS_PER_BOOKING: usize = 2;
/// Due-index page: small, because an idle tick only needs to see that the
/// head of the index is in the future.
const DUE_PAGE: u32 = 16;
/// A busy channel (the channel's device doing another command) is tried again this soon.
const BUSY_RETRY_SECS: i64 = 60;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickSummary {
    pub processed: u32,
    pub vendor_requests: u32,
    pub more_due: bool,
}

/// One client per connected vendor, made when a booking first needs it.
struct Clients<'a, H: Host + ?Sized> {
    host: &'a H,
    connections: &'a [Connection],
    made: Vec<(BrandId, Box<dyn Vendor + 'a>)>,
}

impl<'a, H: Host + ?Sized> Clients<'a, H> {
    fn get(&mut self, provider: BrandId) -> Option<&mut (dyn Vendor + 'a)> {
        if !self.made.iter().any(|(p, _)| *p == provider) {
            let connection = self.connections.iter().find(|c| c.brand() == provider)?;
            self.made.push((provider, brands::client(self.host, connection)));
        }
        self.made.iter_mut().find(|(p, _)| *p == provider).map(|(_, c)| c.as_mut())
    }

    fn requests(&self) -> u32 {
        self.made.iter().map(|(_, c)| c.requests()).sum()
    }
}

pub fn on_tick<H: Host + ?Sized>(host: &H, now: Instant) -> Result<TickSummary> {
    // Each booking's step asks after its channel's writes in flight and its
    // lock's health, which many bookings share: read once per call.
    let host = &Cached::new(host, &[store::IN_FLIGHT_ROOT, health::KEY_ROOT]);
    let store = Store::new(host);
    let mut summary = TickSummary::default();
    let connections = store.connections()?;
    let mut clients = Clients { host, connections: &connections, made: Vec::new() };

    let mut after: Option<String> = None;
    'pages: loop {
        let page = host.list(DUE_PREFIX, after.as_deref(), DUE_PAGE)?;
        let full = page.len() as u32 == DUE_PAGE;
        for (key, _) in &page {
            let Some((at, booking_id)) = store::parse_due_key(key) else {
                host.log(Level::Warn, &format!("dropping malformed due-index key {key}"));
                store.delete(key)?;
                continue;
            };
            if at > now {
                break 'pages;
            }
            if summary.processed >= MAX_BOOKINGS_PER_TICK || clients.requests() >= MAX_REQUESTS_PER_TICK {
                summary.more_due = true;
                break 'pages;
            }
            summary.processed += 1;
            let Some(mut rec) = store.booking(&booking_id)? else {
                store.delete(key)?; // index entry outlived its record
                continue;
            };
            if rec.indexed.due != Some(at) {
                store.delete(key)?; // stale entry; the record has its own
                continue;
            }
            advance(host, &mut clients, &mut rec, now)?;
        }
        if !full {
            break;
        }
        after = page.last().map(|(k, _)| k.clone());
    }
    summary.vendor_requests = clients.requests();
    Ok(summary)
}

/// Carries out a booking's decisions until it has to wait.
fn advance<'a, H: Host + ?Sized>(
    host: &'a H,
    clients: &mut Clients<'a, H>,
    rec: &mut BookingRecord,
    now: Instant,
) -> Result<()> {
    let store = Store::new(host);
    // A step's outcome is saved with the next step's record or with the
    // wait that ends the booking's turn: one save per step. Steps that must
    // store something before a request or an e-mail (a submit, a fallback
    // code) save it themselves.
    let mut unsaved = false;
    let mut steps = 0;
    let mut replans = 0;
    // Once a step says to wait: when. The turn ends then, unless a backup
    // pool's slot is to be planned anew first (R25).
    let mut waiting: Option<Instant> = None;
    let wake = loop {
        let decision = decide(rec, now);
        if let Decision::Replan(why) = decision {
            if replans == MAX_REPLANS_PER_BOOKING {
                break Some(now + 1);
            }
            if unsaved {
                store.save_booking(rec, host.now(), Vec::new())?;
                unsaved = false;
            }
            // The new plan follows from what is stored (a crash before the
            // next save plans it again): it rides with that save. The slot
            // then gets a turn of its own.
            crate::pool::replan(host, rec, why, now)?;
            (replans, steps, waiting) = (replans + 1, 0, None);
            continue;
        }
        if waiting.is_some() {
            break waiting;
        }
        if steps == MAX_STEPS_PER_BOOKING {
            break Some(now + 1);
        }
        if let Decision::Wait(wake) = decision {
            break wake.map(|w| w.max(now + 1));
        }
        if unsaved {
            store.save_booking(rec, host.now(), Vec::new())?;
        }
        let provider = match &decision {
            Decision::Poll(_) | Decision::Resolve => rec.job.as_ref().map(|j| j.code.placement.provider),
            Decision::Recheck => rec.on_lock.as_ref().map(|c| c.placement.provider),
            Decision::Submit(_, code) => Some(code.placement.provider),
            // The alert's fallback code comes from the target lock's brand (R24).
            Decision::Alert => rec.target.as_ref().map(|t| t.placement.provider),
            Decision::FallbackNotice | Decision::Replan(_) | Decision::Wait(_) => None,
        };
        let client = match provider {
            Some(p) => match clients.get(p) {
                Some(client) => Some(client),
                // Not connected: nothing can be done until a connect
                // re-plans the booking.
                None => break None,
            },
            None => None,
        };
        let step = match (decision, client) {
            (Decision::Alert, client) => send_alert(host, client, rec, now)?,
            (Decision::FallbackNotice, _) => send_fallback_notice(host, rec, now)?,
            (Decision::Poll(handle), Some(client)) => poll(host, client, rec, &handle, now)?,
            (Decision::Resolve, Some(client)) => resolve(host, client, rec, now)?,
            (Decision::Recheck, Some(client)) => recheck(host, client, rec, now)?,
            (Decision::Submit(kind, code), Some(client)) => submit(host, client, rec, kind, code, now)?,
            // Unreachable: a wait and a replan are taken above, every vendor
            // step has a client.
            (Decision::Wait(_) | Decision::Replan(_), _) | (_, None) => Step::Wait(now + POLL_SECS),
        };
        unsaved = true;
        steps += 1;
        if let Step::Wait(at) = step {
            // A pending write's next look never passes the eve's alert (R12).
            waiting = Some(rec.alert_wake(now).map_or(at, |alert| at.min(alert)));
        }
    };
    rec.next_due = rec.wake(wake, now);
    store.save_booking(rec, host.now(), Vec::new())?;
    Ok(())
}

/// After a step: go on with the booking now, or wait until then.
enum Step {
    Next,
    Wait(Instant),
}

/// The one alert e-mail (R12, R13); the host's dedup key makes it one ever.
/// In the same step the guest gets a fallback code where the brand has one
/// (R24), saved before the e-mail that names it.
fn send_alert<'v, H: Host + ?Sized>(
    host: &H,
    client: Option<&mut (dyn Vendor + 'v)>,
    rec: &mut BookingRecord,
    now: Instant,
) -> Result<Step> {
    // The guest's fallback is for the own lock's code only: a shared door's
    // alert (R26) names the door and gives nothing instead.
    if rec.fallback.is_none() && rec.role.is_guest() {
        if let Some(client) = client {
            issue_fallback(host, client, rec, now)?;
        }
        if rec.fallback.is_none() {
            // R25: no offline code; a spare code of the lock's pool, if any.
            crate::pool::give(host, rec, now)?;
        }
    }
    let mail = alert::compose(rec);
    let key = format!("alert/{}", rec.printable_id());
    match host.send_to_owner(&key, &mail.subject, &mail.body) {
        Ok(()) => {
            rec.alert_sent = true;
            host.log(Level::Warn, &format!("alert sent for booking {}", rec.facts.id));
            Ok(Step::Next)
        }
        Err(e) => {
            // The host could not take it: try again soon.
            host.log(Level::Error, &format!("alert for booking {} not sent: {e}", rec.facts.id));
            Ok(Step::Wait(now + POLL_SECS))
        }
    }
}

/// R24: an offline code for the booking's window, where the brand has one.
/// A brand that fails to give one leaves the alert as R12 has it.
fn issue_fallback<H: Host + ?Sized>(
    host: &H,
    client: &mut dyn Vendor,
    rec: &mut BookingRecord,
    now: Instant,
) -> Result<()> {
    let Some(t) = rec.target.clone() else { return Ok(()) };
    let caps = client.capabilities();
    let name = access_name(rec, caps);
    let code = Code { pin: String::new(), placement: t.placement.clone(), code_id: None };
    match client.offline_code(&spec(rec, &code, &name)) {
        Ok(Some(offline)) => {
            host.log(Level::Warn, &format!("booking {} gets an offline code instead (R24)", rec.facts.id));
            rec.fallback = Some(Fallback {
                kind: "offline".into(),
                pin: offline.pin,
                provider: t.placement.provider,
                lock_id: t.placement.lock_id.clone(),
                start: offline.start,
                end: offline.end,
                code_id: offline.code_id,
                revocable: offline.revocable,
                first_use_within_secs: offline.first_use_within_secs,
                issued_at: now,
                stay_end: t.placement.end,
                property_name: t.property_name.clone(),
                notice_sent: false,
                backup: None,
            });
            Store::new(host).save_booking(rec, host.now(), Vec::new())?;
        }
        Ok(None) => {}
        Err(e) => host.log(Level::Warn, &format!("booking {}: no offline code: {e}", rec.facts.id)),
    }
    Ok(())
}

/// R24: the one e-mail saying a fallback code outlives a cancelled or
/// shortened stay, and until when.
fn send_fallback_notice<H: Host + ?Sized>(host: &H, rec: &mut BookingRecord, now: Instant) -> Result<Step> {
    let Some(mail) = alert::fallback_notice(rec) else { return Ok(Step::Next) };
    let key = format!("fallback-notice/{}", rec.facts.id);
    match host.send_to_owner(&key, &mail.subject, &mail.body) {
        Ok(()) => {
            if let Some(fb) = rec.fallback.as_mut() {
                fb.notice_sent = true;
            }
            Ok(Step::Next)
        }
        Err(e) => {
            host.log(Level::Error, &format!("fallback notice for booking {} not sent: {e}", rec.facts.id));
            Ok(Step::Wait(now + POLL_SECS))
        }
    }
}

/// The code as the vendor is asked to hold it.
fn spec<'c>(rec: &BookingRecord, code: &'c Code, name: &'c str) -> CodeSpec<'c> {
    let timezone = rec.target.as_ref().map_or(chrono_tz::UTC, |t| t.timezone.tz());
    CodeSpec {
        lock_id: &code.placement.lock_id,
        channel: &code.placement.channel,
        pin: &code.pin,
        name,
        start: code.placement.start,
        end: code.placement.end,
        timezone,
        code_id: code.code_id.as_deref(),
    }
}

/// A write that did not happen: no longer pending, tried again an hour
/// after it was sent.
fn write_failed<H: Host + ?Sized>(
    host: &H,
    rec: &mut BookingRecord,
    job: &Job,
    reason: &str,
    plain: String,
    now: Instant,
) -> Result<Step> {
    host.log(Level::Warn, &format!("write of booking {} failed: {reason}", rec.facts.id));
    rec.job = None;
    fail(rec, now, plain, job.submitted_at + RETRY_SECS);
    Ok(Step::Next)
}

/// Looks at a pending write.
fn poll<H: Host + ?Sized>(
    host: &H,
    client: &mut dyn Vendor,
    rec: &mut BookingRecord,
    handle: &str,
    now: Instant,
) -> Result<Step> {
    let Some(job) = rec.job.clone() else { return Ok(Step::Next) };
    let caps = client.capabilities();
    let name = access_name(rec, caps);
    match client.confirm(job.kind, &spec(rec, &job.code, &name), handle) {
        Ok(Confirmed::Pending) if now - job.expected_since() >= JOB_LOST_SECS => {
            host.log(Level::Warn, &format!("write of booking {} pending too long; redoing it", rec.facts.id));
            if now >= job.code.placement.end {
                // The stay is over: nothing left to wait for (a write landing
                // now would hold a window that has ended).
                rec.job = None;
                rec.last_error = Some("the lock never took the code".into());
                rec.next_due = None;
            } else {
                // An attempt that failed: resolved (and redone) at the hourly pace.
                fail(rec, now, "the lock did not take the code within 30 minutes".into(), now + RETRY_SECS);
                rec.job = Some(Job { handle: None, ..job });
            }
            Ok(Step::Next)
        }
        // Not done when it should have been: the channel is slow or offline.
        // Look again once the write has either run or been dropped unstarted,
        // then at the normal pace.
        Ok(Confirmed::Pending) => {
            let settled = job.submitted_at + caps.queue_expiry_secs + POLL_SLACK_SECS;
            Ok(Step::Wait(if settled > now { settled.max(now + caps.write_secs.max(1)) } else { now + POLL_SECS }))
        }
        // The brand holds it until then: no slot taken, not lost, looked at then.
        Ok(Confirmed::Deferred(at)) => {
            rec.job = Some(Job { held_until: Some(at), ..job });
            Ok(Step::Wait(at.max(now + 1)))
        }
        Ok(Confirmed::Done(code_id)) => {
            settle(host, rec, job, code_id)?;
            Ok(Step::Next)
        }
        Ok(Confirmed::Provisional(code_id, recheck_at)) => {
            rec.recheck_at = Some(recheck_at);
            settle(host, rec, job, code_id)?;
            Ok(Step::Next)
        }
        Ok(Confirmed::Unreachable(reason)) => {
            // Only a link reported down makes the lock unreachable (R28).
            let p = &job.code.placement;
            health::unreachable(host, p.provider, &p.lock_id, p.start, &reason, now)?;
            let plain = format!(
                "{}: check that {}; it is tried again every hour",
                crate::brands::plain(&reason),
                caps.link_check
            );
            write_failed(host, rec, &job, &reason, plain, now)
        }
        Ok(Confirmed::Failed(reason)) => {
            let plain = format!("{}; it is tried again every hour", crate::brands::plain(&reason));
            write_failed(host, rec, &job, &reason, plain, now)
        }
        Ok(Confirmed::PinTaken(reason)) => {
            rec.job = None;
            pin_taken(host, rec, &job, reason, now)?;
            Ok(Step::Next)
        }
        Err(e) => {
            // Could not look: keep the job, look again later.
            rec.last_error = Some(e.to_string());
            Ok(Step::Wait(now + POLL_SECS))
        }
    }
}

/// A write whose outcome is unknown, resolved from the lock's listing.
fn resolve<H: Host + ?Sized>(host: &H, client: &mut dyn Vendor, rec: &mut BookingRecord, now: Instant) -> Result<Step> {
    let Some(job) = rec.job.clone() else { return Ok(Step::Next) };
    let name = access_name(rec, client.capabilities());
    let found = match client.find(&spec(rec, &job.code, &name)) {
        Ok(found) => found,
        Err(e) => {
            rec.last_error = Some(e.to_string());
            return Ok(Step::Wait(now + POLL_SECS));
        }
    };
    host.log(Level::Info, &format!("booking {}: {:?} of unknown outcome resolved: {found:?}", rec.facts.id, job.kind));
    match (job.kind, found) {
        // It happened.
        (Op::Create | Op::Update, Found::OnLock(id)) => settle(host, rec, job, Some(id))?,
        (Op::Delete, Found::Absent) => settle(host, rec, job, None)?,
        // It is under way: confirm it like any pending write.
        (_, Found::Pending(id)) => {
            // Still timed from its first sending: a write that stays pending
            // is lost again at once, so it is looked at hourly, not every minute.
            rec.job = Some(Job { handle: Some(id), ..job });
        }
        // The code is there with another window: it is on the lock as listed
        // (the next decision moves it).
        (Op::Create, Found::OtherWindow(id)) => {
            rec.job = None;
            rec.issued_on = Some(job.code.placement.lock_id.clone());
            rec.on_lock = Some(Code { code_id: Some(id), ..job.code });
        }
        // It did not happen: the record's own state decides what to send
        // again (same PIN). A moved code that vanished is created anew.
        (Op::Update, Found::Absent) => {
            rec.job = None;
            rec.on_lock = None;
        }
        (_, Found::Absent | Found::OnLock(_) | Found::OtherWindow(_)) => {
            rec.job = None;
        }
    }
    Ok(Step::Next)
}

/// R29: a code the brand confirmed ahead of the lock is looked at again once
/// its window started; if it did not reach the lock after all, it is treated
/// as never created: the alert (and fallback) are due at once.
fn recheck<H: Host + ?Sized>(host: &H, client: &mut dyn Vendor, rec: &mut BookingRecord, now: Instant) -> Result<Step> {
    let Some(code) = rec.on_lock.clone() else {
        rec.recheck_at = None;
        return Ok(Step::Next);
    };
    let caps = client.capabilities();
    let name = access_name(rec, caps);
    let handle = code.code_id.clone().unwrap_or_default();
    match client.confirm(Op::Create, &spec(rec, &code, &name), &handle) {
        Ok(Confirmed::Done(_)) => rec.recheck_at = None,
        Ok(Confirmed::Provisional(_, at)) => rec.recheck_at = Some(at.max(now + POLL_SECS)),
        Ok(Confirmed::Pending | Confirmed::Deferred(_)) => rec.recheck_at = Some(now + POLL_SECS),
        Ok(Confirmed::Failed(reason) | Confirmed::Unreachable(reason) | Confirmed::PinTaken(reason)) => {
            host.log(Level::Warn, &format!("code of booking {} did not reach the lock: {reason}", rec.facts.id));
            rec.on_lock = None;
            rec.recheck_at = None;
            rec.attempts_failed += 1;
            rec.last_error = Some(format!("{}: the lock never took the code", crate::brands::plain(&reason)));
        }
        Err(e) => {
            rec.last_error = Some(e.for_manager(caps));
            return Ok(Step::Wait(now + POLL_SECS));
        }
    }
    Ok(Step::Next)
}

/// A write reached the lock: the record says so (and the lock is reachable, R28).
fn settle<H: Host + ?Sized>(host: &H, rec: &mut BookingRecord, job: Job, code_id: Option<String>) -> Result<()> {
    let lock = job.code.placement.lock_id.clone();
    health::reachable(host, job.code.placement.provider, &lock, host.now())?;
    match job.kind {
        Op::Create | Op::Update => {
            host.log(Level::Info, &format!("PIN of booking {} confirmed on lock {lock}", rec.facts.id));
            rec.issued_on = Some(lock);
            rec.pin = Some(job.code.pin.clone());
            let code_id = code_id.or(job.code.code_id.clone());
            rec.on_lock = Some(Code { code_id, ..job.code });
        }
        Op::Delete => {
            host.log(Level::Info, &format!("PIN of booking {} deleted from lock {lock}", rec.facts.id));
            rec.recheck_at = None;
            if rec.on_lock.as_ref().is_some_and(|c| c.placement.lock_id == lock) {
                rec.on_lock = None;
            }
        }
    }
    rec.job = None;
    rec.attempts_failed = 0;
    rec.retry_at = None;
    rec.last_error = None;
    Ok(())
}

/// The vendor says the PIN is already on the lock. Where the guest never had
/// it (a code set outside the plugin holds it, R8), another PIN is drawn at
/// once; a PIN the guest already has is kept and retried hourly.
fn pin_taken<H: Host + ?Sized>(
    host: &H,
    rec: &mut BookingRecord,
    job: &Job,
    reason: String,
    now: Instant,
) -> Result<()> {
    let lock = job.code.placement.lock_id.as_str();
    if job.kind == Op::Create && rec.issued_on.as_deref() != Some(lock) {
        host.log(Level::Info, &format!("PIN taken on lock {lock}; booking {} gets another", rec.facts.id));
        // Not taken again from the booking's other locks (R26).
        rec.refused_pin = Some(job.code.pin.clone());
        rec.pin = None;
        rec.last_error = Some(reason);
        rec.retry_at = None;
        rec.next_due = Some(now + 1);
    } else {
        fail(rec, now, reason, now + RETRY_SECS);
    }
    Ok(())
}

/// Sends a write: the record (with the job, its PIN reservation and the
/// channel's in-flight entry) is saved *before* the request leaves.
fn submit<H: Host + ?Sized>(
    host: &H,
    client: &mut dyn Vendor,
    rec: &mut BookingRecord,
    kind: Op,
    mut code: Code,
    now: Instant,
) -> Result<Step> {
    let store = Store::new(host);
    let caps = client.capabilities();
    let channel = code.placement.channel.clone();
    let ahead: Vec<(String, Instant)> = store
        .in_flight(&channel, caps.channel_capacity + 1)?
        .into_iter()
        .filter(|(record, _)| *record != rec.record_id())
        .collect();
    if ahead.len() as u32 >= caps.channel_capacity {
        // The channel is full: come back just after its next write is done
        // and looked at (that look frees the slot).
        let next_free = ahead.iter().map(|(_, done_by)| *done_by).min().unwrap_or(now);
        return Ok(Step::Wait((next_free + POLL_SLACK_SECS + 1).clamp(now + 1, now + POLL_SECS)));
    }
    // The brand's budget of writes on the channel: one more is counted in
    // the batch that stores the job, or the write waits for the oldest
    // counted one to leave the window.
    let mut counted = Vec::new();
    if let Some(budget) = caps.write_budget {
        let mut sent = store.sent(&channel)?;
        sent.retain(|&at| at > now - budget.window_secs && at <= now);
        if sent.len() as u32 >= budget.writes {
            let oldest = sent.iter().copied().min().unwrap_or(now);
            return Ok(Step::Wait((oldest + budget.window_secs).max(now + 1)));
        }
        sent.push(now);
        counted.push(store::set(&store::sent_key(&channel), &sent)?);
    }
    if kind == Op::Create {
        code.pin = choose_pin(host, rec, &code.placement.lock_id, caps)?;
        rec.pin = Some(code.pin.clone());
    }
    // The channel carries out one write at a time: this one should be done
    // one write after the last one ahead of it. It is looked at then, not
    // before (a look at a pending write is a wasted request).
    let starts = ahead.iter().map(|(_, done_by)| *done_by).max().unwrap_or(now).max(now);
    let done_by = starts + caps.write_secs;
    rec.job = Some(Job { kind, code: code.clone(), handle: None, submitted_at: now, done_by, held_until: None });
    rec.next_due = Some(done_by + POLL_SLACK_SECS);
    store.save_booking(rec, host.now(), counted)?;

    let name = access_name(rec, caps);
    let spec = spec(rec, &code, &name);
    let result = match kind {
        Op::Create => client.create(&spec),
        Op::Update => client.update(&spec),
        Op::Delete => client.delete(&spec),
    };
    let job = Job { kind, code: code.clone(), handle: None, submitted_at: now, done_by, held_until: None };
    match result {
        Ok(Submitted::Pending(handle)) => {
            rec.job = Some(Job { handle: Some(handle), ..job });
            if caps.confirmation == Confirmation::Synchronous {
                rec.next_due = Some(now + 1);
            }
        }
        Ok(Submitted::Done(code_id)) => {
            settle(host, rec, job, code_id)?;
            return Ok(Step::Next);
        }
        Err(VendorError::PinTaken(reason)) => {
            rec.job = None;
            pin_taken(host, rec, &job, reason, now)?;
            return Ok(Step::Wait(rec.next_due.unwrap_or(now + 1)));
        }
        Err(e) => {
            host.log(Level::Warn, &format!("booking {}: {kind:?} not sent: {e}", rec.facts.id));
            if let VendorError::Offline(reason) = &e {
                let p = &code.placement;
                health::unreachable(host, p.provider, &p.lock_id, p.start, reason, now)?;
            }
            if !e.outcome_unknown() {
                rec.job = None;
            }
            match &e {
                // Nothing happened and the channel will be free soon: not an attempt that failed.
                VendorError::Busy(_) => {
                    rec.last_error = Some(e.for_manager(caps));
                    rec.retry_at = Some(now + BUSY_RETRY_SECS);
                    rec.next_due = rec.retry_at;
                }
                VendorError::RateLimited { retry_after_secs: Some(s), .. } => {
                    fail(rec, now, e.for_manager(caps), now + (*s).clamp(30, RETRY_SECS))
                }
                _ => fail(rec, now, e.for_manager(caps), now + RETRY_SECS),
            }
        }
    }
    // A brand that refuses at once (a link offline, a 5xx)
    // may have just failed the immediate attempt of a last-minute booking:
    // its alert is due now (R13), not at the next hourly retry.
    if rec.job.is_none() && rec.alert_due(now) {
        return Ok(Step::Next);
    }
    Ok(Step::Wait(rec.next_due.unwrap_or(now + POLL_SECS)))
}

/// Records a failed attempt and when to try again.
fn fail(rec: &mut BookingRecord, now: Instant, reason: String, retry_at: Instant) {
    rec.attempts_failed += 1;
    rec.last_error = Some(reason);
    rec.retry_at = Some(retry_at.max(now + 1));
    rec.next_due = rec.retry_at;
}

/// The booking's PIN if it is free on this lock and the vendor takes it,
/// else a fresh one (R8, R17). A booking with other locks (R26) takes the
/// PIN one of them already has where this lock takes it and it is free
/// here, and otherwise draws one that every lock of the booking takes and
/// that is free on all of them.
fn choose_pin<H: Host + ?Sized>(host: &H, rec: &BookingRecord, lock: &str, caps: &Capabilities) -> Result<String> {
    let store = Store::new(host);
    let target = rec.target.as_ref().filter(|t| t.placement.lock_id == lock);
    let rule = target.and_then(|t| t.pin_rule.clone()).unwrap_or_else(|| (caps.pin_rule)());
    let me = rec.record_id();
    let mine = |holder: Option<String>| holder.is_none_or(|h| h == me);
    if let Some(pin) = &rec.pin {
        if rule.accepts(pin) && mine(store.pin_holder(lock, pin)?) {
            return Ok(pin.clone());
        }
    }
    let siblings = target.map_or(&[][..], |t| t.siblings.as_slice());
    if !siblings.is_empty() {
        // The PIN another lock of the booking already has or is being given.
        for s in siblings {
            let Some(sibling) = store.booking(&s.record)? else { continue };
            let Some(pin) = sibling.pin.or(sibling.job.map(|j| j.code.pin)).filter(|p| !p.is_empty()) else {
                continue;
            };
            if rec.refused_pin.as_deref() != Some(pin.as_str())
                && rule.accepts(&pin)
                && mine(store.pin_holder(lock, &pin)?)
            {
                return Ok(pin);
            }
        }
        // The first to choose: one PIN for every lock of the booking.
        let all = pin::PinRule::all_of(std::iter::once(&rule).chain(siblings.iter().map(|s| &s.pin_rule)));
        if let Some(all) = all {
            let drawn = pin::generate(&all, |candidate| {
                if !mine(store.pin_holder(lock, candidate)?) {
                    return Ok(true);
                }
                for s in siblings {
                    if store.pin_holder(&s.lock_id, candidate)?.is_some_and(|h| h != s.record) {
                        return Ok(true);
                    }
                }
                Ok::<_, crate::host::StorageError>(false)
            });
            if let Ok(pin) = drawn {
                return Ok(pin);
            }
        }
    }
    pin::generate(&rule, |candidate| store.pin_holder(lock, candidate).map(|h| !mine(h)))
        .map_err(|e| PluginError::VendorUnavailable(e.to_string()))
}

/// The name the lock shows for the PIN: guest and booking, within the
/// vendor's length limit.
fn access_name(rec: &BookingRecord, caps: &Capabilities) -> String {
    let name = match &rec.role {
        // A spare code of the pool (R25); once given, the guest's name.
        crate::lifecycle::Role::Backup { slot, given_to: None, .. } => format!("Backup code {slot}"),
        _ => format!("{} ({})", rec.facts.guest(), rec.facts.id),
    };
    name.chars().take(caps.max_name_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brands::LockInfo;
    use crate::lifecycle::Placement;
    use crate::memory_host::{MemoryHost, NoNetwork};
    use crate::model::BookingFacts;

    const NOW: Instant = 1_773_662_400;

    /// A vendor whose every write comes back with `outcome`.
    struct Answers(Confirmed, BrandId);

    impl Vendor for Answers {
        fn capabilities(&self) -> &'static Capabilities {
            self.1.capabilities()
        }
        fn requests(&self) -> u32 {
            0
        }
        fn verify(&mut self) -> Result<Option<String>, VendorError> {
            Ok(None)
        }
        fn locks(&mut self) -> Result<Vec<LockInfo>, VendorError> {
            Ok(Vec::new())
        }
        fn create(&mut self, _: &CodeSpec) -> Result<Submitted, VendorError> {
            Ok(Submitted::Pending("h".into()))
        }
        fn update(&mut self, c: &CodeSpec) -> Result<Submitted, VendorError> {
            self.create(c)
        }
        fn delete(&mut self, c: &CodeSpec) -> Result<Submitted, VendorError> {
            self.create(c)
        }
        fn confirm(&mut self, _: Op, _: &CodeSpec, _: &str) -> Result<Confirmed, VendorError> {
            Ok(self.0.clone())
        }
        fn find(&mut self, _: &CodeSpec) -> Result<Found, VendorError> {
            Ok(Found::Absent)
        }
    }

    /// Booking b1 (no write yet) and its code "482913" on L1 of `brand`
    /// (channel B1), for a stay from tomorrow.
    fn b1_on(brand: BrandId) -> (BookingRecord, Code) {
        let facts = BookingFacts {
            id: "b1".into(),
            property_id: "p1".into(),
            guest_name: None,
            check_in: "2026-03-17".into(),
            check_out: "2026-03-19".into(),
            check_in_time: None,
            check_out_time: None,
            confirmed: true,
        };
        let placement = Placement {
            provider: brand,
            lock_id: "L1".into(),
            channel: "B1".into(),
            start: NOW + 86_400,
            end: NOW + 3 * 86_400,
        };
        (BookingRecord::new(facts), Code { pin: "482913".into(), placement, code_id: None })
    }

    /// Polls a write due tomorrow whose vendor answers `outcome`: whether
    /// the lock is then unreachable (R28), and the record.
    fn poll_once(outcome: Confirmed) -> (bool, BookingRecord) {
        let host = MemoryHost::new(NoNetwork, NOW);
        let brand = crate::brands::legacy_brand();
        let (mut rec, code) = b1_on(brand);
        rec.job = Some(Job {
            kind: Op::Create,
            code,
            handle: Some("h".into()),
            submitted_at: NOW - 60,
            done_by: NOW - 30,
            held_until: None,
        });
        let mut vendor = Answers(outcome, brand);
        poll(&host, &mut vendor, &mut rec, "h", NOW).expect("poll");
        let down = health::of(&host, brand, "L1").expect("health").unreachable_since.is_some();
        (down, rec)
    }

    /// A brand with a write budget (Seam: 10 a minute per device) sends no
    /// write beyond it, even with its channel free: the write waits until
    /// the oldest counted one leaves the window, and is counted once sent.
    #[test]
    fn rate_limit_a_write_beyond_the_brands_budget_waits_for_the_window() {
        let brand = BrandId::parse("seam").expect("seam");
        let budget = brand.capabilities().write_budget.expect("Seam has a write budget");
        let host = MemoryHost::new(NoNetwork, NOW);
        let store = Store::new(&host);
        let full: Vec<Instant> = (0..i64::from(budget.writes)).map(|k| NOW - 30 + k).collect();
        store.put(&store::sent_key("B1"), &full).expect("put");
        let (mut rec, code) = b1_on(brand);
        let mut vendor = Answers(Confirmed::Pending, brand);
        let step = submit(&host, &mut vendor, &mut rec, Op::Create, code.clone(), NOW).expect("submit");
        assert!(matches!(step, Step::Wait(at) if at == NOW - 30 + budget.window_secs), "waits for the oldest");
        assert_eq!(rec.job, None, "nothing sent");

        // A minute after the oldest: sent, and counted with its job.
        let later = NOW - 30 + budget.window_secs;
        let step = submit(&host, &mut vendor, &mut rec, Op::Create, code, later).expect("submit");
        assert!(matches!(step, Step::Wait(_)));
        assert_eq!(rec.job.as_ref().and_then(|j| j.handle.as_deref()), Some("h"), "sent");
        let sent = store.sent("B1").expect("sent");
        assert_eq!(sent.len() as u32, budget.writes, "{sent:?}");
        assert_eq!((sent[0], sent.last().copied()), (NOW - 29, Some(later)), "the oldest left, this one counted");
    }

    #[test]
    fn r28_only_a_write_failed_for_a_link_down_marks_the_lock_unreachable() {
        let (down, rec) = poll_once(Confirmed::Failed("the lock has no free PIN slot".into()));
        assert!(!down, "a refused write says nothing of the link");
        assert_eq!((rec.job, rec.attempts_failed), (None, 1), "still a failed attempt, retried hourly");
        assert!(rec.last_error.as_deref().is_some_and(|e| !e.contains("check that")), "{:?}", rec.last_error);
        let (down, rec) = poll_once(Confirmed::Unreachable("the bridge is offline".into()));
        assert!(down);
        assert_eq!((rec.job, rec.attempts_failed), (None, 1));
    }
}

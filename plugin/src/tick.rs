//! `on-tick`: finds the bookings that are due through the time-ordered due
//! index and carries out their [`Decision`]s against the vendor.

use crate::alert;
use crate::error::{PluginError, Result};
use crate::host::{Host, Level};
use crate::igloohome::{Client, Credentials, JobState, VendorError};
use crate::lifecycle::{
    decide, BookingRecord, Code, Decision, Job, JobKind, BRIDGE_JOB_SECS, JOB_EXPIRY_SECS, JOB_LOST_SECS,
    MAX_IN_FLIGHT_PER_BRIDGE, POLL_SECS, POLL_SLACK_SECS, RETRY_SECS,
};
use crate::pin;
use crate::schedule::{self, Instant};
use crate::store::{self, Connection, Store, DUE_PREFIX};

/// Bookings looked at per tick, and vendor requests made per tick: a tick
/// must finish well inside the host's call deadline; the rest waits for the
/// next tick (`more_due` tells the host it may call again at once).
pub const MAX_BOOKINGS_PER_TICK: u32 = 200;
pub const MAX_REQUESTS_PER_TICK: u32 = 120;
/// Decisions carried out per booking per tick (e.g. poll, then delete).
const MAX_STEPS_PER_BOOKING: usize = 4;
/// Due-index page: small, because an idle tick only needs to see that the
/// head of the index is in the future.
const DUE_PAGE: u32 = 16;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickSummary {
    pub processed: u32,
    pub vendor_requests: u32,
    pub more_due: bool,
}

pub fn on_tick<H: Host + ?Sized>(host: &H, now: Instant) -> Result<TickSummary> {
    let store = Store::new(host);
    let mut summary = TickSummary::default();
    let connection: Option<Connection> = store.connection()?;
    let mut client = connection
        .as_ref()
        .map(|c| Client::new(host, Credentials { client_id: &c.client_id, client_secret: &c.client_secret }));

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
            if summary.processed >= MAX_BOOKINGS_PER_TICK
                || client.as_ref().is_some_and(|c| c.requests >= MAX_REQUESTS_PER_TICK)
            {
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
            match client.as_mut() {
                Some(client) => advance(host, client, &mut rec, now)?,
                None => {
                    // Not connected: nothing can be done until a connect
                    // re-plans the booking.
                    rec.next_due = None;
                    store.save_booking(&mut rec, Vec::new())?;
                }
            }
        }
        if !full {
            break;
        }
        after = page.last().map(|(k, _)| k.clone());
    }
    summary.vendor_requests = client.map_or(0, |c| c.requests);
    Ok(summary)
}

/// Carries out a booking's decisions until it has to wait.
fn advance<H: Host + ?Sized>(
    host: &H,
    client: &mut Client<'_, H>,
    rec: &mut BookingRecord,
    now: Instant,
) -> Result<()> {
    let store = Store::new(host);
    for _ in 0..MAX_STEPS_PER_BOOKING {
        match decide(rec, now) {
            Decision::Wait(wake) => {
                rec.next_due = wake.map(|w| w.max(now + 1));
                store.save_booking(rec, Vec::new())?;
                return Ok(());
            }
            Decision::Alert => {
                let mail = alert::compose(rec);
                let key = format!("alert/{}", rec.facts.id);
                match host.send_to_owner(&key, &mail.subject, &mail.body) {
                    Ok(()) => {
                        rec.alert_sent = true;
                        host.log(Level::Warn, &format!("alert sent for booking {}", rec.facts.id));
                        store.save_booking(rec, Vec::new())?;
                    }
                    Err(e) => {
                        // The host could not take it: try again next tick.
                        host.log(Level::Error, &format!("alert for booking {} not sent: {e}", rec.facts.id));
                        rec.next_due = Some(now + POLL_SECS);
                        store.save_booking(rec, Vec::new())?;
                        return Ok(());
                    }
                }
            }
            Decision::Poll(job_id) => {
                if let Some(look_again) = poll(host, client, rec, &job_id, now)? {
                    rec.next_due = Some(look_again);
                    store.save_booking(rec, Vec::new())?;
                    return Ok(());
                }
            }
            Decision::Submit(kind, code) => {
                submit(host, client, rec, kind, code, now)?;
                return Ok(());
            }
        }
    }
    rec.next_due = Some(now + POLL_SECS);
    store.save_booking(rec, Vec::new())?;
    Ok(())
}

/// Looks at a queued job. Returns `None` when it settled (the record changed
/// and the booking may take its next step now), else when to look again.
fn poll<H: Host + ?Sized>(
    host: &H,
    client: &mut Client<'_, H>,
    rec: &mut BookingRecord,
    job_id: &str,
    now: Instant,
) -> Result<Option<Instant>> {
    let store = Store::new(host);
    let Some(job) = rec.job.clone() else { return Ok(None) };
    match client.job_status(job_id) {
        Ok(JobState::Pending) if now - job.submitted_at >= JOB_LOST_SECS => {
            host.log(Level::Warn, &format!("job {job_id} of booking {} pending too long; redoing it", rec.facts.id));
            fail(rec, now, "the bridge did not carry out the job within 30 minutes".into(), now + POLL_SECS);
            rec.job = Some(Job { job_id: None, ..job }); // outcome unknown: undo, then redo
            store.save_booking(rec, Vec::new())?;
            Ok(None)
        }
        // Not done when it should have been: the bridge is slow or offline.
        // Look again once the job has either run or expired unstarted, then
        // at the normal pace.
        Ok(JobState::Pending) => {
            let settled = job.submitted_at + JOB_EXPIRY_SECS + POLL_SLACK_SECS;
            Ok(Some(if settled > now { settled.max(now + BRIDGE_JOB_SECS) } else { now + POLL_SECS }))
        }
        Ok(JobState::Done) => {
            match job.kind {
                JobKind::Create => {
                    host.log(
                        Level::Info,
                        &format!("PIN of booking {} confirmed on lock {}", rec.facts.id, job.code.placement.lock_id),
                    );
                    rec.issued_on = Some(job.code.placement.lock_id.clone());
                    rec.pin = Some(job.code.pin.clone());
                    rec.on_lock = Some(job.code);
                }
                JobKind::Delete => {
                    host.log(
                        Level::Info,
                        &format!("PIN of booking {} deleted from lock {}", rec.facts.id, job.code.placement.lock_id),
                    );
                    if rec.on_lock.as_ref().is_some_and(|c| c.placement.lock_id == job.code.placement.lock_id) {
                        rec.on_lock = None;
                    }
                }
            }
            rec.job = None;
            rec.attempts_failed = 0;
            rec.retry_at = None;
            rec.last_error = None;
            store.save_booking(rec, Vec::new())?;
            Ok(None)
        }
        Ok(JobState::Failed(reason)) => {
            host.log(Level::Warn, &format!("job {job_id} of booking {} failed: {reason}", rec.facts.id));
            rec.job = None;
            let lock = job.code.placement.lock_id.as_str();
            if job.kind == JobKind::Create && is_pin_taken(&reason) && rec.issued_on.as_deref() != Some(lock) {
                // A code set on the lock outside the plugin holds this PIN
                // (R8). The guest never had it: draw another, try at once.
                host.log(Level::Info, &format!("PIN taken on lock {lock}; booking {} gets another", rec.facts.id));
                rec.pin = None;
                fail(rec, now, reason, now + POLL_SECS);
            } else {
                fail(rec, now, reason, job.submitted_at + RETRY_SECS);
            }
            store.save_booking(rec, Vec::new())?;
            Ok(None)
        }
        Err(e) => {
            // Could not look: keep the job, look again later.
            rec.last_error = Some(e.to_string());
            Ok(Some(now + POLL_SECS))
        }
    }
}

/// Queues a job: the record (with the job, its PIN reservation and the
/// bridge's in-flight entry) is saved *before* the request leaves.
fn submit<H: Host + ?Sized>(
    host: &H,
    client: &mut Client<'_, H>,
    rec: &mut BookingRecord,
    kind: JobKind,
    mut code: Code,
    now: Instant,
) -> Result<()> {
    let store = Store::new(host);
    let bridge = code.placement.bridge_id.clone();
    let ahead: Vec<(String, Instant)> = store
        .in_flight(&bridge, MAX_IN_FLIGHT_PER_BRIDGE + 1)?
        .into_iter()
        .filter(|(booking, _)| *booking != rec.facts.id)
        .collect();
    if ahead.len() as u32 >= MAX_IN_FLIGHT_PER_BRIDGE {
        // The bridge is full: come back just after its next job is done
        // and looked at (that look frees the slot).
        let next_free = ahead.iter().map(|(_, done_by)| *done_by).min().unwrap_or(now);
        rec.next_due = Some((next_free + POLL_SLACK_SECS + 1).clamp(now + 1, now + POLL_SECS));
        store.save_booking(rec, Vec::new())?;
        return Ok(());
    }
    if kind == JobKind::Create {
        code.pin = choose_pin(host, rec, &code.placement.lock_id)?;
        rec.pin = Some(code.pin.clone());
    }
    // The bridge works its queue one job at a time: this one should be done
    // one job after the last one queued ahead of it. It is looked at then,
    // not before (a look at a pending job is a wasted request).
    let starts = ahead.iter().map(|(_, done_by)| *done_by).max().unwrap_or(now).max(now);
    let done_by = starts + BRIDGE_JOB_SECS;
    rec.job = Some(Job { kind, code: code.clone(), job_id: None, submitted_at: now, done_by });
    rec.next_due = Some(done_by + POLL_SLACK_SECS);
    store.save_booking(rec, Vec::new())?;

    let result = match kind {
        JobKind::Create => {
            let tz = rec
                .target
                .as_ref()
                .and_then(|t| schedule::parse_timezone("timezone", &t.timezone).ok())
                .unwrap_or(chrono_tz::UTC);
            // igloohome refuses a start before the current hour: a code
            // created late (or moved mid-stay) starts now, to the minute
            // (not the UTC hour, which is before the local hour in
            // half-hour zones such as Asia/Kolkata).
            let start = code.placement.start.max(now - now.rem_euclid(60));
            client.create_pin(
                &code.placement.lock_id,
                &bridge,
                &code.pin,
                &access_name(rec),
                &schedule::format_local(tz, start),
                &schedule::format_local(tz, code.placement.end),
            )
        }
        JobKind::Delete => client.delete_pin(&code.placement.lock_id, &bridge, &code.pin),
    };
    match result {
        Ok(job_id) => {
            if let Some(job) = rec.job.as_mut() {
                job.job_id = Some(job_id);
            }
        }
        Err(e) => {
            host.log(Level::Warn, &format!("booking {}: {kind:?} job not queued: {e}", rec.facts.id));
            let retry = match &e {
                VendorError::RateLimited { retry_after_secs: Some(s) } => now + (*s).clamp(30, RETRY_SECS),
                _ => now + RETRY_SECS,
            };
            if !e.outcome_unknown() {
                rec.job = None;
            }
            fail(rec, now, e.to_string(), retry);
        }
    }
    store.save_booking(rec, Vec::new())?;
    Ok(())
}

/// Whether a failed create job says the PIN is already on the lock.
fn is_pin_taken(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    reason.contains("pin") && (reason.contains("already exists") || reason.contains("duplicate"))
}

/// Records a failed attempt and when to try again.
fn fail(rec: &mut BookingRecord, now: Instant, reason: String, retry_at: Instant) {
    rec.attempts_failed += 1;
    rec.last_error = Some(reason);
    rec.retry_at = Some(retry_at.max(now + 1));
    rec.next_due = rec.retry_at;
}

/// The booking's PIN if it is free on this lock, else a fresh one (R8, R17).
fn choose_pin<H: Host + ?Sized>(host: &H, rec: &BookingRecord, lock: &str) -> Result<String> {
    let store = Store::new(host);
    let mine = |holder: Option<String>| holder.is_none_or(|h| h == rec.facts.id);
    if let Some(pin) = &rec.pin {
        if mine(store.pin_holder(lock, pin)?) {
            return Ok(pin.clone());
        }
    }
    pin::generate(|candidate| store.pin_holder(lock, candidate).map(|h| !mine(h)))
        .map_err(|e| PluginError::VendorUnavailable(e.to_string()))
}

/// The name the lock shows for the PIN: guest and booking, within the
/// vendor's length limits.
fn access_name(rec: &BookingRecord) -> String {
    let name = format!("{} ({})", rec.facts.guest(), rec.facts.id);
    name.chars().take(60).collect()
}

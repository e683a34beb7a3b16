//! Code events (R27, R28) for the PMS: what changed, when, for which
//! booking, property, brand and lock — never a PIN or a secret.
//!
//! An event is born in the same storage batch as the state change it
//! describes (the store's `save_booking` derives booking events by
//! comparing the record's state with what it last reported), queued under
//! `evq/`, and handed to the host's `code-events` import by [`flush`] at the
//! end of the export that queued it and of every tick (which also delivers
//! what an earlier call left queued), at most [`MAX_FLUSH_PER_CALL`] a call
//! ([`crate::wake::end_call`], [`crate::wake::end_tick`]); an event leaves
//! the queue only once the host took it. So a crash loses none (at least
//! once), a repeat carries the same id, and one booking's events keep their
//! order (their keys sort by sequence).

use crate::host::{Host, Level, StorageError, Write};
use crate::lifecycle::{BookingRecord, Role};
use crate::schedule::{self, Instant};
use crate::status::{CodeEvent, CodeState, EventKind, Reported};

pub const OUTBOX_PREFIX: &str = "evq/";
/// Events handed to the host per page of the queue.
const FLUSH_PAGE: u32 = 64;
/// Events handed to the host in one export call at most. A backlog (a host
/// that refused events for a while) goes out over the next ticks, each far
/// inside the call's time limit, where handing it over in one call could
/// spend that limit and trap the call, again and again.
pub const MAX_FLUSH_PER_CALL: u32 = 16 * FLUSH_PAGE;

fn outbox_key(scope: &str, seq: u64) -> String {
    format!("{OUTBOX_PREFIX}{}/{seq:010}", crate::keys::esc(scope))
}

/// The write that queues `event` as the `seq`-th of `scope` (a booking, a lock).
pub fn queue(scope: &str, seq: u64, event: &CodeEvent) -> Result<Write, StorageError> {
    crate::keys::set(&outbox_key(scope, seq), event)
}

/// The events the record's change since its last report makes, and the
/// queue writes for them; `rec.reported` moves on. Nothing when nothing a
/// PMS would see changed.
pub fn booking_events(rec: &mut BookingRecord, now: Instant) -> Vec<Write> {
    if matches!(rec.role, Role::Backup { .. }) {
        // A backup pool's code is nobody's code (R25): giving it to a
        // booking is that booking's fallback event.
        return Vec::new();
    }
    let state = rec.code_state(now);
    let code = rec.on_lock.as_ref().or(rec.job.as_ref().map(|j| &j.code));
    let placement = code.map(|c| &c.placement).or(rec.target.as_ref().map(|t| &t.placement));
    let now_seen = Reported {
        state: Some(state),
        lock: placement.map(|p| p.lock_id.clone()),
        window: placement.map(|p| (p.start, p.end)),
        attempts: rec.attempts_failed,
        alert_sent: rec.alert_sent,
        fallback: rec.fallback.is_some(),
        seq: rec.reported.seq,
    };
    let before = std::mem::replace(&mut rec.reported, now_seen.clone());
    let moved_place = before.lock != now_seen.lock || before.window != now_seen.window;
    let tz = rec.zone();
    let local = |t: Instant| schedule::format_local(tz, t);
    let error = || rec.last_error.clone().unwrap_or_else(|| "the lock's vendor did not confirm the code".into());

    let mut kinds: Vec<(EventKind, String)> = Vec::new();
    let changed_state = before.state != Some(state);
    match state {
        CodeState::Scheduled if changed_state || moved_place => {
            let at = rec.target.as_ref().map(|t| local(t.plan.create_at)).unwrap_or_default();
            kinds.push((EventKind::Scheduled, format!("the door code will be created on {at}")));
        }
        CodeState::Creating if changed_state => {
            kinds.push((EventKind::Writing, "the door code is being written to the lock".into()))
        }
        CodeState::Moving if changed_state => {
            kinds.push((EventKind::Writing, "the door code is being moved to the booking's new dates or lock".into()))
        }
        CodeState::OnLock if changed_state || moved_place => {
            let (start, end) = now_seen.window.unwrap_or_default();
            let window = format!("valid from {} to {}", local(start), local(end));
            let was_there = matches!(before.state, Some(CodeState::OnLock | CodeState::Moving));
            if was_there {
                kinds.push((EventKind::Moved, format!("the door code was moved, same PIN, {window}")));
            } else {
                kinds.push((EventKind::OnLock, format!("the door code is on the lock, {window}")));
            }
        }
        CodeState::Retrying if changed_state || now_seen.attempts > before.attempts => {
            let next = rec.next_due.map(|t| format!("; next try {}", local(t))).unwrap_or_default();
            kinds.push((EventKind::Retrying, format!("{}{next}", error())));
        }
        CodeState::Failed if changed_state => kinds.push((
            EventKind::Failed,
            format!("the door code could not be created before the retry deadline: {}", error()),
        )),
        CodeState::Removed if changed_state && before.state.is_some() => {
            kinds.push((EventKind::Deleted, "the door code was removed from the lock".into()))
        }
        _ => {}
    }
    if let Some(fb) = rec.fallback.as_ref().filter(|_| !before.fallback) {
        let rule = crate::alert::guest_rule(fb).map(|r| format!("; the guest must {r}")).unwrap_or_default();
        kinds.push((
            EventKind::Fallback,
            format!(
                "the guest got {} instead, valid from {} to {}{rule}",
                crate::alert::fallback_what(fb),
                local(fb.start),
                local(fb.end)
            ),
        ));
    }
    if rec.alert_sent && !before.alert_sent {
        kinds.push((EventKind::AlertSent, "the account owner was e-mailed: the code is not on the lock yet".into()));
    }

    let mut writes = Vec::new();
    let scope = rec.record_id();
    let printable = rec.printable_id();
    for (kind, detail) in kinds {
        let seq = rec.reported.seq;
        rec.reported.seq += 1;
        let event = CodeEvent {
            id: format!("{printable}:{seq}"),
            at: now,
            kind,
            booking_id: Some(rec.facts.id.clone()),
            property_id: Some(rec.facts.property_id.clone()),
            brand: placement.map(|p| p.provider.id().to_string()),
            lock_id: placement.map(|p| p.lock_id.clone()),
            door: rec.role.door_name().map(str::to_string),
            at_risk: None,
            detail,
        };
        if let Ok(w) = queue(&scope, seq, &event) {
            writes.push(w);
        }
    }
    writes
}

/// Hands queued events to the host, oldest first per scope, and drops
/// those it took: all of them, or [`MAX_FLUSH_PER_CALL`]. A host that
/// refuses one keeps it (and the rest) queued for the next export.
///
/// True when the bound stopped it with events still queued: the caller
/// asks for a tick right away (the events are due now).
pub fn flush<H: Host + ?Sized>(host: &H) -> Result<bool, StorageError> {
    let mut handed = 0;
    loop {
        let page = host.list(OUTBOX_PREFIX, None, FLUSH_PAGE)?;
        let full = page.len() as u32 == FLUSH_PAGE;
        let mut done = Vec::new();
        for (key, bytes) in page {
            match serde_json::from_slice::<CodeEvent>(&bytes) {
                Ok(event) => {
                    if let Err(e) = host.report(&event) {
                        host.log(Level::Warn, &format!("the host did not take event {}: {e}", event.id));
                        drop_taken(host, done)?;
                        return Ok(false);
                    }
                }
                Err(e) => host.log(Level::Warn, &format!("dropping unreadable queued event {key}: {e}")),
            }
            done.push(Write::Delete(key));
            handed += 1;
        }
        drop_taken(host, done)?;
        if !full {
            return Ok(false);
        }
        if handed >= MAX_FLUSH_PER_CALL {
            // More may be queued: a full page was the last one read.
            return Ok(!host.list(OUTBOX_PREFIX, None, 1)?.is_empty());
        }
    }
}

/// Deletes the events the host took; no storage call when there are none.
fn drop_taken<H: Host + ?Sized>(host: &H, done: Vec<Write>) -> Result<(), StorageError> {
    if done.is_empty() {
        return Ok(());
    }
    host.apply(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Storage;
    use crate::memory_host::{MemoryHost, NoNetwork};
    use crate::status::EventKind;

    fn event(n: u64) -> CodeEvent {
        CodeEvent {
            id: format!("b1:{n}"),
            at: 1_000 + n as i64,
            kind: EventKind::Scheduled,
            booking_id: Some("b1".into()),
            property_id: Some("p1".into()),
            brand: None,
            lock_id: None,
            door: None,
            at_risk: None,
            detail: String::new(),
        }
    }

    fn queue_events(host: &MemoryHost<NoNetwork>, n: u64) {
        let writes = (0..n).map(|i| queue("b1", i, &event(i)).expect("queued")).collect();
        host.apply(writes).expect("stored");
    }

    fn queued(host: &MemoryHost<NoNetwork>) -> usize {
        host.list(OUTBOX_PREFIX, None, u32::MAX).expect("listed").len()
    }

    #[test]
    fn a_backlog_goes_out_a_bounded_part_per_call_in_order() {
        let host = MemoryHost::new(NoNetwork, 0);
        let n = u64::from(MAX_FLUSH_PER_CALL) + 100;
        queue_events(&host, n);
        assert!(flush(&host).expect("flushed"), "events are left for a tick right away");
        assert_eq!(host.events.borrow().len(), MAX_FLUSH_PER_CALL as usize);
        assert_eq!(queued(&host), 100);
        assert!(!flush(&host).expect("flushed"), "the rest fits in one call");
        assert_eq!(queued(&host), 0);
        let ids: Vec<String> = host.events.borrow().iter().map(|e| e.id.clone()).collect();
        let expected: Vec<String> = (0..n).map(|i| format!("b1:{i}")).collect();
        assert_eq!(ids, expected, "each once, in order");
    }

    #[test]
    fn exactly_the_bound_leaves_nothing_and_asks_for_no_tick() {
        let host = MemoryHost::new(NoNetwork, 0);
        queue_events(&host, u64::from(MAX_FLUSH_PER_CALL));
        assert!(!flush(&host).expect("flushed"));
        assert_eq!(queued(&host), 0);
    }

    #[test]
    fn a_refusal_keeps_the_rest_queued_and_asks_for_no_tick_at_once() {
        let host = MemoryHost::new(NoNetwork, 0);
        host.event_capacity.set(70);
        queue_events(&host, 200);
        assert!(!flush(&host).expect("flushed"), "a refusing host is not asked again at once");
        assert_eq!(host.events.borrow().len(), 70);
        assert_eq!(queued(&host), 130, "what was taken left the queue, the rest stayed");
    }
}

//! Wake-ups (R21): after an export that may have changed the schedule, the
//! host is told the earliest instant in the due index, so work due now runs
//! within seconds instead of at the host's next regular tick. Also how an
//! export ends: the code events it queued handed over (R27), then the
//! wake-up, in [`end_call`] and [`end_tick`], for the component and any
//! native host alike.

use crate::host::{Host, Level};
use crate::schedule::Instant;
use crate::store::{parse_due_key, DUE_PREFIX};

/// The head of the due index: one range read of at most one key.
pub fn next_due<H: Host + ?Sized>(host: &H) -> Option<Instant> {
    let head = host.list(DUE_PREFIX, None, 1).ok()?;
    head.first().and_then(|(key, _)| parse_due_key(key)).map(|(at, _)| at)
}

/// Tells the host when to tick next. `more_due_at`: work is already due at
/// that instant (a tick that stopped at its budget), which wins over the index.
pub fn report<H: Host + ?Sized>(host: &H, more_due_at: Option<Instant>) {
    let at = match (more_due_at, next_due(host)) {
        (Some(now), Some(next)) => Some(now.min(next)),
        (now, next) => now.or(next),
    };
    host.wake_at(at);
}

/// The end of an export other than a tick: the code events it queued
/// (`queued_events`) are handed over, and when it changed the due index the
/// host is told the next wake-up. A call that did neither makes no storage
/// call here: the host's last wake-up still stands. Events left queued at
/// the hand-over's bound are due now: a tick right away takes the rest.
pub fn end_call<H: Host + ?Sized>(host: &H, queued_events: bool, due_changed: bool) {
    if queued_events && hand_over_events(host) {
        host.wake_at(Some(host.now()));
    } else if due_changed {
        report(host, None);
    }
}

/// The end of a tick: every queued event is handed over, whether or not the
/// tick queued any (the backstop for what an earlier call left: a host that
/// refused one, a trap between the write and the hand-over), and the
/// wake-up is reported, changed or not (it restores the host's entry after
/// a host restart and replaces one in the past). True when work is due now:
/// the tick stopped at its budget (`more_due`) or events are left queued;
/// then the wake-up is `now`, which needs no look at the index.
pub fn end_tick<H: Host + ?Sized>(host: &H, now: Instant, more_due: bool) -> bool {
    let more_due = hand_over_events(host) || more_due;
    if more_due {
        host.wake_at(Some(now));
    } else {
        report(host, None);
    }
    more_due
}

/// [`notify::flush`](crate::notify::flush); a storage failure leaves the
/// events queued for a later export (at the latest the next tick).
fn hand_over_events<H: Host + ?Sized>(host: &H) -> bool {
    crate::notify::flush(host).unwrap_or_else(|e| {
        host.log(Level::Warn, &format!("code events stay queued: {e}"));
        false
    })
}

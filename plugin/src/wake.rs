//! Wake-ups (R21): after an export that may have changed the schedule, the
//! host is told the earliest instant in the due index, so work due now runs
//! within seconds instead of at the host's next regular tick.

use crate::host::Host;
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

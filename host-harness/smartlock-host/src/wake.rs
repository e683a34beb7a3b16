//! The bookkeeping of wake-ups (R21): the earliest instant each tenant's
//! plugin asked to be ticked at, and which tenants are due at an instant.
//!
//! The plugin reports its next due instant through the `scheduler` import at
//! the end of every export that may change it; the [`Runtime`] records it
//! here. A host loop asks [`WakeUps::earliest`] how long it may sleep and
//! [`WakeUps::due`] whom to tick, and keeps its regular 1-15 minute tick as
//! the backstop.
//!
//! [`Runtime`]: crate::Runtime

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

/// Every tenant's next wake-up, ordered by instant. Shared by all handles of
/// one [`crate::Runtime`] ([`Runtime::wake_ups`](crate::Runtime::wake_ups)).
///
/// Instants are seconds since the Unix epoch, in the tenants' clock. It
/// lives in memory only: after a restart it is empty until each tenant's
/// next call (its first regular tick restores it). An entry stays until
/// the plugin replaces it; a tick that traps leaves it in the past, so a
/// host loop should not retick a failing tenant without a pause.
#[derive(Debug, Default)]
pub struct WakeUps {
    inner: Mutex<Schedule>,
}

#[derive(Debug, Default)]
struct Schedule {
    by_tenant: HashMap<String, i64>,
    by_time: BTreeSet<(i64, String)>,
}

impl WakeUps {
    /// No wake-ups. A [`crate::Runtime`] makes its own; this is for tests.
    pub fn new() -> Self {
        Self::default()
    }

    fn schedule(&self) -> std::sync::MutexGuard<'_, Schedule> {
        // Two maps updated together under the lock: never half-written.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the plugin's latest answer for `tenant` (replacing any
    /// earlier one); `None` clears it. The `scheduler` import calls this;
    /// a host need not.
    pub fn set(&self, tenant: &str, at: Option<i64>) {
        let mut s = self.schedule();
        if let Some(old) = s.by_tenant.remove(tenant) {
            s.by_time.remove(&(old, tenant.to_string()));
        }
        if let Some(at) = at {
            s.by_tenant.insert(tenant.to_string(), at);
            s.by_time.insert((at, tenant.to_string()));
        }
    }

    /// The tenant's next wake-up, if it asked for one.
    pub fn next(&self, tenant: &str) -> Option<i64> {
        self.schedule().by_tenant.get(tenant).copied()
    }

    /// The earliest wake-up of any tenant and whose it is: a host loop may
    /// sleep until then (or until its regular tick, if sooner). `None`: no
    /// tenant asked for one.
    pub fn earliest(&self) -> Option<(i64, String)> {
        self.schedule().by_time.first().cloned()
    }

    /// Ids of the tenants whose wake-up is at or before `now`, earliest
    /// first: tick each with [`TenantHandle::on_tick`](crate::TenantHandle::on_tick).
    /// Their entries are not removed; the tick replaces them.
    pub fn due(&self, now: i64) -> Vec<String> {
        self.schedule().by_time.iter().take_while(|(at, _)| *at <= now).map(|(_, t)| t.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_answer_replaces_the_earlier_and_due_is_in_time_order() {
        let w = WakeUps::new();
        w.set("a", Some(100));
        w.set("b", Some(50));
        w.set("c", Some(500));
        w.set("a", Some(40));
        assert_eq!(w.next("a"), Some(40));
        assert_eq!(w.earliest(), Some((40, "a".to_string())));
        assert_eq!(w.due(100), vec!["a".to_string(), "b".to_string()]);
        w.set("a", None);
        assert_eq!(w.next("a"), None);
        assert_eq!(w.due(1000), vec!["b".to_string(), "c".to_string()]);
    }
}

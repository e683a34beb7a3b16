//! The tick loop's doorbell: API calls ring it for their tenant, the loop
//! waits on it. Its own module so the host (which rings) and the scheduler
//! (which waits) do not depend on each other.

use std::collections::HashSet;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

/// Wakes the tick loop: which tenants had an API call since it last looked.
#[derive(Default)]
pub struct Poke {
    state: Mutex<PokeState>,
    changed: Condvar,
}

#[derive(Default)]
struct PokeState {
    tenants: HashSet<String>,
    stop: bool,
}

impl Poke {
    /// A call for `tenant` may have made work due: look now.
    pub fn poke(&self, tenant: &str) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).tenants.insert(tenant.to_string());
        self.changed.notify_all();
    }

    /// Ends the loop.
    pub fn stop(&self) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).stop = true;
        self.changed.notify_all();
    }

    /// Waits up to `timeout` for a poke; the tenants poked, `None` once stopped.
    pub(super) fn wait(&self, timeout: Duration) -> Option<HashSet<String>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.tenants.is_empty() && !state.stop {
            state = self.changed.wait_timeout(state, timeout).unwrap_or_else(PoisonError::into_inner).0;
        }
        if state.stop {
            return None;
        }
        Some(std::mem::take(&mut state.tenants))
    }
}

//! The simulated clock and the shared handle every stub keeps its state
//! behind: a vendor's state says how to play time forward
//! ([`Simulation::advance`]); the handle keeps the clock from moving back
//! and lets all clones of a stub share one world.

use std::sync::{Arc, Mutex, MutexGuard};

/// A vendor stub's mutable state on the simulated clock.
pub(crate) trait Simulation: Send + 'static {
    /// The vendor, in log messages.
    const VENDOR: &'static str;

    /// The simulated clock (unix seconds UTC).
    fn now(&self) -> i64;

    /// Plays everything due up to and including `now`, then sets the clock
    /// to it. Never called with `now` before the clock.
    fn advance(&mut self, now: i64);
}

/// A stub's state behind a mutex: cheap to clone, all clones share it.
pub(crate) struct Shared<S>(Arc<Mutex<S>>);

impl<S> Clone for Shared<S> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<S: Simulation> Shared<S> {
    pub fn new(state: S) -> Shared<S> {
        Shared(Arc::new(Mutex::new(state)))
    }

    /// Every state change completes before the lock is released and nothing
    /// in the stubs panics on request data, so a poisoned mutex (a panic in a
    /// caller's thread, e.g. a failing test) leaves a consistent state: keep
    /// serving it rather than cascading the panic.
    pub fn lock(&self) -> MutexGuard<'_, S> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn now(&self) -> i64 {
        self.lock().now()
    }

    /// Moves the clock forward to `now`; a backward move is ignored with a
    /// warning.
    pub fn set_time(&self, now: i64) {
        let mut state = self.lock();
        let current = state.now();
        if now < current {
            tracing::warn!(current, requested = now, "{} stub: clock cannot move backwards; ignored", S::VENDOR);
            return;
        }
        state.advance(now);
    }
}

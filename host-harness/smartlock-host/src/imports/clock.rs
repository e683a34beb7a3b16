//! The `clock` import: the plugin's only clock.
//!
//! A tenant runs on a [`SystemClock`] in production and on a [`SimClock`] in
//! tests and replays, so the plugin lives in whatever time the host chooses.

use std::sync::atomic::{AtomicI64, Ordering};

use crate::bindings::generated::pms::smartlock::clock;
use crate::SmartlockCtx;

/// A source of the current instant, in whole seconds since the Unix epoch.
pub trait Clock: Send + Sync {
    /// The current instant (seconds since 1970-01-01T00:00:00Z).
    fn now(&self) -> i64;
}

/// The host's real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(since) => since.as_secs() as i64,
            Err(before) => -(before.duration().as_secs_f64().ceil() as i64),
        }
    }
}

/// A simulated clock that moves only when told to.
#[derive(Debug, Default)]
pub struct SimClock(AtomicI64);

impl SimClock {
    /// A clock standing at `now`.
    pub fn new(now: i64) -> Self {
        SimClock(AtomicI64::new(now))
    }

    /// Puts the clock at `now` (it may go backwards).
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }

    /// Moves the clock forward by `seconds` and returns the new instant.
    pub fn advance(&self, seconds: i64) -> i64 {
        self.0.fetch_add(seconds, Ordering::SeqCst) + seconds
    }
}

impl Clock for SimClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl clock::Host for SmartlockCtx {
    fn now(&mut self) -> wasmtime::Result<i64> {
        Ok(self.tenant.clock.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_clock_moves_only_when_told() {
        let clock = SimClock::new(1_000);
        assert_eq!(clock.now(), 1_000);
        assert_eq!(clock.advance(60), 1_060);
        assert_eq!(clock.now(), 1_060);
        clock.set(5);
        assert_eq!(clock.now(), 5);
    }
}

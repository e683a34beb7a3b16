//! The service's clock: the wall clock, or in a demo a simulated clock that
//! runs `speed` times faster than the wall clock from a starting instant.

use std::time::{Duration, Instant};

use crate::imports::{Clock, SystemClock};

/// The clock every tenant of the service lives in (the plugin's only clock).
#[derive(Debug)]
pub struct ServiceClock {
    /// Simulated seconds per wall second; 1 on the wall clock.
    speed: u32,
    /// `None`: the wall clock. `Some`: simulated from this instant at `wall_start`.
    simulated: Option<(i64, Instant)>,
}

impl ServiceClock {
    /// The host's real wall clock.
    pub fn wall() -> ServiceClock {
        ServiceClock { speed: 1, simulated: None }
    }

    /// A simulated clock reading `start` now and running `speed` times as
    /// fast as the wall clock (at least 1).
    pub fn simulated(start: i64, speed: u32) -> ServiceClock {
        ServiceClock { speed: speed.max(1), simulated: Some((start, Instant::now())) }
    }

    /// A simulated clock that follows another one (a stub process's) read
    /// just now as `now` (with its fraction of a second), running `speed`
    /// times as fast as the wall clock.
    pub fn following(now: f64, speed: u32) -> ServiceClock {
        let speed = speed.max(1);
        let whole = now.floor();
        let back = Duration::from_secs_f64(((now - whole) / f64::from(speed)).clamp(0.0, 1.0));
        let wall = Instant::now().checked_sub(back).unwrap_or_else(Instant::now);
        ServiceClock { speed, simulated: Some((whole as i64, wall)) }
    }

    /// Simulated seconds per wall second.
    pub fn speed(&self) -> u32 {
        self.speed
    }

    /// The current instant (whole seconds since the epoch).
    pub fn now_secs(&self) -> i64 {
        Clock::now(self)
    }

    /// Whether this is a simulated clock (a demo) rather than the wall clock.
    pub fn is_simulated(&self) -> bool {
        self.simulated.is_some()
    }

    /// The current instant with its fraction of a second.
    fn now_f64(&self) -> f64 {
        match self.simulated {
            Some((start, wall)) => start as f64 + wall.elapsed().as_secs_f64() * f64::from(self.speed),
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or_default(),
        }
    }

    /// How long to sleep on the wall clock until this clock reads `at`
    /// (zero when it already does).
    pub fn wall_until(&self, at: i64) -> Duration {
        let left = (at as f64 - self.now_f64()) / f64::from(self.speed);
        if left.is_finite() && left > 0.0 {
            Duration::from_secs_f64(left.min(1e9))
        } else {
            Duration::ZERO
        }
    }
}

impl Clock for ServiceClock {
    fn now(&self) -> i64 {
        match self.simulated {
            Some(_) => self.now_f64().floor() as i64,
            None => SystemClock.now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_simulated_clock_runs_speed_times_faster() {
        let clock = ServiceClock::simulated(1_000, 600);
        assert!(clock.now() >= 1_000 && clock.now() < 1_000 + 600);
        std::thread::sleep(Duration::from_millis(20));
        assert!(clock.now() >= 1_012, "20 ms at 600x is 12 s");
        let wait = clock.wall_until(clock.now() + 600);
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(900), "{wait:?}");
        assert_eq!(clock.wall_until(0), Duration::ZERO);
    }

    #[test]
    fn the_wall_clock_is_the_system_clock() {
        let clock = ServiceClock::wall();
        assert!((clock.now() - SystemClock.now()).abs() <= 1);
        assert!(!clock.is_simulated());
        assert_eq!(clock.speed(), 1);
    }
}

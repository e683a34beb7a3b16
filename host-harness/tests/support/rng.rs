//! Reproducible randomness for the tests that kill processes or race
//! requests: a seed from an environment variable (printed by the test, so a
//! failure can be replayed) and a small xorshift generator.

use std::time::Duration;

/// A small xorshift generator: random enough for kill times and request
/// mixes, the same sequence for the same seed.
pub struct Rng(pub u64);

impl Rng {
    /// A number in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }

    /// A duration from zero to `d`, by milliseconds.
    pub fn millis_below(&mut self, d: Duration) -> Duration {
        Duration::from_millis(self.below(d.as_millis() as u64 + 1))
    }
}

/// The seed in `var` (decimal or 0x-hex), else one from the clock; never 0
/// (xorshift would stay at 0).
pub fn seed_from_env(var: &str) -> u64 {
    match std::env::var(var) {
        Ok(s) => {
            let s = s.trim();
            let parsed = match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{var}={s:?} is not a number")) | 1
        }
        Err(_) => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1,
    }
}

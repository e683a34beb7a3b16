//! Offline codes at the lock (R24): codes a vendor's cloud computes from key
//! data it shares with the lock, which the lock then checks on its own clock
//! with no bridge or gateway involved. What the lock remembers of such a
//! code is its uses: some codes must be typed once within an activation
//! period or are refused for good, some open only once. Which rule a code
//! follows is each vendor's knowledge; its stub module sets it here.

/// One offline code's rule at the lock, and its uses so far. Instants are
/// unix seconds by the lock's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OfflineUse {
    /// First instant it opens.
    pub start: i64,
    /// First instant it no longer opens.
    pub end: i64,
    /// It must be typed a first time before this instant, else the lock
    /// refuses it for the rest of its window (`None`: no such rule).
    pub activate_by: Option<i64>,
    /// It opens once only.
    pub single_use: bool,
    /// When it first opened the lock.
    pub first_use: Option<i64>,
}

impl OfflineUse {
    /// A code valid in `[start, end)`, subject to `activate_by`.
    pub fn new(start: i64, end: i64, activate_by: Option<i64>) -> OfflineUse {
        OfflineUse { start, end, activate_by, single_use: false, first_use: None }
    }

    /// A code that opens once, in `[start, end)`.
    pub fn once(start: i64, end: i64) -> OfflineUse {
        OfflineUse { single_use: true, ..OfflineUse::new(start, end, None) }
    }

    /// Whether the lock would accept it typed at `at`, given the uses so far.
    pub fn would_accept(&self, at: i64) -> bool {
        if at < self.start || at >= self.end {
            return false;
        }
        if self.single_use {
            return self.first_use.is_none();
        }
        match self.activate_by {
            None => true,
            Some(deadline) => at < deadline || self.first_use.is_some_and(|u| u <= at),
        }
    }

    /// The code typed at `at`: whether the lock opens; an accepted entry
    /// counts as a use.
    pub fn type_at(&mut self, at: i64) -> bool {
        let accepted = self.would_accept(at);
        if accepted {
            self.first_use = Some(self.first_use.map_or(at, |u| u.min(at)));
        }
        accepted
    }

    /// Whether it ever opened the lock.
    pub fn used(&self) -> bool {
        self.first_use.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600;

    #[test]
    fn without_activation_rule_it_opens_throughout_its_window() {
        let mut c = OfflineUse::new(10 * H, 20 * H, None);
        assert!(!c.type_at(10 * H - 1));
        assert!(c.type_at(19 * H));
        assert!(c.type_at(10 * H));
        assert!(!c.type_at(20 * H));
        assert_eq!(c.first_use, Some(10 * H));
    }

    #[test]
    fn a_code_not_activated_in_time_is_refused_for_good() {
        let mut late = OfflineUse::new(0, 100 * H, Some(24 * H));
        assert!(!late.type_at(24 * H));
        assert!(!late.type_at(50 * H));
        assert!(!late.used());

        let mut early = OfflineUse::new(0, 100 * H, Some(24 * H));
        assert!(early.would_accept(23 * H), "asking does not use it");
        assert!(!early.used());
        assert!(early.type_at(23 * H));
        assert!(early.type_at(99 * H));
        assert!(!early.type_at(100 * H));
    }

    #[test]
    fn a_single_use_code_opens_once() {
        let mut c = OfflineUse::once(0, 24 * H);
        assert!(c.type_at(H));
        assert!(!c.type_at(2 * H));
        assert!(!c.would_accept(H));
    }
}

//! Guest PINs (R8): six digits from the host's secure random source (WASI
//! random in the component), never trivially guessable, and within the
//! brand's or the lock's own rule ([`PinRule`], data a brand supplies).

use serde::{Deserialize, Serialize};

pub const PIN_LEN: usize = 6;

/// Which PINs a lock takes besides R8's own rule, as data: a brand gives its
/// default, a lock may report its own (e.g. from a device's constraints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinRule {
    /// The digits a PIN may use, e.g. "0123456789".
    pub digits: String,
    /// How many digits.
    #[serde(default = "six")]
    pub length: usize,
    /// Starts a PIN must not have (e.g. "12").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forbidden_prefixes: Vec<String>,
    /// No digit three times in a row.
    #[serde(default)]
    pub no_triple_repeat: bool,
}

fn six() -> usize {
    PIN_LEN
}

impl PinRule {
    /// Six digits 0-9.
    pub fn any_digits() -> PinRule {
        PinRule {
            digits: "0123456789".into(),
            length: PIN_LEN,
            forbidden_prefixes: Vec::new(),
            no_triple_repeat: false,
        }
    }

    /// The rule of PINs every one of `rules` takes (R26: one PIN for all of
    /// a booking's locks); `None` when they cannot agree (lengths differ, or
    /// no digit in common).
    pub fn all_of<'a>(rules: impl IntoIterator<Item = &'a PinRule>) -> Option<PinRule> {
        let mut rules = rules.into_iter();
        let mut all = rules.next()?.clone();
        for r in rules {
            if r.length != all.length {
                return None;
            }
            all.digits.retain(|c| r.digits.contains(c));
            for p in &r.forbidden_prefixes {
                if !all.forbidden_prefixes.contains(p) {
                    all.forbidden_prefixes.push(p.clone());
                }
            }
            all.no_triple_repeat |= r.no_triple_repeat;
        }
        (all.digits.len() > 1).then_some(all)
    }

    /// Whether the lock takes `pin`.
    pub fn accepts(&self, pin: &str) -> bool {
        pin.len() == self.length
            && pin.chars().all(|c| self.digits.contains(c))
            && !self.forbidden_prefixes.iter().any(|p| pin.starts_with(p.as_str()))
            && !(self.no_triple_repeat && pin.as_bytes().windows(3).any(|w| w[0] == w[1] && w[1] == w[2]))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PinError {
    #[error("the secure random source failed: {0}")]
    Random(String),
    #[error("no free PIN found on the lock after {0} tries")]
    Exhausted(u32),
}

/// Rejects PINs a guest or a burglar would try first: all one digit
/// ("111111") and straight runs ("123456", "987654", also wrapping "890123").
pub fn is_guessable(pin: &str) -> bool {
    let d: Vec<i16> = pin.bytes().map(|b| i16::from(b) - i16::from(b'0')).collect();
    if d.len() < 2 {
        return true;
    }
    let steps: Vec<i16> = d.windows(2).map(|w| (w[1] - w[0]).rem_euclid(10)).collect();
    let first = steps[0];
    (first == 0 || first == 1 || first == 9) && steps.iter().all(|&s| s == first)
}

/// Draws PINs within the vendor's rule until one is neither guessable nor
/// taken (`taken` says whether another booking holds it on the same lock).
pub fn generate<F, E>(rule: &PinRule, mut taken: F) -> Result<String, PinError>
where
    F: FnMut(&str) -> Result<bool, E>,
    E: std::fmt::Display,
{
    const TRIES: u32 = 64;
    for _ in 0..TRIES {
        let pin = random_pin(rule)?;
        if is_guessable(&pin) || !rule.accepts(&pin) {
            continue;
        }
        match taken(&pin) {
            Ok(false) => return Ok(pin),
            Ok(true) => continue,
            Err(e) => return Err(PinError::Random(e.to_string())),
        }
    }
    Err(PinError::Exhausted(TRIES))
}

fn random_pin(rule: &PinRule) -> Result<String, PinError> {
    // `length` digits from the rule's alphabet; rejection sampling over u32
    // keeps every PIN of the alphabet equally likely.
    let alphabet: Vec<char> = rule.digits.chars().collect();
    let base = alphabet.len() as u64;
    if base == 0 || rule.length == 0 {
        return Err(PinError::Exhausted(0));
    }
    let limit = (1u64 << 32) - ((1u64 << 32) % base);
    let mut pin = String::with_capacity(rule.length);
    // One draw from the source for the whole PIN (each draw is a call into
    // the host); a sample rejected is replaced by a draw of its own.
    let draw = |buf: &mut [u8]| getrandom::fill(buf).map_err(|e| PinError::Random(e.to_string()));
    let mut samples = vec![0u8; 4 * rule.length];
    draw(&mut samples)?;
    let mut samples = samples.chunks_exact(4);
    while pin.len() < rule.length {
        let mut buf = [0u8; 4];
        match samples.next() {
            Some(s) => buf.copy_from_slice(s),
            None => draw(&mut buf)?,
        }
        let n = u64::from(u32::from_le_bytes(buf));
        if n < limit {
            pin.push(alphabet[(n % base) as usize]);
        }
    }
    Ok(pin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r8_guessable_pins_are_refused() {
        for p in ["000000", "111111", "123456", "234567", "987654", "890123", "210987"] {
            assert!(is_guessable(p), "{p} should be guessable");
        }
        for p in ["482913", "112233", "135790", "120000"] {
            assert!(!is_guessable(p), "{p} should be fine");
        }
    }

    #[test]
    fn r8_generated_pins_are_six_digits_and_avoid_taken_ones() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..500 {
            let pin = generate(&PinRule::any_digits(), |p| Ok::<_, String>(seen.contains(p))).unwrap();
            assert_eq!(pin.len(), PIN_LEN);
            assert!(pin.bytes().all(|b| b.is_ascii_digit()));
            assert!(!is_guessable(&pin));
            assert!(seen.insert(pin));
        }
    }

    #[test]
    fn r8_gives_up_when_everything_is_taken() {
        assert_eq!(generate(&PinRule::any_digits(), |_| Ok::<_, String>(true)), Err(PinError::Exhausted(64)));
    }

    #[test]
    fn r8_nuki_pins_use_digits_one_to_nine_and_never_start_with_12() {
        let nuki = (crate::brands::nuki::BRAND.capabilities.pin_rule)();
        for _ in 0..2000 {
            let pin = generate(&nuki, |_| Ok::<_, String>(false)).unwrap();
            assert_eq!(pin.len(), PIN_LEN);
            assert!(pin.bytes().all(|b| (b'1'..=b'9').contains(&b)), "{pin}");
            assert!(!pin.starts_with("12") && !is_guessable(&pin), "{pin}");
        }
        assert!(!nuki.accepts("120000"));
        assert!(!nuki.accepts("482903"));
        assert!(nuki.accepts("482913"));
        let strict = PinRule { no_triple_repeat: true, ..PinRule::any_digits() };
        assert!(!strict.accepts("411152") && strict.accepts("411522") && !strict.accepts("41152"));
    }

    #[test]
    fn r26_one_pin_suits_every_rule_of_a_bookings_locks() {
        let nuki = (crate::brands::nuki::BRAND.capabilities.pin_rule)();
        let strict = PinRule { no_triple_repeat: true, forbidden_prefixes: vec!["9".into()], ..PinRule::any_digits() };
        let all = PinRule::all_of([&PinRule::any_digits(), &nuki, &strict]).expect("they agree");
        for _ in 0..1000 {
            let pin = generate(&all, |_| Ok::<_, String>(false)).unwrap();
            for rule in [&PinRule::any_digits(), &nuki, &strict] {
                assert!(rule.accepts(&pin), "{pin} by {rule:?}");
            }
        }
        let four = PinRule { length: 4, ..PinRule::any_digits() };
        assert_eq!(PinRule::all_of([&nuki, &four]), None, "lengths differ: each lock draws its own");
    }
}

//! Guest PINs (R8): six digits from the host's secure random source (WASI
//! random in the component), never trivially guessable, and within the
//! vendor's own rule ([`PinRule`]).

pub use crate::brands::PinRule;

pub const PIN_LEN: usize = 6;

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

/// Whether the vendor accepts `pin` (Nuki: digits 1-9, not "12…").
pub fn vendor_accepts(rule: PinRule, pin: &str) -> bool {
    match rule {
        PinRule::AnyDigits => pin.bytes().all(|b| b.is_ascii_digit()),
        PinRule::NukiKeypad => pin.bytes().all(|b| (b'1'..=b'9').contains(&b)) && !pin.starts_with("12"),
    }
}

/// Draws PINs within the vendor's rule until one is neither guessable nor
/// taken (`taken` says whether another booking holds it on the same lock).
pub fn generate<F, E>(rule: PinRule, mut taken: F) -> Result<String, PinError>
where
    F: FnMut(&str) -> Result<bool, E>,
    E: std::fmt::Display,
{
    const TRIES: u32 = 64;
    for _ in 0..TRIES {
        let pin = random_pin(rule)?;
        if is_guessable(&pin) || !vendor_accepts(rule, &pin) {
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

fn random_pin(rule: PinRule) -> Result<String, PinError> {
    // Six digits from an alphabet of 10 (or Nuki's 9: 1-9); rejection
    // sampling over u32 keeps every PIN of the alphabet equally likely.
    let base: u32 = match rule {
        PinRule::AnyDigits => 10,
        PinRule::NukiKeypad => 9,
    };
    let space = base.pow(PIN_LEN as u32);
    let limit = u32::MAX - (u32::MAX % space);
    loop {
        let mut buf = [0u8; 4];
        getrandom::fill(&mut buf).map_err(|e| PinError::Random(e.to_string()))?;
        let mut n = u32::from_le_bytes(buf);
        if n >= limit {
            continue;
        }
        n %= space;
        let mut digits = [0u8; PIN_LEN];
        for d in digits.iter_mut().rev() {
            let digit = (n % base) as u8;
            *d = if base == 9 { b'1' + digit } else { b'0' + digit };
            n /= base;
        }
        return Ok(digits.iter().map(|&b| b as char).collect());
    }
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
            let pin = generate(PinRule::AnyDigits, |p| Ok::<_, String>(seen.contains(p))).unwrap();
            assert_eq!(pin.len(), PIN_LEN);
            assert!(pin.bytes().all(|b| b.is_ascii_digit()));
            assert!(!is_guessable(&pin));
            assert!(seen.insert(pin));
        }
    }

    #[test]
    fn r8_gives_up_when_everything_is_taken() {
        assert_eq!(generate(PinRule::AnyDigits, |_| Ok::<_, String>(true)), Err(PinError::Exhausted(64)));
    }

    #[test]
    fn r8_nuki_pins_use_digits_one_to_nine_and_never_start_with_12() {
        for _ in 0..2000 {
            let pin = generate(PinRule::NukiKeypad, |_| Ok::<_, String>(false)).unwrap();
            assert_eq!(pin.len(), PIN_LEN);
            assert!(pin.bytes().all(|b| (b'1'..=b'9').contains(&b)), "{pin}");
            assert!(!pin.starts_with("12") && !is_guessable(&pin), "{pin}");
        }
        assert!(!vendor_accepts(PinRule::NukiKeypad, "120000"));
        assert!(!vendor_accepts(PinRule::NukiKeypad, "482903"));
        assert!(vendor_accepts(PinRule::NukiKeypad, "482913"));
    }
}

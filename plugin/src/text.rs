//! Short texts echoed back to people.

/// Echoing input back in an error is useful, but not a whole megabyte of it.
pub fn clip(s: &str) -> String {
    clip_to(s, 40)
}

/// `s`, cut to `max` characters (with an ellipsis when cut).
pub fn clip_to(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

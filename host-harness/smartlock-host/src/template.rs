//! Message-variable substitution (R20): `{{name}}`, spaces inside the braces
//! allowed. Each variable is asked of the plugin; one it does not know
//! (`None`) is left exactly as written, for the host's other plugins.

/// Replaces every `{{ name }}` for which `resolve` has a value.
///
/// `resolve` is asked once per occurrence of a well-formed name (see
/// [`is_variable_name`]); with
/// [`TenantHandle::render_variable`](crate::TenantHandle::render_variable)
/// each ask is one plugin call, so ask once per name ([`variables`]) and
/// cache the answers when a template repeats a variable.
///
/// ```
/// # use smartlock_host::template::substitute;
/// let text = substitute("Hi {{guest}}, your code is {{ smartlock_code }}.", |name| {
///     (name == "smartlock_code").then(|| "482913".to_string())
/// });
/// assert_eq!(text, "Hi {{guest}}, your code is 482913.");
/// ```
pub fn substitute(template: &str, mut resolve: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inner = &after[..close];
        let name = inner.trim_matches(' ');
        let whole = &rest[open..open + 2 + close + 2];
        match is_variable_name(name).then(|| resolve(name)).flatten() {
            Some(value) => out.push_str(&value),
            None if inner.contains("{{") => {
                // "{{ {{x}}": only the inner pair is a variable.
                out.push_str("{{");
                rest = after;
                continue;
            }
            None => out.push_str(whole),
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

/// The names that `{{...}}` may carry: 1 to 64 ASCII letters, digits, `_`,
/// `.` and `-`. Anything else between braces is left as text, unasked.
pub fn is_variable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The variable names a template uses (each once, in order).
pub fn variables(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    substitute(template, |name| {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
        None
    });
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(name: &str) -> Option<String> {
        matches!(name, "smartlock_code" | "nuki_code").then(|| "482913".to_string())
    }

    #[test]
    fn r20_substitutes_both_names_with_spaces_in_braces() {
        assert_eq!(substitute("Code {{smartlock_code}}.", code), "Code 482913.");
        assert_eq!(substitute("Code {{ smartlock_code }} / {{nuki_code}}", code), "Code 482913 / 482913");
        assert_eq!(substitute("{{  nuki_code  }}", code), "482913");
    }

    #[test]
    fn r20_unknown_variables_are_left_untouched() {
        assert_eq!(substitute("Hi {{guest_name}}, {{ smartlock_code }}", code), "Hi {{guest_name}}, 482913");
        assert_eq!(substitute("{{ not a var }} {{", code), "{{ not a var }} {{");
        assert_eq!(substitute("{{}} }} {{smartlock_code", code), "{{}} }} {{smartlock_code");
        assert_eq!(substitute("{{ {{smartlock_code}}", code), "{{ 482913");
    }

    #[test]
    fn r20_no_value_leaves_the_variable() {
        assert_eq!(substitute("Code {{smartlock_code}}", |_| None), "Code {{smartlock_code}}");
    }

    #[test]
    fn lists_variables_once() {
        assert_eq!(variables("{{a}} {{ b }} {{a}} {{c d}}"), vec!["a", "b"]);
    }
}

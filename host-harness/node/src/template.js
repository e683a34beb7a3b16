// Message-variable substitution (R20), as smartlock-host's `template`:
// `{{name}}`, spaces inside the braces allowed. Each variable is asked of
// `resolve` (which may be async: one plugin call each); one it has no value
// for (`undefined`/`null`) is left exactly as written, for other plugins.

/** The names `{{...}}` may carry: 1 to 64 ASCII letters, digits, `_`, `.` and `-`. */
export function isVariableName(name) {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(name);
}

/**
 * Replaces every `{{ name }}` for which `resolve(name)` has a value;
 * `resolve` is asked once per occurrence, in order.
 * @param {string} template
 * @param {(name: string) => (string | undefined | null | Promise<string | undefined | null>)} resolve
 * @returns {Promise<string>}
 */
export async function substitute(template, resolve) {
  let out = '';
  let rest = template;
  for (;;) {
    const open = rest.indexOf('{{');
    if (open < 0) break;
    out += rest.slice(0, open);
    const after = rest.slice(open + 2);
    const close = after.indexOf('}}');
    if (close < 0) return out + rest.slice(open);
    const inner = after.slice(0, close);
    const name = inner.replace(/^ +| +$/g, '');
    const whole = rest.slice(open, open + 2 + close + 2);
    const value = isVariableName(name) ? await resolve(name) : undefined;
    if (value !== undefined && value !== null) {
      out += value;
    } else if (inner.includes('{{')) {
      // "{{ {{x}}": only the inner pair is a variable.
      out += '{{';
      rest = after;
      continue;
    } else {
      out += whole;
    }
    rest = after.slice(close + 2);
  }
  return out + rest;
}

/** The variable names a template uses (each once, in order). */
export async function variables(template) {
  const names = [];
  await substitute(template, (name) => {
    if (!names.includes(name)) names.push(name);
    return undefined;
  });
  return names;
}

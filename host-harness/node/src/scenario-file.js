// Reading and checking a scenario file (`docs/scenarios.md`) with the
// Rust host's messages, word for word: `host-harness scenario BAD.json`
// and `npm run scenario -- BAD.json` exit 2 with the same one line
// (host-harness/tests/node_host.rs runs both on test/scenarios/bad/).
// The Rust host reads files with serde (serde_json, chrono), so this
// module reproduces what those say: serde_json's syntax errors with
// `line L column C` (json-text.js), serde's type errors, chrono's
// RFC 3339 errors, then host-harness/src/scenario.rs's own checks.
//
// The brand ids (a step's `provider`, a world's key) and the credential
// fields of a `connect` step are the component's (`admin.brands`, R30):
// the checks take that list, in the component's order (the Rust runner's
// order too), its first brand the one a step means without `provider`.
// Without it (no component built yet) the brand-dependent checks are
// skipped: any provider string passes.
//
// Not reproduced: the vendors' worlds are checked by the `host-harness
// stub` process the run starts, in its own words; so are `fault` steps (a
// dry run against that process, same words).

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { brandOf, credentialFieldNames, typedFields } from './contract.js';
import { JsonSyntaxError, lastWins, parseJson, plain, position } from './json-text.js';

/** A scenario file that cannot be run (the CLI's exit status 2). */
export class InvalidScenario extends Error {
  constructor(message) {
    super(message);
    this.name = 'InvalidScenario';
  }
}

// ---- chrono's `DateTime<FixedOffset>::from_str` (RFC 3339, relaxed) ----

const CHRONO = {
  range: 'input is out of range',
  invalid: 'input contains invalid characters',
  short: 'premature end of input',
  long: 'trailing input',
};

class ChronoError extends Error {}
const chronoFail = (kind) => {
  throw new ChronoError(CHRONO[kind]);
};

/** chrono's `scan::number`: min..max ASCII digits; [rest, value]. */
function scanNumber(s, min, max) {
  if (s.length < min) chronoFail('short');
  let v = 0n;
  let k = 0;
  for (; k < Math.min(max, s.length); k++) {
    const c = s.charCodeAt(k);
    if (c < 48 || c > 57) {
      if (k < min) chronoFail('invalid');
      break;
    }
    v = v * 10n + BigInt(c - 48);
    if (v > 9223372036854775807n) chronoFail('range');
  }
  return [s.slice(k), v];
}

function literal(s, text) {
  if (s.length < text.length) chronoFail('short');
  if (!s.startsWith(text)) chronoFail('invalid');
  return s.slice(text.length);
}

function ranged(v, lo, hi) {
  if (v < BigInt(lo) || v > BigInt(hi)) chronoFail('range');
  return Number(v);
}

/**
 * An RFC 3339 instant as the Rust host reads it (chrono's relaxed parser:
 * `T`, `t` or a space between date and time, `Z`, `UTC` or `±hh:mm`):
 * `{secs, nanos}`. Throws ChronoError with chrono's message.
 */
export function parseInstantText(text) {
  let s = text.trimStart();
  let year;
  if (s.startsWith('-') || s.startsWith('+')) {
    let v;
    [s, v] = scanNumber(s.slice(1), 1, Infinity);
    year = text.trimStart()[0] === '-' ? -v : v;
  } else {
    [s, year] = scanNumber(s, 1, 4);
  }
  if (year < -2147483648n || year > 2147483647n) chronoFail('range');
  const field = (rest, sep, lo, hi) => {
    rest = literal(rest.trimStart(), sep).trimStart();
    const [after, v] = scanNumber(rest, 1, 2);
    return [after, ranged(v, lo, hi)];
  };
  let month, day, hour, minute, second;
  [s, month] = field(s, '-', 1, 12);
  [s, day] = field(s, '-', 1, 31);
  if (s.length === 0) chronoFail('short');
  if (!'tT '.includes(s[0])) chronoFail('invalid');
  s = s.slice(1).trimStart();
  let v;
  [s, v] = scanNumber(s, 1, 2);
  hour = ranged(v, 0, 23);
  [s, minute] = field(s, ':', 0, 59);
  [s, second] = field(s, ':', 0, 60);
  let nanos = 0;
  if (s.startsWith('.')) {
    const digits = s.slice(1);
    const [rest, frac] = scanNumber(digits, 1, 9);
    const consumed = digits.length - rest.length;
    nanos = Number(frac) * 10 ** (9 - consumed);
    s = rest.replace(/^[0-9]+/, '');
  }
  s = s.trimStart();
  let offset;
  if (s.length >= 3 && s.slice(0, 3).toUpperCase() === 'UTC') {
    s = s.slice(3);
    offset = 0;
  } else {
    [s, offset] = zoneOffset(s);
  }
  if (s.trimStart() !== '') chronoFail('long');
  // chrono's resolution: a real day, an offset under a day.
  const y = Number(year);
  const daysIn = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (day > daysIn[month - 1] || y < -262143 || y > 262142 || Math.abs(offset) >= 86400) chronoFail('range');
  const d = new Date(0);
  d.setUTCFullYear(y, month - 1, day);
  // A leap second (:60) is :59 and one more second of nanoseconds in chrono.
  d.setUTCHours(hour, minute, Math.min(second, 59), 0);
  return { secs: Math.floor(d.getTime() / 1000) - offset, nanos: second === 60 ? nanos + 1e9 : nanos };
}

/** chrono's `scan::timezone_offset` (Zulu allowed, minutes required, U+2212 allowed). */
function zoneOffset(s) {
  if (s[0] === 'Z' || s[0] === 'z') return [s.slice(1), 0];
  if (s.length === 0) chronoFail('short');
  let negative;
  if (s[0] === '+' || s[0] === '-' || s[0] === '\u2212') negative = s[0] !== '+';
  else chronoFail('invalid');
  s = s.slice(1);
  const two = (t) => {
    if (t.length < 2) chronoFail('short');
    return [t.charCodeAt(0) - 48, t.charCodeAt(1) - 48];
  };
  const [h1, h2] = two(s);
  if (!(h1 >= 0 && h1 <= 9 && h2 >= 0 && h2 <= 9)) chronoFail('invalid');
  s = s.slice(2).replace(/^[:\s]+/, '');
  if (s.length < 2) chronoFail('short');
  const [m1, m2] = two(s);
  if (m1 >= 6 && m1 <= 9 && m2 >= 0 && m2 <= 9) chronoFail('range');
  if (!(m1 >= 0 && m1 <= 5 && m2 >= 0 && m2 <= 9)) chronoFail('invalid');
  const secs = (h1 * 10 + h2) * 3600 + (m1 * 10 + m2) * 60;
  return [s.slice(2), negative ? -secs : secs];
}

/** chrono's `to_rfc3339` of a UTC instant (`+00:00`, fractions as chrono's AutoSi). */
export function rfc3339(secs, nanos = 0) {
  const base = new Date(secs * 1000).toISOString().slice(0, 19);
  let frac = '';
  const n = nanos % 1e9;
  if (n !== 0) {
    const digits = n % 1e6 === 0 ? 3 : n % 1e3 === 0 ? 6 : 9;
    frac = '.' + String(n).padStart(9, '0').slice(0, digits);
  }
  return `${base}${frac}+00:00`;
}

// ---- serde's messages ----

/** Rust's `{:?}` of a string. */
function debugStr(s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c === 0) out += '\\0';
    else if (c < 0x20 || c === 0x7f) out += `\\u{${c.toString(16)}}`;
    else out += ch;
  }
  return out + '"';
}

/** serde's `Unexpected` of a value. */
function unexpected(node) {
  switch (node.type) {
    case 'string':
      return `string ${debugStr(node.value)}`;
    case 'number': {
      if (node.int !== null) return `integer \`${node.int}\``;
      const t = String(node.float);
      return `floating point \`${/[.e]|inf|NaN/i.test(t) ? t : t + '.0'}\``;
    }
    case 'bool':
      return `boolean \`${node.value}\``;
    case 'null':
      return 'null';
    case 'array':
      return 'sequence';
    default:
      return 'map';
  }
}

const invalidType = (node, expected) => `invalid type: ${unexpected(node)}, expected ${expected}`;
const oneOf = (names) =>
  names.length === 1
    ? `\`${names[0]}\``
    : names.length === 2
      ? `\`${names[0]}\` or \`${names[1]}\``
      : `one of ${names.map((n) => `\`${n}\``).join(', ')}`;

class SerdeError extends Error {}
const serdeFail = (m) => {
  throw new SerdeError(m);
};

/** Checkers of one value, each throwing SerdeError with serde's message. */
const is = {
  string: (node) => node.type === 'string' || serdeFail(invalidType(node, 'a string')),
  bool: (node) => node.type === 'bool' || serdeFail(invalidType(node, 'a boolean')),
  int: (lo, hi, name) => (node) => {
    if (node.type !== 'number' || node.int === null) serdeFail(invalidType(node, name));
    if (node.int < lo || node.int > hi) serdeFail(`invalid value: integer \`${node.int}\`, expected ${name}`);
  },
  optional: (check) => (node) => node.type === 'null' || check(node),
  instant: (node) => {
    if (node.type !== 'string') serdeFail(invalidType(node, 'an RFC 3339 formatted date and time string'));
    try {
      return parseInstantText(node.value);
    } catch (e) {
      if (e instanceof ChronoError) serdeFail(e.message);
      throw e;
    }
  },
  /** A unit-variant enum as serde reads it from a buffered (flattened) step (`names` null: any name). */
  variant: (names) => (node) => {
    if (node.type === 'string') {
      if (names && !names.includes(node.value)) serdeFail(`unknown variant \`${node.value}\`, expected ${oneOf(names)}`);
      return;
    }
    if (node.type !== 'object') serdeFail(invalidType(node, 'string or map'));
    if (node.entries.length !== 1) serdeFail('invalid value: map, expected map with a single key');
    const key = node.entries[0].key;
    if (names && !names.includes(key)) serdeFail(`unknown variant \`${key}\`, expected ${oneOf(names)}`);
  },
  struct: (name, fields) => (node) => {
    if (node.type !== 'object') serdeFail(invalidType(node, `struct ${name}`));
    checkFields(lastWins(node), fields);
  },
};

/**
 * serde's derived struct: each known field checked in the file's order
 * (unknown fields ignored), then the first missing required field in the
 * declaration's order. `fields`: [name, check, required].
 */
function checkFields(map, fields) {
  const byName = new Map(fields.map((f) => [f[0], f]));
  for (const [key, node] of map) byName.get(key)?.[1](node);
  for (const [name, , required] of fields) if (required && !map.has(name)) serdeFail(`missing field \`${name}\``);
}

const U16 = is.int(0n, 65535n, 'u16');
const U32 = is.int(0n, 4294967295n, 'u32');
const I64 = is.int(-9223372036854775808n, 9223372036854775807n, 'i64');
const OPT_STRING = is.optional(is.string);
const OPT_I64 = is.optional(I64);
const required = (name, check) => [name, check, true];
const optional = (name, check) => [name, check, false];

const PROPERTY_IN = is.struct('PropertyIn', [
  required('id', is.string),
  required('name', is.string),
  required('timezone', is.string),
  optional('check_in_time', OPT_STRING),
  optional('check_out_time', OPT_STRING),
]);

const BOOKING_IN = is.struct('BookingIn', [
  required('id', is.string),
  required('property', is.string),
  optional('guest_name', OPT_STRING),
  required('check_in', is.string),
  required('check_out', is.string),
  optional('check_in_time', OPT_STRING),
  optional('check_out_time', OPT_STRING),
  required('status', is.variant(['confirmed', 'cancelled'])),
]);

/** The step kinds (`do`), in the Rust `Action` enum's order, and their fields (provider: one of `brands`' ids). */
export function stepFields(brands) {
  const PROVIDER = is.variant(brands ? brands.map((b) => b.id) : null);
  return {
    // Unknown fields are ignored: without the brands, every credential is.
    connect: [optional('provider', PROVIDER), ...credentialFieldNames(brands ?? []).map((f) => optional(f, OPT_STRING))],
    disconnect: [optional('provider', PROVIDER)],
    property: [required('property', PROPERTY_IN)],
    assign: [
      required('property', is.string),
      required('lock', is.string),
      optional('provider', PROVIDER),
      optional('days_before', OPT_I64),
      optional('margin_minutes', OPT_I64),
      optional('backup_codes', OPT_I64),
    ],
    unassign: [required('property', is.string)],
    share_door: [required('property', is.string), required('lock', is.string), optional('provider', PROVIDER)],
    unshare_door: [required('property', is.string), required('lock', is.string), optional('provider', PROVIDER)],
    booking: [required('booking', BOOKING_IN)],
    bridge: [required('bridge', is.string), required('online', is.bool), optional('provider', PROVIDER)],
    fault: [
      required('endpoint', is.string),
      optional('status', U16),
      required('count', U32),
      optional('provider', PROVIDER),
      optional('kind', OPT_STRING),
      optional('errcode', OPT_I64),
    ],
    revoke_tokens: [optional('provider', PROVIDER)],
    render: [required('booking', is.string), required('template', is.string)],
    status: [required('booking', is.string)],
    try_pin: [
      required('lock', is.string),
      optional('provider', PROVIDER),
      optional('pin', OPT_STRING),
      optional('booking', OPT_STRING),
    ],
    restart: [],
    end: [],
  };
}
const STEP_KINDS = Object.keys(stepFields(null));

/**
 * A step as serde reads it (`at` plus the `do`-tagged action flattened
 * beside it): `{kind, instant}` or a SerdeError. `kind` is the variant
 * (a number in `do` picks a variant by index, as serde does).
 */
function checkStep(node, fields) {
  if (node.type !== 'object') serdeFail(invalidType(node, 'struct Step'));
  const map = lastWins(node);
  let instant = null;
  if (map.has('at')) instant = is.instant(map.get('at'));
  else serdeFail('missing field `at`');
  if (!map.has('do')) serdeFail('missing field `do`');
  const tag = map.get('do');
  let kind;
  if (tag.type === 'string') {
    if (!STEP_KINDS.includes(tag.value)) serdeFail(`unknown variant \`${tag.value}\`, expected ${oneOf(STEP_KINDS)}`);
    kind = tag.value;
  } else if (tag.type === 'number' && tag.int !== null && tag.int >= 0n) {
    if (tag.int >= BigInt(STEP_KINDS.length)) {
      serdeFail(`invalid value: integer \`${tag.int}\`, expected variant index 0 <= i < ${STEP_KINDS.length}`);
    }
    kind = STEP_KINDS[Number(tag.int)];
  } else serdeFail(invalidType(tag, 'variant identifier'));
  const rest = new Map([...map].filter(([k]) => k !== 'at' && k !== 'do'));
  checkFields(rest, fields[kind]);
  return { kind, instant };
}

// ---- the file ----

const TOP_FIELDS = {
  name: is.string,
  start: is.instant,
  tick_minutes: U32,
  wake_ups: is.bool,
  steps: (node) => node.type === 'array' || serdeFail(invalidType(node, 'a sequence')),
};
const TOP_REQUIRED = ['name', 'start', 'steps'];

/**
 * The top level as serde_json reads it from the text (worlds aside):
 * the first bad field in the file's order at the position serde_json
 * gives, then a missing field at the closing brace.
 */
function topError(bytes, root, brands) {
  const at = (offset) => ` at ${position(bytes, offset)}`;
  if (root.type !== 'object') {
    const where = root.type === 'object' || root.type === 'array' ? root.start : root.end;
    return invalidType(root, 'struct Scenario') + at(where);
  }
  const seen = new Set();
  for (const { key, keyEnd, node } of root.entries) {
    const check = TOP_FIELDS[key] ?? (brands && brandOf(brands, key) ? () => {} : undefined);
    if (!check) continue;
    if (seen.has(key)) return `duplicate field \`${key}\`` + at(keyEnd);
    seen.add(key);
    try {
      check(node);
    } catch (e) {
      if (!(e instanceof SerdeError)) throw e;
      return e.message + at(node.type === 'object' || node.type === 'array' ? node.start : node.end);
    }
  }
  const missing = TOP_REQUIRED.find((k) => !seen.has(k));
  return missing ? `missing field \`${missing}\`` + at(root.end) : null;
}

/**
 * Parses and checks a scenario (the file's bytes or text) as the Rust host
 * does, with the component's `brands` (`LoadedComponent.brands`; `null`:
 * the brand checks are skipped). Returns the scenario (its JSON, plus `tickMinutes`, `wakeUps`,
 * `startSecs`, each step's `atSecs` and `provider`) and `faultSteps`, the
 * step numbers of its `fault` steps, to try against the stub before the
 * run (`deferred`: a later error, thrown only if those pass).
 */
export function checkScenario(input, brands = null) {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const bad = (m) => {
    throw new InvalidScenario(m);
  };
  let root;
  try {
    root = parseJson(bytes);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    // Trailing characters come after the value: serde reports a type error in it first.
    const typed = e.value ? topError(bytes, e.value, brands) : null;
    bad(`invalid scenario: ${typed ?? `${e.message} at ${position(bytes, e.offset)}`}`);
  }
  // The steps first: their errors name the step (scenario.rs's `step_error`).
  const stepsNode = root.type === 'object' ? lastWins(root).get('steps') : undefined;
  const checked = [];
  const fields = stepFields(brands);
  if (stepsNode?.type === 'array') {
    stepsNode.items.forEach((node, i) => {
      try {
        checked.push(checkStep(node, fields));
      } catch (e) {
        if (!(e instanceof SerdeError)) throw e;
        const tag = node.type === 'object' ? lastWins(node).get('do') : undefined;
        bad(`step ${i + 1} (${tag?.type === 'string' ? tag.value : 'without `do`'}): ${e.message}`);
      }
    });
  }
  const top = topError(bytes, root, brands);
  if (top) bad(`invalid scenario: ${top}`);

  const s = plain(root);
  const tickMinutes = s.tick_minutes ?? 15;
  if (tickMinutes < 1 || tickMinutes > 24 * 60) bad('tick_minutes must be between 1 and 1440');
  const start = is.instant(lastWins(root).get('start'));
  let previous = start;
  const faultSteps = [];
  let deferred = null;
  const steps = s.steps.map((step, i) => {
    const n = i + 1;
    const { kind, instant } = checked[i];
    const provider = step.provider ?? brands?.[0]?.id;
    const later = (m) => {
      if (faultSteps.length === 0) bad(m);
      deferred ??= m;
    };
    if (!deferred) {
      if (instant.secs < previous.secs || (instant.secs === previous.secs && instant.nanos < previous.nanos)) {
        later(`step ${n} (${kind}) at ${rfc3339(instant.secs, instant.nanos)} is before the previous step or the start`);
      } else if (kind === 'end' && n !== s.steps.length) {
        later(`step ${n}: \`end\` must be the last step`);
      } else if (kind === 'fault') {
        faultSteps.push(n);
      } else if (kind === 'connect' && brands) {
        const field = typedFields(brandOf(brands, provider)).find((f) => step[f] === undefined || step[f] === null);
        if (field) later(`step ${n} (connect ${provider}): \`${field}\` is missing`);
      }
    }
    previous = instant;
    return { ...step, do: kind, atSecs: instant.secs, provider };
  });
  if (!deferred && steps.at(-1)?.do !== 'end') {
    if (faultSteps.length === 0) bad('the last step must be `end`');
    deferred = 'the last step must be `end`';
  }
  return {
    scenario: { ...s, tickMinutes, wakeUps: s.wake_ups !== false, startSecs: start.secs, steps },
    faultSteps,
    deferred,
  };
}

/** glibc's words for the errors reading a file can meet (Rust prints strerror). */
const STRERROR = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  EMFILE: 'Too many open files',
  EIO: 'Input/output error',
};

/** Rust's `io::Error` Display of a Node file-system error. */
function ioError(e) {
  const text = STRERROR[e.code];
  return text && Number.isInteger(e.errno) ? `${text} (os error ${Math.abs(e.errno)})` : e.message;
}

/**
 * Reads and checks a scenario file (see checkScenario, and `brands`);
 * messages name it as `displayPath` (default: `path` as given), as
 * `host-harness scenario` does.
 */
export function readScenarioFile(path, displayPath = path, brands = null) {
  let bytes;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new InvalidScenario(`cannot read ${displayPath}: ${ioError(e)}`);
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidScenario(`cannot read ${displayPath}: stream did not contain valid UTF-8`);
  }
  try {
    const checked = checkScenario(bytes, brands);
    checked.scenario.path = resolve(path);
    return checked;
  } catch (e) {
    if (e instanceof InvalidScenario) throw new InvalidScenario(`${displayPath}: ${e.message}`);
    throw e;
  }
}

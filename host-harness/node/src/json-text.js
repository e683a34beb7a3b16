// A JSON reader that fails as serde_json (1.0, the Rust host's) does: the
// same message for each syntax error and the same `line L column C`, so
// both hosts refuse a broken scenario file with the same line. It returns
// a tree that keeps what JSON.parse loses and serde sees: key order,
// duplicate keys, integer versus floating-point literals, and where each
// value ends (serde_json's positions of type errors and missing fields).
//
// Node: {type: 'object', entries: [{key, keyEnd, node}], start, end}
//     | {type: 'array', items: [node], start, end}
//     | {type: 'string', value, start, end}
//     | {type: 'number', int: bigint | null, float: number, start, end}
//     | {type: 'bool', value, start, end} | {type: 'null', start, end}
// `start`/`end` are byte offsets (end exclusive) in the UTF-8 text.

/** A syntax error with serde_json's message and byte offset. */
export class JsonSyntaxError extends Error {
  constructor(message, offset) {
    super(message);
    this.offset = offset;
  }
}

/**
 * serde_json's `line L column C` of a byte offset: the line holding the
 * last consumed byte, and how many bytes of it were consumed.
 * @param {Uint8Array} bytes
 */
export function position(bytes, offset) {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      line += 1;
      lineStart = i + 1;
    }
  }
  return `line ${line} column ${offset - lineStart}`;
}

const WS = new Set([0x20, 0x0a, 0x09, 0x0d]);
const isDigit = (b) => b >= 0x30 && b <= 0x39;

/**
 * Parses UTF-8 JSON text. Throws JsonSyntaxError; when the error is
 * trailing characters after a complete value, the error carries that
 * value as `value` (serde reports a type error in it first).
 * @param {Uint8Array} bytes
 */
export function parseJson(bytes) {
  let i = 0;
  const n = bytes.length;
  const decoder = new TextDecoder();
  // `error` positions after the consumed bytes, `peekError` after the peeked one too.
  const fail = (message, at = i) => {
    throw new JsonSyntaxError(message, at);
  };
  const peekFail = (message) => fail(message, Math.min(i + 1, n));
  const ws = () => {
    while (i < n && WS.has(bytes[i])) i++;
    return i < n ? bytes[i] : undefined;
  };

  function ident(rest) {
    for (const c of rest) {
      if (i >= n) fail('EOF while parsing a value');
      if (bytes[i++] !== c.charCodeAt(0)) fail('expected ident');
    }
  }

  function string() {
    const start = i; // at the opening quote
    i++;
    const parts = [];
    let run = i;
    for (;;) {
      if (i >= n) fail('EOF while parsing a string');
      const b = bytes[i];
      if (b === 0x22) {
        parts.push(decoder.decode(bytes.subarray(run, i)));
        i++;
        return { type: 'string', value: parts.join(''), start, end: i };
      }
      if (b < 0x20) {
        i++;
        fail('control character (\\u0000-\\u001F) found while parsing a string');
      }
      if (b === 0x5c) {
        parts.push(decoder.decode(bytes.subarray(run, i)));
        i++;
        if (i >= n) fail('EOF while parsing a string');
        const e = bytes[i++];
        const simple = { 0x22: '"', 0x5c: '\\', 0x2f: '/', 0x62: '\b', 0x66: '\f', 0x6e: '\n', 0x72: '\r', 0x74: '\t' };
        if (simple[e] !== undefined) parts.push(simple[e]);
        else if (e === 0x75) {
          let code = 0;
          for (let k = 0; k < 4; k++) {
            if (i >= n) fail('EOF while parsing a string');
            const h = String.fromCharCode(bytes[i++]);
            if (!/[0-9a-fA-F]/.test(h)) fail('invalid escape');
            code = code * 16 + parseInt(h, 16);
          }
          parts.push(String.fromCharCode(code));
        } else fail('invalid escape');
        run = i;
        continue;
      }
      i++;
    }
  }

  function number() {
    const start = i;
    if (bytes[i] === 0x2d) {
      i++;
      if (i >= n) fail('EOF while parsing a value');
      if (!isDigit(bytes[i])) peekFail('invalid number');
    }
    if (bytes[i] === 0x30) {
      i++;
      if (i < n && isDigit(bytes[i])) peekFail('invalid number');
    } else {
      while (i < n && isDigit(bytes[i])) i++;
    }
    let integer = true;
    if (i < n && bytes[i] === 0x2e) {
      integer = false;
      i++;
      if (i >= n) fail('EOF while parsing a value');
      if (!isDigit(bytes[i])) peekFail('invalid number');
      while (i < n && isDigit(bytes[i])) i++;
    }
    if (i < n && (bytes[i] === 0x65 || bytes[i] === 0x45)) {
      integer = false;
      i++;
      if (i < n && (bytes[i] === 0x2b || bytes[i] === 0x2d)) i++;
      if (i >= n) fail('EOF while parsing a value');
      if (!isDigit(bytes[i])) peekFail('invalid number');
      while (i < n && isDigit(bytes[i])) i++;
    }
    const text = decoder.decode(bytes.subarray(start, i));
    const float = Number(text);
    if (!Number.isFinite(float)) fail('number out of range');
    let int = null;
    if (integer) {
      const big = BigInt(text);
      // u64 or i64, as serde_json keeps it; larger ones are floats
      if (big <= 18446744073709551615n && big >= -9223372036854775808n) int = big;
    }
    return { type: 'number', int, float, start, end: i };
  }

  function value() {
    const b = ws();
    const start = i;
    if (b === undefined) fail('EOF while parsing a value');
    switch (b) {
      case 0x6e:
        i++;
        ident('ull');
        return { type: 'null', start, end: i };
      case 0x74:
        i++;
        ident('rue');
        return { type: 'bool', value: true, start, end: i };
      case 0x66:
        i++;
        ident('alse');
        return { type: 'bool', value: false, start, end: i };
      case 0x22:
        return string();
      case 0x5b: {
        i++;
        const items = [];
        for (let first = true; ; first = false) {
          const p = ws();
          if (p === undefined) peekFail('EOF while parsing a list');
          if (p === 0x5d) break;
          if (!first) {
            if (p !== 0x2c) peekFail('expected `,` or `]`');
            i++; // `[1,]` then fails as "expected value", as serde_json's lists do
          }
          items.push(value());
        }
        i++;
        return { type: 'array', items, start, end: i };
      }
      case 0x7b: {
        i++;
        const entries = [];
        for (let first = true; ; first = false) {
          const p = ws();
          if (p === undefined) peekFail('EOF while parsing an object');
          if (p === 0x7d) break;
          if (first) {
            if (p !== 0x22) peekFail('key must be a string');
          } else {
            if (p !== 0x2c) peekFail('expected `,` or `}`');
            i++;
            const q = ws();
            if (q === 0x7d) peekFail('trailing comma');
            if (q === undefined) peekFail('EOF while parsing a value');
            if (q !== 0x22) peekFail('key must be a string');
          }
          const key = string();
          const c = ws();
          if (c === undefined) peekFail('EOF while parsing an object');
          if (c !== 0x3a) peekFail('expected `:`');
          i++;
          entries.push({ key: key.value, keyEnd: key.end, node: value() });
        }
        i++;
        return { type: 'object', entries, start, end: i };
      }
      default:
        if (b === 0x2d || isDigit(b)) return number();
        peekFail('expected value');
    }
  }

  const root = value();
  if (ws() !== undefined) {
    const e = new JsonSyntaxError('trailing characters', Math.min(i + 1, n));
    e.value = root;
    throw e;
  }
  return root;
}

/** The node's value as JSON.parse would give it (numbers as numbers). */
export function plain(node) {
  switch (node.type) {
    case 'object': {
      const out = {};
      for (const { key, node: v } of node.entries) out[key] = plain(v);
      return out;
    }
    case 'array':
      return node.items.map(plain);
    case 'number':
      return node.int !== null ? Number(node.int) : node.float;
    case 'null':
      return null;
    default:
      return node.value;
  }
}

/** The entries of an object node as serde_json's `Value` keeps them: the last of duplicate keys, at the first one's place. */
export function lastWins(node) {
  const map = new Map();
  for (const { key, node: v } of node.entries) map.set(key, v);
  return map;
}

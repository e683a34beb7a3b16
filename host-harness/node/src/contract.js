// Everything this host knows about the contract's (wit/, pms:smartlock@0.3.0)
// shapes beyond what the generated bindings carry, in one place: the plain
// sentence of each `error` variant, the brands as the component lists them
// (`admin.brands`, R30), credentials as named fields, code events as
// records, and the conversions at the boundary (instants are numbers here,
// bigints in the bindings). A change of the contract is an edit here.
//
// This host names no brand: connect forms, credential fields and the
// allow-list all come from the component's `brands()` list, read once when
// the component is loaded (`LoadedComponent.brands`). A new brand in the
// plugin needs no change here.

const fieldName = (field) => String(field).replace(/-/g, '_');

/** Display names of the brands loaded components listed (R30), by id, for sentences. */
const BRAND_NAMES = new Map();

/** Remembers the display names of `brands` (`{id, name}`), as smartlock-host does. */
export function learnBrandNames(brands) {
  for (const b of brands) if (!BRAND_NAMES.has(b.id)) BRAND_NAMES.set(b.id, b.name);
}

/**
 * The plain sentence of each WIT `error` variant, as smartlock-host's
 * `PluginError` Display writes it (field names with underscores).
 * @type {Record<string, (payload: any) => string>}
 */
export const ERROR_SENTENCES = {
  'invalid-input': (f) => `${fieldName(f.field)} ${f.reason}`,
  'not-found': (f) => `${fieldName(f.field)} ${f.reason}`,
  'not-connected': (brand) =>
    brand === undefined
      ? 'no account of that lock brand is connected'
      : `no ${BRAND_NAMES.get(brand) ?? brand} account is connected`,
  'credentials-rejected': (m) => `the credentials were refused: ${m}`,
  'lock-not-remote': (m) => m,
  'other-brand-assigned': (m) => m,
  'unknown-brand': (m) => m,
  'vendor-unavailable': (m) => `the lock vendor is unavailable: ${m}`,
  'storage-failed': (m) => `storage failed: ${m}`,
};

/** The sentence of a WIT `error` value `{tag, val}`. */
export function errorSentence(error) {
  const sentence = ERROR_SENTENCES[error?.tag];
  if (sentence) return sentence(error.val);
  return error?.val === undefined ? String(error?.tag) : `${error.tag}: ${JSON.stringify(jsonSafe(error.val))}`;
}

// ---- brands (R30) ------------------------------------------------------------

/**
 * A brand list as `admin.brands` gives it, checked and frozen: `[{id, name,
 * credentials: [{name, label, help, secret, hostSupplied}], lockNeeds,
 * origins}]`, in the order a panel shows them (none: the allow-list is
 * empty). Throws on a list a host cannot use (a brand without an id, an id
 * listed twice).
 */
export function brandList(list) {
  if (!Array.isArray(list)) throw new Error('the brand list is not a list');
  const seen = new Set();
  return Object.freeze(
    list.map((b, i) => {
      if (typeof b?.id !== 'string' || b.id === '') throw new Error(`brand ${i + 1} has no id`);
      if (seen.has(b.id)) throw new Error(`brand ${JSON.stringify(b.id)} is listed twice`);
      seen.add(b.id);
      const credentials = (b.credentials ?? []).map((f) =>
        Object.freeze({
          name: String(f.name),
          label: String(f.label ?? f.name),
          help: String(f.help ?? ''),
          secret: Boolean(f.secret),
          hostSupplied: Boolean(f.hostSupplied),
        }),
      );
      return Object.freeze({
        id: b.id,
        name: String(b.name ?? b.id),
        credentials: Object.freeze(credentials),
        lockNeeds: String(b.lockNeeds ?? ''),
        origins: Object.freeze((b.origins ?? []).map(String)),
      });
    }),
  );
}

/** The brand of `id` in `brands`, or `undefined`. */
export function brandOf(brands, id) {
  return brands.find((b) => b.id === id);
}

/** The fields of a brand's connect form the manager types (not host-supplied), by name. */
export function typedFields(brand) {
  return brand.credentials.filter((f) => !f.hostSupplied).map((f) => f.name);
}

/** Every credential field name some brand's form has, in the brands' order. */
export function credentialFieldNames(brands) {
  return [...new Set(brands.flatMap((b) => b.credentials.map((f) => f.name)))];
}

/**
 * The WIT `list<credential>`: from a list of `{name, value}` (kept as is)
 * or an object of values by field name (`{client_id: 'a', ...}`, its
 * `undefined` and `null` values left out).
 */
export function credentialList(credentials) {
  if (Array.isArray(credentials)) return credentials.map((c) => ({ name: String(c.name), value: String(c.value) }));
  if (!credentials || typeof credentials !== 'object') throw new TypeError('credentials: a list of {name, value} or an object');
  return Object.entries(credentials)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([name, value]) => ({ name, value: String(value) }));
}

/**
 * The credentials a host sends for `brand`: the fields `given` (by name),
 * plus each host-supplied field of the brand's form that `given` lacks,
 * from `supplied` (the host's own configuration, e.g. the application a
 * PMS registered with the vendor; `''` when it has none, so the plugin
 * names the field). Fields the brand's form does not have are sent too:
 * the plugin refuses them by name.
 */
export function connectCredentials(brand, given, supplied = {}) {
  const out = credentialList(given);
  for (const field of brand?.credentials ?? []) {
    if (field.hostSupplied && !out.some((c) => c.name === field.name)) {
      out.push({ name: field.name, value: String(supplied?.[field.name] ?? '') });
    }
  }
  return out;
}

/**
 * An assignment's WIT `settings`: `{daysBefore?, marginMinutes?,
 * backupCodes?}`, a field left out keeps its value (R5, R25).
 */
export function settingsIn(settings = {}) {
  const out = {};
  for (const name of ['daysBefore', 'marginMinutes', 'backupCodes']) {
    if (settings[name] !== undefined && settings[name] !== null) out[name] = settings[name];
  }
  return out;
}

// ---- code events (R27, R28) ---------------------------------------------------

/** Longest event id the `code-events` import accepts, in bytes (smartlock-host's). */
export const MAX_EVENT_ID_BYTES = 512;
/** Longest event, as its stored JSON, in bytes (smartlock-host's). */
export const MAX_EVENT_BYTES = 16 * 1024;

const pascal = (kebab) => kebab.replace(/(^|-)([a-z])/g, (_, __, c) => c.toUpperCase());
const kebab = (name) => name.replace(/[A-Z]/g, (c, i) => (i === 0 ? '' : '-') + c.toLowerCase());

/**
 * A `code-event` (the bindings' record) as the hosts store it: the JSON
 * smartlock-host's serde writes (snake-case fields, `null` for an absent
 * option, the kind as its Rust variant name, e.g. `"OnLock"`), so one
 * `events` table reads the same whichever host wrote it.
 */
export function eventToJson(e) {
  const opt = (v) => (v === undefined ? null : v);
  return JSON.stringify({
    id: e.id,
    at: Number(e.at),
    kind: pascal(String(e.kind)),
    booking_id: opt(e.bookingId),
    property_id: opt(e.propertyId),
    brand: opt(e.brand),
    lock_id: opt(e.lockId),
    door: opt(e.door),
    at_risk: opt(e.atRisk),
    detail: e.detail,
  });
}

/** A stored event's JSON (`eventToJson`) back as `{id, at, kind, bookingId?, ...}` (kind kebab-case, as the bindings). */
export function eventFromJson(json) {
  const e = JSON.parse(json);
  const out = { id: e.id, at: e.at, kind: kebab(e.kind) };
  if (e.booking_id != null) out.bookingId = e.booking_id;
  if (e.property_id != null) out.propertyId = e.property_id;
  if (e.brand != null) out.brand = e.brand;
  if (e.lock_id != null) out.lockId = e.lock_id;
  if (e.door != null) out.door = e.door;
  if (e.at_risk != null) out.atRisk = e.at_risk;
  out.detail = e.detail;
  return out;
}

// ---- the boundary -------------------------------------------------------------

/** Turns an instant (seconds, number or bigint) into the bindings' bigint. */
export function toInstant(seconds) {
  if (typeof seconds === 'bigint') return seconds;
  if (!Number.isFinite(seconds)) throw new TypeError(`not an instant: ${seconds}`);
  return BigInt(Math.floor(seconds));
}

/** Deep copy of an export's result with bigints (instants) as numbers. */
export function fromBindings(value) {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(fromBindings);
  if (value instanceof Uint8Array) return value;
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromBindings(v);
    return out;
  }
  return value;
}

function jsonSafe(value) {
  return typeof value === 'bigint' ? Number(value) : value;
}

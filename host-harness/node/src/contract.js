// Everything this host knows about the contract's (wit/) shapes beyond what
// the generated bindings carry, in one place: the plain sentence of each
// `error` variant, the credentials of each vendor, the vendor origins, and
// the conversions at the boundary (instants are numbers here, bigints in the
// bindings). A change of the contract is an edit here.

/** The lock vendors (the WIT `provider` enum). */
export const PROVIDERS = ['igloohome', 'nuki', 'ttlock'];

/** Brand names as sentences show them. */
export const PROVIDER_NAMES = { igloohome: 'igloohome', nuki: 'Nuki', ttlock: 'TTLock' };

/**
 * The real vendor origins the plugin calls, per provider (the default
 * allow-list: `VendorRoutes.vendors()`).
 */
export const VENDOR_ORIGINS = {
  igloohome: ['https://auth.igloohome.co', 'https://api.igloodeveloper.co'],
  nuki: ['https://api.nuki.io'],
  ttlock: ['https://euapi.ttlock.com'],
};

/**
 * Where a `host-harness stub` world serves each vendor, below its base URL:
 * igloohome at the root (`/oauth2/token`, `/igloohome/...`), the others
 * under their name (host-harness/stubs/src/world.rs).
 */
export const STUB_PREFIXES = { igloohome: '', nuki: '/nuki', ttlock: '/ttlock' };

const fieldName = (field) => String(field).replace(/-/g, '_');

/**
 * The plain sentence of each WIT `error` variant, as smartlock-host's
 * `PluginError` Display writes it (field names with underscores).
 * @type {Record<string, (payload: any) => string>}
 */
export const ERROR_SENTENCES = {
  'invalid-input': (f) => `${fieldName(f.field)} ${f.reason}`,
  'not-found': (f) => `${fieldName(f.field)} ${f.reason}`,
  'not-connected': (provider) =>
    provider === undefined
      ? 'no account of that lock brand is connected'
      : `no ${PROVIDER_NAMES[provider] ?? provider} account is connected`,
  'credentials-rejected': (m) => `the credentials were refused: ${m}`,
  'lock-not-remote': (m) => m,
  'lock-needs-bridge': (m) => m, // the 0.1 name of `lock-not-remote`
  'other-provider-assigned': (m) => m,
  'provider-unsupported': (m) => m,
  'vendor-unavailable': (m) => `the lock vendor is unavailable: ${m}`,
  'storage-failed': (m) => `storage failed: ${m}`,
};

/** The sentence of a WIT `error` value `{tag, val}`. */
export function errorSentence(error) {
  const sentence = ERROR_SENTENCES[error?.tag];
  if (sentence) return sentence(error.val);
  return error?.val === undefined ? String(error?.tag) : `${error.tag}: ${JSON.stringify(jsonSafe(error.val))}`;
}

/** Builders of the WIT `credentials` variant, one per vendor (R1). */
export const credentials = {
  igloohome: (clientId, clientSecret) => ({ tag: 'igloohome', val: { clientId, clientSecret } }),
  nuki: (apiToken) => ({ tag: 'nuki', val: apiToken }),
  ttlock: ({ username, password, clientId, clientSecret }) => ({
    tag: 'ttlock',
    val: { username, password, clientId, clientSecret },
  }),
};

/**
 * Calls `admin.connect` with a `credentials` variant. A component built
 * before the variant (`connect(provider, client-id, client-secret)`, three
 * parameters) gets the igloohome fields; drop that branch once every
 * component takes the variant.
 */
export function callConnect(admin, creds) {
  if (admin.connect.length >= 3) {
    if (creds.tag !== 'igloohome') {
      throw Object.assign(new TypeError(`this plugin build connects igloohome only, not ${creds.tag}`), {
        unsupported: true,
      });
    }
    return admin.connect(creds.tag, creds.val.clientId, creds.val.clientSecret);
  }
  return admin.connect(creds);
}

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

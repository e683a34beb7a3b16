// Everything this host knows about the contract's (wit/) shapes beyond what
// the generated bindings carry, in one place: the plain sentence of each
// `error` variant, the credentials of each vendor, the vendor origins, and
// the conversions at the boundary (instants are numbers here, bigints in the
// bindings). A change of the contract is an edit here.

/**
 * Everything this host knows of each lock brand, in one table (contract
 * 0.3.0 lists brands as data; this table then comes from the plugin):
 * `name` as sentences show it; `credentials`, the fields a connect (a
 * scenario's `connect` step, a PMS form) must give, turned into the WIT
 * `credentials` variant (`app` holds fields the host adds itself, as the
 * TTLock application of a scenario's world); `origins`, the real vendor
 * origins the plugin calls (the default allow-list); `stubPrefix`, where
 * a `host-harness stub` world serves the brand below its base URL. The
 * first brand is the one a scenario step means without `provider`.
 */
export const BRANDS = {
  igloohome: {
    name: 'igloohome',
    credentialFields: ['client_id', 'client_secret'],
    credentials: (f) => ({ tag: 'igloohome', val: { clientId: f.client_id, clientSecret: f.client_secret } }),
    origins: ['https://auth.igloohome.co', 'https://api.igloodeveloper.co'],
    stubPrefix: '',
  },
  nuki: {
    name: 'Nuki',
    credentialFields: ['api_token'],
    credentials: (f) => ({ tag: 'nuki', val: f.api_token }),
    origins: ['https://api.nuki.io'],
    stubPrefix: '/nuki',
  },
  ttlock: {
    name: 'TTLock',
    credentialFields: ['username', 'password'],
    credentials: (f, app = {}) => ({
      tag: 'ttlock',
      val: {
        username: f.username,
        password: f.password,
        clientId: f.client_id ?? app.client_id,
        clientSecret: f.client_secret ?? app.client_secret,
      },
    }),
    origins: ['https://euapi.ttlock.com'],
    stubPrefix: '/ttlock',
  },
};

const brandEntries = Object.entries(BRANDS);

/** The lock vendors (the WIT `provider` enum). */
export const PROVIDERS = Object.keys(BRANDS);

/** The brand a scenario step means without `provider`. */
export const DEFAULT_PROVIDER = PROVIDERS[0];

/** Every credential field some brand takes (a `connect` step's fields). */
export const CREDENTIAL_FIELDS = [...new Set(brandEntries.flatMap(([, b]) => b.credentialFields))];

/** Brand names as sentences show them. */
export const PROVIDER_NAMES = Object.fromEntries(brandEntries.map(([id, b]) => [id, b.name]));

/** The real vendor origins the plugin calls, per provider (the default allow-list: `VendorRoutes.vendors()`). */
export const VENDOR_ORIGINS = Object.fromEntries(brandEntries.map(([id, b]) => [id, b.origins]));

/** Where a `host-harness stub` world serves each brand, below its base URL (host-harness/stubs/src/world.rs). */
export const STUB_PREFIXES = Object.fromEntries(brandEntries.map(([id, b]) => [id, b.stubPrefix]));

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
  igloohome: (clientId, clientSecret) => BRANDS.igloohome.credentials({ client_id: clientId, client_secret: clientSecret }),
  nuki: (apiToken) => BRANDS.nuki.credentials({ api_token: apiToken }),
  ttlock: ({ username, password, clientId, clientSecret }) =>
    BRANDS.ttlock.credentials({ username, password, client_id: clientId, client_secret: clientSecret }),
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

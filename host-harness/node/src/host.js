// The sandbox: the plugin component, transpiled by jco (`npm run build`),
// loaded once per process; one handle per tenant (PMS account).
//
// - Instances: by default every call gets a fresh instance, as smartlock-host
//   gives every call a fresh Store: nothing a call leaves in the guest's
//   memory (a half-done panic, a grown heap) reaches the next call, and a
//   trap or a failed host import costs only that call. It costs about a
//   millisecond per call (the guest's 1.1 MiB memory image is copied in).
//   `instances: 'per-tenant'` keeps one instance per tenant instead and
//   discards it on any trap or host exception (and after `maxCallsPerInstance`
//   calls); the plugin keeps no state in memory between calls, so its
//   answers are the same, only faster.
// - Calls of one tenant id are serialised (a promise queue shared by every
//   handle of that id); tenants interleave between calls. A call itself is
//   synchronous JavaScript: it blocks the thread while the plugin runs,
//   including while it waits for a vendor through the `http` import.
// - WASI: randomness only (see wasi.js); the guest's stdout and stderr are
//   kept per call for the log and for trap messages.
// - Limits: HTTP requests get what is left of the call's wall-time budget
//   (`callWallLimitMs`); log lines are capped per call; linear memory is
//   capped by the build (a maximum written into the core module). Node
//   cannot interrupt synchronous wasm, so there is no plugin-time deadline:
//   see README.md.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { callConnect, fromBindings, toInstant } from './contract.js';
import { InstantiateError, PluginError, TrapError, isComponentError } from './errors.js';
import { HttpError, SyncHttpClient, VendorRoutes, parseTarget } from './http.js';
import { SystemClock } from './clock.js';
import { ConsoleLogger } from './log.js';
import { StorageError, SqliteDb } from './storage.js';
import { substitute } from './template.js';
import { WakeUps } from './wakeups.js';
import { wasiImports, GuestExit } from './wasi.js';

/** Where `npm run build` puts the transpiled component. */
export const DEFAULT_COMPONENT_DIR = fileURLToPath(new URL('../gen/', import.meta.url));

/** Per-call limits (smartlock-host's defaults where it has one). */
export const DEFAULT_LIMITS = {
  /** Time one call may take in all; HTTP requests get only what is left. */
  callWallLimitMs: 60_000,
  /** Plugin log lines kept per call. */
  maxLogLinesPerCall: 10_000,
  /** Longest plugin log message kept, in bytes. */
  maxLogMessageBytes: 8 * 1024,
};

/** Longest dedup key, subject and body the `email` import accepts, in bytes. */
export const EMAIL_LIMITS = { dedupKey: 512, subject: 1024, body: 64 * 1024 };

const HTTP_METHODS = { get: 'GET', post: 'POST', put: 'PUT', delete: 'DELETE' };

/**
 * The transpiled component: its generated JS and compiled core modules.
 * Load once (compiling takes a moment); share between `Host`s.
 */
export class LoadedComponent {
  /** @param {string} [dir] the folder `npm run build` wrote (default `gen/`) */
  static async load(dir = process.env.SMARTLOCK_NODE_COMPONENT_DIR || DEFAULT_COMPONENT_DIR) {
    let manifest;
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    } catch (e) {
      throw new Error(`no transpiled component in ${dir} (run \`npm run build\` in host-harness/node): ${e.message}`);
    }
    const started = performance.now();
    const modules = new Map();
    for (const name of manifest.coreModules) {
      modules.set(name, await WebAssembly.compile(readFileSync(join(dir, name))));
    }
    const bindings = await import(pathToFileURL(join(dir, manifest.js)).href);
    return new LoadedComponent(bindings, modules, manifest, performance.now() - started);
  }

  constructor(bindings, modules, manifest, loadMs) {
    this.bindings = bindings;
    this.modules = modules;
    /** `{source, sha256, bytes, jco, ...}` as the build wrote it. */
    this.manifest = manifest;
    this.loadMs = loadMs;
    this.getCoreModule = (name) => {
      const m = this.modules.get(name);
      if (!m) throw new Error(`core module ${name} missing from the transpiled component`);
      return m;
    };
  }

  /** A fresh instance with `imports` (under the unversioned interface names). */
  instantiate(imports) {
    return this.bindings.instantiate(this.getCoreModule, imports);
  }
}

/**
 * The loaded plugin and its tenants. One per process (per component).
 */
export class Host {
  /**
   * Loads the transpiled component and makes a host.
   * @param {HostOptions & {componentDir?: string}} [options]
   */
  static async load(options = {}) {
    const component = await LoadedComponent.load(options.componentDir);
    return new Host(component, options);
  }

  /**
   * @param {LoadedComponent} component
   * @param {HostOptions} [options]
   */
  constructor(component, options = {}) {
    this.component = component;
    this.options = options;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.instances = options.instances ?? 'per-call';
    if (!['per-call', 'per-tenant'].includes(this.instances)) throw new TypeError(`instances: ${this.instances}`);
    this.maxCallsPerInstance = options.maxCallsPerInstance ?? 10_000;
    this.logger = options.logger ?? new ConsoleLogger();
    /** Each tenant's next wake-up, as its plugin reported it (R21). */
    this.wakeUps = new WakeUps();
    /** @type {Map<string, Promise<void>>} the tail of each tenant's queue */
    this._turns = new Map();
    this._defaultDb = null;
    this._defaultHttp = null;
  }

  /**
   * The same component in a new host: no instances, no wake-ups, no queues
   * (what a process restart leaves, without compiling again).
   */
  restarted() {
    return new Host(this.component, this.options);
  }

  /**
   * A handle to call the plugin as tenant `id`. Handles of one id share a
   * queue, whichever handle they come from.
   * @param {string} id the PMS account id (the tenant's storage namespace, log tag and queue key)
   * @param {TenantBackends} [backends]
   */
  tenant(id, backends = {}) {
    if (typeof id !== 'string' || id === '') throw new TypeError('a tenant id is a non-empty string');
    let { storage, mailer } = backends;
    if (!storage || !mailer) {
      this._defaultDb ??= new SqliteDb(':memory:');
      storage ??= this._defaultDb.tenant(id);
      mailer ??= storage.db instanceof SqliteDb ? storage.db.outbox(id) : this._defaultDb.outbox(id);
    }
    this._defaultHttp ??= new SyncHttpClient();
    return new TenantHandle(this, id, {
      storage,
      mailer,
      http: backends.http ?? this._defaultHttp,
      clock: backends.clock ?? new SystemClock(),
      logger: backends.logger ?? this.logger,
      routes: backends.routes ?? VendorRoutes.vendors(),
    });
  }

  /** Ids of the tenants whose wake-up is at or before `now` (seconds), earliest first. */
  dueTenants(now) {
    return this.wakeUps.due(now);
  }

  /** The instant (seconds) tenant `id` asked to be ticked at, or `null`. */
  nextWake(id) {
    return this.wakeUps.next(id);
  }

  /** The earliest wake-up of any tenant, `{at, tenant}`, or `null`: sleep until then. */
  earliestWake() {
    return this.wakeUps.earliest();
  }

  /** Runs `fn` in tenant `id`'s turn: after its earlier calls, before its later ones. */
  _turn(id, fn) {
    const previous = this._turns.get(id) ?? Promise.resolve();
    const run = previous.then(fn);
    const tail = run.then(
      () => {},
      () => {},
    );
    this._turns.set(id, tail);
    tail.then(() => {
      if (this._turns.get(id) === tail) this._turns.delete(id);
    });
    return run;
  }
}

/**
 * Calls the plugin as one tenant. Every method returns a promise and waits
 * for the tenant's earlier calls. Rejections: `PluginError` (the plugin's
 * answer was an `error`; show its message), `TrapError` and
 * `InstantiateError` (host-side failures, for operators).
 */
export class TenantHandle {
  constructor(host, id, backends) {
    this.host = host;
    this.id = id;
    /** The backends behind this tenant's imports. */
    this.backends = backends;
    this._instance = null;
  }

  // ---- events ------------------------------------------------------------

  /** A booking was created, changed or cancelled: `{booking, property}`. Plans only; fast. */
  onBookingChanged(event) {
    return this._call('on-booking-changed', (p) => p.events.onBookingChanged(event));
  }

  /** A property was created or changed; its codes are re-planned (R14). */
  onPropertyChanged(property) {
    return this._call('on-property-changed', (p) => p.events.onPropertyChanged(property));
  }

  /**
   * The periodic tick at `now` (seconds; default the tenant's clock): every
   * 1 to 15 minutes, and at `wakeUp()`; call again at once while the
   * summary says `moreDue`. @returns {Promise<{processed: number, vendorRequests: number, moreDue: boolean}>}
   */
  async onTick(now = this.backends.clock.now()) {
    try {
      return await this._call('on-tick', (p) => p.events.onTick(toInstant(now)));
    } catch (e) {
      // A failed tick left its wake-up in the past: drop it so that a host
      // loop does not tick this tenant again at once, forever.
      const wake = this.wakeUp();
      if (wake !== null && wake <= now) this.host.wakeUps.set(this.id, null);
      throw e;
    }
  }

  /** The instant (seconds) this tenant's plugin last asked to be ticked at, or `null`. */
  wakeUp() {
    return this.host.wakeUps.next(this.id);
  }

  // ---- messages ----------------------------------------------------------

  /** A message variable's value (`smartlock_code`, `nuki_code`), or `undefined`: leave it for other plugins. */
  renderVariable(name, bookingId) {
    return this._call('render-variable', (p) => p.messages.renderVariable(name, bookingId));
  }

  /** Substitutes the plugin's variables in a guest message template (R20), one call per variable. */
  render(template, bookingId) {
    return substitute(template, (name) => this.renderVariable(name, bookingId));
  }

  // ---- admin -------------------------------------------------------------

  /** Checks the credentials (`credentials.igloohome(id, secret)`, ...) against the vendor and stores them (R1). */
  connect(creds) {
    return this._call('connect', (p) => callConnect(p.admin, creds));
  }

  /** Forgets the provider's credentials and assignments; codes expire by themselves (R18). */
  disconnect(provider) {
    return this._call('disconnect', (p) => p.admin.disconnect(provider));
  }

  /** The connected accounts, one per vendor. */
  accounts() {
    return this._call('accounts', (p) => p.admin.accounts());
  }

  /** The provider's locks, with how codes reach each (R3). */
  listLocks(provider) {
    return this._call('list-locks', (p) => p.admin.listLocks(provider));
  }

  /** Puts a lock on a property or changes its lock or settings; `undefined` keeps a setting (R4, R5). */
  assign(propertyId, provider, lockId, daysBefore, marginMinutes) {
    return this._call('assign', (p) => p.admin.assign(propertyId, provider, lockId, daysBefore, marginMinutes));
  }

  /** Removes a property's lock (R17). */
  unassign(propertyId) {
    return this._call('unassign', (p) => p.admin.unassign(propertyId));
  }

  /** The property's assignment, or `undefined`. */
  getAssignment(propertyId) {
    return this._call('get-assignment', (p) => p.admin.getAssignment(propertyId));
  }

  /** Where a booking's code is: state, PIN, window, last error, next attempt. */
  bookingStatus(bookingId) {
    return this._call('booking-status', (p) => p.admin.bookingStatus(bookingId));
  }

  /**
   * Runs `fn(exports)` with one instance, in the tenant's turn: several
   * exports on one warm instance (benchmarks). Raw bindings: bigint
   * instants, jco's ComponentError for WIT errors.
   */
  withInstance(fn) {
    return this._call('with-instance', fn, { raw: true });
  }

  // ---- the machinery -----------------------------------------------------

  _call(exportName, fn, { raw = false } = {}) {
    return this.host._turn(this.id, () => this._callNow(exportName, fn, raw));
  }

  _callNow(exportName, fn, raw) {
    const host = this.host;
    const started = performance.now();
    const call = {
      export: exportName,
      deadline: Date.now() + host.limits.callWallLimitMs,
      logLines: 0,
      hostFailure: null,
    };
    let instance = this._instance;
    if (!instance) {
      try {
        instance = this._instantiate();
      } catch (e) {
        const message = `${exportName}: ${e?.message ?? e}`;
        this._log('error', 'plugin instantiation failed', { export: exportName, error: message });
        throw new InstantiateError(this.id, message, { cause: e });
      }
    }
    instance.call = call;
    instance.calls += 1;
    instance.wasi.stdout.reset();
    instance.wasi.stderr.reset();
    let keep = host.instances === 'per-tenant' && instance.calls < host.maxCallsPerInstance;
    try {
      const result = fn(instance.exports);
      this._guestOutput(instance, 'stderr');
      return raw ? result : fromBindings(result);
    } catch (e) {
      if (!raw && isComponentError(e) && !call.hostFailure) {
        this._guestOutput(instance, 'stderr');
        throw new PluginError(fromBindings(e.payload), { tenant: this.id, export: exportName });
      }
      keep = false;
      const message = describeFailure(exportName, e, call.hostFailure, instance.wasi.stderr.text(), call.lastErrorLog);
      const ms = Math.round((performance.now() - started) * 1000) / 1000;
      this._log('error', 'plugin call trapped', { export: exportName, ms, error: message });
      throw new TrapError(this.id, message, { cause: call.hostFailure?.error ?? e, hostFailure: Boolean(call.hostFailure) });
    } finally {
      this._guestOutput(instance, 'stdout');
      instance.call = null;
      this._instance = keep ? instance : null;
      if (this._logEnabled('debug')) {
        this._log('debug', 'plugin call', { export: exportName, ms: Math.round((performance.now() - started) * 1000) / 1000 });
      }
    }
  }

  _instantiate() {
    const instance = { exports: null, call: null, calls: 0, wasi: null };
    const { imports, stdout, stderr } = wasiImports();
    instance.wasi = { stdout, stderr };
    Object.assign(imports, this._contractImports(instance));
    instance.exports = this.host.component.instantiate(imports);
    return instance;
  }

  _logEnabled(level) {
    const logger = this.backends.logger;
    return typeof logger.enabled !== 'function' || logger.enabled(level);
  }

  _log(level, message, fields = {}) {
    this.backends.logger.log(level, message, { target: 'host', tenant: this.id, ...fields });
  }

  _guestOutput(instance, stream) {
    const text = instance.wasi[stream].text().trimEnd();
    if (text) {
      this._log('warn', `plugin wrote to ${stream}: ${truncate(text, 4096)}`, { target: 'plugin', stream });
    }
    instance.wasi[stream].reset();
  }

  /**
   * The contract's imports for one instance. A WIT error is thrown as its
   * plain `{tag, val}` value (jco turns that into the `err` case); anything
   * else thrown is a host failure: recorded, and the call traps.
   */
  _contractImports(instance) {
    const b = this.backends;
    const tenant = this.id;
    const guard = (name, f) =>
      (...args) => {
        try {
          return f(...args);
        } catch (e) {
          if (e instanceof WitError) throw e.value;
          if (instance.call && !instance.call.hostFailure) instance.call.hostFailure = { name, error: e };
          throw e;
        }
      };
    return {
      'pms:smartlock/types': {},
      'pms:smartlock/clock': {
        now: guard('clock.now', () => toInstant(b.clock.now())),
      },
      'pms:smartlock/scheduler': {
        wakeAt: guard('scheduler.wake-at', (at) => {
          this.host.wakeUps.set(tenant, at === undefined ? null : Number(at));
        }),
      },
      'pms:smartlock/log': {
        log: guard('log.log', (level, message) => {
          const call = instance.call;
          if (call && level === 'error') {
            // Kept even past the line budget: a panic's message, logged just
            // before the trap, describes the failed call (as in smartlock-host).
            call.lastErrorLog = truncate(message, this.host.limits.maxLogMessageBytes);
          }
          if (call) {
            call.logLines += 1;
            if (call.logLines === this.host.limits.maxLogLinesPerCall + 1) {
              this._log('warn', `plugin log budget of ${this.host.limits.maxLogLinesPerCall} lines per call spent; dropping the rest`);
            }
            if (call.logLines > this.host.limits.maxLogLinesPerCall) return;
          }
          b.logger.log(level, truncate(message, this.host.limits.maxLogMessageBytes), { target: 'plugin', tenant });
        }),
      },
      'pms:smartlock/email': {
        sendToOwner: guard('email.send-to-owner', (dedupKey, subject, body) => {
          for (const [field, value, max] of [
            ['dedup-key', dedupKey, EMAIL_LIMITS.dedupKey],
            ['subject', subject, EMAIL_LIMITS.subject],
            ['body', body, EMAIL_LIMITS.body],
          ]) {
            const n = Buffer.byteLength(value, 'utf8');
            if (n > max) throw new WitError(`${field} of ${n} bytes exceeds ${max} bytes`);
          }
          if (dedupKey === '') throw new WitError('dedup-key is empty');
          const at = b.clock.now();
          let queued;
          try {
            queued = b.mailer.record(dedupKey, at, subject, body);
          } catch (e) {
            this._log('warn', 'e-mail could not be queued', { dedup_key: dedupKey, error: e.message });
            throw new WitError(e.message);
          }
          if (queued) this._log('info', 'e-mail to the owner queued', { dedup_key: dedupKey, at });
          else this._log('debug', 'e-mail already sent for this key; dropped', { dedup_key: dedupKey });
        }),
      },
      'pms:smartlock/storage': {
        get: guard('storage.get', (key) => this._storage('get', () => b.storage.get(key))),
        set: guard('storage.set', (key, value) => this._storage('set', () => b.storage.set(key, value))),
        delete: guard('storage.delete', (key) => this._storage('delete', () => b.storage.delete(key))),
        apply: guard('storage.apply', (writes) => this._storage('apply', () => b.storage.apply(writes))),
        list: guard('storage.list', (prefix, startAfter, limit) =>
          this._storage('list', () => b.storage.list(prefix, startAfter, limit)),
        ),
      },
      'pms:smartlock/http': {
        send: guard('http.send', (request) => this._send(instance, request)),
      },
    };
  }

  _storage(op, f) {
    try {
      return f();
    } catch (e) {
      if (e instanceof StorageError) {
        if (e.kind === 'unavailable') this._log('warn', 'storage failed', { op, message: e.detail });
        throw new WitError(e.toWit());
      }
      throw e;
    }
  }

  _send(instance, request) {
    const b = this.backends;
    const method = HTTP_METHODS[request.method] ?? String(request.method).toUpperCase();
    let target, url;
    try {
      target = parseTarget(request.url);
      url = b.routes.route(target);
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      this._log('warn', 'plugin HTTP request refused', { method, error: e.message });
      throw new WitError(e.toWit());
    }
    const left = (instance.call?.deadline ?? Infinity) - Date.now();
    if (left <= 0) {
      this._log('warn', "plugin HTTP request refused: the call's time is up", { method, origin: target.origin, path: target.path });
      throw new WitError({ tag: 'timeout' });
    }
    const started = performance.now();
    try {
      const response = b.http.send({ method, url, headers: request.headers, body: request.body, timeoutMs: left });
      this._log('debug', 'vendor request', {
        method,
        origin: target.origin,
        path: target.path,
        status: response.status,
        ms: Math.round(performance.now() - started),
      });
      return { status: response.status, headers: response.headers, body: response.body };
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      this._log('debug', 'vendor request failed', {
        method,
        origin: target.origin,
        path: target.path,
        error: e.message,
        ms: Math.round(performance.now() - started),
      });
      throw new WitError(e.toWit());
    }
  }
}

/** A WIT `err` value an import returns (thrown, unwrapped by `guard`). */
class WitError {
  constructor(value) {
    this.value = value;
  }
}

function truncate(text, maxBytes) {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8').subarray(0, maxBytes);
  return bytes.toString('utf8').replace(/\uFFFD$/, '');
}

/**
 * A one-line account of a failed call, with the guest's panic message: its
 * last error log line (the component has no stderr, R23), or what a
 * component that still imports WASI printed.
 */
function describeFailure(exportName, error, hostFailure, stderr, lastErrorLog) {
  let what;
  if (hostFailure) {
    what = `host import ${hostFailure.name} failed: ${hostFailure.error?.message ?? hostFailure.error}`;
  } else if (error instanceof GuestExit) {
    what = error.message;
  } else if (error instanceof WebAssembly.RuntimeError && /unreachable/.test(error.message)) {
    what = 'aborted (unreachable instruction: a panic or abort)';
  } else if (error instanceof RangeError && /call stack/.test(error.message)) {
    what = 'stack overflow';
  } else {
    what = error?.message ?? String(error);
  }
  const panic = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('note:'));
  let message = `${exportName}: ${what}`;
  if (lastErrorLog?.trim()) message += ` — ${truncate(lastErrorLog.trim(), 1024)}`;
  else if (panic.length) message += ` — ${truncate(panic.join(' '), 1024)}`;
  return message;
}

/**
 * @typedef {object} HostOptions
 * @property {'per-call'|'per-tenant'} [instances] fresh instance per call (default), or one per tenant discarded on any failure
 * @property {number} [maxCallsPerInstance] with `per-tenant`: make a new instance after this many calls (default 10 000)
 * @property {Partial<typeof DEFAULT_LIMITS>} [limits]
 * @property {{log(level: string, message: string, fields?: object): void}} [logger] default: ConsoleLogger on stderr
 */

/**
 * @typedef {object} TenantBackends
 * @property {{get: Function, apply: Function, list: Function, set: Function, delete: Function}} [storage] default: an in-memory SQLite namespace
 * @property {{record(dedupKey: string, at: number, subject: string, body: string): boolean}} [mailer] the e-mail outbox; default: the storage's database's outbox
 * @property {{send(request: object): object}} [http] the transport behind the allow-list (default: a shared SyncHttpClient)
 * @property {{now(): number}} [clock] default: SystemClock
 * @property {{log(level: string, message: string, fields?: object): void}} [logger] default: the host's
 * @property {VendorRoutes} [routes] the allow-list; default: every vendor's real origins
 */

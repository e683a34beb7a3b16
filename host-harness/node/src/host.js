// The sandbox: the plugin component, transpiled by jco (`npm run build`),
// loaded once per process; one handle per tenant (PMS account).
//
// - Threads: every call runs in a worker thread of a small pool (pool.js,
//   worker.js), never on the caller's event loop, and the promise API is
//   the same as with one thread. The `http` import's synchronous wait is
//   inside the worker (its request runs on a helper thread of that worker).
//   Calls of one tenant id are serialised (a promise queue shared by every
//   handle of that id, here on the host's thread); different tenants run in
//   parallel, one per worker.
// - Backends: the shipped ones (SQLite file, system or simulated clock,
//   SyncHttpClient, VendorRoutes) are rebuilt inside the worker; a PMS's
//   own objects stay on the host's thread and the worker waits for their
//   answers (backends.js). They must answer synchronously and quickly: the
//   worker waits, and their work is on the event loop.
// - Instances: by default a worker keeps one instance per tenant and reuses
//   it for the tenant's next call; it is dropped after any trap or host
//   exception, after `maxCallsPerInstance` calls, when its memory grew past
//   the cap, and when the worker keeps more than `instancesPerWorker`. The
//   plugin keeps no state in memory between calls, so the answers are the
//   same as with `instances: 'per-call'` (a fresh instance every call, as
//   smartlock-host gives every call a fresh Store).
// - Limits (smartlock-host's defaults): `callTimeoutMs` of plugin time
//   (time in imports not counted) and `callWallLimitMs` in all per call,
//   enforced by terminating the worker (the call fails with a TrapError
//   naming the limit, a fresh worker takes its place); linear memory capped
//   at `memoryLimitBytes` in the core modules, and checked after each call;
//   the worker's JS heap capped at `workerHeapMiB`; HTTP requests get what
//   is left of the wall time; log lines capped per call.
// - WASI: randomness only (see wasi.js); the guest's stdout and stderr are
//   kept per call for the log and for trap messages.

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { backendSpec, backendVersion, unpackError } from './backends.js';
import { EMAIL_LIMITS, checkMemory, instantiate, invoke } from './call.js';
import { SystemClock } from './clock.js';
import { brandList, credentialList, learnBrandNames } from './contract.js';
import { InstantiateError, PluginError, TrapError } from './errors.js';
import { SyncHttpClient, VendorRoutes } from './http.js';
import { ConsoleLogger, LEVELS } from './log.js';
import { capMemory } from './memory.js';
import { WorkerPool } from './pool.js';
import { SqliteDb } from './storage.js';
import { substitute } from './template.js';
import { WakeUps } from './wakeups.js';

export { EMAIL_LIMITS };

/** Where `npm run build` puts the transpiled component. */
export const DEFAULT_COMPONENT_DIR = fileURLToPath(new URL('../gen/', import.meta.url));

const MIB = 1024 * 1024;

/** Per-call limits (smartlock-host's defaults where it has one). */
export const DEFAULT_LIMITS = {
  /** Plugin time one call may use; time blocked in imports (a vendor, storage) is not counted. */
  callTimeoutMs: 5_000,
  /** Time one call may take in all; HTTP requests get only what is left. */
  callWallLimitMs: 60_000,
  /** Linear memory of an instance (default: the cap the build wrote, 64 MiB). */
  memoryLimitBytes: 64 * MIB,
  /** JS heap of each worker thread (V8's old generation), in MiB. */
  workerHeapMiB: 256,
  /** Plugin log lines kept per call. */
  maxLogLinesPerCall: 10_000,
  /** Longest plugin log message kept, in bytes. */
  maxLogMessageBytes: 8 * 1024,
};

/** Workers of a host when `workers` is not given: 2 to 4, by the machine's cores. */
export function defaultWorkers() {
  return Math.max(2, Math.min(4, availableParallelism()));
}

let hostIds = 0;
let specKeys = 0;

/**
 * The transpiled component: its generated JS and compiled core modules.
 * Load once (compiling takes a moment); share between `Host`s. Hosts with
 * the same pool settings share its worker pool.
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
    const bindingsUrl = pathToFileURL(join(dir, manifest.js)).href;
    const bindings = await import(bindingsUrl);
    const component = new LoadedComponent(bindings, modules, manifest, 0, { dir, bindingsUrl });
    void component.brands; // read at load: a component without a usable list fails here
    component.loadMs = performance.now() - started;
    return component;
  }

  constructor(bindings, modules, manifest, loadMs, { dir = null, bindingsUrl = null } = {}) {
    this.bindings = bindings;
    this.modules = modules;
    /** `{source, sha256, bytes, jco, memoryLimitMiB, ...}` as the build wrote it. */
    this.manifest = manifest;
    this.loadMs = loadMs;
    this.dir = dir;
    this.bindingsUrl = bindingsUrl;
    /** @type {Map<number, Promise<Map<string, WebAssembly.Module>>>} memory cap (pages) -> modules */
    this._capped = new Map();
    /** @type {Map<string, {pool: WorkerPool, users: number}>} */
    this._pools = new Map();
    this._brands = null;
    this.getCoreModule = (name) => {
      const m = this.modules.get(name);
      if (!m) throw new Error(`core module ${name} missing from the transpiled component`);
      return m;
    };
  }

  /**
   * The brands the component manages, as its `admin.brands` lists them
   * (R30), read once (on this thread, a fresh instance that reaches no
   * backend): `[{id, name, credentials: [{name, label, help, secret,
   * hostSupplied}], lockNeeds, origins}]`. The host's default allow-list,
   * connect forms and the scenario runner's brand ids all come from it.
   */
  get brands() {
    if (this._brands === null) this._brands = readBrands(this);
    return this._brands;
  }

  /** The brand of `id`, or `undefined`. */
  brand(id) {
    return this.brands.find((b) => b.id === id);
  }

  /** The linear memory cap the build wrote into the core modules, in bytes. */
  get builtMemoryLimitBytes() {
    return (this.manifest.memoryLimitMiB ?? 64) * MIB;
  }

  /** A fresh instance with `imports` (under the unversioned interface names), on this thread. */
  instantiate(imports) {
    return this.bindings.instantiate(this.getCoreModule, imports);
  }

  /** The core modules with linear memory capped at `bytes` (compiled again unless the build's cap). */
  modulesCappedAt(bytes) {
    const pages = Math.floor(bytes / 65536);
    if (pages === Math.floor(this.builtMemoryLimitBytes / 65536)) return Promise.resolve(this.modules);
    let modules = this._capped.get(pages);
    if (!modules) {
      modules = (async () => {
        const out = new Map();
        for (const name of this.manifest.coreModules) {
          const bytes = readFileSync(join(this.dir, name));
          out.set(name, await WebAssembly.compile(capMemory(bytes, pages, { exact: true }) ?? bytes));
        }
        return out;
      })();
      this._capped.set(pages, modules);
    }
    return modules;
  }

  /** The shared pool for these settings (made on first use); `release` it when done. */
  async acquirePool({ workers, memoryLimitBytes, workerHeapMiB, instancesPerWorker }) {
    if (!this.bindingsUrl) throw new Error('this component was not loaded from a folder: it cannot run in workers');
    const key = `${workers}/${Math.floor(memoryLimitBytes / 65536)}/${workerHeapMiB}/${instancesPerWorker}`;
    let entry = this._pools.get(key);
    if (!entry) {
      const modules = await this.modulesCappedAt(memoryLimitBytes);
      entry = this._pools.get(key); // another host may have made it meanwhile
      if (!entry) {
        const pool = new WorkerPool({ bindingsUrl: this.bindingsUrl, modules, size: workers, instancesPerWorker, workerHeapMiB });
        entry = { pool, users: 0, key };
        this._pools.set(key, entry);
      }
    }
    entry.users += 1;
    return entry;
  }

  /** One host less uses the pool; the last one terminates its workers. */
  async releasePool(entry) {
    entry.users -= 1;
    if (entry.users === 0 && this._pools.get(entry.key) === entry) {
      this._pools.delete(entry.key);
      await entry.pool.close();
    }
  }
}

/**
 * The loaded plugin and its tenants. One per process (per component).
 */
export class Host {
  /**
   * Loads the transpiled component, makes a host and starts its workers.
   * @param {HostOptions & {componentDir?: string}} [options]
   */
  static async load(options = {}) {
    const component = await LoadedComponent.load(options.componentDir);
    const host = new Host(component, options);
    await host.ready();
    return host;
  }

  /**
   * @param {LoadedComponent} component
   * @param {HostOptions} [options]
   */
  constructor(component, options = {}) {
    this.component = component;
    this.options = options;
    this.id = ++hostIds;
    this.limits = { ...DEFAULT_LIMITS, memoryLimitBytes: component.builtMemoryLimitBytes ?? DEFAULT_LIMITS.memoryLimitBytes, ...options.limits };
    this.instances = options.instances ?? 'per-tenant';
    if (!['per-call', 'per-tenant'].includes(this.instances)) throw new TypeError(`instances: ${this.instances}`);
    this.maxCallsPerInstance = options.maxCallsPerInstance ?? 10_000;
    this.workers = options.workers ?? defaultWorkers();
    if (!Number.isInteger(this.workers) || this.workers < 1) throw new TypeError(`workers: ${this.workers}`);
    this.instancesPerWorker = options.instancesPerWorker ?? 32;
    this.logger = options.logger ?? new ConsoleLogger();
    /** Each tenant's next wake-up, as its plugin reported it (R21). */
    this.wakeUps = new WakeUps();
    /** @type {Map<string, Promise<void>>} the tail of each tenant's queue */
    this._turns = new Map();
    this._defaultDb = null;
    this._defaultHttp = null;
    this._poolEntry = null;
    this._closed = false;
  }

  /**
   * The same component in a new host: no instances, no wake-ups, no queues
   * (what a process restart leaves, without compiling again). It shares
   * the worker pool; `close()` this one when it is done with.
   */
  restarted() {
    return new Host(this.component, this.options);
  }

  /** Starts the workers (the first call does otherwise); rejects if they cannot start. */
  async ready() {
    const { pool } = await this._pool();
    await pool.start();
  }

  /**
   * Done with this host: its instances are dropped, and the workers stop
   * when no other host uses them. Calls still waiting fail.
   */
  async close() {
    if (this._closed) return;
    this._closed = true;
    const entry = await this._poolEntry;
    if (entry) {
      entry.pool.forget(this.id);
      await this.component.releasePool(entry);
    }
  }

  _pool() {
    if (this._closed) return Promise.reject(new Error('the host is closed'));
    this._poolEntry ??= this.component.acquirePool({
      workers: this.workers,
      memoryLimitBytes: this.limits.memoryLimitBytes,
      workerHeapMiB: this.limits.workerHeapMiB,
      instancesPerWorker: this.instancesPerWorker,
    });
    return this._poolEntry;
  }

  /**
   * A handle to call the plugin as tenant `id`. Handles of one id share a
   * queue, whichever handle they come from.
   * @param {string} id the PMS account id (the tenant's storage namespace, log tag and queue key)
   * @param {TenantBackends} [backends]
   */
  tenant(id, backends = {}) {
    if (typeof id !== 'string' || id === '') throw new TypeError('a tenant id is a non-empty string');
    let { storage, mailer, events } = backends;
    if (!storage || !mailer || !events) {
      this._defaultDb ??= new SqliteDb(':memory:');
      storage ??= this._defaultDb.tenant(id);
      const db = storage.db instanceof SqliteDb ? storage.db : this._defaultDb;
      mailer ??= db.outbox(id);
      events ??= db.events(id);
    }
    this._defaultHttp ??= new SyncHttpClient();
    return new TenantHandle(this, id, {
      storage,
      mailer,
      events,
      http: backends.http ?? this._defaultHttp,
      clock: backends.clock ?? new SystemClock(),
      logger: backends.logger ?? this.logger,
      routes: backends.routes ?? VendorRoutes.fromBrands(this.component.brands),
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
    this._spec = null;
    this._specVersion = -1;
    /** Where the last call ran: `{worker, instance, reused, kept, ms}` (diagnostics, tests). */
    this._last = null;
  }

  // ---- events ------------------------------------------------------------

  /** A booking was created, changed or cancelled: `{booking, property}`. Plans only; fast. */
  onBookingChanged(event) {
    return this._call('on-booking-changed', [event]);
  }

  /** A property was created or changed; its codes are re-planned (R14). */
  onPropertyChanged(property) {
    return this._call('on-property-changed', [property]);
  }

  /**
   * The periodic tick at `now` (seconds; default the tenant's clock): every
   * 1 to 15 minutes, and at `wakeUp()`; call again at once while the
   * summary says `moreDue`. @returns {Promise<{processed: number, vendorRequests: number, moreDue: boolean}>}
   */
  async onTick(now = this.backends.clock.now()) {
    try {
      return await this._call('on-tick', [Math.floor(Number(now))]);
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
    return this._call('render-variable', [name, bookingId]);
  }

  /** Substitutes the plugin's variables in a guest message template (R20), one call per variable. */
  render(template, bookingId) {
    return substitute(template, (name) => this.renderVariable(name, bookingId));
  }

  // ---- admin -------------------------------------------------------------

  /** The brands the plugin manages (R30), as the component lists them (read at load, no call). */
  brands() {
    return this.host.component.brands;
  }

  /**
   * Checks a brand's credentials against the vendor and stores them (R1):
   * `connect(brandId, {field: 'value'})` (the fields of the brand's
   * `credentials` form, by name), or a list of `{name, value}`.
   * Every field of the brand's form is required, host-supplied ones
   * included (see `connectCredentials`).
   */
  connect(brand, credentials) {
    return this._call('connect', [brand, credentialList(credentials)]);
  }

  /** Forgets the brand's credentials and assignments; codes expire by themselves (R18). */
  disconnect(brand) {
    return this._call('disconnect', [brand]);
  }

  /** The connected accounts, one per brand: `{brand, name}`. */
  accounts() {
    return this._call('accounts', []);
  }

  /** The brand's locks, with how codes reach each (R3): `remote` is `{kind, via?}`. */
  listLocks(brand) {
    return this._call('list-locks', [brand]);
  }

  /**
   * Puts a lock on a property or changes its lock or settings (R4, R5):
   * `settings` `{daysBefore?, marginMinutes?, backupCodes?}` (backup codes:
   * spare codes kept on the lock, R25), a field left out keeps its value
   * (or the default).
   */
  assign(propertyId, brand, lockId, settings = {}) {
    return this._call('assign', [propertyId, brand, lockId, settings]);
  }

  /** Removes a property's lock (R17). */
  unassign(propertyId) {
    return this._call('unassign', [propertyId]);
  }

  /** The property's assignment, or `undefined`. */
  getAssignment(propertyId) {
    return this._call('get-assignment', [propertyId]);
  }

  /**
   * Adds a shared door to a property (R26): a lock other properties may use
   * too, of any connected brand; every booking of the property also gets a
   * code on it. At most 4 per property; adding one it has changes nothing.
   */
  shareDoor(propertyId, brand, lockId) {
    return this._call('share-door', [propertyId, brand, lockId]);
  }

  /** Removes a shared door: codes not started yet are deleted, a guest mid-stay keeps theirs (R17). */
  unshareDoor(propertyId, brand, lockId) {
    return this._call('unshare-door', [propertyId, brand, lockId]);
  }

  /** The property's shared doors, in the order they were added. */
  sharedDoors(propertyId) {
    return this._call('shared-doors', [propertyId]);
  }

  /** Where a booking's code is: state, PIN, window, last error, next attempt, fallback, its codes on shared doors. */
  bookingStatus(bookingId) {
    return this._call('booking-status', [bookingId]);
  }

  /**
   * Runs `fn(exports)` with one fresh instance, in the tenant's turn:
   * several exports on one warm instance (benchmarks). Unlike every other
   * call it runs on the calling thread, blocking it, with no deadline: for
   * benchmarks and diagnostics, not for a server. Raw bindings: bigint
   * instants, jco's ComponentError for WIT errors.
   */
  withInstance(fn) {
    return this.host._turn(this.id, () => this._withInstance(fn));
  }

  // ---- the machinery -----------------------------------------------------

  _call(exportName, args) {
    return this.host._turn(this.id, () => this._run(exportName, args));
  }

  async _run(exportName, args) {
    const host = this.host;
    const { pool } = await host._pool();
    const { key, spec } = this._backendSpec();
    const { outcome, meta, causes } = await pool.run({
      tenant: this.id,
      host: host.id,
      export: exportName,
      args,
      key,
      spec,
      limits: host.limits,
      mask: this._logMask(),
      handle: this,
    });
    this._last = meta;
    return this._settle(exportName, outcome, causes);
  }

  /** The call's answer, or the error it ends with. */
  _settle(exportName, outcome, causes = []) {
    if ('ok' in outcome) return outcome.ok;
    if (outcome.refused !== undefined) throw new PluginError(outcome.refused, { tenant: this.id, export: exportName });
    const cause = causeOf(outcome.cause, causes);
    if (outcome.instantiate !== undefined) throw new InstantiateError(this.id, outcome.instantiate, { cause });
    if (outcome.deadline || outcome.crashed) {
      // The worker could not say it: the host's thread does.
      this._log('error', 'plugin call trapped', { export: exportName, error: outcome.trap });
    }
    throw new TrapError(this.id, outcome.trap, { cause, hostFailure: outcome.hostFailure });
  }

  /**
   * What a worker needs to run this handle's calls: its backends'
   * description, the limits and the instance policy, under a key of its
   * own (a worker is sent it once per key).
   */
  _backendSpec() {
    const version = backendVersion(this.backends);
    if (this._spec === null || version !== this._specVersion) {
      const host = this.host;
      this._spec = {
        key: ++specKeys,
        spec: {
          backends: backendSpec(this.backends),
          limits: host.limits,
          instances: host.instances,
          maxCallsPerInstance: host.maxCallsPerInstance,
        },
      };
      this._specVersion = version;
    }
    return this._spec;
  }

  /** The levels the tenant's logger takes, as bits (the worker sends no other lines). */
  _logMask() {
    const logger = this.backends.logger;
    if (typeof logger.enabled !== 'function') return (1 << LEVELS.length) - 1;
    let mask = 0;
    for (let i = 0; i < LEVELS.length; i++) if (logger.enabled(LEVELS[i])) mask |= 1 << i;
    return mask;
  }

  _deliverLog(level, message, fields) {
    try {
      this.backends.logger.log(level, message, fields);
    } catch (e) {
      process.emitWarning(`smartlock: the logger of tenant ${this.id} failed: ${e?.message ?? e}`);
    }
  }

  _deliverWake(at) {
    this.host.wakeUps.set(this.id, at);
  }

  _log(level, message, fields = {}) {
    const logger = this.backends.logger;
    if (typeof logger.enabled === 'function' && !logger.enabled(level)) return;
    this._deliverLog(level, message, { target: 'host', tenant: this.id, ...fields });
  }

  /** `withInstance` on this thread: the same imports and limits, the backends called directly. */
  async _withInstance(fn) {
    const host = this.host;
    const component = host.component;
    const modules = await component.modulesCappedAt(host.limits.memoryLimitBytes);
    const call = {
      export: 'with-instance',
      tenant: this.id,
      backends: this.backends,
      limits: host.limits,
      deadline: Date.now() + host.limits.callWallLimitMs,
      logLines: 0,
      hostFailure: null,
      lastErrorLog: undefined,
      timing: null,
      log: (level, message, fields) => this._deliverLog(level, message, fields),
      logEnabled: (level) => (this._logMask() & (1 << LEVELS.indexOf(level))) !== 0,
      wakeAt: (at) => this._deliverWake(at),
    };
    let instance;
    try {
      instance = instantiate({ bindings: component.bindings, getCoreModule: (name) => modules.get(name) });
    } catch (e) {
      throw new InstantiateError(this.id, `with-instance: ${e?.message ?? e}`, { cause: e });
    }
    const outcome = checkMemory(instance, call, invoke(instance, call, fn, { raw: true }));
    if (outcome.trap !== undefined) this._log('error', 'plugin call trapped', { export: 'with-instance', error: outcome.trap });
    return this._settle('with-instance', outcome);
  }
}

/**
 * A failed call's cause: the error a backend of this thread threw (kept in
 * `causes`), or the worker's error rebuilt from its description.
 */
function causeOf(packed, causes) {
  if (packed === undefined || packed === null) return undefined;
  if (!packed.type) return packed; // a real error (withInstance, on this thread)
  if (packed.ref !== undefined && causes[packed.ref] !== undefined) return causes[packed.ref];
  return unpackError(packed);
}

/**
 * @typedef {object} HostOptions
 * @property {'per-call'|'per-tenant'} [instances] one kept per tenant in its worker (default), or a fresh one per call
 * @property {number} [maxCallsPerInstance] with `per-tenant`: make a new instance after this many calls (default 10 000)
 * @property {number} [workers] worker threads (default 2 to 4, by the machine's cores)
 * @property {number} [instancesPerWorker] instances a worker keeps, least recently used dropped first (default 32)
 * @property {Partial<typeof DEFAULT_LIMITS>} [limits]
 * @property {{log(level: string, message: string, fields?: object): void}} [logger] default: ConsoleLogger on stderr
 */

/**
 * @typedef {object} TenantBackends
 * @property {{get: Function, apply: Function, list: Function, set: Function, delete: Function}} [storage] default: an in-memory SQLite namespace
 * @property {{record(dedupKey: string, at: number, subject: string, body: string): boolean}} [mailer] the e-mail outbox; default: the storage's database's outbox
 * @property {{record(id: string, at: number, json: string): boolean}} [events] the code events (R27); default: the storage's database's `events` table
 * @property {{send(request: object): object}} [http] the transport behind the allow-list (default: a shared SyncHttpClient)
 * @property {{now(): number}} [clock] default: SystemClock
 * @property {{log(level: string, message: string, fields?: object): void}} [logger] default: the host's
 * @property {VendorRoutes} [routes] the allow-list; default: every origin of the component's brands, sent to itself
 */

/** The component's `admin.brands()`, on a fresh instance of this thread whose imports reach nothing. */
function readBrands(component) {
  const call = {
    export: 'brands',
    tenant: '(load)',
    backends: {},
    limits: DEFAULT_LIMITS,
    deadline: Date.now() + DEFAULT_LIMITS.callWallLimitMs,
    logLines: 0,
    hostFailure: null,
    lastErrorLog: undefined,
    timing: null,
    log: () => {},
    logEnabled: () => false,
    wakeAt: () => {},
  };
  let outcome;
  try {
    outcome = invoke(instantiate(component), call, (exports) => exports.admin.brands());
  } catch (e) {
    throw new Error(`the component's brand list could not be read: ${e?.message ?? e}`, { cause: e });
  }
  if (!('ok' in outcome)) throw new Error(`the component's brand list could not be read: ${outcome.trap ?? 'refused'}`);
  const brands = brandList(outcome.ok);
  learnBrandNames(brands);
  return brands;
}

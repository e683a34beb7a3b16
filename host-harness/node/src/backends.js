// Where each of a tenant's backends runs when its calls run in a worker.
//
// The shipped backends are rebuilt inside the worker from a description
// (`backendSpec`, sent with each call): a `SqliteDb` file's namespace,
// outbox and code events (the worker opens its own connection to the file, WAL, the same
// schema), `SystemClock`, `SimClock` (its instant is in shared memory),
// `SyncHttpClient` (its request thread is the worker's own), `VendorRoutes`
// (its routes). Anything else — a PMS's own storage, mailer, clock,
// transport or routes object, a `":memory:"` database, a subclass or a
// Proxy of a shipped class — stays where it was made: the worker sends each
// of its method calls to the host's thread and waits for the answer
// (`proxied`). The logger is always the host thread's: lines are posted to
// it, never waited for.

import { BroadcastChannel, receiveMessageOnPort } from 'node:worker_threads';
import { types } from 'node:util';

import { SimClock, SystemClock } from './clock.js';
import { HttpError, SyncHttpClient, VendorRoutes } from './http.js';
import { CLOSED_CHANNEL, SqliteDb, SqliteEvents, SqliteOutbox, SqliteStore, StorageError } from './storage.js';

/** `value` is an instance of exactly `cls` (not a subclass, not a Proxy, no own methods). */
function exactly(value, cls, methods) {
  return (
    value !== null &&
    typeof value === 'object' &&
    !types.isProxy(value) &&
    Object.getPrototypeOf(value) === cls.prototype &&
    methods.every((m) => !Object.hasOwn(value, m))
  );
}

const sqliteSpec = (db) => (db instanceof SqliteDb && db.file !== null && db.db.open ? { id: db.id, file: db.file } : null);

/**
 * What a worker needs to rebuild a tenant's backends; `null` for one the
 * worker reaches through the host's thread. Only plain data and shared
 * memory: it is copied to the worker with each call.
 */
export function backendSpec(backends) {
  const { storage, mailer, events, clock, http, routes } = backends;
  return {
    storage: exactly(storage, SqliteStore, ['get', 'set', 'delete', 'apply', 'list']) ? sqliteSpec(storage.db) : null,
    mailer: exactly(mailer, SqliteOutbox, ['record']) ? sqliteSpec(mailer.db) : null,
    events: exactly(events, SqliteEvents, ['record']) ? sqliteSpec(events.db) : null,
    clock: exactly(clock, SystemClock, ['now']) ? 'system' : exactly(clock, SimClock, ['now']) ? { sim: clock.cell } : null,
    http: exactly(http, SyncHttpClient, ['send']) ? { config: http.config } : null,
    routes: exactly(routes, VendorRoutes, ['route', 'resolve']) ? routes.routes.map(([o, b]) => [o, b]) : null,
  };
}

/** A version of the backends' description that changes when it must be made again. */
export function backendVersion(backends) {
  return backends.routes instanceof VendorRoutes ? backends.routes.version : 0;
}

/** The methods a worker may call on each backend of the host's thread. */
export const PROXIED_METHODS = {
  storage: ['get', 'set', 'delete', 'apply', 'list'],
  mailer: ['record'],
  events: ['record'],
  clock: ['now'],
  http: ['send'],
  routes: ['route'],
};

// ---- in the worker ----------------------------------------------------------

/**
 * The worker's side: connections and clients kept between calls, and the
 * backends of one call built from a description.
 */
export class WorkerBackends {
  /**
   * @param {(backend: string, method: string, args: unknown[]) => unknown} proxy
   *   calls a method of a backend of the host's thread and waits for it
   */
  constructor(proxy) {
    this.proxy = proxy;
    /** @type {Map<string, SqliteDb>} main-thread db id -> this worker's connection */
    this.dbs = new Map();
    this.https = new Map();
    this.routes = new Map();
    this.system = new SystemClock();
    /** Bumped when a connection is closed: backends built before it are built again. */
    this.generation = 0;
    this.closed = new BroadcastChannel(CLOSED_CHANNEL);
    this.closed.unref();
  }

  /** Closes the connections whose database the host's thread closed. */
  sweep() {
    let m;
    while ((m = receiveMessageOnPort(this.closed))) {
      const db = this.dbs.get(m.message);
      if (db) {
        this.dbs.delete(m.message);
        this.generation += 1;
        try {
          db.close();
        } catch {
          // already gone
        }
      }
    }
  }

  _db(spec) {
    let db = this.dbs.get(spec.id);
    if (!db) {
      db = new SqliteDb(spec.file);
      this.dbs.set(spec.id, db);
      // A bound on connections whose close was never announced (a db dropped unclosed).
      if (this.dbs.size > 64) {
        const [oldest, old] = this.dbs.entries().next().value;
        this.dbs.delete(oldest);
        this.generation += 1;
        old.close();
      }
    }
    return db;
  }

  /** The backends of one call of `tenant`. */
  of(tenant, spec) {
    return {
      storage: spec.storage ? this._db(spec.storage).tenant(tenant) : this._proxied('storage'),
      mailer: spec.mailer ? this._db(spec.mailer).outbox(tenant) : this._proxied('mailer'),
      events: spec.events ? this._db(spec.events).events(tenant) : this._proxied('events'),
      clock: spec.clock === 'system' ? this.system : spec.clock ? SimClock.over(spec.clock.sim) : this._proxied('clock'),
      http: spec.http ? this._http(spec.http.config) : this._proxied('http'),
      routes: spec.routes ? this._routes(spec.routes) : this._proxied('routes'),
    };
  }

  _http(config) {
    const key = JSON.stringify(config);
    let client = this.https.get(key);
    if (!client) this.https.set(key, (client = new SyncHttpClient(config)));
    return client;
  }

  _routes(pairs) {
    const key = JSON.stringify(pairs);
    let routes = this.routes.get(key);
    if (!routes) {
      routes = new VendorRoutes(pairs);
      if (this.routes.size >= 256) this.routes.clear();
      this.routes.set(key, routes);
    }
    return routes;
  }

  _proxied(backend) {
    const stub = {};
    for (const method of PROXIED_METHODS[backend]) stub[method] = (...args) => this.proxy(backend, method, args);
    return stub;
  }
}

// ---- errors across the threads ---------------------------------------------

/** An error thrown by a backend, as data for the other thread. */
export function packError(e, ref) {
  if (e instanceof StorageError) return { type: 'StorageError', kind: e.kind, detail: e.detail };
  if (e instanceof HttpError) return { type: 'HttpError', kind: e.kind, detail: e.detail };
  return { type: 'Error', name: e?.name ?? 'Error', message: e?.message ?? String(e), ref };
}

/** The error `packError` described. Another error keeps `ref` (the original stays on its thread). */
export function unpackError(p) {
  if (p.type === 'StorageError') return new StorageError(p.kind, p.detail);
  if (p.type === 'HttpError') return new HttpError(p.kind, p.detail);
  const e = new Error(p.message);
  if (p.name && p.name !== 'Error') e.name = p.name;
  e.ref = p.ref;
  return e;
}

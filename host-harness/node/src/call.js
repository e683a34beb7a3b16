// One call of the plugin on one instance: the contract's imports, the
// exports by name, and what a failed call is called. Shared by the pool's
// workers (where every call of `TenantHandle` runs, see worker.js) and by
// `TenantHandle.withInstance` (on the calling thread).
//
// An instance's imports read everything from `instance.call`, the call in
// progress: its tenant, backends, limits, log and wake-up sinks. So an
// instance is not tied to one handle's backends, and a worker can keep it
// for the tenant's next call.

import { MAX_EVENT_BYTES, MAX_EVENT_ID_BYTES, eventToJson, fromBindings, settingsIn, toInstant } from './contract.js';
import { isComponentError } from './errors.js';
import { HttpError, parseTarget } from './http.js';
import { StorageError } from './storage.js';
import { GuestExit, wasiImports } from './wasi.js';

/** Longest dedup key, subject and body the `email` import accepts, in bytes. */
export const EMAIL_LIMITS = { dedupKey: 512, subject: 1024, body: 64 * 1024 };

const HTTP_METHODS = { get: 'GET', post: 'POST', put: 'PUT', delete: 'DELETE' };

/** The exports by the names calls and errors use, with their arguments. */
export const EXPORTS = {
  'on-booking-changed': (p, event) => p.events.onBookingChanged(event),
  'on-property-changed': (p, property) => p.events.onPropertyChanged(property),
  'on-tick': (p, now) => p.events.onTick(toInstant(now)),
  'render-variable': (p, name, bookingId) => p.messages.renderVariable(name, bookingId),
  brands: (p) => p.admin.brands(),
  connect: (p, brand, credentials) => p.admin.connect(brand, credentials),
  disconnect: (p, brand) => p.admin.disconnect(brand),
  accounts: (p) => p.admin.accounts(),
  'list-locks': (p, brand) => p.admin.listLocks(brand),
  assign: (p, propertyId, brand, lockId, settings) => p.admin.assign(propertyId, brand, lockId, settingsIn(settings)),
  unassign: (p, propertyId) => p.admin.unassign(propertyId),
  'get-assignment': (p, propertyId) => p.admin.getAssignment(propertyId),
  'share-door': (p, propertyId, brand, lockId) => p.admin.shareDoor(propertyId, brand, lockId),
  'unshare-door': (p, propertyId, brand, lockId) => p.admin.unshareDoor(propertyId, brand, lockId),
  'shared-doors': (p, propertyId) => p.admin.sharedDoors(propertyId),
  'booking-status': (p, bookingId) => p.admin.bookingStatus(bookingId),
};

/** A WIT `err` value an import returns (thrown, unwrapped by the guard). */
export class WitError {
  constructor(value) {
    this.value = value;
  }
}

export function truncate(text, maxBytes) {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8').subarray(0, maxBytes);
  return bytes.toString('utf8').replace(/\uFFFD$/, '');
}

/** A duration as Rust's `Debug` of `Duration` writes it: `5s`, `1.5s`, `500ms`. */
export function formatDuration(ms) {
  return ms >= 1000 ? `${Math.round(ms) / 1000}s` : `${Math.round(ms)}ms`;
}

/** The trap message of a call stopped at its deadline (smartlock-host's words). */
export function deadlineMessage(exportName, limits) {
  return `${exportName}: interrupted: exceeded the time limit (${formatDuration(limits.callTimeoutMs)} of plugin time, ${formatDuration(limits.callWallLimitMs)} in all)`;
}

const MIB = 1024 * 1024;

/**
 * A fresh instance of `component` whose imports serve `instance.call`.
 * `memories` are the linear memories its core instances export (for the
 * memory check).
 */
export function instantiate(component) {
  const instance = { exports: null, call: null, calls: 0, wasi: null, memories: [] };
  const { imports, stdout, stderr } = wasiImports();
  instance.wasi = { stdout, stderr };
  Object.assign(imports, contractImports(instance));
  instance.exports = component.bindings.instantiate(component.getCoreModule, imports, (module, importObject) => {
    const core = new WebAssembly.Instance(module, importObject);
    for (const value of Object.values(core.exports)) {
      if (value instanceof WebAssembly.Memory && !instance.memories.includes(value)) instance.memories.push(value);
    }
    return core;
  });
  return instance;
}

/** Bytes of linear memory the instance holds now (all its memories). */
export function memoryBytes(instance) {
  let n = 0;
  for (const m of instance.memories) n += m.buffer.byteLength;
  return n;
}

/**
 * Runs `fn(exports)` as `call` on `instance`. Returns the outcome:
 * `{ok: value}` (bigints made numbers unless `raw`), `{refused: witError}`
 * (the export's `error` variant), or `{trap: message, hostFailure, cause,
 * keep: false}`. `keep` says whether the instance may serve another call.
 */
export function invoke(instance, call, fn, { raw = false } = {}) {
  instance.call = call;
  instance.calls += 1;
  instance.wasi.stdout.reset();
  instance.wasi.stderr.reset();
  try {
    const result = fn(instance.exports);
    guestOutput(instance, call, 'stderr');
    return { ok: raw ? result : fromBindings(result), keep: true };
  } catch (e) {
    if (!raw && isComponentError(e) && !call.hostFailure) {
      guestOutput(instance, call, 'stderr');
      return { refused: fromBindings(e.payload), keep: true };
    }
    const memory = { used: memoryBytes(instance), limit: call.limits.memoryLimitBytes };
    const message = describeFailure(call.export, e, call.hostFailure, instance.wasi.stderr.text(), call.lastErrorLog, memory);
    return { trap: message, hostFailure: Boolean(call.hostFailure), cause: call.hostFailure?.error ?? e, keep: false };
  } finally {
    guestOutput(instance, call, 'stdout');
    instance.call = null;
  }
}

/**
 * After a call: an instance whose memory grew past the cap is dropped, and
 * the call fails (a backstop: the transpiled core modules already stop
 * growth at the cap, so the guest's allocator fails inside the call).
 */
export function checkMemory(instance, call, outcome) {
  const used = memoryBytes(instance);
  const limit = call.limits.memoryLimitBytes;
  if (!(used > limit) || outcome.trap !== undefined) return outcome;
  return {
    trap: `${call.export}: exceeded the memory limit of ${limit / MIB} MiB (the plugin's memory grew to ${Math.ceil(used / MIB)} MiB)`,
    hostFailure: false,
    cause: undefined,
    keep: false,
  };
}

function guestOutput(instance, call, stream) {
  const text = instance.wasi[stream].text().trimEnd();
  if (text) hostLog(call, 'warn', `plugin wrote to ${stream}: ${truncate(text, 4096)}`, { target: 'plugin', stream });
  instance.wasi[stream].reset();
}

/** A host line of `call`'s tenant (target `host` unless `fields` says otherwise). */
export function hostLog(call, level, message, fields = {}) {
  if (call.logEnabled(level)) call.log(level, message, { target: 'host', tenant: call.tenant, ...fields });
}

/**
 * The contract's imports of one instance. A WIT error is thrown as its
 * plain `{tag, val}` value (jco turns that into the `err` case); anything
 * else thrown is a host failure: recorded, and the call traps. Time spent
 * in an import is not plugin time (`call.timing`, the deadline's account).
 */
export function contractImports(instance) {
  const guard = (name, f) =>
    (...args) => {
      const call = instance.call;
      if (!call) throw new Error(`host import ${name} called outside a call`);
      call.timing?.enter();
      try {
        return f(call, ...args);
      } catch (e) {
        if (e instanceof WitError) throw e.value;
        if (!call.hostFailure) call.hostFailure = { name, error: e };
        throw e;
      } finally {
        call.timing?.leave();
      }
    };
  return {
    'pms:smartlock/types': {},
    'pms:smartlock/clock': {
      now: guard('clock.now', (call) => toInstant(call.backends.clock.now())),
    },
    'pms:smartlock/scheduler': {
      wakeAt: guard('scheduler.wake-at', (call, at) => call.wakeAt(at === undefined ? null : Number(at))),
    },
    'pms:smartlock/log': {
      log: guard('log.log', (call, level, message) => {
        const limits = call.limits;
        if (level === 'error') {
          // Kept even past the line budget: a panic's message, logged just
          // before the trap, describes the failed call (as in smartlock-host).
          call.lastErrorLog = truncate(message, limits.maxLogMessageBytes);
        }
        call.logLines += 1;
        if (call.logLines === limits.maxLogLinesPerCall + 1) {
          hostLog(call, 'warn', `plugin log budget of ${limits.maxLogLinesPerCall} lines per call spent; dropping the rest`);
        }
        if (call.logLines > limits.maxLogLinesPerCall) return;
        if (call.logEnabled(level)) {
          call.log(level, truncate(message, limits.maxLogMessageBytes), { target: 'plugin', tenant: call.tenant });
        }
      }),
    },
    'pms:smartlock/email': {
      sendToOwner: guard('email.send-to-owner', (call, dedupKey, subject, body) => sendToOwner(call, dedupKey, subject, body)),
    },
    'pms:smartlock/storage': {
      get: guard('storage.get', (call, key) => storage(call, 'get', (s) => s.get(key))),
      set: guard('storage.set', (call, key, value) => storage(call, 'set', (s) => s.set(key, value))),
      delete: guard('storage.delete', (call, key) => storage(call, 'delete', (s) => s.delete(key))),
      apply: guard('storage.apply', (call, writes) => storage(call, 'apply', (s) => s.apply(writes))),
      list: guard('storage.list', (call, prefix, startAfter, limit) =>
        storage(call, 'list', (s) => s.list(prefix, startAfter, limit)),
      ),
    },
    'pms:smartlock/http': {
      send: guard('http.send', (call, request) => send(call, request)),
    },
    'pms:smartlock/code-events': {
      report: guard('code-events.report', (call, event) => reportEvent(call, event)),
    },
  };
}

/**
 * The `code-events` import (R27, R28): the event is recorded with its id
 * (a repeat, as the plugin reports at least once, is dropped), durably,
 * before the import returns; a refusal is the WIT `err` string. The
 * checks and words are smartlock-host's.
 */
function reportEvent(call, event) {
  const idBytes = Buffer.byteLength(event.id, 'utf8');
  if (idBytes === 0 || idBytes > MAX_EVENT_ID_BYTES) {
    throw new WitError(`event id of ${idBytes} bytes is not 1 to ${MAX_EVENT_ID_BYTES} bytes`);
  }
  const json = eventToJson(event);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > MAX_EVENT_BYTES) throw new WitError(`event of ${bytes} bytes exceeds ${MAX_EVENT_BYTES} bytes`);
  let recorded;
  try {
    recorded = call.backends.events.record(event.id, Number(event.at), json);
  } catch (e) {
    hostLog(call, 'warn', 'code event could not be recorded', { id: event.id, error: e.message });
    throw new WitError(e.message);
  }
  if (recorded) hostLog(call, 'debug', 'code event recorded', { id: event.id, kind: event.kind });
  else hostLog(call, 'debug', 'code event already recorded; dropped', { id: event.id });
}

function sendToOwner(call, dedupKey, subject, body) {
  for (const [field, value, max] of [
    ['dedup-key', dedupKey, EMAIL_LIMITS.dedupKey],
    ['subject', subject, EMAIL_LIMITS.subject],
    ['body', body, EMAIL_LIMITS.body],
  ]) {
    const n = Buffer.byteLength(value, 'utf8');
    if (n > max) throw new WitError(`${field} of ${n} bytes exceeds ${max} bytes`);
  }
  if (dedupKey === '') throw new WitError('dedup-key is empty');
  const b = call.backends;
  const at = b.clock.now();
  let queued;
  try {
    queued = b.mailer.record(dedupKey, at, subject, body);
  } catch (e) {
    hostLog(call, 'warn', 'e-mail could not be queued', { dedup_key: dedupKey, error: e.message });
    throw new WitError(e.message);
  }
  if (queued) hostLog(call, 'info', 'e-mail to the owner queued', { dedup_key: dedupKey, at });
  else hostLog(call, 'debug', 'e-mail already sent for this key; dropped', { dedup_key: dedupKey });
}

function storage(call, op, f) {
  try {
    return f(call.backends.storage);
  } catch (e) {
    if (e instanceof StorageError) {
      if (e.kind === 'unavailable') hostLog(call, 'warn', 'storage failed', { op, message: e.detail });
      throw new WitError(e.toWit());
    }
    throw e;
  }
}

function send(call, request) {
  const b = call.backends;
  const method = HTTP_METHODS[request.method] ?? String(request.method).toUpperCase();
  let target, url;
  try {
    target = parseTarget(request.url);
    url = b.routes.route(target);
  } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    hostLog(call, 'warn', 'plugin HTTP request refused', { method, error: e.message });
    throw new WitError(e.toWit());
  }
  const left = call.deadline - Date.now();
  if (left <= 0) {
    hostLog(call, 'warn', "plugin HTTP request refused: the call's time is up", { method, origin: target.origin, path: target.path });
    throw new WitError({ tag: 'timeout' });
  }
  const started = performance.now();
  const described = (fields) => ({ method, origin: target.origin, path: target.path, ...fields, ms: Math.round(performance.now() - started) });
  try {
    const response = b.http.send({ method, url, headers: request.headers, body: request.body, timeoutMs: left });
    hostLog(call, 'debug', 'vendor request', described({ status: response.status }));
    return { status: response.status, headers: response.headers, body: response.body };
  } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    hostLog(call, 'debug', 'vendor request failed', described({ error: e.message }));
    throw new WitError(e.toWit());
  }
}

/**
 * A one-line account of a failed call, with the guest's panic message: its
 * last error log line (the component has no stderr, R23), or what a
 * component that still imports WASI printed. A trap with the memory at its
 * cap names the cap, as smartlock-host does.
 */
export function describeFailure(exportName, error, hostFailure, stderr, lastErrorLog, memory) {
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
  if (!hostFailure && memory && atMemoryCap(memory, lastErrorLog)) {
    what = `exceeded the memory limit of ${memory.limit / MIB} MiB (${what}, with ${(memory.used / MIB).toFixed(1)} MiB in use)`;
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
 * Whether a trap came from the memory cap: the guest's allocator said an
 * allocation failed that would not have fitted under the cap, or (its abort
 * says nothing on this target) the trap left less than a sixteenth of the
 * cap (at least 1 MiB) free — a failed `memory.grow` is what makes Rust's
 * allocator abort.
 */
function atMemoryCap({ used, limit }, lastErrorLog) {
  const failed = /memory allocation of (\d+) bytes failed/.exec(lastErrorLog ?? '');
  if (failed) return used + Number(failed[1]) > limit;
  return limit - used < Math.max(MIB, limit / 16);
}

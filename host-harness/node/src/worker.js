// A worker of the host's pool (pool.js): runs the plugin's calls off the
// event loop, one at a time, with instances kept per tenant.
//
// The thread takes a job from its port (`receiveMessageOnPort`), runs it
// synchronously, posts the outcome, and — while calls come in quick
// succession — polls a shared counter for the next one for a quarter of a
// millisecond (what makes a call's round trip ~10 µs instead of ~60 µs)
// before it waits for it on its event loop (`Atomics.waitAsync`, so the
// collector's tasks run between calls). A synchronous import may block
// this thread (the HTTP request on its helper thread, a backend served by
// the host's thread) without blocking the host.
//
// Imports that run here: the shipped backends, rebuilt from their
// description (backends.js). The host's thread serves the others, the
// logger and the wake-ups. Time spent in imports is written to shared
// memory, where the host's watchdog reads how much plugin time the call has
// used (the deadline); at the deadline the host terminates this thread.

import { receiveMessageOnPort, workerData } from 'node:worker_threads';

import { EXPORTS, checkMemory, hostLog, instantiate, invoke } from './call.js';
import { LEVELS } from './log.js';
import { WorkerBackends, packError, unpackError } from './backends.js';
import { INBOX, REPLIES, T_IMPORT_MS, T_IMPORT_SINCE, T_JOB, T_STARTED, T_WAKE_AT, T_WAKE_JOB, now } from './layout.js';

const { index, port, replyPort, signals, timing, bindingsUrl, modules, instancesPerWorker, spinMs } = workerData;

const bindings = await import(bindingsUrl);
const component = {
  bindings,
  getCoreModule(name) {
    const m = modules.get(name);
    if (!m) throw new Error(`core module ${name} missing from the transpiled component`);
    return m;
  },
};

/** @type {Map<string, object>} host id + tenant -> instance, least recently used first */
const instances = new Map();
/** @type {Map<number, {spec: object, backends: object | null, generation: number}>} a handle's backends by its key */
const specs = new Map();
const MAX_SPECS = 1024;
let instancesMade = 0;
let job = null;
let proxySeq = 0;

const backends = new WorkerBackends(proxy);

const callTiming = {
  enter() {
    timing[T_IMPORT_SINCE] = now();
  },
  leave() {
    const since = timing[T_IMPORT_SINCE];
    if (since) timing[T_IMPORT_MS] += now() - since;
    timing[T_IMPORT_SINCE] = 0;
  },
};

/** Waits until `signals[i]` differs from `seen`: polls for `spin` ms, then sleeps. */
function waitFor(i, seen, spin) {
  const until = performance.now() + spin;
  while (Atomics.load(signals, i) === seen) {
    if (performance.now() >= until) {
      Atomics.wait(signals, i, seen);
      break;
    }
  }
}

/** Calls `backend.method(...args)` on the host's thread and waits for its answer. */
function proxy(backend, method, args) {
  const seq = ++proxySeq;
  let seen = Atomics.load(signals, REPLIES);
  port.postMessage({ t: 'import', id: job.id, seq, backend, method, args });
  for (;;) {
    let m;
    while ((m = receiveMessageOnPort(replyPort))) {
      const reply = m.message;
      if (reply.seq !== seq) continue; // the answer to a call that was abandoned
      if (reply.err) throw unpackError(reply.err);
      return reply.value;
    }
    waitFor(REPLIES, seen, 0.1);
    seen = Atomics.load(signals, REPLIES);
  }
}

function run(msg) {
  job = msg;
  timing[T_JOB] = msg.id;
  timing[T_IMPORT_MS] = 0;
  timing[T_IMPORT_SINCE] = 0;
  timing[T_STARTED] = now();
  const started = performance.now();
  backends.sweep();
  const entry = specOf(msg);
  const { limits } = entry.spec;
  const call = {
    export: msg.export,
    tenant: msg.tenant,
    backends: null,
    limits,
    deadline: Date.now() + limits.callWallLimitMs,
    logLines: 0,
    hostFailure: null,
    lastErrorLog: undefined,
    timing: callTiming,
    log: (level, message, fields) => port.postMessage({ t: 'log', id: msg.id, level, message, fields }),
    logEnabled: (level) => (msg.mask & (1 << LEVELS.indexOf(level))) !== 0,
    wakeAt: (at) => {
      // Read by the host when the call ends (or is terminated): no message of its own.
      timing[T_WAKE_AT] = at === null ? NaN : at;
      timing[T_WAKE_JOB] = msg.id;
    },
  };
  const ms = () => Math.round((performance.now() - started) * 1000) / 1000;
  const key = `${msg.host}\u0000${msg.tenant}`;
  let instance = instances.get(key);
  const reused = Boolean(instance);
  let outcome;
  try {
    if (!entry.backends || entry.generation !== backends.generation) {
      entry.backends = backends.of(msg.tenant, entry.spec.backends);
      entry.generation = backends.generation;
    }
    call.backends = entry.backends;
    if (instance) {
      instances.delete(key); // re-inserted below: most recently used last
    } else {
      instance = instantiate(component);
      instance.serial = ++instancesMade;
    }
  } catch (e) {
    const message = `${msg.export}: ${e?.message ?? e}`;
    hostLog(call, 'error', 'plugin instantiation failed', { export: msg.export, error: message });
    post(msg, { instantiate: message, cause: packError(e) }, { worker: index, instance: null, reused: false, ms: ms() });
    return;
  }
  const fn = EXPORTS[msg.export];
  outcome = invoke(instance, call, (exports) => fn(exports, ...msg.args));
  outcome = checkMemory(instance, call, outcome);
  const keep = outcome.keep && entry.spec.instances === 'per-tenant' && instance.calls < entry.spec.maxCallsPerInstance;
  if (keep) {
    instances.set(key, instance);
    while (instances.size > instancesPerWorker) instances.delete(instances.keys().next().value);
  }
  if (outcome.trap !== undefined) {
    hostLog(call, 'error', 'plugin call trapped', { export: msg.export, ms: ms(), error: outcome.trap });
  } else if (call.logEnabled('debug')) {
    hostLog(call, 'debug', 'plugin call', { export: msg.export, ms: ms() });
  }
  const packed =
    outcome.trap === undefined
      ? outcome
      : { trap: outcome.trap, hostFailure: outcome.hostFailure, cause: outcome.cause === undefined ? undefined : packError(outcome.cause, outcome.cause?.ref) };
  delete packed.keep;
  post(msg, packed, { worker: index, instance: instance.serial, reused, kept: keep, ms: ms() });
}

/**
 * The description of the call's handle: sent with the call the first time
 * this worker sees it, else kept here (or asked for again, if dropped).
 */
function specOf(msg) {
  let entry = specs.get(msg.key);
  if (entry) {
    specs.delete(msg.key);
  } else {
    entry = { spec: msg.spec ?? proxy('#spec', 'get', []), backends: null, generation: -1 };
  }
  specs.set(msg.key, entry);
  if (specs.size > MAX_SPECS) specs.delete(specs.keys().next().value);
  return entry;
}

function post(msg, outcome, meta) {
  timing[T_JOB] = 0;
  job = null;
  port.postMessage({ t: 'done', id: msg.id, outcome, meta });
}

function handle(msg) {
  if (msg.t === 'call') {
    try {
      run(msg);
    } catch (e) {
      // A bug of this host, not the plugin's: the call fails, the worker goes on.
      post(msg, { trap: `${msg.export}: host error: ${e?.message ?? e}`, hostFailure: true, cause: packError(e) }, { worker: index });
    }
  } else if (msg.t === 'forget') {
    for (const key of [...instances.keys()]) if (key.startsWith(`${msg.host}\u0000`)) instances.delete(key);
  }
}

// `Atomics.waitAsync` alone does not keep the event loop alive; this does
// (the host terminates the worker).
setInterval(() => {}, 2 ** 30);
port.postMessage({ t: 'ready' });
let seen = Atomics.load(signals, INBOX);
// How long the worker last waited for a call: it polls only while calls
// come in quick succession, and sleeps at once when they are sparse.
let lastGap = Infinity;
for (;;) {
  let m;
  while ((m = receiveMessageOnPort(port))) handle(m.message);
  const idleFrom = performance.now();
  if (lastGap < 4 * spinMs) {
    const until = idleFrom + spinMs;
    while (Atomics.load(signals, INBOX) === seen && performance.now() < until);
  }
  if (Atomics.load(signals, INBOX) === seen) {
    // Idle: wait on the event loop, so that what V8 and Node queued there
    // (the collector's tasks among them) runs between calls.
    const waiting = Atomics.waitAsync(signals, INBOX, seen);
    if (waiting.async) await waiting.value;
  }
  lastGap = performance.now() - idleFrom;
  seen = Atomics.load(signals, INBOX);
}

// The worker threads the plugin's calls run in (worker.js), as seen from
// the host's thread: a few workers, each running one call at a time; a
// queue of calls waiting for a free one; a watchdog per running call.
//
// - Dispatch: a call goes to its tenant's home worker (a hash of the id)
//   when that one is free, else to any free worker, else it waits. The
//   caller (`Host`) hands over at most one call per tenant at a time, so a
//   tenant's calls stay in order whichever worker runs them; the home
//   worker is where its kept instance is.
// - Deadline: at `callTimeoutMs` of plugin time (time in imports excluded,
//   read from the worker's shared clock) or `callWallLimitMs` in all, the
//   worker is terminated, the call fails with a TrapError naming the limit,
//   and a fresh worker takes the slot.
// - Memory: each worker runs with V8 resource limits (`workerHeapMiB` of JS
//   heap); a worker that runs out fails its call and is replaced. The
//   plugin's linear memory is capped in the core modules themselves.
// - Backends that stay on this thread (backends.js) are served here: the
//   worker posts the method call and sleeps until the answer is posted back.
// - Idle workers do not keep the process alive (`unref`); a worker with a
//   call does.

import { MessageChannel, Worker } from 'node:worker_threads';

import { deadlineMessage } from './call.js';
import { packError } from './backends.js';
import { REPLIES, INBOX, SIGNALS_BYTES, TIMING_BYTES, T_IMPORT_MS, T_IMPORT_SINCE, T_JOB, T_STARTED, T_WAKE_AT, T_WAKE_JOB, now } from './layout.js';

/** Milliseconds a worker polls for its next call, while calls come in quick succession, before it sleeps. */
export const SPIN_MS = 0.25;

/** Grace given to a call blocked in an import past its wall limit (the import has its own timeout). */
const IMPORT_GRACE_MS = 5000;

function hash(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * Settles one call. `outcome`: what the worker answered (`{ok}`,
 * `{refused}`, `{trap, hostFailure, cause}`, `{instantiate}`), or what
 * happened to the worker (`{trap, deadline: true}`, `{trap, crashed: true}`).
 * @typedef {{resolve: (r: {outcome: object, meta: object, causes: unknown[]}) => void}} Settle
 */

export class WorkerPool {
  /**
   * @param {{bindingsUrl: string, modules: Map<string, WebAssembly.Module>, size: number,
   *   instancesPerWorker: number, workerHeapMiB: number}} config
   */
  constructor(config) {
    this.config = config;
    this.slots = [];
    for (let i = 0; i < config.size; i++) this.slots.push({ index: i, state: 'none', job: null });
    /** Calls waiting for a free worker, in order. */
    this.queue = [];
    this.nextId = 1;
    this.closed = false;
    /** Workers started in all (replacements included). */
    this.started = 0;
  }

  /** Starts every worker; resolves when they can take calls (rejects if one cannot start). */
  async start() {
    await Promise.all(this.slots.map((slot) => (slot.state === 'idle' || slot.state === 'busy' ? undefined : this._spawn(slot))));
  }

  /**
   * Runs a call in a worker. `job`: `{tenant, host, export, args, key, spec,
   * limits, mask, handle}`: `spec` (the handle's backends, limits and
   * instance policy, see `TenantHandle._backendSpec`) goes to a worker with
   * the first call of `key` it runs; `handle` serves the backends of this
   * thread, the log lines and the wake-ups. Resolves with `{outcome, meta,
   * causes}`.
   */
  run(job) {
    if (this.closed) return Promise.reject(new Error('the host is closed'));
    return new Promise((resolve) => {
      job.id = this.nextId++;
      job.resolve = resolve;
      job.causes = [];
      this.queue.push(job);
      this._dispatch();
    });
  }

  /** Drops the instances a host kept in the workers (the host is gone). */
  forget(hostId) {
    for (const slot of this.slots) if (slot.worker) this._post(slot, { t: 'forget', host: hostId });
  }

  /** Terminates the workers; calls still waiting fail. */
  async close() {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve({ outcome: { trap: `${job.export}: the host was closed`, hostFailure: true }, meta: {}, causes: [] });
    await Promise.all(
      this.slots.map(async (slot) => {
        const w = slot.worker;
        if (slot.starting) slot.failedToStart(new Error('the host was closed'));
        slot.state = 'closed';
        if (slot.job) this._settle(slot, { trap: `${slot.job.export}: the host was closed`, hostFailure: true });
        if (w) await w.terminate();
      }),
    );
  }

  _spawn(slot) {
    if (slot.starting) return slot.starting;
    const { port1, port2 } = new MessageChannel();
    const replies = new MessageChannel();
    const signals = new Int32Array(new SharedArrayBuffer(SIGNALS_BYTES));
    const timing = new Float64Array(new SharedArrayBuffer(TIMING_BYTES));
    const c = this.config;
    const worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: {
        index: slot.index,
        port: port2,
        replyPort: replies.port2,
        signals,
        timing,
        bindingsUrl: c.bindingsUrl,
        modules: c.modules,
        instancesPerWorker: c.instancesPerWorker,
        spinMs: SPIN_MS,
      },
      transferList: [port2, replies.port2],
      resourceLimits: { maxOldGenerationSizeMb: c.workerHeapMiB },
      stdout: false,
      stderr: false,
    });
    this.started += 1;
    Object.assign(slot, {
      worker,
      port: port1,
      replyPort: replies.port1,
      signals,
      timing,
      state: 'starting',
      job: null,
      failure: null,
      /** Keys of the handle descriptions this worker was sent. */
      specs: new Set(),
    });
    port1.on('message', (m) => this._onMessage(slot, worker, m));
    port1.unref();
    replies.port1.unref();
    slot.starting = new Promise((resolve, reject) => {
      slot.ready = () => {
        slot.starting = null;
        resolve();
      };
      slot.failedToStart = (e) => {
        slot.starting = null;
        reject(e);
      };
    });
    worker.on('error', (e) => {
      if (slot.worker === worker) slot.failure = e;
    });
    worker.on('exit', (code) => this._onExit(slot, worker, code));
    this._ref();
    return slot.starting;
  }

  _post(slot, message) {
    slot.port.postMessage(message);
    Atomics.add(slot.signals, INBOX, 1);
    Atomics.notify(slot.signals, INBOX);
  }

  _dispatch() {
    while (this.queue.length > 0) {
      const free = this.slots.filter((s) => s.state === 'idle');
      if (free.length === 0) break;
      // The first waiting call whose home worker is free goes there; else the oldest call goes to any free worker.
      let pick = -1;
      let slot = null;
      for (let i = 0; i < this.queue.length && pick < 0; i++) {
        const home = this.slots[hash(this.queue[i].tenant) % this.slots.length];
        if (home.state === 'idle') {
          pick = i;
          slot = home;
        }
      }
      if (pick < 0) {
        pick = 0;
        slot = free[0];
      }
      const [job] = this.queue.splice(pick, 1);
      this._start(slot, job);
    }
    for (const slot of this.slots) {
      // A worker that could not start is tried again only for a new call.
      if (slot.state === 'none' || slot.state === 'dead' || (slot.state === 'failed' && this.queue.length > 0)) this._respawn(slot);
    }
    this._ref();
  }

  _respawn(slot) {
    if (this.closed || slot.starting) return;
    this._spawn(slot).catch(() => {}); // a worker that cannot start fails the waiting calls (_onExit)
  }

  _start(slot, job) {
    slot.state = 'busy';
    slot.job = job;
    job.slot = slot;
    job.dispatchedAt = now();
    const message = { t: 'call', id: job.id, tenant: job.tenant, host: job.host, export: job.export, args: job.args, key: job.key, mask: job.mask };
    if (!slot.specs.has(job.key)) {
      // (A worker that dropped a description it was sent asks for it again.)
      if (slot.specs.size >= 4096) slot.specs.clear();
      slot.specs.add(job.key);
      message.spec = job.spec;
    }
    this._post(slot, message);
    this._arm(slot, job, Math.min(job.limits.callTimeoutMs, job.limits.callWallLimitMs));
  }

  /** Looks at the call again in `ms` (no limit: never). */
  _arm(slot, job, ms) {
    if (!Number.isFinite(ms)) return;
    slot.timer = setTimeout(() => this._watch(slot, job), Math.min(ms, 2 ** 31 - 1));
    slot.timer.unref();
  }

  /** The watchdog: terminates the worker once the call has used up its time. */
  _watch(slot, job) {
    if (slot.job !== job) return;
    const t = slot.timing;
    const at = now();
    const started = t[T_JOB] === job.id ? t[T_STARTED] : job.dispatchedAt;
    const since = t[T_JOB] === job.id ? t[T_IMPORT_SINCE] : 0;
    const importMs = t[T_JOB] === job.id ? t[T_IMPORT_MS] + (since ? at - since : 0) : 0;
    const wall = at - started;
    const guest = wall - importMs;
    const { callTimeoutMs, callWallLimitMs } = job.limits;
    const over = guest >= callTimeoutMs || wall >= callWallLimitMs + (since ? IMPORT_GRACE_MS : 0);
    if (!over) {
      this._arm(slot, job, Math.max(5, Math.min(callTimeoutMs - guest, callWallLimitMs - wall)));
      return;
    }
    const worker = slot.worker;
    slot.state = 'dead';
    slot.worker = null;
    worker.terminate();
    this._settle(slot, { trap: deadlineMessage(job.export, job.limits), hostFailure: false, deadline: true });
    this._dispatch();
  }

  _settle(slot, outcome, meta = { worker: slot.index }) {
    const job = slot.job;
    clearTimeout(slot.timer);
    slot.job = null;
    if (slot.timing[T_WAKE_JOB] === job.id) {
      // The plugin's last `scheduler.wake-at` of this call (even one that then trapped or was stopped).
      const at = slot.timing[T_WAKE_AT];
      job.handle._deliverWake(Number.isNaN(at) ? null : at);
    }
    if (slot.state === 'busy') slot.state = 'idle';
    job.resolve({ outcome, meta, causes: job.causes });
  }

  _onExit(slot, worker, code) {
    if (slot.worker !== worker) return; // terminated on purpose, already replaced
    const failure = slot.failure;
    slot.worker = null;
    if (slot.state === 'starting') {
      slot.state = 'failed';
      const e = failure ?? new Error(`the worker exited with code ${code}`);
      slot.failedToStart(e);
      // Nothing runs without workers: the waiting calls fail rather than wait.
      for (const job of this.queue.splice(0)) {
        job.resolve({ outcome: { instantiate: `${job.export}: no worker could start: ${e.message}` }, meta: {}, causes: [] });
      }
      this._ref();
      return;
    }
    if (slot.state !== 'closed') slot.state = 'dead';
    if (slot.job) {
      const why =
        failure?.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `the worker ran out of memory (JS heap limit ${this.config.workerHeapMiB} MiB)`
          : `the worker stopped: ${failure?.message ?? `exit code ${code}`}`;
      this._settle(slot, { trap: `${slot.job.export}: ${why}`, hostFailure: false, crashed: true });
    }
    if (!this.closed) this._dispatch();
  }

  _onMessage(slot, worker, m) {
    if (slot.worker !== worker) return;
    const job = slot.job;
    switch (m.t) {
      case 'ready':
        slot.state = 'idle';
        slot.ready();
        this._dispatch(); // (and unref it when there is nothing to do)
        return;
      case 'done':
        if (job && job.id === m.id) {
          this._settle(slot, m.outcome, m.meta);
          this._dispatch();
        }
        return;
      case 'log':
        if (job && job.id === m.id) job.handle._deliverLog(m.level, m.message, m.fields);
        return;
      case 'import':
        if (job && job.id === m.id) this._serve(slot, job, m);
        return;
    }
  }

  /** Runs a backend method of this thread for the worker and posts the answer. */
  _serve(slot, job, m) {
    let reply;
    try {
      let value;
      if (m.backend === '#spec') {
        value = job.spec; // the worker dropped the handle's description
      } else {
        value = job.handle.backends[m.backend][m.method](...m.args);
        if (value !== null && typeof value === 'object' && typeof value.then === 'function') {
          throw new TypeError(`${m.backend}.${m.method} returned a Promise: a backend answers synchronously`);
        }
      }
      reply = { seq: m.seq, value };
    } catch (e) {
      job.causes.push(e);
      reply = { seq: m.seq, err: packError(e, job.causes.length - 1) };
    }
    try {
      slot.replyPort.postMessage(reply);
    } catch (e) {
      // A value that cannot be copied to the worker.
      job.causes.push(e);
      slot.replyPort.postMessage({ seq: m.seq, err: packError(e, job.causes.length - 1) });
    }
    Atomics.add(slot.signals, REPLIES, 1);
    Atomics.notify(slot.signals, REPLIES);
  }

  /** Workers keep the process alive only while there are calls (or while they start). */
  _ref() {
    const active = this.queue.length > 0 || this.slots.some((s) => s.state === 'busy');
    for (const slot of this.slots) {
      if (!slot.worker) continue;
      if (active || slot.state === 'starting') slot.worker.ref();
      else slot.worker.unref();
    }
  }
}

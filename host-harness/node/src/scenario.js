// Scenario files and reports (`docs/scenarios.md`) replayed by the Node
// host: the same timeline, ticks and report as `host-harness scenario`
// (host-harness/src/scenario.rs), with the plugin in this host and the
// vendor stubs in a `host-harness stub` process driven through its
// `/_admin/` API.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SimClock } from './clock.js';
import { brandOf, connectCredentials, eventFromJson } from './contract.js';
import { InstantiateError, PluginError, TrapError } from './errors.js';
import { Host, LoadedComponent } from './host.js';
import { SyncHttpClient, VendorRoutes } from './http.js';
import { SqliteDb } from './storage.js';
import { BUILD_COMMAND, harnessBinary, REPO_ROOT } from './locate.js';
import { checkScenario, InvalidScenario, readScenarioFile } from './scenario-file.js';
import { substitute } from './template.js';

export { harnessBinary, InvalidScenario, REPO_ROOT };

/** The tenant id (and storage namespace) scenarios run as. */
export const TENANT = 'scenario';
/** HTTP timeout towards the stub: it answers at once, and hang faults must not stall a run. */
export const STUB_HTTP_TIMEOUT_MS = 2000;
/** Extra `on-tick` calls at one instant while the plugin says more is due. */
export const MAX_TICK_REPEATS = 20;

/** RFC 3339 UTC with seconds, "2026-03-20T14:30:00Z". */
export function utc(t) {
  return new Date(t * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Parses and checks a scenario (the file's text) as the Rust host does
 * (scenario-file.js), with the component's `brands` (`LoadedComponent.brands`).
 * Instants become seconds (`startSecs`, each step's `atSecs`). A `fault`
 * step is checked by the stub when the run starts.
 */
export function parseScenario(text, brands = null) {
  const { scenario, deferred } = checkScenario(text, brands);
  if (deferred) throw new InvalidScenario(deferred);
  return scenario;
}

/** One request to the admin API of the stub world served at `base`; resolves to `{status, body}`. */
async function adminRequest(base, method, route, body) {
  const res = await fetch(`${base.replace(/\/+$/, '')}/_admin/${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = { error: text };
  }
  return { status: res.status, body: json };
}

/**
 * The vendor stubs in a `host-harness stub` process: its base URL and its
 * admin API (clock, links, faults, truth).
 */
export class StubProcess {
  /**
   * @param {string} configPath a scenario file (its vendor worlds and `start`)
   * @param {{binary?: string, stderr?: NodeJS.WritableStream | null}} [options]
   */
  static async start(configPath, { binary = harnessBinary(), stderr = process.stderr, displayPath } = {}) {
    const child = spawn(binary, ['stub', '--config', configPath, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let errText = '';
    child.stderr.on('data', (d) => {
      errText = (errText + d).slice(-8192);
      stderr?.write(d);
    });
    const base = await new Promise((resolveBase, reject) => {
      let out = '';
      const onData = (d) => {
        out += d;
        const nl = out.indexOf('\n');
        if (nl >= 0) {
          child.stdout.off('data', onData);
          resolveBase(out.slice(0, nl).trim());
        }
      };
      child.stdout.on('data', onData);
      child.on('error', reject);
      child.on('exit', (code) => {
        const line = errText.trim().split('\n').at(-1) ?? '';
        let message = line.replace(/^error:\s*/, '') || `the stub exited with status ${code}`;
        if (displayPath !== undefined && message.startsWith(`${configPath}: `)) {
          message = `${displayPath}: ${message.slice(configPath.length + 2)}`;
        }
        reject(code === 2 ? new InvalidScenario(message) : new Error(`the vendor stub failed: ${message}`));
      });
    });
    child.stdout.resume();
    return new StubProcess(child, base);
  }

  constructor(child, base) {
    this.child = child;
    /** `http://127.0.0.1:PORT` */
    this.base = base;
    this._now = null;
  }

  /** One admin request; resolves to `{status, body}`. */
  async admin(method, route, body) {
    return adminRequest(this.base, method, route, body);
  }

  async _ok(method, route, body) {
    const r = await this.admin(method, route, body);
    if (r.status !== 200) throw new StepFailure(r.body?.error ?? `the stub answered ${r.status}`);
    return r.body;
  }

  /** Moves the stubs' clock (never back: the stub refuses). */
  async setTime(now) {
    if (this._now === now) return;
    await this._ok('POST', 'time', { now });
    this._now = now;
  }

  /** Takes the link carrying a brand's codes to its locks (a device by its id, or a lock's own link) off or on line. */
  async setOnline(provider, id, online) {
    await this._ok('POST', 'online', { provider, id, online });
  }

  async fault({ provider, endpoint, status, count, kind, errcode }) {
    const body = { provider, endpoint, status: status ?? 0, count };
    if (kind !== undefined && kind !== null) body.kind = kind;
    if (errcode !== undefined && errcode !== null) body.errcode = errcode;
    return this._ok('POST', 'fault', body);
  }

  /** Whether `pin` opens `lock` now, as a guest typing it finds out (the stub's lock-side truth). */
  async tryPin(provider, lock, pin) {
    return (await this._ok('POST', 'try-pin', { provider, lock, pin })).opens === true;
  }

  async revokeTokens(provider) {
    return this._ok('POST', 'revoke-tokens', { provider });
  }

  /**
   * Checks a scenario's `fault` step as the Rust host does before a run
   * (the stub knows its brands' endpoints and fault kinds): armed with
   * count 0, which arms nothing; the stub's refusal or null.
   */
  async checkFault({ provider, endpoint, status, kind, errcode }) {
    const body = { provider, endpoint, status: status ?? 0, count: 0 };
    if (kind !== undefined && kind !== null) body.kind = kind;
    if (errcode !== undefined && errcode !== null) body.errcode = errcode;
    const r = await this.admin('POST', 'fault', body);
    return r.status === 200 ? null : (r.body?.error ?? `the stub answered ${r.status}`);
  }

  /** The report's `pins` (every vendor's lock-side truth). */
  async pins() {
    return this._ok('GET', 'pins');
  }

  /** The report's `http` (requests the vendors received). */
  async http() {
    return this._ok('GET', 'http');
  }

  /** Stops the process (politely, then by its pid). */
  async shutdown() {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    try {
      await this.admin('POST', 'shutdown');
    } catch {
      // already going
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

/** A step that failed on the harness side (reported as the step's error). */
class StepFailure extends Error {}

/**
 * Where the stub world served at `base` serves each brand's real paths:
 * `{brandId: pathPrefix}` from its `GET /_admin/layout` (the world knows
 * its own layout, host-harness/stubs `Vendor::path_prefix`; this host
 * does not write it down). Throws when the world does not tell it (a stub
 * built before the route).
 */
export async function stubLayout(base) {
  const r = await adminRequest(base, 'GET', 'layout');
  const brands = r.body?.brands;
  const valid =
    r.status === 200 &&
    brands !== null &&
    typeof brands === 'object' &&
    !Array.isArray(brands) &&
    Object.values(brands).every((p) => typeof p === 'string' && (p === '' || p.startsWith('/')));
  if (!valid) {
    throw new Error(
      `the stub world at ${base} did not tell its layout (GET /_admin/layout answered ${r.status}): ` +
        `rebuild it with \`${BUILD_COMMAND}\``,
    );
  }
  return brands;
}

/** Brand `id`'s place below `base` in `layout` (`stubLayout`), or null: not a stub brand. */
function placeIn(base, layout, id) {
  if (!Object.hasOwn(layout, id)) return null;
  return base.replace(/\/+$/, '') + layout[id];
}

/** Where the stub world served at `base` serves brand `id`'s real paths (null: it has no stub of it). */
export async function stubBase(base, id) {
  return placeIn(base, await stubLayout(base), id);
}

/**
 * The allow-list of a scenario run: every origin of the component's
 * `brands`, sent to the brand's place in the stub world at `base` as that
 * world tells it (`stubLayout`); smartlock-host's `stub_routes`. A brand
 * the world lists but does not hold answers 404 there; one it does not
 * list (no stub of it) goes to its own origins, as in the Rust runner.
 */
export async function stubRoutes(base, brands) {
  const layout = await stubLayout(base);
  return VendorRoutes.fromBrands(brands, (id) => placeIn(base, layout, id));
}

/**
 * Drives the plugin through a timeline exactly as the Rust runner's
 * `Driver`: regular ticks on multiples of `tick_minutes` from `start`,
 * wake-up ticks (R21) unless turned off, a tick at a step's instant before
 * the step, `more-due` repeats, restarts.
 */
export class Driver {
  /**
   * `routes`: where the brands' origins go (`await stubRoutes(stub.base, host.component.brands)`).
   * @param {{host: Host, stub: StubProcess, routes: VendorRoutes, db: SqliteDb, start: number, tickMinutes: number, wakeUps?: boolean, logger?: object}} options
   */
  constructor({ host, stub, routes, db, start, tickMinutes, wakeUps = true, logger }) {
    this.host = host;
    this.stub = stub;
    this.db = db;
    this.clock = new SimClock(start);
    /** The component's brands (R30): ids, connect forms, origins. */
    this.brands = host.component.brands;
    this.backends = {
      storage: db.tenant(TENANT),
      mailer: db.outbox(TENANT),
      events: db.events(TENANT),
      http: new SyncHttpClient({ timeoutMs: STUB_HTTP_TIMEOUT_MS }),
      clock: this.clock,
      routes,
      ...(logger ? { logger } : {}),
    };
    this.plugin = host.tenant(TENANT, this.backends);
    this.properties = new Map();
    this.tickSecs = Math.max(1, tickMinutes) * 60;
    this.nextTick = start;
    this.wakeUps = wakeUps;
    this.ticks = 0;
    this.tickFailures = 0;
    this.wakeTicks = 0;
    this.lastTickAt = null;
    this.stepped = false;
    /** Each world's `app`, by brand id: the host-supplied fields of a connect (R30). */
    this.apps = {};
    /** The last message rendered per booking: what the guest holds (`try_pin` with `booking`). */
    this.messages = new Map();
    /** Hosts made by `restart` steps (closed by `close()`; the first host is the caller's). */
    this.made = [];
  }

  /** Closes the hosts the restarts made. */
  async close() {
    for (const host of this.made.splice(0)) await host.close();
  }

  /** Moves the clock to `t`, running every tick due on the way (one at `t` included). */
  async advanceTo(t) {
    for (;;) {
      let wake = this._wakeUp();
      if (wake !== null && !(wake < this.nextTick)) wake = null;
      const at = wake ?? this.nextTick;
      if (at > t) break;
      await this._tick(at);
      if (wake !== null) this.wakeTicks += 1;
      else this.nextTick += this.tickSecs;
    }
    await this._setTime(Math.max(t, this.clock.now()));
  }

  /** The wake-up to honour now: not before the clock, and not an instant already ticked unless a step ran since. */
  _wakeUp() {
    if (!this.wakeUps) return null;
    const asked = this.plugin.wakeUp();
    if (asked === null) return null;
    const at = Math.max(asked, this.clock.now());
    if (this.lastTickAt !== null && at <= this.lastTickAt && !this.stepped) return null;
    return at;
  }

  async _setTime(t) {
    this.clock.set(t);
    await this.stub.setTime(t);
  }

  async _tick(t) {
    await this._setTime(t);
    this.lastTickAt = t;
    this.stepped = false;
    for (let i = 0; i < MAX_TICK_REPEATS; i++) {
      this.ticks += 1;
      try {
        const summary = await this.plugin.onTick(t);
        if (summary.moreDue) continue;
        return;
      } catch (e) {
        if (!(e instanceof PluginError || e instanceof TrapError || e instanceof InstantiateError)) throw e;
        this.plugin.backends.logger?.log?.('warn', e instanceof PluginError ? 'tick failed' : 'tick trapped', {
          target: 'scenario',
          at: utc(t),
          error: e.message,
        });
        this.tickFailures += 1;
        return;
      }
    }
  }

  /** Applies one step at the current time: `{ok: true, result}` or `{ok: false, error}`. */
  async apply(step) {
    this.stepped = true;
    try {
      return { ok: true, result: await this._apply(step) };
    } catch (e) {
      if (
        e instanceof PluginError ||
        e instanceof TrapError ||
        e instanceof InstantiateError ||
        e instanceof StepFailure
      ) {
        return { ok: false, error: e.message };
      }
      throw e;
    }
  }

  async _apply(step) {
    const p = this.plugin;
    const provider = step.provider ?? this.brands[0]?.id;
    switch (step.do) {
      case 'connect': {
        const account = await p.connect(provider, this._credentials(provider, step));
        return { account: account.name };
      }
      case 'disconnect':
        await p.disconnect(provider);
        return {};
      case 'property': {
        const prop = propertyIn(step.property);
        await p.onPropertyChanged(prop);
        this.properties.set(prop.id, prop);
        return {};
      }
      case 'assign': {
        const a = await p.assign(step.property, provider, step.lock, {
          daysBefore: saturate(step.days_before),
          marginMinutes: saturate(step.margin_minutes),
          backupCodes: saturate(step.backup_codes),
        });
        return {
          property: a.propertyId,
          provider,
          lock: a.lockId,
          lock_name: a.lockName,
          remote: remoteJson(a.remote),
          days_before: a.daysBefore,
          margin_minutes: a.marginMinutes,
          // Only where there is a pool (R25): older reports stay as they were.
          ...(a.backupCodes > 0 ? { backup_codes: a.backupCodes } : {}),
        };
      }
      case 'unassign':
        await p.unassign(step.property);
        return {};
      case 'share_door': {
        const door = await p.shareDoor(step.property, provider, step.lock);
        return { property: door.propertyId, provider, lock: door.lockId, name: door.lockName };
      }
      case 'unshare_door':
        await p.unshareDoor(step.property, provider, step.lock);
        return {};
      case 'booking': {
        const b = step.booking;
        const property = this.properties.get(b.property);
        if (!property) throw new StepFailure(`unknown property "${b.property}": add it with a \`property\` step first`);
        await p.onBookingChanged({
          booking: {
            id: b.id,
            propertyId: b.property,
            guestName: b.guest_name ?? undefined,
            checkIn: b.check_in,
            checkOut: b.check_out,
            checkInTime: b.check_in_time ?? undefined,
            checkOutTime: b.check_out_time ?? undefined,
            status: b.status,
          },
          property,
        });
        return {};
      }
      case 'bridge':
        await this.stub.setOnline(provider, step.bridge, step.online);
        return { provider, bridge: step.bridge, online: step.online };
      case 'fault':
        await this.stub.fault({ ...step, provider });
        return {
          provider,
          endpoint: step.endpoint,
          status: step.status ?? 0,
          count: step.count,
          // What was armed, as the step said it (as the Rust runner reports it).
          ...(step.kind != null ? { kind: step.kind } : {}),
          ...(step.errcode != null ? { errcode: step.errcode } : {}),
        };
      case 'revoke_tokens':
        await this.stub.revokeTokens(provider);
        return {};
      case 'render': {
        // As the Rust runner: a variable whose call fails is left as
        // written, and the step fails with the (last) error.
        let failure = null;
        const output = await substitute(step.template, async (name) => {
          try {
            return await p.renderVariable(name, step.booking);
          } catch (e) {
            failure = e;
            return undefined;
          }
        });
        if (failure) throw failure;
        this.messages.set(step.booking, output);
        return { output };
      }
      case 'try_pin': {
        let pins;
        if (step.pin != null) pins = [step.pin];
        else if (step.booking != null) {
          const message = this.messages.has(step.booking)
            ? this.messages.get(step.booking)
            : ((await p.renderVariable('smartlock_code', step.booking)) ?? '');
          pins = digitRuns(message);
        } else throw new StepFailure('try_pin needs `pin` or `booking`');
        let opens = false;
        for (const pin of pins) opens = (await this.stub.tryPin(provider, step.lock, pin)) || opens;
        return { opens, tried: pins.length };
      }
      case 'status':
        return statusJson(await p.bookingStatus(step.booking));
      case 'restart': {
        // A host restart: instances, queues and wake-ups are gone; only the
        // durable storage (and the vendors) remain.
        this.host = this.host.restarted();
        this.plugin = this.host.tenant(TENANT, this.backends);
        this.made.push(this.host);
        return {};
      }
      default:
        return {};
    }
  }

  /**
   * A connect step's credentials: the fields of the brand's form the step
   * gives, plus the form's host-supplied fields from the brand's world
   * `app` (e.g. the application a PMS registered with the vendor), as a
   * PMS adds its own.
   */
  _credentials(provider, step) {
    const brand = brandOf(this.brands, provider);
    const given = {};
    for (const field of brand?.credentials ?? []) {
      if (step[field.name] !== undefined && step[field.name] !== null) given[field.name] = step[field.name];
    }
    return connectCredentials(brand, given, this.apps[provider]);
  }
}

/** Every run of 4 to 12 digits in a message: what a guest would type. */
export function digitRuns(text) {
  return text.split(/[^0-9]/).filter((run) => run.length >= 4 && run.length <= 12);
}

function propertyIn(p) {
  return {
    id: p.id,
    name: p.name,
    timezone: p.timezone,
    checkInTime: p.check_in_time ?? undefined,
    checkOutTime: p.check_out_time ?? undefined,
  };
}

/** An i64 from the file as the i32 the contract takes (saturating), `undefined` kept. */
function saturate(v) {
  if (v === undefined || v === null) return undefined;
  return Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.trunc(v)));
}

/**
 * How codes reach a lock (a WIT `remote-path`), as reports spell it:
 * `{kind: via}` for a link through a device, `{kind: true}` for a direct
 * one.
 */
export function remoteJson(remote) {
  if (remote === undefined || remote === null) return null;
  return { [remote.kind]: remote.via ?? true };
}

/** The report's `state` of an event kind (`on-lock` -> `on_lock`). */
const stateName = (kind) => kind.replace(/-/g, '_');

/**
 * One code event as reports, feeds and webhooks spell it (the Rust
 * runner's `event_json`): `{"id", "at", "state", "booking"?, "property"?,
 * "provider"?, "lock"?, "door"?, "at_risk"?, "detail"}`, each optional key
 * only where the event has it.
 */
export function eventJson(e) {
  const out = { id: e.id, at: utc(e.at), state: stateName(e.kind) };
  for (const [key, value] of [
    ['booking', e.bookingId],
    ['property', e.propertyId],
    ['provider', e.brand],
    ['lock', e.lockId],
    ['door', e.door],
  ]) {
    if (value !== undefined && value !== null) out[key] = value;
  }
  if (e.atRisk !== undefined && e.atRisk !== null) out.at_risk = e.atRisk;
  out.detail = e.detail;
  return out;
}

/** Every event recorded in `events` (`SqliteEvents`, `MemoryEvents`), as the report's `events`. */
export function reportEvents(events) {
  const out = [];
  for (let after = 0; ; ) {
    const page = events.after(after, 500);
    if (page.length === 0) return out;
    after = page.at(-1).seq;
    for (const stored of page) out.push(eventJson(eventFromJson(stored.json)));
  }
}

const opt = (v) => (v === undefined ? null : v);
const stamp = (t) => (t === undefined ? null : utc(t));

/** A code window as reports spell it (`null` when there is none). */
function windowJson(w) {
  if (w === undefined || w === null) return null;
  return { start: utc(w.start), end: utc(w.end), start_local: w.startLocal, end_local: w.endLocal };
}

/** A fallback code (R24, R25) as reports spell it (`null` when there is none). */
function fallbackJson(f) {
  if (f === undefined || f === null) return null;
  return { kind: f.kind, pin: f.pin, window: windowJson(f.window), rule: opt(f.rule), revocable: f.revocable };
}

/** A booking's code on a shared door (R26) as reports spell it. */
function doorJson(d) {
  return {
    provider: d.brand,
    lock: d.lockId,
    door: d.doorName,
    state: d.state.replace(/-/g, '_'),
    pin: opt(d.pin),
    window: windowJson(d.window),
    last_error: opt(d.lastError),
    next_attempt: stamp(d.nextAttempt),
    alert_sent: d.alertSent,
    fallback: fallbackJson(d.fallback),
  };
}

/** A code status as reports spell it. */
export function statusJson(s) {
  // The Rust runner's one code-status shape (serve's keys), then the
  // step's original `booking` and `lock`, in its key order (reports are
  // compared as text).
  const out = {
    booking_id: s.bookingId,
    state: s.state.replace(/-/g, '_'),
    pin: opt(s.pin),
    provider: opt(s.brand),
    lock_id: opt(s.lockId),
    window: windowJson(s.window),
    create_at: stamp(s.createAt),
    last_error: opt(s.lastError),
    next_attempt: stamp(s.nextAttempt),
    alert_sent: s.alertSent,
    fallback: fallbackJson(s.fallback),
  };
  // Only where the booking has codes on shared doors (R26): older reports stay as they were.
  if (s.doors?.length) out.doors = s.doors.map(doorJson);
  out.booking = s.bookingId;
  out.lock = opt(s.lockId);
  return out;
}

/**
 * Runs a scenario file to its `end` step and returns the report (the
 * object `host-harness scenario` prints).
 * @param {string} path
 * @param {{host?: Host, component?: LoadedComponent, instances?: 'per-call'|'per-tenant', binary?: string, logger?: object,
 *   stubStderr?: NodeJS.WritableStream | null, displayPath?: string}} [options]
 */
export async function runScenarioFile(path, options = {}) {
  const displayPath = options.displayPath ?? path;
  // The component first: the file's brand ids and connect fields are its (R30).
  const component = options.host?.component ?? options.component ?? (await LoadedComponent.load());
  const { scenario, faultSteps, deferred } = readScenarioFile(path, displayPath, component.brands);
  // The stub checks the worlds as it starts (exit status 2), then the fault
  // steps; its log is held until they pass (a refusal is one line).
  const stubStderr = options.stubStderr === undefined ? process.stderr : options.stubStderr;
  const held = [];
  const sink = { target: null, write: (d) => (sink.target ? sink.target.write(d) : held.push(d)) };
  const stub = await StubProcess.start(scenario.path, {
    binary: options.binary ?? harnessBinary(),
    stderr: sink,
    displayPath,
  });
  let host = options.host;
  let routes;
  try {
    for (const n of faultSteps) {
      const refused = await stub.checkFault(scenario.steps[n - 1]);
      if (refused) throw new InvalidScenario(`${displayPath}: step ${n}: ${refused}`);
    }
    if (deferred) throw new InvalidScenario(`${displayPath}: ${deferred}`);
    routes = await stubRoutes(stub.base, component.brands);
    if (stubStderr) for (const d of held.splice(0)) stubStderr.write(d);
    sink.target = stubStderr ?? { write() {} };
    if (!host) {
      host = new Host(component, {
        ...(options.logger ? { logger: options.logger } : {}),
        ...(options.instances ? { instances: options.instances } : {}),
      });
      await host.ready();
    }
  } catch (e) {
    await stub.shutdown();
    throw e;
  }
  const dir = mkdtempSync(join(tmpdir(), 'smartlock-node-scenario-'));
  const db = new SqliteDb(join(dir, 'harness.sqlite'));
  let driver = null;
  try {
    driver = new Driver({
      host,
      stub,
      routes,
      db,
      start: scenario.startSecs,
      tickMinutes: scenario.tickMinutes,
      wakeUps: scenario.wakeUps,
      logger: options.logger,
    });
    for (const { id } of component.brands) if (scenario[id]?.app) driver.apps[id] = scenario[id].app;
    const steps = [];
    for (const step of scenario.steps) {
      await driver.advanceTo(step.atSecs);
      if (step.do === 'end') break;
      const outcome = await driver.apply(step);
      steps.push({
        at: utc(step.atSecs),
        do: step.do,
        ok: outcome.ok,
        ...(outcome.ok ? { result: outcome.result } : { error: outcome.error }),
      });
    }
    const pins = await stub.pins();
    // The fields the Rust runner's report has (the stub's admin API may tell more).
    const { requests, by_endpoint } = await stub.http();
    const http = { requests, by_endpoint };
    return {
      scenario: scenario.name,
      steps,
      pins,
      emails: db.outbox(TENANT).emails().map((e) => ({ at: utc(e.at), to: 'owner', subject: e.subject, body: e.body })),
      events: reportEvents(db.events(TENANT)),
      http,
      ticks: { count: driver.ticks, failed: driver.tickFailures, wake_ups: driver.wakeTicks },
    };
  } finally {
    // The hosts this run made; a host given by the caller stays open.
    await driver?.close();
    if (!options.host) await host.close();
    await stub.shutdown();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes a scenario object to a temporary file and runs it. */
export async function runScenario(scenario, options = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'smartlock-node-file-'));
  const path = join(dir, 'scenario.json');
  writeFileSync(path, JSON.stringify(scenario));
  try {
    return await runScenarioFile(path, options);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

#!/usr/bin/env node
// Per-call timings of the Node host, and the Rust host's from the same run.
//
//   npm run timing              # Node figures, then `host-harness bench --json`, then the ratios
//   npm run timing -- --no-rust # Node only
//   npm run timing -- --json    # one JSON object
//
// The Node side mirrors host-harness's bench (host-harness/src/bench.rs):
// one tenant on a SQLite file with 1,000 future bookings on an assigned
// lock (made through the plugin against a `host-harness stub`), clock at
// the same NOW, medians of repeated calls through the public API (so a
// call's trip to its worker thread and back is in every figure but the
// `_warm` and `instantiate` ones):
// - tick_idle_us_1k / render_us_per_call / booking_changed_us_per_call:
//   the default host, the tenant's instance kept in its worker;
// - per_call_*: `instances: 'per-call'`, a fresh instance in the worker
//   for every call (what the Rust host does);
// - instantiate_us: a fresh instance, no export called (jco's
//   instantiation, on this thread: `withInstance`);
// - render_us_warm / booking_changed_us_warm: repeated calls on one
//   instance on this thread (the guest code and the imports alone).
// The Rust figures: `target/release/host-harness bench --json`
// ($SMARTLOCK_HOST_HARNESS_RELEASE), else the debug binary (slower host code:
// flagged in the output). Its per-call render is instantiate_us + render_us,
// its idle tick makes a fresh instance too. The ratios are Node ÷ Rust.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { build } from '../scripts/build.js';
import { Host, LoadedComponent, SimClock, SqliteDb, SyncHttpClient, silentLogger } from '../src/index.js';
import { REPO_ROOT, StubProcess, harnessBinary, stubRoutes } from '../src/scenario.js';

const NOW = 1_799_020_800; // host-harness bench's NOW (2027-01-04)
const BOOKINGS = 1000;
const args = process.argv.slice(2);
const asJson = args.includes('--json');
const withRust = !args.includes('--no-rust');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function timeCalls(n, f) {
  for (let i = 0; i < Math.min(50, n); i++) await f(i); // warm-up (JIT tiers)
  const samples = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f(i);
    samples.push((performance.now() - t) * 1000);
  }
  return median(samples);
}

function timeWarm(exports, n, f) {
  for (let i = 0; i < 50; i++) f(exports, -1 - i);
  const samples = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    f(exports, i);
    samples.push((performance.now() - t) * 1000);
  }
  return median(samples);
}

const property = { id: 'p1', name: 'Bench House', timezone: 'Europe/Paris' };
const booking = (id, day) => ({
  booking: {
    id,
    propertyId: 'p1',
    guestName: 'Ana',
    checkIn: `2027-${String(3 + Math.floor(day / 28)).padStart(2, '0')}-${String(1 + (day % 28)).padStart(2, '0')}`,
    checkOut: `2027-${String(3 + Math.floor(day / 28)).padStart(2, '0')}-${String(1 + (day % 28)).padStart(2, '0')}`.replace(
      /-(\d\d)$/,
      (_, d) => `-${String(Number(d) + 1).padStart(2, '0')}`,
    ),
    status: 'confirmed',
  },
  property,
});

async function nodeFigures() {
  build();
  const dir = mkdtempSync(join(tmpdir(), 'smartlock-node-timing-'));
  const world = {
    start: new Date(NOW * 1000).toISOString(),
    igloohome: {
      accounts: [{ client_id: 'bench-id', client_secret: 'bench-secret', name: 'Bench' }],
      locks: [{ id: 'L1', name: 'Front door', bridge: 'B1' }],
      bridges: [{ id: 'B1', name: 'Hall bridge', online: true }],
    },
  };
  writeFileSync(join(dir, 'world.json'), JSON.stringify(world));
  const stub = await StubProcess.start(join(dir, 'world.json'), { binary: harnessBinary(), stderr: null });
  try {
    const loadStarted = performance.now();
    const component = await LoadedComponent.load();
    const loadMs = performance.now() - loadStarted;
    const db = new SqliteDb(join(dir, 'bench.sqlite'));
    const backends = {
      storage: db.tenant('bench'),
      mailer: db.outbox('bench'),
      clock: new SimClock(NOW),
      http: new SyncHttpClient({ timeoutMs: 2000 }),
      routes: await stubRoutes(stub.base, component.brands),
    };
    const setup = new Host(component, { logger: silentLogger });
    const s = setup.tenant('bench', backends);
    await s.connect('igloohome', { client_id: 'bench-id', client_secret: 'bench-secret' });
    await s.onPropertyChanged(property);
    await s.assign('p1', 'igloohome', 'L1', { daysBefore: 5, marginMinutes: 30 });
    for (let i = 0; i < BOOKINGS; i++) await s.onBookingChanged(booking(`bk-${String(i).padStart(6, '0')}`, i % 250));
    // New bookings are looked at once on the next tick(s); then nothing is due.
    let settled = false;
    for (let i = 0; i < 50 && !settled; i++) settled = (await s.onTick(NOW)).processed === 0;
    if (!settled) throw new Error('the tick never became idle');
    await setup.close();

    const host = new Host(component, { logger: silentLogger });
    await host.ready();
    const t = host.tenant('bench', backends);
    const figures = {
      component_bytes: component.manifest.bytes,
      load_ms: round(loadMs),
      workers: host.workers,
      tick_idle_us_1k: round(await timeCalls(1000, () => t.onTick(NOW))),
      render_us_per_call: round(await timeCalls(4000, () => t.renderVariable('smartlock_code', 'bk-000001'))),
      booking_changed_us_per_call: round(await timeCalls(300, (i) => t.onBookingChanged(booking(`new-${i}`, 5)))),
    };
    const fresh = new Host(component, { logger: silentLogger, instances: 'per-call' });
    await fresh.ready();
    const f = fresh.tenant('bench', backends);
    figures.per_call_tick_idle_us_1k = round(await timeCalls(400, () => f.onTick(NOW)));
    figures.per_call_render_us = round(await timeCalls(1000, () => f.renderVariable('smartlock_code', 'bk-000001')));
    figures.instantiate_us = round(await timeCalls(400, () => t.withInstance(() => {})));
    await t.withInstance((exports) => {
      figures.render_us_warm = round(
        timeWarm(exports, 2000, (e) => e.messages.renderVariable('smartlock_code', 'bk-000001')),
        2,
      );
      figures.booking_changed_us_warm = round(
        timeWarm(exports, 300, (e, i) => e.events.onBookingChanged(booking(`warm-${i}`, 6))),
      );
    });
    await fresh.close();
    await host.close();
    db.close();
    return figures;
  } finally {
    await stub.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}

function rustFigures() {
  const release = process.env.SMARTLOCK_HOST_HARNESS_RELEASE || join(REPO_ROOT, 'target/release/host-harness');
  const binary = existsSync(release) ? release : harnessBinary();
  const r = spawnSync(binary, ['bench', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  if (r.status !== 0) return { error: `${binary} bench failed (exit ${r.status})` };
  const all = JSON.parse(r.stdout.trim().split('\n').at(-1));
  return {
    binary: binary.replace(REPO_ROOT + '/', ''),
    build: binary === release ? 'release' : 'debug (host code unoptimised)',
    instantiate_us: all.instantiate_us,
    tick_idle_us_1k: all.tick_idle_us_1k,
    render_us_per_call: round(all.instantiate_us + all.render_us),
    render_us_warm: all.render_us,
    booking_changed_us_warm: all.booking_changed_us,
  };
}

/** Node ÷ Rust for the calls the Rust host makes with a fresh instance each (its only way). */
function ratios(node, rust) {
  if (!rust || rust.error) return null;
  const r = (a, b) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? round(a / b, 2) : null);
  return {
    tick_idle: r(node.tick_idle_us_1k, rust.tick_idle_us_1k),
    render_per_call: r(node.render_us_per_call, rust.render_us_per_call),
    per_call_tick_idle: r(node.per_call_tick_idle_us_1k, rust.tick_idle_us_1k),
    per_call_render: r(node.per_call_render_us, rust.render_us_per_call),
    instantiate: r(node.instantiate_us, rust.instantiate_us),
    render_warm: r(node.render_us_warm, rust.render_us_warm),
  };
}

const node = await nodeFigures();
const rust = withRust ? rustFigures() : null;
const ratio = ratios(node, rust);
if (asJson) {
  process.stdout.write(JSON.stringify({ node, rust, ratio }) + '\n');
} else {
  const keys = [...new Set([...Object.keys(node), ...Object.keys(rust ?? {})])];
  process.stdout.write(`${'figure'.padEnd(32)} ${'node'.padStart(12)} ${'rust'.padStart(12)}\n`);
  for (const k of keys) {
    process.stdout.write(`${k.padEnd(32)} ${String(node[k] ?? '').padStart(12)} ${String(rust?.[k] ?? '').padStart(12)}\n`);
  }
  if (ratio) {
    process.stdout.write(`\n${'node ÷ rust'.padEnd(32)} ${'ratio'.padStart(12)}\n`);
    for (const [k, v] of Object.entries(ratio)) process.stdout.write(`${k.padEnd(32)} ${String(v ?? '').padStart(12)}\n`);
  }
}
process.exit(0);

// R22: the Node host passes the same scenario files with the same
// lock-side outcome as the Rust host. Every file of the repository's
// examples/ (and test/scenarios/) runs through `host-harness scenario` and
// through this package's runner (the default host: calls in its worker
// threads, the tenant's instance kept between calls; one file again with a
// fresh instance per call); the reports must agree on:
// - pins: every field but the PIN's digits (each PIN reads <PIN> wherever
//   it appears: whether a moved code keeps its PIN can depend on the random
//   digits, e.g. a TTLock PIN with a 0 is not a valid Nuki PIN);
// - emails: at, subject and body (PINs likewise);
// - events: every code event (R27, R28) as recorded, in order, ids included;
// - steps: at, do, ok, the error sentence, the result (PINs likewise; trap
//   messages only up to "plugin trapped");
// - http (requests by endpoint) and ticks (count, failed, wake-ups).
// Files with the same content run once.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Host, LoadedComponent, silentLogger } from '../src/index.js';
import { REPO_ROOT, harnessBinary, runScenarioFile } from '../src/scenario.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));

/** The scenario files, from the repository alone (a clone is enough). */
function scenarioFiles() {
  const dirs = [join(REPO_ROOT, 'examples'), join(HERE, 'scenarios')];
  const seen = new Set();
  const files = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) throw new Error(`the scenario folder ${dir} is missing: the conformance tests need it`);
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
      const path = join(dir, name);
      const hash = createHash('sha256').update(readFileSync(path)).digest('hex');
      if (seen.has(hash)) continue;
      seen.add(hash);
      files.push(path);
    }
  }
  return files;
}

/** `host-harness scenario FILE`'s report. */
function runRust(binary, file) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(binary, ['scenario', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`host-harness scenario ${file} exited ${code}: ${err.trim().split('\n').at(-1)}`));
      else resolveRun(JSON.parse(out));
    });
  });
}

/** The PINs of a report, in order of first appearance. */
function pinsOf(report) {
  const pins = [];
  const add = (p) => {
    if (typeof p === 'string' && /^\d{4,10}$/.test(p) && !pins.includes(p)) pins.push(p);
  };
  for (const step of report.steps) add(step.result?.pin);
  for (const p of report.pins) add(p.pin);
  // PINs that only show in rendered messages
  for (const step of report.steps) {
    for (const m of String(step.result?.output ?? '').matchAll(/\b\d{6}\b/g)) add(m[0]);
  }
  return pins;
}

/** The report with PIN digits replaced and host-specific details dropped. */
export function normalise(report) {
  const pins = pinsOf(report);
  const replace = (text) => {
    let out = text;
    for (const pin of pins) out = out.replace(new RegExp(`\\b${pin}\\b`, 'g'), '<PIN>');
    return out.replace(/^plugin trapped \(tenant [^)]*\): .*/, 'plugin trapped');
  };
  const walk = (v) => {
    if (typeof v === 'string') return replace(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const r = walk(report);
  return {
    scenario: r.scenario,
    steps: r.steps,
    pins: r.pins,
    emails: r.emails.map((e) => ({ at: e.at, to: e.to, subject: e.subject, body: e.body })),
    events: r.events,
    http: r.http,
    ticks: r.ticks,
  };
}

let binary;
let host;
before(async () => {
  binary = harnessBinary({ build: true });
  host = new Host(await LoadedComponent.load(), { logger: silentLogger });
});

async function compare(file, nodeHost) {
  const [rust, node] = await Promise.all([
    runRust(binary, file),
    runScenarioFile(file, { host: nodeHost, binary, logger: silentLogger, stubStderr: null }),
  ]);
  const r = normalise(rust);
  const n = normalise(node);
  assert.ok(r.pins.length > 0 || r.steps.length > 0, 'the scenario did something');
  assert.deepEqual(n.pins, r.pins, "pins (the locks' truth)");
  assert.deepEqual(n.emails, r.emails, 'e-mails');
  assert.ok(Array.isArray(r.events), 'the Rust report has events');
  assert.deepEqual(n.events, r.events, 'code events');
  assert.equal(n.steps.length, r.steps.length, 'step count');
  n.steps.forEach((step, i) => assert.deepEqual(step, r.steps[i], `step ${i + 1} (${r.steps[i].do} at ${r.steps[i].at})`));
  assert.deepEqual(n.http, r.http, 'vendor requests');
  assert.deepEqual(n.ticks, r.ticks, 'ticks');
  // The report is the same document, key order included, up to the PINs.
  assert.equal(JSON.stringify(n), JSON.stringify(r));
}

for (const file of scenarioFiles()) {
  const name = file.replace(REPO_ROOT + '/', '');
  test(`R22 ${name}: the Node host gives the Rust host's lock-side outcome`, async () => {
    await compare(file, host);
  });
}

test('R22 with a fresh instance for every call: the same outcome', async () => {
  const perCall = new Host(host.component, { logger: silentLogger, instances: 'per-call' });
  try {
    await compare(join(REPO_ROOT, 'examples/vendor-faults.json'), perCall);
  } finally {
    await perCall.close();
  }
});

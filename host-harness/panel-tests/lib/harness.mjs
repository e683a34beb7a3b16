// What the panel tests share: the `host-harness serve --demo` process, headless
// Chromium through playwright-core, screenshots and step timings.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import assert from 'node:assert/strict';

import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const PANEL_TESTS = resolve(here, '..');
export const OUTPUT = join(PANEL_TESTS, 'output');

/** Debian's Chromium, or CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** The binary under test: HOST_HARNESS_BIN (set by host-harness/tests/browser.rs) or the debug build. */
export const BIN = process.env.HOST_HARNESS_BIN || resolve(PANEL_TESTS, '../../target/debug/host-harness');
/** The operator's token, given to the server in SMARTLOCK_TOKEN (never on its command line). */
export const TOKEN = 'panel-test-operator-token';
/** Simulated seconds per wall second: a code due now is on the lock within a second or two. */
export const SPEED = 300;

/** Chromium's flags on this closed network (no background fetches that would hang or fail). */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Runs `host-harness ARGS` with its stderr in output/NAME-LOGNAME.log; resolves with its base URL
 * (the first line it prints on stdout) and a `stop` that ends it (SIGTERM) and removes `work`.
 */
async function startProcess(name, logName, args, env, work) {
  await mkdir(OUTPUT, { recursive: true });
  if (process.env.HOST_HARNESS_CACHE_DIR) args.push('--cache-dir', process.env.HOST_HARNESS_CACHE_DIR);
  const proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const log = join(OUTPUT, `${name}-${logName}.log`);
  proc.stderr.pipe(createWriteStream(log));
  const base = await new Promise((resolveBase, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${args[0]} printed no base URL within 120 s`)), 120_000);
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n');
      if (line.length > 1) {
        clearTimeout(timer);
        resolveBase(line[0].trim());
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited (${code}) before printing its base URL; see output/${name}-${logName}.log`));
    });
  });
  const stop = async () => {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise((r) => { proc.once('exit', r); setTimeout(r, 5000); });
    }
    await rm(work, { recursive: true, force: true });
  };
  return { base, log, stop };
}

/**
 * Starts `host-harness serve --port 0` on a fresh database with the operator's token in
 * SMARTLOCK_TOKEN; resolves once its base URL is printed. By default a demo (`--demo --speed
 * SPEED`); with `stub` (a stub process's base URL) it follows that stub instead (`--stub URL`:
 * the world's accounts, the stub's clock, no TTLock application). `log` is the file its stderr goes to.
 */
export async function startServer(name, { stub } = {}) {
  const work = await mkdtemp(join(tmpdir(), 'panel-serve-'));
  const args = ['serve', '--port', '0', '--db', join(work, 'panel.sqlite')];
  args.push(...(stub ? ['--stub', stub] : ['--demo', '--speed', String(SPEED)]));
  const env = { ...process.env, RUST_LOG: 'info', SMARTLOCK_TOKEN: TOKEN };
  delete env.SMARTLOCK_TTLOCK_CLIENT_SECRET;
  return startProcess(name, 'server', args, env, work);
}

/**
 * Starts `host-harness stub --config WORLD --speed SPEED` for `world` (a scenario's vendor
 * objects: `igloohome`, `nuki`, `ttlock`, `seam`, `start`); resolves with its base URL, where
 * `serve --stub` sends every brand and `/_admin/pins` lists every PIN on every lock.
 */
export async function startStub(name, world) {
  const work = await mkdtemp(join(tmpdir(), 'panel-stub-'));
  const config = join(work, 'world.json');
  await writeFile(config, JSON.stringify(world));
  const args = ['stub', '--config', config, '--port', '0', '--speed', String(SPEED)];
  return startProcess(name, 'stub', args, { ...process.env, RUST_LOG: 'info' }, work);
}

/** The brands as the service lists them (`GET /api/brands`, public): the truth the cards are checked against. */
export async function brandsOf(base) {
  const res = await fetch(`${base}/api/brands`);
  if (!res.ok) throw new Error(`GET /api/brands: HTTP ${res.status}`);
  return (await res.json()).brands;
}

/** The panel's source files, served instead of the binary's copies when PANEL_FROM_SOURCE is set. */
const PANEL_SOURCE = resolve(PANEL_TESTS, '../src/serve/panel');
const PANEL_FILES = { '/': 'index.html', '/panel.js': 'panel.js', '/panel.css': 'panel.css' };

/**
 * Headless Chromium with a fresh user-data-dir; `timezoneId` is the reader's zone (the machine's by
 * default). With PANEL_FROM_SOURCE=1 the panel's three files come from `src/serve/panel/` instead
 * of the binary (to try a change to the panel without rebuilding; never in CI: the test is of the binary).
 */
export async function startBrowser({ timezoneId } = {}) {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}`);
  const userDataDir = await mkdtemp(join(tmpdir(), 'panel-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 900 },
    locale: 'en-GB',
    timezoneId,
  });
  if (process.env.PANEL_FROM_SOURCE) {
    await context.route((url) => Object.hasOwn(PANEL_FILES, url.pathname), async (route) => {
      const response = await route.fetch();
      const file = join(PANEL_SOURCE, PANEL_FILES[new URL(route.request().url()).pathname]);
      await route.fulfill({ response, body: await readFile(file, 'utf8') });
    });
  }
  const problems = [];
  /** Watches a page for script errors, and records every API call it makes with its Authorization header. */
  const watch = (page) => {
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // A refused API call is logged by Chromium as a failed resource load: expected, not a problem.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console error: ${m.text()}`);
    });
    const seen = [];
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.pathname.startsWith('/api/')) {
        // A request still on its way when the page closes has no headers to give: left out.
        seen.push(r.allHeaders().then(
          (h) => ({ method: r.method(), path: url.pathname, authorization: h.authorization || null }),
          () => null,
        ));
      }
    });
    /** The API calls the page made so far: method, path, Authorization header (null: none). */
    const calls = async () => (await Promise.all(seen)).filter(Boolean);
    return { page, calls };
  };
  const first = watch(context.pages()[0] || (await context.newPage()));
  /** A new tab: its session storage (where the panel keeps the key) starts empty. */
  const newTab = async () => watch(await context.newPage());
  const close = async () => {
    await context.close();
    await rm(userDataDir, { recursive: true, force: true });
  };
  return { context, page: first.page, calls: first.calls, newTab, problems, close };
}

/** Runs named steps, timing each and taking a screenshot after it into output/NAME/. */
export function stepper(name, page) {
  const timings = [];
  let n = 0;
  /** A screenshot named after `title`: the whole page, or the viewport while the brand's panel (a modal drawer) is open. */
  let cleared = false;
  const snap = async (title) => {
    if (!cleared) {
      await rm(join(OUTPUT, name), { recursive: true, force: true });
      cleared = true;
    }
    n += 1;
    const file = `${String(n).padStart(2, '0')}-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}.png`;
    await mkdir(join(OUTPUT, name), { recursive: true });
    const fullPage = !(await page.locator('dialog[open]').count().catch(() => 0));
    await page.screenshot({ path: join(OUTPUT, name, file), fullPage }).catch(() => {});
    return `${name}/${file}`;
  };
  /** Runs `fn(snap)` as a timed step, with a screenshot at its end (a step that closes the drawer snaps before). */
  const step = async (title, fn) => {
    const started = performance.now();
    try {
      await fn(snap);
    } finally {
      const ms = Math.round(performance.now() - started);
      timings.push({ step: title, ms, screenshot: await snap(title) });
    }
  };
  const report = async () => {
    await writeFile(join(OUTPUT, `${name}-timings.json`), `${JSON.stringify(timings, null, 2)}\n`);
    const width = Math.max(...timings.map((t) => t.step.length));
    console.log(`${name}:\n${timings.map((t) => `  ${t.step.padEnd(width)}  ${String(t.ms).padStart(6)} ms`).join('\n')}`);
  };
  return { step, report };
}

/** Polls until `locator`'s text matches `pattern`; returns the text. */
export async function waitForText(locator, pattern, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let last = '';
  for (;;) {
    last = (await locator.count()) ? await locator.first().innerText() : '';
    if (pattern.test(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; last text: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The API as a PMS calls it (the truth the panel is checked against), with the operator's token or `key`. */
export function apiClient(base, tenant, key = TOKEN) {
  return async (method, path, body) => {
    const headers = { Authorization: `Bearer ${key}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${base}/api/tenants/${tenant}${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
}

/**
 * The demo's vendor stubs, read directly: the locks' own truth, not what the plugin or the panel
 * says. `GET /api/service` names their base URL (`demo_stubs`).
 */
export async function demoStubs(base) {
  const service = await (await fetch(`${base}/api/service`)).json();
  if (!service.demo_stubs) throw new Error(`no demo_stubs in /api/service: ${JSON.stringify(service)}`);
  const get = async (path) => {
    const res = await fetch(`${service.demo_stubs}${path}`);
    if (!res.ok) throw new Error(`GET ${path} on the demo stubs: HTTP ${res.status}`);
    return res.json();
  };
  return {
    url: service.demo_stubs,
    /** Every PIN on every lock: `{provider, lock, pin, access_name, start, end, added_at, removed_at}` (RFC 3339 UTC; `removed_at` null while on the lock). */
    pins: () => get('/_admin/pins'),
    /** Requests the stubs answered: `{requests, by_endpoint}` (igloohome's endpoints unprefixed, `nuki.`, `ttlock.`). */
    http: () => get('/_admin/http'),
  };
}

/** The service's clock (simulated in the demo), in Unix seconds. */
export async function serviceNow(base) {
  return (await (await fetch(`${base}/api/service`)).json()).clock.unix;
}

/** Polls `fn` until it returns something truthy; returns that. `what` names it in the timeout's error. */
export async function until(fn, what, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Nothing wider than the viewport: no horizontal scroll on the page, no element of `root`
 * reaching past either edge, no table scrolled sideways, no cell whose text is cut off.
 */
export async function assertNothingOffScreen(page, root) {
  const problems = await page.evaluate((selector) => {
    const vw = document.documentElement.clientWidth;
    const found = [];
    if (document.documentElement.scrollWidth > vw) found.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${vw}`);
    const describe = (n) => `${n.tagName.toLowerCase()}${n.className ? `.${String(n.className).replace(/ /g, '.')}` : ''} "${(n.innerText || '').slice(0, 40)}"`;
    for (const n of document.querySelectorAll(`${selector} *`)) {
      // Not drawn, or drawn only for screen readers (a 1 px clipped box).
      if (!n.getClientRects().length || n.closest('.visually-hidden, caption, .skip:not(:focus)')) continue;
      const thead = n.closest('thead');
      if (thead && getComputedStyle(thead).position === 'absolute') continue;
      if (n.closest('[hidden], details:not([open]) > :not(summary)')) continue;
      const r = n.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.right > vw + 1 || r.left < -1) found.push(`${describe(n)} spans ${Math.round(r.left)}..${Math.round(r.right)} of ${vw}`);
      if (/^(TD|TH)$/.test(n.tagName) && n.scrollWidth > n.clientWidth + 1) found.push(`${describe(n)} is cut off`);
    }
    for (const w of document.querySelectorAll(`${selector} .table-wrap`)) {
      if (w.scrollWidth > w.clientWidth + 1) found.push(`a table scrolls sideways (a column hidden off-screen): ${w.scrollWidth} > ${w.clientWidth}`);
    }
    return found;
  }, root);
  assert.deepEqual(problems.slice(0, 10), [], `nothing off-screen in ${root}`);
}

#!/usr/bin/env node
// Transpiles the plugin component with jco into gen/ (gitignored).
//
// The component: $SMARTLOCK_PLUGIN_WASM, else the one `cargo build -p
// host-harness` makes (target/wasm/wasm32-unknown-unknown/wasm-release/
// smartlock_plugin.component.wasm); when it is missing, one line says how
// to build it (exit status 2). Nothing is done when gen/ already holds the
// transpilation of the same bytes. `--force` transpiles again; `--cargo`
// runs `cargo build -p host-harness` first (to pick up a changed plugin).
// Progress goes to stderr.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { cargoBuild, defaultComponent, NotBuilt, pluginComponent, REPO_ROOT } from '../src/locate.js';
import { capMemory } from '../src/memory.js';

export { capMemory };

const here = dirname(fileURLToPath(import.meta.url));
export const PACKAGE_DIR = resolve(here, '..');
export { REPO_ROOT, cargoBuild };
export const GEN_DIR = join(PACKAGE_DIR, 'gen');
export const DEFAULT_WASM = defaultComponent();
/** Bumped when the post-processing below changes, so gen/ is redone. */
const BUILD_FORMAT = 3;
/** Linear memory cap per instance, as smartlock-host's default `memory_limit` (64 MiB). */
export const MEMORY_LIMIT_MIB = Number(process.env.SMARTLOCK_MEMORY_LIMIT_MIB || 64);

let quiet = false;
const say = (m) => quiet || process.stderr.write(`smartlock-node build: ${m}\n`);

/** The component's path; with `cargo`, `cargo build -p host-harness` runs first. */
export function componentPath({ cargo = false } = {}) {
  if (cargo) cargoBuild();
  return pluginComponent();
}

/** jco's folder in node_modules (its package.json exports no subpaths). */
function jcoDir() {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve('@bytecodealliance/jco'));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

function jcoVersion() {
  return JSON.parse(readFileSync(join(jcoDir(), 'package.json'), 'utf8')).version;
}

/**
 * Post-processing of jco's output (sync instantiation, Node 20):
 * `WebAssembly.promising` does not exist without JSPI, and the generated
 * code calls it in a try/catch at every instantiation; V8 builds each
 * TypeError's message by re-parsing the enclosing 12,000-line function,
 * which made an instantiation cost ~30 ms instead of ~1 ms. The helper
 * gives the same result as the catch branch (the plain function), or the
 * real `WebAssembly.promising` where it exists.
 */
function patchGeneratedJs(js) {
  const helper =
    "const __smartlockPromising = typeof WebAssembly.promising === 'function' ? WebAssembly.promising : (f) => f;\n";
  return helper + js.replaceAll('WebAssembly.promising(', '__smartlockPromising(');
}

/**
 * Makes gen/ hold the transpiled component; returns its manifest.
 * `silent`: no progress lines on stderr.
 * @param {{force?: boolean, cargo?: boolean, silent?: boolean}} [options]
 */
export function build({ force = false, cargo = false, silent = false } = {}) {
  const was = quiet;
  quiet = silent;
  try {
    return transpile(componentPath({ cargo }), GEN_DIR, { force });
  } finally {
    quiet = was;
  }
}

/**
 * Transpiles the component at `wasm` into `outDir` (with the post-processing
 * below) unless `outDir` already holds the same bytes' transpilation.
 */
export function transpile(wasm, outDir, { force = false } = {}) {
  const bytes = readFileSync(wasm);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const jco = jcoVersion();
  const manifestPath = join(outDir, 'manifest.json');
  if (!force && existsSync(manifestPath)) {
    try {
      const old = JSON.parse(readFileSync(manifestPath, 'utf8'));
      const same = old.sha256 === sha256 && old.jco === jco && old.format === BUILD_FORMAT;
      if (same && old.memoryLimitMiB === MEMORY_LIMIT_MIB) return old;
    } catch {
      // unreadable: transpile again
    }
  }
  const tmp = `${outDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  say(`transpiling ${wasm} with jco ${jco}`);
  const jcoBin = join(jcoDir(), 'dist/jco.js');
  const r = spawnSync(
    process.execPath,
    [jcoBin, 'transpile', wasm, '-o', tmp, '--name', 'smartlock', '--instantiation', 'sync', '-q'],
    { stdio: ['ignore', 2, 2] },
  );
  if (r.status !== 0) throw new Error(`jco transpile failed (exit ${r.status})`);
  const jsPath = join(tmp, 'smartlock.js');
  writeFileSync(jsPath, patchGeneratedJs(readFileSync(jsPath, 'utf8')));
  const maxPages = MEMORY_LIMIT_MIB * 16;
  for (const core of readdirSync(tmp).filter((f) => f.endsWith('.wasm'))) {
    const capped = capMemory(readFileSync(join(tmp, core)), maxPages);
    if (capped) writeFileSync(join(tmp, core), capped);
  }
  const manifest = {
    format: BUILD_FORMAT,
    source: wasm,
    sha256,
    bytes: bytes.length,
    jco,
    instantiation: 'sync',
    memoryLimitMiB: MEMORY_LIMIT_MIB,
    js: 'smartlock.js',
    coreModules: readdirSync(tmp)
      .filter((f) => f.endsWith('.wasm'))
      .sort(),
    builtAt: new Date().toISOString(),
  };
  writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(dirname(outDir), { recursive: true });
  renameSync(tmp, outDir);
  say(`wrote ${outDir} (${manifest.coreModules.length} core modules)`);
  return manifest;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    build({ force: process.argv.includes('--force'), cargo: process.argv.includes('--cargo') });
  } catch (e) {
    say(`error: ${e.message}`);
    process.exit(e instanceof NotBuilt ? 2 : 1);
  }
}

// Where the Node host finds what cargo builds: the `host-harness` binary
// (it runs the vendor stubs) and the plugin component. Nothing is built
// here unless asked (`--cargo`): a missing piece is one line saying the
// command that builds it.

import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/** The command that builds both (the binary and, through its build script, the component). */
export const BUILD_COMMAND = 'cargo build -p host-harness';

/** Something cargo builds is not there (the CLI's exit status 2). */
export class NotBuilt extends Error {
  constructor(message) {
    super(message);
    this.name = 'NotBuilt';
  }
}

/** cargo's target folder ($CARGO_TARGET_DIR, else target/ at the repository root). */
export function targetDir() {
  return resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR || 'target');
}

/** The plugin component host-harness's build script makes (the same for debug and release builds). */
export function defaultComponent() {
  return join(targetDir(), 'wasm/wasm32-unknown-unknown/wasm-release/smartlock_plugin.component.wasm');
}

function fromEnv(name) {
  const path = process.env[name];
  if (!path) return null;
  if (!existsSync(path)) throw new NotBuilt(`${name}=${path}: no such file`);
  return path;
}

/**
 * The `host-harness` binary: $SMARTLOCK_HOST_HARNESS, else the newest of
 * target/debug and target/release (`cargo run -p host-harness` makes the
 * first, `--release` the second).
 */
export function harnessBinary() {
  const env = fromEnv('SMARTLOCK_HOST_HARNESS');
  if (env) return env;
  const found = ['debug', 'release']
    .map((profile) => join(targetDir(), profile, 'host-harness'))
    .filter((p) => existsSync(p))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (found.length === 0) {
    throw new NotBuilt(
      `no host-harness binary in ${targetDir()}/{debug,release}: build it with \`${BUILD_COMMAND}\` ` +
        `at ${REPO_ROOT} (or set SMARTLOCK_HOST_HARNESS, or pass --cargo)`,
    );
  }
  return found[0];
}

/** The plugin component: $SMARTLOCK_PLUGIN_WASM, else the one the build made. */
export function pluginComponent() {
  const env = fromEnv('SMARTLOCK_PLUGIN_WASM');
  if (env) return env;
  const path = defaultComponent();
  if (!existsSync(path)) {
    throw new NotBuilt(
      `no plugin component at ${path}: build it with \`${BUILD_COMMAND}\` at ${REPO_ROOT} ` +
        `(or set SMARTLOCK_PLUGIN_WASM, or pass --cargo)`,
    );
  }
  return path;
}

/** Runs `cargo build -p host-harness` at the repository root (its output to stderr). */
export function cargoBuild() {
  process.stderr.write(`smartlock-node: ${BUILD_COMMAND}\n`);
  const r = spawnSync('cargo', ['build', '-p', 'host-harness'], { cwd: REPO_ROOT, stdio: ['ignore', 2, 2] });
  if (r.error) throw new Error(`${BUILD_COMMAND} could not run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${BUILD_COMMAND} failed (exit ${r.status})`);
}

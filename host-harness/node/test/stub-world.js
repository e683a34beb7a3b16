// A `host-harness stub` process serving a vendor world for a test file,
// in a temporary folder the test may also use (SQLite files).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { StubProcess, harnessBinary } from '../src/scenario.js';

const started = [];

/** Stops every world `startStubWorld` started (a test file's `after`). */
export async function stopStubWorlds() {
  for (const w of started.splice(0)) await w.close();
}

/**
 * Starts a stub process serving `world` (a scenario file's worlds and
 * `start`); `stopStubWorlds` stops it. @returns {Promise<{stub: StubProcess, dir: string, close(): Promise<void>}>}
 */
export async function startStubWorld(world, name) {
  const dir = mkdtempSync(join(tmpdir(), `smartlock-node-${name}-`));
  const close = async (stub) => {
    await stub?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    writeFileSync(join(dir, 'world.json'), JSON.stringify(world));
    const stub = await StubProcess.start(join(dir, 'world.json'), { binary: harnessBinary(), stderr: null });
    const w = { stub, dir, close: () => close(stub) };
    started.push(w);
    return w;
  } catch (e) {
    await close(null);
    throw e;
  }
}

// The build's post-processing: the memory cap written into core modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { capMemory, MEMORY_LIMIT_MIB } from '../scripts/build.js';

// (module (memory 1) (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))
const GROW = Buffer.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f,
  0x03, 0x02, 0x01, 0x00,
  0x05, 0x03, 0x01, 0x00, 0x01,
  0x07, 0x08, 0x01, 0x04, 0x67, 0x72, 0x6f, 0x77, 0x00, 0x00,
  0x0a, 0x08, 0x01, 0x06, 0x00, 0x20, 0x00, 0x40, 0x00, 0x0b,
]);

test('a capped memory cannot grow past its maximum', () => {
  const free = new WebAssembly.Instance(new WebAssembly.Module(GROW)).exports.grow;
  assert.equal(free(10), 1);
  const capped = capMemory(GROW, 3);
  const grow = new WebAssembly.Instance(new WebAssembly.Module(capped)).exports.grow;
  assert.equal(grow(1), 1);
  assert.equal(grow(1), 2);
  assert.equal(grow(1), -1, 'the cap holds');
  assert.equal(capMemory(capped, 3), null, 'already capped: nothing to change');
  assert.equal(capMemory(capped, 100), null, 'a lower maximum is kept');
});

test('the transpiled component carries the cap', () => {
  const manifest = JSON.parse(readFileSync(new URL('../gen/manifest.json', import.meta.url), 'utf8'));
  assert.equal(manifest.memoryLimitMiB, MEMORY_LIMIT_MIB);
  for (const core of manifest.coreModules) {
    const bytes = readFileSync(new URL(`../gen/${core}`, import.meta.url));
    assert.equal(capMemory(bytes, MEMORY_LIMIT_MIB * 16), null, `${core} is capped at ${MEMORY_LIMIT_MIB} MiB`);
  }
});

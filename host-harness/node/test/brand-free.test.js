// The host's source names no brand: what a brand is comes from the
// component, and where the stub world serves it from the world. The only
// words allowed are public interfaces that happen to spell one: the
// scenario file format's `bridge` step and `errcode` fault field
// (docs/scenarios.md), and the legacy message variable `nuki_code`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src', import.meta.url));
const BRAND_WORD = /[a-z_]*(?:igloohome|nuki|ttlock|seam|bridge|keypad|gateway|errcode)[a-z_]*/gi;
const ALLOWED = {
  'scenario.js': ['bridge', 'errcode'],
  'scenario-file.js': ['bridge', 'errcode'],
  'host.js': ['nuki_code'],
};

test('no brand is named in src/ beyond the scenario format and the legacy message variable', () => {
  const found = [];
  for (const file of readdirSync(SRC)) {
    const lines = readFileSync(join(SRC, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      for (const [word] of line.matchAll(BRAND_WORD)) {
        if (!(ALLOWED[file] ?? []).includes(word.toLowerCase())) found.push(`${file}:${i + 1}: ${word}`);
      }
    });
  }
  assert.deepEqual(found, []);
});

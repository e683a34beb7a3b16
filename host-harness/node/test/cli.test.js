// The scenario command: the report alone on stdout, a one-line error and
// exit status 2 for a file that cannot be run, --report, and the scenario
// checks the Rust runner makes.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { LoadedComponent } from '../src/host.js';
import { InvalidScenario, parseScenario, utc } from '../src/scenario.js';

let brands;
before(async () => {
  brands = (await LoadedComponent.load()).brands;
});

const BIN = fileURLToPath(new URL('../bin/scenario.js', import.meta.url));

function cli(args, cwd) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, SMARTLOCK_LOG: 'warn' } });
}

const minimal = {
  name: 'minimal',
  start: '2026-01-01T00:00:00Z',
  tick_minutes: 60,
  igloohome: { accounts: [{ client_id: 'a', client_secret: 'b', name: 'Acct' }], locks: [], bridges: [] },
  steps: [
    { at: '2026-01-01T00:00:00Z', do: 'connect', client_id: 'a', client_secret: 'b' },
    { at: '2026-01-01T05:00:00Z', do: 'end' },
  ],
};

test('invalid files: exit status 2 and one line on stderr', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smartlock-node-cli-'));
  try {
    const write = (name, value) => {
      writeFileSync(join(dir, name), typeof value === 'string' ? value : JSON.stringify(value));
      return name;
    };
    const cases = [
      [write('broken.json', '{"name": '), /^error: broken\.json: invalid scenario: /],
      [write('no-end.json', { ...minimal, steps: minimal.steps.slice(0, 1) }), /the last step must be `end`/],
      [
        write('order.json', { ...minimal, steps: [minimal.steps[1], minimal.steps[0]] }),
        /step 1: `end` must be the last step|before the previous step/,
      ],
      [write('ticks.json', { ...minimal, tick_minutes: 0 }), /tick_minutes must be between 1 and 1440/],
      [
        write('fault.json', { ...minimal, steps: [{ at: minimal.start, do: 'fault', endpoint: 'nope', status: 500, count: 1 }, minimal.steps[1]] }),
        /^error: fault\.json: step 1: unknown endpoint "nope" \(expected token, devices, jobs, job_status or algopin\)$/,
      ],
      ['missing.json', /^error: cannot read missing\.json: No such file or directory \(os error 2\)$/],
      [
        write('no-property.json', {
          ...minimal,
          steps: [{ at: minimal.start, do: 'booking', booking: { id: 'b1', check_in: '2026-01-02', check_out: '2026-01-03', status: 'confirmed' } }, minimal.steps[1]],
        }),
        /^error: no-property\.json: step 1 \(booking\): missing field `property`$/,
      ],
    ];
    for (const [file, pattern] of cases) {
      const r = cli([file], dir);
      assert.equal(r.status, 2, `${file}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], pattern);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a run prints only the report on stdout; --report writes it to a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smartlock-node-cli-'));
  try {
    writeFileSync(join(dir, 'm.json'), JSON.stringify(minimal));
    const r = cli(['m.json'], dir);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(report), ['scenario', 'steps', 'pins', 'emails', 'events', 'http', 'ticks']);
    assert.deepEqual(report.steps, [
      { at: '2026-01-01T00:00:00Z', do: 'connect', ok: true, result: { account: 'Acct' } },
    ]);
    assert.deepEqual(report.ticks, { count: 6, failed: 0, wake_ups: 0 });
    assert.equal(r.stdout, JSON.stringify(report, null, 2) + '\n');
    const written = cli(['m.json', '--report', 'out.json'], dir);
    assert.equal(written.status, 0, written.stderr);
    assert.equal(written.stdout, '');
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')).steps, report.steps);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('scenario parsing: defaults, instants, and the checks', () => {
  const s = parseScenario(JSON.stringify({ ...minimal, tick_minutes: undefined }), brands);
  assert.equal(s.tickMinutes, 15);
  assert.equal(s.wakeUps, true);
  assert.equal(s.startSecs, Date.parse('2026-01-01T00:00:00Z') / 1000);
  assert.equal(s.steps[0].provider, 'igloohome');
  assert.equal(parseScenario(JSON.stringify({ ...minimal, wake_ups: false }), brands).wakeUps, false);
  assert.throws(() => parseScenario(JSON.stringify({ ...minimal, start: '2026-01-01' }), brands), InvalidScenario);
  // The brand ids are the component's, in its order.
  assert.throws(
    () =>
      parseScenario(
        JSON.stringify({ ...minimal, steps: [{ ...minimal.steps[0], provider: 'acme' }, minimal.steps[1]] }),
        brands,
      ),
    /: step 1 \(connect\): unknown variant `acme`, expected one of `igloohome`, `nuki`, `ttlock`, `seam`$/,
  );
  // The fields the manager types are required; host-supplied ones are not.
  assert.throws(
    () =>
      parseScenario(
        JSON.stringify({ ...minimal, steps: [{ at: minimal.steps[0].at, do: 'connect', provider: 'ttlock', username: 'u' }, minimal.steps[1]] }),
        brands,
      ),
    /step 1 \(connect ttlock\): `password` is missing/,
  );
  parseScenario(
    JSON.stringify({ ...minimal, steps: [{ at: minimal.steps[0].at, do: 'connect', provider: 'seam', api_key: 'k' }, minimal.steps[1]] }),
    brands,
  );
  // R25, R26: the new steps and field, read as the Rust runner reads them.
  const withStep = (step) => JSON.stringify({ ...minimal, steps: [{ at: minimal.steps[0].at, ...step }, minimal.steps[1]] });
  const shared = parseScenario(withStep({ do: 'share_door', property: 'p1', lock: 'L1', provider: 'nuki' }), brands);
  assert.deepEqual([shared.steps[0].do, shared.steps[0].provider], ['share_door', 'nuki']);
  assert.throws(
    () => parseScenario(withStep({ do: 'unshare_door', property: 'p1' }), brands),
    /: step 1 \(unshare_door\): missing field `lock`$/,
  );
  assert.throws(
    () => parseScenario(withStep({ do: 'assign', property: 'p1', lock: 'L1', backup_codes: '2' }), brands),
    /: step 1 \(assign\): invalid type: string "2", expected i64$/,
  );
  // Without the brands, any provider passes (the checks the component's list decides are skipped).
  assert.equal(
    parseScenario(JSON.stringify({ ...minimal, steps: [{ ...minimal.steps[0], provider: 'acme' }, minimal.steps[1]] })).steps[0]
      .provider,
    'acme',
  );
  assert.throws(
    () =>
      parseScenario(
        JSON.stringify({ ...minimal, steps: [{ ...minimal.steps[0], at: '2025-12-31T23:00:00Z' }, minimal.steps[1]] }),
        brands,
      ),
    /step 1 \(connect\) at 2025-12-31T23:00:00\+00:00 is before the previous step or the start/,
  );
  assert.equal(utc(0), '1970-01-01T00:00:00Z');
});

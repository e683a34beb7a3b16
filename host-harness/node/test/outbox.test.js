// The e-mail outbox: at most one e-mail per dedup key and tenant, ever
// (across restarts), and the `email` import's checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DEFAULT_LIMITS } from '../src/host.js';
import { contractImports } from '../src/call.js';
import { SimClock } from '../src/clock.js';
import { SqliteDb } from '../src/storage.js';
import { MemoryLogger } from '../src/log.js';

test('one e-mail per key and tenant, kept across a reopen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smartlock-node-outbox-'));
  try {
    const path = join(dir, 'outbox.sqlite');
    let db = new SqliteDb(path);
    const a = db.outbox('a');
    assert.equal(a.record('alert/b1', 100, 'Code missing', 'body 1'), true);
    assert.equal(a.record('alert/b1', 200, 'Code missing again', 'body 2'), false);
    assert.equal(a.record('alert/b2', 300, 'Other', 'body 3'), true);
    assert.equal(db.outbox('b').record('alert/b1', 400, 'Tenant b', 'body 4'), true, 'keys are per tenant');
    db.close();
    db = new SqliteDb(path);
    assert.equal(db.outbox('a').record('alert/b1', 500, 'after restart', 'x'), false);
    assert.deepEqual(db.outbox('a').emails(), [
      { at: 100, dedupKey: 'alert/b1', subject: 'Code missing', body: 'body 1' },
      { at: 300, dedupKey: 'alert/b2', subject: 'Other', body: 'body 3' },
    ]);
    assert.deepEqual(db.outbox('b').emails().map((e) => e.subject), ['Tenant b']);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The import itself, called as the plugin would (no wasm needed): the
// imports of an instance whose call has the tenant's backends.
function emailImport() {
  const db = new SqliteDb(':memory:');
  const clock = new SimClock(1_000);
  const logger = new MemoryLogger();
  const call = {
    export: 'on-tick',
    tenant: 'acct',
    backends: { storage: db.tenant('acct'), mailer: db.outbox('acct'), clock },
    limits: DEFAULT_LIMITS,
    deadline: Infinity,
    logLines: 0,
    hostFailure: null,
    timing: null,
    log: (level, message, fields) => logger.log(level, message, fields),
    logEnabled: () => true,
    wakeAt: () => {},
  };
  const instance = { call };
  return { send: contractImports(instance)['pms:smartlock/email'].sendToOwner, db, clock, logger };
}

/** Calls an import and returns what jco would see: the value or the thrown WIT error. */
function outcome(f) {
  try {
    return { ok: f() };
  } catch (e) {
    return { err: e };
  }
}

test('the email import stamps the tenant clock, drops repeats and checks sizes', () => {
  const { send, db, clock } = emailImport();
  assert.deepEqual(outcome(() => send('alert/b1', 'Subject', 'Body')), { ok: undefined });
  clock.set(2_000);
  assert.deepEqual(outcome(() => send('alert/b1', 'Subject 2', 'Body 2')), { ok: undefined }, 'a repeat is accepted');
  assert.deepEqual(db.outbox('acct').emails(), [{ at: 1_000, dedupKey: 'alert/b1', subject: 'Subject', body: 'Body' }]);
  assert.deepEqual(outcome(() => send('', 's', 'b')), { err: 'dedup-key is empty' });
  assert.deepEqual(outcome(() => send('k', 's'.repeat(1025), 'b')), { err: 'subject of 1025 bytes exceeds 1024 bytes' });
  assert.deepEqual(outcome(() => send('k', 's', 'é'.repeat(32 * 1024 + 1))), {
    err: 'body of 65538 bytes exceeds 65536 bytes',
  });
  assert.equal(db.outbox('acct').emails().length, 1);
});

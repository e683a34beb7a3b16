// The host with the real component: errors surfaced as PluginError /
// TrapError with the WIT variant, a trap or failed import costing only its
// call, per-tenant queues, the instance policies, the sandboxed imports.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';

import {
  ERROR_SENTENCES,
  Host,
  LoadedComponent,
  MemoryLogger,
  PluginError,
  SimClock,
  SqliteDb,
  StorageError,
  TrapError,
  VendorRoutes,
  errorSentence,
} from '../src/index.js';

let component;
before(async () => {
  component = await LoadedComponent.load();
});

const NOW = Date.parse('2026-03-01T08:00:00Z') / 1000;
const property = { id: 'p1', name: 'Sea View', timezone: 'Europe/Paris' };

function setup(options = {}, backends = {}) {
  const logger = new MemoryLogger();
  const host = new Host(component, { logger, ...options });
  const db = new SqliteDb(':memory:');
  const t = host.tenant('acct-1', { storage: db.tenant('acct-1'), clock: new SimClock(NOW), ...backends });
  return { host, t, db, logger };
}

test('every error variant reads as a plain sentence, field names with underscores', () => {
  const cases = [
    [{ tag: 'invalid-input', val: { field: 'margin-minutes', reason: 'must be between 0 and 240' } }, 'margin_minutes must be between 0 and 240'],
    [{ tag: 'not-found', val: { field: 'booking-id', reason: 'no booking "b9"' } }, 'booking_id no booking "b9"'],
    // A brand no loaded component listed reads by its id (a listed one by its name).
    [{ tag: 'not-connected', val: 'acme' }, 'no acme account is connected'],
    [{ tag: 'credentials-rejected', val: 'invalid client' }, 'the credentials were refused: invalid client'],
    [{ tag: 'lock-not-remote', val: 'the lock "Front" needs a bridge' }, 'the lock "Front" needs a bridge'],
    [{ tag: 'other-brand-assigned', val: 'p1 holds a Nuki lock' }, 'p1 holds a Nuki lock'],
    [{ tag: 'unknown-brand', val: 'no brand "acme"' }, 'no brand "acme"'],
    [{ tag: 'vendor-unavailable', val: 'HTTP 503' }, 'the lock vendor is unavailable: HTTP 503'],
    [{ tag: 'storage-failed', val: 'disk full' }, 'storage failed: disk full'],
  ];
  for (const [error, sentence] of cases) {
    assert.equal(errorSentence(error), sentence);
    const e = new PluginError(error);
    assert.equal(e.message, sentence);
    assert.equal(e.variant, error.tag);
    assert.deepEqual(e.payload, error.val);
    assert.ok(e instanceof Error);
  }
  assert.equal(new PluginError(cases[0][0]).field, 'margin_minutes');
  assert.equal(errorSentence({ tag: 'something-new', val: 'x' }), 'something-new: "x"');
  // Every variant of the contract the component was built with has a sentence.
  const types = component.manifest && component.bindings ? Object.keys(ERROR_SENTENCES) : [];
  assert.ok(types.length >= 9);
});

test('the plugin refusing a call is a PluginError with the variant and payload', async () => {
  const { t } = setup();
  await assert.rejects(t.listLocks('igloohome'), (e) => {
    assert.ok(e instanceof PluginError);
    assert.equal(e.variant, 'not-connected');
    assert.equal(e.export, 'list-locks');
    assert.equal(e.tenant, 'acct-1');
    return true;
  });
  await assert.rejects(t.onPropertyChanged({ ...property, timezone: 'Mars/Olympus' }), (e) => {
    assert.ok(e instanceof PluginError);
    assert.equal(e.variant, 'invalid-input');
    assert.match(e.message, /^property\.timezone /);
    assert.equal(e.field, 'property.timezone');
    return true;
  });
  await assert.rejects(t.bookingStatus('nope'), (e) => e instanceof PluginError && e.variant === 'not-found');
  await t.onPropertyChanged(property);
  await assert.rejects(t.assign('p1', 'igloohome', 'L1', { daysBefore: 99 }), (e) => e instanceof PluginError);
  await assert.rejects(t.listLocks('acme'), (e) => e instanceof PluginError && e.variant === 'unknown-brand');
});

test('answers come back with instants as numbers', async () => {
  const { t } = setup();
  assert.deepEqual(await t.onTick(NOW), { processed: 0, vendorRequests: 0, moreDue: false });
  assert.deepEqual(await t.accounts(), []);
  assert.equal(await t.getAssignment('p1'), undefined);
  assert.equal(await t.renderVariable('smartlock_code', 'b1'), undefined);
  assert.equal(await t.render('Hi {{ guest }}, code {{smartlock_code}}.', 'b1'), 'Hi {{ guest }}, code {{smartlock_code}}.');
});

test('a forbidden vendor origin fails without reaching the transport', async () => {
  const seen = [];
  const http = { send: (r) => (seen.push(r), { status: 200, headers: [], body: new Uint8Array() }) };
  const { t, logger } = setup({}, { routes: new VendorRoutes(), http });
  await assert.rejects(t.connect('igloohome', { client_id: 'id', client_secret: 'secret' }), (e) => {
    assert.ok(e instanceof PluginError);
    assert.ok(['vendor-unavailable', 'credentials-rejected'].includes(e.variant), e.variant);
    return true;
  });
  assert.deepEqual(seen, []);
  const refused = logger.lines.filter((l) => l.message === 'plugin HTTP request refused');
  assert.ok(refused.length > 0);
  assert.ok(refused.every((l) => l.tenant === 'acct-1' && !/secret/.test(JSON.stringify(l))));
});

test('routed requests reach the transport with the routed URL', async () => {
  const seen = [];
  const http = {
    send: (r) => {
      seen.push(r);
      return { status: 401, headers: [['content-type', 'application/json']], body: new TextEncoder().encode('{"error":"invalid_client"}') };
    },
  };
  const { t } = setup({}, { routes: VendorRoutes.via('http://127.0.0.1:1', component.brands), http });
  await assert.rejects(t.connect('igloohome', { client_id: 'id', client_secret: 'bad' }), (e) => e.variant === 'credentials-rejected');
  assert.equal(seen[0].url, 'http://127.0.0.1:1/oauth2/token');
  assert.equal(seen[0].method, 'POST');
  assert.ok(seen[0].timeoutMs > 0 && seen[0].timeoutMs <= 60_000);
});

test('a storage backend failure is storage-failed; a host exception is a TrapError and costs only that call', async () => {
  const db = new SqliteDb(':memory:');
  const real = db.tenant('acct-1');
  let mode = 'ok';
  const storage = {
    get: (k) => real.get(k),
    set: (k, v) => real.set(k, v),
    delete: (k) => real.delete(k),
    list: (...a) => real.list(...a),
    apply: (w) => {
      if (mode === 'unavailable') throw new StorageError('unavailable', 'disk on fire');
      if (mode === 'bug') throw new Error('backend bug');
      return real.apply(w);
    },
  };
  const { t, logger } = setup({}, { storage, mailer: db.outbox('acct-1') });
  mode = 'unavailable';
  await assert.rejects(t.onPropertyChanged(property), (e) => e instanceof PluginError && e.variant === 'storage-failed');
  mode = 'bug';
  await assert.rejects(t.onPropertyChanged(property), (e) => {
    assert.ok(e instanceof TrapError);
    assert.equal(e.hostFailure, true);
    assert.match(e.message, /^plugin trapped \(tenant acct-1\): on-property-changed: host import storage\.apply failed: backend bug/);
    assert.equal(e.cause?.message, 'backend bug', "the cause is the backend's own error");
    return true;
  });
  assert.ok(logger.lines.some((l) => l.message === 'plugin call trapped' && l.level === 'error'));
  mode = 'ok';
  await t.onPropertyChanged(property); // a fresh instance: the tenant works again
});

test('calls of one tenant are serialised and a failure does not block the queue', async () => {
  const order = [];
  const clock = { now: () => (order.push('clock'), NOW) };
  const { host, t } = setup({}, { clock });
  const results = await Promise.allSettled([
    t.onPropertyChanged(property).then(() => order.push('property')),
    t.listLocks('igloohome').catch((e) => (order.push('refused'), Promise.reject(e))),
    t.renderVariable('smartlock_code', 'x').then(() => order.push('render')),
  ]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  const marks = order.filter((o) => o !== 'clock');
  assert.deepEqual(marks, ['property', 'refused', 'render']);
  assert.equal(host._turns.size, 0, 'the queue is cleaned up');
});

test("a worker keeps the tenant's instance by default and drops it on a trap; per-call makes one per call", async () => {
  const db = new SqliteDb(':memory:');
  const real = db.tenant('acct-1');
  let fail = false;
  const storage = new Proxy(real, {
    get(target, prop) {
      if (prop === 'list' && fail) return () => { throw new Error('boom'); };
      const v = target[prop];
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const { t } = setup({}, { storage, mailer: db.outbox('acct-1') });
  await t.onTick(NOW);
  const first = t._last;
  assert.equal(first.kept, true);
  await t.onPropertyChanged(property);
  assert.equal(t._last.instance, first.instance, 'kept between calls');
  assert.equal(t._last.reused, true);
  await assert.rejects(t.bookingStatus('b1'), (e) => e instanceof PluginError);
  assert.equal(t._last.instance, first.instance, 'a WIT error keeps the instance');
  assert.equal(t._last.kept, true);
  fail = true;
  await assert.rejects(t.onTick(NOW), TrapError);
  assert.equal(t._last.instance, first.instance, 'the trapped call ran on it');
  assert.equal(t._last.kept, false, 'dropped after the host exception');
  fail = false;
  assert.deepEqual(await t.onTick(NOW), { processed: 0, vendorRequests: 0, moreDue: false });
  assert.notEqual(t._last.instance, first.instance, 'a fresh instance after the trap');
  assert.equal(t._last.reused, false);

  const perCall = setup({ instances: 'per-call' });
  await perCall.t.onTick(NOW);
  const one = perCall.t._last;
  await perCall.t.onTick(NOW);
  assert.equal(one.kept, false);
  assert.equal(perCall.t._last.reused, false);
  assert.notEqual(perCall.t._last.instance, one.instance);
});

test('a backend that answers with a Promise fails the call as a host failure', async () => {
  const db = new SqliteDb(':memory:');
  const real = db.tenant('acct-1');
  const storage = {
    get: (k) => real.get(k),
    set: (k, v) => real.set(k, v),
    delete: (k) => real.delete(k),
    list: async (...a) => real.list(...a),
    apply: (w) => real.apply(w),
  };
  const { t } = setup({}, { storage, mailer: db.outbox('acct-1') });
  await assert.rejects(t.onTick(NOW), (e) => {
    assert.ok(e instanceof TrapError);
    assert.equal(e.hostFailure, true);
    assert.match(e.message, /host import storage\.list failed: storage\.list returned a Promise: a backend answers synchronously/);
    assert.ok(e.cause instanceof TypeError, 'the cause is the error made on this thread');
    return true;
  });
});

test('plugin log lines are tagged with the tenant', async () => {
  const { t, logger } = setup();
  await t.onPropertyChanged(property);
  await t.onBookingChanged({
    booking: { id: 'b1', propertyId: 'p1', guestName: 'Ana', checkIn: '2026-03-20', checkOut: '2026-03-22', status: 'confirmed' },
    property,
  });
  const pluginLines = logger.lines.filter((l) => l.target === 'plugin');
  assert.ok(pluginLines.every((l) => l.tenant === 'acct-1'));
});

test('wake-ups are recorded per tenant and a failed tick drops a past one', async () => {
  const { host, t } = setup();
  assert.equal(host.nextWake('acct-1'), null);
  host.wakeUps.set('acct-1', NOW - 60);
  host.wakeUps.set('other', NOW + 3600);
  assert.deepEqual(host.dueTenants(NOW), ['acct-1']);
  assert.deepEqual(host.earliestWake(), { at: NOW - 60, tenant: 'acct-1' });
  await t.onTick(NOW); // the plugin answers wake-at(none): nothing is scheduled
  assert.equal(t.wakeUp(), null);
  assert.deepEqual(host.dueTenants(NOW + 3600), ['other']);
});

// Contract 0.3.0 in this host: the brands come from the component
// (R30: ids, connect forms with host-supplied fields, origins as the
// default allow-list), and the `code-events` import (R27) records each
// event once per id, in the SQLite `events` table smartlock-host writes
// (the worker's own connection to a file) or in any backend with
// `record` (served from the host's thread), checked and worded as
// smartlock-host does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import {
  Host,
  LoadedComponent,
  MemoryEvents,
  SimClock,
  SqliteDb,
  SyncHttpClient,
  VendorRoutes,
  brandOf,
  connectCredentials,
  eventFromJson,
  silentLogger,
  typedFields,
} from '../src/index.js';
import { contractImports } from '../src/call.js';
import { reportEvents, stubRoutes } from '../src/scenario.js';
import { startStubWorld, stopStubWorlds } from './stub-world.js';

const NOW = Date.parse('2026-03-01T08:00:00Z') / 1000;
const property = { id: 'p1', name: 'Studio', timezone: 'Europe/Paris' };
const app = { client_id: 'pms-app-id', client_secret: 'pms-app-secret' };
const world = {
  start: '2026-03-01T08:00:00Z',
  ttlock: {
    app,
    accounts: [{ username: 'host@example.com', password: 's3cret', name: 'host@example.com' }],
    locks: [{ id: '532323', name: 'Studio door', gateway: '78979', wifi: false }],
    gateways: [{ id: '78979', name: 'G2 hall', online: true }],
  },
};

let component, dir, stub;
before(async () => {
  component = await LoadedComponent.load();
  ({ stub, dir } = await startStubWorld(world, 'events'));
});
after(stopStubWorlds);

test("the brands are the component's list: forms with host-supplied fields, origins as the default allow-list", async () => {
  const brands = component.brands;
  assert.ok(brands.length >= 4, 'the plugin lists its brands');
  assert.equal(new Set(brands.map((b) => b.id)).size, brands.length);
  for (const b of brands) {
    assert.ok(b.name && b.lockNeeds && b.origins.length > 0, b.id);
    assert.ok(b.credentials.length > 0 && b.credentials.every((f) => f.name && f.label), b.id);
  }
  const ttlock = brandOf(brands, 'ttlock');
  assert.deepEqual(typedFields(ttlock), ['username', 'password']);
  assert.deepEqual(ttlock.credentials.filter((f) => f.hostSupplied).map((f) => f.name), ['client_id', 'client_secret']);
  assert.deepEqual(typedFields(brandOf(brands, 'seam')), ['api_key']);
  // A connect: the typed fields, then the host's own for the host-supplied ones.
  assert.deepEqual(connectCredentials(ttlock, { username: 'u', password: 'p' }, app), [
    { name: 'username', value: 'u' },
    { name: 'password', value: 'p' },
    { name: 'client_id', value: 'pms-app-id' },
    { name: 'client_secret', value: 'pms-app-secret' },
  ]);
  // The default allow-list: every brand's origins, each sent to itself.
  const host = new Host(component, { logger: silentLogger, workers: 1 });
  try {
    const t = host.tenant('brands');
    assert.deepEqual(t.backends.routes.origins(), brands.flatMap((b) => b.origins));
    assert.deepEqual(VendorRoutes.fromBrands(brands).origins(), t.backends.routes.origins());
    assert.equal(t.brands(), brands);
  } finally {
    await host.close();
  }
});

/** Connects TTLock (host-supplied application from the world), assigns, books, ticks: events are reported. */
async function drive(t) {
  const ttlock = brandOf(component.brands, 'ttlock');
  const account = await t.connect('ttlock', connectCredentials(ttlock, { username: 'host@example.com', password: 's3cret' }, app));
  assert.equal(account.brand, 'ttlock');
  assert.deepEqual((await t.accounts()).map((a) => a.brand), ['ttlock']);
  const locks = await t.listLocks('ttlock');
  assert.deepEqual(locks[0].remote, { kind: 'gateway', via: '78979' });
  await t.onPropertyChanged(property);
  const a = await t.assign('p1', 'ttlock', '532323', { marginMinutes: 15 });
  assert.equal(a.brand, 'ttlock');
  assert.equal(a.marginMinutes, 15);
  assert.equal(a.daysBefore, 5);
  await t.onBookingChanged({
    booking: { id: 'b1', propertyId: 'p1', guestName: 'Ana', checkIn: '2026-03-03', checkOut: '2026-03-05', status: 'confirmed' },
    property,
  });
  await t.onTick(NOW);
  await t.onTick(NOW + 60);
  const status = await t.bookingStatus('b1');
  assert.equal(status.brand, 'ttlock');
  assert.equal(status.state, 'on-lock');
  return status.pin;
}

function checkEvents(stored, pin) {
  assert.ok(stored.length >= 2, `events: ${JSON.stringify(stored)}`);
  assert.equal(new Set(stored.map((e) => e.id)).size, stored.length, 'one row per id');
  const events = stored.map((e) => eventFromJson(e.json));
  const onLock = events.find((e) => e.kind === 'on-lock');
  assert.ok(onLock, `an on-lock event among ${events.map((e) => e.kind)}`);
  assert.deepEqual(
    { booking: onLock.bookingId, property: onLock.propertyId, brand: onLock.brand, lock: onLock.lockId },
    { booking: 'b1', property: 'p1', brand: 'ttlock', lock: '532323' },
  );
  // smartlock-host's serde encoding, so either host reads the table.
  const raw = JSON.parse(stored.find((e) => eventFromJson(e.json).kind === 'on-lock').json);
  assert.deepEqual(Object.keys(raw), ['id', 'at', 'kind', 'booking_id', 'property_id', 'brand', 'lock_id', 'door', 'at_risk', 'detail']);
  assert.equal(raw.kind, 'OnLock');
  assert.equal(raw.at_risk, null);
  // No PIN in any event (R27).
  assert.match(pin, /^\d{4,10}$/);
  for (const e of stored) assert.ok(!e.json.includes(pin), `a PIN in ${e.json}`);
  return events;
}

test('code events: recorded once per id in the SQLite events table (the worker writes the file) and reported', async () => {
  const db = new SqliteDb(join(dir, 'events.sqlite'));
  const host = new Host(component, { logger: silentLogger, workers: 1 });
  const backends = {
    storage: db.tenant('ev'),
    mailer: db.outbox('ev'),
    events: db.events('ev'),
    clock: new SimClock(NOW),
    http: new SyncHttpClient({ timeoutMs: 2000 }),
    routes: await stubRoutes(stub.base, component.brands),
  };
  try {
    await stub.setTime(NOW);
    const pin = await drive(host.tenant('ev', backends));
    const stored = db.events('ev').after(0, 1000);
    const events = checkEvents(stored, pin);
    // Another tenant's events are its own.
    assert.deepEqual(db.events('other').after(0, 10), []);
    // A repeat of an id is dropped; the cursor pages.
    assert.equal(db.events('ev').record(stored[0].id, stored[0].at, stored[0].json), false);
    assert.equal(db.events('ev').after(0, 1000).length, stored.length);
    assert.deepEqual(db.events('ev').after(stored[0].seq, 1)[0], stored[1]);
    // The report's spelling (the Rust runner's `event_json`).
    const report = reportEvents(db.events('ev'));
    assert.equal(report.length, events.length);
    const onLock = report.find((e) => e.state === 'on_lock');
    assert.deepEqual(Object.keys(onLock), ['id', 'at', 'state', 'booking', 'property', 'provider', 'lock', 'detail']);
    assert.match(onLock.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  } finally {
    await host.close();
    db.close();
  }
});

test("code events: a PMS's own backend (served from the host's thread) gets each event", async () => {
  const db = new SqliteDb(join(dir, 'events-own.sqlite'));
  const events = new MemoryEvents();
  const host = new Host(component, { logger: silentLogger, workers: 1 });
  try {
    const pin = await drive(
      host.tenant('own', {
        storage: db.tenant('own'),
        mailer: db.outbox('own'),
        events,
        clock: new SimClock(NOW),
        http: new SyncHttpClient({ timeoutMs: 2000 }),
        routes: await stubRoutes(stub.base, component.brands),
      }),
    );
    checkEvents(events.after(0, 1000), pin);
    assert.deepEqual(db.events('own').after(0, 10), [], 'nothing in the SQLite table');
  } finally {
    await host.close();
    db.close();
  }
});

test("the code-events import refuses a bad id or an oversized event in smartlock-host's words; a repeat is fine", () => {
  const events = new MemoryEvents();
  const instance = {
    call: {
      export: 'on-tick',
      tenant: 't',
      backends: { events },
      logEnabled: () => false,
      log: () => {},
      hostFailure: null,
    },
  };
  const report = contractImports(instance)['pms:smartlock/code-events'].report;
  const event = { id: 'b1:0', at: 1_700_000_000n, kind: 'scheduled', bookingId: 'b1', detail: 'planned' };
  report(event);
  report(event);
  assert.equal(events.after().length, 1);
  assert.throws(() => report({ ...event, id: '' }), (e) => e === 'event id of 0 bytes is not 1 to 512 bytes');
  assert.throws(() => report({ ...event, id: 'x'.repeat(513) }), (e) => e === 'event id of 513 bytes is not 1 to 512 bytes');
  assert.throws(
    () => report({ ...event, id: 'big', detail: 'x'.repeat(16 * 1024) }),
    (e) => typeof e === 'string' && /^event of \d+ bytes exceeds 16384 bytes$/.test(e),
  );
  assert.equal(instance.call.hostFailure, null, 'a refusal is an answer, not a host failure');
  assert.deepEqual(eventFromJson(events.after()[0].json), { id: 'b1:0', at: 1_700_000_000, kind: 'scheduled', bookingId: 'b1', detail: 'planned' });
});

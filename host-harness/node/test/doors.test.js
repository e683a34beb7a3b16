// R25 and R26 through this host's admin calls: `assign` with
// `backupCodes` (spare codes on the property's own lock), and a property's
// shared doors (`shareDoor`, `sharedDoors`, `unshareDoor`) with the
// booking's door codes in its status (`doors`) and the door's name on its
// code events. Judged on the stubs' lock-side truth (`pins`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { Host, LoadedComponent, PluginError, SimClock, SqliteDb, SyncHttpClient, silentLogger } from '../src/index.js';
import { reportEvents, statusJson, stubRoutes } from '../src/scenario.js';
import { startStubWorld, stopStubWorlds } from './stub-world.js';

const NOW = Date.parse('2026-03-01T08:00:00Z') / 1000;
const UNIT = 'OE1X000001';
const ENTRANCE = '18205286116';
const property = { id: 'p1', name: 'Sea View', timezone: 'Europe/Paris' };
const world = {
  start: '2026-03-01T08:00:00Z',
  igloohome: {
    accounts: [{ client_id: 'demo-id', client_secret: 'demo-secret', name: 'Sea View Rentals' }],
    locks: [{ id: UNIT, name: 'Front door', bridge: 'EB1X000001' }],
    bridges: [{ id: 'EB1X000001', name: 'Hall bridge' }],
  },
  nuki: {
    accounts: [{ api_token: 'nuki-demo-token', name: 'Sea View Rentals' }],
    locks: [{ id: ENTRANCE, name: 'Entrance', keypad: true }],
  },
};

let component, dir, stub;
before(async () => {
  component = await LoadedComponent.load();
  ({ stub, dir } = await startStubWorld(world, 'doors'));
});
after(stopStubWorlds);

/** Ticks every minute from `from` to `to` (the stub's clock with it). */
async function tickThrough(t, clock, from, to) {
  for (let now = from; now <= to; now += 60) {
    clock.set(now);
    await stub.setTime(now);
    while ((await t.onTick(now)).moreDue) {}
  }
}

test('R25, R26: backup codes on the own lock; a shared door of another brand gets the booking its code, named in status and events; unsharing before the stay deletes it', async () => {
  const db = new SqliteDb(join(dir, 'doors.sqlite'));
  const host = new Host(component, { logger: silentLogger, workers: 1 });
  const clock = new SimClock(NOW);
  try {
    await stub.setTime(NOW);
    const t = host.tenant('doors', {
      storage: db.tenant('doors'),
      mailer: db.outbox('doors'),
      events: db.events('doors'),
      clock,
      http: new SyncHttpClient({ timeoutMs: 2000 }),
      routes: await stubRoutes(stub.base, component.brands),
    });
    await t.connect('igloohome', { client_id: 'demo-id', client_secret: 'demo-secret' });
    await t.connect('nuki', { api_token: 'nuki-demo-token' });
    await t.onPropertyChanged(property);

    // R25: the setting's range, then a pool of two.
    await assert.rejects(t.assign('p1', 'igloohome', UNIT, { backupCodes: 6 }), (e) => {
      assert.ok(e instanceof PluginError);
      assert.equal(e.field, 'backup_codes');
      assert.equal(e.message, 'backup_codes must be between 0 and 5');
      return true;
    });
    const a = await t.assign('p1', 'igloohome', UNIT, { backupCodes: 2 });
    assert.equal(a.backupCodes, 2);
    assert.equal((await t.getAssignment('p1')).backupCodes, 2);

    // R26: the door, once however often it is added.
    assert.deepEqual(await t.sharedDoors('p1'), []);
    const door = await t.shareDoor('p1', 'nuki', ENTRANCE);
    assert.deepEqual(
      { propertyId: door.propertyId, brand: door.brand, lockId: door.lockId, lockName: door.lockName },
      { propertyId: 'p1', brand: 'nuki', lockId: ENTRANCE, lockName: 'Entrance' },
    );
    assert.deepEqual(await t.shareDoor('p1', 'nuki', ENTRANCE), door);
    assert.deepEqual(await t.sharedDoors('p1'), [door]);
    await assert.rejects(t.shareDoor('p1', 'igloohome', UNIT), (e) => e instanceof PluginError && e.field === 'lock_id');
    await assert.rejects(t.shareDoor('nowhere', 'nuki', ENTRANCE), (e) => e instanceof PluginError && e.field === 'property_id');

    // A stay within days_before: codes are written at once, on both locks.
    await t.onBookingChanged({
      booking: { id: 'b1', propertyId: 'p1', guestName: 'Ana', checkIn: '2026-03-03', checkOut: '2026-03-05', status: 'confirmed' },
      property,
    });
    await tickThrough(t, clock, NOW, NOW + 15 * 60);
    const status = await t.bookingStatus('b1');
    assert.equal(status.state, 'on-lock');
    assert.equal(status.doors.length, 1);
    const [code] = status.doors;
    assert.deepEqual(
      { brand: code.brand, lockId: code.lockId, doorName: code.doorName, state: code.state, alertSent: code.alertSent },
      { brand: 'nuki', lockId: ENTRANCE, doorName: 'Entrance', state: 'on-lock', alertSent: false },
    );
    assert.match(code.pin, /^\d{4,10}$/);
    assert.deepEqual(code.window, status.window, "the door's window is the stay's");
    // The report's spelling: `doors` after the status's own keys.
    const json = statusJson(status);
    assert.deepEqual(Object.keys(json.doors[0]), [
      'provider', 'lock', 'door', 'state', 'pin', 'window', 'last_error', 'next_attempt', 'alert_sent', 'fallback',
    ]);

    // The locks' truth: the booking's PIN on each lock, two spare codes on the unit.
    const pins = await stub.pins();
    const live = (lock) => pins.filter((p) => p.lock === lock && p.removed_at === null);
    assert.deepEqual(live(ENTRANCE).map((p) => [p.pin, p.kind]), [[code.pin, 'code']]);
    assert.deepEqual(live(UNIT).filter((p) => p.kind === 'code').map((p) => p.pin), [status.pin]);
    assert.equal(live(UNIT).filter((p) => p.kind === 'backup').length, 2, JSON.stringify(live(UNIT)));

    // The door's code events name it (R27), stored in smartlock-host's encoding.
    const events = reportEvents(db.events('doors'));
    const onDoor = events.filter((e) => e.lock === ENTRANCE);
    assert.ok(onDoor.length > 0 && onDoor.every((e) => e.door === 'Entrance' && e.booking === 'b1'), JSON.stringify(onDoor));
    assert.ok(events.filter((e) => e.lock === UNIT).every((e) => e.door === undefined));

    // Unshared before the stay: the door's code leaves the door (R17).
    await t.unshareDoor('p1', 'nuki', ENTRANCE);
    assert.deepEqual(await t.sharedDoors('p1'), []);
    await assert.rejects(t.unshareDoor('p1', 'nuki', ENTRANCE), (e) => e instanceof PluginError && e.variant === 'not-found');
    await tickThrough(t, clock, NOW + 16 * 60, NOW + 30 * 60);
    const after = (await stub.pins()).filter((p) => p.lock === ENTRANCE && p.removed_at === null);
    assert.deepEqual(after, [], 'no code left on the door');
    assert.deepEqual((await t.bookingStatus('b1')).doors, []);
  } finally {
    await host.close();
    db.close();
  }
});

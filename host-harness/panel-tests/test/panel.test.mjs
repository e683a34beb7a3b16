// The seed's flow in the panel, in headless Chromium, against
// `host-harness serve --demo` (its vendor stubs and demo data): connect,
// filter, assign, settings, a code on the (fast) simulated clock, message
// preview, remove, disconnect, each judged also on the demo stubs' own
// record of the locks; the brand switch of R4; backup codes and shared
// doors (R25, R26); and the keys of R31: no key,
// a tenant's API key, a wrong key.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import {
  apiClient, brandsOf, demoStubs, serviceNow, startBrowser, startServer, stepper, TOKEN, until, waitForText,
} from '../lib/harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer('panel');
  browser = await startBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

/** Opens the panel for the demo tenant with the operator's token entered in its API key field. */
async function openPanel(page, base) {
  await page.goto(`${base}/?tenant=demo`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.getByLabel('API key', { exact: true }).fill(TOKEN);
  await page.getByRole('button', { name: 'Use key' }).click();
  await waitForText(page.locator('.card[data-provider="igloohome"] .status'), /Not connected|Connected/);
}

/** Every call under /api/tenants carried `key`. */
async function assertEveryCallCarries(calls, key) {
  const tenantCalls = (await calls()).filter((c) => c.path.startsWith('/api/tenants'));
  assert.ok(tenantCalls.length > 0, 'the panel called the API');
  const bare = tenantCalls.filter((c) => c.authorization !== `Bearer ${key}`);
  assert.deepEqual(bare, [], 'every call under /api/tenants carries the key');
}

/** The prompt for the key: shown, with `problem` (a pattern, or empty) as its alert; no tenant data anywhere. */
async function assertLockedOut(page, problem) {
  await page.getByRole('heading', { name: 'API key needed' }).waitFor();
  const alert = page.locator('#key-problem');
  if (problem) await waitForText(alert, problem);
  else assert.equal(await alert.innerText(), '');
  assert.equal(await page.getByRole('heading', { name: 'Properties and guest codes' }).isVisible(), false);
  assert.equal(await page.locator('details.property, #preview-booking option').count(), 0);
  // The brands are shown, but Connect waits for a key.
  const buttons = page.locator('.card button');
  assert.equal(await buttons.count(), (await brandsOf(server.base)).length, 'a card per brand of GET /api/brands');
  for (const b of await buttons.all()) assert.equal(await b.isDisabled(), true, 'Connect is disabled without a key');
  const text = await page.locator('body').innerText();
  for (const tenantData of ['Seaside Loft', 'Ana Silva', 'Seaside Rentals', 'Connected']) {
    assert.equal(text.includes(tenantData), false, `no tenant data on the page: ${tenantData}`);
  }
}

/** The brand's panel (a modal dialog), opened from its card. */
async function openBrand(page, name) {
  const card = page.locator('.card').filter({ has: page.getByRole('heading', { name, exact: true }) });
  await card.getByRole('button').click();
  const drawer = page.getByRole('dialog', { name });
  await drawer.waitFor();
  return drawer;
}

async function closeBrand(page) {
  await page.getByRole('button', { name: 'Close panel' }).click();
  await page.getByRole('dialog').waitFor({ state: 'hidden' });
}

function row(drawer, propertyId) {
  return drawer.locator(`li.assignment[data-property="${propertyId}"]`);
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** The panel's window ("Tue 3 Dec, 14:15 → Thu 5 Dec, 11:45") as two `[day, month, "HH:MM"]`. */
function shownWindow(text) {
  return text.split('→').map((side) => {
    const m = side.match(/(\d{1,2}) ([A-Za-z]{3})[A-Za-z]*,? (\d{2}:\d{2})/);
    assert.ok(m, `a day, month and time in ${JSON.stringify(side)}`);
    return [Number(m[1]), MONTHS.indexOf(m[2].toLowerCase()) + 1, m[3]];
  });
}

/** An instant (RFC 3339) on the wall clock of `tz` as `[day, month, "HH:MM"]`, worked out here, not by the panel. */
function wallClock(iso, tz) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', {
    timeZone: tz, day: 'numeric', month: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(iso)).map((part) => [part.type, part.value]));
  return [Number(parts.day), Number(parts.month), `${parts.hour}:${parts.minute}`];
}

/** Requests igloohome's stub answered (its endpoints are the unprefixed ones). */
function igloohomeRequests(http) {
  return Object.entries(http.by_endpoint).filter(([k]) => !k.includes('.')).reduce((n, [, v]) => n + v, 0);
}

async function connect(drawer, fields, brandName) {
  for (const [label, value] of Object.entries(fields)) await drawer.getByLabel(label, { exact: true }).fill(value);
  await drawer.getByRole('button', { name: `Connect ${brandName}` }).click();
}

test('igloohome: connect, filter, assign, settings, code, preview, remove, disconnect', async () => {
  const { page, calls, problems } = browser;
  const api = apiClient(server.base, 'demo');
  const { step, report } = stepper('igloohome', page);
  const stubs = await demoStubs(server.base);
  let drawer;
  try {
    await step('Integrations page', async () => {
      await openPanel(page, server.base);
      assert.match(await page.locator('#clock').innerText(), /Simulated clock\s+300× speed/);
      assert.equal(await page.locator('.card').count(), (await brandsOf(server.base)).length);
    });

    await step('Connect opens the credential form', async () => {
      drawer = await openBrand(page, 'igloohome');
      await drawer.getByLabel('Client ID', { exact: true }).waitFor();
      assert.equal(await drawer.getByLabel('Client Secret').getAttribute('type'), 'password');
    });

    await step('Wrong credentials are refused', async () => {
      await connect(drawer, { 'Client ID': 'demo-igloohome-id', 'Client Secret': 'not-the-secret' }, 'igloohome');
      const alert = await waitForText(drawer.getByRole('alert').first(), /credentials were refused/);
      assert.match(alert, /^the credentials were refused/);
      assert.deepEqual((await api('GET', '/accounts')).body, { accounts: [] }, 'nothing stored');
    });

    await step('Right credentials connect', async () => {
      await connect(drawer, { 'Client ID': 'demo-igloohome-id', 'Client Secret': 'demo-igloohome-secret' }, 'igloohome');
      await waitForText(drawer.getByRole('status').first(), /igloohome is connected/);
      assert.equal(await drawer.locator('#account-name').innerText(), 'Seaside Rentals');
      await drawer.getByRole('heading', { name: 'Lock assignments' }).waitFor();
      assert.equal(await page.locator('.card[data-provider="igloohome"] .status').innerText(), 'Connected: Seaside Rentals');
    });

    await step('Filter properties', async () => {
      await drawer.getByPlaceholder('Filter properties...').fill('loft');
      await waitForText(drawer.locator('#filter-count'), /^2 of 8 properties match$/);
      const visible = await drawer.locator('li.assignment:visible .prop-name').allInnerTexts();
      assert.deepEqual(visible.map((t) => t.replace(/\s*\(.*\)$/, '')).sort(), ['Riverside Loft', 'Seaside Loft']);
    });

    await step('Assign a lock', async () => {
      const select = row(drawer, 'seaside-loft').getByRole('combobox', { name: /Seaside Loft/ });
      const gate = select.locator('option', { hasText: 'Garden gate' });
      assert.equal(await gate.innerText(), 'Garden gate (needs a bridge)');
      assert.equal(await gate.isDisabled(), true, 'a lock without a bridge cannot be chosen');
      await select.selectOption({ label: 'Front door' });
      await waitForText(row(drawer, 'seaside-loft').getByRole('status'), /Front door is assigned to Seaside Loft/);
      const a = (await api('GET', '/properties/seaside-loft/assignment')).body.assignment;
      assert.deepEqual([a.lock_id, a.days_before, a.margin_minutes], ['OE1X000001', 5, 30]);
    });

    await step('Out-of-range settings are refused', async () => {
      const r = row(drawer, 'seaside-loft');
      await r.getByLabel('Generate codes').fill('20');
      await r.getByLabel('Access margin').fill('60');
      await r.getByRole('button', { name: 'Save settings' }).click();
      assert.equal(await waitForText(r.getByRole('alert'), /\S/), 'days_before must be between 1 and 14');
      assert.equal(await r.getByLabel('Generate codes').getAttribute('aria-invalid'), 'true');
      const a = (await api('GET', '/properties/seaside-loft/assignment')).body.assignment;
      assert.deepEqual([a.days_before, a.margin_minutes], [5, 30], 'nothing saved, not even the valid margin');
    });

    await step('Settings saved', async () => {
      const r = row(drawer, 'seaside-loft');
      await r.getByLabel('Generate codes').fill('3');
      await r.getByLabel('Access margin').fill('45');
      await r.getByRole('button', { name: 'Save settings' }).click();
      await waitForText(r.getByRole('status'), /Saved: codes are generated 3 days before arrival, with a 45-minute access margin/);
      const a = (await api('GET', '/properties/seaside-loft/assignment')).body.assignment;
      assert.deepEqual([a.days_before, a.margin_minutes], [3, 45]);
    });

    let pin;
    let frontDoorCode;
    await step('A code appears on the simulated clock', async () => {
      await closeBrand(page);
      const property = page.locator('details[data-property="seaside-loft"]');
      await property.locator('summary').click();
      const booking = property.locator('tr[data-booking="seaside-loft-1"]');
      await waitForText(booking.locator('.state'), /^On the lock$/, 30_000);
      pin = await booking.locator('td.pin').innerText();
      assert.match(pin, /^\d{6}$/);
      const window = await booking.locator('td.window').innerText();
      // Lisbon in winter is UTC+0: check-in 15:00 minus the 45-minute margin; the zone is named.
      assert.match(window, /14:15 \S+ → .* 11:45 \S+ \(Europe\/Lisbon\)$/);
      const code = (await api('GET', '/bookings/seaside-loft-1/code')).body;
      assert.equal(code.pin, pin);
      assert.equal(code.state, 'on_lock');
      // The lock's own record: that PIN is on Front door, with the window the panel shows.
      const live = (await stubs.pins()).filter(
        (p) => p.provider === 'igloohome' && p.lock === 'OE1X000001' && p.pin === pin && p.removed_at === null,
      );
      assert.equal(live.length, 1, `PIN ${pin} is on Front door once: ${JSON.stringify(await stubs.pins())}`);
      [frontDoorCode] = live;
      assert.deepEqual(
        shownWindow(window),
        [wallClock(frontDoorCode.start, 'Europe/Lisbon'), wallClock(frontDoorCode.end, 'Europe/Lisbon')],
        `the panel's window "${window}" is the lock's ${frontDoorCode.start} → ${frontDoorCode.end}`,
      );
    });

    await step('Message preview', async () => {
      await page.locator('tr[data-booking="seaside-loft-1"]').getByRole('button', { name: /Preview message for/ }).click();
      assert.equal(await page.getByLabel('Booking').inputValue(), 'seaside-loft-1');
      await page.getByLabel('Message template').fill('Hi {{guest_name}}, your door code is {{ smartlock_code }} ({{nuki_code}}).');
      await page.getByRole('button', { name: 'Preview message', exact: true }).click();
      const text = await waitForText(page.locator('#preview-output'), /door code/);
      const guest = (await api('GET', '/bookings/seaside-loft-1')).body.guest_name;
      assert.equal(text, `Hi ${guest}, your door code is ${pin} (${pin}).`, 'the guest\'s name filled as a PMS would');
    });

    await step('Remove the lock', async () => {
      drawer = await openBrand(page, 'igloohome');
      const r = row(drawer, 'seaside-loft');
      const now = await serviceNow(server.base);
      assert.ok(Date.parse(frontDoorCode.start) / 1000 > now + 3600, 'the code\'s window has not started (R17)');
      await r.getByRole('button', { name: /^Remove Front door/ }).click();
      await waitForText(r.getByRole('status'), /Front door is removed from Seaside Loft/);
      assert.equal((await api('GET', '/properties/seaside-loft/assignment')).body.assignment, null);
      // The lock's own record (R17): the code, whose window had not started, is deleted from
      // Front door, and so is any other Seaside Loft code there.
      const frontDoor = async () => (await stubs.pins()).filter((p) => p.provider === 'igloohome' && p.lock === 'OE1X000001');
      await until(async () => (await frontDoor()).every((p) => p.removed_at !== null), 'every code deleted from Front door');
      const deleted = (await frontDoor()).find((p) => p.pin === pin && p.added_at === frontDoorCode.added_at);
      assert.ok(deleted, `PIN ${pin} in Front door's record`);
      assert.ok(Date.parse(deleted.removed_at) < Date.parse(deleted.start), `deleted before its window: ${JSON.stringify(deleted)}`);
    });

    const riverside = ['riverside-loft-1', 'riverside-loft-2'];
    let liveAtDisconnect;
    await step('Another property gets codes on the Back door', async () => {
      // Check-ins 1 and 4 days away, 5 days before: both due at once.
      const r = row(drawer, 'riverside-loft');
      await r.getByRole('combobox', { name: /Riverside Loft/ }).selectOption({ label: 'Back door' });
      await waitForText(r.getByRole('status'), /Back door is assigned to Riverside Loft/);
      for (const b of riverside) {
        await until(async () => (await api('GET', `/bookings/${b}/code`)).body.state === 'on_lock', `${b}'s code on the lock`, 30_000);
        const { pin: p } = (await api('GET', `/bookings/${b}/code`)).body;
        const onLock = (await stubs.pins()).filter(
          (c) => c.provider === 'igloohome' && c.lock === 'OE1X000002' && c.pin === p && c.removed_at === null,
        );
        assert.equal(onLock.length, 1, `${b}'s PIN ${p} is on the Back door: ${JSON.stringify(await stubs.pins())}`);
      }
      liveAtDisconnect = (await stubs.pins()).filter((c) => c.provider === 'igloohome' && c.removed_at === null);
      assert.equal(liveAtDisconnect.length, 2, JSON.stringify(liveAtDisconnect));
    });

    await step('Disconnect', async (snap) => {
      await drawer.getByRole('button', { name: 'Disconnect igloohome' }).click();
      await drawer.getByRole('button', { name: 'Yes, disconnect igloohome' }).click();
      await waitForText(drawer.getByRole('status').first(), /igloohome is disconnected/);
      await drawer.getByLabel('Client ID', { exact: true }).waitFor();
      assert.deepEqual((await api('GET', '/accounts')).body, { accounts: [] });
      // The locks' own record (R18): the codes on the Back door stay until their own end, and
      // igloohome hears nothing more. 4 s here are 20 simulated minutes: more than a tick.
      const callsAtDisconnect = igloohomeRequests(await stubs.http());
      await new Promise((r) => setTimeout(r, 4000));
      const live = (await stubs.pins()).filter((c) => c.provider === 'igloohome' && c.removed_at === null);
      assert.deepEqual(live, liveAtDisconnect, 'the codes on the lock at the disconnect are still there');
      assert.equal(igloohomeRequests(await stubs.http()), callsAtDisconnect, 'no igloohome call after the disconnect');
      assert.equal((await api('GET', '/properties/riverside-loft/assignment')).body.assignment, null);
      await snap('igloohome disconnected');
      await closeBrand(page);
      assert.equal(await page.locator('.card[data-provider="igloohome"] .status').innerText(), 'Not connected');
    });
    await assertEveryCallCarries(calls, TOKEN);
    assert.deepEqual(problems, [], 'no script errors in the page');
  } finally {
    await report();
  }
});

test('R4: a property holds one lock, whatever the brand, until it is removed', async () => {
  const { page, problems } = browser;
  const api = apiClient(server.base, 'demo');
  const { step, report } = stepper('brand-switch', page);
  let drawer;
  try {
    await step('Connect Nuki and assign its lock', async (snap) => {
      await openPanel(page, server.base);
      drawer = await openBrand(page, 'Nuki');
      await connect(drawer, { 'API token': 'demo-nuki-token' }, 'Nuki');
      await waitForText(drawer.getByRole('status').first(), /Nuki is connected/);
      const select = row(drawer, 'mountain-chalet').getByRole('combobox', { name: /Mountain Chalet/ });
      assert.equal(await select.locator('option', { hasText: 'Ski room' }).innerText(), 'Ski room (needs a keypad)');
      await select.selectOption({ label: 'Chalet entrance' });
      await waitForText(row(drawer, 'mountain-chalet').getByRole('status'), /Chalet entrance is assigned to Mountain Chalet/);
      await snap('Nuki lock assigned');
      await closeBrand(page);
    });

    await step('igloohome is refused while the Nuki lock is there', async (snap) => {
      drawer = await openBrand(page, 'igloohome');
      await connect(drawer, { 'Client ID': 'demo-igloohome-id', 'Client Secret': 'demo-igloohome-secret' }, 'igloohome');
      await waitForText(drawer.getByRole('status').first(), /igloohome is connected/);
      const r = row(drawer, 'mountain-chalet');
      assert.match(await r.locator('.other-lock').innerText(), /^Has the Nuki lock “Chalet entrance”\. Remove it in the Nuki panel before assigning a lock of igloohome\.$/);
      const select = r.getByRole('combobox', { name: /Mountain Chalet/ });
      await select.selectOption({ label: 'Back door' });
      const refusal = await waitForText(r.getByRole('alert'), /\S/);
      assert.match(refusal, /Nuki/, `the plugin's sentence names the other brand: ${refusal}`);
      assert.equal(await select.inputValue(), '', 'the dropdown goes back');
      const a = (await api('GET', '/properties/mountain-chalet/assignment')).body.assignment;
      assert.deepEqual([a.provider, a.lock_id], ['nuki', '17000001']);
      await snap('igloohome refused');
      await closeBrand(page);
    });

    await step('Remove the Nuki lock', async (snap) => {
      drawer = await openBrand(page, 'Nuki');
      const r = row(drawer, 'mountain-chalet');
      await r.getByRole('button', { name: /^Remove Chalet entrance/ }).click();
      await waitForText(r.getByRole('status'), /Chalet entrance is removed from Mountain Chalet/);
      await snap('Nuki lock removed');
      await closeBrand(page);
    });

    await step('Now igloohome is accepted', async (snap) => {
      drawer = await openBrand(page, 'igloohome');
      const r = row(drawer, 'mountain-chalet');
      assert.equal(await r.locator('.other-lock').count(), 0);
      await r.getByRole('combobox', { name: /Mountain Chalet/ }).selectOption({ label: 'Back door' });
      await waitForText(r.getByRole('status'), /Back door is assigned to Mountain Chalet/);
      const a = (await api('GET', '/properties/mountain-chalet/assignment')).body.assignment;
      assert.deepEqual([a.provider, a.lock_id], ['igloohome', 'OE1X000002']);
      await snap('igloohome assigned');
      await closeBrand(page);
    });

    await step('TTLock connects with the host application', async (snap) => {
      drawer = await openBrand(page, 'TTLock');
      await connect(drawer, { 'TTLock username': 'owner@example.com', 'TTLock password': 'demo-password' }, 'TTLock');
      await waitForText(drawer.getByRole('status').first(), /TTLock is connected/);
      const select = row(drawer, 'city-studio').getByRole('combobox', { name: /City Studio 12/ });
      assert.equal(await select.locator('option', { hasText: 'Storage room' }).innerText(), 'Storage room (needs a gateway)');
      await snap('TTLock connected');
      await closeBrand(page);
      // Each connected brand's card names its account as the API does.
      const accounts = (await api('GET', '/accounts')).body.accounts;
      assert.deepEqual(accounts.map((a) => a.provider).sort(), ['igloohome', 'nuki', 'ttlock']);
      assert.equal(accounts.find((a) => a.provider === 'igloohome').name, 'Seaside Rentals');
      for (const a of accounts) {
        assert.equal(await page.locator(`.card[data-provider="${a.provider}"] .status`).innerText(), `Connected: ${a.name}`);
      }
    });
    assert.deepEqual(problems, [], 'no script errors in the page');
  } finally {
    await report();
  }
});

test('R25, R26: backup codes in the settings, shared doors of any connected brand under a property', async () => {
  const { page, problems } = browser;
  const api = apiClient(server.base, 'demo');
  const { step, report } = stepper('shared-doors', page);
  const doorsOf = async () => (await api('GET', '/properties/seaside-loft/doors')).body.doors.map((d) => [d.provider, d.lock_id]);
  let drawer;
  try {
    await step('Backup codes: out of range refused, then saved', async () => {
      for (const [brandId, body] of [
        ['igloohome', { client_id: 'demo-igloohome-id', client_secret: 'demo-igloohome-secret' }],
        ['nuki', { api_token: 'demo-nuki-token' }],
      ]) assert.equal((await api('POST', `/accounts/${brandId}`, body)).status, 200);
      const assigned = await api('PUT', '/properties/seaside-loft/assignment', { provider: 'igloohome', lock_id: 'OE1X000001' });
      assert.equal(assigned.status, 200, JSON.stringify(assigned.body));
      await openPanel(page, server.base);
      drawer = await openBrand(page, 'igloohome');
      const r = row(drawer, 'seaside-loft');
      await r.getByLabel('Backup codes').fill('6');
      await r.getByRole('button', { name: 'Save settings' }).click();
      assert.equal(await waitForText(r.getByRole('alert'), /\S/), 'backup_codes must be between 0 and 5');
      assert.equal(await r.getByLabel('Backup codes').getAttribute('aria-invalid'), 'true');
      await r.getByLabel('Backup codes').fill('2');
      await r.getByRole('button', { name: 'Save settings' }).click();
      await waitForText(r.getByRole('status'), /and 2 backup codes are kept on the lock/);
      assert.equal((await api('GET', '/properties/seaside-loft/assignment')).body.assignment.backup_codes, 2);
    });

    await step('Add a shared door of another brand', async (snap) => {
      const r = row(drawer, 'seaside-loft');
      await r.getByRole('button', { name: 'Add a shared door to Seaside Loft' }).click();
      const select = r.getByRole('combobox', { name: 'New shared door' });
      assert.equal(await select.locator('option', { hasText: 'Front door' }).isDisabled(), true, 'not its own lock');
      assert.equal(await select.locator('option', { hasText: 'Ski room' }).innerText(), 'Ski room (needs a keypad)');
      await select.selectOption({ label: 'Annex door' });
      await waitForText(r.locator('.doors [role="status"]'), /Annex door is a shared door of Seaside Loft/);
      assert.deepEqual(await doorsOf(), [['nuki', '17000003']]);
      await snap('shared door added');
    });

    await step('Change the door, then remove it', async () => {
      const r = row(drawer, 'seaside-loft');
      await r.getByRole('combobox', { name: 'Shared door 1' }).selectOption({ label: 'Back door' });
      await waitForText(r.locator('.doors [role="status"]'), /The shared door is now Back door/);
      assert.deepEqual(await doorsOf(), [['igloohome', 'OE1X000002']]);
      await r.getByRole('button', { name: 'Remove the shared door Back door from Seaside Loft' }).click();
      await waitForText(r.locator('.doors [role="status"]'), /Back door is no longer a shared door of Seaside Loft/);
      assert.deepEqual(await doorsOf(), []);
    });

    await step('At most 4 shared doors', async (snap) => {
      for (const [provider, lockId] of [['nuki', '17000001'], ['nuki', '17000003'], ['igloohome', 'OE1X000002'], ['igloohome', 'OE1X000004']]) {
        assert.equal((await api('POST', '/properties/seaside-loft/doors', { provider, lock_id: lockId })).status, 200);
      }
      await closeBrand(page);
      drawer = await openBrand(page, 'igloohome');
      const r = row(drawer, 'seaside-loft');
      await r.locator('li.door').nth(3).waitFor();
      assert.equal(await r.locator('li.door').count(), 4);
      assert.equal(await r.getByRole('button', { name: 'Add a shared door to Seaside Loft' }).isDisabled(), true);
      assert.match(await r.locator('.doors').innerText(), /Seaside Loft has 4 shared doors, the most it can have/);
      await snap('four shared doors');
      await closeBrand(page);
      // The property's summary names its doors.
      await waitForText(page.locator('details[data-property="seaside-loft"] summary'),
        /shared doors “Chalet entrance”, “Annex door”, “Back door”, “Cellar door”/);
    });
    assert.deepEqual(problems, [], 'no script errors in the page');
  } finally {
    // The tests after this one find Seaside Loft as they would without it.
    for (const [provider, lockId] of await doorsOf()) {
      await api('DELETE', `/properties/seaside-loft/doors/${provider}/${lockId}`);
    }
    await api('DELETE', '/properties/seaside-loft/assignment');
    await report();
  }
});

test('R31: without a key the panel asks for one and shows no tenant data', async () => {
  const { page, calls } = await browser.newTab();
  const { step, report } = stepper('no-key', page);
  try {
    await step('The panel asks for a key', async () => {
      await page.goto(`${server.base}/?tenant=demo`);
      await page.waitForSelector('body[data-ready="true"]');
      await assertLockedOut(page, null);
      assert.equal(await page.getByLabel('PMS account').inputValue(), 'demo');
      assert.equal(await page.getByRole('button', { name: 'Forget key' }).isVisible(), false);
      const tenantCalls = (await calls()).filter((c) => c.path.startsWith('/api/tenants'));
      assert.deepEqual(tenantCalls, [], 'nothing of a tenant is asked for without a key');
    });

    await step('The prompt leads to the key field', async () => {
      await page.getByRole('button', { name: 'Enter the API key' }).press('Enter');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'key');
      assert.equal(await page.getByLabel('API key', { exact: true }).getAttribute('type'), 'password');
    });
    assert.deepEqual(browser.problems, [], 'no script errors in the page');
  } finally {
    await report();
    await page.close();
  }
});

test('R31: a tenant API key opened as #key=... works for its tenant, and the fragment is gone', async () => {
  const made = await apiClient(server.base, 'demo')('POST', '/keys', { label: 'panel test' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const { id, key } = made.body;
  assert.match(key, /^slk_[0-9a-f]{16}_[0-9a-f]{48}$/);
  const asTenant = apiClient(server.base, 'demo', key);
  const { page, calls } = await browser.newTab();
  const { step, report } = stepper('tenant-key', page);
  let drawer;
  try {
    await step('Opened with the key in the fragment', async () => {
      await page.goto(`${server.base}/?tenant=demo#key=${key}`);
      await page.waitForSelector('body[data-ready="true"]');
      await waitForText(page.locator('.card[data-provider="igloohome"] .status'), /Not connected|Connected/);
      assert.equal(page.url(), `${server.base}/?tenant=demo`);
      assert.equal(await page.evaluate(() => location.hash), '');
      assert.equal(page.url().includes(key.slice(4)), false, 'the key is not in the page\'s URL');
      assert.equal(await page.evaluate(() => sessionStorage.getItem('smartlock-key')), key, 'kept for the tab');
      assert.equal(await page.locator('#key-prompt').isVisible(), false);
      assert.equal(await page.locator('details.property').count(), 8, 'the tenant\'s properties');
      assert.equal(await page.locator('#tenant-list option').count(), 0, 'a tenant key does not list the accounts');
    });

    await step('The tenant key assigns a lock', async () => {
      drawer = await openBrand(page, 'igloohome');
      if (await drawer.getByLabel('Client ID', { exact: true }).count()) {
        await connect(drawer, { 'Client ID': 'demo-igloohome-id', 'Client Secret': 'demo-igloohome-secret' }, 'igloohome');
        await waitForText(drawer.getByRole('status').first(), /igloohome is connected/);
      }
      const r = row(drawer, 'forest-cabin');
      await r.getByRole('combobox', { name: /Forest Cabin/ }).selectOption({ label: 'Front door' });
      await waitForText(r.getByRole('status'), /Front door is assigned to Forest Cabin/);
      const a = (await asTenant('GET', '/properties/forest-cabin/assignment')).body.assignment;
      assert.deepEqual([a.provider, a.lock_id], ['igloohome', 'OE1X000001']);
      await closeBrand(page);
      await assertEveryCallCarries(calls, key);
    });

    await step('A reload keeps the key for the tab', async () => {
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]');
      await waitForText(page.locator('.card[data-provider="igloohome"] .status'), /^Connected: Seaside Rentals$/);
      assert.equal(page.url(), `${server.base}/?tenant=demo`);
    });

    await step('Another PMS account refuses the key', async () => {
      await page.getByLabel('PMS account').fill('elsewhere');
      await page.getByRole('button', { name: 'Open', exact: true }).click();
      await assertLockedOut(page, /^This API key belongs to another PMS account, not “elsewhere”/);
    });

    await step('A revoked key is refused', async () => {
      await page.getByLabel('PMS account').fill('demo');
      await page.getByRole('button', { name: 'Open', exact: true }).click();
      await waitForText(page.locator('.card[data-provider="igloohome"] .status'), /^Connected/);
      const revoked = await apiClient(server.base, 'demo')('DELETE', `/keys/${id}`);
      assert.equal(revoked.status, 204);
      // The next poll (every 2 s) meets the 401.
      await assertLockedOut(page, /^The API key is missing or wrong/);
    });

    const log = await readFile(server.log, 'utf8');
    assert.match(log, /operator token: from SMARTLOCK_TOKEN/);
    assert.equal(log.includes(TOKEN), false, 'the operator token is not in the server\'s log');
    assert.equal(log.includes(key.slice(21)), false, 'the API key is not in the server\'s log');
    assert.deepEqual(browser.problems, [], 'no script errors in the page');
  } finally {
    await report();
    await page.close();
  }
});

test('R31: a wrong key shows "missing or wrong", then the right one shows the tenant', async () => {
  const { page, calls } = await browser.newTab();
  const { step, report } = stepper('wrong-key', page);
  const wrong = `slk_${'0'.repeat(16)}_${'0'.repeat(48)}`;
  try {
    await step('A wrong key from the older #token= fragment', async () => {
      await page.goto(`${server.base}/?tenant=demo#token=${wrong}`);
      await page.waitForSelector('body[data-ready="true"]');
      await assertLockedOut(page, /^The API key is missing or wrong: enter the operator's token or an API key/);
      assert.equal(page.url(), `${server.base}/?tenant=demo`, 'the fragment is gone');
      await assertEveryCallCarries(calls, wrong);
    });

    await step('A wrong key typed in', async () => {
      await page.getByLabel('API key', { exact: true }).fill('not-the-operator-token');
      await page.getByRole('button', { name: 'Use key' }).click();
      await assertLockedOut(page, /^The API key is missing or wrong/);
    });

    await step('The operator token shows the tenant', async () => {
      await page.getByLabel('API key', { exact: true }).fill(TOKEN);
      await page.getByRole('button', { name: 'Use key' }).click();
      await waitForText(page.locator('.card[data-provider="igloohome"] .status'), /^Connected: Seaside Rentals$/);
      assert.equal(await page.locator('details.property').count(), 8);
      assert.ok(await page.locator('#tenant-list option[value="demo"]').count(), 'the operator token lists the accounts');
    });

    await step('Forget key', async () => {
      await page.getByRole('button', { name: 'Forget key' }).click();
      await assertLockedOut(page, null);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('smartlock-key')), null);
      await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'key');
    });
    assert.deepEqual(browser.problems, [], 'no script errors in the page');
  } finally {
    await report();
    await page.close();
  }
});

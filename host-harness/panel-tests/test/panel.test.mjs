// The seed's flow in the panel, in headless Chromium, against
// `host-harness serve --demo` (its vendor stubs and demo data): connect,
// filter, assign, settings, a code on the (fast) simulated clock, message
// preview, remove, disconnect; and the brand switch of R4.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { apiClient, OUTPUT, startBrowser, startServer, stepper, TOKEN, waitForText } from '../lib/harness.mjs';

let server;
let browser;

before(async () => {
  await rm(OUTPUT, { recursive: true, force: true });
  server = await startServer('panel');
  browser = await startBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

/** Opens the panel for the demo tenant with the operator's token entered. */
async function openPanel(page, base) {
  await page.goto(`${base}/?tenant=demo`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.getByLabel('Operator token').fill(TOKEN);
  await page.getByRole('button', { name: 'Use token' }).click();
  await waitForText(page.locator('.card[data-provider="igloohome"] .status'), /Not connected|Connected/);
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

async function connect(drawer, fields, brandName) {
  for (const [label, value] of Object.entries(fields)) await drawer.getByLabel(label, { exact: true }).fill(value);
  await drawer.getByRole('button', { name: `Connect ${brandName}` }).click();
}

test('igloohome: connect, filter, assign, settings, code, preview, remove, disconnect', async () => {
  const { page, problems } = browser;
  const api = apiClient(server.base, 'demo');
  const { step, report } = stepper('igloohome', page);
  let drawer;
  try {
    await step('Integrations page', async () => {
      await openPanel(page, server.base);
      assert.match(await page.locator('#clock').innerText(), /Simulated clock\s+300× speed/);
      assert.equal(await page.locator('.card').count(), 3);
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
    await step('A code appears on the simulated clock', async () => {
      await closeBrand(page);
      const property = page.locator('details[data-property="seaside-loft"]');
      await property.locator('summary').click();
      const booking = property.locator('tr[data-booking="seaside-loft-1"]');
      await waitForText(booking.locator('.state'), /^On the lock$/, 30_000);
      pin = await booking.locator('td.pin').innerText();
      assert.match(pin, /^\d{6}$/);
      const window = await booking.locator('td').nth(3).innerText();
      // Lisbon in winter is UTC+0: check-in 15:00 minus the 45-minute margin.
      assert.match(window, /14:15 → .* 11:45$/);
      const code = (await api('GET', '/bookings/seaside-loft-1/code')).body;
      assert.equal(code.pin, pin);
      assert.equal(code.state, 'on_lock');
    });

    await step('Message preview', async () => {
      await page.locator('tr[data-booking="seaside-loft-1"]').getByRole('button', { name: /Preview message for/ }).click();
      assert.equal(await page.getByLabel('Booking').inputValue(), 'seaside-loft-1');
      await page.getByLabel('Message template').fill('Hi {{guest_name}}, your door code is {{ smartlock_code }} ({{nuki_code}}).');
      await page.getByRole('button', { name: 'Preview message', exact: true }).click();
      const text = await waitForText(page.locator('#preview-output'), /door code/);
      assert.equal(text, `Hi {{guest_name}}, your door code is ${pin} (${pin}).`);
    });

    await step('Remove the lock', async () => {
      drawer = await openBrand(page, 'igloohome');
      const r = row(drawer, 'seaside-loft');
      await r.getByRole('button', { name: /^Remove Front door/ }).click();
      await waitForText(r.getByRole('status'), /Front door is removed from Seaside Loft/);
      assert.equal((await api('GET', '/properties/seaside-loft/assignment')).body.assignment, null);
    });

    await step('Disconnect', async (snap) => {
      await drawer.getByRole('button', { name: 'Disconnect igloohome' }).click();
      await drawer.getByRole('button', { name: 'Yes, disconnect igloohome' }).click();
      await waitForText(drawer.getByRole('status').first(), /igloohome is disconnected/);
      await drawer.getByLabel('Client ID', { exact: true }).waitFor();
      assert.deepEqual((await api('GET', '/accounts')).body, { accounts: [] });
      await snap('igloohome disconnected');
      await closeBrand(page);
      assert.equal(await page.locator('.card[data-provider="igloohome"] .status').innerText(), 'Not connected');
    });
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
      assert.match(await r.locator('.other-lock').innerText(), /Has a Nuki lock: Chalet entrance/);
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
      await connect(drawer, { Username: 'owner@example.com', Password: 'demo-password' }, 'TTLock');
      await waitForText(drawer.getByRole('status').first(), /TTLock is connected/);
      const select = row(drawer, 'city-studio').getByRole('combobox', { name: /City Studio 12/ });
      assert.equal(await select.locator('option', { hasText: 'Storage room' }).innerText(), 'Storage room (needs a gateway)');
      await snap('TTLock connected');
      await closeBrand(page);
      const statuses = await page.locator('.card .status').allInnerTexts();
      assert.equal(statuses.length, 3);
      assert.equal(statuses[0], 'Connected: Seaside Rentals');
      for (const s of statuses) assert.match(s, /^Connected: \S/);
    });
    assert.deepEqual(problems, [], 'no script errors in the page');
  } finally {
    await report();
  }
});

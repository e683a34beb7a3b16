// The brands as data (R30), at 1280 px and at 390 px: every card and every
// connect form comes from `GET /api/brands` — names, what a lock needs, each
// field's label and help, secret fields masked, host-supplied fields left out
// (said to come from the host), a brand the host is not set up for shown as
// such with Connect disabled — and the panel's script names no brand. Seam,
// the brand added after the panel was written, is connected through the panel
// with no Seam-specific panel code: in the demo (its Seam workspace, the
// locks the API lists, then disconnected), and against a stub world with a
// Seam workspace (`serve --stub`, with no TTLock application on the host), a
// lock assigned and the guest's code on the stub's lock.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import {
  apiClient, assertNothingOffScreen, brandsOf, serviceNow, startBrowser, startServer, startStub, stepper, TOKEN,
  until, waitForText,
} from '../lib/harness.mjs';

const WIDTHS = [1280, 390];
/** The stub world's Seam workspace and its locks (the stub's values, not anyone's secrets). */
const SEAM_KEY = 'seam_panel_test_workspace_key';
const SEAM_WORKSPACE = 'Harbour Workspace';
const SEAM_LOCK = { id: '3d9f6a52-0c1e-4b7a-9d2f-5e8a1c4b7f01', name: 'Harbour front door', brand: 'schlage' };
const SEAM_NO_CODES = { id: '3d9f6a52-0c1e-4b7a-9d2f-5e8a1c4b7f02', name: 'Bike shed', brand: 'schlage', codes: false };
/** A world with a Seam workspace (and a Nuki account, so the file reads as a scenario's vendors); no TTLock. */
const WORLD = {
  nuki: { accounts: [{ api_token: 'panel-test-nuki-token', name: 'Alpine Stays' }], locks: [] },
  seam: { accounts: [{ api_key: SEAM_KEY, name: SEAM_WORKSPACE }], locks: [SEAM_LOCK, SEAM_NO_CODES] },
};

let demo;
let browser;

before(async () => {
  demo = await startServer('brands');
  browser = await startBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (demo) await demo.stop();
});

/** The panel for `tenant` at `base`, the operator's token entered. */
async function openPanel(page, base, tenant) {
  await page.goto(`${base}/?tenant=${tenant}`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.getByLabel('API key', { exact: true }).fill(TOKEN);
  await page.getByRole('button', { name: 'Use key' }).click();
  await page.getByRole('heading', { name: 'Properties and guest codes' }).waitFor();
}

const card = (page, id) => page.locator(`.card[data-provider="${id}"]`);

async function openBrand(page, b) {
  await card(page, b.id).getByRole('button').click();
  const drawer = page.getByRole('dialog', { name: b.name });
  await drawer.waitFor();
  return drawer;
}

async function closeBrand(page) {
  await page.getByRole('button', { name: 'Close panel' }).click();
  await page.getByRole('dialog').waitFor({ state: 'hidden' });
}

/** The text of the elements `aria-describedby` names on `locator`, joined. */
async function description(locator) {
  return locator.evaluate((n) => (n.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean)
    .map((id) => document.getElementById(id)).filter(Boolean).map((d) => d.textContent.trim()).filter(Boolean).join(' | '));
}

/** "the A and the B", as the panel names fields in a sentence. */
const theLabels = (fields) => fields.map((f) => `the ${f.label}`).join(' and ');

/**
 * Every card against `brands`: in the API's order, its name and what a lock needs; Connect
 * enabled exactly when the brand is configured on this host (or already connected), else the
 * card says the host is not set up for it and names the fields the host lacks.
 */
async function assertCards(page, brands, connected = {}) {
  assert.deepEqual(await page.locator('.card h3').allInnerTexts(), brands.map((b) => b.name), 'a card per brand, in the API\'s order');
  assert.deepEqual(await page.locator('.card').evaluateAll((ns) => ns.map((n) => n.dataset.provider)), brands.map((b) => b.id));
  for (const b of brands) {
    const c = card(page, b.id);
    assert.equal(await c.locator('.needs').innerText(), `Each lock needs ${b.lock_needs}.`);
    const button = c.getByRole('button');
    const status = await c.locator('.status').innerText();
    if (connected[b.id]) {
      assert.equal(status, `Connected: ${connected[b.id]}`);
      assert.equal(await button.isDisabled(), false);
    } else if (b.configured) {
      assert.equal(status, 'Not connected');
      assert.equal(await button.isDisabled(), false, `Connect ${b.name} is offered`);
    } else {
      const supplied = b.credentials.filter((f) => f.host_supplied);
      assert.match(status, /^Not set up on this host: /, `${b.name} is not configured here`);
      for (const f of supplied) assert.ok(status.includes(f.label), `the card names ${f.label}: ${status}`);
      assert.equal(await button.isDisabled(), true, `Connect ${b.name} waits for the host's configuration`);
      assert.equal(await description(button), status, 'the disabled button says why');
    }
  }
}

/**
 * The brand's connect form against its credential fields: exactly the fields the manager types,
 * in order, each labelled, described by its help, masked when secret; no input for a
 * host-supplied field, and a note naming them; Connect waits for every field.
 */
async function assertConnectForm(drawer, b) {
  const typed = b.credentials.filter((f) => !f.host_supplied);
  const supplied = b.credentials.filter((f) => f.host_supplied);
  const form = drawer.locator('form.connect-form');
  await form.waitFor();
  assert.deepEqual(await form.locator('input').evaluateAll((ns) => ns.map((n) => n.name)), typed.map((f) => f.name));
  for (const f of typed) {
    const input = form.getByLabel(f.label, { exact: true });
    assert.equal(await input.getAttribute('name'), f.name, `${f.label} labels ${f.name}`);
    assert.equal(await input.getAttribute('type'), f.secret ? 'password' : 'text', `${f.name} masked exactly when secret`);
    if (f.help) assert.ok((await description(input)).includes(f.help), `${f.name} is described by its help`);
  }
  const note = form.locator('.host-supplied');
  if (supplied.length) {
    const text = await note.innerText();
    for (const f of supplied) assert.ok(text.includes(f.label), `the note names ${f.label}: ${text}`);
    assert.match(text, /come from this host's configuration\.$/);
  } else {
    assert.equal(await note.count(), 0);
  }
  const submit = form.getByRole('button', { name: `Connect ${b.name}` });
  assert.equal(await submit.isDisabled(), true, 'Connect waits for the credentials');
  assert.equal(await form.locator('.help').last().innerText(), `Enter ${theLabels(typed)} to connect.`);
  const text = await drawer.innerText();
  if (b.lock_needs) assert.ok(text.includes(`Each lock needs ${b.lock_needs}`), `the form says what a lock needs: ${text}`);
}

test('the panel\'s script names no brand: every brand is data', async () => {
  const script = await (await fetch(`${demo.base}/panel.js`)).text();
  const source = process.env.PANEL_FROM_SOURCE
    ? await readFile(new URL('../../src/serve/panel/panel.js', import.meta.url), 'utf8') : script;
  // `{{nuki_code}}` is the contract's older name of the code variable (R20), not a brand.
  const text = source.replace(/nuki_code/g, '').toLowerCase();
  for (const b of await brandsOf(demo.base)) {
    for (const word of new Set([b.id, b.name].map((w) => w.toLowerCase()))) {
      assert.equal(text.includes(word), false, `panel.js mentions ${JSON.stringify(word)}`);
    }
  }
});

for (const width of WIDTHS) {
  test(`the demo's cards and connect forms come from GET /api/brands at ${width} px`, async () => {
    const { page, problems } = browser;
    await page.setViewportSize({ width, height: width > 600 ? 900 : 844 });
    const api = apiClient(demo.base, 'demo');
    const { step, report } = stepper(`brands-demo-${width}`, page);
    try {
      const brands = await brandsOf(demo.base);
      assert.ok(brands.some((b) => b.id === 'seam'), 'Seam is listed');
      await step('A card per brand of the API', async () => {
        await openPanel(page, demo.base, 'demo');
        await assertCards(page, brands);
        await assertNothingOffScreen(page, 'body');
      });

      for (const b of brands) {
        await step(`${b.name}'s connect form`, async (snap) => {
          const drawer = await openBrand(page, b);
          await assertConnectForm(drawer, b);
          await assertNothingOffScreen(page, '#drawer');
          await snap(`${b.name} form`);
          await closeBrand(page);
        });
      }

      await step('Seam connects in the demo, then disconnects', async (snap) => {
        const seam = brands.find((b) => b.id === 'seam');
        // The demo prints its stubs' credentials on stderr: its Seam workspace's key is among them.
        const credentials = (await readFile(demo.log, 'utf8')).split('\n').find((l) => l.startsWith('demo credentials:')) || '';
        const key = (credentials.match(/\bSeam (seam_[^\s;,]+)/) || [])[1];
        assert.ok(key, `serve --demo names a Seam workspace's key: ${JSON.stringify(credentials)}`);
        let drawer = await openBrand(page, seam);
        await drawer.getByLabel('API key', { exact: true }).fill(key);
        await drawer.getByRole('button', { name: 'Connect Seam' }).click();
        await waitForText(drawer.getByRole('status').first(), /^Seam is connected\.$/);
        const [account] = (await api('GET', '/accounts')).body.accounts;
        assert.equal(account.provider, 'seam');
        assert.equal(await drawer.locator('#account-name').innerText(), account.name);
        await waitForText(card(page, 'seam').locator('.status'), new RegExp(`^Connected: ${account.name}$`));
        // Each property's dropdown offers the workspace's locks as the API lists them.
        const locks = (await api('GET', '/accounts/seam/locks')).body.locks;
        assert.ok(locks.some((l) => l.assignable), 'the demo workspace has a lock that takes codes');
        const options = drawer.locator('li.assignment').first().locator('select option[value]:not([value=""])');
        assert.deepEqual(await options.evaluateAll((ns) => ns.map((n) => [n.value, n.disabled])),
          locks.map((l) => [l.id, !l.assignable]));
        await assertNothingOffScreen(page, '#drawer');
        await snap('Seam connected in the demo');
        await drawer.getByRole('button', { name: 'Disconnect Seam' }).click();
        await drawer.getByRole('button', { name: 'Yes, disconnect Seam' }).click();
        await waitForText(drawer.getByRole('status').first(), /^Seam is disconnected\./);
        assert.deepEqual((await api('GET', '/accounts')).body, { accounts: [] });
        drawer = page.getByRole('dialog', { name: 'Seam' });
        await assertConnectForm(drawer, seam);
        await closeBrand(page);
      });
      assert.deepEqual(problems, [], 'no script errors in the page');
    } finally {
      await report();
    }
  });
}

for (const width of WIDTHS) {
  test(`Seam connects through the panel, with TTLock not set up on this host, at ${width} px`, async () => {
    const stub = await startStub(`brands-seam-${width}`, WORLD);
    const server = await startServer(`brands-seam-${width}`, { stub: stub.base });
    const { page, problems } = browser;
    await page.setViewportSize({ width, height: width > 600 ? 900 : 844 });
    const { step, report } = stepper(`brands-seam-${width}`, page);
    const api = apiClient(server.base, 'acme');
    try {
      const brands = await brandsOf(server.base);
      const seam = brands.find((b) => b.id === 'seam');
      const ttlock = brands.find((b) => b.id === 'ttlock');
      assert.ok(seam, 'Seam is listed');
      assert.equal(ttlock.configured, false, 'without --ttlock-client-id the host lacks TTLock\'s application');
      // As a PMS would: a property and a booking checking in tomorrow (its code is due at once).
      const tz = 'Europe/Lisbon';
      const today = new Date((await serviceNow(server.base)) * 1000).toISOString().slice(0, 10);
      const day = (n) => new Date(Date.parse(`${today}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
      let r = await api('PUT', '/properties/harbour-flat', { name: 'Harbour Flat', timezone: tz });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      r = await api('PUT', '/bookings/hf-1', { property_id: 'harbour-flat', guest_name: 'Noor Haddad', check_in: day(1), check_out: day(3) });
      assert.equal(r.status, 200, JSON.stringify(r.body));

      await step('The cards: Seam offered, TTLock not set up here', async () => {
        await openPanel(page, server.base, 'acme');
        await assertCards(page, brands);
        await assertNothingOffScreen(page, 'body');
      });

      let drawer;
      await step('Seam\'s form from its fields', async () => {
        drawer = await openBrand(page, seam);
        await assertConnectForm(drawer, seam);
      });

      await step('A wrong API key is refused', async () => {
        await drawer.getByLabel('API key', { exact: true }).fill('seam_not_this_workspace');
        await drawer.getByRole('button', { name: 'Connect Seam' }).click();
        const alert = await waitForText(drawer.getByRole('alert').first(), /credentials were refused/);
        assert.match(alert, /^the credentials were refused/);
        assert.deepEqual((await api('GET', '/accounts')).body, { accounts: [] }, 'nothing stored');
      });

      await step('The workspace\'s key connects', async () => {
        await drawer.getByLabel('API key', { exact: true }).fill(SEAM_KEY);
        await drawer.getByRole('button', { name: 'Connect Seam' }).click();
        await waitForText(drawer.getByRole('status').first(), /^Seam is connected\.$/);
        assert.equal(await drawer.locator('#account-name').innerText(), SEAM_WORKSPACE);
        assert.deepEqual((await api('GET', '/accounts')).body.accounts, [{ provider: 'seam', name: SEAM_WORKSPACE }]);
        await assertCards(page, brands, { seam: SEAM_WORKSPACE });
      });

      await step('A Seam lock is assigned', async () => {
        const row = drawer.locator('li.assignment[data-property="harbour-flat"]');
        const select = row.getByRole('combobox', { name: /Harbour Flat/ });
        const shed = select.locator('option', { hasText: SEAM_NO_CODES.name });
        assert.match(await shed.innerText(), /^Bike shed \(needs .+\)$/);
        assert.equal(await shed.isDisabled(), true, 'a lock that takes no online codes cannot be chosen');
        await select.selectOption({ label: SEAM_LOCK.name });
        await waitForText(row.getByRole('status'), /^Harbour front door is assigned to Harbour Flat\.$/);
        const a = (await api('GET', '/properties/harbour-flat/assignment')).body.assignment;
        assert.deepEqual([a.provider, a.lock_id, a.remote.kind], ['seam', SEAM_LOCK.id, 'cloud']);
        await assertNothingOffScreen(page, '#drawer');
        await closeBrand(page);
      });

      await step('The guest\'s code is on the Seam lock', async () => {
        // The stub's own record of the lock, not what the plugin or the panel says.
        const pin = await until(async () => {
          const pins = await (await fetch(`${stub.base}/_admin/pins`)).json();
          const on = pins.filter((p) => p.provider === 'seam' && p.lock === SEAM_LOCK.id && !p.removed_at);
          return on.length === 1 ? on[0].pin : null;
        }, 'one PIN on the Seam lock', 60_000);
        const section = page.locator('details[data-property="harbour-flat"]');
        await waitForText(section.locator('summary'), /Seam lock “Harbour front door”/);
        await section.locator(':scope > summary').click();
        const booking = section.locator('tbody[data-booking="hf-1"]');
        await waitForText(booking.locator('.state'), /^On the lock$/, 30_000);
        assert.equal(await booking.locator('td.pin').innerText(), pin);
        await assertNothingOffScreen(page, 'body');
      });
      assert.deepEqual(problems, [], 'no script errors in the page');
    } finally {
      await report();
      await server.stop();
      await stub.stop();
    }
  });
}

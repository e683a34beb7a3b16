// A new user's first hour with the panel (issue 21), at 1280 px and at 390 px,
// against `host-harness serve --demo`: every time names its zone and the
// header shows UTC and the reader's own time; each code's next step is worded
// for its state; a code waiting for an offline bridge says so, steadily; a
// Failed code gives advice and the alert e-mail the owner got; the lock
// dropdown marks locks that cannot be managed, whose bridge does not answer,
// or that other properties use; the message preview fills the booking's own
// fields and treats "no code yet" as information; Connect waits for a key and
// for the credentials; at 390 px bookings are cards, with nothing off-screen.
// The 1280 px run writes the README's screenshot, docs/panel.png.
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';

import {
  apiClient, assertNothingOffScreen, brandsOf, OUTPUT, PANEL_TESTS, serviceNow, startBrowser, startServer, stepper, TOKEN, until, waitForText,
} from '../lib/harness.mjs';

/** The README's picture of the panel, made by this test at 1280 px. */
const README_SCREENSHOT = resolve(PANEL_TESTS, '../../docs/panel.png');
/** The reader's own zone: neither UTC nor any demo property's. */
const READER_TZ = 'America/Los_Angeles';
const WIDTHS = [1280, 390];
const COLUMNS = ['Guest', 'Stay', 'Code', 'PIN', 'Valid', 'Next step', 'Message'];

let server;
let browser;
let api;
/** The bookings this test adds, by role: id, property, zone, guest, dates. */
const B = {};

/** The local date (YYYY-MM-DD) and time (HH:MM) of Unix second `t` in `tz`, worked out here. */
function localParts(t, tz) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(t * 1000)).map((p) => [p.type, p.value]));
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` };
}

function addDays(ymd, n) {
  const [y, m, d] = ymd.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** A date as the panel and its preview write it: "5 Dec 2026". */
function longDate(ymd) {
  const [y, m, d] = ymd.split('-').map(Number);
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' })
    .format(new Date(Date.UTC(y, m - 1, d)));
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** "Removed after Sat 5 Dec, 11:30 WET (Europe/Lisbon)" as `{day, month, time, zone}`. */
function shownInstant(text) {
  const m = text.match(/(\d{1,2}) ([A-Za-z]{3}),? (\d{2}:\d{2}) \S+ \(([^)]+)\)$/);
  assert.ok(m, `a day, month, time, zone abbreviation and zone name in ${JSON.stringify(text)}`);
  return { day: Number(m[1]), month: MONTHS.indexOf(m[2].toLowerCase()) + 1, time: m[3], zone: m[4] };
}

/** An instant (RFC 3339) on the wall clock of `tz`, worked out here, not by the panel. */
function wallClock(iso, tz) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', {
    timeZone: tz, day: 'numeric', month: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return { day: Number(parts.day), month: Number(parts.month), time: `${parts.hour}:${parts.minute}`, zone: tz };
}

const code = async (id) => (await api('GET', `/bookings/${id}/code`)).body;

before(async () => {
  server = await startServer('first-hour');
  browser = await startBrowser({ timezoneId: READER_TZ });
  api = apiClient(server.base, 'demo');
  // As a PMS would: an igloohome account, Front door on two properties, the
  // Cellar door (its bridge is offline in the demo) on a third.
  const connected = await api('POST', '/accounts/igloohome', { client_id: 'demo-igloohome-id', client_secret: 'demo-igloohome-secret' });
  assert.equal(connected.status, 200, JSON.stringify(connected.body));
  for (const [property, lock] of [['seaside-loft', 'OE1X000001'], ['riverside-loft', 'OE1X000001'], ['forest-cabin', 'OE1X000004']]) {
    const r = await api('PUT', `/properties/${property}/assignment`, { provider: 'igloohome', lock_id: lock });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  // Bookings dated from the service's clock, whatever the time of day the test runs at.
  const now = await serviceNow(server.base);
  const lisbon = localParts(now, 'Europe/Lisbon').date;
  const berlin = localParts(now, 'Europe/Berlin');
  const bookings = {
    onLock: { id: 'fh-on-lock', property_id: 'seaside-loft', tz: 'Europe/Lisbon', guest_name: 'Inès Moreau', check_in: addDays(lisbon, 2), check_out: addDays(lisbon, 4) },
    scheduled: { id: 'fh-scheduled', property_id: 'seaside-loft', tz: 'Europe/Lisbon', guest_name: 'Jonas Berg', check_in: addDays(lisbon, 10), check_out: addDays(lisbon, 13) },
    waiting: { id: 'fh-waiting', property_id: 'forest-cabin', tz: 'Europe/Berlin', guest_name: 'Kofi Mensah', check_in: addDays(berlin.date, 3), check_out: addDays(berlin.date, 5) },
    // Checking in now: its window has started, so the one attempt fails for good (R11, R13) and the owner is alerted (R12).
    failed: { id: 'fh-failed', property_id: 'forest-cabin', tz: 'Europe/Berlin', guest_name: 'Pia Lund', check_in: berlin.date, check_in_time: berlin.time, check_out: addDays(berlin.date, 2) },
  };
  for (const [role, { id, tz, ...body }] of Object.entries(bookings)) {
    const r = await api('PUT', `/bookings/${id}`, body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    B[role] = { id, tz, ...body };
  }
  await until(async () => (await code(B.onLock.id)).state === 'on_lock', 'the first code on Front door', 60_000);
  await until(async () => (await code(B.failed.id)).state === 'failed', 'the late booking\'s code failed', 60_000);
  await until(async () => (await api('GET', '/outbox')).body.emails.some((m) => m.body.includes(`(booking ${B.failed.id})`)),
    'the alert e-mail for the late booking', 60_000);
  await until(async () => (await code(B.waiting.id)).last_error, 'a first failed attempt on the Cellar door', 60_000);
  assert.equal((await code(B.scheduled.id)).state, 'scheduled');
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

/** The row of booking `id`, its property's section opened. */
async function bookingRow(page, booking) {
  const section = page.locator(`details[data-property="${booking.property_id}"]`);
  if ((await section.getAttribute('open')) === null) await section.locator(':scope > summary').click();
  return section.locator(`tbody[data-booking="${booking.id}"]`);
}

for (const width of WIDTHS) {
  test(`the first hour at ${width} px`, async () => {
    const { page, problems } = browser;
    await page.setViewportSize({ width, height: width > 600 ? 900 : 844 });
    const { step, report } = stepper(`first-hour-${width}`, page);
    try {
      await step('Without a key Connect is disabled', async () => {
        await page.goto(`${server.base}/?tenant=demo`);
        await page.waitForSelector('body[data-ready="true"]');
        if (await page.getByRole('button', { name: 'Forget key' }).isVisible()) {
          await page.getByRole('button', { name: 'Forget key' }).click();
        }
        await page.getByRole('heading', { name: 'API key needed' }).waitFor();
        const cards = page.locator('.card');
        assert.equal(await cards.count(), (await brandsOf(server.base)).length, 'a card per brand of GET /api/brands');
        for (const card of await cards.all()) {
          assert.equal(await card.getByRole('button').isDisabled(), true, 'Connect waits for the API key');
          assert.match(await card.locator('.status').innerText(), /^Enter the API key at the top of the page to connect\.$/);
        }
        await assertNothingOffScreen(page, 'body');
      });

      await step('With the key, times name their zone', async () => {
        await page.getByLabel('API key', { exact: true }).fill(TOKEN);
        await page.getByRole('button', { name: 'Use key' }).click();
        await waitForText(page.locator('.card[data-provider="igloohome"] .status'), /^Connected: Seaside Rentals$/);
        for (const card of await page.locator('.card').all()) assert.equal(await card.getByRole('button').isDisabled(), false);
        // The header: the service's clock in UTC, and in the reader's own zone.
        assert.match(await page.locator('#clock-now').innerText(), /^\w{3},? \d{1,2} \w{3} \d{4}, \d{2}:\d{2} UTC$/);
        assert.match(await page.locator('#clock-local').innerText(), /^\w{3},? \d{1,2} \w{3},? \d{2}:\d{2} \S+ your time \(America\/Los_Angeles\)$/);
        // Each property's own "now" beside its zone.
        const seaside = page.locator('details[data-property="seaside-loft"] summary');
        assert.match(await seaside.innerText(), /Europe\/Lisbon, now \d{2}:\d{2} \S+ · igloohome lock “Front door”/);
      });

      await step('Each state has its own next step', async () => {
        const onLock = await bookingRow(page, B.onLock);
        const scheduled = await bookingRow(page, B.scheduled);
        await waitForText(onLock.locator('.state'), /^On the lock$/);
        const [onLockCode, scheduledCode] = [await code(B.onLock.id), await code(B.scheduled.id)];
        const removed = await onLock.locator('td.next-step').innerText();
        assert.match(removed, /^Removed after /);
        assert.deepEqual(shownInstant(removed), wallClock(onLockCode.next_attempt, B.onLock.tz), removed);
        const created = await scheduled.locator('td.next-step').innerText();
        assert.match(created, /^Created on /);
        assert.deepEqual(shownInstant(created), wallClock(scheduledCode.create_at, B.scheduled.tz), created);
        assert.match(await onLock.locator('td.window').innerText(), / → .* \(Europe\/Lisbon\)$/);
        const table = page.locator('details[data-property="seaside-loft"] table');
        if (width > 600) {
          assert.deepEqual(await table.locator('thead th').allInnerTexts(), COLUMNS);
        } else {
          // A card: each field names itself; the header row is for screen readers only.
          assert.equal(await table.locator('thead').evaluate((t) => getComputedStyle(t).position), 'absolute');
          assert.equal(await onLock.locator('td.next-step').evaluate((td) => getComputedStyle(td, '::before').content), '"Next step"');
          assert.equal(await onLock.locator('td.stay').evaluate((td) => getComputedStyle(td).display), 'block');
        }
        assert.equal((await page.locator('main').innerText()).includes('Next attempt'), false, 'no ambiguous "Next attempt"');
      });

      await step('A code waiting for the offline bridge says so', async () => {
        const waiting = await bookingRow(page, B.waiting);
        // Sampled over three polls: the plugin goes between retrying and writing, the panel stays put.
        const seen = new Set();
        for (let i = 0; i < 24; i += 1) {
          assert.match(await waiting.locator('.state').innerText(), /^Waiting for the bridge/);
          seen.add((await code(B.waiting.id)).state);
          await new Promise((r) => setTimeout(r, 250));
        }
        for (const s of seen) assert.ok(['retrying', 'creating'].includes(s), `the plugin's state ${s}`);
        const c = await code(B.waiting.id);
        assert.match(await waiting.locator('td.next-step').innerText(), /^(Retry at|Checked again at) .+ \(Europe\/Berlin\)$/);
        assert.equal(await waiting.locator('.last-error').innerText(), `Last error: ${c.last_error}`);
      });

      await step('A Failed code gives advice and the alert e-mail', async () => {
        const failed = await bookingRow(page, B.failed);
        await waitForText(failed.locator('.state'), /^Failed$/);
        assert.equal(await failed.locator('td.next-step').innerText(), 'No more attempts');
        const advice = await failed.locator('.advice').innerText();
        assert.match(advice, /^What to do: this code never reached the lock and is no longer tried\. Give Pia Lund another way in: an offline code from the lock's own app, or a key handover\. Then check that the lock's bridge is powered and online/);
        const mail = (await api('GET', '/outbox')).body.emails.find((m) => m.body.includes(`(booking ${B.failed.id})`));
        const shown = failed.locator('details.alert-mail');
        assert.notEqual(await shown.getAttribute('open'), null, 'the e-mail is shown open on a Failed code');
        assert.match(await shown.locator('summary').innerText(), /^Alert e-mail to the account owner, .+ \(Europe\/Berlin\)$/);
        assert.deepEqual(shownInstant(await shown.locator('summary').innerText()), wallClock(mail.at, 'Europe/Berlin'));
        assert.equal(await shown.locator('.mail-subject').innerText(), `Subject: ${mail.subject}`);
        assert.equal((await shown.locator('.mail-body').innerText()).trim(), mail.body.trim());
      });

      await step('The lock dropdown marks what cannot be used or is used', async (snap) => {
        await page.locator('.card[data-provider="igloohome"]').getByRole('button').click();
        const drawer = page.getByRole('dialog', { name: 'igloohome' });
        await drawer.getByRole('heading', { name: 'Lock assignments' }).waitFor();
        const select = (property) => drawer.locator(`li.assignment[data-property="${property}"] select`);
        const labels = async (property) => Object.fromEntries(await select(property).locator('option[value]:not([value=""])')
          .evaluateAll((os) => os.map((o) => [o.value, { label: o.textContent, disabled: o.disabled }])));
        const harbour = await labels('harbour-view');
        assert.deepEqual(harbour.OE1X000001, { label: 'Front door (used by Riverside Loft, Seaside Loft)', disabled: false });
        assert.deepEqual(harbour.OE1X000002, { label: 'Back door', disabled: false });
        assert.deepEqual(harbour.OE1X000003, { label: 'Garden gate (needs a bridge)', disabled: true });
        // The plugin's own record of the outage (R28: unreachable since a
        // write was refused), else the codes waiting on it.
        const down = '(?:unreachable since [^;()]+\\([^)]+\\)|not answering, \\d+ codes? waiting)';
        assert.match(harbour.OE1X000004.label, new RegExp(`^Cellar door \\(bridge ${down}; used by Forest Cabin\\)$`));
        const forest = await labels('forest-cabin');
        assert.match(forest.OE1X000004.label, new RegExp(`^Cellar door \\(bridge ${down}\\)$`));
        // The assigned lock's marks in full under its dropdown, which a narrow screen cuts short.
        assert.match(await drawer.locator('li.assignment[data-property="forest-cabin"] .lock-note').innerText(),
          new RegExp(`^Cellar door: bridge ${down}\\.$`));
        assert.equal(await drawer.locator('li.assignment[data-property="seaside-loft"] .lock-note').innerText(),
          'Front door: used by Riverside Loft.');
        assert.equal((await labels('seaside-loft')).OE1X000001.label, 'Front door (used by Riverside Loft)');
        await assertNothingOffScreen(page, '#drawer');
        await snap('igloohome lock dropdowns');
        await page.getByRole('button', { name: 'Close panel' }).click();
        await page.getByRole('dialog').waitFor({ state: 'hidden' });
      });

      await step('Connect waits for the credentials', async (snap) => {
        await page.locator('.card[data-provider="nuki"]').getByRole('button').click();
        const drawer = page.getByRole('dialog', { name: 'Nuki' });
        const connect = drawer.getByRole('button', { name: 'Connect Nuki' });
        await connect.waitFor();
        assert.equal(await connect.isDisabled(), true);
        assert.equal(await drawer.locator('.connect-form .help').last().innerText(), 'Enter the API token to connect.');
        await drawer.getByLabel('API token').fill('demo-nuki-token');
        assert.equal(await connect.isDisabled(), false);
        await snap('Nuki token entered');
        await drawer.getByLabel('API token').fill('  ');
        assert.equal(await connect.isDisabled(), true, 'blank is not a token');
        await page.getByRole('button', { name: 'Close panel' }).click();
        await page.getByRole('dialog').waitFor({ state: 'hidden' });
      });

      await step('The preview fills the booking\'s fields', async () => {
        const onLock = await bookingRow(page, B.onLock);
        await onLock.getByRole('button', { name: /^Preview message for/ }).click();
        await page.getByLabel('Message template').fill('Hello {{guest_name}}, welcome to {{property_name}} from {{check_in}} to {{check_out}}. Door code: {{smartlock_code}}.');
        await page.getByRole('button', { name: 'Preview message', exact: true }).click();
        const { pin } = await code(B.onLock.id);
        await waitForText(page.locator('#preview-output'), /Door code/);
        assert.equal(await page.locator('#preview-output').innerText(),
          `Hello Inès Moreau, welcome to Seaside Loft from ${longDate(B.onLock.check_in)} to ${longDate(B.onLock.check_out)}. Door code: ${pin}.`);
        assert.equal(await page.locator('#preview-info').isVisible(), false);
      });

      await step('No code yet is information, not an error', async () => {
        await page.getByLabel('Booking').selectOption(B.scheduled.id);
        await page.getByRole('button', { name: 'Preview message', exact: true }).click();
        await waitForText(page.locator('#preview-output'), /Jonas Berg/);
        assert.match(await page.locator('#preview-output').innerText(), /Door code: \{\{smartlock_code\}\}\.$/);
        const info = await waitForText(page.locator('#preview-info'), /\S/);
        assert.match(info, /^No code yet: this booking's code is not on the lock yet/);
        assert.equal(await page.locator('#preview-info').getAttribute('role'), 'status');
        assert.equal(await page.locator('#preview-error').isVisible(), false, 'no red error');
      });

      await step('Nothing off-screen, every property open', async () => {
        const closed = page.locator('details.property:not([open]) > summary');
        while (await closed.count()) await closed.first().click();
        await assertNothingOffScreen(page, 'body');
        if (width <= 600) {
          // Cards: the stay reads on one line, not one word per line.
          const stay = (await bookingRow(page, B.onLock)).locator('td.stay');
          const lineHeight = parseFloat(await stay.evaluate((td) => getComputedStyle(td).lineHeight)) || 24;
          assert.ok((await stay.boundingBox()).height < lineHeight * 2.2, 'the stay is not squeezed to one word per line');
        }
      });

      if (width === 1280) {
        await step('README screenshot', async () => {
          // Two properties open: codes on the lock, one waiting for its bridge, one failed.
          await page.locator('details.property').evaluateAll((all) => {
            for (const d of all) d.open = ['seaside-loft', 'forest-cabin'].includes(d.dataset.property);
          });
          await page.evaluate(() => window.scrollTo(0, 0));
          await mkdir(dirname(README_SCREENSHOT), { recursive: true });
          await page.screenshot({ path: README_SCREENSHOT, fullPage: true });
          await copyFile(README_SCREENSHOT, join(OUTPUT, 'panel.png'));
        });
      }
      assert.deepEqual(problems, [], 'no script errors in the page');
    } finally {
      await report();
    }
  });
}

// R20 substitution (the same cases as smartlock-host's template tests) and
// the wake-up bookkeeping.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { substitute, variables, WakeUps } from '../src/index.js';

const code = (name) => (name === 'smartlock_code' || name === 'nuki_code' ? '482913' : undefined);

test('r20 substitutes both names with spaces in braces', async () => {
  assert.equal(await substitute('Code {{smartlock_code}}.', code), 'Code 482913.');
  assert.equal(await substitute('Code {{ smartlock_code }} / {{nuki_code}}', code), 'Code 482913 / 482913');
  assert.equal(await substitute('{{  nuki_code  }}', code), '482913');
});

test('r20 unknown variables are left untouched', async () => {
  assert.equal(await substitute('Hi {{guest_name}}, {{ smartlock_code }}', code), 'Hi {{guest_name}}, 482913');
  assert.equal(await substitute('{{ not a var }} {{', code), '{{ not a var }} {{');
  assert.equal(await substitute('{{}} }} {{smartlock_code', code), '{{}} }} {{smartlock_code');
  assert.equal(await substitute('{{ {{smartlock_code}}', code), '{{ 482913');
});

test('r20 no value leaves the variable; async resolvers are awaited in order', async () => {
  assert.equal(await substitute('Code {{smartlock_code}}', () => undefined), 'Code {{smartlock_code}}');
  const asked = [];
  const out = await substitute('{{a}}{{b}}{{a}}', async (n) => (asked.push(n), n.toUpperCase()));
  assert.equal(out, 'ABA');
  assert.deepEqual(asked, ['a', 'b', 'a']);
  assert.deepEqual(await variables('{{a}} {{ b }} {{a}} {{c d}}'), ['a', 'b']);
});

test('wake-ups: a later answer replaces the earlier; due is in time order', () => {
  const w = new WakeUps();
  w.set('a', 100);
  w.set('b', 50);
  w.set('c', 500);
  w.set('a', 40);
  assert.equal(w.next('a'), 40);
  assert.deepEqual(w.earliest(), { at: 40, tenant: 'a' });
  assert.deepEqual(w.due(100), ['a', 'b']);
  w.set('a', null);
  assert.equal(w.next('a'), null);
  assert.deepEqual(w.due(1000), ['b', 'c']);
});

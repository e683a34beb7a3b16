// Where a scenario run sends each brand's origins: the stub world tells
// its own layout (`GET /_admin/layout`), so this host names no brand. Every
// brand of the component has a place there; one the world does not list
// goes to its own origins; a world that cannot tell its layout is refused
// with the command that rebuilds it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { LoadedComponent } from '../src/index.js';
import { stubBase, stubLayout, stubRoutes } from '../src/scenario.js';
import { startStubWorld, stopStubWorlds } from './stub-world.js';

let component, stub;
before(async () => {
  component = await LoadedComponent.load();
  // One vendor only: the layout does not depend on what the world holds.
  const world = { start: '2026-03-01T08:00:00Z', nuki: { accounts: [{ api_token: 't', name: 'Acct' }], locks: [] } };
  ({ stub } = await startStubWorld(world, 'layout'));
});
after(stopStubWorlds);

test("the stub world tells where it serves each of the component's brands, and the run's routes follow it", async () => {
  const layout = await stubLayout(stub.base);
  const routes = await stubRoutes(stub.base, component.brands);
  assert.ok(component.brands.length > 0);
  for (const brand of component.brands) {
    const prefix = layout[brand.id];
    assert.equal(typeof prefix, 'string', `${brand.id} has a place in the world`);
    assert.ok(prefix === '' || prefix.startsWith('/'), `${brand.id}: ${prefix}`);
    assert.equal(await stubBase(stub.base, brand.id), stub.base + prefix);
    for (const origin of brand.origins) {
      assert.equal(routes.resolve(`${origin}/a/b?c=1`), `${stub.base}${prefix}/a/b?c=1`);
    }
  }
  const prefixes = component.brands.map((b) => layout[b.id]);
  assert.equal(new Set(prefixes).size, prefixes.length, 'no two brands share a place');
});

test('a brand the world does not list goes to its own origins', async () => {
  const other = { id: 'not-a-stub-brand', origins: ['https://api.example.com'] };
  assert.equal(await stubBase(stub.base, other.id), null);
  const routes = await stubRoutes(stub.base, [other]);
  assert.equal(routes.resolve('https://api.example.com/x'), 'https://api.example.com/x');
});

test('a world that does not tell its layout is refused, naming the command that rebuilds it', async () => {
  const server = http.createServer((req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error": "no such admin route"}');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    await assert.rejects(stubRoutes(base, component.brands), /GET \/_admin\/layout answered 404.*cargo build -p host-harness/);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

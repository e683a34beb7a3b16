// The allow-list (VendorRoutes, the same cases as smartlock-host's tests)
// and the synchronous HTTP client: statuses as responses, no redirects,
// lower-case header names, no added headers, size cap, timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

import { HttpError, SyncHttpClient, VendorRoutes } from '../src/http.js';

// Brands as a component's `admin.brands` lists them (only what routes read).
const IGLOOHOME = { id: 'igloohome', origins: ['https://auth.igloohome.co', 'https://api.igloodeveloper.co'] };
const NUKI = { id: 'nuki', origins: ['https://api.nuki.io'] };
const BRANDS = [IGLOOHOME, NUKI];

const forbidden = (f) => assert.throws(f, (e) => e instanceof HttpError && e.kind === 'forbidden');

test('routes rewrite vendor origins and refuse others', () => {
  const routes = VendorRoutes.via('http://127.0.0.1:9/', [IGLOOHOME]);
  assert.equal(
    routes.resolve('https://api.igloodeveloper.co/igloohome/devices?page=2'),
    'http://127.0.0.1:9/igloohome/devices?page=2',
  );
  assert.equal(routes.resolve('https://AUTH.igloohome.co:443/oauth2/token'), 'http://127.0.0.1:9/oauth2/token');
  for (const refused of [
    'https://evil.example/oauth2/token',
    'http://api.igloodeveloper.co/igloohome/devices', // wrong scheme
    'https://api.igloodeveloper.co:8443/igloohome/devices', // wrong port
    'https://api.igloodeveloper.co@evil.example/',
    'https://evil.example@api.igloodeveloper.co/',
    'https://@api.igloodeveloper.co/',
    'http://127.0.0.1:9/igloohome/devices', // the stub itself is not a vendor origin
    'ftp://api.igloodeveloper.co/x',
    'https://api.nuki.io/smartlock', // not this tenant's vendor
  ]) {
    forbidden(() => routes.resolve(refused));
  }
  assert.throws(
    () => routes.resolve('not a url'),
    (e) => e instanceof HttpError && e.kind === 'transport',
  );
  forbidden(() => new VendorRoutes().resolve('https://api.igloodeveloper.co/'));
  assert.equal(
    VendorRoutes.fromBrands([IGLOOHOME]).resolve('https://api.igloodeveloper.co/igloohome/x'),
    'https://api.igloodeveloper.co/igloohome/x',
  );
  assert.throws(() => new VendorRoutes().insert('https://a.example/path', 'http://127.0.0.1:1'), /must not have a path/);
});

test('a refused origin is named without its path or query', () => {
  const routes = VendorRoutes.fromBrands([IGLOOHOME]);
  assert.throws(
    () => routes.resolve('https://evil.example/secret?token=abc'),
    (e) => e.kind === 'forbidden' && e.detail === 'host evil.example is not allowed' && !e.message.includes('secret'),
  );
});

test("the brands' origins: each to itself, or each brand to its own base", () => {
  const all = VendorRoutes.fromBrands(BRANDS);
  assert.deepEqual(all.origins(), ['https://auth.igloohome.co', 'https://api.igloodeveloper.co', 'https://api.nuki.io']);
  assert.equal(all.resolve('https://api.nuki.io/smartlock'), 'https://api.nuki.io/smartlock');
  const stub = VendorRoutes.fromBrands(BRANDS, (id) => (id === 'nuki' ? 'http://127.0.0.1:5/nuki/' : null));
  assert.equal(stub.resolve('https://api.nuki.io/smartlock/1/auth'), 'http://127.0.0.1:5/nuki/smartlock/1/auth');
  assert.equal(stub.resolve('https://auth.igloohome.co/oauth2/token'), 'https://auth.igloohome.co/oauth2/token');
  const routes = new VendorRoutes([['https://api.nuki.io', 'http://127.0.0.1:5/nuki/']]);
  assert.equal(routes.resolve('https://api.nuki.io/smartlock/1/auth'), 'http://127.0.0.1:5/nuki/smartlock/1/auth');
});

// A tiny HTTP server in another process (this thread blocks during a
// synchronous request, so the server cannot live on it). It answers by
// path and reports every request it saw on stdout.
async function server() {
  const code = `
    const http = require('node:http');
    let connections = 0;
    const srv = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        process.stdout.write(JSON.stringify({ path: req.url, method: req.method, headers: req.headers, rawHeaders: req.rawHeaders, body, connections }) + '\\n');
        if (req.url === '/status') { res.writeHead(404, { 'X-Thing': 'Yes' }); res.end('no'); }
        else if (req.url === '/redirect') { res.writeHead(302, { Location: 'http://example.com/' }); res.end(); }
        else if (req.url === '/big') { res.writeHead(200, { 'Content-Length': 2048 }); res.end('x'.repeat(2048)); }
        else if (req.url === '/big-chunked') { res.writeHead(200); res.write('x'.repeat(1000)); res.end('y'.repeat(1000)); }
        else if (req.url === '/slow') { /* never answers */ }
        else { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{"ok":true}'); }
      });
    });
    srv.on('connection', () => connections++);
    srv.listen(0, '127.0.0.1', () => process.stdout.write('http://127.0.0.1:' + srv.address().port + '\\n'));
  `;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  let buffer = '';
  let resolveBase;
  const base = new Promise((r) => (resolveBase = r));
  child.stdout.on('data', (d) => {
    buffer += d;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.startsWith('http://')) resolveBase(line);
      else lines.push(JSON.parse(line));
    }
  });
  return { base: await base, lines, stop: () => child.kill(), settle: () => new Promise((r) => setTimeout(r, 100)) };
}

test('the client returns statuses, follows no redirects, caps bodies and adds no headers', async () => {
  const s = await server();
  try {
    const client = new SyncHttpClient({ timeoutMs: 5000, maxResponseBytes: 1024 });
    const req = (path, extra = {}) => ({
      method: 'POST',
      url: s.base + path,
      headers: [['authorization', 'Basic c2VjcmV0']],
      body: new TextEncoder().encode('grant_type=client_credentials'),
      ...extra,
    });
    const notFound = client.send(req('/status'));
    assert.equal(notFound.status, 404);
    assert.equal(new TextDecoder().decode(notFound.body), 'no');
    assert.ok(notFound.headers.some(([k, v]) => k === 'x-thing' && v === 'Yes'));
    assert.ok(notFound.headers.every(([k]) => k === k.toLowerCase()));
    assert.equal(client.send(req('/redirect')).status, 302);
    assert.throws(() => client.send(req('/big')), (e) => e.kind === 'too-large' && e.detail === 1024);
    assert.throws(() => client.send(req('/big-chunked')), (e) => e.kind === 'too-large');
    const ok = client.send({ method: 'GET', url: s.base + '/ok', headers: [], body: new Uint8Array() });
    assert.equal(JSON.parse(new TextDecoder().decode(ok.body)).ok, true);
    await s.settle();
    const first = s.lines.find((l) => l.path === '/status');
    assert.equal(first.method, 'POST');
    assert.equal(first.body, 'grant_type=client_credentials');
    assert.equal(first.headers.authorization, 'Basic c2VjcmV0');
    const sent = first.rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase()).sort();
    assert.deepEqual(sent, ['authorization', 'content-length', 'host']);
    const get = s.lines.find((l) => l.path === '/ok');
    assert.deepEqual(get.rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase()), ['host']);
  } finally {
    s.stop();
  }
});

test('the client times out and gives connection failures as transport errors', async () => {
  const s = await server();
  try {
    const client = new SyncHttpClient({ timeoutMs: 300 });
    const started = Date.now();
    assert.throws(
      () => client.send({ method: 'GET', url: s.base + '/slow', headers: [], body: new Uint8Array() }),
      (e) => e.kind === 'timeout',
    );
    assert.ok(Date.now() - started < 3000);
    // A per-request budget below the client's own ceiling wins.
    const slowClient = new SyncHttpClient({ timeoutMs: 10_000 });
    const t0 = Date.now();
    assert.throws(
      () => slowClient.send({ method: 'GET', url: s.base + '/slow', headers: [], body: new Uint8Array(), timeoutMs: 200 }),
      (e) => e.kind === 'timeout',
    );
    assert.ok(Date.now() - t0 < 3000);
    // The client still works after a timeout.
    assert.equal(client.send({ method: 'GET', url: s.base + '/ok', headers: [], body: new Uint8Array() }).status, 200);
  } finally {
    s.stop();
  }
  const client = new SyncHttpClient({ timeoutMs: 2000 });
  assert.throws(
    () => client.send({ method: 'GET', url: 'http://127.0.0.1:9/x', headers: [], body: new Uint8Array() }),
    (e) => e.kind === 'transport' && /ECONNREFUSED/.test(e.detail),
  );
});

// The HTTP worker of `SyncHttpClient`: performs one request at a time with
// node:http(s), posts the reply on the port, then wakes the blocked caller
// through the shared signal.

import http from 'node:http';
import https from 'node:https';
import { workerData } from 'node:worker_threads';

const { port, signal } = workerData;
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 8 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 8 }),
};

function reply(message) {
  port.postMessage(message);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}

function send(req) {
  let done = false;
  const finish = (message) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    reply({ id: req.id, ...message });
  };
  const fail = (kind, detail) => finish({ error: { kind, detail } });
  let url;
  try {
    url = new URL(req.url);
  } catch (e) {
    fail('transport', `bad URL: ${e.message}`);
    return;
  }
  const lib = url.protocol === 'https:' ? https : http;
  const body = Buffer.from(req.body.buffer ?? req.body, req.body.byteOffset ?? 0, req.body.byteLength);
  const timer = setTimeout(() => {
    fail('timeout');
    outgoing.destroy();
  }, req.timeoutMs);
  const outgoing = lib.request(url, { method: req.method, agent: agents[url.protocol] });
  // Only the plugin's headers, plus Host and Content-Length.
  outgoing.removeHeader('connection');
  for (const [name, value] of req.headers) outgoing.setHeader(name, value);
  if (body.length > 0 || req.method === 'POST' || req.method === 'PUT') {
    outgoing.setHeader('content-length', String(body.length));
  }
  outgoing.on('error', (e) => fail('transport', e.message));
  outgoing.on('response', (res) => {
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > req.maxResponseBytes) {
      fail('too-large', req.maxResponseBytes);
      res.destroy();
      return;
    }
    const chunks = [];
    let size = 0;
    res.on('data', (chunk) => {
      size += chunk.length;
      if (size > req.maxResponseBytes) {
        fail('too-large', req.maxResponseBytes);
        res.destroy();
        return;
      }
      chunks.push(chunk);
    });
    res.on('error', (e) => fail('transport', e.message));
    res.on('aborted', () => fail('transport', 'the connection closed before the whole response'));
    res.on('end', () => {
      if (!res.complete) {
        fail('transport', 'the connection closed before the whole response');
        return;
      }
      const headers = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        headers.push([res.rawHeaders[i].toLowerCase(), res.rawHeaders[i + 1]]);
      }
      const data = Buffer.concat(chunks);
      const copy = new Uint8Array(data.length);
      copy.set(data);
      finish({ status: res.statusCode, headers, body: copy.buffer });
    });
  });
  outgoing.end(body);
}

port.on('message', (req) => {
  try {
    send(req);
  } catch (e) {
    reply({ id: req.id, error: { kind: 'transport', detail: e.message } });
  }
});

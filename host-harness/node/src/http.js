// The `http` import's parts: the allow-list (`VendorRoutes`, the same
// semantics as smartlock-host's) and the transport (`SyncHttpClient`).
//
// The import is synchronous and Node 20 has no JSPI, so the transport runs
// each request on a helper thread and blocks the calling thread on
// `Atomics.wait` until the helper has posted the whole response (read with
// `receiveMessageOnPort`). The calling thread is the host's worker running
// the plugin (see pool.js), never the event loop's: used directly on the
// main thread, `send` blocks it for the whole request. Requests are logged
// by the import with method, origin, path, status and time; never headers,
// query or bodies (the token request carries the client secret).

import { Worker, MessageChannel, receiveMessageOnPort } from 'node:worker_threads';

/** Why no response came back (the WIT `http-error`); a 4xx or 5xx is a response. */
export class HttpError extends Error {
  /**
   * @param {'forbidden'|'timeout'|'too-large'|'transport'} kind
   * @param {string|number} [detail] the reason, or the cap in bytes for `too-large`
   */
  constructor(kind, detail) {
    super(
      kind === 'timeout'
        ? 'timeout'
        : kind === 'too-large'
          ? `response larger than ${detail} bytes`
          : `${kind}: ${detail}`,
    );
    this.name = 'HttpError';
    this.kind = kind;
    this.detail = detail;
  }
  /** The WIT value `{tag, val}`. */
  toWit() {
    if (this.kind === 'timeout') return { tag: 'timeout' };
    if (this.kind === 'too-large') return { tag: 'too-large', val: BigInt(this.detail) };
    return { tag: this.kind, val: String(this.detail) };
  }
}

/**
 * Splits an absolute URL into what the allow-list and the log need:
 * `origin` (`scheme://host[:port]`, default port left out), `host`, `path`
 * and `pathAndQuery`. Throws `HttpError` forbidden (scheme, credentials) or
 * transport (not a URL).
 */
export function parseTarget(url) {
  const text = String(url);
  const schemeEnd = text.indexOf('://');
  let parsed;
  try {
    parsed = new URL(text);
  } catch (e) {
    throw new HttpError('transport', `bad URL: ${e.message}`);
  }
  if (schemeEnd < 0) throw new HttpError('transport', 'bad URL: not absolute');
  const scheme = parsed.protocol.replace(/:$/, '').toLowerCase();
  const host = parsed.hostname.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') {
    throw new HttpError('forbidden', `scheme ${JSON.stringify(scheme)} is not allowed`);
  }
  const rest = text.slice(schemeEnd + 3);
  const authority = rest.slice(0, rest.search(/[/?#]|$/));
  if (authority.includes('@') || parsed.username || parsed.password) {
    throw new HttpError('forbidden', `credentials in the URL of host ${host} are not allowed`);
  }
  // `URL` drops a default port, so `port` is set only for another one.
  const origin = parsed.port ? `${scheme}://${host}:${parsed.port}` : `${scheme}://${host}`;
  const path = parsed.pathname || '/';
  return { origin, host, path, pathAndQuery: path + parsed.search };
}

/**
 * The vendor origins a tenant may reach and where each one is sent: the
 * HTTP allow-list. Empty allows nothing; any other origin is `forbidden`
 * before a connection is made.
 */
export class VendorRoutes {
  /** @param {Iterable<[string, string]>} [routes] `[origin, base]` pairs */
  constructor(routes = []) {
    /** @type {[string, string][]} */
    this.routes = [];
    /** Changes with every `insert` (the host sends the routes to its workers again). */
    this.version = 0;
    for (const [origin, base] of routes) this.insert(origin, base);
  }

  /**
   * Every origin of `brands` (as `admin.brands` lists them, see
   * `LoadedComponent.brands`), each sent to `baseOf(brand id)`, or to itself
   * when that gives nothing: with no `baseOf`, the default allow-list
   * (production). smartlock-host's `VendorRoutes::from_brands`.
   * @param {readonly {id: string, origins: readonly string[]}[]} brands
   * @param {(id: string) => string | null | undefined} [baseOf]
   */
  static fromBrands(brands, baseOf = () => null) {
    const routes = new VendorRoutes();
    for (const brand of brands) routes.routeBrand(brand, baseOf(brand.id) ?? null);
    return routes;
  }

  /** Every origin of `brands`, all sent to `base` (one stub or proxy serving every brand's paths). */
  static via(base, brands) {
    return VendorRoutes.fromBrands(brands, () => base);
  }

  /**
   * Allows every origin of `brand`, sent to `base` (a proxy, a stub; the
   * brand's paths follow it) or to itself (`null`). Returns `this`.
   */
  routeBrand(brand, base = null) {
    for (const origin of brand.origins) this.insert(origin, base ?? origin);
    return this;
  }

  /**
   * Allows `origin` (`scheme://host[:port]`, no path) and sends its
   * requests to `base` (`scheme://host[:port][/path-prefix]`), replacing
   * any earlier route of that origin. Returns `this`.
   */
  insert(origin, base) {
    let o, b;
    try {
      o = parseTarget(origin);
      b = parseTarget(base);
    } catch (e) {
      throw new Error(`vendor route ${origin} -> ${base}: ${e.message}`);
    }
    if (o.pathAndQuery !== '/') throw new Error(`vendor origin ${JSON.stringify(origin)} must not have a path`);
    if (b.pathAndQuery.includes('?')) throw new Error(`route base ${JSON.stringify(base)} must not have a query`);
    const target = b.origin + b.path.replace(/\/+$/, '');
    this.routes = this.routes.filter(([existing]) => existing !== o.origin);
    this.routes.push([o.origin, target]);
    this.version += 1;
    return this;
  }

  /** The allowed origins. */
  origins() {
    return this.routes.map(([origin]) => origin);
  }

  /** The URL to send `url` to; throws `HttpError` forbidden when its origin is not allowed. */
  resolve(url) {
    return this.route(parseTarget(url));
  }

  /** @param {ReturnType<typeof parseTarget>} target */
  route(target) {
    const found = this.routes.find(([origin]) => origin === target.origin);
    if (!found) throw new HttpError('forbidden', `host ${target.host} is not allowed`);
    return found[1] + target.pathAndQuery;
  }
}

/** Settings of the real HTTP client (smartlock-host's `UreqConfig` defaults). */
export const DEFAULT_HTTP_CONFIG = { timeoutMs: 10_000, maxResponseBytes: 1024 * 1024 };

// One helper thread per calling thread (each pool worker has its own) does
// the network I/O; a thread's requests take turns, which is what a
// synchronous import implies anyway.
let shared = null;

function worker() {
  if (shared) return shared;
  const { port1, port2 } = new MessageChannel();
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const w = new Worker(new URL('./http-worker.js', import.meta.url), {
    workerData: { port: port2, signal },
    transferList: [port2],
  });
  w.unref();
  port1.unref();
  w.on('error', (e) => {
    process.emitWarning(`smartlock http worker failed: ${e.message}`);
    shared = null;
  });
  shared = { worker: w, port: port1, signal, next: 1 };
  return shared;
}

/**
 * The real HTTP client, synchronous: no proxy, no redirects followed, 4xx
 * and 5xx returned as responses, header names lower-cased, only `Host` and
 * `Content-Length` added, a timeout per exchange and a cap on the body.
 */
export class SyncHttpClient {
  /** @param {{timeoutMs?: number, maxResponseBytes?: number}} [config] */
  constructor(config = {}) {
    this.config = { ...DEFAULT_HTTP_CONFIG, ...config };
  }

  /**
   * Sends one request and waits for the whole response.
   * @param {{method: string, url: string, headers: [string, string][], body: Uint8Array, timeoutMs?: number}} request
   *   `method` upper-case; `url` the routed URL
   * @returns {{status: number, headers: [string, string][], body: Uint8Array}}
   * @throws {HttpError} timeout, too-large or transport
   */
  send(request) {
    const timeoutMs = Math.max(1, Math.min(request.timeoutMs ?? Infinity, this.config.timeoutMs));
    const w = worker();
    const id = w.next++;
    Atomics.store(w.signal, 0, 0);
    w.port.postMessage({
      id,
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: request.body,
      timeoutMs,
      maxResponseBytes: this.config.maxResponseBytes,
    });
    // The worker's own timer answers `timeout`; this margin only guards
    // against a worker that died.
    const deadline = Date.now() + timeoutMs + 5000;
    for (;;) {
      let message;
      while ((message = receiveMessageOnPort(w.port))) {
        const reply = message.message;
        if (reply.id !== id) continue; // a late answer to an abandoned request
        if (reply.error) throw new HttpError(reply.error.kind, reply.error.detail);
        return { status: reply.status, headers: reply.headers, body: new Uint8Array(reply.body) };
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new HttpError('timeout');
      // The worker posts, then sets the signal: a reply posted after the
      // drain above makes this return at once.
      Atomics.wait(w.signal, 0, 0, left);
      Atomics.store(w.signal, 0, 0);
    }
  }
}

// The `storage` import's backend and the e-mail outbox, on SQLite through
// better-sqlite3 — the same schema and limits as smartlock-host's
// `SqliteDb`, so one contract whatever the host:
//
// - `kv (tenant, key, value)`, primary key `(tenant, key)`, WITHOUT ROWID;
//   keys are TEXT with the binary collation, so SQLite orders them by their
//   UTF-8 bytes and a prefix listing is a range scan of the primary key
//   (its cost follows `limit`, not the table).
// - `outbox (id, tenant, dedup_key, at, subject, body)`, unique
//   `(tenant, dedup_key)`: at most one e-mail per key and tenant, ever.
// - `events (seq, tenant, event_id, at, body)`, unique `(tenant,
//   event_id)`: the code events (R27) the plugin reported, at most one per
//   id and tenant (it reports at least once); `seq` is a feed's cursor.
// - WAL with `synchronous = FULL`: a committed write survives a crash, which
//   the plugin's "write before the vendor call" rule relies on.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BroadcastChannel, threadId } from 'node:worker_threads';

import Database from 'better-sqlite3';

/** Longest key (and prefix, and `start-after`) accepted, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 512;
/** Largest value accepted, in bytes. */
export const MAX_VALUE_BYTES = 256 * 1024;
/** Largest `limit` accepted by `list`. */
export const MAX_LIST_LIMIT = 1000;

/** Why a storage operation did not happen (the WIT `storage-error`). */
export class StorageError extends Error {
  /** @param {'unavailable'|'too-large'} kind @param {string} detail */
  constructor(kind, detail, options) {
    super(kind === 'unavailable' ? `storage unavailable: ${detail}` : `too large: ${detail}`, options);
    this.name = 'StorageError';
    this.kind = kind;
    this.detail = detail;
  }
  /** The WIT value `{tag, val}`. */
  toWit() {
    return { tag: this.kind, val: this.detail };
  }
}

const utf8Length = (s) => Buffer.byteLength(s, 'utf8');

function checkKey(what, key) {
  if (typeof key !== 'string') throw new StorageError('too-large', `${what} is not a string`);
  const n = utf8Length(key);
  if (n > MAX_KEY_BYTES) throw new StorageError('too-large', `${what} of ${n} bytes exceeds ${MAX_KEY_BYTES} bytes`);
}

function checkWrites(writes) {
  for (const w of writes) {
    if (w.tag === 'set') {
      checkKey('key', w.val.key);
      if (w.val.value.length > MAX_VALUE_BYTES) {
        throw new StorageError(
          'too-large',
          `value of ${w.val.value.length} bytes for key ${JSON.stringify(w.val.key)} exceeds ${MAX_VALUE_BYTES} bytes`,
        );
      }
    } else if (w.tag === 'delete') {
      checkKey('key', w.val);
    } else {
      throw new StorageError('unavailable', `unknown write ${JSON.stringify(w?.tag)}`);
    }
  }
}

function checkList(prefix, startAfter, limit) {
  checkKey('prefix', prefix);
  if (startAfter !== undefined && startAfter !== null) checkKey('start-after', startAfter);
  if (limit > MAX_LIST_LIMIT) throw new StorageError('too-large', `list limit ${limit} exceeds ${MAX_LIST_LIMIT}`);
}

/**
 * The least string greater than every string that starts with `prefix`, or
 * `null` when there is none (empty prefix, or only U+10FFFF). UTF-8 byte
 * order is code point order, so incrementing the last code point that can
 * be incremented gives the bound (skipping the surrogate range).
 */
export function prefixUpperBound(prefix) {
  const points = Array.from(prefix, (c) => c.codePointAt(0));
  while (points.length > 0) {
    const last = points.pop();
    if (last === 0x10ffff) continue;
    points.push(last === 0xd7ff ? 0xe000 : last + 1);
    return String.fromCodePoint(...points);
  }
  return null;
}

/** Compares two strings by their UTF-8 bytes (= code point order). */
export function compareKeys(a, b) {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// The one copy of the schema: smartlock-host's `src/imports/schema.sql`
// (`schema.sql` here is a link to it), so the three hosts cannot drift.
const SCHEMA = readFileSync(new URL('./schema.sql', import.meta.url), 'utf8');

const asBuffer = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function unavailable(e) {
  return e instanceof StorageError ? e : new StorageError('unavailable', e?.message ?? String(e), { cause: e });
}

/**
 * Where a closed `SqliteDb` is announced: the pool's workers open their
 * own connection to a file a tenant's storage is in (see backends.js) and
 * close it when the `SqliteDb` it stands for is closed.
 */
export const CLOSED_CHANNEL = 'smartlock-node-sqlite-closed';
let closedChannel = null;
let opened = 0;

/**
 * One SQLite file holding every tenant's namespace and outbox. Open it once
 * per process and hand out `db.tenant(id)` namespaces and `db.outbox(id)`
 * outboxes. `":memory:"` gives a database that lives as long as the object.
 *
 * The host's workers reach a file's tenants through connections of their
 * own (WAL lets them and this one read and write the file together); a
 * `":memory:"` database exists only in this connection, so its tenants are
 * served from this thread.
 */
export class SqliteDb {
  /** @param {string} path a file (created if missing) or `":memory:"` */
  constructor(path) {
    this.path = path;
    /** This database object, across threads: its workers' connections close with it. */
    this.id = `${threadId}:${++opened}`;
    /** The file as the workers open it; `null` for `":memory:"`. */
    this.file = path === ':memory:' || path === '' ? null : resolve(path);
    try {
      this.db = new Database(path);
      this.db.pragma('busy_timeout = 5000');
      // The schema first: it sets a new file's page size, which WAL mode
      // would fix at the default.
      this.db.exec(SCHEMA);
      if (path !== ':memory:') this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      const db = this.db;
      this.stmt = {
        get: db.prepare('SELECT value FROM kv WHERE tenant = ? AND key = ?').pluck(),
        set: db.prepare(
          'INSERT INTO kv (tenant, key, value) VALUES (?, ?, ?) ON CONFLICT (tenant, key) DO UPDATE SET value = excluded.value',
        ),
        del: db.prepare('DELETE FROM kv WHERE tenant = ? AND key = ?'),
        listFromUpTo: db.prepare(
          'SELECT key, value FROM kv WHERE tenant = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?',
        ),
        listAfterUpTo: db.prepare(
          'SELECT key, value FROM kv WHERE tenant = ? AND key > ? AND key < ? ORDER BY key LIMIT ?',
        ),
        listFrom: db.prepare('SELECT key, value FROM kv WHERE tenant = ? AND key >= ? ORDER BY key LIMIT ?'),
        listAfter: db.prepare('SELECT key, value FROM kv WHERE tenant = ? AND key > ? ORDER BY key LIMIT ?'),
        recordEmail: db.prepare(
          `INSERT INTO outbox (tenant, dedup_key, at, subject, body) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (tenant, dedup_key) DO NOTHING`,
        ),
        emails: db.prepare('SELECT at, dedup_key, subject, body FROM outbox WHERE tenant = ? ORDER BY id'),
        recordEvent: db.prepare(
          `INSERT INTO events (tenant, event_id, at, body) VALUES (?, ?, ?, ?)
           ON CONFLICT (tenant, event_id) DO NOTHING`,
        ),
        eventsAfter: db.prepare(
          'SELECT seq, event_id, at, body FROM events WHERE tenant = ? AND seq > ? ORDER BY seq LIMIT ?',
        ),
      };
      this.applyTx = db.transaction((tenant, writes) => {
        for (const w of writes) {
          if (w.tag === 'set') this.stmt.set.run(tenant, w.val.key, asBuffer(w.val.value));
          else this.stmt.del.run(tenant, w.val);
        }
      });
    } catch (e) {
      throw unavailable(e);
    }
  }

  /** Tenant `id`'s key-value namespace (the `storage` import's backend). */
  tenant(id) {
    return new SqliteStore(this, id);
  }

  /** Tenant `id`'s e-mail outbox (the `email` import's backend). */
  outbox(id) {
    return new SqliteOutbox(this, id);
  }

  /** Tenant `id`'s code events (the `code-events` import's backend). */
  events(id) {
    return new SqliteEvents(this, id);
  }

  close() {
    this.db.close();
    if (this.file !== null) {
      if (!closedChannel) {
        closedChannel = new BroadcastChannel(CLOSED_CHANNEL);
        closedChannel.unref();
      }
      closedChannel.postMessage(this.id);
    }
  }
}

/**
 * One tenant's namespace in a `SqliteDb`. Any object with the same methods
 * (`get`, `apply`, `list`; `set` and `delete` are batches of one) can stand
 * in for it: refuse oversized input with `StorageError('too-large')`, report
 * failures as `StorageError('unavailable')` without partial effects, and
 * make a write durable before returning.
 */
export class SqliteStore {
  constructor(db, tenant) {
    this.db = db;
    this.tenantId = tenant;
  }

  /** @returns {Uint8Array | undefined} */
  get(key) {
    checkKey('key', key);
    try {
      const v = this.db.stmt.get.get(this.tenantId, key);
      return v === undefined ? undefined : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    } catch (e) {
      throw unavailable(e);
    }
  }

  /** Applies `[{tag: 'set', val: {key, value}} | {tag: 'delete', val: key}]` atomically, in order. */
  apply(writes) {
    checkWrites(writes);
    try {
      this.db.applyTx.immediate(this.tenantId, writes);
    } catch (e) {
      throw unavailable(e);
    }
  }

  set(key, value) {
    this.apply([{ tag: 'set', val: { key, value } }]);
  }

  delete(key) {
    this.apply([{ tag: 'delete', val: key }]);
  }

  /**
   * Entries whose key starts with `prefix`, ascending by key bytes, strictly
   * after `startAfter` when given, at most `limit`.
   * @returns {{key: string, value: Uint8Array}[]}
   */
  list(prefix, startAfter, limit) {
    checkList(prefix, startAfter, limit);
    if (limit === 0) return [];
    // Start at the prefix, or just after `startAfter` when that is further on.
    const after = startAfter !== undefined && startAfter !== null && compareKeys(startAfter, prefix) >= 0;
    const lower = after ? startAfter : prefix;
    const upper = prefixUpperBound(prefix);
    const s = this.db.stmt;
    try {
      const rows =
        upper === null
          ? (after ? s.listAfter : s.listFrom).all(this.tenantId, lower, limit)
          : (after ? s.listAfterUpTo : s.listFromUpTo).all(this.tenantId, lower, upper, limit);
      return rows.map((r) => ({ key: r.key, value: new Uint8Array(r.value.buffer, r.value.byteOffset, r.value.byteLength) }));
    } catch (e) {
      throw unavailable(e);
    }
  }
}

/** One tenant's outbox in a `SqliteDb`: at most one e-mail per dedup key, ever. */
export class SqliteOutbox {
  constructor(db, tenant) {
    this.db = db;
    this.tenantId = tenant;
  }

  /**
   * Records an e-mail unless one with the same key was ever recorded for
   * this tenant. @returns {boolean} false: a duplicate, dropped
   */
  record(dedupKey, at, subject, body) {
    try {
      return this.db.stmt.recordEmail.run(this.tenantId, dedupKey, at, subject, body).changes === 1;
    } catch (e) {
      throw unavailable(e);
    }
  }

  /** The outbox in recording order: `{at, dedupKey, subject, body}`. */
  emails() {
    try {
      return this.db.stmt.emails
        .all(this.tenantId)
        .map((r) => ({ at: r.at, dedupKey: r.dedup_key, subject: r.subject, body: r.body }));
    } catch (e) {
      throw unavailable(e);
    }
  }
}

/**
 * One tenant's code events in a `SqliteDb` (the `events` table
 * smartlock-host's `KvStore::record_event` writes): at most one per id.
 * Any object with `record` (and `after` to read them back) can stand in
 * for it, e.g. `MemoryEvents`.
 */
export class SqliteEvents {
  constructor(db, tenant) {
    this.db = db;
    this.tenantId = tenant;
  }

  /**
   * Records an event unless one with the same id was recorded for this
   * tenant; durable before it returns. @returns {boolean} false: a duplicate, dropped
   */
  record(id, at, json) {
    try {
      return this.db.stmt.recordEvent.run(this.tenantId, id, at, json).changes === 1;
    } catch (e) {
      throw unavailable(e);
    }
  }

  /**
   * Recorded events after the cursor `after` (0: from the first), in the
   * order they were recorded, at most `limit`: `{seq, id, at, json}`, each
   * `seq` the cursor that follows it.
   */
  after(after = 0, limit = 500) {
    try {
      return this.db.stmt.eventsAfter
        .all(this.tenantId, after, limit)
        .map((r) => ({ seq: r.seq, id: r.event_id, at: r.at, json: r.body }));
    } catch (e) {
      throw unavailable(e);
    }
  }
}

/** One tenant's code events in memory (for tests and a PMS's memory backend): the same contract as `SqliteEvents`. */
export class MemoryEvents {
  constructor() {
    /** @type {{seq: number, id: string, at: number, json: string}[]} */
    this.events = [];
    this.ids = new Set();
  }

  record(id, at, json) {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    this.events.push({ seq: this.events.length + 1, id, at, json });
    return true;
  }

  after(after = 0, limit = 500) {
    return this.events.filter((e) => e.seq > after).slice(0, limit);
  }
}

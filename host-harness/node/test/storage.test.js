// The storage backend: byte-ordered prefix listing with start-after and
// limit, size limits, atomic batches, tenant namespaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  MAX_KEY_BYTES,
  MAX_LIST_LIMIT,
  MAX_VALUE_BYTES,
  SqliteDb,
  StorageError,
  compareKeys,
  prefixUpperBound,
} from '../src/storage.js';

const bytes = (s) => new TextEncoder().encode(s);
const text = (b) => new TextDecoder().decode(b);
const keys = (entries) => entries.map((e) => e.key);

function fresh() {
  return new SqliteDb(':memory:').tenant('t1');
}

test('get, set, delete and absent keys', () => {
  const s = fresh();
  assert.equal(s.get('a'), undefined);
  s.set('a', bytes('1'));
  assert.equal(text(s.get('a')), '1');
  s.set('a', bytes('2'));
  assert.equal(text(s.get('a')), '2');
  s.delete('a');
  s.delete('a'); // absent is fine
  assert.equal(s.get('a'), undefined);
  s.set('empty', new Uint8Array());
  assert.deepEqual([...s.get('empty')], []);
});

test('list is in UTF-8 byte order, not UTF-16 order', () => {
  const s = fresh();
  // UTF-16 puts U+10000 (a surrogate pair) before U+FFFF; UTF-8 after it.
  const all = ['k/a', 'k/b', 'k/z', 'k/é', 'k/\uFFFF', 'k/\u{10000}', 'k/\u{1F600}', 'k/A', 'k/0'];
  for (const k of all) s.set(k, bytes(k));
  const listed = keys(s.list('k/', undefined, 100));
  assert.deepEqual(listed, [...all].sort(compareKeys));
  assert.deepEqual(listed, ['k/0', 'k/A', 'k/a', 'k/b', 'k/z', 'k/é', 'k/\uFFFF', 'k/\u{10000}', 'k/\u{1F600}']);
});

test('list by prefix with start-after and limit', () => {
  const s = fresh();
  for (const k of ['due/0001/a', 'due/0002/b', 'due/0003/c', 'due/0004/d', 'dua', 'duf', 'booking/x']) {
    s.set(k, bytes(k));
  }
  assert.deepEqual(keys(s.list('due/', undefined, 10)), ['due/0001/a', 'due/0002/b', 'due/0003/c', 'due/0004/d']);
  assert.deepEqual(keys(s.list('due/', undefined, 2)), ['due/0001/a', 'due/0002/b']);
  assert.deepEqual(keys(s.list('due/', 'due/0002/b', 2)), ['due/0003/c', 'due/0004/d']);
  assert.deepEqual(keys(s.list('due/', 'due/0002', 10)), ['due/0002/b', 'due/0003/c', 'due/0004/d']);
  // start-after before the prefix: from the prefix on; after it: nothing.
  assert.deepEqual(keys(s.list('due/', 'a', 1)), ['due/0001/a']);
  assert.deepEqual(keys(s.list('due/', 'zzz', 10)), []);
  assert.deepEqual(s.list('due/', undefined, 0), []);
  // the empty prefix lists everything
  assert.equal(s.list('', undefined, 100).length, 7);
  assert.deepEqual(keys(s.list('', 'due/0004/d', 100)), ['duf']);
  // values come back
  assert.equal(text(s.list('booking/', undefined, 1)[0].value), 'booking/x');
});

test('prefix upper bounds step over the surrogate range and the last code point', () => {
  assert.equal(prefixUpperBound('due/'), 'due0');
  assert.equal(prefixUpperBound(''), null);
  assert.equal(prefixUpperBound('a\uD7FF'), 'a\uE000');
  assert.equal(prefixUpperBound('a\u{10FFFF}'), 'b');
  assert.equal(prefixUpperBound('\u{10FFFF}'), null);
  const s = fresh();
  s.set('a\u{10FFFF}x', bytes('1'));
  s.set('b', bytes('2'));
  assert.deepEqual(keys(s.list('a\u{10FFFF}', undefined, 10)), ['a\u{10FFFF}x']);
});

test('size limits are too-large errors and change nothing', () => {
  const s = fresh();
  const long = 'k'.repeat(MAX_KEY_BYTES + 1);
  const tooLarge = (f) => assert.throws(f, (e) => e instanceof StorageError && e.kind === 'too-large');
  tooLarge(() => s.get(long));
  tooLarge(() => s.set(long, bytes('x')));
  tooLarge(() => s.set('k', new Uint8Array(MAX_VALUE_BYTES + 1)));
  tooLarge(() => s.list(long, undefined, 1));
  tooLarge(() => s.list('', long, 1));
  tooLarge(() => s.list('', undefined, MAX_LIST_LIMIT + 1));
  // multi-byte characters count in bytes
  tooLarge(() => s.get('é'.repeat(MAX_KEY_BYTES / 2 + 1)));
  s.get('é'.repeat(MAX_KEY_BYTES / 2));
  s.set('k', new Uint8Array(MAX_VALUE_BYTES));
  tooLarge(() =>
    s.apply([
      { tag: 'set', val: { key: 'first', value: bytes('1') } },
      { tag: 'set', val: { key: 'second', value: new Uint8Array(MAX_VALUE_BYTES + 1) } },
    ]),
  );
  assert.equal(s.get('first'), undefined, 'a refused batch writes nothing');
});

test('apply is atomic and in order', () => {
  const s = fresh();
  s.set('gone', bytes('x'));
  s.apply([
    { tag: 'set', val: { key: 'a', value: bytes('1') } },
    { tag: 'set', val: { key: 'a', value: bytes('2') } },
    { tag: 'delete', val: 'gone' },
    { tag: 'set', val: { key: 'b', value: bytes('3') } },
    { tag: 'delete', val: 'b' },
  ]);
  assert.equal(text(s.get('a')), '2');
  assert.equal(s.get('gone'), undefined);
  assert.equal(s.get('b'), undefined);
  // A failure in the middle of the batch (the backend refuses a value) rolls back the first write.
  assert.throws(
    () =>
      s.apply([
        { tag: 'set', val: { key: 'c', value: bytes('1') } },
        { tag: 'set', val: { key: 'd', value: { length: 1, buffer: 42 } } },
      ]),
    (e) => e instanceof StorageError && e.kind === 'unavailable',
  );
  assert.equal(s.get('c'), undefined);
});

test('tenants are separate namespaces; a file keeps its data', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smartlock-node-test-'));
  try {
    const path = join(dir, 'store.sqlite');
    let db = new SqliteDb(path);
    db.tenant('a').set('k', bytes('A'));
    db.tenant('b').set('k', bytes('B'));
    db.tenant('b').set('k2', bytes('B2'));
    assert.equal(text(db.tenant('a').get('k')), 'A');
    assert.deepEqual(keys(db.tenant('a').list('', undefined, 10)), ['k']);
    db.close();
    db = new SqliteDb(path);
    assert.equal(text(db.tenant('b').get('k2')), 'B2');
    assert.equal(db.db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('listing reads an index range, not the table', () => {
  const db = new SqliteDb(':memory:');
  const plan = db.db
    .prepare('EXPLAIN QUERY PLAN SELECT key, value FROM kv WHERE tenant = ? AND key > ? AND key < ? ORDER BY key LIMIT ?')
    .all('t', 'a', 'b', 10)
    .map((r) => r.detail)
    .join(' ');
  assert.match(plan, /SEARCH kv USING PRIMARY KEY \(tenant=\? AND key>\? AND key<\?\)/);
});

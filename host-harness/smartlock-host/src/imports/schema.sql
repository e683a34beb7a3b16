-- The SQLite schema of a host's storage: every tenant's key-value namespace
-- (the `storage` import) and e-mail outbox (the `email` import) in one file.
-- The one copy: smartlock-host's `SqliteDb` includes it (`include_str!`), and
-- the Python host ships it (host-harness/python/smartlock_host/schema.sql is
-- a link to this file), and so does the Node host (host-harness/node/src/schema.sql).
--
-- Pages of 16 KiB, set before anything else touches a new file (each host
-- runs this file before switching the file to WAL): a value of up to about
-- 4 KB (a booking record is 1 to 2 KB) then stays in its b-tree cell. With
-- SQLite's default 4 KiB pages a record spilled onto an overflow page, and
-- as `kv` is WITHOUT ROWID, a lookup read the spilled part of each entry it
-- compared on its way down: about ten reads from the file for one `get`.
-- A file created before keeps its page size (SQLite ignores this then).
PRAGMA page_size = 16384;

-- Keys are TEXT with the default binary collation: SQLite orders them by
-- their UTF-8 bytes, so a prefix listing is a range scan of the
-- (tenant, key) primary key and costs what it returns.
CREATE TABLE IF NOT EXISTS kv (
    tenant TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  BLOB NOT NULL,
    PRIMARY KEY (tenant, key)
) WITHOUT ROWID;
-- At most one e-mail per dedup key and tenant, ever; `id` is the order of recording.
CREATE TABLE IF NOT EXISTS outbox (
    id        INTEGER PRIMARY KEY,
    tenant    TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    at        INTEGER NOT NULL,
    subject   TEXT NOT NULL,
    body      TEXT NOT NULL,
    UNIQUE (tenant, dedup_key)
);
-- Code events (R27) as the plugin reported them: at most one per id and
-- tenant; `seq` is the order of recording and a feed's cursor.
CREATE TABLE IF NOT EXISTS events (
    seq      INTEGER PRIMARY KEY,
    tenant   TEXT NOT NULL,
    event_id TEXT NOT NULL,
    at       INTEGER NOT NULL,
    body     TEXT NOT NULL,
    UNIQUE (tenant, event_id)
);
CREATE INDEX IF NOT EXISTS events_feed ON events (tenant, seq);

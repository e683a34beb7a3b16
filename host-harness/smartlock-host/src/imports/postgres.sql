-- The PostgreSQL schema of smartlock-host's storage (`PgDb`): the same
-- key-value namespaces and e-mail outbox as the SQLite file (schema.sql),
-- plus what several host processes on one database share: each tenant's
-- next wake-up and backstop (claimed with SKIP LOCKED), and who holds each
-- tenant's turn (the turn itself is a session advisory lock).
--
-- Keys are TEXT COLLATE "C": PostgreSQL orders them by their bytes, as
-- SQLite does, so a prefix listing is a range scan of the primary key and
-- costs what it returns. A NUL cannot be stored in TEXT: keys are stored
-- with an order-preserving escape (NUL -> 0x01 0x01, 0x01 -> 0x01 0x02).
--
-- Run by `PgDb::open` under a transaction-level advisory lock, so processes
-- starting together do not race on CREATE ... IF NOT EXISTS.
CREATE TABLE IF NOT EXISTS smartlock_kv (
    tenant TEXT COLLATE "C" NOT NULL,
    key    TEXT COLLATE "C" NOT NULL,
    value  BYTEA NOT NULL,
    PRIMARY KEY (tenant, key)
);
-- At most one e-mail per dedup key and tenant, ever; `id` is the order of recording.
CREATE TABLE IF NOT EXISTS smartlock_outbox (
    id        BIGSERIAL PRIMARY KEY,
    tenant    TEXT COLLATE "C" NOT NULL,
    dedup_key TEXT COLLATE "C" NOT NULL,
    at        BIGINT NOT NULL,
    subject   TEXT NOT NULL,
    body      TEXT NOT NULL,
    UNIQUE (tenant, dedup_key)
);
-- Code events (R27): at most one per id and tenant; `seq` orders the feed.
CREATE TABLE IF NOT EXISTS smartlock_events (
    seq      BIGSERIAL PRIMARY KEY,
    tenant   TEXT COLLATE "C" NOT NULL,
    event_id TEXT COLLATE "C" NOT NULL,
    at       BIGINT NOT NULL,
    body     TEXT NOT NULL,
    UNIQUE (tenant, event_id)
);
CREATE INDEX IF NOT EXISTS smartlock_events_feed ON smartlock_events (tenant, seq);
-- A tenant's next wake-up (the plugin's `scheduler.wake-at`, NULL: none)
-- and its next regular tick (the backstop); instants in the host clock's
-- seconds. A process claims what is due by moving it on (a lease).
CREATE TABLE IF NOT EXISTS smartlock_schedule (
    tenant      TEXT COLLATE "C" PRIMARY KEY,
    wake_at     BIGINT,
    backstop_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS smartlock_schedule_due ON smartlock_schedule (LEAST(wake_at, backstop_at));
-- Who holds a turn (NULL: released cleanly). A holder that is still named
-- when the next one takes the turn ended without releasing it (killed, or
-- cut off from the database) and may still have one vendor request in flight.
CREATE TABLE IF NOT EXISTS smartlock_turns (
    name   TEXT COLLATE "C" PRIMARY KEY,
    holder TEXT,
    since  TIMESTAMPTZ NOT NULL DEFAULT now()
);

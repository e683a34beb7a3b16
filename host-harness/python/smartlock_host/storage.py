"""The ``storage`` import's backends, the e-mail outbox and the code events.

:class:`KvStore` is what the imports need from a tenant's namespace;
:class:`MemoryStore` (in memory) and :class:`SqliteStore` (one SQLite file
for every tenant, see :class:`SqliteDb`) implement it with the limits of
smartlock-host (:data:`MAX_KEY_BYTES`, :data:`MAX_VALUE_BYTES`,
:data:`MAX_LIST_LIMIT`), so the plugin sees one contract whatever the host.

The SQLite schema is smartlock-host's own file (``schema.sql``, shipped in
this package): ``kv (tenant, key, value)`` with the primary key
``(tenant, key)``, ``outbox`` unique on ``(tenant, dedup_key)`` and
``events`` unique on ``(tenant, event_id)`` (``seq``: the order of
recording, a feed's cursor). Keys are
TEXT with the binary collation, so rows are ordered by their UTF-8 bytes
(which is code point order, Python's ``str`` order) and a prefix listing is
a range scan of the primary key: it costs what it returns.
"""

from __future__ import annotations

import bisect
import os
import sqlite3
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import List, Optional, Protocol, Sequence, Tuple, Union

from .errors import StorageError

#: Longest key (and prefix, and ``start-after``) accepted, in UTF-8 bytes.
MAX_KEY_BYTES = 512
#: Largest value accepted, in bytes.
MAX_VALUE_BYTES = 256 * 1024
#: Largest ``limit`` accepted by ``list``.
MAX_LIST_LIMIT = 1000


def schema() -> str:
    """The SQL that creates the tables (smartlock-host's ``schema.sql``)."""
    return resources.files("smartlock_host").joinpath("schema.sql").read_text(encoding="utf-8")


@dataclass(frozen=True)
class WriteSet:
    """One write of a batch: stores ``value`` under ``key``."""

    key: str
    value: bytes


@dataclass(frozen=True)
class WriteDelete:
    """One write of a batch: removes ``key`` (absent is fine)."""

    key: str


Write = Union[WriteSet, WriteDelete]


@dataclass(frozen=True)
class Email:
    """An e-mail to the tenant's owner, as recorded in the outbox."""

    #: When it was queued (the tenant clock's seconds).
    at: int
    #: The plugin's name for the e-mail's purpose; unique per tenant.
    dedup_key: str
    subject: str
    body: str


@dataclass(frozen=True)
class StoredEvent:
    """A code event as recorded (the ``code-events`` import)."""

    #: The order of recording: the cursor that follows this event.
    seq: int
    #: The plugin's id of the event, unique per tenant.
    id: str
    at: int
    #: The event as smartlock-host records it (``contract.code_event_to_json``).
    json: str


class KvStore(Protocol):
    """One tenant's key-value namespace and e-mail outbox.

    To plug in another database, keep the contract: refuse oversized input
    with ``StorageError("too-large", ...)``, report failures as
    ``StorageError("unavailable", ...)`` without partial effects, order keys
    by their UTF-8 bytes, and make a write durable before returning (the
    plugin writes its intent before it calls the vendor). Calls of one
    tenant never overlap; different tenants' may.
    """

    def get(self, key: str) -> Optional[bytes]:
        """The value under ``key``, or ``None``."""
        ...

    def apply(self, writes: Sequence[Write]) -> None:
        """Applies all writes in order, atomically: all of them or none."""
        ...

    def list(self, prefix: str, start_after: Optional[str], limit: int) -> List[Tuple[str, bytes]]:
        """Entries whose key starts with ``prefix``, ascending by key bytes,
        strictly after ``start_after`` when given, at most ``limit``."""
        ...

    def record_email(self, dedup_key: str, at: int, subject: str, body: str) -> bool:
        """Records an e-mail unless one with ``dedup_key`` was ever recorded
        for this tenant; ``False``: a duplicate, dropped."""
        ...

    def emails(self) -> List[Email]:
        """The outbox, in the order the e-mails were recorded."""
        ...

    def record_event(self, id: str, at: int, json: str) -> bool:
        """Records a code event unless one with ``id`` was ever recorded for
        this tenant (the plugin reports at least once); ``False``: a
        duplicate, dropped. Durable before it returns."""
        ...

    def events_after(self, after: int, limit: int) -> List[StoredEvent]:
        """Recorded events whose ``seq`` is after ``after`` (0: from the
        first), in the order recorded, at most ``limit``: a feed's page."""
        ...


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def check_key(what: str, key: str) -> None:
    n = _utf8_len(key)
    if n > MAX_KEY_BYTES:
        raise StorageError("too-large", f"{what} of {n} bytes exceeds {MAX_KEY_BYTES} bytes")


def check_writes(writes: Sequence[Write]) -> None:
    for write in writes:
        check_key("key", write.key)
        if isinstance(write, WriteSet) and len(write.value) > MAX_VALUE_BYTES:
            raise StorageError(
                "too-large",
                f"value of {len(write.value)} bytes for key {_debug_str(write.key)} exceeds {MAX_VALUE_BYTES} bytes",
            )


def check_list(prefix: str, start_after: Optional[str], limit: int) -> None:
    check_key("prefix", prefix)
    if start_after is not None:
        check_key("start-after", start_after)
    if limit > MAX_LIST_LIMIT:
        raise StorageError("too-large", f"list limit {limit} exceeds {MAX_LIST_LIMIT}")


def _debug_str(text: str) -> str:
    """A string quoted as Rust's ``{:?}`` quotes plain text."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def prefix_upper_bound(prefix: str) -> Optional[str]:
    """The least string greater than every string starting with ``prefix``,
    or ``None`` when there is none (empty prefix, or only U+10FFFF)."""
    points = [ord(c) for c in prefix]
    while points:
        last = points.pop()
        if last == 0x10FFFF:
            continue
        points.append(0xE000 if last == 0xD7FF else last + 1)
        return "".join(chr(p) for p in points)
    return None


class _OneWriteBatches:
    """``set`` and ``delete`` as batches of one write (as smartlock-host's ``KvStore``)."""

    def apply(self, writes: Sequence[Write]) -> None:
        raise NotImplementedError

    def set(self, key: str, value: bytes) -> None:
        """Stores one value."""
        self.apply([WriteSet(key, value)])

    def delete(self, key: str) -> None:
        """Removes one key (absent is fine)."""
        self.apply([WriteDelete(key)])


class MemoryStore(_OneWriteBatches):
    """A namespace in memory (tests, demos): sorted keys and an outbox."""

    def __init__(self) -> None:
        self._keys: List[str] = []
        self._values: dict[str, bytes] = {}
        self._outbox: List[Email] = []
        self._events: List[StoredEvent] = []
        self._event_ids: set[str] = set()
        self._lock = threading.Lock()

    def get(self, key: str) -> Optional[bytes]:
        check_key("key", key)
        with self._lock:
            return self._values.get(key)

    def apply(self, writes: Sequence[Write]) -> None:
        check_writes(writes)
        with self._lock:
            for write in writes:
                if isinstance(write, WriteSet):
                    if write.key not in self._values:
                        bisect.insort(self._keys, write.key)
                    self._values[write.key] = bytes(write.value)
                elif write.key in self._values:
                    del self._values[write.key]
                    self._keys.pop(bisect.bisect_left(self._keys, write.key))

    def list(self, prefix: str, start_after: Optional[str], limit: int) -> List[Tuple[str, bytes]]:
        check_list(prefix, start_after, limit)
        with self._lock:
            if start_after is not None and start_after >= prefix:
                i = bisect.bisect_right(self._keys, start_after)
            else:
                i = bisect.bisect_left(self._keys, prefix)
            out: List[Tuple[str, bytes]] = []
            while i < len(self._keys) and len(out) < limit and self._keys[i].startswith(prefix):
                out.append((self._keys[i], self._values[self._keys[i]]))
                i += 1
            return out

    def entries(self) -> List[Tuple[str, bytes]]:
        """Every entry, in key order."""
        with self._lock:
            return [(k, self._values[k]) for k in self._keys]

    def record_email(self, dedup_key: str, at: int, subject: str, body: str) -> bool:
        with self._lock:
            if any(e.dedup_key == dedup_key for e in self._outbox):
                return False
            self._outbox.append(Email(at=at, dedup_key=dedup_key, subject=subject, body=body))
            return True

    def emails(self) -> List[Email]:
        with self._lock:
            return list(self._outbox)

    def record_event(self, id: str, at: int, json: str) -> bool:
        with self._lock:
            if id in self._event_ids:
                return False
            self._event_ids.add(id)
            self._events.append(StoredEvent(seq=len(self._events) + 1, id=id, at=at, json=json))
            return True

    def events_after(self, after: int, limit: int) -> List[StoredEvent]:
        with self._lock:
            return [e for e in self._events if e.seq > after][: max(0, limit)]


def _owner_only(path: Path) -> None:
    """Creates ``path`` 0600 if missing, or narrows it (and its -wal/-shm) to 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        return
    except FileExistsError:
        pass
    for suffix in ("", "-wal", "-shm"):
        file = Path(str(path) + suffix)
        try:
            st = file.stat()
        except FileNotFoundError:
            continue
        if file.is_file() and st.st_mode & 0o077:
            os.chmod(file, 0o600)


class SqliteDb:
    """One SQLite file holding every tenant's namespace and outbox.

    Open it once per process and hand out :meth:`tenant` namespaces; they
    share one connection (storage operations of all tenants take turns on
    it). WAL with ``synchronous = FULL``: a committed write survives a crash.
    On Unix the file is created readable by its owner only (0600): it holds
    vendor credentials. ``":memory:"`` gives a database that lives as long
    as the object.
    """

    def __init__(self, path: Union[str, Path]) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        try:
            if self.path != ":memory:":
                _owner_only(Path(self.path))
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout = 5000")
            # The schema first: it sets a new file's page size, which WAL
            # mode would fix at the default.
            self._conn.executescript(schema())
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = FULL")
        except (sqlite3.Error, OSError) as e:
            raise StorageError("unavailable", f"{self.path}: {e}") from e

    def tenant(self, tenant_id: str) -> "SqliteStore":
        """Tenant ``tenant_id``'s namespace and outbox (rows keyed by this id:
        use the tenant's own id)."""
        return SqliteStore(self, tenant_id)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "SqliteDb":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _unavailable(e: Exception) -> StorageError:
    return StorageError("unavailable", str(e))


class SqliteStore(_OneWriteBatches):
    """One tenant's namespace and outbox in a :class:`SqliteDb`."""

    def __init__(self, db: SqliteDb, tenant_id: str) -> None:
        self.db = db
        self.tenant_id = tenant_id

    def get(self, key: str) -> Optional[bytes]:
        check_key("key", key)
        try:
            with self.db._lock:
                row = self.db._conn.execute(
                    "SELECT value FROM kv WHERE tenant = ? AND key = ?", (self.tenant_id, key)
                ).fetchone()
        except sqlite3.Error as e:
            raise _unavailable(e) from e
        return None if row is None else bytes(row[0])

    def apply(self, writes: Sequence[Write]) -> None:
        check_writes(writes)
        try:
            with self.db._lock:
                conn = self.db._conn
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for write in writes:
                        if isinstance(write, WriteSet):
                            conn.execute(
                                "INSERT INTO kv (tenant, key, value) VALUES (?, ?, ?) "
                                "ON CONFLICT (tenant, key) DO UPDATE SET value = excluded.value",
                                (self.tenant_id, write.key, bytes(write.value)),
                            )
                        else:
                            conn.execute("DELETE FROM kv WHERE tenant = ? AND key = ?", (self.tenant_id, write.key))
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        except sqlite3.Error as e:
            raise _unavailable(e) from e

    def list(self, prefix: str, start_after: Optional[str], limit: int) -> List[Tuple[str, bytes]]:
        check_list(prefix, start_after, limit)
        if limit == 0:
            return []
        if start_after is not None and start_after >= prefix:
            lower_op, lower = ">", start_after
        else:
            lower_op, lower = ">=", prefix
        upper = prefix_upper_bound(prefix)
        sql = f"SELECT key, value FROM kv WHERE tenant = ? AND key {lower_op} ? "
        params: Tuple[object, ...]
        if upper is None:
            sql += "ORDER BY key LIMIT ?"
            params = (self.tenant_id, lower, limit)
        else:
            sql += "AND key < ? ORDER BY key LIMIT ?"
            params = (self.tenant_id, lower, upper, limit)
        try:
            with self.db._lock:
                rows = self.db._conn.execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise _unavailable(e) from e
        return [(str(k), bytes(v)) for k, v in rows]

    def record_email(self, dedup_key: str, at: int, subject: str, body: str) -> bool:
        try:
            with self.db._lock:
                cursor = self.db._conn.execute(
                    "INSERT INTO outbox (tenant, dedup_key, at, subject, body) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (tenant, dedup_key) DO NOTHING",
                    (self.tenant_id, dedup_key, at, subject, body),
                )
                return cursor.rowcount == 1
        except sqlite3.Error as e:
            raise _unavailable(e) from e

    def emails(self) -> List[Email]:
        try:
            with self.db._lock:
                rows = self.db._conn.execute(
                    "SELECT at, dedup_key, subject, body FROM outbox WHERE tenant = ? ORDER BY id", (self.tenant_id,)
                ).fetchall()
        except sqlite3.Error as e:
            raise _unavailable(e) from e
        return [Email(at=int(a), dedup_key=str(k), subject=str(s), body=str(b)) for a, k, s, b in rows]

    def record_event(self, id: str, at: int, json: str) -> bool:
        try:
            with self.db._lock:
                cursor = self.db._conn.execute(
                    "INSERT INTO events (tenant, event_id, at, body) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (tenant, event_id) DO NOTHING",
                    (self.tenant_id, id, at, json),
                )
                return cursor.rowcount == 1
        except sqlite3.Error as e:
            raise _unavailable(e) from e

    def events_after(self, after: int, limit: int) -> List[StoredEvent]:
        try:
            with self.db._lock:
                rows = self.db._conn.execute(
                    "SELECT seq, event_id, at, body FROM events WHERE tenant = ? AND seq > ? ORDER BY seq LIMIT ?",
                    (self.tenant_id, after, max(0, limit)),
                ).fetchall()
        except sqlite3.Error as e:
            raise _unavailable(e) from e
        return [StoredEvent(seq=int(q), id=str(i), at=int(a), json=str(b)) for q, i, a, b in rows]

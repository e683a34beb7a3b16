"""The storage backends keep smartlock-host's contract: byte-ordered prefix
listings, atomic batches, size limits, a de-duplicating outbox, tenants as
separate namespaces, and the same SQLite schema file (the one smartlock-host
includes)."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from typing import List, Tuple, Union

import pytest

from smartlock_host import MemoryStore, SqliteDb, SqliteStore, StorageError, WriteDelete, WriteSet
from smartlock_host.storage import MAX_KEY_BYTES, MAX_LIST_LIMIT, MAX_VALUE_BYTES, prefix_upper_bound, schema

def keys(entries: List[Tuple[str, bytes]]) -> List[str]:
    return [k for k, _ in entries]


def stores(tmp_path: Path, name: str) -> List[Union[MemoryStore, SqliteStore]]:
    db = SqliteDb(tmp_path / "store.sqlite")
    return [MemoryStore(), db.tenant(name)]


def test_listing_is_in_utf8_byte_order_and_follows_prefix_start_after_and_limit(tmp_path: Path) -> None:
    for store in stores(tmp_path, "t-list"):
        for key in ["due/0002", "due/0001", "due/", "due0", "du", "due/0010", "duf", "due/\U0010ffff", "due/é"]:
            store.set(key, key.encode())
        assert keys(store.list("due/", None, 100)) == ["due/", "due/0001", "due/0002", "due/0010", "due/é", "due/\U0010ffff"]
        assert keys(store.list("due/", None, 2)) == ["due/", "due/0001"]
        assert keys(store.list("due/", "due/0001", 2)) == ["due/0002", "due/0010"]
        # A start-after before the prefix is the same as none; after it, nothing.
        assert keys(store.list("due/", "a", 1)) == ["due/"]
        assert store.list("due/", "zzz", 10) == []
        assert store.list("due/", None, 0) == []
        assert len(store.list("", None, 1000)) == 9
        assert keys(store.list("due/\U0010ffff", None, 10)) == ["due/\U0010ffff"]
        assert store.list("due/0001", None, 10)[0][1] == b"due/0001"


def test_a_batch_applies_in_order_and_all_or_nothing(tmp_path: Path) -> None:
    for store in stores(tmp_path, "t-apply"):
        store.set("a", b"1")
        store.set("b", b"2")
        store.apply([WriteSet("c", b"3"), WriteDelete("a"), WriteSet("c", b"4")])
        assert keys(store.list("", None, 10)) == ["b", "c"]
        assert store.get("c") == b"4"
        with pytest.raises(StorageError) as refused:
            store.apply([WriteDelete("b"), WriteSet("d", bytes(MAX_VALUE_BYTES + 1))])
        assert refused.value.kind == "too-large"
        assert keys(store.list("", None, 10)) == ["b", "c"]


def test_limits_are_smartlock_hosts(tmp_path: Path) -> None:
    for store in stores(tmp_path, "t-limits"):
        long_key = "k" * (MAX_KEY_BYTES + 1)
        for attempt in ("set", "get"):
            with pytest.raises(StorageError) as e:
                if attempt == "set":
                    store.set(long_key, b"v")
                else:
                    store.get(long_key)
            assert e.value.kind == "too-large"
            assert str(e.value) == f"too large: key of {MAX_KEY_BYTES + 1} bytes exceeds {MAX_KEY_BYTES} bytes"
        store.set("k" * MAX_KEY_BYTES, bytes(MAX_VALUE_BYTES))
        with pytest.raises(StorageError):
            store.list("", None, MAX_LIST_LIMIT + 1)
        store.list("", None, MAX_LIST_LIMIT)


def test_the_outbox_keeps_one_email_per_dedup_key(tmp_path: Path) -> None:
    for store in stores(tmp_path, "t-outbox"):
        assert store.record_email("alert/b1", 10, "s1", "body1")
        assert store.record_email("alert/b2", 20, "s2", "body2")
        assert not store.record_email("alert/b1", 30, "again", "again")
        emails = store.emails()
        assert [(e.at, e.dedup_key, e.subject) for e in emails] == [(10, "alert/b1", "s1"), (20, "alert/b2", "s2")]


def test_sqlite_tenants_are_separate_namespaces_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    with SqliteDb(path) as db:
        a, b = db.tenant("a"), db.tenant("b")
        a.set("k/1", b"a")
        b.set("k/2", b"b")
        assert keys(a.list("k/", None, 10)) == ["k/1"]
        assert b.get("k/1") is None
        assert a.record_email("x", 1, "s", "b") and b.record_email("x", 1, "s", "b")
    with SqliteDb(path) as db:
        assert db.tenant("a").get("k/1") == b"a"
        assert not db.tenant("a").record_email("x", 99, "again", "again")
        assert len(db.tenant("a").emails()) == 1
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, "the file holds credentials: owner only"


def test_the_schema_is_smartlock_hosts_file_and_a_listing_is_a_primary_key_range(tmp_path: Path, repo: Path) -> None:
    rust = (repo / "host-harness/smartlock-host/src/imports/schema.sql").read_text(encoding="utf-8")
    assert schema() == rust, "the package's schema.sql is not smartlock-host's"
    db = sqlite3.connect(tmp_path / "plan.sqlite")
    db.executescript(schema())
    plan = "\n".join(
        row[3]
        for row in db.execute(
            "EXPLAIN QUERY PLAN SELECT key, value FROM kv WHERE tenant = ? AND key >= ? AND key < ? ORDER BY key LIMIT 10",
            ("t", "due/", "due0"),
        )
    )
    assert "SEARCH kv USING PRIMARY KEY (tenant=? AND key>? AND key<?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_a_file_written_by_the_python_host_reads_the_same_in_key_order(tmp_path: Path) -> None:
    """The byte order SQLite keeps is the order the listing gives, whatever the script."""
    with SqliteDb(tmp_path / "order.sqlite") as db:
        store = db.tenant("t")
        words = ["z", "ä", "a", "\u00ff", "\u0100", "\ud7ff", "\ue000", "\U00010000", "A", "0"]
        for w in words:
            store.set("p/" + w, b"")
        listed = keys(store.list("p/", None, 100))
        assert listed == sorted(listed, key=lambda k: k.encode("utf-8"))


def test_prefix_upper_bounds() -> None:
    assert prefix_upper_bound("") is None
    assert prefix_upper_bound("ab") == "ac"
    assert prefix_upper_bound("a\U0010ffff") == "b"
    assert prefix_upper_bound("\U0010ffff") is None
    assert prefix_upper_bound("x\ud7ff") == "x\ue000"

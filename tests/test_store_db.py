"""The store's database layer: SQLite's errors told apart by result code, not by text.

Each error here is a real one from SQLite on a real file, not a made-up exception.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sosdesk.server_stub import db as database
from sosdesk.server_stub.store import Store

T0 = 1_700_000_000


def error_of(conn: sqlite3.Connection, sql: str) -> sqlite3.OperationalError:
    """The error SQLite raises for *sql* on *conn*."""
    with pytest.raises(sqlite3.OperationalError) as info:
        conn.execute(sql)
    return info.value


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    c = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    c.execute("CREATE TABLE t (a TEXT)")
    return c


def test_storage_faults_are_named_by_their_result_code(conn: sqlite3.Connection,
                                                        tmp_path: Path) -> None:
    conn.execute("PRAGMA query_only = ON")
    readonly = error_of(conn, "INSERT INTO t VALUES ('x')")
    conn.execute("PRAGMA query_only = OFF")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    full = error_of(conn, "INSERT INTO t VALUES (randomblob(100000))")
    holder = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    conn.execute("PRAGMA busy_timeout = 0")
    busy = error_of(conn, "BEGIN IMMEDIATE")
    assert database.storage_error(readonly).message.startswith("the database is read-only")
    assert database.storage_error(full).message.startswith("the disk is full")
    assert database.storage_error(busy).message == "the database is busy; try again"


@pytest.mark.parametrize("name", ["disk_full_log", "readonly_flags", "busy_experts"])
def test_an_error_that_only_mentions_a_fault_is_not_that_fault(conn: sqlite3.Connection,
                                                               name: str) -> None:
    """A missing table named like a fault is no full disk (the text matched it before)."""
    error = error_of(conn, f"SELECT * FROM {name}")
    assert name in str(error)
    assert database.storage_error(error).message == "the database is unavailable"


def test_a_store_on_a_read_only_connection_says_so(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "sosdesk.db"))
    store._db.execute("PRAGMA query_only = ON")
    with pytest.raises(database.StorageUnavailable) as info:
        store.add_expert("anna", "password-anna", T0)
    assert "read-only" in info.value.message
    store.close()

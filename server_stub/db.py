"""The store's database: one connection, its pragmas, transactions and error mapping.

One connection, one lock: SQLite serializes writers anyway, and holding the lock
for a whole transaction makes "two experts press Connect at once" and "twenty
SOS clicks from one device" plain sequential code with exactly one outcome.
The schema is made or upgraded (migrate.py) before this connection opens.

Group commit (``_grouped_tx``, for SOS): requests that arrive together share
one COMMIT. Each runs its statements in a savepoint of one open transaction;
the last of a group (no other grouped writer is waiting for the lock, or the
group is full) commits for everyone, and every member answers only after that
COMMIT: an acknowledged case is in the write-ahead log, as with a transaction of
its own. Anything else that takes the lock commits an open group first, so no
read ever sees a row that is not committed.
SQLite's errors are told apart by their result codes, never by their message
text (which names tables and columns, and changes between SQLite versions).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from typing import Iterator

from . import migrate
from .errors import Conflict, StorageUnavailable

log = logging.getLogger("sosdesk.store")


#: A group commits at most this many changes, and waits at most this long for more.
GROUP_MAX = 64
GROUP_MAX_SECONDS = 0.005


class _Group:
    """One open group transaction: when it began, its members, and how it ended."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.members = 0
        self.done = False
        self.error: StorageUnavailable | None = None


class Database:
    """The connection every part of the store shares, and the lock around it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        if path != ":memory:":
            # Before this connection opens: an upgrade needs the file to itself.
            migrate.prepare(path, time.time())
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA busy_timeout = 5000")
        if path == ":memory:":
            migrate.create(self._db)
        else:
            self._db.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL survives a killed process; only power loss can lose
            # the last commits, which is the usual trade for a service like this.
            self._db.execute("PRAGMA synchronous = NORMAL")
            # Checkpoints (the only fsyncs) run on the timer thread through their
            # own connection (checkpoint()), not inside a request: done by the
            # committing request they cost it ~17 ms, every ~100 SOS (p99).
            # The large limit (200 MB) is a backstop should the timer not run; the
            # expiry sweep checkpoints as it goes (Cases.expire_due).
            self._db.execute("PRAGMA wal_autocheckpoint = 50000")
            # 64 MiB of page cache (SQLite's default is 2 MiB): with a million cases
            # the indexes the sweep and the queue touch stay in memory.
            self._db.execute("PRAGMA cache_size = -65536")
        self._checkpointer: sqlite3.Connection | None = None
        #: The open group transaction (see _grouped_tx), None when there is none.
        self._group: _Group | None = None
        self._group_done = threading.Condition(self._lock)
        self._grouped_waiting = 0  # grouped writers waiting for the lock
        self._count_lock = threading.Lock()

    def _flush_group(self) -> None:
        """Commit the open group transaction, if any (under the lock); wake its members."""
        group = self._group
        if group is None:
            return
        self._group = None
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            group.error = (storage_error(exc) if isinstance(exc, sqlite3.OperationalError)
                           else StorageUnavailable("the database could not save the change"))
            log.warning("a group commit of %d change(s) failed: %s", group.members,
                        getattr(exc, "sqlite_errorname", type(exc).__name__))
        group.done = True
        self._group_done.notify_all()

    @contextlib.contextmanager
    def _grouped_tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that may share its COMMIT with others arriving together.

        Same promise as ``_tx``: when the block is left without an error, its
        changes are committed; with an error, none of them are. Only for writes
        that do not need to read what they wrote after the block (the caller
        reads after, through the committed database).
        """
        # Counted under a lock of its own: announcing "I am waiting" must not wait.
        with self._count_lock:
            self._grouped_waiting += 1
        try:
            self._lock.acquire()
        finally:
            with self._count_lock:
                self._grouped_waiting -= 1
        try:
            if self._group is None:
                try:
                    self._db.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    raise storage_error(exc) from None
                self._group = _Group(time.monotonic())
            group = self._group
            self._db.execute("SAVEPOINT grouped")
            try:
                yield self._db
                self._db.execute("RELEASE grouped")
                group.members += 1
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK TO grouped")
                    self._db.execute("RELEASE grouped")
                self._end_group_turn(group)
                if isinstance(exc, sqlite3.OperationalError):
                    raise storage_error(exc) from None
                if isinstance(exc, sqlite3.IntegrityError):
                    raise constraint_error(exc) from None
                raise
            self._end_group_turn(group)
            while not group.done:
                # The writer it waits for commits it; should that writer never come
                # (it was interrupted before taking the lock), commit it here.
                if not self._group_done.wait(0.05) and self._group is group:
                    self._flush_group()
            if group.error is not None:
                raise group.error
        finally:
            self._lock.release()

    def _end_group_turn(self, group: "_Group") -> None:
        """Commit *group* now unless another grouped writer is about to join it."""
        if self._group is not group:
            return
        if (not self._grouped_waiting or group.members >= GROUP_MAX
                or time.monotonic() - group.started > GROUP_MAX_SECONDS):
            self._flush_group()

    @contextlib.contextmanager
    def _tx(self, read_mostly: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction under the store lock; storage faults -> StorageUnavailable.

        *read_mostly* (reads that expire due cases on the way) begins deferred:
        it takes the write lock only if there is something to expire, so reads
        keep working while the database is read-only.
        """
        with self._lock:
            self._flush_group()
            try:
                self._db.execute("BEGIN DEFERRED" if read_mostly else "BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise storage_error(exc) from None
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError):
                    raise storage_error(exc) from None
                if isinstance(exc, sqlite3.IntegrityError):
                    raise constraint_error(exc) from None
                raise

    def _read(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        """The rows of one query, under the store lock."""
        with self._lock:
            self._flush_group()
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.OperationalError as exc:
                raise storage_error(exc) from None

    def _meta(self, key: str) -> str:
        return self._read("SELECT value FROM meta WHERE key = ?", (key,))[0][0]

    def checkpoint(self) -> bool:
        """Copy the write-ahead log into the database file (timer thread only).

        A PASSIVE checkpoint on a second connection neither takes the store lock
        nor blocks writers. Returns False if it could not run (e.g. disk full).
        """
        if self.path == ":memory:":
            return True
        try:
            if self._checkpointer is None:
                self._checkpointer = sqlite3.connect(self.path, isolation_level=None,
                                                     check_same_thread=False)
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return True
        except sqlite3.Error:
            return False

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._flush_group()
            if self._checkpointer is not None:
                self._checkpointer.close()
            self._db.close()


def is_unique_violation(exc: sqlite3.IntegrityError) -> bool:
    """Whether *exc* is a UNIQUE constraint, a unique index or a primary key refusing a row."""
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_CONSTRAINT_UNIQUE,
                                                      sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)


#: A constraint the checks before a write let through (e.g. an expert removed between
#: the check and the write) -> the stable error code the client gets with a 409.
_CONSTRAINT_CODES = {
    sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY: (
        "invalid_reference", "the request refers to something that does not exist (any more)"),
    sqlite3.SQLITE_CONSTRAINT_UNIQUE: ("already_exists", "this exists already"),
    sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY: ("already_exists", "this exists already"),
}


def constraint_error(exc: sqlite3.IntegrityError) -> Conflict:
    """A constraint violation as a 409: the request contradicts the stored state."""
    code, message = _CONSTRAINT_CODES.get(getattr(exc, "sqlite_errorcode", None), (
        "constraint_violation", "the change contradicts the stored data"))
    # Not the client's fault alone: a check before the write missed this, so say so.
    log.warning("constraint violation reached the store's transaction: %s",
                getattr(exc, "sqlite_errorname", "?"))
    return Conflict(message, code=code)


#: SQLite's primary result codes (the low byte of an extended one) -> what to tell the client.
_STORAGE_MESSAGES = {
    sqlite3.SQLITE_READONLY: "the database is read-only; the server cannot save changes",
    sqlite3.SQLITE_FULL: "the disk is full; the server cannot save changes",
    sqlite3.SQLITE_BUSY: "the database is busy; try again",
    sqlite3.SQLITE_LOCKED: "the database is busy; try again",
}


def storage_error(exc: sqlite3.OperationalError) -> StorageUnavailable:
    """A storage fault as a 503 with a message that says which (never SQLite's own text)."""
    primary = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    return StorageUnavailable(_STORAGE_MESSAGES.get(primary, "the database is unavailable"))

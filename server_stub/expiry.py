"""The expiry sweep and the release of what ended cases held (a part of Store).

Expiry is set-based, in bounded transactions so that requests are served in
between: one INSERT writes a batch's history, one UPDATE expires the cases it
names. It writes nothing in ``holds`` (schema/v4.sql): an ended case keeps its
code and SOS device held until the release pass, which lets them go in the
table's key order, a range of it per transaction, after each sweep (the timer
runs both; server._tick). Deleting from an index on random keys was ~80% of an
expiry; in key order a batch touches a few pages of it.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Callable

from . import core
from .changes import ChangeFeed
from .core import EXPIRED
from .db import Database

OPEN_SQL = "(" + ", ".join(f"'{status}'" for status in core.OPEN_STATUSES) + ")"
#: The statuses core's table lets "expire" lead to expired (the open ones), as SQL.
_EXPIRABLE_STATUSES = tuple(status for status in core.STATUSES
                            if core.TRANSITIONS.get((status, "expire")) == core.EXPIRED)
_EXPIRABLE = "(" + ", ".join(f"'{status}'" for status in _EXPIRABLE_STATUSES) + ")"
#: The sweep's (and the release pass's) transactions: the first handles SWEEP_FIRST
#: cases (or holds), the next ones as many as take about SWEEP_SECONDS (a request waits at most about that long).
#: Between two, the sweep pauses SWEEP_PAUSE (requests get the lock) and checkpoints the
#: write-ahead log every SWEEP_CHECKPOINT_EVERY seconds (each is two fsyncs).
SWEEP_FIRST, SWEEP_MAX, SWEEP_SECONDS, SWEEP_PAUSE = 1000, 50_000, 0.12, 0.003
SWEEP_CHECKPOINT_EVERY = 0.5


def code_hold(code: str) -> str:
    """The key an open case holds its code by (schema: holds)."""
    return f"code:{code}"


def sos_hold(device_hash: str, module_id: str | None) -> str:
    """The key an open SOS case holds its device (and module) by (schema: holds)."""
    return f"sos:{device_hash}:{module_id or ''}"


class Expiry(Database):
    """Expiring due cases and releasing what ended cases held (over the store's connection)."""

    _feed: ChangeFeed

    def _expire_due(self, db: sqlite3.Connection, now: int, where: str = "", args: tuple = (),
                    limit: int | None = None, order: str = "") -> int:
        """Expire open cases whose deadline has passed (inside a transaction); how many.

        Set-based: one INSERT writes the history rows of every due case (at most
        *limit*), one UPDATE expires the cases those rows name. The statuses it
        expires from are the ones core's table lets "expire" lead to expired.
        """
        due = f"FROM cases c WHERE status IN {_EXPIRABLE} AND valid_until <= ?{where}"
        # Nothing due (the common case for a read that expires on the way): no write at
        # all, so a deferred transaction stays a read and works on a read-only database.
        if db.execute(f"SELECT 1 {due} LIMIT 1", (now, *args)).fetchone() is None:
            return 0
        before = db.execute("SELECT COALESCE(MAX(id), 0) FROM case_events").fetchone()[0]
        db.execute(
            "INSERT INTO case_events (case_id, at, actor, event, from_status, to_status) "
            f"SELECT id, ?, 'system', 'expire', status, ? {due}" + (f" ORDER BY {order}" if order else "")
            + (f" LIMIT {int(limit)}" if limit else ""),
            (now, EXPIRED, now, *args))
        return self._expire_recorded(db, before, now)

    def _expire_newest_due(self, db: sqlite3.Connection, now: int, per_status: int) -> int:
        """Expire up to *per_status* due cases of each open status, latest deadline first.

        Deadlines follow creation, so the newest cases (the queue's first page)
        are expired first; each status's part is a backward walk of its range of
        cases_status_deadline, no sort.
        """
        before = db.execute("SELECT COALESCE(MAX(id), 0) FROM case_events").fetchone()[0]
        parts = " UNION ALL ".join(
            "SELECT * FROM (SELECT id, status FROM cases WHERE status = ? AND valid_until <= ? "
            "ORDER BY valid_until DESC LIMIT ?)" for _ in _EXPIRABLE_STATUSES)
        db.execute("INSERT INTO case_events (case_id, at, actor, event, from_status, to_status) "
                   f"SELECT id, ?, 'system', 'expire', status, ? FROM ({parts})",
                   (now, EXPIRED, *(x for status in _EXPIRABLE_STATUSES
                                    for x in (status, now, per_status))))
        return self._expire_recorded(db, before, now)

    def _expire_recorded(self, db: sqlite3.Connection, before: int, now: int) -> int:
        """Expire the cases named by the expire events written after event *before*."""
        ids = [row[0] for row in db.execute(
            "SELECT case_id FROM case_events WHERE id > ?", (before,))]
        if not ids:
            return 0
        # One version for the whole set: each case's version still grows, and its
        # waiters (and the console) wake once for it.
        db.execute("UPDATE cases SET status = ?, closed_at = ?, version = ? WHERE id IN "
                   "(SELECT case_id FROM case_events WHERE id > ?)",
                   (EXPIRED, now, self._feed.bump(*ids), before))
        self._feed.end(*ids)
        return len(ids)

    def expire_due(self, now: int, batch: int | None = None) -> int:
        """The periodic sweep: expire every due case, newest first, in bounded transactions.

        Each transaction takes the store lock for about SWEEP_SECONDS (*batch*
        fixes its size). Expired cases keep their holds (release_holds frees them).
        """
        per_status = len(_EXPIRABLE_STATUSES)

        def step(db: sqlite3.Connection, size: int) -> tuple[int, bool]:
            count = self._expire_newest_due(db, now, -(-size // per_status))
            return count, count == 0

        return self._in_batches(step, batch, notify=True)

    def release_holds(self, batch: int | None = None) -> int:
        """Let go every hold whose case ended (or is gone), in key order; how many.

        Each transaction looks at the next range of keys (about SWEEP_SECONDS of
        work, or *batch* keys) and deletes the holds in it whose case is not open.
        A request may release one itself (an SOS from a device whose case ended).
        """
        after = ""

        def step(db: sqlite3.Connection, size: int) -> tuple[int, bool]:
            nonlocal after
            last = db.execute("SELECT MAX(key) FROM (SELECT key FROM holds WHERE key > ? "
                              "ORDER BY key LIMIT ?)", (after, size)).fetchone()[0]
            if last is None:
                return 0, True
            released = db.execute(
                "DELETE FROM holds WHERE key > ? AND key <= ? AND NOT EXISTS (SELECT 1 FROM "
                f"cases c WHERE c.id = holds.case_id AND c.status IN {OPEN_SQL})",
                (after, last)).rowcount
            after = last
            return released, False

        return self._in_batches(step, batch)

    def _in_batches(self, step: Callable[[sqlite3.Connection, int], tuple[int, bool]],
                    batch: int | None, notify: bool = False) -> int:
        """Run *step(db, size)* in transactions until it says it is done; the sum of its counts.

        With *notify*, the change feed's waiters wake after each commit that counted.

        Sizes adapt to how long the last transaction took (SWEEP_SECONDS, from
        SWEEP_FIRST up to SWEEP_MAX; *batch* fixes it). Between two, the sweep
        pauses for the requests waiting for the lock and, now and then,
        checkpoints the write-ahead log outside the lock: left to the commits, a
        checkpoint would run inside one.
        """
        total, size = 0, batch or SWEEP_FIRST
        checkpointed = time.monotonic()
        while True:
            started = time.monotonic()
            with self._tx(read_mostly=True) as db:
                count, done = step(db, size)
            took = time.monotonic() - started
            total += count
            if done:
                return total
            if notify and count:
                self._feed.notify()
            if time.monotonic() - checkpointed > SWEEP_CHECKPOINT_EVERY:
                self.checkpoint()
                checkpointed = time.monotonic()
            if batch is None:
                size = max(SWEEP_FIRST, min(SWEEP_MAX, int(size * SWEEP_SECONDS / max(took, 1e-3))))
            # Let the requests waiting for the lock in before the next batch: locks are
            # not fair, and with sleep(0) this thread took it again first.
            time.sleep(SWEEP_PAUSE)

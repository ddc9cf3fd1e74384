"""Service cases as experts see them: create, expire, read, edit, connect, delete (the
queue's pages: case_list.py).

Every state change goes through _transition (core's one table of statuses) in
one transaction, takes its time as *now*, and bumps the change feed so that the
waiters of the cases it changed wake after the commit.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any, Callable

from . import core
from .changes import ChangeFeed
from .core import CLOSED, EXPIRED, NEW, OPEN_STATUSES
from .db import Database, is_unique_violation
from .errors import Conflict, InvalidInput, NotFound, StorageUnavailable
from .modules import resolve_group
from .views import case_view, event_view

#: The most cases on one page of the queue (TeamViewer's), and the default page.
MAX_PAGE = 1000
#: The most cases one answer to full_list=true holds (the rest follow by next_offset).
FULL_LIST_MAX = 10_000
OPEN_SQL = "('new', 'pending', 'in_progress')"
#: The statuses core's table lets "expire" lead to expired (the open ones), as SQL.
_EXPIRABLE_STATUSES = tuple(status for status in core.STATUSES
                            if core.TRANSITIONS.get((status, "expire")) == core.EXPIRED)
_EXPIRABLE = "(" + ", ".join(f"'{status}'" for status in _EXPIRABLE_STATUSES) + ")"
#: The sweep's transactions: the first expires SWEEP_FIRST cases, the next ones as
#: many as take about SWEEP_SECONDS (a request waits at most about that long).
#: Between two, the sweep pauses SWEEP_PAUSE (requests get the lock) and checkpoints the
#: write-ahead log every SWEEP_CHECKPOINT_EVERY seconds (each is two fsyncs).
SWEEP_FIRST, SWEEP_MAX, SWEEP_SECONDS, SWEEP_PAUSE = 1000, 50_000, 0.12, 0.003
SWEEP_CHECKPOINT_EVERY = 0.5

CASE_SELECT = (
    "SELECT c.*, e.name AS assigned_name, g.id AS group_number FROM cases c "
    "LEFT JOIN experts e ON e.id = c.assigned_userid "
    "LEFT JOIN groups g ON g.name = c.groupid "
)


class Cases(Database):
    """The store's cases (a part of Store, over its one connection)."""

    _feed: ChangeFeed
    default_validity: int
    #: The live state of a case, (online, remote), from server memory (relay.RelayHub.live);
    #: the store alone knows none.
    live: Callable[[int, int], tuple[bool, dict | None]] = staticmethod(lambda case_id, now: (False, None))

    def _view(self, row: sqlite3.Row, now: int) -> dict:
        """A case as experts see it, with its live state."""
        return case_view(row, *self.live(row["id"], now))

    def _expire_due(self, db: sqlite3.Connection, now: int, where: str = "", args: tuple = (),
                    limit: int | None = None, order: str = "") -> int:
        """Expire open cases whose deadline has passed (inside a transaction); how many.

        Set-based: one INSERT writes the history rows of every due case (at most
        *limit*), one UPDATE expires the cases those rows name. The statuses it
        expires from are the ones core's table lets "expire" lead to expired.
        """
        before = db.execute("SELECT COALESCE(MAX(id), 0) FROM case_events").fetchone()[0]
        db.execute(
            "INSERT INTO case_events (case_id, at, actor, event, from_status, to_status) "
            f"SELECT id, ?, 'system', 'expire', status, ? FROM cases c WHERE status IN {_EXPIRABLE}"
            f" AND valid_until <= ?{where}" + (f" ORDER BY {order}" if order else "")
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

        Each transaction takes the store lock for about SWEEP_SECONDS (its size
        adapts to how long the last one took, from SWEEP_FIRST up to SWEEP_MAX
        cases; *batch* fixes it), so requests are served between them while a
        large backlog is swept. Between two, now and then, the write-ahead log is
        checkpointed outside the lock: left to the commits, a checkpoint would run
        inside one.
        """
        total, size = 0, batch or SWEEP_FIRST
        checkpointed = time.monotonic()
        while True:
            started = time.monotonic()
            with self._tx(read_mostly=True) as db:
                count = self._expire_newest_due(db, now, -(-size // len(_EXPIRABLE_STATUSES)))
            took = time.monotonic() - started
            total += count
            if not count:
                return total
            self._feed.notify()
            if time.monotonic() - checkpointed > SWEEP_CHECKPOINT_EVERY:
                self.checkpoint()
                checkpointed = time.monotonic()
            if batch is None:
                size = max(SWEEP_FIRST, min(SWEEP_MAX, int(size * SWEEP_SECONDS / max(took, 1e-3))))
            # Let the requests waiting for the lock in before the next batch: locks are
            # not fair, and with sleep(0) this thread took it again first.
            time.sleep(SWEEP_PAUSE)

    def _transition(self, db: sqlite3.Connection, case_id: int, status: str, event: str,
                    actor: str, now: int, extra: str = "", args: tuple = ()) -> str:
        """Apply *event* to a case in *status* (core's table decides), and record it."""
        new = core.next_status(status, event)
        closed_at = now if new in core.FINAL_STATUSES else None
        if closed_at is not None:
            self._feed.end(case_id)
        db.execute(f"UPDATE cases SET status = ?, closed_at = COALESCE(?, closed_at), version = ?"
                   f"{extra} WHERE id = ?", (new, closed_at, self._feed.bump(case_id), *args, case_id))
        db.execute("INSERT INTO case_events (case_id, at, actor, event, from_status, to_status) "
                   "VALUES (?,?,?,?,?,?)", (case_id, now, actor, event, status, new))
        return new

    # -- cases: creation ----------------------------------------------------------

    def _insert_case(self, db: sqlite3.Connection, fields: dict, actor: str, now: int) -> int:
        """Insert a new case with a fresh code unique among open cases.

        The unique index on open codes decides: a clash (rare) expires a due
        holder of the code if there is one and retries, else draws again.
        """
        columns = {"status": NEW, "groupid": core.DEFAULT_GROUP, "created_by": actor,
                   "created_at": now, "valid_until": now + self.default_validity,
                   "version": self._feed.bump(None)}  # a new case has no waiters yet
        columns.update(fields)
        sql = (f"INSERT INTO cases (code, {', '.join(columns)}) "
               f"VALUES (?, {', '.join('?' for _ in columns)})")
        code = core.new_code()
        for _ in range(50):
            try:
                case_id = db.execute(sql, (code, *columns.values())).lastrowid
                break
            except sqlite3.IntegrityError as exc:
                # A clash on the code is the only refusal to handle here: the other
                # unique index (one open SOS per device) was checked before.
                if not is_unique_violation(exc) or not db.execute(
                        f"SELECT 1 FROM cases WHERE code = ? AND status IN {OPEN_SQL}",
                        (code,)).fetchone():
                    raise
                if not self._expire_due(db, now, " AND code = ?", (code,)):
                    code = core.new_code()
        else:  # 50 clashes in a row: nearly all 10^8 codes are in use
            raise StorageUnavailable("no free session code, try again later", code="codes_exhausted")
        db.execute("INSERT INTO case_events (case_id, at, actor, event, from_status, to_status) "
                   "VALUES (?,?,?,'create',NULL,'new')", (case_id, now, actor))
        return case_id

    def create_case(self, body: Any, expert_id: int, now: int) -> dict:
        """An expert creates a case by hand."""
        fields = core.validate_case_fields(body, now, creating=True)
        group = fields.pop("group", None)
        with self._tx() as db:
            if group is not None:
                fields["groupid"] = resolve_group(db, group, now)
            self._check_assignee(db, fields)
            if fields.get("assigned_userid"):
                fields["assigned_at"] = now
            case_id = self._insert_case(db, fields, f"expert:{expert_id}", now)
        self._feed.notify()
        return self._view(self._case_row(case_id), now)

    def _check_assignee(self, db: sqlite3.Connection, fields: dict) -> None:
        """Refuse an assignee who is no expert (before the write, as a field error)."""
        assignee = fields.get("assigned_userid")
        if assignee and not db.execute("SELECT 1 FROM experts WHERE id = ?", (assignee,)).fetchone():
            raise InvalidInput("some fields are invalid",
                               fields={"assigned_userid": "no such expert"})

    # -- cases: reading -----------------------------------------------------------

    def _case_row(self, case_id: int) -> sqlite3.Row:
        """A case with its assignee's name, as the views want it."""
        rows = self._read(CASE_SELECT + "WHERE c.id = ?", (case_id,))
        if not rows:
            raise NotFound("no such case", code="case_not_found")
        return rows[0]

    def _id_for_code(self, db: sqlite3.Connection, code: str) -> sqlite3.Row:
        """The newest case with this code (codes repeat only among closed cases)."""
        row = db.execute("SELECT id, status, valid_until, created_by, assigned_userid, "
                         "expert_started_at, customer_started_at FROM cases WHERE code = ? "
                         "ORDER BY id DESC LIMIT 1", (code,)).fetchone()
        if row is None:
            raise NotFound("no case has this code", code="case_not_found")
        return row

    def _fresh(self, db: sqlite3.Connection, row: sqlite3.Row, now: int) -> sqlite3.Row:
        """Expire *row*'s case if due, and return its current id/status row."""
        if row["status"] in OPEN_STATUSES and core.is_due(row["valid_until"], now):
            self._transition(db, row["id"], row["status"], "expire", "system", now)
            self._feed.notify()
            row = db.execute("SELECT id, status, valid_until, created_by, assigned_userid, "
                             "expert_started_at, customer_started_at FROM cases WHERE id = ?",
                             (row["id"],)).fetchone()
        return row

    def get_case(self, code_text: str, now: int) -> dict:
        """The newest case with this code (expired on the way if due)."""
        code = core.parse_code(code_text)
        with self._tx(read_mostly=True) as db:
            row = self._fresh(db, self._id_for_code(db, code), now)
        return self._view(self._case_row(row["id"]), now)

    def history(self, code_text: str, now: int) -> list[dict]:
        """Every transition of a case: who, when, from, to."""
        code = core.parse_code(code_text)
        with self._tx(read_mostly=True) as db:
            row = self._fresh(db, self._id_for_code(db, code), now)
        rows = self._read("SELECT ev.*, e.name AS expert_name FROM case_events ev "
                          "LEFT JOIN experts e ON ev.actor = 'expert:' || e.id "
                          "WHERE ev.case_id = ? ORDER BY ev.id", (row["id"],))
        return [event_view(r) for r in rows]

    # -- cases: changes -----------------------------------------------------------

    def edit_case(self, code_text: str, body: Any, expert_id: int, now: int) -> dict:
        """PUT: change fields; {"state": "closed"} closes the case."""
        code = core.parse_code(code_text)
        fields = core.validate_case_fields(body, now, creating=False)
        state = fields.pop("state", None)
        group = fields.pop("group", None)
        with self._tx() as db:
            row = self._fresh(db, self._id_for_code(db, code), now)
            if row["status"] in core.FINAL_STATUSES:
                if state == "closed" and row["status"] == CLOSED and not fields and group is None:
                    return self._view(self._case_row(row["id"]), now)  # closing twice is a no-op
                core.next_status(row["status"], "close")  # raises case_closed / case_expired
            if group is not None:
                fields["groupid"] = resolve_group(db, group, now)
            self._check_assignee(db, fields)
            if "assigned_userid" in fields:
                fields["assigned_at"] = now if fields["assigned_userid"] else None
            if fields:
                sets = ", ".join(f"{k} = ?" for k in fields)
                db.execute(f"UPDATE cases SET {sets}, version = ? WHERE id = ?",
                           (*fields.values(), self._feed.bump(row["id"]), row["id"]))
                db.execute("INSERT INTO case_events (case_id, at, actor, event, from_status, "
                           "to_status) VALUES (?,?,?,'edit',?,?)",
                           (row["id"], now, f"expert:{expert_id}", row["status"], row["status"]))
            if state == "closed":
                self._transition(db, row["id"], row["status"], "close", f"expert:{expert_id}", now)
        self._feed.notify()
        return self._view(self._case_row(row["id"]), now)

    def connect(self, code_text: str, expert_id: int, now: int) -> dict:
        """The expert's Connect: the expert side starts the session and takes the case."""
        code = core.parse_code(code_text)
        with self._tx() as db:
            row = self._fresh(db, self._id_for_code(db, code), now)
            if row["status"] in core.FINAL_STATUSES:
                core.next_status(row["status"], "start")  # raises case_closed / case_expired
            if row["expert_started_at"] is not None:
                if row["assigned_userid"] == expert_id:
                    return self._view(self._case_row(row["id"]), now)  # pressing twice is a no-op
                holder = db.execute("SELECT name FROM experts WHERE id = ?",
                                    (row["assigned_userid"],)).fetchone()
                raise Conflict(f"{holder[0] if holder else 'another expert'} is already connected "
                               "to this case", code="already_connected")
            self._transition(db, row["id"], row["status"], "start", f"expert:{expert_id}", now,
                             ", expert_started_at = ?, assigned_userid = ?, assigned_at = ?",
                             (now, expert_id, now))
        self._feed.notify()
        return self._view(self._case_row(row["id"]), now)

    def delete_cases(self, codes: Any) -> int:
        """Delete several cases in one transaction: all of them or, if any is unknown, none."""
        if (not isinstance(codes, list) or not codes or len(codes) > MAX_PAGE):
            raise InvalidInput(f"codes must be a list of 1-{MAX_PAGE} session codes",
                               fields={"codes": f"a list of 1-{MAX_PAGE} session codes"})
        parsed = list(dict.fromkeys(core.parse_code(c) for c in codes))
        with self._tx() as db:
            ids, missing = [], []
            for code in parsed:
                row = db.execute("SELECT id FROM cases WHERE code = ? ORDER BY id DESC LIMIT 1",
                                 (code,)).fetchone()
                (ids.append(row[0]) if row else missing.append(core.format_code(code)))
            if missing:
                raise NotFound(f"no case has the code(s) {', '.join(missing)}; nothing was deleted",
                               code="case_not_found", missing=missing)
            db.executemany("DELETE FROM cases WHERE id = ?", [(i,) for i in ids])
            self._feed.bump(*ids)  # their waiters wake to find them gone
            self._feed.end(*ids)
        self._feed.notify()
        return len(ids)

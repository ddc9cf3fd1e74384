"""Service cases as experts see them: create, expire, read, list, edit, connect, delete.

Every state change goes through _transition (core's one table of statuses) in
one transaction, takes its time as *now*, and bumps the change feed so that the
waiters of the cases it changed wake after the commit.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Callable

from sosdesk.common import rules

from . import core
from .changes import ChangeFeed
from .core import CLOSED, NEW, OPEN_STATUSES
from .db import is_unique_violation
from .expiry import Expiry, code_hold
from .errors import Conflict, InvalidInput, NotFound, StorageUnavailable
from .modules import resolve_group
from .views import case_view, event_view

#: The most cases on one page of the queue (TeamViewer's), and the default page.
MAX_PAGE = 1000
#: The most cases one answer to full_list=true holds (the rest follow by next_offset).
FULL_LIST_MAX = 10_000
#: How many rows from the page's end are tried as the next page's start (see _cursor).
CURSOR_TRIES = 50
#: The cases after a given one in the queue's order (newest first): its created_at and id
#: follow. The first condition alone is a range on the cases_*created indexes.
KEYSET = "c.created_at <= ? AND (c.created_at < ? OR c.id < ?)"
#: Due cases a read of the queue's first page expires on the way, at most (per transaction).
PAGE_EXPIRY = 200

CASE_SELECT = (
    "SELECT c.*, e.name AS assigned_name, g.id AS group_number FROM cases c "
    "LEFT JOIN experts e ON e.id = c.assigned_userid "
    "LEFT JOIN groups g ON g.name = c.groupid "
)


class Cases(Expiry):
    """The store's cases (a part of Store, over its one connection)."""

    _feed: ChangeFeed
    default_validity: int
    #: The live state of a case, (online, remote), from server memory (relay.RelayHub.live);
    #: the store alone knows none.
    live: Callable[[int, int], tuple[bool, dict | None]] = staticmethod(lambda case_id, now: (False, None))

    def _view(self, row: sqlite3.Row, now: int) -> dict:
        """A case as experts see it, with its live state."""
        return case_view(row, *self.live(row["id"], now))

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

        The case takes its holds (schema: holds), and a held code refuses it: a
        clash (rare) with a due case expires that case on the way and takes its
        code; a code held by an open case, or by one that ended and has not been
        released yet, makes it draw again.
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
                # A held code is the only refusal to handle here: the device's hold
                # (one open SOS per device) was checked before.
                holder = db.execute(
                    "SELECT c.id, c.status, c.valid_until FROM holds h LEFT JOIN cases c "
                    "ON c.id = h.case_id WHERE h.key = ?", (code_hold(code),)).fetchone()
                if not is_unique_violation(exc) or holder is None:
                    raise
                if holder["status"] in OPEN_STATUSES and core.is_due(holder["valid_until"], now):
                    self._transition(db, holder["id"], holder["status"], "expire", "system", now)
                    db.execute("DELETE FROM holds WHERE key = ?", (code_hold(code),))
                else:
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

    def list_cases(self, filters: dict[str, Any], now: int, offset: int | str | None = None,
                   limit: int = MAX_PAGE, count: bool = True) -> dict:
        """The queue, newest first: {sessions, next_offset, sessions_remaining}.

        Filters: status, state (comma-separated; with neither, open cases only, as
        TeamViewer lists), groupid (g<id>, or a group's name), assigned_userid (u<id>;
        u0 is nobody). *offset* None is the first page; a session code continues after
        that session (keyset: cases made or closed between pages neither repeat nor
        go missing) and the answer's next_offset is one; a whole number skips that
        many cases (the older paging, whose next_offset is a number too, and which
        counts nothing: its sessions_remaining is None). *count* False: None as well.
        """
        where, args, errors = [], [], {}
        statuses = core.wanted_statuses(filters, errors)
        if len(statuses) == 1:
            where.append("c.status = ?")
            args.extend(statuses)
        elif statuses and statuses != set(core.STATUSES):
            # '+' keeps SQLite off the status index here: walking cases_created
            # and stopping after one page beats sorting every open case.
            where.append(f"+c.status IN ({', '.join('?' for _ in statuses)})")
            args.extend(sorted(statuses))
        if filters.get("groupid"):
            where.append("c.groupid = ?")
            args.append(self._group_name(filters["groupid"], errors))
        if filters.get("assigned_userid"):
            expert = core.expert_filter(filters["assigned_userid"], errors)
            if expert == 0:
                where.append("c.assigned_userid IS NULL")
            elif expert is not None and self._expert_known(expert, errors):
                where.append("c.assigned_userid = ?")
                args.append(expert)
        if not 1 <= limit <= FULL_LIST_MAX or (isinstance(offset, int) and offset < 0):
            raise ValueError(f"a page is 1-{FULL_LIST_MAX} cases from offset 0 or more")
        unknown = set(filters) - {"status", "state", "groupid", "assigned_userid"}
        for key in unknown:
            errors[key] = "unknown filter"
        after = self._after(offset, errors) if isinstance(offset, str) else None
        if errors:
            raise InvalidInput("some filters are invalid", fields=errors)
        skip = offset if isinstance(offset, int) else 0
        matching, matching_args = list(where), tuple(args)
        if after is not None:
            where.append(KEYSET)
            args.extend((after[0], after[0], after[1]))
        sql = (CASE_SELECT + ("WHERE " + " AND ".join(where) + " " if where else "")
               + "ORDER BY c.created_at DESC, c.id DESC LIMIT ? OFFSET ?")
        rows = None
        first_page = after is None and skip == 0
        if first_page and statuses and statuses <= set(OPEN_STATUSES):
            # An open queue's first page: a due case is open no more, so the query
            # leaves it out, and the due cases that would have been on this page are
            # expired on the way (at most PAGE_EXPIRY, newest first; the sweep does
            # the rest). Expiring the whole backlog first took minutes after downtime.
            open_sql = sql.replace("ORDER BY", ("AND " if where else "WHERE ") + "c.valid_until > ? ORDER BY")
            rows = self._read(open_sql, (*args, now, limit + 1, 0))
            newer = (" AND c.created_at >= ?", (rows[limit]["created_at"],)) \
                if len(rows) > limit else ("", ())
            with self._tx(read_mostly=True) as db:
                expired = self._expire_due(
                    db, now, "".join(f" AND {w}" for w in where) + newer[0], (*args, *newer[1]),
                    limit=PAGE_EXPIRY, order="c.created_at DESC, c.id DESC")
            if expired:
                self._feed.notify()
        elif first_page and (not statuses or statuses & set(OPEN_STATUSES)):
            # A first page with open and closed cases: expire the due cases among
            # its first rows (a wider window each time, as expired ones may leave
            # the page) until the page has none.
            window = limit + 1
            for _ in range(12):
                rows = self._read(sql, (*args, window, 0))
                due = [r["id"] for r in rows if r["status"] in OPEN_STATUSES
                       and core.is_due(r["valid_until"], now)]
                if not set(due) & {r["id"] for r in rows[:limit + 1]}:
                    rows = rows[:limit + 1]
                    break
                for start in range(0, len(due), PAGE_EXPIRY):  # short transactions
                    chunk = tuple(due[start:start + PAGE_EXPIRY])
                    with self._tx(read_mostly=True) as db:
                        self._expire_due(db, now, f" AND id IN ({', '.join('?' for _ in chunk)})",
                                         chunk)
                self._feed.notify()
                rows, window = None, min(window * 2, 20 * MAX_PAGE)
        if rows is None:
            # Other pages and closed-only views depend on every due case: expire them
            # all, in batches like the sweep, so other requests get the lock between.
            self.expire_due(now)
            rows = self._read(sql, (*args, limit + 1, skip))
        page, next_offset = rows[:limit], None
        # The count costs a walk over every case after the page: only TeamViewer's paging
        # (by code) has it; the older paging by count (the console's, on every change) not.
        remaining: int | None = None if isinstance(offset, int) or not count else 0
        if len(rows) > limit:
            if isinstance(offset, int):
                next_offset = skip + limit
            else:
                page = page[:self._cursor(page) + 1]
                last = page[-1]
                next_offset = core.format_code(last["code"])
                remaining = None if not count else self._count([*matching, KEYSET], (
                    *matching_args, last["created_at"], last["created_at"], last["id"]))
        return {"sessions": [self._view(r, now) for r in page], "next_offset": next_offset,
                "sessions_remaining": remaining}

    def _group_name(self, value: str, errors: dict) -> str:
        """A groupid filter's group by name: g<id> looked up (noted in *errors* when no group
        has it), anything else taken as a group's name (as before groups had ids)."""
        number = rules.group_number(value)
        if number is None:
            return value
        found = self._read("SELECT name FROM groups WHERE id = ?", (number,))
        if not found:
            errors["groupid"] = f"no group has the id {value}"
            return ""
        return found[0][0]

    def _expert_known(self, expert_id: int, errors: dict) -> bool:
        """Whether the expert a filter names exists; noted in *errors* when not."""
        if self._read("SELECT 1 FROM experts WHERE id = ?", (expert_id,)):
            return True
        errors["assigned_userid"] = "no such expert"
        return False

    def _after(self, offset: str, errors: dict) -> tuple[int, int] | None:
        """Where the page after session *offset* starts: (created_at, id) of that session.

        Codes repeat among closed cases; the oldest case with the code is the one:
        a page ends only on a session whose code no other case had then (_cursor),
        and a case that takes the code later is newer.
        """
        try:
            code = core.parse_code(offset)
        except InvalidInput:
            errors["offset"] = "must be a session code like s12-345-678 (a next_offset)"
            return None
        rows = self._read("SELECT created_at, id FROM cases WHERE code = ? ORDER BY id LIMIT 1",
                          (code,))
        if not rows:
            errors["offset"] = "no session has this code (any more): start again without offset"
            return None
        return rows[0]["created_at"], rows[0]["id"]

    def _cursor(self, page: list[sqlite3.Row]) -> int:
        """The index of the row the page ends on: the last one whose code no other case
        has, so that next_offset names one session (_after); the last row if none of
        the last CURSOR_TRIES is such (codes repeat only among closed cases, rarely)."""
        for index in range(len(page) - 1, max(-1, len(page) - 1 - CURSOR_TRIES), -1):
            shared = self._read("SELECT COUNT(*) FROM cases WHERE code = ?", (page[index]["code"],))
            if shared[0][0] == 1:
                return index
        return len(page) - 1

    def _count(self, where: list[str], args: tuple) -> int:
        """How many cases match *where*."""
        # A count has no order to keep: the status index ranges serve it ('+' would not).
        where = [clause.replace("+c.status", "c.status") for clause in where]
        sql = "SELECT COUNT(*) FROM cases c" + (" WHERE " + " AND ".join(where) if where else "")
        return self._read(sql, args)[0][0]

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

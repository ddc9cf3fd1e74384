"""The queue as TeamViewer lists it: ``GET /api/v1/sessions``, newest first, paged by
session code (keyset) or by count, open cases by default (cases.py holds the rest of
the expert's side; case_search.py the console's searched and sorted queue)."""

from __future__ import annotations

import re
import sqlite3
import time
from typing import Any

from sosdesk.common import rules

from . import core
from .cases import CASE_SELECT, FULL_LIST_MAX, MAX_PAGE, Cases
from .core import OPEN_STATUSES
from .errors import InvalidInput

#: How many rows from the page's end are tried as the next page's start (see _cursor).
CURSOR_TRIES = 50
#: The cases after a given one in the queue's order (newest first): its created_at and id
#: follow. The first condition alone is a range on the cases_*created indexes.
KEYSET = "c.created_at <= ? AND (c.created_at < ? OR c.id < ?)"
#: Due cases a read of the queue's first page expires on the way, at most (per transaction).
PAGE_EXPIRY = 200


class CaseList(Cases):
    """The queue's pages (a part of Store, over its one connection)."""

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
        statuses: set[str] = set()
        if filters.get("status"):
            wanted = set(filters["status"].split(","))
            if wanted - set(core.STATUSES):
                errors["status"] = f"must be among {', '.join(core.STATUSES)}"
            statuses = wanted
        state = filters.get("state") or ("" if filters.get("status") else "open")
        if state:
            states = set(state.split(","))
            if states - {"open", "closed"}:
                errors["state"] = "must be open, closed or open,closed"
            by_state = {s for s in core.STATUSES if core.state_of(s) in states}
            statuses = statuses & by_state if statuses else by_state
            if not statuses:
                statuses = {"none"}
        if len(statuses) == 1:
            where.append("c.status = ?")
            args.extend(statuses)
        elif statuses and statuses != set(core.STATUSES):
            # '+' keeps SQLite off the status index here: walking cases_created
            # and stopping after one page beats sorting every open case.
            where.append(f"+c.status IN ({', '.join('?' for _ in statuses)})")
            args.extend(sorted(statuses))
        if filters.get("groupid"):
            value = filters["groupid"]
            number = rules.group_number(value)
            if number is not None:  # a group id; anything else is a group's name (as before ids)
                found = self._read("SELECT name FROM groups WHERE id = ?", (number,))
                if not found:
                    errors["groupid"] = f"no group has the id {value}"
                value = found[0][0] if found else ""
            where.append("c.groupid = ?")
            args.append(value)
        if filters.get("assigned_userid"):
            value = filters["assigned_userid"]
            if not re.fullmatch(r"u[0-9]{1,18}", value):
                errors["assigned_userid"] = "must be an expert id like u1 (u0: nobody)"
            elif int(value[1:]) == 0:
                where.append("c.assigned_userid IS NULL")
            elif not self._read("SELECT 1 FROM experts WHERE id = ?", (int(value[1:]),)):
                errors["assigned_userid"] = "no such expert"
            else:
                where.append("c.assigned_userid = ?")
                args.append(int(value[1:]))
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

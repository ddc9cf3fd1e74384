"""The queue searched and sorted: ``GET /api/v1/queue``, sosdesk's own route.

TeamViewer's list (``GET /api/v1/sessions``, cases.py) has filters and pages but no
search, no choice of order and no total; the console needs all three. This route
takes the same filters, read the same way, plus ``q``, ``sort``, ``order``,
``cursor``, ``total`` and ``limit`` (docs/api.md, "Searching and sorting the
queue"). /sessions stays TeamViewer's exactly: there these are unknown parameters.

Paging is by keyset, never by position: the cursor is the last row's sort value
and id, so a page continues after exactly that row even when cases were added,
changed or deleted in between (an offset would skip or repeat rows then).
:class:`QueueQuery` reads and checks the parameters and writes the SQL, with no
I/O; :class:`CaseSearch` runs it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
from typing import Any, Mapping

from . import core
from .cases import MAX_PAGE, Cases
from .core import OPEN_STATUSES
from .errors import InvalidInput

__all__ = ["EXTENSIONS", "SORTS", "QueueQuery", "CaseSearch"]

#: What the queue takes besides TeamViewer's filters.
EXTENSIONS = ("q", "sort", "order", "cursor", "total")
#: TeamViewer's filters, read as its list reads them (cases.list_cases): open cases when
#: neither status nor state is given, groupid g<id> or a group's name, u0 for nobody.
FILTERS = ("status", "state", "groupid", "assigned_userid")
#: TeamViewer's paging, which a searched or sorted list replaces by cursor.
PAGING = ("offset", "full_list", "count")
DEFAULT_LIMIT = 100
MAX_QUERY = 200
MAX_TERMS = 8

#: What each sortable column sorts by: an SQL expression over ``cases c`` and ``experts e``.
SORTS: dict[str, str] = {
    "created": "c.created_at",
    "code": "c.code",
    "customer": "lower(COALESCE(NULLIF(c.customer_name, ''), c.device_user))",
    "problem": "lower(c.description)",
    "device": "lower(c.device_hostname)",
    "status": ("CASE c.status WHEN 'new' THEN 0 WHEN 'pending' THEN 1 WHEN 'in_progress' THEN 2 "
               "WHEN 'closed' THEN 3 ELSE 4 END"),
    "group": "lower(c.groupid)",
    "assigned": "lower(COALESCE(e.name, ''))",
    "valid_until": "c.valid_until",
    # The console's default: customers waiting for an expert (an SOS, or they joined; nobody
    # connected yet) the longest-waiting first, then every other case by age. One number,
    # so the keyset cursor works as for any column: the others are pushed past any time.
    "waiting": ("CASE WHEN c.status IN ('new', 'pending') AND c.expert_started_at IS NULL "
                "AND (c.created_by = 'customer' OR c.customer_started_at IS NOT NULL) "
                f"THEN c.created_at ELSE c.created_at + {1 << 40} END"),
}
#: The columns a search term is looked for in (besides the code's digits).
SEARCHED = ("c.customer_name", "c.customer_email", "c.device_hostname", "c.device_user",
            "c.description")


def _like(term: str) -> str:
    """*term* as a LIKE pattern matching it anywhere, its wildcards escaped."""
    return "%" + re.sub(r"([\\%_])", r"\\\1", term) + "%"


@dataclasses.dataclass(frozen=True)
class QueueQuery:
    """One search of the queue, checked: filters, search terms, order, page."""

    statuses: frozenset[str] = frozenset()
    groupid: str | None = None  # as given: g<id> or a name (the store turns an id into its name)
    assigned: int | None = None  # an expert's id; 0: nobody
    terms: tuple[str, ...] = ()
    sort: str = "created"
    order: str = "desc"
    after: tuple[Any, int] | None = None  # the cursor: the last row's sort value and id
    limit: int = 100
    total: bool = False

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> "QueueQuery":
        """Read the list route's query; InvalidInput names every bad parameter at once."""
        errors: dict[str, str] = {}
        for key in params:
            if key in PAGING:
                errors[key] = "a searched or sorted list pages with cursor (next_cursor of the page before)"
            elif key not in (*FILTERS, *EXTENSIONS, "limit"):
                errors[key] = "unknown parameter"
        limit = DEFAULT_LIMIT
        if params.get("limit") is not None:
            text = params["limit"]
            limit = int(text) if text.isascii() and text.isdigit() and len(text) < 6 else 0
            if not 1 <= limit <= MAX_PAGE:
                errors["limit"] = f"must be a whole number from 1 to {MAX_PAGE}"
        statuses = core.wanted_statuses(params, errors)
        assigned = None
        if params.get("assigned_userid"):
            assigned = core.expert_filter(params["assigned_userid"], errors)
        text = params.get("q", "")
        if len(text) > MAX_QUERY or "\x00" in text:
            errors["q"] = f"must be at most {MAX_QUERY} characters"
        terms = tuple(dict.fromkeys(text.split()))[:MAX_TERMS]
        sort = params.get("sort") or "created"
        if sort not in SORTS:
            errors["sort"] = f"must be one of {', '.join(SORTS)}"
        order = params.get("order") or ("desc" if "sort" not in params else "asc")
        if order not in ("asc", "desc"):
            errors["order"] = "must be asc or desc"
        total = params.get("total", "")
        if total not in ("", "0", "1", "true", "false"):
            errors["total"] = "must be true or false"
        query = cls(frozenset(statuses), params.get("groupid") or None, assigned, terms, sort, order,
                    None, limit, total in ("1", "true"))
        after = None
        if params.get("cursor") and not errors:
            after = query.read_cursor(params["cursor"], errors)
        if errors:
            raise InvalidInput("some parameters are invalid", fields=errors)
        return dataclasses.replace(query, after=after)

    # -- the cursor: where the next page starts -------------------------------------------

    def cursor_after(self, value: Any, case_id: int) -> str:
        """The opaque cursor for the page after the row with sort *value* and *case_id*."""
        raw = json.dumps([self.sort, self.order, value, case_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def read_cursor(self, cursor: str, errors: dict[str, str]) -> tuple[Any, int] | None:
        """The (sort value, id) in *cursor*; noted in *errors* unless it is this sort's own."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            sort, order, value, case_id = json.loads(raw)
            valid = (sort == self.sort and order == self.order and type(case_id) is int
                     and (type(value) is int or isinstance(value, str)))
        except (binascii.Error, ValueError, TypeError):
            valid = False
        if not valid:
            errors["cursor"] = "is not a cursor this list gave for this sort and order"
            return None
        return value, case_id

    # -- the SQL ---------------------------------------------------------------------------

    def where(self, with_cursor: bool = True) -> tuple[str, list[Any]]:
        """The WHERE clause (or '') and its arguments."""
        clauses: list[str] = []
        args: list[Any] = []
        if self.statuses:
            clauses.append(f"c.status IN ({', '.join('?' for _ in self.statuses)})")
            args.extend(sorted(self.statuses))
        if self.groupid is not None:
            clauses.append("c.groupid = ?")
            args.append(self.groupid)
        if self.assigned == 0:
            clauses.append("c.assigned_userid IS NULL")
        elif self.assigned is not None:
            clauses.append("c.assigned_userid = ?")
            args.append(self.assigned)
        for term in self.terms:
            searched = [f"{column} LIKE ? ESCAPE '\\'" for column in SEARCHED]
            args.extend(_like(term) for _ in SEARCHED)
            digits = re.sub(r"[-\s]", "", term.lower()).removeprefix("s")
            if digits.isdigit():  # a code or a part of one, as written anywhere: s12-345, 12345
                searched.append("c.code LIKE ?")
                args.append(_like(digits))
            clauses.append("(" + " OR ".join(searched) + ")")
        if with_cursor and self.after is not None:
            clauses.append(f"({SORTS[self.sort]}, c.id) {'>' if self.order == 'asc' else '<'} (?, ?)")
            args.extend(self.after)
        return ("WHERE " + " AND ".join(clauses) + " " if clauses else ""), args

    def page_sql(self) -> tuple[str, list[Any]]:
        """The page's SELECT (one row more than the page, to know whether another follows)."""
        where, args = self.where()
        direction = "ASC" if self.order == "asc" else "DESC"
        sql = (f"SELECT c.*, e.name AS assigned_name, g.id AS group_number, {SORTS[self.sort]} AS sort_value "
               f"FROM cases c LEFT JOIN experts e ON e.id = c.assigned_userid "
               f"LEFT JOIN groups g ON g.name = c.groupid {where}"
               f"ORDER BY sort_value {direction}, c.id {direction} LIMIT ?")
        return sql, [*args, self.limit + 1]

    def count_sql(self, before_page: bool = False) -> tuple[str, list[Any]]:
        """How many cases match, on every page (*before_page*: on the pages before this one)."""
        where, args = self.where(with_cursor=False)
        if before_page and self.after is not None:
            # The rows up to the cursor (the last row of the page before), the cursor's included.
            up_to = f"({SORTS[self.sort]}, c.id) {'<=' if self.order == 'asc' else '>='} (?, ?)"
            where = (where + "AND " if where else "WHERE ") + up_to + " "
            args = [*args, *self.after]
        join = "LEFT JOIN experts e ON e.id = c.assigned_userid " if self.sort == "assigned" else ""
        return f"SELECT COUNT(*) FROM cases c {join}{where}", args


class CaseSearch(Cases):
    """The queue searched and sorted (a part of Store, over its one connection)."""

    def search_cases(self, params: Mapping[str, str], now: int) -> dict:
        """A page of the queue by :class:`QueueQuery`: {sessions, next_cursor[, total, before]}."""
        query = self._known(QueueQuery.parse(params))
        limit = query.limit
        sql, args = query.page_sql()
        for _ in range(5):
            # Due cases on this page are expired first (as reading one case does), then
            # the page is read again: it must not show a case as open that has expired.
            rows = self._read(sql, tuple(args))
            due = tuple(r["id"] for r in rows if r["status"] in OPEN_STATUSES
                        and core.is_due(r["valid_until"], now))
            if not due:
                break
            with self._tx(read_mostly=True) as db:
                self._expire_due(db, now, f" AND id IN ({', '.join('?' for _ in due)})", due)
            self._feed.notify()
        last = rows[limit - 1] if len(rows) > limit else None
        answer: dict[str, Any] = {
            "sessions": [self._view(r, now) for r in rows[:limit]],
            "next_cursor": query.cursor_after(last["sort_value"], last["id"]) if last else None,
        }
        if query.total:
            count, count_args = query.count_sql()
            answer["total"] = self._read(count, tuple(count_args))[0][0]
            # Where this page starts: pages before it may have lost or gained cases since.
            answer["before"] = 0
            if query.after is not None:
                count, count_args = query.count_sql(before_page=True)
                answer["before"] = self._read(count, tuple(count_args))[0][0]
        return answer

    def _known(self, query: QueueQuery) -> QueueQuery:
        """*query* with its group by name; 400 for a group id or an expert that does not exist."""
        errors: dict[str, str] = {}
        groupid = self._group_name(query.groupid, errors) if query.groupid else query.groupid
        if query.assigned:
            self._expert_known(query.assigned, errors)
        if errors:
            raise InvalidInput("some parameters are invalid", fields=errors)
        return dataclasses.replace(query, groupid=groupid)

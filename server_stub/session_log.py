"""What the database keeps of remote sessions: their events in the case history,
the chat, and the one status change a session makes (pending -> in_progress).

Screen content never comes here (relay.py keeps it in memory). Every event is a
row of case_events with its JSON ``detail`` (who, what, the chat's text), and
bumps the case's version like any other change, so the console's feed and the
customer's long-poll see it. The chat is those rows too: a message's id is its
event's id, so the transcript is the history and is stored once.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from . import core
from .cases import Cases
from .errors import InvalidInput, NotFound

#: Session events that are no status change (the history's words for them are the console's).
SESSION_EVENTS = ("session_requested", "session_allowed", "session_denied", "session_stopped",
                  "control_requested", "control_allowed", "control_denied", "control_released",
                  "control_stopped", "chat")
CHAT_LIMIT = 2000
#: How many messages one read returns at most (the oldest first from `since`).
CHAT_PAGE = 500


def chat_text(body: Any) -> str:
    """The text of a chat message from a request body: 1-2000 characters, not only spaces."""
    text = body.get("text") if isinstance(body, dict) else None
    if isinstance(body, dict) and set(body) - {"text"}:
        raise InvalidInput("a chat message is {\"text\": \"...\"}",
                           fields={key: "unknown field" for key in set(body) - {"text"}})
    if not isinstance(text, str) or not text.strip() or len(text) > CHAT_LIMIT or "\x00" in text:
        raise InvalidInput(f"a chat message is 1-{CHAT_LIMIT} characters",
                           fields={"text": f"1-{CHAT_LIMIT} characters, not only spaces"})
    return text


def message_view(row: sqlite3.Row) -> dict[str, Any]:
    """A chat message as both sides read it."""
    detail = json.loads(row["detail"])
    return {"id": row["id"], "at": core.iso(row["at"]),
            "from": "customer" if row["actor"] == "customer" else "expert",
            "name": detail.get("name", ""), "text": detail["text"]}


class SessionLog(Cases):
    """The remote sessions' records (a part of Store, over its one connection)."""

    def session_case(self, case_id: int, now: int) -> sqlite3.Row:
        """A case's row for the session routes (expired on the way if due); NotFound once deleted."""
        with self._tx(read_mostly=True) as db:
            row = db.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone()
            if row is None:
                raise NotFound("no such case", code="case_not_found")
            self._fresh(db, row, now)
        return self._read("SELECT c.*, e.name AS assigned_name FROM cases c LEFT JOIN experts e "
                          "ON e.id = c.assigned_userid WHERE c.id = ?", (case_id,))[0]

    def case_id_for_code(self, code_text: str, now: int) -> int:
        """The id of the newest case with this code (expired on the way if due)."""
        code = core.parse_code(code_text)
        with self._tx(read_mostly=True) as db:
            return self._fresh(db, self._id_for_code(db, code), now)["id"]

    def case_statuses(self, case_ids: list[int]) -> dict[int, str]:
        """The status of each of *case_ids* that still exists."""
        found: dict[int, str] = {}
        for start in range(0, len(case_ids), 500):
            chunk = case_ids[start:start + 500]
            rows = self._read(f"SELECT id, status FROM cases WHERE id IN "
                              f"({', '.join('?' for _ in chunk)})", tuple(chunk))
            found.update((row[0], row[1]) for row in rows)
        return found

    def record_session_event(self, case_id: int, event: str, actor: str, now: int,
                             detail: dict[str, Any] | None = None) -> int:
        """Write one session event into an open case's history; returns its id.

        Raises case_closed / case_expired (409) or case_not_found (404) when the
        case is no longer open.
        """
        if event not in SESSION_EVENTS:
            raise ValueError(event)
        with self._tx() as db:
            row = self._open_row(db, case_id, now)
            event_id = self._insert_event(db, row, event, actor, now, detail)
        self._feed.notify()
        return event_id

    def establish_session(self, case_id: int, actor: str, now: int) -> bool:
        """The session is established: a pending case becomes in_progress (once).

        Returns whether the status changed. The customer who allowed viewing has
        started their side, so customer_started_at is set if it was not.
        """
        with self._tx() as db:
            row = self._open_row(db, case_id, now)
            if row["status"] != core.PENDING:
                return False
            self._transition(db, case_id, row["status"], core.ESTABLISHED, actor, now,
                             ", customer_started_at = COALESCE(customer_started_at, ?)", (now,))
        self._feed.notify()
        return True

    def add_chat(self, case_id: int, actor: str, name: str, text: str, now: int) -> dict[str, Any]:
        """Store a chat message in an open case's history; returns the message."""
        with self._tx() as db:
            row = self._open_row(db, case_id, now)
            event_id = self._insert_event(db, row, "chat", actor, now, {"name": name, "text": text})
        self._feed.notify()
        return message_view(self._read("SELECT * FROM case_events WHERE id = ?", (event_id,))[0])

    def chat_since(self, case_id: int, since: int) -> list[dict[str, Any]]:
        """The case's chat messages after message id *since*, oldest first (at most CHAT_PAGE)."""
        rows = self._read("SELECT * FROM case_events WHERE case_id = ? AND id > ? AND event = 'chat' "
                          "ORDER BY id LIMIT ?", (case_id, since, CHAT_PAGE))
        return [message_view(row) for row in rows]

    def touch(self, case_ids: set[int] | list[int]) -> None:
        """Wake the console's feed for cases whose live state (presence) changed; nothing is written."""
        if case_ids:
            with self._lock:
                self._feed.bump(*case_ids)
            self._feed.notify()

    def _open_row(self, db: sqlite3.Connection, case_id: int, now: int) -> sqlite3.Row:
        row = db.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone()
        if row is None:
            raise NotFound("this case no longer exists", code="case_not_found")
        row = self._fresh(db, row, now)
        if row["status"] in core.FINAL_STATUSES:
            core.next_status(row["status"], "start")  # raises case_closed / case_expired
        return db.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone()

    def _insert_event(self, db: sqlite3.Connection, row: sqlite3.Row, event: str, actor: str,
                      now: int, detail: dict[str, Any] | None) -> int:
        db.execute("UPDATE cases SET version = ? WHERE id = ?",
                   (self._feed.bump(row["id"]), row["id"]))
        return db.execute(
            "INSERT INTO case_events (case_id, at, actor, event, from_status, to_status, detail) "
            "VALUES (?,?,?,?,?,?,?)",
            (row["id"], now, actor, event, row["status"], row["status"],
             json.dumps(detail, ensure_ascii=False) if detail else None)).lastrowid

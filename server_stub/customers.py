"""The customer's side of a case: SOS, joining by code, starting, closing, waiting.

A customer is known by a token bound to one case and one device (auth.py); a
wrong token and a deleted case look the same, so a token reveals nothing.
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any, Callable

from . import auth, core
from .cases import CASE_SELECT, Cases
from .core import CLOSED
from .errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from .expiry import OPEN_SQL, sos_hold
from .views import customer_view


def device_hash(device_id: str) -> str:
    """How a device id is stored: sha256 hex (the id itself is the agent's secret)."""
    return hashlib.sha256(device_id.encode("utf-8")).hexdigest()


class CustomerCases(Cases):
    """The customer's requests (a part of Store, over its one connection)."""

    _token_key: bytes

    def sos(self, body: Any, now: int) -> tuple[dict, str, bool]:
        """A customer's agent asks for help: (case, customer token, created?).

        Idempotent per device and module: while the device has an open SOS case
        from this module, that case is returned, never a second one. Cases the
        device joined (made by an expert) do not count: they are the expert's.
        """
        errors: dict[str, str] = {}
        if not isinstance(body, dict):
            raise InvalidInput("the request body must be a JSON object")
        device_id = core.validate_device_id(body.get("device_id"), errors)
        device = core.validate_device(body, errors)
        description = core._text(body, "description", core.LIMITS["description"], errors) or ""
        module_id = core.validate_module_id(body.get("module_id"), errors)
        for key in body:
            if key not in ("device_id", "device", "description", "module_id"):
                errors[key] = "unknown field"
        if errors:
            raise InvalidInput("some fields are invalid", fields=errors)
        dev = device_hash(device_id)
        # Shares its COMMIT with SOS requests arriving together (db.Database._grouped_tx).
        with self._grouped_tx() as db:
            groupid = core.DEFAULT_GROUP
            if module_id is not None:
                module = db.execute("SELECT * FROM modules WHERE id = ?", (module_id,)).fetchone()
                if module is None:
                    raise NotFound("this support agent is not registered with the server",
                                   code="module_not_found", fields={"module_id": "no such module"})
                if module["revoked_at"] is not None:
                    raise Forbidden("this support agent has been revoked by the support company; "
                                    "please ask them for a new one", code="module_revoked")
                groupid = module["groupid"]
            # The device's hold names its open SOS case, or one that ended and was
            # not released yet: that one is released here, and the device gets a
            # new case (its status decides, not the hold).
            hold = sos_hold(dev, module_id)
            held = db.execute("SELECT c.id, c.status, c.valid_until FROM holds h LEFT JOIN "
                              "cases c ON c.id = h.case_id WHERE h.key = ?", (hold,)).fetchone()
            existing = None
            if held is not None:
                if held["status"] in core.OPEN_STATUSES and core.is_due(held["valid_until"], now):
                    self._transition(db, held["id"], held["status"], "expire", "system", now)
                elif held["status"] in core.OPEN_STATUSES:
                    existing = held
                if existing is None:
                    db.execute("DELETE FROM holds WHERE key = ?", (hold,))
            if existing is not None:
                case_id, created = existing[0], False
            else:
                fields = {"groupid": groupid, "module_id": module_id, "device_hash": dev,
                          "description": description, **device}
                case_id, created = self._insert_case(db, fields, "customer", now), True
            # Read in the transaction (answered only once it is committed): one turn
            # of the lock fewer than a read after it.
            row = db.execute(CASE_SELECT + "WHERE c.id = ?", (case_id,)).fetchone()
        if created:
            self._feed.notify()
        return customer_view(row), auth.case_token(self._token_key, case_id, dev), created

    def join(self, body: Any, now: int) -> tuple[dict, str]:
        """A customer joins an expert-created case by its code: (case, customer token).

        The first device to join binds the case; the same device may join again
        (a retry), another device is refused.
        """
        errors: dict[str, str] = {}
        if not isinstance(body, dict):
            raise InvalidInput("the request body must be a JSON object")
        code = core.parse_code(body.get("code"))
        device_id = core.validate_device_id(body.get("device_id"), errors)
        device = core.validate_device(body, errors)
        for key in body:
            if key not in ("code", "device_id", "device"):
                errors[key] = "unknown field"
        if errors:
            raise InvalidInput("some fields are invalid", fields=errors)
        dev = device_hash(device_id)
        with self._tx() as db:
            self._expire_due(db, now, " AND code = ?", (code,))
            row = db.execute(f"SELECT * FROM cases WHERE code = ? AND status IN {OPEN_SQL}",
                             (code,)).fetchone()
            if row is None:
                raise NotFound("no open support case has this code", code="case_not_found")
            if row["device_hash"] is not None and row["device_hash"] != dev:
                raise Conflict("another device has already joined this case", code="case_taken")
            if row["device_hash"] is None:
                db.execute("UPDATE cases SET device_hash = ?, device_hostname = ?, device_os = ?, "
                           "device_user = ?, version = ? WHERE id = ?",
                           (dev, device["device_hostname"], device["device_os"],
                            device["device_user"], self._feed.bump(row["id"]), row["id"]))
        self._feed.notify()
        return (customer_view(self._case_row(row["id"])),
                auth.case_token(self._token_key, row["id"], dev))


    def customer_case_id(self, token: str) -> int:
        """The case a customer token belongs to; NotFound for any bad token.

        A wrong token and a deleted case look the same, so a token reveals nothing.
        """
        parsed = auth.parse_case_token(token)
        if parsed is not None:
            case_id, _ = parsed
            rows = self._read("SELECT device_hash FROM cases WHERE id = ?", (case_id,))
            if rows and auth.check_case_token(self._token_key, token, case_id, rows[0][0]):
                return case_id
        raise Unauthorized("this support request is not known (any more)", code="invalid_case_token")

    def _customer_row(self, db: sqlite3.Connection, case_id: int, now: int) -> sqlite3.Row:
        """The customer's case (expired on the way if due); NotFound once deleted."""
        row = db.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone()
        if row is None:
            raise NotFound("this support request was removed", code="case_not_found")
        return self._fresh(db, row, now)

    def customer_case(self, case_id: int, now: int) -> dict:
        """The customer's view of their case (expired on the way if due)."""
        with self._tx(read_mostly=True) as db:
            self._customer_row(db, case_id, now)
        return customer_view(self._case_row(case_id))

    def customer_start(self, case_id: int, now: int) -> dict:
        """The customer side starts (or joins) the session."""
        with self._tx() as db:
            row = self._customer_row(db, case_id, now)
            if row["status"] in core.FINAL_STATUSES:
                core.next_status(row["status"], "start")
            event = core.start_event("customer", row["expert_started_at"] is not None,
                                     row["customer_started_at"] is not None)
            if event:
                self._transition(db, case_id, row["status"], event, "customer", now,
                                 ", customer_started_at = ?", (now,))
        self._feed.notify()
        return customer_view(self._case_row(case_id))

    def customer_close(self, case_id: int, now: int) -> dict:
        """The customer closes their own request (only one they created)."""
        with self._tx() as db:
            row = self._customer_row(db, case_id, now)
            if row["created_by"] != "customer":
                raise Forbidden("only the expert who created this case can close it",
                                code="not_case_creator")
            if row["status"] != CLOSED:
                self._transition(db, case_id, row["status"], "close", "customer", now)
        self._feed.notify()
        return customer_view(self._case_row(case_id))

    def customer_describe(self, case_id: int, body: Any, now: int) -> dict:
        """The customer says what they need help with: the description of their own request."""
        errors: dict[str, str] = {}
        if not isinstance(body, dict):
            raise InvalidInput("the request body must be a JSON object")
        for key in body:
            if key != "description":
                errors[key] = "unknown field"
        if "description" not in body:
            errors["description"] = "required"
        description = core._text(body, "description", core.LIMITS["description"], errors)
        if errors:
            raise InvalidInput("some fields are invalid", fields=errors)
        with self._tx() as db:
            row = self._customer_row(db, case_id, now)
            if row["created_by"] != "customer":
                raise Forbidden("the expert who created this case wrote its description; "
                                "tell them in the chat", code="not_case_creator")
            if row["status"] in core.FINAL_STATUSES:
                core.next_status(row["status"], "close")  # raises case_closed / case_expired
            if (description or "") != row["description"]:
                db.execute("UPDATE cases SET description = ?, version = ? WHERE id = ?",
                           (description or "", self._feed.bump(case_id), case_id))
                db.execute("INSERT INTO case_events (case_id, at, actor, event, from_status, "
                           "to_status, detail) VALUES (?,?,'customer','edit',?,?,?)",
                           (case_id, now, row["status"], row["status"],
                            '{"fields": ["description"]}'))
        self._feed.notify()
        return customer_view(self._case_row(case_id))

    def wait_customer_case(self, case_id: int, since: int, timeout: float,
                           clock: Callable[[], float]) -> dict:
        """Long-poll: the case as soon as its version passes *since*, or at *timeout*.

        Only a change to this case, its deadline or stopping wakes it (ChangeFeed.wait_case).
        """
        # Looked up on each call: tests count the reads by wrapping customer_case.
        return self._feed.wait_case(case_id, since, timeout, clock, self.customer_case)

    def link_case(self, code_text: str, now: int) -> dict[str, Any]:
        """The open case an end_customer_link names: only its code, module and group.

        NotFound (case_not_found) for a code no open case has: a closed case's link
        tells as little as a code never used.
        """
        code = core.parse_code(code_text)
        with self._tx(read_mostly=True) as db:
            row = self._fresh(db, self._id_for_code(db, code), now)
            if row["status"] not in core.OPEN_STATUSES:
                raise NotFound("no open case has this code", code="case_not_found")
            found = db.execute("SELECT code, module_id, groupid FROM cases WHERE id = ?",
                               (row["id"],)).fetchone()
        return {"code": core.format_code(found["code"]), "module_id": found["module_id"],
                "groupid": found["groupid"]}


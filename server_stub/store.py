"""Service cases in SQLite: every state change in one transaction, time passed in.

One connection, one lock: SQLite serializes writers anyway, and holding the lock
for a whole transaction makes "two experts press Connect at once" and "twenty
SOS clicks from one device" plain sequential code with exactly one outcome.
Waiting holds no lock: a customer's long-poll waits on an event of its own,
registered under its case, and a change wakes only the waiters of the cases it
changed; the console's change feed waits on a condition of the store lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.resources
import logging
import re
import secrets
import sqlite3
import threading
import time
from typing import Any, Callable, Iterator

from . import auth, core
from .core import CLOSED, NEW, OPEN_STATUSES
from .errors import Conflict, Forbidden, InvalidInput, NotFound, StorageUnavailable, Unauthorized

log = logging.getLogger("sosdesk.store")

SCHEMA_VERSION = 1
MAX_PAGE = 1000
_OPEN_SQL = "('new', 'pending', 'in_progress')"

_CASE_SELECT = (
    "SELECT c.*, e.name AS assigned_name FROM cases c "
    "LEFT JOIN experts e ON e.id = c.assigned_userid "
)


def device_hash(device_id: str) -> str:
    """How a device id is stored: sha256 hex (the id itself is the agent's secret)."""
    return hashlib.sha256(device_id.encode("utf-8")).hexdigest()


def case_view(row: sqlite3.Row) -> dict[str, Any]:
    """A case as the expert API shows it (TeamViewer's field names where they exist)."""
    return {
        "code": core.format_code(row["code"]),
        "status": row["status"],
        "state": core.state_of(row["status"]),
        "groupid": row["groupid"],
        "description": row["description"],
        "end_customer": {"name": row["customer_name"], "email": row["customer_email"]},
        "assigned_userid": f"u{row['assigned_userid']}" if row["assigned_userid"] else None,
        "assigned_name": row["assigned_name"],
        "assigned_at": core.iso(row["assigned_at"]),
        "waiting_message": row["waiting_message"],
        "custom_api": row["custom_api"],
        "custom_module_id": row["module_id"],
        "created_by": row["created_by"],
        "device": ({"hostname": row["device_hostname"], "os": row["device_os"],
                    "user": row["device_user"]} if row["device_hash"] else None),
        "expert_started": row["expert_started_at"] is not None,
        "customer_started": row["customer_started_at"] is not None,
        "created_at": core.iso(row["created_at"]),
        "valid_until": core.iso(row["valid_until"]),
        "closed_at": core.iso(row["closed_at"]),
        "version": row["version"],
    }


def customer_view(row: sqlite3.Row) -> dict[str, Any]:
    """A case as its customer sees it: no other customer's or integration data."""
    return {
        "code": core.format_code(row["code"]),
        "status": row["status"],
        "state": core.state_of(row["status"]),
        "description": row["description"],
        "waiting_message": row["waiting_message"],
        "expert_name": row["assigned_name"] if row["expert_started_at"] else None,
        "customer_started": row["customer_started_at"] is not None,
        "can_close": row["created_by"] == "customer",
        "created_at": core.iso(row["created_at"]),
        "valid_until": core.iso(row["valid_until"]),
        "closed_at": core.iso(row["closed_at"]),
        "version": row["version"],
    }


class Store:
    """The server's state. Every public method that changes something takes *now*."""

    def __init__(self, path: str, default_validity: int = core.DEFAULT_VALIDITY) -> None:
        self.path = path
        self.default_validity = default_validity
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)  # the console's change feed
        # Customer long-polls by case id. A change wakes only its cases' waiters:
        # with thousands of agents waiting, waking all of them to re-read their
        # case under the lock made every change cost ~0.5 s of other requests.
        self._waiters_lock = threading.Lock()  # taken after the store lock, never before
        self._case_waiters: dict[int, set[threading.Event]] = {}
        self._changed_cases: set[int] = set()  # changed since the last _notify (store lock)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA busy_timeout = 5000")
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL survives a killed process; only power loss can lose
            # the last commits, which is the usual trade for a service like this.
            self._db.execute("PRAGMA synchronous = NORMAL")
            # Checkpoints (the only fsyncs) run on the timer thread through their
            # own connection (checkpoint()), not inside a request: done by the
            # committing request they cost it ~17 ms, every ~100 SOS (p99).
            # The large limit is a backstop should the timer not run.
            self._db.execute("PRAGMA wal_autocheckpoint = 10000")
        self._migrate()
        self._token_key = bytes.fromhex(self._meta("customer_token_key"))
        self._stopping = False
        self._checkpointer: sqlite3.Connection | None = None
        self._seq = self._db.execute("SELECT COALESCE(MAX(version), 0) FROM cases").fetchone()[0]

    # -- plumbing -------------------------------------------------------------

    def _migrate(self) -> None:
        has_version = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'").fetchone()
        if not has_version:
            schema = importlib.resources.files(__package__).joinpath("schema.sql").read_text()
            with self._tx() as db:
                for statement in _statements(schema):
                    db.execute(statement)
                db.execute("INSERT INTO meta VALUES ('customer_token_key', ?)",
                           (secrets.token_hex(32),))
        version = self._db.execute("SELECT version FROM schema_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise StorageUnavailable(
                f"database {self.path} has schema version {version}, this server knows "
                f"{SCHEMA_VERSION}", code="schema_mismatch")

    @contextlib.contextmanager
    def _tx(self, read_mostly: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction under the store lock; storage faults -> StorageUnavailable.

        *read_mostly* (reads that expire due cases on the way) begins deferred:
        it takes the write lock only if there is something to expire, so reads
        keep working while the database is read-only.
        """
        with self._lock:
            try:
                self._db.execute("BEGIN DEFERRED" if read_mostly else "BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise _storage_error(exc) from None
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError):
                    raise _storage_error(exc) from None
                if isinstance(exc, sqlite3.IntegrityError):
                    raise _constraint_error(exc) from None
                raise

    def _read(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.OperationalError as exc:
                raise _storage_error(exc) from None

    def _meta(self, key: str) -> str:
        return self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    def _bump(self, case_id: int | None, *more: int) -> int:
        """The next change version for the cases it changes (None: a new case), under the lock.

        The case ids are required so that no change forgets to wake its waiters.
        """
        self._seq += 1
        if case_id is not None:
            self._changed_cases.update((case_id, *more))
        return self._seq

    def _notify(self) -> None:
        """Wake the console's feed and the waiters of the cases changed since the last call.

        Called after the commit, or inside a transaction (expiry in _fresh): a
        woken waiter reads under the store lock, so it sees the commit either way.
        A rolled-back change leaves its ids behind: they cost a spurious wake-up
        later, where dropping them could drop a committed change not yet notified.
        """
        with self._changed:
            changed, self._changed_cases = self._changed_cases, set()
            self._changed.notify_all()
        with self._waiters_lock:
            events = [event for case_id in changed
                      for event in self._case_waiters.get(case_id, ())]
        for event in events:
            event.set()

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

    def wake_waiters(self) -> None:
        """Make every long-poll answer now (the server is stopping)."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        with self._waiters_lock:
            events = [event for waiting in self._case_waiters.values() for event in waiting]
        for event in events:
            event.set()

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            if self._checkpointer is not None:
                self._checkpointer.close()
            self._db.close()

    @property
    def change_version(self) -> int:
        """A number that grows with every change to any case (for the console)."""
        return self._seq

    # -- experts and credentials ---------------------------------------------

    def add_expert(self, name: str, password: str, now: int) -> tuple[dict, str]:
        """Create an expert; returns (expert, API token). The token is shown once."""
        if not isinstance(name, str) or not (1 <= len(name) <= 64) or not name.isprintable():
            raise InvalidInput("an expert name is 1-64 printable characters",
                               fields={"name": "1-64 printable characters"})
        if len(password) < 8:
            raise InvalidInput("a password needs at least 8 characters",
                               fields={"password": "at least 8 characters"})
        password_hash = auth.hash_password(password)
        token = auth.new_token("sdx")
        with self._tx() as db:
            if db.execute("SELECT 1 FROM experts WHERE name = ?", (name,)).fetchone():
                raise Conflict(f"an expert named {name!r} exists already", code="expert_exists")
            cur = db.execute("INSERT INTO experts (name, password_hash, created_at) VALUES (?,?,?)",
                             (name, password_hash, now))
            db.execute("INSERT INTO api_tokens VALUES (?,?,?)",
                       (auth.token_hash(token), cur.lastrowid, now))
        return {"id": f"u{cur.lastrowid}", "name": name}, token

    def list_experts(self) -> list[dict]:
        rows = self._read("SELECT id, name, created_at FROM experts ORDER BY id")
        return [{"id": f"u{r['id']}", "name": r["name"], "created_at": core.iso(r["created_at"])}
                for r in rows]

    def expert_count(self) -> int:
        return self._read("SELECT COUNT(*) FROM experts")[0][0]

    def remove_expert(self, name: str) -> None:
        with self._tx() as db:
            if db.execute("DELETE FROM experts WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound(f"no expert named {name!r}", code="expert_not_found")

    def issue_token(self, name: str, now: int) -> str:
        """A new API token for expert *name* (older ones stay valid)."""
        token = auth.new_token("sdx")
        with self._tx() as db:
            row = db.execute("SELECT id FROM experts WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise NotFound(f"no expert named {name!r}", code="expert_not_found")
            db.execute("INSERT INTO api_tokens VALUES (?,?,?)", (auth.token_hash(token), row[0], now))
        return token

    def expert_by_token(self, token: str) -> dict | None:
        rows = self._read(
            "SELECT e.id, e.name FROM api_tokens t JOIN experts e ON e.id = t.expert_id "
            "WHERE t.token_hash = ?", (auth.token_hash(token),))
        return {"id": rows[0]["id"], "name": rows[0]["name"]} if rows else None

    def check_password(self, name: str, password: str) -> dict | None:
        """The expert if *password* is theirs, else None (same cost either way)."""
        rows = self._read("SELECT id, name, password_hash FROM experts WHERE name = ?", (name,))
        stored = rows[0]["password_hash"] if rows else auth.DUMMY_HASH
        ok = auth.verify_password(password, stored)
        return {"id": rows[0]["id"], "name": rows[0]["name"]} if rows and ok else None

    def create_web_session(self, expert_id: int, now: int, ttl: int) -> tuple[str, str]:
        """A login session: (cookie value, CSRF token)."""
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        with self._tx() as db:
            db.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (now,))
            db.execute("INSERT INTO web_sessions VALUES (?,?,?,?,?)",
                       (auth.token_hash(cookie), expert_id, csrf, now, now + ttl))
        return cookie, csrf

    def expert_by_session(self, cookie: str, now: int) -> tuple[dict, str] | None:
        """(expert, CSRF token) for a live login session, else None."""
        rows = self._read(
            "SELECT e.id, e.name, s.csrf_token FROM web_sessions s "
            "JOIN experts e ON e.id = s.expert_id WHERE s.session_hash = ? AND s.expires_at > ?",
            (auth.token_hash(cookie), now))
        if not rows:
            return None
        return {"id": rows[0]["id"], "name": rows[0]["name"]}, rows[0]["csrf_token"]

    def end_web_session(self, cookie: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM web_sessions WHERE session_hash = ?", (auth.token_hash(cookie),))

    # -- modules (personalized agents) -----------------------------------------

    def create_module(self, body: Any, expert_id: int, now: int) -> dict:
        """Register a personalized agent: {name, groupid} -> module with its id."""
        name, groupid = core.validate_module_fields(body)
        module_id = "m" + secrets.token_hex(8)
        with self._tx() as db:
            db.execute("INSERT INTO modules VALUES (?,?,?,?,?,NULL)",
                       (module_id, name, groupid, expert_id, now))
        return self.get_module(module_id)

    def get_module(self, module_id: str) -> dict:
        rows = self._read("SELECT * FROM modules WHERE id = ?", (module_id,))
        if not rows:
            raise NotFound("no such module", code="module_not_found")
        return _module_view(rows[0])

    def list_modules(self) -> list[dict]:
        return [_module_view(r) for r in self._read("SELECT * FROM modules ORDER BY created_at DESC, id")]

    def revoke_module(self, module_id: str, now: int) -> dict:
        """Revoke a module: its agents can create no more cases (open ones stay)."""
        with self._tx() as db:
            cur = db.execute("UPDATE modules SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                             (now, module_id))
            if cur.rowcount == 0:
                raise NotFound("no such module", code="module_not_found")
        return self.get_module(module_id)

    def list_groups(self) -> list[str]:
        rows = self._read("SELECT groupid FROM modules UNION SELECT ? UNION "
                          "SELECT DISTINCT groupid FROM cases ORDER BY 1", (core.DEFAULT_GROUP,))
        return [r[0] for r in rows]

    # -- cases: expiry ----------------------------------------------------------

    def _expire_due(self, db: sqlite3.Connection, now: int, where: str = "", args: tuple = (),
                    limit: int | None = None) -> int:
        """Expire open cases whose deadline has passed (inside a transaction)."""
        sql = (f"SELECT id, status FROM cases WHERE status IN {_OPEN_SQL} AND valid_until <= ?"
               f"{where}" + (f" LIMIT {int(limit)}" if limit else ""))
        due = db.execute(sql, (now, *args)).fetchall()
        for row in due:
            self._transition(db, row["id"], row["status"], "expire", "system", now)
        return len(due)

    def expire_due(self, now: int, batch: int = 200) -> int:
        """The periodic sweep: expire every due case, *batch* per transaction.

        Small transactions keep the lock short, so requests are served while a
        large backlog is swept.
        """
        total = 0
        while True:
            with self._tx(read_mostly=True) as db:
                count = self._expire_due(db, now, limit=batch)
            total += count
            if count:
                self._notify()
            if count < batch:
                return total
            # Let a request waiting for the lock in before the next batch (locks are not fair).
            time.sleep(0)

    def _transition(self, db: sqlite3.Connection, case_id: int, status: str, event: str,
                    actor: str, now: int, extra: str = "", args: tuple = ()) -> str:
        new = core.next_status(status, event)
        closed_at = now if new in core.FINAL_STATUSES else None
        db.execute(f"UPDATE cases SET status = ?, closed_at = COALESCE(?, closed_at), version = ?"
                   f"{extra} WHERE id = ?", (new, closed_at, self._bump(case_id), *args, case_id))
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
                   "version": self._bump(None)}  # a new case has no waiters yet
        columns.update(fields)
        sql = (f"INSERT INTO cases (code, {', '.join(columns)}) "
               f"VALUES (?, {', '.join('?' for _ in columns)})")
        code = core.new_code()
        for _ in range(50):
            try:
                case_id = db.execute(sql, (code, *columns.values())).lastrowid
                break
            except sqlite3.IntegrityError as exc:
                if "cases.code" not in str(exc):
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
        with self._tx() as db:
            self._check_assignee(db, fields)
            if fields.get("assigned_userid"):
                fields["assigned_at"] = now
            case_id = self._insert_case(db, fields, f"expert:{expert_id}", now)
        self._notify()
        return case_view(self._case_row(case_id))

    def _check_assignee(self, db: sqlite3.Connection, fields: dict) -> None:
        assignee = fields.get("assigned_userid")
        if assignee and not db.execute("SELECT 1 FROM experts WHERE id = ?", (assignee,)).fetchone():
            raise InvalidInput("some fields are invalid",
                               fields={"assigned_userid": "no such expert"})

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
        with self._tx() as db:
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
            self._expire_due(db, now, " AND device_hash = ?", (dev,))
            existing = db.execute(
                f"SELECT id FROM cases WHERE device_hash = ? AND module_id IS ? "
                f"AND created_by = 'customer' AND status IN {_OPEN_SQL}",
                (dev, module_id)).fetchone()
            if existing:
                case_id, created = existing[0], False
            else:
                fields = {"groupid": groupid, "module_id": module_id, "device_hash": dev,
                          "description": description, **device}
                case_id, created = self._insert_case(db, fields, "customer", now), True
        if created:
            self._notify()
        row = self._case_row(case_id)
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
            row = db.execute(f"SELECT * FROM cases WHERE code = ? AND status IN {_OPEN_SQL}",
                             (code,)).fetchone()
            if row is None:
                raise NotFound("no open support case has this code", code="case_not_found")
            if row["device_hash"] is not None and row["device_hash"] != dev:
                raise Conflict("another device has already joined this case", code="case_taken")
            if row["device_hash"] is None:
                db.execute("UPDATE cases SET device_hash = ?, device_hostname = ?, device_os = ?, "
                           "device_user = ?, version = ? WHERE id = ?",
                           (dev, device["device_hostname"], device["device_os"],
                            device["device_user"], self._bump(row["id"]), row["id"]))
        self._notify()
        return (customer_view(self._case_row(row["id"])),
                auth.case_token(self._token_key, row["id"], dev))

    # -- cases: reading -----------------------------------------------------------

    def _case_row(self, case_id: int) -> sqlite3.Row:
        rows = self._read(_CASE_SELECT + "WHERE c.id = ?", (case_id,))
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
            self._notify()
            row = db.execute("SELECT id, status, valid_until, created_by, assigned_userid, "
                             "expert_started_at, customer_started_at FROM cases WHERE id = ?",
                             (row["id"],)).fetchone()
        return row

    def get_case(self, code_text: str, now: int) -> dict:
        code = core.parse_code(code_text)
        with self._tx(read_mostly=True) as db:
            row = self._fresh(db, self._id_for_code(db, code), now)
        return case_view(self._case_row(row["id"]))

    def list_cases(self, filters: dict[str, Any], now: int) -> dict:
        """The queue, newest first: {sessions, next_offset}.

        Filters: status, state (comma-separated), groupid, assigned_userid,
        offset, limit (<= 1000).
        """
        where, args, errors = [], [], {}
        statuses: set[str] = set()
        if filters.get("status"):
            wanted = set(filters["status"].split(","))
            if wanted - set(core.STATUSES):
                errors["status"] = f"must be among {', '.join(core.STATUSES)}"
            statuses = wanted
        if filters.get("state"):
            states = set(filters["state"].split(","))
            if states - {"open", "closed"}:
                errors["state"] = "must be open, closed or open,closed"
            by_state = {s for s in core.STATUSES if core.state_of(s) in states}
            statuses = statuses & by_state if statuses else by_state
            if not statuses:
                statuses = {"none"}
        if len(statuses) == 1:
            where.append("c.status = ?")
            args.extend(statuses)
        elif statuses:
            # '+' keeps SQLite off the status index here: walking cases_created
            # and stopping after one page beats sorting every open case.
            where.append(f"+c.status IN ({', '.join('?' for _ in statuses)})")
            args.extend(sorted(statuses))
        if filters.get("groupid"):
            where.append("c.groupid = ?")
            args.append(filters["groupid"])
        if filters.get("assigned_userid"):
            value = filters["assigned_userid"]
            if not re.fullmatch(r"u[0-9]{1,18}", value):
                errors["assigned_userid"] = "must be an expert id like u1"
            else:
                where.append("c.assigned_userid = ?")
                args.append(int(value[1:]))
        offset = core.int_param(filters.get("offset"), "offset", 0, 0, 10**9, errors)
        limit = core.int_param(filters.get("limit"), "limit", 100, 1, MAX_PAGE, errors)
        unknown = set(filters) - {"status", "state", "groupid", "assigned_userid", "offset", "limit"}
        for key in unknown:
            errors[key] = "unknown filter"
        if errors:
            raise InvalidInput("some filters are invalid", fields=errors)
        sql = (_CASE_SELECT + ("WHERE " + " AND ".join(where) + " " if where else "")
               + "ORDER BY c.created_at DESC, c.id DESC LIMIT ? OFFSET ?")
        rows = None
        if offset == 0 and (not statuses or statuses & set(OPEN_STATUSES)):
            # The first page of a queue that shows open cases: expire the due cases
            # among its first rows (a wider window each time) until the page has
            # none, rather than the whole backlog first: after downtime that took
            # minutes with 240,000 due cases, and the sweep does it anyway.
            window = limit + 1
            for _ in range(12):
                rows = self._read(sql, (*args, window, 0))
                due = [r["id"] for r in rows if r["status"] in OPEN_STATUSES
                       and core.is_due(r["valid_until"], now)]
                if not set(due) & {r["id"] for r in rows[:limit + 1]}:
                    rows = rows[:limit + 1]
                    break
                for start in range(0, len(due), 200):  # short transactions, as in the sweep
                    chunk = tuple(due[start:start + 200])
                    with self._tx(read_mostly=True) as db:
                        self._expire_due(db, now, f" AND id IN ({', '.join('?' for _ in chunk)})",
                                         chunk)
                self._notify()
                rows, window = None, min(window * 2, 20 * MAX_PAGE)
        if rows is None:
            # Other pages and closed-only views depend on every due case: expire them
            # all, in batches like the sweep, so other requests get the lock between.
            self.expire_due(now)
            rows = self._read(sql, (*args, limit + 1, offset))
        more = len(rows) > limit
        return {"sessions": [case_view(r) for r in rows[:limit]],
                "next_offset": offset + limit if more else None}

    def history(self, code_text: str, now: int) -> list[dict]:
        """Every transition of a case: who, when, from, to."""
        code = core.parse_code(code_text)
        with self._tx(read_mostly=True) as db:
            row = self._fresh(db, self._id_for_code(db, code), now)
        rows = self._read("SELECT ev.*, e.name AS expert_name FROM case_events ev "
                          "LEFT JOIN experts e ON ev.actor = 'expert:' || e.id "
                          "WHERE ev.case_id = ? ORDER BY ev.id", (row["id"],))
        return [{"at": core.iso(r["at"]), "actor": r["actor"], "actor_name": r["expert_name"],
                 "event": r["event"], "from": r["from_status"], "to": r["to_status"]}
                for r in rows]

    # -- cases: changes -----------------------------------------------------------

    def edit_case(self, code_text: str, body: Any, expert_id: int, now: int) -> dict:
        """PUT: change fields; {"state": "closed"} closes the case."""
        code = core.parse_code(code_text)
        fields = core.validate_case_fields(body, now, creating=False)
        state = fields.pop("state", None)
        with self._tx() as db:
            row = self._fresh(db, self._id_for_code(db, code), now)
            if row["status"] in core.FINAL_STATUSES:
                if state == "closed" and row["status"] == CLOSED and not fields:
                    return case_view(self._case_row(row["id"]))  # closing twice is a no-op
                core.next_status(row["status"], "close")  # raises case_closed / case_expired
            self._check_assignee(db, fields)
            if "assigned_userid" in fields:
                fields["assigned_at"] = now if fields["assigned_userid"] else None
            if fields:
                sets = ", ".join(f"{k} = ?" for k in fields)
                db.execute(f"UPDATE cases SET {sets}, version = ? WHERE id = ?",
                           (*fields.values(), self._bump(row["id"]), row["id"]))
                db.execute("INSERT INTO case_events (case_id, at, actor, event, from_status, "
                           "to_status) VALUES (?,?,?,'edit',?,?)",
                           (row["id"], now, f"expert:{expert_id}", row["status"], row["status"]))
            if state == "closed":
                self._transition(db, row["id"], row["status"], "close", f"expert:{expert_id}", now)
        self._notify()
        return case_view(self._case_row(row["id"]))

    def connect(self, code_text: str, expert_id: int, now: int) -> dict:
        """The expert's Connect: the expert side starts the session and takes the case."""
        code = core.parse_code(code_text)
        with self._tx() as db:
            row = self._fresh(db, self._id_for_code(db, code), now)
            if row["status"] in core.FINAL_STATUSES:
                core.next_status(row["status"], "start")  # raises case_closed / case_expired
            if row["expert_started_at"] is not None:
                if row["assigned_userid"] == expert_id:
                    return case_view(self._case_row(row["id"]))  # pressing twice is a no-op
                holder = db.execute("SELECT name FROM experts WHERE id = ?",
                                    (row["assigned_userid"],)).fetchone()
                raise Conflict(f"{holder[0] if holder else 'another expert'} is already connected "
                               "to this case", code="already_connected")
            self._transition(db, row["id"], row["status"], "start", f"expert:{expert_id}", now,
                             ", expert_started_at = ?, assigned_userid = ?, assigned_at = ?",
                             (now, expert_id, now))
        self._notify()
        return case_view(self._case_row(row["id"]))

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
            self._bump(*ids)  # their waiters wake to find them gone
        self._notify()
        return len(ids)

    # -- the customer's own case ----------------------------------------------------

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
        self._notify()
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
        self._notify()
        return customer_view(self._case_row(case_id))

    def wait_customer_case(self, case_id: int, since: int, timeout: float,
                           clock: Callable[[], float]) -> dict:
        """Long-poll: the case as soon as its version passes *since*, or at *timeout*.

        *clock* is the wall clock as a function: the wait is bounded by it, and a
        waiter wakes at the case's deadline to report the expiry. Only a change
        to this case (or stopping) wakes it earlier; it waits holding no lock.
        """
        deadline = clock() + timeout
        changed = threading.Event()
        # Registered before the first read: a change committed after a read
        # sets the event, so no change can slip between a read and the wait.
        with self._waiters_lock:
            self._case_waiters.setdefault(case_id, set()).add(changed)
        try:
            while True:
                changed.clear()
                now = clock()
                view = self.customer_case(case_id, int(now))  # NotFound once deleted
                # A closed or expired case never changes again: nothing to wait for.
                if (view["version"] > since or view["state"] != "open" or now >= deadline
                        or self._stopping):
                    return view
                expiry = core.parse_iso(view["valid_until"], "valid_until") + 0.01
                changed.wait(max(0.01, min(deadline, expiry) - now))
        finally:
            with self._waiters_lock:
                waiting = self._case_waiters[case_id]
                waiting.discard(changed)
                if not waiting:
                    del self._case_waiters[case_id]

    def wait_changes(self, since: int, timeout: float, clock: Callable[[], float]) -> int:
        """Long-poll for the console: the change version once it differs from *since*.

        A *since* from before a restart differs at once, so the console reloads.
        """
        deadline = clock() + timeout
        with self._changed:
            while self._seq == since and not self._stopping:
                remaining = deadline - clock()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            return self._seq


def _module_view(row: sqlite3.Row) -> dict:
    return {"module_id": row["id"], "name": row["name"], "groupid": row["groupid"],
            "created_at": core.iso(row["created_at"]), "revoked_at": core.iso(row["revoked_at"]),
            "active": row["revoked_at"] is None}


def _statements(script: str) -> list[str]:
    """Split the schema file into statements (it has no ';' inside strings)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


#: A constraint the checks before a write let through (e.g. an expert removed between
#: the check and the write) -> the stable error code the client gets with a 409.
_CONSTRAINT_CODES = {
    "SQLITE_CONSTRAINT_FOREIGNKEY": ("invalid_reference",
                                     "the request refers to something that does not exist (any more)"),
    "SQLITE_CONSTRAINT_UNIQUE": ("already_exists", "this exists already"),
    "SQLITE_CONSTRAINT_PRIMARYKEY": ("already_exists", "this exists already"),
}


def _constraint_error(exc: sqlite3.IntegrityError) -> Conflict:
    """A constraint violation as a 409: the request contradicts the stored state."""
    name = getattr(exc, "sqlite_errorname", "SQLITE_CONSTRAINT")
    code, message = _CONSTRAINT_CODES.get(name, ("constraint_violation",
                                                 "the change contradicts the stored data"))
    # Not the client's fault alone: a check before the write missed this, so say so.
    log.warning("constraint violation reached the store's transaction: %s", name)
    return Conflict(message, code=code)


def _storage_error(exc: sqlite3.OperationalError) -> StorageUnavailable:
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        message = "the database is read-only; the server cannot save changes"
    elif "full" in text:
        message = "the disk is full; the server cannot save changes"
    elif "locked" in text or "busy" in text:
        message = "the database is busy; try again"
    else:
        message = "the database is unavailable"
    return StorageUnavailable(message)

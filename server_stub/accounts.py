"""Expert accounts and their credentials: passwords, API tokens, login sessions.

Secrets are stored hashed only (auth.py); a password check costs the same
whether the name exists or not.
"""

from __future__ import annotations

import secrets

from . import auth
from .db import Database
from .errors import Conflict, InvalidInput, NotFound
from .views import expert_entry_view


class Accounts(Database):
    """The store's expert accounts (a part of Store, over its one connection)."""

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
        """Every expert account, oldest first."""
        rows = self._read("SELECT id, name, created_at FROM experts ORDER BY id")
        return [expert_entry_view(r) for r in rows]

    def expert_count(self) -> int:
        """How many expert accounts there are."""
        return self._read("SELECT COUNT(*) FROM experts")[0][0]

    def remove_expert(self, name: str) -> None:
        """Delete expert *name* with their tokens and logins (their cases stay, unassigned)."""
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
        """The expert an API token belongs to, else None."""
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
        """Log out: the session cookie stops working."""
        with self._tx() as db:
            db.execute("DELETE FROM web_sessions WHERE session_hash = ?", (auth.token_hash(cookie),))

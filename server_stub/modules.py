"""Modules: the personalized agents an expert registers, each bound to a group (queue).

A module's id is baked into its agent; revoking it stops new cases from it.
"""

from __future__ import annotations

import secrets
from typing import Any

from . import core
from .db import Database
from .errors import NotFound
from .views import module_view


class Modules(Database):
    """The store's modules and groups (a part of Store, over its one connection)."""

    def create_module(self, body: Any, expert_id: int, now: int) -> dict:
        """Register a personalized agent: {name, groupid} -> module with its id."""
        name, groupid = core.validate_module_fields(body)
        module_id = "m" + secrets.token_hex(8)
        with self._tx() as db:
            db.execute("INSERT INTO modules VALUES (?,?,?,?,?,NULL)",
                       (module_id, name, groupid, expert_id, now))
        return self.get_module(module_id)

    def get_module(self, module_id: str) -> dict:
        """One module by its id."""
        rows = self._read("SELECT * FROM modules WHERE id = ?", (module_id,))
        if not rows:
            raise NotFound("no such module", code="module_not_found")
        return module_view(rows[0])

    def list_modules(self) -> list[dict]:
        """Every module, newest first (revoked ones too)."""
        return [module_view(r) for r in self._read("SELECT * FROM modules ORDER BY created_at DESC, id")]

    def revoke_module(self, module_id: str, now: int) -> dict:
        """Revoke a module: its agents can create no more cases (open ones stay)."""
        with self._tx() as db:
            cur = db.execute("UPDATE modules SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                             (now, module_id))
            if cur.rowcount == 0:
                raise NotFound("no such module", code="module_not_found")
        return self.get_module(module_id)

    def list_groups(self) -> list[str]:
        """Every group (queue) in use: by a module, a case, or the default."""
        rows = self._read("SELECT groupid FROM modules UNION SELECT ? UNION "
                          "SELECT DISTINCT groupid FROM cases ORDER BY 1", (core.DEFAULT_GROUP,))
        return [r[0] for r in rows]

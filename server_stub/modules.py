"""Modules and groups: the personalized agents an expert registers, each bound to a
group (queue), and the groups themselves.

A module's id is baked into its agent; revoking it stops new cases from it. A
group is a row with an id (the API's ``g<id>``) and a name; cases and modules
hold the name, and a group comes to be the first time a name is used.
"""

from __future__ import annotations

import secrets
import sqlite3
from typing import Any

from . import core
from .db import Database
from .errors import InvalidInput, NotFound
from .views import group_view, module_view

MODULE_SELECT = ("SELECT m.*, g.id AS group_number FROM modules m "
                 "LEFT JOIN groups g ON g.name = m.groupid ")


class Modules(Database):
    """The store's modules and groups (a part of Store, over its one connection)."""

    def create_module(self, body: Any, expert_id: int, now: int) -> dict:
        """Register a personalized agent: {name, groupid or groupname} -> module with its id."""
        name, group = core.validate_module_fields(body)
        module_id = "m" + secrets.token_hex(8)
        with self._tx() as db:
            groupid = resolve_group(db, group, now)
            db.execute("INSERT INTO modules VALUES (?,?,?,?,?,NULL)",
                       (module_id, name, groupid, expert_id, now))
        return self.get_module(module_id)

    def get_module(self, module_id: str) -> dict:
        """One module by its id."""
        rows = self._read(MODULE_SELECT + "WHERE m.id = ?", (module_id,))
        if not rows:
            raise NotFound("no such module", code="module_not_found")
        return module_view(rows[0])

    def list_modules(self) -> list[dict]:
        """Every module, newest first (revoked ones too)."""
        return [module_view(r) for r in
                self._read(MODULE_SELECT + "ORDER BY m.created_at DESC, m.id")]

    def revoke_module(self, module_id: str, now: int) -> dict:
        """Revoke a module: its agents can create no more cases (open ones stay)."""
        with self._tx() as db:
            cur = db.execute("UPDATE modules SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                             (now, module_id))
            if cur.rowcount == 0:
                raise NotFound("no such module", code="module_not_found")
        return self.get_module(module_id)

    def active_modules_of(self, group_name: str) -> list[dict]:
        """The group's modules that are not revoked, newest first."""
        return [module_view(r) for r in self._read(
            MODULE_SELECT + "WHERE m.groupid = ? AND m.revoked_at IS NULL "
            "ORDER BY m.created_at DESC, m.id", (group_name,))]

    # -- groups ---------------------------------------------------------------------

    def list_groups(self, name_part: str | None = None) -> list[dict]:
        """Every group, first made first; *name_part*: only those whose name holds it (any case)."""
        if name_part:
            pattern = "%" + name_part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            rows = self._read("SELECT * FROM groups WHERE name LIKE ? ESCAPE '\\' ORDER BY id",
                              (pattern,))
        else:
            rows = self._read("SELECT * FROM groups ORDER BY id")
        return [group_view(r) for r in rows]

    def group_name_of(self, number: int) -> str | None:
        """The name of group g<number>, or None if there is none."""
        rows = self._read("SELECT name FROM groups WHERE id = ?", (number,))
        return rows[0][0] if rows else None


def resolve_group(db: sqlite3.Connection, group: core.GroupRef, now: int) -> str:
    """The name for a group reference (inside a transaction): an id must exist (else a
    field error on groupid), a name becomes a group the first time it is used."""
    kind, value = group
    if kind == "id":
        row = db.execute("SELECT name FROM groups WHERE id = ?", (value,)).fetchone()
        if row is None:
            raise InvalidInput("some fields are invalid",
                               fields={"groupid": f"no group has the id g{value}"})
        return row[0]
    db.execute("INSERT OR IGNORE INTO groups (name, created_at) VALUES (?, ?)", (value, now))
    return value

"""How stored rows look in the API: one function per kind of record, no I/O."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Mapping, Union

from . import core

#: A stored row, or a dict with the same keys.
Record = Union[sqlite3.Row, Mapping[str, Any]]


def group_id(number: int | None) -> str | None:
    """A group's id as the API writes it (TeamViewer's form): 'g12'."""
    return f"g{number}" if number is not None else None


def user_id(number: int | None) -> str:
    """An expert's id as the API writes it (TeamViewer's form): 'u7'; 'u0' is nobody."""
    return f"u{number or 0}"


def case_view(row: Record, online: bool = False,
              remote: dict[str, Any] | None = None) -> dict[str, Any]:
    """A case as the expert API shows it (TeamViewer's field names where they exist).

    *online* (the customer's agent is there now) and *remote* (the remote
    session's state, None without one) are live state from server memory. The
    links (end_customer_link, supporter_link) depend on the server's address,
    which the HTTP layer adds.
    """
    return {
        "code": core.format_code(row["code"]),
        "status": row["status"],
        "state": core.state_of(row["status"]),
        "groupid": group_id(row["group_number"]),
        "groupname": row["groupid"],
        "description": row["description"],
        "end_customer": {"name": row["customer_name"], "email": row["customer_email"]},
        "assigned_userid": user_id(row["assigned_userid"]),
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
        "online": online,
        "remote": remote,
    }


def customer_view(row: Record) -> dict[str, Any]:
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


def event_view(row: Record) -> dict[str, Any]:
    """One entry of a case's history: who, when, from, to, and its detail (an object or None)."""
    return {"at": core.iso(row["at"]), "actor": row["actor"], "actor_name": row["expert_name"],
            "event": row["event"], "from": row["from_status"], "to": row["to_status"],
            "detail": json.loads(row["detail"]) if row["detail"] else None}


def module_view(row: Record) -> dict[str, Any]:
    """A registered personalized agent (module)."""
    return {"module_id": row["id"], "name": row["name"], "groupid": group_id(row["group_number"]),
            "groupname": row["groupid"], "created_at": core.iso(row["created_at"]),
            "revoked_at": core.iso(row["revoked_at"]), "active": row["revoked_at"] is None}


def group_view(row: Record) -> dict[str, Any]:
    """A group as TeamViewer's API shows one: id 'g<n>' and name (and when it was first used)."""
    return {"id": group_id(row["id"]), "name": row["name"], "created_at": core.iso(row["created_at"])}


def expert_view(expert: Record) -> dict[str, Any]:
    """An expert as the API names them: id 'u<n>' and name."""
    return {"id": user_id(expert["id"]), "name": expert["name"]}


def expert_entry_view(row: Record) -> dict[str, Any]:
    """An expert in the list of accounts: id, name and since when."""
    return {**expert_view(row), "created_at": core.iso(row["created_at"])}

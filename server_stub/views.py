"""How stored rows look in the API: one function per kind of record, no I/O."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Mapping, Union

from . import core

#: A stored row, or a dict with the same keys.
Record = Union[sqlite3.Row, Mapping[str, Any]]


def case_view(row: Record, online: bool = False,
              remote: dict[str, Any] | None = None) -> dict[str, Any]:
    """A case as the expert API shows it (TeamViewer's field names where they exist).

    *online* (the customer's agent is there now) and *remote* (the remote
    session's state, None without one) are live state from server memory.
    """
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
        "online": online,
        "remote": remote,
    }


_OPEN_SQL = "(" + ", ".join(f"'{status}'" for status in core.OPEN_STATUSES) + ")"
#: The expert's case view (views.case_view) as JSON text made by SQLite, for the queue:
#: building 50 views in Python and encoding them took ~0.4 ms of a 0.5 ms page.
#: Without the live state (online, remote), which cases.Cases.list_cases_json appends.
#: tests/test_queue_json.py holds it to case_view, field by field.
_ISO = "strftime('%Y-%m-%dT%H:%M:%SZ', {}, 'unixepoch')"
CASE_JSON_SELECT = (
    "SELECT c.id, c.status, c.valid_until, c.created_at, json_object("
    "'code', 's' || substr(c.code, 1, 2) || '-' || substr(c.code, 3, 3) || '-' || substr(c.code, 6, 3), "
    "'status', c.status, "
    f"'state', CASE WHEN c.status IN {_OPEN_SQL} THEN 'open' ELSE 'closed' END, "
    "'groupid', c.groupid, 'description', c.description, "
    "'end_customer', json_object('name', c.customer_name, 'email', c.customer_email), "
    "'assigned_userid', CASE WHEN c.assigned_userid THEN 'u' || c.assigned_userid END, "
    "'assigned_name', e.name, "
    f"'assigned_at', {_ISO.format('c.assigned_at')}, "
    "'waiting_message', c.waiting_message, 'custom_api', c.custom_api, "
    "'custom_module_id', c.module_id, 'created_by', c.created_by, "
    "'device', CASE WHEN c.device_hash IS NOT NULL THEN json_object('hostname', c.device_hostname, "
    "'os', c.device_os, 'user', c.device_user) END, "
    "'expert_started', json(CASE WHEN c.expert_started_at IS NULL THEN 'false' ELSE 'true' END), "
    "'customer_started', json(CASE WHEN c.customer_started_at IS NULL THEN 'false' ELSE 'true' END), "
    f"'created_at', {_ISO.format('c.created_at')}, "
    f"'valid_until', {_ISO.format('c.valid_until')}, "
    f"'closed_at', {_ISO.format('c.closed_at')}, "
    "'version', c.version) AS view "
    "FROM cases c LEFT JOIN experts e ON e.id = c.assigned_userid "
)


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
    return {"module_id": row["id"], "name": row["name"], "groupid": row["groupid"],
            "created_at": core.iso(row["created_at"]), "revoked_at": core.iso(row["revoked_at"]),
            "active": row["revoked_at"] is None}


def expert_view(expert: Record) -> dict[str, Any]:
    """An expert as the API names them: id 'u<n>' and name."""
    return {"id": f"u{expert['id']}", "name": expert["name"]}


def expert_entry_view(row: Record) -> dict[str, Any]:
    """An expert in the list of accounts: id, name and since when."""
    return {**expert_view(row), "created_at": core.iso(row["created_at"])}

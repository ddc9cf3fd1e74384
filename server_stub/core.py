"""The rules of a service case, with no I/O and no clock.

Statuses (from the product text) and the only ways between them::

    event                new      pending      in_progress  closed  expired
    start                pending  pending      -            -       -
    session_established  -        in_progress  -            -       -
    close                closed   closed       closed       -       -
    expire               expired  expired      expired      -       -

``start`` is one side (expert or customer) starting the session; the same side
starting again is not an event (see ``start_event``). Both sides having started
is still ``pending``: "In progress" means both partners are connected over the
remote session, which is ``session_established`` (the customer allowed viewing
and the assignee's viewer is attached; docs/remote-session.md). Statuses never
go back: ``closed`` and ``expired`` are final, and a session that stops leaves
the case in progress. Everything here takes time as an argument.
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import datetime
from typing import Any, Mapping

from sosdesk.common import rules

from .errors import Conflict, InvalidInput

NEW, PENDING, IN_PROGRESS, CLOSED, EXPIRED = "new", "pending", "in_progress", "closed", "expired"
STATUSES = (NEW, PENDING, IN_PROGRESS, CLOSED, EXPIRED)
OPEN_STATUSES = (NEW, PENDING, IN_PROGRESS)
FINAL_STATUSES = (CLOSED, EXPIRED)
ESTABLISHED = "session_established"
EVENTS = ("start", ESTABLISHED, "close", "expire")

#: The one table of transitions: (status, event) -> next status.
TRANSITIONS: dict[tuple[str, str], str] = {
    (NEW, "start"): PENDING,
    (PENDING, "start"): PENDING,
    (PENDING, ESTABLISHED): IN_PROGRESS,
    (NEW, "close"): CLOSED,
    (PENDING, "close"): CLOSED,
    (IN_PROGRESS, "close"): CLOSED,
    (NEW, "expire"): EXPIRED,
    (PENDING, "expire"): EXPIRED,
    (IN_PROGRESS, "expire"): EXPIRED,
}

SIDES = ("expert", "customer")
DEFAULT_VALIDITY = 24 * 3600
MAX_VALIDITY = 30 * 24 * 3600


class IllegalTransition(Conflict):
    """The event is not allowed in the case's current status."""

    code = "illegal_transition"


def next_status(status: str, event: str) -> str:
    """The status after *event*; raises IllegalTransition if it is not allowed."""
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        if status in FINAL_STATUSES:
            raise IllegalTransition(f"the case is {status} and cannot change any more",
                                    code=f"case_{status}") from None
        raise IllegalTransition(f"cannot {event} a case that is {status}") from None


def state_of(status: str) -> str:
    """TeamViewer's coarse state: 'open' until closed or expired."""
    return "open" if status in OPEN_STATUSES else "closed"


def wanted_statuses(filters: Mapping[str, str], errors: dict) -> set[str]:
    """The statuses a list's ``status`` and ``state`` filters ask for, read as TeamViewer
    reads them (with neither: the open ones); {"none"} when the two exclude each other."""
    statuses: set[str] = set()
    if filters.get("status"):
        statuses = set(filters["status"].split(","))
        if statuses - set(STATUSES):
            errors["status"] = f"must be among {', '.join(STATUSES)}"
    state = filters.get("state") or ("" if filters.get("status") else "open")
    if state:
        states = set(state.split(","))
        if states - {"open", "closed"}:
            errors["state"] = "must be open, closed or open,closed"
        by_state = {s for s in STATUSES if state_of(s) in states}
        statuses = (statuses & by_state if statuses else by_state) or {"none"}
    return statuses


def expert_filter(text: str, errors: dict) -> int | None:
    """An ``assigned_userid`` filter's expert as a number (u0: 0, nobody); None, noted in
    *errors*, when it is not like u1."""
    if re.fullmatch(r"u[0-9]{1,18}", text):
        return int(text[1:])
    errors["assigned_userid"] = "must be an expert id like u1 (u0: nobody)"
    return None


def is_due(valid_until: int, now: int) -> bool:
    """Whether a case valid until *valid_until* has expired at *now* (boundary included)."""
    return now >= valid_until


def start_event(side: str, expert_started: bool, customer_started: bool) -> str | None:
    """The event for *side* starting the session, or None if that side already did."""
    if side not in SIDES:
        raise ValueError(side)
    already = expert_started if side == "expert" else customer_started
    return None if already else "start"


# -- session codes ------------------------------------------------------------

_CODE_INPUT = re.compile(r"^[sS]?(\d{2})-?(\d{3})-?(\d{3})$")


def new_code() -> str:
    """A fresh random code: 8 digits from ``secrets`` (shown as s12-345-678)."""
    return f"{secrets.randbelow(10**8):08d}"


def format_code(digits: str) -> str:
    """'12345678' -> 's12-345-678'."""
    return f"s{digits[0:2]}-{digits[2:5]}-{digits[5:8]}"


def parse_code(text: Any) -> str:
    """A code as typed ('s12-345-678', '12345678', 'S12 345 678') -> its 8 digits."""
    if isinstance(text, str):
        match = _CODE_INPUT.match(text.strip().replace(" ", ""))
        if match:
            return "".join(match.groups())
    raise InvalidInput("a session code looks like s12-345-678", code="invalid_code",
                       fields={"code": "expected a code like s12-345-678"})


# -- times --------------------------------------------------------------------

def iso(ts: int | None) -> str | None:
    """Epoch seconds -> '2026-11-28T05:45:46Z' (None stays None)."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))  # 5x faster than datetime


def parse_iso(text: Any, field: str) -> int:
    """An ISO 8601 time with a zone ('...Z' or '+02:00') -> epoch seconds."""
    if isinstance(text, str) and len(text) <= 40:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return int(parsed.timestamp())
    raise InvalidInput(f"{field} must be an ISO 8601 time with a zone",
                       fields={field: "expected a time like 2026-11-28T12:00:00Z"})


# -- validation of case fields ------------------------------------------------
# The rules themselves (limits, group names, module ids) live in sosdesk.common.rules,
# which the builder and the agent's branding use too; here they are applied to
# request bodies and named the way the API names its fields.

LIMITS = rules.LIMITS
DEFAULT_GROUP = rules.DEFAULT_GROUP


def _text(body: dict, key: str, limit: int, errors: dict, label: str | None = None) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    problem = rules.text_problem(value, limit)
    if problem:
        errors[label or key] = problem
        return None
    return value


def validate_groupid(value: Any, errors: dict, field: str = "groupid") -> str | None:
    """A group (queue) name (see rules.group_problem); None stays None."""
    if value is None:
        return None
    problem = rules.group_problem(value)
    if problem:
        errors[field] = problem
        return None
    return value


#: A group as a request names it: ("id", 12) for groupid "g12", ("name", "acme") for a name.
GroupRef = tuple[str, Any]


def validate_group_ref(body: dict, errors: dict) -> GroupRef | None:
    """The group *body* names: groupid "g12" (TeamViewer's id) or groupname (created when
    first used); a name in groupid is taken too, as before groups had ids. None: not given."""
    if "groupid" in body and "groupname" in body:
        errors["groupname"] = "give groupid or groupname, not both"
        return None
    if body.get("groupname") is not None:
        name = validate_groupid(body["groupname"], errors, field="groupname")
        return ("name", name) if name is not None else None
    value = body.get("groupid")
    number = rules.group_number(value)
    if number is not None:
        return ("id", number)
    name = validate_groupid(value, errors)
    return ("name", name) if name is not None else None


def validate_module_id(value: Any, errors: dict, field: str = "module_id") -> str | None:
    """A module id sent by an agent (see rules.module_id_problem); None stays None."""
    if value is None:
        return None
    problem = rules.module_id_problem(value)
    if problem:
        errors[field] = problem
        return None
    return value


def validate_module_fields(body: Any) -> tuple[str, GroupRef]:
    """A new module's {name, groupid or groupname} -> (name without outer spaces, its group).

    No group (or null) is the default group. Raises InvalidInput with one
    message per bad field.
    """
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    errors: dict[str, str] = {}
    for key in body:
        if key not in ("name", "groupid", "groupname"):
            errors[key] = "unknown field"
    name = body.get("name")
    problem = rules.company_problem(name)
    if problem:
        errors["name"] = problem
    group = validate_group_ref(body, errors) or ("name", DEFAULT_GROUP)
    if errors:
        raise InvalidInput("some fields are invalid", fields=errors)
    return name.strip(), group


def validate_case_fields(body: Any, now: int, *, creating: bool) -> dict[str, Any]:
    """Check the editable fields of a case and return them as columns.

    Raises InvalidInput with one message per bad field in ``fields``.
    Only the fields present in *body* are returned (for edits); the group comes
    as ``group`` (a GroupRef), which only the store can check and turn into a name.
    """
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    known = {"groupid", "groupname", "description", "end_customer", "assigned_userid",
             "waiting_message", "custom_api", "valid_until", "state"}
    for key in body:
        if key not in known:
            errors[key] = "unknown field"
    group = validate_group_ref(body, errors)
    if group is not None:
        out["group"] = group  # the store turns it into the groupid column (a name)
    for key in ("description", "waiting_message", "custom_api"):
        if key in body:
            value = _text(body, key, LIMITS[key], errors)
            if value is not None or body[key] is None:
                out[key] = value or ""
    if "end_customer" in body:
        customer = body["end_customer"]
        if customer is None:
            customer = {}
        if not isinstance(customer, dict):
            errors["end_customer"] = "must be an object with name and email"
        else:
            for key in customer:
                if key not in ("name", "email"):
                    errors[f"end_customer.{key}"] = "unknown field"
            name = _text(customer, "name", LIMITS["name"], errors, "end_customer.name")
            email = _text(customer, "email", LIMITS["email"], errors, "end_customer.email")
            bad_email = rules.email_problem(email) if email else None  # "" clears the address
            if bad_email:
                errors["end_customer.email"] = bad_email
            elif "end_customer.email" not in errors and "email" in customer:
                out["customer_email"] = email or ""
            if "end_customer.name" not in errors and "name" in customer:
                out["customer_name"] = name or ""
    if "assigned_userid" in body:
        value = body["assigned_userid"]
        if value is None:
            out["assigned_userid"] = None
        elif isinstance(value, str) and re.fullmatch(r"u[0-9]{1,18}", value):
            # TeamViewer's "u0" is nobody: it unassigns, like null.
            out["assigned_userid"] = int(value[1:]) or None
        else:
            errors["assigned_userid"] = "must be an expert id like u1, or u0 or null for nobody"
    if "valid_until" in body:
        try:
            until = parse_iso(body["valid_until"], "valid_until")
        except InvalidInput as exc:
            errors.update(exc.details["fields"])
        else:
            if until <= now:
                errors["valid_until"] = "must be in the future"
            elif until > now + MAX_VALIDITY:
                errors["valid_until"] = f"must be at most {MAX_VALIDITY // 86400} days ahead"
            else:
                out["valid_until"] = until
    if "state" in body:
        if creating:
            errors["state"] = "cannot be set when creating a case"
        elif body["state"] not in ("open", "closed"):
            errors["state"] = "must be 'closed' (to close the case) or 'open'"
        else:
            out["state"] = body["state"]
    if errors:
        raise InvalidInput("some fields are invalid", fields=errors)
    return out


def validate_device(body: Any, errors: dict) -> dict[str, str]:
    """Device info from an agent: hostname, os, user (each <= LIMITS['device'] characters)."""
    device = body.get("device") if isinstance(body, dict) else None
    out = {"device_hostname": "", "device_os": "", "device_user": ""}
    if device is None:
        return out
    if not isinstance(device, dict):
        errors["device"] = "must be an object with hostname, os, user"
        return out
    for key in ("hostname", "os", "user"):
        value = _text(device, key, LIMITS["device"], errors, f"device.{key}")
        if value is not None:
            out[f"device_{key}"] = value
    return out


def validate_device_id(value: Any, errors: dict) -> str | None:
    """The agent's secret device id: 16-128 URL-safe characters."""
    problem = rules.device_id_problem(value)
    if problem is None:
        return value
    errors["device_id"] = problem
    return None

"""What a case, a group, a module and their texts may hold: each rule once.

The server checks what comes in over the API, the builder checks what the
expert asks for before it builds anything, and the agent's branding checks what
it stamps; all three ask here, so a value one side accepts the other cannot
reject (tests/test_rules_contract.py feeds the same cases to each).

Standard library only: the server imports this. Every check returns ``None``
for a good value, or what is wrong as the end of a sentence without the
field's name ("must be at most 100 characters"), so each caller names the field
its own way: ``groupid`` in the API, ``--group`` in the builder.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

__all__ = ["LIMITS", "DEFAULT_GROUP", "text_problem", "line_problem", "company_problem",
           "group_problem", "group_number", "module_id_problem", "email_problem",
           "device_id_problem"]

#: The most characters (Unicode code points, as Python's len counts) each text may hold.
LIMITS = {
    "company": 100,          # a module's name: the company a personalized agent is for
    "name": 100,             # the end customer's name on a case
    "email": 254,            # the end customer's e-mail address (RFC 5321's path limit)
    "description": 4000,     # what the case is about
    "custom_api": 4000,      # an integrator's free-form data on a case
    "waiting_message": 1000,  # what the customer reads while waiting, per case
    "welcome_text": 1000,    # the agent's welcome text (branding)
    "waiting_text": 1000,    # the agent's default waiting text (branding)
    "device": 255,           # each of the device's hostname, OS and user name
}

DEFAULT_GROUP = "default"
#: A group (queue) name. fullmatch, not match with "$": "$" also matches before a final
#: newline, and "sales\n" would become a queue of its own that nobody can type.
_GROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}")
#: A group's id as the API writes it (TeamViewer's form, "g123"); no group name may look so.
_GROUP_ID = re.compile(r"g([0-9]{1,18})")
#: A module id is part of URLs and of the stamped branding: URL-safe characters only.
_MODULE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{16,128}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value: Any, limit: int) -> str | None:
    """Whether *value* is a text of at most *limit* characters that can be stored and sent."""
    if not isinstance(value, str):
        return "must be a text"
    if len(value) > limit:
        return f"must be at most {limit} characters, not {len(value)}"
    if "\x00" in value:
        return "must not contain NUL characters"
    if _SURROGATE.search(value):
        # JSON's "\ud800" escape and undecodable command-line bytes give such strings;
        # they cannot be written as UTF-8, so they would fail later, half-way.
        return "must be valid Unicode text (it holds an unpaired surrogate)"
    return None


def line_problem(value: Any, limit: int) -> str | None:
    """Like text_problem, for a one-line text: no line breaks, tabs or other control characters."""
    problem = text_problem(value, limit)
    if problem is None and any(unicodedata.category(c) == "Cc" for c in value):
        return "must be one line without control characters"
    return problem


def company_problem(value: Any) -> str | None:
    """A company name (a module's name, the branding's company_name); outer spaces do not count."""
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty text"
    return line_problem(value.strip(), LIMITS["company"])


def group_problem(value: Any) -> str | None:
    """A group (queue) name: 1-64 ASCII letters, digits, spaces, '.', '_', '-', a letter or digit
    first, and not like a group id ("g123"), which the API would read as one."""
    if isinstance(value, str) and _GROUP.fullmatch(value):
        if _GROUP_ID.fullmatch(value):
            return "must not look like a group id (g followed by digits only)"
        return None
    return "must be 1-64 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit"


def group_number(value: Any) -> int | None:
    """The number in a group id as the API writes it ("g12" -> 12); None for anything else."""
    found = _GROUP_ID.fullmatch(value) if isinstance(value, str) else None
    return int(found.group(1)) if found else None


def module_id_problem(value: Any) -> str | None:
    """A module id: 1-64 ASCII letters, digits, '-' or '_'."""
    if isinstance(value, str) and _MODULE_ID.fullmatch(value):
        return None
    return "must be 1-64 letters, digits, '-' or '_'"


def email_problem(value: Any) -> str | None:
    """An e-mail address of at most LIMITS['email'] characters (only its shape is checked)."""
    problem = text_problem(value, LIMITS["email"])
    if problem is None and not _EMAIL.fullmatch(value):
        return "must be an e-mail address"
    return problem


def device_id_problem(value: Any) -> str | None:
    """An agent's secret device id: 16-128 ASCII letters, digits, '-' or '_'."""
    if isinstance(value, str) and _DEVICE_ID.fullmatch(value):
        return None
    return "must be 16-128 letters, digits, '-' or '_'"

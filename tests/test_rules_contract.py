"""The server and the builder agree on every value: one table of cases, fed to both.

The builder checks an expert's input before it builds (minutes of PyInstaller)
and before it registers the module; if it accepted a value the server refuses,
the expert would find out only afterwards. Each rule lives once, in
sosdesk.common.rules; this test does not trust that and asks each side: the
server's core validation, the server's real API on a loopback port, and the
builder's own check (builder.options.parse_options, what sos-builder runs).
Every case says what the answer must be, so both sides drifting together fails too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from sosdesk.builder.errors import InputError
from sosdesk.builder.options import parse_options
from sosdesk.common import rules
from sosdesk.server_stub import core
from sosdesk.server_stub.errors import InvalidInput

OK, BAD = True, False
LONG_E = "e\u0301"  # e and a combining acute: two characters (code points) that show as one

GROUP_CASES: list[tuple[Any, bool]] = [
    ("default", OK), ("a", OK), ("Z", OK), ("9", OK), ("Support EU", OK), ("a.b_c-d", OK),
    ("x" * 64, OK), ("x ", OK), ("sales team 2", OK),
    (None, OK),  # not given: the default group, on both sides
    # The API reads "g" and digits as a group's id (TeamViewer's form): no name may look so.
    # (g12345 is no group's id here: as groupid the server refuses it as unknown.)
    ("g12345", BAD), ("g", OK), ("g1x", OK), ("G12", OK), ("gg12", OK),
    # The ones builder.options used to accept: they must start with a letter or digit.
    (".", BAD), ("-x", BAD), (" x", BAD), ("_x", BAD),
    ("", BAD), (" ", BAD), ("x" * 65, BAD),
    # "$" in a regular expression matches before a final newline.
    ("x\n", BAD), ("\nx", BAD), ("x\r", BAD), ("x\ty", BAD),
    ("a/b", BAD), ("a:b", BAD), ("Ä", BAD), ("Müller", BAD),
    ("\uff58", BAD),  # fullwidth x
    ("\u0661\u0662", BAD),  # Arabic-Indic digits: \d would take them, [0-9] does not
    ("x\u200b", BAD), (LONG_E, BAD), ("x\x00", BAD), ("x\ud800", BAD),
    (5, BAD), (True, BAD), (["x"], BAD),
]

MODULE_ID_CASES: list[tuple[Any, bool]] = [
    ("m0123456789abcdef", OK), ("a", OK), ("A_b-9", OK), ("_", OK), ("x" * 64, OK),
    (None, OK),  # no module: the builder registers one, the server's SOS uses no module
    ("", BAD), (" ", BAD), ("x" * 65, BAD), ("a b", BAD), ("a/b", BAD), ("../x", BAD),
    ("x.y", BAD), ("ß", BAD), ("m\u0661", BAD), ("m1\n", BAD), ("m1\x00", BAD),
    ("m\ud800", BAD), (5, BAD), (True, BAD),
]

COMPANY_CASES: list[tuple[Any, bool]] = [
    ("ACME", OK), ("a", OK), (" ACME ", OK), ("Müller & Söhne GmbH", OK), ("株式会社テスト", OK),
    ("\U0001f691 Rescue", OK), ('O\'Brien "IT"', OK), ("x" * 100, OK),
    ("x" * 100 + "  ", OK),  # outer spaces do not count (both sides strip them)
    (LONG_E * 50, OK), (LONG_E * 51, BAD),  # characters are code points: 100 and 102
    ("x" * 101, BAD), (None, BAD), ("", BAD), ("   ", BAD),
    ("\u3000", BAD),  # an ideographic space is a space too
    ("ACME\nCorp", BAD), ("ACME\tCorp", BAD), ("ACME\x00", BAD), ("ACME\x7f", BAD),
    ("x\ud800", BAD), (5, BAD),
]


def _ids(cases: list[tuple[Any, bool]]) -> list[str]:
    return [ascii(value)[:24] for value, _ in cases]


# -- the builder's side -----------------------------------------------------------

def builder_accepts(tmp_path: Path, **settings: Any) -> bool:
    """Whether builder.options.parse_options takes these settings (the rest being good)."""
    merged = {"company": "ACME", "server": "https://support.example.com", "out": tmp_path,
              "module_id": "m1"}
    for key, value in settings.items():
        if value is None:
            merged.pop(key, None)  # None: the setting is not given
        else:
            merged[key] = value
    try:
        parse_options(merged, token_given=True)
    except InputError:
        return False
    return True


# -- the server's side --------------------------------------------------------------

def core_accepts(check: Callable[[dict], Any]) -> bool:
    errors: dict[str, str] = {}
    try:
        check(errors)
    except InvalidInput:
        return False
    return not errors


def _without_none(body: dict) -> dict:
    return {key: value for key, value in body.items() if value is not None}


def api_verdict(response) -> bool:
    """Accepted (2xx), or refused as bad input (400); anything else is a defect here."""
    assert response.status_code in (200, 201, 400, 404), (response.status_code, response.text)
    return response.status_code in (200, 201) or (
        response.status_code == 404 and response.json()["error"] == "module_not_found")


def disagreements(rows: list[tuple[Any, bool, dict[str, bool]]]) -> list[str]:
    return [f"{ascii(value)[:40]}: expected {'ok' if ok else 'bad'}, got {answers}"
            for value, ok, answers in rows if any(answer != ok for answer in answers.values())]


def test_group_names(live_server, tmp_path):
    rows = []
    for value, ok in GROUP_CASES:
        answers = {
            "core": core_accepts(lambda errors: core.validate_groupid(value, errors)),
            # The builder registers its module with the group's name (groupname).
            "core module": core_accepts(lambda errors: core.validate_module_fields(
                _without_none({"name": "ACME", "groupname": value}))),
            "api module": api_verdict(live_server.api(
                "POST", "/api/v1/modules", json=_without_none({"name": "ACME", "groupname": value}))),
            "api case": api_verdict(live_server.api(
                "POST", "/api/v1/sessions", json=_without_none({"groupid": value}))),
            "builder": builder_accepts(tmp_path, group=value),
        }
        rows.append((value, ok, answers))
    assert disagreements(rows) == []


def test_module_ids(live_server, tmp_path):
    rows = []
    for number, (value, ok) in enumerate(MODULE_ID_CASES):
        sos = _without_none({"device_id": f"contract-device-{number:05d}", "module_id": value})
        answers = {
            "core": core_accepts(lambda errors: core.validate_module_id(value, errors)),
            # A well-formed id nobody registered is "no such module" (404), not bad input.
            "api sos": api_verdict(live_server.api("POST", "/api/v1/customer/sos", token=None,
                                                   json=sos)),
            "builder": builder_accepts(tmp_path, module_id=value),
        }
        rows.append((value, ok, answers))
    assert disagreements(rows) == []


def test_company_names(live_server, tmp_path):
    rows = []
    for value, ok in COMPANY_CASES:
        body = _without_none({"name": value})
        answers = {
            "core": core_accepts(lambda errors: core.validate_module_fields(body)),
            "api": api_verdict(live_server.api("POST", "/api/v1/modules", json=body)),
            "builder": builder_accepts(tmp_path, company=value),
        }
        rows.append((value, ok, answers))
    assert disagreements(rows) == []


def test_the_server_keeps_the_company_name_as_the_builder_sends_it(live_server):
    module = live_server.api("POST", "/api/v1/modules", json={"name": "  ACME  "}).json()
    assert (module["name"], module["groupid"], module["groupname"]) == (
        "ACME", "g1", rules.DEFAULT_GROUP)


# -- the case's texts: core and the API against the limits in rules -----------------------

TEXT_FIELDS = [
    # (field, where it goes in a case body)
    ("description", lambda v: {"description": v}),
    ("waiting_message", lambda v: {"waiting_message": v}),
    ("custom_api", lambda v: {"custom_api": v}),
    ("name", lambda v: {"end_customer": {"name": v}}),
]


@pytest.mark.parametrize("field,body", TEXT_FIELDS, ids=[f for f, _ in TEXT_FIELDS])
def test_case_texts_at_and_over_their_limits(live_server, field, body):
    limit = rules.LIMITS[field]
    cases = [("x" * limit, OK), ("x" * (limit + 1), BAD), ("", OK), ("ä" * limit, OK),
             ("\U0001f691" * limit, OK), ("two\nlines", OK), ("x\x00", BAD), ("x\ud800", BAD),
             (5, BAD)]
    rows = []
    for value, ok in cases:
        answers = {
            "core": core_accepts(lambda errors: core.validate_case_fields(body(value), 0,
                                                                          creating=True)),
            "api": api_verdict(live_server.api("POST", "/api/v1/sessions", json=body(value))),
        }
        rows.append((value, ok, answers))
    assert disagreements(rows) == []


def test_email_addresses(live_server):
    limit = rules.LIMITS["email"]
    at_limit = "a" * (limit - len("@example.com")) + "@example.com"
    cases = [("anna@example.com", OK), ("", OK), (at_limit, OK), ("a" + at_limit, BAD),
             ("anna@example", BAD), ("anna example.com", BAD),
             ("anna@example.com\n", BAD),  # "$" again
             ("anna@exämple.de", OK), ("anna@example.com\x00", BAD), (5, BAD)]
    rows = []
    for value, ok in cases:
        body = {"end_customer": {"email": value}}
        answers = {
            "core": core_accepts(lambda errors: core.validate_case_fields(body, 0, creating=True)),
            "api": api_verdict(live_server.api("POST", "/api/v1/sessions", json=body)),
        }
        rows.append((value, ok, answers))
    assert disagreements(rows) == []


@pytest.mark.parametrize("value,ok", GROUP_CASES, ids=_ids(GROUP_CASES))
def test_each_group_name_through_the_rule(value, ok):
    """The table against the rule itself, case by case (a failure names its case)."""
    if value is not None:
        assert (rules.group_problem(value) is None) == ok

"""The rules of a case as tables: every (status, event) pair, codes, expiry, fields."""

from __future__ import annotations

import itertools

import pytest

from sosdesk.server_stub import core
from sosdesk.server_stub.errors import InvalidInput

# Every legal move, written out independently of core.TRANSITIONS.
LEGAL = {
    ("new", "start"): "pending",
    # The other side starting too is still pending: in progress needs the remote
    # session (the customer allowed viewing and the expert's viewer is attached).
    ("pending", "start"): "pending",
    ("pending", "session_established"): "in_progress",
    ("new", "close"): "closed",
    ("pending", "close"): "closed",
    ("in_progress", "close"): "closed",
    ("new", "expire"): "expired",
    ("pending", "expire"): "expired",
    ("in_progress", "expire"): "expired",
}


@pytest.mark.parametrize("status,event", list(itertools.product(core.STATUSES, core.EVENTS)))
def test_every_status_and_event(status: str, event: str) -> None:
    if (status, event) in LEGAL:
        assert core.next_status(status, event) == LEGAL[(status, event)]
    else:
        with pytest.raises(core.IllegalTransition) as info:
            core.next_status(status, event)
        if status in ("closed", "expired"):
            assert info.value.code == f"case_{status}"


def test_final_statuses_never_change() -> None:
    for status in core.FINAL_STATUSES:
        for event in core.EVENTS:
            with pytest.raises(core.IllegalTransition):
                core.next_status(status, event)


@pytest.mark.parametrize("side,expert,customer,expected", [
    ("expert", False, False, "start"),
    ("expert", True, False, None),      # pressing Connect again: nothing happens
    ("expert", False, True, "start"),
    ("customer", False, False, "start"),
    ("customer", False, True, None),
    ("customer", True, False, "start"),
])
def test_start_event_per_side(side, expert, customer, expected) -> None:
    assert core.start_event(side, expert, customer) == expected


@pytest.mark.parametrize("valid_until,now,due", [
    (1000, 999, False), (1000, 1000, True), (1000, 1001, True), (0, 0, True),
])
def test_expiry_boundary(valid_until: int, now: int, due: bool) -> None:
    assert core.is_due(valid_until, now) is due


@pytest.mark.parametrize("text,digits", [
    ("s12-345-678", "12345678"), ("S12345678", "12345678"), ("12345678", "12345678"),
    (" s12 345 678 ", "12345678"), ("12-345-678", "12345678"),
])
def test_parse_code(text: str, digits: str) -> None:
    assert core.parse_code(text) == digits
    assert core.format_code(digits) == "s12-345-678"


@pytest.mark.parametrize("text", ["", "s1234567", "s123456789", "x12-345-678", 12345678, None,
                                  "s12-345-67a", "s12--345-678"])
def test_bad_codes(text) -> None:
    with pytest.raises(InvalidInput) as info:
        core.parse_code(text)
    assert info.value.code == "invalid_code"


def test_new_codes_are_eight_digits_and_vary() -> None:
    codes = {core.new_code() for _ in range(200)}
    assert all(len(c) == 8 and c.isdigit() for c in codes)
    assert len(codes) > 190


@pytest.mark.parametrize("body,field", [
    ({"end_customer": {"name": "x" * 101}}, "end_customer.name"),
    ({"end_customer": {"email": "a@" + "b" * 250 + ".de"}}, "end_customer.email"),
    ({"end_customer": {"email": "not an address"}}, "end_customer.email"),
    ({"end_customer": {"nick": "x"}}, "end_customer.nick"),
    ({"end_customer": "Bob"}, "end_customer"),
    ({"custom_api": "x" * 4001}, "custom_api"),
    ({"description": 5}, "description"),
    ({"groupid": ""}, "groupid"),
    ({"groupid": "a/b"}, "groupid"),
    ({"assigned_userid": "anna"}, "assigned_userid"),
    ({"valid_until": "tomorrow"}, "valid_until"),
    ({"valid_until": "2026-01-01T00:00:00"}, "valid_until"),  # no zone
    ({"valid_until": "1970-01-01T00:00:00Z"}, "valid_until"),  # past
    ({"state": "closed"}, "state"),  # not when creating
    ({"colour": "red"}, "colour"),
])
def test_invalid_fields_are_named(body: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        core.validate_case_fields(body, now=1_700_000_000, creating=True)
    assert field in info.value.details["fields"]


def test_limits_are_inclusive() -> None:
    fields = core.validate_case_fields(
        {"end_customer": {"name": "x" * 100, "email": "a@b.de"}, "custom_api": "y" * 4000},
        now=0, creating=True)
    assert fields["customer_name"] == "x" * 100
    assert len(fields["custom_api"]) == 4000


def test_valid_until_must_be_within_thirty_days() -> None:
    now = 1_700_000_000
    ok = core.validate_case_fields({"valid_until": core.iso(now + core.MAX_VALIDITY)}, now, creating=True)
    assert ok["valid_until"] == now + core.MAX_VALIDITY
    with pytest.raises(InvalidInput):
        core.validate_case_fields({"valid_until": core.iso(now + core.MAX_VALIDITY + 1)}, now,
                                  creating=True)


def test_iso_round_trip() -> None:
    assert core.iso(0) == "1970-01-01T00:00:00Z"
    assert core.parse_iso("1970-01-01T01:00:00+01:00", "t") == 0
    assert core.iso(None) is None


@pytest.mark.parametrize("value", ["u0", "u00", None])
def test_u0_and_null_mean_nobody(value) -> None:
    fields = core.validate_case_fields({"assigned_userid": value}, now=0, creating=True)
    assert fields == {"assigned_userid": None}


@pytest.mark.parametrize("filters, wanted, bad", [
    ({}, {"new", "pending", "in_progress"}, set()),  # TeamViewer lists open sessions by default
    ({"state": "closed"}, {"closed", "expired"}, set()),
    ({"state": "open,closed"}, set(core.STATUSES), set()),
    ({"status": "closed"}, {"closed"}, set()),  # a status alone: no default state
    ({"status": "new", "state": "closed"}, {"none"}, set()),  # they exclude each other
    ({"status": "new,lost", "state": "shut"}, {"none"}, {"status", "state"}),
])
def test_the_lists_read_status_and_state_one_way(filters, wanted, bad) -> None:
    errors: dict = {}
    assert core.wanted_statuses(filters, errors) == wanted
    assert set(errors) == bad


@pytest.mark.parametrize("text, expert", [("u0", 0), ("u12", 12), ("12", None), ("u-1", None), ("ux", None)])
def test_an_expert_filter_is_u_and_digits(text, expert) -> None:
    errors: dict = {}
    assert core.expert_filter(text, errors) == expert
    assert ("assigned_userid" in errors) == (expert is None)

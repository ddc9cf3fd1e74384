"""Cases and modules over HTTP against a real server: SOS to close, cases made by hand
and their field errors, bulk delete, modules and their groups."""

from __future__ import annotations

import re

from api_helpers import assert_error
from conftest import LiveServer


def test_sos_to_close_over_http(live_server: LiveServer) -> None:
    made = live_server.sos(device={"hostname": "PC-7", "os": "Windows 11", "user": "bob"},
                           description="printer")
    token, code = made["token"], made["case"]["code"]
    assert made["created"] is True and re.fullmatch(r"s\d\d-\d\d\d-\d\d\d", code)
    queue = live_server.api("GET", "/api/v1/sessions?state=open").json()["sessions"]
    assert [c["code"] for c in queue] == [code]
    assert queue[0]["device"] == {"hostname": "PC-7", "os": "Windows 11", "user": "bob"}
    started = live_server.api("POST", "/api/v1/customer/case/start", token=token).json()
    assert started["status"] == "pending"
    connected = live_server.api("POST", f"/api/v1/sessions/{code}/connect").json()
    # Both sides started; in progress only once the remote session is established
    # (tests/test_session_api.py).
    assert connected["status"] == "pending" and connected["assigned_name"] == "anna"
    assert connected["remote"]["view"] == "requested"
    put = live_server.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"})
    assert (put.status_code, put.content) == (204, b"")  # TeamViewer's answer to a change
    closed = live_server.api("GET", f"/api/v1/sessions/{code}").json()
    assert closed["status"] == "closed" and closed["state"] == "closed"
    history = live_server.api("GET", f"/api/v1/sessions/{code}/history").json()["events"]
    assert [(e["event"], e["to"]) for e in history] == [
        ("create", "new"), ("start", "pending"), ("start", "pending"),
        ("session_requested", "pending"), ("close", "closed")]
    assert_error(live_server.api("POST", f"/api/v1/sessions/{code}/connect"), 409, "case_closed")


def test_manual_case_with_fields_and_field_errors(live_server: LiveServer) -> None:
    made = live_server.api("POST", "/api/v1/sessions", json={
        "end_customer": {"name": "Müller & Söhne", "email": "it@mueller.de"},
        "description": "VPN", "groupid": "vip", "assigned_userid": "u1"})
    assert made.status_code == 201
    case = made.json()
    assert case["end_customer"]["name"] == "Müller & Söhne" and case["assigned_name"] == "anna"
    bad = live_server.api("POST", "/api/v1/sessions", json={
        "end_customer": {"name": "x" * 101, "email": "nope"}, "custom_api": "y" * 4001,
        "assigned_userid": "u999"})
    body = assert_error(bad, 400, "invalid_input")
    assert set(body["fields"]) == {"end_customer.name", "end_customer.email", "custom_api"}
    unknown = live_server.api("POST", "/api/v1/sessions", json={"assigned_userid": "u999"})
    assert assert_error(unknown, 400)["fields"] == {"assigned_userid": "no such expert"}


def test_u0_means_nobody_on_create_and_edit(live_server: LiveServer) -> None:
    """TeamViewer's "u0" is "nobody": it unassigns, never a 500 from the database."""
    made = live_server.api("POST", "/api/v1/sessions", json={"assigned_userid": "u0"})
    assert made.status_code == 201, made.text
    # Nobody reads "u0" too, as TeamViewer writes it.
    assert made.json()["assigned_userid"] == "u0" and made.json()["assigned_at"] is None
    code = made.json()["code"]
    assigned = live_server.api("PUT", f"/api/v1/sessions/{code}", json={"assigned_userid": "u1"})
    assert assigned.status_code == 204, assigned.text
    assert live_server.api("GET", f"/api/v1/sessions/{code}").json()["assigned_userid"] == "u1"
    unassigned = live_server.api("PUT", f"/api/v1/sessions/{code}", json={"assigned_userid": "u0"})
    assert unassigned.status_code == 204, unassigned.text
    after = live_server.api("GET", f"/api/v1/sessions/{code}").json()
    assert after["assigned_userid"] == "u0" and after["assigned_name"] is None
    for path, method in (("/api/v1/sessions", "POST"), (f"/api/v1/sessions/{code}", "PUT")):
        unknown = live_server.api(method, path, json={"assigned_userid": "u999999999999999999"})
        assert assert_error(unknown, 400)["fields"] == {"assigned_userid": "no such expert"}


def test_a_surrogate_pair_is_one_character_and_welcome(live_server: LiveServer) -> None:
    made = live_server.api("POST", "/api/v1/sessions",
                           data=b'{"description": "printer \\ud83d\\udda8"}')
    assert made.status_code == 201, made.text
    assert made.json()["description"] == "printer \U0001f5a8"


def test_bulk_delete_over_http(live_server: LiveServer) -> None:
    codes = [live_server.api("POST", "/api/v1/sessions", json={}).json()["code"] for _ in range(3)]
    missing = assert_error(live_server.api("POST", "/api/v1/sessions/delete",
                                           json={"codes": codes[:2] + ["s00-000-000"]}), 404)
    assert missing["missing"] == ["s00-000-000"]
    assert len(live_server.api("GET", "/api/v1/sessions").json()["sessions"]) == 3  # open ones
    deleted = live_server.api("POST", "/api/v1/sessions/delete", json={"codes": codes[:2]})
    assert deleted.json() == {"deleted": 2}
    assert live_server.api("DELETE", f"/api/v1/sessions/{codes[2]}").json() == {"deleted": 1}
    assert live_server.api("GET", "/api/v1/sessions").json()["sessions"] == []


def test_modules_over_http(live_server: LiveServer) -> None:
    made = live_server.api("POST", "/api/v1/modules", json={"name": "ACME", "groupid": "acme"})
    assert made.status_code == 201
    module_id = made.json()["module_id"]
    case = live_server.sos(module_id=module_id)["case"]
    shown = live_server.api("GET", f"/api/v1/sessions/{case['code']}").json()
    assert (shown["groupid"], shown["groupname"]) == (made.json()["groupid"], "acme")
    assert live_server.api("DELETE", f"/api/v1/modules/{module_id}").json()["active"] is False
    refused = live_server.api("POST", "/api/v1/customer/sos", token=None,
                              json={"device_id": "device-new-00000000000", "module_id": module_id})
    assert_error(refused, 403, "module_revoked")
    groups = live_server.api("GET", "/api/v1/groups").json()["groups"]
    assert {"id": made.json()["groupid"], "name": "acme"}.items() <= groups[-1].items()
    unknown = live_server.api("POST", "/api/v1/customer/sos", token=None,
                              json={"device_id": "device-new-00000000000", "module_id": "m0000"})
    assert assert_error(unknown, 404, "module_not_found")["fields"] == {"module_id": "no such module"}

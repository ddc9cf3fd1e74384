"""Errors as TeamViewer's API documentation gives them (section 4): a JSON body
{"error": name, "error_description": text, "error_code": number}, on the routes
TeamViewer has. sosdesk's own stable code stays readable in sosdesk_error, and
sosdesk's own routes keep {"error", "message"}.
"""

from __future__ import annotations

import pytest
import requests

from conftest import LiveServer

#: TeamViewer's table of errors (documentation, 4 Errors): name -> error_code.
DOCUMENTED = {"invalid_request": 1, "invalid_token": 2, "internal_error": 3,
              "rate_limit_reached": 4, "token_expired": 5, "wrong_credentials": 6,
              "invalid_client": 7, "not_found": 8, "too_many_retries": 9,
              "invalid_permission": 10}


def teamviewer_error(answer: requests.Response, status: int, name: str) -> dict:
    """The body of a TeamViewer-shaped error answer with *status* and error *name*."""
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    assert body["error"] == name, body
    assert body["error_code"] == DOCUMENTED[name], body
    assert isinstance(body["error_description"], str) and body["error_description"], body
    assert "message" not in body, body
    return body


def test_an_invalid_field_is_invalid_request_with_the_fields(live_server: LiveServer) -> None:
    answer = live_server.api("POST", "/api/v1/sessions", json={"end_customer": {"email": "nope"},
                                                               "colour": "red"})
    body = teamviewer_error(answer, 400, "invalid_request")
    assert body["sosdesk_error"] == "invalid_input"
    assert set(body["fields"]) == {"end_customer.email", "colour"}
    both = live_server.api("POST", "/api/v1/sessions", json={"groupid": "g1", "groupname": "x"})
    assert teamviewer_error(both, 400, "invalid_request")["fields"] == {
        "groupname": "give groupid or groupname, not both"}
    unknown_group = live_server.api("POST", "/api/v1/sessions", json={"groupid": "g999"})
    assert "g999" in teamviewer_error(unknown_group, 400, "invalid_request")["fields"]["groupid"]
    bad_json = live_server.api("POST", "/api/v1/sessions", data=b"{not json")
    assert teamviewer_error(bad_json, 400, "invalid_request")["sosdesk_error"] == "invalid_json"
    bad_filter = live_server.api("GET", "/api/v1/sessions?state=gone&colour=red")
    assert set(teamviewer_error(bad_filter, 400, "invalid_request")["fields"]) == {"state", "colour"}


@pytest.mark.parametrize("path", ["/api/v1/sessions", "/api/v1/sessions/s12-345-678",
                                  "/api/v1/account", "/api/v1/users", "/api/v1/groups"])
def test_a_missing_or_wrong_token_is_invalid_token(live_server: LiveServer, path: str) -> None:
    assert teamviewer_error(live_server.api("GET", path, token=None), 401,
                            "invalid_token")["sosdesk_error"] == "unauthorized"
    assert teamviewer_error(live_server.api("GET", path, token="sdx_" + "x" * 43), 401,
                            "invalid_token")["sosdesk_error"] == "invalid_token"


def test_an_ended_console_login_is_token_expired(live_server: LiveServer) -> None:
    assert live_server.store is not None
    expert = live_server.store.expert_by_token(live_server.token)
    cookie, _ = live_server.store.create_web_session(expert["id"], 1_000_000, 60)  # long over
    answer = live_server.api("GET", "/api/v1/sessions", token=None,
                             headers={"Cookie": f"sosdesk_session={cookie}"})
    assert teamviewer_error(answer, 401, "token_expired")["sosdesk_error"] == "session_expired"


def test_no_such_session_is_not_found(live_server: LiveServer) -> None:
    for method, body in (("GET", None), ("PUT", {"state": "closed"})):
        answer = live_server.api(method, "/api/v1/sessions/s00-000-001", json=body)
        assert teamviewer_error(answer, 404, "not_found")["sosdesk_error"] == "case_not_found"


def test_a_change_the_state_forbids_keeps_its_detail(live_server: LiveServer) -> None:
    code = live_server.api("POST", "/api/v1/sessions", json={}).json()["code"]
    live_server.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"})
    answer = live_server.api("PUT", f"/api/v1/sessions/{code}", json={"description": "later"})
    assert teamviewer_error(answer, 409, "invalid_request")["sosdesk_error"] == "case_closed"


def test_a_cookie_without_its_csrf_token_is_invalid_permission(live_server: LiveServer) -> None:
    login = requests.post(live_server.url + "/api/v1/login", timeout=10,
                          json={"name": "anna", "password": "correct horse battery"})
    cookie = login.cookies["sosdesk_session"]
    answer = live_server.api("POST", "/api/v1/sessions", token=None, json={},
                             headers={"Cookie": f"sosdesk_session={cookie}"})
    assert teamviewer_error(answer, 403, "invalid_permission")["sosdesk_error"] == "csrf_failed"


def test_another_method_is_invalid_request_with_allow(live_server: LiveServer) -> None:
    answer = live_server.api("PATCH", "/api/v1/sessions", json={})
    assert teamviewer_error(answer, 405, "invalid_request")["sosdesk_error"] == "method_not_allowed"
    assert answer.headers["Allow"] == "GET, HEAD, POST"


def test_a_body_too_large_is_invalid_request(live_server: LiveServer) -> None:
    answer = live_server.api("POST", "/api/v1/sessions", data=b"x" * (64 * 1024 + 1))
    assert teamviewer_error(answer, 413, "invalid_request")["sosdesk_error"] == "body_too_large"


def test_sosdesks_own_routes_keep_their_shape(live_server: LiveServer) -> None:
    for method, path in (("GET", "/api/v1/modules/m0"), ("GET", "/api/v1/sessions/s00-000-001/history"),
                         ("POST", "/api/v1/sessions/delete"), ("GET", "/api/v1/changes?wait=x"),
                         ("GET", "/api/v1/customer/case")):
        answer = live_server.api(method, path, json={} if method == "POST" else None)
        body = answer.json()
        assert answer.status_code >= 400 and set(body) >= {"error", "message"}, (path, body)
        assert not {"error_code", "error_description", "sosdesk_error"} & set(body), (path, body)

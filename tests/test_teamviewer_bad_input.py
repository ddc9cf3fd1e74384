"""Bad input on the routes issue 13 added or reshaped, as a careless or hostile client
sends it: every answer is a clear refusal with a stable code (TeamViewer's error
shape on its routes, an HTML page for the customer's browser), never a 500, never
a traceback, and never a list that quietly ignores what was asked.

The documented errors themselves: test_teamviewer_errors.py; offsets that name no
session: test_teamviewer_paging.py.
"""

from __future__ import annotations

import pytest

from api_helpers import assert_error
from conftest import LiveServer


def fields(live: LiveServer, method: str, path: str, **kwargs) -> dict:
    """The per-field reasons of a 400 invalid_request on *path*."""
    answer = live.api(method, path, **kwargs)
    body = assert_error(answer, 400, "invalid_input")
    assert body["error"] == "invalid_request" and body["error_code"] == 1, body
    return body["fields"]


def test_an_unknown_group_id_in_a_filter_is_refused_not_an_empty_list(live_server: LiveServer) -> None:
    live_server.api("POST", "/api/v1/sessions", json={"groupname": "Sales"})
    assert "g999" in fields(live_server, "GET", "/api/v1/sessions?groupid=g999")["groupid"]
    # A group that is there still filters, by id and (sosdesk's older form) by name.
    sales = live_server.api("GET", "/api/v1/groups?name=Sales").json()["groups"][0]
    for value in (sales["id"], "Sales"):
        listed = live_server.api("GET", f"/api/v1/sessions?groupid={value}").json()["sessions"]
        assert [s["groupid"] for s in listed] == [sales["id"]]


@pytest.mark.parametrize("value", ["u999", "u1x", "x", "u-1", "1", "u" + "9" * 30, "%00"])
def test_a_bad_or_unknown_user_id_in_a_filter_is_refused(live_server: LiveServer, value: str) -> None:
    reason = fields(live_server, "GET", f"/api/v1/sessions?assigned_userid={value}")
    assert "assigned_userid" in reason


@pytest.mark.parametrize("body, field", [
    ({"assigned_userid": "u999"}, "assigned_userid"),
    ({"assigned_userid": "anna"}, "assigned_userid"),
    ({"assigned_userid": 1}, "assigned_userid"),
    ({"assigned_userid": "u" + "9" * 30}, "assigned_userid"),
    ({"groupid": "g999"}, "groupid"),
    ({"groupid": 3}, "groupid"),
    ({"groupname": ""}, "groupname"),
    ({"groupname": "   "}, "groupname"),
    ({"groupname": "x" * 65}, "groupname"),
    ({"groupname": "a\x00b"}, "groupname"),
    ({"groupname": ["Sales"]}, "groupname"),
    ({"groupid": "g1", "groupname": "default"}, "groupname"),
])
def test_bad_ids_and_group_names_in_a_body_change_nothing(live_server: LiveServer, body: dict,
                                                          field: str) -> None:
    assert field in fields(live_server, "POST", "/api/v1/sessions", json=body)
    code = live_server.api("POST", "/api/v1/sessions", json={"description": "kept"}).json()["code"]
    before = live_server.api("GET", f"/api/v1/sessions/{code}").json()
    assert field in fields(live_server, "PUT", f"/api/v1/sessions/{code}", json=body)
    assert live_server.api("GET", f"/api/v1/sessions/{code}").json() == before
    groups = [g["name"] for g in live_server.api("GET", "/api/v1/groups").json()["groups"]]
    assert groups == ["default"]  # no group made by a refused request


@pytest.mark.parametrize("query, field", [
    ("offset=-1", "offset"), ("offset=%ff", "offset"), ("offset=s12-345-67%00", "offset"),
    ("offset=99999999999999", "offset"), ("limit=0", "limit"), ("limit=1001", "limit"),
    ("limit=ten", "limit"), ("full_list=yes", "full_list"), ("full_list=true&limit=5", "limit"),
    ("count=maybe", "count"), ("state=gone", "state"), ("status=lost", "status"), ("sort=code", "sort"),
])
def test_bad_list_parameters_name_themselves(live_server: LiveServer, query: str, field: str) -> None:
    assert field in fields(live_server, "GET", f"/api/v1/sessions?{query}")


@pytest.mark.parametrize("path, field", [
    ("/api/v1/users?full_list=maybe", "full_list"),
    ("/api/v1/users?email=anna@example.com", "email"),  # TeamViewer's, but sosdesk keeps no e-mail
    ("/api/v1/users?colour=red", "colour"),
    ("/api/v1/groups?shared=true", "shared"),
    ("/api/v1/groups?colour=red", "colour"),
])
def test_users_and_groups_refuse_filters_they_do_not_have(live_server: LiveServer, path: str,
                                                          field: str) -> None:
    assert field in fields(live_server, "GET", path)


@pytest.mark.parametrize("path", ["/api/v1/sessions/xyz", "/api/v1/sessions/%ff%fe",
                                  "/api/v1/sessions/s12-345-6789", "/api/v1/sessions/" + "9" * 500])
def test_a_session_path_that_is_no_code_is_invalid_request(live_server: LiveServer, path: str) -> None:
    for method, body in (("GET", None), ("PUT", {"state": "closed"})):
        assert_error(live_server.api(method, path, json=body), 400, "invalid_code")


@pytest.mark.parametrize("method, path", [("POST", "/api/v1/ping"), ("PUT", "/api/v1/account"),
                                          ("DELETE", "/api/v1/users"), ("POST", "/api/v1/groups")])
def test_the_read_only_routes_refuse_other_methods(live_server: LiveServer, method: str,
                                                   path: str) -> None:
    answer = live_server.api(method, path, json={})
    assert assert_error(answer, 405, "method_not_allowed")["error"] == "invalid_request"
    assert answer.headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", ["/join/xyz", "/join/%ff", "/join/s00-000-001",
                                  "/join/s00-000-001/download/linux", "/join/xyz/download/linux",
                                  "/join/%ff/download/%ff", "/join/" + "s" * 3000])
def test_the_customers_page_answers_bad_links_with_a_page(live_server: LiveServer, path: str) -> None:
    answer = live_server.api("GET", path, token=None)
    assert answer.status_code == 404, answer.text[:200]
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "Traceback" not in answer.text and "sosdesk_error" not in answer.text


def test_a_download_for_an_unknown_system_is_a_page_too(live_server: LiveServer) -> None:
    made = live_server.api("POST", "/api/v1/sessions", json={}).json()
    for target in ("beos", "LINUX", "linux%2f..", "%00", "linux.exe"):
        answer = live_server.api("GET", f"/join/{made['code']}/download/{target}", token=None)
        assert answer.status_code == 404 and answer.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/v1/modules/m999/agent", "/api/v1/modules/..%2f../agent",
                                  "/api/v1/modules/%ff/agent"])
def test_publishing_to_no_module_is_refused_with_sosdesks_own_code(live_server: LiveServer,
                                                                   path: str) -> None:
    answer = live_server.api("PUT", path, data=b"\x7fELF" + b"\0" * 100)
    assert answer.status_code in (400, 404), answer.text
    assert assert_error(answer, answer.status_code)["error"] in ("module_not_found", "invalid_input")

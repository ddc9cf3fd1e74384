"""The API without sockets: ``dispatch(app, method, target, headers, body, client)``
on a real store, for routing, authentication, query values and the error map.
tests/test_api_*.py drive the same routes over a loopback port."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Iterator

import pytest

from api_helpers import sosdesk_code
from sosdesk.server_stub.app import App, Settings
from sosdesk.server_stub.errors import (Busy, Conflict, Forbidden, InvalidInput, NotFound,
                                        RateLimited, ServerError, StorageUnavailable,
                                        Unauthorized)
from sosdesk.server_stub.http_api import ROUTES, STATUS_OF, dispatch
from sosdesk.server_stub.request import Headers, Response, int_param
from sosdesk.server_stub.store import Store

T0 = 1_800_000_000
PASSWORD = "correct horse battery"
CLIENT = "192.0.2.7"


class Api:
    """An app on a fresh database with a fixed clock, called through dispatch."""

    def __init__(self, path: Path) -> None:
        self.store = Store(str(path))
        self.now = float(T0)
        self.app = App(self.store, Settings(), clock=lambda: self.now)
        self.expert, self.token = self.store.add_expert("anna", PASSWORD, T0)

    def call(self, method: str, target: str, body: Any = None, token: str | None = None,
             headers: dict[str, str] | None = None, client: str = CLIENT) -> Response:
        fields = dict(headers or {})
        if token:
            fields["Authorization"] = f"Bearer {token}"
        raw = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        return dispatch(self.app, method, target, fields, raw, client)

    def login(self) -> tuple[str, str]:
        """(session cookie, CSRF token) of a console login."""
        answer = self.call("POST", "/api/v1/login", {"name": "anna", "password": PASSWORD})
        assert answer.status == 200, answer.body
        set_cookie = dict(answer.headers)["Set-Cookie"]
        return set_cookie.split(";")[0].split("=", 1)[1], answer.body["csrf_token"]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    made = Api(tmp_path / "dispatch.db")
    yield made
    made.store.close()


def error_of(answer: Response, status: int) -> str:
    """sosdesk's stable code of an error answer (either shape: api_helpers.sosdesk_code)."""
    assert answer.status == status, answer.body
    return sosdesk_code(answer.body)


# -- routing ------------------------------------------------------------------------

def test_an_unknown_path_is_404_and_a_known_one_with_another_method_405(api: Api) -> None:
    assert error_of(api.call("GET", "/api/v1/nothing"), 404) == "unknown_route"
    wrong = api.call("PATCH", "/api/v1/sessions", token=api.token)
    assert error_of(wrong, 405) == "method_not_allowed"
    assert dict(wrong.headers)["Allow"] == "GET, HEAD, POST"
    assert error_of(api.call("POST", "/healthz"), 405) == "method_not_allowed"


def test_head_is_answered_as_get_and_the_query_does_not_change_the_route(api: Api) -> None:
    assert api.call("HEAD", "/healthz").status == 200
    assert api.call("GET", "/healthz?x=1").body["status"] == "ok"


def test_every_route_in_the_table_is_reached(api: Api) -> None:
    """No route answers 404/405 for its own method and path (its caller is checked first)."""
    for route in ROUTES:
        path = (route.template.replace("{code}", "s12-345-678").replace("{module_id}", "m0")
                .replace("{path}", "app.js"))
        answer = api.call(route.method, path)
        refused = answer.status in (404, 405) and answer.body  # a page has no JSON body
        code = sosdesk_code(answer.body) if refused else None
        assert answer.status not in (404, 405) or code not in (
            "unknown_route", "method_not_allowed"), (route, answer.body)


@pytest.mark.parametrize("target,code", [
    ("http://[x/", "bad_request"),
    ("/healthz?" + "&".join(f"k{n}=v" for n in range(51)), "bad_query"),
])
def test_a_target_that_is_no_url_or_has_too_many_parameters_is_400(api: Api, target: str,
                                                                  code: str) -> None:
    assert error_of(api.call("GET", target), 400) == code


# -- authentication -------------------------------------------------------------------

def test_expert_routes_take_a_bearer_token(api: Api) -> None:
    missing = api.call("GET", "/api/v1/sessions")
    assert error_of(missing, 401) == "unauthorized"
    assert dict(missing.headers)["WWW-Authenticate"] == 'Bearer realm="sosdesk"'
    assert error_of(api.call("GET", "/api/v1/sessions", token="sdx_wrong"), 401) == "invalid_token"
    assert api.call("GET", "/api/v1/sessions", token=api.token).body == {
        "sessions": [], "next_offset": None, "sessions_remaining": 0}
    # Header names are case-insensitive; a repeated one counts once, the first.
    lower = dispatch(api.app, "GET", "/api/v1/me", [("authorization", f"Bearer {api.token}"),
                                                    ("Authorization", "Bearer sdx_wrong")],
                     b"", CLIENT)
    assert lower.body["expert"] == {"id": "u1", "name": "anna"}


def test_a_console_cookie_needs_the_csrf_token_to_change_anything(api: Api) -> None:
    cookie, csrf = api.login()
    jar = {"Cookie": f"other=1; sosdesk_session={cookie}"}
    assert api.call("GET", "/api/v1/me", headers=jar).body["csrf_token"] == csrf
    refused = api.call("POST", "/api/v1/sessions", {}, headers=jar)
    assert error_of(refused, 403) == "csrf_failed"
    wrong = api.call("POST", "/api/v1/sessions", {}, headers={**jar, "X-CSRF-Token": "x" + csrf})
    assert error_of(wrong, 403) == "csrf_failed"
    made = api.call("POST", "/api/v1/sessions", {}, headers={**jar, "X-CSRF-Token": csrf})
    assert made.status == 201
    out = api.call("POST", "/api/v1/logout", headers={**jar, "X-CSRF-Token": csrf})
    assert out.status == 200 and "Max-Age=0" in dict(out.headers)["Set-Cookie"]
    assert error_of(api.call("GET", "/api/v1/me", headers=jar), 401) == "session_expired"


def test_a_console_login_ends_after_its_time(api: Api) -> None:
    cookie, _ = api.login()
    jar = {"Cookie": f"sosdesk_session={cookie}"}
    api.now += api.app.settings.session_ttl + 1
    assert error_of(api.call("GET", "/api/v1/me", headers=jar), 401) == "session_expired"


def test_customer_routes_take_only_their_case_token(api: Api) -> None:
    sos = api.call("POST", "/api/v1/customer/sos", {"device_id": "device-dispatch-0001"})
    assert sos.status == 201
    token = sos.body["token"]
    case = api.call("GET", "/api/v1/customer/case", token=token)
    assert case.body["code"] == sos.body["case"]["code"]
    assert error_of(api.call("GET", "/api/v1/customer/case"), 401) == "unauthorized"
    assert error_of(api.call("GET", "/api/v1/customer/case", token=api.token), 401) == \
        "invalid_case_token"
    # A case token is no expert credential.
    assert error_of(api.call("GET", "/api/v1/sessions", token=token), 401) == "invalid_token"


def test_the_rate_limit_key_is_the_client_address(api: Api) -> None:
    for n in range(10):
        wrong = api.call("POST", "/api/v1/customer/join",
                         {"code": f"s99-000-{n:03d}", "device_id": "device-guesser-0001"})
        assert error_of(wrong, 404) == "case_not_found"
    limited = api.call("POST", "/api/v1/customer/join",
                       {"code": "s99-000-999", "device_id": "device-guesser-0001"})
    assert error_of(limited, 429) == "too_many_wrong_codes"
    assert int(dict(limited.headers)["Retry-After"]) >= 1
    other = api.call("POST", "/api/v1/customer/join",
                     {"code": "s99-000-999", "device_id": "device-guesser-0001"}, client="192.0.2.8")
    assert error_of(other, 404) == "case_not_found"


# -- bodies and query values -------------------------------------------------------------

@pytest.mark.parametrize("body,code", [
    (b"", "missing_body"),
    (b"{not json", "invalid_json"),
    (b'{"description": "\\ud800"}', "invalid_json"),
    (b"[1]", "invalid_input"),
])
def test_bad_bodies_are_400_with_their_code(api: Api, body: bytes, code: str) -> None:
    assert error_of(api.call("POST", "/api/v1/sessions", body, token=api.token), 400) == code


@pytest.mark.parametrize("query,field", [
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=abc", "limit"), ("offset=-1", "offset"),
    ("limit=%C2%B2", "limit"), ("status=done", "status"), ("colour=red", "colour"),
])
def test_bad_queue_filters_name_the_filter(api: Api, query: str, field: str) -> None:
    answer = api.call("GET", f"/api/v1/sessions?{query}", token=api.token)
    assert error_of(answer, 400) == "invalid_input"
    assert field in answer.body["fields"]


def test_queue_pages_follow_limit_and_offset(api: Api) -> None:
    codes = [api.call("POST", "/api/v1/sessions", {}, token=api.token).body["code"] for _ in range(3)]
    first = api.call("GET", "/api/v1/sessions?limit=2", token=api.token).body
    assert [c["code"] for c in first["sessions"]] == codes[::-1][:2]
    assert (first["next_offset"], first["sessions_remaining"]) == (codes[1], 1)  # keyset: a code
    rest = api.call("GET", f"/api/v1/sessions?limit=2&offset={first['next_offset']}",
                    token=api.token).body
    assert [c["code"] for c in rest["sessions"]] == codes[:1] and rest["next_offset"] is None
    # A number is the older paging by count (the console's), answered in numbers.
    counted = api.call("GET", "/api/v1/sessions?limit=2&offset=0", token=api.token).body
    assert counted["next_offset"] == 2
    rest = api.call("GET", "/api/v1/sessions?limit=2&offset=2", token=api.token).body
    assert [c["code"] for c in rest["sessions"]] == codes[:1] and rest["next_offset"] is None


@pytest.mark.parametrize("query", ["wait=31", "wait=-1", "since=-2", "since=1.5", "wait=1e3"])
def test_long_poll_values_out_of_range_are_400(api: Api, query: str) -> None:
    sos = api.call("POST", "/api/v1/customer/sos", {"device_id": "device-dispatch-0002"})
    for target, token in ((f"/api/v1/changes?{query}", api.token),
                          (f"/api/v1/customer/case?{query}", sos.body["token"])):
        answer = api.call("GET", target, token=token)
        assert error_of(answer, 400) == "invalid_input"
        assert list(answer.body["fields"]) == [query.split("=")[0]]


def test_a_stopping_server_answers_long_polls_at_once(api: Api) -> None:
    api.app.stopping.set()
    version = api.call("GET", "/api/v1/changes", token=api.token).body["version"]
    # Without stopping this would wait 30 s for a change.
    assert api.call("GET", f"/api/v1/changes?since={version}&wait=30", token=api.token).body == {
        "version": version}


def test_int_param_takes_whole_ascii_numbers_in_range() -> None:
    errors: dict[str, str] = {}
    assert int_param(None, "n", 7, 0, 10, errors) == 7
    assert int_param("", "n", 7, 0, 10, errors) == 7
    assert int_param("-1", "n", 7, -1, 10, errors) == -1
    assert int_param("010", "n", 7, 0, 10, errors) == 10
    assert errors == {}
    for bad in ("11", "-1", "--1", "1-", "²", "1.0", " 1", "9" * 21, 5):
        errors = {}
        assert int_param(bad, "n", 7, 0, 10, errors) == 7, bad
        assert errors == {"n": "must be a whole number from 0 to 10"}, bad


# -- the error map ------------------------------------------------------------------------

@pytest.mark.parametrize("error,status", [
    (InvalidInput("x"), 400), (Unauthorized("x"), 401), (Forbidden("x"), 403),
    (NotFound("x"), 404), (Conflict("x"), 409), (RateLimited("x", 3), 429),
    (StorageUnavailable("x"), 503), (Busy("x", 2), 503), (ServerError("x"), 500),
])
def test_each_error_class_answers_its_status_with_its_code(api: Api, monkeypatch,
                                                           error: ServerError, status: int) -> None:
    def fail() -> list[dict]:
        raise error

    # A route of sosdesk's own: {error, message} (tests/test_teamviewer_errors.py: TeamViewer's).
    monkeypatch.setattr(api.store, "list_modules", fail)
    answer = api.call("GET", "/api/v1/modules", token=api.token)
    assert error_of(answer, status) == error.code
    assert answer.body["message"] == "x"
    headers = dict(answer.headers)
    if isinstance(error, (RateLimited, Busy)):
        assert headers["Retry-After"] == str(error.retry_after)
    else:
        assert "Retry-After" not in headers
    assert not answer.close


def test_every_error_class_has_a_status_below_500() -> None:
    assert all(400 <= status < 600 and status != 500 for status in STATUS_OF.values())


def test_a_bug_is_a_logged_500_without_a_traceback(api: Api, monkeypatch, caplog) -> None:
    def broken() -> list[str]:
        raise KeyError("secret-detail")

    monkeypatch.setattr(api.store, "list_groups", broken)
    with caplog.at_level(logging.ERROR, logger="sosdesk.server"):
        answer = api.call("GET", "/api/v1/groups?name=abc", token=api.token)
    assert error_of(answer, 500) == "internal_error"
    assert answer.close  # the connection may be in any state: it is closed after
    assert "secret-detail" not in answer.payload().decode()
    assert "Traceback" not in answer.payload().decode()
    assert [r.getMessage() for r in caplog.records] == ["internal error on GET /api/v1/groups"]


def test_headers_are_case_insensitive_and_the_first_counts() -> None:
    headers = Headers([("X-One", "a"), ("x-one", "b"), ("Two", "c")])
    assert headers.get("x-ONE") == "a" and headers.get("two") == "c"
    assert headers.get("three") is None and headers.get("three", "d") == "d"
    assert Headers({"Cookie": "k=v"}).get("cookie") == "k=v"

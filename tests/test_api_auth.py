"""The API's credentials against a real server on a loopback port: every route wants its
caller, a customer reaches only their own case, the console's cookie and CSRF token,
and the rate limits on wrong passwords and wrong codes."""

from __future__ import annotations

import dataclasses
import json

import pytest
import requests

from sosdesk.server_stub.http_api import ROUTES
from api_helpers import assert_error
from conftest import EXPERT_PASSWORD, LiveServer

EXPERT_ROUTES = [r for r in ROUTES if r.caller == "expert"]
CUSTOMER_ROUTES = [r for r in ROUTES if r.caller == "customer"]


def concrete(template: str) -> str:
    return template.replace("{code}", "s12-345-678").replace("{module_id}", "m0000")


@pytest.mark.parametrize("route", EXPERT_ROUTES, ids=lambda r: f"{r.method} {r.template}")
def test_every_expert_route_needs_a_credential(live_server: LiveServer, route) -> None:
    path = concrete(route.template)
    assert_error(live_server.api(route.method, path, token=None, json={}), 401, "unauthorized")
    assert_error(live_server.api(route.method, path, token="sdx_wrong", json={}), 401, "invalid_token")
    customer_token = live_server.sos()["token"]
    assert_error(live_server.api(route.method, path, token=customer_token, json={}), 401)


@pytest.mark.parametrize("route", CUSTOMER_ROUTES, ids=lambda r: f"{r.method} {r.template}")
def test_every_customer_route_needs_a_case_token(live_server: LiveServer, route) -> None:
    assert_error(live_server.api(route.method, route.template, token=None), 401, "unauthorized")
    assert_error(live_server.api(route.method, route.template), 401, "invalid_case_token")  # expert token
    assert_error(live_server.api(route.method, route.template, token="1." + "0" * 64), 401)


def test_a_customer_reaches_only_their_own_case(live_server: LiveServer) -> None:
    alice = live_server.sos("device-alice-0000000000", description="alice's printer")
    bob = live_server.sos("device-bob-000000000000", description="bob's mail")
    seen = live_server.api("GET", "/api/v1/customer/case", token=alice["token"]).json()
    assert seen["code"] == alice["case"]["code"] and "bob" not in json.dumps(seen)
    # Bob's case id with Alice's MAC, or Alice's token with Bob's id: rejected, nothing leaked.
    bob_id = bob["token"].split(".")[0]
    forged = f"{bob_id}.{alice['token'].split('.')[1]}"
    for token in (forged, bob_id + ".", alice["token"][:-1]):
        body = assert_error(live_server.api("POST", "/api/v1/customer/case/close", token=token), 401)
        assert "bob" not in json.dumps(body)
    assert live_server.api("GET", "/api/v1/customer/case", token=bob["token"]).json()["status"] == "new"
    # Knowing a code gives nothing: the expert API wants an expert, join wants an unbound case.
    taken = live_server.api("POST", "/api/v1/customer/join", token=None,
                            json={"code": bob["case"]["code"], "device_id": "device-mallory-00000000"})
    assert_error(taken, 409, "case_taken")


def login(live_server: LiveServer, name: str = "anna", password: str = EXPERT_PASSWORD):
    session = requests.Session()
    response = session.post(live_server.url + "/api/v1/login",
                            json={"name": name, "password": password}, timeout=10)
    return session, response


def test_console_login_cookie_and_csrf(live_server: LiveServer) -> None:
    session, response = login(live_server)
    assert response.status_code == 200
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    csrf = response.json()["csrf_token"]
    assert session.get(live_server.url + "/api/v1/sessions").status_code == 200
    # A mutating request with the cookie alone (what a cross-site form could send) is refused.
    refused = session.post(live_server.url + "/api/v1/sessions", json={})
    assert_error(refused, 403, "csrf_failed")
    made = session.post(live_server.url + "/api/v1/sessions", json={}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    assert session.get(live_server.url + "/api/v1/me").json()["csrf_token"] == csrf
    session.post(live_server.url + "/api/v1/logout", headers={"X-CSRF-Token": csrf})
    assert_error(session.get(live_server.url + "/api/v1/sessions"), 401)


@pytest.mark.parametrize("secure", [False, True])
def test_login_and_logout_cookies_carry_the_same_attributes(live_server: LiveServer,
                                                             secure: bool) -> None:
    """Under --secure-cookies the clearing cookie is Secure too (a browser may ignore
    a non-Secure Set-Cookie that would overwrite a Secure one)."""
    live_server.app.settings = dataclasses.replace(live_server.app.settings, secure_cookies=secure)
    _, response = login(live_server)
    set_cookie = response.headers["Set-Cookie"]
    cookie = set_cookie.split(";")[0].split("=", 1)[1]
    out = requests.post(live_server.url + "/api/v1/logout", timeout=10, headers={
        "Cookie": f"sosdesk_session={cookie}", "X-CSRF-Token": response.json()["csrf_token"]})
    assert out.status_code == 200
    cleared = out.headers["Set-Cookie"]

    def attributes(header: str) -> set[str]:
        return {a.strip() for a in header.split(";")[1:] if not a.strip().startswith("Max-Age")}

    assert cleared.startswith("sosdesk_session=;") and "Max-Age=0" in cleared
    assert attributes(cleared) == attributes(set_cookie)
    assert ("Secure" in attributes(cleared)) is secure, cleared


def test_login_failures_are_rate_limited(live_server: LiveServer) -> None:
    for _ in range(5):
        assert_error(login(live_server, password="wrong password")[1], 401, "login_failed")
    limited = login(live_server, password="wrong password")[1]
    assert_error(limited, 429, "too_many_login_failures")
    assert int(limited.headers["Retry-After"]) >= 1
    # Even the right password waits now; another name from the same address does not.
    assert login(live_server)[1].status_code == 429
    assert_error(login(live_server, name="ben", password="wrong password")[1], 401)


def test_wrong_codes_are_rate_limited(live_server: LiveServer) -> None:
    statuses = []
    for n in range(12):
        response = live_server.api("POST", "/api/v1/customer/join", token=None,
                                   json={"code": f"s00-000-{n:03d}", "device_id": "device-guess-00000000"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) >= 1
    assert statuses[:10] == [404] * 10 and statuses[10:] == [429, 429]

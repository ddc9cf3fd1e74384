"""The API against a real server on a loopback port: auth, isolation, bad input, concurrency."""

from __future__ import annotations

import dataclasses
import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from sosdesk.server_stub.http_api import ROUTES
from conftest import EXPERT_PASSWORD, ROOT, LiveServer, ServerProcess

EXPERT_ROUTES = [r for r in ROUTES if r.caller == "expert"]
CUSTOMER_ROUTES = [r for r in ROUTES if r.caller == "customer"]


def concrete(template: str) -> str:
    return template.replace("{code}", "s12-345-678").replace("{module_id}", "m0000")


def assert_error(response: requests.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"error", "message"}
    if code:
        assert body["error"] == code, body
    return body


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
    closed = live_server.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"}).json()
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
    assert made.json()["assigned_userid"] is None and made.json()["assigned_at"] is None
    code = made.json()["code"]
    assigned = live_server.api("PUT", f"/api/v1/sessions/{code}", json={"assigned_userid": "u1"})
    assert assigned.json()["assigned_userid"] == "u1"
    unassigned = live_server.api("PUT", f"/api/v1/sessions/{code}", json={"assigned_userid": "u0"})
    assert unassigned.status_code == 200, unassigned.text
    assert unassigned.json()["assigned_userid"] is None and unassigned.json()["assigned_name"] is None
    for path, method in (("/api/v1/sessions", "POST"), (f"/api/v1/sessions/{code}", "PUT")):
        unknown = live_server.api(method, path, json={"assigned_userid": "u999999999999999999"})
        assert assert_error(unknown, 400)["fields"] == {"assigned_userid": "no such expert"}


@pytest.mark.parametrize("method,path,kwargs,status,code", [
    ("POST", "/api/v1/sessions", {"data": b"{not json"}, 400, "invalid_json"),
    ("POST", "/api/v1/sessions", {"data": b"\xff\xfe"}, 400, "invalid_json"),
    ("POST", "/api/v1/sessions", {"data": b"[1, 2]"}, 400, "invalid_input"),
    ("POST", "/api/v1/sessions", {"json": {"description": 42}}, 400, "invalid_input"),
    ("POST", "/api/v1/sessions", {"json": {"end_customer": ["Bob"]}}, 400, "invalid_input"),
    ("POST", "/api/v1/sessions", {"data": b"[" * 100000}, 413, "body_too_large"),
    ("POST", "/api/v1/sessions", {"data": b"[" * 60000}, 400, "invalid_json"),
    ("POST", "/api/v1/sessions", {"data": b"9" * 5000}, 400, "invalid_json"),
    # Lone surrogates: valid JSON escapes, but no character (sqlite and UTF-8 refuse them).
    ("POST", "/api/v1/sessions", {"data": b'{"description": "\\ud800"}'}, 400, "invalid_json"),
    ("POST", "/api/v1/sessions", {"data": b'{"end_customer": {"name": "a\\udfffb"}}'}, 400,
     "invalid_json"),
    ("POST", "/api/v1/sessions", {"data": b'{"\\ud800": 1}'}, 400, "invalid_json"),
    ("POST", "/api/v1/customer/sos",
     {"data": b'{"device_id": "device-0000000000001", "description": "\\ud800"}'}, 400,
     "invalid_json"),
    ("POST", "/api/v1/customer/sos", {"data": b'{"device_id": "device-0000000000001", "\\udc00": 1}'},
     400, "invalid_json"),
    ("POST", "/api/v1/login", {"data": b'{"name": "\\ud800", "password": "a good password"}'}, 400,
     "invalid_json"),
    ("POST", "/api/v1/sessions/delete", {"json": {"codes": "s12-345-678"}}, 400, "invalid_input"),
    ("POST", "/api/v1/sessions/delete", {"json": {"codes": []}}, 400, "invalid_input"),
    ("GET", "/api/v1/sessions?limit=abc", {}, 400, "invalid_input"),
    ("GET", "/api/v1/sessions?status=open", {}, 400, "invalid_input"),
    ("GET", "/api/v1/sessions/not-a-code", {}, 400, "invalid_code"),
    ("GET", "/api/v1/sessions/s12-345-678", {}, 404, "case_not_found"),
    ("GET", "/api/v1/nope", {}, 404, "unknown_route"),
    ("GET", "/etc/passwd", {}, 404, "unknown_route"),
    ("GET", "/static/../server_stub/store.py", {}, 404, "unknown_route"),
    ("PATCH", "/api/v1/sessions", {}, 405, "method_not_allowed"),
    ("DELETE", "/api/v1/sessions", {}, 405, "method_not_allowed"),
    ("POST", "/api/v1/customer/sos", {"json": {"device_id": "short"}}, 400, "invalid_input"),
    ("POST", "/api/v1/customer/join", {"json": {"code": "abc", "device_id": "d" * 20}}, 400,
     "invalid_code"),
])
def test_bad_requests_get_documented_errors(live_server: LiveServer, method, path, kwargs,
                                            status, code) -> None:
    headers = {"Content-Type": "application/json"}
    assert_error(live_server.api(method, path, headers=headers, **kwargs), status, code)
    assert live_server.api("GET", "/healthz", token=None).status_code == 200


def test_a_surrogate_pair_is_one_character_and_welcome(live_server: LiveServer) -> None:
    made = live_server.api("POST", "/api/v1/sessions",
                           data=b'{"description": "printer \\ud83d\\udda8"}')
    assert made.status_code == 201, made.text
    assert made.json()["description"] == "printer \U0001f5a8"


def test_non_ascii_digits_in_a_case_token_or_filter_are_client_errors(live_server: LiveServer) -> None:
    """'²' passes str.isdigit() and fails int(); 'é' fails hmac.compare_digest: both were 500."""
    case_id = live_server.sos()["token"].partition(".")[0]
    for token in (f"{case_id}." + "\u00e9" * 64, "\u00b2." + "0" * 64):
        answer = raw_request(live_server.url, b"GET /api/v1/customer/case HTTP/1.1\r\nHost: x\r\n"
                             b"Authorization: Bearer " + token.encode("latin-1") + b"\r\n"
                             b"Connection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    unknown = live_server.api("GET", "/api/v1/sessions?assigned_userid=u%C2%B2")
    assert assert_error(unknown, 400)["fields"] == {"assigned_userid": "must be an expert id like u1"}


def raw_request(url: str, payload: bytes, timeout: float = 5) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(payload)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


@pytest.mark.parametrize("payload,status,code", [
    (b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
     411, "length_required"),
    (b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400, "bad_content_length"),
    (b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
     400, "bad_content_length"),
    (b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"name\":", 400,
     "truncated_body"),
    (b"GET / HTTP/2.0\r\n\r\n", 400, "unsupported_http_version"),
    (b"BREW /api/v1/sessions HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed"),
    (b"garbage\r\n\r\n", 400, "bad_request"),
    # '\xb2' is read as '\u00b2' ('²'): str.isdigit() says yes, int() says no.
    (b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: \xb2\r\n\r\n", 400,
     "bad_content_length"),
    (b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n",
     413, "body_too_large"),
    (b"GET http://[x/healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    (b"GET /healthz\r\n\r\n", 400, "unsupported_http_version"),
    # A real HTTP/0.9 client sends the request line alone and waits: answered at once.
    (b"GET /healthz\r\n", 400, "unsupported_http_version"),
    (b"GET /healthz HTTP/0.9\r\n\r\n", 400, "unsupported_http_version"),
    (b"POST /api/v1/login\r\n\r\n", 400, "unsupported_http_version"),
    # A bare CR splits a line for http.server's parser but not for a proxy in front.
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: a\rContent-Length: 5\r\n\r\nhello", 400,
     "bad_request"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello", 400, "bad_request"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: a\r\n Content-Length: 5\r\n\r\nhello", 400,
     "bad_request"),
    (b"GET /healthz HTTP/1.1\r\nFrom nobody\r\nHost: x\r\nX: a\0b\r\n\r\n", 400, "bad_request"),
])
def test_protocol_errors_are_json_and_never_5xx(live_server: LiveServer, payload, status, code) -> None:
    if b"truncated" in payload or b"Content-Length: 50" in payload:
        # Send a short body and half-close: the server sees the body end early.
        host, port = live_server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            answer = sock.makefile("rb").read()
    else:
        answer = raw_request(live_server.url, payload, timeout=2)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == str(status).encode(), answer[:300]
    assert json.loads(body)["error"] == code


def test_keep_alive_serves_many_requests_on_one_connection(live_server: LiveServer) -> None:
    host, port = live_server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    headers = {"Authorization": f"Bearer {live_server.token}"}
    for _ in range(50):
        conn.request("GET", "/api/v1/sessions?limit=1", headers=headers)
        response = conn.getresponse()
        assert response.status == 200
        response.read()
    sock = conn.sock
    conn.request("GET", "/healthz")
    conn.getresponse().read()
    assert conn.sock is sock  # still the first connection
    conn.close()


def test_two_experts_press_connect_at_once(live_server: LiveServer) -> None:
    tokens = [live_server.token] + [live_server.add_expert(f"expert{n}") for n in range(7)]
    for _ in range(3):
        code = live_server.api("POST", "/api/v1/sessions", json={}).json()["code"]
        barrier = threading.Barrier(len(tokens))

        def press(token: str) -> int:
            barrier.wait()
            return live_server.api("POST", f"/api/v1/sessions/{code}/connect", token=token).status_code

        with ThreadPoolExecutor(len(tokens)) as pool:
            statuses = sorted(pool.map(press, tokens))
        assert statuses == [200] + [409] * (len(tokens) - 1)
        history = live_server.api("GET", f"/api/v1/sessions/{code}/history").json()["events"]
        assert [e["event"] for e in history] == ["create", "start", "session_requested"]


def test_twenty_sos_clicks_from_one_device_make_one_case(live_server: LiveServer) -> None:
    barrier = threading.Barrier(20)

    def click(_: int) -> tuple[int, str, str]:
        barrier.wait()
        response = live_server.api("POST", "/api/v1/customer/sos", token=None,
                                   json={"device_id": "device-twenty-clicks-00"})
        body = response.json()
        return response.status_code, body["case"]["code"], body["token"]

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(click, range(20)))
    assert sorted(r[0] for r in results) == [200] * 19 + [201]
    assert len({r[1] for r in results}) == 1 and len({r[2] for r in results}) == 1
    assert len(live_server.api("GET", "/api/v1/sessions").json()["sessions"]) == 1


def test_concurrent_sos_from_many_devices_get_distinct_codes(live_server: LiveServer) -> None:
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda n: live_server.sos(f"device-many-{n:010d}")["case"]["code"],
                              range(64)))
    assert len(set(codes)) == 64


def test_bulk_delete_over_http(live_server: LiveServer) -> None:
    codes = [live_server.api("POST", "/api/v1/sessions", json={}).json()["code"] for _ in range(3)]
    missing = assert_error(live_server.api("POST", "/api/v1/sessions/delete",
                                           json={"codes": codes[:2] + ["s00-000-000"]}), 404)
    assert missing["missing"] == ["s00-000-000"]
    assert len(live_server.api("GET", "/api/v1/sessions").json()["sessions"]) == 3
    deleted = live_server.api("POST", "/api/v1/sessions/delete", json={"codes": codes[:2]})
    assert deleted.json() == {"deleted": 2}
    assert live_server.api("DELETE", f"/api/v1/sessions/{codes[2]}").json() == {"deleted": 1}
    assert live_server.api("GET", "/api/v1/sessions").json()["sessions"] == []


def test_long_poll_answers_on_change(live_server: LiveServer) -> None:
    made = live_server.sos()
    version = made["case"]["version"]
    results: dict = {}

    def wait() -> None:
        results["case"] = live_server.api(
            "GET", f"/api/v1/customer/case?since={version}&wait=30", token=made["token"]).json()

    def wait_changes() -> None:
        results["changes"] = live_server.api("GET", f"/api/v1/changes?since={version}&wait=30").json()

    waiters = [threading.Thread(target=wait), threading.Thread(target=wait_changes)]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.3)
    assert "case" not in results  # still waiting
    live_server.api("POST", f"/api/v1/sessions/{made['case']['code']}/connect")
    for waiter in waiters:
        waiter.join(10)
    assert results["case"]["status"] == "pending" and results["case"]["expert_name"] == "anna"
    assert results["changes"]["version"] > version
    quick = live_server.api("GET", f"/api/v1/customer/case?since={version}&wait=30",
                            token=made["token"])
    assert quick.json()["status"] == "pending"  # already newer: no waiting
    assert_error(live_server.api("GET", "/api/v1/customer/case?wait=31", token=made["token"]), 400)


def test_long_poll_reports_expiry(live_server: LiveServer) -> None:
    assert live_server.store is not None
    now = int(time.time())
    code = live_server.api("POST", "/api/v1/sessions", json={}).json()["code"]
    joined = live_server.api("POST", "/api/v1/customer/join", token=None,
                             json={"code": code, "device_id": "device-expiry-000000"}).json()
    live_server.api("PUT", f"/api/v1/sessions/{code}",
                    json={"valid_until": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 2))})
    since = live_server.api("GET", "/api/v1/customer/case", token=joined["token"]).json()["version"]
    answer = live_server.api("GET", f"/api/v1/customer/case?since={since}&wait=20",
                             token=joined["token"]).json()
    assert answer["status"] == "expired"


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


def test_modules_over_http(live_server: LiveServer) -> None:
    made = live_server.api("POST", "/api/v1/modules", json={"name": "ACME", "groupid": "acme"})
    assert made.status_code == 201
    module_id = made.json()["module_id"]
    case = live_server.sos(module_id=module_id)["case"]
    assert live_server.api("GET", f"/api/v1/sessions/{case['code']}").json()["groupid"] == "acme"
    assert live_server.api("DELETE", f"/api/v1/modules/{module_id}").json()["active"] is False
    refused = live_server.api("POST", "/api/v1/customer/sos", token=None,
                              json={"device_id": "device-new-00000000000", "module_id": module_id})
    assert_error(refused, 403, "module_revoked")
    assert "acme" in live_server.api("GET", "/api/v1/groups").json()["groups"]
    unknown = live_server.api("POST", "/api/v1/customer/sos", token=None,
                              json={"device_id": "device-new-00000000000", "module_id": "m0000"})
    assert assert_error(unknown, 404, "module_not_found")["fields"] == {"module_id": "no such module"}


def test_server_process_prints_the_first_login_once_and_stops_gracefully(server_process) -> None:
    made = server_process.api("POST", "/api/v1/sessions", json={"end_customer": {"name": "Bob"}})
    assert made.status_code == 201
    assert server_process.api("GET", "/healthz").json()["status"] == "ok"
    assert "name:      admin" in server_process.first_output
    assert server_process.stop() == 0


def test_access_log_has_one_line_per_request_and_no_secrets(tmp_path) -> None:
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log_file:
        server = ServerProcess(tmp_path / "l.db", 0, stderr=log_file).start()
        try:
            token = server.token
            password = re.search(r"password: +(\S+)", server.first_output).group(1)
            url = server.url
            headers = {"Authorization": f"Bearer {token}"}
            requests.get(url + "/api/v1/sessions?limit=5", headers=headers, timeout=5)
            requests.post(url + "/api/v1/login", json={"name": "admin", "password": password}, timeout=5)
            sos = requests.post(url + "/api/v1/customer/sos", timeout=5,
                                json={"device_id": "device-secret-12345678"}).json()
            requests.get(url + "/api/v1/customer/case", timeout=5,
                         headers={"Authorization": f"Bearer {sos['token']}"})
        finally:
            assert server.stop() == 0
    log = log_path.read_text()
    access = [line for line in log.splitlines() if "sosdesk.access" in line]
    assert len(access) == 4, log
    assert '"GET /api/v1/sessions" 200' in access[0]
    for secret in (token, password, sos["token"], "device-secret-12345678", "sosdesk_session="):
        assert secret not in log


def test_cli_manages_experts(tmp_path) -> None:
    db = str(tmp_path / "cli.db")

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sosdesk.server_stub", "--db", db, *args], cwd=ROOT,
                              input=stdin, capture_output=True, text=True, timeout=30)

    added = cli("expert", "add", "carla", "--password-stdin", stdin="a good password\n")
    assert added.returncode == 0 and "sdx_" in added.stdout
    assert "carla" in cli("expert", "list").stdout
    twice = cli("expert", "add", "carla", "--password-stdin", stdin="a good password\n")
    assert twice.returncode == 1 and twice.stderr.count("\n") == 1 and "exists" in twice.stderr
    short = cli("expert", "add", "dora", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "8 characters" in short.stderr
    assert cli("expert", "remove", "carla").returncode == 0
    missing = cli("expert", "remove", "carla")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    usage = cli("serve", "--port", "99999")
    assert usage.returncode == 1 and "port" in usage.stderr
    for option, value in (("--sos-limit", "0"), ("--idle-timeout", "0"), ("--validity-hours", "-1")):
        refused = cli("serve", "--port", "0", option, value)
        assert refused.returncode == 1 and option in refused.stderr, refused.stderr
        assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert cli("bogus").returncode == 2


def test_a_body_sent_to_a_wrong_route_is_not_taken_for_the_next_request(live_server: LiveServer) -> None:
    hidden = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    for method, path in (("POST", "/api/v1/nope"), ("PATCH", "/api/v1/sessions"),
                         ("POST", "/api/v1/sessions?" + "&".join(f"a{n}=1" for n in range(60)))):
        head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(hidden)}\r\n"
                "\r\n").encode()
        host, port = live_server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(head + hidden)
            sock.shutdown(socket.SHUT_WR)
            answer = sock.makefile("rb").read()
        assert answer.count(b"HTTP/1.1 ") == 1, answer  # one request, one answer
        assert answer.split(b" ")[1] in (b"400", b"404", b"405")


def test_method_not_allowed_names_the_methods(live_server: LiveServer) -> None:
    response = live_server.api("PATCH", "/api/v1/sessions")
    assert response.headers["Allow"] == "GET, HEAD, POST"
    assert live_server.api("PUT", "/api/v1/customer/sos").headers["Allow"] == "POST"

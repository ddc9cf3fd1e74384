"""The HTTP protocol against a real server over raw sockets: bad requests and protocol
errors get their documented JSON error (never a 5xx), keep-alive, no request smuggled
in a body, and the Allow header."""

from __future__ import annotations

import http.client
import json
import socket

import pytest

from api_helpers import assert_error, raw_request, sosdesk_code
from conftest import LiveServer


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


def test_non_ascii_digits_in_a_case_token_or_filter_are_client_errors(live_server: LiveServer) -> None:
    """'²' passes str.isdigit() and fails int(); 'é' fails hmac.compare_digest: both were 500."""
    case_id = live_server.sos()["token"].partition(".")[0]
    for token in (f"{case_id}." + "\u00e9" * 64, "\u00b2." + "0" * 64):
        answer = raw_request(live_server.url, b"GET /api/v1/customer/case HTTP/1.1\r\nHost: x\r\n"
                             b"Authorization: Bearer " + token.encode("latin-1") + b"\r\n"
                             b"Connection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    unknown = live_server.api("GET", "/api/v1/sessions?assigned_userid=u%C2%B2")
    assert assert_error(unknown, 400)["fields"] == {
        "assigned_userid": "must be an expert id like u1 (u0: nobody)"}


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
    assert sosdesk_code(json.loads(body)) == code


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

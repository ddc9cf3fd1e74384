"""What the API tests share: the check of a JSON error answer, and raw bytes over a socket."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import requests

from sosdesk.server_stub.teamviewer import ERROR_CODES, speaks_teamviewer


def sosdesk_code(body: dict, teamviewer: bool | None = None) -> str:
    """sosdesk's stable error code in an error body of either shape: TeamViewer's
    ({error, error_description, error_code, sosdesk_error}) on its routes, sosdesk's
    ({error, message}) elsewhere; *teamviewer* says which one the route must give."""
    if teamviewer is None:
        teamviewer = "error_description" in body
    if teamviewer:
        assert set(body) >= {"error", "error_description", "error_code", "sosdesk_error"}, body
        assert body["error_code"] == ERROR_CODES[body["error"]], body
        assert "message" not in body, body
        return body["sosdesk_error"]
    assert set(body) >= {"error", "message"}, body
    assert "error_description" not in body and "sosdesk_error" not in body, body
    return body["error"]


def assert_error(response: requests.Response, status: int, code: str | None = None) -> dict:
    """The JSON error answer *response* must be (in its route's shape); returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    found = sosdesk_code(body, speaks_teamviewer(urlsplit(response.url).path))
    if code:
        assert found == code, body
    return body


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

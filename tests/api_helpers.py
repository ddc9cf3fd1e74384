"""What the API tests share: the check of a JSON error answer, and raw bytes over a socket."""

from __future__ import annotations

import socket

import requests


def assert_error(response: requests.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"error", "message"}
    if code:
        assert body["error"] == code, body
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

"""A viewer client for the agent's session tests: what the expert's browser does, in Python.

It long-polls ``GET /api/v1/sessions/{code}/remote``, paints the tiles of each
FRAME onto a picture of the customer's screen, keeps the events and the
session state, and sends input, control and disconnect requests.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any, Callable

import requests
from PIL import Image


class Viewer:
    """The assignee's view of one case's remote session."""

    def __init__(self, url: str, code: str, token: str) -> None:
        self.url, self.code = url.rstrip("/"), code
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.since_frame = 0
        self.since_event = 0
        self.picture: Image.Image | None = None
        self.header: dict[str, Any] = {}
        self.session: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self.tiles_seen = 0
        self.frames_with_tiles = 0

    def path(self, tail: str = "") -> str:
        return f"{self.url}/api/v1/sessions/{self.code}{tail}"

    def connect(self) -> None:
        """Press Connect: the customer is asked."""
        answer = self.http.post(self.path("/connect"), timeout=10)
        assert answer.status_code == 200, answer.text

    def poll(self, wait: float = 2) -> dict[str, Any]:
        """One long-poll: paints what came; returns the header."""
        answer = self.http.get(self.path("/remote"), timeout=wait + 10,
                               params={"since_frame": self.since_frame, "since_event": self.since_event,
                                       "wait": max(1, int(wait))})
        assert answer.status_code == 200, answer.text
        body = answer.content
        size = int.from_bytes(body[:4], "big")
        header = json.loads(body[4:4 + size])
        offset = 4 + size
        if header["tiles"]:
            self.frames_with_tiles += 1
            if self.picture is None or self.picture.size != (header["width"], header["height"]) or header["full"]:
                self.picture = Image.new("RGB", (header["width"], header["height"]))
        for x, y, w, h, length, _ in header["tiles"]:
            tile = Image.open(io.BytesIO(body[offset:offset + length])).convert("RGB")
            self.picture.paste(tile, (x, y))
            offset += length
            self.tiles_seen += 1
        self.since_frame = header["seq"]
        self.since_event = header.get("event_seq", self.since_event)
        self.events += header.get("events") or []
        self.session = header.get("session") or {}
        self.header = header
        return header

    def until(self, what: str, check: Callable[["Viewer"], Any], timeout: float = 20) -> Any:
        """Poll until *check(self)* is true; AssertionError naming *what* after *timeout* s."""
        deadline = time.monotonic() + timeout
        while True:
            found = check(self)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"viewer: {what} not within {timeout} s; session {self.session}, "
                                     f"events {[e.get('type') for e in self.events[-12:]]}")
            self.poll(wait=1)

    def pixel(self, x: int, y: int) -> tuple[int, int, int] | None:
        """The colour the viewer shows at (x, y), or None before the first picture."""
        return self.picture.getpixel((x, y)) if self.picture else None

    def post(self, tail: str, body: dict[str, Any]) -> requests.Response:
        return self.http.post(self.path(tail), json=body, timeout=10)

    def input(self, *events: dict[str, Any]) -> None:
        answer = self.post("/remote/input", {"events": list(events)})
        assert answer.status_code == 200, answer.text


def near(a: tuple | None, b: tuple, slack: int = 24) -> bool:
    """Whether two colours are the same up to JPEG's error."""
    return a is not None and max(abs(x - y) for x, y in zip(a, b)) <= slack

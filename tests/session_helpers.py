"""A fake customer agent and a fake viewer for the remote-session tests: plain HTTP
against the real server, pictures made with Pillow, the FRAME format written
out here (not the server's encoder) so the tests check the server's reading."""

from __future__ import annotations

import io
import json
import queue
import threading
import time
from typing import Any, Callable

import requests
from PIL import Image

TILE = 64


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def jpeg(image: Image.Image, quality: int = 80) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def frame_body(seq: int, width: int, height: int, tiles: list[tuple[int, int, int, int, str, bytes]],
               full: bool = False, cursor: list[int] | None = None, monitor: int = 0) -> bytes:
    """A FRAME body: [4-byte length][JSON header][tile bytes in header order]."""
    header = {"seq": seq, "width": width, "height": height, "monitor": monitor, "cursor": cursor,
              "full": full, "tiles": [[x, y, w, h, len(data), fmt] for x, y, w, h, fmt, data in tiles]}
    head = json.dumps(header).encode()
    return len(head).to_bytes(4, "big") + head + b"".join(data for *_, data in tiles)


def tiles_of(image: Image.Image, fmt: str = "png") -> list[tuple[int, int, int, int, str, bytes]]:
    """The image cut into 64x64 tiles (smaller at the right and bottom edges)."""
    encode = png if fmt == "png" else jpeg
    out = []
    for y in range(0, image.height, TILE):
        for x in range(0, image.width, TILE):
            w, h = min(TILE, image.width - x), min(TILE, image.height - y)
            out.append((x, y, w, h, fmt, encode(image.crop((x, y, x + w, y + h)))))
    return out


def read_frame(body: bytes) -> tuple[dict, list[tuple[list, bytes]]]:
    """A FRAME as the viewer gets it: (header, [(tile entry, bytes)])."""
    size = int.from_bytes(body[:4], "big")
    header = json.loads(body[4:4 + size])
    tiles, offset = [], 4 + size
    for entry in header["tiles"]:
        tiles.append((entry, body[offset:offset + entry[4]]))
        offset += entry[4]
    assert offset == len(body), "the payload is as long as the tiles say"
    return header, tiles


class FakeAgent:
    """The customer's side over HTTP: inbox long-poll in a thread, consent answers, uploads.

    *answer(message) -> None | {"what", "allow"}* decides consent requests; by
    default nothing is answered (the test answers itself).
    """

    def __init__(self, url: str, token: str,
                 answer: Callable[[dict], dict | None] | None = None) -> None:
        self.url, self.token = url, token
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.messages: queue.Queue[dict] = queue.Queue()
        self.seen: list[dict] = []
        self.sessions: list[dict] = []
        self.answer = answer
        self.seq = 0
        self.since = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, self.url + "/api/v1/customer" + path, timeout=40, **kwargs)

    def start(self) -> "FakeAgent":
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(30)

    def _poll(self) -> None:
        http = requests.Session()  # its own connection: uploads go on beside it
        http.headers["Authorization"] = f"Bearer {self.token}"
        while not self._stop.is_set():
            try:
                answer = http.get(f"{self.url}/api/v1/customer/session/inbox",
                                  params={"since": self.since, "wait": 1}, timeout=40)
            except requests.RequestException:
                time.sleep(0.2)
                continue
            if answer.status_code != 200:
                self.messages.put({"type": "http_error", "status": answer.status_code,
                                   "body": answer.json()})
                time.sleep(0.2)
                continue
            body = answer.json()
            self.since = body["seq"]
            self.sessions.append(body["session"])
            for message in body["messages"]:
                self.seen.append(message)
                self.messages.put(message)
                decided = self.answer(message) if self.answer else None
                if decided is not None:
                    self.consent(**decided)

    def expect(self, kind: str, timeout: float = 10) -> dict:
        """The next inbox message of *kind* (others before it are skipped, but kept in seen)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                break
            if message["type"] == kind:
                return message
        raise AssertionError(f"no {kind!r} message in {timeout} s; saw {self.seen}")

    def consent(self, what: str, allow: bool) -> requests.Response:
        return self.call("POST", "/session/consent", json={"what": what, "allow": allow})

    def screen_info(self, monitors: list[dict], monitor: int = 0,
                    wayland: bool = False) -> requests.Response:
        return self.call("POST", "/session/screen-info",
                         json={"monitors": monitors, "monitor": monitor, "wayland": wayland})

    def upload(self, tiles: list, width: int, height: int, full: bool = False,
               cursor: list[int] | None = None) -> requests.Response:
        self.seq += 1
        return self.call("POST", "/session/frame",
                         data=frame_body(self.seq, width, height, tiles, full, cursor),
                         headers={"Content-Type": "application/octet-stream"})

    def share(self, image: Image.Image, cursor: list[int] | None = None) -> requests.Response:
        """Send the whole picture as a full frame of PNG tiles (exact pixels)."""
        return self.upload(tiles_of(image), image.width, image.height, full=True, cursor=cursor)


class FakeViewer:
    """The assignee's viewer over HTTP: the remote long-poll, remembering where it is."""

    def __init__(self, url: str, token: str, code: str) -> None:
        self.url, self.code = url, code
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.since_frame = self.since_event = 0
        self.events: list[dict] = []

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, f"{self.url}/api/v1/sessions/{self.code}{path}",
                                 timeout=40, **kwargs)

    def poll(self, wait: int = 0) -> tuple[dict, list[tuple[list, bytes]]]:
        answer = self.call("GET", "/remote", params={"since_frame": self.since_frame,
                                                     "since_event": self.since_event, "wait": wait})
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Type"] == "application/octet-stream"
        header, tiles = read_frame(answer.content)
        self.since_frame, self.since_event = header["seq"], header["event_seq"]
        self.events += header["events"]
        return header, tiles

    def poll_until(self, check: Callable[[dict], bool], timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            header, _ = self.poll(wait=1)
            if check(header):
                return header
        raise AssertionError(f"the viewer never saw that; events {self.events}")

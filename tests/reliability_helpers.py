"""Helpers shared by the reliability tests: raw HTTP over loopback sockets,
database checks after a crash, and small statistics.

Everything here talks to 127.0.0.1 only and every wait is bounded.
"""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Iterable

from sosdesk.server_stub import core

#: Codes of the case fields a case row must satisfy after any crash.
VALID_STATUSES = set(core.STATUSES)


def host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    assert host == "127.0.0.1", "reliability tests talk to loopback only"
    return host, int(port)


def raw_exchange(url: str, payload: bytes, timeout: float = 5.0,
                 half_close: bool = True) -> tuple[bytes, float, bool]:
    """Send *payload*, read until the server closes: (bytes read, seconds, closed?).

    With *half_close* the write side is shut after sending, so the server sees
    the end of the stream and must answer (or close) at once. ``closed`` is
    False only if the server neither closed nor finished within *timeout*.
    """
    started = time.monotonic()
    chunks = []
    with socket.create_connection(host_port(url), timeout=timeout) as sock:
        try:
            sock.sendall(payload)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server may close early (e.g. after a 413): fine
            pass
        closed = False
        while time.monotonic() - started < timeout:
            try:
                sock.settimeout(max(0.01, timeout - (time.monotonic() - started)))
                data = sock.recv(65536)
            except socket.timeout:
                break
            except OSError:  # reset by the server: counts as a close
                closed = True
                break
            if not data:
                closed = True
                break
            chunks.append(data)
    return b"".join(chunks), time.monotonic() - started, closed


_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-5][0-9]{2}) [^\r\n]*\r\n")
_HEADER_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+): ?([^\r\n]*)\r\n")


def responses(answer: bytes, head: bool = False) -> list[tuple[int, dict[bytes, list[bytes]]]]:
    """Parse a stream of HTTP/1.x responses strictly: [(status, headers by lower-case name)].

    Every byte must belong to a response: a status line, well-formed header
    lines, an empty line and exactly Content-Length bytes of body (none after a
    1xx, which is interim and left out; none after HEAD when *head*). Anything
    else (an HTTP/0.9 body-only answer, a cut-off response) is an AssertionError.
    """
    found = []
    rest = answer
    while rest:
        status_line = _STATUS_LINE.match(rest)
        assert status_line, f"not an HTTP/1.x status line: {rest[:120]!r}"
        status, rest = int(status_line.group(1)), rest[status_line.end():]
        headers: dict[bytes, list[bytes]] = {}
        while not rest.startswith(b"\r\n"):
            header = _HEADER_LINE.match(rest)
            assert header, f"malformed header line after {status}: {rest[:120]!r}"
            headers.setdefault(header.group(1).lower(), []).append(header.group(2))
            rest = rest[header.end():]
        rest = rest[2:]
        if status < 200:
            continue
        lengths = headers.get(b"content-length", [])
        assert len(lengths) == 1 and re.fullmatch(rb"[0-9]+", lengths[0]), \
            f"{status} without one Content-Length: {headers}"
        length = int(lengths[0])
        if head and (not rest or rest.startswith(b"HTTP/1.")):
            length = 0  # the answer to a HEAD: the length of the body not sent
        assert len(rest) >= length, f"{status}: body shorter than its Content-Length {length}"
        rest = rest[length:]
        found.append((status, headers))
    return found


def status_lines(answer: bytes, head: bool = False) -> list[int]:
    """The final statuses in a stream of responses (parsed strictly, see ``responses``)."""
    return [status for status, _ in responses(answer, head)]


def percentile(values: Iterable[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: list[float]) -> str:
    return (f"n={len(values)} p50={percentile(values, 50) * 1000:.1f}ms "
            f"p99={percentile(values, 99) * 1000:.1f}ms max={max(values) * 1000:.1f}ms "
            f"mean={statistics.fmean(values) * 1000:.1f}ms")


def check_database(db: Path) -> dict[str, int]:
    """Assert a database is whole: integrity, a 'create' event per case, valid fields.

    Returns counts for the report.
    """
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        without_create = conn.execute(
            "SELECT c.id FROM cases c WHERE NOT EXISTS (SELECT 1 FROM case_events e "
            "WHERE e.case_id = c.id AND e.event = 'create')").fetchall()
        assert without_create == [], f"cases without a create event: {without_create[:10]}"
        bad = []
        for row in conn.execute("SELECT id, code, status, groupid, created_by, created_at, "
                                "valid_until, version FROM cases"):
            case_id, code, status, groupid, created_by, created_at, valid_until, version = row
            if not (isinstance(code, str) and len(code) == 8 and code.isdigit()
                    and status in VALID_STATUSES and groupid
                    and (created_by == "customer" or created_by.startswith("expert:"))
                    and isinstance(created_at, int) and valid_until > created_at
                    and isinstance(version, int) and version > 0):
                bad.append(row)
        assert bad == [], f"half-written cases: {bad[:5]}"
        # Events pointing at no case would mean a delete left rows behind.
        orphans = conn.execute("SELECT COUNT(*) FROM case_events e WHERE NOT EXISTS "
                               "(SELECT 1 FROM cases c WHERE c.id = e.case_id)").fetchone()[0]
        assert orphans == 0
        cases = conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0]
        return {"cases": cases}
    finally:
        conn.close()


def all_codes(api, page: int = 1000) -> set[str]:
    """Every case code the expert API lists (all pages)."""
    codes: set[str] = set()
    offset = 0
    while offset is not None:
        response = api("GET", f"/api/v1/sessions?limit={page}&offset={offset}")
        assert response.status_code == 200, response.text
        body = response.json()
        codes.update(case["code"] for case in body["sessions"])
        offset = body["next_offset"]
    return codes


def leaked(text: str, secrets_: Iterable[str]) -> list[str]:
    """Which of *secrets_* appear in *text* (case-insensitive)."""
    lowered = text.lower()
    return [s for s in secrets_ if s and s.lower() in lowered]


def dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)

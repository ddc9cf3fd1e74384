"""What the fuzz tests share: the server under fuzz (a module-scoped ``target`` fixture:
a real server in this process with a case and its tokens), and the check of every
exchange: exactly one well-formed HTTP/1.x answer per request (the raw bytes parsed
strictly) or a clean close within a bound, never a 5xx, the server still serving."""

from __future__ import annotations

import logging
import re
import time
from typing import Iterator

import pytest
from hypothesis import HealthCheck, settings

from sosdesk.server_stub.app import App
from reliability_helpers import raw_exchange, responses, status_lines
from servers import in_process

IDLE_TIMEOUT = 2.0
# An answer or a close must come within this: the watchdog ticks once a second.
BOUND = IDLE_TIMEOUT + 3.0
EXAMPLES = 300

FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck), print_blob=True)


_HEAD_END = re.compile(rb"\n\r?\n")  # http.server ends a head at a line of "\r\n" or "\n"


def requests_in(payload: bytes) -> int:
    """How many requests a payload frames at most: a head up to its first empty
    line and its declared body, then whatever bytes follow (taken as further
    requests, as HTTP/1.1 says)."""
    count, rest = 0, payload
    while rest:
        count += 1
        end = _HEAD_END.search(rest)
        if end is None:
            break
        head, rest = rest[:end.start()], rest[end.end():]
        lengths = re.findall(rb"(?im)^content-length:[ \t]*([0-9]+)[ \t]*\r?$", head)
        rest = rest[int(lengths[0]) if len(set(lengths)) == 1 else 0:]
    return count


class Target:
    """The server under fuzz, with credentials and a count of requests sent."""

    def __init__(self, url: str, expert_token: str, customer_token: str, app: App) -> None:
        self.url, self.expert_token, self.customer_token, self.app = (
            url, expert_token, customer_token, app)
        self.case_code = ""
        self.sent = 0
        self.statuses: dict[int, int] = {}
        self.slowest = 0.0

    def exchange(self, payload: bytes) -> list[int]:
        answer, took, closed = raw_exchange(self.url, payload, timeout=BOUND)
        self.sent += 1
        self.slowest = max(self.slowest, took)
        assert closed, f"no answer and no close within {BOUND}s for {payload[:300]!r}"
        try:
            # Every byte must be a well-formed HTTP/1.x answer (an HTTP/0.9 answer,
            # a body without a status line, is not); b"" is a clean close.
            answers = responses(answer, head=b"HEAD" in payload)
        except AssertionError as exc:
            raise AssertionError(f"{exc} for {payload[:300]!r}") from None
        statuses = [status for status, _ in answers]
        for status in statuses:
            self.statuses[status] = self.statuses.get(status, 0) + 1
        # At most one answer per request the payload holds: more would mean a body
        # was taken for a request (request smuggling behind a proxy).
        requests_sent = requests_in(payload)
        assert len(statuses) <= requests_sent, f"{statuses} for {payload[:300]!r}"
        server_errors = [s for s in statuses if s >= 500]
        assert not server_errors, f"{server_errors} for {payload[:300]!r}: {answer[:500]!r}"
        for status, headers in answers:
            assert headers.get(b"x-content-type-options") == [b"nosniff"], (status, headers)
        if self.sent % 100 == 0:
            self.assert_still_serving()
        return statuses

    def assert_still_serving(self) -> None:
        """A normal request still gets its normal answer."""
        answer, _, _ = raw_exchange(self.url, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                    b"Connection: close\r\n\r\n", timeout=BOUND)
        assert status_lines(answer) == [200], answer[:300]


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    errors = _ErrorLog()
    logging.getLogger("sosdesk").addHandler(errors)
    try:
        with in_process(tmp_path_factory.mktemp("fuzz") / "fuzz.db", IDLE_TIMEOUT,
                        sos_per_10min=10**6) as server:
            _, customer_token, _ = server.store.sos({"device_id": "fuzz-device-000000001",
                                                     "description": "printer"}, int(time.time()))
            fuzz = Target(server.url, server.token, customer_token, server.app)
            fuzz.case_code = server.store.create_case({}, 1, int(time.time()))["code"]
            yield fuzz
    finally:
        logging.getLogger("sosdesk").removeHandler(errors)
    print(f"\nfuzz: {fuzz.sent} requests, statuses {dict(sorted(fuzz.statuses.items()))}, "
          f"slowest answer {fuzz.slowest:.2f}s, server errors logged: {len(errors.records)}")
    assert errors.records == [], errors.records[:3]

"""Limits under parallel load: rate limits that hold when requests arrive together.

Every request here gets its own connection, opened in advance, and all are
released together by a ``threading.Barrier``: the way an attacker sends them.
Distinct loopback source addresses (127.0.0.2, 127.0.0.3, ...) stand for
distinct clients, so per-address limits can be tested apart from global ones.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from server_stub.app import App, Server, start_timers
from server_stub.store import Store
from tests.conftest import EXPERT_PASSWORD, LiveServer
from tests.reliability_helpers import host_port

PARALLEL = 100  # requests released together per limiter


@dataclasses.dataclass
class Call:
    method: str
    path: str
    body: Any = None
    source: str = "127.0.0.1"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Answer:
    status: int  # 0: no answer (the exception is in body["exception"])
    headers: dict[str, str]
    body: dict

    @property
    def error(self) -> str | None:
        return self.body.get("error")


def released_together(url: str, calls: list[Call], timeout: float = 60.0,
                      done: list[int] | None = None,
                      released: threading.Event | None = None) -> list[Answer]:
    """Send each call on its own, already connected socket, all at the same moment.

    *done*, if given, counts the answers received so far and *released* is set
    when the calls go out (for a watcher that must know whether they are in flight).
    """
    host, port = host_port(url)
    barrier = threading.Barrier(len(calls), action=released.set if released else None)
    answers: list[Answer | None] = [None] * len(calls)
    counter_lock = threading.Lock()

    def one(index: int, call: Call) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout,
                                          source_address=(call.source, 0))
        try:
            try:
                conn.connect()
            finally:
                barrier.wait(timeout)  # even a failed connect must not hold the others back
            body = json.dumps(call.body).encode() if call.body is not None else None
            headers = {"Content-Type": "application/json", **call.headers}
            conn.request(call.method, call.path, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            answers[index] = Answer(response.status,
                                    {k.lower(): v for k, v in response.getheaders()},
                                    json.loads(raw) if raw else {})
        except Exception as exc:  # recorded, and reported by the test's asserts
            answers[index] = Answer(0, {}, {"exception": repr(exc)})
        finally:
            conn.close()
            if done is not None:
                with counter_lock:
                    done[0] += 1

    threads = [threading.Thread(target=one, args=(i, call), daemon=True)
               for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 30)
    assert all(not t.is_alive() for t in threads), "some requests never finished"
    return [a for a in answers if a is not None]


def statuses(answers: list[Answer]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for answer in answers:
        counts[answer.status] = counts.get(answer.status, 0) + 1
    return counts


def assert_refused(answers: list[Answer], error: str) -> None:
    """Every 429 among *answers* names *error* and says when to retry."""
    for answer in answers:
        if answer.status == 429:
            assert answer.error == error, answer.body
            assert int(answer.headers["retry-after"]) >= 1, answer.headers


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """A real server in this process with the default limits (conftest's raises the SOS one)."""
    store = Store(str(tmp_path / "limits.db"))
    _, token = store.add_expert("anna", EXPERT_PASSWORD, int(time.time()))
    app = App(store, idle_timeout=30.0)
    http_server = Server(("127.0.0.1", 0), app)
    stop_timers = start_timers(http_server)
    thread = threading.Thread(target=http_server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield LiveServer(http_server.url, token, "anna", store, app)
    finally:
        stop_timers.set()
        http_server.shutdown()
        store.wake_waiters()
        http_server.server_close()
        app.wait_idle(5)
        store.close()


def device(n: int) -> dict:
    return {"device_id": f"parallel-device-{n:06d}",
            "device": {"hostname": f"pc-{n}", "os": "Linux", "user": "u"}}


def test_parallel_wrong_codes_stop_at_the_limit(server: LiveServer) -> None:
    guesses = [Call("POST", "/api/v1/customer/join", {"code": f"s99-000-{n:03d}", **device(1)})
               for n in range(PARALLEL)]
    answers = released_together(server.url, guesses)
    counts = statuses(answers)
    assert set(counts) <= {404, 429}, counts
    assert 1 <= counts.get(404, 0) <= 10, f"{counts.get(404)} of {PARALLEL} guesses were checked"
    assert_refused(answers, "too_many_wrong_codes")
    # Another address still has all its tries, and the right code is not a guess:
    made = server.api("POST", "/api/v1/sessions", json={}).json()
    joins = [Call("POST", "/api/v1/customer/join", {"code": made["code"], **device(2)},
                  source="127.0.0.2") for _ in range(30)]
    for call in joins:  # one after the other: each gives its slot back
        assert released_together(server.url, [call])[0].status == 200
    wrong = [Call("POST", "/api/v1/customer/join", {"code": f"s98-000-{n:03d}", **device(3)},
                  source="127.0.0.2") for n in range(PARALLEL)]
    assert statuses(released_together(server.url, wrong)).get(404, 0) == 10


def test_parallel_sos_creates_stop_at_the_limit(server: LiveServer) -> None:
    limit = server.app.sos_per_10min
    creates = [Call("POST", "/api/v1/customer/sos", device(n)) for n in range(PARALLEL)]
    answers = released_together(server.url, creates)
    counts = statuses(answers)
    assert set(counts) <= {201, 429}, counts
    assert 1 <= counts.get(201, 0) <= limit, f"{counts.get(201)} of {PARALLEL} SOS created cases"
    assert_refused(answers, "too_many_requests")
    assert len(server.store.list_cases({}, int(time.time()))["sessions"]) == counts[201]
    # A device asking again for its open case gets it back without spending a slot.
    source = "127.0.0.3"
    first = released_together(server.url, [Call("POST", "/api/v1/customer/sos", device(1000),
                                                 source=source)])[0]
    assert first.status == 201
    for _ in range(limit + 5):
        again = released_together(server.url, [Call("POST", "/api/v1/customer/sos", device(1000),
                                                     source=source)])[0]
        assert again.status == 200 and again.body["created"] is False
    more = released_together(server.url, [Call("POST", "/api/v1/customer/sos", device(2000 + n),
                                                source=source) for n in range(PARALLEL)])
    assert statuses(more).get(201, 0) == limit - 1


def login_call(name: str, password: str = "wrong password", source: str = "127.0.0.1") -> Call:
    return Call("POST", "/api/v1/login", {"name": name, "password": password}, source=source)


def test_parallel_failed_logins_stop_at_the_limits(server: LiveServer) -> None:
    # One name from one address: 5 failures.
    answers = released_together(server.url, [login_call("anna") for _ in range(PARALLEL)])
    counts = statuses(answers)
    assert set(counts) <= {401, 429, 503}, counts
    checked = counts.get(401, 0) + counts.get(503, 0)
    assert 1 <= counts.get(401, 0) and checked <= 5, f"{checked} of {PARALLEL} logins were checked"
    assert_refused(answers, "too_many_login_failures")
    # Many names from one address: 20 failures in all.
    source = "127.0.0.4"
    answers = released_together(server.url, [login_call(f"name{n}", source=source)
                                              for n in range(PARALLEL)])
    counts = statuses(answers)
    checked = counts.get(401, 0) + counts.get(503, 0)
    assert 1 <= counts.get(401, 0) and checked <= 20, f"{checked} of {PARALLEL} logins were checked"
    assert_refused(answers, "too_many_login_failures")
    # Logging in with the right password is not a failure: it gives its slots back.
    source = "127.0.0.5"
    for _ in range(30):
        ok = released_together(server.url, [login_call("anna", EXPERT_PASSWORD, source)])[0]
        assert ok.status == 200, ok.body
    wrong = released_together(server.url, [login_call("anna", source=source) for _ in range(20)])
    assert statuses(wrong).get(401, 0) + statuses(wrong).get(503, 0) == 5

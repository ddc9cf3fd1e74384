"""Limits under parallel load: rate limits that hold when requests arrive together,
and a login flood that cannot exhaust the server's memory.

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

from sosdesk.server_stub.app import Settings
from sosdesk.server_stub.auth import PasswordChecks
from conftest import EXPERT_PASSWORD, LiveServer, ServerProcess, free_port
from servers import in_process
from reliability_helpers import host_port

PARALLEL = 100  # requests released together per limiter
FLOOD = 200  # logins in the memory test
FLOOD_ADDRESSES = 10  # source addresses of the flood (20 each: the per-address limit)
PEAK_RSS_LIMIT_MIB = 200
KILL_ABOVE_MIB = 1500  # a runaway server (the old code) is stopped before it hurts the machine


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
    with in_process(tmp_path / "limits.db", idle_timeout=30.0,
                    sos_per_10min=Settings().sos_per_10min, sweep_every=30.0) as server:
        yield server


def device(n: int) -> dict:
    return {"device_id": f"parallel-device-{n:06d}",
            "device": {"hostname": f"pc-{n}", "os": "Linux", "user": "u"}}


# -- item: rate limits hold against parallel requests -----------------------------------

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
    limit = server.app.settings.sos_per_10min
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


def test_a_login_that_finds_no_password_check_slot_gets_503_and_costs_no_try(
        server: LiveServer) -> None:
    server.app.password_checks = PasswordChecks(slots=1, wait=0.05)
    hold = threading.Event()
    holder = threading.Thread(target=server.app.password_checks.run, args=(hold.wait,))
    holder.start()
    try:
        for _ in range(10):
            busy = released_together(server.url, [login_call("anna")])[0]
            assert busy.status == 503 and busy.error == "server_busy", busy.body
            assert int(busy.headers["retry-after"]) >= 1
    finally:
        hold.set()
        holder.join(10)
    # The ten busy answers cost nothing: the five tries of this name are all left.
    wrong = [released_together(server.url, [login_call("anna")])[0].status for _ in range(6)]
    assert wrong == [401] * 5 + [429]


# -- item: a login flood cannot exhaust memory ------------------------------------------

def memory_mib(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of process *pid*, in MiB."""
    found = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0]) / 1024
    return found


@dataclasses.dataclass
class Flood:
    """What one flood of logins gave: the answers, and what happened meanwhile."""

    answers: list[Answer]
    during: list[tuple[int, int]]  # (healthz, authenticated list) answered while it went on
    killed: bool


def flood(server: ServerProcess, calls: list[Call]) -> Flood:
    """Release *calls* together while another client uses the server and RSS is watched."""
    pid = server.proc.pid
    done, released, over, killed = [0], threading.Event(), threading.Event(), threading.Event()
    during: list[tuple[int, int]] = []

    def watch_memory() -> None:  # stop a runaway server before it hurts the machine
        while not over.is_set():
            if memory_mib(pid)["VmRSS"] > KILL_ABOVE_MIB:
                killed.set()
                server.proc.kill()
                return
            time.sleep(0.02)

    def other_client() -> None:  # an expert's console, from another connection
        while not over.is_set() and not killed.is_set():
            if not released.is_set():
                time.sleep(0.01)
                continue
            going = done[0] < len(calls)
            try:
                health = server.api("GET", "/healthz").status_code
                listed = server.api("GET", "/api/v1/sessions").status_code
            except OSError:
                health = listed = 0
            if going and done[0] < len(calls):  # both answered before the flood ended
                during.append((health, listed))
            time.sleep(0.05)

    watchers = [threading.Thread(target=watch_memory, daemon=True),
                threading.Thread(target=other_client, daemon=True)]
    for thread in watchers:
        thread.start()
    answers = released_together(server.url, calls, done=done, released=released)
    over.set()
    for thread in watchers:
        thread.join(60)
    return Flood(answers, during, killed.is_set())


def test_login_flood_keeps_memory_bounded_and_the_server_answering(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "flood.db", free_port(), "--quiet").start()
    pid = server.proc.pid
    try:
        for _ in range(3):  # warm up: the first requests import and allocate what they need
            assert server.api("GET", "/api/v1/sessions").status_code == 200
            assert server.api("POST", "/api/v1/login",
                              json={"name": "admin", "password": "x"}).status_code == 401
        before = memory_mib(pid)
        # Distinct names from distinct addresses: no per-name or per-address limit
        # stops this flood (20 per address), only the bound on password checks does.
        spread = flood(server, [login_call(f"flood{n}", source=f"127.0.0.{2 + n % FLOOD_ADDRESSES}")
                                for n in range(FLOOD)])
        assert not spread.killed, f"the server passed {KILL_ABOVE_MIB} MiB and was stopped"
        # The same from one address stops at that address's limit, before any hashing.
        single = flood(server, [login_call(f"single{n}", source="127.0.0.99") for n in range(FLOOD)])
        time.sleep(0.5)
        after = memory_mib(pid)
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
        server.proc.wait()

    counts, single_counts = statuses(spread.answers), statuses(single.answers)
    print(f"\nlogin flood: {FLOOD} logins from {FLOOD_ADDRESSES} addresses released together: "
          f"{counts}; then {FLOOD} from one address: {single_counts}; RSS before "
          f"{before['VmRSS']:.0f} MiB, peak (VmHWM) {after['VmHWM']:.0f} MiB, after "
          f"{after['VmRSS']:.0f} MiB; {len(spread.during) + len(single.during)} other "
          f"requests answered during the floods")
    assert set(counts) <= {401, 503}, counts
    assert counts.get(401, 0) >= 1
    for answer in spread.answers + single.answers:
        if answer.status == 503:
            assert answer.error == "server_busy", answer.body
            assert int(answer.headers["retry-after"]) >= 1
    assert set(single_counts) <= {401, 429, 503}, single_counts
    assert single_counts.get(401, 0) + single_counts.get(503, 0) <= 20, single_counts
    assert_refused(single.answers, "too_many_login_failures")
    assert after["VmHWM"] < PEAK_RSS_LIMIT_MIB, after
    assert spread.during, "no other request was made while the flood was going on"
    assert all(pair == (200, 200) for pair in spread.during + single.during), \
        spread.during + single.during

"""Crash safety: kill -9 the server process under write load, restart it on the
same database, and check that nothing acknowledged is lost or half-written.

Each round picks its kill moment from a seeded random generator (the seed is
printed), so a failing round can be replayed.
"""

from __future__ import annotations

import queue
import random
import sqlite3
import signal
import threading
import time
from pathlib import Path

import requests

from sosdesk.server_stub.core import format_code
from sosdesk.server_stub.store import Store
from conftest import ServerProcess, free_port
from reliability_helpers import all_codes, check_database

ROUNDS = 4
WORKERS = 8
SEED = 20261128


def _start(db: Path, token: str = "") -> ServerProcess:
    server = ServerProcess(db, free_port(), "--sos-limit", "1000000", "--quiet").start()
    server.token = server.token or token
    return server


def _wait_until(condition, limit: float = 10.0) -> float:
    """Seconds until *condition* holds (polled every 5 ms), at most *limit*."""
    started = time.monotonic()
    while not condition() and time.monotonic() - started < limit:
        time.sleep(0.005)
    return time.monotonic() - started


def _jitter(rng: random.Random) -> float:
    """A random extra moment, so the kill lands anywhere inside a request."""
    pause = rng.uniform(0, 0.02)
    time.sleep(pause)
    return pause


def _kill(server: ServerProcess) -> None:
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL


def test_acknowledged_sos_cases_survive_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    server = _start(db)
    token = server.token
    assert token
    rng = random.Random(SEED)
    report = []
    seen_before: set[str] = set()
    try:
        for round_no in range(ROUNDS):
            acknowledged: dict[str, str] = {}  # code -> device id
            errors: list[str] = []
            lock = threading.Lock()
            stop_at = time.monotonic() + 15  # a hard bound even if the kill failed

            def worker(n: int) -> None:
                with requests.Session() as http:
                    for i in range(5000):
                        if time.monotonic() > stop_at:
                            return
                        device = f"crash-r{round_no}-w{n}-{i:06d}"
                        try:
                            response = http.post(server.url + "/api/v1/customer/sos", timeout=5,
                                                 json={"device_id": device,
                                                       "device": {"hostname": "PC", "os": "Linux",
                                                                  "user": "bob"}})
                        except requests.RequestException:
                            return  # the server is gone: this request was never acknowledged
                        if response.status_code in (200, 201):
                            with lock:
                                acknowledged[response.json()["case"]["code"]] = device
                        else:
                            with lock:
                                errors.append(f"{response.status_code} {response.text[:200]}")
                            return

            threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
            for thread in threads:
                thread.start()
            # Kill after a random amount of progress (not of time, which depends on the machine).
            target = rng.randrange(50, 400)
            delay = _wait_until(lambda: len(acknowledged) >= target) + _jitter(rng)
            _kill(server)
            for thread in threads:
                thread.join(20)
            assert not errors, errors[:3]
            assert acknowledged, "nothing was created before the kill"

            counts = check_database(db)  # the crashed file as it is, before any restart
            server = _start(db, token)
            listed = all_codes(server.api)
            missing = set(acknowledged) - listed
            assert not missing, f"round {round_no}: acknowledged but lost: {sorted(missing)[:10]}"
            with requests.Session() as http:
                http.headers["Authorization"] = f"Bearer {token}"
                for code in acknowledged:
                    response = http.get(f"{server.url}/api/v1/sessions/{code}", timeout=10)
                    assert response.status_code == 200, response.text
                    case = response.json()
                    assert case["created_by"] == "customer" and case["status"] == "new"
                    events = http.get(f"{server.url}/api/v1/sessions/{code}/history",
                                      timeout=10).json()["events"]
                    assert events[0]["event"] == "create"
            # Committed but not acknowledged: at most the requests in flight at the kill.
            unacked = len(listed - seen_before - set(acknowledged))
            seen_before = listed
            assert 0 <= unacked <= WORKERS, unacked
            report.append({"round": round_no, "kill_after_s": round(delay, 2),
                           "acked": set(acknowledged), "unacked_committed": unacked,
                           "cases_in_db": counts["cases"]})
    finally:
        if server.proc and server.proc.poll() is None:
            server.stop()
    for row in report:
        print(f"sos crash round {row['round']}: killed after {row['kill_after_s']}s, "
              f"{len(row['acked'])} acknowledged, all present; {row['unacked_committed']} "
              f"committed but unacknowledged; {row['cases_in_db']} cases in db; integrity ok")
    assert check_database(db)["cases"] == sum(len(r["acked"]) for r in report) + sum(
        r["unacked_committed"] for r in report)


BATCH = 20
BATCHES = 120


def _seed_batches(db: Path, round_no: int) -> list[list[str]]:
    """BATCHES batches of BATCH expert-made cases, written with the server stopped."""
    store = Store(str(db))
    try:
        now = int(time.time())
        expert_id = 1
        batches = []
        for b in range(BATCHES):
            batch = [store.create_case({"description": f"bulk r{round_no} b{b}"}, expert_id, now)
                     ["code"] for _ in range(BATCH)]
            batches.append(batch)
        return batches
    finally:
        store.close()


def test_bulk_delete_is_all_or_nothing_across_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "bulk.db"
    server = _start(db)
    token = server.token
    _kill(server)
    rng = random.Random(SEED + 1)
    lines = []
    for round_no in range(ROUNDS):
        batches = _seed_batches(db, round_no)
        server = _start(db, token)
        todo: queue.Queue[int] = queue.Queue()
        for index in range(len(batches)):
            todo.put(index)
        deleted: set[int] = set()
        errors: list[str] = []

        def worker() -> None:
            with requests.Session() as http:
                http.headers["Authorization"] = f"Bearer {token}"
                while True:
                    try:
                        index = todo.get_nowait()
                    except queue.Empty:
                        return
                    try:
                        response = http.post(server.url + "/api/v1/sessions/delete", timeout=5,
                                             json={"codes": batches[index]})
                    except requests.RequestException:
                        return
                    if response.status_code == 200 and response.json() == {"deleted": BATCH}:
                        deleted.add(index)
                    else:
                        errors.append(f"{response.status_code} {response.text[:200]}")
                        return

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        target = rng.randrange(5, BATCHES - 20)
        delay = _wait_until(lambda: len(deleted) >= target) + _jitter(rng)
        _kill(server)
        for thread in threads:
            thread.join(20)
        assert not errors, errors[:3]

        check_database(db)
        listed = _codes_in_db(db)  # straight from the crashed file, before any restart
        whole = gone = 0
        for index, batch in enumerate(batches):
            present = sum(code in listed for code in batch)
            assert present in (0, BATCH), f"batch {index} half deleted: {present}/{BATCH} left"
            if index in deleted:
                assert present == 0, f"batch {index} was acknowledged as deleted but is back"
            whole += present == BATCH
            gone += present == 0
        unacked_gone = gone - len(deleted)
        assert 0 <= unacked_gone <= len(threads)
        lines.append(f"bulk delete round {round_no}: killed after {delay:.2f}s, {len(deleted)} "
                     f"batches of {BATCH} acknowledged and gone, {unacked_gone} deleted but "
                     f"unacknowledged, {whole} whole, 0 partial")
    # And the expert API, after a restart, agrees with the file.
    server = _start(db, token)
    try:
        assert all_codes(server.api) == _codes_in_db(db)
    finally:
        server.stop()
    check_database(db)
    print("\n".join(lines))


def _codes_in_db(db: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {format_code(row[0]) for row in conn.execute("SELECT code FROM cases")}
    finally:
        conn.close()

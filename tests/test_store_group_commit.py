"""Group commit: SOS requests that wait for the store together share one COMMIT.

Every member answers only after the COMMIT that holds its case, a member that
fails takes nothing of the others with it, and no read sees an uncommitted row.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from sosdesk.server_stub.errors import Forbidden
from sosdesk.server_stub.store import Store

T0 = 1_700_000_000


def _statements(store: Store) -> list[str]:
    seen: list[str] = []
    store._db.set_trace_callback(seen.append)
    return seen


def _sos_together(store: Store, bodies: list[dict]) -> list:
    """Start one SOS thread per body while the store is locked, then let them all in."""
    results: list = [None] * len(bodies)

    def ask(n: int) -> None:
        try:
            results[n] = store.sos(bodies[n], T0)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            results[n] = exc

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(len(bodies))]
    with store._lock:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while store._grouped_waiting < len(bodies) and time.monotonic() < deadline:
            store._lock.release()  # let the threads reach the lock
            time.sleep(0.01)
            store._lock.acquire()
    for thread in threads:
        thread.join(30)
    return results


def test_sos_requests_waiting_together_share_a_commit(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "group.db"))
    statements = _statements(store)
    bodies = [{"device_id": f"device-{n:04d}-aaaaaaaaaaaa"} for n in range(8)]
    results = _sos_together(store, bodies)
    assert all(created for _, _, created in results)
    commits = [s for s in statements if s.strip().upper() == "COMMIT"]
    assert 1 <= len(commits) < len(bodies)
    store.close()
    # Every case answered is in the database file, read by another connection.
    with sqlite3.connect(tmp_path / "group.db") as other:
        codes = {row[0] for row in other.execute("SELECT code FROM cases")}
    assert {case["code"].replace("s", "").replace("-", "") for case, _, _ in results} == codes


def test_a_failing_member_loses_nothing_of_the_others(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "group.db"))
    store.add_expert("anna", "password-anna", T0)
    module = store.create_module({"name": "ACME", "groupid": "acme"}, 1, T0)
    store.revoke_module(module["module_id"], T0)
    bodies = [{"device_id": f"device-{n:04d}-aaaaaaaaaaaa"} for n in range(6)]
    bodies[2]["module_id"] = module["module_id"]  # refused: its module is revoked
    results = _sos_together(store, bodies)
    assert isinstance(results[2], Forbidden)
    created = [r for n, r in enumerate(results) if n != 2]
    assert all(made for _, _, made in created)
    assert len(store.list_cases({}, T0)["sessions"]) == 5


def test_a_read_commits_the_open_group_first(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "group.db"))
    entered, go_on = threading.Event(), threading.Event()
    seen: list[int] = []
    real_insert = store._insert_case

    def slow_insert(*args, **kwargs):
        case_id = real_insert(*args, **kwargs)
        entered.set()
        go_on.wait(10)
        return case_id

    store._insert_case = slow_insert  # type: ignore[method-assign]
    worker = threading.Thread(target=store.sos, args=({"device_id": "device-0000-aaaaaaaaaaaa"}, T0))
    worker.start()
    assert entered.wait(10)
    # The SOS holds the lock inside its savepoint: a read waits for the lock, and
    # then finds the group committed (or not begun), never half done.
    reader = threading.Thread(target=lambda: seen.append(len(store.list_cases({}, T0)["sessions"])))
    reader.start()
    time.sleep(0.1)
    assert seen == []
    go_on.set()
    worker.join(10)
    reader.join(10)
    assert seen == [1]
    assert store._group is None


@pytest.mark.parametrize("members", [1, 3])
def test_a_failed_commit_fails_every_member(tmp_path: Path, members: int) -> None:
    store = Store(str(tmp_path / "group.db"))
    real_flush = store._flush_group

    def failing_flush() -> None:
        if store._group is not None:
            # A row whose foreign key is checked only at COMMIT: the COMMIT fails.
            store._db.execute("PRAGMA defer_foreign_keys = ON")
            store._db.execute("INSERT INTO case_events (case_id, at, actor, event, to_status) "
                              "VALUES (999999, 0, 'system', 'create', 'new')")
        real_flush()

    store._flush_group = failing_flush  # type: ignore[method-assign]
    bodies = [{"device_id": f"device-{n:04d}-aaaaaaaaaaaa"} for n in range(members)]
    results = _sos_together(store, bodies)
    store._flush_group = real_flush  # type: ignore[method-assign]
    assert all(isinstance(r, Exception) for r in results), results
    assert store.list_cases({}, T0)["sessions"] == []

"""The store's long-polls on threads: which change wakes which waiter, and who reads.

Each waiter is a thread in wait_customer_case on an in-memory store. The clock
is fixed (integer times as in test_store), so a waiter only ever wakes because
something woke it, never because its case's deadline came.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import pytest

from sosdesk.server_stub.errors import NotFound
from sosdesk.server_stub.store import Store

T0 = 1_700_000_000
DAY = 24 * 3600


def clock() -> float:
    return float(T0 + 10)


def until(probe: Callable[[], bool], what: str, limit: float = 10.0) -> None:
    """Wait until *probe* is true (a bound for a broken build, not a timing check)."""
    end = time.monotonic() + limit
    while not probe():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.005)


class Waiter(threading.Thread):
    """One long-poll on a case: its answer (or exception) once it returns."""

    def __init__(self, store: Store, case_id: int, since: int) -> None:
        super().__init__(daemon=True)
        self.store, self.case_id, self.since = store, case_id, since
        self.answer: Any = None

    def run(self) -> None:
        try:
            self.answer = self.store.wait_customer_case(self.case_id, self.since, timeout=60,
                                                       clock=clock)
        except Exception as exc:  # handed to the test thread
            self.answer = exc

    def result(self) -> Any:
        self.join(10)
        assert not self.is_alive(), "the long-poll did not answer"
        return self.answer


@pytest.fixture
def store() -> Store:
    return Store(":memory:")


def new_case(store: Store, device: str, now: int = T0) -> tuple[int, dict]:
    """An SOS case made at *now*: (case id, customer view)."""
    view, token, _ = store.sos({"device_id": f"device-{device:0>16}"}, now)
    return store.customer_case_id(token), view


def count_reads(store: Store) -> dict[int, int]:
    """Count the store's reads of each customer case (the waiters' only way to look)."""
    reads: dict[int, int] = {}
    real_read = store.customer_case

    def counted(case_id: int, now: int) -> dict:
        # Counted once the read is done: a read still under way when the test makes its
        # change could see that change already and answer after one read.
        try:
            return real_read(case_id, now)
        finally:
            reads[case_id] = reads.get(case_id, 0) + 1

    store.customer_case = counted  # type: ignore[method-assign]
    return reads


def waiting(store: Store, reads: dict[int, int], *cases: tuple[int, dict]) -> list[Waiter]:
    """Start a waiter on each case and return once each has read its case once."""
    waiters = [Waiter(store, case_id, view["version"]) for case_id, view in cases]
    for waiter in waiters:
        waiter.start()
    until(lambda: all(reads.get(case_id) == 1 for case_id, _ in cases), "every first read")
    return waiters


def test_a_change_wakes_the_waiters_of_its_case_and_no_other(store: Store) -> None:
    a, b = new_case(store, "a"), new_case(store, "b")
    reads = count_reads(store)
    wait_a, wait_b = waiting(store, reads, a, b)
    store.customer_start(a[0], T0 + 10)
    assert wait_a.result()["version"] > a[1]["version"]
    assert reads[a[0]] == 2
    # B's waiter must not look at the database for A's change. A grace period
    # can only hide a stray read, never invent one, so this cannot flicker red.
    time.sleep(0.3)
    assert reads[b[0]] == 1 and wait_b.is_alive()
    store.customer_close(b[0], T0 + 11)
    assert wait_b.result()["status"] == "closed"
    assert reads[b[0]] == 2


def test_the_expiry_sweep_wakes_the_waiters_of_expired_cases(store: Store) -> None:
    a, b = new_case(store, "a", now=T0 + DAY // 2), new_case(store, "b")
    reads = count_reads(store)
    wait_a, wait_b = waiting(store, reads, a, b)
    # The fixed clock keeps both waiters from waking at their own deadline, so
    # only the sweep can wake B; A is not due yet and stays asleep.
    assert store.expire_due(T0 + DAY) == 1
    assert wait_b.result()["status"] == "expired"
    assert wait_a.is_alive() and reads[a[0]] == 1
    store.wake_waiters()
    assert wait_a.result()["status"] == "new"


def test_deleting_a_case_tells_its_waiter_it_is_gone(store: Store) -> None:
    a, b = new_case(store, "a"), new_case(store, "b")
    reads = count_reads(store)
    wait_a, wait_b = waiting(store, reads, a, b)
    assert store.delete_cases([a[1]["code"]]) == 1
    assert isinstance(wait_a.result(), NotFound)
    assert wait_b.is_alive() and reads[b[0]] == 1
    store.wake_waiters()
    assert wait_b.result()["version"] == b[1]["version"]


def test_stopping_wakes_every_waiter_and_later_ones_answer_at_once(store: Store) -> None:
    cases = [new_case(store, str(n)) for n in range(5)]
    reads = count_reads(store)
    waiters = waiting(store, reads, *cases)
    store.wake_waiters()
    for waiter, (_, view) in zip(waiters, cases):
        assert waiter.result()["version"] == view["version"]
    late = Waiter(store, cases[0][0], cases[0][1]["version"])
    late.start()
    assert late.result()["version"] == cases[0][1]["version"]


def test_many_waiters_on_one_case_all_wake(store: Store) -> None:
    case_id, view = new_case(store, "a")
    reads = count_reads(store)
    waiters = [Waiter(store, case_id, view["version"]) for _ in range(20)]
    for waiter in waiters:
        waiter.start()
    until(lambda: reads.get(case_id) == 20, "every first read")
    store.customer_start(case_id, T0 + 10)
    assert all(w.result()["status"] == "pending" for w in waiters)

"""Unit tests of the bound on concurrent password checks (server_stub.auth);
the HTTP level and the memory it saves are in tests/test_reliability_limits.py."""

from __future__ import annotations

import threading

import pytest

from sosdesk.server_stub import auth
from sosdesk.server_stub.auth import PasswordChecks
from sosdesk.server_stub.errors import Busy


@pytest.fixture
def checks():
    made: list[PasswordChecks] = []

    def make(slots: int, wait: float) -> PasswordChecks:
        made.append(PasswordChecks(slots, wait))
        return made[-1]

    yield make
    for one in made:
        one.close()


def test_run_gives_the_checks_answer_and_its_error(checks) -> None:
    limit = checks(2, 1.0)
    stored = auth.hash_password("right")
    assert limit.run(lambda: auth.verify_password("right", stored)) is True
    assert limit.run(lambda: auth.verify_password("wrong", stored)) is False
    with pytest.raises(ZeroDivisionError):
        limit.run(lambda: 1 / 0)
    assert limit.run(lambda: "still works") == "still works"


def test_no_free_slot_within_the_wait_is_busy(checks) -> None:
    limit = checks(1, 0.05)
    hold, started = threading.Event(), threading.Event()
    holder = threading.Thread(target=limit.run, args=(lambda: started.set() or hold.wait(10),))
    holder.start()
    started.wait(10)
    with pytest.raises(Busy) as caught:
        limit.run(lambda: "never")
    assert caught.value.code == "server_busy" and caught.value.retry_after >= 1
    hold.set()
    holder.join(10)
    assert limit.run(lambda: "free again") == "free again"


def test_at_most_slots_checks_run_at_once_and_on_as_many_threads(checks) -> None:
    limit = checks(2, 30.0)
    lock = threading.Lock()
    running, most, threads_used = [0], [0], set()
    barrier = threading.Barrier(40)

    def check() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            threads_used.add(threading.get_ident())
        auth.verify_password("x", auth.DUMMY_HASH)  # real work that releases the GIL
        with lock:
            running[0] -= 1

    def caller() -> None:
        barrier.wait()
        limit.run(check)

    callers = [threading.Thread(target=caller) for _ in range(40)]
    for thread in callers:
        thread.start()
    for thread in callers:
        thread.join(60)
    assert most[0] == 2
    # The 16 MiB buffers are freed in at most two threads' malloc arenas, not forty.
    assert len(threads_used) <= 2


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        PasswordChecks(0, 1.0)
    with pytest.raises(ValueError):
        PasswordChecks(1, -1)

"""The change feed: a version that grows with every change, and who waits for it.

Waiting holds no lock: a customer's long-poll waits on an event of its own,
registered under its case, and a change wakes only the waiters of the cases it
changed; the console's change feed waits on a condition of the store lock.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from . import core

log = logging.getLogger("sosdesk.store")


class ChangeFeed:
    """Change versions for the cases, the console's feed and the customers' waiters."""

    def __init__(self, lock: threading.RLock, version: int) -> None:
        """*lock* is the store's; *version* the newest one the database holds."""
        self._version = version
        self._changed = threading.Condition(lock)  # the console's change feed
        # Customer long-polls by case id. A change wakes only its cases' waiters:
        # with thousands of agents waiting, waking all of them to re-read their
        # case under the lock made every change cost ~0.5 s of other requests.
        self._waiters_lock = threading.Lock()  # taken after the store lock, never before
        self._case_waiters: dict[int, set[threading.Event]] = {}
        self._changed_cases: set[int] = set()  # changed since the last notify (store lock)
        self._ended_cases: set[int] = set()  # closed, expired or deleted since then (store lock)
        #: Called by notify with the ids of cases that ended (the remote sessions end with them).
        self.on_ended: Callable[[set[int]], None] | None = None
        self.stopping = False

    def bump(self, case_id: int | None, *more: int) -> int:
        """The next change version for the cases it changes (None: a new case), under the lock.

        The case ids are required so that no change forgets to wake its waiters.
        """
        self._version += 1
        if case_id is not None:
            self._changed_cases.update((case_id, *more))
        return self._version

    def end(self, *case_ids: int) -> None:
        """Note cases that were closed, expired or deleted (under the lock, with their bump)."""
        self._ended_cases.update(case_ids)

    def notify(self) -> None:
        """Wake the console's feed and the waiters of the cases changed since the last call.

        Called after the commit, or inside a transaction (expiry in _fresh): a
        woken waiter reads under the store lock, so it sees the commit either way.
        A rolled-back change leaves its ids behind: they cost a spurious wake-up
        later, where dropping them could drop a committed change not yet notified.
        """
        with self._changed:
            changed, self._changed_cases = self._changed_cases, set()
            ended, self._ended_cases = self._ended_cases, set()
            self._changed.notify_all()
        with self._waiters_lock:
            events = [event for case_id in changed
                      for event in self._case_waiters.get(case_id, ())]
        for event in events:
            event.set()
        if ended and self.on_ended is not None:
            try:
                self.on_ended(ended)
            except Exception:  # a listener's bug must not undo the change it hears of
                log.exception("ending the sessions of closed cases failed")

    def stop(self) -> None:
        """Make every wait answer now, and every later one at once (the server is stopping)."""
        with self._changed:
            self.stopping = True
            self._changed.notify_all()
        with self._waiters_lock:
            events = [event for waiting in self._case_waiters.values() for event in waiting]
        for event in events:
            event.set()

    def wait_version(self, since: int, timeout: float, clock: Callable[[], float]) -> int:
        """The change version once it differs from *since*, or at *timeout*."""
        deadline = clock() + timeout
        with self._changed:
            while self._version == since and not self.stopping:
                remaining = deadline - clock()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            return self._version

    def wait_case(self, case_id: int, since: int, timeout: float, clock: Callable[[], float],
                  read: Callable[[int, int], dict[str, Any]]) -> dict[str, Any]:
        """*read(case_id, now)* as soon as the case's version passes *since*, or at *timeout*.

        *clock* is the wall clock as a function: the wait is bounded by it, and a
        waiter wakes at the case's deadline to report the expiry. Only a change
        to this case (or stopping) wakes it earlier; it waits holding no lock.
        """
        deadline = clock() + timeout
        changed = threading.Event()
        # Registered before the first read: a change committed after a read
        # sets the event, so no change can slip between a read and the wait.
        with self._waiters_lock:
            self._case_waiters.setdefault(case_id, set()).add(changed)
        try:
            while True:
                changed.clear()
                now = clock()
                view = read(case_id, int(now))  # NotFound once deleted
                # A closed or expired case never changes again: nothing to wait for.
                if (view["version"] > since or view["state"] != "open" or now >= deadline
                        or self.stopping):
                    return view
                expiry = core.parse_iso(view["valid_until"], "valid_until") + 0.01
                changed.wait(max(0.01, min(deadline, expiry) - now))
        finally:
            with self._waiters_lock:
                waiting = self._case_waiters[case_id]
                waiting.discard(changed)
                if not waiting:
                    del self._case_waiters[case_id]

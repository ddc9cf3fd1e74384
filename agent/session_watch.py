"""The tray's eye on the session inbox: an expert's request opens the QuickSupport window.

The tray answers nothing itself (no consent, no capture, no input): the
window's process does, the one holding the session lock (agent.session). The
tray polls the inbox too, which keeps the customer's presence while only the
tray runs, tells the customer with a notification when an expert asks to see
the screen, and opens the window when no process answers the session yet.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable

from .client import Client
from .errors import AgentError, CaseGone
from .filelock import try_lock
from .flow import MAX_DELAY, MIN_DELAY, backoff_delay
from .session import CASE_ENDED, INBOX_WAIT

__all__ = ["RequestWatcher", "answered_elsewhere"]

log = logging.getLogger(__name__)


def answered_elsewhere(lock_path: Path) -> bool:
    """Whether another process holds the session lock (a QuickSupport window is open)."""
    try:
        held = try_lock(lock_path)
    except AgentError:
        return False
    if held is None:
        return True
    held.release()
    return False


class RequestWatcher:
    """Polls the case's session inbox and reports each new view request once."""

    def __init__(self, client_factory: Callable[[], Client], token: str,
                 on_request: Callable[[str, bool], None], lock_path: Path, *,
                 stop: threading.Event | None = None, wait: int = INBOX_WAIT,
                 backoff: Callable[[int], float] = backoff_delay) -> None:
        self.client = client_factory()
        self.token = token
        #: Called with the expert's name and whether a window already answers the session.
        self.on_request = on_request
        self.lock_path = lock_path
        self.stop = stop or threading.Event()
        self.wait = wait
        self.backoff = backoff
        self.reported: set[int] = set()

    def run(self) -> None:
        """Watch until stopped or the case is gone."""
        since, synced, failures = 0, False, 0
        while not self.stop.is_set():
            try:
                answer = self.client.inbox(self.token, since, self.wait if synced else 0)
            except AgentError as exc:
                log.info("tray: session inbox: %s", exc)
                if isinstance(exc, CaseGone) or getattr(exc, "code", "") in CASE_ENDED:
                    return
                since, synced = 0, False
                pause = self.backoff(failures) if exc.transient else MAX_DELAY
                if self.stop.wait(max(MIN_DELAY, pause)):
                    return
                failures += 1
                continue
            failures = 0
            self.handle(answer)
            since, synced = int(answer.get("seq", 0)), True

    def handle(self, answer: dict[str, Any]) -> None:
        """Report the newest view request the customer has not answered yet, if not reported."""
        if (answer.get("session") or {}).get("view") != "requested":
            return
        requests = [m for m in answer.get("messages") or []
                    if isinstance(m, dict) and m.get("type") == "view_request"]
        if not requests:
            return
        newest = requests[-1]
        seq = int(newest.get("seq", 0))
        if seq in self.reported:
            return
        self.reported.add(seq)
        self.on_request(str(newest.get("expert") or ""), answered_elsewhere(self.lock_path))

"""The customer's case, from SOS (or join) to closed: the agent's core logic.

No window, tray or printing here: a ``Listener`` is told about every change
of the case and every notice (server unreachable, back again, ...), and the
views (agent.headless, agent.window, agent.tray) turn those into text. Every
network call that can heal by itself (server down, restarting, busy) is
retried with a capped back-off, so the customer never loses their request;
the case token is kept (agent.keystore) so a restarted agent follows the same
case, and SOS is idempotent per device on the server anyway.

This is the one place that retries: the client (agent.client) makes one
attempt and says whether its error is ``transient``. What retrying cannot heal
(a refused certificate, a 4xx answer other than 408/429) ends the flow at once
with its error, for the view to show.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from typing import Any, Callable, Protocol, TypeVar

from .client import LONG_POLL_WAIT, Client, Ticket
from .errors import AgentError, CaseGone, RateLimited, ServerError
from .keystore import Secrets

__all__ = ["Listener", "Snapshot", "CaseFlow", "Stopped", "NOTICES", "OPEN", "snapshot",
           "backoff_delay", "MIN_DELAY", "MAX_DELAY"]

log = logging.getLogger(__name__)

T = TypeVar("T")
OPEN = "open"
#: The shortest wait before asking the server again, whatever the back-off says.
MIN_DELAY = 0.5
MAX_DELAY = 10.0


def backoff_delay(attempt: int, first: float = MIN_DELAY, cap: float = MAX_DELAY) -> float:
    """Seconds to wait before retry number *attempt* (0-based): doubling, capped."""
    return min(cap, first * (2 ** min(attempt, 32)))

#: Notices by key, in the stable English of the headless lines (views localize them).
NOTICES = {
    "unreachable": "cannot reach support, retrying",
    "reconnected": "connected to support again",
    "rate_limited": "support is busy, retrying in {seconds} s",
    "gone": "support request no longer exists",
}


class Stopped(Exception):
    """The flow was asked to stop (Quit, window closed, Ctrl+C)."""


class Listener(Protocol):
    """What a view needs to hear from the flow."""

    def on_case(self, case: dict[str, Any]) -> None:
        """The case's code, status, expert or closability changed."""

    def on_notice(self, key: str, **values: Any) -> None:
        """A notice from NOTICES (with its values), e.g. the server is unreachable."""


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The parts of a case the customer sees; a change in any of them is shown."""

    code: str
    status: str
    state: str
    expert_name: str | None
    can_close: bool


def snapshot(case: dict[str, Any]) -> Snapshot:
    """The customer-visible parts of a customer-view case."""
    return Snapshot(str(case.get("code", "")), str(case.get("status", "")),
                    str(case.get("state", "")), case.get("expert_name"),
                    bool(case.get("can_close")))


class CaseFlow:
    """Gets the customer a case and follows it until it is closed or expires."""

    def __init__(self, client_factory: Callable[[], Client], secrets: Secrets,
                 device: dict[str, str], listener: Listener, module_id: str | None = None,
                 wait: int = LONG_POLL_WAIT, backoff: Callable[[int], float] = backoff_delay,
                 stop: threading.Event | None = None) -> None:
        self.client_factory = client_factory
        self.client = client_factory()
        self.secrets = secrets
        self.device = device
        self.listener = listener
        self.module_id = module_id
        self.wait = wait
        self.backoff = backoff
        self.stop = stop or threading.Event()
        self.token: str | None = None
        self.case: dict[str, Any] | None = None
        self._shown: Snapshot | None = None
        self._lock = threading.Lock()

    # -- getting a case ------------------------------------------------------

    def request_support(self) -> dict[str, Any]:
        """The device's open case (the stored one, else via SOS), started by the customer."""
        ticket = self._stored_open_case()
        if ticket is None:
            device_id = self.secrets.device_id()
            ticket = self._retrying(lambda: self.client.sos(device_id, self.device, self.module_id))
            self.secrets.save_case_token(ticket.token)
        return self._start(ticket)

    def join(self, code: str) -> dict[str, Any]:
        """Join the expert-made case *code* and start the customer side."""
        device_id = self.secrets.device_id()
        ticket = self._retrying(lambda: self.client.join(code, device_id, self.device))
        self.secrets.save_case_token(ticket.token)
        return self._start(ticket)

    def resume(self) -> dict[str, Any] | None:
        """The stored case if it is still open (for the tray at login), else None."""
        ticket = self._stored_open_case()
        if ticket is None:
            return None
        self.token = ticket.token
        self._show(ticket.case)
        return ticket.case

    def _stored_open_case(self) -> Ticket | None:
        token = self.secrets.case_token()
        if not token:
            return None
        try:
            case = self._retrying(lambda: self.client.case(token))
        except CaseGone:
            case = None
        if case is None or case.get("state") != OPEN:
            self.secrets.forget_case_token(token)
            return None
        return Ticket(case, token, False)

    def _start(self, ticket: Ticket) -> dict[str, Any]:
        self.token = ticket.token
        self._show(ticket.case)
        try:
            case = self._retrying(lambda: self.client.start(ticket.token))
        except ServerError as exc:
            if exc.status != 409:  # closed or expired meanwhile: follow() reports it
                raise
            case = self._retrying(lambda: self.client.case(ticket.token))
        self._show(case)
        return case

    # -- following it --------------------------------------------------------

    def follow(self) -> str:
        """Follow the case live (long-poll) until it ends: its final status, or ``gone``."""
        assert self.token is not None, "request_support() or join() first"
        token = self.token
        since = -1
        quick = 0
        while True:
            asked = time.monotonic()
            try:
                # While recovering, ask without waiting, so "connected again" shows at once.
                case = self._retrying(lambda: self.client.case(token, since, self.wait),
                                      recover=lambda: self.client.case(token, since, 0))
            except CaseGone:
                self.secrets.forget_case_token(token)
                self.listener.on_notice("gone")
                return "gone"
            self._show(case)
            if case.get("state") != OPEN:
                self.secrets.forget_case_token(token)
                return str(case.get("status"))
            version = int(case.get("version", since))
            # A server that is shutting down answers long-polls at once and unchanged;
            # back off instead of spinning until it is gone.
            if version == since and time.monotonic() - asked < 1.0:
                self._back_off(quick)
                quick += 1
            else:
                quick = 0
            since = version

    def close_request(self) -> dict[str, Any]:
        """Close the customer's own request (a fresh connection: the follower's is busy)."""
        if self.token is None:
            raise CaseGone(404, "no_case", "there is no open request to close")
        case = self.client_factory().close(self.token)
        self._show(case)
        return case

    def describe(self, description: str) -> dict[str, Any]:
        """What the customer needs help with, for the expert (a fresh connection, as closing)."""
        if self.token is None:
            raise CaseGone(404, "no_case", "there is no open request to describe")
        case = self.client_factory().describe(self.token, description)
        self._show(case)
        return case

    # -- helpers -------------------------------------------------------------

    def _show(self, case: dict[str, Any]) -> None:
        with self._lock:
            self.case = case
            shown = snapshot(case)
            if shown == self._shown:
                return
            self._shown = shown
        self.listener.on_case(case)

    def _pause(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise Stopped()

    def _back_off(self, attempt: int) -> None:
        # Never below MIN_DELAY, whatever back-off was passed in: no busy loop against a server.
        self._pause(max(MIN_DELAY, self.backoff(attempt)))

    def _retrying(self, call: Callable[[], T], recover: Callable[[], T] | None = None) -> T:
        """*call* (*recover* after a failure), retried while the failure can heal by itself.

        Errors that are not ``transient`` (agent.errors) are raised at the first attempt.
        """
        failures = 0
        unreachable = False
        while True:
            if self.stop.is_set():
                raise Stopped()
            try:
                result = (recover or call)() if unreachable else call()
            except RateLimited as exc:
                self.listener.on_notice("rate_limited", seconds=int(exc.retry_after))
                self._pause(max(MIN_DELAY, exc.retry_after))
                continue
            except AgentError as exc:
                if not exc.transient:
                    raise
                log.info("support server unavailable: %s", exc)
                if not unreachable:
                    unreachable = True
                    self.listener.on_notice("unreachable")
                self._back_off(failures)
                failures += 1
                continue
            if unreachable:
                self.listener.on_notice("reconnected")
            return result

"""The agent's HTTP client for the server's customer routes (docs/api.md).

Every failure becomes one of the agent's own errors (agent.errors), so no
caller ever sees a ``requests`` exception. Idempotent calls (reading the case,
SOS — idempotent per device and module —, join by the same device, start) are
retried with a capped exponential back-off; close is sent once.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, Callable

import requests

from . import __version__
from .errors import CaseGone, ModuleRevoked, RateLimited, ServerError, ServerUnreachable

__all__ = ["Client", "Ticket", "CONNECT_TIMEOUT", "LONG_POLL_WAIT", "backoff_delay", "error_from_response"]

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
#: The server answers a long-poll after at most this many seconds (its maximum).
LONG_POLL_WAIT = 30
#: Head room on top of the long-poll wait before a read counts as a timeout.
READ_SLACK = 10.0
FIRST_DELAY = 0.5
MAX_DELAY = 10.0


def backoff_delay(attempt: int, first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> float:
    """Seconds to wait before retry number *attempt* (0-based): doubling, capped."""
    return min(cap, first * (2 ** min(attempt, 32)))


@dataclasses.dataclass(frozen=True)
class Ticket:
    """What SOS and join return: the customer's view of the case and its token."""

    case: dict[str, Any]
    token: str = dataclasses.field(repr=False)  # never printed by accident
    created: bool = False


def error_from_response(response: requests.Response, token_route: bool = False) -> ServerError:
    """The agent error for an HTTP error answer, carrying its JSON error code."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("error") or f"http_{status}")
    message = str(body.get("message") or response.reason or "")
    if status == 429:
        try:
            retry_after = max(1.0, float(response.headers.get("Retry-After", "1")))
        except ValueError:
            retry_after = 1.0
        return RateLimited(status, code, message, retry_after)
    if code == "module_revoked":
        return ModuleRevoked(status, code, message)
    if code == "invalid_case_token" or (token_route and status == 404):
        return CaseGone(status, code, message)
    return ServerError(status, code, message)


class Client:
    """The customer routes of one server, over one keep-alive session."""

    def __init__(self, server_url: str, *, ca_bundle: str | None = None,
                 session: requests.Session | None = None, retries: int = 2,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base = server_url.rstrip("/")
        self.session = session or requests.Session()
        # TLS verification stays on; a private CA is added, never verification removed.
        self.session.verify = ca_bundle if ca_bundle else True
        self.session.headers["User-Agent"] = f"sosdesk-agent/{__version__}"
        self.retries = retries
        self.sleep = sleep

    def sos(self, device_id: str, device: dict[str, str], module_id: str | None = None,
            description: str | None = None) -> Ticket:
        """The device's open case for this module, or a new one (idempotent)."""
        body: dict[str, Any] = {"device_id": device_id, "device": device}
        if module_id is not None:
            body["module_id"] = module_id
        if description:
            body["description"] = description
        data = self._call("POST", "/api/v1/customer/sos", json=body, idempotent=True)
        return Ticket(data["case"], data["token"], bool(data.get("created")))

    def join(self, code: str, device_id: str, device: dict[str, str]) -> Ticket:
        """Join the expert-made case with this session code (the same device may rejoin)."""
        body = {"code": code, "device_id": device_id, "device": device}
        data = self._call("POST", "/api/v1/customer/join", json=body, idempotent=True)
        return Ticket(data["case"], data["token"], False)

    def case(self, token: str, since: int = -1, wait: int = 0) -> dict[str, Any]:
        """The customer's case; with *wait*, a long-poll until its version passes *since*."""
        params = {"since": str(since), "wait": str(wait)} if wait else None
        return self._call("GET", "/api/v1/customer/case", token=token, params=params,
                          idempotent=True, read_timeout=wait + READ_SLACK)

    def start(self, token: str) -> dict[str, Any]:
        """The customer side starts the session (starting twice changes nothing)."""
        return self._call("POST", "/api/v1/customer/case/start", token=token, idempotent=True)

    def close(self, token: str) -> dict[str, Any]:
        """Close the customer's own request (only cases they created)."""
        return self._call("POST", "/api/v1/customer/case/close", token=token, idempotent=False)

    def _call(self, method: str, path: str, *, token: str | None = None, idempotent: bool,
              read_timeout: float = READ_SLACK, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        attempts = 1 + (self.retries if idempotent else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self.session.request(method, self.base + path, headers=headers,
                                                timeout=(CONNECT_TIMEOUT, read_timeout), **kwargs)
            except requests.exceptions.SSLError as exc:
                # A certificate problem does not heal by retrying.
                raise ServerUnreachable(f"the support server's certificate was refused: {exc}") from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                log.debug("%s %s failed: %s", method, path, type(exc).__name__)
                if last:
                    raise ServerUnreachable("cannot reach the support server") from None
                self.sleep(backoff_delay(attempt))
                continue
            except requests.RequestException as exc:
                raise ServerUnreachable(f"cannot talk to the support server: {exc}") from None
            if response.status_code < 400:
                try:
                    return response.json()
                except ValueError:
                    if last:
                        raise ServerError(response.status_code, "invalid_response",
                                          "the support server sent an answer that is not JSON") from None
                    self.sleep(backoff_delay(attempt))
                    continue
            error = error_from_response(response, token_route=token is not None)
            if error.transient and not last:
                self.sleep(backoff_delay(attempt))
                continue
            raise error
        raise AssertionError("unreachable")  # the loop always returns or raises

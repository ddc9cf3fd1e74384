"""The agent's HTTP client for the server's customer routes (docs/api.md).

Each call makes ONE attempt. Every failure becomes one of the agent's own
errors (agent.errors), so no caller ever sees a ``requests`` exception, and
each error says whether trying again may help (``transient``): the case flow
(agent.flow) is the one place that waits and retries.
"""

from __future__ import annotations

import dataclasses
import logging
import ssl
from typing import Any

import requests

from . import __version__
from .errors import (AgentError, CaseGone, CertificateRefused, ModuleRevoked, RateLimited,
                     RequestFailed, ServerError, ServerUnreachable, TlsFailed)

__all__ = ["Client", "Ticket", "CONNECT_TIMEOUT", "LONG_POLL_WAIT", "error_from_exception",
           "error_from_response"]

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
#: The server answers a long-poll after at most this many seconds (its maximum).
LONG_POLL_WAIT = 30
#: Head room on top of the long-poll wait before a read counts as a timeout.
READ_SLACK = 10.0
#: A server asking to wait longer than this (Retry-After) is asked again after this.
MAX_RETRY_AFTER = 600.0


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
            retry_after = float(response.headers.get("Retry-After", "1"))
        except ValueError:  # an HTTP date, or garbage: wait the least
            retry_after = 1.0
        # At least a second (never a busy loop), at most the longest back-off we accept.
        retry_after = min(MAX_RETRY_AFTER, max(1.0, retry_after))
        return RateLimited(status, code, message, retry_after)
    if code == "module_revoked":
        return ModuleRevoked(status, code, message)
    if code == "invalid_case_token" or (token_route and status == 404):
        return CaseGone(status, code, message)
    return ServerError(status, code, message)


def error_from_exception(exc: requests.RequestException) -> AgentError:
    """The agent error for a request that got no HTTP answer."""
    if isinstance(exc, requests.exceptions.SSLError):
        # Before ConnectionError (SSLError is one): a refused certificate does not
        # heal by retrying, and the customer's support company must hear why.
        reason = _tls_reason(exc)
        if _is_certificate_problem(exc):
            return CertificateRefused(f"the support server's certificate was refused: {reason}")
        return TlsFailed(f"no secure connection to the support server: {reason}")
    if isinstance(exc, (requests.ConnectionError, requests.Timeout,
                        requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ContentDecodingError)):
        return ServerUnreachable("cannot reach the support server")
    return RequestFailed(f"cannot talk to the support server: {exc}")


def _causes(exc: BaseException) -> list[BaseException]:
    """*exc* and what it wraps (requests wraps urllib3 wraps ssl), outermost first."""
    seen: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        todo += [*item.args, getattr(item, "reason", None), item.__cause__, item.__context__]
    return seen


def _is_certificate_problem(exc: BaseException) -> bool:
    return any(isinstance(e, ssl.SSLCertVerificationError) for e in _causes(exc))


def _tls_reason(exc: BaseException) -> str:
    """The TLS library's own words, e.g. ``self-signed certificate``."""
    for cause in reversed(_causes(exc)):
        if isinstance(cause, ssl.SSLCertVerificationError) and cause.verify_message:
            return str(cause.verify_message)
        if isinstance(cause, ssl.SSLError) and cause.reason:
            return str(cause.reason).replace("_", " ").lower()
    return str(exc)


class Client:
    """The customer routes of one server, over one keep-alive session."""

    def __init__(self, server_url: str, *, ca_bundle: str | None = None,
                 session: requests.Session | None = None) -> None:
        self.base = server_url.rstrip("/")
        self.session = session or requests.Session()
        # TLS verification stays on; a private CA is added, never verification removed.
        self.verify: str | bool = ca_bundle if ca_bundle else True
        self.session.headers["User-Agent"] = f"sosdesk-agent/{__version__}"

    def sos(self, device_id: str, device: dict[str, str], module_id: str | None = None,
            description: str | None = None) -> Ticket:
        """The device's open case for this module, or a new one (idempotent)."""
        body: dict[str, Any] = {"device_id": device_id, "device": device}
        if module_id is not None:
            body["module_id"] = module_id
        if description:
            body["description"] = description
        data = self._call("POST", "/api/v1/customer/sos", json=body)
        return Ticket(data["case"], data["token"], bool(data.get("created")))

    def join(self, code: str, device_id: str, device: dict[str, str]) -> Ticket:
        """Join the expert-made case with this session code (the same device may rejoin)."""
        body = {"code": code, "device_id": device_id, "device": device}
        data = self._call("POST", "/api/v1/customer/join", json=body)
        return Ticket(data["case"], data["token"], False)

    def case(self, token: str, since: int = -1, wait: int = 0) -> dict[str, Any]:
        """The customer's case; with *wait*, a long-poll until its version passes *since*."""
        params = {"since": str(since), "wait": str(wait)} if wait else None
        return self._call("GET", "/api/v1/customer/case", token=token, params=params,
                          read_timeout=wait + READ_SLACK)

    def start(self, token: str) -> dict[str, Any]:
        """The customer side starts the session (starting twice changes nothing)."""
        return self._call("POST", "/api/v1/customer/case/start", token=token)

    def close(self, token: str) -> dict[str, Any]:
        """Close the customer's own request (only cases they created)."""
        return self._call("POST", "/api/v1/customer/case/close", token=token)

    def _call(self, method: str, path: str, *, token: str | None = None,
              read_timeout: float = READ_SLACK, **kwargs: Any) -> Any:
        """One request: its JSON answer, or the agent error that says what went wrong."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            # verify per request: requests lets REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE in the
            # environment override a session's verify, which would drop the branding's CA.
            response = self.session.request(method, self.base + path, headers=headers,
                                            timeout=(CONNECT_TIMEOUT, read_timeout),
                                            verify=self.verify, **kwargs)
        except requests.RequestException as exc:
            log.debug("%s %s failed: %s", method, path, type(exc).__name__)
            raise error_from_exception(exc) from None
        if response.status_code >= 400:
            raise error_from_response(response, token_route=token is not None)
        try:
            return response.json()
        except ValueError:
            raise ServerError(response.status_code, "invalid_response",
                              "the support server sent an answer that is not JSON") from None

"""The agent's HTTP client for the server's customer routes (docs/api.md).

Each call makes ONE attempt. Every failure becomes one of the agent's own
errors (agent.errors), so no caller ever sees a ``requests`` exception, and
each error says whether trying again may help (``transient``): the case flow
(agent.flow) is the one place that waits and retries.

A branding with key pins gets a :class:`PinnedAdapter`: the TLS handshake
checks no CA, name or date, and right after it, before a byte of the request
is sent, the key the server presented must be one of the pins (whoever holds a
pinned key could forge any certificate around it anyway, and a CA-valid
certificate around another key is exactly what pinning refuses). Without pins
the normal CA checks apply.
"""

from __future__ import annotations

import dataclasses
import logging
import ssl
from typing import Any, Iterable

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.ssl_match_hostname import CertificateError

from sosdesk.common.pins import CertificateFormatError, pin_of_certificate

from . import __version__
from .errors import (AgentError, CaseGone, CertificateRefused, KeyNotPinned, ModuleRevoked,
                     RateLimited, RequestFailed, ServerError, ServerUnreachable, TlsFailed)

__all__ = ["Client", "Ticket", "CONNECT_TIMEOUT", "LONG_POLL_WAIT", "NotPinned", "PinnedAdapter",
           "error_from_exception", "error_from_response", "pinned_session"]

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
        causes = _causes(exc)
        not_pinned = next((c for c in causes if isinstance(c, NotPinned)), None)
        if not_pinned is not None:
            return KeyNotPinned(f"the support server's key is not a pinned one "
                                f"(it presented {not_pinned.presented})", problem="not_pinned",
                                reason=not_pinned.presented)
        reason = _tls_reason(exc)
        if _is_certificate_problem(exc):
            return CertificateRefused(f"the support server's certificate was refused: {reason}",
                                      problem=_certificate_problem(causes), reason=reason)
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
    return any(isinstance(e, (ssl.SSLCertVerificationError, CertificateError)) for e in _causes(exc))


#: OpenSSL's verify codes (X509_V_ERR_*) by what the customer is told.
_VERIFY_PROBLEMS = {
    9: "not_yet_valid", 10: "expired",
    2: "untrusted", 18: "untrusted", 19: "untrusted", 20: "untrusted", 21: "untrusted",
    24: "untrusted", 27: "untrusted", 28: "untrusted",
    62: "wrong_name", 63: "wrong_name", 64: "wrong_name",
}


def _certificate_problem(causes: list[BaseException]) -> str:
    """untrusted, expired, not_yet_valid, wrong_name or other: what was wrong with the certificate."""
    for cause in causes:
        if isinstance(cause, CertificateError):  # urllib3 matching the name itself
            return "wrong_name"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return _VERIFY_PROBLEMS.get(getattr(cause, "verify_code", None) or 0, "other")
    return "other"


def _tls_reason(exc: BaseException) -> str:
    """The TLS library's own words, e.g. ``self-signed certificate``."""
    for cause in reversed(_causes(exc)):
        if isinstance(cause, ssl.SSLCertVerificationError) and cause.verify_message:
            return str(cause.verify_message)
        if isinstance(cause, ssl.SSLError) and cause.reason:
            return str(cause.reason).replace("_", " ").lower()
    return str(exc)


class NotPinned(ssl.SSLCertVerificationError):
    """The server presented a key that is none of the pinned ones."""

    def __init__(self, presented: str) -> None:
        super().__init__(1, f"the server's key {presented} is not a pinned one")
        self.presented = presented
        self.verify_code = 0
        self.verify_message = "the server's key is not a pinned one"


def _pinned_context() -> ssl.SSLContext:
    """TLS 1.2+ without CA, name or date checks: the key is checked against the pins instead."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class _PinnedHTTPSConnection(HTTPSConnection):
    """An HTTPS connection that, once connected, insists on a pinned key before anything is sent."""

    pins: frozenset[str] = frozenset()
    context: ssl.SSLContext

    def connect(self) -> None:
        # Set here, not in __init__: requests sets its verify options on pools and connections.
        self.cert_reqs, self.assert_hostname, self.assert_fingerprint = "CERT_NONE", False, None
        self.ca_certs = self.ca_cert_dir = self.ca_cert_data = None
        self.ssl_context = self.context
        super().connect()
        der = self.sock.getpeercert(binary_form=True) if self.sock is not None else None
        try:
            presented = pin_of_certificate(der or b"")
        except CertificateFormatError:
            presented = "(a certificate that cannot be read)"
        if presented not in self.pins:
            # Nothing of the request has been written. urllib3 closes the connection on the
            # error; closing it here would also reset its "connected to the proxy" state, and a
            # refusal through a proxy would then read as the proxy's (transient) failure.
            raise NotPinned(presented)
        self.is_verified = True  # by its key; urllib3 would warn about CERT_NONE otherwise


class PinnedAdapter(HTTPAdapter):
    """A requests adapter for https whose connections accept only a server with a pinned key."""

    def __init__(self, pins: Iterable[str], **kwargs: Any) -> None:
        pins = frozenset(pins)
        if not pins:
            raise ValueError("a pinned adapter needs at least one pin")
        connection = type("PinnedHTTPSConnection", (_PinnedHTTPSConnection,),
                          {"pins": pins, "context": _pinned_context()})
        self._pool_classes = {"http": HTTPConnectionPool,
                              "https": type("PinnedHTTPSConnectionPool", (HTTPSConnectionPool,),
                                            {"ConnectionCls": connection})}
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        if proxy.lower().startswith("socks"):
            # SOCKS has pool classes of its own: ours would bypass the proxy, its own the pins.
            raise requests.exceptions.InvalidSchema(
                "a pinned agent cannot use a SOCKS proxy; use an HTTP proxy or none")
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = self._pool_classes  # CONNECT tunnels: pinned too
        return manager


class _RefusePlainHttp(HTTPAdapter):
    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        raise requests.exceptions.InvalidSchema(
            f"a pinned agent talks https only, not {request.url.split('?')[0] if request.url else ''}")


def pinned_session(pins: Iterable[str], session: requests.Session | None = None) -> requests.Session:
    """*session* (or a new one) talking only to servers with a pinned key, and https only."""
    session = session or requests.Session()
    session.mount("https://", PinnedAdapter(pins))
    session.mount("http://", _RefusePlainHttp())  # e.g. a redirect away from https
    return session


class Client:
    """The customer routes of one server, over one keep-alive session."""

    def __init__(self, server_url: str, *, ca_bundle: str | None = None,
                 pins: Iterable[str] = (), session: requests.Session | None = None) -> None:
        self.base = server_url.rstrip("/")
        self.session = session or requests.Session()
        # TLS verification stays on; a private CA is added, never verification removed.
        self.verify: str | bool = ca_bundle if ca_bundle else True
        pins = tuple(pins)
        if pins:
            pinned_session(pins, self.session)
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

    def describe(self, token: str, description: str) -> dict[str, Any]:
        """Say what the customer needs help with: the description of their own request."""
        return self._call("PUT", "/api/v1/customer/case", token=token, json={"description": description})

    # -- the remote session (docs/remote-session.md) ----------------------------

    def inbox(self, token: str, since: int, wait: int) -> dict[str, Any]:
        """The session's messages after *since* and its state; a long-poll of *wait* seconds."""
        return self._call("GET", "/api/v1/customer/session/inbox", token=token,
                          params={"since": str(since), "wait": str(wait)}, read_timeout=wait + READ_SLACK)

    def consent(self, token: str, what: str, allow: bool) -> dict[str, Any]:
        """The customer's answer to a view or control request."""
        return self._call("POST", "/api/v1/customer/session/consent", token=token,
                          json={"what": what, "allow": allow})

    def stop_session(self, token: str, read_timeout: float = READ_SLACK) -> dict[str, Any]:
        """The customer stopped viewing and control at once."""
        return self._call("POST", "/api/v1/customer/session/stop", token=token, json={},
                          read_timeout=read_timeout)

    def screen_info(self, token: str, info: dict[str, Any]) -> dict[str, Any]:
        """The monitors, the one shared, and whether capture is impossible (Wayland)."""
        return self._call("POST", "/api/v1/customer/session/screen-info", token=token, json=info)

    def upload_frame(self, token: str, frame: bytes) -> dict[str, Any]:
        """One FRAME; the answer is held until the viewer took the previous one (flow control)."""
        return self._call("POST", "/api/v1/customer/session/frame", token=token, data=frame,
                          content_type="application/octet-stream")

    def send_chat(self, token: str, text: str) -> dict[str, Any]:
        """A chat message from the customer."""
        return self._call("POST", "/api/v1/customer/chat", token=token, json={"text": text})

    def chat(self, token: str, since: int = 0) -> dict[str, Any]:
        """The case's chat messages after id *since*."""
        return self._call("GET", "/api/v1/customer/chat", token=token, params={"since": str(since)})

    def _call(self, method: str, path: str, *, token: str | None = None,
              read_timeout: float = READ_SLACK, content_type: str | None = None, **kwargs: Any) -> Any:
        """One request: its JSON answer, or the agent error that says what went wrong."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if content_type:
            headers["Content-Type"] = content_type
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

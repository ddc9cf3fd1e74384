"""The agent's errors: one root, messages written for the customer."""

from __future__ import annotations

__all__ = [
    "AgentError",
    "ServerUnreachable",
    "RequestFailed",
    "TlsFailed",
    "CertificateRefused",
    "KeyNotPinned",
    "ServerError",
    "CaseGone",
    "ModuleRevoked",
    "RateLimited",
    "SecretsError",
    "StorageError",
    "NoDisplay",
]


class AgentError(Exception):
    """Root of every error the agent raises on purpose."""

    #: Whether trying again later may succeed; the case flow retries only these.
    transient: bool = False
    #: The stable code of the headless ``error`` line.
    code: str = "agent_error"


class ServerUnreachable(AgentError):
    """No answer from the support server (network down, server stopped, timeout)."""

    transient = True
    code = "server_unreachable"


class RequestFailed(AgentError):
    """The request cannot succeed by trying again (e.g. a redirect loop)."""

    code = "request_failed"


class TlsFailed(RequestFailed):
    """No secure connection could be agreed with the support server."""

    code = "tls_failed"


class CertificateRefused(TlsFailed):
    """The support server's TLS certificate was refused (self-signed, expired, wrong name).

    ``problem`` says what was wrong, for the customer's words: untrusted, expired,
    not_yet_valid, wrong_name, not_pinned or other; ``reason`` is TLS's own.
    """

    code = "certificate_refused"

    def __init__(self, message: str, problem: str = "other", reason: str = "") -> None:
        super().__init__(message)
        self.problem = problem
        self.reason = reason


class KeyNotPinned(CertificateRefused):
    """A pinned agent met a server whose key is none of its pins: not its company's server."""

    code = "certificate_not_pinned"


class ServerError(AgentError):
    """The server answered with an error; carries its status and stable error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message or f"the support server answered {status} ({code})")
        self.status = status
        self.code = code
        self.message = message

    @property
    def transient(self) -> bool:  # type: ignore[override]
        """Whether trying again later may succeed (server busy, restarting or broken).

        5xx, 408 (request timeout) and 429 (rate limited) pass. A 2xx page that is
        not JSON is a captive portal or a misconfigured proxy in the way: that
        passes too, so it is retried like a server error. Any other 4xx is an
        answer about this request, and asking again gets the same answer.
        """
        return self.status >= 500 or self.status in (408, 429) or self.code == "invalid_response"


class CaseGone(ServerError):
    """The case token no longer reaches a case (deleted, or the server was reset)."""


class ModuleRevoked(ServerError):
    """The support company revoked this agent; it can create no more cases."""


class RateLimited(ServerError):
    """Too many requests from this address; wait ``retry_after`` seconds."""

    def __init__(self, status: int, code: str, message: str, retry_after: float) -> None:
        super().__init__(status, code, message)
        self.retry_after = retry_after


class SecretsError(AgentError):
    """The device id or case token could not be stored or read."""


class StorageError(AgentError):
    """A file in the agent's config folder could not be written or locked."""


class NoDisplay(AgentError):
    """No window or tray can be shown here (no display, no tkinter, no tray backend)."""

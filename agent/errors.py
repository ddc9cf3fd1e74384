"""The agent's errors: one root, messages written for the customer."""

from __future__ import annotations

__all__ = [
    "AgentError",
    "BrandingError",
    "ServerUnreachable",
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


class BrandingError(AgentError):
    """The branding (embedded, sidecar or --config) is missing or invalid."""


class ServerUnreachable(AgentError):
    """No answer from the support server (network down, server stopped, timeout)."""


class ServerError(AgentError):
    """The server answered with an error; carries its status and stable error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message or f"the support server answered {status} ({code})")
        self.status = status
        self.code = code
        self.message = message

    @property
    def transient(self) -> bool:
        """Whether trying again later may succeed (server busy, restarting or broken).

        A 2xx page that is not JSON is a captive portal or a misconfigured proxy in
        the way: that passes too, so it is retried like a server error.
        """
        return self.status >= 500 or self.code == "invalid_response"


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

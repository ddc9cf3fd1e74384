"""The server's errors: one root, a stable machine code and a message for people.

The HTTP layer maps each class to one status in one table
(``http_api.STATUS_OF``); nothing else decides HTTP statuses for domain errors.
"""

from __future__ import annotations

from typing import Any


class ServerError(Exception):
    """Root of every error the server reports to a client on purpose."""

    code = "server_error"

    def __init__(self, message: str, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidInput(ServerError):
    """The request is malformed or a field is invalid (details: ``fields``)."""

    code = "invalid_input"


class Unauthorized(ServerError):
    """No valid credential came with the request."""

    code = "unauthorized"


class Forbidden(ServerError):
    """The credential is valid but does not allow this."""

    code = "forbidden"


class NotFound(ServerError):
    """No such case, module, route or expert (as far as this caller may know)."""

    code = "not_found"


class Conflict(ServerError):
    """The request contradicts the current state (e.g. an illegal transition)."""

    code = "conflict"


class RateLimited(ServerError):
    """Too many attempts from this address; ``retry_after`` seconds to wait."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code)
        self.retry_after = max(1, int(retry_after))


class Busy(ServerError):
    """The server is doing as much of this work as it may at once; ``retry_after`` seconds."""

    code = "server_busy"

    def __init__(self, message: str, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code)
        self.retry_after = max(1, int(retry_after))


class StorageUnavailable(ServerError):
    """The database cannot be written (read-only, disk full, locked)."""

    code = "storage_unavailable"

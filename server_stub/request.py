"""A request as the routes see it, the answer they give, and the reading of
query-string values: the HTTP layer's own types, apart from sockets."""

from __future__ import annotations

import dataclasses
import json
import re
from http import HTTPStatus
from typing import Any, BinaryIO, Iterable, Mapping

from .errors import InvalidInput, ServerError


class HttpError(ServerError):
    """A protocol-level problem (body too large, bad length): status given directly."""

    def __init__(self, status: HTTPStatus, code: str, message: str, close: bool = False,
                 allow: tuple[str, ...] = ()) -> None:
        super().__init__(message, code)
        self.status = status
        self.close = close
        self.allow = allow  # for 405: the methods the route does take


class Headers:
    """Request header fields by name, case-insensitive; the first of a repeated name counts
    (as ``email.message.Message.get``, which http.server parses them into)."""

    def __init__(self, fields: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._first: dict[str, str] = {}
        for name, value in (fields.items() if isinstance(fields, Mapping) else fields):
            self._first.setdefault(name.lower(), value)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of the first field called *name*, else *default*."""
        return self._first.get(name.lower(), default)


class BodyStream:
    """A request body read as it comes, for one too large to hold (a published agent).

    It gives at most the Content-Length's bytes; a client that stops sending (the
    socket's timeout) or closes early is a 400 that closes the connection. Whatever
    is left unread when the answer is sent closes the connection too.
    """

    def __init__(self, rfile: Any, length: int) -> None:
        self._rfile = rfile
        self.length = length
        self.remaining = length

    def read(self, size: int = 1 << 20) -> bytes:
        """Up to *size* more bytes of the body; b"" once it is all read."""
        want = min(size, self.remaining)
        if want <= 0:
            return b""
        try:
            chunk = self._rfile.read(want)
        except OSError:
            chunk = b""
        if not chunk:
            raise HttpError(HTTPStatus.BAD_REQUEST, "truncated_body",
                            "the body ended before Content-Length bytes", close=True)
        self.remaining -= len(chunk)
        return chunk


@dataclasses.dataclass
class Request:
    """What a route's function gets: the parsed request and who is calling."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    headers: Headers
    client: str
    now: int
    raw_body: bytes = b""
    expert: dict | None = None
    csrf_token: str | None = None
    case_id: int | None = None
    cookie: str | None = None
    #: The body still to be read, on an upload route (its raw_body is then empty).
    stream: BodyStream | None = None

    def the_expert(self) -> dict:
        """The authenticated expert (an expert route runs only with one)."""
        assert self.expert is not None, "an expert route runs only for an authenticated expert"
        return self.expert

    def own_case_id(self) -> int:
        """The case the customer's token opens (a customer route runs only with one)."""
        assert self.case_id is not None, "a customer route runs only with a valid case token"
        return self.case_id

    def json(self, required: bool = True) -> Any:
        """The body as JSON; an empty body is {} unless *required*."""
        if not self.raw_body:
            if required:
                raise InvalidInput("this request needs a JSON body", code="missing_body")
            return {}
        try:
            text = self.raw_body.decode("utf-8")
            value = json.loads(text)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise InvalidInput(f"the body is not valid JSON: {type(exc).__name__}",
                               code="invalid_json") from None
        # Strict UTF-8 has no surrogates, so only a "\ud800" escape can bring one in.
        if "\\u" in text and _has_lone_surrogate(value):
            raise InvalidInput("the body is not valid JSON: a \\u escape is half of a "
                               "surrogate pair, which is no character", code="invalid_json")
        return value

    def int_query(self, name: str, default: int, low: int, high: int) -> int:
        """A whole number from the query string; 400 naming the parameter otherwise."""
        errors: dict[str, str] = {}
        number = int_param(self.query.get(name), name, default, low, high, errors)
        if errors:
            raise InvalidInput(f"{name} must be a whole number from {low} to {high}", fields=errors)
        return number


@dataclasses.dataclass
class Response:
    """What a route (or dispatch, for an error) answers; the handler writes it."""

    status: int
    body: Any = None
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    raw: bytes | None = None
    content_type: str = "application/json; charset=utf-8"
    close: bool = False  # close the connection after this answer
    #: A body sent from an open file as it is read (a download), *length* bytes of it;
    #: the handler closes the file.
    file: BinaryIO | None = None
    length: int = 0

    def payload(self) -> bytes:
        """The bytes of the body (not of a file's); never fails for JSON-able bodies."""
        if self.file is not None:
            return b""
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        try:
            return json.dumps(self.body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate echoed from somewhere: JSON's \u escapes still carry it.
            return json.dumps(self.body).encode("ascii")

    def json(self) -> Any:
        """The JSON body as the client will read it (for tests and logs)."""
        if self.raw is not None:  # JSON made elsewhere (the queue's, by SQLite)
            return json.loads(self.raw) if self.content_type.startswith("application/json") else None
        return json.loads(self.payload()) if self.body is not None else None


def int_param(value: Any, name: str, default: int, low: int, high: int, errors: dict) -> int:
    """A whole number from a query string ('-1' allowed when *low* is negative).

    Missing or empty gives *default*; anything else out of [low, high] is noted
    in *errors* under *name* (and *default* returned so checking can go on).
    """
    if value is None or value == "":
        return default
    if (isinstance(value, str) and len(value) <= 20 and value.isascii()
            and value.lstrip("-").isdigit() and value.count("-") <= value.startswith("-")):
        number = int(value)
        if low <= number <= high:
            return number
    errors[name] = f"must be a whole number from {low} to {high}"
    return default


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a parsed JSON value has a lone surrogate in any string or key.

    Such a string cannot be stored (sqlite) or sent (UTF-8), so it is refused
    once here. Iterative: a body may nest as deep as json.loads allows.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


_SURROGATE = re.compile("[\ud800-\udfff]")

"""The HTTP API: one routing table, one handler, one map from errors to statuses.

Every route (method, path, who may call it, what it does) is listed once in
``ROUTES``; docs/api.md describes the same table for people. Callers are:

* ``public``   anyone (health, login, static console files);
* ``expert``   ``Authorization: Bearer <API token>`` or the console's session
  cookie; with the cookie, a mutating request must also carry the session's
  ``X-CSRF-Token`` header;
* ``customer`` ``Authorization: Bearer <case token>`` from SOS or join; it only
  ever reaches the one case it was issued for;
* ``agent``    anyone, rate-limited per address (SOS, join by code).

Errors are ``{"error": "<stable code>", "message": "...", ...}`` with the status
from ``STATUS_OF``.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
import logging
import math
import mimetypes
import re
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from . import core
from .errors import (Busy, Conflict, Forbidden, InvalidInput, NotFound, RateLimited,
                     ServerError, StorageUnavailable, Unauthorized)
from .views import expert_view

log = logging.getLogger("sosdesk.server")
access_log = logging.getLogger("sosdesk.access")

#: Each domain error class -> its HTTP status (subclasses inherit).
STATUS_OF: dict[type[ServerError], HTTPStatus] = {
    InvalidInput: HTTPStatus.BAD_REQUEST,
    Unauthorized: HTTPStatus.UNAUTHORIZED,
    Forbidden: HTTPStatus.FORBIDDEN,
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    RateLimited: HTTPStatus.TOO_MANY_REQUESTS,
    StorageUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
    Busy: HTTPStatus.SERVICE_UNAVAILABLE,
}

SESSION_COOKIE = "sosdesk_session"
SAFE_METHODS = ("GET", "HEAD")
MAX_LONG_POLL = 30


class _ClientGone(Exception):
    """The client stopped sending (or vanished) in the middle of its request."""


class HttpError(ServerError):
    """A protocol-level problem (body too large, bad length): status given directly."""

    def __init__(self, status: HTTPStatus, code: str, message: str, close: bool = False,
                 allow: tuple[str, ...] = ()) -> None:
        super().__init__(message, code)
        self.status = status
        self.close = close
        self.allow = allow  # for 405: the methods the route does take


def status_of(error: ServerError) -> HTTPStatus:
    if isinstance(error, HttpError):
        return error.status
    for cls in type(error).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return HTTPStatus.INTERNAL_SERVER_ERROR


@dataclasses.dataclass
class Request:
    """What a route's function gets: the parsed request and who is calling."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    headers: Any
    client: str
    now: int
    raw_body: bytes = b""
    expert: dict | None = None
    csrf_token: str | None = None
    case_id: int | None = None
    cookie: str | None = None

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


@dataclasses.dataclass
class Response:
    status: int
    body: Any = None
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    raw: bytes | None = None
    content_type: str = "application/json; charset=utf-8"


# -- route functions ------------------------------------------------------------------
# Each takes (app, request) and returns a Response or a JSON-able object (200).

def healthz(app, req: Request) -> Any:
    return {"status": "ok", "version": app.version}


class Slots:
    """Rate-limit tokens one attempt has taken; ``give_back`` if the attempt does not count."""

    def __init__(self, taken: list[tuple[Any, str]], now: int) -> None:
        self._taken, self._now = taken, now

    def give_back(self) -> None:
        """Return every token (once), e.g. after a right password."""
        for limiter, key in self._taken:
            limiter.refund(key, self._now)
        self._taken = []


def take_slots(now: int, code: str, message: str, *checks: tuple[Any, str]) -> Slots:
    """Take a token from each (limiter, key) before the work; 429 (longest wait) if one is out.

    Taking, not just checking, is what makes the limit hold for requests sent
    together: each one holds its token while it is being worked on.
    """
    taken: list[tuple[Any, str]] = []
    for limiter, key in checks:
        wait = limiter.reserve(key, now)
        if wait:
            Slots(taken, now).give_back()
            wait = max([wait] + [other.retry_after(k, now) for other, k in checks])
            raise RateLimited(message, math.ceil(wait), code=code)
        taken.append((limiter, key))
    return Slots(taken, now)


def login(app, req: Request) -> Response:
    body = req.json()
    name, password = (body.get("name"), body.get("password")) if isinstance(body, dict) else (0, 0)
    if not isinstance(name, str) or not isinstance(password, str) or len(name) > 64 \
            or len(password) > 1024:
        raise InvalidInput("name and password are required",
                           fields={"name": "required", "password": "required"})
    slots = take_slots(req.now, "too_many_login_failures",
                       "too many failed log-ins; wait a little and try again",
                       (app.login_limiter, f"{req.client}|{name}"),
                       (app.login_ip_limiter, req.client))
    try:
        expert = app.password_checks.run(lambda: app.store.check_password(name, password))
    except BaseException:  # not a failed log-in (server busy, storage): it does not count
        slots.give_back()
        raise
    if expert is None:
        raise Unauthorized("wrong name or password", code="login_failed")  # the slots stay taken
    slots.give_back()
    cookie, csrf = app.store.create_web_session(expert["id"], req.now, app.session_ttl)
    return Response(200, {"expert": expert_view(expert), "csrf_token": csrf},
                    [session_cookie(app, cookie, app.session_ttl)])


def session_cookie(app, value: str, max_age: int) -> tuple[str, str]:
    """The Set-Cookie header for the login session; logout clears it with the same attributes."""
    attributes = f"HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}"
    if app.secure_cookies:
        attributes += "; Secure"
    return "Set-Cookie", f"{SESSION_COOKIE}={value}; {attributes}"


def logout(app, req: Request) -> Response:
    if req.cookie:
        app.store.end_web_session(req.cookie)
    return Response(200, {"status": "logged_out"}, [session_cookie(app, "", 0)])


def me(app, req: Request) -> Any:
    return {"expert": expert_view(req.expert), "csrf_token": req.csrf_token}


def list_sessions(app, req: Request) -> Any:
    return app.store.list_cases(req.query, req.now)


def create_session(app, req: Request) -> Response:
    return Response(201, app.store.create_case(req.json(), req.expert["id"], req.now))


def get_session(app, req: Request) -> Any:
    return app.store.get_case(req.params["code"], req.now)


def edit_session(app, req: Request) -> Any:
    return app.store.edit_case(req.params["code"], req.json(), req.expert["id"], req.now)


def delete_session(app, req: Request) -> Any:
    return {"deleted": app.store.delete_cases([req.params["code"]])}


def bulk_delete(app, req: Request) -> Any:
    body = req.json()
    if not isinstance(body, dict) or set(body) != {"codes"}:
        raise InvalidInput('the body must be {"codes": [...]}', fields={"codes": "required"})
    return {"deleted": app.store.delete_cases(body["codes"])}


def connect_session(app, req: Request) -> Any:
    return app.store.connect(req.params["code"], req.expert["id"], req.now)


def session_history(app, req: Request) -> Any:
    return {"events": app.store.history(req.params["code"], req.now)}


def changes(app, req: Request) -> Any:
    since = _int_query(req, "since", -1, -1, 2**62)
    wait = _int_query(req, "wait", 0, 0, MAX_LONG_POLL)
    version = app.store.wait_changes(since, 0 if app.stopping else wait, app.clock)
    return {"version": version}


def list_groups(app, req: Request) -> Any:
    return {"groups": app.store.list_groups()}


def list_modules(app, req: Request) -> Any:
    return {"modules": app.store.list_modules()}


def create_module(app, req: Request) -> Response:
    return Response(201, app.store.create_module(req.json(), req.expert["id"], req.now))


def get_module(app, req: Request) -> Any:
    return app.store.get_module(req.params["module_id"])


def revoke_module(app, req: Request) -> Any:
    return app.store.revoke_module(req.params["module_id"], req.now)


def list_experts(app, req: Request) -> Any:
    return {"experts": app.store.list_experts()}


def customer_sos(app, req: Request) -> Response:
    body = req.json()
    slots = take_slots(req.now, "too_many_requests",
                       "too many support requests from this address; try again later",
                       (app.sos_limiter, req.client))
    try:
        case, token, created = app.store.sos(body, req.now)
    except BaseException:
        slots.give_back()
        raise
    if not created:  # the device's open case again: only new cases count
        slots.give_back()
    return Response(201 if created else 200, {"case": case, "token": token, "created": created})


#: Join answers that cost a guess. A bound case's 409 costs one too: it would
#: tell a guesser the code is live.
GUESS_ERRORS = ("case_not_found", "invalid_code", "case_taken")


def customer_join(app, req: Request) -> Any:
    body = req.json()
    slots = take_slots(req.now, "too_many_wrong_codes",
                       "too many wrong codes from this address; wait and try again",
                       (app.code_limiter, req.client))
    try:
        case, token = app.store.join(body, req.now)
    except ServerError as exc:
        if exc.code not in GUESS_ERRORS:
            slots.give_back()
        raise
    except BaseException:
        slots.give_back()
        raise
    slots.give_back()  # the right code is no guess
    return {"case": case, "token": token}


def customer_case(app, req: Request) -> Any:
    since = _int_query(req, "since", -1, -1, 2**62)
    wait = _int_query(req, "wait", 0, 0, MAX_LONG_POLL)
    if wait and not app.stopping:
        return app.store.wait_customer_case(req.case_id, since, wait, app.clock)
    return app.store.customer_case(req.case_id, req.now)


def customer_start(app, req: Request) -> Any:
    return app.store.customer_start(req.case_id, req.now)


def customer_close(app, req: Request) -> Any:
    return app.store.customer_close(req.case_id, req.now)


def console_index(app, req: Request) -> Response:
    return _static_file("index.html")


def console_static(app, req: Request) -> Response:
    return _static_file(req.params["path"])


# -- the routing table ----------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Route:
    method: str
    template: str
    caller: str  # public | expert | customer | agent
    handler: Callable[..., Any]

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", self.template)
        regex = regex.replace("[^/]+)", ".+)") if self.template.endswith("{path}") else regex
        return re.compile(f"^{regex}$")


ROUTES: tuple[Route, ...] = (
    Route("GET", "/healthz", "public", healthz),
    Route("GET", "/", "public", console_index),
    Route("GET", "/static/{path}", "public", console_static),
    Route("POST", "/api/v1/login", "public", login),
    Route("POST", "/api/v1/logout", "expert", logout),
    Route("GET", "/api/v1/me", "expert", me),
    Route("GET", "/api/v1/experts", "expert", list_experts),
    Route("GET", "/api/v1/sessions", "expert", list_sessions),
    Route("POST", "/api/v1/sessions", "expert", create_session),
    Route("POST", "/api/v1/sessions/delete", "expert", bulk_delete),
    Route("GET", "/api/v1/sessions/{code}", "expert", get_session),
    Route("PUT", "/api/v1/sessions/{code}", "expert", edit_session),
    Route("DELETE", "/api/v1/sessions/{code}", "expert", delete_session),
    Route("POST", "/api/v1/sessions/{code}/connect", "expert", connect_session),
    Route("GET", "/api/v1/sessions/{code}/history", "expert", session_history),
    Route("GET", "/api/v1/changes", "expert", changes),
    Route("GET", "/api/v1/groups", "expert", list_groups),
    Route("GET", "/api/v1/modules", "expert", list_modules),
    Route("POST", "/api/v1/modules", "expert", create_module),
    Route("GET", "/api/v1/modules/{module_id}", "expert", get_module),
    Route("DELETE", "/api/v1/modules/{module_id}", "expert", revoke_module),
    Route("POST", "/api/v1/customer/sos", "agent", customer_sos),
    Route("POST", "/api/v1/customer/join", "agent", customer_join),
    Route("GET", "/api/v1/customer/case", "customer", customer_case),
    Route("POST", "/api/v1/customer/case/start", "customer", customer_start),
    Route("POST", "/api/v1/customer/case/close", "customer", customer_close),
)
_COMPILED = [(route, route.pattern) for route in ROUTES]


def match(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route for (method, path) and its path parameters; 404 or 405 otherwise."""
    allowed = []
    for route, pattern in _COMPILED:
        found = pattern.match(path)
        if found:
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return route, found.groupdict()
            allowed.append(route.method)
    if allowed:
        allow = tuple(sorted({*allowed, *(["HEAD"] if "GET" in allowed else [])}))
        raise HttpError(HTTPStatus.METHOD_NOT_ALLOWED, "method_not_allowed",
                        f"{method} is not allowed here; allowed: {', '.join(allow)}", allow=allow)
    raise NotFound(f"no such route: {path}", code="unknown_route")


# -- the handler ------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    """Reads one request, finds its route, checks the caller, writes JSON."""

    protocol_version = "HTTP/1.1"
    # Without this, a keep-alive client waits ~40 ms per response (Nagle + delayed ACK).
    disable_nagle_algorithm = True
    server_version = "sosdesk"
    sys_version = ""
    error_content_type = "application/json; charset=utf-8"

    def setup(self) -> None:
        self.timeout = self.server.app.idle_timeout
        super().setup()

    def handle_one_request(self) -> None:
        """As in http.server, but the whole request must arrive within the deadline."""
        app = self.server.app
        self._started = None
        app.watchdog.waiting(self.connection)
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.requestline = self.request_version = self.command = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            self._started = time.perf_counter()
            if len(self.raw_requestline.split()) == 2:
                # HTTP/0.9: the request line is the whole request, so no headers follow;
                # answer now instead of waiting for them until the idle timeout.
                self.requestline = self.raw_requestline.decode("latin-1").rstrip("\r\n")
                self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED,
                                "HTTP/0.9 is not supported; send HTTP/1.1")
                return
            head = _HeadLines(self.rfile)
            self.rfile = head
            try:
                parsed = self.parse_request()
            finally:
                self.rfile = head.rfile
            if not parsed:
                return
            if head.bad or _bad_request_line(self.raw_requestline):
                self.send_error(HTTPStatus.BAD_REQUEST, "malformed request head: a line with a "
                                "CR or NUL inside, without a colon, or folded")
                return
            if _before_http_10(self.request_version):
                # http.server would answer HTTP/0.9 with a bare body: no status line, no headers.
                self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED,
                                "HTTP/0.9 is not supported; send HTTP/1.1")
                return
            app.busy(+1)
            try:
                self._dispatch()
                self.wfile.flush()
            finally:
                app.busy(-1)
            if app.stopping:
                self.close_connection = True
        except (TimeoutError, ConnectionError, OSError):
            self.close_connection = True
        except Exception:  # a bug outside _dispatch's own net: log it, close cleanly
            log.exception("internal error while handling a request from %s", self.client_address[0])
            self.close_connection = True
        finally:
            app.watchdog.done(self.connection)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise HttpError(HTTPStatus.LENGTH_REQUIRED, "length_required",
                            "send the body with a Content-Length (no chunked encoding)", close=True)
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            return b""
        # ASCII digits only: str.isdigit() also takes '²', which int() then refuses.
        if len(set(lengths)) != 1 or not _DIGITS.fullmatch(lengths[0].strip(" \t")):
            raise HttpError(HTTPStatus.BAD_REQUEST, "bad_content_length",
                            "Content-Length must be one whole number", close=True)
        digits = lengths[0].strip(" \t").lstrip("0") or "0"
        # Over 18 digits is past any body we take (and int() refuses 4,301 digits).
        length = int(digits) if len(digits) <= 18 else 10**18
        if length > self.server.app.max_body:
            raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body_too_large",
                            f"the body may be at most {self.server.app.max_body} bytes", close=True)
        try:
            body = self.rfile.read(length)
        except OSError:  # the socket timeout (a client too slow) or a reset
            raise _ClientGone from None
        if len(body) != length:
            raise HttpError(HTTPStatus.BAD_REQUEST, "truncated_body",
                            "the body ended before Content-Length bytes", close=True)
        return body

    def _dispatch(self) -> None:
        app = self.server.app
        method = self.command
        response: Response
        try:
            # The body comes off the connection first, whatever the answer: a body
            # left unread would be taken for the next request on this connection.
            raw_body = self._read_body()
            app.watchdog.done(self.connection)  # the request is in; handling may take long
            try:
                url = urlsplit(self.path)
            except ValueError:  # e.g. "http://[x/": an unclosed IPv6 bracket
                raise HttpError(HTTPStatus.BAD_REQUEST, "bad_request",
                                "the request target is not a valid URL") from None
            try:
                query = dict(parse_qsl(url.query, keep_blank_values=True, max_num_fields=50))
            except ValueError:
                raise InvalidInput("too many query parameters", code="bad_query") from None
            route, params = match(method, url.path)
            req = Request(method, url.path, params, query, self.headers, self.client_address[0],
                          int(app.clock()), raw_body)
            self._authenticate(app, route, req)
            result = route.handler(app, req)
            response = result if isinstance(result, Response) else Response(200, result)
        except ServerError as exc:
            response = self._error_response(exc)
        except _ClientGone:
            # The body never came in time: as documented, the connection is just closed.
            self.close_connection = True
            return
        except Exception:  # a bug: log it here, never show the traceback to the caller
            log.exception("internal error on %s %s", method, self.path.split("?")[0])
            response = Response(500, {"error": "internal_error",
                                      "message": "the server failed; the error has been logged"})
            self.close_connection = True
        self._send(response)

    def _error_response(self, exc: ServerError) -> Response:
        status = status_of(exc)
        body = {"error": exc.code, "message": exc.message, **exc.details}
        headers = []
        if isinstance(exc, (RateLimited, Busy)):
            headers.append(("Retry-After", str(exc.retry_after)))
        if isinstance(exc, Unauthorized):
            headers.append(("WWW-Authenticate", 'Bearer realm="sosdesk"'))
        if isinstance(exc, HttpError) and exc.close:
            self.close_connection = True
        if isinstance(exc, HttpError) and exc.allow:
            headers.append(("Allow", ", ".join(exc.allow)))
        return Response(status, body, headers)

    def _authenticate(self, app, route: Route, req: Request) -> None:
        if route.caller in ("public", "agent"):
            return
        bearer = _bearer(self.headers)
        if route.caller == "customer":
            if not bearer:
                raise Unauthorized("this needs the customer's case token", code="unauthorized")
            req.case_id = app.store.customer_case_id(bearer)
            return
        if bearer:
            req.expert = app.store.expert_by_token(bearer)
            if req.expert is None:
                raise Unauthorized("the API token is not valid", code="invalid_token")
            return
        cookie = _cookie(self.headers)
        found = app.store.expert_by_session(cookie, req.now) if cookie else None
        if found is None:
            raise Unauthorized("log in first" if not cookie else "your session has ended; log in again",
                               code="unauthorized" if not cookie else "session_expired")
        req.expert, req.csrf_token = found
        req.cookie = cookie
        if req.method not in SAFE_METHODS and self.headers.get("X-CSRF-Token") != req.csrf_token:
            raise Forbidden("missing or wrong X-CSRF-Token header", code="csrf_failed")

    def _send(self, response: Response) -> None:
        payload = _payload(response)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
        for name, value in response.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self._log_access(response.status, len(payload))

    # http.server calls send_error for problems it finds itself (bad request
    # line, unsupported method, header too long): answer those as JSON too.
    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        codes = {400: "bad_request", 414: "uri_too_long", 431: "headers_too_large",
                 501: "method_not_allowed", 505: "unsupported_http_version"}
        if code == HTTPStatus.BAD_REQUEST and len((getattr(self, "requestline", "") or "").split()) == 2:
            code = HTTPStatus.HTTP_VERSION_NOT_SUPPORTED  # method and target only: HTTP/0.9
        # Anything http.server rejects is the client's fault: never answer it with a 5xx.
        status = {501: 405, 505: 400}.get(code, code)
        self.close_connection = True
        # We never speak HTTP/0.9 (whose answers have no status line), even to a bad request line.
        self.request_version = "HTTP/1.1"
        if not getattr(self, "command", None):
            self.command = "GET"
        self._send(Response(status, {"error": codes.get(code, "bad_request"),
                                     "message": message or HTTPStatus(code).phrase}))

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass  # _log_access writes one line per request instead

    def _log_access(self, status: int, size: int) -> None:
        took = (time.perf_counter() - self._started) * 1000 if getattr(self, "_started", None) else 0
        path = getattr(self, "path", "") or ""
        # Only the path: query strings are the caller's, and a credential never belongs in a log.
        access_log.info('%s "%s %s" %d %d %.1fms', self.client_address[0],
                        getattr(self, "command", "") or "-", path.split("?", 1)[0][:200],
                        status, size, took)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.client_address[0], *args)


_DIGITS = re.compile(r"[0-9]+")


class _HeadLines:
    """The connection's reader while http.server parses the header lines: notes any
    line other than ``name: value`` (a token, a colon, no CR inside and no NUL).

    http.server reads lines up to LF, but its (email) header parser also splits
    at a bare CR, stops at a line without a colon ("Content-Length : 5") and takes
    the rest for a body, drops a "From " line and joins folded lines. A proxy in
    front may frame such a request otherwise: "X: a<CR>Content-Length: 5" is one
    header there and two here, a request smuggled past it. RFC 9110 (5.5) and
    RFC 9112 (5) say to reject these.
    """

    def __init__(self, rfile: Any) -> None:
        self.rfile = rfile
        self.bad = False

    def readline(self, limit: int = -1) -> bytes:
        line = self.rfile.readline(limit)
        if line not in (b"\r\n", b"\n", b"") and not _HEADER_LINE.fullmatch(line):
            self.bad = True
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rfile, name)


# A field name (any visible ASCII but ':', as the email parser takes it), a colon,
# a value without CR, LF or NUL, the line's end (none on a head cut off by EOF).
_HEADER_LINE = re.compile(rb"[!-9;-~]+:[^\r\n\0]*\r?\n?")


def _bad_request_line(line: bytes) -> bool:
    """Whether a request line has a CR (other than its CRLF end) or a NUL."""
    content = line[:-2] if line.endswith(b"\r\n") else line.removesuffix(b"\n")
    return b"\r" in content or b"\0" in content


def _before_http_10(version: str) -> bool:
    """Whether a version http.server accepted ('HTTP/0.9' for a line without one) is < 1.0."""
    major = version.removeprefix("HTTP/").partition(".")[0]
    return major.isascii() and major.isdigit() and int(major) < 1


def _payload(response: Response) -> bytes:
    """The bytes of a response body; never fails for JSON-able bodies."""
    if response.raw is not None:
        return response.raw
    if response.body is None:
        return b""
    try:
        return json.dumps(response.body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate echoed from somewhere: JSON's \u escapes still carry it.
        return json.dumps(response.body).encode("ascii")


def _bearer(headers: Any) -> str | None:
    value = headers.get("Authorization", "")
    if value[:7].lower() == "bearer " and len(value) < 512:
        return value[7:].strip() or None
    return None


def _cookie(headers: Any) -> str | None:
    for part in (headers.get("Cookie") or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == SESSION_COOKIE and value and len(value) < 256:
            return value
    return None


def _int_query(req: Request, name: str, default: int, low: int, high: int) -> int:
    errors: dict[str, str] = {}
    number = core.int_param(req.query.get(name), name, default, low, high, errors)
    if errors:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}", fields=errors)
    return number


def _static_file(relative: str) -> Response:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*", relative) or ".." in relative:
        raise NotFound("no such file", code="unknown_route")
    resource = importlib.resources.files(__package__).joinpath("static", *relative.split("/"))
    try:
        data = resource.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise NotFound("no such file", code="unknown_route") from None
    content_type = mimetypes.guess_type(relative)[0] or "application/octet-stream"
    if relative.endswith(".js"):
        content_type = "text/javascript"
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    return Response(200, raw=data, content_type=content_type)


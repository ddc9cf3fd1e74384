"""The HTTP API: one routing table, one function from a request to its answer,
one map from errors to statuses. No sockets here: ``handler`` moves the bytes.

Every route (method, path, who may call it, what it does) is listed once in
``ROUTES``; docs/api.md describes the same table for people. Callers are:

* ``public``   anyone (health, login, static console files);
* ``expert``   ``Authorization: Bearer <API token>`` or the console's session
  cookie; with the cookie, a mutating request must also carry the session's
  ``X-CSRF-Token`` header;
* ``customer`` ``Authorization: Bearer <case token>`` from SOS or join; it only
  ever reaches the one case it was issued for;
* ``agent``    anyone, rate-limited per address (SOS, join by code);
* ``optional`` anyone; an expert's valid credential is noted (``/ping`` says so).

Errors are ``{"error": "<stable code>", "message": "...", ...}`` with the status
from ``STATUS_OF``; on TeamViewer's routes (``teamviewer.speaks_teamviewer``)
they take TeamViewer's shape, with sosdesk's stable code in ``sosdesk_error``.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from http import HTTPStatus
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qsl, urlsplit

from . import quicksupport_routes as q
from . import routes as r
from . import session_routes as s
from . import teamviewer
from .app import App
from .errors import (Busy, Conflict, Forbidden, InvalidInput, NotFound, RateLimited,
                     ServerError, StorageUnavailable, Unauthorized)
from .request import BodyStream, Headers, HttpError, Request, Response
from .routes import SESSION_COOKIE

log = logging.getLogger("sosdesk.server")

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

SAFE_METHODS = ("GET", "HEAD")


def status_of(error: ServerError) -> HTTPStatus:
    """The HTTP status of an error: its own for an HttpError, else STATUS_OF's (500 if none)."""
    if isinstance(error, HttpError):
        return error.status
    for cls in type(error).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return HTTPStatus.INTERNAL_SERVER_ERROR


def error_response(error: ServerError, path: str = "") -> Response:
    """The answer to an error on *path*: its JSON body (TeamViewer's shape on its routes),
    status and the headers it calls for."""
    status = status_of(error)
    if teamviewer.speaks_teamviewer(path):
        body = teamviewer.error_body(error, status)
    else:
        body = {"error": error.code, "message": error.message, **error.details}
    headers = []
    if isinstance(error, (RateLimited, Busy)):
        headers.append(("Retry-After", str(error.retry_after)))
    if isinstance(error, Unauthorized):
        headers.append(("WWW-Authenticate", 'Bearer realm="sosdesk"'))
    close = isinstance(error, HttpError) and error.close
    if isinstance(error, HttpError) and error.allow:
        headers.append(("Allow", ", ".join(error.allow)))
    return Response(status, body, headers, close=close)


# -- the routing table ----------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Route:
    method: str
    template: str
    caller: str  # public | expert | customer | agent | optional
    handler: Callable[[App, Request], Any]
    big_body: bool = False  # takes a body up to Settings.max_frame_body (a screen's frame)
    #: Takes a body up to Settings.max_agent_bytes as it comes (Request.stream), after
    #: the caller's credential was checked: a published agent.
    upload: bool = False

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", self.template)
        regex = regex.replace("[^/]+)", ".+)") if self.template.endswith("{path}") else regex
        return re.compile(f"^{regex}$")


ROUTES: tuple[Route, ...] = (
    Route("GET", "/healthz", "public", r.healthz),
    Route("GET", "/", "public", r.console_index),
    Route("GET", "/case/{code}", "public", r.console_index),  # a session's supporter_link
    Route("GET", "/static/{path}", "public", r.console_static),
    Route("GET", "/join/{code}", "public", q.customer_page),  # a session's end_customer_link
    Route("GET", "/join/{code}/download/{target_os}", "public", q.customer_download),
    Route("POST", "/api/v1/login", "public", r.login),
    Route("POST", "/api/v1/logout", "expert", r.logout),
    Route("GET", "/api/v1/me", "expert", r.me),
    Route("GET", "/api/v1/ping", "optional", r.ping),
    Route("GET", "/api/v1/account", "expert", r.account),
    Route("GET", "/api/v1/users", "expert", r.list_users),
    Route("GET", "/api/v1/experts", "expert", r.list_experts),
    Route("GET", "/api/v1/sessions", "expert", r.list_sessions),
    Route("GET", "/api/v1/queue", "expert", r.search_queue),  # sosdesk's own: search, sort, total
    Route("POST", "/api/v1/sessions", "expert", r.create_session),
    Route("POST", "/api/v1/sessions/delete", "expert", r.bulk_delete),
    Route("GET", "/api/v1/sessions/{code}", "expert", r.get_session),
    Route("PUT", "/api/v1/sessions/{code}", "expert", r.edit_session),
    Route("DELETE", "/api/v1/sessions/{code}", "expert", r.delete_session),
    Route("POST", "/api/v1/sessions/{code}/connect", "expert", r.connect_session),
    Route("GET", "/api/v1/sessions/{code}/history", "expert", r.session_history),
    Route("GET", "/api/v1/sessions/{code}/remote", "expert", s.viewer_remote),
    Route("POST", "/api/v1/sessions/{code}/remote/control", "expert", s.viewer_control),
    Route("POST", "/api/v1/sessions/{code}/remote/monitor", "expert", s.viewer_monitor),
    Route("POST", "/api/v1/sessions/{code}/remote/input", "expert", s.viewer_input),
    Route("POST", "/api/v1/sessions/{code}/remote/refresh", "expert", s.viewer_refresh),
    Route("POST", "/api/v1/sessions/{code}/remote/disconnect", "expert", s.viewer_disconnect),
    Route("GET", "/api/v1/sessions/{code}/chat", "expert", s.expert_chat_read),
    Route("POST", "/api/v1/sessions/{code}/chat", "expert", s.expert_chat_send),
    Route("GET", "/api/v1/changes", "expert", r.changes),
    Route("GET", "/api/v1/groups", "expert", r.list_groups),
    Route("GET", "/api/v1/modules", "expert", r.list_modules),
    Route("POST", "/api/v1/modules", "expert", r.create_module),
    Route("GET", "/api/v1/modules/{module_id}", "expert", r.get_module),
    Route("DELETE", "/api/v1/modules/{module_id}", "expert", r.revoke_module),
    Route("PUT", "/api/v1/modules/{module_id}/agent", "expert", q.publish_agent, upload=True),
    Route("POST", "/api/v1/customer/sos", "agent", r.customer_sos),
    Route("POST", "/api/v1/customer/join", "agent", r.customer_join),
    Route("GET", "/api/v1/customer/case", "customer", r.customer_case),
    Route("PUT", "/api/v1/customer/case", "customer", r.customer_describe),
    Route("POST", "/api/v1/customer/case/start", "customer", r.customer_start),
    Route("POST", "/api/v1/customer/case/close", "customer", r.customer_close),
    Route("GET", "/api/v1/customer/chat", "customer", s.customer_chat_read),
    Route("POST", "/api/v1/customer/chat", "customer", s.customer_chat_send),
    Route("GET", "/api/v1/customer/session/inbox", "customer", s.agent_inbox),
    Route("POST", "/api/v1/customer/session/consent", "customer", s.agent_consent),
    Route("POST", "/api/v1/customer/session/stop", "customer", s.agent_stop),
    Route("POST", "/api/v1/customer/session/screen-info", "customer", s.agent_screen_info),
    Route("POST", "/api/v1/customer/session/frame", "customer", s.agent_frame, big_body=True),
)
_COMPILED = [(route, route.pattern) for route in ROUTES]


def match(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route for (method, path) and its path parameters; 404 or 405 otherwise."""
    fast = _EXACT.get((method, path))
    if fast is not None:
        return fast, {}
    return _scan(method, path)


def _scan(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """match by trying every route's pattern in order."""
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


#: (method, path) -> route for the paths without parameters, where the scan finds that
#: very route: a dictionary look-up instead of ~30 patterns for the busiest requests.
_EXACT: dict[tuple[str, str], Route] = {}
for _route in ROUTES:
    if "{" not in _route.template:
        for _method in (_route.method, "HEAD") if _route.method == "GET" else (_route.method,):
            if _scan(_method, _route.template)[0] is _route:
                _EXACT[(_method, _route.template)] = _route


def body_limit(app: App, method: str, target: str) -> int:
    """The largest body the request may have, known from its method and path alone.

    The handler reads a body before routing (a body left unread would be taken for
    the next request), so the limit must be known before the body is.
    """
    route = _route_of(method, target)
    if route is None:
        return app.settings.max_body  # answered with its error once the body is read
    if route.upload:
        return app.settings.max_agent_bytes
    return app.settings.max_frame_body if route.big_body else app.settings.max_body


def streams_body(method: str, target: str) -> bool:
    """Whether the request's route reads its body as it comes (``Route.upload``)."""
    route = _route_of(method, target)
    return route is not None and route.upload


def _route_of(method: str, target: str) -> Route | None:
    try:
        return match(method, urlsplit(target).path)[0]
    except (ServerError, ValueError):
        return None


# -- one request ------------------------------------------------------------------------

def dispatch(app: App, method: str, target: str,
             headers: Headers | Mapping[str, str] | Iterable[tuple[str, str]],
             body: bytes, client: str, stream: BodyStream | None = None) -> Response:
    """The answer to one request: route it, check its caller, run its route.

    *target* is the request line's target (path and query), *client* the
    caller's address (the key of the rate limits); *stream* the body still to be
    read, for an upload route (``Route.upload``). Never raises: an error is its
    JSON answer, and a bug a logged 500 that closes the connection.
    """
    path = target.split("?", 1)[0]
    try:
        try:
            url = urlsplit(target)
        except ValueError:  # e.g. "http://[x/": an unclosed IPv6 bracket
            raise HttpError(HTTPStatus.BAD_REQUEST, "bad_request",
                            "the request target is not a valid URL") from None
        try:
            query = dict(parse_qsl(url.query, keep_blank_values=True, max_num_fields=50))
        except ValueError:
            raise InvalidInput("too many query parameters", code="bad_query") from None
        route, params = match(method, url.path)
        req = Request(method, url.path, params, query,
                      headers if isinstance(headers, Headers) else Headers(headers),
                      client, int(app.clock()), body, stream=stream)
        authenticate(app, route.caller, req)
        result = route.handler(app, req)
        return result if isinstance(result, Response) else Response(200, result)
    except ServerError as exc:
        return error_response(exc, path)
    except Exception:  # a bug: log it here, never show the traceback to the caller
        log.exception("internal error on %s %s", method, path)
        failed = error_response(ServerError("the server failed; the error has been logged",
                                            code="internal_error"), path)
        failed.close = True
        return failed


def authenticate(app: App, caller: str, req: Request) -> None:
    """Check the credential a *caller* route needs and note who it is on *req*; 401/403 if wrong."""
    if caller in ("public", "agent"):
        return
    if caller == "optional":
        try:
            authenticate(app, "expert", req)
        except (Unauthorized, Forbidden):
            req.expert = None
        return
    bearer = _bearer(req.headers)
    if caller == "customer":
        if not bearer:
            raise Unauthorized("this needs the customer's case token", code="unauthorized")
        req.case_id = app.store.customer_case_id(bearer)
        return
    if bearer:
        req.expert = app.store.expert_by_token(bearer)
        if req.expert is None:
            raise Unauthorized("the API token is not valid", code="invalid_token")
        return
    cookie = _cookie(req.headers)
    found = app.store.expert_by_session(cookie, req.now) if cookie else None
    if found is None:
        raise Unauthorized("log in first" if not cookie else "your session has ended; log in again",
                           code="unauthorized" if not cookie else "session_expired")
    req.expert, req.csrf_token = found
    req.cookie = cookie
    if req.method not in SAFE_METHODS and req.headers.get("X-CSRF-Token") != req.csrf_token:
        raise Forbidden("missing or wrong X-CSRF-Token header", code="csrf_failed")


def _bearer(headers: Headers) -> str | None:
    value = headers.get("Authorization") or ""
    if value[:7].lower() == "bearer " and len(value) < 512:
        return value[7:].strip() or None
    return None


def _cookie(headers: Headers) -> str | None:
    for part in (headers.get("Cookie") or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == SESSION_COOKIE and value and len(value) < 256:
            return value
    return None


__all__ = ["ROUTES", "Route", "SESSION_COOKIE", "STATUS_OF", "authenticate", "body_limit",
           "dispatch", "error_response", "match", "status_of", "streams_body"]

"""What each route does: one function per route, ``(app, request) -> Response or
a JSON-able object (200)``. The table of routes (method, path, caller) is
``http_api.ROUTES``; by the time a function runs, its caller is authenticated.
"""

from __future__ import annotations

import importlib.resources
import math
import mimetypes
import re
from typing import Any, Callable, TypeVar

from . import sessions, teamviewer
from .app import App
from .errors import InvalidInput, NotFound, RateLimited, ServerError, Unauthorized
from .ratelimit import RateLimiter
from .request import Request, Response
from .views import expert_view

SESSION_COOKIE = "sosdesk_session"
MAX_LONG_POLL = 30


def healthz(app: App, req: Request) -> Any:
    return {"status": "ok", "version": app.settings.version}


class Slots:
    """Rate-limit tokens one attempt has taken; ``give_back`` if the attempt does not count."""

    def __init__(self, taken: list[tuple[RateLimiter, str]], now: int) -> None:
        self._taken, self._now = taken, now

    def give_back(self) -> None:
        """Return every token (once), e.g. after a right password."""
        for limiter, key in self._taken:
            limiter.refund(key, self._now)
        self._taken = []


def take_slots(now: int, code: str, message: str, *checks: tuple[RateLimiter, str]) -> Slots:
    """Take a token from each (limiter, key) before the work; 429 (longest wait) if one is out.

    Taking, not just checking, is what makes the limit hold for requests sent
    together: each one holds its token while it is being worked on.
    """
    taken: list[tuple[RateLimiter, str]] = []
    for limiter, key in checks:
        wait = limiter.reserve(key, now)
        if wait:
            Slots(taken, now).give_back()
            wait = max([wait] + [other.retry_after(k, now) for other, k in checks])
            raise RateLimited(message, math.ceil(wait), code=code)
        taken.append((limiter, key))
    return Slots(taken, now)


def login(app: App, req: Request) -> Response:
    body = req.json()
    name, password = (body.get("name"), body.get("password")) if isinstance(body, dict) else (0, 0)
    if not isinstance(name, str) or not isinstance(password, str) or len(name) > 64 \
            or len(password) > 1024:
        raise InvalidInput("name and password are required",
                           fields={"name": "required", "password": "required"})
    slots = take_slots(req.now, "too_many_login_failures",
                       "too many failed log-ins; wait a little and try again",
                       (app.limiters.login, f"{req.client}|{name}"),
                       (app.limiters.login_ip, req.client))
    try:
        expert = app.password_checks.run(lambda: app.store.check_password(name, password))
    except BaseException:  # not a failed log-in (server busy, storage): it does not count
        slots.give_back()
        raise
    if expert is None:
        raise Unauthorized("wrong name or password", code="login_failed")  # the slots stay taken
    slots.give_back()
    ttl = app.settings.session_ttl
    cookie, csrf = app.store.create_web_session(expert["id"], req.now, ttl)
    return Response(200, {"expert": expert_view(expert), "csrf_token": csrf},
                    [session_cookie(app, cookie, ttl)])


def session_cookie(app: App, value: str, max_age: int) -> tuple[str, str]:
    """The Set-Cookie header for the login session; logout clears it with the same attributes."""
    attributes = f"HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}"
    if app.settings.secure_cookies:
        attributes += "; Secure"
    return "Set-Cookie", f"{SESSION_COOKIE}={value}; {attributes}"


def logout(app: App, req: Request) -> Response:
    if req.cookie:
        app.store.end_web_session(req.cookie)
    return Response(200, {"status": "logged_out"}, [session_cookie(app, "", 0)])


def me(app: App, req: Request) -> Any:
    return {"expert": expert_view(req.the_expert()), "csrf_token": req.csrf_token}


# -- TeamViewer's routes (teamviewer.py: their shape) -------------------------------------

def ping(app: App, req: Request) -> Any:
    """Whether the API answers and the credential sent (if any) is valid."""
    return {"token_valid": req.expert is not None}


def account(app: App, req: Request) -> Any:
    """The account the credential belongs to, as TeamViewer names its fields."""
    expert = expert_view(req.the_expert())
    return {"userid": expert["id"], "name": expert["name"], "email": ""}


def list_users(app: App, req: Request) -> Any:
    """The experts as TeamViewer's users; ?name= only those whose name holds it."""
    teamviewer.only_params(req.query, ("name", "full_list"))
    part = (req.query.get("name") or "").casefold()
    full = _flag(req, "full_list")
    users = []
    for expert in app.store.list_experts():
        if part in expert["name"].casefold():
            user = {"id": expert["id"], "name": expert["name"], "email": ""}
            if full:
                user.update(active=True, created_at=expert["created_at"])
            users.append(user)
    return {"users": users}


def list_sessions(app: App, req: Request) -> Any:
    filters, offset, limit, count = teamviewer.list_query(req.query)
    page = app.store.list_cases(filters, req.now, offset=offset, limit=limit, count=count)
    base = _base_url(app, req)
    page["sessions"] = [teamviewer.with_links(case, base) for case in page["sessions"]]
    return page


def search_queue(app: App, req: Request) -> Any:
    """The console's queue: TeamViewer's filters plus search, sort and a total (case_search.py).

    Its own route, so that /sessions stays TeamViewer's list exactly (a parameter
    TeamViewer lacks is a 400 there)."""
    page = app.store.search_cases(req.query, req.now)
    base = _base_url(app, req)
    page["sessions"] = [teamviewer.with_links(case, base) for case in page["sessions"]]
    return page


def create_session(app: App, req: Request) -> Response:
    case = teamviewer.with_links(app.store.create_case(req.json(), req.the_expert()["id"], req.now),
                                 _base_url(app, req))
    location = _base_url(app, req) + "/api/v1/sessions/" + case["code"]
    return Response(201, case, [("Location", location)])


def get_session(app: App, req: Request) -> Any:
    return teamviewer.with_links(app.store.get_case(req.params["code"], req.now),
                                 _base_url(app, req))


def edit_session(app: App, req: Request) -> Response:
    expert = req.the_expert()
    before = app.store.get_case(req.params["code"], req.now)["assigned_userid"]
    case = app.store.edit_case(req.params["code"], req.json(), expert["id"], req.now)
    if case["assigned_userid"] != before and case["state"] == "open":  # assigned, reassigned
        sessions.assignee_changed(app, app.store.case_id_for_code(case["code"], req.now), expert,
                                  app.clock())
    return Response(204)  # TeamViewer's answer to a change: no content


def delete_session(app: App, req: Request) -> Any:
    return {"deleted": app.store.delete_cases([req.params["code"]])}


def bulk_delete(app: App, req: Request) -> Any:
    body = req.json()
    if not isinstance(body, dict) or set(body) != {"codes"}:
        raise InvalidInput('the body must be {"codes": [...]}', fields={"codes": "required"})
    return {"deleted": app.store.delete_cases(body["codes"])}


def connect_session(app: App, req: Request) -> Any:
    """Connect: assign the case, start the expert's side and ask the customer to allow viewing."""
    expert = req.the_expert()
    app.store.connect(req.params["code"], expert["id"], req.now)
    case_id = app.store.case_id_for_code(req.params["code"], req.now)
    sessions.request_view(app, case_id, expert, app.clock())
    return teamviewer.with_links(app.store.get_case(req.params["code"], req.now),
                                 _base_url(app, req))


def session_history(app: App, req: Request) -> Any:
    return {"events": app.store.history(req.params["code"], req.now)}


def changes(app: App, req: Request) -> Any:
    since = req.int_query("since", -1, -1, 2**62)
    wait = req.int_query("wait", 0, 0, MAX_LONG_POLL)
    version = app.store.wait_changes(since, 0 if app.stopping.is_set() else wait, app.clock)
    return {"version": version}


def list_groups(app: App, req: Request) -> Any:
    """Every group as TeamViewer lists them, {groups: [{id, name, ...}]}; ?name= filters."""
    teamviewer.only_params(req.query, ("name",))
    return {"groups": app.store.list_groups(req.query.get("name") or None)}


def list_modules(app: App, req: Request) -> Any:
    return {"modules": app.store.list_modules()}


def create_module(app: App, req: Request) -> Response:
    return Response(201, app.store.create_module(req.json(), req.the_expert()["id"], req.now))


def get_module(app: App, req: Request) -> Any:
    return app.store.get_module(req.params["module_id"])


def revoke_module(app: App, req: Request) -> Any:
    return app.store.revoke_module(req.params["module_id"], req.now)


def list_experts(app: App, req: Request) -> Any:
    return {"experts": app.store.list_experts()}


def customer_sos(app: App, req: Request) -> Response:
    body = req.json()
    slots = take_slots(req.now, "too_many_requests",
                       "too many support requests from this address; try again later",
                       (app.limiters.sos, req.client))
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
T = TypeVar("T")


def by_code(app: App, req: Request, look_up: Callable[[], T]) -> T:
    """*look_up* a case by a code the client sent: a wrong code costs one of the
    address's tries (GUESS_ERRORS), a right one or any other failure costs none."""
    slots = take_slots(req.now, "too_many_wrong_codes",
                       "too many wrong codes from this address; wait and try again",
                       (app.limiters.code, req.client))
    try:
        found = look_up()
    except ServerError as exc:
        if exc.code not in GUESS_ERRORS:
            slots.give_back()
        raise
    except BaseException:
        slots.give_back()
        raise
    slots.give_back()  # the right code is no guess
    return found


def customer_join(app: App, req: Request) -> Any:
    body = req.json()
    case, token = by_code(app, req, lambda: app.store.join(body, req.now))
    return {"case": case, "token": token}


def customer_case(app: App, req: Request) -> Any:
    since = req.int_query("since", -1, -1, 2**62)
    wait = req.int_query("wait", 0, 0, MAX_LONG_POLL)
    if not (wait and not app.stopping.is_set()):
        case = app.store.customer_case(req.own_case_id(), req.now)
        if case["state"] == "open":  # the agent is there (its presence, as the inbox's)
            sessions.agent_seen(app, req.own_case_id(), app.clock())
        return case
    relay = app.relays.get(req.own_case_id(), app.clock())
    relay.agent_poll(app.clock(), started=True)
    try:
        sessions.note_presence(app, relay, app.clock())
        return app.store.wait_customer_case(req.own_case_id(), since, wait, app.clock)
    finally:
        relay.agent_poll(app.clock(), started=False)


def customer_start(app: App, req: Request) -> Any:
    return app.store.customer_start(req.own_case_id(), req.now)


def customer_close(app: App, req: Request) -> Any:
    return app.store.customer_close(req.own_case_id(), req.now)


def customer_describe(app: App, req: Request) -> Any:
    return app.store.customer_describe(req.own_case_id(), req.json(), req.now)


def console_index(app: App, req: Request) -> Response:
    return _static_file("index.html")


def console_static(app: App, req: Request) -> Response:
    return _static_file(req.params["path"])


def _base_url(app: App, req: Request) -> str:
    return teamviewer.base_url(app.settings.public_url, app.scheme, req.headers.get("Host"))


def _flag(req: Request, name: str) -> bool:
    """A true/false query parameter (missing: false); 400 naming it otherwise."""
    value = (req.query.get(name) or "false").lower()
    if value not in ("true", "false"):
        raise InvalidInput(f"{name} must be true or false", fields={name: "must be true or false"})
    return value == "true"


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

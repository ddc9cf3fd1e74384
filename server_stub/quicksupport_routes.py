"""The personalized QuickSupport over HTTP: an expert publishes it, a customer with a
session's end_customer_link downloads it (with the case's code in its file name,
so that it joins the case by itself when started).

The customer's page and download need no credential but the code, so they are
rate-limited exactly as joining by code is (``routes.customer_join``): a wrong or
closed case's code costs a try from the same allowance per address, a right one
costs nothing, and both routes answer a closed case as they answer a code never
used.
"""

from __future__ import annotations

import math
from http import HTTPStatus
from typing import Any

from sosdesk.common.executables import file_name

from . import customer_page as pages
from .app import App
from .errors import Forbidden, InvalidInput, NotFound, RateLimited, ServerError
from .request import Request, Response
from .routes import by_code

HTML = "text/html; charset=utf-8"


def publish_agent(app: App, req: Request) -> Response:
    """PUT /api/v1/modules/{module_id}/agent: keep the module's agent for the customers' page."""
    module = app.store.get_module(req.params["module_id"])  # before a byte of the body is read
    if not module["active"]:
        raise Forbidden("this module was revoked: register a new one", code="module_revoked")
    if req.stream is None or req.stream.length == 0:
        raise InvalidInput("send the agent (what sos-builder made) as the body",
                           code="missing_body")
    return Response(200, app.published.store(module["module_id"], req.stream, req.now))


def customer_page(app: App, req: Request) -> Response:
    """GET /join/{code}: the page for the customer (HTML, in their language)."""
    lang = customer_page_language(req)
    try:
        case = _open_case(app, req)
    except ServerError as exc:
        return _refusal(exc, lang)
    module, builds = _offer(app, case)
    facts = next(iter(builds.values()), {})
    company = facts.get("company") or (module["name"] if module else None)
    downloads = {os_: f"/join/{case['code']}/download/{os_}" for os_ in builds}
    body = pages.page(lang, case["code"], company, facts.get("logo_png"), downloads,
                              pages.system_of(req.headers.get("User-Agent")))
    return Response(200, raw=body, content_type=HTML)


def customer_download(app: App, req: Request) -> Response:
    """GET /join/{code}/download/{os}: the company's agent, named with the case's code."""
    lang = customer_page_language(req)
    try:
        case = _open_case(app, req)
        module, builds = _offer(app, case)
        if module is None or req.params["target_os"] not in builds:
            raise NotFound("no agent is published for this system", code="not_published")
        agent, facts = app.published.open(module["module_id"], req.params["target_os"])
    except ServerError as exc:
        return _refusal(exc, lang)
    name = file_name(facts["company"], facts["target_os"], case["code"])  # ASCII only
    return Response(200, file=agent, length=facts["size"], content_type="application/octet-stream",
                    headers=[("Content-Disposition", f'attachment; filename="{name}"')])


def customer_page_language(req: Request) -> str:
    """The language the customer's page is in (their browser's, English or German)."""
    return pages.language(req.headers.get("Accept-Language"))


def _open_case(app: App, req: Request) -> dict[str, Any]:
    """The open case the link names; a wrong code costs a try, as joining by code does."""
    return by_code(app, req, lambda: app.store.link_case(req.params["code"], req.now))


def _offer(app: App, case: dict[str, Any]) -> tuple[dict | None, dict[str, dict]]:
    """The module whose agent the customer gets, and its published agents by OS: the
    case's own module, else its group's newest; none that was revoked."""
    candidates = []
    if case["module_id"]:
        try:
            own = app.store.get_module(case["module_id"])
        except NotFound:
            own = None
        if own is not None and own["active"]:
            candidates.append(own)
    candidates += app.store.active_modules_of(case["groupid"])
    for module in candidates:
        builds = app.published.builds(module["module_id"])
        if builds:
            return module, builds
    return (candidates[0] if candidates else None), {}


def _refusal(exc: ServerError, lang: str) -> Response:
    """A refusal as a page the customer can read (the status says the same to a program)."""
    if isinstance(exc, RateLimited):
        body = pages.message_page(lang, "limited", minutes=math.ceil(exc.retry_after / 60))
        return Response(HTTPStatus.TOO_MANY_REQUESTS, raw=body, content_type=HTML,
                        headers=[("Retry-After", str(exc.retry_after))])
    if isinstance(exc, (NotFound, InvalidInput)):
        reason = "no_download" if exc.code == "not_published" else "not_found"
        return Response(HTTPStatus.NOT_FOUND, raw=pages.message_page(lang, reason),
                        content_type=HTML)
    return Response(HTTPStatus.SERVICE_UNAVAILABLE,
                    raw=pages.message_page(lang, "unavailable"), content_type=HTML)

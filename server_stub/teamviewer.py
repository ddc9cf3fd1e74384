"""TeamViewer's Web API shape, where sosdesk speaks it: no I/O, no clock.

On TeamViewer's routes (``/api/v1/sessions`` and one session, ``/ping``,
``/account``, ``/users``, ``/groups``) an integration written for TeamViewer's
session-code API works unchanged: errors are ``{error, error_description,
error_code}`` with TeamViewer's error names and numbers (its documentation's
table of errors, "4 Errors"), and sosdesk's own stable code stays in
``sosdesk_error`` next to them. sosdesk's own routes keep their
``{error, message}``. docs/api.md marks which is which.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any, Mapping
from urllib.parse import quote

from .cases import FULL_LIST_MAX, MAX_PAGE
from .errors import InvalidInput, ServerError
from .request import int_param

#: TeamViewer's errors: name -> error_code, in its documentation's order.
ERROR_CODES = {
    "invalid_request": 1,
    "invalid_token": 2,
    "internal_error": 3,
    "rate_limit_reached": 4,
    "token_expired": 5,
    "wrong_credentials": 6,
    "invalid_client": 7,
    "not_found": 8,
    "too_many_retries": 9,
    "invalid_permission": 10,
}

#: The paths that speak TeamViewer's shape (the methods on them, too: a 405 there is one).
_PATHS = re.compile(r"^/api/v1/(sessions(/(?!delete$)[^/]+)?|ping|account|users|groups)$")

_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})*"
                   r"|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")


def speaks_teamviewer(path: str) -> bool:
    """Whether answers on *path* take TeamViewer's shape (its errors, above all)."""
    return bool(_PATHS.match(path))


def error_name(error: ServerError, status: int) -> str:
    """TeamViewer's name for an error answered with *status*."""
    if status == HTTPStatus.UNAUTHORIZED:
        return "token_expired" if error.code == "session_expired" else "invalid_token"
    if status == HTTPStatus.FORBIDDEN:
        return "invalid_permission"
    if status == HTTPStatus.NOT_FOUND:
        return "not_found"
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return "rate_limit_reached"
    if status >= 500:
        return "internal_error"
    return "invalid_request"  # 400, and the other refusals of a request as it is (405, 409, 411, 413)


def error_body(error: ServerError, status: int) -> dict[str, Any]:
    """The JSON body of an error on a TeamViewer route: its shape, sosdesk's code beside it."""
    name = error_name(error, status)
    return {"error": name, "error_description": error.message, "error_code": ERROR_CODES[name],
            "sosdesk_error": error.code, **error.details}


# -- the links in a session -------------------------------------------------------------

def base_url(public_url: str | None, scheme: str, host_header: str | None) -> str:
    """The server's address for links: --public-url, else the request's Host (when it is
    a host name or address, with a port or not) over the scheme the server speaks."""
    if public_url:
        return public_url.rstrip("/")
    host = (host_header or "").strip()
    if not _HOST.fullmatch(host):
        host = "localhost"
    return f"{scheme}://{host}"


def with_links(case: dict[str, Any], base: str) -> dict[str, Any]:
    """*case* with TeamViewer's links: the page the customer downloads the company's
    QuickSupport from (it joins this case), and the console opened at the case."""
    code = quote(case["code"], safe="")
    return {**case, "end_customer_link": f"{base}/join/{code}",
            "supporter_link": f"{base}/case/{code}"}


# -- query strings ------------------------------------------------------------------------

def only_params(query: Mapping[str, str], known: tuple[str, ...]) -> None:
    """400 naming each parameter of *query* that is not one of *known*: a filter sosdesk
    does not have would otherwise be ignored and list more than the caller asked for."""
    unknown = sorted(set(query) - set(known))
    if unknown:
        raise InvalidInput("some parameters are unknown here",
                           fields={name: f"unknown parameter (known: {', '.join(known)})"
                                   for name in unknown})


def list_query(query: Mapping[str, str]) -> tuple[dict[str, str], int | str | None, int, bool]:
    """GET /sessions' query -> (filters, offset, limit, count); 400 naming each bad parameter.

    offset: a session code (TeamViewer's next_offset), or digits only: that many to
    skip (sosdesk's older paging). full_list=true: everything in one answer, up to
    FULL_LIST_MAX; limit (sosdesk's): 1-MAX_PAGE, default MAX_PAGE; count=false
    (sosdesk's): leave sessions_remaining uncounted (null), for a caller that asks
    again on every change and never reads it (the console).
    """
    filters = dict(query)
    errors: dict[str, str] = {}
    count = filters.pop("count", "true").lower()
    if count not in ("true", "false"):
        errors["count"] = "must be true or false"
    offset: int | str | None = filters.pop("offset", None) or None
    if isinstance(offset, str) and offset.isascii() and offset.isdigit():
        offset = int_param(offset, "offset", 0, 0, 10**9, errors)
    full_list = filters.pop("full_list", "false").lower()
    if full_list not in ("true", "false"):
        errors["full_list"] = "must be true or false"
    limit_text = filters.pop("limit", None)
    if full_list == "true" and limit_text:
        errors["limit"] = "full_list=true lists every session: leave out limit"
    limit = int_param(limit_text, "limit", MAX_PAGE, 1, MAX_PAGE, errors)
    if full_list == "true":
        limit = FULL_LIST_MAX
    if errors:
        raise InvalidInput("some filters are invalid", fields=errors)
    return filters, offset, limit, count == "true"


__all__ = ["ERROR_CODES", "FULL_LIST_MAX", "MAX_PAGE", "base_url", "error_body", "error_name",
           "list_query", "only_params", "speaks_teamviewer", "with_links"]

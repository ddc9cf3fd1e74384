"""The few expert API calls the builder makes: check the token, register, check and revoke
a module, and publish its agent.

The API token only ever goes into the Authorization header; no message built
here contains it (requests' own exceptions name the URL, never the headers).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterable

import requests

from .errors import ServerError

__all__ = ["ModuleClient"]

log = logging.getLogger(__name__)

#: How long the server may take to answer an upload once it is sent (it checks the stamp).
PUBLISH_TIMEOUT = 300.0


class ModuleClient:
    """Talks to ``/api/v1/modules`` of one server as one expert."""

    def __init__(self, server_url: str, token: str, timeout: float = 20.0,
                 pins: Iterable[str] = ()) -> None:
        self.server_url = server_url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.session = requests.Session()
        self.pins = tuple(pins)
        if self.pins:
            # The same check as the agent's: the token goes only to the pinned server.
            from sosdesk.agent.client import pinned_session

            pinned_session(self.pins, self.session)

    def __repr__(self) -> str:  # never show the token, even in a debugger or a log
        return f"ModuleClient({self.server_url!r})"

    def register(self, name: str, group: str) -> dict[str, Any]:
        """Register a module for company *name* whose cases land in the group named *group*
        (made if it is new); returns it."""
        return self._call("POST", "/api/v1/modules", {"name": name, "groupname": group},
                          expect=201)

    def check_access(self) -> None:
        """Whether the server is reachable and takes the token; ServerError if not."""
        self._call("GET", "/api/v1/me", expect=200)

    def get(self, module_id: str) -> dict[str, Any]:
        """The module *module_id*; ServerError if unknown or revoked."""
        module = self._call("GET", f"/api/v1/modules/{module_id}", expect=200)
        if not module.get("active", False):
            raise ServerError(f"module {module_id} was revoked on the server; "
                              "register a new one (leave out --module-id)")
        return module

    def revoke(self, module_id: str) -> dict[str, Any]:
        """Revoke *module_id*: its agents can create no more cases."""
        return self._call("DELETE", f"/api/v1/modules/{module_id}", expect=200)

    def publish(self, module_id: str, agent: Path) -> dict[str, Any]:
        """Upload *agent* (what was built for *module_id*) for the customers' download page."""
        try:
            with open(agent, "rb") as body:  # sent as it is read, with its Content-Length
                return self._call("PUT", f"/api/v1/modules/{module_id}/agent", data=body,
                                  expect=200, timeout=(self.timeout, PUBLISH_TIMEOUT),
                                  headers={"Content-Type": "application/octet-stream"})
        except OSError as exc:
            raise ServerError(f"cannot read {agent}: {exc.strerror or exc}") from None

    def _call(self, method: str, path: str, body: Any = None, *, expect: int, data: Any = None,
              timeout: Any = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
        url = self.server_url + path
        try:
            response = self.session.request(
                method, url, json=body, data=data, timeout=timeout or self.timeout,
                headers={"Authorization": f"Bearer {self._token}", **(headers or {})})
        except requests.RequestException as exc:
            raise ServerError(f"cannot reach the server at {self.server_url}: "
                              f"{_reason(exc)}") from None
        if response.status_code != expect:
            raise ServerError(_refusal(response, path), response)
        try:
            data = response.json()
        except ValueError:
            raise ServerError(f"the server at {self.server_url} answered {path} with something "
                              "that is not JSON; is this a sosdesk server?", response) from None
        if not isinstance(data, dict):
            raise ServerError(f"unexpected answer from {self.server_url}{path}", response)
        return data


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.exceptions.SSLError):
        from sosdesk.agent.client import error_from_exception
        from sosdesk.agent.errors import KeyNotPinned

        refused = error_from_exception(exc)
        if isinstance(refused, KeyNotPinned):
            return (f"it presents the key {refused.reason}, which is none of the pins; "
                    "is this the right server, or did its key change?")
        return "its TLS certificate is not trusted"
    if isinstance(exc, requests.Timeout):
        return "it did not answer in time"
    if isinstance(exc, requests.ConnectionError):
        return "connection refused or host unknown"
    return type(exc).__name__


def _refusal(response: requests.Response, path: str) -> str:
    try:
        error = response.json()
    except ValueError:
        error = {}
    code = error.get("error") if isinstance(error, dict) else None
    if response.status_code == 401:
        return "the server refused the API token (401): check SOSDESK_TOKEN or --token"
    if code == "module_not_found" or (response.status_code == 404 and "/modules/" in path):
        return "the server has no such module: check --module-id"
    if code:
        message = error.get("message") or error.get("error_description") or code
        fields = error.get("fields")
        if isinstance(fields, dict) and fields:
            message += " (" + "; ".join(f"{k}: {v}" for k, v in fields.items()) + ")"
        return f"the server refused {path} ({response.status_code}): {message}"
    return (f"the server answered {path} with HTTP {response.status_code}; "
            "is the address that of a sosdesk server?")

"""A help desk's script in the style of Zendesk's TeamViewer app and the Python and
PowerShell scripts TeamViewer's documentation shows: standard library only, a
Bearer token, the documented routes and fields, nothing of sosdesk's. Pointed at
the real ``sos-server`` process, it runs unchanged.

What it does: a session per ticket (created with ``groupname``, end customer and
description), read back through the 201's Location, every open session listed
with the next_offset loop, a ticket's description updated and the session
assigned, a failed request read as TeamViewer writes errors, and the session
closed when the ticket is solved.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from typing import Any, Iterator

import pytest

from conftest import ServerProcess

DATE = "%Y-%m-%dT%H:%M:%SZ"  # TeamViewer's date format (1.4): ISO 8601, UTC


class TeamViewerError(Exception):
    """An error answer: {"error", "error_description", "error_code"} (documentation, 4)."""

    def __init__(self, status: int, body: dict) -> None:
        super().__init__(f"[{status}] {body.get('error')}: {body.get('error_description')}")
        self.status, self.error, self.error_code = status, body.get("error"), body.get("error_code")


class TeamViewerApi:
    """The session-code API as its documentation has it; *base* is where it lives."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base.rstrip("/") + "/api/v1", token

    def request(self, method: str, path: str, body: dict | None = None,
                query: dict | None = None) -> tuple[int, dict, Any]:
        url = path if path.startswith("http") else self.base + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                raw = answer.read()
                return answer.status, dict(answer.headers), json.loads(raw) if raw else None
        except urllib.error.HTTPError as failed:
            raise TeamViewerError(failed.code, json.loads(failed.read())) from None

    def ping(self) -> bool:
        return self.request("GET", "/ping")[2]["token_valid"]

    def me(self) -> str:
        return self.request("GET", "/account")[2]["userid"]

    def create_session(self, **fields: Any) -> str:
        """A new session; its URL, from the 201's Location header."""
        status, headers, _ = self.request("POST", "/sessions", fields)
        assert status == 201
        return headers["Location"]

    def session(self, url_or_code: str) -> dict:
        path = url_or_code if url_or_code.startswith("http") else f"/sessions/{url_or_code}"
        return self.request("GET", path)[2]

    def all_sessions(self, **filters: str) -> Iterator[dict]:
        """Every session the filters match, page after page (offset = the last next_offset)."""
        offset = None
        while True:
            query = {**filters, **({"offset": offset} if offset else {})}
            page = self.request("GET", "/sessions", query=query)[2]
            yield from page["sessions"]
            offset = page["next_offset"]
            if not offset:
                return

    def update(self, code: str, **fields: Any) -> None:
        status, _, body = self.request("PUT", f"/sessions/{code}", fields)
        assert (status, body) == (204, None)  # 204 No Content


@pytest.fixture
def api(server_process: ServerProcess) -> TeamViewerApi:
    return TeamViewerApi(server_process.url, server_process.token)


def test_a_ticket_systems_script_runs_unchanged(api: TeamViewerApi) -> None:
    assert api.ping() is True
    me = api.me()
    assert re.fullmatch(r"u\d+", me)

    # A backlog of tickets, each with its session: more than one page's worth.
    for ticket in range(1, 1_006):
        location = api.create_session(groupname="Zendesk", description=f"Ticket #{ticket}",
                                      end_customer={"name": f"Customer {ticket}",
                                                    "email": f"c{ticket}@example.com"})
    newest = api.session(location)  # followed to the last one made
    assert newest["description"] == "Ticket #1005" and newest["state"] == "open"
    assert re.fullmatch(r"g\d+", newest["groupid"]) and newest["assigned_userid"] == "u0"
    assert newest["end_customer_link"] and newest["supporter_link"]
    datetime.strptime(newest["created_at"], DATE)

    listed = list(api.all_sessions(state="open", groupid=newest["groupid"]))
    assert len(listed) == 1005 and len({s["code"] for s in listed}) == 1005
    assert listed[0]["code"] == newest["code"]
    assert {s["description"] for s in listed} == {f"Ticket #{n}" for n in range(1, 1006)}
    assert all(isinstance(s["online"], bool) for s in listed)

    # The agent takes ticket 7 and rewords it.
    seventh = next(s for s in listed if s["description"] == "Ticket #7")
    api.update(seventh["code"], description="Ticket #7: VPN drops", assigned_userid=me)
    taken = api.session(seventh["code"])
    assert (taken["description"], taken["assigned_userid"]) == ("Ticket #7: VPN drops", me)
    datetime.strptime(taken["assigned_at"], DATE)
    assert [s["code"] for s in api.all_sessions(assigned_userid=me)] == [seventh["code"]]

    # A mistake is an error the script can read, and changes nothing.
    with pytest.raises(TeamViewerError) as failed:
        api.update(seventh["code"], assigned_userid="u999")
    assert (failed.value.status, failed.value.error, failed.value.error_code) == (
        400, "invalid_request", 1)
    with pytest.raises(TeamViewerError) as missing:
        api.session("s00-000-001")
    assert (missing.value.status, missing.value.error, missing.value.error_code) == (
        404, "not_found", 8)
    assert api.session(seventh["code"])["assigned_userid"] == me

    # Solved: closed; gone from the open list, in the closed one.
    api.update(seventh["code"], state="closed")
    closed = api.session(seventh["code"])
    assert closed["state"] == "closed"
    datetime.strptime(closed["closed_at"], DATE)
    open_now = {s["code"] for s in api.all_sessions()}  # no state: open ones, as documented
    assert seventh["code"] not in open_now and len(open_now) == 1004
    assert [s["code"] for s in api.all_sessions(state="closed")] == [seventh["code"]]

    # A token that is not valid: ping says so, other routes answer invalid_token.
    stranger = TeamViewerApi(api.base.removesuffix("/api/v1"), "not-a-token")
    assert stranger.ping() is False
    with pytest.raises(TeamViewerError) as refused:
        list(stranger.all_sessions())
    assert (refused.value.status, refused.value.error, refused.value.error_code) == (
        401, "invalid_token", 2)

"""An integration in the style of Deskpro's TeamViewer app, pointed at sosdesk.

The app (github.com/DeskproApps/teamviewer, src/services/teamviewer) checks its
token with GET /ping, lists the agent's users, creates a session with
{"groupname": "Deskpro"} and puts its end_customer_link into the ticket's reply,
lists open sessions with full_list=true&state=open, and closes one with
PUT {"state": "closed"}. Any status from 400 up fails its request, and it reads
JSON only where the API gives some. This client does the same, as the real
`sos-server` process answers it.
"""

from __future__ import annotations

from typing import Any

import requests

from conftest import ServerProcess


class TeamViewerStyleClient:
    """What the Deskpro app's services do, with its base URL set to the sosdesk server."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base = base_url.rstrip("/") + "/api/v1"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def _request(self, method: str, path: str, data: dict | None = None,
                 params: dict | None = None) -> Any:
        answer = self.http.request(method, self.base + path, json=data, params=params, timeout=30)
        if answer.status_code < 200 or answer.status_code >= 400:
            raise RuntimeError(f"Request failed: [{answer.status_code}] {answer.text}")
        return answer.json() if answer.content else {}

    def ping(self) -> bool:
        return self._request("GET", "/ping")["token_valid"]

    def current_user(self) -> dict:
        return self._request("GET", "/account")

    def users(self) -> list[dict]:
        return self._request("GET", "/users")["users"]

    def create_session(self) -> dict:
        return self._request("POST", "/sessions", {"groupname": "Deskpro"})

    def open_sessions(self) -> list[dict]:
        return self._request("GET", "/sessions", params={"full_list": "true", "state": "open"})[
            "sessions"]

    def session(self, code: str) -> dict:
        return self._request("GET", f"/sessions/{code}")

    def close_session(self, code: str) -> dict:
        return self._request("PUT", f"/sessions/{code}", {"state": "closed"})


def test_a_deskpro_style_app_works_unchanged(server_process: ServerProcess) -> None:
    app = TeamViewerStyleClient(server_process.url, server_process.token)
    assert app.ping() is True
    assert TeamViewerStyleClient(server_process.url, "wrong").ping() is False
    me = app.current_user()
    assert me["userid"] in [u["id"] for u in app.users()]

    created = app.create_session()
    code = created["code"]
    assert created["state"] == "open" and created["assigned_userid"] == "u0"
    link = created["end_customer_link"]  # what the app puts into the ticket's reply
    assert link.startswith(server_process.url) and code in link
    second = app.create_session()
    assert second["groupid"] == created["groupid"]  # "Deskpro" made once, then reused

    listed = app.open_sessions()
    assert [s["code"] for s in listed] == [second["code"], code]
    assert {s["groupid"] for s in listed} == {created["groupid"]}
    assert all(isinstance(s["online"], bool) and s["supporter_link"] for s in listed)

    assert app.close_session(code) == {}  # 204: nothing to read
    assert app.session(code)["state"] == "closed"
    assert [s["code"] for s in app.open_sessions()] == [second["code"]]
    # The customer's link of a closed session no longer offers anything.
    assert requests.get(link, timeout=10).status_code == 404

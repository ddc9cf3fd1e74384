"""Paging GET /api/v1/sessions as TeamViewer documents it (3.6.2): at most 1,000 sessions
an answer, newest created_at first, and next_offset to pass back as offset for the rest.

Between two pages the world goes on: customers ask for help, experts close cases.
A page must then neither repeat a session nor leave one out (issue 13: with a
counted offset, 3 sessions made between pages came back twice and 4 closed ones
pushed 4 others off the list).
"""

from __future__ import annotations

import requests

from conftest import LiveServer

MAX_PAGE = 1000


def codes(page: dict) -> list[str]:
    return [s["code"] for s in page["sessions"]]


def test_more_than_a_thousand_while_sessions_are_made_and_closed(live_server: LiveServer) -> None:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {live_server.token}"

    def call(method: str, path: str, **kwargs) -> requests.Response:
        answer = http.request(method, live_server.url + "/api/v1" + path, timeout=60, **kwargs)
        assert answer.status_code in (200, 201, 204), answer.text
        return answer

    made = [call("POST", "/sessions", json={"groupname": f"team {n % 3}"}).json()["code"]
            for n in range(1_240)]
    first = call("GET", "/sessions").json()
    page_one = codes(first)
    assert len(page_one) == MAX_PAGE
    assert page_one == made[::-1][:len(page_one)]  # newest first
    assert first["next_offset"] == page_one[-1]
    assert first["sessions_remaining"] == len(made) - len(page_one)

    # Between the pages: 3 new sessions, 4 closed among those listed (one the page's
    # last), 4 closed among those still to come.
    listed, to_come = page_one, made[::-1][len(page_one):]
    newcomers = [call("POST", "/sessions", json={}).json()["code"] for _ in range(3)]
    closed = listed[-4:] + to_come[10:14]
    for code in closed:
        call("PUT", f"/sessions/{code}", json={"state": "closed"})

    second = call("GET", "/sessions", params={"offset": first["next_offset"]}).json()
    page_two = codes(second)
    assert second["next_offset"] is None and second["sessions_remaining"] == 0
    assert not set(page_two) & set(page_one), "no session is listed twice"
    assert not set(page_two) & set(newcomers), "sessions made since come first, on a new list"
    still_open = [code for code in to_come if code not in closed]
    assert page_two == still_open, "every session still open after page one, none missed"

    # A new list from the start has everything open now, each once.
    everything = []
    offset = None
    while True:
        page = call("GET", "/sessions", params={"offset": offset} if offset else {}).json()
        everything += codes(page)
        offset = page["next_offset"]
        if offset is None:
            break
    assert len(everything) == len(set(everything))
    assert set(everything) == (set(made) | set(newcomers)) - set(closed)


def test_closed_sessions_page_as_well(live_server: LiveServer) -> None:
    """state=closed pages the same way, and a page's end closed twice changes nothing."""
    made = [live_server.api("POST", "/api/v1/sessions", json={}).json()["code"] for _ in range(7)]
    for code in made:
        assert live_server.api("PUT", f"/api/v1/sessions/{code}",
                               json={"state": "closed"}).status_code == 204
    seen: list[str] = []
    offset = None
    for _ in range(10):
        params = {"state": "closed", "limit": "3", **({"offset": offset} if offset else {})}
        page = live_server.api("GET", "/api/v1/sessions", params=params).json()
        seen += codes(page)
        offset = page["next_offset"]
        if offset is None:
            break
    assert seen == made[::-1]


def test_an_offset_that_names_no_session_is_a_clear_400(live_server: LiveServer) -> None:
    for offset, why in (("s00-000-000", "no session has this code"),
                        ("not-a-code", "must be a session code")):
        answer = live_server.api("GET", "/api/v1/sessions", params={"offset": offset})
        assert answer.status_code == 400
        body = answer.json()
        assert (body["error"], body["error_code"]) == ("invalid_request", 1)
        assert why in body["fields"]["offset"]

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
    """An integration lists state=open page by page, passing next_offset back as offset
    (whatever it is: the walk itself is written for any server); meanwhile 3 sessions
    are made after page one, and after page two 4 of those listed and 4 still to come
    are closed, the page's last one among them. Checked first: nothing twice, nothing
    still open left out; then TeamViewer's figures (1,000 a page, a code as offset)."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {live_server.token}"

    def call(method: str, path: str, **kwargs) -> requests.Response:
        answer = http.request(method, live_server.url + "/api/v1" + path, timeout=60, **kwargs)
        assert answer.status_code in (200, 201, 204), answer.text
        return answer

    made = [call("POST", "/sessions", json={"description": f"case {n}"}).json()["code"]
            for n in range(2_150)]
    newest_first = made[::-1]
    pages: list[dict] = []
    newcomers: list[str] = []
    closed: list[str] = []
    offset = None
    while True:
        params = {"state": "open", **({"offset": offset} if offset is not None else {})}
        pages.append(call("GET", "/sessions", params=params).json())
        offset = pages[-1]["next_offset"]
        if offset is None:
            break
        listed = [code for page in pages for code in codes(page)]
        if len(pages) == 1:  # customers ask for help
            newcomers = [call("POST", "/sessions", json={}).json()["code"] for _ in range(3)]
        elif len(pages) == 2:  # experts close cases, some listed, some not yet
            to_come = [code for code in newest_first if code not in listed]
            for code in listed[-4:] + to_come[10:14]:
                call("PUT", f"/sessions/{code}", json={"state": "closed"})
                closed.append(code)
    walked = [code for page in pages for code in codes(page)]
    twice = sorted({code for code in walked if walked.count(code) > 1})
    assert not twice, f"{len(twice)} sessions listed twice"
    missed = [code for code in made if code not in closed and code not in walked]
    assert not missed, f"{len(missed)} sessions open all along never listed"
    assert not set(walked) & set(newcomers), "sessions made since come first, on a new list"
    assert walked == [code for code in newest_first if code not in closed[4:]]

    # TeamViewer's figures: 1,000 a page, the page's last code as next_offset, the rest counted.
    assert [len(codes(page)) for page in pages] == [1000, 1000, 150 - 4]
    for page, before in zip(pages, (len(made), len(made) - 1000)):
        if page["next_offset"] is not None:
            assert page["next_offset"] == codes(page)[-1]
            assert page["sessions_remaining"] == before - len(codes(page))
    assert pages[-1]["sessions_remaining"] == 0

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
    # full_list=true, as integrations send it: every page's worth in one answer.
    full = call("GET", "/sessions", params={"full_list": "true", "state": "open"}).json()
    assert codes(full) == everything and len(everything) > 2 * MAX_PAGE
    assert (full["next_offset"], full["sessions_remaining"]) == (None, 0)


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

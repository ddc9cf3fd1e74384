"""TeamViewer's session-code API (its "API Documentation", sections 1.3 IDs, 1.4 dates,
3.6 session management), asked of a real sosdesk server the way an integration
written for TeamViewer asks: plain HTTP and the documented names, nothing of
sosdesk's code. Each test is a row of issue 13's table (paging: test_teamviewer_paging.py,
errors: test_teamviewer_errors.py, ping/account/users/groups: test_teamviewer_account.py).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import requests

from conftest import LiveServer

CODE = re.compile(r"s\d\d-\d\d\d-\d\d\d")
USER_ID = re.compile(r"u\d+")
GROUP_ID = re.compile(r"g\d+")
DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def create(live: LiveServer, **body) -> requests.Response:
    return live.api("POST", "/api/v1/sessions", json=body)


def session(live: LiveServer, code: str) -> dict:
    answer = live.api("GET", f"/api/v1/sessions/{code}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_create_with_groupname_makes_the_group_if_needed(live_server: LiveServer) -> None:
    first = create(live_server, groupname="Helpdesk EU", description="VPN")
    assert first.status_code == 201, first.text
    made = first.json()
    assert GROUP_ID.fullmatch(made["groupid"])
    groups = live_server.api("GET", "/api/v1/groups").json()["groups"]
    assert {"id": made["groupid"], "name": "Helpdesk EU"}.items() <= next(
        g for g in groups if g["name"] == "Helpdesk EU").items()
    # The same name again: the same group, not a second one.
    again = create(live_server, groupname="Helpdesk EU").json()
    assert again["groupid"] == made["groupid"]
    assert [g["name"] for g in live_server.api("GET", "/api/v1/groups").json()["groups"]].count(
        "Helpdesk EU") == 1
    # And by its id, as TeamViewer's groupid.
    by_id = create(live_server, groupid=made["groupid"])
    assert by_id.status_code == 201 and by_id.json()["groupid"] == made["groupid"]


def test_put_with_groupname_moves_the_session_and_answers_204(live_server: LiveServer) -> None:
    code = create(live_server).json()["code"]
    moved = live_server.api("PUT", f"/api/v1/sessions/{code}", json={"groupname": "Escalation"})
    assert (moved.status_code, moved.content) == (204, b"")
    after = session(live_server, code)
    escalation = next(g for g in live_server.api("GET", "/api/v1/groups").json()["groups"]
                      if g["name"] == "Escalation")
    assert after["groupid"] == escalation["id"]


def test_201_carries_the_new_sessions_location(live_server: LiveServer) -> None:
    answer = create(live_server, groupname="Deskpro")
    assert answer.status_code == 201
    location = answer.headers["Location"]
    assert location.endswith(f"/api/v1/sessions/{answer.json()['code']}")
    followed = requests.get(location, headers={"Authorization": f"Bearer {live_server.token}"},
                            timeout=10)
    assert followed.status_code == 200 and followed.json()["code"] == answer.json()["code"]


def test_every_session_has_its_links(live_server: LiveServer) -> None:
    made = create(live_server, groupname="Links").json()
    listed = live_server.api("GET", "/api/v1/sessions").json()["sessions"]
    for shown in (made, session(live_server, made["code"]), listed[0]):
        assert shown["end_customer_link"].startswith(live_server.url)
        assert shown["supporter_link"].startswith(live_server.url)
        assert made["code"] in shown["end_customer_link"] and made["code"] in shown["supporter_link"]
    # Both are pages a browser gets (the customer's needs no login: tests/test_quicksupport_*.py).
    assert requests.get(made["end_customer_link"], timeout=10).status_code == 200
    console = requests.get(made["supporter_link"], timeout=10)
    assert console.status_code == 200 and "text/html" in console.headers["Content-Type"]


def test_online_is_a_bool_that_turns_true_while_the_customer_is_there(live_server: LiveServer) -> None:
    code = create(live_server).json()["code"]
    assert session(live_server, code)["online"] is False
    joined = live_server.api("POST", "/api/v1/customer/join", token=None,
                             json={"code": code, "device_id": "device-tv-online-0001"}).json()
    live_server.api("GET", "/api/v1/customer/case", token=joined["token"])  # the agent is there
    assert session(live_server, code)["online"] is True


def test_unassigned_reads_u0_and_writing_u0_unassigns(live_server: LiveServer) -> None:
    made = create(live_server).json()
    assert made["assigned_userid"] == "u0"
    me = live_server.api("GET", "/api/v1/account").json()["userid"]
    assert USER_ID.fullmatch(me) and me != "u0"
    assert live_server.api("PUT", f"/api/v1/sessions/{made['code']}",
                           json={"assigned_userid": me}).status_code == 204
    assert session(live_server, made["code"])["assigned_userid"] == me
    assert live_server.api("PUT", f"/api/v1/sessions/{made['code']}",
                           json={"assigned_userid": "u0"}).status_code == 204
    assert session(live_server, made["code"])["assigned_userid"] == "u0"
    nobody = live_server.api("GET", "/api/v1/sessions?assigned_userid=u0").json()["sessions"]
    assert made["code"] in [s["code"] for s in nobody]


def test_put_answers_204_no_content_and_closing_twice_is_fine(live_server: LiveServer) -> None:
    code = create(live_server).json()["code"]
    for _ in range(2):
        closed = live_server.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"})
        assert (closed.status_code, closed.content) == (204, b"")
    shown = session(live_server, code)
    assert shown["state"] == "closed" and DATE.fullmatch(shown["closed_at"])


def test_listing_without_state_lists_open_sessions_only(live_server: LiveServer) -> None:
    open_code = create(live_server).json()["code"]
    closed_code = create(live_server).json()["code"]
    live_server.api("PUT", f"/api/v1/sessions/{closed_code}", json={"state": "closed"})
    listed = [s["code"] for s in live_server.api("GET", "/api/v1/sessions").json()["sessions"]]
    assert listed == [open_code]
    closed = live_server.api("GET", "/api/v1/sessions?state=closed").json()["sessions"]
    assert [s["code"] for s in closed] == [closed_code]
    both = live_server.api("GET", "/api/v1/sessions?state=open,closed").json()["sessions"]
    assert [s["code"] for s in both] == [closed_code, open_code]  # newest created_at first


def test_full_list_true_as_integrations_send_it(live_server: LiveServer) -> None:
    codes = [create(live_server, groupname="Full").json()["code"] for _ in range(5)]
    listed = live_server.api("GET", "/api/v1/sessions?full_list=true&state=open").json()
    assert [s["code"] for s in listed["sessions"]] == codes[::-1]
    assert listed["next_offset"] is None and listed["sessions_remaining"] == 0
    assert live_server.api("GET", "/api/v1/sessions?full_list=false").status_code == 200
    assert live_server.api("GET", "/api/v1/sessions?full_list=yes").status_code == 400


def test_the_documented_fields_and_forms(live_server: LiveServer) -> None:
    made = create(live_server, groupname="Fields", description="Printer",
                  end_customer={"name": "Bob", "email": "bob@example.com"},
                  waiting_message="One moment", custom_api='{"ticket": 7}').json()
    for key in ("code", "state", "online", "groupid", "custom_module_id", "waiting_message",
                "description", "end_customer", "assigned_userid", "assigned_at",
                "end_customer_link", "supporter_link", "custom_api", "created_at", "valid_until",
                "closed_at"):
        assert key in made, key
    assert CODE.fullmatch(made["code"]) and made["state"] == "open"
    assert made["end_customer"] == {"name": "Bob", "email": "bob@example.com"}
    created = datetime.strptime(made["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    until = datetime.strptime(made["valid_until"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert (until - created).total_seconds() == 24 * 3600  # without valid_until: 24 h
    assert made["closed_at"] is None and made["assigned_at"] is None

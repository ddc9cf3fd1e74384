"""Ping, account, users and groups as TeamViewer's API documentation has them
(3.2 ping, 3.3.1 account, 3.4.1 users, 3.5.2 groups; IDs as 1.3 writes them),
asked of a real sosdesk server over HTTP."""

from __future__ import annotations

import re

import requests

from conftest import LiveServer


def test_ping_says_whether_the_token_is_valid_and_needs_none(live_server: LiveServer) -> None:
    assert live_server.api("GET", "/api/v1/ping").json() == {"token_valid": True}
    for token in (None, "sdx_not-a-token"):
        answer = live_server.api("GET", "/api/v1/ping", token=token)
        assert (answer.status_code, answer.json()) == (200, {"token_valid": False})
    # The console's login counts as well.
    login = requests.post(live_server.url + "/api/v1/login", timeout=10,
                          json={"name": "anna", "password": "correct horse battery"})
    with_cookie = requests.get(live_server.url + "/api/v1/ping", cookies=login.cookies, timeout=10)
    assert with_cookie.json() == {"token_valid": True}


def test_account_is_the_tokens_owner(live_server: LiveServer) -> None:
    account = live_server.api("GET", "/api/v1/account").json()
    assert re.fullmatch(r"u\d+", account["userid"]) and account["name"] == "anna"
    assert "email" in account
    other = live_server.add_expert("ben")
    assert live_server.api("GET", "/api/v1/account", token=other).json()["name"] == "ben"


def test_users_lists_the_experts_with_ids_like_u123(live_server: LiveServer) -> None:
    live_server.add_expert("ben")
    users = live_server.api("GET", "/api/v1/users").json()["users"]
    assert [u["name"] for u in users] == ["anna", "ben"]
    assert all(re.fullmatch(r"u\d+", u["id"]) and "email" in u for u in users)
    assert len({u["id"] for u in users}) == 2
    named = live_server.api("GET", "/api/v1/users?name=BE").json()["users"]  # part of it, any case
    assert [u["name"] for u in named] == ["ben"]
    full = live_server.api("GET", "/api/v1/users?full_list=true").json()["users"]
    assert all(u["active"] is True for u in full)
    # The ids are the ones sessions are assigned with.
    code = live_server.api("POST", "/api/v1/sessions", json={"assigned_userid": users[1]["id"]})
    assert code.json()["assigned_userid"] == users[1]["id"]


def test_groups_are_objects_with_ids_like_g123(live_server: LiveServer) -> None:
    live_server.api("POST", "/api/v1/sessions", json={"groupname": "Sales EU"})
    live_server.api("POST", "/api/v1/sessions", json={"groupname": "Support EU"})
    groups = live_server.api("GET", "/api/v1/groups").json()["groups"]
    assert [g["name"] for g in groups] == ["default", "Sales EU", "Support EU"]
    assert all(re.fullmatch(r"g\d+", g["id"]) for g in groups)
    assert len({g["id"] for g in groups}) == 3
    support = live_server.api("GET", "/api/v1/groups?name=support").json()["groups"]
    assert [g["name"] for g in support] == ["Support EU"]
    # A group's id lists its sessions.
    listed = live_server.api("GET", f"/api/v1/sessions?groupid={support[0]['id']}").json()
    assert [s["groupid"] for s in listed["sessions"]] == [support[0]["id"]]

"""The console's queue over HTTP (GET /api/v1/queue: search, sort, keyset cursor, total,
with TeamViewer's filters) and the customer's description of their request, against a
real server. /api/v1/sessions stays TeamViewer's list (tests/test_teamviewer_*.py)."""

from __future__ import annotations

from typing import Any

import pytest

from api_helpers import assert_error
from conftest import LiveServer
from sosdesk.server_stub.case_search import SORTS


def make(server: LiveServer, name: str, description: str = "", **fields: Any) -> dict:
    body = {"end_customer": {"name": name, "email": fields.pop("email", "")}, "description": description,
            **fields}
    made = server.api("POST", "/api/v1/sessions", json=body)
    assert made.status_code == 201, made.text
    return made.json()


def listing(server: LiveServer, **params: Any) -> dict:
    answer = server.api("GET", "/api/v1/queue", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def every_page(server: LiveServer, between=lambda page: None, **params: Any) -> list[str]:
    """The codes of every page, following next_cursor; *between* runs after each page."""
    codes: list[str] = []
    cursor = None
    for _ in range(100):
        page = listing(server, **params, **({"cursor": cursor} if cursor else {}))
        codes += [c["code"] for c in page["sessions"]]
        between(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return codes
    raise AssertionError("the cursor never ended")


def test_search_finds_by_code_name_email_host_user_and_problem(live_server: LiveServer) -> None:
    bob = make(live_server, "Bob Meyer", "Printer prints empty pages", email="bob@example.com")
    eva = make(live_server, "Eva Lindqvist", "VPN 100% down_now", email="eva@corp.example")
    sos = live_server.sos("device-00000000000042", description="Screen black",
                          device={"hostname": "RECEPTION-PC", "os": "Windows 11", "user": "empfang"})["case"]

    def found(q: str) -> set[str]:
        page = listing(live_server, q=q, total="true")
        assert page["total"] == len(page["sessions"])
        return {c["code"] for c in page["sessions"]}

    assert found("meyer") == {bob["code"]}  # A-Z in either case
    assert found("CORP.example") == {eva["code"]}
    assert found("reception") == {sos["code"]}
    assert found("empfang") == {sos["code"]}
    assert found("printer EMPTY") == {bob["code"]}  # every word must be found
    assert found("printer vpn") == set()
    assert found("100%") == {eva["code"]} and found("_own") == found("v%n") == set()  # no wildcards
    assert found(bob["code"]) == {bob["code"]}
    assert found(bob["code"][:6]) >= {bob["code"]}  # "s12-34": the start of a code
    assert found(bob["code"].replace("-", "")[1:]) == {bob["code"]}  # its digits alone
    assert found("") == {bob["code"], eva["code"], sos["code"]}


@pytest.mark.parametrize("sort", sorted(SORTS))
def test_every_sort_pages_through_every_case_once_in_order(live_server: LiveServer, sort: str) -> None:
    live_server.add_expert("zoe")
    names = ["carla", "Bob", "anna", "", "dieter", "bob"]
    for n, name in enumerate(names * 2):
        case = make(live_server, name, f"problem {n % 4}", groupname=f"grp{n % 3}",
                    assigned_userid=["u1", "u2", None][n % 3])
        if n % 4 == 1:
            assert live_server.api("PUT", f"/api/v1/sessions/{case['code']}",
                                   json={"state": "closed"}).status_code == 204
    every = {c["code"]: c for c in listing(live_server, state="open,closed", limit=100)["sessions"]}
    for order in ("asc", "desc"):
        codes = every_page(live_server, state="open,closed", sort=sort, order=order, limit=5)
        assert sorted(codes) == sorted(every), "each case exactly once"
        keys = [key_of(sort, every[code]) for code in codes]
        assert keys == sorted(keys, reverse=order == "desc")


def key_of(sort: str, case: dict) -> Any:
    """What the test expects each sort to sort by, from the case as the API shows it."""
    return {
        "created": case["created_at"], "code": case["code"],
        "customer": (case["end_customer"]["name"] or "").lower(), "problem": case["description"].lower(),
        "device": "", "status": ["new", "pending", "in_progress", "closed", "expired"].index(case["status"]),
        "group": case["groupid"], "assigned": (case["assigned_name"] or "").lower(),
        "valid_until": case["valid_until"], "waiting": (0 if waiting(case) else 1, case["created_at"]),
    }[sort]


def waiting(case: dict) -> bool:
    """Whether the customer waits for an expert (as the console's "waiting 7 min" says it)."""
    return (case["state"] == "open" and not case["expert_started"]
            and (case["created_by"] == "customer" or case["customer_started"]))


def test_the_cursor_keeps_its_place_while_cases_come_and_go(live_server: LiveServer) -> None:
    made = [make(live_server, f"customer {n:02d}") for n in range(12)]
    seen_new: list[str] = []

    def meanwhile(page: dict) -> None:
        # Between pages: a new case (older ones stay put: the oldest come first) and a
        # case deleted from the page just shown. An offset would now skip one.
        if page["next_cursor"]:
            seen_new.append(make(live_server, "newcomer")["code"])
            gone = page["sessions"][0]["code"]
            assert live_server.api("DELETE", f"/api/v1/sessions/{gone}").status_code == 200

    codes = every_page(live_server, meanwhile, state="open", sort="created", order="asc", limit=4)
    assert codes[:12] == [c["code"] for c in made], "the first twelve in order, none skipped"
    assert codes[12:] == seen_new[: len(codes) - 12]
    assert len(set(codes)) == len(codes)


@pytest.mark.parametrize("sort, order", [("created", "asc"), ("created", "desc"), ("assigned", "asc")])
def test_the_total_says_where_a_page_starts_now(live_server: LiveServer, sort: str, order: str) -> None:
    made = [make(live_server, f"customer {n:02d}")["code"] for n in range(6)]
    query = {"state": "open", "sort": sort, "order": order, "limit": 4, "total": "true"}
    first = listing(live_server, **query)
    assert (first["before"], first["total"], len(first["sessions"])) == (0, 6, 4)
    second = listing(live_server, **query, cursor=first["next_cursor"])
    assert (second["before"], second["total"], len(second["sessions"])) == (4, 6, 2)
    # A case of page 1 goes: page 2 keeps its cases and now starts after 3.
    gone = first["sessions"][1]["code"]
    assert gone in made and live_server.api("DELETE", f"/api/v1/sessions/{gone}").status_code == 200
    again = listing(live_server, **query, cursor=first["next_cursor"])
    assert (again["before"], again["total"]) == (3, 5)
    assert [c["code"] for c in again["sessions"]] == [c["code"] for c in second["sessions"]]
    assert "before" not in listing(live_server, state="open", limit=4)  # only with the total


def test_customers_waiting_for_an_expert_come_first_the_longest_waiting_on_top(live_server: LiveServer) -> None:
    device = {"hostname": "PC", "os": "Linux", "user": "kim"}
    older = make(live_server, "made by hand before anyone asked")
    first = live_server.sos("device-00000000000001", device=device)["case"]
    joined = make(live_server, "read out on the phone")
    ticket = live_server.api("POST", "/api/v1/customer/join", token=None, json={
        "code": joined["code"], "device_id": "device-00000000000002", "device": device})
    assert ticket.status_code == 200, ticket.text  # the agent joins, then starts its side:
    assert live_server.api("POST", "/api/v1/customer/case/start", token=ticket.json()["token"]).status_code == 200
    helped = live_server.sos("device-00000000000003", device=device)["case"]
    assert live_server.api("POST", f"/api/v1/sessions/{helped['code']}/connect").status_code == 200
    later = make(live_server, "made by hand later")
    last = live_server.sos("device-00000000000004", device=device)["case"]
    waiting_first = [first, joined, last, older, helped, later]  # then the rest, oldest first
    assert every_page(live_server, state="open", sort="waiting", order="asc", limit=2) == [
        c["code"] for c in waiting_first]
    assert every_page(live_server, state="open", sort="waiting", order="desc", limit=4) == [
        c["code"] for c in reversed(waiting_first)]


def test_my_open_cases_longest_waiting_first_with_the_total(live_server: LiveServer) -> None:
    live_server.add_expert("bernd")
    mine = [make(live_server, f"mine {n}", assigned_userid="u1") for n in range(3)]
    make(live_server, "bernd's", assigned_userid="u2")
    closed = make(live_server, "mine but closed", assigned_userid="u1")
    live_server.api("PUT", f"/api/v1/sessions/{closed['code']}", json={"state": "closed"})
    page = listing(live_server, state="open", assigned_userid="u1", sort="created", total="1", limit=2)
    assert [c["code"] for c in page["sessions"]] == [c["code"] for c in mine[:2]]
    assert page["total"] == 3 and page["next_cursor"]
    assert "total" not in listing(live_server, sort="code")


def test_wrong_parameters_are_named_all_at_once(live_server: LiveServer) -> None:
    make(live_server, "x")
    make(live_server, "y")
    answer = live_server.api("GET", "/api/v1/queue",
                             params={"sort": "salary", "order": "up", "total": "maybe", "q": "x" * 201})
    body = assert_error(answer, 400, "invalid_input")
    assert set(body["fields"]) == {"sort", "order", "total", "q"}
    by_code = listing(live_server, sort="code", limit=1)["next_cursor"]
    for cursor in (by_code, "not-a-cursor", "W10"):
        body = assert_error(live_server.api("GET", "/api/v1/queue",
                                            params={"sort": "customer", "cursor": cursor}), 400, "invalid_input")
        assert set(body["fields"]) == {"cursor"}
    for paging in ("offset", "full_list", "count"):  # TeamViewer's paging: pages follow the cursor here
        body = assert_error(live_server.api("GET", "/api/v1/queue", params={"sort": "code", paging: "5"}),
                            400, "invalid_input")
        assert set(body["fields"]) == {paging}
    for bad in ({"groupid": "g999"}, {"assigned_userid": "u999"}, {"limit": "0"}, {"limit": "1001"}):
        body = assert_error(live_server.api("GET", "/api/v1/queue", params=bad), 400, "invalid_input")
        assert set(body["fields"]) == set(bad)


def test_the_customer_describes_their_request_and_the_expert_sees_it(live_server: LiveServer) -> None:
    made = live_server.sos("device-00000000000077", device={"hostname": "PC", "os": "x", "user": "kim"})
    token, code = made["token"], made["case"]["code"]
    version = live_server.api("GET", "/api/v1/changes", params={"since": -1}).json()["version"]
    described = live_server.api("PUT", "/api/v1/customer/case", token=token,
                                json={"description": "Outlook crashes on start"})
    assert described.status_code == 200, described.text
    assert described.json()["description"] == "Outlook crashes on start"
    woke = live_server.api("GET", "/api/v1/changes", params={"since": version, "wait": 5}).json()
    assert woke["version"] != version  # the console's long-poll wakes at once
    assert live_server.api("GET", f"/api/v1/sessions/{code}").json()["description"] == "Outlook crashes on start"
    [created, edit] = live_server.api("GET", f"/api/v1/sessions/{code}/history").json()["events"]
    assert (edit["actor"], edit["event"], edit["detail"]) == ("customer", "edit", {"fields": ["description"]})

    for body, field in (({}, "description"), ({"description": "x" * 4001}, "description"),
                        ({"description": "ok", "groupid": "vip"}, "groupid")):
        error = assert_error(live_server.api("PUT", "/api/v1/customer/case", token=token, json=body),
                             400, "invalid_input")
        assert field in error["fields"]
    assert_error(live_server.api("PUT", "/api/v1/customer/case", token=None, json={"description": "x"}),
                 401, "unauthorized")

    expert_made = make(live_server, "Bob", "the expert's words")
    joined = live_server.api("POST", "/api/v1/customer/join", token=None, json={
        "code": expert_made["code"], "device_id": "device-00000000000078",
        "device": {"hostname": "PC", "os": "x", "user": "bob"}}).json()
    assert_error(live_server.api("PUT", "/api/v1/customer/case", token=joined["token"],
                                 json={"description": "mine"}), 403, "not_case_creator")
    live_server.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"})
    assert_error(live_server.api("PUT", "/api/v1/customer/case", token=token, json={"description": "late"}),
                 409, "case_closed")


def test_sorting_by_status_keeps_the_lifecycle_order(live_server: LiveServer) -> None:
    cases = [make(live_server, f"c{n}") for n in range(3)]
    live_server.api("POST", f"/api/v1/sessions/{cases[1]['code']}/connect")
    live_server.api("PUT", f"/api/v1/sessions/{cases[2]['code']}", json={"state": "closed"})
    statuses = [c["status"] for c in listing(live_server, state="open,closed", sort="status")["sessions"]]
    assert statuses == ["new", "pending", "closed"]


def test_the_queue_reads_teamviewers_filters_as_its_list_does(live_server: LiveServer) -> None:
    live_server.add_expert("bernd")
    mine = make(live_server, "mine", groupname="vip", assigned_userid="u1")
    nobodys = make(live_server, "nobody's", groupname="vip")
    other = make(live_server, "bernd's", assigned_userid="u2")
    closed = make(live_server, "closed", groupname="vip")
    live_server.api("PUT", f"/api/v1/sessions/{closed['code']}", json={"state": "closed"})
    vip = next(g["id"] for g in live_server.api("GET", "/api/v1/groups").json()["groups"] if g["name"] == "vip")

    def codes(**params: Any) -> set[str]:
        return {c["code"] for c in listing(live_server, sort="code", **params)["sessions"]}

    assert codes() == {mine["code"], nobodys["code"], other["code"]}  # open ones, as /sessions lists
    assert codes(groupid=vip) == codes(groupid="vip") == {mine["code"], nobodys["code"]}
    assert codes(assigned_userid="u0") == {nobodys["code"]}
    assert codes(state="closed") == {closed["code"]}
    [case] = listing(live_server, q="mine")["sessions"]
    assert (case["groupid"], case["groupname"], case["assigned_userid"]) == (vip, "vip", "u1")
    assert case["supporter_link"].endswith(f"/case/{mine['code']}")  # each session as /sessions shows it

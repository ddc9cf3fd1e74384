"""The queue's views made by SQLite (Cases.list_cases_json) against views.case_view.

The route answers the queue with the JSON SQLite writes; every other read uses
case_view. The two must agree field by field, for awkward text too, and with
the live state (online, remote) that only server memory knows.
"""

from __future__ import annotations

import json

import pytest

from sosdesk.server_stub.app import App
from sosdesk.server_stub.http_api import dispatch
from sosdesk.server_stub.relay import RelayHub
from sosdesk.server_stub.store import Store

T0 = 1_700_000_000
AWKWARD = 'quote " back\\slash \t tab \n newline \x01 ctl ü ✓ 😀 </script>'


def _filled() -> Store:
    store = Store(":memory:")
    store.add_expert("anna \"A\" ü", "password-anna", T0)
    store.add_expert("ben", "password-ben", T0)
    module = store.create_module({"name": "ACME", "groupid": "acme"}, 1, T0)
    for n in range(12):
        body = {"device_id": f"device-{n:04d}-aaaaaaaaaaaa",
                "device": {"hostname": AWKWARD if n == 3 else f"PC-{n}", "os": "Linux",
                           "user": "ü" * n},
                "description": AWKWARD if n % 2 else ""}
        if n % 3 == 0:
            body["module_id"] = module["module_id"]
        store.sos(body, T0 + n)
    for n in range(6):
        store.create_case({"end_customer": {"name": AWKWARD, "email": f"c{n}@example.com"},
                           "description": f"by hand {n}", "custom_api": AWKWARD,
                           "waiting_message": "bitte warten ✓",
                           **({"assigned_userid": "u2"} if n % 2 else {})}, 1, T0 + 20 + n)
    queue = store.list_cases({}, T0 + 30)["sessions"]
    store.connect(queue[0]["code"], 1, T0 + 31)
    store.edit_case(queue[1]["code"], {"state": "closed"}, 1, T0 + 32)
    store.edit_case(queue[2]["code"], {"state": "closed"}, 2, T0 + 33)
    return store


QUERIES = [{}, {"state": "open"}, {"state": "closed"}, {"status": "new"},
           {"status": "pending,closed"}, {"groupid": "acme"}, {"assigned_userid": "u2"},
           {"state": "open", "groupid": "default"}]


@pytest.mark.parametrize("query", QUERIES)
def test_sqlite_views_equal_case_view(query: dict) -> None:
    store = _filled()
    now = T0 + 40
    for offset, limit in ((0, 100), (0, 5), (5, 5), (15, 5)):
        made_by_sqlite = json.loads(store.list_cases_json(query, now, offset=offset, limit=limit))
        assert made_by_sqlite == store.list_cases(query, now, offset=offset, limit=limit)


def test_sqlite_views_carry_the_live_state() -> None:
    store = _filled()
    relays = RelayHub()
    store.live = relays.live
    page = store.list_cases({"state": "open"}, T0 + 40)["sessions"]
    case_ids = {c["code"]: store.case_id_for_code(c["code"], T0 + 40) for c in page}
    now = T0 + 40
    online = relays.get(case_ids[page[0]["code"]], now)
    online.agent_poll(now, started=True)  # an agent long-polling: online
    made_by_sqlite = json.loads(store.list_cases_json({"state": "open"}, now))
    assert made_by_sqlite == store.list_cases({"state": "open"}, now)
    assert any(c["online"] for c in made_by_sqlite["sessions"])


def test_sqlite_views_expire_due_cases_on_the_way() -> None:
    store = _filled()
    later = T0 + 2 * 86400
    page = json.loads(store.list_cases_json({"state": "open"}, later))
    assert page == {"sessions": [], "next_offset": None}
    expired = json.loads(store.list_cases_json({"status": "expired"}, later))["sessions"]
    assert expired and all(c["state"] == "closed" for c in expired)


def test_the_queue_route_answers_with_the_sqlite_views() -> None:
    store = _filled()
    _, token = store.add_expert("carl", "password-carl", T0)
    app = App(store, clock=lambda: T0 + 50)
    answer = dispatch(app, "GET", "/api/v1/sessions?state=open&limit=4",
                      [("Authorization", f"Bearer {token}")], b"", "127.0.0.1")
    assert answer.status == 200
    assert answer.content_type.startswith("application/json")
    assert json.loads(answer.payload()) == store.list_cases({"state": "open"}, T0 + 50, limit=4)
    bad = dispatch(app, "GET", "/api/v1/sessions?status=done",
                   [("Authorization", f"Bearer {token}")], b"", "127.0.0.1")
    assert bad.status == 400 and bad.json()["error"] == "invalid_input"

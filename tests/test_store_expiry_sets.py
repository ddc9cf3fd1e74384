"""Set-based expiry: a few statements per batch, not two per case, with the same history.

Integer times are passed in; no clock, no sleeping.
"""

from __future__ import annotations

from sosdesk.server_stub import core
from sosdesk.server_stub.store import Store

T0 = 1_900_000_000
DAY = 86400


def _store(cases: int) -> Store:
    store = Store(":memory:")
    store.add_expert("anna", "correct horse battery", T0)
    for n in range(cases):
        if n % 3 == 0:
            store.sos({"device_id": f"device-{n:05d}-aaaaaaaaaaa"}, T0 + n)
        else:
            store.create_case({"description": f"case {n}"}, 1, T0 + n)
    return store


def _statements(store: Store) -> list[str]:
    seen: list[str] = []
    store._db.set_trace_callback(seen.append)
    return seen


def test_the_sweep_expires_a_batch_with_a_few_statements() -> None:
    store = _store(600)
    started = store.list_cases({}, T0 + 700, limit=1000)["sessions"]
    for case in started[:100]:  # some pending ones: the history keeps their status
        store.connect(case["code"], 1, T0 + 700)
    statements = _statements(store)
    assert store.expire_due(T0 + 2 * DAY, batch=300) == 600
    writes = [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    # One INSERT and one UPDATE per batch (100 per status, so 5 for the 500 new ones, and an
    # empty last one), where a statement per case and its history made 1,200.
    assert len(writes) <= 2 * 6
    events = store._read("SELECT case_id, actor, event, from_status, to_status, at "
                         "FROM case_events WHERE event = 'expire'")
    assert len(events) == 600
    assert {(e["actor"], e["to_status"], e["at"]) for e in events} == {
        ("system", "expired", T0 + 2 * DAY)}
    from_status = {e["case_id"]: e["from_status"] for e in events}
    assert sorted(set(from_status.values())) == ["new", "pending"]
    assert sum(1 for s in from_status.values() if s == "pending") == 100
    rows = store._read("SELECT status, closed_at, version FROM cases")
    assert {(r["status"], r["closed_at"]) for r in rows} == {("expired", T0 + 2 * DAY)}
    # Every case's version grew past what the console last saw.
    assert min(r["version"] for r in rows) > max(c["version"] for c in started)


def test_the_sweep_expires_the_newest_cases_first() -> None:
    store = _store(90)
    assert store.expire_due(T0 + DAY + 100, batch=30) == 90
    events = store._read("SELECT ev.case_id, c.created_at FROM case_events ev JOIN cases c "
                         "ON c.id = ev.case_id WHERE ev.event = 'expire' ORDER BY ev.id")
    # 10 per open status (all are new), latest deadline first: the queue's newest cases.
    assert sorted(e["created_at"] for e in events[:10]) == [T0 + n for n in range(80, 90)]


def test_an_open_page_leaves_due_cases_out_and_expires_only_a_page_of_them() -> None:
    store = _store(3000)
    for n in range(20):  # made amid the others, valid for a long time
        store.create_case({"valid_until": core.iso(T0 + 20 * DAY)}, 1, T0 + 1500 + n)
    now = T0 + 2 * DAY
    page = store.list_cases({"state": "open"}, now, limit=10)
    assert len(page["sessions"]) == 10 and page["next_offset"]  # a code: more follow
    assert all(c["valid_until"] == core.iso(T0 + 20 * DAY) for c in page["sessions"])
    expired = store._read("SELECT COUNT(*) FROM cases WHERE status = 'expired'")[0][0]
    assert 0 < expired <= 200  # the page's due cases on the way, not the backlog
    assert store.list_cases({"status": "new"}, now, limit=5)["sessions"][0]["status"] == "new"

"""Expiry on read with a large backlog of due cases (after downtime): the first
page of the queue is exact without waiting for the whole backlog, and views
that need every due case (closed-only, later pages) still see them all.
Integer times are passed in; no clock, no sleeping."""

from __future__ import annotations

from sosdesk.server_stub import core
from sosdesk.server_stub.store import Store

T0 = 1_900_000_000
CASES = 3000


def _store_with_backlog() -> tuple[Store, set[str]]:
    """CASES open cases, 4 in 5 due at T0 + 200; returns the store and the codes not due."""
    store = Store(":memory:")
    store.add_expert("anna", "correct horse battery", T0)
    live = set()
    for n in range(CASES):
        due = n % 5 != 0
        until = core.iso(T0 + 100 if due else T0 + 10**6)
        case = store.create_case({"valid_until": until}, 1, T0 + n // 100)
        if not due:
            live.add(case["code"])
    return store, live


def _count(store: Store, status: str) -> int:
    return store._read("SELECT COUNT(*) FROM cases WHERE status = ?", (status,))[0][0]


def test_first_open_page_is_exact_without_sweeping_the_backlog() -> None:
    store, live = _store_with_backlog()
    now = T0 + 200
    page = store.list_cases({"state": "open"}, now, limit=50)
    codes = [c["code"] for c in page["sessions"]]
    assert len(codes) == 50 and set(codes) <= live
    assert all(c["status"] == "new" for c in page["sessions"])
    # Newest first, exactly the 50 newest live cases.
    rows = store._read("SELECT code FROM cases WHERE valid_until > ? ORDER BY created_at DESC, "
                       "id DESC LIMIT 50", (now,))
    assert codes == [core.format_code(r[0]) for r in rows]
    expired = _count(store, "expired")
    assert 0 < expired < CASES * 4 // 5 // 2  # only a window's worth, not the backlog
    for query, limit in (({}, 100), ({"status": "new"}, 100), ({"groupid": "default"}, 20)):
        sessions = store.list_cases(query, now, limit=limit)["sessions"]
        assert all(c["status"] == "expired" or c["code"] in live for c in sessions), query


def test_views_that_need_every_due_case_still_get_them() -> None:
    store, live = _store_with_backlog()
    now = T0 + 200
    closed = store.list_cases({"state": "closed"}, now, limit=1000)
    assert len(closed["sessions"]) == 1000 and closed["next_offset"] is not None
    assert _count(store, "expired") == CASES * 4 // 5
    store2, live2 = _store_with_backlog()
    second_page = store2.list_cases({"state": "open"}, now, offset=50, limit=50)
    assert _count(store2, "expired") == CASES * 4 // 5
    assert {c["code"] for c in second_page["sessions"]} <= live2

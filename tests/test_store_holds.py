"""Holds (schema v3): open cases hold their code and SOS device; expiry leaves the holds,
the release pass or the device's next SOS lets them go. The invariants: no two open
cases with one code, at most one open SOS case per device and module, a join by code
finds only the open case.

In-memory store, integer times passed in: no clock, no sleeping.
"""

from __future__ import annotations

import sqlite3
import threading

import pytest

from sosdesk.server_stub import core
from sosdesk.server_stub.customers import device_hash
from sosdesk.server_stub.errors import NotFound
from sosdesk.server_stub.store import Store

T0 = 1_900_000_000
DAY = 86400
DEVICE = "device-aaaaaaaaaaaaaaaa"


@pytest.fixture
def store() -> Store:
    s = Store(":memory:")
    s.add_expert("anna", "password-anna", T0)
    return s


def holds(store: Store) -> dict[str, int]:
    return dict(store._read("SELECT key, case_id FROM holds"))


def codes(monkeypatch, *drawn: str) -> None:
    queue = iter(drawn)
    monkeypatch.setattr(core, "new_code", lambda: next(queue))


def test_an_open_case_holds_its_code_and_an_sos_case_its_device_too(store: Store) -> None:
    made = store.create_case({}, 1, T0)
    sos, _, _ = store.sos({"device_id": DEVICE}, T0)
    assert holds(store) == {
        "code:" + made["code"][1:].replace("-", ""): 1,
        "code:" + sos["code"][1:].replace("-", ""): 2,
        f"sos:{device_hash(DEVICE)}:": 2}


def test_the_sweep_leaves_the_holds_and_the_release_pass_frees_them(store: Store) -> None:
    for n in range(30):
        store.sos({"device_id": f"device-{n:04d}-aaaaaaaaaaaa"}, T0 + n)
    store.create_case({"valid_until": core.iso(T0 + 5 * DAY)}, 1, T0)  # stays open
    held = holds(store)
    assert len(held) == 61
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    assert store.expire_due(T0 + 2 * DAY, batch=8) == 30
    assert not [s for s in statements if "holds" in s]  # expiry writes nothing there
    assert holds(store) == held
    assert store.release_holds(batch=7) == 60  # several ranges of keys, each its own transaction
    assert holds(store) == {k: v for k, v in held.items() if v == 31}
    assert sum(s == "BEGIN DEFERRED" for s in statements) >= 61 // 7
    assert store.release_holds() == 0


def test_a_held_code_is_not_reused_until_released(store: Store, monkeypatch) -> None:
    codes(monkeypatch, "11111111", "11111111", "22222222", "11111111")
    first = store.create_case({}, 1, T0)
    assert store.expire_due(T0 + 2 * DAY) == 1  # expired, its code still held
    second = store.create_case({}, 1, T0 + 2 * DAY)
    assert second["code"] == "s22-222-222"  # the held code was a clash: drawn again
    store.release_holds()
    third = store.create_case({}, 1, T0 + 2 * DAY)
    assert third["code"] == first["code"] == "s11-111-111"
    assert store.get_case("s11-111-111", T0 + 2 * DAY)["status"] == "new"  # the newest


def test_the_database_refuses_a_second_open_case_with_a_held_code(store: Store) -> None:
    store.create_case({}, 1, T0)
    code = store._read("SELECT code FROM cases")[0][0]
    store.expire_due(T0 + 2 * DAY)  # ended, not yet released: the code stays taken
    with pytest.raises(sqlite3.IntegrityError):
        store._db.execute("INSERT INTO cases (code, status, groupid, created_by, created_at, "
                          "valid_until, version) VALUES (?, 'new', 'default', 'expert:1', 0, 0, 0)",
                          (code,))


def test_a_device_whose_sos_case_expired_but_is_held_gets_a_new_case(store: Store) -> None:
    first, token, created = store.sos({"device_id": DEVICE}, T0)
    assert store.expire_due(T0 + 2 * DAY) == 1
    key = f"sos:{device_hash(DEVICE)}:"
    assert holds(store)[key] == store.customer_case_id(token)  # still held by the expired case
    second, _, created_again = store.sos({"device_id": DEVICE}, T0 + 2 * DAY)
    assert created and created_again and second["code"] != first["code"]
    assert second["status"] == "new"
    assert holds(store)[key] == store._read("SELECT MAX(id) FROM cases")[0][0]
    assert store.get_case(first["code"], T0 + 2 * DAY)["status"] == "expired"
    third, _, created3 = store.sos({"device_id": DEVICE}, T0 + 2 * DAY + 5)
    assert third["code"] == second["code"] and not created3  # idempotent again


def test_a_due_sos_case_is_expired_by_the_next_sos_which_makes_a_new_one(store: Store) -> None:
    first, _, _ = store.sos({"device_id": DEVICE}, T0)
    second, _, created = store.sos({"device_id": DEVICE}, T0 + 2 * DAY)  # no sweep in between
    assert created and second["code"] != first["code"]
    assert [e["event"] for e in store.history(first["code"], T0 + 2 * DAY)] == ["create", "expire"]


def test_the_database_allows_one_open_sos_per_device_even_without_a_module(store: Store) -> None:
    store.sos({"device_id": DEVICE}, T0)
    with pytest.raises(sqlite3.IntegrityError):  # v2's index let this through (NULL module)
        store._db.execute(
            "INSERT INTO cases (code, status, groupid, created_by, device_hash, created_at, "
            "valid_until, version) VALUES ('99999999', 'new', 'default', 'customer', ?, 0, 0, 0)",
            (device_hash(DEVICE),))


def test_concurrent_sos_from_one_device_make_one_case_even_after_an_expiry(store: Store) -> None:
    store.sos({"device_id": DEVICE}, T0)
    store.expire_due(T0 + 2 * DAY)  # the device's hold names an expired case
    barrier, answers = threading.Barrier(16), []

    def click() -> None:
        barrier.wait()
        answers.append(store.sos({"device_id": DEVICE}, T0 + 2 * DAY))

    threads = [threading.Thread(target=click) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 16
    assert len({case["code"] for case, _, _ in answers}) == 1
    assert sum(created for _, _, created in answers) == 1
    assert store._read("SELECT COUNT(*) FROM cases WHERE status = 'new'")[0][0] == 1


def test_a_join_by_a_held_code_finds_only_the_open_case(store: Store, monkeypatch) -> None:
    codes(monkeypatch, "11111111", "11111111")
    store.create_case({}, 1, T0)
    store.expire_due(T0 + 2 * DAY)
    with pytest.raises(NotFound):  # held, but its case is not open
        store.join({"code": "s11-111-111", "device_id": DEVICE}, T0 + 2 * DAY)
    store.release_holds()
    again = store.create_case({}, 1, T0 + 2 * DAY)
    joined, _ = store.join({"code": "s11-111-111", "device_id": DEVICE}, T0 + 2 * DAY)
    assert joined["code"] == again["code"] and joined["status"] == "new"


def test_deleting_cases_frees_their_holds_at_once(store: Store) -> None:
    case, _, _ = store.sos({"device_id": DEVICE}, T0)
    other = store.create_case({}, 1, T0)
    assert store.delete_cases([case["code"]]) == 1
    other_id = store._read("SELECT id FROM cases WHERE code = ?",
                           (other["code"][1:].replace("-", ""),))[0][0]
    assert list(holds(store).values()) == [other_id]  # the SOS case's code and device are free


def test_the_release_pass_frees_holds_of_cases_that_are_gone(store: Store) -> None:
    store._db.execute("INSERT INTO holds VALUES ('code:12345678', 999)")  # no case 999
    store.create_case({}, 1, T0)
    assert store.release_holds() == 1
    assert len(holds(store)) == 1

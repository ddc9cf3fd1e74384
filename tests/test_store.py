"""The store on an in-memory database with integer times: no HTTP, no clock, no sleeping."""

from __future__ import annotations

import pytest

from sosdesk.server_stub import auth, core
from sosdesk.server_stub.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from sosdesk.server_stub.store import Store

T0 = 1_700_000_000
DAY = 24 * 3600
DEVICE = "device-aaaaaaaaaaaaaaaa"


@pytest.fixture
def store() -> Store:
    s = Store(":memory:")
    s.add_expert("anna", "password-anna", T0)
    s.add_expert("ben", "password-ben", T0)
    return s


def sos(store: Store, device_id: str = DEVICE, now: int = T0, **body):
    case, token, created = store.sos({"device_id": device_id, **body}, now)
    return case, token, created


def test_sos_is_idempotent_per_device(store: Store) -> None:
    first, token1, created1 = sos(store, device={"hostname": "PC-7", "os": "Linux", "user": "bob"})
    again, token2, created2 = sos(store, now=T0 + 5)
    assert (created1, created2) == (True, False)
    assert again["code"] == first["code"] and token1 == token2
    other, _, created3 = sos(store, device_id="device-bbbbbbbbbbbbbbbb")
    assert created3 and other["code"] != first["code"]
    queue = store.list_cases({}, T0 + 10)["sessions"]
    assert len(queue) == 2
    mine = next(c for c in queue if c["code"] == first["code"])
    assert mine["device"] == {"hostname": "PC-7", "os": "Linux", "user": "bob"}
    assert mine["created_by"] == "customer"


def test_a_closed_case_lets_the_device_ask_again(store: Store) -> None:
    case, token, _ = sos(store)
    store.customer_close(store.customer_case_id(token), T0 + 1)
    again, _, created = sos(store, now=T0 + 2)
    assert created and again["status"] == "new"
    assert store.customer_case(store.customer_case_id(token), T0 + 2)["status"] == "closed"


def test_full_flow_customer_first(store: Store) -> None:
    case, token, _ = sos(store)
    case_id = store.customer_case_id(token)
    assert store.customer_start(case_id, T0 + 1)["status"] == "pending"
    assert store.customer_start(case_id, T0 + 2)["status"] == "pending"  # same side again: no-op
    connected = store.connect(case["code"], 1, T0 + 3)
    # Both sides started, but nobody sees a screen yet: still pending.
    assert connected["status"] == "pending"
    assert connected["assigned_userid"] == "u1" and connected["assigned_name"] == "anna"
    assert store.customer_case(case_id, T0 + 4)["expert_name"] == "anna"
    assert store.establish_session(case_id, "expert:1", T0 + 5) is True
    assert store.establish_session(case_id, "expert:1", T0 + 6) is False  # once
    assert store.get_case(case["code"], T0 + 6)["status"] == "in_progress"
    closed = store.edit_case(case["code"], {"state": "closed"}, 1, T0 + 7)
    assert closed["status"] == "closed" and closed["closed_at"] == core.iso(T0 + 7)
    history = store.history(case["code"], T0 + 8)
    assert [(e["event"], e["from"], e["to"], e["actor"]) for e in history] == [
        ("create", None, "new", "customer"),
        ("start", "new", "pending", "customer"),
        ("start", "pending", "pending", "expert:1"),
        ("session_established", "pending", "in_progress", "expert:1"),
        ("close", "in_progress", "closed", "expert:1"),
    ]
    assert [e["at"] for e in history] == [core.iso(T0 + n) for n in (0, 1, 3, 5, 7)]


def test_full_flow_expert_first_with_join(store: Store) -> None:
    case = store.create_case({"end_customer": {"name": "Bob"}}, 1, T0)
    assert store.connect(case["code"], 1, T0 + 1)["status"] == "pending"
    joined, token = store.join({"code": case["code"], "device_id": DEVICE,
                                "device": {"hostname": "PC-7"}}, T0 + 2)
    case_id = store.customer_case_id(token)
    assert joined["can_close"] is False
    assert store.customer_start(case_id, T0 + 3)["status"] == "pending"
    with pytest.raises(Forbidden) as info:
        store.customer_close(case_id, T0 + 4)  # the expert created it, so the expert closes it
    assert info.value.code == "not_case_creator"
    # The same device may join again (a retry); another device may not.
    assert store.join({"code": case["code"], "device_id": DEVICE}, T0 + 5)[1] == token
    with pytest.raises(Conflict) as taken:
        store.join({"code": case["code"], "device_id": "device-bbbbbbbbbbbbbbbb"}, T0 + 6)
    assert taken.value.code == "case_taken"


def test_second_expert_cannot_take_a_connected_case(store: Store) -> None:
    case, _, _ = sos(store)
    store.connect(case["code"], 1, T0 + 1)
    assert store.connect(case["code"], 1, T0 + 2)["status"] == "pending"  # same expert: no-op
    with pytest.raises(Conflict) as info:
        store.connect(case["code"], 2, T0 + 3)
    assert info.value.code == "already_connected" and "anna" in info.value.message


@pytest.mark.parametrize("age", [DAY - 1, DAY, DAY + 1, 10 * DAY])
@pytest.mark.parametrize("status_steps", [0, 1, 2])
def test_expiry_at_every_age_and_status(store: Store, age: int, status_steps: int) -> None:
    case, token, _ = sos(store)
    case_id = store.customer_case_id(token)
    if status_steps >= 1:
        store.customer_start(case_id, T0 + 1)
    if status_steps >= 2:
        store.connect(case["code"], 1, T0 + 2)
        store.establish_session(case_id, "expert:1", T0 + 2)
    expected_before = ["new", "pending", "in_progress"][status_steps]
    due = age >= DAY
    # Read path: the case expires when read after its deadline...
    view = store.get_case(case["code"], T0 + age)
    assert view["status"] == ("expired" if due else expected_before)
    if due:
        assert view["closed_at"] == core.iso(T0 + age)
        with pytest.raises(core.IllegalTransition) as info:
            store.connect(case["code"], 2, T0 + age + 1)
        assert info.value.code == "case_expired"
        assert store.history(case["code"], T0 + age)[-1]["actor"] == "system"


def test_sweep_expires_only_due_cases(store: Store) -> None:
    old, _, _ = sos(store, device_id="device-old-000000000000", now=T0)
    young, _, _ = sos(store, device_id="device-young-0000000000", now=T0 + 100)
    closed = store.create_case({}, 1, T0)
    store.edit_case(closed["code"], {"state": "closed"}, 1, T0 + 1)
    assert store.expire_due(T0 + DAY - 1) == 0
    assert store.expire_due(T0 + DAY) == 1
    assert store.expire_due(T0 + DAY) == 0
    everything = store.list_cases({"state": "open,closed"}, T0 + DAY)["sessions"]
    statuses = {c["code"]: c["status"] for c in everything}
    assert statuses == {old["code"]: "expired", young["code"]: "new", closed["code"]: "closed"}


def test_sweep_in_batches(store: Store) -> None:
    for n in range(25):
        store.create_case({}, 1, T0 + n)
    assert store.expire_due(T0 + 2 * DAY, batch=10) == 25
    assert store.list_cases({"state": "open"}, T0 + 2 * DAY)["sessions"] == []


def test_per_case_validity(store: Store) -> None:
    case = store.create_case({"valid_until": core.iso(T0 + 60)}, 1, T0)
    assert store.get_case(case["code"], T0 + 59)["status"] == "new"
    assert store.get_case(case["code"], T0 + 60)["status"] == "expired"
    short = Store(":memory:", default_validity=3600)
    short.add_expert("x", "password-x", T0)
    made = short.create_case({}, 1, T0)
    assert made["valid_until"] == core.iso(T0 + 3600)


def test_closed_cases_cannot_be_edited_or_reopened(store: Store) -> None:
    case = store.create_case({}, 1, T0)
    store.edit_case(case["code"], {"state": "closed"}, 1, T0 + 1)
    assert store.edit_case(case["code"], {"state": "closed"}, 1, T0 + 2)["status"] == "closed"
    for body in ({"state": "open"}, {"description": "later"}):
        with pytest.raises(core.IllegalTransition) as info:
            store.edit_case(case["code"], body, 1, T0 + 3)
        assert info.value.code == "case_closed"
    with pytest.raises(core.IllegalTransition):
        store.connect(case["code"], 1, T0 + 4)


def test_queue_filters_and_paging(store: Store) -> None:
    store.create_module({"name": "ACME", "groupid": "acme"}, 1, T0)
    codes = []
    for n in range(7):
        case = store.create_case({"groupid": "acme" if n % 2 else "default"}, 1, T0 + n)
        codes.append(case["code"])
    store.connect(codes[6], 2, T0 + 10)
    page = store.list_cases({}, T0 + 11, limit=3)
    assert [c["code"] for c in page["sessions"]] == codes[::-1][:3]  # newest first
    assert (page["next_offset"], page["sessions_remaining"]) == (codes[4], 4)  # keyset: a code
    second = store.list_cases({}, T0 + 11, offset=page["next_offset"], limit=3)
    assert [c["code"] for c in second["sessions"]] == codes[::-1][3:6]
    last = store.list_cases({}, T0 + 11, offset=second["next_offset"], limit=3)
    assert [c["code"] for c in last["sessions"]] == [codes[0]] and last["next_offset"] is None
    # The older paging by count (the console's until it moves to codes) answers in numbers.
    uncounted = store.list_cases({}, T0 + 11, limit=3, count=False)  # the console's: no count
    assert (uncounted["next_offset"], uncounted["sessions_remaining"]) == (codes[4], None)
    counted = store.list_cases({}, T0 + 11, offset=0, limit=3)
    assert (counted["next_offset"], counted["sessions_remaining"]) == (3, None)  # not counted
    last = store.list_cases({}, T0 + 11, offset=6, limit=3)
    assert [c["code"] for c in last["sessions"]] == [codes[0]] and last["next_offset"] is None
    acme = store.list_cases({"groupid": "g2"}, T0 + 11)["sessions"]
    assert {c["code"] for c in acme} == {codes[1], codes[3], codes[5]}
    assert store.list_cases({"groupid": "acme"}, T0 + 11)["sessions"] == acme  # by name too
    with pytest.raises(InvalidInput) as unknown:  # an id no group has: said, not an empty list
        store.list_cases({"groupid": "g99", "assigned_userid": "u99"}, T0 + 11)
    assert set(unknown.value.details["fields"]) == {"groupid", "assigned_userid"}
    pending = store.list_cases({"status": "pending"}, T0 + 11)["sessions"]
    assert [c["code"] for c in pending] == [codes[6]]
    assert store.list_cases({"assigned_userid": "u2"}, T0 + 11)["sessions"][0]["code"] == codes[6]
    unassigned = store.list_cases({"assigned_userid": "u0"}, T0 + 11)["sessions"]
    assert [c["code"] for c in unassigned] == codes[5::-1]
    assert store.list_cases({"state": "closed"}, T0 + 11)["sessions"] == []
    assert [(g["id"], g["name"]) for g in store.list_groups()] == [("g1", "default"), ("g2", "acme")]
    with pytest.raises(InvalidInput) as info:
        store.list_cases({"status": "done", "state": "gone", "colour": "x"}, T0)
    assert set(info.value.details["fields"]) == {"status", "state", "colour"}


def test_bulk_delete_is_all_or_nothing(store: Store) -> None:
    a = store.create_case({}, 1, T0)["code"]
    b = store.create_case({}, 1, T0)["code"]
    missing = "s00-000-001" if a != "s00-000-001" and b != "s00-000-001" else "s00-000-002"
    with pytest.raises(NotFound) as info:
        store.delete_cases([a, missing, b])
    assert info.value.details["missing"] == [missing]
    assert len(store.list_cases({}, T0)["sessions"]) == 2
    assert store.delete_cases([a, b, a]) == 2
    assert store.list_cases({"state": "open,closed"}, T0)["sessions"] == []


def test_modules_route_cases_and_revocation(store: Store) -> None:
    module = store.create_module({"name": "ACME", "groupid": "acme"}, 1, T0)
    case, _, _ = sos(store, module_id=module["module_id"])
    assert store.get_case(case["code"], T0)["groupname"] == "acme"
    assert store.get_case(case["code"], T0)["groupid"] == module["groupid"] == "g2"
    store.revoke_module(module["module_id"], T0 + 1)
    with pytest.raises(Forbidden) as info:
        sos(store, device_id="device-other-0000000000", module_id=module["module_id"])
    assert info.value.code == "module_revoked"
    with pytest.raises(NotFound):
        sos(store, module_id="mnope")


def test_customer_tokens_are_bound_to_case_and_device(store: Store) -> None:
    _, token_a, _ = sos(store, device_id="device-a-00000000000000")
    _, token_b, _ = sos(store, device_id="device-b-00000000000000")
    assert store.customer_case_id(token_a) != store.customer_case_id(token_b)
    case_b, mac_a = store.customer_case_id(token_b), token_a.split(".")[1]
    for forged in (f"{case_b}.{mac_a}", "1.xyz", "", "abc", token_a + "0"):
        with pytest.raises(Unauthorized):
            store.customer_case_id(forged)


def test_device_id_is_stored_hashed(store: Store) -> None:
    sos(store)
    dump = "\n".join(store._db.iterdump())
    assert DEVICE not in dump


def test_passwords_and_tokens_are_stored_hashed(store: Store) -> None:
    _, token = store.add_expert("carla", "password-carla", T0)
    dump = "\n".join(store._db.iterdump())
    assert "password-carla" not in dump and token not in dump
    assert store.check_password("carla", "password-carla")["name"] == "carla"
    assert store.check_password("carla", "wrong-password") is None
    assert store.check_password("nobody", "password-carla") is None
    assert store.expert_by_token(token)["name"] == "carla"
    assert auth.token_hash(token) in dump


def test_web_sessions_expire(store: Store) -> None:
    cookie, csrf = store.create_web_session(1, T0, ttl=100)
    assert store.expert_by_session(cookie, T0 + 99) == ({"id": 1, "name": "anna"}, csrf)
    assert store.expert_by_session(cookie, T0 + 100) is None
    store.end_web_session(cookie)
    assert store.expert_by_session(cookie, T0 + 1) is None


def test_codes_are_unique_among_open_cases(store: Store, monkeypatch) -> None:
    codes = iter(["11111111", "11111111", "22222222"])
    monkeypatch.setattr(core, "new_code", lambda: next(codes))
    first = store.create_case({}, 1, T0)
    second = store.create_case({}, 1, T0)
    assert (first["code"], second["code"]) == ("s11-111-111", "s22-222-222")


def test_an_expired_code_can_be_reused(store: Store, monkeypatch) -> None:
    codes = iter(["11111111", "11111111"])
    monkeypatch.setattr(core, "new_code", lambda: next(codes))
    store.create_case({}, 1, T0)
    again = store.create_case({}, 1, T0 + DAY)  # the first one is due: expired on the way
    assert again["code"] == "s11-111-111" and again["status"] == "new"
    assert store.get_case("s11-111-111", T0 + DAY)["created_at"] == core.iso(T0 + DAY)


def test_a_device_with_an_sos_case_can_join_an_expert_case_too(store: Store) -> None:
    mine, _, _ = sos(store)
    expert_case = store.create_case({}, 1, T0)
    joined, token = store.join({"code": expert_case["code"], "device_id": DEVICE}, T0 + 1)
    assert joined["code"] == expert_case["code"] and joined["can_close"] is False
    again, _, created = sos(store, now=T0 + 2)  # SOS still finds the device's own request
    assert again["code"] == mine["code"] and not created


def test_a_long_poll_on_a_finished_case_answers_at_once(store: Store) -> None:
    _, token, _ = sos(store)
    case_id = store.customer_case_id(token)
    store.customer_close(case_id, T0 + 1)
    ticks = []

    def clock() -> float:
        ticks.append(1)
        return float(T0 + 2)

    view = store.wait_customer_case(case_id, since=10**9, timeout=30, clock=clock)
    assert view["status"] == "closed"
    assert len(ticks) <= 2  # one look, no waiting loop (it used to spin at 100 Hz)


def test_a_constraint_violation_is_a_client_error_never_a_sqlite_error(store: Store) -> None:
    """A reference that vanished between check and write (an expert removed while
    logging in) ends as a 409 ServerError, not as sqlite3.IntegrityError (a 500)."""
    ben = store.check_password("ben", "password-ben")
    store.remove_expert("ben")
    with pytest.raises(Conflict) as info:
        store.create_web_session(ben["id"], T0, 3600)
    assert info.value.code == "invalid_reference"
    with pytest.raises(Conflict) as info:
        store.create_module({"name": "ACME"}, ben["id"], T0)
    assert info.value.code == "invalid_reference"
    assert store.list_modules() == []  # nothing half-written

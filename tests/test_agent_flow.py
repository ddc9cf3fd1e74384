"""The case flow's logic with a scripted fake client (no network, no sleeping)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from sosdesk.agent.client import Ticket
from sosdesk.agent.errors import (CaseGone, CertificateRefused, ModuleRevoked, RateLimited, RequestFailed,
                          ServerError, ServerUnreachable)
from sosdesk.agent.flow import MIN_DELAY, CaseFlow, backoff_delay
from sosdesk.agent.keystore import CASE_TOKEN, DEVICE_ID, Secrets
from agent_helpers import FakeClient, MemoryStore, Recorder, customer_case


class NoWaiting(threading.Event):
    """A stop event whose waits return at once and are recorded: the flow's pauses."""

    def __init__(self) -> None:
        super().__init__()
        self.pauses: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.pauses.append(timeout)  # type: ignore[arg-type]
        return self.is_set()


def make_flow(tmp_path: Path, client: FakeClient, store: MemoryStore | None = None, **options):
    store = store or MemoryStore()
    recorder = Recorder()
    flow = CaseFlow(lambda: client, Secrets(store, tmp_path / "lock"), {"hostname": "pc"}, recorder,
                    stop=NoWaiting(), **options)
    return flow, recorder, store


def test_backoff_doubles_from_half_a_second_and_is_capped() -> None:
    assert [backoff_delay(n) for n in range(7)] == [0.5, 1, 2, 4, 8, 10, 10]
    assert backoff_delay(10_000) == 10


def test_sos_then_start_then_follow_to_closed(tmp_path: Path) -> None:
    client = FakeClient(
        sos=[Ticket(customer_case(), "tok", True)],
        start=[customer_case(status="pending", version=2)],
        case=[customer_case(status="pending", version=2),
              customer_case(status="in_progress", version=3, expert_name="anna"),
              customer_case(status="closed", version=4)])
    flow, recorder, store = make_flow(tmp_path, client)
    flow.request_support()
    assert store.data[CASE_TOKEN] == "tok" and len(store.data[DEVICE_ID]) >= 16
    assert flow.follow() == "closed"
    assert recorder.events == [("case", "new", None), ("case", "pending", None),
                               ("case", "in_progress", "anna"), ("case", "closed", None)]
    assert [c[2:] for c in client.calls if c[0] == "case"] == [(-1, 30), (2, 30), (3, 30)]
    assert CASE_TOKEN not in store.data  # the case is over: the next SOS asks anew


def test_stored_open_case_is_reused_without_sos(tmp_path: Path) -> None:
    store = MemoryStore()
    store.data[CASE_TOKEN] = "old"
    client = FakeClient(case=[customer_case(status="pending")], start=[customer_case(status="pending")])
    flow, _, _ = make_flow(tmp_path, client, store)
    flow.request_support()
    assert [c[0] for c in client.calls] == ["case", "start"] and flow.token == "old"


@pytest.mark.parametrize("stored_answer", [CaseGone(401, "invalid_case_token", "x"),
                                           customer_case(status="closed")])
def test_gone_or_closed_stored_case_means_a_new_sos(tmp_path: Path, stored_answer) -> None:
    store = MemoryStore()
    store.data[CASE_TOKEN] = "old"
    client = FakeClient(case=[stored_answer], sos=[Ticket(customer_case(), "new", True)],
                        start=[customer_case(status="pending")])
    flow, _, _ = make_flow(tmp_path, client, store)
    flow.request_support()
    assert store.data[CASE_TOKEN] == "new"


def test_unreachable_server_is_retried_with_one_notice_and_recovery(tmp_path: Path) -> None:
    down = ServerUnreachable("down")
    client = FakeClient(sos=[down, down, ServerError(503, "storage_unavailable", "busy"),
                             Ticket(customer_case(), "tok", True)],
                        start=[customer_case(status="pending")])
    flow, recorder, _ = make_flow(tmp_path, client)
    flow.request_support()
    notices = [e for e in recorder.events if e[0] == "notice"]
    assert notices == [("notice", "unreachable"), ("notice", "reconnected")]
    assert len({c[1] for c in client.calls if c[0] == "sos"}) == 1  # always the same device id
    assert flow.stop.pauses == [0.5, 1, 2]  # one owner of the back-off: the flow


@pytest.mark.parametrize("error", [ServerError(408, "request_timeout", ""),
                                   ServerError(200, "invalid_response", "not JSON")])
def test_a_timed_out_request_or_a_page_not_json_is_retried(tmp_path: Path, error) -> None:
    client = FakeClient(sos=[error, Ticket(customer_case(), "tok", True)], start=[customer_case()])
    flow, _, _ = make_flow(tmp_path, client)
    flow.request_support()
    assert [c[0] for c in client.calls] == ["sos", "sos", "start"]


@pytest.mark.parametrize("error", [
    CertificateRefused("the support server's certificate was refused: self-signed certificate"),
    RequestFailed("cannot talk to the support server: redirect loop"),
    ServerError(400, "invalid_input", "bad device"),
    ServerError(413, "too_large", "too large"),
])
def test_what_retrying_cannot_heal_ends_the_flow_at_once(tmp_path: Path, error) -> None:
    client = FakeClient(sos=[error, Ticket(customer_case(), "tok", True)])
    flow, recorder, _ = make_flow(tmp_path, client)
    with pytest.raises(type(error)) as caught:
        flow.request_support()
    assert caught.value is error and len(client.calls) == 1
    assert flow.stop.pauses == [] and recorder.events == []  # no "retrying" notice either


def test_the_back_off_never_goes_below_half_a_second(tmp_path: Path) -> None:
    down = ServerUnreachable("down")
    client = FakeClient(sos=[down, down, RateLimited(429, "too_many_requests", "", 0.0),
                             Ticket(customer_case(), "t", True)],
                        start=[customer_case()],
                        case=[customer_case()] * 4 + [customer_case(status="closed", version=2)])
    flow, _, _ = make_flow(tmp_path, client, backoff=lambda attempt: 0)
    flow.request_support()
    flow.follow()  # three unchanged instant answers: the "answered too fast" back-off
    assert flow.stop.pauses == [MIN_DELAY] * 6


def test_recovery_during_follow_asks_without_waiting(tmp_path: Path) -> None:
    client = FakeClient(sos=[Ticket(customer_case(), "tok", True)], start=[customer_case(version=1)],
                        case=[ServerUnreachable("down"), customer_case(version=1),
                              customer_case(status="expired", version=2)])
    flow, _, _ = make_flow(tmp_path, client)
    flow.request_support()
    assert flow.follow() == "expired"
    assert [c[3] for c in client.calls if c[0] == "case"] == [30, 0, 30]


def test_rate_limit_waits_and_retries(tmp_path: Path) -> None:
    client = FakeClient(sos=[RateLimited(429, "too_many_requests", "", 0.01),
                             Ticket(customer_case(), "t", True)], start=[customer_case()])
    flow, recorder, _ = make_flow(tmp_path, client)
    flow.request_support()
    assert ("notice", "rate_limited") in recorder.events


def test_revoked_module_is_not_retried(tmp_path: Path) -> None:
    client = FakeClient(sos=[ModuleRevoked(403, "module_revoked", "revoked")])
    flow, _, _ = make_flow(tmp_path, client)
    with pytest.raises(ModuleRevoked):
        flow.request_support()
    assert len(client.calls) == 1


def test_deleted_case_while_following_is_gone(tmp_path: Path) -> None:
    client = FakeClient(join=[Ticket(customer_case(can_close=False), "tok")], start=[customer_case()],
                        case=[CaseGone(401, "invalid_case_token", "")])
    flow, recorder, store = make_flow(tmp_path, client)
    flow.join("s12-345-678")
    assert flow.follow() == "gone" and recorder.events[-1] == ("notice", "gone")
    assert CASE_TOKEN not in store.data


def test_start_on_a_case_closed_meanwhile_follows_to_its_end(tmp_path: Path) -> None:
    client = FakeClient(sos=[Ticket(customer_case(), "t", True)],
                        start=[ServerError(409, "case_closed", "closed")],
                        case=[customer_case(status="closed", version=3)] * 2)
    flow, _, _ = make_flow(tmp_path, client)
    flow.request_support()
    assert flow.follow() == "closed"


def test_unchanged_instant_answers_back_off_instead_of_spinning(tmp_path: Path) -> None:
    client = FakeClient(sos=[Ticket(customer_case(), "t", True)], start=[customer_case()],
                        case=[customer_case()] * 4 + [customer_case(status="closed", version=2)])
    flow, _, _ = make_flow(tmp_path, client)
    flow.request_support()
    flow.follow()
    assert flow.stop.pauses == [0.5, 1, 2]

"""The API under concurrent callers and long polls, against a real server: one winner
when experts press Connect at once, one case for many SOS clicks, distinct codes, and
waits that answer on a change or on expiry."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from api_helpers import assert_error
from conftest import LiveServer


def test_two_experts_press_connect_at_once(live_server: LiveServer) -> None:
    tokens = [live_server.token] + [live_server.add_expert(f"expert{n}") for n in range(7)]
    for _ in range(3):
        code = live_server.api("POST", "/api/v1/sessions", json={}).json()["code"]
        barrier = threading.Barrier(len(tokens))

        def press(token: str) -> int:
            barrier.wait()
            return live_server.api("POST", f"/api/v1/sessions/{code}/connect", token=token).status_code

        with ThreadPoolExecutor(len(tokens)) as pool:
            statuses = sorted(pool.map(press, tokens))
        assert statuses == [200] + [409] * (len(tokens) - 1)
        history = live_server.api("GET", f"/api/v1/sessions/{code}/history").json()["events"]
        assert [e["event"] for e in history] == ["create", "start", "session_requested"]


def test_twenty_sos_clicks_from_one_device_make_one_case(live_server: LiveServer) -> None:
    barrier = threading.Barrier(20)

    def click(_: int) -> tuple[int, str, str]:
        barrier.wait()
        response = live_server.api("POST", "/api/v1/customer/sos", token=None,
                                   json={"device_id": "device-twenty-clicks-00"})
        body = response.json()
        return response.status_code, body["case"]["code"], body["token"]

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(click, range(20)))
    assert sorted(r[0] for r in results) == [200] * 19 + [201]
    assert len({r[1] for r in results}) == 1 and len({r[2] for r in results}) == 1
    assert len(live_server.api("GET", "/api/v1/sessions").json()["sessions"]) == 1


def test_concurrent_sos_from_many_devices_get_distinct_codes(live_server: LiveServer) -> None:
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda n: live_server.sos(f"device-many-{n:010d}")["case"]["code"],
                              range(64)))
    assert len(set(codes)) == 64


def test_long_poll_answers_on_change(live_server: LiveServer) -> None:
    made = live_server.sos()
    version = made["case"]["version"]
    results: dict = {}

    def wait() -> None:
        results["case"] = live_server.api(
            "GET", f"/api/v1/customer/case?since={version}&wait=30", token=made["token"]).json()

    def wait_changes() -> None:
        results["changes"] = live_server.api("GET", f"/api/v1/changes?since={version}&wait=30").json()

    waiters = [threading.Thread(target=wait), threading.Thread(target=wait_changes)]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.3)
    assert "case" not in results  # still waiting
    live_server.api("POST", f"/api/v1/sessions/{made['case']['code']}/connect")
    for waiter in waiters:
        waiter.join(10)
    assert results["case"]["status"] == "pending" and results["case"]["expert_name"] == "anna"
    assert results["changes"]["version"] > version
    quick = live_server.api("GET", f"/api/v1/customer/case?since={version}&wait=30",
                            token=made["token"])
    assert quick.json()["status"] == "pending"  # already newer: no waiting
    assert_error(live_server.api("GET", "/api/v1/customer/case?wait=31", token=made["token"]), 400)


def test_long_poll_reports_expiry(live_server: LiveServer) -> None:
    assert live_server.store is not None
    now = int(time.time())
    code = live_server.api("POST", "/api/v1/sessions", json={}).json()["code"]
    joined = live_server.api("POST", "/api/v1/customer/join", token=None,
                             json={"code": code, "device_id": "device-expiry-000000"}).json()
    live_server.api("PUT", f"/api/v1/sessions/{code}",
                    json={"valid_until": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 2))})
    since = live_server.api("GET", "/api/v1/customer/case", token=joined["token"]).json()["version"]
    answer = live_server.api("GET", f"/api/v1/customer/case?since={since}&wait=20",
                             token=joined["token"]).json()
    assert answer["status"] == "expired"

"""The remote session over HTTP on a loopback port: a fake agent (Python, Pillow
pictures) and a fake viewer drive the real server through docs/remote-session.md."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests
from PIL import Image

from conftest import LiveServer, in_process
from session_helpers import FakeAgent, FakeViewer, frame_body, jpeg, png, tiles_of
from sosdesk.server_stub.store import Store

W, H = 256, 128


def picture(color: tuple[int, int, int] = (200, 30, 30)) -> Image.Image:
    image = Image.new("RGB", (W, H), color)
    image.paste((20, 160, 40), (W // 2, 0, W, H // 2))
    return image


@contextlib.contextmanager
def started(server: LiveServer, answer=None) -> Iterator[tuple[FakeAgent, FakeViewer, str]]:
    """An SOS case, its fake agent polling its inbox, the expert connected and viewing."""
    made = server.sos(device={"hostname": "PC-7", "os": "Linux", "user": "bob"})
    code = made["case"]["code"]
    agent = FakeAgent(server.url, made["token"], answer).start()
    try:
        assert server.api("POST", "/api/v1/customer/case/start", token=made["token"]).ok
        connected = server.api("POST", f"/api/v1/sessions/{code}/connect")
        assert connected.status_code == 200, connected.text
        yield agent, FakeViewer(server.url, server.token, code), code
    finally:
        agent.stop()


def status(server: LiveServer, code: str) -> str:
    return server.api("GET", f"/api/v1/sessions/{code}").json()["status"]


def history(server: LiveServer, code: str) -> list[dict]:
    return server.api("GET", f"/api/v1/sessions/{code}/history").json()["events"]


def test_consent_gates_frames_and_input_and_the_status(live_server: LiveServer) -> None:
    with started(live_server) as (agent, viewer, code):
        request = agent.expect("view_request")
        assert request["expert"] == "anna"
        refused = agent.share(picture())
        assert refused.status_code == 409 and refused.json()["error"] == "no_consent"
        viewer.poll()
        assert status(live_server, code) == "pending"  # connected and polling, but no consent

        assert agent.consent("view", True).status_code == 200
        assert status(live_server, code) == "in_progress"  # allowed + the viewer attached
        shared = agent.share(picture(), cursor=[10, 20])
        assert shared.status_code == 200, shared.text
        header, tiles = viewer.poll()
        assert header["full"] and (header["width"], header["height"]) == (W, H)
        assert header["cursor"] == [10, 20] and len(tiles) == len(tiles_of(picture()))
        assert {e["type"] for e in viewer.events} >= {"session_requested", "session_allowed"}

        event = {"t": "down", "b": "left", "x": 5, "y": 6}
        refused = viewer.call("POST", "/remote/input", json={"events": [event]})
        assert refused.status_code == 409 and refused.json()["error"] == "no_control"
        assert viewer.call("POST", "/remote/control", json={"request": True}).ok
        agent.expect("control_request")
        refused = viewer.call("POST", "/remote/input", json={"events": [event]})
        assert refused.status_code == 409  # asked is not allowed
        assert agent.consent("control", True).ok
        typed = [event, {"t": "up", "b": "left", "x": 5, "y": 6},
                 {"t": "key", "code": "KeyA", "key": "A", "down": True, "mods": ["Shift"]},
                 {"t": "wheel", "dx": 0, "dy": 3}, {"t": "text", "text": "grüße"}]
        assert viewer.call("POST", "/remote/input", json={"events": typed}).json() == {"queued": 5}
        assert agent.expect("input")["events"] == typed

        # Control given back: input is refused again; Stop ends viewing and frames.
        assert viewer.call("POST", "/remote/control", json={"request": False}).ok
        agent.expect("control_released")
        assert viewer.call("POST", "/remote/input", json={"events": [event]}).status_code == 409
        assert agent.call("POST", "/session/stop").ok
        assert agent.share(picture()).status_code == 409
        stopped = viewer.poll_until(lambda h: h["session"]["view"] == "none")
        assert stopped["width"] == W  # the size stays known, but no tile is left
        assert status(live_server, code) == "in_progress"  # statuses never go back
        assert live_server.app.relays.find(_case_id(live_server, code)).screen.tiles == {}


def _case_id(server: LiveServer, code: str) -> int:
    return server.store.case_id_for_code(code, int(time.time()))


def test_a_declined_request_leaves_the_case_pending_and_is_recorded(live_server: LiveServer) -> None:
    with started(live_server, answer=lambda m: {"what": "view", "allow": False}
                 if m["type"] == "view_request" else None) as (agent, viewer, code):
        header = viewer.poll_until(lambda h: h["session"]["view"] == "denied")
        assert any(e["type"] == "session_denied" for e in header["events"] + viewer.events)
        assert status(live_server, code) == "pending"
        case = live_server.api("GET", f"/api/v1/sessions/{code}").json()
        assert case["remote"]["view"] == "denied" and case["online"] is True
        # Asking again (Connect again) is a new request the customer may allow.
        agent.answer = lambda m: {"what": "view", "allow": True} if m["type"] == "view_request" else None
        assert live_server.api("POST", f"/api/v1/sessions/{code}/connect").ok
        viewer.poll_until(lambda h: h["session"]["view"] == "allowed")
        assert status(live_server, code) == "in_progress"
    events = [(e["event"], e["actor"], e["from"], e["to"], e["detail"]) for e in history(live_server, code)]
    assert events[3:] == [
        ("session_requested", "expert:1", "pending", "pending", {"expert": "anna"}),
        ("session_denied", "customer", "pending", "pending", {"by": "customer"}),
        ("session_requested", "expert:1", "pending", "pending", {"expert": "anna"}),
        ("session_allowed", "customer", "pending", "pending", {"by": "customer"}),
        ("session_established", events[-1][1], "pending", "in_progress", None),
    ]
    # Established by whichever request saw both first: the customer's Allow, or the viewer's
    # poll arriving between the Allow's change of the relay and its own check.
    assert events[-1][1] in ("customer", "expert:1")


def test_every_step_is_in_the_history_with_who(live_server: LiveServer) -> None:
    with started(live_server) as (agent, viewer, code):
        agent.expect("view_request")
        viewer.poll()
        agent.consent("view", True)
        viewer.call("POST", "/remote/control", json={"request": True})
        agent.expect("control_request")
        agent.consent("control", False)
        viewer.call("POST", "/remote/control", json={"request": True})
        agent.expect("control_request")
        agent.consent("control", True)
        agent.consent("control", False)  # the customer takes control back
        viewer.call("POST", "/remote/control", json={"request": True})
        agent.consent("control", True)
        viewer.call("POST", "/remote/control", json={"request": False})
        assert viewer.call("POST", "/remote/disconnect").ok
        agent.expect("disconnect")
    rows = history(live_server, code)
    assert [(e["event"], e["actor"]) for e in rows[3:]] == [
        ("session_requested", "expert:1"), ("session_allowed", "customer"),
        ("session_established", "customer"), ("control_requested", "expert:1"),
        ("control_denied", "customer"), ("control_requested", "expert:1"),
        ("control_allowed", "customer"), ("control_stopped", "customer"),
        ("control_requested", "expert:1"), ("control_allowed", "customer"),
        ("control_released", "expert:1"), ("session_stopped", "expert:1")]
    assert rows[-1]["detail"] == {"by": "expert"} and rows[-1]["actor_name"] == "anna"
    assert all(e["at"] for e in rows)


def test_chat_both_ways_before_and_during_the_session(live_server: LiveServer) -> None:
    made = live_server.sos(device={"hostname": "PC-7", "os": "Linux", "user": "bob"})
    code, token = made["case"]["code"], made["token"]
    agent = FakeAgent(live_server.url, token).start()
    try:
        # Pre-chat: nobody connected yet; any expert may write to an unassigned case.
        said = agent.call("POST", "/chat", json={"text": "My printer <b>prints</b> blank pages"})
        assert said.status_code == 201, said.text
        assert said.json()["message"]["from"] == "customer" and said.json()["message"]["name"] == "bob"
        read = live_server.api("GET", f"/api/v1/sessions/{code}/chat").json()["messages"]
        assert [(m["from"], m["text"]) for m in read] == [("customer", "My printer <b>prints</b> blank pages")]
        answer = live_server.api("POST", f"/api/v1/sessions/{code}/chat", json={"text": "I'll look now"})
        assert answer.status_code == 201
        message = agent.expect("chat")["message"]
        assert (message["from"], message["name"], message["text"]) == ("expert", "anna", "I'll look now")
        assert [m["text"] for m in agent.call("GET", "/chat", params={"since": read[0]["id"]}).json()
                ["messages"]] == ["I'll look now"]

        # During the session the viewer gets the customer's messages as events.
        live_server.api("POST", f"/api/v1/sessions/{code}/connect")
        viewer = FakeViewer(live_server.url, live_server.token, code)
        viewer.poll()
        agent.call("POST", "/chat", json={"text": "thanks!"})
        header = viewer.poll_until(lambda h: any(e["type"] == "chat" for e in h["events"]))
        assert [e["message"]["text"] for e in header["events"] if e["type"] == "chat"] == ["thanks!"]

        for bad in ({"text": ""}, {"text": "   "}, {"text": "x" * 2001}, {"text": 5}, {"txt": "a"}):
            assert agent.call("POST", "/chat", json=bad).status_code == 400, bad
    finally:
        agent.stop()
    chats = [(e["actor"], e["detail"]["text"]) for e in history(live_server, code) if e["event"] == "chat"]
    assert chats == [("customer", "My printer <b>prints</b> blank pages"),
                     ("expert:1", "I'll look now"), ("customer", "thanks!")]


def test_only_the_assignee_uses_the_session(live_server: LiveServer) -> None:
    ben = live_server.add_expert("ben")
    other = live_server.sos("device-other-0000000000")
    with started(live_server) as (agent, viewer, code):
        agent.expect("view_request")
        agent.consent("view", True)
        for method, path, body in (("GET", "/remote", None), ("POST", "/remote/control", {"request": True}),
                                   ("POST", "/remote/input", {"events": [{"t": "move", "x": 1, "y": 1}]}),
                                   ("POST", "/remote/refresh", None), ("POST", "/remote/disconnect", None),
                                   ("POST", "/remote/monitor", {"index": 0}), ("POST", "/chat", {"text": "hi"})):
            path = f"/api/v1/sessions/{code}{path}"
            refused = live_server.api(method, path, token=ben, json=body)
            assert refused.status_code == 403 and refused.json()["error"] == "not_your_session", path
            assert live_server.api(method, path, token=other["token"], json=body).status_code == 401
        # Ben may read the chat (the history is every expert's) and sees the session is anna's.
        assert live_server.api("GET", f"/api/v1/sessions/{code}/chat", token=ben).status_code == 200
        # Another case's customer reaches only its own (empty) session.
        mine = requests.get(f"{live_server.url}/api/v1/customer/session/inbox",
                            headers={"Authorization": f"Bearer {other['token']}"}, timeout=10).json()
        assert mine["messages"] == [] and mine["session"]["view"] == "none"
        # Not connected yet: Connect first.
        unconnected = live_server.api("POST", "/api/v1/sessions", json={}).json()["code"]
        refused = live_server.api("GET", f"/api/v1/sessions/{unconnected}/remote")
        assert refused.status_code == 409 and refused.json()["error"] == "not_connected"


def test_a_viewer_that_never_reads_keeps_one_screen_in_memory(live_server: LiveServer) -> None:
    with started(live_server) as (agent, viewer, code):
        agent.expect("view_request")
        viewer.poll()
        agent.consent("view", True)
        assert agent.share(picture()).ok
        relay = live_server.app.relays.find(_case_id(live_server, code))
        grid = len(tiles_of(picture()))
        noise = Image.effect_noise((64, 64), 80).convert("RGB")

        def upload_many(n: int) -> None:
            for i in range(6):
                x, y = 64 * ((n + i) % (W // 64)), 64 * (i % (H // 64))
                tile = (x, y, 64, 64, "jpeg", jpeg(noise.rotate(n * 7 + i)))
                assert agent.upload([tile], W, H).status_code == 200

        workers = [threading.Thread(target=upload_many, args=(n,)) for n in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert len(relay.screen.tiles) <= grid  # one per place, never a queue
        assert relay.screen.size <= sum(len(t[5]) for t in tiles_of(picture())) + grid * 64 * 64 * 3
        assert len(relay.inbox) < 10 and len(relay.events) < 20
        header, tiles = viewer.poll()
        assert len(tiles) <= grid


def test_flow_control_holds_an_upload_until_the_viewer_took_the_one_before(live_server: LiveServer) -> None:
    with started(live_server) as (agent, viewer, code):
        agent.expect("view_request")
        viewer.poll()
        agent.consent("view", True)
        assert agent.share(picture()).json()["ack"] == 1  # nothing before it: answered at once
        answers: list[requests.Response] = []
        second = threading.Thread(target=lambda: answers.append(agent.share(picture((0, 0, 200)))))
        second.start()
        second.join(0.3)
        assert not answers  # held: the viewer has not fetched frame 1
        viewer.poll()
        second.join(10)
        assert answers and answers[0].json()["ack"] == 2 and answers[0].json()["viewer_seq"] >= 1
        # A viewer that never comes: the hold ends after a second, the frame is still kept.
        third = agent.share(picture((0, 200, 0)))
        assert third.status_code == 200 and third.json()["ack"] == 3


def test_closing_the_case_ends_the_session_for_both_sides(live_server: LiveServer) -> None:
    with started(live_server) as (agent, viewer, code):
        agent.expect("view_request")
        viewer.poll()
        agent.consent("view", True)
        agent.share(picture())
        viewer.poll()
        case_id = _case_id(live_server, code)
        answers: list = []
        waiting = threading.Thread(target=lambda: answers.append(viewer.poll(wait=20)))
        waiting.start()
        time.sleep(0.3)
        closed = live_server.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"})
        assert closed.status_code == 204
        waiting.join(10)
        assert answers, "the viewer's long-poll answered when the case closed"
        header, _ = answers[0]
        assert header["session"]["ended"] and any(e["type"] == "ended" for e in header["events"])
        assert agent.expect("disconnect")["reason"] == "case_closed"
        assert live_server.app.relays.find(case_id) is None
        after = viewer.call("GET", "/remote")
        assert after.status_code == 409 and after.json()["error"] == "case_closed"
        assert agent.share(picture()).status_code == 409


def test_a_frame_may_be_large_but_json_stays_small(live_server: LiveServer) -> None:
    with started(live_server) as (agent, viewer, code):
        agent.expect("view_request")
        agent.consent("view", True)
        noise = Image.effect_noise((1024, 768), 120).convert("RGB")
        big = agent.upload([(0, 0, 1024, 768, "png", png(noise))], 1024, 768, full=True)
        assert big.status_code == 200, big.text  # ~1 MiB: past the 64 KiB of JSON routes
        too_big = agent.call("POST", "/session/frame", data=b"\0" * (4 * 1024 * 1024 + 1))
        assert too_big.status_code == 413 and too_big.json()["error"] == "body_too_large"
        chat = agent.call("POST", "/chat", data=b"{" + b" " * (64 * 1024) + b"}")
        assert chat.status_code == 413
        bad = agent.call("POST", "/session/frame", data=frame_body(9, 10, 10, [(8, 8, 4, 4, "png", b"nope")]))
        assert bad.status_code == 400 and bad.json()["error"] == "invalid_frame"


def test_presence_is_online_while_the_agent_polls(tmp_path: Path) -> None:
    offset = [0.0]
    with in_process(tmp_path / "presence.db") as server:
        server.app.clock = lambda: time.time() + offset[0]
        made = server.sos()
        code = made["case"]["code"]
        case = server.api("GET", f"/api/v1/sessions/{code}").json()
        assert case["online"] is False and case["remote"] is None
        version = server.api("GET", "/api/v1/changes").json()["version"]
        agent = FakeAgent(server.url, made["token"]).start()
        try:
            deadline = time.monotonic() + 10
            while not server.api("GET", f"/api/v1/sessions/{code}").json()["online"]:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert server.api("GET", "/api/v1/changes", params={"since": version}).json()["version"] != version
        finally:
            agent.stop()
        offset[0] = 45.0  # past 40 s without a poll: the customer left
        version = server.api("GET", "/api/v1/changes").json()["version"]
        woke = server.api("GET", "/api/v1/changes", params={"since": version, "wait": 10}).json()
        assert woke["version"] != version  # the sweep told the console's feed
        assert server.api("GET", f"/api/v1/sessions/{code}").json()["online"] is False


def test_a_server_stop_ends_a_live_session_in_the_history(tmp_path: Path) -> None:
    with in_process(tmp_path / "stop.db") as server:
        with started(server) as (agent, viewer, code):
            agent.expect("view_request")
            viewer.poll()
            agent.consent("view", True)
    store = Store(str(tmp_path / "stop.db"))
    try:
        last = store.history(code, int(time.time()))[-1]
        assert (last["event"], last["actor"], last["detail"]) == ("session_stopped", "system", {"by": "server"})
    finally:
        store.close()


def test_reassigning_a_case_ends_the_session_the_customer_allowed(live_server: LiveServer) -> None:
    # The customer allowed anna to see the screen; the case goes to bernd: anna's view ends
    # at once, and bernd's Connect asks the customer again, naming him.
    bernd = live_server.add_expert("bernd")
    allow = lambda message: {"what": "view", "allow": True} if message["type"] == "view_request" else None  # noqa: E731
    with started(live_server, allow) as (agent, viewer, code):
        agent.expect("view_request")
        viewer.poll()
        assert agent.share(picture()).ok  # anna sees the screen
        moved = live_server.api("PUT", f"/api/v1/sessions/{code}", json={"assigned_userid": "u2"})
        assert moved.status_code == 204, moved.text  # TeamViewer's answer to a change
        moved = live_server.api("GET", f"/api/v1/sessions/{code}")
        assert moved.json()["assigned_name"] == "bernd"
        assert (moved.json()["remote"] or {}).get("view", "none") == "none"
        assert agent.expect("disconnect")
        refused = agent.share(picture())
        assert refused.status_code == 409 and refused.json()["error"] == "no_consent"
        stopped = [e for e in history(live_server, code) if e["event"] == "session_stopped"]
        assert [(e["actor"], e["detail"]) for e in stopped] == [("expert:1", {"by": "expert"})]
        again = live_server.api("POST", f"/api/v1/sessions/{code}/connect", token=bernd)
        assert again.status_code == 200, again.text
        assert agent.expect("view_request")["expert"] == "bernd"

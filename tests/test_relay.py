"""The remote session's memory, without HTTP or a clock: consent as a table, the
bounded picture, the bounded inboxes, presence, and the hub. Times are integers."""

from __future__ import annotations

import itertools
import threading

import pytest

from sosdesk.server_stub import consent
from sosdesk.server_stub.consent import ALLOWED, DENIED, NONE, REQUESTED, plan
from sosdesk.server_stub.errors import Conflict
from sosdesk.server_stub.framebuffer import MIN_SCREEN_BUDGET, FrameBuffer
from sosdesk.server_stub.relay import (AGENT_ONLINE_SECONDS, IDLE_DROP_SECONDS, INBOX_LIMIT,
                                       VIEWER_ATTACHED_SECONDS, CaseRelay, RelayHub)
from sosdesk.server_stub.session_wire import Frame, Tile, decode_frame, encode_frame, parse_frame

T0 = 1_700_000_000
JPEG = b"\xff\xd8\xff" + b"j" * 20
PNG = b"\x89PNG\r\n\x1a\n" + b"p" * 20


def tile(x: int, y: int, w: int = 64, h: int = 64, data: bytes = JPEG) -> Tile:
    return Tile(x, y, w, h, "jpeg" if data.startswith(b"\xff") else "png", data)


def frame(*tiles: Tile, seq: int = 1, full: bool = False, width: int = 256, height: int = 128,
          monitor: int = 0, cursor=(5, 6)) -> Frame:
    return Frame(seq, width, height, monitor, cursor, list(tiles), full)


def viewing(now: int = T0) -> CaseRelay:
    relay = CaseRelay(7, now)
    for action in ("request_view", "allow_view"):
        relay.apply(relay.plan(action), expert="anna")
    return relay


# -- consent: every state and action ----------------------------------------------------

# Written out independently of consent.plan: (view, control, action) -> (view, control, event).
LEGAL = {
    (NONE, NONE, "request_view"): (REQUESTED, NONE, "session_requested"),
    (DENIED, NONE, "request_view"): (REQUESTED, NONE, "session_requested"),
    (REQUESTED, NONE, "allow_view"): (ALLOWED, NONE, "session_allowed"),
    (REQUESTED, NONE, "deny_view"): (DENIED, NONE, "session_denied"),
    (REQUESTED, NONE, "stop"): (DENIED, NONE, "session_denied"),
    (REQUESTED, NONE, "disconnect"): (NONE, NONE, "session_stopped"),
    (ALLOWED, NONE, "request_control"): (ALLOWED, REQUESTED, "control_requested"),
    (ALLOWED, DENIED, "request_control"): (ALLOWED, REQUESTED, "control_requested"),
    (ALLOWED, REQUESTED, "allow_control"): (ALLOWED, ALLOWED, "control_allowed"),
    (ALLOWED, REQUESTED, "deny_control"): (ALLOWED, DENIED, "control_denied"),
    (ALLOWED, ALLOWED, "deny_control"): (ALLOWED, NONE, "control_stopped"),
    (ALLOWED, REQUESTED, "release_control"): (ALLOWED, NONE, "control_released"),
    (ALLOWED, ALLOWED, "release_control"): (ALLOWED, NONE, "control_released"),
}
for control_state in consent.STATES:
    for action in ("deny_view", "stop", "disconnect", "agent_gone", "server_stop"):
        LEGAL[(ALLOWED, control_state, action)] = (NONE, NONE, "session_stopped")
#: Refused with a 409 and this code.
REFUSED = {"allow_view": "no_request", "deny_view": "no_request", "request_control": "no_view",
           "allow_control": "no_request", "deny_control": "no_request"}


#: The states there are: control is asked for (or given) only while the screen is seen.
REACHABLE = [(view, control) for view, control in itertools.product(consent.STATES, consent.STATES)
             if control == NONE or view == ALLOWED]


def test_every_reachable_state_is_reached_and_no_other() -> None:
    seen, todo = {(NONE, NONE)}, [(NONE, NONE)]
    while todo:
        view, control = todo.pop()
        for action in consent.ACTIONS:
            try:
                change = plan(view, control, action)
            except Conflict:
                continue
            if (change.view, change.control) not in seen:
                seen.add((change.view, change.control))
                todo.append((change.view, change.control))
    assert sorted(seen) == sorted(REACHABLE)


@pytest.mark.parametrize("view,control,action",
                         [(v, c, a) for (v, c) in REACHABLE for a in consent.ACTIONS])
def test_every_consent_state_and_action(view: str, control: str, action: str) -> None:
    if (view, control, action) in LEGAL:
        new_view, new_control, event = LEGAL[(view, control, action)]
        assert plan(view, control, action) == consent.Change(action, event, new_view, new_control)
        return
    try:
        change = plan(view, control, action)
    except Conflict as exc:
        assert exc.code == REFUSED[action], (view, control, action, exc.code)
        return
    # Anything else changes nothing worth a history event.
    assert change.event is None, (view, control, action, change)
    assert change.view == view and change.control in (control, NONE)


# -- the picture ------------------------------------------------------------------------------

def test_newer_tiles_replace_older_ones_at_the_same_place() -> None:
    screen = FrameBuffer()
    assert screen.put(frame(tile(0, 0), tile(64, 0), full=True), 10)
    assert screen.put(frame(tile(0, 0, data=PNG)), 11)
    assert screen.put(frame(tile(64, 0, data=PNG), tile(128, 64)), 12)
    assert len(screen.tiles) == 3 and screen.size == 2 * len(PNG) + len(JPEG)
    everything, full = screen.since(0)
    assert full and [(t.x, t.y) for t in everything] == [(0, 0), (64, 0), (128, 64)]
    newer, full = screen.since(11)
    assert not full and [(t.x, t.y, t.data) for t in newer] == [(64, 0, PNG), (128, 64, JPEG)]
    assert screen.since(12) == ([], False)
    assert screen.since(13)[1] is True  # a version not of this picture: all of it


def test_a_full_frame_or_another_monitor_drops_every_tile() -> None:
    screen = FrameBuffer()
    screen.put(frame(tile(0, 0), tile(64, 0), full=True), 1)
    screen.put(frame(tile(0, 64)), 2)
    assert screen.put(frame(tile(0, 0, w=256, h=128), full=True), 3)
    assert list(screen.tiles) == [(0, 0, 256, 128)] and screen.since(2)[1] is True
    # Another monitor without a full frame: an incomplete picture, so ask for one.
    assert screen.put(frame(tile(0, 0), monitor=1), 4) is False
    assert list(screen.tiles) == [(0, 0, 64, 64)] and screen.monitor == 1


def test_the_picture_never_holds_more_than_one_screens_worth() -> None:
    screen = FrameBuffer()
    big = b"\xff\xd8\xff" + bytes(1024 * 1024)
    results = [screen.put(frame(tile(x, 0, w=1, h=1, data=big), width=64, height=64), v)
               for v, x in enumerate(range(64), start=1)]
    assert screen.size <= MIN_SCREEN_BUDGET
    assert False in results  # past the budget it was dropped and a full frame asked for


def test_a_slow_viewer_gets_the_newest_picture_not_a_queue() -> None:
    relay = viewing()
    for n in range(1000):
        relay.put_frame(frame(tile(0, 0, data=JPEG + str(n).encode()), seq=n), T0, 100)
    header, tiles = relay.fetch(0, 0, T0)
    assert len(relay.screen.tiles) == 1 and len(tiles) == 1
    assert tiles[0].data.endswith(b"999") and header["full"] is True


def test_flow_control_waits_for_the_viewer_and_reports_what_it_took() -> None:
    relay = viewing()
    first, _ = relay.put_frame(frame(tile(0, 0), seq=1, full=True), T0, 100)
    second, previous = relay.put_frame(frame(tile(0, 0, data=PNG), seq=2), T0, 100)
    assert previous == first
    relay.wait_fetched(previous, 0)  # not fetched: returns at the timeout
    assert relay.viewer_agent_seq() is None
    done = threading.Event()

    def upload_waits() -> None:
        relay.wait_fetched(previous, 30)
        done.set()

    waiter = threading.Thread(target=upload_waits)
    waiter.start()
    assert not done.wait(0.2)
    relay.fetch(0, 0, T0)
    assert done.wait(5)
    waiter.join()
    assert relay.viewer_agent_seq() == 2


def test_frames_are_refused_unless_viewing_is_allowed() -> None:
    relay = CaseRelay(7, T0)
    with pytest.raises(Conflict) as info:
        relay.put_frame(frame(tile(0, 0)), T0, 10)
    assert info.value.code == "no_consent"
    relay.apply(relay.plan("request_view"), expert="anna")
    with pytest.raises(Conflict):
        relay.put_frame(frame(tile(0, 0)), T0, 10)
    relay.apply(relay.plan("allow_view"))
    relay.put_frame(frame(tile(0, 0), full=True), T0, 10)
    relay.apply(relay.plan("stop"))
    assert relay.screen.tiles == {}  # the picture goes with the session
    with pytest.raises(Conflict):
        relay.put_frame(frame(tile(0, 0)), T0, 10)


# -- inboxes ------------------------------------------------------------------------------------

def test_the_agent_inbox_is_bounded_and_drops_old_input_first() -> None:
    relay = CaseRelay(7, T0)
    start, _ = relay.inbox_since(0)
    relay.send({"type": "chat", "message": {"text": "first"}})
    for n in range(INBOX_LIMIT + 50):
        relay.send({"type": "input", "events": [{"t": "move", "x": n, "y": 0}]})
    seq, kept = relay.inbox_since(start)
    assert len(kept) == INBOX_LIMIT and seq == start + INBOX_LIMIT + 51
    assert kept[0]["type"] == "chat"  # input went first
    assert kept[-1]["events"][0]["x"] == INBOX_LIMIT + 49
    assert relay.inbox_since(seq) == (seq, [])
    assert relay.inbox_since(seq - 1)[1] == kept[-1:]


def test_numbers_from_an_older_relay_get_everything_kept() -> None:
    old = CaseRelay(7, T0)
    old.send({"type": "refresh"})
    since, _ = old.inbox_since(0)
    new = CaseRelay(7, T0 + 60)  # e.g. after a restart
    new.send({"type": "view_request", "expert": "anna"})
    seq, messages = new.inbox_since(since)
    assert seq > since and [m["type"] for m in messages] == ["view_request"]
    assert new.inbox_since(seq + 1000)[1] == messages  # a number from the future too


def test_viewer_events_carry_consent_changes_and_chat() -> None:
    relay = viewing()
    relay.emit({"type": "chat", "message": {"id": 1, "text": "hi"}})
    header, _ = relay.fetch(0, 0, T0)
    assert [e["type"] for e in header["events"]] == ["session_requested", "session_allowed", "chat"]
    assert header["session"]["view"] == ALLOWED and header["session"]["expert"] == "anna"
    again, _ = relay.fetch(header["seq"], header["event_seq"], T0)
    assert again["events"] == [] and again["event_seq"] == header["event_seq"]


# -- presence and the hub ---------------------------------------------------------------------

def test_presence_follows_polls_and_times_out() -> None:
    relay = CaseRelay(7, T0)
    assert not relay.online(T0) and not relay.presence_changed(T0)
    relay.agent_poll(T0, started=True)
    assert relay.online(T0 + 1000)  # a poll in flight
    assert relay.presence_changed(T0) and not relay.presence_changed(T0)
    relay.agent_poll(T0 + 25, started=False)
    assert relay.online(T0 + 25 + AGENT_ONLINE_SECONDS)
    assert not relay.online(T0 + 26 + AGENT_ONLINE_SECONDS)
    assert relay.presence_changed(T0 + 26 + AGENT_ONLINE_SECONDS)
    relay.viewer_poll(T0, started=True)
    relay.viewer_poll(T0 + 5, started=False)
    assert relay.viewer_attached(T0 + 5 + VIEWER_ATTACHED_SECONDS)
    assert not relay.viewer_attached(T0 + 6 + VIEWER_ATTACHED_SECONDS)


def test_the_hub_sweeps_presence_gone_agents_and_idle_relays() -> None:
    hub = RelayHub()
    watched = hub.get(1, T0)
    for action in ("request_view", "allow_view"):
        watched.apply(watched.plan(action), expert="anna")
    watched.agent_poll(T0, started=True)
    watched.agent_poll(T0 + 1, started=False)
    quiet = hub.get(2, T0)
    quiet.agent_poll(T0, started=True)
    quiet.agent_poll(T0 + 1, started=False)
    assert hub.sweep(T0 + 2).changed == {1, 2}
    later = hub.sweep(T0 + 2 + AGENT_ONLINE_SECONDS)
    assert later.changed == {1, 2} and later.agent_gone == [1] and later.dropped == []
    idle = hub.sweep(T0 + 2 + IDLE_DROP_SECONDS)
    assert idle.dropped == [2] and hub.find(2) is None and hub.find(1) is watched
    assert hub.live(1, T0 + 2 + IDLE_DROP_SECONDS) == (
        False, {"view": ALLOWED, "control": NONE, "viewer_attached": False, "monitor": 0})
    assert hub.live(2, T0) == (False, None)


def test_dropping_a_relay_ends_it_and_wakes_its_waiters() -> None:
    hub = RelayHub()
    relay = hub.get(1, T0)
    for action in ("request_view", "allow_view"):
        relay.apply(relay.plan(action), expert="anna")
    relay.put_frame(frame(tile(0, 0), full=True), T0, 10)
    since, _ = relay.inbox_since(0)
    woke = threading.Event()
    waiter = threading.Thread(target=lambda: (relay.wait_inbox(since, 30), woke.set()))
    waiter.start()
    hub.drop(1, "case_closed")
    assert woke.wait(5)
    waiter.join()
    assert relay.inbox_since(since)[1][-1] == {"type": "disconnect", "reason": "case_closed",
                                               "seq": since + 1}
    assert relay.screen.tiles == {} and relay.session(T0)["ended"] is True
    with pytest.raises(Conflict):
        relay.plan("request_view")


# -- the FRAME format -------------------------------------------------------------------------

def test_a_frame_survives_encoding_and_parsing() -> None:
    tiles = [tile(0, 0), tile(64, 64, w=32, h=16, data=PNG)]
    body = encode_frame({"seq": 3, "width": 256, "height": 128, "monitor": 1, "cursor": [1, 2],
                         "full": True}, tiles)
    parsed = parse_frame(body)
    assert parsed == Frame(3, 256, 128, 1, (1, 2), tiles, True)
    header, again = decode_frame(body)
    assert again == tiles and header["tiles"][1] == [64, 64, 32, 16, len(PNG), "png"]


@pytest.mark.parametrize("body,why", [
    (b"", "shorter"),
    ((10**6).to_bytes(4, "big") + b"{}", "header length"),
    ((2).to_bytes(4, "big") + b"[]", "not a JSON object"),
    (encode_frame({"seq": -1, "width": 10, "height": 10}, []), "seq"),
    (encode_frame({"seq": 1, "width": 0, "height": 10}, []), "width"),
    (encode_frame({"seq": 1, "width": 64, "height": 64}, [tile(32, 32)]), "outside"),
    (encode_frame({"seq": 1, "width": 64, "height": 64}, [Tile(0, 0, 8, 8, "jpeg", PNG)]), "no jpeg"),
    (encode_frame({"seq": 1, "width": 64, "height": 64}, [tile(0, 0)]) + b"x", "no tile names"),
    (encode_frame({"seq": 1, "width": 64, "height": 64}, [tile(0, 0)])[:-1], "missing"),
])
def test_bad_frames_are_refused_saying_why(body: bytes, why: str) -> None:
    with pytest.raises(Exception) as info:
        parse_frame(body)
    assert getattr(info.value, "code", None) == "invalid_frame" and why in info.value.message

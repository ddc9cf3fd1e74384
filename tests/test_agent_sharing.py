"""The sharer (agent.sharing) with a scripted screen and client: what it captures and sends,
when it stops, and how it paces its captures."""

from __future__ import annotations

import pytest

from sosdesk.agent.errors import ServerError, ServerUnreachable
from sosdesk.agent.screen import CaptureFailed, Monitor, Shot
from sosdesk.agent.sharing import Sharer
from session_fakes import TOKEN, SessionClient


class Screen:
    def __init__(self) -> None:
        self.grabs = 0
        self.fail: BaseException | None = None
        self.color = 0

    def monitors(self) -> list[Monitor]:
        return [Monitor(0, 0, 0, 128, 64), Monitor(1, 128, 0, 64, 64)]

    def grab(self, monitor: Monitor) -> Shot:
        if self.fail:
            raise self.fail
        self.grabs += 1
        return Shot(monitor.width, monitor.height, bytearray([self.color, 0, 0, 255]) * (monitor.width * monitor.height))

    def close(self) -> None:
        pass


def make_sharer(client: SessionClient, screen: Screen, current: list[bool], failures: list):
    sharer = Sharer(lambda: client, TOKEN, lambda: screen, 0, lambda s: current[0],
                    lambda s, reason: failures.append(reason), clock=lambda: 0.0,
                    pointer_factory=lambda: (lambda: (130, 5)))
    return sharer


def test_the_sharer_announces_the_screen_then_sends_only_changes() -> None:
    client, screen, current, failures = SessionClient(), Screen(), [True], []
    sharer = make_sharer(client, screen, current, failures)
    sharer.open()
    assert client.named("screen_info")[0][1] == {"monitors": [m.as_json() for m in screen.monitors()],
                                                 "monitor": 0, "wayland": False}
    assert sharer.step() is True
    [(_, header)] = client.named("frame")
    assert header["full"] and header["seq"] == 1 and header["cursor"] is None  # pointer on monitor 1
    assert sharer.step() is False
    sharer.switch(1)
    assert sharer.step() is True
    header = client.named("frame")[-1][1]
    assert header["monitor"] == 1 and header["cursor"] == [2, 5] and header["full"]
    sharer.refresh()
    assert sharer.step() is True and client.named("frame")[-1][1]["full"]


def test_the_sharer_captures_nothing_once_not_current() -> None:
    client, screen, current, failures = SessionClient(), Screen(), [True], []
    sharer = make_sharer(client, screen, current, failures)
    sharer.open()
    current[0] = False
    assert sharer.step() is False and screen.grabs == 0
    sharer.run()  # returns at once
    assert client.named("frame") == []


@pytest.mark.parametrize("error, reason", [
    (ServerError(409, "no_consent", "no"), "ended"),
    (ServerUnreachable("down"), "lost"),
    (CaptureFailed("display gone"), "capture_failed"),
])
def test_the_sharer_stops_on_failure_and_says_why(error, reason) -> None:
    client, screen, current, failures = SessionClient(), Screen(), [True], []
    if isinstance(error, CaptureFailed):
        screen.fail = error
    else:
        client.fail["frame"] = error
    make_sharer(client, screen, current, failures).run()
    assert failures == [reason]


def test_the_sharer_counts_its_interval_from_the_start_of_each_capture() -> None:
    """A screen that keeps changing is captured every ACTIVE_INTERVAL: the time capturing,
    encoding and uploading took is part of the interval, not added to it."""
    from sosdesk.agent.sharing import ACTIVE_INTERVAL

    now, waits = [0.0], []
    screen = Screen()

    class SlowUploads(SessionClient):
        def upload_frame(self, token: str, frame: bytes) -> dict:
            now[0] += 0.02  # the upload's round trip, the viewer's fetch included
            screen.color += 1  # and the screen changed meanwhile
            return super().upload_frame(token, frame)

    class Wake:
        def wait(self, seconds: float) -> None:
            waits.append(seconds)
            now[0] += seconds

        def set(self) -> None:
            pass

        def clear(self) -> None:
            pass

    client = SlowUploads()
    sharer = Sharer(lambda: client, TOKEN, lambda: screen, 0, lambda s: len(waits) < 4, lambda s, r: None,
                    clock=lambda: now[0], pointer_factory=lambda: (lambda: None))
    sharer._wake = Wake()
    sharer.run()
    assert len(client.named("frame")) == 4
    assert waits == pytest.approx([ACTIVE_INTERVAL - 0.02] * 4)

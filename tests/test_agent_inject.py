"""Remote control's rules (agent.inject) over a recording backend: no display needed."""

from __future__ import annotations

import pytest

from sosdesk.agent.inject import CustomerFirst, Injector, key_for
from sosdesk.agent.screen import Monitor


class Desk:
    """An InputBackend that records calls and keeps a pointer the 'customer' can move."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.at: tuple[int, int] = (0, 0)

    def pointer(self) -> tuple[int, int]:
        return self.at

    def move(self, x: int, y: int) -> None:
        self.at = (x, y)
        self.calls.append(("move", x, y))

    def button(self, name: str, down: bool) -> None:
        self.calls.append(("button", name, down))

    def scroll(self, dx: int, dy: int) -> None:
        self.calls.append(("scroll", dx, dy))

    def key(self, kind: str, name: str, down: bool) -> None:
        self.calls.append(("key", kind, name, down))

    def type(self, text: str) -> None:
        self.calls.append(("type", text))


SECOND = Monitor(1, 1920, 0, 1280, 800)


@pytest.fixture
def desk() -> Desk:
    return Desk()


def test_mouse_events_land_on_the_shared_monitor(desk: Desk) -> None:
    injector = Injector(desk, SECOND)
    injector.apply([{"t": "move", "x": 10, "y": 20},
                    {"t": "down", "b": "left", "x": 100, "y": 200},
                    {"t": "up", "b": "left", "x": 100, "y": 200},
                    {"t": "move", "x": 5000, "y": -4}], now=0.0)
    assert desk.calls == [("move", 1930, 20), ("move", 2020, 200), ("button", "left", True),
                          ("move", 2020, 200), ("button", "left", False),
                          ("move", 1920 + 1279, 0)]  # kept on the monitor


def test_a_scaled_capture_maps_back_to_desktop_pixels(desk: Desk) -> None:
    injector = Injector(desk, Monitor(0, 0, 0, 2560, 1600), frame_size=(1280, 800))
    injector.apply([{"t": "move", "x": 640, "y": 400}], now=0.0)
    assert desk.calls == [("move", 1280, 800)]


def test_keys_with_modifiers_and_text(desk: Desk) -> None:
    injector = Injector(desk, SECOND)
    injector.apply([{"t": "key", "code": "KeyC", "key": "c", "down": True, "mods": ["Control"]},
                    {"t": "key", "code": "KeyC", "key": "c", "down": False, "mods": ["Control"]},
                    {"t": "key", "code": "Enter", "key": "Enter", "down": True},
                    {"t": "key", "code": "Enter", "key": "Enter", "down": False},
                    {"t": "text", "text": "hällo"}], now=0.0)
    assert desk.calls == [("key", "key", "ctrl", True), ("key", "char", "c", True),
                          ("key", "char", "c", False), ("key", "key", "ctrl", False),
                          ("key", "key", "enter", True), ("key", "key", "enter", False),
                          ("type", "hällo")]


def test_a_modifier_the_viewer_already_holds_is_not_pressed_twice(desk: Desk) -> None:
    injector = Injector(desk, SECOND)
    injector.apply([{"t": "key", "code": "ShiftLeft", "key": "Shift", "down": True, "mods": ["Shift"]},
                    {"t": "key", "code": "KeyA", "key": "A", "down": True, "mods": ["Shift"]},
                    {"t": "key", "code": "KeyA", "key": "A", "down": False, "mods": ["Shift"]},
                    {"t": "key", "code": "ShiftLeft", "key": "Shift", "down": False}], now=0.0)
    assert desk.calls == [("key", "key", "shift_l", True), ("key", "char", "A", True),
                          ("key", "char", "A", False), ("key", "key", "shift_l", False)]


@pytest.mark.parametrize("code, key, expected", [
    ("KeyA", "a", ("char", "a")), ("KeyQ", "@", ("char", "@")), ("KeyZ", "y", ("char", "y")),
    ("Digit1", "!", ("char", "!")), ("Space", " ", ("key", "space")), ("F5", "F5", ("key", "f5")),
    ("ArrowLeft", "ArrowLeft", ("key", "left")), ("KeyA", "Unidentified", ("char", "a")),
    ("Digit7", "Dead", ("char", "7")), ("Backquote", "Dead", None), ("", "", None),
])
def test_browser_keys_map_to_what_the_customer_layout_types(code: str, key: str, expected) -> None:
    assert key_for(code, key) == expected


def test_wheel_notches_scroll_with_the_browsers_sign(desk: Desk) -> None:
    injector = Injector(desk, SECOND)
    injector.apply([{"t": "wheel", "dx": 0, "dy": 1}, {"t": "wheel", "dx": 0, "dy": -3},
                    {"t": "wheel", "dx": 2, "dy": 0}, {"t": "wheel", "dx": 0, "dy": 0}], now=0.0)
    assert desk.calls == [("scroll", 0, -1), ("scroll", 0, 3), ("scroll", 2, 0)]  # pynput: dy > 0 is up


def test_malformed_events_are_skipped_and_the_rest_go_in(desk: Desk) -> None:
    injector = Injector(desk, SECOND)
    done = injector.apply(["junk", {"t": "move"}, {"t": "move", "x": "a", "y": 1}, {"t": "warp"},
                           {"t": "down", "b": "fourth"}, {"t": "key"}, {"t": "text", "text": ""},
                           {"t": "move", "x": 1, "y": 2}], now=0.0)
    assert done == 1 and desk.calls == [("move", 1921, 2)]


def test_the_customer_moving_the_mouse_pauses_remote_input_for_a_second(desk: Desk) -> None:
    injector = Injector(desk, SECOND, gate=CustomerFirst(pause=1.0))
    injector.apply([{"t": "down", "b": "left", "x": 10, "y": 10}], now=0.0)
    desk.at = (300, 300)  # the customer's own hand
    assert injector.apply([{"t": "move", "x": 50, "y": 50}], now=0.2) == 0
    assert desk.calls[-1] == ("button", "left", False)  # the remote drag let go
    assert injector.apply([{"t": "key", "code": "KeyA", "key": "a"}], now=0.7) == 0
    desk.at = (310, 300)  # still moving: the pause goes on from here
    assert injector.apply([{"t": "move", "x": 50, "y": 50}], now=1.1) == 0
    assert injector.apply([{"t": "move", "x": 50, "y": 50}], now=2.0) == 0
    assert injector.apply([{"t": "move", "x": 50, "y": 50}], now=2.2) == 1
    assert desk.at == (1970, 50)


def test_release_all_lets_go_of_everything_held(desk: Desk) -> None:
    injector = Injector(desk, SECOND)
    injector.apply([{"t": "down", "b": "right", "x": 1, "y": 1},
                    {"t": "key", "code": "KeyX", "key": "x", "down": True, "mods": ["Alt"]}], now=0.0)
    desk.calls.clear()
    injector.release_all()
    assert desk.calls == [("button", "right", False), ("key", "char", "x", False),
                          ("key", "key", "alt", False)]
    desk.calls.clear()
    injector.release_all()
    assert desk.calls == []

"""Capture (mss) and injection (pynput) on a real X server: Xvfb 1280x800 with a test window."""

from __future__ import annotations

import io
from typing import Iterator

import pytest
from PIL import Image

from conftest import require_module
from xscreen import PictureApp, XScreen, virtual_screen, wait_until


@pytest.fixture(scope="module")
def screen() -> Iterator[XScreen]:
    with virtual_screen() as shown:
        yield shown


@pytest.fixture
def picture(screen: XScreen, monkeypatch: pytest.MonkeyPatch) -> Iterator[PictureApp]:
    require_module("tkinter")
    monkeypatch.setenv("DISPLAY", screen.name)
    app = PictureApp(screen.name)
    try:
        app.wait_shown(screen)
        yield app
    finally:
        app.close()


def decoded(frame, index: int = 0) -> Image.Image:
    offset = sum(t[4] for t in frame.header["tiles"][:index])
    length = frame.header["tiles"][index][4]
    return Image.open(io.BytesIO(frame.payload[offset:offset + length])).convert("RGB")


def near(a: tuple, b: tuple) -> bool:
    return max(abs(x - y) for x, y in zip(a, b)) < 16


def test_mss_captures_the_test_picture_and_only_its_change(screen: XScreen, picture: PictureApp) -> None:
    from sosdesk.agent.screen import FrameEncoder, MssGrabber

    grabber = MssGrabber()
    try:
        [monitor] = grabber.monitors()
        assert (monitor.width, monitor.height) == (1280, 800)
        encoder = FrameEncoder()
        first = encoder.encode(grabber.grab(monitor), now=0.0, quality=80, cursor=None)
        assert first.header["full"] and (first.header["width"], first.header["height"]) == (1280, 800)
        image = decoded(first)
        for x, y, w, h, colour in PictureApp.BLOCKS:
            assert near(image.getpixel((x + w // 2, y + h // 2)), colour)
        assert encoder.encode(grabber.grab(monitor), now=0.1, quality=80) is None

        picture.repaint((255, 0, 255))
        frame = wait_until("the repaint", lambda: encoder.encode(grabber.grab(monitor), now=0.2, quality=80))
        # The first block (0, 0, 200, 100) covers tiles x 0..192, y 0..64: nothing else changed.
        assert {(t[0], t[1]) for t in frame.header["tiles"]} <= {(x, y) for x in (0, 64, 128, 192)
                                                                 for y in (0, 64)}
        assert near(decoded(frame).getpixel((20, 20)), (255, 0, 255))
    finally:
        grabber.close()


def test_pynput_clicks_and_types_into_a_text_field(screen: XScreen, picture: PictureApp) -> None:
    from sosdesk.agent.inject import Injector, PynputBackend
    from sosdesk.agent.screen import Monitor

    injector = Injector(PynputBackend(), Monitor(0, 0, 0, 1280, 800))
    x, y = PictureApp.FIELD_AT
    assert injector.apply([{"t": "down", "b": "left", "x": x, "y": y},
                           {"t": "up", "b": "left", "x": x, "y": y}], now=0.0) == 2
    assert screen.pointer() == (x, y)
    injector.apply([{"t": "text", "text": "Hi there"},
                    {"t": "key", "code": "KeyA", "key": "A", "down": True, "mods": ["Shift"]},
                    {"t": "key", "code": "KeyA", "key": "A", "down": False, "mods": ["Shift"]},
                    {"t": "key", "code": "Backspace", "key": "Backspace", "down": True},
                    {"t": "key", "code": "Backspace", "key": "Backspace", "down": False},
                    {"t": "key", "code": "Digit1", "key": "!", "down": True, "mods": ["Shift"]},
                    {"t": "key", "code": "Digit1", "key": "!", "down": False, "mods": ["Shift"]}],
                   now=0.1)
    wait_until("the typed text", lambda: picture.text == "Hi there!")
    # Characters the US layout of Xvfb lacks go on a spare key code for the keystroke.
    injector.apply([{"t": "text", "text": " Grüße €"}], now=0.15)
    wait_until("text beyond the layout", lambda: picture.text == "Hi there! Grüße €")

    screen.move(900, 700)  # the customer takes the mouse: remote input waits
    assert injector.apply([{"t": "text", "text": "x"}], now=0.2) == 0
    assert screen.pointer() == (900, 700)

"""The session's capture, tile diff and encoding (agent.screen), on synthetic pictures."""

from __future__ import annotations

import io
import json
import struct

import pytest
from PIL import Image

from sosdesk.agent.screen import (MAX_QUALITY, MIN_QUALITY, SHARP_QUALITY, FrameEncoder, Shot,
                                  ThroughputMeter, pack_frame, quality_for, unpack_frame,
                                  wayland_session)

W, H = 256, 160  # 4 x 3 tiles of 64 (the last row 32 high)


def shot(color: tuple[int, int, int] = (10, 20, 30), width: int = W, height: int = H) -> Shot:
    """A one-colour shot; colours are (r, g, b), stored as mss does: B, G, R, X."""
    r, g, b = color
    return Shot(width, height, bytearray(bytes((b, g, r, 255)) * (width * height)))


def paint(base: Shot, x: int, y: int, w: int, h: int, color: tuple[int, int, int]) -> Shot:
    """A copy of *base* with a rectangle painted."""
    pixels = bytearray(base.bgra)
    r, g, b = color
    for line in range(y, y + h):
        start = (line * base.width + x) * 4
        pixels[start:start + w * 4] = bytes((b, g, r, 255)) * w
    return Shot(base.width, base.height, pixels)


def tiles_of(frame) -> list[tuple[list, Image.Image]]:
    """Each tile of a frame with its decoded picture."""
    out, offset = [], 0
    for tile in frame.header["tiles"]:
        data = frame.payload[offset:offset + tile[4]]
        offset += tile[4]
        out.append((tile, Image.open(io.BytesIO(data))))
    assert offset == len(frame.payload)
    return out


def jpeg_quality_table(image: Image.Image) -> int:
    """The first entry of the luminance table: lower means a higher quality."""
    return image.quantization[0][0]


def close_to(a: tuple, b: tuple, slack: int = 12) -> bool:
    return all(abs(x - y) <= slack for x, y in zip(a, b))


def test_the_first_frame_is_one_full_jpeg_with_the_right_colours() -> None:
    picture = paint(shot((200, 0, 0)), 64, 64, 64, 64, (0, 0, 255))
    frame = FrameEncoder().encode(picture, now=0.0, quality=60, cursor=(5, 6))
    assert frame is not None and frame.header["full"] is True
    assert frame.header["cursor"] == [5, 6]
    [(tile, image)] = tiles_of(frame)
    assert tile[:4] == [0, 0, W, H] and tile[5] == "jpeg"
    assert image.size == (W, H)
    assert close_to(image.getpixel((10, 10)), (200, 0, 0))
    assert close_to(image.getpixel((96, 96)), (0, 0, 255))


def test_an_unchanged_screen_gives_no_frame() -> None:
    encoder = FrameEncoder()
    encoder.encode(shot(), 0.0, 60)
    assert encoder.encode(shot(), 0.1, 60) is None
    assert encoder.encode(shot(), 0.2, 60, cursor=None) is None


def test_one_changed_pixel_sends_only_its_tile_in_the_right_colour() -> None:
    encoder = FrameEncoder()
    base = shot()
    encoder.encode(base, 0.0, 60)
    frame = encoder.encode(paint(base, 130, 70, 1, 1, (255, 255, 255)), 0.1, 60)
    [(tile, image)] = tiles_of(frame)
    assert tile[:4] == [128, 64, 64, 64]
    assert frame.header["full"] is False
    # Channels in the right order (mss gives B, G, R, X).
    changed = paint(base, 128, 64, 64, 64, (250, 0, 0))
    [(tile, image)] = tiles_of(encoder.encode(changed, 0.2, 60))
    assert close_to(image.getpixel((30, 30)), (250, 0, 0))


def test_tiles_at_the_edges_are_cut_to_the_screen() -> None:
    encoder = FrameEncoder()
    base = shot(width=200, height=100)  # 4 x 2 tiles, the last column 8 wide, last row 36 high
    encoder.encode(base, 0.0, 60)
    frame = encoder.encode(paint(base, 199, 99, 1, 1, (255, 255, 255)), 0.1, 60)
    [(tile, image)] = tiles_of(frame)
    assert tile[:4] == [192, 64, 8, 36] and image.size == (8, 36)


def test_more_than_half_changed_is_one_full_frame() -> None:
    encoder = FrameEncoder()
    encoder.encode(shot(), 0.0, 60)
    half = paint(shot(), 0, 0, W, 64 + 32, (0, 255, 0))  # rows 0 and 1: 8 of 12 tiles
    frame = encoder.encode(half, 0.1, 60)
    assert frame.header["full"] is True and len(frame.header["tiles"]) == 1
    few = paint(half, 0, 128, 128, 32, (1, 2, 3))  # 2 of 12 tiles
    frame = encoder.encode(few, 0.2, 60)
    assert frame.header["full"] is False and len(frame.header["tiles"]) == 2


def test_a_tile_that_stopped_changing_is_sent_again_sharp_once() -> None:
    encoder = FrameEncoder(settle=0.5)
    base = shot()
    encoder.encode(base, 0.0, 40)
    # The full frame at 40 settles too: everything is re-sent sharp once, as one full frame.
    sharp_full = encoder.encode(base, 0.6, 40)
    assert sharp_full.header["full"] is True
    [(_, image)] = tiles_of(sharp_full)
    assert jpeg_quality_table(image) < 5  # quality 90

    typed = paint(base, 70, 10, 8, 8, (255, 255, 255))
    blurred = encoder.encode(typed, 1.0, MIN_QUALITY)
    [(tile, image)] = tiles_of(blurred)
    assert tile[:2] == [64, 0] and jpeg_quality_table(image) > 10  # quality 30
    assert encoder.encode(typed, 1.2, MIN_QUALITY) is None  # not settled yet
    crisp = encoder.encode(typed, 1.6, MIN_QUALITY)
    [(tile, image)] = tiles_of(crisp)
    assert tile[:2] == [64, 0] and jpeg_quality_table(image) == jpeg_quality_table_at(SHARP_QUALITY)
    assert encoder.encode(typed, 3.0, MIN_QUALITY) is None  # sharp already: never again


def jpeg_quality_table_at(quality: int) -> int:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="JPEG", quality=quality)
    return jpeg_quality_table(Image.open(io.BytesIO(out.getvalue())))


def test_a_tile_still_changing_is_not_resent_sharp() -> None:
    encoder = FrameEncoder(settle=0.5)
    base = shot()
    encoder.encode(base, 0.0, SHARP_QUALITY)  # sharp from the start: nothing to re-send
    now, picture = 0.0, base
    for step in range(10):
        now += 0.2
        picture = paint(picture, 0, 0, 4, 4, (step * 20, 0, 0))
        frame = encoder.encode(picture, now, 40)
        assert [t[:2] for t in frame.header["tiles"]] == [[0, 0]]


def test_only_the_cursor_moved_gives_a_frame_without_tiles() -> None:
    encoder = FrameEncoder()
    encoder.encode(shot(), 0.0, SHARP_QUALITY, cursor=(1, 1))
    frame = encoder.encode(shot(), 0.1, 60, cursor=(50, 60))
    assert frame.header["tiles"] == [] and frame.payload == b"" and frame.header["cursor"] == [50, 60]
    assert encoder.encode(shot(), 0.2, 60, cursor=(50, 60)) is None
    assert encoder.encode(shot(), 0.3, 60, cursor=None).header["cursor"] is None


def test_reset_and_a_new_size_make_a_full_frame() -> None:
    encoder = FrameEncoder()
    encoder.encode(shot(), 0.0, SHARP_QUALITY)
    encoder.reset(monitor=1)
    frame = encoder.encode(shot(), 0.1, 60)
    assert frame.header["full"] is True and frame.header["monitor"] == 1
    frame = encoder.encode(shot(width=128, height=64), 0.2, 60)
    assert frame.header["full"] is True and frame.header["width"] == 128


def test_frame_format_round_trip_and_refusals() -> None:
    body = pack_frame({"seq": 3, "tiles": []}, b"abc")
    assert struct.unpack(">I", body[:4])[0] == len(json.dumps({"seq": 3, "tiles": []},
                                                              separators=(",", ":")))
    assert unpack_frame(body) == ({"seq": 3, "tiles": []}, b"abc")
    for bad in (b"", b"\x00\x00", struct.pack(">I", 99) + b"{}", struct.pack(">I", 2) + b"[]",
                struct.pack(">I", 2) + b"\xff\xfe"):
        with pytest.raises(ValueError):
            unpack_frame(bad)


def test_quality_follows_the_throughput() -> None:
    assert quality_for(None) == (MIN_QUALITY + MAX_QUALITY) // 2
    assert quality_for(1_000) == MIN_QUALITY
    assert quality_for(100_000_000) == MAX_QUALITY
    steps = [quality_for(rate) for rate in (100_000, 300_000, 1_000_000, 3_000_000)]
    assert steps == sorted(steps) and len(set(steps)) == 4


def test_the_meter_ignores_uploads_too_small_to_measure() -> None:
    meter = ThroughputMeter(window=2)
    assert meter.estimate() is None
    meter.record(200, 0.05)  # a cursor-only frame: latency, not throughput
    assert meter.estimate() is None
    meter.record(100_000, 0.1)
    meter.record(300_000, 0.1)
    assert meter.estimate() == pytest.approx(2_000_000)
    meter.record(10_000, 1.0)  # the oldest falls out of the window
    assert meter.estimate() == pytest.approx(310_000 / 1.1)


@pytest.mark.parametrize("env, x_usable, expected", [
    ({}, False, False),
    ({"DISPLAY": ":0"}, True, False),
    ({"XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"}, True, True),  # XWayland: black windows
    ({"XDG_SESSION_TYPE": "x11", "DISPLAY": ":0"}, True, False),
    ({"WAYLAND_DISPLAY": "wayland-0"}, True, True),  # no DISPLAY at all
    ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, True, False),
    ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":9"}, False, True),  # DISPLAY set, not usable
])
def test_wayland_is_recognised(env: dict, x_usable: bool, expected: bool) -> None:
    assert wayland_session(env, lambda: x_usable) is expected

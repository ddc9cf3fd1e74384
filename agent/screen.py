"""The customer's screen for the remote session: capture, tile diff and encoding.

No network and no clock here (time is passed in as ``now``), so every rule is
unit-testable: the session worker (agent.session) grabs, asks
:class:`FrameEncoder` for the next frame and uploads what it returns.

The picture is a fixed grid of ``TILE`` x ``TILE`` tiles. Rows of tiles are
compared first (one ``==`` over the row's bytes), then lines, then only the
tiles of lines that differ, so an unchanged screen costs one comparison of
the whole buffer. Changed tiles are JPEG at a quality that follows the
measured upload throughput; a tile sent at low quality that then stays still
for ``SETTLE_SECONDS`` is sent once more, sharp, so text ends up crisp; when
more than half of the tiles change, one full-frame JPEG is cheaper than many
tiles. An unchanged screen (and cursor) gives no frame at all.

The FRAME format is docs/remote-session.md's: a 4-byte big-endian header
length, the JSON header, then the tiles' bytes in header order.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import struct
from collections import deque
from typing import Any, Callable, Mapping, Protocol

from .errors import AgentError

__all__ = ["TILE", "SHARP_QUALITY", "MIN_QUALITY", "MAX_QUALITY", "SETTLE_SECONDS", "Monitor",
           "Shot", "Grabber", "MssGrabber", "CaptureFailed", "Frame", "FrameEncoder", "ThroughputMeter",
           "quality_for", "pack_frame", "unpack_frame", "wayland_session"]

TILE = 64
#: The quality of the pass that makes still tiles crisp.
SHARP_QUALITY = 90
MIN_QUALITY = 30
MAX_QUALITY = 80
#: A tile still for this long after a send below SHARP_QUALITY is sent again, sharp.
SETTLE_SECONDS = 0.5
#: More than this share of tiles to send: one full-frame JPEG instead.
FULL_SHARE = 0.5
#: Sharp re-sends per frame at most, so a settling screen does not make one huge frame.
MAX_SHARP_TILES = 48
#: Throughput (bytes/s) at or below which the quality is MIN_QUALITY, and at or above which MAX_QUALITY.
SLOW_LINK = 64_000
FAST_LINK = 4_000_000
#: Uploads smaller than this say more about latency than about throughput: not measured.
MIN_MEASURED_BYTES = 8_192


class CaptureFailed(AgentError):
    """The screen could not be captured (no X display, a monitor went away, ...)."""

    code = "capture_failed"


@dataclasses.dataclass(frozen=True)
class Monitor:
    """One monitor in the desktop's coordinates; ``index`` is the protocol's (0 = first)."""

    index: int
    left: int
    top: int
    width: int
    height: int

    def as_json(self) -> dict[str, int]:
        """The monitor as screen-info lists it."""
        return dataclasses.asdict(self)

    def contains(self, x: int, y: int) -> bool:
        """Whether the desktop point (x, y) lies on this monitor."""
        return self.left <= x < self.left + self.width and self.top <= y < self.top + self.height


@dataclasses.dataclass(frozen=True)
class Shot:
    """One capture: BGRA pixels (4 bytes each, rows top to bottom) of a monitor."""

    width: int
    height: int
    bgra: bytes | bytearray


class Grabber(Protocol):
    """Where pictures come from (mss for real, a fake in tests)."""

    def monitors(self) -> list[Monitor]:
        """The monitors, in the protocol's order."""

    def grab(self, monitor: Monitor) -> Shot:
        """The monitor's current picture; CaptureFailed when it cannot be had."""

    def close(self) -> None:
        """Let go of the display."""


class MssGrabber:
    """Capture with mss (X11, Windows, macOS). Create and use it in ONE thread."""

    def __init__(self) -> None:
        try:
            import mss

            self._mss = mss.MSS()
        except Exception as exc:  # mss raises its own ScreenShotError, or XError, or OSError
            raise CaptureFailed(f"cannot capture the screen: {exc}") from None

    def monitors(self) -> list[Monitor]:
        """Every monitor mss sees (its entry 0 is all of them together, left out)."""
        try:
            found = self._mss.monitors[1:]
        except Exception as exc:
            raise CaptureFailed(f"cannot list the monitors: {exc}") from None
        return [Monitor(i, int(m["left"]), int(m["top"]), int(m["width"]), int(m["height"]))
                for i, m in enumerate(found)]

    def grab(self, monitor: Monitor) -> Shot:
        """The monitor's pixels (a fresh buffer each time)."""
        try:
            shot = self._mss.grab({"left": monitor.left, "top": monitor.top,
                                   "width": monitor.width, "height": monitor.height})
        except Exception as exc:
            raise CaptureFailed(f"cannot capture the screen: {exc}") from None
        width, height = shot.size
        return Shot(width, height, shot.raw)

    def close(self) -> None:
        """Close mss's display connection."""
        try:
            self._mss.close()
        except Exception:  # closing after the display went away: nothing left to free
            pass


def wayland_session(env: Mapping[str, str] = os.environ,
                    x_usable: Callable[[], bool] = lambda: False) -> bool:
    """Whether this is a Wayland session, where mss would capture black (or nothing).

    XDG_SESSION_TYPE=wayland says so even with XWayland's DISPLAY set (native
    Wayland windows are black there); WAYLAND_DISPLAY alone says so unless an X
    display is usable (*x_usable*, asked only then).
    """
    if env.get("XDG_SESSION_TYPE", "").strip().lower() == "wayland":
        return True
    if env.get("WAYLAND_DISPLAY"):
        return not (env.get("DISPLAY") and x_usable())
    return False


# -- the FRAME format ---------------------------------------------------------

def pack_frame(header: dict[str, Any], payload: bytes) -> bytes:
    """A FRAME: 4-byte big-endian header length, the JSON header, the payload."""
    head = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack(">I", len(head)) + head + payload


def unpack_frame(body: bytes) -> tuple[dict[str, Any], bytes]:
    """(header, payload) of a FRAME; ValueError when it is not one."""
    if len(body) < 4:
        raise ValueError("a frame is at least 4 bytes")
    (length,) = struct.unpack(">I", body[:4])
    if length > len(body) - 4:
        raise ValueError("the frame's header is longer than the frame")
    header = json.loads(body[4:4 + length].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("the frame's header is not a JSON object")
    return header, body[4 + length:]


# -- quality from throughput ---------------------------------------------------

def quality_for(throughput: float | None) -> int:
    """The JPEG quality for an upload throughput in bytes/s (None: not measured yet).

    Logarithmic between SLOW_LINK (MIN_QUALITY) and FAST_LINK (MAX_QUALITY):
    each doubling of the throughput buys the same step of quality.
    """
    if throughput is None:
        return (MIN_QUALITY + MAX_QUALITY) // 2
    if throughput <= SLOW_LINK:
        return MIN_QUALITY
    if throughput >= FAST_LINK:
        return MAX_QUALITY
    share = math.log(throughput / SLOW_LINK) / math.log(FAST_LINK / SLOW_LINK)
    return int(round(MIN_QUALITY + share * (MAX_QUALITY - MIN_QUALITY)))


class ThroughputMeter:
    """Upload throughput over the last few uploads that were big enough to say something."""

    def __init__(self, window: int = 8) -> None:
        self._samples: deque[tuple[int, float]] = deque(maxlen=window)

    def record(self, size: int, seconds: float) -> None:
        """One upload of *size* bytes answered after *seconds* (flow-control hold included)."""
        if size >= MIN_MEASURED_BYTES and seconds > 0:
            self._samples.append((size, seconds))

    def estimate(self) -> float | None:
        """Bytes per second, or None before the first measured upload."""
        if not self._samples:
            return None
        return sum(s for s, _ in self._samples) / sum(t for _, t in self._samples)


# -- diff and encode ------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Frame:
    """One frame to upload: the header (FRAME format) and the tiles' bytes."""

    header: dict[str, Any]
    payload: bytes

    def pack(self, seq: int) -> bytes:
        """The FRAME bytes with sequence number *seq*."""
        return pack_frame({**self.header, "seq": seq}, self.payload)


class FrameEncoder:
    """Turns successive shots of one monitor into frames of what changed (one thread)."""

    def __init__(self, tile: int = TILE, settle: float = SETTLE_SECONDS,
                 max_sharp: int = MAX_SHARP_TILES) -> None:
        self.tile = tile
        self.settle = settle
        self.max_sharp = max_sharp
        self.monitor = 0
        self._previous: Shot | None = None
        self._cursor: tuple[int, int] | None = None
        #: Per tile (row, col): the quality it was last sent at, and when it last changed.
        self._sent_quality: dict[tuple[int, int], int] = {}
        self._changed_at: dict[tuple[int, int], float] = {}

    def reset(self, monitor: int | None = None) -> None:
        """Make the next frame a full one (a new viewer, a refresh, another monitor)."""
        if monitor is not None:
            self.monitor = monitor
        self._previous = None

    def encode(self, shot: Shot, now: float, quality: int,
               cursor: tuple[int, int] | None = None) -> Frame | None:
        """The frame that brings a viewer from the previous shot to *shot*, or None if nothing changed."""
        previous, self._previous = self._previous, shot
        rows, cols = -(-shot.height // self.tile), -(-shot.width // self.tile)
        total = rows * cols
        if previous is None or (previous.width, previous.height) != (shot.width, shot.height):
            self._sent_quality.clear()
            changed = {(r, c) for r in range(rows) for c in range(cols)}
        else:
            changed = self.changed_tiles(previous, shot)
        for key in changed:
            self._changed_at[key] = now
        sharp = sorted(key for key, q in self._sent_quality.items()
                       if q < SHARP_QUALITY and key not in changed
                       and now - self._changed_at.get(key, now) >= self.settle)
        cursor_moved = cursor != self._cursor
        self._cursor = cursor
        if not changed and not sharp and not cursor_moved:
            return None
        header: dict[str, Any] = {"width": shot.width, "height": shot.height, "monitor": self.monitor,
                                  "cursor": list(cursor) if cursor else None, "full": False}
        if len(changed) > FULL_SHARE * total or (not changed and len(sharp) > FULL_SHARE * total):
            full_quality = quality if changed else SHARP_QUALITY
            data = _jpeg(_rgb(shot), full_quality)
            self._sent_quality = {(r, c): full_quality for r in range(rows) for c in range(cols)}
            header.update(tiles=[[0, 0, shot.width, shot.height, len(data), "jpeg"]], full=True)
            return Frame(header, data)
        view = _bgra_view(shot)
        tiles, parts = [], []
        for key, tile_quality in [*((k, quality) for k in sorted(changed)),
                                  *((k, SHARP_QUALITY) for k in sharp[:self.max_sharp])]:
            r, c = key
            x, y = c * self.tile, r * self.tile
            w, h = min(self.tile, shot.width - x), min(self.tile, shot.height - y)
            data = _jpeg(_swap_to_rgb(view.crop((x, y, x + w, y + h))), tile_quality)
            self._sent_quality[key] = tile_quality
            tiles.append([x, y, w, h, len(data), "jpeg"])
            parts.append(data)
        header["tiles"] = tiles
        return Frame(header, b"".join(parts))

    def changed_tiles(self, before: Shot, after: Shot) -> set[tuple[int, int]]:
        """The (row, col) of every tile whose pixels differ between two shots of one size."""
        old, new = before.bgra, after.bgra
        if old == new:
            return set()
        stride = after.width * 4
        tile_bytes = self.tile * 4
        cols = -(-after.width // self.tile)
        changed: set[tuple[int, int]] = set()
        for row in range(-(-after.height // self.tile)):
            top, bottom = row * self.tile, min((row + 1) * self.tile, after.height)
            if old[top * stride:bottom * stride] == new[top * stride:bottom * stride]:
                continue
            found: set[int] = set()
            for line in range(top, bottom):
                start = line * stride
                if old[start:start + stride] == new[start:start + stride]:
                    continue
                for col in range(cols):
                    if col in found:
                        continue
                    a = start + col * tile_bytes
                    b = min(a + tile_bytes, start + stride)
                    if old[a:b] != new[a:b]:
                        found.add(col)
                if len(found) == cols:
                    break
            changed.update((row, col) for col in found)
        return changed


def _rgb(shot: Shot) -> Any:
    """The whole shot as an RGB image (one conversion: for a full frame)."""
    from PIL import Image

    return Image.frombuffer("RGB", (shot.width, shot.height), shot.bgra, "raw", "BGRX", 0, 1)


def _bgra_view(shot: Shot) -> Any:
    """The shot as an image WITHOUT copying: channels still in B, G, R, X order."""
    from PIL import Image

    return Image.frombuffer("RGBA", (shot.width, shot.height), shot.bgra, "raw", "RGBA", 0, 1)


def _swap_to_rgb(tile: Any) -> Any:
    """A cropped tile of :func:`_bgra_view` with its channels put right (cheaper than converting it all)."""
    from PIL import Image

    blue, green, red, _ = tile.split()
    return Image.merge("RGB", (red, green, blue))


def _jpeg(image: Any, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()
